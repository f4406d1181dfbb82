/* udp: a worker's UDP socket. Datagrams are read and answered in batches (recvmmsg/sendmmsg).
 * Today it answers a bare "PING" with "OK PONG" and drops everything else; the sealed SHOP/1
 * datagram protocol of the fast path plugs in here. */
#ifndef NETSHOP_UDP_H
#define NETSHOP_UDP_H

struct event_base;
typedef struct udp_endpoint udp_endpoint_t;

/* Serves the bound, non-blocking socket fd on base (takes ownership of fd). NULL on failure. */
udp_endpoint_t *udp_endpoint_new(struct event_base *base, int fd);
void udp_endpoint_free(udp_endpoint_t *u);

#endif
