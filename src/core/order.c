/* order: owns the shop's purchase rules — quantity and request-id syntax, the stock check
 * (buying the last unit is allowed) and overflow-checked line and order totals. Pure. */
#include "core/order.h"

#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Contract (beyond the header): *out is written only on QTY_OK. Leading zeros are accepted
 * ("007" is 7). A '-' followed by digits is QTY_NOT_POSITIVE whatever their size ("-0"
 * included); a '-' followed by anything else, or a NULL s, is QTY_NOT_A_NUMBER. Digits are
 * checked to the end before a size is reported, so "99999x" is QTY_NOT_A_NUMBER. */
qty_result_t order_parse_quantity(const char *s, int64_t *out)
{
    if (s == NULL)
        return QTY_NOT_A_NUMBER;
    bool negative = s[0] == '-';
    const char *digits = negative ? s + 1 : s;
    if (digits[0] == '\0')
        return QTY_NOT_A_NUMBER;

    int64_t value = 0;
    bool too_large = false;
    for (const char *p = digits; *p != '\0'; p++) {
        if (!is_digit(*p))
            return QTY_NOT_A_NUMBER;
        if (!too_large) {
            value = value * 10 + (*p - '0'); /* value <= ORDER_QTY_MAX here: no overflow */
            too_large = value > ORDER_QTY_MAX;
        }
    }
    if (negative || value == 0)
        return QTY_NOT_POSITIVE;
    if (too_large)
        return QTY_TOO_LARGE;
    *out = value;
    return QTY_OK;
}

bool order_request_id_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t len = strnlen(s, ORDER_REQUEST_ID_MAX + 1);
    if (len == 0 || len > ORDER_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
                       c == '.' || c == '_' || c == ':' || c == '-';
        if (!allowed)
            return false;
    }
    return true;
}

/* Contract (beyond the header): checks in this order — quantity range (BUY_BAD_QUANTITY),
 * order_lines >= lines_max (BUY_ORDER_FULL), stock < qty (BUY_INSUFFICIENT_STOCK),
 * unit_price * qty overflow, then order_total + line overflow (both BUY_TOTAL_OVERFLOW).
 * *line_total is written only on BUY_ALLOWED; line_total may be NULL. */
buy_decision_t order_decide_buy(int64_t stock, int64_t qty, money_t unit_price, size_t order_lines,
                                size_t lines_max, money_t order_total, money_t *line_total)
{
    if (qty < 1 || qty > ORDER_QTY_MAX)
        return BUY_BAD_QUANTITY;
    if (order_lines >= lines_max)
        return BUY_ORDER_FULL;
    if (stock < qty) /* not <=: the last unit in stock can be bought */
        return BUY_INSUFFICIENT_STOCK;

    money_t line = 0;
    money_t new_total = 0;
    if (!money_mul(unit_price, qty, &line) || !money_add(order_total, line, &new_total))
        return BUY_TOTAL_OVERFLOW;
    if (line_total != NULL)
        *line_total = line;
    return BUY_ALLOWED;
}
