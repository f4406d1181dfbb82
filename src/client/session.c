/* session: connects, logs in and exchanges requests for the client's commands and menu, picking
 * the transport for each request and turning connection and server failures into the client's
 * exit statuses.
 *
 * Transports of a session:
 *
 *   --anonymous:        anonymous UDP only (no TLS, no login, no fallback)
 *   --transport tls:    TLS for everything
 *   --transport udp:    TLS ──LOGIN ok, session id, keys exported──> sealed UDP for requests
 *                       (TLS kept open: QUIT, keep-alive PING) ──no answer over UDP──> TLS for
 *                       this request and every later one (said once on stderr)
 */
#include "client/session.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "client/client_conn.h"
#include "client/credentials.h"
#include "client/udp_conn.h"
#include "proto/udp_seal.h"

#define SESSION_RANDOM_ID_LEN 16      /* hex digits of a generated BUY request id (TLS) */
#define SESSION_ID_HEX_LEN 16         /* hex digits of LOGIN's session id */
#define SESSION_UDP_NOTICE "no answer over UDP; using TLS"

struct session {
    const client_options_t *o;
    client_conn_t *tls;   /* NULL when anonymous */
    udp_conn_t *udp;      /* the fast path (or the anonymous channel); NULL when not in use */
    transport_t *active;  /* what carries the next request */
    int64_t tls_last_ms;  /* when TLS last carried a request (keep-alive) */
    bool tls_broken;      /* a keep-alive PING failed: no more keep-alives */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The client-side code word reported for each connection failure (JSON "error"). */
static const char *conn_code(conn_status_t status)
{
    switch (status) {
    case CONN_ERR_RESOLVE:
    case CONN_ERR_CONNECT:
        return "CONNECTION_FAILED";
    case CONN_ERR_TIMEOUT:
        return "TIMEOUT";
    case CONN_ERR_CA:
        return "CA_FILE";
    case CONN_ERR_CERT:
        return "CERTIFICATE_UNTRUSTED";
    case CONN_ERR_TLS:
        return "TLS_FAILED";
    case CONN_ERR_BUSY:
        return "BUSY";
    case CONN_ERR_CLOSED:
        return "CONNECTION_LOST";
    case CONN_ERR_PROTOCOL:
        return "PROTOCOL_ERROR";
    case CONN_ERR_NOMEM:
        return "OUT_OF_MEMORY";
    case CONN_ERR_REQUEST:
    case CONN_OK:
    default:
        return "CLIENT_ERROR";
    }
}

static void connection_failed(const conn_error_t *ce, cli_error_t *err)
{
    cli_error_set(err, NETSHOP_EXIT_CONNECTION, false, conn_code(ce->status), "%s", ce->message);
}

session_t *session_open(const client_options_t *o, cli_error_t *err)
{
    session_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cli_error_set(err, NETSHOP_EXIT_CONNECTION, false, "OUT_OF_MEMORY", "out of memory");
        return NULL;
    }
    s->o = o;
    conn_error_t ce;
    if (o->anonymous) {
        s->udp = udp_conn_open_anonymous(o->host, o->port, o->timeout_secs, &ce);
        if (s->udp == NULL)
            goto fail;
        s->active = udp_conn_transport(s->udp);
        return s;
    }
    conn_params_t params = {
        .host = o->host,
        .port = o->port,
        .ca_file = o->ca_file,
        .timeout_secs = o->timeout_secs,
    };
    s->tls = conn_open(&params, &ce);
    if (s->tls == NULL)
        goto fail;
    s->active = conn_transport(s->tls);
    s->tls_last_ms = now_ms();
    return s;
fail:
    connection_failed(&ce, err);
    free(s);
    return NULL;
}

void session_close(session_t *s, bool say_quit)
{
    if (s == NULL)
        return;
    udp_conn_close(s->udp);
    conn_close(s->tls, say_quit);
    free(s);
}

static bool on_udp(const session_t *s)
{
    return s->udp != NULL && s->active == udp_conn_transport(s->udp);
}

/* Sends over the TLS connection, noting when (for the keep-alive). */
static conn_status_t tls_request(session_t *s, const char *line, conn_reply_t *reply,
                                 conn_error_t *ce)
{
    s->tls_last_ms = now_ms();
    return transport_request(conn_transport(s->tls), line, reply, ce);
}

/* True when a failed UDP request should be sent again over TLS: the session has a TLS
 * connection, and UDP got no answer or its datagrams were refused. */
static bool falls_back(const session_t *s, conn_status_t status)
{
    return s->tls != NULL && (status == CONN_ERR_TIMEOUT || status == CONN_ERR_CONNECT);
}

/* Leaves the UDP fast path for good, saying so once. */
static void fall_back(session_t *s)
{
    cli_notice("%s", SESSION_UDP_NOTICE);
    udp_conn_close(s->udp);
    s->udp = NULL;
    s->active = conn_transport(s->tls);
}

/* The keep-alive interval (--keepalive) in milliseconds. */
static int64_t keepalive_ms(const session_t *s)
{
    return (int64_t)s->o->keepalive_secs * 1000;
}

/* Before a UDP request of a login session: pings over TLS when that connection has been quiet
 * for --keepalive seconds, so the server does not close it (and the UDP session) as idle,
 * and at once when the server sent something unasked (it is closing: the ping reads why, rather
 * than UDP waiting in vain for a session that has ended). False with *err when the TLS
 * connection is gone. */
/* True when a keep-alive PING is due now: the TLS connection has been quiet for --keepalive, or
 * the server sent something unasked. */
static bool ping_due(session_t *s)
{
    return now_ms() - s->tls_last_ms >= keepalive_ms(s) || conn_has_input(s->tls);
}

/* One PING over TLS (its reply is not kept); the status of the exchange. */
static conn_status_t ping(session_t *s, conn_error_t *ce)
{
    conn_reply_t reply;
    conn_reply_init(&reply);
    conn_status_t st = tls_request(s, "PING", &reply, ce);
    conn_reply_free(&reply);
    return st;
}

static bool keep_tls_alive(session_t *s, cli_error_t *err)
{
    if (s->tls == NULL || !ping_due(s))
        return true;
    conn_error_t ce;
    if (ping(s, &ce) != CONN_OK) {
        connection_failed(&ce, err);
        return false;
    }
    return true;
}

int session_keepalive(session_t *s)
{
    if (s->tls == NULL || s->tls_broken)
        return -1;
    if (ping_due(s)) {
        conn_error_t ce;
        if (ping(s, &ce) != CONN_OK) {
            s->tls_broken = true; /* the next request finds it closed and says so */
            return -1;
        }
    }
    int64_t left = keepalive_ms(s) - (now_ms() - s->tls_last_ms);
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

bool session_request(session_t *s, const char *line, conn_reply_t *reply, cli_error_t *err)
{
    conn_error_t ce;
    if (on_udp(s)) {
        if (!keep_tls_alive(s, err))
            return false;
        conn_status_t st = transport_request(s->active, line, reply, &ce);
        if (st == CONN_OK)
            return true;
        if (!falls_back(s, st)) {
            connection_failed(&ce, err);
            return false;
        }
        fall_back(s);
    }
    if (tls_request(s, line, reply, &ce) != CONN_OK) {
        connection_failed(&ce, err);
        return false;
    }
    return true;
}

/* Writes a fresh random request id (SESSION_RANDOM_ID_LEN lowercase hex digits from the CSPRNG)
 * into out. Returns false when the random generator fails. */
static bool new_random_request_id(char out[static SESSION_RANDOM_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[SESSION_RANDOM_ID_LEN / 2];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return false;
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 0x0F];
    }
    out[SESSION_RANDOM_ID_LEN] = '\0';
    return true;
}

session_buy_result_t session_buy(session_t *s, const char *sno, const char *qty,
                                 const char *request_id, conn_reply_t *reply,
                                 char used_id[static ORDER_REQUEST_ID_MAX + 1], cli_error_t *err)
{
    char line[SHOP1_LINE_MAX];
    used_id[0] = '\0';
    if (request_id == NULL && !on_udp(s)) {
        char generated[SESSION_RANDOM_ID_LEN + 1];
        if (!new_random_request_id(generated)) {
            cli_error_set(err, NETSHOP_EXIT_CONNECTION, false, "CLIENT_ERROR",
                          "no random request id could be made; nothing was sent");
            return SESSION_BUY_NOT_SENT;
        }
        snprintf(used_id, ORDER_REQUEST_ID_MAX + 1, "%s", generated);
    } else if (request_id != NULL) {
        snprintf(used_id, ORDER_REQUEST_ID_MAX + 1, "%s", request_id);
    }
    if (used_id[0] != '\0') { /* the id travels in the text, whatever carries it */
        session_format(line, "BUY %s %s %s", sno, qty, used_id); /* short words: fits */
        return session_request(s, line, reply, err) ? SESSION_BUY_ANSWERED : SESSION_BUY_UNKNOWN;
    }

    /* Over UDP without an id of its own: the server derives one from the datagram request id. */
    session_format(line, "BUY %s %s", sno, qty);
    if (!keep_tls_alive(s, err))
        return SESSION_BUY_FAILED;
    conn_error_t ce;
    conn_status_t st = transport_request(s->active, line, reply, &ce);
    uint64_t datagram_id = udp_conn_last_request_id(s->udp);
    if (datagram_id == 0) { /* nothing went out */
        connection_failed(&ce, err);
        return ce.status == CONN_ERR_REQUEST ? SESSION_BUY_NOT_SENT : SESSION_BUY_FAILED;
    }
    snprintf(used_id, ORDER_REQUEST_ID_MAX + 1, "udp.%016" PRIx64, datagram_id);
    if (st == CONN_OK)
        return SESSION_BUY_ANSWERED;
    if (!falls_back(s, st)) {
        connection_failed(&ce, err);
        return SESSION_BUY_UNKNOWN;
    }
    fall_back(s);
    session_format(line, "BUY %s %s %s", sno, qty, used_id); /* fits: sno and qty are short */
    if (tls_request(s, line, reply, &ce) != CONN_OK) {
        connection_failed(&ce, err);
        return SESSION_BUY_UNKNOWN;
    }
    return SESSION_BUY_ANSWERED;
}

void session_refused(const shop1_reply_line_t *final, cli_error_t *err)
{
    const char *text = final->text != NULL && final->text[0] != '\0' ? final->text
                                                                      : "request refused";
    cli_error_set(err, NETSHOP_EXIT_REFUSED, true, final->code_name, "%s", text);
}

void session_malformed(const char *what, cli_error_t *err)
{
    cli_error_set(err, NETSHOP_EXIT_CONNECTION, false, "PROTOCOL_ERROR",
                  "the server's reply to %s does not have the documented form", what);
}

bool session_format(char buf[static SHOP1_LINE_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, SHOP1_LINE_MAX, fmt, ap);
    va_end(ap);
    return n > 0 && n < SHOP1_LINE_MAX && strpbrk(buf, "\r\n") == NULL;
}

/* The session id at the end of LOGIN's final text `logged in as <user> session <16 hex>`.
 * False when the text has another form or the id is 0. */
static bool login_session_id(const char *text, uint64_t *id)
{
    static const char word[] = " session";
    const size_t wlen = sizeof word - 1;
    const char *last = strrchr(text, ' ');
    if (last == NULL || (size_t)(last - text) < wlen || memcmp(last - wlen, word, wlen) != 0)
        return false;
    const char *hex = last + 1;
    if (strlen(hex) != SESSION_ID_HEX_LEN ||
        strspn(hex, "0123456789abcdefABCDEF") != SESSION_ID_HEX_LEN)
        return false;
    *id = strtoull(hex, NULL, 16);
    return *id != 0;
}

/* After LOGIN: opens the UDP fast path for the session named in the reply text, with keys
 * exported from the TLS connection (label and context as docs/PROTOCOL.md §7.3 says). When that
 * cannot be done the session stays on TLS, and says so. */
static void start_udp(session_t *s, const char *login_text)
{
    uint64_t id;
    if (!login_session_id(login_text, &id)) {
        cli_notice("the server named no UDP session at login; using TLS");
        return;
    }
    uint8_t context[8];
    for (int i = 0; i < 8; i++)
        context[i] = (uint8_t)(id >> (56 - 8 * i));
    uint8_t exported[UDP_EXPORT_LEN];
    struct sockaddr_storage peer;
    socklen_t peer_len;
    if (!conn_export_keying_material(s->tls, UDP_EXPORT_LABEL, context, sizeof context, exported,
                                     sizeof exported)) {
        cli_notice("cannot derive the UDP keys from the TLS connection; using TLS");
        OPENSSL_cleanse(exported, sizeof exported);
        return;
    }
    if (!conn_peer_address(s->tls, &peer, &peer_len)) {
        cli_notice("cannot tell the server's address for UDP; using TLS");
        OPENSSL_cleanse(exported, sizeof exported);
        return;
    }
    conn_error_t ce;
    s->udp = udp_conn_open_session(&peer, peer_len, conn_host(s->tls), conn_port(s->tls), id,
                                   exported, s->o->timeout_secs, &ce);
    OPENSSL_cleanse(exported, sizeof exported);
    if (s->udp == NULL) {
        cli_notice("cannot use UDP (%s); using TLS", ce.message);
        return;
    }
    s->active = udp_conn_transport(s->udp);
}

session_login_result_t session_login(session_t *s, input_t *in, char *user_out, size_t user_cap,
                                     cli_error_t *err)
{
    if (s->tls == NULL) { /* anonymous: callers never get here */
        cli_error_set(err, NETSHOP_EXIT_USAGE, false, "USAGE", "--anonymous cannot log in");
        return SESSION_FAILED;
    }
    credentials_t cred;
    credentials_result_t got = credentials_get(s->o, in, &cred, err);
    if (got != CREDENTIALS_OK) {
        credentials_wipe(&cred);
        return got == CREDENTIALS_EOF ? SESSION_USER_LEFT : SESSION_FAILED;
    }
    char line[SHOP1_LINE_MAX];
    bool fits = session_format(line, "LOGIN %s %s", cred.user, cred.password);
    if (fits && user_out != NULL && user_cap > 0)
        snprintf(user_out, user_cap, "%s", cred.user);
    credentials_wipe(&cred);
    if (!fits) { /* cannot happen with the bounds checked in credentials_get */
        explicit_bzero(line, sizeof line);
        cli_error_set(err, NETSHOP_EXIT_LOGIN, false, "AUTH_INPUT",
                      "login failed: user name and password do not fit in a request");
        return SESSION_FAILED;
    }

    conn_reply_t reply;
    conn_reply_init(&reply);
    conn_error_t ce;
    conn_status_t st = tls_request(s, line, &reply, &ce);
    explicit_bzero(line, sizeof line);
    session_login_result_t result = SESSION_LOGGED_IN;
    if (st != CONN_OK) {
        connection_failed(&ce, err);
        result = SESSION_FAILED;
    } else if (reply.final.kind == SHOP1_LINE_ERR) {
        result = SESSION_FAILED;
        if (reply.final.code == SHOP1_ERR_AUTH_FAILED)
            cli_error_set(err, NETSHOP_EXIT_LOGIN, true, "AUTH_FAILED",
                          "login failed: wrong user name or password");
        else
            cli_error_set(err, NETSHOP_EXIT_LOGIN, true, reply.final.code_name,
                          "login failed: %s",
                          reply.final.text[0] != '\0' ? reply.final.text : "refused");
    } else if (s->o->transport == OPTIONS_TRANSPORT_UDP) {
        start_udp(s, reply.final.text);
    }
    conn_reply_free(&reply);
    return result;
}
