/* cli_error: records a command's failure (exit status, code, message) and prints it once, in the
 * client's human and JSON forms; prints the client's notes. */
#include "client/cli_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/output.h"

void cli_error_clear(cli_error_t *e)
{
    e->status = NETSHOP_EXIT_OK;
    e->from_server = false;
    e->code[0] = '\0';
    e->message[0] = '\0';
}

void cli_error_set(cli_error_t *e, netshop_exit_t status, bool from_server, const char *code,
                   const char *fmt, ...)
{
    e->status = status;
    e->from_server = from_server;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(e->message, sizeof e->message, "%s", "(unprintable message)");
    /* A longer message is cut at the buffer's end: vsnprintf always NUL-terminates. */
}

void cli_error_report(const cli_error_t *e, bool json)
{
    fputs("netshop: ", stderr);
    output_text(stderr, e->message);
    if (e->from_server && e->code[0] != '\0') {
        fputs(" (", stderr);
        output_text(stderr, e->code);
        fputc(')', stderr);
    }
    fputc('\n', stderr);

    if (json) {
        json_t j;
        json_init(&j, stdout);
        json_object_begin(&j);
        json_key(&j, "error");
        json_string(&j, e->code);
        json_key(&j, "message");
        json_string(&j, e->message);
        json_object_end(&j);
        json_finish(&j);
    }
}

void cli_notice(const char *fmt, ...)
{
    char message[CLI_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    fputs("netshop: ", stderr);
    output_text(stderr, message);
    fputc('\n', stderr);
    fflush(stderr);
}
