/* commands: what each SHOP/1 request does — catalog reads answered from memory, receipts and
 * orders read from the worker's store, LOGIN sent to the auth pool and BUY to the committer —
 * and the login session that requests act in. Replies are written into the connection's
 * reply buffer (conn_out); I/O is conn.c's. */
#ifndef NETSHOP_COMMANDS_H
#define NETSHOP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"
#include "proto/shop1.h"

struct conn;

/* A login session: who is logged in on a connection and their order so far. */
typedef struct session {
    bool logged_in;
    bool ended;                     /* the connection is gone: late outcomes clean up only */
    int64_t user_id;
    char user[SHOP1_USER_MAX + 1];
    uint64_t id;                    /* random, shown at LOGIN */
    int64_t order_id;               /* 0 until the first purchase */
    size_t order_lines;
    money_t order_total;
} session_t;

/* Runs one parsed request on connection c: writes the reply into conn_out(c), or suspends c
 * (conn_suspend) and writes the reply when the outcome comes back (conn_resume). */
void commands_execute(struct conn *c, const shop1_request_t *req);

/* Ends c's login session, if any: its order is closed through the committer. Idempotent. */
void commands_end_session(struct conn *c);

#endif
