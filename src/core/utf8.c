/* utf8: checks UTF-8 sequences and classifies control characters; see utf8.h. */
#include "core/utf8.h"

size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
    unsigned char lead = s[0];
    unsigned char second_lo = 0x80, second_hi = 0xBF;
    size_t need;

    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
    } else if (lead == 0xE0) {
        need = 3;
        second_lo = 0xA0; /* below: overlong */
    } else if (lead == 0xED) {
        need = 3;
        second_hi = 0x9F; /* above: surrogates */
    } else if (lead >= 0xE1 && lead <= 0xEF) {
        need = 3;
    } else if (lead == 0xF0) {
        need = 4;
        second_lo = 0x90; /* below: overlong */
    } else if (lead >= 0xF1 && lead <= 0xF3) {
        need = 4;
    } else if (lead == 0xF4) {
        need = 4;
        second_hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    if (s[1] < second_lo || s[1] > second_hi)
        return 0;
    for (size_t i = 2; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return need;
}

size_t utf8_invalid_offset(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t step = utf8_sequence_length(s + i, len - i);
        if (step == 0)
            return i;
        i += step;
    }
    return len;
}

bool utf8_is_control(const unsigned char *s, size_t len)
{
    if (len == 1)
        return s[0] < 0x20 || s[0] == 0x7F;
    return len == 2 && s[0] == 0xC2 && s[1] <= 0x9F;
}

size_t utf8_unsafe_offset(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t step = utf8_sequence_length(s + i, len - i);
        if (step == 0 || utf8_is_control(s + i, step))
            return i;
        i += step;
    }
    return len;
}
