/* tls_conn: one non-blocking SHOP/1 connection over TLS, driven by readiness events — TCP connect,
 * handshake (verified), the `OK SHOP/1` greeting, then request lines out and reply lines in. It
 * knows lines, not requests: the caller matches final lines to what it sent (replies come in
 * order). The caller owns the event loop and asks tc_wants_write() which events to wait for.
 *
 *   tc_connect -> CONNECTING -> HANDSHAKE -> GREETING -> READY ... -> tc_close -> CLOSED
 *                      \___________\____________\__________\__> FAILED (tc->err says why)
 *
 * With no_greeting (a server that is not netshopd, e.g. a web server) HANDSHAKE goes straight to
 * READY, and the caller takes whatever the server sends as raw bytes: in[in_off..in_len), consumed
 * by advancing in_off.
 */
#ifndef NETSHOP_BENCH_TLS_CONN_H
#define NETSHOP_BENCH_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "bench/tls_io.h"

#define TC_ERR_MAX 256
#define TC_IN_MAX (8u << 20)     /* bytes of replies buffered before the connection is a failure */

typedef enum {
    TC_CLOSED = 0,
    TC_CONNECTING,
    TC_HANDSHAKE,
    TC_GREETING,
    TC_READY,
    TC_FAILED,
} tc_state_t;

typedef enum {
    TC_FAIL_NONE = 0,
    TC_FAIL_CONNECT,     /* TCP connect refused or failed */
    TC_FAIL_TLS,         /* handshake or certificate failure, or a TLS error later */
    TC_FAIL_CLOSED,      /* the server closed or reset the connection */
    TC_FAIL_BUSY,        /* greeted with ERR (BUSY) */
    TC_FAIL_PROTOCOL,    /* not SHOP/1: bad greeting, over-long reply */
    TC_FAIL_NOMEM,
} tc_failure_t;

typedef struct {
    tc_state_t state;
    tc_failure_t failure;
    bool no_greeting;       /* set before tc_connect: READY right after the handshake */
    int fd;
    tls_io_t *io;
    bool want_write;        /* wait for the socket to be writable too */
    char *in;               /* received bytes: in[in_off..in_len) not yet handed out */
    size_t in_off, in_len, in_cap;
    char *out;              /* bytes to send: out[out_off..out_len) */
    size_t out_off, out_len, out_cap;
    char err[TC_ERR_MAX];
} tls_conn_t;

/* A closed connection with no buffers yet (expecting a SHOP/1 greeting). */
void tc_init(tls_conn_t *tc);

/* Starts connecting to addr; the certificate must match host. Returns true when under way (state
 * CONNECTING), false with state FAILED and tc->err set. */
bool tc_connect(tls_conn_t *tc, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                const char *host);

typedef enum {
    TC_STEP_NONE = 0,    /* progress (or not); keep waiting */
    TC_STEP_READY,       /* the greeting just arrived: the connection is READY */
    TC_STEP_FAILED,      /* the connection just failed: state FAILED, tc->err set */
} tc_step_t;

/* Runs the connection after a readiness event (or any time: it never blocks): connects,
 * handshakes, sends queued bytes, reads everything available. Complete reply lines are then
 * available through tc_next_line. */
tc_step_t tc_on_io(tls_conn_t *tc);

/* The next complete reply line, without its LF, in place: *line is valid until the next
 * tc_on_io / tc_close, and (*line)[*len] may be overwritten (shop1_parse_reply_line does).
 * False when no complete line is buffered. */
bool tc_next_line(tls_conn_t *tc, char **line, size_t *len);

/* Queues bytes to send (whole request lines, LF included); they go out at the next
 * tc_flush / tc_on_io. False when out of memory. */
bool tc_queue(tls_conn_t *tc, const char *text, size_t len);
/* Sends queued bytes now, as far as the socket takes them. */
tc_step_t tc_flush(tls_conn_t *tc);

/* Session tickets the server sent on the current connection so far (0 when there is none). */
unsigned tc_tickets(const tls_conn_t *tc);

/* True when the caller must also wait for writability. */
bool tc_wants_write(const tls_conn_t *tc);

/* Closes the socket (after a best-effort close_notify when graceful) and forgets buffered bytes;
 * keeps the buffers for reuse. State CLOSED. */
void tc_close(tls_conn_t *tc, bool graceful);
/* tc_close, then frees the buffers. */
void tc_destroy(tls_conn_t *tc);

#endif
