/* session: connects, logs in and exchanges requests for the client's commands and menu, turning
 * connection and server failures into the client's exit statuses. */
#include "client/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "client/credentials.h"

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

client_conn_t *session_connect(const client_options_t *o, cli_error_t *err)
{
    conn_params_t params = {
        .host = o->host,
        .port = o->port,
        .ca_file = o->ca_file,
        .timeout_secs = o->timeout_secs,
    };
    conn_error_t ce;
    client_conn_t *c = conn_open(&params, &ce);
    if (c == NULL)
        connection_failed(&ce, err);
    return c;
}

bool session_request(client_conn_t *c, const char *line, conn_reply_t *reply, cli_error_t *err)
{
    conn_error_t ce;
    if (conn_request(c, line, reply, &ce) != CONN_OK) {
        connection_failed(&ce, err);
        return false;
    }
    return true;
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

bool session_new_request_id(char out[static SESSION_REQUEST_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[SESSION_REQUEST_ID_LEN / 2];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return false;
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 0x0F];
    }
    out[SESSION_REQUEST_ID_LEN] = '\0';
    return true;
}

bool session_format(char buf[static SHOP1_LINE_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, SHOP1_LINE_MAX, fmt, ap);
    va_end(ap);
    return n > 0 && n < SHOP1_LINE_MAX && strpbrk(buf, "\r\n") == NULL;
}

session_login_result_t session_login(client_conn_t *c, const client_options_t *o, input_t *in,
                                     char *user_out, size_t user_cap, cli_error_t *err)
{
    credentials_t cred;
    credentials_result_t got = credentials_get(o, in, &cred, err);
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
    bool answered = session_request(c, line, &reply, err);
    explicit_bzero(line, sizeof line);
    session_login_result_t result = SESSION_LOGGED_IN;
    if (!answered) {
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
    }
    conn_reply_free(&reply);
    return result;
}
