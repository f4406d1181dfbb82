/* tls: the server's OpenSSL SSL_CTX — protocol floor, AEAD-only ciphers, groups, resumption,
 * certificate chain and key — and OpenSSL error-queue formatting (see tls.h). No libevent here. */
#include "server/tls.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

/* Appends formatted text to buf[0..cap) at *used, keeping it NUL-terminated. Text past the end is
 * dropped (the message is for humans) and *used never exceeds cap - 1. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    if (buf == NULL || cap == 0 || *used >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n < 0)
        buf[*used] = '\0';
    else if ((size_t)n >= cap - *used)
        *used = cap - 1;
    else
        *used += (size_t)n;
}

const char *tls_last_error(char *buf, size_t cap)
{
    size_t used = 0;
    bool any = false;
    const char *data = NULL;
    int flags = 0;
    unsigned long e;

    if (buf != NULL && cap > 0)
        buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        append(buf, cap, &used, "%s%s", any ? "; " : "", one);
        if ((flags & ERR_TXT_STRING) != 0 && data != NULL && data[0] != '\0')
            append(buf, cap, &used, " (%s)", data);
        any = true;
    }
    if (!any)
        append(buf, cap, &used, "no OpenSSL error detail");
    return buf;
}

/* Fills err with "<what>: <drained OpenSSL errors>". */
__attribute__((format(printf, 3, 4)))
static void set_tls_err(char *err, size_t errlen, const char *fmt, ...)
{
    char detail[512];
    size_t used = 0;

    tls_last_error(detail, sizeof detail);
    if (err == NULL || errlen == 0)
        return;
    err[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    used = n < 0 ? 0 : ((size_t)n >= errlen ? errlen - 1 : (size_t)n);
    append(err, errlen, &used, ": %s", detail);
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    SSL_CTX *result = NULL;
    SSL_CTX *ctx = NULL;
    static const unsigned char sid_ctx[] = TLS_SESSION_ID_CONTEXT;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    ERR_clear_error();
    if (cert_file == NULL || key_file == NULL) {
        if (err != NULL && errlen > 0)
            (void)snprintf(err, errlen, "tls_server_ctx_new: no certificate or key file given");
        goto out;
    }
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        set_tls_err(err, errlen, "cannot create the TLS context");
        goto out;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        || !SSL_CTX_set_cipher_list(ctx, TLS_SERVER_CIPHERS)
        || !SSL_CTX_set1_groups_list(ctx, TLS_SERVER_GROUPS)) {
        set_tls_err(err, errlen, "cannot configure TLS versions, ciphers or groups");
        goto out;
    }
    /* No renegotiation (a DoS lever and never needed), our cipher order, ChaCha20 first only for
     * clients that put it first (no AES hardware), no TLS compression (CRIME). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                 | SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION);
    /* A TCP FIN without close_notify is a half-close like close_notify, not an error that would
     * leave no way to answer what was received: a truncated request is never run anyway (only
     * complete lines are), so truncation cannot make the server do anything. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Idle connections give their read/write buffers back (a few tens of KiB each). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Resumption by tickets only (stateless, TLS 1.2 and 1.3 alike): no server-side session cache
     * to insert into, lock and sweep on every handshake, and one ticket per connection, since a
     * SHOP/1 client holds one connection at a time (OpenSSL's default is two). Together about
     * 10% more full handshakes per CPU-second (bench/tls). */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set_num_tickets(ctx, 1)) {
        set_tls_err(err, errlen, "cannot set the number of TLS session tickets");
        goto out;
    }
    if (!SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1)) {
        set_tls_err(err, errlen, "cannot set the TLS session id context");
        goto out;
    }

    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        set_tls_err(err, errlen, "cannot load the certificate chain %s", cert_file);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        set_tls_err(err, errlen, "cannot use the private key %s with the certificate %s", key_file,
                    cert_file);
        goto out;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_tls_err(err, errlen, "the private key %s does not match the certificate %s", key_file,
                    cert_file);
        goto out;
    }
    result = ctx;
    ctx = NULL;
out:
    SSL_CTX_free(ctx);
    return result;
}

void tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}
