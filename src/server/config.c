/* config: defaults and command-line parsing of netshopd's serving options. */
#include "server/config.h"

#include "core/order.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void config_defaults(config_t *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (config_t){
        .data_dir = NULL,
        .listen_addr = "127.0.0.1",
        .port = 5555,
        .threads = cores > 0 && cores <= 256 ? (int)cores : 2,
        .auth_threads = 2,
        .reader_threads = 2,
        .reader_queue_max = 1024,
        .max_connections = 10000,
        .max_per_address = 256,
        .output_budget = (size_t)256 * 1024 * 1024,
        .idle_timeout = 300,
        .handshake_timeout = 10,
        .output_limit = 256 * 1024,
        .login_failures = 5,
        .udp_rate = 200,
        .udp_session_rate = 2000,
        .login_window = 60,
        .commit_queue_max = 65536,
        .order_lines_max = ORDER_LINES_DEFAULT,
        .request_retention = 86400,
        .commit_batch_max = 4096,
        .auth_queue_max = 1024,
        .read_high_water = 64 * 1024,
        .requests_per_wakeup = 64,
        .allow_root = false,
        .allow_ca_key = false,
    };
}

const char *config_usage(void)
{
    return "usage: netshopd --data DIR [options]\n"
           "       netshopd init --data DIR [--ca-dir DIR] [--demo] [--catalog FILE] [--san NAME]... [--force]\n"
           "       netshopd user add NAME --data DIR [--hash-cost interactive|minimal]\n"
           "       netshopd check --data DIR   (consistency check; exit 0 ok, 1 problems, 2 error)\n"
           "       (each also takes --allow-root, without which it refuses to run as root)\n"
           "options:\n"
           "  --listen ADDR            address to listen on (default 127.0.0.1)\n"
           "  --port N                 TLS/TCP and UDP port (default 5555; 0 = any free port)\n"
           "  --threads N              network worker threads (default: number of cores)\n"
           "  --auth-threads N         password hashing threads (default 2)\n"
           "  --reader-threads N       threads reading receipts and order lists (default 2)\n"
           "  --reader-queue N         reads waiting for a reader thread before BUSY (default 1024)\n"
           "  --max-connections N      concurrent TLS connections (default 10000)\n"
           "  --max-per-address N      connections from one IPv4 address or IPv6 /64 (default 256)\n"
           "  --output-budget BYTES    pending reply bytes over all connections before each takes\n"
           "                           only small replies (default 268435456)\n"
           "  --idle-timeout SECS      close connections idle this long (default 300)\n"
           "  --handshake-timeout SECS close connections whose TLS handshake takes longer (default 10)\n"
           "  --output-limit BYTES     pending reply bytes before a connection stops being read (default 262144)\n"
           "  --login-failures N       failed logins per account or address per minute (default 5)\n"
           "  --udp-rate N             datagrams per second per address without a token (default 200)\n"
           "  --udp-session-rate N     sealed datagrams per second per logged-in session (default 2000)\n"
           "  --commit-queue N         purchases waiting for the committer before BUSY (default 65536)\n"
           "  --order-lines N          lines in one order (one session's purchases) (default 1000)\n"
           "  --request-retention SECS keep a refused BUY's outcome for its request id this long\n"
           "                           (default 86400; purchases are kept for good)\n"
           "  --allow-root             serve even as root (refused otherwise; netshopd needs no privileges)\n"
           "  --allow-ca-key           serve even with the CA's private key ca.key in the data directory\n";
}

/* Parses a decimal integer option in [min, max]; prints the error quoting the value. */
static int parse_long(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "netshopd: --%s wants an integer from %ld to %ld, not '%s'\n", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int config_parse_serve(config_t *cfg, int argc, char **argv)
{
    enum { O_DATA = 1, O_LISTEN, O_PORT, O_THREADS, O_AUTH, O_MAXCONN, O_IDLE, O_HANDSHAKE,
           O_OUTPUT, O_LOGINFAIL, O_UDPRATE, O_COMMITQ, O_ORDERLINES, O_PERADDR, O_BUDGET,
           O_SESSIONRATE, O_RETENTION, O_READERS, O_READERQ, O_ALLOWROOT, O_ALLOWCAKEY };
    static const struct option opts[] = {
        {"data", required_argument, NULL, O_DATA},
        {"listen", required_argument, NULL, O_LISTEN},
        {"port", required_argument, NULL, O_PORT},
        {"threads", required_argument, NULL, O_THREADS},
        {"auth-threads", required_argument, NULL, O_AUTH},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"handshake-timeout", required_argument, NULL, O_HANDSHAKE},
        {"output-limit", required_argument, NULL, O_OUTPUT},
        {"login-failures", required_argument, NULL, O_LOGINFAIL},
        {"udp-rate", required_argument, NULL, O_UDPRATE},
        {"commit-queue", required_argument, NULL, O_COMMITQ},
        {"order-lines", required_argument, NULL, O_ORDERLINES},
        {"max-per-address", required_argument, NULL, O_PERADDR},
        {"output-budget", required_argument, NULL, O_BUDGET},
        {"udp-session-rate", required_argument, NULL, O_SESSIONRATE},
        {"request-retention", required_argument, NULL, O_RETENTION},
        {"reader-threads", required_argument, NULL, O_READERS},
        {"reader-queue", required_argument, NULL, O_READERQ},
        {"allow-root", no_argument, NULL, O_ALLOWROOT},
        {"allow-ca-key", no_argument, NULL, O_ALLOWCAKEY},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *name = c > 0 && c <= O_READERQ ? opts[c - 1].name : "";
        switch (c) {
        case O_DATA: cfg->data_dir = optarg; continue;
        case O_ALLOWROOT: cfg->allow_root = true; continue;
        case O_ALLOWCAKEY: cfg->allow_ca_key = true; continue;
        case O_LISTEN: cfg->listen_addr = optarg; continue;
        case O_PORT:
            if (parse_long(name, optarg, 0, 65535, &v)) return -1;
            cfg->port = (int)v;
            continue;
        case O_THREADS:
            if (parse_long(name, optarg, 1, 256, &v)) return -1;
            cfg->threads = (int)v;
            continue;
        case O_AUTH:
            if (parse_long(name, optarg, 1, 64, &v)) return -1;
            cfg->auth_threads = (int)v;
            continue;
        case O_MAXCONN:
            if (parse_long(name, optarg, 1, 1000000, &v)) return -1;
            cfg->max_connections = (int)v;
            continue;
        case O_IDLE:
            if (parse_long(name, optarg, 1, 86400, &v)) return -1;
            cfg->idle_timeout = (int)v;
            continue;
        case O_HANDSHAKE:
            if (parse_long(name, optarg, 1, 3600, &v)) return -1;
            cfg->handshake_timeout = (int)v;
            continue;
        case O_OUTPUT:
            if (parse_long(name, optarg, 4096, 1L << 30, &v)) return -1;
            cfg->output_limit = (size_t)v;
            continue;
        case O_LOGINFAIL:
            if (parse_long(name, optarg, 1, 1000000, &v)) return -1;
            cfg->login_failures = (unsigned)v;
            continue;
        case O_COMMITQ:
            if (parse_long(name, optarg, 1, 10000000, &v)) return -1;
            cfg->commit_queue_max = (size_t)v;
            continue;
        case O_ORDERLINES:
            if (parse_long(name, optarg, 1, ORDER_LINES_LIMIT, &v)) return -1;
            cfg->order_lines_max = (size_t)v;
            continue;
        case O_UDPRATE:
            if (parse_long(name, optarg, 1, 10000000, &v)) return -1;
            cfg->udp_rate = (int)v;
            continue;
        case O_PERADDR:
            if (parse_long(name, optarg, 1, 1000000, &v)) return -1;
            cfg->max_per_address = (int)v;
            continue;
        case O_BUDGET:
            if (parse_long(name, optarg, 65536, 1L << 40, &v)) return -1;
            cfg->output_budget = (size_t)v;
            continue;
        case O_RETENTION:
            if (parse_long(name, optarg, 1, 10L * 366 * 86400, &v)) return -1;
            cfg->request_retention = v;
            continue;
        case O_SESSIONRATE:
            if (parse_long(name, optarg, 1, 10000000, &v)) return -1;
            cfg->udp_session_rate = (int)v;
            continue;
        case O_READERS:
            if (parse_long(name, optarg, 1, 64, &v)) return -1;
            cfg->reader_threads = (int)v;
            continue;
        case O_READERQ:
            if (parse_long(name, optarg, 1, 10000000, &v)) return -1;
            cfg->reader_queue_max = (size_t)v;
            continue;
        default:
            fputs(config_usage(), stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "netshopd: unexpected argument '%s'\n%s", argv[optind], config_usage());
        return -1;
    }
    if (!cfg->data_dir) {
        fprintf(stderr, "netshopd: --data DIR is required\n%s", config_usage());
        return -1;
    }
    return 0;
}
