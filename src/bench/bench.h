/* bench: the shared data of one netshop-bench run — the resolved target, what the catalog said,
 * the timeline every thread follows, and the counters each thread keeps and main merges. */
#ifndef NETSHOP_BENCH_BENCH_H
#define NETSHOP_BENCH_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/histogram.h"
#include "bench/options.h"
#include "bench/tls_io.h"
#include "proto/shop1.h"

#define BENCH_RUN_TAG_LEN 12   /* hex digits of the per-run part of request ids */

/* One item a purchase run buys (or udp-browse --udp-page-small asks for). */
typedef struct {
    int sno;
    int64_t stock_before;
    int64_t stock_after;
    uint64_t acked;     /* units the server acknowledged (OK BUY replies x qty), every thread */
    uint64_t recorded;  /* units the receipts of the run's orders show */
} bench_item_t;

/* Errors seen on our side of the wire (the server's ERR codes are counted by code). */
typedef enum {
    BERR_CONNECT = 0,  /* TCP connect failed */
    BERR_TLS,          /* handshake, certificate or TLS failure */
    BERR_CLOSED,       /* the server closed the connection under us */
    BERR_REFUSED,      /* greeted with ERR (BUSY) */
    BERR_PROTOCOL,     /* a reply that is not SHOP/1 */
    BERR_UDP_TIMEOUT,  /* a datagram request never answered (browse; buys fall back to TLS) */
    BERR_UNANSWERED,   /* still in flight when the drain time ran out, or lost with its connection */
    BERR_LOCAL_COUNT
} bench_local_error_t;

/* The word for a local error kind in reports ("connect"). */
const char *bench_local_error_name(bench_local_error_t e);

/* One thread's counters; merged into one at the end. */
typedef struct {
    uint64_t ops;             /* requests answered (OK, or INSUFFICIENT_STOCK) in the measured window */
    uint64_t errors;          /* over the whole run: warm-up, measurement and drain */
    uint64_t acked;           /* OK BUY replies over the whole run (what the invariant counts) */
    uint64_t acked_measured;  /* of which in the measured window */
    uint64_t insufficient;    /* INSUFFICIENT_STOCK replies over the whole run */
    uint64_t retransmits;     /* UDP datagrams re-sent after a timeout */
    uint64_t fallbacks;       /* UDP BUYs finished over TLS after their retries */
    uint64_t reconnects;      /* connections re-opened after a failure */
    uint64_t sessions;        /* successful LOGINs (orders opened by purchase modes) */
    uint64_t held;            /* hold: connections still open and set up when the hold ended */
    uint64_t server_errors[SHOP1_ERROR_COUNT + 1]; /* by code; [SHOP1_ERROR_COUNT]: unknown code */
    uint64_t local_errors[BERR_LOCAL_COUNT];
    hist_t *hist;             /* latency (us) of the requests counted in ops */
    uint64_t *acked_units;    /* per item of the run (bench_run_t.items), whole run */
    size_t nitems;
} bench_stats_t;

/* Zeroes s and allocates its histogram and per-item array. Returns false when out of memory. */
bool stats_init(bench_stats_t *s, size_t nitems);
void stats_free(bench_stats_t *s);
/* Adds src into dst (same nitems). */
void stats_merge(bench_stats_t *dst, const bench_stats_t *src);

/* An order the run's purchases went into: the user (index into the options' users) and its id. */
typedef struct {
    int user;
    int64_t order_id;
} bench_order_t;

typedef struct {
    bench_order_t *v;
    size_t n, cap;
} bench_orders_t;

/* Appends (user, order_id). Returns false when out of memory. */
bool orders_add(bench_orders_t *o, int user, int64_t order_id);
/* Appends all of src to dst. */
bool orders_append(bench_orders_t *dst, const bench_orders_t *src);
/* Sorts by (user, order id) and removes duplicates. */
void orders_unique(bench_orders_t *o);
void orders_free(bench_orders_t *o);

/* One run: set up by main before the threads start, read-only for them afterwards except the
 * atomics. */
typedef struct {
    const bench_options_t *opt;
    struct sockaddr_storage addr;     /* the server address that answered during set-up */
    socklen_t addrlen;
    tls_io_ctx_t *tls;
    bench_item_t *items;              /* purchase modes and --udp-page-small: sorted by sno */
    size_t nitems;
    char **browse_args;               /* browse modes: the category arguments, used round-robin */
    size_t nbrowse;
    char probe_command[SHOP1_LINE_MAX]; /* udp-browse: an anonymous request big enough for a RETRY */
    char run_tag[BENCH_RUN_TAG_LEN + 1];/* random, so request ids never repeat across runs */
    /* The timeline (CLOCK_MONOTONIC ns). The threads start at t0; once every connection is set up
     * (connected, logged in: ready_ns) the warm-up runs, then the measurement. Until then
     * warm_end_ns and end_ns are INT64_MAX. */
    int64_t t0_ns;
    _Atomic int64_t ready_ns;         /* 0 until every connection is set up (or set-up timed out) */
    _Atomic int64_t warm_end_ns;      /* the measurement starts */
    _Atomic int64_t end_ns;           /* the measurement ends (no new requests after) */
    _Atomic int64_t stop_ns;          /* INT64_MAX, or when an interrupt asked to stop early */
    atomic_int unready;               /* connections not yet set up */
    atomic_uint messages;             /* error messages printed so far (the first few are shown) */
} bench_run_t;

/* Sets the timeline to "waiting for set-up" with `connections` connections to go. */
void bench_run_timeline_init(bench_run_t *run, int connections, int64_t t0_ns);
/* One connection is set up (or gave up for good); the last one starts the warm-up. */
void bench_run_mark_ready(bench_run_t *run, int64_t now_ns);
/* Starts the warm-up now unless it has started (the set-up timeout). True if this call started it. */
bool bench_run_start_timeline(bench_run_t *run, int64_t now_ns);
/* When the measurement starts (INT64_MAX before set-up is done). */
int64_t bench_run_warm_end(bench_run_t *run);
/* The time the measurement really ends: end_ns, or earlier after an interrupt. */
int64_t bench_run_end(bench_run_t *run);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);

/* Prints "netshop-bench: <message>" on stderr for the first few errors of the run, then one
 * line saying further ones are only counted. Thread-safe. */
void bench_note_error(bench_run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
