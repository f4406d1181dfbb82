/* options: the client's command line and environment — global options (anywhere on the line),
 * the command word and its arguments, and the defaults from NETSHOP_* variables. */
#ifndef NETSHOP_OPTIONS_H
#define NETSHOP_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "client/cli_error.h"

#define OPTIONS_DEFAULT_HOST "localhost"
#define OPTIONS_DEFAULT_PORT "5555"
/* The default CA files, relative to the directory above the executable's (resolved through
 * /proc/self/exe, never the current directory): the demo CA of the source tree the client was
 * built in (build/netshop -> var/demo/ca.crt), then the installed one
 * (PREFIX/bin/netshop -> PREFIX/share/netshop/ca.crt). */
#define OPTIONS_DEMO_CA "var/demo/ca.crt"
#define OPTIONS_INSTALLED_CA "share/netshop/ca.crt"
#define OPTIONS_DEFAULT_TIMEOUT 10
#define OPTIONS_TIMEOUT_MAX 3600
/* --keepalive: the longest the TLS connection stays quiet in a login session (at a menu prompt,
 * or before a UDP request) before a PING goes over it, so the server's idle timeout (300 s by
 * default) does not end the session. A fifth of that default; set it to at most half of a
 * server's shorter --idle-timeout. */
#define OPTIONS_DEFAULT_KEEPALIVE 60
#define OPTIONS_KEEPALIVE_MAX 3600

/* What carries the logged-in requests (--transport). */
typedef enum {
    OPTIONS_TRANSPORT_UDP = 0, /* sealed datagrams after LOGIN over TLS, TLS as the fallback */
    OPTIONS_TRANSPORT_TLS,     /* everything over the TLS connection */
} options_transport_t;

typedef struct {
    const char *host;          /* --host; also the name the certificate must carry */
    const char *port;          /* --port, decimal 1..65535 */
    const char *ca_file;       /* --ca, else $NETSHOP_CA, else the first default CA file
                                  (OPTIONS_DEMO_CA, OPTIONS_INSTALLED_CA) that exists; NULL
                                  only with --anonymous (no TLS, nothing to verify) */
    char *default_ca;          /* owned: the default CA path ca_file points to, or NULL */
    const char *user;          /* --user, else $NETSHOP_USER; NULL: ask */
    const char *password_file; /* --password-file; NULL: none */
    const char *request_id;    /* buy's --request-id; NULL: a random one */
    options_transport_t transport; /* --transport udp|tls, default udp */
    bool anonymous;            /* --anonymous: plain datagrams, no TLS, no login */
    bool json;                 /* --json */
    bool help;                 /* --help: print usage, do nothing else */
    int timeout_secs;          /* --timeout */
    int keepalive_secs;        /* --keepalive, 1..OPTIONS_KEEPALIVE_MAX */
    const char *command;       /* the command word; NULL: the interactive menu */
    int nargs;                 /* the command's arguments, options removed */
    const char **args;         /* owned array (the strings are argv's) */
} client_options_t;

/* Parses argv (strings must outlive *o). Returns true, or false with a USAGE error in *err.
 * On success the caller frees with options_free. Never prints. */
bool options_parse(int argc, char **argv, client_options_t *o, cli_error_t *err);
void options_free(client_options_t *o);

/* True when --json appears among argv's options (used to report usage errors as JSON). */
bool options_want_json(int argc, char **argv);

/* Writes the usage text. */
void options_usage(FILE *out);

#endif
