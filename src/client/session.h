/* session: the client's conversation with one netshopd, behind one "send a request, get its
 * reply" call — the verified TLS connection (greeting, LOGIN, QUIT, and the fallback), the UDP
 * fast path it opens after LOGIN (--transport udp, the default), or anonymous datagrams with no
 * TLS at all (--anonymous) — with every failure turned into a cli_error_t carrying the right
 * exit status (3 connection, 4 login, 1 an ERR reply). Callers never see which transport
 * answered: the reply has the same rows and final line either way. */
#ifndef NETSHOP_SESSION_H
#define NETSHOP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "client/cli_error.h"
#include "client/conn_common.h"
#include "client/input.h"
#include "client/options.h"
#include "core/order.h"

typedef struct session session_t;

/* Opens what the options ask for: the verified TLS connection (greeting read), or with
 * o->anonymous an anonymous UDP channel. o must outlive the session. Returns the session (free
 * with session_close), or NULL with *err (exit 3). */
session_t *session_open(const client_options_t *o, cli_error_t *err);

typedef enum {
    SESSION_LOGGED_IN = 0,
    SESSION_USER_LEFT, /* end of input at the user or password prompt */
    SESSION_FAILED,    /* *err says why: exit 4 for refused logins, 3 for a lost connection */
} session_login_result_t;

/* Obtains the credentials (options, environment, prompts on `in`) and sends LOGIN over TLS. On
 * success copies the user name into user_out[0..user_cap) when user_out is not NULL, and with
 * --transport udp opens the UDP fast path from the reply's session id and keys exported from
 * the TLS connection (if that cannot be done it says so on stderr and stays on TLS). The
 * password is wiped from memory before returning. */
session_login_result_t session_login(session_t *s, input_t *in, char *user_out, size_t user_cap,
                                     cli_error_t *err);

/* Sends one request line and gets its whole reply (all pages over UDP). Over UDP, a request
 * that gets no answer after every retransmission (or whose datagrams are refused) is sent
 * again over TLS, and so is every later one; this is said once on stderr
 * (`netshop: no answer over UDP; using TLS`). Returns true when a reply arrived (check
 * reply->final.kind for OK or ERR); false with *err (exit 3) when the connection failed. */
bool session_request(session_t *s, const char *line, conn_reply_t *reply, cli_error_t *err);

typedef enum {
    SESSION_BUY_ANSWERED = 0, /* a reply arrived: check reply->final.kind */
    SESSION_BUY_NOT_SENT,     /* nothing was sent (no random id could be made); *err says why,
                                 the session is still usable */
    SESSION_BUY_FAILED,       /* the connection failed before the request went out (exit 3) */
    SESSION_BUY_UNKNOWN,      /* the connection failed after the request may have reached the
                                 server: the purchase may or may not have been made (exit 3) */
} session_buy_result_t;

/* Sends `BUY <sno> <qty>` idempotently. With request_id (the user's) the id travels in the
 * command text on every transport. Without: over TLS a fresh random id is added; over UDP the
 * text carries none and the server names the purchase `udp.<16 hex digits of the datagram
 * request id>`, which is the id sent if the request falls back to TLS. used_id receives the id
 * the purchase is known under (for a safe rerun with --request-id), or "" when none. */
session_buy_result_t session_buy(session_t *s, const char *sno, const char *qty,
                                 const char *request_id, conn_reply_t *reply,
                                 char used_id[static ORDER_REQUEST_ID_MAX + 1], cli_error_t *err);

/* The keep-alive, for a caller waiting for the user (the menu's prompts): when the TLS
 * connection of a login session has carried nothing for --keepalive seconds, or the server sent
 * something unasked, sends PING over it so the server's idle timeout does not end the session.
 * Returns the milliseconds until it should be called again, or -1 when it has nothing more to
 * do (no TLS connection, or the connection failed: the next request reports that). Prints
 * nothing. */
int session_keepalive(session_t *s);

/* Says QUIT over TLS when say_quit (and the connection is sound), closes everything, wipes the
 * UDP keys and frees s. NULL is allowed. */
void session_close(session_t *s, bool say_quit);

/* Records an ERR reply as the failure of the command: exit 1, the server's code and text. */
void session_refused(const shop1_reply_line_t *final, cli_error_t *err);

/* Records a reply that does not have the documented form (exit 3, PROTOCOL_ERROR). */
void session_malformed(const char *what, cli_error_t *err);

/* Formats a request line into buf[0..SHOP1_LINE_MAX). Returns false when it does not fit in
 * one SHOP/1 line or would contain a line break. */
bool session_format(char buf[static SHOP1_LINE_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
