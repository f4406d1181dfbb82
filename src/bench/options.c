/* options: parses netshop-bench's command line into bench_options_t, with every value checked
 * against its documented range and every bad value quoted in the error. */
#include "bench/options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"

static const char *const MODE_NAMES[MODE_COUNT] = {
    [MODE_TLS_BUY] = "tls-buy",       [MODE_UDP_BUY] = "udp-buy", [MODE_UDP_BROWSE] = "udp-browse",
    [MODE_TLS_BROWSE] = "tls-browse", [MODE_LOGIN] = "login",     [MODE_HANDSHAKE] = "handshake",
    [MODE_HOLD] = "hold",             [MODE_UDP_ECHO] = "udp-echo", [MODE_MEMCACHED_GET] = "memcached-get",
};

const char *bench_mode_name(bench_mode_t mode)
{
    return mode < MODE_COUNT ? MODE_NAMES[mode] : "?";
}

bool bench_mode_buys(bench_mode_t mode)
{
    return mode == MODE_TLS_BUY || mode == MODE_UDP_BUY;
}

void options_usage(FILE *out)
{
    fputs("usage: netshop-bench --mode MODE [options]\n"
          "\n"
          "Modes:\n"
          "  tls-buy      log in, then BUY <item> 1 <request id> over TLS, in a loop\n"
          "  udp-buy      log in over TLS, then sealed BUY datagrams (retransmitted; TLS fallback)\n"
          "  udp-browse   anonymous BROWSE datagrams with an address token (--udp-page-small: ITEM)\n"
          "  tls-browse   BROWSE over TLS\n"
          "  login        LOGIN/LOGOUT on open connections (password hashing throughput)\n"
          "  handshake    full TLS handshakes: connect, greeting (or ticket), close (no resumption)\n"
          "  hold         open every connection, log in, then hold them idle for --duration\n"
          "  udp-echo     64-byte datagrams to bench/udp's bare echo server (no SHOP/1, no TLS)\n"
          "  memcached-get  memcached UDP \"get <--key>\" requests (no SHOP/1, no TLS)\n"
          "\n"
          "Options:\n"
          "  --host H              server name or address, checked against its certificate\n"
          "                        (default localhost)\n"
          "  --port N              server port (default 5555)\n"
          "  --ca FILE             the shop's CA certificate (default $NETSHOP_CA; never a file\n"
          "                        of the current directory)\n"
          "  --connections N       concurrent connections (default 16)\n"
          "  --threads N           load threads, each with its own epoll loop (default 1)\n"
          "  --duration SECS       measured time (default 10)\n"
          "  --warmup SECS         time before the measurement starts (default 2)\n"
          "  --outstanding K       requests in flight per connection (default 1)\n"
          "  --item SNO            the item bought (default 101), or asked for by --udp-page-small\n"
          "  --spread              buy round-robin over every item of the catalog\n"
          "  --category C          browse modes: only this category (default: round-robin over all)\n"
          "  --udp-page-small      udp-browse: ITEM requests (one small reply) instead of BROWSE\n"
          "  --user NAME           account (default root)\n"
          "  --password PW         its password (default root)\n"
          "  --users U:P,U:P,...   several accounts, used round-robin by the connections\n"
          "  --udp-timeout-ms MS   first UDP retransmission timeout, doubled per retry (default 200)\n"
          "  --udp-retries N       retransmissions before giving up or falling back to TLS (default 3)\n"
          "  --order-lines N       BUYs per session before LOGOUT/LOGIN opens a new order\n"
          "                        (default 1000, the server's lines per order)\n"
          "  --qty N               units per BUY (default 1)\n"
          "  --seed N              where each connection starts in the item or category rotation\n"
          "                        (default 1)\n"
          "  --max-errors N        errors tolerated before the exit status is 1\n"
          "                        (default 0 in purchase modes, no limit otherwise)\n"
          "  --handshake-until E   handshake: a handshake is done at the SHOP/1 greeting\n"
          "                        (E = greeting, default) or at the server's first session ticket\n"
          "                        (E = ticket: the same end point for any TLS 1.3 server)\n"
          "  --protocol P          what the server speaks inside TLS: shop1 (default), or http for a\n"
          "                        web server (handshake --handshake-until ticket; hold, whose\n"
          "                        connections then send one GET / instead of LOGIN)\n"
          "  --key K               memcached-get: the key asked for (default netshop-bench)\n"
          "  --json                one JSON object on stdout (the summary goes to stderr)\n"
          "  -h, --help            this text\n"
          "\n"
          "Exit status: 0 ok, 1 errors above --max-errors or a stock invariant mismatch (or the run\n"
          "could not start), 2 usage error.\n",
          out);
}

static void defaults(bench_options_t *o)
{
    const char *ca = getenv("NETSHOP_CA");
    *o = (bench_options_t){
        .mode = MODE_COUNT,
        .host = "localhost",
        .port = "5555",
        .ca_file = ca != NULL && *ca != '\0' ? ca : NULL,
        .connections = 16,
        .threads = 1,
        .duration_s = 10.0,
        .warmup_s = 2.0,
        .outstanding = 1,
        .item = 101,
        .udp_timeout_ms = 200,
        .udp_retries = 3,
        .order_lines = ORDER_LINES_DEFAULT,
        .qty = 1,
        .seed = 1,
        .max_errors = -2, /* "not given": resolved per mode after parsing */
    };
}

static bool parse_long(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "netshop-bench: --%s wants an integer from %ld to %ld, not '%s'\n", opt, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_seconds(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "netshop-bench: --%s wants seconds from %g to %g, not '%s'\n", opt, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

/* True when s is a SHOP/1 user name: 1..32 of [A-Za-z0-9._-], not starting with '-'. */
static bool user_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SHOP1_USER_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* A password is one word: no spaces, tabs or control characters, 1..256 bytes. */
static bool password_valid(const char *s, size_t len)
{
    if (len == 0 || len > SHOP1_PASSWORD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool set_user(bench_user_t *u, const char *name, size_t name_len, const char *pw, size_t pw_len)
{
    if (!user_name_valid(name, name_len)) {
        fprintf(stderr, "netshop-bench: '%.*s' is not a user name (1 to %d of A-Z a-z 0-9 . _ -)\n",
                (int)name_len, name, SHOP1_USER_MAX);
        return false;
    }
    if (!password_valid(pw, pw_len)) {
        fprintf(stderr, "netshop-bench: the password of user '%.*s' must be one word of 1 to %d bytes\n",
                (int)name_len, name, SHOP1_PASSWORD_MAX);
        return false;
    }
    memcpy(u->name, name, name_len);
    u->name[name_len] = '\0';
    memcpy(u->password, pw, pw_len);
    u->password[pw_len] = '\0';
    return true;
}

/* Parses "u:p,u:p" into o->users. */
static bool parse_users(bench_options_t *o, const char *list)
{
    o->nusers = 0;
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon == NULL) {
            fprintf(stderr, "netshop-bench: --users wants USER:PASSWORD pairs, not '%.*s'\n", (int)len, p);
            return false;
        }
        if (o->nusers == BENCH_USERS_MAX) {
            fprintf(stderr, "netshop-bench: --users takes at most %d accounts\n", BENCH_USERS_MAX);
            return false;
        }
        if (!set_user(&o->users[o->nusers], p, (size_t)(colon - p), colon + 1, len - (size_t)(colon - p) - 1))
            return false;
        o->nusers++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (o->nusers == 0) {
        fputs("netshop-bench: --users is empty\n", stderr);
        return false;
    }
    return true;
}

/* A memcached key: 1..BENCH_KEY_MAX bytes, no spaces or control characters. */
static bool memcached_key_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > BENCH_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool parse_mode(const char *s, bench_mode_t *out)
{
    for (int m = 0; m < MODE_COUNT; m++) {
        if (strcmp(s, MODE_NAMES[m]) == 0) {
            *out = (bench_mode_t)m;
            return true;
        }
    }
    fprintf(stderr, "netshop-bench: unknown mode '%s' (tls-buy, udp-buy, udp-browse, tls-browse, login, "
                    "handshake, hold, udp-echo, memcached-get)\n", s);
    return false;
}

/* Checks the combinations of options once all are read. */
static bool check_combination(bench_options_t *o, const char *user, const char *password, const char *users)
{
    if (o->mode == MODE_COUNT) {
        fputs("netshop-bench: --mode is required\n", stderr);
        return false;
    }
    if (users != NULL && (user != NULL || password != NULL)) {
        fputs("netshop-bench: give either --users or --user/--password, not both\n", stderr);
        return false;
    }
    if (users != NULL) {
        if (!parse_users(o, users))
            return false;
    } else {
        const char *u = user ? user : "root", *pw = password ? password : "root";
        if (!set_user(&o->users[0], u, strlen(u), pw, strlen(pw)))
            return false;
        o->nusers = 1;
    }
    if (o->spread && o->item_given) {
        fputs("netshop-bench: --spread and --item exclude each other\n", stderr);
        return false;
    }
    if (o->spread && !bench_mode_buys(o->mode)) {
        fputs("netshop-bench: --spread is for tls-buy and udp-buy\n", stderr);
        return false;
    }
    if (o->udp_page_small && o->mode != MODE_UDP_BROWSE) {
        fputs("netshop-bench: --udp-page-small is for udp-browse\n", stderr);
        return false;
    }
    if (o->category[0] != '\0' && o->mode != MODE_TLS_BROWSE && !(o->mode == MODE_UDP_BROWSE && !o->udp_page_small)) {
        fputs(o->udp_page_small ? "netshop-bench: --category does not go with --udp-page-small (ITEM requests)\n"
                                : "netshop-bench: --category is for tls-browse and udp-browse\n",
              stderr);
        return false;
    }
    if (o->item_given && !bench_mode_buys(o->mode) && !o->udp_page_small) {
        fputs("netshop-bench: --item is for tls-buy, udp-buy and udp-browse --udp-page-small\n", stderr);
        return false;
    }
    if (o->handshake_until != UNTIL_GREETING && o->mode != MODE_HANDSHAKE) {
        fputs("netshop-bench: --handshake-until is for handshake\n", stderr);
        return false;
    }
    if (o->protocol == PROTO_HTTP &&
        !(o->mode == MODE_HOLD || (o->mode == MODE_HANDSHAKE && o->handshake_until == UNTIL_TICKET))) {
        fputs("netshop-bench: --protocol http is for hold and handshake --handshake-until ticket\n", stderr);
        return false;
    }
    if (o->memcached_key[0] != '\0' && o->mode != MODE_MEMCACHED_GET) {
        fputs("netshop-bench: --key is for memcached-get\n", stderr);
        return false;
    }
    if (o->mode == MODE_MEMCACHED_GET && o->memcached_key[0] == '\0')
        snprintf(o->memcached_key, sizeof o->memcached_key, "%s", "netshop-bench");
    if (o->threads > o->connections) {
        fprintf(stderr, "netshop-bench: --threads %d is more than --connections %d\n", o->threads, o->connections);
        return false;
    }
    if (o->max_errors == -2)
        o->max_errors = bench_mode_buys(o->mode) ? 0 : -1;
    return true;
}

options_result_t options_parse(bench_options_t *o, int argc, char **argv)
{
    enum { O_MODE = 1, O_HOST, O_PORT, O_CA, O_CONNS, O_THREADS, O_DURATION, O_WARMUP, O_OUTSTANDING,
           O_ITEM, O_SPREAD, O_CATEGORY, O_PAGE_SMALL, O_USER, O_PASSWORD, O_USERS, O_UDP_TIMEOUT,
           O_UDP_RETRIES, O_ORDER_LINES, O_QTY, O_SEED, O_MAX_ERRORS, O_UNTIL, O_PROTOCOL, O_KEY, O_JSON,
           O_HELP };
    static const struct option opts[] = {
        {"mode", required_argument, NULL, O_MODE},
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"ca", required_argument, NULL, O_CA},
        {"connections", required_argument, NULL, O_CONNS},
        {"threads", required_argument, NULL, O_THREADS},
        {"duration", required_argument, NULL, O_DURATION},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"outstanding", required_argument, NULL, O_OUTSTANDING},
        {"item", required_argument, NULL, O_ITEM},
        {"spread", no_argument, NULL, O_SPREAD},
        {"category", required_argument, NULL, O_CATEGORY},
        {"udp-page-small", no_argument, NULL, O_PAGE_SMALL},
        {"user", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASSWORD},
        {"users", required_argument, NULL, O_USERS},
        {"udp-timeout-ms", required_argument, NULL, O_UDP_TIMEOUT},
        {"udp-retries", required_argument, NULL, O_UDP_RETRIES},
        {"order-lines", required_argument, NULL, O_ORDER_LINES},
        {"qty", required_argument, NULL, O_QTY},
        {"seed", required_argument, NULL, O_SEED},
        {"max-errors", required_argument, NULL, O_MAX_ERRORS},
        {"handshake-until", required_argument, NULL, O_UNTIL},
        {"protocol", required_argument, NULL, O_PROTOCOL},
        {"key", required_argument, NULL, O_KEY},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    defaults(o);
    const char *user = NULL, *password = NULL, *users = NULL;
    optind = 1;
    opterr = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *name = c >= O_MODE && c <= O_HELP ? opts[c - 1].name : "";
        switch (c) {
        case O_MODE:
            if (!parse_mode(optarg, &o->mode))
                return OPTIONS_USAGE;
            break;
        case O_HOST:
            if (*optarg == '\0') {
                fputs("netshop-bench: --host is empty\n", stderr);
                return OPTIONS_USAGE;
            }
            o->host = optarg;
            break;
        case O_PORT:
            if (!parse_long(name, optarg, 1, 65535, &v))
                return OPTIONS_USAGE;
            o->port = optarg;
            break;
        case O_CA: o->ca_file = optarg; break;
        case O_CONNS:
            if (!parse_long(name, optarg, 1, BENCH_CONNECTIONS_MAX, &v))
                return OPTIONS_USAGE;
            o->connections = (int)v;
            break;
        case O_THREADS:
            if (!parse_long(name, optarg, 1, BENCH_THREADS_MAX, &v))
                return OPTIONS_USAGE;
            o->threads = (int)v;
            break;
        case O_DURATION:
            if (!parse_seconds(name, optarg, 0.1, 86400, &o->duration_s))
                return OPTIONS_USAGE;
            break;
        case O_WARMUP:
            if (!parse_seconds(name, optarg, 0, 3600, &o->warmup_s))
                return OPTIONS_USAGE;
            break;
        case O_OUTSTANDING:
            if (!parse_long(name, optarg, 1, BENCH_OUTSTANDING_MAX, &v))
                return OPTIONS_USAGE;
            o->outstanding = (int)v;
            break;
        case O_ITEM:
            if (!parse_long(name, optarg, 1, 999999, &v))
                return OPTIONS_USAGE;
            o->item = (int)v;
            o->item_given = true;
            break;
        case O_SPREAD: o->spread = true; break;
        case O_CATEGORY:
            if (*optarg == '\0' || strlen(optarg) > BENCH_CATEGORY_MAX || strpbrk(optarg, "\r\n\t") != NULL) {
                fprintf(stderr, "netshop-bench: --category wants a category number or name, not '%s'\n", optarg);
                return OPTIONS_USAGE;
            }
            snprintf(o->category, sizeof o->category, "%s", optarg);
            break;
        case O_PAGE_SMALL: o->udp_page_small = true; break;
        case O_USER: user = optarg; break;
        case O_PASSWORD: password = optarg; break;
        case O_USERS: users = optarg; break;
        case O_UDP_TIMEOUT:
            if (!parse_long(name, optarg, 1, 60000, &v))
                return OPTIONS_USAGE;
            o->udp_timeout_ms = (int)v;
            break;
        case O_UDP_RETRIES:
            if (!parse_long(name, optarg, 0, 20, &v))
                return OPTIONS_USAGE;
            o->udp_retries = (int)v;
            break;
        case O_ORDER_LINES:
            if (!parse_long(name, optarg, 1, ORDER_LINES_LIMIT, &v))
                return OPTIONS_USAGE;
            o->order_lines = (int)v;
            break;
        case O_QTY:
            if (!parse_long(name, optarg, 1, ORDER_QTY_MAX, &v))
                return OPTIONS_USAGE;
            o->qty = (int)v;
            break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-') {
                fprintf(stderr, "netshop-bench: --seed wants a non-negative integer, not '%s'\n", optarg);
                return OPTIONS_USAGE;
            }
            o->seed = s;
            break;
        }
        case O_MAX_ERRORS:
            if (!parse_long(name, optarg, 0, 1000000000L, &v))
                return OPTIONS_USAGE;
            o->max_errors = v;
            break;
        case O_UNTIL:
            if (strcmp(optarg, "greeting") == 0) {
                o->handshake_until = UNTIL_GREETING;
            } else if (strcmp(optarg, "ticket") == 0) {
                o->handshake_until = UNTIL_TICKET;
            } else {
                fprintf(stderr, "netshop-bench: --handshake-until wants greeting or ticket, not '%s'\n", optarg);
                return OPTIONS_USAGE;
            }
            break;
        case O_PROTOCOL:
            if (strcmp(optarg, "shop1") == 0) {
                o->protocol = PROTO_SHOP1;
            } else if (strcmp(optarg, "http") == 0) {
                o->protocol = PROTO_HTTP;
            } else {
                fprintf(stderr, "netshop-bench: --protocol wants shop1 or http, not '%s'\n", optarg);
                return OPTIONS_USAGE;
            }
            break;
        case O_KEY:
            if (!memcached_key_valid(optarg)) {
                fprintf(stderr, "netshop-bench: --key wants 1 to %d bytes without spaces, not '%s'\n", BENCH_KEY_MAX,
                        optarg);
                return OPTIONS_USAGE;
            }
            snprintf(o->memcached_key, sizeof o->memcached_key, "%s", optarg);
            break;
        case O_JSON: o->json = true; break;
        case 'h':
        case O_HELP:
            options_usage(stdout);
            return OPTIONS_HELP;
        default:
            fputs("netshop-bench: see --help\n", stderr);
            return OPTIONS_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "netshop-bench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return OPTIONS_USAGE;
    }
    return check_combination(o, user, password, users) ? OPTIONS_OK : OPTIONS_USAGE;
}
