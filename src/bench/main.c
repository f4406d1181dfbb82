/* main: netshop-bench — parse the options, set the run up over a control connection, run the
 * load threads through warm-up, measurement and drain, check the stock invariant of a purchase
 * run, report. Exit status: 0 ok, 1 errors above --max-errors or invariant mismatch (or no run),
 * 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/control.h"
#include "bench/invariant.h"
#include "bench/options.h"
#include "bench/report.h"
#include "bench/setup.h"
#include "bench/udp_peer.h"
#include "bench/worker.h"

#define EXIT_BAD_RUN 1
#define EXIT_USAGE 2
#define WAIT_SLICE_MS 100
#define SETUP_TIMEOUT_NS (60LL * 1000000000LL) /* the warm-up starts then even if connections lag */

/* Enough file descriptors for every connection's TCP and UDP sockets (modes that never open a UDP
 * socket need one per connection). */
static bool raise_fd_limit(bench_mode_t mode, int connections, char *err, size_t errlen)
{
    bool tls_only = mode == MODE_TLS_BUY || mode == MODE_TLS_BROWSE || mode == MODE_LOGIN ||
                    mode == MODE_HANDSHAKE || mode == MODE_HOLD;
    rlim_t need = (rlim_t)connections * (tls_only ? 1 : 2) + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        snprintf(err, errlen, "%d connections need %ju file descriptors; the hard limit is %ju", connections,
                 (uintmax_t)need, (uintmax_t)rl.rlim_max);
        return false;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "cannot raise the file descriptor limit to %ju: %s", (uintmax_t)need, strerror(errno));
        return false;
    }
    return true;
}

static void make_run_tag(char out[static BENCH_RUN_TAG_LEN + 1])
{
    uint8_t r[BENCH_RUN_TAG_LEN / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t v = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        memcpy(r, &v, sizeof r < sizeof v ? sizeof r : sizeof v);
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Starts the workers, then waits for them while watching for SIGINT/SIGTERM (blocked in every
 * thread, taken here with sigtimedwait): the first asks the run to stop early. Starts the warm-up
 * itself if the connections' set-up takes longer than SETUP_TIMEOUT_NS. Returns the number of
 * workers started. */
static int run_workers(bench_run_t *run, worker_t *workers, int nworkers, bool *interrupted)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    bench_run_timeline_init(run, run->opt->connections, bench_now_ns());
    int started = 0;
    for (; started < nworkers; started++)
        if (!worker_start(&workers[started]))
            break;
    if (started < nworkers)
        atomic_store(&run->stop_ns, bench_now_ns());
    bool *joined = calloc((size_t)nworkers, sizeof *joined);
    int left = started;
    while (left > 0) {
        for (int i = 0; i < started; i++) {
            if (joined == NULL) {
                worker_join(&workers[i]);
                left--;
            } else if (!joined[i] && pthread_tryjoin_np(workers[i].thread, NULL) == 0) {
                joined[i] = true;
                left--;
            }
        }
        int64_t now = bench_now_ns();
        if (now - run->t0_ns > SETUP_TIMEOUT_NS && bench_run_start_timeline(run, now))
            fprintf(stderr, "netshop-bench: %d connection(s) still not set up after %lld s; measuring anyway\n",
                    atomic_load(&run->unready), SETUP_TIMEOUT_NS / 1000000000LL);
        struct timespec slice = {.tv_sec = 0, .tv_nsec = WAIT_SLICE_MS * 1000000L};
        if (left > 0 && sigtimedwait(&set, NULL, &slice) > 0 && !*interrupted) {
            *interrupted = true;
            atomic_store(&run->stop_ns, bench_now_ns());
            fputs("netshop-bench: interrupted; finishing the requests in flight\n", stderr);
        }
    }
    free(joined);
    return started;
}

/* Purchase modes: per-item acknowledged units, stock after, receipts; fills *inv. */
static void check_purchases(bench_run_t *run, const bench_stats_t *total, worker_t *workers, int nworkers,
                            invariant_t *inv)
{
    memset(inv, 0, sizeof *inv);
    for (size_t i = 0; i < run->nitems; i++)
        run->items[i].acked = total->acked_units[i];
    bench_orders_t orders = {0};
    for (int i = 0; i < nworkers; i++)
        if (!orders_append(&orders, &workers[i].orders))
            snprintf(inv->problem, sizeof inv->problem, "%s", "out of memory collecting orders");
    orders_unique(&orders);
    control_t ctl;
    char err[TC_ERR_MAX];
    if (inv->problem[0] != '\0') {
        /* already failed */
    } else if (!control_open(&ctl, (const struct sockaddr *)&run->addr, run->addrlen, run->tls, run->opt->host, err,
                             sizeof err)) {
        snprintf(inv->problem, sizeof inv->problem, "cannot connect for the check: %s", err);
    } else {
        if (!setup_read_stock_after(run, &ctl, err, sizeof err))
            snprintf(inv->problem, sizeof inv->problem, "%s", err);
        else
            invariant_check(run, &ctl, &orders, inv);
        control_close(&ctl);
    }
    orders_free(&orders);
}

int main(int argc, char **argv)
{
    bench_options_t opt;
    switch (options_parse(&opt, argc, argv)) {
    case OPTIONS_HELP: return 0;
    case OPTIONS_USAGE: return EXIT_USAGE;
    case OPTIONS_OK: break;
    }
    signal(SIGPIPE, SIG_IGN);
    char err[TC_ERR_MAX + 64];
    bench_run_t run = {.opt = &opt};
    atomic_init(&run.stop_ns, INT64_MAX);
    atomic_init(&run.messages, 0);
    make_run_tag(run.run_tag);
    int status = EXIT_BAD_RUN;
    worker_t *workers = NULL;
    int nworkers = opt.threads, started = 0;
    bench_stats_t total = {0};
    bool peer = udp_peer_mode(opt.mode); /* bench/udp's peers: no TLS, no control connection */
    if (!raise_fd_limit(opt.mode, opt.connections, err, sizeof err) ||
        (peer ? !udp_peer_resolve(&run, err, sizeof err) : !(run.tls = tls_io_ctx_new(opt.ca_file, err, sizeof err)))) {
        fprintf(stderr, "netshop-bench: %s\n", err);
        goto out;
    }
    control_t ctl;
    if (!peer && !setup_connect(&run, &ctl, err, sizeof err)) {
        fprintf(stderr, "netshop-bench: %s\n", err);
        goto out;
    }
    bool set_up = peer || setup_catalog(&run, &ctl, err, sizeof err);
    if (!peer)
        control_close(&ctl);
    if (!set_up) {
        fprintf(stderr, "netshop-bench: %s\n", err);
        goto out;
    }
    workers = calloc((size_t)nworkers, sizeof *workers);
    if (workers == NULL || !stats_init(&total, run.nitems)) {
        fputs("netshop-bench: out of memory\n", stderr);
        goto out;
    }
    for (int i = 0, first = 0; i < nworkers; i++) {
        int n = opt.connections / nworkers + (i < opt.connections % nworkers ? 1 : 0);
        if (!worker_init(&workers[i], &run, i, first, n)) {
            fputs("netshop-bench: out of memory\n", stderr);
            for (int j = 0; j <= i; j++)
                worker_free(&workers[j]);
            goto out;
        }
        first += n;
    }
    bool interrupted = false;
    started = run_workers(&run, workers, nworkers, &interrupted);
    for (int i = 0; i < nworkers; i++)
        stats_merge(&total, &workers[i].stats);
    int64_t end = bench_run_end(&run), warm_end = bench_run_warm_end(&run), ready = atomic_load(&run.ready_ns);
    double measured = warm_end != INT64_MAX && end > warm_end ? (double)(end - warm_end) / 1e9 : 0.0;
    double setup = ready > 0 ? (double)(ready - run.t0_ns) / 1e9 : 0.0;

    invariant_t inv;
    bool buys = bench_mode_buys(opt.mode);
    if (buys)
        check_purchases(&run, &total, workers, nworkers, &inv);
    report_t rep = {.run = &run, .stats = &total, .measured_s = measured, .setup_s = setup,
                    .invariant = buys ? &inv : NULL, .interrupted = interrupted};
    report_print_text(opt.json ? stderr : stdout, &rep);
    if (opt.json)
        report_print_json(stdout, &rep);

    status = 0;
    if (started < nworkers)
        status = EXIT_BAD_RUN;
    if (opt.max_errors >= 0 && total.errors > (uint64_t)opt.max_errors) {
        fprintf(stderr, "netshop-bench: %" PRIu64 " errors (more than --max-errors %ld)\n", total.errors, opt.max_errors);
        status = EXIT_BAD_RUN;
    }
    if (buys && !(inv.checked && inv.ok)) {
        fprintf(stderr, "netshop-bench: stock invariant %s: %s\n", inv.checked ? "MISMATCH" : "not checked", inv.problem);
        status = EXIT_BAD_RUN;
    }
    for (int i = 0; i < nworkers; i++)
        worker_free(&workers[i]);
out:
    free(workers);
    stats_free(&total);
    setup_free(&run);
    tls_io_ctx_free(run.tls);
    return status;
}
