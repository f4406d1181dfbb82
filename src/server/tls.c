/* tls: the server's OpenSSL SSL_CTX — protocol floor, AEAD-only ciphers, groups, resumption,
 * certificate chain and key, rotating session-ticket keys — the exporter safety check, and
 * OpenSSL error-queue formatting (see tls.h). No libevent here.
 *
 * Session-ticket keys. OpenSSL's own ticket key is made once per SSL_CTX and never changes, so a
 * key stolen from a long-running server decrypts every ticket (and, through it, the session
 * secrets) of its whole life. Here a context carries a `struct ticket_keys` (ex_data, freed and
 * wiped with the context) holding two keys: `current` encrypts new tickets and decrypts; after
 * TLS_TICKET_KEY_SECONDS it becomes `previous`, which only decrypts (such a ticket is answered
 * with a fresh one under the current key) for one more period, and is then wiped. Rotation happens
 * lazily in the ticket callback and from tls_ticket_keys_tick, which the server calls every
 * TLS_TICKET_TICK_SECONDS so that keys are wiped on time on an idle server too. The worker threads
 * share the context: the two keys are read and rotated under one mutex, held only to copy a key
 * (the callback then works on its private copy, wiped before it returns). */
#include "server/tls.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

/* ---- session-ticket keys --------------------------------------------------------------------- */

#define TICKET_NAME_LEN 16 /* fixed by OpenSSL's callback */
#define TICKET_AES_LEN  32 /* AES-256-CBC */
#define TICKET_HMAC_LEN 32 /* HMAC-SHA256 */

struct ticket_key {
    unsigned char name[TICKET_NAME_LEN]; /* random; tells the keys apart, not secret */
    unsigned char aes[TICKET_AES_LEN];
    unsigned char hmac[TICKET_HMAC_LEN];
    bool valid;
};

struct ticket_keys {
    pthread_mutex_t lock;     /* guards everything below */
    struct ticket_key current;  /* encrypts and decrypts */
    struct ticket_key previous; /* decrypts only (the ticket is then renewed) */
    time_t rotated;           /* CLOCK_MONOTONIC seconds when current was made */
};

static pthread_once_t ticket_index_once = PTHREAD_ONCE_INIT;
static int ticket_index_value = -1;

static time_t monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* ex_data free callback: wipes and frees a context's keys when the context is freed. */
static void ticket_keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                             void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct ticket_keys *k = ptr;
    if (k == NULL)
        return;
    pthread_mutex_destroy(&k->lock);
    OPENSSL_clear_free(k, sizeof *k);
}

static void ticket_index_init(void)
{
    ticket_index_value = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ticket_keys_free);
}

/* The ex_data index of the ticket keys (allocated once per process), or -1. */
static int ticket_index(void)
{
    pthread_once(&ticket_index_once, ticket_index_init);
    return ticket_index_value;
}

static struct ticket_keys *ticket_keys_of(SSL_CTX *ctx)
{
    int idx = ticket_index();
    return idx < 0 ? NULL : SSL_CTX_get_ex_data(ctx, idx);
}

/* Makes a new current key; the old current becomes previous, the old previous is wiped. With
 * `drop_current` the old current is wiped too (it is too old even to decrypt). Caller holds
 * k->lock. Returns 0, or -1 (nothing changed) when the random generator fails. */
static int rotate_locked(struct ticket_keys *k, bool drop_current, time_t now)
{
    struct ticket_key fresh = {.valid = true};
    if (RAND_bytes(fresh.name, sizeof fresh.name) != 1
        || RAND_priv_bytes(fresh.aes, sizeof fresh.aes) != 1
        || RAND_priv_bytes(fresh.hmac, sizeof fresh.hmac) != 1) {
        OPENSSL_cleanse(&fresh, sizeof fresh);
        return -1;
    }
    OPENSSL_cleanse(&k->previous, sizeof k->previous);
    if (!drop_current)
        k->previous = k->current;
    k->current = fresh;
    k->rotated = now;
    OPENSSL_cleanse(&fresh, sizeof fresh);
    return 0;
}

/* Rotates when the current key is a period old; drops both keys' old material when it is two
 * periods old. Caller holds k->lock. On a failed rotation the keys past their time are wiped all
 * the same (then no ticket is issued or accepted until a rotation succeeds). */
static void maybe_rotate_locked(struct ticket_keys *k, time_t now)
{
    time_t age = now - k->rotated;
    if (age < TLS_TICKET_KEY_SECONDS)
        return;
    bool too_old = age >= 2 * (time_t)TLS_TICKET_KEY_SECONDS;
    if (rotate_locked(k, too_old, now) != 0) {
        OPENSSL_cleanse(&k->previous, sizeof k->previous);
        if (too_old)
            OPENSSL_cleanse(&k->current, sizeof k->current);
    }
}

/* OpenSSL's ticket callback (SSL_CTX_set_tlsext_ticket_key_evp_cb). enc = 1: set up encryption of
 * a new ticket under the current key: returns 1, or 0 (no ticket) without a current key. enc = 0:
 * finds the key named key_name: returns 1 for the current key, 2 for the previous one (decrypt,
 * then issue a new ticket), 0 for an unknown name (full handshake, new ticket). -1 on an internal
 * error. */
static int ticket_key_cb(SSL *ssl, unsigned char key_name[TICKET_NAME_LEN],
                         unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    struct ticket_keys *k = ticket_keys_of(SSL_get_SSL_CTX(ssl));
    struct ticket_key key;
    int rc = 0;
    if (k == NULL)
        return -1;

    pthread_mutex_lock(&k->lock);
    maybe_rotate_locked(k, monotonic_seconds());
    if (enc) {
        key = k->current;
        rc = key.valid ? 1 : 0;
    } else if (k->current.valid
               && CRYPTO_memcmp(key_name, k->current.name, TICKET_NAME_LEN) == 0) {
        key = k->current;
        rc = 1;
    } else if (k->previous.valid
               && CRYPTO_memcmp(key_name, k->previous.name, TICKET_NAME_LEN) == 0) {
        key = k->previous;
        rc = 2;
    } else {
        memset(&key, 0, sizeof key);
    }
    pthread_mutex_unlock(&k->lock);
    if (rc == 0)
        goto out;

    const EVP_CIPHER *cipher = EVP_aes_256_cbc();
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof key.hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (enc) {
        memcpy(key_name, key.name, TICKET_NAME_LEN);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1
            || EVP_EncryptInit_ex(cctx, cipher, NULL, key.aes, iv) != 1)
            rc = -1;
    } else if (EVP_DecryptInit_ex(cctx, cipher, NULL, key.aes, iv) != 1) {
        rc = -1;
    }
    if (rc > 0 && EVP_MAC_CTX_set_params(hctx, params) != 1)
        rc = -1;
out:
    OPENSSL_cleanse(&key, sizeof key);
    return rc;
}

/* Gives ctx its own rotating ticket keys. Returns 0, or -1 (OpenSSL error queued or out of memory). */
static int ticket_keys_install(SSL_CTX *ctx)
{
    int idx = ticket_index();
    struct ticket_keys *k = idx < 0 ? NULL : OPENSSL_zalloc(sizeof *k);
    if (k == NULL)
        return -1;
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        OPENSSL_free(k);
        return -1;
    }
    if (rotate_locked(k, true, monotonic_seconds()) != 0 || !SSL_CTX_set_ex_data(ctx, idx, k)) {
        ticket_keys_free(NULL, k, NULL, idx, 0, NULL);
        return -1;
    }
    /* From here the context owns k (freed by ticket_keys_free with the context). */
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1)
        return -1;
    /* A ticket must not outlive the keys that can open it: lifetime = one period. */
    SSL_CTX_set_timeout(ctx, TLS_TICKET_KEY_SECONDS);
    return 0;
}

int tls_ticket_keys_rotate(SSL_CTX *ctx)
{
    struct ticket_keys *k = ticket_keys_of(ctx);
    if (k == NULL)
        return -1;
    pthread_mutex_lock(&k->lock);
    int rc = rotate_locked(k, false, monotonic_seconds());
    pthread_mutex_unlock(&k->lock);
    return rc;
}

void tls_ticket_keys_tick(SSL_CTX *ctx)
{
    struct ticket_keys *k = ticket_keys_of(ctx);
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->lock);
    maybe_rotate_locked(k, monotonic_seconds());
    pthread_mutex_unlock(&k->lock);
}

bool tls_exporter_is_safe(SSL *ssl)
{
    if (ssl == NULL || !SSL_is_init_finished(ssl))
        return false;
    int version = SSL_version(ssl);
    return version == TLS1_3_VERSION
        || (version == TLS1_2_VERSION && SSL_get_extms_support(ssl) == 1);
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
    if (ticket_keys_install(ctx) != 0) {
        set_tls_err(err, errlen, "cannot set up the rotating session-ticket keys");
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
