/* udp: batch receive, anonymous answers, steering and sealed answers on one worker's socket.
 *
 * Reflection: a datagram's source address can be forged, so a reply may only be large where the
 * address is validated. Anonymous requests are validated by an address token (§7.2). A sealed
 * request is validated when it comes from its session's TLS connection's prefix (core/netaddr.h)
 * or carries a valid address token for its source; otherwise its reply is at most 3 times the
 * request's bytes, or a RETRY with a token for that source. Each session's sealed datagrams are
 * also rate-limited (--udp-session-rate), after their tag verifies. */
#include "server/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/netaddr.h"
#include "core/token_bucket.h"
#include "proto/shop1.h"
#include "proto/udp_seal.h"
#include "proto/udp_wire.h"
#include "server/commands.h"
#include "server/conn.h"
#include "server/log.h"
#include "server/page_cache.h"
#include "server/session_map.h"
#include "server/udp_rate.h"
#include "server/worker.h"

#define UDP_BATCH 32
#define UDP_BATCHES_PER_WAKEUP 8   /* then let TCP connections run */
#define PAGE_CAP (UDP_WIRE_DATAGRAM_MAX - UDP_WIRE_HEADER_LEN - UDP_WIRE_TAG_LEN)
#define UDP_RCVBUF (4 * 1024 * 1024) /* asked for; the kernel caps it at net.core.rmem_max */
#define SEND_WARN_INTERVAL_NS 1000000000LL /* at most one send-error warning per second */

struct udp_endpoint {
    worker_t *w;
    int fd;
    struct event *ev;
    udp_aead_t *aead;
    udp_token_keys_t *token_keys; /* this worker's epoch keys for the server's token secret */
    shop1_buf_t reply;           /* reply text of the request being answered (when not cached) */
    page_cache_t *pages;         /* kept replies to anonymous catalog reads */
    session_t anonymous;         /* the logged-out session anonymous requests act in */
    /* receive batch */
    uint8_t in[UDP_BATCH][UDP_WIRE_DATAGRAM_MAX + 1];
    struct sockaddr_storage from[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH];
    struct mmsghdr in_msg[UDP_BATCH];
    /* send batch */
    uint8_t out[UDP_BATCH][UDP_WIRE_DATAGRAM_MAX];
    struct iovec out_iov[UDP_BATCH];
    struct mmsghdr out_msg[UDP_BATCH];
    int nout;
    /* send errors: warned about at most once per SEND_WARN_INTERVAL_NS, with a count */
    int64_t send_warned_ns;
    unsigned long send_errors_unwarned;
};

/* A datagram for a session owned by another worker, on its way through that worker's mailbox. */
typedef struct {
    mailbox_msg_t msg;
    worker_t *to;
    struct sockaddr_storage from;
    socklen_t fromlen;
    size_t len;
    uint8_t data[];
} steered_t;

/* An authenticated request in flight (a BUY waiting for the committer, or anything else briefly). */
typedef struct {
    request_ctx_t req;
    udp_endpoint_t *u;
    conn_t *conn;                /* holds the session's connection */
    session_t *session;
    shop1_buf_t out;
    udp_header_t hdr;            /* of the request */
    struct sockaddr_storage from;
    socklen_t fromlen;
    size_t request_len;          /* bytes of the request datagram */
    bool validated;              /* from the session's own prefix, or with a valid token */
    bool async;
    bool executing;              /* inside commands_execute: a resume only marks it answered */
    bool answered;
    char request_id[ORDER_REQUEST_ID_MAX + 1];
} udp_request_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The address bytes and port of a source, for tokens and rate limits. */
static bool addr_parts(const struct sockaddr_storage *ss, int *family, const uint8_t **bytes, size_t *len,
                       uint16_t *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        *bytes = (const uint8_t *)&in->sin_addr;
        *len = 4;
        *port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        *bytes = (const uint8_t *)&in6->sin6_addr;
        *len = 16;
        *port = ntohs(in6->sin6_port);
    } else {
        return false;
    }
    *family = ss->ss_family;
    return true;
}

/* True when one more datagram without a token is allowed now from this source: the buckets
 * are the server's, shared by every worker (udp_rate.h). */
static bool rate_allow(udp_endpoint_t *u, const struct sockaddr_storage *from)
{
    netaddr_prefix_t p;
    return netaddr_prefix_of((const struct sockaddr *)from, &p) &&
           udp_rate_allow(u->w->srv->udp_rate, &p, now_ns());
}

/* Copies the command text of a datagram into line (cap SHOP1_LINE_MAX + 1) without a trailing
 * LF / CR LF, and parses it. Returns the parser's result. */
static shop1_error_t parse_payload(const uint8_t *p, size_t len, char *line, shop1_request_t *req,
                                   shop1_parse_error_t *perr)
{
    if (len && p[len - 1] == '\n')
        len--;
    if (len >= SHOP1_LINE_MAX) {
        perr->code = SHOP1_ERR_TOO_LONG;
        snprintf(perr->text, sizeof perr->text, "request longer than %d bytes", SHOP1_LINE_MAX - 1);
        return perr->code;
    }
    memcpy(line, p, len);
    return shop1_parse_request(line, len, req, perr);
}

/* Queues a datagram (header already in u->out[slot]) for the batch send. */
static void queue_send(udp_endpoint_t *u, size_t len, const struct sockaddr_storage *to, socklen_t tolen)
{
    int i = u->nout++;
    u->out_iov[i] = (struct iovec){.iov_base = u->out[i], .iov_len = len};
    u->out_msg[i].msg_hdr = (struct msghdr){
        .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &u->out_iov[i], .msg_iovlen = 1,
    };
}

/* A datagram that could not be sent (err: its errno). Sending goes on; the warning is
 * rate-limited, since one bad destination or a firewall rule can fail every datagram. */
static void send_failed(udp_endpoint_t *u, int err)
{
    int64_t now = now_ns();
    if (u->send_warned_ns != 0 && now - u->send_warned_ns < SEND_WARN_INTERVAL_NS) {
        u->send_errors_unwarned++;
        return;
    }
    if (u->send_errors_unwarned > 0)
        log_warn("udp send: %s (and %lu more send errors not logged)", strerror(err), u->send_errors_unwarned);
    else
        log_warn("udp send: %s", strerror(err));
    u->send_warned_ns = now;
    u->send_errors_unwarned = 0;
}

/* Sends the queued batch. sendmmsg stops at the first datagram that fails: when none went out,
 * that one is skipped (warned about) and the rest are sent; a full socket buffer (EAGAIN)
 * drops the rest of the batch, as UDP drops datagrams (clients retransmit). */
static void flush_sends(udp_endpoint_t *u)
{
    int sent = 0;
    while (sent < u->nout) {
        int n = sendmmsg(u->fd, u->out_msg + sent, (unsigned)(u->nout - sent), MSG_DONTWAIT);
        if (n > 0) {
            sent += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            send_failed(u, n < 0 ? errno : EIO); /* n == 0: not expected for a non-empty batch */
            sent++;
        }
    }
    u->nout = 0;
}

/* Encodes into out a RETRY for the request hdr, with a fresh address token for from: type 3,
 * the request's id, page and session id, no payload. Returns its length, or 0. */
static size_t encode_retry(udp_endpoint_t *u, const udp_header_t *hdr, const struct sockaddr_storage *from,
                           uint8_t out[static UDP_WIRE_DATAGRAM_MAX])
{
    int family;
    const uint8_t *ab;
    size_t alen;
    uint16_t port;
    uint8_t token[UDP_WIRE_TOKEN_LEN];
    if (!addr_parts(from, &family, &ab, &alen, &port) ||
        udp_token_keys_make(u->token_keys, (int64_t)time(NULL), family, ab, alen, port, token) != 0)
        return 0;
    udp_header_t retry = {.type = UDP_TYPE_RETRY, .flags = UDP_FLAG_TOKEN, .page = hdr->page,
                          .session_id = hdr->session_id, .request_id = hdr->request_id};
    return udp_wire_encode_header(&retry, token, out, UDP_WIRE_DATAGRAM_MAX);
}

/* True when d carries a valid address token for its source. */
static bool token_valid(udp_endpoint_t *u, const udp_datagram_t *d, const struct sockaddr_storage *from)
{
    int family;
    const uint8_t *ab;
    size_t alen;
    uint16_t port;
    return d->token && addr_parts(from, &family, &ab, &alen, &port) &&
           udp_token_keys_check(u->token_keys, (int64_t)time(NULL), family, ab, alen, port, d->token) ==
               UDP_TOKEN_VALID;
}

/* --- Anonymous requests. --- */

static const request_ops_t ANON_OPS; /* no suspension: only synchronous verbs reach commands */

typedef struct {
    udp_endpoint_t *u;
    const shop1_request_t *req;
} anon_render_t;

/* Renders an anonymous request's reply into out (page_cache_render_t). */
static void render_anonymous(void *arg, shop1_buf_t *out)
{
    const anon_render_t *a = arg;
    request_ctx_t r = {.ops = &ANON_OPS, .w = a->u->w, .session = &a->u->anonymous, .peer = "", .out = out,
                       .udp = true};
    commands_execute(&r, a->req);
}

static void answer_anonymous(udp_endpoint_t *u, const udp_datagram_t *d, size_t req_len,
                             const struct sockaddr_storage *from, socklen_t fromlen)
{
    int family;
    const uint8_t *ab;
    size_t alen;
    uint16_t port;
    if (!addr_parts(from, &family, &ab, &alen, &port))
        return;
    int64_t now = (int64_t)time(NULL);
    bool validated = false;
    if (d->token) {
        if (udp_token_keys_check(u->token_keys, now, family, ab, alen, port, d->token) != UDP_TOKEN_VALID)
            return; /* forged or stale: no reply */
        validated = true;
    } else if (!rate_allow(u, from)) {
        return;
    }

    char line[SHOP1_LINE_MAX + 1];
    shop1_request_t req;
    shop1_parse_error_t perr;
    const shop1_buf_t *reply = &u->reply;
    shop1_buf_reset(&u->reply);
    if (parse_payload(d->payload, d->payload_len, line, &req, &perr) != SHOP1_OK) {
        shop1_err(&u->reply, perr.code, "%s", perr.text);
    } else if (shop1_verb_has(req.verb, SHOP1_VERB_ANON_UDP)) {
        anon_render_t a = {.u = u, .req = &req};
        const shop1_buf_t *kept = page_cache_reply(u->pages, &req, render_anonymous, &a);
        if (kept)
            reply = kept;
        else
            render_anonymous(&a, &u->reply);
    } else {
        char verbs[SHOP1_VERB_LIST_MAX];
        shop1_verb_list(SHOP1_VERB_ANON_UDP, verbs, sizeof verbs);
        shop1_err(&u->reply, SHOP1_ERR_AUTH_REQUIRED, "anonymous datagrams may only %s", verbs);
    }
    if (reply->failed)
        return;

    /* The page goes straight after the header in the send slot. */
    uint8_t *out = u->out[u->nout];
    char *page = (char *)out + UDP_WIRE_HEADER_LEN;
    bool more = false;
    long plen = udp_page(reply->data, reply->len, d->hdr.page, page, UDP_WIRE_DATAGRAM_MAX - UDP_WIRE_HEADER_LEN,
                         &more);
    if (plen < 0) {
        shop1_buf_reset(&u->reply);
        shop1_err(&u->reply, SHOP1_ERR_BAD_REQUEST, "no page %u", (unsigned)d->hdr.page);
        if (u->reply.failed || u->reply.len > UDP_WIRE_DATAGRAM_MAX - UDP_WIRE_HEADER_LEN)
            return;
        plen = (long)u->reply.len;
        memcpy(page, u->reply.data, u->reply.len);
    }
    udp_header_t h = {.type = UDP_TYPE_REPLY, .flags = more ? UDP_FLAG_MORE : 0, .page = d->hdr.page,
                      .request_id = d->hdr.request_id};
    size_t total = UDP_WIRE_HEADER_LEN + (size_t)plen;
    if (!validated && total > UDP_WIRE_AMPLIFICATION * req_len) {
        /* Too big for an unvalidated address: hand out a token to echo instead. */
        size_t n = encode_retry(u, &d->hdr, from, out);
        if (n && n <= UDP_WIRE_AMPLIFICATION * req_len)
            queue_send(u, n, from, fromlen);
        return;
    }
    size_t n = udp_wire_encode_header(&h, NULL, out, UDP_WIRE_DATAGRAM_MAX);
    if (n != UDP_WIRE_HEADER_LEN)
        return; /* not reached: a reply header without a token is always 32 bytes */
    queue_send(u, n + (size_t)plen, from, fromlen);
}

/* --- Authenticated requests, on the session owner's worker. --- */

static void send_sealed(udp_request_t *ur)
{
    udp_endpoint_t *u = ur->u;
    session_t *s = ur->session;
    /* The session may have ended while the request was pending: its keys are gone, so is the reply
     * (the client retries and falls back to TLS, where a BUY's request id finds its outcome). */
    if (!u || !s->logged_in || !s->udp_ready || s->id != ur->hdr.session_id || ur->out.failed)
        return;
    char page[UDP_WIRE_DATAGRAM_MAX];
    bool more = false;
    long plen = udp_page(ur->out.data, ur->out.len, ur->hdr.page, page, PAGE_CAP, &more);
    if (plen < 0) {
        shop1_buf_reset(&ur->out);
        shop1_err(&ur->out, SHOP1_ERR_BAD_REQUEST, "no page %u", (unsigned)ur->hdr.page);
        plen = (long)ur->out.len;
        memcpy(page, ur->out.data, ur->out.len);
    }
    uint8_t dgram[UDP_WIRE_DATAGRAM_MAX];
    size_t n;
    if (!ur->validated &&
        UDP_WIRE_HEADER_LEN + (size_t)plen + UDP_WIRE_TAG_LEN > UDP_WIRE_AMPLIFICATION * ur->request_len) {
        /* Not the session's own address and no token: too big to send there (§7.3). */
        n = encode_retry(u, &ur->hdr, &ur->from, dgram);
        if (n && n <= UDP_WIRE_AMPLIFICATION * ur->request_len &&
            sendto(u->fd, dgram, n, MSG_DONTWAIT, (const struct sockaddr *)&ur->from, ur->fromlen) < 0 &&
            errno != EAGAIN && errno != EWOULDBLOCK)
            send_failed(u, errno);
        return;
    }
    udp_header_t h = {.type = UDP_TYPE_REPLY, .flags = more ? UDP_FLAG_MORE : 0, .page = ur->hdr.page,
                      .session_id = s->id, .packet_number = s->udp_next_pn++,
                      .request_id = ur->hdr.request_id};
    n = udp_wire_encode_header(&h, NULL, dgram, sizeof dgram);
    long sealed = udp_seal(u->aead, &s->s2c, h.packet_number, dgram, n, (const uint8_t *)page,
                           (size_t)plen, dgram + n);
    if (sealed < 0) {
        log_error("udp: sealing a reply failed");
        return;
    }
    if (sendto(u->fd, dgram, n + (size_t)sealed, MSG_DONTWAIT, (const struct sockaddr *)&ur->from,
               ur->fromlen) < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        send_failed(u, errno);
}

static void udp_request_free(udp_request_t *ur)
{
    shop1_buf_free(&ur->out);
    conn_unref(ur->conn);
    free(ur);
}

static udp_request_t *request_of(request_ctx_t *r)
{
    return (udp_request_t *)((char *)r - offsetof(udp_request_t, req));
}

static void op_suspend(request_ctx_t *r)
{
    udp_request_t *ur = request_of(r);
    ur->async = true;
    ur->u->w->pending_jobs++;
}

static void op_resume(request_ctx_t *r)
{
    udp_request_t *ur = request_of(r);
    worker_t *w = r->w;
    w->pending_jobs--;
    if (ur->executing) {
        ur->answered = true; /* answered at once (BUSY): handle_authenticated sends and frees */
        return;
    }
    ur->u = w->udp; /* NULL once the worker stopped serving UDP */
    if (!r->no_reply)
        send_sealed(ur);
    udp_request_free(ur);
    worker_conn_gone(w);
}

static void op_never(request_ctx_t *r)
{
    (void)r;
    log_fatal("udp: a datagram request tried to close or log in");
}

static const request_ops_t UDP_OPS = {
    .suspend = op_suspend,
    .resume = op_resume,
    .close_after_reply = op_never,
    .logged_in = op_never,
};

static void anon_never(request_ctx_t *r)
{
    (void)r;
    log_fatal("udp: an anonymous request tried to wait");
}

static const request_ops_t ANON_OPS = {
    .suspend = anon_never,
    .resume = anon_never,
    .close_after_reply = anon_never,
    .logged_in = anon_never,
};

/* Opens, checks and runs an authenticated datagram on the worker that owns its session.
 * Anything wrong: dropped without a reply. */
static void handle_authenticated(udp_endpoint_t *u, const uint8_t *buf, size_t len,
                                 const struct sockaddr_storage *from, socklen_t fromlen)
{
    udp_datagram_t d;
    if (udp_wire_decode(buf, len, &d) != UDP_WIRE_OK || d.hdr.type != UDP_TYPE_REQUEST)
        return;
    session_t *s = session_map_get(u->w->sessions, d.hdr.session_id);
    if (!s || !s->logged_in || !s->udp_ready || !udp_replay_check(&s->replay, d.hdr.packet_number))
        return;
    uint8_t plain[UDP_WIRE_DATAGRAM_MAX];
    long plen = udp_open(u->aead, &s->c2s, d.hdr.packet_number, buf, d.aad_len, d.payload,
                         d.payload_len, plain);
    if (plen < 0)
        return;
    udp_replay_accept(&s->replay, d.hdr.packet_number);
    double rate = u->w->srv->cfg.udp_session_rate;
    if (!token_bucket_take(&s->udp_rate, rate, rate, now_ns())) {
        OPENSSL_cleanse(plain, sizeof plain);
        return; /* over the session's rate: dropped, as a full socket buffer drops */
    }
    conn_note_activity(conn_of_session(s));
    netaddr_prefix_t src;
    bool validated = (netaddr_prefix_of((const struct sockaddr *)from, &src) &&
                      netaddr_prefix_equal(&src, &s->udp_home)) ||
                     token_valid(u, &d, from);

    udp_request_t *ur = calloc(1, sizeof *ur);
    if (!ur)
        return;
    ur->u = u;
    ur->conn = conn_of_session(s);
    conn_ref(ur->conn);
    ur->session = s;
    ur->hdr = d.hdr;
    memcpy(&ur->from, from, fromlen);
    ur->fromlen = fromlen;
    ur->request_len = len;
    ur->validated = validated;
    shop1_buf_init(&ur->out);
    commands_udp_request_id(d.hdr.request_id, ur->request_id);
    ur->req = (request_ctx_t){.ops = &UDP_OPS, .w = u->w, .session = s, .peer = "", .out = &ur->out,
                              .udp = true, .udp_request_id = ur->request_id};

    char line[SHOP1_LINE_MAX + 1];
    shop1_request_t req;
    shop1_parse_error_t perr;
    if (parse_payload(plain, (size_t)plen, line, &req, &perr) != SHOP1_OK) {
        shop1_err(&ur->out, perr.code, "%s", perr.text);
    } else if (shop1_verb_has(req.verb, SHOP1_VERB_WRITE) && d.hdr.page != 0) {
        shop1_err(&ur->out, SHOP1_ERR_BAD_REQUEST, "a %s reply has one page; ask for page 0",
                  shop1_verb_name(req.verb));
    } else {
        ur->executing = true;
        commands_execute(&ur->req, &req);
        ur->executing = false;
    }
    OPENSSL_cleanse(plain, sizeof plain);
    if (!ur->async || ur->answered) {
        if (!ur->req.no_reply) /* a BUY that could not be queued: dropped (see cmd_buy) */
            send_sealed(ur);
        udp_request_free(ur);
    }
}

/* Datagrams waiting in one worker's mailbox for it, from the others. Past this the owner is
 * not keeping up and more are dropped, as a full socket buffer drops them (the clients
 * retransmit), instead of growing the mailbox without bound: ~5 MiB of datagrams at most. */
#define STEERED_WAITING_MAX 4096

static void deliver_steered(mailbox_msg_t *msg)
{
    steered_t *m = (steered_t *)msg;
    atomic_fetch_sub_explicit(&m->to->steered_waiting, 1, memory_order_relaxed);
    if (m->to->udp)
        handle_authenticated(m->to->udp, m->data, m->len, &m->from, m->fromlen);
    free(m);
}

/* Sends an authenticated datagram to the worker that owns its session. */
static void steer(udp_endpoint_t *u, uint64_t session_id, const uint8_t *buf, size_t len,
                  const struct sockaddr_storage *from, socklen_t fromlen)
{
    server_t *srv = u->w->srv;
    unsigned owner = (unsigned)(session_id & 0xff);
    if (owner >= (unsigned)srv->nworkers)
        return;
    if (owner == (unsigned)u->w->index) {
        handle_authenticated(u, buf, len, from, fromlen);
        return;
    }
    worker_t *to = srv->workers[owner];
    if (atomic_fetch_add_explicit(&to->steered_waiting, 1, memory_order_relaxed) >= STEERED_WAITING_MAX) {
        atomic_fetch_sub_explicit(&to->steered_waiting, 1, memory_order_relaxed);
        return;
    }
    steered_t *m = malloc(sizeof *m + len);
    if (!m) {
        atomic_fetch_sub_explicit(&to->steered_waiting, 1, memory_order_relaxed);
        return;
    }
    m->msg.deliver = deliver_steered;
    m->to = to;
    memcpy(&m->from, from, fromlen);
    m->fromlen = fromlen;
    m->len = len;
    memcpy(m->data, buf, len);
    mailbox_post(m->to->mailbox, &m->msg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    udp_endpoint_t *u = arg;
    for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
        for (int i = 0; i < UDP_BATCH; i++) {
            u->in_iov[i] = (struct iovec){.iov_base = u->in[i], .iov_len = sizeof u->in[i]};
            u->in_msg[i].msg_hdr = (struct msghdr){
                .msg_name = &u->from[i], .msg_namelen = sizeof u->from[i],
                .msg_iov = &u->in_iov[i], .msg_iovlen = 1,
            };
        }
        int n = recvmmsg(fd, u->in_msg, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("udp receive: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            size_t len = u->in_msg[i].msg_len;
            socklen_t fromlen = u->in_msg[i].msg_hdr.msg_namelen;
            udp_datagram_t d;
            /* Over-long (sizeof in[i] > the maximum catches truncation) or malformed: dropped. */
            if (len > UDP_WIRE_DATAGRAM_MAX || udp_wire_decode(u->in[i], len, &d) != UDP_WIRE_OK ||
                d.hdr.type != UDP_TYPE_REQUEST)
                continue;
            if (d.hdr.session_id == 0)
                answer_anonymous(u, &d, len, &u->from[i], fromlen);
            else
                steer(u, d.hdr.session_id, u->in[i], len, &u->from[i], fromlen);
        }
        flush_sends(u);
        if (n < UDP_BATCH)
            return;
    }
}

udp_endpoint_t *udp_endpoint_new(worker_t *w, int fd)
{
    udp_endpoint_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->w = w;
    u->fd = fd;
    /* A bigger receive buffer rides out bursts (the default, rmem_default, is about 200 KB); the
     * kernel silently caps the request at net.core.rmem_max. Best effort. */
    int rcvbuf = UDP_RCVBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        log_warn("udp: SO_RCVBUF %d: %s", rcvbuf, strerror(errno));
    shop1_buf_init(&u->reply);
    u->aead = udp_aead_new();
    u->token_keys = udp_token_keys_new(&w->srv->udp_secret);
    u->pages = page_cache_new(w->srv->catalog);
    u->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_readable, u);
    if (!u->aead || !u->token_keys || !u->pages || !u->ev || event_add(u->ev, NULL) < 0) {
        if (u->ev)
            event_free(u->ev);
        page_cache_free(u->pages);
        udp_token_keys_free(u->token_keys);
        udp_aead_free(u->aead);
        shop1_buf_free(&u->reply);
        free(u);
        return NULL;
    }
    return u;
}

void udp_endpoint_free(udp_endpoint_t *u)
{
    if (!u)
        return;
    event_free(u->ev);
    close(u->fd);
    page_cache_free(u->pages);
    udp_token_keys_free(u->token_keys);
    udp_aead_free(u->aead);
    shop1_buf_free(&u->reply);
    free(u);
}
