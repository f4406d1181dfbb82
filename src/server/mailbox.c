/* mailbox: a mutex-protected FIFO plus an eventfd registered on the owner's event_base. */
#include "server/mailbox.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/log.h"

struct mailbox {
    pthread_mutex_t lock;
    mailbox_msg_t *head, *tail;
    int efd;
    struct event *ev;
};

static mailbox_msg_t *take_all(mailbox_t *mb)
{
    pthread_mutex_lock(&mb->lock);
    mailbox_msg_t *list = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->lock);
    return list;
}

static void deliver_all(mailbox_t *mb)
{
    mailbox_msg_t *m = take_all(mb);
    while (m) {
        mailbox_msg_t *next = m->next;
        m->next = NULL;
        m->deliver(m);
        m = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t n;
    /* Read first: a post racing with this drain re-arms the eventfd and is seen next time. */
    while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    deliver_all(arg);
}

mailbox_t *mailbox_new(struct event_base *base)
{
    mailbox_t *mb = calloc(1, sizeof *mb);
    if (!mb)
        return NULL;
    pthread_mutex_init(&mb->lock, NULL);
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mb->efd < 0)
        goto fail;
    mb->ev = event_new(base, mb->efd, EV_READ | EV_PERSIST, on_wake, mb);
    if (!mb->ev || event_add(mb->ev, NULL) < 0)
        goto fail;
    return mb;
fail:
    if (mb->ev)
        event_free(mb->ev);
    if (mb->efd >= 0)
        close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
    return NULL;
}

void mailbox_free(mailbox_t *mb)
{
    if (!mb)
        return;
    deliver_all(mb);
    event_free(mb->ev);
    close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

void mailbox_post(mailbox_t *mb, mailbox_msg_t *msg)
{
    msg->next = NULL;
    pthread_mutex_lock(&mb->lock);
    bool was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = msg;
    else
        mb->head = msg;
    mb->tail = msg;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty) {
        uint64_t one = 1;
        if (write(mb->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            log_error("mailbox wake-up failed: errno %d", errno);
    }
}
