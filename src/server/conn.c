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
 * CLOSING it changes nothing (the replies are still flushed). An EOF met while writing, or any
 * error, kills in every state: nobody reads the replies (a reset arrives as an EOF, since dirty
 * shutdowns are allowed). bufferevent_openssl stops writing after any EOF, so a half-close
 * with replies pending starts writing again; if the peer is gone, that write fails and kills.
 *
 * The watchdog (conn_sweep, once a second) is the deadline no state escapes: a connection that
 * has neither sent us a byte, nor taken a byte of its replies, nor had an outcome come back for
 * idle_timeout + handshake_timeout seconds is killed, whatever it is doing.
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
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "core/netaddr.h"
#include "server/log.h"
#include "server/peer_limit.h"
#include "server/tls.h"

/* A connection may always have this much output pending, even while the output of all
 * connections together is over --output-budget (then each takes only small replies). */
#define OUTPUT_FLOOR (16 * 1024)

typedef enum { CONN_HANDSHAKE, CONN_READY, CONN_WAITING, CONN_CLOSING, CONN_DEAD } conn_state_t;

struct conn {
    worker_t *w;
    struct conn *prev, *next;   /* the worker's list of live connections */
    struct bufferevent *bev;
    conn_state_t state;
    int refs;                   /* 1 while live + 1 per request in flight */
    bool discarding;            /* skipping the rest of an over-long line */
    const char *reject_busy;    /* over a connection limit: ERR BUSY <this> after the handshake */
    bool prefix_counted;        /* counted in srv->peer_limits under prefix */
    bool processing;            /* inside process_lines: a synchronous resume must not recurse */
    bool peer_done;             /* the client half-closed: answer what is buffered, then close */
    struct event *handshake_deadline; /* closes a handshake that takes too long, however active */
    int64_t last_progress;      /* monotonic seconds: last byte in, byte out or outcome back */
    struct evbuffer_cb_entry *out_cb; /* counts our output in w->output_pending */
    size_t out_counted;         /* bytes of output counted there */
    netaddr_prefix_t prefix;    /* the client's source prefix (per-address limits) */
    session_t session;
    request_ctx_t req;          /* how commands.c sees this connection */
    shop1_buf_t out;
    char peer[64];
    char line[SHOP1_LINE_MAX + 1];
};

static void process_input(conn_t *c);
static void cancel_handshake_deadline(conn_t *c);

static int64_t now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* Reply bytes waiting: each worker counts its own connections' (only its thread writes the
 * counter, so no read-modify-write crosses cores on the hot path); the budget check, which runs
 * only for a connection with more than OUTPUT_FLOOR waiting, adds them up. */
static void count_output(worker_t *w, ptrdiff_t delta)
{
    size_t now = atomic_load_explicit(&w->output_pending, memory_order_relaxed);
    atomic_store_explicit(&w->output_pending, now + (size_t)delta, memory_order_relaxed);
}

static size_t output_pending_total(server_t *srv)
{
    size_t total = 0;
    for (int i = 0; i < srv->nworkers; i++)
        total += atomic_load_explicit(&srv->workers[i]->output_pending, memory_order_relaxed);
    return total;
}

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
    if (c->out_cb)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    count_output(w, -(ptrdiff_t)c->out_counted);
    c->out_counted = 0;
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->prefix_counted)
        peer_limit_release(w->srv->peer_limits, &c->prefix);
    c->prefix_counted = false;
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
    c->last_progress = now_secs();
    set_state(c, CONN_WAITING);
    set_idle_timeouts(c, false);
    c->refs++;
    c->w->pending_jobs++;
}

static void conn_resume(conn_t *c)
{
    worker_t *w = c->w;
    w->pending_jobs--;
    c->last_progress = now_secs();
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
        s->udp_home = c->prefix; /* sealed replies go freely only to this prefix (udp.c) */
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

/* True when a request line is a LOGIN (it may carry a password), whether or not it parses:
 * optional blanks, then "login" in any case, then a blank or the end. */
static bool is_login_line(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (len - i < 5 || strncasecmp(line + i, "login", 5) != 0)
        return false;
    return len - i == 5 || line[i + 5] == ' ' || line[i + 5] == '\t' || line[i + 5] == '\r';
}

/* Overwrites the first len bytes of an input buffer in place, before they are drained: libevent
 * frees or reuses drained chains without clearing them, and a password must not linger there. */
static void wipe_input(struct evbuffer *in, size_t len)
{
    struct evbuffer_iovec few[8], *vec = few;
    int n = evbuffer_peek(in, (ev_ssize_t)len, NULL, NULL, 0); /* how many chains hold them */
    if (n > 8 && !(vec = malloc((size_t)n * sizeof *vec)))
        return; /* out of memory: drained unwiped, as before */
    n = evbuffer_peek(in, (ev_ssize_t)len, NULL, vec, n);
    for (int i = 0; i < n && len > 0; i++) {
        size_t k = vec[i].iov_len < len ? vec[i].iov_len : len;
        OPENSSL_cleanse(vec[i].iov_base, k);
        len -= k;
    }
    if (vec != few)
        free(vec);
}

/* Handles one complete request line (without its LF). A LOGIN line is wiped afterwards, parsed
 * or not: the password is no longer needed here (the auth job has its own copy, wiped there). */
static void handle_line(conn_t *c, size_t len)
{
    bool login = is_login_line(c->line, len); /* before the parser splits the line in place */
    shop1_request_t req;
    shop1_parse_error_t perr;
    if (shop1_parse_request(c->line, len, &req, &perr) != SHOP1_OK)
        shop1_err(&c->out, perr.code, "%s", perr.text);
    else
        commands_execute(&c->req, &req);
    if (login)
        OPENSSL_cleanse(c->line, len);
}

/* Works through buffered request lines while the connection is READY, up to the per-wake-up
 * cap (then yields to other connections) and the output limit (then waits for the client to
 * read). Never buffers more than one line: an over-long line is answered and discarded. */
static void process_lines(conn_t *c);

/* True while c has more replies pending than it may have now: over output_limit, or over
 * OUTPUT_FLOOR while all connections together are over output_budget. */
static bool output_full(conn_t *c)
{
    server_t *srv = c->w->srv;
    size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
    if (out > srv->cfg.output_limit)
        return true;
    if (out <= OUTPUT_FLOOR || output_pending_total(srv) <= srv->cfg.output_budget)
        return false;
    if (!atomic_exchange(&srv->output_budget_warned, true))
        log_warn("replies pending over all connections passed --output-budget %zu bytes: connections "
                 "take only small replies until their clients read", srv->cfg.output_budget);
    return true;
}

/* Flow control. Reading is on while the connection can take more requests: input below
 * read_high_water and replies within their limits (output_full). This is done here, not with a
 * libevent read watermark: with bufferevent_openssl a read watermark can strand decrypted bytes
 * inside OpenSSL, where no socket event will ever fetch them (libevent issue #854); without one,
 * every read event drains OpenSSL's buffer into the input evbuffer. */
static void update_reading(conn_t *c)
{
    if ((c->state != CONN_READY && c->state != CONN_WAITING) || c->peer_done)
        return;
    const config_t *cfg = &c->w->srv->cfg;
    bool want = evbuffer_get_length(bufferevent_get_input(c->bev)) < cfg->read_high_water &&
                !output_full(c);
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
        if (output_full(c))
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
        /* Over-long lines are wiped as they are thrown away: one may be a LOGIN. */
        if (c->discarding) {
            if (eol.pos < 0) {
                wipe_input(in, avail);
                evbuffer_drain(in, avail);
                return;
            }
            wipe_input(in, (size_t)eol.pos + eol_len);
            evbuffer_drain(in, (size_t)eol.pos + eol_len);
            c->discarding = false;
            continue;
        }
        if (eol.pos < 0) {
            if (avail < SHOP1_LINE_MAX)
                return; /* need more */
            wipe_input(in, avail);
            evbuffer_drain(in, avail);
            c->discarding = true;
            shop1_err(&c->out, SHOP1_ERR_TOO_LONG, "request line longer than %d bytes", SHOP1_LINE_MAX);
            flush_reply(c);
            handled++;
            continue;
        }
        size_t len = (size_t)eol.pos;
        if (len + eol_len > SHOP1_LINE_MAX) {
            wipe_input(in, len + eol_len);
            evbuffer_drain(in, len + eol_len);
            shop1_err(&c->out, SHOP1_ERR_TOO_LONG, "request line longer than %d bytes", SHOP1_LINE_MAX);
        } else {
            evbuffer_copyout(in, c->line, len);
            if (is_login_line(c->line, len))
                wipe_input(in, len);
            evbuffer_drain(in, len + eol_len);
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
    c->last_progress = now_secs();
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
        shop1_err(&c->out, SHOP1_ERR_BUSY, "%s", c->reject_busy);
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
    if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_WRITING)) &&
        c->state != CONN_HANDSHAKE) {
        /* A half-close (see the top of the file): stop reading, answer what was received. */
        c->peer_done = true;
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
            bufferevent_enable(c->bev, EV_WRITE); /* writing stopped at the EOF: go on, or fail */
        if (c->state == CONN_READY)
            process_input(c);
        return; /* WAITING: conn_resume goes on with the buffered lines */
    }
    /* Errors, EOF while writing (a reset), EOF during the handshake, handshake and write
     * timeouts: nobody to answer. */
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

/* The output buffer changed: count its bytes in the server's total, and note progress when the
 * client took some of them. */
static void on_output_change(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    conn_t *c = arg;
    size_t now_len = info->orig_size + info->n_added - info->n_deleted;
    if (info->n_deleted)
        c->last_progress = now_secs();
    count_output(c->w, (ptrdiff_t)now_len - (ptrdiff_t)c->out_counted);
    c->out_counted = now_len;
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
    /* libevent may hand SSL_write a retried buffer at a new address. OpenSSL wipes its copy of
     * what it decrypted (a LOGIN's password) once it has handed it over. */
    SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_options(ssl, SSL_OP_CLEANSE_PLAINTEXT);
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    c->w = w;
    c->bev = bev;
    c->state = CONN_HANDSHAKE;
    c->refs = 1;
    shop1_buf_init(&c->out);
    c->req = (request_ctx_t){.ops = &CONN_OPS, .w = w, .session = &c->session, .peer = c->peer,
                             .out = &c->out};
    format_peer(sa, c->peer, sizeof c->peer);
    c->last_progress = now_secs();
    if (atomic_fetch_add(&srv->connections, 1) >= srv->cfg.max_connections)
        c->reject_busy = "too many connections";
    else if (netaddr_prefix_of(sa, &c->prefix) &&
             !(c->prefix_counted = peer_limit_acquire(srv->peer_limits, &c->prefix)))
        c->reject_busy = "too many connections from your address";

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
    c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output_change, c);
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

void conn_sweep(worker_t *w)
{
    const config_t *cfg = &w->srv->cfg;
    int64_t limit = (int64_t)cfg->idle_timeout + cfg->handshake_timeout;
    int64_t now = now_secs();
    size_t killed = 0;
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->last_progress > limit) {
            conn_kill(c);
            killed++;
        }
    }
    if (killed)
        log_warn("worker %d: closed %zu connections that made no progress for %lld seconds", w->index,
                 killed, (long long)limit);
    if (output_pending_total(w->srv) <= cfg->output_budget / 2)
        atomic_store(&w->srv->output_budget_warned, false);
}
