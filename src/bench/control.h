/* control: the bench's own blocking SHOP/1 connection, for set-up and the final check (reading
 * the catalog and stock, logging in to read receipts) — outside the load, one request at a time,
 * every wait bounded by a timeout. */
#ifndef NETSHOP_BENCH_CONTROL_H
#define NETSHOP_BENCH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "bench/tls_conn.h"
#include "proto/shop1.h"

#define CONTROL_TIMEOUT_MS 15000
#define CONTROL_TEXT_MAX 256

typedef struct {
    tls_conn_t tc;
} control_t;

/* The final line of a reply, copied out. */
typedef struct {
    shop1_line_kind_t kind;     /* SHOP1_LINE_OK or SHOP1_LINE_ERR */
    shop1_error_t code;
    char text[CONTROL_TEXT_MAX];
} control_final_t;

/* Called for each data line of a reply; fields are valid during the call only. Return false to
 * stop collecting (the reply is still read to its end). */
typedef bool (*control_row_fn)(void *arg, const shop1_reply_line_t *row);

/* Connects, verifies and reads the greeting. Returns false with err filled. */
bool control_open(control_t *c, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                  const char *host, char *err, size_t errlen);

/* The same for a server that is not netshopd (--protocol http): connects and verifies the
 * certificate, expects no greeting. Only control_close may follow. */
bool control_open_no_greeting(control_t *c, const struct sockaddr *addr, socklen_t addrlen, tls_io_ctx_t *ctx,
                              const char *host, char *err, size_t errlen);

/* Sends one request line (without LF) and reads its reply: rows to on_row (may be NULL), the
 * final line into *final. Returns false (err filled) when the connection failed; an ERR reply is
 * a normal reply. */
bool control_request(control_t *c, const char *line, control_row_fn on_row, void *arg, control_final_t *final,
                     char *err, size_t errlen);

/* Says QUIT to netshopd (without waiting for the answer) and closes. */
void control_close(control_t *c);

#endif
