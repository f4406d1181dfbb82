/* fuzz_udp_wire: libFuzzer harness for src/proto/udp_wire.c and src/proto/udp_seal.c. Decodes
 * each input as a datagram and checks the decoder's contract (pointers inside the buffer, sizes
 * adding up, the header re-encoding to the same bytes, the spec's field rules); for a decoded
 * authenticated datagram tries udp_open with a fixed key (it must fail cleanly and leave no
 * plain text); checks that arbitrary bytes never pass as an address token; and pages the input
 * as reply text at several capacities, checking every page fits, MORE lines count up, and (when
 * no line needs cutting) the pages put back together are the input. */
/* Build: `make fuzz` (clang -fsanitize=fuzzer,address,undefined, linked with libcrypto), or
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -D_GNU_SOURCE tests/fuzz/fuzz_udp_wire.c
 *         src/proto/udp_wire.c src/proto/udp_seal.c -lcrypto -o fuzz_udp_wire
 * Run:   ./fuzz_udp_wire tests/fuzz/corpus/udp_wire -max_total_time=60 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/udp_seal.h"
#include "proto/udp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding for libFuzzer) when cond is false. */
static void check(bool cond)
{
    if (!cond)
        abort();
}

static bool in_buffer(const uint8_t *p, size_t n, const uint8_t *buf, size_t size)
{
    return p >= buf && n <= size && (size_t)(p - buf) <= size - n;
}

/* One sealing context for the whole run (the harness is single-threaded). */
static udp_aead_t *harness_aead(void)
{
    static udp_aead_t *aead;
    if (aead == NULL) {
        aead = udp_aead_new();
        check(aead != NULL);
    }
    return aead;
}

static void fixed_keys(udp_dir_keys_t *k)
{
    for (size_t i = 0; i < UDP_KEY_LEN; i++)
        k->key[i] = (uint8_t)(0x11 * i);
    for (size_t i = 0; i < UDP_IV_LEN; i++)
        k->iv[i] = (uint8_t)(0xF0 - i);
}

/* A decoded authenticated datagram cannot be opened with a key its sender never had; opening
 * must fail, wipe what it wrote, and a seal/open round trip of the same bytes must work. */
static void check_open(const uint8_t *buf, const udp_datagram_t *d)
{
    udp_aead_t *a = harness_aead();
    udp_dir_keys_t k;
    fixed_keys(&k);
    uint8_t plain[UDP_WIRE_DATAGRAM_MAX];
    memset(plain, 0xA5, sizeof plain);
    long n = udp_open(a, &k, d->hdr.packet_number, buf, d->aad_len, d->payload, d->payload_len, plain);
    check(n == -1);
    for (size_t i = 0; i < d->payload_len - UDP_WIRE_TAG_LEN; i++)
        check(plain[i] == 0);

    uint8_t sealed[UDP_WIRE_DATAGRAM_MAX + UDP_WIRE_TAG_LEN];
    long s = udp_seal(a, &k, d->hdr.packet_number, buf, d->aad_len, d->payload, d->payload_len, sealed);
    check(s == (long)(d->payload_len + UDP_WIRE_TAG_LEN));
    n = udp_open(a, &k, d->hdr.packet_number, buf, d->aad_len, sealed, (size_t)s, plain);
    check(n == (long)d->payload_len && memcmp(plain, d->payload, d->payload_len) == 0);
}

static void check_decode(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so any read past the end is an ASan finding. */
    uint8_t *buf = malloc(size > 0 ? size : 1);
    check(buf != NULL);
    if (size > 0)
        memcpy(buf, data, size);

    udp_datagram_t d;
    udp_wire_result_t r = udp_wire_decode(buf, size, &d);
    if (r != UDP_WIRE_OK) {
        check(r > UDP_WIRE_OK && r <= UDP_WIRE_NO_TAG);
        check(d.payload == NULL && d.token == NULL && d.aad_len == 0 && d.payload_len == 0);
        free(buf);
        return;
    }

    check(size >= UDP_WIRE_HEADER_LEN && size <= UDP_WIRE_DATAGRAM_MAX);
    bool has_token = (d.hdr.flags & UDP_FLAG_TOKEN) != 0;
    check((d.hdr.flags & ~UDP_FLAGS_KNOWN) == 0);
    check(d.hdr.type >= UDP_TYPE_REQUEST && d.hdr.type <= UDP_TYPE_RETRY);
    check(d.aad_len == (has_token ? UDP_WIRE_HEADER_LEN + 1 + UDP_WIRE_TOKEN_LEN : UDP_WIRE_HEADER_LEN));
    check(d.aad_len + d.payload_len == size);
    check(has_token ? in_buffer(d.token, UDP_WIRE_TOKEN_LEN, buf, size) && d.token == buf + 33 : d.token == NULL);
    check(d.payload_len == 0 ? d.payload == NULL : d.payload == buf + d.aad_len);
    check(d.hdr.request_id != 0);
    check((d.hdr.session_id == 0) == (d.hdr.packet_number == 0));
    if (d.hdr.type == UDP_TYPE_RETRY)
        check(has_token && d.payload_len == 0 && d.hdr.session_id == 0);
    else
        check(d.payload_len > 0);

    uint8_t again[UDP_WIRE_HEADER_LEN + 1 + UDP_WIRE_TOKEN_LEN];
    check(udp_wire_encode_header(&d.hdr, d.token, again, sizeof again) == d.aad_len);
    check(memcmp(again, buf, d.aad_len) == 0);

    if (d.hdr.session_id != 0) {
        check(d.payload_len >= UDP_WIRE_TAG_LEN);
        check_open(buf, &d);
    }
    free(buf);
}

/* Arbitrary bytes are never a valid token (the MAC is checked before the time). */
static void check_token(const uint8_t *data, size_t size)
{
    if (size < UDP_WIRE_TOKEN_LEN)
        return;
    udp_token_secret_t secret;
    memset(secret.key, 0x42, sizeof secret.key);
    const uint8_t addr[4] = {127, 0, 0, 1};
    int64_t issue = 0;
    for (size_t i = 0; i < 8; i++)
        issue = (int64_t)(((uint64_t)issue << 8) | data[i]);
    check(udp_token_check(&secret, issue, AF_INET, addr, sizeof addr, 5555, data) == UDP_TOKEN_FORGED);
}

/* The longest line of text (with its LF). */
static size_t longest_line(const char *text, size_t size)
{
    size_t longest = 0, start = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '\n') {
            if (i + 1 - start > longest)
                longest = i + 1 - start;
            start = i + 1;
        }
    }
    return size - start > longest ? size - start : longest;
}

static void check_pages(const char *text, size_t size, size_t cap)
{
    char *page = malloc(cap);
    char *joined = malloc(size + 1);
    check(page != NULL && joined != NULL);
    bool no_cuts = longest_line(text, size) + 40 <= cap;
    size_t joined_len = 0;
    unsigned p = 0;
    for (;; p++) {
        check(p <= size + 1); /* every non-last page carries at least one input line */
        bool more = true;
        long n = udp_page(text, size, p, page, cap, &more);
        if (n < 0) {
            check(!more);
            check(p > 0); /* page 0 always exists */
            break;
        }
        check((size_t)n <= cap);
        if (!more) {
            if (no_cuts) {
                check(joined_len + (size_t)n <= size);
                memcpy(joined + joined_len, page, (size_t)n);
                joined_len += (size_t)n;
            }
            /* Nothing after the last page. */
            bool more_after = true;
            check(udp_page(text, size, p + 1, page, cap, &more_after) == -1 && !more_after);
            break;
        }
        char want[32];
        int ml = snprintf(want, sizeof want, "OK MORE %u\n", p + 1);
        check(ml > 0 && (size_t)ml < sizeof want && (size_t)n > (size_t)ml);
        check(memcmp(page + n - ml, want, (size_t)ml) == 0);
        if (no_cuts) {
            size_t body = (size_t)n - (size_t)ml;
            check(body > 0 && page[body - 1] == '\n');
            check(joined_len + body <= size);
            memcpy(joined + joined_len, page, body);
            joined_len += body;
        }
    }
    if (no_cuts)
        check(joined_len == size && (size == 0 || memcmp(joined, text, size) == 0));
    free(page);
    free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_token(data, size);

    char *text = malloc(size > 0 ? size : 1);
    check(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    const size_t caps[] = {64, 100 + (size > 0 ? data[0] : 0), 300, UDP_WIRE_DATAGRAM_MAX - UDP_WIRE_HEADER_LEN};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        check_pages(text, size, caps[i]);
    /* Below the minimum capacity nothing is written. */
    bool more = true;
    char tiny[63];
    check(udp_page(text, size, 0, tiny, sizeof tiny, &more) == -1 && !more);
    free(text);
    return 0;
}
