/* credentials: where the user name and password come from — --user or $NETSHOP_USER or a
 * prompt; $NETSHOP_PASSWORD, else --password-file, else a no-echo prompt (or the next line of
 * stdin when it is not a terminal) — and whether SHOP/1 can carry them. */
#ifndef NETSHOP_CREDENTIALS_H
#define NETSHOP_CREDENTIALS_H

#include "client/cli_error.h"
#include "client/input.h"
#include "client/options.h"
#include "proto/shop1.h"

typedef struct {
    char user[SHOP1_USER_MAX + 1];
    char password[SHOP1_PASSWORD_MAX + 1];
} credentials_t;

typedef enum {
    CREDENTIALS_OK = 0,
    CREDENTIALS_EOF,   /* end of input at a prompt: the user walked away */
    CREDENTIALS_ERROR, /* *err says why (LOGIN or USAGE status) */
} credentials_result_t;

/* Fills *cred from the options, the environment or prompts on `in`. The caller wipes *cred
 * with credentials_wipe on every path. */
credentials_result_t credentials_get(const client_options_t *o, input_t *in,
                                     credentials_t *cred, cli_error_t *err);

/* True when the password is typed at a prompt (neither $NETSHOP_PASSWORD nor --password-file
 * gives it): only then is asking again after a refused login of any use. */
bool credentials_password_typed(const client_options_t *o);

/* Zeroes the password (and the user name). */
void credentials_wipe(credentials_t *cred);

#endif
