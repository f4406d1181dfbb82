/* receipt_merge: folds a receipt's repeated purchases into one line each (see the header). */
#include "client/receipt_merge.h"

#include <stdbool.h>
#include <string.h>

const char *receipt_merged_total(const receipt_merged_line_t *m)
{
    return m->summed ? m->sum : m->sent_total;
}

/* The number of decimals of a money string as sent ("1500.00" -> 2, "7" -> 0). */
static int decimals_of(const char *s)
{
    const char *point = strchr(s, '.');
    return point == NULL ? 0 : (int)strlen(point + 1);
}

/* Parses a total as sent into minor units with its own number of decimals. */
static bool parse_total(const char *s, int *decimals, money_t *out)
{
    *decimals = decimals_of(s);
    if (*decimals > 6) /* more than money.h's currencies have */
        return false;
    return money_parse(s, strlen(s), *decimals, out) == MONEY_OK;
}

static bool same_purchase(const receipt_merged_line_t *m, const reply_receipt_line_t *l)
{
    return m->sno == l->sno && strcmp(m->name, l->name) == 0 &&
           strcmp(m->unit_price, l->unit_price) == 0;
}

/* Adds l to m when both totals parse with the same decimals and neither sum overflows; m is
 * unchanged otherwise. */
static bool fold(receipt_merged_line_t *m, const reply_receipt_line_t *l)
{
    int dm, dl;
    money_t tm, tl, sum;
    int64_t qty;
    if (!parse_total(receipt_merged_total(m), &dm, &tm) || !parse_total(l->total, &dl, &tl) ||
        dm != dl)
        return false;
    if (!money_add(tm, tl, &sum) || __builtin_add_overflow(m->quantity, l->quantity, &qty))
        return false;
    money_format(sum, dm, m->sum, sizeof m->sum);
    m->summed = true;
    m->quantity = qty;
    return true;
}

size_t receipt_merge(const reply_receipt_line_t *in, size_t n, receipt_merged_line_t *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const reply_receipt_line_t *l = &in[i];
        bool folded = false;
        for (size_t j = 0; j < count && !folded; j++)
            folded = same_purchase(&out[j], l) && fold(&out[j], l);
        if (folded)
            continue;
        receipt_merged_line_t *m = &out[count++];
        m->sno = l->sno;
        m->name = l->name;
        m->quantity = l->quantity;
        m->unit_price = l->unit_price;
        m->sent_total = l->total;
        m->summed = false;
        m->sum[0] = '\0';
    }
    return count;
}
