/* control: a blocking request/reply wrapper over the non-blocking tls_conn, waiting with poll. */
#include "bench/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

/* Waits for c's socket as tls_conn asks, then runs it once. Returns false on failure or timeout. */
static bool wait_and_run(control_t *c, int64_t deadline_ns, char *err, size_t errlen)
{
    int64_t left_ms = (deadline_ns - bench_now_ns()) / 1000000;
    if (left_ms <= 0) {
        snprintf(err, errlen, "no answer from the server within %d s", CONTROL_TIMEOUT_MS / 1000);
        return false;
    }
    struct pollfd p = {.fd = c->tc.fd, .events = (short)(POLLIN | (tc_wants_write(&c->tc) ? POLLOUT : 0))};
    int n = poll(&p, 1, (int)left_ms);
    if (n < 0 && errno != EINTR) {
        snprintf(err, errlen, "poll: %s", strerror(errno));
        return false;
    }
    if (tc_on_io(&c->tc) == TC_STEP_FAILED) {
        snprintf(err, errlen, "%s", c->tc.err);
        return false;
    }
    return true;
}

static bool open_conn(control_t *c, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                      const char *host, bool greeting, char *err, size_t errlen)
{
    tc_init(&c->tc);
    c->tc.no_greeting = !greeting;
    if (!tc_connect(&c->tc, addr, addrlen, ctx, host)) {
        snprintf(err, errlen, "%s", c->tc.err);
        return false;
    }
    int64_t deadline = bench_now_ns() + (int64_t)CONTROL_TIMEOUT_MS * 1000000;
    while (c->tc.state != TC_READY) {
        if (!wait_and_run(c, deadline, err, errlen)) {
            tc_destroy(&c->tc);
            return false;
        }
    }
    return true;
}

bool control_open(control_t *c, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                  const char *host, char *err, size_t errlen)
{
    return open_conn(c, addr, addrlen, ctx, host, true, err, errlen);
}

bool control_open_no_greeting(control_t *c, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                              const char *host, char *err, size_t errlen)
{
    return open_conn(c, addr, addrlen, ctx, host, false, err, errlen);
}

bool control_request(control_t *c, const char *line, control_row_fn on_row, void *arg, control_final_t *final,
                     char *err, size_t errlen)
{
    if (c->tc.state != TC_READY) {
        snprintf(err, errlen, "%s", "the control connection is closed");
        return false;
    }
    if (!tc_queue(&c->tc, line, strlen(line)) || !tc_queue(&c->tc, "\n", 1)) {
        snprintf(err, errlen, "%s", "out of memory");
        return false;
    }
    if (tc_flush(&c->tc) == TC_STEP_FAILED) {
        snprintf(err, errlen, "%s", c->tc.err);
        return false;
    }
    int64_t deadline = bench_now_ns() + (int64_t)CONTROL_TIMEOUT_MS * 1000000;
    bool collecting = on_row != NULL;
    for (;;) {
        char *text;
        size_t len;
        while (tc_next_line(&c->tc, &text, &len)) {
            shop1_reply_line_t r;
            shop1_line_kind_t kind = shop1_parse_reply_line(text, len, &r);
            if (kind == SHOP1_LINE_INVALID) {
                snprintf(err, errlen, "malformed reply line '%.60s' to '%.40s'", text, line);
                return false;
            }
            if (kind == SHOP1_LINE_DATA) {
                if (collecting)
                    collecting = on_row(arg, &r);
                continue;
            }
            final->kind = kind;
            final->code = kind == SHOP1_LINE_ERR ? r.code : SHOP1_OK;
            if (kind == SHOP1_LINE_ERR)
                snprintf(final->text, sizeof final->text, "%s %s", r.code_name, r.text);
            else
                snprintf(final->text, sizeof final->text, "%s", r.text);
            return true;
        }
        if (!wait_and_run(c, deadline, err, errlen))
            return false;
    }
}

void control_close(control_t *c)
{
    if (c->tc.state == TC_READY && !c->tc.no_greeting && tc_queue(&c->tc, "QUIT\n", 5))
        (void)tc_flush(&c->tc);
    tc_destroy(&c->tc);
}
