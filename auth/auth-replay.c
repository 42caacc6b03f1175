/*
 * auth/auth-replay.c -- replay detection, bounded in memory.
 *
 * DESIGN: a hash table (linear probing, backward-shift deletion) of the
 * SHA-256 replay keys verdicts carry, plus a min-heap of the same keys by
 * expiry.  Expired keys leave from the top of the heap; when the cache is
 * full, the key closest to expiry is forgotten early (and counted), never
 * a key with a long window merely because it arrived first.  Rules with
 * short windows therefore cannot flush the keys of rules with long ones.
 * Memory is bounded and any loss of protection is visible.  The cache
 * starts small and doubles up to its bound as keys arrive, so a policy
 * without replay rules never pays for the bound.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

/* One remembered key. */
struct replay_entry {
	unsigned char	key[32];
	long long	expires;
	int		used;
};

#define REPLAY_START	512		/* keys the cache has room for at first */

struct auth_replay {
	struct replay_entry	*table;		/* at least twice heap_cap slots */
	size_t			 mask;
	struct replay_entry	*heap;		/* by expires, soonest on top */
	size_t			 heap_cap, count;
	size_t			 max;		/* heap_cap's bound */
	uint64_t		 evictions;
};

/* Home slot of a key. */
static size_t
replay_home(const struct auth_replay *rp, const unsigned char *key)
{
	uint64_t	h;

	memcpy(&h, key, sizeof h);
	return (size_t)h & rp->mask;
}

/* Slot holding key, or the empty slot where it would go. */
static size_t
replay_find(const struct auth_replay *rp, const unsigned char *key)
{
	size_t	i = replay_home(rp, key);

	while (rp->table[i].used && memcmp(rp->table[i].key, key, 32) != 0)
		i = (i + 1) & rp->mask;
	return i;
}

/* Room for cap keys: the heap holds cap, the table a power of two at least
   twice that, the used entries of the old table moved into the new one. */
static void
replay_resize(struct auth_replay *rp, size_t cap)
{
	struct replay_entry	*old = rp->table;
	size_t			 oldsize = old != NULL ? rp->mask + 1 : 0, size = 16, i;

	while (size < cap * 2)
		size *= 2;
	rp->heap = auth_realloc(rp->heap, cap * sizeof *rp->heap);
	rp->heap_cap = cap;
	if (size == oldsize)
		return;
	rp->table = auth_calloc(size, sizeof *rp->table);
	rp->mask = size - 1;
	for (i = 0; i < oldsize; i++) {
		if (old[i].used)
			rp->table[replay_find(rp, old[i].key)] = old[i];
	}
	free(old);
}

/* A cache for at most max_entries keys. */
struct auth_replay *
auth_replay_new(size_t max_entries)
{
	struct auth_replay	*rp = auth_calloc(1, sizeof *rp);

	rp->max = max_entries < 1 ? 1 : max_entries;
	replay_resize(rp, rp->max < REPLAY_START ? rp->max : REPLAY_START);
	return rp;
}

/* Keys the cache has room for now (it grows up to its bound). */
size_t
auth_replay_capacity(const struct auth_replay *rp)
{
	return rp->heap_cap;
}

/* Free a cache. */
void
auth_replay_free(struct auth_replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->table);
	free(rp->heap);
	free(rp);
}

/* Remove the entry at slot i, shifting its followers back. */
static void
replay_delete(struct auth_replay *rp, size_t i)
{
	size_t	j = i, home;

	for (;;) {
		j = (j + 1) & rp->mask;
		if (!rp->table[j].used)
			break;
		home = replay_home(rp, rp->table[j].key);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			rp->table[i] = rp->table[j];
			i = j;
		}
	}
	rp->table[i].used = 0;
}

/* Swap heap entries a and b. */
static void
replay_swap(struct replay_entry *h, size_t a, size_t b)
{
	struct replay_entry	t = h[a];

	h[a] = h[b];
	h[b] = t;
}

/* Push e onto the heap (there is room). */
static void
replay_push(struct auth_replay *rp, const struct replay_entry *e)
{
	size_t	i = rp->count++, parent;

	rp->heap[i] = *e;
	while (i > 0 && rp->heap[parent = (i - 1) / 2].expires > rp->heap[i].expires) {
		replay_swap(rp->heap, i, parent);
		i = parent;
	}
}

/* Drop the heap's top (and its table entry if it is still the same). */
static void
replay_pop(struct auth_replay *rp)
{
	struct replay_entry	*top = &rp->heap[0];
	size_t			 slot = replay_find(rp, top->key), i = 0, l, r, m;

	if (rp->table[slot].used && rp->table[slot].expires == top->expires)
		replay_delete(rp, slot);
	rp->heap[0] = rp->heap[--rp->count];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < rp->count && rp->heap[l].expires < rp->heap[m].expires)
			m = l;
		if (r < rp->count && rp->heap[r].expires < rp->heap[m].expires)
			m = r;
		if (m == i)
			break;
		replay_swap(rp->heap, i, m);
		i = m;
	}
}

/* Room for one more key: grow toward the bound, or past it forget the
   key closest to expiry, counted. */
static void
replay_make_room(struct auth_replay *rp)
{
	if (rp->count < rp->heap_cap)
		return;
	if (rp->heap_cap < rp->max) {
		replay_resize(rp, rp->heap_cap > rp->max / 2 ? rp->max : rp->heap_cap * 2);
		return;
	}
	replay_pop(rp);
	rp->evictions++;
}

/* now + window without overflow. */
static long long
replay_expiry(time_t now, long long window)
{
	if ((long long)now > LLONG_MAX - window)
		return LLONG_MAX;
	return (long long)now + window;
}

/* The replay step. */
void
auth_replay_check(struct auth_replay *rp, struct auth_verdict *v, time_t now)
{
	struct replay_entry	e;
	size_t			i;

	if (v->failed || !v->has_replay_key)
		return;
	while (rp->count > 0 && rp->heap[0].expires <= (long long)now)
		replay_pop(rp);
	i = replay_find(rp, v->replay_key);
	if (rp->table[i].used && rp->table[i].expires > (long long)now) {
		auth_verdict_fail(v, AUTH_REPLAY, "replay", auth_verdict_printf(v,
		    "seen before within the %llds window", v->replay_window), NULL, NULL);
		return;
	}
	if (rp->table[i].used)		/* expired but not yet popped: refresh */
		replay_delete(rp, i);
	replay_make_room(rp);
	i = replay_find(rp, v->replay_key);
	memcpy(e.key, v->replay_key, 32);
	e.expires = replay_expiry(now, v->replay_window);
	e.used = 1;
	rp->table[i] = e;
	replay_push(rp, &e);
	auth_verdict_check_add(v, "replay", AUTH_CHECK_OK,
	    auth_verdict_printf(v, "first sighting within the %llds window", v->replay_window),
	    NULL, NULL);
}

/* Whether the replay step may change or remember v. */
int
auth_verdict_wants_replay(const struct auth_verdict *v)
{
	return !v->failed && v->has_replay_key;
}

/* Keys forgotten early. */
uint64_t
auth_replay_evictions(const struct auth_replay *rp)
{
	return rp->evictions;
}
