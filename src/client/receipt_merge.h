/* receipt_merge: the receipt view's lines with repeated purchases folded together — lines with
 * the same Sno, name and unit price become one, their quantities and line totals summed
 * (overflow-checked, core/money.h). Pure: no I/O, no allocation. Only the human view merges;
 * --json keeps one object per line the server sent. */
#ifndef NETSHOP_RECEIPT_MERGE_H
#define NETSHOP_RECEIPT_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/replies.h"
#include "core/money.h"

typedef struct {
    int64_t sno;
    const char *name;       /* points into the input line's name */
    int64_t quantity;
    const char *unit_price; /* points into the input line's unit price */
    const char *sent_total; /* the first line's total as sent, when nothing was folded in */
    bool summed;            /* true: the total is sum, not sent_total */
    char sum[MONEY_FORMAT_MAX];
} receipt_merged_line_t;

/* The line total to show: the sum when lines were folded, else the total as sent. */
const char *receipt_merged_total(const receipt_merged_line_t *m);

/* Writes the merged lines of in[0..n) into out[0..n) (the caller provides n entries; the
 * pointers in out live as long as in's strings do) and returns how many were written. Lines are
 * kept in the order of their first occurrence. A line is folded into an earlier one with the
 * same Sno, name and unit price (compared as sent) only when both totals are non-negative amounts
 * with the same number of decimals and neither sum overflows; otherwise it stays a line of its
 * own, its total copied as sent. */
size_t receipt_merge(const reply_receipt_line_t *in, size_t n, receipt_merged_line_t *out);

#endif
