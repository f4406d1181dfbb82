/* session_map: a worker's index of its logged-in sessions by session id, so a datagram steered
 * to this worker finds its session (keys, replay window, order). Touched only by its worker's
 * thread: no locks. The sessions themselves are owned by their TLS connections. */
#ifndef NETSHOP_SESSION_MAP_H
#define NETSHOP_SESSION_MAP_H

#include <stdint.h>

struct session;
typedef struct session_map session_map_t;

/* An empty map; NULL when out of memory. */
session_map_t *session_map_new(void);
void session_map_free(session_map_t *m);

/* Adds s under s->id (non-zero, not present). Returns 0, or -1 when out of memory (the session
 * then simply cannot be reached over UDP). */
int session_map_put(session_map_t *m, struct session *s);
/* The session with this id, or NULL. */
struct session *session_map_get(const session_map_t *m, uint64_t id);
/* Removes the id if present. */
void session_map_remove(session_map_t *m, uint64_t id);

#endif
