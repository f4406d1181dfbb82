/* tls: builds and frees the server's OpenSSL TLS context (protocol versions, cipher suites, groups,
 * session resumption, certificate and key). The connection layer creates its SSL objects from it.
 * Free of libevent so that another TLS library could be measured behind the same two calls. */
#ifndef NETSHOP_SERVER_TLS_H
#define NETSHOP_SERVER_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* TLS 1.2 cipher list: ECDHE with AEAD only, server's order (ECDSA first; RSA kept so an operator's
 * RSA certificate still works). TLS 1.3 keeps OpenSSL's default suites (all AEAD). */
#define TLS_SERVER_CIPHERS                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"  \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
/* Key-exchange groups, in the server's order of preference. */
#define TLS_SERVER_GROUPS "X25519:P-256"
/* Context id under which sessions (tickets) are resumed. */
#define TLS_SESSION_ID_CONTEXT "netshop"
/* A session-ticket key encrypts new tickets for this long, then only decrypts (renewing the
 * ticket) for as long again, then is wiped. Sessions (the ticket lifetime) last one period. */
#define TLS_TICKET_KEY_SECONDS 3600
/* How often the server calls tls_ticket_keys_tick. */
#define TLS_TICKET_TICK_SECONDS 60

/* Returns a new server SSL_CTX, or NULL with err filled (truncated to errlen, NUL-terminated when
 * errlen > 0), naming the file involved and OpenSSL's reason. The context: TLS_server_method, TLS 1.2
 * minimum, TLS_SERVER_CIPHERS for TLS 1.2 and the default TLS 1.3 suites, groups TLS_SERVER_GROUPS,
 * server cipher preference (ChaCha20 first for clients that prefer it), no renegotiation, no
 * compression, resumption by one session ticket (no server session cache) under this context's own
 * rotating ticket keys (TLS_TICKET_KEY_SECONDS; session lifetime one period), SSL_MODE_RELEASE_BUFFERS, the
 * certificate chain from cert_file (PEM: leaf first, then intermediates) and the private key from
 * key_file, checked to match. The caller owns the result (tls_ctx_free); it may be shared read-only
 * by several threads once built. Empties this thread's OpenSSL error queue. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

/* Frees a context from tls_server_ctx_new (NULL is fine). SSL objects made from it keep it alive
 * until they are freed themselves; its ticket keys are wiped when it is finally freed. */
void tls_ctx_free(SSL_CTX *ctx);

/* Rotates ctx's session-ticket keys now: a new current key, the current one becomes the previous
 * (decrypt-only) key, the previous one is wiped. Thread-safe against handshakes on ctx. Returns 0,
 * or -1 (keys unchanged) when ctx has no ticket keys or the random generator fails. */
int tls_ticket_keys_rotate(SSL_CTX *ctx);

/* Rotates ctx's ticket keys if the current one is TLS_TICKET_KEY_SECONDS old, and wipes keys past
 * their time, as the ticket callback does at each handshake; for a server to call every
 * TLS_TICKET_TICK_SECONDS so that old keys leave memory on time while no one connects. Thread-safe. */
void tls_ticket_keys_tick(SSL_CTX *ctx);

/* True when keying material exported from ssl's finished handshake (SSL_export_keying_material) is
 * bound to that handshake: TLS 1.3, or TLS 1.2 with the extended master secret (RFC 7627). A TLS 1.2
 * master secret without it can be made equal on two connections by a man in the middle (the triple
 * handshake attack), and so could anything derived from the exporter. False before the handshake
 * has finished. */
bool tls_exporter_is_safe(SSL *ssl);

/* Drains this thread's OpenSSL error queue into buf as "<error>; <error>..." (oldest first, each with
 * its detail text when OpenSSL recorded one), or "no OpenSSL error detail" if the queue is empty.
 * Truncates to cap (NUL-terminated when cap > 0). Returns buf. Never includes key material. */
const char *tls_last_error(char *buf, size_t cap);

#endif
