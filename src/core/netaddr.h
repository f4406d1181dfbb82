/* netaddr: the network prefix a source address is counted under. Limits per source (connections,
 * datagram rates, the address a UDP session may be answered at) key IPv4 by the whole address
 * (/32) and IPv6 by its /64, the smallest block one subscriber normally gets: an IPv6 host can
 * pick any of 2^64 addresses in it, so keying by /128 would give it as many budgets. An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as the IPv4 address. Pure: no I/O. */
#ifndef NETSHOP_NETADDR_H
#define NETSHOP_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_PREFIX_MAX 8   /* bytes kept: 4 for IPv4, 8 (/64) for IPv6 */

typedef struct {
    uint8_t len;                          /* 4 (IPv4) or 8 (IPv6 /64); 0: not an IP address */
    uint8_t bytes[NETADDR_PREFIX_MAX];    /* the prefix; bytes past len are zero */
} netaddr_prefix_t;

/* The prefix sa counts under. False (and *out zeroed) when sa is neither IPv4 nor IPv6. */
bool netaddr_prefix_of(const struct sockaddr *sa, netaddr_prefix_t *out);

/* True when a and b are the same prefix (IPv4 never equals IPv6). */
bool netaddr_prefix_equal(const netaddr_prefix_t *a, const netaddr_prefix_t *b);

#endif
