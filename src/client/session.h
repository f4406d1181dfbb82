/* session: the client's use of a connection — connect with the command line's settings, log in,
 * send requests — with every failure turned into a cli_error_t carrying the right exit status
 * (3 connection, 4 login, 1 an ERR reply). */
#ifndef NETSHOP_SESSION_H
#define NETSHOP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "client/cli_error.h"
#include "client/client_conn.h"
#include "client/input.h"
#include "client/options.h"

/* Connects and verifies the server. Returns the connection, or NULL with *err (exit 3). */
client_conn_t *session_connect(const client_options_t *o, cli_error_t *err);

typedef enum {
    SESSION_LOGGED_IN = 0,
    SESSION_USER_LEFT, /* end of input at the user or password prompt */
    SESSION_FAILED,    /* *err says why: exit 4 for refused logins, 3 for a lost connection */
} session_login_result_t;

/* Obtains the credentials (options, environment, prompts on `in`) and sends LOGIN. On success
 * copies the user name into user_out[0..user_cap) when user_out is not NULL. The password is
 * wiped from memory before returning. */
session_login_result_t session_login(client_conn_t *c, const client_options_t *o, input_t *in,
                                     char *user_out, size_t user_cap, cli_error_t *err);

/* Sends one request line and reads its reply. Returns true when a reply arrived (check
 * reply->final.kind for OK or ERR); false with *err (exit 3) when the connection failed. */
bool session_request(client_conn_t *c, const char *line, conn_reply_t *reply, cli_error_t *err);

/* Records an ERR reply as the failure of the command: exit 1, the server's code and text. */
void session_refused(const shop1_reply_line_t *final, cli_error_t *err);

/* Records a reply that does not have the documented form (exit 3, PROTOCOL_ERROR). */
void session_malformed(const char *what, cli_error_t *err);

#define SESSION_REQUEST_ID_LEN 16 /* hex digits of a generated request id */

/* Writes a fresh random request id (16 lowercase hex digits from the CSPRNG) into out.
 * Returns false when the random generator fails. */
bool session_new_request_id(char out[static SESSION_REQUEST_ID_LEN + 1]);

/* Formats a request line into buf[0..SHOP1_LINE_MAX). Returns false when it does not fit in
 * one SHOP/1 line or would contain a line break. */
bool session_format(char buf[static SHOP1_LINE_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
