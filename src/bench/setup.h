/* setup: everything a run needs to know before the load starts — which server address answers,
 * which items to buy or ask for (and their stock), which categories to browse, which request
 * brings an address token — read over the control connection. Also the stock reads after a
 * purchase run. */
#ifndef NETSHOP_BENCH_SETUP_H
#define NETSHOP_BENCH_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"
#include "bench/control.h"

/* Resolves the options' host and port and opens a control connection to the first address that
 * answers with a verified greeting (--protocol http: a verified handshake); stores that address in
 * run->addr. Returns false with err. */
bool setup_connect(bench_run_t *run, control_t *ctl, char *err, size_t errlen);

/* Reads what the run's mode needs from the catalog into run (items with stock_before, browse
 * arguments, the token probe). Returns false with err (for example an unknown item). */
bool setup_catalog(bench_run_t *run, control_t *ctl, char *err, size_t errlen);

/* Reads every run item's stock into stock_after, repeating until two reads agree (stock shown by
 * the server may lag purchases by a few milliseconds). Returns false with err. */
bool setup_read_stock_after(bench_run_t *run, control_t *ctl, char *err, size_t errlen);

/* Frees what setup_catalog allocated in run. */
void setup_free(bench_run_t *run);

#endif
