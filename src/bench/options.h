/* options: netshop-bench's command line — the modes, their defaults and their limits. */
#ifndef NETSHOP_BENCH_OPTIONS_H
#define NETSHOP_BENCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/shop1.h"

#define BENCH_USERS_MAX 64           /* accounts in --users */
#define BENCH_CONNECTIONS_MAX 100000
#define BENCH_THREADS_MAX 64
#define BENCH_OUTSTANDING_MAX 1024   /* requests in flight per connection */
#define BENCH_CATEGORY_MAX 128       /* bytes of a --category value */
#define BENCH_KEY_MAX 150            /* bytes of a --key value (memcached allows 250) */

typedef enum {
    MODE_TLS_BUY,
    MODE_UDP_BUY,
    MODE_UDP_BROWSE,
    MODE_TLS_BROWSE,
    MODE_LOGIN,
    MODE_HANDSHAKE,
    MODE_HOLD,
    MODE_UDP_ECHO,        /* bench/udp's peers (udp_peer.h) */
    MODE_MEMCACHED_GET,
    MODE_COUNT
} bench_mode_t;

/* handshake mode: when one handshake counts as done. */
typedef enum {
    UNTIL_GREETING = 0,  /* the SHOP/1 greeting arrived */
    UNTIL_TICKET,        /* the server's first session ticket arrived (any TLS 1.3 server) */
} bench_until_t;

/* What the server speaks inside TLS. */
typedef enum {
    PROTO_SHOP1 = 0,     /* netshopd */
    PROTO_HTTP,          /* a web server, for comparison: no greeting, no control connection */
} bench_protocol_t;

/* The option word of a mode ("tls-buy"). */
const char *bench_mode_name(bench_mode_t mode);
/* True for the modes that buy (and so check the stock invariant at the end). */
bool bench_mode_buys(bench_mode_t mode);

typedef struct {
    char name[SHOP1_USER_MAX + 1];
    char password[SHOP1_PASSWORD_MAX + 1];
} bench_user_t;

typedef struct {
    bench_mode_t mode;
    const char *host;         /* connected to, and the name the certificate must match */
    const char *port;         /* decimal */
    const char *ca_file;
    int connections;
    int threads;
    double duration_s;        /* measured */
    double warmup_s;          /* before the measurement; not measured */
    int outstanding;          /* requests in flight per connection */
    int item;                 /* the hot item (purchase modes; ITEM with --udp-page-small) */
    bool item_given;
    bool spread;              /* round-robin over every item of the catalog */
    char category[BENCH_CATEGORY_MAX + 1]; /* browse modes: one category; "" = round-robin */
    bool udp_page_small;      /* udp-browse: ITEM instead of BROWSE */
    bench_user_t users[BENCH_USERS_MAX];
    int nusers;
    int udp_timeout_ms;       /* first retransmission timeout; doubles per retry */
    int udp_retries;          /* retransmissions before giving up (udp-buy: then TLS) */
    int order_lines;          /* BUYs per session before LOGOUT/LOGIN starts a new order */
    int qty;                  /* units per BUY */
    bench_until_t handshake_until;
    bench_protocol_t protocol;
    char memcached_key[BENCH_KEY_MAX + 1]; /* memcached-get: the key every request gets */
    bool json;
    uint64_t seed;
    long max_errors;          /* -1: no limit */
} bench_options_t;

typedef enum {
    OPTIONS_OK = 0,
    OPTIONS_HELP,   /* --help was given: usage printed on stdout, exit 0 */
    OPTIONS_USAGE,  /* a usage error: message printed on stderr, exit 2 */
} options_result_t;

/* Parses argv into *o (defaults first). Prints usage or the error itself. */
options_result_t options_parse(bench_options_t *o, int argc, char **argv);
void options_usage(FILE *out);

#endif
