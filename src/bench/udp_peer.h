/* udp_peer: the load modes for bench/udp's peers, which speak no SHOP/1 — `udp-echo` (the bare
 * recvmmsg/sendmmsg echo server bench/peers/udp_echo.c) and `memcached-get` (memcached's UDP
 * protocol) — so that one load generator measures netshop and its peers alike. Owns their wire
 * framing (udp_conn sends and matches the datagrams), their request text, the verdict on a reply,
 * and finding the peer's address (no TLS, no control connection). modes.c drives the connections.
 *
 *   udp-echo:      request = request id (8 bytes, big-endian) + filler, 64 bytes in all; any
 *                  datagram that starts with the request id is its reply.
 *   memcached-get: request = frame header (request id 16 bits, sequence 0, total 1, reserved 0)
 *                  + "get <key>\r\n"; the reply is done when all its frames (header: request id,
 *                  sequence, total) arrived; a VALUE is an answer, END alone a miss (an error).
 */
#ifndef NETSHOP_BENCH_UDP_PEER_H
#define NETSHOP_BENCH_UDP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/bench.h"
#include "bench/udp_conn.h"

#define UDP_PEER_HEADER_LEN 8        /* both framings: 8 bytes before the text */
#define UDP_PEER_ECHO_REQUEST_LEN 64 /* bytes of an echo request datagram */

/* True for the modes that load a peer instead of netshopd. */
bool udp_peer_mode(bench_mode_t mode);
/* The framing a peer mode's datagrams use. */
udp_proto_t udp_peer_proto(bench_mode_t mode);

/* Finds the peer's UDP address (--host, --port; the first address found) into run->addr. Returns
 * false with err. */
bool udp_peer_resolve(bench_run_t *run, char *err, size_t errlen);

/* The text of every request of the mode (after the framing header) into out. Returns its length. */
size_t udp_peer_request_text(const bench_options_t *o, char out[static UDP_CONN_TEXT_MAX]);

/* Writes a request datagram: the framing header for request_id, then text. Returns its length, or
 * 0 when it does not fit in cap. */
size_t udp_peer_encode_request(udp_proto_t proto, uint64_t request_id, const char *text, size_t len, uint8_t *out,
                               size_t cap);

/* One received datagram of a peer reply. */
typedef struct {
    uint64_t request_id;    /* as far as the framing carries it: compare under id_mask */
    uint64_t id_mask;
    int parts;              /* datagrams of the whole reply (memcached: the frame header's total) */
    const uint8_t *payload; /* after the framing header (echo: the whole datagram) */
    size_t payload_len;
} udp_peer_datagram_t;

/* Reads the framing of a received datagram. False when it is not a reply of the framing. */
bool udp_peer_decode_reply(udp_proto_t proto, const uint8_t *buf, size_t len, udp_peer_datagram_t *out);

typedef enum {
    UDP_PEER_ANSWERED = 0,  /* the reply the benchmark wants */
    UDP_PEER_MISS,          /* memcached: END without VALUE (the key is not set) */
    UDP_PEER_BAD_REPLY,     /* anything else (memcached: ERROR, SERVER_ERROR ...) */
} udp_peer_verdict_t;

/* Judges a complete reply: text is its last datagram's payload, parts its number of datagrams. */
udp_peer_verdict_t udp_peer_judge(bench_mode_t mode, const char *text, size_t len, int parts);

#endif
