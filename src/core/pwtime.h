/* pwtime: how long a password check must seem to take, so that its wall time does not tell
 * which accounts exist. An unknown user is checked against a dummy hash of interactive cost; an
 * account hashed more cheaply (`user add --hash-cost minimal`) would answer in a fraction of
 * that. The auth pool keeps one pwtime_t: seeded with the dummy check measured at start-up,
 * updated with every check of an interactive-cost hash (so it follows the machine's load), and
 * asked how long to sleep after a cheaper check. Pure: the caller measures and sleeps. */
#ifndef NETSHOP_PWTIME_H
#define NETSHOP_PWTIME_H

#include <stdint.h>

typedef struct {
    int64_t target_ns; /* the wall time an interactive-cost check takes (moving average) */
} pwtime_t;

/* Starts from a measured interactive-cost check (ns; values < 1 are taken as 1). */
void pwtime_init(pwtime_t *pt, int64_t measured_ns);
/* Folds in one more interactive-cost check: a moving average with weight 1/8, a sample counted
 * as at most twice and at least half the current target (one check stalled by the scheduler
 * moves it little). */
void pwtime_observe(pwtime_t *pt, int64_t sample_ns);
/* How long to sleep after a check that took elapsed_ns so that it seems to have taken the
 * target: target - elapsed, or 0 when it already took that long. */
int64_t pwtime_pad_ns(const pwtime_t *pt, int64_t elapsed_ns);

#endif
