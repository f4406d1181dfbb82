/* tls_conn: the bench's non-blocking SHOP/1-over-TLS connection state machine (diagram in
 * tls_conn.h). One function, tc_on_io, advances it; failures move it to FAILED through fail(). */
#include "bench/tls_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TC_IN_START 16384
#define TC_OUT_START 4096
#define TC_GREETING_PREFIX "OK SHOP/1"

void tc_init(tls_conn_t *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->fd = -1;
    tc->state = TC_CLOSED;
}

static tc_step_t fail(tls_conn_t *tc, tc_failure_t why, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Moves to FAILED: releases the socket and TLS state, keeps the reason. */
static tc_step_t fail(tls_conn_t *tc, tc_failure_t why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(tc->err, sizeof tc->err, fmt, ap) < 0)
        snprintf(tc->err, sizeof tc->err, "%s", "connection failure");
    va_end(ap);
    tls_io_free(tc->io, false);
    tc->io = NULL;
    if (tc->fd >= 0)
        close(tc->fd);
    tc->fd = -1;
    tc->state = TC_FAILED;
    tc->failure = why;
    tc->want_write = false;
    return TC_STEP_FAILED;
}

/* Grows a buffer so that it holds at least need bytes (doubling). False when out of memory. */
static bool reserve(char **buf, size_t *cap, size_t need, size_t start)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : start;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (p == NULL)
        return false;
    *buf = p;
    *cap = n;
    return true;
}

bool tc_connect(tls_conn_t *tc, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                const char *host)
{
    tc->in_off = tc->in_len = 0;
    tc->out_off = tc->out_len = 0;
    tc->err[0] = '\0';
    tc->failure = TC_FAIL_NONE;
    tc->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (tc->fd < 0) {
        fail(tc, TC_FAIL_CONNECT, "cannot make a socket: %s", strerror(errno));
        return false;
    }
    int one = 1;
    (void)setsockopt(tc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small request lines */
    if (connect(tc->fd, addr, addrlen) != 0 && errno != EINPROGRESS) {
        fail(tc, TC_FAIL_CONNECT, "cannot connect: %s", strerror(errno));
        return false;
    }
    tc->io = tls_io_new(ctx, tc->fd, host);
    if (tc->io == NULL) {
        fail(tc, TC_FAIL_NOMEM, "%s", "cannot set up TLS for a connection");
        return false;
    }
    tc->state = TC_CONNECTING;
    tc->want_write = true; /* writable = connected (or failed) */
    return true;
}

/* Reads everything TLS has for us into in[]. Returns NONE, or FAILED. */
static tc_step_t read_available(tls_conn_t *tc)
{
    if (tc->in_off > 0) {
        memmove(tc->in, tc->in + tc->in_off, tc->in_len - tc->in_off);
        tc->in_len -= tc->in_off;
        tc->in_off = 0;
    }
    for (;;) {
        /* Keep room for at least 4 KiB and one spare byte after the last line. */
        if (tc->in_cap - tc->in_len < 4097) {
            if (tc->in_cap >= TC_IN_MAX)
                return fail(tc, TC_FAIL_PROTOCOL, "more than %u bytes of replies without being consumed",
                            TC_IN_MAX);
            if (!reserve(&tc->in, &tc->in_cap, tc->in_len + 4097, TC_IN_START))
                return fail(tc, TC_FAIL_NOMEM, "%s", "out of memory for replies");
        }
        size_t got = 0;
        tls_io_status_t st = tls_io_read(tc->io, tc->in + tc->in_len, tc->in_cap - tc->in_len - 1, &got);
        switch (st) {
        case TLS_IO_OK:
            tc->in_len += got;
            continue;
        case TLS_IO_WANT_READ:
            return TC_STEP_NONE;
        case TLS_IO_WANT_WRITE:
            tc->want_write = true;
            return TC_STEP_NONE;
        case TLS_IO_CLOSED:
            return fail(tc, TC_FAIL_CLOSED, "%s", tls_io_error(tc->io));
        case TLS_IO_ERROR:
        default:
            return fail(tc, TC_FAIL_TLS, "%s", tls_io_error(tc->io));
        }
    }
}

tc_step_t tc_flush(tls_conn_t *tc)
{
    if (tc->state != TC_READY)
        return TC_STEP_NONE;
    tc->want_write = false;
    while (tc->out_off < tc->out_len) {
        size_t put = 0;
        tls_io_status_t st = tls_io_write(tc->io, tc->out + tc->out_off, tc->out_len - tc->out_off, &put);
        if (st == TLS_IO_OK) {
            tc->out_off += put;
            continue;
        }
        if (st == TLS_IO_WANT_WRITE) {
            tc->want_write = true;
            break;
        }
        if (st == TLS_IO_WANT_READ)
            break; /* the next readable event runs tc_on_io, which flushes again */
        return fail(tc, st == TLS_IO_CLOSED ? TC_FAIL_CLOSED : TC_FAIL_TLS, "%s", tls_io_error(tc->io));
    }
    if (tc->out_off == tc->out_len)
        tc->out_off = tc->out_len = 0;
    return TC_STEP_NONE;
}

/* GREETING: the first line must begin with "OK SHOP/1"; an ERR line (BUSY) ends the attempt. */
static tc_step_t check_greeting(tls_conn_t *tc)
{
    char *line;
    size_t len;
    if (!tc_next_line(tc, &line, &len))
        return TC_STEP_NONE;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len >= strlen(TC_GREETING_PREFIX) && memcmp(line, TC_GREETING_PREFIX, strlen(TC_GREETING_PREFIX)) == 0) {
        tc->state = TC_READY;
        return TC_STEP_READY;
    }
    if (len >= 4 && memcmp(line, "ERR ", 4) == 0)
        return fail(tc, TC_FAIL_BUSY, "server refused the connection: %.*s", (int)(len > 160 ? 160 : len), line);
    return fail(tc, TC_FAIL_PROTOCOL, "not a SHOP/1 greeting: '%.*s'", (int)(len > 80 ? 80 : len), line);
}

tc_step_t tc_on_io(tls_conn_t *tc)
{
    switch (tc->state) {
    case TC_CONNECTING: {
        int so_error = 0;
        socklen_t so_len = sizeof so_error;
        if (getsockopt(tc->fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0)
            so_error = errno;
        if (so_error == EINPROGRESS || so_error == EALREADY)
            return TC_STEP_NONE;
        if (so_error != 0)
            return fail(tc, TC_FAIL_CONNECT, "cannot connect: %s", strerror(so_error));
        /* A connecting socket reports writable when done; make sure it is connected. */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (getpeername(tc->fd, (struct sockaddr *)&peer, &plen) != 0) {
            if (errno == ENOTCONN)
                return TC_STEP_NONE;
            return fail(tc, TC_FAIL_CONNECT, "cannot connect: %s", strerror(errno));
        }
        tc->state = TC_HANDSHAKE;
    }
        /* fall through */
    case TC_HANDSHAKE: {
        tls_io_status_t st = tls_io_handshake(tc->io);
        if (st == TLS_IO_WANT_READ || st == TLS_IO_WANT_WRITE) {
            tc->want_write = st == TLS_IO_WANT_WRITE;
            return TC_STEP_NONE;
        }
        if (st != TLS_IO_OK)
            return fail(tc, st == TLS_IO_CLOSED ? TC_FAIL_CLOSED : TC_FAIL_TLS, "%s", tls_io_error(tc->io));
        tc->want_write = false;
        if (tc->no_greeting) {
            tc->state = TC_READY;
            tc_step_t s = read_available(tc); /* what came with the handshake, tickets included */
            return s != TC_STEP_NONE ? s : TC_STEP_READY;
        }
        tc->state = TC_GREETING;
    }
        /* fall through */
    case TC_GREETING: {
        tc_step_t s = read_available(tc);
        if (s != TC_STEP_NONE)
            return s;
        return check_greeting(tc);
    }
    case TC_READY: {
        tc_step_t s = tc_flush(tc);
        if (s != TC_STEP_NONE)
            return s;
        return read_available(tc);
    }
    case TC_CLOSED:
    case TC_FAILED:
    default:
        return TC_STEP_NONE;
    }
}

bool tc_next_line(tls_conn_t *tc, char **line, size_t *len)
{
    if (tc->in_off >= tc->in_len)
        return false;
    char *start = tc->in + tc->in_off;
    char *lf = memchr(start, '\n', tc->in_len - tc->in_off);
    if (lf == NULL)
        return false;
    *line = start;
    *len = (size_t)(lf - start);
    tc->in_off += *len + 1;
    return true;
}

bool tc_queue(tls_conn_t *tc, const char *text, size_t len)
{
    if (!reserve(&tc->out, &tc->out_cap, tc->out_len + len, TC_OUT_START))
        return false;
    memcpy(tc->out + tc->out_len, text, len);
    tc->out_len += len;
    return true;
}

unsigned tc_tickets(const tls_conn_t *tc)
{
    return tc->io != NULL ? tls_io_tickets(tc->io) : 0;
}

bool tc_wants_write(const tls_conn_t *tc)
{
    return tc->want_write || (tc->state == TC_READY && tc->out_off < tc->out_len);
}

void tc_close(tls_conn_t *tc, bool graceful)
{
    tls_io_free(tc->io, graceful && tc->state == TC_READY);
    tc->io = NULL;
    if (tc->fd >= 0)
        close(tc->fd);
    tc->fd = -1;
    tc->state = TC_CLOSED;
    tc->want_write = false;
    tc->in_off = tc->in_len = 0;
    tc->out_off = tc->out_len = 0;
}

void tc_destroy(tls_conn_t *tc)
{
    tc_close(tc, false);
    free(tc->in);
    free(tc->out);
    tc->in = tc->out = NULL;
    tc->in_cap = tc->out_cap = 0;
}
