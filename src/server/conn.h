/* conn: one TLS connection — its state machine, line framing, flow control and timeouts.
 * A connection belongs to the worker that accepted it and is touched only on that thread.
 * What requests mean is commands.c's business; conn.c only moves lines in and replies out. */
#ifndef NETSHOP_CONN_H
#define NETSHOP_CONN_H

#include <stdbool.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "proto/shop1.h"
#include "server/commands.h"
#include "server/worker.h"

typedef struct conn conn_t;

/* Takes over an accepted socket: starts the TLS handshake with the server's context. */
void conn_accept(worker_t *w, evutil_socket_t fd, const struct sockaddr *sa, int salen);
/* Worker stopping: idle connections close now, busy ones after their reply. */
void conn_drain_all(worker_t *w);
/* Drain took too long: close every connection of the worker now. */
void conn_kill_all(worker_t *w);

/* For commands.c, during or after a request: */
shop1_buf_t *conn_out(conn_t *c);     /* where the reply to the current request goes */
session_t *conn_session(conn_t *c);
worker_t *conn_worker(conn_t *c);
const char *conn_peer(const conn_t *c);
/* True once the peer is gone (after an async request, nobody is listening). */
bool conn_is_dead(const conn_t *c);
/* The current request finishes later (on this thread): hold further input, keep c alive. */
void conn_suspend(conn_t *c);
/* The async reply is in conn_out: send it and go on with buffered requests. Frees c if it died
 * meanwhile and nothing else holds it, so c must not be used after this call. */
void conn_resume(conn_t *c);
/* Send the reply, then close (QUIT, fatal input). */
void conn_close_after_reply(conn_t *c);

#endif
