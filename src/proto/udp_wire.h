/* udp_wire: the SHOP/1 datagram format — header encode/decode, the address-validation token
 * layout, and paging of reply text. docs/PROTOCOL.md §7 is the specification. Pure: works on
 * caller-owned buffers; no sockets, no clocks (times are passed in). */
#ifndef NETSHOP_UDP_WIRE_H
#define NETSHOP_UDP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UDP_WIRE_MAGIC 0x4E535501u     /* "NSU" + version 1 */
#define UDP_WIRE_HEADER_LEN 32
#define UDP_WIRE_DATAGRAM_MAX 1200     /* payload bytes of a UDP datagram, never exceeded */
#define UDP_WIRE_TOKEN_LEN 24
#define UDP_WIRE_TAG_LEN 16
#define UDP_WIRE_AMPLIFICATION 3       /* reply bytes <= 3 x request bytes before validation */

typedef enum {
    UDP_TYPE_REQUEST = 1,
    UDP_TYPE_REPLY = 2,
    UDP_TYPE_RETRY = 3,
} udp_type_t;

#define UDP_FLAG_MORE 0x01u
#define UDP_FLAG_TOKEN 0x02u
#define UDP_FLAGS_KNOWN (UDP_FLAG_MORE | UDP_FLAG_TOKEN)

typedef struct {
    udp_type_t type;
    uint8_t flags;
    uint16_t page;
    uint64_t session_id;
    uint64_t packet_number;
    uint64_t request_id;
} udp_header_t;

/* A decoded datagram: pointers into the caller's buffer. */
typedef struct {
    udp_header_t hdr;
    const uint8_t *token;   /* UDP_WIRE_TOKEN_LEN bytes when hdr.flags has TOKEN, else NULL */
    size_t aad_len;         /* bytes of header (+ token length byte + token): the AEAD's AAD */
    const uint8_t *payload; /* plain text, or ciphertext || tag when session_id != 0 */
    size_t payload_len;
} udp_datagram_t;

typedef enum {
    UDP_WIRE_OK = 0,
    UDP_WIRE_TOO_SHORT,    /* under the header, or a token cut short */
    UDP_WIRE_TOO_LONG,     /* over UDP_WIRE_DATAGRAM_MAX */
    UDP_WIRE_BAD_MAGIC,    /* magic or version */
    UDP_WIRE_BAD_TYPE,
    UDP_WIRE_BAD_FLAGS,    /* unknown bits */
    UDP_WIRE_BAD_TOKEN,    /* token length byte != UDP_WIRE_TOKEN_LEN */
    UDP_WIRE_BAD_FIELDS,   /* anonymous with packet number != 0, authenticated with 0, request id 0 */
    UDP_WIRE_EMPTY,        /* no payload where one is required (requests, replies) */
    UDP_WIRE_NO_TAG,       /* authenticated payload shorter than the tag */
} udp_wire_result_t;

/* Decodes and validates a datagram of len bytes (any type). Returns UDP_WIRE_OK and fills *out. */
udp_wire_result_t udp_wire_decode(const uint8_t *buf, size_t len, udp_datagram_t *out);

/* Writes the 32-byte header, then (when token is not NULL, and hdr->flags has UDP_FLAG_TOKEN)
 * the token length byte and the token, into out. Returns the bytes written (the AAD length), or
 * 0 if cap is too small or the flags and token disagree. */
size_t udp_wire_encode_header(const udp_header_t *hdr, const uint8_t *token, uint8_t *out, size_t cap);

/* --- Address tokens (the layout; the MAC key comes from the caller). --- */

typedef struct {
    uint8_t key[32]; /* the server's random secret */
} udp_token_secret_t;

/* Makes a token for addr (address family, IP bytes, port) at time now. addr_bytes is 4 or 16 bytes.
 * Uses HMAC-SHA256 (OpenSSL) as the spec says. Returns 0, or -1 on a crypto failure. */
int udp_token_make(const udp_token_secret_t *secret, int64_t now, int family, const uint8_t *addr_bytes,
                   size_t addr_len, uint16_t port, uint8_t out[static UDP_WIRE_TOKEN_LEN]);

typedef enum {
    UDP_TOKEN_VALID = 0,
    UDP_TOKEN_EXPIRED,   /* issued before the previous epoch, or in the future */
    UDP_TOKEN_FORGED,    /* MAC mismatch: another address, port, secret or altered bytes */
} udp_token_result_t;

/* Checks a token against the address it came from, in constant time for the MAC. */
udp_token_result_t udp_token_check(const udp_token_secret_t *secret, int64_t now, int family,
                                   const uint8_t *addr_bytes, size_t addr_len, uint16_t port,
                                   const uint8_t token[static UDP_WIRE_TOKEN_LEN]);

/* --- Token keys cached per thread. ---
 *
 * The same tokens as udp_token_make / udp_token_check, for a server that makes and checks many:
 * HMAC-SHA256 is fetched once, each epoch's key is derived once (into a keyed MAC context that
 * is re-initialised per token), and the secret itself is kept only inside a keyed MAC context.
 * Not thread-safe: one cache per thread (the secret it was made from may be shared). */

typedef struct udp_token_keys udp_token_keys_t;

/* A cache for tokens of this secret; NULL on a crypto or memory failure. Free with
 * udp_token_keys_free. */
udp_token_keys_t *udp_token_keys_new(const udp_token_secret_t *secret);
void udp_token_keys_free(udp_token_keys_t *keys);

/* As udp_token_make: byte-for-byte the same token. */
int udp_token_keys_make(udp_token_keys_t *keys, int64_t now, int family, const uint8_t *addr_bytes,
                        size_t addr_len, uint16_t port, uint8_t out[static UDP_WIRE_TOKEN_LEN]);

/* As udp_token_check, with one difference in the reasons for refusing: the issue time is checked
 * before the MAC, so a token outside the validity window reads as EXPIRED whatever its MAC (no
 * key is ever derived for an epoch that could not be valid). VALID exactly when udp_token_check
 * says VALID. */
udp_token_result_t udp_token_keys_check(udp_token_keys_t *keys, int64_t now, int family,
                                        const uint8_t *addr_bytes, size_t addr_len, uint16_t port,
                                        const uint8_t token[static UDP_WIRE_TOKEN_LEN]);

/* --- Paging of reply text. --- */

/* Given a whole SHOP/1 reply text (data lines then one final line, each ending in LF), finds page
 * `page` when every page's text must fit in `cap` bytes: whole data lines, then on every page but
 * the last the final line "OK MORE <next>\n" (which must fit too), on the last the reply's own final
 * line. A single line longer than cap is cut to its first cap-40 bytes and ends "...\n" (never
 * happens with SHOP/1 limits, but pages always fit).
 * Writes the page text into out (cap bytes), sets *more. Returns its length, or -1 if `page` is past
 * the last page or cap < 64. */
long udp_page(const char *reply, size_t reply_len, unsigned page, char *out, size_t cap, bool *more);

#endif
