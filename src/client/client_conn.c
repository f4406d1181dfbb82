/* client_conn: the client's TLS connection to netshopd. A non-blocking socket driven with poll,
 * so that every wait (TCP connect, TLS handshake, each read or write) is bounded by the timeout,
 * while callers see plain blocking calls. The server is verified against the CA file and the
 * host name (or IP address); any verification failure ends the connection attempt.
 *
 * States: conn_open() -> connected (greeting read) -> conn_request()* -> conn_close().
 * Any I/O or protocol failure marks the connection broken: later requests fail at once and
 * conn_close() does not try to say QUIT. The connection is also a transport_t (transport.h),
 * and exports keying material for the UDP fast path (docs/PROTOCOL.md §7.3). */
#include "client/client_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CONN_QUIT_TIMEOUT_MS 2000   /* how long conn_close waits for `OK bye` */

struct client_conn {
    transport_t transport;         /* first member: the transport interface */
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int timeout_ms;
    bool broken;
    char host[CONN_HOST_MAX + 1];
    char port[CONN_PORT_MAX + 1];
    size_t in_off;                 /* first unconsumed byte of in[] */
    size_t in_len;                 /* bytes held in in[] */
    char in[CONN_REPLY_LINE_MAX];  /* received, not yet consumed bytes */
};

/* The most recent OpenSSL error as text ("unknown error" when the queue is empty). */
static void openssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(buf, cap, "%s", "unknown error");
        return;
    }
    const char *reason = ERR_reason_error_string(e);
    if (reason != NULL)
        snprintf(buf, cap, "%s", reason);
    else
        ERR_error_string_n(e, buf, cap);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events`, at most timeout_ms. Returns true when ready (or in
 * error: the next I/O call reports it), false on timeout. Restarts after signals. */
static bool wait_ready(int fd, short events, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n == 0)
            return false;
        if (errno != EINTR)
            return true; /* let the I/O call report the error */
    }
}

/* Connects a non-blocking TCP socket to one address within timeout_ms. Returns the socket, or
 * -1 with *error_out set (ETIMEDOUT on timeout). */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *error_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
        *error_out = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        *error_out = errno;
        close(fd);
        return -1;
    }
    if (!wait_ready(fd, POLLOUT, timeout_ms)) {
        *error_out = ETIMEDOUT;
        close(fd);
        return -1;
    }
    int so_error = 0;
    socklen_t so_len = sizeof so_error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0)
        so_error = errno;
    if (so_error != 0) {
        *error_out = so_error;
        close(fd);
        return -1;
    }
    return fd;
}

/* Tries every address of host:port in turn. Returns a connected socket or -1 with *err set. */
static int connect_any(const client_conn_t *c, conn_error_t *err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV,
    };
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(c->host, c->port, &hints, &list);
    if (rc != 0) {
        conn_error_set(err, CONN_ERR_RESOLVE, "cannot resolve host %s: %s", c->host,
                       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    int last_error = ECONNREFUSED;
    bool any_timeout = false;
    int fd = -1;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, c->timeout_ms, &last_error);
        if (fd < 0 && last_error == ETIMEDOUT)
            any_timeout = true;
    }
    freeaddrinfo(list);
    if (fd >= 0) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small lines */
        return fd;
    }
    if (any_timeout && last_error == ETIMEDOUT)
        conn_error_set(err, CONN_ERR_TIMEOUT, "cannot connect to %s port %s: timed out after %d s",
                       c->host, c->port, c->timeout_ms / 1000);
    else
        conn_error_set(err, CONN_ERR_CONNECT, "cannot connect to %s port %s: %s", c->host, c->port,
                       strerror(last_error));
    return -1;
}

/* Builds the TLS context: TLS 1.2 minimum, peer verification on, only the given CA trusted. */
static SSL_CTX *make_context(const char *ca_file, conn_error_t *err)
{
    FILE *probe = fopen(ca_file, "r");
    if (probe == NULL) {
        conn_error_set(err, CONN_ERR_CA, "cannot read CA file %s: %s", ca_file, strerror(errno));
        return NULL;
    }
    fclose(probe);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        conn_error_set(err, CONN_ERR_NOMEM, "%s", "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* SHOP/1 frames its own replies (a final OK/ERR line), so a missing close_notify cannot
     * truncate a reply unnoticed; treat it as a plain close. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        char reason[160];
        openssl_reason(reason, sizeof reason);
        conn_error_set(err, CONN_ERR_CA, "CA file %s holds no usable certificate: %s", ca_file,
                       reason);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Tells OpenSSL which name (SNI + certificate check) or IP address the certificate must
 * match. Returns false when it cannot be set. */
static bool set_expected_peer(SSL *ssl, const char *host)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
}

/* Explains a failed SSL_connect: untrusted certificate, closed connection or TLS error. */
static void handshake_error(const client_conn_t *c, int ssl_error, conn_error_t *err)
{
    long verify = SSL_get_verify_result(c->ssl);
    if (verify != X509_V_OK) {
        if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
            conn_error_set(err, CONN_ERR_CERT,
                           "server certificate not trusted: %s (it is not for %s)",
                           X509_verify_cert_error_string(verify), c->host);
        else
            conn_error_set(err, CONN_ERR_CERT, "server certificate not trusted: %s",
                           X509_verify_cert_error_string(verify));
        return;
    }
    if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN) {
        int e = errno;
        if (ERR_peek_last_error() == 0 && e != 0)
            conn_error_set(err, CONN_ERR_CLOSED, "TLS handshake with %s port %s failed: %s",
                           c->host, c->port, strerror(e));
        else
            conn_error_set(err, CONN_ERR_CLOSED,
                           "TLS handshake with %s port %s failed: connection closed by the server",
                           c->host, c->port);
        return;
    }
    char reason[160];
    openssl_reason(reason, sizeof reason);
    conn_error_set(err, CONN_ERR_TLS, "TLS handshake with %s port %s failed: %s", c->host, c->port,
                   reason);
}

static conn_status_t handshake(client_conn_t *c, conn_error_t *err)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->timeout_ms)) {
                conn_error_set(err, CONN_ERR_TIMEOUT,
                               "TLS handshake with %s port %s timed out after %d s", c->host,
                               c->port, c->timeout_ms / 1000);
                return err->status;
            }
            continue;
        }
        handshake_error(c, e, err);
        return err->status;
    }
    /* Belt and braces: with SSL_VERIFY_PEER a failed check already aborted the handshake. */
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    bool verified = peer != NULL && SSL_get_verify_result(c->ssl) == X509_V_OK;
    X509_free(peer);
    if (!verified) {
        conn_error_set(err, CONN_ERR_CERT, "%s", "server certificate not trusted: not verified");
        return err->status;
    }
    return CONN_OK;
}

/* Marks the connection unusable and fills *err for an I/O failure after the handshake. */
static conn_status_t io_failure(client_conn_t *c, int ssl_error, conn_error_t *err)
{
    c->broken = true;
    if (ssl_error == SSL_ERROR_ZERO_RETURN ||
        (ssl_error == SSL_ERROR_SYSCALL && (errno == 0 || ERR_peek_last_error() != 0))) {
        conn_error_set(err, CONN_ERR_CLOSED, "%s", "connection to server lost");
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
        conn_error_set(err, CONN_ERR_CLOSED, "connection to server lost: %s", strerror(errno));
    } else {
        char reason[160];
        openssl_reason(reason, sizeof reason);
        conn_error_set(err, CONN_ERR_TLS, "connection to server lost: TLS error: %s", reason);
    }
    return err->status;
}

static conn_status_t write_all(client_conn_t *c, const char *buf, size_t len, int timeout_ms,
                               conn_error_t *err)
{
    while (len > 0) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(c->ssl, buf, (int)len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout_ms)) {
                c->broken = true;
                conn_error_set(err, CONN_ERR_TIMEOUT, "cannot send to server: timed out after %d s",
                               timeout_ms / 1000);
                return err->status;
            }
            continue;
        }
        return io_failure(c, e, err);
    }
    return CONN_OK;
}

/* Reads more bytes into in[] (after compacting it). Returns CONN_OK when at least one byte
 * arrived. */
static conn_status_t fill(client_conn_t *c, int timeout_ms, conn_error_t *err)
{
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_len == sizeof c->in) {
        c->broken = true;
        conn_error_set(err, CONN_ERR_PROTOCOL, "server sent a reply line longer than %d bytes",
                       CONN_REPLY_LINE_MAX);
        return err->status;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
        if (n > 0) {
            c->in_len += (size_t)n;
            return CONN_OK;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_ready(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout_ms)) {
                c->broken = true;
                conn_error_set(err, CONN_ERR_TIMEOUT, "no reply from server within %d s",
                               timeout_ms / 1000);
                return err->status;
            }
            continue;
        }
        return io_failure(c, e, err);
    }
}

/* Returns the next received line (without LF) in *line and *len, valid until the next read. */
static conn_status_t read_line(client_conn_t *c, int timeout_ms, char **line, size_t *len,
                               conn_error_t *err)
{
    for (;;) {
        char *start = c->in + c->in_off;
        char *lf = memchr(start, '\n', c->in_len - c->in_off);
        if (lf != NULL) {
            *line = start;
            *len = (size_t)(lf - start);
            c->in_off += *len + 1;
            return CONN_OK;
        }
        conn_status_t st = fill(c, timeout_ms, err);
        if (st != CONN_OK)
            return st;
    }
}

/* Reads the greeting; anything but `OK SHOP/1...` ends the attempt. */
static conn_status_t read_greeting(client_conn_t *c, conn_error_t *err)
{
    char *line;
    size_t len;
    conn_status_t st = read_line(c, c->timeout_ms, &line, &len, err);
    if (st == CONN_ERR_TIMEOUT) {
        conn_error_set(err, st, "no greeting from server within %d s", c->timeout_ms / 1000);
        return st;
    }
    if (st != CONN_OK)
        return st;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    static const char expected[] = "OK " SHOP1_VERSION;
    size_t elen = sizeof expected - 1;
    if (len >= elen && memcmp(line, expected, elen) == 0 && (len == elen || line[elen] == ' '))
        return CONN_OK;

    char quoted[CONN_QUOTED_SIZE];
    c->broken = true;
    static const char busy[] = "ERR BUSY";
    size_t blen = sizeof busy - 1;
    if (len >= blen && memcmp(line, busy, blen) == 0 && (len == blen || line[blen] == ' ')) {
        size_t skip = len == blen ? blen : blen + 1;
        conn_quote(line + skip, len - skip, quoted);
        conn_error_set(err, CONN_ERR_BUSY, "server is busy, try again later: %s", quoted);
        return err->status;
    }
    if (len > 4 && memcmp(line, "ERR ", 4) == 0) {
        conn_quote(line + 4, len - 4, quoted);
        conn_error_set(err, CONN_ERR_PROTOCOL, "server refused the connection: %s", quoted);
        return err->status;
    }
    conn_quote(line, len, quoted);
    conn_error_set(err, CONN_ERR_PROTOCOL, "not a SHOP/1 server: it greeted with '%s'", quoted);
    return err->status;
}

static const transport_ops_t conn_transport_ops; /* defined after conn_request */

client_conn_t *conn_open(const conn_params_t *params, conn_error_t *err)
{
    char host[CONN_HOST_MAX + 1];
    if (!conn_host_normalise(params->host, host)) {
        conn_error_set(err, CONN_ERR_RESOLVE, "%s", "host name is empty or longer than 255 bytes");
        return NULL;
    }
    if (strlen(params->port) > CONN_PORT_MAX) {
        conn_error_set(err, CONN_ERR_RESOLVE, "%s", "port is too long");
        return NULL;
    }
    client_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        conn_error_set(err, CONN_ERR_NOMEM, "%s", "out of memory");
        return NULL;
    }
    c->transport.ops = &conn_transport_ops;
    c->fd = -1;
    memcpy(c->host, host, sizeof host);
    snprintf(c->port, sizeof c->port, "%s", params->port);
    c->timeout_ms = (params->timeout_secs > 0 ? params->timeout_secs : 1) * 1000;

    c->ctx = make_context(params->ca_file, err);
    if (c->ctx == NULL)
        goto fail;
    c->fd = connect_any(c, err);
    if (c->fd < 0)
        goto fail;
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || !set_expected_peer(c->ssl, c->host)) {
        conn_error_set(err, CONN_ERR_TLS, "cannot set up TLS for host %s", c->host);
        goto fail;
    }
    if (handshake(c, err) != CONN_OK || read_greeting(c, err) != CONN_OK)
        goto fail;
    return c;

fail:
    c->broken = true;
    conn_close(c, false);
    return NULL;
}

/* Reads reply lines until the final OK/ERR line. */
static conn_status_t read_reply(client_conn_t *c, int timeout_ms, conn_reply_t *reply,
                                conn_error_t *err)
{
    size_t total = 0;
    for (;;) {
        char *line;
        size_t len;
        conn_status_t st = read_line(c, timeout_ms, &line, &len, err);
        if (st != CONN_OK)
            return st;
        total += len + 1;
        if (total > CONN_REPLY_BYTES_MAX) {
            c->broken = true;
            conn_error_set(err, CONN_ERR_PROTOCOL, "server reply longer than %d bytes",
                           CONN_REPLY_BYTES_MAX);
            return err->status;
        }
        bool nomem;
        shop1_line_kind_t kind = conn_reply_add_line(reply, line, len, &nomem);
        if (nomem) {
            c->broken = true;
            conn_error_set(err, CONN_ERR_NOMEM, "%s", "out of memory reading the server's reply");
            return err->status;
        }
        switch (kind) {
        case SHOP1_LINE_DATA:
            continue;
        case SHOP1_LINE_OK:
        case SHOP1_LINE_ERR:
            return CONN_OK;
        case SHOP1_LINE_INVALID:
        default: {
            char quoted[CONN_QUOTED_SIZE];
            conn_quote(line, len, quoted);
            c->broken = true;
            conn_error_set(err, CONN_ERR_PROTOCOL, "server sent a line that is not SHOP/1: '%s'",
                           quoted);
            return err->status;
        }
        }
    }
}

conn_status_t conn_request(client_conn_t *c, const char *line, conn_reply_t *reply,
                           conn_error_t *err)
{
    conn_reply_free(reply);
    size_t len = strlen(line);
    if (len == 0 || len > SHOP1_LINE_MAX - 1 || strpbrk(line, "\r\n") != NULL) {
        conn_error_set(err, CONN_ERR_REQUEST, "%s",
                       "request is empty, too long or has a line break");
        return err->status;
    }
    if (c->broken) {
        conn_error_set(err, CONN_ERR_CLOSED, "%s", "connection to server lost");
        return err->status;
    }
    char buf[SHOP1_LINE_MAX + 1];
    memcpy(buf, line, len);
    buf[len] = '\n';
    conn_status_t st = write_all(c, buf, len + 1, c->timeout_ms, err);
    explicit_bzero(buf, sizeof buf); /* the line may carry a password */
    if (st != CONN_OK)
        return st;
    st = read_reply(c, c->timeout_ms, reply, err);
    if (st != CONN_OK) {
        conn_reply_free(reply);
        return st;
    }
    if (reply->final.kind == SHOP1_LINE_ERR && reply->final.code == SHOP1_ERR_TIMEOUT) {
        char quoted[CONN_QUOTED_SIZE];
        conn_quote(reply->final.text, strlen(reply->final.text), quoted);
        c->broken = true;
        conn_error_set(err, CONN_ERR_CLOSED, "connection to server lost: %s (TIMEOUT)", quoted);
        conn_reply_free(reply);
        return err->status;
    }
    return CONN_OK;
}

/* The transport interface's request: conn_request on the connection that embeds t. */
static conn_status_t transport_tls_request(transport_t *t, const char *line, conn_reply_t *reply,
                                           conn_error_t *err)
{
    client_conn_t *c = (client_conn_t *)((char *)t - offsetof(client_conn_t, transport));
    return conn_request(c, line, reply, err);
}

static const transport_ops_t conn_transport_ops = {
    .request = transport_tls_request,
};

transport_t *conn_transport(client_conn_t *c)
{
    return &c->transport;
}

bool conn_export_keying_material(client_conn_t *c, const char *label, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t out_len)
{
    if (c->broken || c->ssl == NULL)
        return false;
    ERR_clear_error();
    bool ok = SSL_export_keying_material(c->ssl, out, out_len, label, strlen(label), context,
                                         context_len, 1) == 1;
    ERR_clear_error();
    return ok;
}

bool conn_peer_address(const client_conn_t *c, struct sockaddr_storage *addr, socklen_t *len)
{
    *len = sizeof *addr;
    return c->fd >= 0 && getpeername(c->fd, (struct sockaddr *)addr, len) == 0;
}

bool conn_has_input(const client_conn_t *c)
{
    if (c->broken || c->in_len > c->in_off || (c->ssl != NULL && SSL_pending(c->ssl) > 0))
        return true;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return c->fd >= 0 && poll(&p, 1, 0) > 0;
}

const char *conn_host(const client_conn_t *c)
{
    return c->host;
}

const char *conn_port(const client_conn_t *c)
{
    return c->port;
}

void conn_close(client_conn_t *c, bool say_quit)
{
    if (c == NULL)
        return;
    if (say_quit && !c->broken && c->ssl != NULL) {
        conn_error_t ignored;
        conn_reply_t reply;
        conn_reply_init(&reply);
        int wait_ms = c->timeout_ms < CONN_QUIT_TIMEOUT_MS ? c->timeout_ms : CONN_QUIT_TIMEOUT_MS;
        if (write_all(c, "QUIT\n", 5, wait_ms, &ignored) == CONN_OK)
            (void)read_reply(c, wait_ms, &reply, &ignored);
        conn_reply_free(&reply);
    }
    if (c->ssl != NULL) {
        if (!c->broken)
            (void)SSL_shutdown(c->ssl); /* sends close_notify; we do not wait for the peer's */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    free(c);
}
