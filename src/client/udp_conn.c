/* udp_conn: the client side of SHOP/1 over UDP (docs/PROTOCOL.md §7). A connected, non-blocking
 * datagram socket driven with poll; callers see a blocking request/reply call.
 *
 * One request (udp_conn_request) is one or more page exchanges; one exchange is:
 *
 *   new request id ─> send try 1 ─> wait 200 ms ─> send try 2 ─> wait 400 ms ─> ... try 5,
 *   wait 1600 ms ─> CONN_ERR_TIMEOUT
 *        any matching reply while waiting ─> page done (MORE: next page, new exchange)
 *        RETRY (first one) ─> keep its token, resend that try now with it (and every later one)
 *        ICMP refusal ─> anonymous: next address of the host, resend now; else CONN_ERR_CONNECT
 *
 * Every try is a new datagram: a new packet number (sessions), the same request id. Replies are
 * accepted only with our session id, the exchange's request id and page; sealed ones only after
 * the tag verifies and the packet number passes the replay window (which then moves). */
#include "client/udp_conn.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "proto/udp_wire.h"

#define UDP_CONN_PAGE_LAST 0xFFFFu /* the page field is 16 bits: no page after this one */

struct udp_conn {
    transport_t transport; /* first member: the transport interface */
    int fd;
    bool anonymous;
    uint64_t session_id;   /* 0 when anonymous */
    int timeout_ms;        /* cap on one exchange's waits */
    char host[CONN_HOST_MAX + 1];
    char port[CONN_PORT_MAX + 1];
    uint64_t last_request_id;
    /* anonymous */
    struct addrinfo *addrs;            /* every address of the host */
    const struct addrinfo *addr;       /* the one in use */
    bool have_token;
    uint8_t token[UDP_WIRE_TOKEN_LEN]; /* the server's address token, reused for every request */
    /* session */
    udp_aead_t *aead;
    udp_dir_keys_t c2s, s2c;
    uint64_t next_pn;                  /* packet number of the next datagram sent */
    udp_replay_t replay;               /* server-to-client packet numbers accepted */
    /* buffers */
    uint8_t out[UDP_WIRE_DATAGRAM_MAX];
    uint8_t in[UDP_WIRE_DATAGRAM_MAX + 1];
    uint8_t plain[UDP_WIRE_DATAGRAM_MAX];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wait after try number `try` (0-based): doubling from the first, capped. */
static int backoff_ms(int try)
{
    int wait = UDP_CONN_FIRST_WAIT_MS;
    for (int i = 0; i < try && wait < UDP_CONN_MAX_WAIT_MS; i++)
        wait *= 2;
    return wait < UDP_CONN_MAX_WAIT_MS ? wait : UDP_CONN_MAX_WAIT_MS;
}

/* A fresh non-zero random request id; false when the generator fails. */
static bool new_request_id(uint64_t *out)
{
    for (int i = 0; i < 8; i++) {
        uint8_t b[8];
        if (RAND_bytes(b, sizeof b) != 1)
            return false;
        uint64_t v = 0;
        for (size_t j = 0; j < sizeof b; j++)
            v = (v << 8) | b[j];
        if (v != 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Opens a non-blocking datagram socket connected to addr. Returns it, or -1 with errno. */
static int open_socket(const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, addr, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static conn_status_t transport_udp_request(transport_t *t, const char *line, conn_reply_t *reply,
                                           conn_error_t *err)
{
    udp_conn_t *u = (udp_conn_t *)((char *)t - offsetof(udp_conn_t, transport));
    return udp_conn_request(u, line, reply, err);
}

static const transport_ops_t udp_transport_ops = {
    .request = transport_udp_request,
};

/* Allocates a channel with its common fields set; NULL with *err when out of memory or the
 * host/port are unusable. */
static udp_conn_t *conn_new(const char *host, const char *port, int timeout_secs, conn_error_t *err)
{
    char normal[CONN_HOST_MAX + 1];
    if (!conn_host_normalise(host, normal)) {
        conn_error_set(err, CONN_ERR_RESOLVE, "%s", "host name is empty or longer than 255 bytes");
        return NULL;
    }
    if (strlen(port) > CONN_PORT_MAX) {
        conn_error_set(err, CONN_ERR_RESOLVE, "%s", "port is too long");
        return NULL;
    }
    udp_conn_t *u = calloc(1, sizeof *u);
    if (u == NULL) {
        conn_error_set(err, CONN_ERR_NOMEM, "%s", "out of memory");
        return NULL;
    }
    u->transport.ops = &udp_transport_ops;
    u->fd = -1;
    memcpy(u->host, normal, sizeof normal);
    snprintf(u->port, sizeof u->port, "%s", port);
    u->timeout_ms = (timeout_secs > 0 ? timeout_secs : 1) * 1000;
    return u;
}

udp_conn_t *udp_conn_open_anonymous(const char *host, const char *port, int timeout_secs,
                                    conn_error_t *err)
{
    udp_conn_t *u = conn_new(host, port, timeout_secs, err);
    if (u == NULL)
        return NULL;
    u->anonymous = true;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_DGRAM,
        .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV,
    };
    int rc = getaddrinfo(u->host, u->port, &hints, &u->addrs);
    if (rc != 0) {
        conn_error_set(err, CONN_ERR_RESOLVE, "cannot resolve host %s: %s", u->host,
                       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        u->addrs = NULL;
        udp_conn_close(u);
        return NULL;
    }
    int last_error = EADDRNOTAVAIL;
    for (u->addr = u->addrs; u->addr != NULL; u->addr = u->addr->ai_next) {
        u->fd = open_socket(u->addr->ai_addr, u->addr->ai_addrlen);
        if (u->fd >= 0)
            return u;
        last_error = errno;
    }
    conn_error_set(err, CONN_ERR_CONNECT, "cannot reach %s port %s over UDP: %s", u->host, u->port,
                   strerror(last_error));
    udp_conn_close(u);
    return NULL;
}

udp_conn_t *udp_conn_open_session(const struct sockaddr_storage *addr, socklen_t addr_len,
                                  const char *host, const char *port, uint64_t session_id,
                                  const uint8_t exported[static UDP_EXPORT_LEN],
                                  int timeout_secs, conn_error_t *err)
{
    if (session_id == 0) {
        conn_error_set(err, CONN_ERR_PROTOCOL, "%s", "the server gave session id 0");
        return NULL;
    }
    udp_conn_t *u = conn_new(host, port, timeout_secs, err);
    if (u == NULL)
        return NULL;
    u->session_id = session_id;
    u->next_pn = 1;
    udp_keys_from_export(exported, &u->c2s, &u->s2c);
    u->aead = udp_aead_new();
    if (u->aead == NULL) {
        conn_error_set(err, CONN_ERR_NOMEM, "%s", "cannot set up ChaCha20-Poly1305");
        udp_conn_close(u);
        return NULL;
    }
    u->fd = open_socket((const struct sockaddr *)addr, addr_len);
    if (u->fd < 0) {
        conn_error_set(err, CONN_ERR_CONNECT, "cannot reach %s port %s over UDP: %s", u->host,
                       u->port, strerror(errno));
        udp_conn_close(u);
        return NULL;
    }
    return u;
}

transport_t *udp_conn_transport(udp_conn_t *u)
{
    return &u->transport;
}

uint64_t udp_conn_last_request_id(const udp_conn_t *u)
{
    return u->last_request_id;
}

void udp_conn_close(udp_conn_t *u)
{
    if (u == NULL)
        return;
    if (u->fd >= 0)
        close(u->fd);
    if (u->addrs != NULL)
        freeaddrinfo(u->addrs);
    udp_aead_free(u->aead);
    OPENSSL_cleanse(u, sizeof *u); /* keys, replies */
    free(u);
}

/* Anonymous: gives up the address that refused and connects to the host's next one. False
 * when there is none left. */
static bool next_address(udp_conn_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    while (u->addr != NULL && (u->addr = u->addr->ai_next) != NULL) {
        u->fd = open_socket(u->addr->ai_addr, u->addr->ai_addrlen);
        if (u->fd >= 0)
            return true;
    }
    return false;
}

/* --- one datagram out --- */

/* Builds and sends one try of the request: header (+ the address token when the server gave
 * one), then the text, plain or sealed under the next packet number. Returns 0 when sent
 * (or dropped by a full socket buffer: a lost datagram like any other), else the errno. */
static int send_try(udp_conn_t *u, const char *line, size_t len, uint16_t page, uint64_t request_id)
{
    bool token = u->have_token;
    udp_header_t h = {
        .type = UDP_TYPE_REQUEST,
        .flags = token ? UDP_FLAG_TOKEN : 0,
        .page = page,
        .session_id = u->session_id,
        .packet_number = u->anonymous ? 0 : u->next_pn++,
        .request_id = request_id,
    };
    size_t n = udp_wire_encode_header(&h, token ? u->token : NULL, u->out, sizeof u->out);
    size_t room = sizeof u->out - n;
    if (n == 0 || len + (u->anonymous ? 0 : UDP_WIRE_TAG_LEN) > room)
        return EMSGSIZE; /* cannot happen: a SHOP/1 line is far below a datagram */
    if (u->anonymous) {
        memcpy(u->out + n, line, len);
        n += len;
    } else {
        long sealed = udp_seal(u->aead, &u->c2s, h.packet_number, u->out, n, (const uint8_t *)line,
                               len, u->out + n);
        if (sealed < 0)
            return EINVAL;
        n += (size_t)sealed;
    }
    for (;;) {
        if (send(u->fd, u->out, n, 0) >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            return 0;
        return errno;
    }
}

/* --- one datagram in --- */

typedef enum {
    DGRAM_IGNORE, /* not for this exchange, or not authentic */
    DGRAM_REPLY,  /* the reply page: *text / *text_len (in u->plain or u->in), *more */
    DGRAM_RETRY,  /* the server wants its token echoed (now in u->token): an anonymous request,
                     or a sealed one from an address other than the TLS connection's */
} dgram_kind_t;

/* Checks one received datagram u->in[0..len) against the exchange (request id, page). */
static dgram_kind_t classify(udp_conn_t *u, size_t len, uint64_t request_id, uint16_t page,
                             const uint8_t **text, size_t *text_len, bool *more)
{
    udp_datagram_t d;
    if (len > UDP_WIRE_DATAGRAM_MAX || udp_wire_decode(u->in, len, &d) != UDP_WIRE_OK)
        return DGRAM_IGNORE;
    if (d.hdr.session_id != u->session_id || d.hdr.request_id != request_id)
        return DGRAM_IGNORE;
    if (d.hdr.type == UDP_TYPE_RETRY) { /* §7.2 names its request id, not its page */
        if (d.token == NULL)
            return DGRAM_IGNORE;
        memcpy(u->token, d.token, UDP_WIRE_TOKEN_LEN);
        u->have_token = true;
        return DGRAM_RETRY;
    }
    if (d.hdr.type != UDP_TYPE_REPLY || d.hdr.page != page)
        return DGRAM_IGNORE;
    *more = (d.hdr.flags & UDP_FLAG_MORE) != 0;
    if (u->anonymous) {
        *text = d.payload;
        *text_len = d.payload_len;
        return DGRAM_REPLY;
    }
    if (!udp_replay_check(&u->replay, d.hdr.packet_number))
        return DGRAM_IGNORE;
    long plain = udp_open(u->aead, &u->s2c, d.hdr.packet_number, u->in, d.aad_len, d.payload,
                          d.payload_len, u->plain);
    if (plain < 0)
        return DGRAM_IGNORE;
    udp_replay_accept(&u->replay, d.hdr.packet_number);
    *text = u->plain;
    *text_len = (size_t)plain;
    return DGRAM_REPLY;
}

/* Reads one datagram into u->in. Returns its length, 0 when nothing was waiting, or -1 with
 * errno (ECONNREFUSED: the ICMP answer to an earlier datagram). */
static long receive(udp_conn_t *u)
{
    for (;;) {
        ssize_t n = recv(u->fd, u->in, sizeof u->in, MSG_TRUNC);
        if (n >= 0)
            return (long)n; /* MSG_TRUNC: an over-long datagram shows its real length */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }
}

/* An ICMP refusal or a send failure: anonymous channels try the host's next address (true:
 * resend now); otherwise *err is set and false returned. */
static bool unreachable(udp_conn_t *u, int error, conn_error_t *err)
{
    if (u->anonymous && error == ECONNREFUSED && next_address(u))
        return true;
    conn_error_set(err, CONN_ERR_CONNECT, "cannot reach %s port %s over UDP: %s", u->host, u->port,
                   strerror(error));
    return false;
}

/* One page exchange: sends the request for `page` with a fresh request id, retransmits on
 * the backoff schedule, and waits for the matching reply. On CONN_OK *text / *text_len hold
 * the page's reply text (inside u, valid until the next exchange) and *more its MORE flag.
 * The resend a RETRY asks for does not count as a try (it repeats the try that drew it, with
 * the same wait); moving to the host's next address starts the tries afresh. The whole
 * exchange never waits longer than the channel's timeout. */
static conn_status_t exchange(udp_conn_t *u, const char *line, size_t len, uint16_t page,
                              const uint8_t **text, size_t *text_len, bool *more, conn_error_t *err)
{
    uint64_t request_id = 0;
    if (!new_request_id(&request_id)) {
        conn_error_set(err, CONN_ERR_REQUEST, "%s", "cannot generate a random request id");
        return err->status;
    }
    if (page == 0)
        u->last_request_id = request_id;
    bool retried = false; /* a RETRY is honoured once per request */
    int sent = 0;         /* tries sent to the current address */
    int total_sent = 0;
    int64_t start = now_ms();
    int64_t end = start + u->timeout_ms;
    int64_t deadline = start; /* when the next try is due */
    for (;;) {
        int64_t now = now_ms();
        if (now >= deadline) {
            if (sent == UDP_CONN_TRIES || now >= end)
                break;
            int e = send_try(u, line, len, page, request_id);
            if (e != 0) {
                if (!unreachable(u, e, err))
                    return err->status;
                sent = 0; /* the next address: send to it at once */
                continue;
            }
            deadline = now + backoff_ms(sent);
            if (deadline > end)
                deadline = end;
            sent++;
            total_sent++;
            continue;
        }
        struct pollfd p = {.fd = u->fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)(deadline - now));
        if (ready < 0 && errno != EINTR) {
            conn_error_set(err, CONN_ERR_CONNECT, "cannot wait for the server over UDP: %s",
                           strerror(errno));
            return err->status;
        }
        if (ready <= 0)
            continue;
        long n = receive(u);
        if (n < 0) {
            if (!unreachable(u, errno, err))
                return err->status;
            sent = 0;
            deadline = now; /* the next address: send to it at once */
            continue;
        }
        if (n == 0)
            continue;
        switch (classify(u, (size_t)n, request_id, page, text, text_len, more)) {
        case DGRAM_REPLY:
            return CONN_OK;
        case DGRAM_RETRY:
            if (!retried && sent > 0) {
                retried = true;
                sent--;         /* the resend takes the place of the try that drew the RETRY */
                deadline = now; /* resend now, with the token */
            }
            break;
        case DGRAM_IGNORE:
        default:
            break;
        }
    }
    conn_error_set(err, CONN_ERR_TIMEOUT, "no answer from %s port %s over UDP (%d tries in %.1f s)",
                   u->host, u->port, total_sent, (double)(now_ms() - start) / 1000.0);
    return err->status;
}

/* Adds one page's reply text to *reply, checking it is SHOP/1: LF-terminated lines without
 * NUL bytes, data lines, then exactly one final line, last. On a MORE page that final line must
 * be `OK MORE <page + 1>`; *next gets that number. *total counts the reply's bytes. */
static conn_status_t add_page(const uint8_t *text, size_t len, uint16_t page, bool more,
                              conn_reply_t *reply, size_t *total, uint16_t *next, conn_error_t *err)
{
    const char *s = (const char *)text;
    char quoted[CONN_QUOTED_SIZE];
    *total += len;
    if (*total > CONN_REPLY_BYTES_MAX) {
        conn_error_set(err, CONN_ERR_PROTOCOL, "server reply longer than %d bytes",
                       CONN_REPLY_BYTES_MAX);
        return err->status;
    }
    if (len == 0 || s[len - 1] != '\n' || memchr(s, '\0', len) != NULL) {
        conn_quote(s, len, quoted);
        conn_error_set(err, CONN_ERR_PROTOCOL,
                       "server sent a UDP reply that is not SHOP/1 text: '%s'", quoted);
        return err->status;
    }
    size_t off = 0;
    while (off < len) {
        const char *line = s + off;
        size_t line_len = (size_t)((const char *)memchr(line, '\n', len - off) - line);
        off += line_len + 1;
        bool nomem;
        shop1_line_kind_t kind = conn_reply_add_line(reply, line, line_len, &nomem);
        if (nomem) {
            conn_error_set(err, CONN_ERR_NOMEM, "%s", "out of memory reading the server's reply");
            return err->status;
        }
        bool last = off == len;
        const char *problem = NULL;
        if (kind == SHOP1_LINE_INVALID)
            problem = "a line that is not SHOP/1";
        else if (kind == SHOP1_LINE_DATA && last)
            problem = "a UDP reply page that ends without a final line";
        else if (kind != SHOP1_LINE_DATA && !last)
            problem = "a UDP reply with more after its final line";
        if (problem != NULL) {
            conn_quote(line, line_len, quoted);
            conn_error_set(err, CONN_ERR_PROTOCOL, "server sent %s: '%s'", problem, quoted);
            return err->status;
        }
    }
    if (!more)
        return CONN_OK;
    const char *t = reply->final.text;
    unsigned long n = 0;
    bool ok = reply->final.kind == SHOP1_LINE_OK && strncmp(t, "MORE ", 5) == 0 &&
              strspn(t + 5, "0123456789") == strlen(t + 5) && strlen(t + 5) > 0 &&
              strlen(t + 5) <= 5 && page < UDP_CONN_PAGE_LAST;
    if (ok) {
        n = strtoul(t + 5, NULL, 10);
        ok = n == (unsigned long)page + 1;
    }
    if (!ok) {
        conn_quote(t, strlen(t), quoted);
        conn_error_set(err, CONN_ERR_PROTOCOL,
                       "server sent UDP page %u with MORE but its final line is not 'OK MORE %u': "
                       "'%s'", (unsigned)page, (unsigned)page + 1, quoted);
        return err->status;
    }
    *next = (uint16_t)n;
    return CONN_OK;
}

conn_status_t udp_conn_request(udp_conn_t *u, const char *line, conn_reply_t *reply,
                               conn_error_t *err)
{
    conn_reply_free(reply);
    u->last_request_id = 0;
    size_t len = strlen(line);
    if (len == 0 || len > SHOP1_LINE_MAX - 1 || strpbrk(line, "\r\n") != NULL) {
        conn_error_set(err, CONN_ERR_REQUEST, "%s",
                       "request is empty, too long or has a line break");
        return err->status;
    }
    if (u->fd < 0) {
        conn_error_set(err, CONN_ERR_CONNECT, "cannot reach %s port %s over UDP", u->host, u->port);
        return err->status;
    }
    uint16_t page = 0;
    size_t total = 0;
    for (;;) {
        const uint8_t *text = NULL;
        size_t text_len = 0;
        bool more = false;
        uint16_t next = 0;
        conn_status_t st = exchange(u, line, len, page, &text, &text_len, &more, err);
        if (st == CONN_OK)
            st = add_page(text, text_len, page, more, reply, &total, &next, err);
        OPENSSL_cleanse(u->plain, sizeof u->plain);
        if (st != CONN_OK) {
            conn_reply_free(reply);
            return st;
        }
        if (!more)
            return CONN_OK;
        page = next;
    }
}
