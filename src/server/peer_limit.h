/* peer_limit: open TLS connections per source prefix (IPv4 /32, IPv6 /64; core/netaddr.h),
 * shared by every worker, so one address cannot fill --max-connections however SO_REUSEPORT
 * spreads its connections over the workers. Thread-safe (one mutex; taken once per accept and
 * once per close). Memory: one small entry per prefix that has connections open now. The table
 * is keyed with a random SipHash key, so a client cannot choose addresses that collide. */
#ifndef NETSHOP_PEER_LIMIT_H
#define NETSHOP_PEER_LIMIT_H

#include <stdbool.h>

#include "core/netaddr.h"

typedef struct peer_limit peer_limit_t;

/* A table allowing per_prefix_max connections per prefix. NULL when out of memory. */
peer_limit_t *peer_limit_new(unsigned per_prefix_max);
void peer_limit_free(peer_limit_t *pl);

/* Counts one more connection of p: true when it is within the limit (then release it later),
 * false (nothing counted) when p already has per_prefix_max, or when out of memory. */
bool peer_limit_acquire(peer_limit_t *pl, const netaddr_prefix_t *p);
/* One connection of p that acquire counted has closed. */
void peer_limit_release(peer_limit_t *pl, const netaddr_prefix_t *p);

#endif
