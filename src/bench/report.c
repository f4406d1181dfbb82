/* report: formats the merged results — a human summary and the --json object (field list in
 * docs/BENCH.md). */
#include "bench/report.h"

#include <inttypes.h>
#include <string.h>

static double ops_per_sec(const report_t *r)
{
    return r->measured_s > 0 ? (double)r->stats->ops / r->measured_s : 0.0;
}

static const char *item_label(const report_t *r, char *buf, size_t cap)
{
    const bench_options_t *o = r->run->opt;
    if (o->spread || (o->udp_page_small && !o->item_given))
        snprintf(buf, cap, "spread over %zu items", r->run->nitems);
    else
        snprintf(buf, cap, "item %d", o->item);
    return buf;
}

void report_print_text(FILE *out, const report_t *r)
{
    const bench_options_t *o = r->run->opt;
    const bench_stats_t *s = r->stats;
    char label[64] = "";
    bool buys = bench_mode_buys(o->mode);
    if (buys || o->udp_page_small)
        item_label(r, label, sizeof label);
    fprintf(out, "netshop-bench %s: %d connection%s x %d outstanding, %d thread%s%s%s%s\n", bench_mode_name(o->mode),
            o->connections, o->connections == 1 ? "" : "s", o->outstanding, o->threads, o->threads == 1 ? "" : "s",
            label[0] ? ", " : "", label, r->interrupted ? " (interrupted)" : "");
    fprintf(out, "  time         set-up %.2f s, warm-up %.1f s, measured %.2f s\n", r->setup_s, o->warmup_s,
            r->measured_s);
    if (o->mode == MODE_HOLD) {
        fprintf(out, "  held         %" PRIu64 " of %d connections to the end, idle (%s)\n", s->held,
                o->connections, o->protocol == PROTO_HTTP ? "after one GET each" : "logged in");
    } else {
        fprintf(out, "  requests     %" PRIu64 " answered, %.1f/s\n", s->ops, ops_per_sec(r));
        fprintf(out, "  latency us   p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64 "  p99.9 %" PRIu64
                     "  max %" PRIu64 "  (mean %.0f)\n",
                hist_percentile(s->hist, 50), hist_percentile(s->hist, 90), hist_percentile(s->hist, 99),
                hist_percentile(s->hist, 99.9), hist_max(s->hist), hist_mean(s->hist));
    }
    fprintf(out, "  errors       %" PRIu64, s->errors);
    if (s->errors > 0) {
        const char *sep = " (";
        for (int i = 1; i <= SHOP1_ERROR_COUNT; i++) {
            if (s->server_errors[i] == 0)
                continue;
            fprintf(out, "%s%s %" PRIu64, sep, i < SHOP1_ERROR_COUNT ? shop1_error_name((shop1_error_t)i) : "unknown",
                    s->server_errors[i]);
            sep = ", ";
        }
        for (int i = 0; i < BERR_LOCAL_COUNT; i++) {
            if (s->local_errors[i] == 0)
                continue;
            fprintf(out, "%s%s %" PRIu64, sep, bench_local_error_name((bench_local_error_t)i), s->local_errors[i]);
            sep = ", ";
        }
        fputs(")", out);
    }
    fputs("\n", out);
    if (buys)
        fprintf(out, "  purchases    %" PRIu64 " acknowledged (%" PRIu64 " in the measured window), %" PRIu64
                     " insufficient stock, %" PRIu64 " sessions\n",
                s->acked, s->acked_measured, s->insufficient, s->sessions);
    if (o->mode == MODE_UDP_BUY || o->mode == MODE_UDP_BROWSE)
        fprintf(out, "  udp          %" PRIu64 " retransmissions, %" PRIu64 " finished over TLS\n", s->retransmits,
                s->fallbacks);
    if (s->reconnects > 0)
        fprintf(out, "  reconnects   %" PRIu64 "\n", s->reconnects);
    const invariant_t *inv = r->invariant;
    if (inv != NULL) {
        if (!inv->checked)
            fprintf(out, "  invariant    NOT CHECKED: %s\n", inv->problem);
        else if (inv->ok)
            fprintf(out, "  invariant    ok: acknowledged %" PRIu64 " = recorded %" PRIu64 " = stock sold %" PRId64
                         " (%zu orders)\n",
                    inv->acked_units, inv->recorded_units, inv->stock_sold, inv->orders);
        else
            fprintf(out, "  invariant    MISMATCH: acknowledged %" PRIu64 ", recorded %" PRIu64 ", stock sold %" PRId64
                         " (%zu orders, %zu items differ); %s\n",
                    inv->acked_units, inv->recorded_units, inv->stock_sold, inv->orders, inv->mismatched_items,
                    inv->problem);
    }
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void json_errors(FILE *out, const bench_stats_t *s)
{
    fputs("\"errors_by_kind\":{", out);
    const char *sep = "";
    for (int i = 1; i <= SHOP1_ERROR_COUNT; i++) {
        if (s->server_errors[i] == 0)
            continue;
        fprintf(out, "%s\"%s\":%" PRIu64, sep, i < SHOP1_ERROR_COUNT ? shop1_error_name((shop1_error_t)i) : "UNKNOWN",
                s->server_errors[i]);
        sep = ",";
    }
    for (int i = 0; i < BERR_LOCAL_COUNT; i++) {
        if (s->local_errors[i] == 0)
            continue;
        fprintf(out, "%s\"%s\":%" PRIu64, sep, bench_local_error_name((bench_local_error_t)i), s->local_errors[i]);
        sep = ",";
    }
    fputs("}", out);
}

static void json_invariant(FILE *out, const report_t *r)
{
    const invariant_t *inv = r->invariant;
    const bench_run_t *run = r->run;
    fprintf(out, ",\"invariant_ok\":%s", inv->checked && inv->ok ? "true" : "false");
    fprintf(out, ",\"invariant\":{\"checked\":%s,\"acked_units\":%" PRIu64 ",\"recorded_units\":%" PRIu64
                 ",\"stock_sold\":%" PRId64 ",\"orders\":%zu,\"foreign_units\":%" PRIu64 ",\"problem\":",
            inv->checked ? "true" : "false", inv->acked_units, inv->recorded_units, inv->stock_sold, inv->orders,
            inv->foreign_units);
    if (inv->problem[0] != '\0')
        json_string(out, inv->problem);
    else
        fputs("null", out);
    fputs("}", out);
    if (run->opt->spread)
        fputs(",\"spread\":true", out);
    else
        fprintf(out, ",\"item\":%d", run->opt->item);
    fputs(",\"items\":[", out);
    for (size_t i = 0; i < run->nitems; i++) {
        const bench_item_t *it = &run->items[i];
        fprintf(out, "%s{\"sno\":%d,\"stock_before\":%" PRId64 ",\"stock_after\":%" PRId64 ",\"acked\":%" PRIu64
                     ",\"recorded\":%" PRIu64 "}",
                i ? "," : "", it->sno, it->stock_before, it->stock_after, it->acked, it->recorded);
    }
    fputs("]", out);
}

void report_print_json(FILE *out, const report_t *r)
{
    const bench_options_t *o = r->run->opt;
    const bench_stats_t *s = r->stats;
    fputs("{\"mode\":", out);
    json_string(out, bench_mode_name(o->mode));
    fprintf(out, ",\"connections\":%d,\"threads\":%d,\"outstanding\":%d,\"duration_s\":%.3f,\"warmup_s\":%.3f"
                 ",\"setup_s\":%.3f",
            o->connections, o->threads, o->outstanding, r->measured_s, o->warmup_s, r->setup_s);
    fprintf(out, ",\"interrupted\":%s", r->interrupted ? "true" : "false");
    fprintf(out, ",\"ops\":%" PRIu64 ",\"ops_per_sec\":%.1f,\"errors\":%" PRIu64, s->ops, ops_per_sec(r), s->errors);
    fprintf(out, ",\"acked\":%" PRIu64 ",\"acked_measured\":%" PRIu64 ",\"insufficient\":%" PRIu64, s->acked,
            s->acked_measured, s->insufficient);
    fprintf(out, ",\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"p999_us\":%" PRIu64
                 ",\"max_us\":%" PRIu64 ",\"min_us\":%" PRIu64 ",\"mean_us\":%.1f",
            hist_percentile(s->hist, 50), hist_percentile(s->hist, 90), hist_percentile(s->hist, 99),
            hist_percentile(s->hist, 99.9), hist_max(s->hist), hist_min(s->hist), hist_mean(s->hist));
    fprintf(out, ",\"retransmits\":%" PRIu64 ",\"fallbacks\":%" PRIu64 ",\"reconnects\":%" PRIu64
                 ",\"sessions\":%" PRIu64 ",",
            s->retransmits, s->fallbacks, s->reconnects, s->sessions);
    json_errors(out, s);
    if (o->mode == MODE_HOLD)
        fprintf(out, ",\"held\":%" PRIu64, s->held);
    if (o->udp_page_small && !o->item_given)
        fprintf(out, ",\"spread\":true");
    else if (o->udp_page_small)
        fprintf(out, ",\"item\":%d", o->item);
    if (r->invariant != NULL)
        json_invariant(out, r);
    fputs("}\n", out);
}
