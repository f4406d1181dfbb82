/* session_map: open addressing with linear probing and backward-shift deletion (no tombstones),
 * kept at most half full. */
#include "server/session_map.h"

#include <stdbool.h>
#include <stdlib.h>

#include "server/commands.h"

#define INITIAL_SLOTS 64

struct session_map {
    session_t **slots; /* NULL: empty */
    size_t cap;        /* a power of two */
    size_t count;
};

static size_t slot_of(const session_map_t *m, uint64_t id)
{
    /* Session ids are random above their low (worker) byte; mix anyway. */
    id ^= id >> 29;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 32;
    return (size_t)id & (m->cap - 1);
}

session_map_t *session_map_new(void)
{
    session_map_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->slots = calloc(INITIAL_SLOTS, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->cap = INITIAL_SLOTS;
    return m;
}

void session_map_free(session_map_t *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static void insert(session_map_t *m, session_t *s)
{
    size_t i = slot_of(m, s->id);
    while (m->slots[i])
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = s;
    m->count++;
}

static int grow(session_map_t *m)
{
    session_t **old = m->slots;
    size_t old_cap = m->cap;
    session_t **slots = calloc(old_cap * 2, sizeof *slots);
    if (!slots)
        return -1;
    m->slots = slots;
    m->cap = old_cap * 2;
    m->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            insert(m, old[i]);
    free(old);
    return 0;
}

int session_map_put(session_map_t *m, session_t *s)
{
    if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    insert(m, s);
    return 0;
}

session_t *session_map_get(const session_map_t *m, uint64_t id)
{
    for (size_t i = slot_of(m, id); m->slots[i]; i = (i + 1) & (m->cap - 1))
        if (m->slots[i]->id == id)
            return m->slots[i];
    return NULL;
}

void session_map_remove(session_map_t *m, uint64_t id)
{
    size_t i = slot_of(m, id);
    while (m->slots[i] && m->slots[i]->id != id)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i])
        return;
    m->slots[i] = NULL;
    m->count--;
    /* Backward shift: move later members of the probe run into the hole when allowed. */
    size_t hole = i;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m, m->slots[j]->id);
        /* j may move to hole if home is not cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->slots[hole] = m->slots[j];
            m->slots[j] = NULL;
            hole = j;
        }
    }
}
