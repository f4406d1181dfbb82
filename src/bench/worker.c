/* worker: a load thread's epoll loop and its view of the run's timeline.
 *
 *   start all connections -> loop { events; every TICK: timers, refills }
 *   -> end of measurement: draining (no new requests) -> all replies in, or drain time over
 *   -> finish every connection (QUIT, close) -> thread ends.
 */
#include "bench/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench/modes.h"

#define EVENTS_PER_WAIT 256
#define TICK_NS (5LL * 1000000LL)
#define WAIT_MS 5
#define DRAIN_BASE_NS (5LL * 1000000000LL)
#define DRAIN_MAX_NS (120LL * 1000000000LL)

bool worker_init(worker_t *w, bench_run_t *run, int index, int first_conn, int nconns)
{
    memset(w, 0, sizeof *w);
    w->run = run;
    w->index = index;
    w->epfd = -1;
    w->nconns = nconns;
    w->conns = calloc((size_t)nconns, sizeof *w->conns);
    w->aead = udp_aead_new();
    if (w->conns == NULL || w->aead == NULL || !stats_init(&w->stats, run->nitems))
        return false;
    for (int i = 0; i < nconns; i++) {
        bool ok = mode_conn_init(&w->conns[i], w, first_conn + i);
        w->ninit = i + 1; /* mode_conn_free copes with a half-initialised record */
        if (!ok)
            return false;
    }
    return true;
}

void worker_free(worker_t *w)
{
    if (w->conns != NULL)
        for (int i = 0; i < w->ninit; i++)
            mode_conn_free(&w->conns[i]);
    free(w->conns);
    w->conns = NULL;
    udp_aead_free(w->aead);
    w->aead = NULL;
    stats_free(&w->stats);
    orders_free(&w->orders);
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
}

bool worker_running(const worker_t *w, int64_t now_ns)
{
    return !w->draining && now_ns < bench_run_end(w->run);
}

bool worker_measuring(const worker_t *w, int64_t now_ns)
{
    return now_ns >= bench_run_warm_end(w->run) && now_ns < bench_run_end(w->run);
}

void worker_tls_closed(bconn_t *c)
{
    c->tls_watched = false; /* closing the socket took it out of the epoll set */
    c->tls_events = 0;
}

/* Adds or changes one registration. */
static void watch(worker_t *w, int fd, bench_watch_t *handle, uint32_t events, bool *watched, uint32_t *current)
{
    struct epoll_event ev = {.events = events, .data.ptr = handle};
    if (*watched) {
        if (*current == events)
            return;
        if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
            *current = events;
            return;
        }
        if (errno != ENOENT)
            return;
    }
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        *watched = true;
        *current = events;
    }
}

void worker_sync_watch(worker_t *w, bconn_t *c)
{
    if (c->tls.fd >= 0) {
        uint32_t events = EPOLLIN | (tc_wants_write(&c->tls) ? EPOLLOUT : 0);
        watch(w, c->tls.fd, &c->tls_watch, events, &c->tls_watched, &c->tls_events);
    }
    if (c->has_udp && c->udp.fd >= 0 && !c->udp_watched) {
        uint32_t current = 0;
        watch(w, c->udp.fd, &c->udp_watch, EPOLLIN, &c->udp_watched, &current);
    }
}

static int64_t drain_time_ns(const bench_options_t *o)
{
    /* Long enough for a UDP request to run out of retries and finish over TLS. */
    int64_t udp = 0, t = (int64_t)o->udp_timeout_ms * 1000000;
    for (int i = 0; i <= o->udp_retries; i++)
        udp += t << (i < 6 ? i : 6);
    int64_t d = DRAIN_BASE_NS + udp;
    return d < DRAIN_MAX_NS ? d : DRAIN_MAX_NS;
}

static bool all_answered(const worker_t *w)
{
    for (int i = 0; i < w->nconns; i++)
        if (mode_in_flight(&w->conns[i]) > 0)
            return false;
    return true;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    bench_run_t *run = w->run;
    struct epoll_event events[EVENTS_PER_WAIT];
    int64_t now = bench_now_ns();
    for (int i = 0; i < w->nconns; i++)
        mode_conn_start(&w->conns[i], now);
    int64_t next_tick = now + TICK_NS;
    for (;;) {
        int n = epoll_wait(w->epfd, events, EVENTS_PER_WAIT, WAIT_MS);
        if (n < 0 && errno != EINTR) {
            bench_note_error(run, "epoll_wait: %s", strerror(errno));
            w->failed = true;
            break;
        }
        for (int i = 0; i < n; i++) {
            bench_watch_t *h = events[i].data.ptr;
            mode_on_event(h->c, h->udp, bench_now_ns());
        }
        now = bench_now_ns();
        if (now < next_tick)
            continue;
        next_tick = now + TICK_NS;
        if (!w->draining && now >= bench_run_end(run)) {
            w->draining = true;
            w->drain_deadline_ns = now + drain_time_ns(run->opt);
        }
        for (int i = 0; i < w->nconns; i++)
            mode_on_tick(&w->conns[i], now);
        if (w->draining && (all_answered(w) || now >= w->drain_deadline_ns))
            break;
    }
    for (int i = 0; i < w->nconns; i++)
        mode_conn_finish(&w->conns[i]);
    return NULL;
}

bool worker_start(worker_t *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        bench_note_error(w->run, "epoll_create1: %s", strerror(errno));
        return false;
    }
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        bench_note_error(w->run, "cannot start a thread: %s", strerror(rc));
        return false;
    }
    return true;
}

void worker_join(worker_t *w)
{
    pthread_join(w->thread, NULL);
}
