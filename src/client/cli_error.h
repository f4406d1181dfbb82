/* cli_error: the client's exit statuses and its one error report — `netshop: <message> (<CODE>)`
 * on stderr, plus `{"error":...,"message":...}` on stdout under --json. Every failure of a
 * command travels up to main as a cli_error_t and is printed once, here; so are the client's
 * few notes that are not failures (cli_notice). */
#ifndef NETSHOP_CLI_ERROR_H
#define NETSHOP_CLI_ERROR_H

#include <stdbool.h>

/* Exit statuses (docs/CLIENT.md). */
typedef enum {
    NETSHOP_EXIT_OK = 0,
    NETSHOP_EXIT_REFUSED = 1,    /* the server refused the operation (an ERR reply) */
    NETSHOP_EXIT_USAGE = 2,      /* bad command line or missing configuration */
    NETSHOP_EXIT_CONNECTION = 3, /* connection or TLS failure, timeout, server gone */
    NETSHOP_EXIT_LOGIN = 4,      /* login failed (AUTH_FAILED / RATE_LIMITED) */
} netshop_exit_t;

#define CLI_ERROR_CODE_MAX 32
#define CLI_ERROR_MESSAGE_MAX 512

typedef struct {
    netshop_exit_t status;             /* NETSHOP_EXIT_OK while nothing failed */
    bool from_server;                  /* code is the server's ERR word: printed after the text */
    char code[CLI_ERROR_CODE_MAX];     /* "INSUFFICIENT_STOCK", or a client word ("CONNECTION") */
    char message[CLI_ERROR_MESSAGE_MAX];
} cli_error_t;

/* Resets *e to "no error". */
void cli_error_clear(cli_error_t *e);

/* Records a failure: exit status, code word and printf-style message (truncated to fit,
 * never overflowing). from_server says the code is the server's (shown as "(CODE)"). */
void cli_error_set(cli_error_t *e, netshop_exit_t status, bool from_server, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prints the error: `netshop: <message>[ (<CODE>)]` on stderr and, when json, one JSON document
 * `{"error":"<CODE>","message":"<message>"}` on stdout. Control characters in the message are
 * shown as '?' on the terminal. */
void cli_error_report(const cli_error_t *e, bool json);

/* Prints a note that is not a failure, `netshop: <message>`, on stderr only (never in --json
 * stdout), control characters shown as '?'. */
void cli_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
