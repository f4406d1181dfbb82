/* utf8: UTF-8 well-formedness and the control characters text must not carry, shared by the
 * catalog importer, the SHOP/1 reply builder and the client's output. Pure: no I/O, no state. */
#ifndef NETSHOP_UTF8_H
#define NETSHOP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the well-formed UTF-8 sequence starting at s[0], looking at no more than
 * s[0..n) (n >= 1); 0 when there is none there: a stray continuation byte, an overlong form,
 * a surrogate (U+D800..U+DFFF), a value above U+10FFFF, 0xC0/0xC1/0xF5..0xFF, or a sequence
 * cut short by the end of the input (or by a NUL, which is not a continuation byte). */
size_t utf8_sequence_length(const unsigned char *s, size_t n);

/* Offset of the first byte of s[0..len) that does not start a well-formed UTF-8 sequence,
 * or len when all of it is valid. */
size_t utf8_invalid_offset(const unsigned char *s, size_t len);

/* True when the well-formed sequence s[0..len) (len from utf8_sequence_length) is a control
 * character: C0 (U+0000..U+001F, which includes TAB, CR and LF), DEL (U+007F) or C1
 * (U+0080..U+009F, encoded C2 80..C2 9F; a terminal takes 0x9B as CSI, like ESC [). */
bool utf8_is_control(const unsigned char *s, size_t len);

/* Offset of the first byte of s[0..len) that starts a control character (utf8_is_control) or
 * is not well-formed UTF-8, or len when there is none: text that is safe to show anywhere. */
size_t utf8_unsafe_offset(const unsigned char *s, size_t len);

#endif
