/*
 * auth/auth-replay.c -- replay detection, bounded in memory.
 *
 * DESIGN: a hash table (linear probing, backward-shift deletion) of the
 * SHA-256 replay keys verdicts carry, plus a ring of the same keys in
 * arrival order.  Entries leave the ring from the oldest end once their
 * window has passed, so the table holds only live keys.  When the ring is
 * full the oldest key is forgotten early and counted: memory stays fixed
 * and the loss of protection is visible, never silent.
 */
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

/* One remembered key. */
struct replay_entry {
	unsigned char	key[32];
	long long	expires;	/* 0: empty slot */
};

struct auth_replay {
	struct replay_entry	*table;
	size_t			 mask;
	struct replay_entry	*ring;		/* arrival order */
	size_t			 ring_cap, head, count;
	uint64_t		 evictions;
};

/* A cache for max_entries keys. */
struct auth_replay *
auth_replay_new(size_t max_entries)
{
	struct auth_replay	*rp = auth_calloc(1, sizeof *rp);
	size_t			 size = 16;

	if (max_entries < 1)
		max_entries = 1;
	while (size < max_entries * 2)
		size *= 2;
	rp->table = auth_calloc(size, sizeof *rp->table);
	rp->mask = size - 1;
	rp->ring = auth_calloc(max_entries, sizeof *rp->ring);
	rp->ring_cap = max_entries;
	return rp;
}

/* Free a cache. */
void
auth_replay_free(struct auth_replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->table);
	free(rp->ring);
	free(rp);
}

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

	while (rp->table[i].expires != 0 && memcmp(rp->table[i].key, key, 32) != 0)
		i = (i + 1) & rp->mask;
	return i;
}

/* Remove the entry at slot i, shifting its followers back. */
static void
replay_delete(struct auth_replay *rp, size_t i)
{
	size_t	j = i, home;

	for (;;) {
		j = (j + 1) & rp->mask;
		if (rp->table[j].expires == 0)
			break;
		home = replay_home(rp, rp->table[j].key);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			rp->table[i] = rp->table[j];
			i = j;
		}
	}
	rp->table[i].expires = 0;
}

/* Drop the oldest ring entry (and its table entry if still the same). */
static void
replay_pop(struct auth_replay *rp)
{
	struct replay_entry	*old = &rp->ring[rp->head];
	size_t			 i = replay_find(rp, old->key);

	if (rp->table[i].expires == old->expires)
		replay_delete(rp, i);
	rp->head = (rp->head + 1) % rp->ring_cap;
	rp->count--;
}

/* The replay step. */
void
auth_replay_check(struct auth_replay *rp, struct auth_verdict *v, time_t now)
{
	size_t		i;
	long long	expires;

	if (v->failed || !v->has_replay_key)
		return;
	while (rp->count > 0 && rp->ring[rp->head].expires <= (long long)now)
		replay_pop(rp);
	i = replay_find(rp, v->replay_key);
	if (rp->table[i].expires > (long long)now) {
		auth_verdict_fail(v, AUTH_REPLAY, "replay", auth_verdict_printf(v,
		    "seen before within the %llds window", v->replay_window), NULL, NULL);
		return;
	}
	if (rp->count == rp->ring_cap) {
		replay_pop(rp);
		rp->evictions++;
		i = replay_find(rp, v->replay_key);
	}
	expires = (long long)now + v->replay_window;
	memcpy(rp->table[i].key, v->replay_key, 32);
	rp->table[i].expires = expires;
	rp->ring[(rp->head + rp->count) % rp->ring_cap] = rp->table[i];
	rp->count++;
	auth_verdict_check_add(v, "replay", AUTH_CHECK_OK,
	    auth_verdict_printf(v, "first sighting within the %llds window", v->replay_window),
	    NULL, NULL);
}

/* Keys forgotten early. */
uint64_t
auth_replay_evictions(const struct auth_replay *rp)
{
	return rp->evictions;
}
