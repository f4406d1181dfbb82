/* tls_io: OpenSSL for netshop-bench — a verifying client context and non-blocking
 * handshake/read/write/export on one connection. Nothing else in the bench includes OpenSSL's
 * TLS headers. */
#include "bench/tls_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_io_ctx {
    SSL_CTX *ssl_ctx;
};

struct tls_io {
    SSL *ssl;
    bool handshake_done;
    unsigned tickets;           /* NewSessionTicket messages received */
    char err[TLS_IO_ERR_MAX];
};

/* The most recent queued OpenSSL error as text. */
static void openssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, cap, "%s", "unknown TLS error");
        return;
    }
    const char *reason = ERR_reason_error_string(e);
    if (reason != NULL)
        snprintf(buf, cap, "%s", reason);
    else
        ERR_error_string_n(e, buf, cap);
}

/* OpenSSL's new-session callback: a session ticket arrived on ssl. Counted, not kept (returning
 * 0 leaves the session to OpenSSL, which frees it). */
static int on_new_session(SSL *ssl, SSL_SESSION *session)
{
    (void)session;
    tls_io_t *t = SSL_get_app_data(ssl);
    if (t != NULL)
        t->tickets++;
    return 0;
}

tls_io_ctx_t *tls_io_ctx_new(const char *ca_file, char *err, size_t errlen)
{
    if (ca_file == NULL) {
        /* Never a default from the current directory: whoever prepared it would choose whom the
         * benchmark trusts with its accounts' passwords. */
        snprintf(err, errlen, "no CA certificate: pass --ca FILE (the shop's ca.crt) or set NETSHOP_CA");
        return NULL;
    }
    FILE *probe = fopen(ca_file, "r");
    if (probe == NULL) {
        snprintf(err, errlen, "cannot read CA file %s: %s", ca_file, strerror(errno));
        return NULL;
    }
    fclose(probe);
    tls_io_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        snprintf(err, errlen, "%s", "out of memory");
        return NULL;
    }
    ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (ctx->ssl_ctx == NULL) {
        snprintf(err, errlen, "%s", "cannot create a TLS context");
        free(ctx);
        return NULL;
    }
    SSL_CTX *c = ctx->ssl_ctx;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    /* Every connection is a full handshake: nothing is ever resumed. The client "cache" mode only
     * makes OpenSSL report each ticket to on_new_session; no session is stored. */
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, on_new_session);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* SHOP/1 frames its replies itself; a missing close_notify is just a close. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(c, ca_file, NULL) != 1) {
        char reason[120];
        openssl_reason(reason, sizeof reason);
        snprintf(err, errlen, "CA file %s holds no usable certificate: %s", ca_file, reason);
        tls_io_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

void tls_io_ctx_free(tls_io_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* The certificate must be for host: an IP address literal is checked as an address, anything
 * else as a DNS name (also sent as SNI). */
static bool set_expected_peer(SSL *ssl, const char *host)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
}

tls_io_t *tls_io_new(tls_io_ctx_t *ctx, int fd, const char *host)
{
    tls_io_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1 || !set_expected_peer(t->ssl, host)) {
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_app_data(t->ssl, t);
    SSL_set_connect_state(t->ssl);
    return t;
}

void tls_io_free(tls_io_t *t, bool send_close_notify)
{
    if (t == NULL)
        return;
    if (send_close_notify && t->handshake_done) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl); /* non-blocking socket: sends what it can, never waits */
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
}

/* Maps an SSL_get_error result to a status, writing the reason of failures into t->err. */
static tls_io_status_t status_of(tls_io_t *t, int rc, const char *what)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(t->err, sizeof t->err, "%s: connection closed by the server", what);
        return TLS_IO_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error() == 0) {
            if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
                snprintf(t->err, sizeof t->err, "%s: connection %s by the server", what,
                         errno == 0 ? "closed" : "reset");
                return TLS_IO_CLOSED;
            }
            snprintf(t->err, sizeof t->err, "%s: %s", what, strerror(errno));
            return TLS_IO_ERROR;
        }
        break;
    default:
        break;
    }
    if (!t->handshake_done) {
        long verify = SSL_get_verify_result(t->ssl);
        if (verify != X509_V_OK) {
            snprintf(t->err, sizeof t->err, "%s: server certificate not trusted: %s", what,
                     X509_verify_cert_error_string(verify));
            return TLS_IO_ERROR;
        }
    }
    char reason[120];
    openssl_reason(reason, sizeof reason);
    snprintf(t->err, sizeof t->err, "%s: %s", what, reason);
    return TLS_IO_ERROR;
}

tls_io_status_t tls_io_handshake(tls_io_t *t)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(t->ssl);
    if (rc != 1)
        return status_of(t, rc, "TLS handshake");
    /* With SSL_VERIFY_PEER a failed check already aborted the handshake; check anyway. */
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    bool verified = peer != NULL && SSL_get_verify_result(t->ssl) == X509_V_OK;
    X509_free(peer);
    if (!verified) {
        snprintf(t->err, sizeof t->err, "%s", "TLS handshake: server certificate not verified");
        return TLS_IO_ERROR;
    }
    t->handshake_done = true;
    return TLS_IO_OK;
}

tls_io_status_t tls_io_read(tls_io_t *t, void *buf, size_t cap, size_t *got)
{
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    int rc = SSL_read_ex(t->ssl, buf, cap, &n);
    if (rc == 1) {
        *got = n;
        return TLS_IO_OK;
    }
    return status_of(t, rc, "TLS read");
}

tls_io_status_t tls_io_write(tls_io_t *t, const void *buf, size_t len, size_t *put)
{
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    int rc = SSL_write_ex(t->ssl, buf, len, &n);
    if (rc == 1) {
        *put = n;
        return TLS_IO_OK;
    }
    return status_of(t, rc, "TLS write");
}

unsigned tls_io_tickets(const tls_io_t *t)
{
    return t->tickets;
}

int tls_io_export(tls_io_t *t, const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t len)
{
    if (SSL_export_keying_material(t->ssl, out, len, label, strlen(label), context, context_len, 1) != 1) {
        snprintf(t->err, sizeof t->err, "%s", "cannot export keying material");
        return -1;
    }
    return 0;
}

const char *tls_io_error(const tls_io_t *t)
{
    return t->err[0] != '\0' ? t->err : "TLS failure";
}
