/* certs: makes the shop's local CA and the server's key, CSR and certificate (`netshopd init`)
 * with the OpenSSL 3 C API. Owns the file names, algorithms, extensions and lifetimes of those
 * five files; nothing else in the server creates key material. */
#ifndef NETSHOP_SERVER_CERTS_H
#define NETSHOP_SERVER_CERTS_H

#include <stdbool.h>
#include <stddef.h>

/* File names: ca.key inside the CA directory, the others inside the data directory. */
#define CERTS_CA_KEY     "ca.key"
#define CERTS_CA_CRT     "ca.crt"
#define CERTS_SERVER_KEY "server.key"
#define CERTS_SERVER_CSR "server.csr"
#define CERTS_SERVER_CRT "server.crt"

/* Most extra subjectAltNames accepted on top of the built-in localhost, 127.0.0.1 and ::1. */
#define CERTS_MAX_EXTRA_SANS 64
/* Longest DNS name accepted as a subjectAltName (RFC 1035, without the trailing dot). */
#define CERTS_MAX_DNS_NAME 253

/* Lifetimes and clock-skew allowance. */
#define CERTS_CA_DAYS          730 /* two years: then `netshopd init --force` makes a new CA */
#define CERTS_SERVER_DAYS      397 /* the CA/Browser Forum's maximum for public server certificates */
#define CERTS_BACKDATE_SECONDS 3600 /* notBefore is this far in the past */

/* Creates the five files named above: ca.key in the existing directory `ca_dir` (which `init` keeps
 * apart from the data directory, so that a serving process never holds the CA's key; ca_dir may be
 * `dir`, then all five are in one place), the other four in the existing directory `dir`:
 *   ca.key, server.key  ECDSA P-256 private keys, PEM PKCS#8, mode 0600 from the moment they exist;
 *   ca.crt              self-signed CA "netshop local CA", 2 years; basicConstraints critical
 *                       CA:TRUE, pathlen:0 (no intermediate CAs); keyUsage critical keyCertSign,
 *                       cRLSign; nameConstraints critical, permitting only the server's SANs below
 *                       (a DNS name with its subdomains, "*.x.y" as "x.y"; an IP address alone);
 *   server.csr          a CSR for CN "localhost" signed by server.key, requesting the SANs;
 *   server.crt          issued by the CA from that CSR, 397 days, SANs DNS:localhost,
 *                       IP:127.0.0.1, IP:::1 plus every entry of extra_sans.
 * The certificates and the CSR are mode 0644. extra_sans[0..n_extra) are IPv4/IPv6 literals (become
 * IP: names) or DNS names (letters, digits, '-', '.', and '*' only as the whole first label of a name
 * with at least two more labels); duplicates of names already present are ignored. Every name is
 * validated before anything is generated or written.
 *
 * Without `force`, refuses if any of the five files already exists (each in its directory) and never replaces one (even if it
 * appears while this runs). With `force`, replaces them. Either way each file is written to a temporary
 * file in its directory (created O_CREAT|O_EXCL|O_NOFOLLOW with its final mode), fsynced, then renamed
 * into place (a symbolic link in the way is replaced, never followed), and both directories are
 * fsynced; on failure no temporary file is left behind and, without `force`, no file of
 * the new set either.
 *
 * Returns 0 on success. Returns -1 on failure with a message in err (truncated to errlen, always NUL-
 * terminated when errlen > 0; err may be NULL when errlen is 0), including OpenSSL's error text when an
 * OpenSSL call failed. Key material is never logged or copied into err; every key, certificate and
 * buffer is freed (buffers holding keys are cleansed) on every path. Thread-safe. */
int certs_create(const char *dir, const char *ca_dir, const char *const *extra_sans,
                 size_t n_extra, bool force, char *err, size_t errlen);

#endif
