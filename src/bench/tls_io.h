/* tls_io: every OpenSSL call of netshop-bench, behind one small interface so another TLS library
 * could be measured later. A client context verifies the server against one CA file; a
 * connection runs the handshake, reads and writes on a non-blocking socket (the caller waits for
 * readiness) and exports keying material for the UDP fast path. No session resumption: each
 * connection makes a full handshake; the session tickets a server sends are counted (the end
 * point of `--handshake-until ticket`), never stored or offered. */
#ifndef NETSHOP_BENCH_TLS_IO_H
#define NETSHOP_BENCH_TLS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_IO_ERR_MAX 200

typedef struct tls_io_ctx tls_io_ctx_t;
typedef struct tls_io tls_io_t;

typedef enum {
    TLS_IO_OK = 0,       /* done (handshake complete, bytes moved) */
    TLS_IO_WANT_READ,    /* wait until the socket is readable, then call again */
    TLS_IO_WANT_WRITE,   /* wait until the socket is writable, then call again */
    TLS_IO_CLOSED,       /* the peer closed the connection */
    TLS_IO_ERROR,        /* TLS or socket failure; tls_io_error() says what */
} tls_io_status_t;

/* A client context: TLS 1.2 minimum, peer verification against ca_file only, no session stored.
 * Shared read-only by every thread. NULL with err filled when the CA file is unusable. */
tls_io_ctx_t *tls_io_ctx_new(const char *ca_file, char *err, size_t errlen);
void tls_io_ctx_free(tls_io_ctx_t *ctx);

/* A TLS client over fd (a connected or connecting non-blocking socket, still owned by the caller)
 * that will check the certificate against host (a name, or an IP literal). NULL on failure. */
tls_io_t *tls_io_new(tls_io_ctx_t *ctx, int fd, const char *host);
/* Sends close_notify if the handshake finished and send_close_notify is set (best effort, never
 * waits), then frees. Does not close the socket. NULL allowed. */
void tls_io_free(tls_io_t *t, bool send_close_notify);

/* Advances the handshake. TLS_IO_OK once it is complete and the server certificate verified. */
tls_io_status_t tls_io_handshake(tls_io_t *t);
/* Reads up to cap bytes; *got is the count when TLS_IO_OK. */
tls_io_status_t tls_io_read(tls_io_t *t, void *buf, size_t cap, size_t *got);
/* Writes up to len bytes (partial writes allowed; a retry after WANT_* may pass a moved buffer);
 * *put is the count when TLS_IO_OK. */
tls_io_status_t tls_io_write(tls_io_t *t, const void *buf, size_t len, size_t *put);

/* Session tickets (TLS 1.3 NewSessionTicket messages) received so far. They arrive after the
 * handshake, so they are seen by tls_io_read (which returns WANT_READ when nothing else came). */
unsigned tls_io_tickets(const tls_io_t *t);

/* RFC 5705 / RFC 8446 §7.5 exporter: len bytes for label and context. Returns 0, or -1. */
int tls_io_export(tls_io_t *t, const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t len);

/* What the last TLS_IO_ERROR (or CLOSED) was about, e.g. "certificate verify failed: Hostname
 * mismatch". Valid until the next call on t. */
const char *tls_io_error(const tls_io_t *t);

#endif
