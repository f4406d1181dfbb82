/* udp_peer: bench/udp's peer modes (see udp_peer.h): their framing, request text, verdicts and
 * the peer's address. */
#include "bench/udp_peer.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#define ECHO_FILLER "netshop-bench udp-echo request "
#define MEMCACHED_TOTAL_MAX 1024     /* frames of one reply we accept (1.4 MB) */

_Static_assert(BENCH_KEY_MAX + 6 <= UDP_CONN_TEXT_MAX, "\"get <key>\\r\\n\" must fit in a request");

bool udp_peer_mode(bench_mode_t mode)
{
    return mode == MODE_UDP_ECHO || mode == MODE_MEMCACHED_GET;
}

udp_proto_t udp_peer_proto(bench_mode_t mode)
{
    return mode == MODE_MEMCACHED_GET ? UDP_PROTO_MEMCACHED : UDP_PROTO_ECHO;
}

bool udp_peer_resolve(bench_run_t *run, char *err, size_t errlen)
{
    const bench_options_t *o = run->opt;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(o->host, o->port, &hints, &list);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", o->host, gai_strerror(rc));
        return false;
    }
    bool ok = list != NULL && list->ai_addrlen <= sizeof run->addr;
    if (ok) {
        memcpy(&run->addr, list->ai_addr, list->ai_addrlen);
        run->addrlen = list->ai_addrlen;
    } else {
        snprintf(err, errlen, "no usable address for %s", o->host);
    }
    freeaddrinfo(list);
    return ok;
}

size_t udp_peer_request_text(const bench_options_t *o, char out[static UDP_CONN_TEXT_MAX])
{
    if (o->mode == MODE_MEMCACHED_GET) {
        size_t key_len = strlen(o->memcached_key);
        memcpy(out, "get ", 4);
        memcpy(out + 4, o->memcached_key, key_len);
        memcpy(out + 4 + key_len, "\r\n", 2);
        return key_len + 6;
    }
    size_t len = UDP_PEER_ECHO_REQUEST_LEN - UDP_PEER_HEADER_LEN;
    for (size_t i = 0; i < len; i++)
        out[i] = ECHO_FILLER[i % (sizeof ECHO_FILLER - 1)];
    return len;
}

static void store_be(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

size_t udp_peer_encode_request(udp_proto_t proto, uint64_t request_id, const char *text, size_t len, uint8_t *out,
                               size_t cap)
{
    if (UDP_PEER_HEADER_LEN + len > cap)
        return 0;
    if (proto == UDP_PROTO_MEMCACHED) {
        store_be(out, 2, request_id & 0xffff); /* request id */
        store_be(out + 2, 2, 0);               /* sequence number */
        store_be(out + 4, 2, 1);               /* total datagrams of the request */
        store_be(out + 6, 2, 0);               /* reserved */
    } else {
        store_be(out, 8, request_id);
    }
    memcpy(out + UDP_PEER_HEADER_LEN, text, len);
    return UDP_PEER_HEADER_LEN + len;
}

bool udp_peer_decode_reply(udp_proto_t proto, const uint8_t *buf, size_t len, udp_peer_datagram_t *out)
{
    if (len < UDP_PEER_HEADER_LEN)
        return false;
    if (proto == UDP_PROTO_MEMCACHED) {
        uint64_t sequence = load_be(buf + 2, 2), total = load_be(buf + 4, 2);
        if (total == 0 || total > MEMCACHED_TOTAL_MAX || sequence >= total)
            return false;
        *out = (udp_peer_datagram_t){.request_id = load_be(buf, 2), .id_mask = 0xffff, .parts = (int)total,
                                     .payload = buf + UDP_PEER_HEADER_LEN, .payload_len = len - UDP_PEER_HEADER_LEN};
        return true;
    }
    *out = (udp_peer_datagram_t){.request_id = load_be(buf, 8), .id_mask = UINT64_MAX, .parts = 1, .payload = buf,
                                 .payload_len = len};
    return true;
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(text, prefix, n) == 0;
}

udp_peer_verdict_t udp_peer_judge(bench_mode_t mode, const char *text, size_t len, int parts)
{
    if (mode != MODE_MEMCACHED_GET)
        return UDP_PEER_ANSWERED;
    /* A miss is the one frame "END\r\n"; a reply of several frames can only be a VALUE. */
    if (parts > 1 || starts_with(text, len, "VALUE "))
        return UDP_PEER_ANSWERED;
    return starts_with(text, len, "END\r\n") ? UDP_PEER_MISS : UDP_PEER_BAD_REPLY;
}
