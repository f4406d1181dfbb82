/* udp_conn: the bench's datagram client (see udp_conn.h for the slot states): slots and their
 * request ids, the send queue and its batched sending (building and sealing SHOP/1 requests, or
 * the peers' framing), batched receiving, matching and opening replies, address tokens,
 * retransmission.
 *
 * Sending is most of a load generator's work on loopback (each datagram's delivery into the
 * server's socket runs in the sender's system call), so a run of equal-sized datagrams goes out as
 * one UDP GSO send (UDP_SEGMENT): the kernel builds one buffer and cuts it into the datagrams, and
 * the server receives them one by one as always. Where the kernel or the route refuses GSO, the
 * connection sends one datagram per message from then on. */
#include "bench/udp_conn.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench/udp_peer.h"

#define BACKOFF_SHIFT_MAX 6        /* the timeout doubles at most 6 times (x64) */
#define TOKEN_TOO_OLD_NS (60LL * 1000000000LL) /* past this a token may have expired */
#define SLOT_MASK ((uint64_t)UDP_CONN_SLOTS_MAX - 1)
#define SEQUENCE_MASK (UINT64_MAX >> UDP_CONN_SLOT_BITS)
/* The largest request datagram: header, token, text, tag (peers need less). */
#define REQUEST_DATAGRAM_MAX (UDP_WIRE_HEADER_LEN + 1 + UDP_WIRE_TOKEN_LEN + UDP_CONN_TEXT_MAX + UDP_WIRE_TAG_LEN)
/* Received datagrams are read into buffers this big: anything longer than the largest reply of
 * any framing (SHOP/1: 1200 bytes; memcached: 1400-byte frames) shows as too long. */
#define RECEIVE_MAX 1500

_Static_assert(REQUEST_DATAGRAM_MAX <= UDP_WIRE_DATAGRAM_MAX, "a request datagram must fit in a datagram");
_Static_assert(UDP_PEER_HEADER_LEN + UDP_CONN_TEXT_MAX <= REQUEST_DATAGRAM_MAX, "peer requests must fit");
_Static_assert(BENCH_OUTSTANDING_MAX + 1 <= UDP_CONN_SLOTS_MAX, "--outstanding slots (and a probe) must fit");

/* A random non-zero starting point: request ids must not repeat across runs for the same user (a
 * repeated id returns the first outcome and buys nothing). */
static uint64_t random_sequence_start(const void *salt)
{
    uint64_t start = 0;
    if (getrandom(&start, sizeof start, 0) != (ssize_t)sizeof start) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)salt;
    }
    start &= SEQUENCE_MASK;
    return start != 0 ? start : 1;
}

bool udp_conn_init(udp_conn_t *u, udp_proto_t proto, int nslots, int timeout_ms, int retries)
{
    memset(u, 0, sizeof *u);
    u->fd = -1;
    if (nslots < 1 || nslots > UDP_CONN_SLOTS_MAX)
        return false;
    u->slots = calloc((size_t)nslots, sizeof *u->slots);
    u->free_slots = calloc((size_t)nslots, sizeof *u->free_slots);
    u->send_queue = calloc((size_t)nslots, sizeof *u->send_queue);
    if (u->slots == NULL || u->free_slots == NULL || u->send_queue == NULL) {
        udp_conn_destroy(u);
        return false;
    }
    u->proto = proto;
    u->nslots = nslots;
    for (int i = 0; i < nslots; i++)
        u->free_slots[i] = nslots - 1 - i; /* slot 0 on top */
    u->nfree = nslots;
    u->gso = true;
    u->timeout_ns = (int64_t)timeout_ms * 1000000;
    u->retries = retries;
    u->next_sequence = random_sequence_start(u);
    return true;
}

void udp_conn_close(udp_conn_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

void udp_conn_destroy(udp_conn_t *u)
{
    udp_conn_close(u);
    OPENSSL_cleanse(&u->c2s, sizeof u->c2s);
    OPENSSL_cleanse(&u->s2c, sizeof u->s2c);
    free(u->slots);
    free(u->free_slots);
    free(u->send_queue);
    u->slots = NULL;
    u->free_slots = NULL;
    u->send_queue = NULL;
    u->nslots = 0;
}

bool udp_conn_open(udp_conn_t *u, const struct sockaddr *addr, socklen_t addrlen, char *err, size_t errlen)
{
    udp_conn_close(u);
    u->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) {
        snprintf(err, errlen, "cannot make a UDP socket: %s", strerror(errno));
        return false;
    }
    /* Connected: only the server's datagrams arrive, and sending needs no address. */
    if (connect(u->fd, addr, addrlen) != 0) {
        snprintf(err, errlen, "cannot connect a UDP socket: %s", strerror(errno));
        udp_conn_close(u);
        return false;
    }
    u->have_token = false;
    return true;
}

void udp_conn_set_session(udp_conn_t *u, uint64_t session_id, const uint8_t exported[static UDP_EXPORT_LEN])
{
    u->session_id = session_id;
    if (session_id != 0)
        udp_keys_from_export(exported, &u->c2s, &u->s2c);
    u->next_pn = 1;
    u->replay = (udp_replay_t){0};
}

/* A new request id for slot i: the next sequence number above the slot index. */
static uint64_t new_request_id(udp_conn_t *u, int i)
{
    uint64_t id = u->next_sequence << UDP_CONN_SLOT_BITS | (uint64_t)i;
    u->next_sequence = (u->next_sequence + 1) & SEQUENCE_MASK;
    if (u->next_sequence == 0)
        u->next_sequence = 1; /* so that no id is 0 */
    return id;
}

/* Queues slot i for the next flush and sets its next deadline (one more try). */
static void queue_slot(udp_conn_t *u, int i, int64_t now_ns)
{
    udp_slot_t *s = &u->slots[i];
    int shift = s->tries < BACKOFF_SHIFT_MAX ? s->tries : BACKOFF_SHIFT_MAX;
    s->tries++;
    s->deadline_ns = now_ns + (u->timeout_ns << shift);
    if (!s->queued) {
        s->queued = true;
        u->send_queue[u->nqueued++] = i;
    }
}

/* Writes slot i's SHOP/1 request datagram into out (a new packet number and sealed in a
 * session). Returns its length, or 0 when it cannot be built (a lost datagram: retransmitted). */
static size_t encode_shop1(udp_conn_t *u, udp_aead_t *aead, int i, uint8_t out[static REQUEST_DATAGRAM_MAX])
{
    udp_slot_t *s = &u->slots[i];
    bool token = u->session_id == 0 && s->with_token && u->have_token;
    udp_header_t h = {
        .type = UDP_TYPE_REQUEST,
        .flags = token ? UDP_FLAG_TOKEN : 0,
        .page = s->page,
        .session_id = u->session_id,
        .packet_number = u->session_id != 0 ? u->next_pn++ : 0,
        .request_id = s->request_id,
    };
    size_t n = udp_wire_encode_header(&h, token ? u->token : NULL, out, REQUEST_DATAGRAM_MAX);
    if (n == 0)
        return 0;
    if (u->session_id == 0) {
        memcpy(out + n, s->text, s->text_len);
        return n + s->text_len;
    }
    long sealed = udp_seal(aead, &u->c2s, h.packet_number, out, n, (const uint8_t *)s->text, s->text_len, out + n);
    return sealed < 0 ? 0 : n + (size_t)sealed;
}

/* The control message of one GSO send: the size of each datagram it is cut into. */
typedef union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
} gso_control_t;

/* Sends datagrams first..n-1 of iov (one datagram each): runs of equal size as one GSO message
 * each while u->gso holds, else one message per datagram. A message the socket refuses (an ICMP
 * error for an earlier datagram) is lost and the rest still go; a full socket buffer loses the
 * rest. Timeouts cover both. A refused GSO message turns GSO off and goes again without it. */
static void send_datagrams(udp_conn_t *u, struct iovec *iov, int first, int n)
{
    struct mmsghdr msgs[UDP_CONN_BATCH];
    gso_control_t control[UDP_CONN_BATCH];
    int nmsgs = 0;
    for (int i = first; i < n;) {
        int end = i + 1;
        while (u->gso && end < n && iov[end].iov_len == iov[i].iov_len)
            end++;
        msgs[nmsgs] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = (size_t)(end - i)}};
        if (end - i > 1) {
            struct msghdr *h = &msgs[nmsgs].msg_hdr;
            h->msg_control = control[nmsgs].buf;
            h->msg_controllen = sizeof control[nmsgs].buf;
            struct cmsghdr *cm = CMSG_FIRSTHDR(h);
            *cm = (struct cmsghdr){.cmsg_level = SOL_UDP, .cmsg_type = UDP_SEGMENT,
                                   .cmsg_len = CMSG_LEN(sizeof(uint16_t))};
            uint16_t segment = (uint16_t)iov[i].iov_len;
            memcpy(CMSG_DATA(cm), &segment, sizeof segment);
        }
        nmsgs++;
        i = end;
    }
    int sent = 0;
    while (sent < nmsgs) {
        int k = sendmmsg(u->fd, msgs + sent, (unsigned)(nmsgs - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) {
            sent += k;
        } else if (k < 0 && errno == EINTR) {
            continue;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            return;
        } else if (k < 0 && msgs[sent].msg_hdr.msg_controllen > 0 &&
                   (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
            u->gso = false;
            send_datagrams(u, iov, (int)(msgs[sent].msg_hdr.msg_iov - iov), n);
            return;
        } else {
            sent++;
        }
    }
}

void udp_conn_flush(udp_conn_t *u, udp_aead_t *aead)
{
    uint8_t data[UDP_CONN_BATCH][REQUEST_DATAGRAM_MAX];
    struct iovec iov[UDP_CONN_BATCH];
    int n = 0;
    for (int q = 0; q < u->nqueued; q++) {
        udp_slot_t *s = &u->slots[u->send_queue[q]];
        s->queued = false;
        if (s->state != UDP_SLOT_SENT || u->fd < 0)
            continue; /* released (or the socket closed) since it was queued */
        size_t len = u->proto == UDP_PROTO_SHOP1
                         ? encode_shop1(u, aead, u->send_queue[q], data[n])
                         : udp_peer_encode_request(u->proto, s->request_id, s->text, s->text_len, data[n],
                                                   sizeof data[n]);
        if (len == 0)
            continue;
        iov[n] = (struct iovec){.iov_base = data[n], .iov_len = len};
        if (++n == UDP_CONN_BATCH) {
            send_datagrams(u, iov, 0, n);
            n = 0;
        }
    }
    u->nqueued = 0;
    if (n > 0)
        send_datagrams(u, iov, 0, n);
}

int udp_conn_submit(udp_conn_t *u, const char *text, size_t len, int tag, bool with_token, int64_t now_ns)
{
    if (len > UDP_CONN_TEXT_MAX || u->nfree == 0)
        return -1;
    int i = u->free_slots[--u->nfree];
    udp_slot_t *s = &u->slots[i];
    bool queued = s->queued; /* a released slot may still sit in the queue: keep it there once */
    *s = (udp_slot_t){.state = UDP_SLOT_SENT, .queued = queued, .request_id = new_request_id(u, i),
                      .with_token = with_token, .started_ns = now_ns, .tag = tag, .text_len = len};
    memcpy(s->text, text, len);
    u->busy++;
    queue_slot(u, i, now_ns);
    return i;
}

void udp_conn_next_page(udp_conn_t *u, int i, uint16_t page, int64_t now_ns)
{
    udp_slot_t *s = &u->slots[i];
    s->page = page;
    s->request_id = new_request_id(u, i);
    s->tries = 0;
    s->with_token = true;
    s->state = UDP_SLOT_SENT;
    queue_slot(u, i, now_ns);
}

void udp_conn_release(udp_conn_t *u, int i)
{
    if (u->slots[i].state != UDP_SLOT_FREE) {
        u->slots[i].state = UDP_SLOT_FREE;
        u->busy--;
        u->free_slots[u->nfree++] = i;
    }
}

/* The SENT slot whose request id, compared under mask, is id; -1 when none (late or not ours). */
static int find_sent(const udp_conn_t *u, uint64_t id, uint64_t mask)
{
    uint64_t i = id & SLOT_MASK;
    if (i >= (uint64_t)u->nslots)
        return -1;
    const udp_slot_t *s = &u->slots[i];
    return s->state == UDP_SLOT_SENT && (s->request_id & mask) == id ? (int)i : -1;
}

/* Calls on_reply with a NUL-terminated copy of the reply text. */
static void deliver(int i, const uint8_t *payload, size_t len, bool more, udp_reply_fn on_reply, void *arg)
{
    char text[RECEIVE_MAX + 1];
    memcpy(text, payload, len);
    text[len] = '\0';
    on_reply(arg, i, text, len, more);
}

/* Handles one received peer datagram: counts the reply's parts, delivers it once complete. */
static void on_peer_datagram(udp_conn_t *u, const uint8_t *buf, size_t len, udp_reply_fn on_reply, void *arg)
{
    udp_peer_datagram_t d;
    int i;
    if (!udp_peer_decode_reply(u->proto, buf, len, &d) || (i = find_sent(u, d.request_id, d.id_mask)) < 0) {
        u->dropped++;
        return;
    }
    udp_slot_t *s = &u->slots[i];
    if (++s->parts_seen < d.parts)
        return;
    s->parts = d.parts;
    deliver(i, d.payload, d.payload_len, false, on_reply, arg);
}

/* Handles one received SHOP/1 datagram. */
static void on_shop1_datagram(udp_conn_t *u, udp_aead_t *aead, uint8_t *buf, size_t len, int64_t now_ns,
                              udp_reply_fn on_reply, void *arg)
{
    udp_datagram_t d;
    int i;
    if (len > UDP_WIRE_DATAGRAM_MAX || udp_wire_decode(buf, len, &d) != UDP_WIRE_OK ||
        d.hdr.session_id != u->session_id || (i = find_sent(u, d.hdr.request_id, UINT64_MAX)) < 0 ||
        d.hdr.page != u->slots[i].page) {
        u->dropped++; /* not ours, or late (answered, given up) */
        return;
    }
    if (d.hdr.type == UDP_TYPE_RETRY) {
        if (u->session_id != 0 || d.token == NULL) {
            u->dropped++;
            return;
        }
        memcpy(u->token, d.token, UDP_WIRE_TOKEN_LEN);
        u->have_token = true;
        u->token_ns = now_ns;
        u->slots[i].with_token = true;
        queue_slot(u, i, now_ns);
        return;
    }
    if (d.hdr.type != UDP_TYPE_REPLY) {
        u->dropped++;
        return;
    }
    bool more = (d.hdr.flags & UDP_FLAG_MORE) != 0;
    if (u->session_id == 0) {
        deliver(i, d.payload, d.payload_len, more, on_reply, arg);
        return;
    }
    if (!udp_replay_check(&u->replay, d.hdr.packet_number)) {
        u->dropped++;
        return;
    }
    uint8_t plain[UDP_WIRE_DATAGRAM_MAX];
    long plen = udp_open(aead, &u->s2c, d.hdr.packet_number, buf, d.aad_len, d.payload, d.payload_len, plain);
    if (plen < 0) {
        u->dropped++;
        return;
    }
    udp_replay_accept(&u->replay, d.hdr.packet_number);
    deliver(i, plain, (size_t)plen, more, on_reply, arg);
}

bool udp_conn_on_readable(udp_conn_t *u, udp_aead_t *aead, int64_t now_ns, udp_reply_fn on_reply, void *arg)
{
    uint8_t data[UDP_CONN_BATCH][RECEIVE_MAX];
    struct iovec iov[UDP_CONN_BATCH];
    struct mmsghdr msgs[UDP_CONN_BATCH];
    while (u->fd >= 0) {
        for (int i = 0; i < UDP_CONN_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = data[i], .iov_len = sizeof data[i]};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        int n = recvmmsg(u->fd, msgs, UDP_CONN_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            if (errno == EINTR || errno == ECONNREFUSED)
                continue; /* an ICMP error for an earlier datagram: the timeout covers it */
            return false;
        }
        for (int i = 0; i < n && u->fd >= 0; i++) {
            size_t len = msgs[i].msg_len;
            if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0)
                u->dropped++;
            else if (u->proto == UDP_PROTO_SHOP1)
                on_shop1_datagram(u, aead, data[i], len, now_ns, on_reply, arg);
            else
                on_peer_datagram(u, data[i], len, on_reply, arg);
        }
        udp_conn_flush(u, aead); /* the replacements of what this batch answered */
        if (n < UDP_CONN_BATCH)
            return true;
    }
    return true;
}

void udp_conn_on_timer(udp_conn_t *u, int64_t now_ns, udp_give_up_fn on_give_up, void *arg)
{
    if (u->busy == 0)
        return;
    for (int i = 0; i < u->nslots; i++) {
        udp_slot_t *s = &u->slots[i];
        if (s->state != UDP_SLOT_SENT || s->deadline_ns > now_ns)
            continue;
        if (s->tries > u->retries) {
            s->state = UDP_SLOT_PARKED;
            on_give_up(arg, i);
            continue;
        }
        /* An unanswered request with an old token: the token may have expired (the server drops
         * such requests silently); ask again without it, which brings a fresh one. */
        if (u->session_id == 0 && u->have_token && now_ns - u->token_ns > TOKEN_TOO_OLD_NS)
            u->have_token = false;
        u->retransmits++;
        queue_slot(u, i, now_ns);
    }
}

void udp_conn_buy_request_id(const udp_conn_t *u, int i, char out[static 21])
{
    snprintf(out, 21, "udp.%016llx", (unsigned long long)u->slots[i].request_id);
}
