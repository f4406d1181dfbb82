/* log: one line per event on stderr, prefixed "netshopd: ". Thread-safe (one write(2) per line).
 * Never pass secrets (passwords, keys) to these functions. */
#ifndef NETSHOP_LOG_H
#define NETSHOP_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with status 1: only at start-up or on a broken invariant. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
