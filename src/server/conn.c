/* conn: the TLS connection state machine.
 *
 *                 TLS handshake done (on_event: CONNECTED, greeting sent)
 *   HANDSHAKE ───────────────────────────────────────────────► READY ◄──────────┐
 *       │                                                        │ async request │ outcome
 *       │ timeout / error                                        ▼ (conn_suspend)│ (conn_resume)
 *       │                                                     WAITING ───────────┘
 *       │                    QUIT, idle timeout, BUSY at connect │
 *       │                    (conn_close_after_reply)            ▼
 *       │                                                     CLOSING ── output flushed ──┐
 *       ▼                                                                                 ▼
 *     DEAD ◄──────────────── error, write timeout, kill (conn_kill) ──────────────────── DEAD
 *
 * EOF from the client (TCP FIN or TLS close_notify) in READY or WAITING is a half-close: no more
 * requests will come, but every complete request line already received is still answered, in
 * order; then CLOSING (an incomplete last line is dropped). EOF while HANDSHAKE kills; while
 * CLOSING it changes nothing (the replies are still flushed).
 * DEAD: the bufferevent is freed and the session ended; the struct lives on while an async
 * request still refers to it (refs), and is freed by the last conn_release.
 * Every state change goes through set_state, which asserts the transition is allowed.
 */
#include "server/conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "server/log.h"
#include "server/tls.h"

typedef enum { CONN_HANDSHAKE, CONN_READY, CONN_WAITING, CONN_CLOSING, CONN_DEAD } conn_state_t;

struct conn {
    worker_t *w;
    struct conn *prev, *next;   /* the worker's list of live connections */
    struct bufferevent *bev;
    conn_state_t state;
    int refs;                   /* 1 while live + 1 per request in flight */
    bool discarding;            /* skipping the rest of an over-long line */
    bool reject_busy;           /* over the connection limit: ERR BUSY after the handshake */
    bool processing;            /* inside process_lines: a synchronous resume must not recurse */
    bool peer_done;             /* the client half-closed: answer what is buffered, then close */
    struct event *handshake_deadline; /* closes a handshake that takes too long, however active */
    session_t session;
    request_ctx_t req;          /* how commands.c sees this connection */
    shop1_buf_t out;
    char peer[64];
    char line[SHOP1_LINE_MAX + 1];
};

static void process_input(conn_t *c);
static void cancel_handshake_deadline(conn_t *c);

static const char *state_name(conn_state_t s)
{
    static const char *names[] = {"HANDSHAKE", "READY", "WAITING", "CLOSING", "DEAD"};
    return names[s];
}

static void set_state(conn_t *c, conn_state_t to)
{
    conn_state_t from = c->state;
    bool allowed = to == CONN_DEAD ||
                   (from == CONN_HANDSHAKE && (to == CONN_READY || to == CONN_CLOSING)) ||
                   (from == CONN_READY && (to == CONN_WAITING || to == CONN_CLOSING)) ||
                   (from == CONN_WAITING && (to == CONN_READY || to == CONN_CLOSING));
    if (!allowed)
        log_fatal("connection state %s -> %s is not allowed", state_name(from), state_name(to));
    c->state = to;
}

static void conn_release(conn_t *c)
{
    assert(c->refs > 0);
    if (--c->refs > 0)
        return;
    assert(c->state == CONN_DEAD);
    shop1_buf_free(&c->out);
    free(c);
}

/* Ends the connection now: frees the bufferevent (closing the socket), ends the session. */
static void conn_kill(conn_t *c)
{
    if (c->state == CONN_DEAD)
        return;
    worker_t *w = c->w;
    set_state(c, CONN_DEAD);
    cancel_handshake_deadline(c);
    bufferevent_free(c->bev);
    c->bev = NULL;
    c->session.ended = true;
    commands_end_session(w, &c->session);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    w->nconns--;
    atomic_fetch_sub(&w->srv->connections, 1);
    conn_release(c);
    worker_conn_gone(w);
}

/* Every reply is out: say close_notify (best effort, non-blocking) so the client sees a clean
 * end of stream, then close. */
static void conn_finish(conn_t *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (ssl)
        SSL_shutdown(ssl);
    conn_kill(c);
}

/* Moves the reply buffer into the bufferevent's output. */
static void flush_reply(conn_t *c)
{
    if (c->out.failed) {
        shop1_buf_reset(&c->out);
        c->out.failed = false;
        shop1_err(&c->out, SHOP1_ERR_INTERNAL, "out of memory");
    }
    if (c->out.len && c->bev)
        bufferevent_write(c->bev, c->out.data, c->out.len);
    shop1_buf_reset(&c->out);
}

static void conn_close_after_reply(conn_t *c)
{
    if (c->state == CONN_DEAD || c->state == CONN_CLOSING)
        return;
    set_state(c, CONN_CLOSING);
    flush_reply(c);
    bufferevent_disable(c->bev, EV_READ);
    /* Be called back when the output is fully written, not at the flow-control mark. */
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_finish(c);
}

/* The idle timeout counts the client's silence, not the server's work: while a request waits
 * for its outcome only the write timeout runs. */
static void set_idle_timeouts(conn_t *c, bool reading)
{
    struct timeval idle = {.tv_sec = c->w->srv->cfg.idle_timeout};
    bufferevent_set_timeouts(c->bev, reading ? &idle : NULL, &idle);
}

static void conn_suspend(conn_t *c)
{
    set_state(c, CONN_WAITING);
    set_idle_timeouts(c, false);
    c->refs++;
    c->w->pending_jobs++;
}

static void conn_resume(conn_t *c)
{
    worker_t *w = c->w;
    w->pending_jobs--;
    if (c->state == CONN_WAITING) {
        set_state(c, CONN_READY);
        set_idle_timeouts(c, true);
        flush_reply(c);
        if (w->draining)
            conn_close_after_reply(c);
        else if (!c->processing)
            process_input(c); /* else: answered at once (BUSY); the running loop goes on */
    } else {
        shop1_buf_reset(&c->out);
    }
    conn_release(c);
    worker_conn_gone(w);
}

conn_t *conn_of_session(session_t *s)
{
    return (conn_t *)((char *)s - offsetof(conn_t, session));
}

void conn_note_activity(conn_t *c)
{
    if (c->state == CONN_READY)
        set_idle_timeouts(c, true); /* re-arms the timers */
}

void conn_ref(conn_t *c) { c->refs++; }
void conn_unref(conn_t *c) { conn_release(c); }

/* --- The request_ctx_t operations commands.c uses. --- */

static conn_t *conn_of(request_ctx_t *r)
{
    return (conn_t *)((char *)r - offsetof(conn_t, req));
}

static void op_suspend(request_ctx_t *r) { conn_suspend(conn_of(r)); }
static void op_resume(request_ctx_t *r) { conn_resume(conn_of(r)); }
static void op_close_after_reply(request_ctx_t *r) { conn_close_after_reply(conn_of(r)); }

/* LOGIN succeeded: derive the session's UDP keys from this TLS connection (RFC 5705 exporter,
 * the session id as context), so datagrams can act in the same session. */
static void op_logged_in(request_ctx_t *r)
{
    conn_t *c = conn_of(r);
    session_t *s = &c->session;
    uint8_t context[8], exported[UDP_EXPORT_LEN];
    for (int i = 0; i < 8; i++)
        context[i] = (uint8_t)(s->id >> (56 - 8 * i));
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    ssl = ssl && tls_exporter_is_safe(ssl) ? ssl : NULL; /* TLS 1.2 without EMS: TLS only */
    if (ssl && SSL_export_keying_material(ssl, exported, sizeof exported, UDP_EXPORT_LABEL,
                                          strlen(UDP_EXPORT_LABEL), context, sizeof context, 1) == 1) {
        udp_keys_from_export(exported, &s->c2s, &s->s2c);
        s->udp_ready = true;
    } else {
        log_warn("cannot derive UDP keys for a session; it will use TLS only");
    }
    OPENSSL_cleanse(exported, sizeof exported);
}

static const request_ops_t CONN_OPS = {
    .suspend = op_suspend,
    .resume = op_resume,
    .close_after_reply = op_close_after_reply,
    .logged_in = op_logged_in,
};

/* Handles one complete request line (without its LF). */
static void handle_line(conn_t *c, size_t len)
{
    shop1_request_t req;
    shop1_parse_error_t perr;
    if (shop1_parse_request(c->line, len, &req, &perr) != SHOP1_OK) {
        shop1_err(&c->out, perr.code, "%s", perr.text);
        return;
    }
    commands_execute(&c->req, &req);
    if (req.verb == SHOP1_LOGIN)
        OPENSSL_cleanse(c->line, len); /* the password is no longer needed here */
}

/* Works through buffered request lines while the connection is READY, up to the per-wake-up
 * cap (then yields to other connections) and the output limit (then waits for the client to
 * read). Never buffers more than one line: an over-long line is answered and discarded. */
static void process_lines(conn_t *c);

/* Flow control. Reading is on while the connection can take more requests: input below
 * read_high_water and replies below output_limit. This is done here, not with a libevent read
 * watermark: with bufferevent_openssl a read watermark can strand decrypted bytes inside OpenSSL,
 * where no socket event will ever fetch them (libevent issue #854); without one, every read event
 * drains OpenSSL's buffer into the input evbuffer. */
static void update_reading(conn_t *c)
{
    if ((c->state != CONN_READY && c->state != CONN_WAITING) || c->peer_done)
        return;
    const config_t *cfg = &c->w->srv->cfg;
    bool want = evbuffer_get_length(bufferevent_get_input(c->bev)) < cfg->read_high_water &&
                evbuffer_get_length(bufferevent_get_output(c->bev)) <= cfg->output_limit;
    bool on = (bufferevent_get_enabled(c->bev) & EV_READ) != 0;
    if (want && !on)
        bufferevent_enable(c->bev, EV_READ);
    else if (!want && on)
        bufferevent_disable(c->bev, EV_READ);
}

static void process_input(conn_t *c)
{
    c->refs++; /* a request may end the connection; keep the struct until we are done */
    c->processing = true;
    process_lines(c);
    c->processing = false;
    update_reading(c);
    conn_release(c);
}

static void process_lines(conn_t *c)
{
    const config_t *cfg = &c->w->srv->cfg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    int handled = 0;
    while (c->state == CONN_READY) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > cfg->output_limit)
            return; /* reading pauses (update_reading); on_write resumes */
        if (handled == cfg->requests_per_wakeup) {
            bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
            return;
        }
        size_t eol_len = 0;
        struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
        size_t avail = evbuffer_get_length(in);
        if (eol.pos < 0 && c->peer_done) {
            /* Half-closed and no complete line left: nothing more will come. */
            evbuffer_drain(in, avail);
            conn_close_after_reply(c);
            return;
        }
        if (c->discarding) {
            if (eol.pos < 0) {
                evbuffer_drain(in, avail);
                return;
            }
            evbuffer_drain(in, (size_t)eol.pos + eol_len);
            c->discarding = false;
            continue;
        }
        if (eol.pos < 0) {
            if (avail < SHOP1_LINE_MAX)
                return; /* need more */
            evbuffer_drain(in, avail);
            c->discarding = true;
            shop1_err(&c->out, SHOP1_ERR_TOO_LONG, "request line longer than %d bytes", SHOP1_LINE_MAX);
            flush_reply(c);
            handled++;
            continue;
        }
        size_t len = (size_t)eol.pos;
        if (len + eol_len > SHOP1_LINE_MAX) {
            evbuffer_drain(in, len + eol_len);
            shop1_err(&c->out, SHOP1_ERR_TOO_LONG, "request line longer than %d bytes", SHOP1_LINE_MAX);
        } else {
            evbuffer_remove(in, c->line, len);
            evbuffer_drain(in, eol_len);
            handle_line(c, len);
        }
        handled++;
        if (c->state != CONN_WAITING)
            flush_reply(c);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_t *c = arg;
    if (c->state == CONN_READY)
        process_input(c);
    else
        update_reading(c); /* WAITING: buffer up to the read limit, then pause */
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn_t *c = arg;
    if (c->state == CONN_CLOSING) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            conn_finish(c);
        return;
    }
    if (c->state == CONN_READY)
        process_input(c); /* replies drained below the limit: go on with buffered requests */
    else
        update_reading(c);
}

static void cancel_handshake_deadline(conn_t *c)
{
    if (c->handshake_deadline) {
        event_free(c->handshake_deadline);
        c->handshake_deadline = NULL;
    }
}

static void on_handshake_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_t *c = arg;
    if (c->state == CONN_HANDSHAKE)
        conn_kill(c);
}

static void send_greeting(conn_t *c)
{
    cancel_handshake_deadline(c);
    set_idle_timeouts(c, true);
    if (c->reject_busy) {
        shop1_err(&c->out, SHOP1_ERR_BUSY, "too many connections");
        conn_close_after_reply(c);
        return;
    }
    set_state(c, CONN_READY);
    shop1_ok(&c->out, "%s netshop/%s ready", SHOP1_VERSION, NETSHOP_VERSION);
    flush_reply(c);
    process_input(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn_t *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        send_greeting(c);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->state == CONN_READY) {
        shop1_err(&c->out, SHOP1_ERR_TIMEOUT, "idle for %d seconds", c->w->srv->cfg.idle_timeout);
        conn_close_after_reply(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->state != CONN_HANDSHAKE) {
        /* A half-close (see the top of the file): stop reading, answer what was received. */
        c->peer_done = true;
        bufferevent_disable(c->bev, EV_READ);
        if (c->state == CONN_READY)
            process_input(c);
        return; /* WAITING: conn_resume goes on with the buffered lines */
    }
    /* Errors, EOF during the handshake, handshake and write timeouts: nobody to answer. */
    conn_kill(c);
}

static void format_peer(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    snprintf(buf, cap, "%s", host);
}

void conn_accept(worker_t *w, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
    (void)salen;
    server_t *srv = w->srv;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    conn_t *c = calloc(1, sizeof *c);
    SSL *ssl = c ? SSL_new(srv->ssl_ctx) : NULL;
    struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(w->base, fd, ssl,
                                        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (!bev) {
        log_error("cannot set up a connection (out of memory?)");
        if (ssl)
            SSL_free(ssl);
        free(c);
        evutil_closesocket(fd);
        return;
    }
    /* libevent may hand SSL_write a retried buffer at a new address. */
    SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    c->w = w;
    c->bev = bev;
    c->state = CONN_HANDSHAKE;
    c->refs = 1;
    shop1_buf_init(&c->out);
    c->req = (request_ctx_t){.ops = &CONN_OPS, .w = w, .session = &c->session, .peer = c->peer,
                             .out = &c->out};
    format_peer(sa, c->peer, sizeof c->peer);
    c->reject_busy = atomic_fetch_add(&srv->connections, 1) >= srv->cfg.max_connections;

    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;

    /* The handshake must finish within the deadline, and may not stall on the way either. */
    struct timeval hs = {.tv_sec = srv->cfg.handshake_timeout};
    bufferevent_set_timeouts(bev, &hs, &hs);
    c->handshake_deadline = evtimer_new(w->base, on_handshake_deadline, c);
    if (c->handshake_deadline)
        evtimer_add(c->handshake_deadline, &hs);
    bufferevent_setwatermark(bev, EV_WRITE, srv->cfg.output_limit / 2, 0);
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void conn_drain_all(worker_t *w)
{
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_READY || c->state == CONN_HANDSHAKE) {
            if (c->state == CONN_HANDSHAKE)
                conn_kill(c);
            else
                conn_close_after_reply(c);
        }
        /* WAITING: closes once its reply is out (conn_resume sees w->draining). */
    }
}

void conn_kill_all(worker_t *w)
{
    while (w->conns)
        conn_kill(w->conns);
}
