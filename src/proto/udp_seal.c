/* udp_seal: sealing and opening authenticated SHOP/1 datagrams with ChaCha20-Poly1305 (RFC 8439)
 * through OpenSSL EVP, the split of the TLS-exported key block into per-direction keys, and the
 * 64-packet anti-replay window. docs/PROTOCOL.md §7 is the specification. No I/O, no threads;
 * one udp_aead_t per thread. */

#include "proto/udp_seal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "proto/udp_wire.h" /* UDP_WIRE_TAG_LEN */

#define TAG_LEN UDP_WIRE_TAG_LEN

struct udp_aead {
    EVP_CIPHER *cipher;  /* fetched once */
    EVP_CIPHER_CTX *ctx; /* bound to cipher at creation; re-keyed per datagram */
};

void udp_keys_from_export(const uint8_t exported[static UDP_EXPORT_LEN], udp_dir_keys_t *c2s,
                          udp_dir_keys_t *s2c)
{
    const uint8_t *p = exported;
    memcpy(c2s->key, p, UDP_KEY_LEN);
    p += UDP_KEY_LEN;
    memcpy(c2s->iv, p, UDP_IV_LEN);
    p += UDP_IV_LEN;
    memcpy(s2c->key, p, UDP_KEY_LEN);
    p += UDP_KEY_LEN;
    memcpy(s2c->iv, p, UDP_IV_LEN);
}

/* Fetches ChaCha20-Poly1305 from the default library context and binds one cipher context to it.
 * The caller owns the result and frees it with udp_aead_free. */
udp_aead_t *udp_aead_new(void)
{
    udp_aead_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    a->ctx = EVP_CIPHER_CTX_new();
    if (a->cipher == NULL || a->ctx == NULL ||
        EVP_CipherInit_ex2(a->ctx, a->cipher, NULL, NULL, 1, NULL) != 1 ||
        EVP_CIPHER_CTX_get_iv_length(a->ctx) != UDP_IV_LEN ||
        EVP_CIPHER_CTX_get_key_length(a->ctx) != UDP_KEY_LEN) {
        udp_aead_free(a);
        return NULL;
    }
    return a;
}

void udp_aead_free(udp_aead_t *a)
{
    if (a == NULL)
        return;
    EVP_CIPHER_CTX_free(a->ctx);
    EVP_CIPHER_free(a->cipher);
    free(a);
}

/* The nonce: the direction's IV XOR the packet number as a 12-byte big-endian integer. */
static void make_nonce(const udp_dir_keys_t *k, uint64_t pn, uint8_t nonce[static UDP_IV_LEN])
{
    memcpy(nonce, k->iv, UDP_IV_LEN);
    for (size_t i = 0; i < 8; i++)
        nonce[UDP_IV_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* Feeds n bytes of AAD (n may be 0). */
static bool feed_aad(EVP_CIPHER_CTX *ctx, bool encrypt, const uint8_t *aad, size_t n)
{
    if (n == 0)
        return true;
    int outl = 0;
    return encrypt ? EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)n) == 1
                   : EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)n) == 1;
}

long udp_seal(udp_aead_t *a, const udp_dir_keys_t *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
              const uint8_t *plain, size_t plain_len, uint8_t *out)
{
    if (a == NULL || k == NULL || out == NULL || (aad == NULL && aad_len > 0) ||
        (plain == NULL && plain_len > 0) || aad_len > INT_MAX || plain_len > (size_t)INT_MAX - TAG_LEN)
        return -1;
    uint8_t nonce[UDP_IV_LEN];
    make_nonce(k, pn, nonce);
    int n = 0, fin = 0;
    bool ok = EVP_EncryptInit_ex2(a->ctx, NULL, k->key, nonce, NULL) == 1 && feed_aad(a->ctx, true, aad, aad_len) &&
              (plain_len == 0 || EVP_EncryptUpdate(a->ctx, out, &n, plain, (int)plain_len) == 1) &&
              EVP_EncryptFinal_ex(a->ctx, out + n, &fin) == 1 && (size_t)n + (size_t)fin == plain_len &&
              EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + plain_len) == 1;
    OPENSSL_cleanse(nonce, sizeof nonce);
    return ok ? (long)(plain_len + TAG_LEN) : -1;
}

/* Decrypts into out while computing the tag, then verifies it. When the tag does not verify (or
 * anything fails) every byte written to out is wiped before returning -1, so no unauthenticated
 * plain text is ever left behind. */
long udp_open(udp_aead_t *a, const udp_dir_keys_t *k, uint64_t pn, const uint8_t *aad, size_t aad_len,
              const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
    if (a == NULL || k == NULL || sealed == NULL || sealed_len < TAG_LEN || (aad == NULL && aad_len > 0) ||
        aad_len > INT_MAX || sealed_len > INT_MAX)
        return -1;
    size_t cipher_len = sealed_len - TAG_LEN;
    if (out == NULL && cipher_len > 0)
        return -1;
    uint8_t tag[TAG_LEN];
    memcpy(tag, sealed + cipher_len, TAG_LEN); /* the ctrl takes a non-const pointer */
    uint8_t nonce[UDP_IV_LEN];
    make_nonce(k, pn, nonce);
    int n = 0, fin = 0;
    uint8_t spare[1]; /* Final writes nothing for this cipher; out may be NULL when empty */
    bool ok = EVP_DecryptInit_ex2(a->ctx, NULL, k->key, nonce, NULL) == 1 && feed_aad(a->ctx, false, aad, aad_len) &&
              (cipher_len == 0 || EVP_DecryptUpdate(a->ctx, out, &n, sealed, (int)cipher_len) == 1) &&
              (size_t)n == cipher_len && EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1 &&
              EVP_DecryptFinal_ex(a->ctx, cipher_len > 0 ? out + n : spare, &fin) == 1 && fin == 0;
    OPENSSL_cleanse(nonce, sizeof nonce);
    if (!ok) {
        if (cipher_len > 0)
            OPENSSL_cleanse(out, cipher_len);
        return -1;
    }
    return (long)cipher_len;
}

/* ---------------------------------------------------------------------------------------- */
/* Anti-replay window: highest accepted packet number, and a bitmap whose bit i stands for
 * highest - i. Shifts by 64 or more are handled apart (they are undefined in C). */

bool udp_replay_check(const udp_replay_t *r, uint64_t pn)
{
    if (pn == 0)
        return false;
    if (pn > r->highest)
        return true;
    uint64_t behind = r->highest - pn;
    if (behind >= UDP_REPLAY_WINDOW)
        return false;
    return ((r->bitmap >> behind) & 1u) == 0;
}

void udp_replay_accept(udp_replay_t *r, uint64_t pn)
{
    if (pn == 0)
        return;
    if (pn > r->highest) {
        uint64_t ahead = pn - r->highest;
        r->bitmap = ahead >= UDP_REPLAY_WINDOW ? 1u : (r->bitmap << ahead) | 1u;
        r->highest = pn;
        return;
    }
    uint64_t behind = r->highest - pn;
    if (behind < UDP_REPLAY_WINDOW)
        r->bitmap |= (uint64_t)1 << behind;
}
