/* udp_seal: AEAD sealing of authenticated datagrams and the anti-replay window.
 * ChaCha20-Poly1305 through OpenSSL EVP, fetched once per udp_aead_t; the nonce is the direction's
 * IV XOR the packet number (big-endian, right-aligned), the AAD the datagram's header bytes.
 * Pure over buffers: no sockets. A udp_aead_t is used by one thread at a time. */
#ifndef NETSHOP_UDP_SEAL_H
#define NETSHOP_UDP_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UDP_KEY_LEN 32
#define UDP_IV_LEN 12
#define UDP_EXPORT_LABEL "EXPORTER-netshop-udp-v1"
#define UDP_EXPORT_LEN (2 * (UDP_KEY_LEN + UDP_IV_LEN)) /* 88 */

/* One direction's key and IV. */
typedef struct {
    uint8_t key[UDP_KEY_LEN];
    uint8_t iv[UDP_IV_LEN];
} udp_dir_keys_t;

/* Splits the 88 exported bytes into client-to-server and server-to-client keys (spec order). */
void udp_keys_from_export(const uint8_t exported[static UDP_EXPORT_LEN], udp_dir_keys_t *c2s,
                          udp_dir_keys_t *s2c);

typedef struct udp_aead udp_aead_t;

/* A sealing context (fetches the cipher once, keeps one EVP_CIPHER_CTX). NULL on failure. */
udp_aead_t *udp_aead_new(void);
void udp_aead_free(udp_aead_t *a);

/* Seals plain[0..plain_len) into out as ciphertext || 16-byte tag with keys k and packet number pn,
 * authenticating aad[0..aad_len). out must hold plain_len + 16 bytes (it may not overlap plain).
 * Returns the bytes written, or -1 on failure. */
long udp_seal(udp_aead_t *a, const udp_dir_keys_t *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
              const uint8_t *plain, size_t plain_len, uint8_t *out);

/* Opens ciphertext || tag (sealed_len bytes); writes sealed_len - 16 plain bytes into out.
 * Returns the plain length, or -1 when the tag does not verify (out's contents are then undefined
 * and must not be used) or sealed_len < 16. */
long udp_open(udp_aead_t *a, const udp_dir_keys_t *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
              const uint8_t *sealed, size_t sealed_len, uint8_t *out);

/* --- Anti-replay window (RFC 6479 style bitmap over the last 64 packet numbers). --- */
#define UDP_REPLAY_WINDOW 64

typedef struct {
    uint64_t highest; /* highest packet number accepted, 0 before any */
    uint64_t bitmap;  /* bit i set: packet number highest - i was accepted */
} udp_replay_t;

/* True when pn may be accepted: not 0, not seen, not older than the window. Changes nothing. */
bool udp_replay_check(const udp_replay_t *r, uint64_t pn);
/* Records pn as accepted (call only after its tag verified and udp_replay_check said true). */
void udp_replay_accept(udp_replay_t *r, uint64_t pn);

#endif
