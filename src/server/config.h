/* config: netshopd's serving options — every limit named, with its default and its option.
 * config_parse_serve fills a config from the command line; nothing else reads argv. */
#ifndef NETSHOP_CONFIG_H
#define NETSHOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *data_dir;          /* --data (required) */
    const char *listen_addr;       /* --listen, default 127.0.0.1 */
    int port;                      /* --port, default 5555; 0 picks a free port */
    int threads;                   /* --threads, default: number of cores */
    int auth_threads;              /* --auth-threads, default 2 */
    int reader_threads;            /* --reader-threads: store reads (RECEIPT, ORDERS), default 2 */
    size_t reader_queue_max;       /* --reader-queue: reads waiting for a reader before BUSY, 1024 */
    int max_connections;           /* --max-connections, default 10000 */
    int max_per_address;           /* --max-per-address: connections per IPv4 /32 or IPv6 /64, 256 */
    size_t output_budget;          /* --output-budget: reply bytes pending over all connections
                                      before they take only small replies, default 256 MiB */
    int idle_timeout;              /* --idle-timeout seconds, default 300 */
    int handshake_timeout;         /* --handshake-timeout seconds, default 10 */
    size_t output_limit;           /* --output-limit bytes, default 256 KiB */
    unsigned login_failures;       /* --login-failures per window, default 5 */
    int udp_rate;                  /* --udp-rate: datagrams/s per source address without a token, 200 */
    int udp_session_rate;          /* --udp-session-rate: sealed datagrams/s per session, 2000 */
    int login_window;              /* seconds of that window, 60 */
    size_t commit_queue_max;       /* purchases waiting for the committer before BUSY, 65536 */
    size_t order_lines_max;        /* --order-lines: lines in one order, ORDER_LINES_DEFAULT */
    int64_t request_retention;     /* --request-retention: seconds a refused BUY's outcome is
                                      kept for its request id, 86400 */
    size_t commit_batch_max;       /* purchases per store transaction, 4096 */
    size_t auth_queue_max;         /* logins waiting for a hashing thread before BUSY, 1024 */
    size_t read_high_water;        /* input buffered per connection before reading pauses, 64 KiB
                                      (plus at most one TLS record read past it) */
    int requests_per_wakeup;       /* requests handled per connection per loop turn, 64 */
    bool allow_root;               /* --allow-root: serve even with effective uid 0 */
    bool allow_ca_key;             /* --allow-ca-key: serve even with ca.key in the data directory */
} config_t;

/* Defaults for every field (data_dir NULL). */
void config_defaults(config_t *cfg);

/* Parses `netshopd [serve options]` (argv[0] is the program). Returns 0, or -1 after printing
 * the problem (quoting the bad value) to stderr. The strings point into argv. */
int config_parse_serve(config_t *cfg, int argc, char **argv);

/* The usage text of the serve options, for --help. */
const char *config_usage(void);

#endif
