/* modes: the per-connection behaviour of each benchmark mode.
 *
 * Connection phases (bconn_phase_t), changed only through set_phase():
 *
 *   DOWN --start/reconnect--> CONNECTING --greeting--> LOGIN --OK--> RUNNING --order full-->
 *     ^                            |            (tls-buy, udp-buy)     ^   \   LOGOUT+LOGIN
 *     |                            |                                   |    `--> LOGIN --OK--'
 *     `------- failure, backoff ---+---- (any phase) --------------------'
 *   tls-browse and login go from the greeting straight to RUNNING; handshake closes at the
 *   greeting (or the first session ticket) and connects again; udp-browse has no TLS: PROBE (ask
 *   for an address token) -> RUNNING. hold starts DOWN and connects when its thread has room
 *   (hold.c), logs in (--protocol http: one GET, in CONNECTING) and stays RUNNING, sending nothing.
 *   udp-echo and memcached-get (bench/udp's peers, udp_peer.h) have nothing to set up: RUNNING.
 *   LOGIN refused (AUTH_FAILED, RATE_LIMITED) -> DONE: hammering a refusing server measures nothing.
 *
 * Accounting: an operation is counted in ops (and its latency recorded) when its reply is OK or
 * INSUFFICIENT_STOCK and arrives inside the measured window; every error of the whole run is
 * counted; acked counts OK BUY replies of the whole run, because the stock invariant covers every
 * purchase the run made. */
#include "bench/modes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench/hold.h"
#include "bench/udp_peer.h"
#include "proto/shop1.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define HANDSHAKE_RETRY_MS 10
#define PROBE_TAG (-1)
#define PROBE_RETRY_NS (1000LL * 1000000LL)
#define LINE_CAP (SHOP1_LINE_MAX + 2)

static const bench_options_t *opts_of(const bconn_t *c)
{
    return c->w->run->opt;
}

static bench_mode_t mode_of(const bconn_t *c)
{
    return c->w->run->opt->mode;
}

/* Changes c's phase. The first time c runs (or gives up for good) it counts as set up: the warm-up
 * starts when every connection is. */
static void set_phase(bconn_t *c, bconn_phase_t phase)
{
    if (mode_of(c) == MODE_HOLD)
        hold_phase_changed(c->phase, phase);
    c->phase = phase;
    if (!c->ready_counted && (phase == BC_RUNNING || phase == BC_DONE)) {
        c->ready_counted = true;
        bench_run_mark_ready(c->w->run, bench_now_ns());
    }
}

/* ---- accounting ---- */

static void count_ok(bconn_t *c, int64_t start_ns, int64_t now_ns)
{
    if (!worker_measuring(c->w, now_ns))
        return;
    bench_stats_t *s = &c->w->stats;
    s->ops++;
    int64_t ns = now_ns - start_ns;
    hist_record(s->hist, ns > 0 ? (uint64_t)(ns + 999) / 1000 : 0);
}

static void count_server_error(bconn_t *c, const shop1_reply_line_t *r, const char *what)
{
    bench_stats_t *s = &c->w->stats;
    s->errors++;
    s->server_errors[r->code <= SHOP1_ERROR_COUNT ? r->code : SHOP1_ERROR_COUNT]++;
    bench_note_error(c->w->run, "connection %d: %s: ERR %s %s", c->id, what, r->code_name, r->text);
}

static void count_local_error(bconn_t *c, bench_local_error_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void count_local_error(bconn_t *c, bench_local_error_t e, const char *fmt, ...)
{
    bench_stats_t *s = &c->w->stats;
    s->errors++;
    s->local_errors[e]++;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    va_end(ap);
    bench_note_error(c->w->run, "connection %d: %s", c->id, msg);
}

/* An OK BUY: counts the units for its item and remembers the order it went into. */
static void count_acked(bconn_t *c, int item, int64_t order_id, int64_t now_ns)
{
    bench_stats_t *s = &c->w->stats;
    s->acked++;
    c->session_lines++; /* an OK BUY is one more line in the session's order */
    if (worker_measuring(c->w, now_ns))
        s->acked_measured++;
    if (item >= 0 && (size_t)item < s->nitems)
        s->acked_units[item] += (uint64_t)opts_of(c)->qty;
    if (order_id > 0 && order_id != c->order_id) {
        c->order_id = order_id;
        if (!orders_add(&c->w->orders, c->user, order_id))
            count_local_error(c, BERR_PROTOCOL, "out of memory recording order %" PRId64, order_id);
    }
}

/* The outcome of a BUY reply (over TLS or UDP). */
static void buy_outcome(bconn_t *c, const shop1_reply_line_t *final, int item, int64_t order_id, int64_t start_ns,
                        int64_t now_ns)
{
    if (final->kind == SHOP1_LINE_OK) {
        count_acked(c, item, order_id, now_ns);
        count_ok(c, start_ns, now_ns);
    } else if (final->code == SHOP1_ERR_INSUFFICIENT_STOCK) {
        c->w->stats.insufficient++;
        count_ok(c, start_ns, now_ns);
    } else {
        count_server_error(c, final, "BUY");
    }
}

static bool parse_int64(const char *s, int64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    int64_t v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

/* "logged in as <user> session <16 hex digits>" -> the session id, or 0. */
static uint64_t parse_session_id(const char *text)
{
    const char *p = strstr(text, " session ");
    if (p == NULL)
        return 0;
    p += strlen(" session ");
    uint64_t id = 0;
    int digits = 0;
    for (; *p != '\0' && *p != ' '; p++, digits++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else
            return 0;
        id = id << 4 | (uint64_t)v;
    }
    return digits == 16 ? id : 0;
}

/* ---- TLS requests ---- */

static bool fifo_push(bconn_t *c, bench_pending_t p)
{
    if (c->fifo_len == c->fifo_cap) {
        int cap = c->fifo_cap * 2;
        bench_pending_t *f = malloc((size_t)cap * sizeof *f);
        if (f == NULL)
            return false;
        for (int i = 0; i < c->fifo_len; i++)
            f[i] = c->fifo[(c->fifo_head + i) % c->fifo_cap];
        free(c->fifo);
        c->fifo = f;
        c->fifo_cap = cap;
        c->fifo_head = 0;
    }
    c->fifo[(c->fifo_head + c->fifo_len) % c->fifo_cap] = p;
    c->fifo_len++;
    return true;
}

static bench_pending_t fifo_pop(bconn_t *c)
{
    bench_pending_t p = c->fifo[c->fifo_head];
    c->fifo_head = (c->fifo_head + 1) % c->fifo_cap;
    c->fifo_len--;
    return p;
}

/* Queues one request line (LF added) and remembers what it was. False when it cannot. */
static bool send_request(bconn_t *c, bench_pending_t p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool send_request(bconn_t *c, bench_pending_t p, const char *fmt, ...)
{
    char line[LINE_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        return false;
    line[n++] = '\n';
    if (!fifo_push(c, p))
        return false;
    if (!tc_queue(&c->tls, line, (size_t)n)) {
        c->fifo_len--;
        return false;
    }
    return true;
}

static bool send_login(bconn_t *c, rq_kind_t kind, int64_t now_ns)
{
    const bench_user_t *u = &opts_of(c)->users[c->user];
    return send_request(c, (bench_pending_t){.kind = kind, .start_ns = now_ns, .item = -1, .slot = -1},
                        "LOGIN %s %s", u->name, u->password);
}

/* ---- connection life ---- */

static void connection_failed(bconn_t *c, bench_local_error_t why, const char *msg, int64_t now_ns);

static bench_local_error_t error_of_failure(tc_failure_t f)
{
    switch (f) {
    case TC_FAIL_CONNECT: return BERR_CONNECT;
    case TC_FAIL_CLOSED: return BERR_CLOSED;
    case TC_FAIL_BUSY: return BERR_REFUSED;
    case TC_FAIL_PROTOCOL: return BERR_PROTOCOL;
    case TC_FAIL_TLS:
    case TC_FAIL_NOMEM:
    case TC_FAIL_NONE:
    default: return BERR_TLS;
    }
}

static void start_tls(bconn_t *c, int64_t now_ns)
{
    bench_run_t *run = c->w->run;
    c->op_start_ns = now_ns;
    c->fifo_head = c->fifo_len = 0;
    set_phase(c, BC_CONNECTING);
    if (!tc_connect(&c->tls, (const struct sockaddr *)&run->addr, run->addrlen, run->tls, run->opt->host)) {
        connection_failed(c, error_of_failure(c->tls.failure), c->tls.err, now_ns);
        return;
    }
    worker_sync_watch(c->w, c);
}

static void ensure_udp(bconn_t *c)
{
    if (c->udp.fd >= 0)
        return;
    char err[160];
    bench_run_t *run = c->w->run;
    if (!udp_conn_open(&c->udp, (const struct sockaddr *)&run->addr, run->addrlen, err, sizeof err)) {
        count_local_error(c, BERR_CONNECT, "%s", err);
        return;
    }
    c->udp_watched = false;
}

static void fill(bconn_t *c, int64_t now_ns);

/* A session began (LOGIN OK): a new order, and for udp-buy the session's datagram keys. */
static void session_started(bconn_t *c, const shop1_reply_line_t *r, int64_t now_ns)
{
    c->w->stats.sessions++;
    c->session_id = parse_session_id(r->text);
    c->session_lines = 0;
    c->order_id = 0;
    c->backoff_ms = BACKOFF_MIN_MS;
    if (mode_of(c) == MODE_UDP_BUY) {
        if (c->session_id == 0) {
            connection_failed(c, BERR_PROTOCOL, "LOGIN reply without a session id", now_ns);
            return;
        }
        uint8_t context[8], exported[UDP_EXPORT_LEN];
        for (int i = 0; i < 8; i++)
            context[i] = (uint8_t)(c->session_id >> (56 - 8 * i));
        if (tls_io_export(c->tls.io, UDP_EXPORT_LABEL, context, sizeof context, exported, sizeof exported) != 0) {
            connection_failed(c, BERR_TLS, "cannot derive the UDP keys", now_ns);
            return;
        }
        ensure_udp(c);
        udp_conn_set_session(&c->udp, c->session_id, exported);
        explicit_bzero(exported, sizeof exported);
        if (c->udp.fd < 0) {
            connection_failed(c, BERR_CONNECT, "no UDP socket", now_ns);
            return;
        }
    }
    set_phase(c, BC_RUNNING);
    fill(c, now_ns);
}

/* Every operation in flight on c is lost with its connection: counted unanswered. */
static void drop_in_flight(bconn_t *c)
{
    while (c->fifo_len > 0) {
        bench_pending_t p = fifo_pop(c);
        if (p.kind == RQ_BUY || p.kind == RQ_BROWSE || p.kind == RQ_LOGIN_OP || p.kind == RQ_FALLBACK_BUY) {
            c->in_flight--;
            c->w->stats.errors++;
            c->w->stats.local_errors[BERR_UNANSWERED]++;
            if (p.kind == RQ_FALLBACK_BUY)
                udp_conn_release(&c->udp, p.slot);
        }
    }
    if (c->has_udp) {
        for (int i = 0; i < c->udp.nslots; i++) {
            if (c->udp.slots[i].state == UDP_SLOT_FREE)
                continue;
            if (c->udp.slots[i].tag != PROBE_TAG) {
                c->in_flight--;
                c->w->stats.errors++;
                c->w->stats.local_errors[BERR_UNANSWERED]++;
            }
            udp_conn_release(&c->udp, i);
        }
        c->probe_slot = -1;
    }
}

/* The TLS connection failed (or replied nonsense): count it (unless why is BERR_LOCAL_COUNT: the
 * caller counted the cause), lose what was in flight, and come back after a backoff while the run
 * goes on. */
static void connection_failed(bconn_t *c, bench_local_error_t why, const char *msg, int64_t now_ns)
{
    if (why < BERR_LOCAL_COUNT)
        count_local_error(c, why, "%s", msg);
    drop_in_flight(c);
    tc_close(&c->tls, false);
    worker_tls_closed(c);
    if (c->has_udp && mode_of(c) == MODE_UDP_BUY)
        udp_conn_set_session(&c->udp, 0, (uint8_t[UDP_EXPORT_LEN]){0}); /* late datagrams: dropped */
    c->session_id = 0;
    c->order_id = 0;
    set_phase(c, BC_DOWN);
    int delay = mode_of(c) == MODE_HANDSHAKE ? HANDSHAKE_RETRY_MS : c->backoff_ms;
    c->retry_at_ns = now_ns + (int64_t)delay * 1000000;
    if (c->backoff_ms < BACKOFF_MAX_MS)
        c->backoff_ms *= 2;
}

/* ---- sending operations ---- */

static int next_item(bconn_t *c)
{
    size_t n = c->w->run->nitems;
    return n ? (int)(c->cursor++ % n) : -1;
}

static bool send_buy_tls(bconn_t *c, int64_t now_ns)
{
    const bench_options_t *o = opts_of(c);
    int item = next_item(c);
    bench_pending_t p = {.kind = RQ_BUY, .start_ns = now_ns, .item = item, .slot = -1};
    if (!send_request(c, p, "BUY %d %d %s-%d-%" PRIu64, c->w->run->items[item].sno, o->qty, c->w->run->run_tag,
                      c->id, c->seq++)) {
        count_local_error(c, BERR_PROTOCOL, "%s", "cannot queue a BUY (out of memory)");
        return false;
    }
    c->in_flight++;
    return true;
}

static bool send_buy_udp(bconn_t *c, int64_t now_ns)
{
    const bench_options_t *o = opts_of(c);
    int item = next_item(c);
    char text[64];
    int n = snprintf(text, sizeof text, "BUY %d %d", c->w->run->items[item].sno, o->qty);
    if (udp_conn_submit(&c->udp, text, (size_t)n, item, true, now_ns) < 0)
        return false;
    c->in_flight++;
    return true;
}

static bool send_browse_udp(bconn_t *c, int64_t now_ns)
{
    bench_run_t *run = c->w->run;
    char text[SHOP1_LINE_MAX];
    int n;
    if (opts_of(c)->udp_page_small)
        n = snprintf(text, sizeof text, "ITEM %d", run->items[next_item(c)].sno);
    else
        n = snprintf(text, sizeof text, "BROWSE %s", run->browse_args[c->cursor++ % run->nbrowse]);
    if (n < 0 || (size_t)n >= sizeof text)
        return false;
    if (udp_conn_submit(&c->udp, text, (size_t)n, 0, true, now_ns) < 0)
        return false;
    c->in_flight++;
    return true;
}

/* udp-echo, memcached-get: the mode's one request. */
static bool send_peer_request(bconn_t *c, int64_t now_ns)
{
    char text[UDP_CONN_TEXT_MAX];
    size_t n = udp_peer_request_text(opts_of(c), text);
    if (udp_conn_submit(&c->udp, text, n, 0, true, now_ns) < 0)
        return false;
    c->in_flight++;
    return true;
}

/* udp-browse: sends the run's probe command without the token, to get a RETRY and a fresh one. */
static void send_probe(bconn_t *c, int64_t now_ns)
{
    const char *probe = c->w->run->probe_command;
    c->probe_slot = udp_conn_submit(&c->udp, probe, strlen(probe), PROBE_TAG, false, now_ns);
    c->next_probe_ns = now_ns + PROBE_RETRY_NS;
    if (c->probe_slot < 0 && c->phase == BC_PROBE)
        set_phase(c, BC_RUNNING); /* no slot or no probe: run without a token */
}

/* Purchase modes: the order has its lines; once nothing is in flight, LOGOUT closes it and a new
 * LOGIN opens the next session (and order). */
static void rotate_session(bconn_t *c, int64_t now_ns)
{
    if (!send_request(c, (bench_pending_t){.kind = RQ_LOGOUT, .start_ns = now_ns, .item = -1, .slot = -1},
                      "LOGOUT") ||
        !send_login(c, RQ_LOGIN, now_ns)) {
        connection_failed(c, BERR_PROTOCOL, "cannot queue LOGOUT/LOGIN (out of memory)", now_ns);
        return;
    }
    if (c->has_udp)
        udp_conn_set_session(&c->udp, 0, (uint8_t[UDP_EXPORT_LEN]){0});
    set_phase(c, BC_LOGIN);
}

/* Queues as many operations as the connection may have in flight, while the run goes on (TLS
 * requests go out at the flush_tls that ends every event and tick; datagrams at once). */
static void fill(bconn_t *c, int64_t now_ns)
{
    if (c->phase != BC_RUNNING || !worker_running(c->w, now_ns))
        return;
    /* No load until every connection is set up (logged in): a connection that started early would
     * measure the server's password hashing of the others, and fill its order sooner. */
    if (bench_run_warm_end(c->w->run) == INT64_MAX)
        return;
    const bench_options_t *o = opts_of(c);
    int k = o->outstanding;
    switch (o->mode) {
    case MODE_TLS_BUY:
        while (c->in_flight < k && c->session_lines + c->in_flight < o->order_lines && send_buy_tls(c, now_ns)) {
        }
        if (c->session_lines >= o->order_lines && c->in_flight == 0)
            rotate_session(c, now_ns);
        break;
    case MODE_UDP_BUY:
        while (c->in_flight < k && c->session_lines + c->in_flight < o->order_lines && send_buy_udp(c, now_ns)) {
        }
        if (c->session_lines >= o->order_lines && c->in_flight == 0)
            rotate_session(c, now_ns);
        break;
    case MODE_TLS_BROWSE:
        while (c->in_flight < k) {
            bench_run_t *run = c->w->run;
            bench_pending_t p = {.kind = RQ_BROWSE, .start_ns = now_ns, .item = -1, .slot = -1};
            if (!send_request(c, p, "BROWSE %s", run->browse_args[c->cursor++ % run->nbrowse]))
                break;
            c->in_flight++;
        }
        break;
    case MODE_LOGIN:
        while (c->in_flight < k) {
            if (!send_login(c, RQ_LOGIN_OP, now_ns) ||
                !send_request(c, (bench_pending_t){.kind = RQ_LOGOUT, .start_ns = now_ns, .item = -1, .slot = -1},
                              "LOGOUT"))
                break;
            c->in_flight++;
        }
        break;
    case MODE_UDP_BROWSE:
        if (c->probe_slot < 0 && now_ns >= c->next_probe_ns)
            send_probe(c, now_ns);
        while (c->in_flight < k && send_browse_udp(c, now_ns)) {
        }
        break;
    case MODE_UDP_ECHO:
    case MODE_MEMCACHED_GET:
        while (c->in_flight < k && send_peer_request(c, now_ns)) {
        }
        break;
    case MODE_HANDSHAKE:
    case MODE_COUNT:
    default:
        break;
    }
}

/* Sends what the event or tick queued on the TLS connection, in one write: many pipelined
 * requests go out in one TLS record. */
static void flush_tls(bconn_t *c, int64_t now_ns)
{
    if (c->tls.state == TC_READY && c->tls.out_len > c->tls.out_off && tc_flush(&c->tls) == TC_STEP_FAILED)
        connection_failed(c, error_of_failure(c->tls.failure), c->tls.err, now_ns);
}

/* Sends the datagrams the event or tick queued, a batch per system call. */
static void flush_udp(bconn_t *c)
{
    if (c->has_udp && c->udp.nqueued > 0)
        udp_conn_flush(&c->udp, c->w->aead);
}

/* ---- TLS replies ---- */

/* A final line arrived for the oldest request in flight. */
static void on_final(bconn_t *c, bench_pending_t p, const shop1_reply_line_t *r, int64_t now_ns)
{
    switch (p.kind) {
    case RQ_LOGIN:
        if (r->kind == SHOP1_LINE_OK) {
            session_started(c, r, now_ns);
            return;
        }
        count_server_error(c, r, "LOGIN");
        if (r->code == SHOP1_ERR_AUTH_FAILED || r->code == SHOP1_ERR_RATE_LIMITED) {
            drop_in_flight(c);
            tc_close(&c->tls, true);
            worker_tls_closed(c);
            set_phase(c, BC_DONE);
        } else {
            connection_failed(c, BERR_LOCAL_COUNT, "LOGIN refused", now_ns); /* counted above */
        }
        return;
    case RQ_LOGOUT:
        /* login mode: the LOGOUT behind a refused LOGIN finds no session; that LOGIN's error
         * was counted already, so this one is not counted again. */
        if (r->kind != SHOP1_LINE_OK &&
            !(opts_of(c)->mode == MODE_LOGIN && r->code == SHOP1_ERR_AUTH_REQUIRED))
            count_server_error(c, r, "LOGOUT");
        break;
    case RQ_BUY:
        c->in_flight--;
        buy_outcome(c, r, p.item, c->reply_order_id, p.start_ns, now_ns);
        break;
    case RQ_FALLBACK_BUY:
        c->in_flight--;
        buy_outcome(c, r, c->udp.slots[p.slot].tag, c->reply_order_id, p.start_ns, now_ns);
        udp_conn_release(&c->udp, p.slot);
        break;
    case RQ_BROWSE:
        c->in_flight--;
        if (r->kind == SHOP1_LINE_OK)
            count_ok(c, p.start_ns, now_ns);
        else
            count_server_error(c, r, "BROWSE");
        break;
    case RQ_LOGIN_OP:
        c->in_flight--;
        if (r->kind == SHOP1_LINE_OK) {
            c->w->stats.sessions++;
            count_ok(c, p.start_ns, now_ns);
        } else {
            count_server_error(c, r, "LOGIN");
        }
        break;
    case RQ_QUIT:
    default:
        break;
    }
    fill(c, now_ns);
}

/* Reads every complete reply line. Returns false when the connection failed meanwhile. */
static bool read_replies(bconn_t *c, int64_t now_ns)
{
    char *line;
    size_t len;
    while (c->tls.state == TC_READY && tc_next_line(&c->tls, &line, &len)) {
        shop1_reply_line_t r;
        shop1_line_kind_t kind = shop1_parse_reply_line(line, len, &r);
        if (kind == SHOP1_LINE_INVALID || c->fifo_len == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s reply line '%.60s'", kind == SHOP1_LINE_INVALID ? "malformed" : "unexpected",
                     line);
            connection_failed(c, BERR_PROTOCOL, msg, now_ns);
            return false;
        }
        if (kind == SHOP1_LINE_DATA) {
            bench_pending_t *head = &c->fifo[c->fifo_head];
            int64_t id;
            if ((head->kind == RQ_BUY || head->kind == RQ_FALLBACK_BUY) && r.nfields >= 1 &&
                parse_int64(r.fields[0], &id))
                c->reply_order_id = id;
            continue;
        }
        bench_pending_t p = fifo_pop(c);
        on_final(c, p, &r, now_ns);
        c->reply_order_id = 0;
        if (c->phase == BC_DOWN || c->phase == BC_DONE)
            return false;
    }
    return c->tls.state == TC_READY;
}

/* handshake mode: the greeting arrived; one operation done. Close without TIME_WAIT on our side
 * (a linger of 0 resets) so that tens of thousands of handshakes do not exhaust local ports. */
static void handshake_done(bconn_t *c, int64_t now_ns)
{
    count_ok(c, c->op_start_ns, now_ns);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(c->tls.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    tc_close(&c->tls, true);
    worker_tls_closed(c);
    set_phase(c, BC_DOWN);
    if (worker_running(c->w, now_ns))
        start_tls(c, now_ns);
}

/* hold --protocol http: the handshake is done (READY): one GET; its response: held. Anything the
 * server sends after that is unexpected. */
static void on_http_event(bconn_t *c, tc_step_t step, int64_t now_ns)
{
    if (step == TC_STEP_READY && !hold_queue_http_request(c)) {
        connection_failed(c, BERR_PROTOCOL, "cannot queue the HTTP request (out of memory)", now_ns);
        return;
    }
    if (c->tls.in_off == c->tls.in_len)
        return;
    if (c->phase != BC_CONNECTING) {
        connection_failed(c, BERR_PROTOCOL, "the server sent something during the hold", now_ns);
        return;
    }
    char msg[160];
    hold_http_t r = hold_read_http_response(&c->tls, msg, sizeof msg);
    if (r == HOLD_HTTP_BAD)
        connection_failed(c, BERR_PROTOCOL, msg, now_ns);
    else if (r == HOLD_HTTP_OK)
        set_phase(c, BC_RUNNING);
}

static void on_tls_event(bconn_t *c, int64_t now_ns)
{
    if (c->tls.state == TC_CLOSED || c->tls.state == TC_FAILED)
        return;
    tc_step_t step = tc_on_io(&c->tls);
    if (step == TC_STEP_FAILED) {
        connection_failed(c, error_of_failure(c->tls.failure), c->tls.err, now_ns);
        return;
    }
    if (mode_of(c) == MODE_HANDSHAKE && opts_of(c)->handshake_until == UNTIL_TICKET) {
        if (tc_tickets(&c->tls) > 0)
            handshake_done(c, now_ns);
        return;
    }
    if (mode_of(c) == MODE_HOLD && opts_of(c)->protocol == PROTO_HTTP) {
        on_http_event(c, step, now_ns);
        return;
    }
    if (step == TC_STEP_READY) {
        switch (mode_of(c)) {
        case MODE_HANDSHAKE:
            handshake_done(c, now_ns);
            return;
        case MODE_TLS_BUY:
        case MODE_UDP_BUY:
        case MODE_HOLD:
            if (!send_login(c, RQ_LOGIN, now_ns)) {
                connection_failed(c, BERR_PROTOCOL, "cannot queue LOGIN", now_ns);
                return;
            }
            set_phase(c, BC_LOGIN);
            break;
        default:
            set_phase(c, BC_RUNNING);
            c->backoff_ms = BACKOFF_MIN_MS;
            fill(c, now_ns);
            break;
        }
    }
    read_replies(c, now_ns);
}

/* ---- UDP replies ---- */

/* Splits a datagram's reply text into lines: the order id of a BUY's data line and the final
 * line. Returns false when there is no single final line at the end. */
static bool parse_udp_reply(char *text, size_t len, shop1_reply_line_t *final, int64_t *order_id)
{
    *order_id = 0;
    bool have_final = false;
    size_t pos = 0;
    while (pos < len) {
        char *lf = memchr(text + pos, '\n', len - pos);
        size_t end = lf ? (size_t)(lf - text) : len;
        shop1_reply_line_t r;
        shop1_line_kind_t kind = shop1_parse_reply_line(text + pos, end - pos, &r);
        if (kind == SHOP1_LINE_INVALID || have_final)
            return false;
        if (kind == SHOP1_LINE_DATA) {
            int64_t id;
            if (r.nfields >= 1 && parse_int64(r.fields[0], &id))
                *order_id = id;
        } else {
            *final = r;
            have_final = true;
        }
        pos = end + 1;
    }
    return have_final;
}

/* udp-echo, memcached-get: a complete reply. */
static void on_peer_reply(bconn_t *c, int slot, const char *text, size_t len, int64_t now_ns)
{
    udp_slot_t *s = &c->udp.slots[slot];
    switch (udp_peer_judge(mode_of(c), text, len, s->parts)) {
    case UDP_PEER_ANSWERED:
        count_ok(c, s->started_ns, now_ns);
        break;
    case UDP_PEER_MISS:
        count_local_error(c, BERR_PROTOCOL, "memcached answered END without VALUE: is key '%s' set?",
                          opts_of(c)->memcached_key);
        break;
    case UDP_PEER_BAD_REPLY:
    default:
        count_local_error(c, BERR_PROTOCOL, "unexpected reply '%.*s'", (int)strcspn(text, "\r\n"), text);
        break;
    }
    udp_conn_release(&c->udp, slot);
    c->in_flight--;
    fill(c, now_ns);
}

static void on_udp_reply(void *arg, int slot, char *text, size_t len, bool more)
{
    bconn_t *c = arg;
    int64_t now_ns = bench_now_ns();
    if (udp_peer_mode(mode_of(c))) {
        on_peer_reply(c, slot, text, len, now_ns);
        return;
    }
    udp_slot_t *s = &c->udp.slots[slot];
    shop1_reply_line_t final;
    int64_t order_id;
    bool ok = parse_udp_reply(text, len, &final, &order_id);
    if (s->tag == PROBE_TAG) {
        udp_conn_release(&c->udp, slot);
        c->probe_slot = -1;
        c->next_probe_ns = now_ns + UDP_TOKEN_REFRESH_NS;
        if (!c->udp.have_token)
            bench_note_error(c->w->run, "connection %d: the server answered the token probe without a RETRY: "
                                        "requests go without an address token (rate-limited per address)",
                             c->id);
        if (c->phase == BC_PROBE)
            set_phase(c, BC_RUNNING);
        fill(c, now_ns);
        return;
    }
    if (!ok) {
        count_local_error(c, BERR_PROTOCOL, "malformed reply datagram");
    } else if (more && final.kind == SHOP1_LINE_OK && s->page < UINT16_MAX) {
        udp_conn_next_page(&c->udp, slot, (uint16_t)(s->page + 1), now_ns);
        return;
    } else if (mode_of(c) == MODE_UDP_BUY) {
        buy_outcome(c, &final, s->tag, order_id, s->started_ns, now_ns);
    } else if (final.kind == SHOP1_LINE_OK) {
        count_ok(c, s->started_ns, now_ns);
    } else {
        count_server_error(c, &final, opts_of(c)->udp_page_small ? "ITEM" : "BROWSE");
    }
    udp_conn_release(&c->udp, slot);
    c->in_flight--;
    fill(c, now_ns);
}

/* A datagram request ran out of retries: a BUY finishes over TLS under the same request id (the
 * server returns the first outcome if the datagram did arrive); anything else is an error. */
static void on_udp_give_up(void *arg, int slot)
{
    bconn_t *c = arg;
    int64_t now_ns = bench_now_ns();
    udp_slot_t *s = &c->udp.slots[slot];
    if (s->tag == PROBE_TAG) {
        udp_conn_release(&c->udp, slot);
        c->probe_slot = -1;
        c->next_probe_ns = now_ns + PROBE_RETRY_NS;
        count_local_error(c, BERR_UDP_TIMEOUT, "no answer to the address token probe");
        if (c->phase == BC_PROBE)
            set_phase(c, BC_RUNNING);
        return;
    }
    if (mode_of(c) == MODE_UDP_BUY && c->tls.state == TC_READY) {
        char rid[21];
        udp_conn_buy_request_id(&c->udp, slot, rid);
        const udp_slot_t *sl = &c->udp.slots[slot];
        bench_pending_t p = {.kind = RQ_FALLBACK_BUY, .start_ns = sl->started_ns, .item = sl->tag, .slot = slot};
        if (send_request(c, p, "BUY %d %d %s", c->w->run->items[sl->tag].sno, opts_of(c)->qty, rid)) {
            c->w->stats.fallbacks++;
            return; /* sent by the flush that ends this tick */
        }
    }
    count_local_error(c, BERR_UDP_TIMEOUT, "no reply to '%.*s' after %d tries", (int)s->text_len, s->text, s->tries);
    udp_conn_release(&c->udp, slot);
    c->in_flight--;
}

/* ---- entry points ---- */

bool mode_conn_init(bconn_t *c, worker_t *w, int id)
{
    const bench_options_t *o = w->run->opt;
    memset(c, 0, sizeof *c);
    c->w = w;
    c->id = id;
    c->user = id % o->nusers;
    c->probe_slot = -1;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->tls_watch = (bench_watch_t){.c = c, .udp = false};
    c->udp_watch = (bench_watch_t){.c = c, .udp = true};
    tc_init(&c->tls);
    c->tls.no_greeting = o->protocol == PROTO_HTTP;
    c->udp.fd = -1;
    /* Where this connection starts in the item / category rotation: spread out by the seed. */
    c->cursor = (o->seed * 0x9E3779B97F4A7C15ULL >> 17) + (uint64_t)id;
    c->fifo_cap = 2 * o->outstanding + 4;
    c->fifo = calloc((size_t)c->fifo_cap, sizeof *c->fifo);
    if (c->fifo == NULL)
        return false;
    if (o->mode == MODE_UDP_BUY || o->mode == MODE_UDP_BROWSE || udp_peer_mode(o->mode)) {
        /* udp-browse keeps one more slot for the token probe. */
        int slots = o->outstanding + (o->mode == MODE_UDP_BROWSE ? 1 : 0);
        udp_proto_t proto = udp_peer_mode(o->mode) ? udp_peer_proto(o->mode) : UDP_PROTO_SHOP1;
        if (!udp_conn_init(&c->udp, proto, slots, o->udp_timeout_ms, o->udp_retries))
            return false;
        c->has_udp = true;
    }
    return true;
}

void mode_conn_free(bconn_t *c)
{
    tc_destroy(&c->tls);
    if (c->has_udp)
        udp_conn_destroy(&c->udp);
    free(c->fifo);
    c->fifo = NULL;
}

void mode_conn_start(bconn_t *c, int64_t now_ns)
{
    if (mode_of(c) == MODE_UDP_BROWSE || udp_peer_mode(mode_of(c))) {
        ensure_udp(c);
        if (c->udp.fd < 0) {
            set_phase(c, BC_DONE);
            return;
        }
        worker_sync_watch(c->w, c);
        if (udp_peer_mode(mode_of(c))) {
            set_phase(c, BC_RUNNING);
            return;
        }
        set_phase(c, BC_PROBE);
        send_probe(c, now_ns);
        flush_udp(c);
        return;
    }
    if (mode_of(c) == MODE_HANDSHAKE) {
        c->ready_counted = true; /* nothing to set up: every handshake is the work */
        bench_run_mark_ready(c->w->run, now_ns);
    }
    if (mode_of(c) == MODE_HOLD) {
        c->retry_at_ns = now_ns; /* DOWN: the tick connects it once its thread has room */
        return;
    }
    start_tls(c, now_ns);
}

void mode_on_event(bconn_t *c, bool udp, int64_t now_ns)
{
    if (udp) {
        if (c->udp.fd >= 0 && !udp_conn_on_readable(&c->udp, c->w->aead, now_ns, on_udp_reply, c))
            count_local_error(c, BERR_CONNECT, "UDP receive failed: %s", strerror(errno));
    } else {
        on_tls_event(c, now_ns);
    }
    flush_tls(c, now_ns);
    flush_udp(c);
    worker_sync_watch(c->w, c);
}

void mode_on_tick(bconn_t *c, int64_t now_ns)
{
    bool hold = mode_of(c) == MODE_HOLD;
    if (hold)
        hold_announce(c->w->run, now_ns);
    if (c->phase == BC_DOWN && worker_running(c->w, now_ns) && now_ns >= c->retry_at_ns &&
        (!hold || hold_may_open(c))) {
        /* (A hold connection's first start is no reconnect: it has never started, op_start_ns 0.) */
        if (mode_of(c) != MODE_HANDSHAKE && !(hold && c->op_start_ns == 0))
            c->w->stats.reconnects++;
        start_tls(c, now_ns);
    }
    if (c->has_udp && c->udp.fd >= 0) {
        udp_conn_on_timer(&c->udp, now_ns, on_udp_give_up, c);
        c->w->stats.retransmits += c->udp.retransmits;
        c->udp.retransmits = 0;
    }
    fill(c, now_ns);
    flush_tls(c, now_ns);
    flush_udp(c);
    worker_sync_watch(c->w, c);
}

int mode_in_flight(const bconn_t *c)
{
    /* A handshake is one operation in flight from connect to greeting. */
    if (mode_of(c) == MODE_HANDSHAKE)
        return c->phase == BC_CONNECTING ? 1 : 0;
    return c->in_flight;
}

void mode_conn_finish(bconn_t *c)
{
    /* (A handshake cut short by the end of the drain is not counted: it never had a reply due.) */
    if (c->in_flight > 0) {
        int lost = c->in_flight;
        drop_in_flight(c);
        c->in_flight = 0;
        bench_note_error(c->w->run, "connection %d: %d request(s) unanswered at the end", c->id, lost);
    }
    if (mode_of(c) == MODE_HOLD && c->phase == BC_RUNNING && c->tls.state == TC_READY)
        c->w->stats.held++;
    if (c->tls.state == TC_READY && opts_of(c)->protocol == PROTO_SHOP1) {
        c->fifo_head = c->fifo_len = 0;
        if (tc_queue(&c->tls, "QUIT\n", 5))
            (void)tc_flush(&c->tls);
    }
    tc_close(&c->tls, true);
    worker_tls_closed(c);
    if (c->has_udp)
        udp_conn_close(&c->udp);
    set_phase(c, BC_DONE);
}
