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
/* The watchdog, once a second: kills the worker's connections that made no progress (no byte
 * read, no reply byte taken by the client, no outcome back) for idle_timeout +
 * handshake_timeout seconds, whatever their state. */
void conn_sweep(worker_t *w);

/* The connection a session belongs to, and holding it while a datagram's request that acts in the
 * session is pending (owner worker's thread only). conn_unref may free a dead connection. */
conn_t *conn_of_session(session_t *s);
void conn_ref(conn_t *c);
void conn_unref(conn_t *c);
/* An authenticated datagram of this connection's session arrived: the session is not idle, so the
 * idle timeout starts again. */
void conn_note_activity(conn_t *c);

#endif
