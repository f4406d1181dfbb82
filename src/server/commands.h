/* commands: what each SHOP/1 request does — catalog reads answered from memory, receipts and
 * orders read by the reader pool, LOGIN sent to the auth pool and BUY to the committer —
 * and the login session that requests act in. Transport-independent: a request arrives with a
 * request_ctx_t saying where its reply goes (a TLS connection, or a UDP datagram) and how to
 * hold and release it while an outcome is pending. */
#ifndef NETSHOP_COMMANDS_H
#define NETSHOP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"
#include "core/netaddr.h"
#include "core/token_bucket.h"
#include "core/order.h"
#include "proto/shop1.h"
#include "proto/udp_seal.h"

struct worker;
struct commit_job;

/* A login session: who is logged in on a TLS connection, their order so far, and the UDP keys
 * and counters of datagrams that act in the same session. Owned by the worker of the connection. */
typedef struct session {
    bool logged_in;
    bool ended;                     /* the connection is gone: late outcomes clean up only */
    int64_t user_id;
    char user[SHOP1_USER_MAX + 1];
    uint64_t id;                    /* shown at LOGIN; names the session in UDP datagrams */
    int64_t order_id;               /* 0 until the first purchase */
    size_t order_lines;
    money_t order_total;
    /* Purchases are decided one at a time per session (so the order is opened once and its
     * totals are right): at most one BUY at the committer, later ones wait here in order. */
    struct commit_job *buy_in_flight; /* at the committer (its request_id is only read there) */
    struct commit_job *buy_queue_head, *buy_queue_tail;
    size_t buy_queued;              /* jobs in that queue, at most SESSION_BUY_QUEUE_MAX */
    /* UDP */
    bool udp_ready;                 /* keys derived */
    udp_dir_keys_t c2s, s2c;
    udp_replay_t replay;
    uint64_t udp_next_pn;           /* next packet number the server sends */
    netaddr_prefix_t udp_home;      /* the TLS connection's source prefix: validated for replies */
    token_bucket_t udp_rate;        /* sealed datagrams, --udp-session-rate */
} session_t;

/* Purchases one session may have waiting (datagrams can arrive faster than they commit). */
#define SESSION_BUY_QUEUE_MAX 64

typedef struct request_ctx request_ctx_t;

/* How a transport holds a request whose reply comes later. Called on the worker's thread. */
typedef struct {
    void (*suspend)(request_ctx_t *r);           /* the reply is pending: keep r alive */
    void (*resume)(request_ctx_t *r);            /* the reply is in *r->out: send it, release r */
    void (*close_after_reply)(request_ctx_t *r); /* QUIT: close once the reply is out */
    void (*logged_in)(request_ctx_t *r);         /* LOGIN succeeded (TLS: derive UDP keys) */
} request_ops_t;

struct request_ctx {
    const request_ops_t *ops;
    struct worker *w;
    session_t *session;     /* the session it acts in; an anonymous datagram has a logged-out one */
    const char *peer;       /* source address, the failed-login rate-limit key */
    shop1_buf_t *out;       /* the reply goes here */
    bool udp;               /* arrived as a datagram: SHOP1_VERB_TLS_ONLY verbs refused */
    const char *udp_request_id; /* BUY's request id when the command has none (UDP), or NULL */
    bool no_reply;          /* set by commands_execute: a datagram BUY the server could not queue
                               is dropped without a reply (see cmd_buy) */
};

/* Runs one parsed request: writes the reply into *r->out now, or calls r->ops->suspend and
 * later writes the reply and calls r->ops->resume. */
void commands_execute(request_ctx_t *r, const shop1_request_t *req);

/* The first verb without a handler or whose command-table row is not its own, or
 * SHOP1_VERB_COUNT when every verb has both: checked once at start-up. */
shop1_verb_t commands_check_table(void);

/* Ends a login session, if any: its order is closed through the committer, purchases still
 * waiting to be submitted are answered with an error (nothing bought). Idempotent. */
void commands_end_session(struct worker *w, session_t *s);

/* The request id a BUY over UDP gets when it has none: "udp." + 16 hex digits of the datagram's
 * request id, so retransmissions (and the client's fallback to TLS) buy only once. */
void commands_udp_request_id(uint64_t datagram_request_id, char out[static ORDER_REQUEST_ID_MAX + 1]);

#endif
