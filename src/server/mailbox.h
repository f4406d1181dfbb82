/* mailbox: how other threads (committer, auth and reader pools) hand finished work back to one worker's event
 * loop. Any thread posts; the owning worker's loop runs each message's deliver function. Posting to
 * an empty mailbox wakes the loop once (eventfd), so a batch of outcomes costs one wake-up.
 * A thread never touches another thread's connections: it only posts here. */
#ifndef NETSHOP_MAILBOX_H
#define NETSHOP_MAILBOX_H

#include <stdbool.h>

struct event_base;

typedef struct mailbox_msg {
    struct mailbox_msg *next;
    /* Runs on the mailbox owner's thread; takes ownership of msg. */
    void (*deliver)(struct mailbox_msg *msg);
} mailbox_msg_t;

typedef struct mailbox mailbox_t;

/* A mailbox whose messages are delivered on base's loop. NULL on failure (errno set). */
mailbox_t *mailbox_new(struct event_base *base);
/* Delivers whatever is still queued, then frees. Owner thread only, after its loop has stopped. */
void mailbox_free(mailbox_t *mb);
/* Appends msg (any thread). Never fails: the message memory is the caller's allocation. */
void mailbox_post(mailbox_t *mb, mailbox_msg_t *msg);

#endif
