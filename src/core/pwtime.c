/* pwtime: the moving target of a password check's wall time, and the padding up to it. */
#include "core/pwtime.h"

void pwtime_init(pwtime_t *pt, int64_t measured_ns)
{
    pt->target_ns = measured_ns > 0 ? measured_ns : 1;
}

void pwtime_observe(pwtime_t *pt, int64_t sample_ns)
{
    int64_t t = pt->target_ns;
    if (sample_ns > 2 * t)
        sample_ns = 2 * t;
    if (sample_ns < t / 2)
        sample_ns = t / 2;
    t += (sample_ns - t) / 8;
    pt->target_ns = t > 0 ? t : 1;
}

int64_t pwtime_pad_ns(const pwtime_t *pt, int64_t elapsed_ns)
{
    if (elapsed_ns < 0)
        elapsed_ns = 0;
    return elapsed_ns >= pt->target_ns ? 0 : pt->target_ns - elapsed_ns;
}
