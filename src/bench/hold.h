/* hold: the pieces of the hold mode that are not SHOP/1 — how many connections a load thread sets
 * up at once, the one HTTP request a --protocol http connection sends and its response, and the
 * line that tells a watching script the hold has begun. modes.c drives the connections. */
#ifndef NETSHOP_BENCH_HOLD_H
#define NETSHOP_BENCH_HOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/worker.h"

/* Connections being set up (connecting, handshaking, logging in) at once, all threads together:
 * enough to keep a server busy, few enough for its listen backlog and its login queue. */
#define HOLD_OPENING_MAX 256

/* A connection of this thread changed phase (hold mode): keeps the thread's count of connections
 * being set up. */
void hold_phase_changed(bconn_phase_t from, bconn_phase_t to);
/* True when c's thread may start setting up one more connection. */
bool hold_may_open(const bconn_t *c);

/* Queues `GET / HTTP/1.1` for c's host (a keep-alive request). False when out of memory. */
bool hold_queue_http_request(bconn_t *c);

typedef enum {
    HOLD_HTTP_PARTIAL = 0,  /* not all of it has arrived yet */
    HOLD_HTTP_OK,           /* a complete 2xx response, consumed */
    HOLD_HTTP_BAD,          /* not a usable response: msg says why */
} hold_http_t;

/* Takes one complete HTTP response (status line, headers, Content-Length body) from the raw input
 * of tc (a no_greeting connection). */
hold_http_t hold_read_http_response(tls_conn_t *tc, char *msg, size_t cap);

/* At most once per run, and only once the measured window (the hold itself) has begun: prints
 * "netshop-bench: holding ..." on stderr. */
void hold_announce(bench_run_t *run, int64_t now_ns);

#endif
