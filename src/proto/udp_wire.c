/* udp_wire: the SHOP/1 datagram format (docs/PROTOCOL.md §7) — decoding and validating a
 * datagram, encoding a header, making and checking address-validation tokens (one-shot, or with
 * a caller-owned cache of per-epoch keys), and cutting a reply text into pages that fit one
 * datagram. Pure: caller-owned buffers and caches, times passed in, no I/O, no threads, no
 * global state. */

#include "proto/udp_wire.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h> /* AF_INET, AF_INET6: constants only */

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

/* Offsets of the header fields (spec table). */
#define OFF_MAGIC 0
#define OFF_TYPE 4
#define OFF_FLAGS 5
#define OFF_PAGE 6
#define OFF_SESSION 8
#define OFF_PN 16
#define OFF_REQUEST 24

/* Tokens: issue time (8 bytes) then the first TOKEN_MAC_LEN bytes of the HMAC. */
#define TOKEN_TIME_LEN 8
#define TOKEN_MAC_LEN (UDP_WIRE_TOKEN_LEN - TOKEN_TIME_LEN)
#define TOKEN_EPOCH_SECONDS 60
/* A token issued up to this many seconds "in the future" is still accepted (workers read the
 * clock at slightly different moments). */
#define TOKEN_SKEW_SECONDS 5
#define SHA256_LEN 32
/* MAC input: issue time (8), family byte (1), address (up to 16), port (2). */
#define TOKEN_MAC_INPUT_MAX (TOKEN_TIME_LEN + 1 + 16 + 2)
/* Epoch keys a udp_token_keys_t holds: a valid token's epoch is the previous, the current or
 * (issued up to TOKEN_SKEW_SECONDS ahead) the next one. */
#define TOKEN_KEY_SLOTS 3

/* Paging: the smallest page capacity accepted, and what a cut line keeps (cap - PAGE_CUT_SPARE
 * bytes of it, then "...\n"). */
#define PAGE_CAP_MIN 64
#define PAGE_CUT_SPARE 40
#define PAGE_CUT_MARK "...\n"
#define PAGE_CUT_MARK_LEN (sizeof PAGE_CUT_MARK - 1)
/* "OK MORE " + up to 10 digits of an unsigned + LF + NUL. */
#define PAGE_MORE_LINE_MAX 24

/* ---------------------------------------------------------------------------------------- */
/* Bounds-checked big-endian reader over a caller's buffer. Every read either succeeds whole or
 * fails without moving. */

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} reader_t;

static size_t reader_left(const reader_t *r)
{
    return r->len - r->pos;
}

static bool read_bytes(reader_t *r, size_t n, const uint8_t **out)
{
    if (reader_left(r) < n)
        return false;
    *out = r->buf + r->pos;
    r->pos += n;
    return true;
}

static bool read_u8(reader_t *r, uint8_t *v)
{
    const uint8_t *p;
    if (!read_bytes(r, 1, &p))
        return false;
    *v = p[0];
    return true;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static bool read_be(reader_t *r, size_t n, uint64_t *v)
{
    const uint8_t *p;
    if (!read_bytes(r, n, &p))
        return false;
    *v = load_be(p, n);
    return true;
}

static void store_be(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (uint8_t)(v & 0xffu);
        v >>= 8;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Datagrams */

static bool type_known(unsigned type)
{
    return type == UDP_TYPE_REQUEST || type == UDP_TYPE_REPLY || type == UDP_TYPE_RETRY;
}

/* Checks the spec's rules in this order, so each malformed datagram has one definite result:
 * size, magic/version, type, unknown flag bits, the token (a retry must carry one: BAD_TOKEN when
 * it does not), the fields (request id 0; anonymous with packet number != 0; authenticated with
 * packet number 0; a retry that names a session: BAD_FIELDS), then the payload (a retry carries
 * none: BAD_FIELDS when it does; a request or reply with none: EMPTY; authenticated and shorter
 * than the tag: NO_TAG). On failure *out is zeroed. */
udp_wire_result_t udp_wire_decode(const uint8_t *buf, size_t len, udp_datagram_t *out)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len < UDP_WIRE_HEADER_LEN)
        return UDP_WIRE_TOO_SHORT;
    if (len > UDP_WIRE_DATAGRAM_MAX)
        return UDP_WIRE_TOO_LONG;

    reader_t r = {.buf = buf, .len = len, .pos = 0};
    uint64_t magic, page;
    uint8_t type, flags;
    udp_datagram_t d;
    memset(&d, 0, sizeof d);
    /* The header fits (len >= 32): these reads cannot fail, but are checked all the same. */
    if (!read_be(&r, 4, &magic) || !read_u8(&r, &type) || !read_u8(&r, &flags) || !read_be(&r, 2, &page) ||
        !read_be(&r, 8, &d.hdr.session_id) || !read_be(&r, 8, &d.hdr.packet_number) ||
        !read_be(&r, 8, &d.hdr.request_id))
        return UDP_WIRE_TOO_SHORT;
    if (magic != UDP_WIRE_MAGIC)
        return UDP_WIRE_BAD_MAGIC;
    if (!type_known(type))
        return UDP_WIRE_BAD_TYPE;
    if ((flags & ~UDP_FLAGS_KNOWN) != 0)
        return UDP_WIRE_BAD_FLAGS;
    d.hdr.type = (udp_type_t)type;
    d.hdr.flags = flags;
    d.hdr.page = (uint16_t)page;

    if (flags & UDP_FLAG_TOKEN) {
        uint8_t token_len;
        if (!read_u8(&r, &token_len))
            return UDP_WIRE_TOO_SHORT;
        if (token_len != UDP_WIRE_TOKEN_LEN)
            return UDP_WIRE_BAD_TOKEN;
        if (!read_bytes(&r, UDP_WIRE_TOKEN_LEN, &d.token))
            return UDP_WIRE_TOO_SHORT;
    } else if (d.hdr.type == UDP_TYPE_RETRY) {
        return UDP_WIRE_BAD_TOKEN;
    }
    d.aad_len = r.pos;

    bool authenticated = d.hdr.session_id != 0;
    if (d.hdr.request_id == 0)
        return UDP_WIRE_BAD_FIELDS;
    /* A retry is never sealed (packet number 0); it names the session of the sealed request it
     * answers, if any (§7.3). */
    if (d.hdr.type == UDP_TYPE_RETRY ? d.hdr.packet_number != 0
                                     : (authenticated ? d.hdr.packet_number == 0 : d.hdr.packet_number != 0))
        return UDP_WIRE_BAD_FIELDS;

    d.payload_len = reader_left(&r);
    d.payload = d.payload_len > 0 ? buf + r.pos : NULL;
    if (d.hdr.type == UDP_TYPE_RETRY) {
        if (d.payload_len != 0)
            return UDP_WIRE_BAD_FIELDS;
    } else if (d.payload_len == 0) {
        return UDP_WIRE_EMPTY;
    } else if (authenticated && d.payload_len < UDP_WIRE_TAG_LEN) {
        return UDP_WIRE_NO_TAG;
    }
    *out = d;
    return UDP_WIRE_OK;
}

/* Besides the contract in the header, refuses (returns 0 for) a type outside 1..3 or unknown
 * flag bits, so the encoder never writes what the decoder would drop for those reasons. */
size_t udp_wire_encode_header(const udp_header_t *hdr, const uint8_t *token, uint8_t *out, size_t cap)
{
    bool has_token = (hdr->flags & UDP_FLAG_TOKEN) != 0;
    if (has_token != (token != NULL))
        return 0;
    if (!type_known((unsigned)hdr->type) || (hdr->flags & ~UDP_FLAGS_KNOWN) != 0)
        return 0;
    size_t need = UDP_WIRE_HEADER_LEN + (has_token ? 1 + UDP_WIRE_TOKEN_LEN : 0);
    if (out == NULL || cap < need)
        return 0;

    store_be(out + OFF_MAGIC, 4, UDP_WIRE_MAGIC);
    out[OFF_TYPE] = (uint8_t)hdr->type;
    out[OFF_FLAGS] = hdr->flags;
    store_be(out + OFF_PAGE, 2, hdr->page);
    store_be(out + OFF_SESSION, 8, hdr->session_id);
    store_be(out + OFF_PN, 8, hdr->packet_number);
    store_be(out + OFF_REQUEST, 8, hdr->request_id);
    if (has_token) {
        out[UDP_WIRE_HEADER_LEN] = UDP_WIRE_TOKEN_LEN;
        memcpy(out + UDP_WIRE_HEADER_LEN + 1, token, UDP_WIRE_TOKEN_LEN);
    }
    return need;
}

/* ---------------------------------------------------------------------------------------- */
/* Address tokens */

/* Floor division, so negative times (never expected) still fall into one epoch each. */
static int64_t token_epoch(int64_t t)
{
    int64_t q = t / TOKEN_EPOCH_SECONDS;
    return (t % TOKEN_EPOCH_SECONDS < 0) ? q - 1 : q;
}

/* The family's byte in the MAC input: 4 for AF_INET with 4 address bytes, 6 for AF_INET6 with
 * 16; 0 for anything else. */
static uint8_t family_byte(int family, const uint8_t *addr_bytes, size_t addr_len)
{
    if (addr_bytes == NULL)
        return 0;
    if (family == AF_INET && addr_len == 4)
        return 4;
    if (family == AF_INET6 && addr_len == 16)
        return 6;
    return 0;
}

/* Writes the token MAC's input, issue BE8 || family byte || address || port BE2, and returns its
 * length. addr_len is 4 or 16 (checked by family_byte). */
static size_t token_mac_input(int64_t issue, uint8_t fam, const uint8_t *addr_bytes, size_t addr_len,
                              uint16_t port, uint8_t input[static TOKEN_MAC_INPUT_MAX])
{
    size_t n = 0;
    store_be(input + n, TOKEN_TIME_LEN, (uint64_t)issue);
    n += TOKEN_TIME_LEN;
    input[n++] = fam;
    memcpy(input + n, addr_bytes, addr_len);
    n += addr_len;
    store_be(input + n, 2, port);
    n += 2;
    return n;
}

/* True when a token issued at `issue` may be used at `now`: issued no more than
 * TOKEN_SKEW_SECONDS after now, and in now's epoch or the one before. */
static bool token_time_ok(int64_t issue, int64_t now)
{
    /* issue - now computed in unsigned arithmetic: exact whenever issue > now. */
    if (issue > now && (uint64_t)issue - (uint64_t)now > TOKEN_SKEW_SECONDS)
        return false;
    return token_epoch(issue) >= token_epoch(now) - 1;
}

/* Computes the token's MAC for issue time `issue`: HMAC-SHA256(key(epoch), issue BE8 || family
 * byte || address || port BE2) with key(epoch) = HMAC-SHA256(secret, epoch BE8), truncated to
 * TOKEN_MAC_LEN bytes into mac. Returns false on a crypto failure. Intermediate keys and MACs
 * are wiped. */
static bool token_mac(const udp_token_secret_t *secret, int64_t issue, uint8_t fam, const uint8_t *addr_bytes,
                      size_t addr_len, uint16_t port, uint8_t mac[static TOKEN_MAC_LEN])
{
    uint8_t epoch_be[8];
    store_be(epoch_be, sizeof epoch_be, (uint64_t)token_epoch(issue));

    uint8_t input[TOKEN_MAC_INPUT_MAX];
    size_t n = token_mac_input(issue, fam, addr_bytes, addr_len, port, input);

    uint8_t key[SHA256_LEN], full[SHA256_LEN];
    unsigned key_len = 0, full_len = 0;
    bool ok = HMAC(EVP_sha256(), secret->key, (int)sizeof secret->key, epoch_be, sizeof epoch_be, key, &key_len) !=
                  NULL &&
              key_len == SHA256_LEN &&
              HMAC(EVP_sha256(), key, (int)key_len, input, n, full, &full_len) != NULL && full_len == SHA256_LEN;
    if (ok)
        memcpy(mac, full, TOKEN_MAC_LEN);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(full, sizeof full);
    return ok;
}

/* family is AF_INET (addr_len 4) or AF_INET6 (addr_len 16); anything else returns -1. */
int udp_token_make(const udp_token_secret_t *secret, int64_t now, int family, const uint8_t *addr_bytes,
                   size_t addr_len, uint16_t port, uint8_t out[static UDP_WIRE_TOKEN_LEN])
{
    uint8_t fam = family_byte(family, addr_bytes, addr_len);
    if (fam == 0 || secret == NULL)
        return -1;
    if (!token_mac(secret, now, fam, addr_bytes, addr_len, port, out + TOKEN_TIME_LEN))
        return -1;
    store_be(out, TOKEN_TIME_LEN, (uint64_t)now); /* the MAC went straight into the token */
    return 0;
}

/* The MAC is checked first (so an altered time byte reads as FORGED, not EXPIRED), then the
 * time: valid when issued no more than TOKEN_SKEW_SECONDS after now and in now's epoch or the
 * one before. A family/address-length mismatch or a crypto failure reads as FORGED. */
udp_token_result_t udp_token_check(const udp_token_secret_t *secret, int64_t now, int family,
                                   const uint8_t *addr_bytes, size_t addr_len, uint16_t port,
                                   const uint8_t token[static UDP_WIRE_TOKEN_LEN])
{
    uint8_t fam = family_byte(family, addr_bytes, addr_len);
    if (fam == 0 || secret == NULL)
        return UDP_TOKEN_FORGED;
    int64_t issue = (int64_t)load_be(token, TOKEN_TIME_LEN);
    uint8_t mac[TOKEN_MAC_LEN];
    if (!token_mac(secret, issue, fam, addr_bytes, addr_len, port, mac))
        return UDP_TOKEN_FORGED;
    bool same = CRYPTO_memcmp(mac, token + TOKEN_TIME_LEN, TOKEN_MAC_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (!same)
        return UDP_TOKEN_FORGED;
    return token_time_ok(issue, now) ? UDP_TOKEN_VALID : UDP_TOKEN_EXPIRED;
}

/* ---------------------------------------------------------------------------------------- */
/* Token keys cached per thread
 *
 * The one-shot path above costs two HMAC() calls per token, each of which (OpenSSL 3) fetches
 * the HMAC and SHA-256 implementations and schedules its key afresh. Here HMAC is fetched once,
 * the secret is scheduled once (secret_ctx), and each epoch's key is derived once into a slot's
 * MAC context; a token then costs one re-initialisation of that context (which restores the
 * scheduled key: OpenSSL keeps the HMAC pads) and one MAC over at most 27 bytes.
 *
 * Invariant: a slot with keyed set holds in ctx the HMAC-SHA256 key key(epoch). A slot is
 * replaced oldest epoch first; only epochs that pass token_time_ok are ever derived, and those
 * number at most TOKEN_KEY_SLOTS at any time, so the slots never thrash. */

typedef struct {
    bool keyed;
    int64_t epoch;
    EVP_MAC_CTX *ctx;
} token_key_slot_t;

struct udp_token_keys {
    EVP_MAC_CTX *secret_ctx; /* keyed with the server secret: derives key(epoch) */
    token_key_slot_t slot[TOKEN_KEY_SLOTS];
};

/* Keys ctx for HMAC-SHA256 with key[0..len). */
static bool mac_set_key(EVP_MAC_CTX *ctx, const uint8_t *key, size_t len)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_init(ctx, key, len, params) == 1;
}

/* One HMAC-SHA256 with the key ctx already holds (a NULL key re-initialises with it). */
static bool mac_with_key(EVP_MAC_CTX *ctx, const uint8_t *in, size_t len, uint8_t out[static SHA256_LEN])
{
    size_t n = 0;
    return EVP_MAC_init(ctx, NULL, 0, NULL) == 1 && EVP_MAC_update(ctx, in, len) == 1 &&
           EVP_MAC_final(ctx, out, &n, SHA256_LEN) == 1 && n == SHA256_LEN;
}

udp_token_keys_t *udp_token_keys_new(const udp_token_secret_t *secret)
{
    if (secret == NULL)
        return NULL;
    udp_token_keys_t *keys = OPENSSL_zalloc(sizeof *keys);
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    bool ok = keys != NULL && hmac != NULL;
    if (ok) {
        keys->secret_ctx = EVP_MAC_CTX_new(hmac);
        ok = keys->secret_ctx != NULL && mac_set_key(keys->secret_ctx, secret->key, sizeof secret->key);
    }
    for (size_t i = 0; ok && i < TOKEN_KEY_SLOTS; i++) {
        keys->slot[i].ctx = EVP_MAC_CTX_new(hmac);
        ok = keys->slot[i].ctx != NULL;
    }
    EVP_MAC_free(hmac); /* each context holds its own reference */
    if (!ok) {
        udp_token_keys_free(keys);
        return NULL;
    }
    return keys;
}

/* Freeing a MAC context wipes the key material it holds. */
void udp_token_keys_free(udp_token_keys_t *keys)
{
    if (keys == NULL)
        return;
    EVP_MAC_CTX_free(keys->secret_ctx);
    for (size_t i = 0; i < TOKEN_KEY_SLOTS; i++)
        EVP_MAC_CTX_free(keys->slot[i].ctx);
    OPENSSL_free(keys);
}

/* The slot keyed for epoch, deriving key(epoch) into the oldest (or an unused) slot if none is.
 * NULL on a crypto failure. */
static token_key_slot_t *epoch_slot(udp_token_keys_t *keys, int64_t epoch)
{
    token_key_slot_t *victim = &keys->slot[0];
    for (size_t i = 0; i < TOKEN_KEY_SLOTS; i++) {
        token_key_slot_t *s = &keys->slot[i];
        if (s->keyed && s->epoch == epoch)
            return s;
        if (victim->keyed && (!s->keyed || s->epoch < victim->epoch))
            victim = s;
    }
    uint8_t epoch_be[8], key[SHA256_LEN];
    store_be(epoch_be, sizeof epoch_be, (uint64_t)epoch);
    victim->keyed = false;
    bool ok = mac_with_key(keys->secret_ctx, epoch_be, sizeof epoch_be, key) &&
              mac_set_key(victim->ctx, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        return NULL;
    victim->keyed = true;
    victim->epoch = epoch;
    return victim;
}

/* token_mac with the cache: the same bytes. */
static bool keys_mac(udp_token_keys_t *keys, int64_t issue, uint8_t fam, const uint8_t *addr_bytes,
                     size_t addr_len, uint16_t port, uint8_t mac[static TOKEN_MAC_LEN])
{
    token_key_slot_t *slot = epoch_slot(keys, token_epoch(issue));
    if (slot == NULL)
        return false;
    uint8_t input[TOKEN_MAC_INPUT_MAX];
    size_t n = token_mac_input(issue, fam, addr_bytes, addr_len, port, input);
    uint8_t full[SHA256_LEN];
    bool ok = mac_with_key(slot->ctx, input, n, full);
    if (ok)
        memcpy(mac, full, TOKEN_MAC_LEN);
    else
        slot->keyed = false; /* derived afresh next time */
    OPENSSL_cleanse(full, sizeof full);
    return ok;
}

int udp_token_keys_make(udp_token_keys_t *keys, int64_t now, int family, const uint8_t *addr_bytes,
                        size_t addr_len, uint16_t port, uint8_t out[static UDP_WIRE_TOKEN_LEN])
{
    uint8_t fam = family_byte(family, addr_bytes, addr_len);
    if (fam == 0 || keys == NULL)
        return -1;
    if (!keys_mac(keys, now, fam, addr_bytes, addr_len, port, out + TOKEN_TIME_LEN))
        return -1;
    store_be(out, TOKEN_TIME_LEN, (uint64_t)now); /* the MAC went straight into the token */
    return 0;
}

/* The time first (EXPIRED, no key derived for an impossible epoch), then the MAC in constant
 * time. A family/address-length mismatch or a crypto failure reads as FORGED. */
udp_token_result_t udp_token_keys_check(udp_token_keys_t *keys, int64_t now, int family,
                                        const uint8_t *addr_bytes, size_t addr_len, uint16_t port,
                                        const uint8_t token[static UDP_WIRE_TOKEN_LEN])
{
    uint8_t fam = family_byte(family, addr_bytes, addr_len);
    if (fam == 0 || keys == NULL)
        return UDP_TOKEN_FORGED;
    int64_t issue = (int64_t)load_be(token, TOKEN_TIME_LEN);
    if (!token_time_ok(issue, now))
        return UDP_TOKEN_EXPIRED;
    uint8_t mac[TOKEN_MAC_LEN];
    if (!keys_mac(keys, issue, fam, addr_bytes, addr_len, port, mac))
        return UDP_TOKEN_FORGED;
    bool same = CRYPTO_memcmp(mac, token + TOKEN_TIME_LEN, TOKEN_MAC_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return same ? UDP_TOKEN_VALID : UDP_TOKEN_FORGED;
}

/* ---------------------------------------------------------------------------------------- */
/* Paging
 *
 * A reply is data lines [0, final_start) and the final line [final_start, len). When the whole
 * reply fits in cap it is page 0 and the only page. Otherwise pages are cut greedily from the
 * start: at each page, if the remaining data lines and the final line fit, this is the last page;
 * if not, the page takes as many whole data lines as fit with its "OK MORE <next>\n" line. A data
 * line that does not fit on a page by itself with the MORE line (or a final line longer than cap)
 * is cut to cap - PAGE_CUT_SPARE bytes (backed off to a UTF-8 boundary) followed by "...\n".
 * Page N is found by replaying the cut from page 0, so the result depends only on the input. */

/* Length of the line starting at p, through its LF or to end. */
static size_t line_len(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    return lf != NULL ? (size_t)(lf - p) + 1 : (size_t)(end - p);
}

/* Bytes of a line kept when it is cut for cap: cap - PAGE_CUT_SPARE, less any trailing partial
 * UTF-8 sequence (at most 3 continuation bytes are backed off). */
static size_t cut_keep(const char *line, size_t len, size_t cap)
{
    size_t keep = cap - PAGE_CUT_SPARE;
    if (keep >= len) /* not reached: only lines longer than that are cut */
        return len;
    for (int i = 0; i < 3 && keep > 0 && ((unsigned char)line[keep] & 0xC0u) == 0x80u; i++)
        keep--;
    return keep;
}

/* Appends a line to the page, cut when cut is set. Capacity was checked by the caller. */
static size_t put_line(char *out, size_t at, const char *line, size_t len, bool cut, size_t cap)
{
    if (!cut) {
        memcpy(out + at, line, len);
        return at + len;
    }
    size_t keep = cut_keep(line, len, cap);
    memcpy(out + at, line, keep);
    memcpy(out + at + keep, PAGE_CUT_MARK, PAGE_CUT_MARK_LEN);
    return at + keep + PAGE_CUT_MARK_LEN;
}

/* The length a line takes on a page: whole, or cut. */
static size_t line_cost(const char *line, size_t len, bool cut, size_t cap)
{
    return cut ? cut_keep(line, len, cap) + PAGE_CUT_MARK_LEN : len;
}

long udp_page(const char *reply, size_t reply_len, unsigned page, char *out, size_t cap, bool *more)
{
    if (more != NULL)
        *more = false;
    if (cap < PAGE_CAP_MIN || out == NULL || more == NULL || (reply == NULL && reply_len > 0) ||
        cap > (size_t)LONG_MAX)
        return -1;
    if (reply_len <= cap) {
        if (page != 0)
            return -1;
        if (reply_len > 0)
            memcpy(out, reply, reply_len);
        return (long)reply_len;
    }

    /* The final line starts after the last LF that is not the reply's last byte. */
    size_t final_start = 0;
    for (size_t i = reply_len - 1; i > 0; i--) {
        if (reply[i - 1] == '\n') {
            final_start = i;
            break;
        }
    }
    const char *final_line = reply + final_start;
    size_t final_len = reply_len - final_start;
    bool final_cut = final_len > cap;
    size_t final_cost = line_cost(final_line, final_len, final_cut, cap);

    size_t pos = 0;
    for (unsigned p = 0;; p++) {
        if (final_start - pos + final_cost <= cap) { /* the last page */
            if (p != page)
                return -1;
            size_t at = 0;
            memcpy(out, reply + pos, final_start - pos);
            at += final_start - pos;
            at = put_line(out, at, final_line, final_len, final_cut, cap);
            return (long)at;
        }
        if (p == UINT_MAX) /* unreachable: fewer pages than bytes; keeps p + 1 exact */
            return -1;

        char more_line[PAGE_MORE_LINE_MAX];
        int more_len = snprintf(more_line, sizeof more_line, "OK MORE %u\n", p + 1);
        if (more_len < 0 || (size_t)more_len >= sizeof more_line)
            return -1;
        size_t budget = cap - (size_t)more_len; /* >= cap - 19 > cap - PAGE_CUT_SPARE */

        /* Whole data lines while they fit; at least one (cut if need be). Here pos < final_start:
         * with no data left the final line alone always fits (cut to under cap). */
        size_t used = 0, take_end = pos;
        bool first_cut = false;
        while (take_end < final_start) {
            size_t n = line_len(reply + take_end, reply + final_start);
            if (used + n > budget) {
                if (take_end == pos) {
                    first_cut = true;
                    used = line_cost(reply + take_end, n, true, cap);
                    take_end += n;
                }
                break;
            }
            used += n;
            take_end += n;
        }

        if (p == page) {
            size_t at;
            if (first_cut)
                at = put_line(out, 0, reply + pos, take_end - pos, true, cap);
            else {
                memcpy(out, reply + pos, take_end - pos);
                at = take_end - pos;
            }
            memcpy(out + at, more_line, (size_t)more_len);
            at += (size_t)more_len;
            *more = true;
            return (long)at;
        }
        pos = take_end;
    }
}
