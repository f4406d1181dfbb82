/* certs: generates the shop's local CA, the server key, its CSR and the CA-issued server certificate
 * with the OpenSSL 3 C API, and writes them safely into the data directory and, for the CA's key,
 * the CA directory (see certs.h).
 *
 * Order of work, so that a failure leaves nothing half-made:
 *   1. validate every subjectAltName;                 (build_sans)
 *   2. refuse early if a file exists and !force;      (refuse_existing)
 *   3. generate keys, CA cert, CSR, server cert;      (all in memory)
 *   4. render each as PEM into a cleansing buffer;    (render_pem)
 *   5. write each to a 0600/0644 temp file + fsync;   (write_temp)
 *   6. rename each into place (no-replace unless force), fsync the directories. (publish) */
#include "server/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CA_COMMON_NAME     "netshop local CA"
#define SERVER_COMMON_NAME "localhost"
#define SERIAL_BITS        128
#define DNS_LABEL_MAX      63
#define TMP_NAME_MAX       64
#define TMP_CREATE_TRIES   8
#define SAN_QUOTE_MAX      80 /* how much of a rejected name is quoted back in err */

enum file_index { F_CA_KEY, F_CA_CRT, F_SERVER_KEY, F_SERVER_CSR, F_SERVER_CRT, N_FILES };

/* One file of the set on its way to disk. */
struct output {
    const char *name;       /* final name inside dir */
    bool in_ca_dir;         /* written to ca_dir, not dir */
    int dirfd;              /* the directory it goes to (borrowed from certs_create) */
    const char *dir;        /* its path, for messages */
    mode_t mode;            /* final mode, set at open(2) time */
    BIO *pem;               /* PEM text; a secure-memory BIO, cleansed when freed */
    char tmp[TMP_NAME_MAX]; /* temporary name inside dir while it exists, else "" */
    bool published;         /* renamed to `name` by this call */
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    /* A message longer than err is cut short on purpose: it is for humans. */
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Like set_err, then appends ": " and the most specific OpenSSL error queued on this thread, and
 * empties the thread's OpenSSL error queue. */
__attribute__((format(printf, 3, 4)))
static void set_ossl_err(char *err, size_t errlen, const char *fmt, ...)
{
    char what[512];
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof what, fmt, ap); /* truncation only shortens the message */
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof detail);
    else
        (void)snprintf(detail, sizeof detail, "no OpenSSL error detail");
    ERR_clear_error();
    set_err(err, errlen, "%s: %s", what, detail);
}

/* ---- subjectAltNames ------------------------------------------------------------------------ */

static bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_ascii_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_ascii_digit(c) || c == '-';
}

/* Returns NULL if `name` is acceptable as a DNS subjectAltName, else a static reason why not. */
static const char *dns_name_problem(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "empty name";
    if (len > CERTS_MAX_DNS_NAME)
        return "longer than 253 characters";

    size_t labels = 0;
    bool wildcard = false;
    bool last_numeric = false;
    const char *label = name;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t n = dot != NULL ? (size_t)(dot - label) : strlen(label);
        if (n == 0)
            return "empty label (leading, trailing or double '.')";
        if (n > DNS_LABEL_MAX)
            return "label longer than 63 characters";
        if (n == 1 && label[0] == '*') {
            if (labels != 0)
                return "'*' is allowed only as the first label";
            wildcard = true;
            last_numeric = false;
        } else {
            bool numeric = true;
            for (size_t i = 0; i < n; i++) {
                if (label[i] == '*')
                    return "'*' is allowed only as the whole first label";
                if (!is_ascii_ldh(label[i]))
                    return "only letters, digits, '-' and '.' are allowed";
                if (!is_ascii_digit(label[i]))
                    numeric = false;
            }
            if (label[0] == '-' || label[n - 1] == '-')
                return "a label may not begin or end with '-'";
            last_numeric = numeric;
        }
        labels++;
        if (dot == NULL)
            break;
        label = dot + 1;
    }
    if (wildcard && labels < 3)
        return "a wildcard needs at least two labels after '*'";
    if (last_numeric)
        return "neither an IP address nor a DNS name (numeric last label)";
    return NULL;
}

/* Appends an IP general name unless an equal one is present. Returns 0, or -1 on allocation failure. */
static int add_ip_name(GENERAL_NAMES *names, const unsigned char *addr, int len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == len
            && memcmp(ASN1_STRING_get0_data(g->d.iPAddress), addr, (size_t)len) == 0)
            return 0;
    }
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    if (gen == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, addr, len)) {
        GENERAL_NAME_free(gen);
        ASN1_OCTET_STRING_free(os);
        return -1;
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, os);
    if (sk_GENERAL_NAME_push(names, gen) <= 0) {
        GENERAL_NAME_free(gen);
        return -1;
    }
    return 0;
}

/* Appends a DNS general name unless an equal one (ignoring case) is present. Returns 0 or -1. */
static int add_dns_name(GENERAL_NAMES *names, const char *dns)
{
    size_t len = strlen(dns);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS && (size_t)ASN1_STRING_length(g->d.dNSName) == len
            && strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), dns, len) == 0)
            return 0;
    }
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    if (gen == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, dns, (int)len)) {
        GENERAL_NAME_free(gen);
        ASN1_IA5STRING_free(ia5);
        return -1;
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(names, gen) <= 0) {
        GENERAL_NAME_free(gen);
        return -1;
    }
    return 0;
}

/* Classifies `text` as IPv4, IPv6 or DNS name, validates it and appends it to names.
 * Returns 0, or -1 with err filled. */
static int add_san_text(GENERAL_NAMES *names, const char *text, char *err, size_t errlen)
{
    unsigned char addr[16];
    int rc;

    if (inet_pton(AF_INET, text, addr) == 1) {
        rc = add_ip_name(names, addr, 4);
    } else if (inet_pton(AF_INET6, text, addr) == 1) {
        rc = add_ip_name(names, addr, 16);
    } else {
        const char *problem = dns_name_problem(text);
        if (problem != NULL) {
            set_err(err, errlen, "invalid subjectAltName \"%.*s\"%s: %s", SAN_QUOTE_MAX, text,
                    strlen(text) > SAN_QUOTE_MAX ? "..." : "", problem);
            return -1;
        }
        rc = add_dns_name(names, text);
    }
    if (rc != 0)
        set_ossl_err(err, errlen, "cannot add subjectAltName \"%.*s\"", SAN_QUOTE_MAX, text);
    return rc;
}

/* Returns the server's subjectAltNames (built-ins first, then extras, without duplicates), owned by
 * the caller (free with sk_GENERAL_NAME_pop_free(.., GENERAL_NAME_free)), or NULL with err filled. */
static GENERAL_NAMES *build_sans(const char *const *extra, size_t n_extra, char *err, size_t errlen)
{
    static const char *const builtin[] = { "localhost", "127.0.0.1", "::1" };
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();

    if (names == NULL) {
        set_ossl_err(err, errlen, "cannot allocate subjectAltNames");
        return NULL;
    }
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (add_san_text(names, builtin[i], err, errlen) != 0)
            goto fail;
    for (size_t i = 0; i < n_extra; i++) {
        if (extra[i] == NULL) {
            set_err(err, errlen, "subjectAltName %zu is missing (NULL)", i + 1);
            goto fail;
        }
        if (add_san_text(names, extra[i], err, errlen) != 0)
            goto fail;
    }
    return names;
fail:
    sk_GENERAL_NAME_pop_free(names, GENERAL_NAME_free);
    return NULL;
}

/* ---- certificate building ------------------------------------------------------------------- */

/* Returns a fresh name with the single entry CN=cn, owned by the caller, or NULL. */
static X509_NAME *make_cn_name(const char *cn)
{
    X509_NAME *name = X509_NAME_new();
    if (name != NULL && !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                    (const unsigned char *)cn, -1, -1, 0)) {
        X509_NAME_free(name);
        return NULL;
    }
    return name;
}

/* Gives x a uniformly random, positive (non-zero) serial of at most 128 bits. Returns 1 or 0. */
static int set_random_serial(X509 *x)
{
    int ok = 0;
    BIGNUM *bn = BN_new();
    if (bn == NULL)
        goto out;
    do {
        if (!BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
            goto out;
    } while (BN_is_zero(bn));
    if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    ok = 1;
out:
    BN_free(bn);
    return ok;
}

/* notBefore = now - CERTS_BACKDATE_SECONDS, notAfter = now + days. Returns 1 or 0. */
static int set_validity(X509 *x, time_t now, int days)
{
    return X509_time_adj_ex(X509_getm_notBefore(x), 0, -(long)CERTS_BACKDATE_SECONDS, &now) != NULL
        && X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) != NULL;
}

/* Adds one extension given in openssl.cnf syntax (e.g. "critical,CA:TRUE"). Returns 1 or 0. */
static int add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (ext == NULL)
        return 0;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Appends to `subtrees` a permitted subtree for the subjectAltName `san`, unless an equal one is
 * there: a DNS name permits itself and its subdomains ("*.example.com" becomes "example.com"); an
 * IP address permits that single address (mask all ones). Returns 1 or 0. */
static int add_permitted_subtree(STACK_OF(GENERAL_SUBTREE) *subtrees, const GENERAL_NAME *san)
{
    unsigned char buf[32];
    GENERAL_NAME *base = NULL;
    GENERAL_SUBTREE *sub = NULL;

    if (san->type == GEN_DNS) {
        const char *name = (const char *)ASN1_STRING_get0_data(san->d.dNSName);
        int len = ASN1_STRING_length(san->d.dNSName);
        if (len > 2 && name[0] == '*' && name[1] == '.') {
            name += 2;
            len -= 2;
        }
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        if (ia5 == NULL || !ASN1_STRING_set(ia5, name, len) || (base = GENERAL_NAME_new()) == NULL) {
            ASN1_IA5STRING_free(ia5);
            return 0;
        }
        GENERAL_NAME_set0_value(base, GEN_DNS, ia5);
    } else if (san->type == GEN_IPADD) {
        int len = ASN1_STRING_length(san->d.iPAddress);
        if (len != 4 && len != 16)
            return 0;
        memcpy(buf, ASN1_STRING_get0_data(san->d.iPAddress), (size_t)len);
        memset(buf + len, 0xff, (size_t)len);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        if (os == NULL || !ASN1_OCTET_STRING_set(os, buf, 2 * len) || (base = GENERAL_NAME_new()) == NULL) {
            ASN1_OCTET_STRING_free(os);
            return 0;
        }
        GENERAL_NAME_set0_value(base, GEN_IPADD, os);
    } else {
        return 0;
    }
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); i++) {
        if (GENERAL_NAME_cmp(sk_GENERAL_SUBTREE_value(subtrees, i)->base, base) == 0) {
            GENERAL_NAME_free(base);
            return 1;
        }
    }
    if ((sub = GENERAL_SUBTREE_new()) == NULL) {
        GENERAL_NAME_free(base);
        return 0;
    }
    GENERAL_NAME_free(sub->base);
    sub->base = base;
    if (sk_GENERAL_SUBTREE_push(subtrees, sub) <= 0) {
        GENERAL_SUBTREE_free(sub);
        return 0;
    }
    return 1;
}

/* Adds to the CA certificate a critical nameConstraints extension that permits only the server's
 * subjectAltNames (see add_permitted_subtree): a stolen CA key cannot issue for anything else.
 * Returns 1 or 0. */
static int add_name_constraints(X509 *ca, const GENERAL_NAMES *sans)
{
    int ok = 0;
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    if (nc == NULL || (nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
        goto out;
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++)
        if (!add_permitted_subtree(nc->permittedSubtrees, sk_GENERAL_NAME_value(sans, i)))
            goto out;
    ok = X509_add1_ext_i2d(ca, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) == 1;
out:
    NAME_CONSTRAINTS_free(nc);
    return ok;
}

/* Returns the self-signed CA certificate for ca_key, constrained to the names in `sans`, owned by
 * the caller, or NULL with err filled. */
static X509 *make_ca_cert(EVP_PKEY *ca_key, const GENERAL_NAMES *sans, time_t now, char *err,
                          size_t errlen)
{
    X509 *result = NULL;
    X509_NAME *name = NULL;
    X509 *ca = X509_new();
    X509V3_CTX ctx;

    if (ca == NULL || !X509_set_version(ca, X509_VERSION_3) || !set_random_serial(ca)
        || (name = make_cn_name(CA_COMMON_NAME)) == NULL || !X509_set_subject_name(ca, name)
        || !X509_set_issuer_name(ca, name) || !set_validity(ca, now, CERTS_CA_DAYS)
        || !X509_set_pubkey(ca, ca_key)) {
        set_ossl_err(err, errlen, "cannot build the CA certificate");
        goto out;
    }
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    if (!add_conf_ext(ca, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        || !add_conf_ext(ca, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign")
        || !add_conf_ext(ca, &ctx, NID_subject_key_identifier, "hash")
        || !add_name_constraints(ca, sans)) {
        set_ossl_err(err, errlen, "cannot add the CA certificate's extensions");
        goto out;
    }
    if (X509_sign(ca, ca_key, EVP_sha256()) <= 0) {
        set_ossl_err(err, errlen, "cannot sign the CA certificate");
        goto out;
    }
    result = ca;
    ca = NULL;
out:
    X509_NAME_free(name);
    X509_free(ca);
    return result;
}

/* Returns a CSR for CN=localhost with key's public key, requesting `sans`, signed by key; owned by the
 * caller, or NULL with err filled. */
static X509_REQ *make_csr(EVP_PKEY *key, GENERAL_NAMES *sans, char *err, size_t errlen)
{
    X509_REQ *result = NULL;
    X509_NAME *name = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_EXTENSION *san = NULL;
    X509_REQ *req = X509_REQ_new();

    if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1)
        || (name = make_cn_name(SERVER_COMMON_NAME)) == NULL
        || !X509_REQ_set_subject_name(req, name) || !X509_REQ_set_pubkey(req, key)) {
        set_ossl_err(err, errlen, "cannot build the server CSR");
        goto out;
    }
    if ((exts = sk_X509_EXTENSION_new_null()) == NULL
        || (san = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans)) == NULL
        || sk_X509_EXTENSION_push(exts, san) <= 0) {
        set_ossl_err(err, errlen, "cannot encode the server CSR's subjectAltName");
        goto out;
    }
    san = NULL; /* owned by exts now */
    if (!X509_REQ_add_extensions(req, exts)) {
        set_ossl_err(err, errlen, "cannot add the extension request to the server CSR");
        goto out;
    }
    if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
        set_ossl_err(err, errlen, "cannot sign the server CSR");
        goto out;
    }
    result = req;
    req = NULL;
out:
    X509_EXTENSION_free(san);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return result;
}

/* Issues the server certificate from `req` (whose signature is checked first) with the CA: subject
 * and key from the CSR, subjectAltName copied from its extension request, every other extension set
 * here. Returns the certificate, owned by the caller, or NULL with err filled. */
static X509 *issue_server_cert(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key, time_t now, char *err,
                               size_t errlen)
{
    X509 *result = NULL;
    STACK_OF(X509_EXTENSION) *req_exts = NULL;
    X509 *crt = NULL;
    X509V3_CTX ctx;
    EVP_PKEY *req_key = X509_REQ_get0_pubkey(req);

    if (req_key == NULL || X509_REQ_verify(req, req_key) != 1) {
        set_ossl_err(err, errlen, "the server CSR's signature does not verify");
        goto out;
    }
    if ((crt = X509_new()) == NULL || !X509_set_version(crt, X509_VERSION_3)
        || !set_random_serial(crt) || !X509_set_subject_name(crt, X509_REQ_get_subject_name(req))
        || !X509_set_issuer_name(crt, X509_get_subject_name(ca))
        || !set_validity(crt, now, CERTS_SERVER_DAYS) || !X509_set_pubkey(crt, req_key)) {
        set_ossl_err(err, errlen, "cannot build the server certificate");
        goto out;
    }
    X509V3_set_ctx(&ctx, ca, crt, req, NULL, 0);
    if (!add_conf_ext(crt, &ctx, NID_basic_constraints, "critical,CA:FALSE")
        || !add_conf_ext(crt, &ctx, NID_key_usage, "critical,digitalSignature")
        || !add_conf_ext(crt, &ctx, NID_ext_key_usage, "serverAuth")
        || !add_conf_ext(crt, &ctx, NID_subject_key_identifier, "hash")
        || !add_conf_ext(crt, &ctx, NID_authority_key_identifier, "keyid:always")) {
        set_ossl_err(err, errlen, "cannot add the server certificate's extensions");
        goto out;
    }
    req_exts = X509_REQ_get_extensions(req);
    int idx = req_exts != NULL ? X509v3_get_ext_by_NID(req_exts, NID_subject_alt_name, -1) : -1;
    if (idx < 0) {
        set_err(err, errlen, "the server CSR requests no subjectAltName");
        goto out;
    }
    if (!X509_add_ext(crt, sk_X509_EXTENSION_value(req_exts, idx), -1)) {
        set_ossl_err(err, errlen, "cannot copy the CSR's subjectAltName");
        goto out;
    }
    if (X509_sign(crt, ca_key, EVP_sha256()) <= 0) {
        set_ossl_err(err, errlen, "cannot sign the server certificate");
        goto out;
    }
    result = crt;
    crt = NULL;
out:
    sk_X509_EXTENSION_pop_free(req_exts, X509_EXTENSION_free);
    X509_free(crt);
    return result;
}

/* ---- files ---------------------------------------------------------------------------------- */

/* Renders the five objects as PEM into outs[].pem (secure-memory BIOs, cleansed on free; keys as
 * unencrypted PKCS#8). Returns 0, or -1 with err filled. */
static int render_pem(struct output outs[static N_FILES], EVP_PKEY *ca_key, X509 *ca,
                      EVP_PKEY *server_key, X509_REQ *csr, X509 *server_crt, char *err,
                      size_t errlen)
{
    for (int i = 0; i < N_FILES; i++) {
        if ((outs[i].pem = BIO_new(BIO_s_secmem())) == NULL) {
            set_ossl_err(err, errlen, "cannot allocate a PEM buffer");
            return -1;
        }
    }
    if (!PEM_write_bio_PKCS8PrivateKey(outs[F_CA_KEY].pem, ca_key, NULL, NULL, 0, NULL, NULL)
        || !PEM_write_bio_X509(outs[F_CA_CRT].pem, ca)
        || !PEM_write_bio_PKCS8PrivateKey(outs[F_SERVER_KEY].pem, server_key, NULL, NULL, 0, NULL,
                                          NULL)
        || !PEM_write_bio_X509_REQ(outs[F_SERVER_CSR].pem, csr)
        || !PEM_write_bio_X509(outs[F_SERVER_CRT].pem, server_crt)) {
        set_ossl_err(err, errlen, "cannot encode the keys and certificates as PEM");
        return -1;
    }
    return 0;
}

/* Writes all of buf to fd, retrying on EINTR and short writes. Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates a new temporary file next to o->name (O_CREAT|O_EXCL, mode o->mode from the start),
 * writes o->pem into it and fsyncs it. On success o->tmp names it. Returns 0, or -1 with err filled
 * and no temporary file left. */
static int write_temp(struct output *o, char *err, size_t errlen)
{
    int dirfd = o->dirfd;
    const char *dir = o->dir;
    int fd = -1;
    char *data = NULL;
    long len;

    for (int attempt = 0; attempt < TMP_CREATE_TRIES && fd < 0; attempt++) {
        unsigned char rnd[8];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            set_ossl_err(err, errlen, "cannot pick a temporary file name");
            return -1;
        }
        int n = snprintf(o->tmp, sizeof o->tmp, ".%s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", o->name,
                         rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        if (n < 0 || (size_t)n >= sizeof o->tmp) {
            o->tmp[0] = '\0';
            set_err(err, errlen, "temporary file name for %s too long", o->name);
            return -1;
        }
        fd = openat(dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o->mode);
        if (fd < 0 && errno != EEXIST) {
            set_err(err, errlen, "cannot create %s/%s: %s", dir, o->tmp, strerror(errno));
            o->tmp[0] = '\0';
            return -1;
        }
    }
    if (fd < 0) {
        set_err(err, errlen, "cannot create a temporary file for %s/%s", dir, o->name);
        o->tmp[0] = '\0';
        return -1;
    }
    /* The umask may have narrowed the mode given to openat; set it exactly (never wider than that
     * for keys, which are created 0600). */
    if (fchmod(fd, o->mode) != 0) {
        set_err(err, errlen, "cannot set the mode of %s/%s: %s", dir, o->tmp, strerror(errno));
        goto fail;
    }
    len = BIO_get_mem_data(o->pem, &data);
    if (len <= 0 || data == NULL) {
        set_err(err, errlen, "nothing to write for %s", o->name);
        goto fail;
    }
    if (write_all(fd, data, (size_t)len) != 0 || fsync(fd) != 0) {
        set_err(err, errlen, "cannot write %s/%s: %s", dir, o->tmp, strerror(errno));
        goto fail;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        set_err(err, errlen, "cannot write %s/%s: %s", dir, o->tmp, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        (void)close(fd);
    (void)unlinkat(dirfd, o->tmp, 0);
    o->tmp[0] = '\0';
    return -1;
}

/* Renames o->tmp to o->name. Without force the rename never replaces an existing file (renameat2
 * RENAME_NOREPLACE, or link(2) where the file system lacks it). Returns 0, or -1 with err filled. */
static int publish(struct output *o, bool force, char *err, size_t errlen)
{
    int dirfd = o->dirfd;
    const char *dir = o->dir;
    int rc;
    if (force) {
        rc = renameat(dirfd, o->tmp, dirfd, o->name);
    } else {
        rc = renameat2(dirfd, o->tmp, dirfd, o->name, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            rc = linkat(dirfd, o->tmp, dirfd, o->name, 0);
            if (rc == 0)
                (void)unlinkat(dirfd, o->tmp, 0);
        }
    }
    if (rc != 0) {
        if (errno == EEXIST)
            set_err(err, errlen, "%s/%s appeared while certificates were being made; not replacing "
                    "it without force", dir, o->name);
        else
            set_err(err, errlen, "cannot rename %s/%s to %s: %s", dir, o->tmp, o->name,
                    strerror(errno));
        return -1;
    }
    o->tmp[0] = '\0';
    o->published = true;
    return 0;
}

/* Returns 0 if none of the outputs exists in dir, else -1 with err naming the first that does. */
static int refuse_existing(const struct output outs[static N_FILES], char *err, size_t errlen)
{
    for (int i = 0; i < N_FILES; i++) {
        struct stat st;
        if (fstatat(outs[i].dirfd, outs[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            set_err(err, errlen, "%s/%s already exists; not replacing certificates without force",
                    outs[i].dir, outs[i].name);
            return -1;
        }
        if (errno != ENOENT) {
            set_err(err, errlen, "cannot check %s/%s: %s", outs[i].dir, outs[i].name,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Opens the directory `dir` for the *at calls. Returns the descriptor, or -1 with err filled. */
static int open_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        set_err(err, errlen, "cannot open directory %s: %s", dir, strerror(errno));
    return fd;
}

/* ---- entry point ---------------------------------------------------------------------------- */

int certs_create(const char *dir, const char *ca_dir, const char *const *extra_sans,
                 size_t n_extra, bool force, char *err, size_t errlen)
{
    int rc = -1;
    int dirfd = -1, ca_dirfd = -1;
    GENERAL_NAMES *sans = NULL;
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *server_key = NULL;
    X509 *ca = NULL;
    X509_REQ *csr = NULL;
    X509 *server_crt = NULL;
    struct output outs[N_FILES] = {
        [F_CA_KEY] = { .name = CERTS_CA_KEY, .mode = 0600, .in_ca_dir = true },
        [F_CA_CRT] = { .name = CERTS_CA_CRT, .mode = 0644 },
        [F_SERVER_KEY] = { .name = CERTS_SERVER_KEY, .mode = 0600 },
        [F_SERVER_CSR] = { .name = CERTS_SERVER_CSR, .mode = 0644 },
        [F_SERVER_CRT] = { .name = CERTS_SERVER_CRT, .mode = 0644 },
    };

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (dir == NULL || ca_dir == NULL || (n_extra > 0 && extra_sans == NULL)) {
        set_err(err, errlen, "certs_create: no directory or no subjectAltName array");
        goto out;
    }
    if (n_extra > CERTS_MAX_EXTRA_SANS) {
        set_err(err, errlen, "too many subjectAltNames: %zu (at most %d)", n_extra,
                CERTS_MAX_EXTRA_SANS);
        goto out;
    }
    if ((sans = build_sans(extra_sans, n_extra, err, errlen)) == NULL)
        goto out;
    if ((dirfd = open_dir(dir, err, errlen)) < 0 || (ca_dirfd = open_dir(ca_dir, err, errlen)) < 0)
        goto out;
    for (int i = 0; i < N_FILES; i++) {
        outs[i].dirfd = outs[i].in_ca_dir ? ca_dirfd : dirfd;
        outs[i].dir = outs[i].in_ca_dir ? ca_dir : dir;
    }
    if (!force && refuse_existing(outs, err, errlen) != 0)
        goto out;

    if ((ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL
        || (server_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
        set_ossl_err(err, errlen, "cannot generate an EC P-256 key");
        goto out;
    }
    time_t now = time(NULL);
    if ((ca = make_ca_cert(ca_key, sans, now, err, errlen)) == NULL
        || (csr = make_csr(server_key, sans, err, errlen)) == NULL
        || (server_crt = issue_server_cert(csr, ca, ca_key, now, err, errlen)) == NULL)
        goto out;
    if (render_pem(outs, ca_key, ca, server_key, csr, server_crt, err, errlen) != 0)
        goto out;

    for (int i = 0; i < N_FILES; i++)
        if (write_temp(&outs[i], err, errlen) != 0)
            goto out;
    for (int i = 0; i < N_FILES; i++)
        if (publish(&outs[i], force, err, errlen) != 0)
            goto out;
    if (fsync(dirfd) != 0 || fsync(ca_dirfd) != 0) {
        set_err(err, errlen, "cannot sync directory %s or %s: %s", dir, ca_dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < N_FILES; i++) {
        if (outs[i].tmp[0] != '\0')
            (void)unlinkat(outs[i].dirfd, outs[i].tmp, 0);
        /* Without force, a failed call leaves no file of its own set behind; files it did not
         * create are never touched. With force the old files are already gone. */
        if (rc != 0 && !force && outs[i].published)
            (void)unlinkat(outs[i].dirfd, outs[i].name, 0);
        BIO_free(outs[i].pem);
    }
    if (dirfd >= 0)
        (void)close(dirfd);
    if (ca_dirfd >= 0)
        (void)close(ca_dirfd);
    X509_free(server_crt);
    X509_REQ_free(csr);
    X509_free(ca);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(ca_key);
    if (sans != NULL)
        sk_GENERAL_NAME_pop_free(sans, GENERAL_NAME_free);
    ERR_clear_error();
    return rc;
}
