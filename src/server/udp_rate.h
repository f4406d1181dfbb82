/* udp_rate: the datagram rate allowed per source prefix (IPv4 /32, IPv6 /64) for anonymous
 * datagrams without an address token, shared by every worker: SO_REUSEPORT spreads one
 * address's datagrams over the workers by source port, so per-worker buckets multiplied the
 * limit by the number of workers. Thread-safe with striped locks.
 *
 * A fixed table of UDP_RATE_SETS sets of UDP_RATE_WAYS buckets, indexed by a SipHash of the
 * prefix under a random key (so nobody can aim addresses at one set). A prefix keeps its own
 * bucket while it is in use; a new prefix takes an unused bucket of its set, else one that has
 * refilled (forgetting it loses nothing), else the least recently used one. Only a set
 * overflowing with more than UDP_RATE_WAYS busy prefixes at once forgets a busy one, and then
 * the forgotten source restarts with a full bucket: under a flood from many (spoofed) sources
 * the limit weakens gracefully instead of the table growing. */
#ifndef NETSHOP_UDP_RATE_H
#define NETSHOP_UDP_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/netaddr.h"

#define UDP_RATE_SETS 4096
#define UDP_RATE_WAYS 4

typedef struct udp_rate udp_rate_t;

/* rate: datagrams a second per prefix, also the burst. NULL when out of memory. */
udp_rate_t *udp_rate_new(double rate);
void udp_rate_free(udp_rate_t *r);

/* True when one more datagram from p is allowed at now_ns (CLOCK_MONOTONIC). */
bool udp_rate_allow(udp_rate_t *r, const netaddr_prefix_t *p, int64_t now_ns);

#endif
