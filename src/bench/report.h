/* report: the run's results for people (a short summary) and for programs (one JSON object). */
#ifndef NETSHOP_BENCH_REPORT_H
#define NETSHOP_BENCH_REPORT_H

#include <stdio.h>

#include "bench/bench.h"
#include "bench/invariant.h"

typedef struct {
    const bench_run_t *run;
    const bench_stats_t *stats;      /* merged over the threads */
    double measured_s;               /* the measured window actually run (shorter after ^C) */
    double setup_s;                  /* from the start to every connection set up (logged in) */
    const invariant_t *invariant;    /* purchase modes; NULL otherwise */
    bool interrupted;
} report_t;

/* The human summary. */
void report_print_text(FILE *out, const report_t *r);
/* Exactly one JSON object, then a newline. */
void report_print_json(FILE *out, const report_t *r);

#endif
