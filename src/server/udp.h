/* udp: a worker's side of SHOP/1 over UDP (docs/PROTOCOL.md §7). Datagrams are read in batches
 * with recvmmsg and answered in batches with sendmmsg. Anonymous requests (catalog reads) are
 * answered by the receiving worker, within the 3x anti-amplification limit or after an address
 * token. Authenticated datagrams are steered to the worker that owns their session (its index is
 * the low byte of the session id) through that worker's mailbox, opened there with the
 * session's keys, checked against its replay window and run in its session. */
#ifndef NETSHOP_UDP_H
#define NETSHOP_UDP_H

struct worker;
typedef struct udp_endpoint udp_endpoint_t;

/* Serves the bound, non-blocking socket fd for worker w. Takes ownership of fd on success only.
 * NULL on failure. */
udp_endpoint_t *udp_endpoint_new(struct worker *w, int fd);
void udp_endpoint_free(udp_endpoint_t *u);

#endif
