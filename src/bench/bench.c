/* bench: the run's shared data — per-thread counters and their merge, the list of orders a purchase
 * run used, the run's clock and its rate-limited error messages. */
#include "bench/bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MESSAGES_SHOWN 10

static const char *const LOCAL_ERROR_NAMES[BERR_LOCAL_COUNT] = {
    [BERR_CONNECT] = "connect",     [BERR_TLS] = "tls",           [BERR_CLOSED] = "closed",
    [BERR_REFUSED] = "refused",     [BERR_PROTOCOL] = "protocol", [BERR_UDP_TIMEOUT] = "udp_timeout",
    [BERR_UNANSWERED] = "unanswered",
};

const char *bench_local_error_name(bench_local_error_t e)
{
    return e < BERR_LOCAL_COUNT ? LOCAL_ERROR_NAMES[e] : "?";
}

bool stats_init(bench_stats_t *s, size_t nitems)
{
    memset(s, 0, sizeof *s);
    s->hist = hist_new();
    s->nitems = nitems;
    s->acked_units = calloc(nitems ? nitems : 1, sizeof *s->acked_units);
    if (s->hist == NULL || s->acked_units == NULL) {
        stats_free(s);
        return false;
    }
    return true;
}

void stats_free(bench_stats_t *s)
{
    hist_free(s->hist);
    free(s->acked_units);
    s->hist = NULL;
    s->acked_units = NULL;
}

void stats_merge(bench_stats_t *dst, const bench_stats_t *src)
{
    dst->ops += src->ops;
    dst->errors += src->errors;
    dst->acked += src->acked;
    dst->acked_measured += src->acked_measured;
    dst->insufficient += src->insufficient;
    dst->retransmits += src->retransmits;
    dst->fallbacks += src->fallbacks;
    dst->reconnects += src->reconnects;
    dst->sessions += src->sessions;
    dst->held += src->held;
    for (size_t i = 0; i <= SHOP1_ERROR_COUNT; i++)
        dst->server_errors[i] += src->server_errors[i];
    for (size_t i = 0; i < BERR_LOCAL_COUNT; i++)
        dst->local_errors[i] += src->local_errors[i];
    hist_merge(dst->hist, src->hist);
    for (size_t i = 0; i < dst->nitems && i < src->nitems; i++)
        dst->acked_units[i] += src->acked_units[i];
}

bool orders_add(bench_orders_t *o, int user, int64_t order_id)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        bench_order_t *v = realloc(o->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = (bench_order_t){.user = user, .order_id = order_id};
    return true;
}

bool orders_append(bench_orders_t *dst, const bench_orders_t *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (!orders_add(dst, src->v[i].user, src->v[i].order_id))
            return false;
    return true;
}

static int order_cmp(const void *a, const void *b)
{
    const bench_order_t *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->order_id != y->order_id)
        return x->order_id < y->order_id ? -1 : 1;
    return 0;
}

void orders_unique(bench_orders_t *o)
{
    if (o->n == 0)
        return;
    qsort(o->v, o->n, sizeof *o->v, order_cmp);
    size_t k = 1;
    for (size_t i = 1; i < o->n; i++)
        if (order_cmp(&o->v[i], &o->v[k - 1]) != 0)
            o->v[k++] = o->v[i];
    o->n = k;
}

void orders_free(bench_orders_t *o)
{
    free(o->v);
    *o = (bench_orders_t){0};
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_run_timeline_init(bench_run_t *run, int connections, int64_t t0_ns)
{
    run->t0_ns = t0_ns;
    atomic_store(&run->ready_ns, 0);
    atomic_store(&run->warm_end_ns, INT64_MAX);
    atomic_store(&run->end_ns, INT64_MAX);
    atomic_store(&run->unready, connections);
}

bool bench_run_start_timeline(bench_run_t *run, int64_t now_ns)
{
    int64_t expected = 0;
    if (!atomic_compare_exchange_strong(&run->ready_ns, &expected, now_ns))
        return false;
    int64_t warm_end = now_ns + (int64_t)(run->opt->warmup_s * 1e9);
    atomic_store(&run->end_ns, warm_end + (int64_t)(run->opt->duration_s * 1e9));
    atomic_store(&run->warm_end_ns, warm_end);
    return true;
}

void bench_run_mark_ready(bench_run_t *run, int64_t now_ns)
{
    if (atomic_fetch_sub(&run->unready, 1) == 1)
        (void)bench_run_start_timeline(run, now_ns);
}

int64_t bench_run_warm_end(bench_run_t *run)
{
    return atomic_load_explicit(&run->warm_end_ns, memory_order_relaxed);
}

int64_t bench_run_end(bench_run_t *run)
{
    int64_t stop = atomic_load_explicit(&run->stop_ns, memory_order_relaxed);
    int64_t end = atomic_load_explicit(&run->end_ns, memory_order_relaxed);
    return stop < end ? stop : end;
}

void bench_note_error(bench_run_t *run, const char *fmt, ...)
{
    unsigned n = atomic_fetch_add_explicit(&run->messages, 1, memory_order_relaxed);
    if (n > MESSAGES_SHOWN)
        return;
    if (n == MESSAGES_SHOWN) {
        fputs("netshop-bench: further errors are counted, not shown\n", stderr);
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        snprintf(msg, sizeof msg, "%s", "error");
    va_end(ap);
    fprintf(stderr, "netshop-bench: %s\n", msg);
}
