/* modes: what each benchmark mode does on one connection — which requests it sends, how it reads
 * the replies, what it counts — driven by the worker's loop through these entry points. */
#ifndef NETSHOP_BENCH_MODES_H
#define NETSHOP_BENCH_MODES_H

#include <stdint.h>

#include "bench/worker.h"

/* Sets up connection record c (number id) for worker w. Returns false when out of memory. */
bool mode_conn_init(bconn_t *c, worker_t *w, int id);
void mode_conn_free(bconn_t *c);

/* Opens the connection and starts its work. */
void mode_conn_start(bconn_t *c, int64_t now_ns);
/* Its TLS socket (udp false) or UDP socket (udp true) is ready. */
void mode_on_event(bconn_t *c, bool udp, int64_t now_ns);
/* Periodic: retransmissions, reconnections, token refresh, sending more after the drain began. */
void mode_on_tick(bconn_t *c, int64_t now_ns);
/* Measured operations still in flight (the worker drains until every connection has none). */
int mode_in_flight(const bconn_t *c);
/* The run is over: counts what is still in flight as unanswered, says QUIT, closes. */
void mode_conn_finish(bconn_t *c);

#endif
