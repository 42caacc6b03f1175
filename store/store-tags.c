/*
 * store/store-tags.c -- which rows of a block hold a subject, iss or kid
 * (schema 4; store-int.h).
 *
 * The writer keeps, for the block being filled and for the open batch,
 * each (column, block, value)'s row offsets in memory, appends to them as
 * rows are appended, and writes the ones the batch added to in the
 * batch's transaction, whole: a block's tag is rewritten while the block
 * fills, so one row of trail_tags per value per block.  A rollback takes
 * back what the batch added.  In the trail a tag's offsets are 2 bytes
 * each, little-endian, ascending.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

static const int	 store_tag_cols[TAG_NFIELDS] = { COL_SUBJECT, COL_ISS, COL_KID };
const char *const	 store_tag_names[TAG_NFIELDS] = { "subject", "iss", "kid" };

static void *
store_tags_alloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fputs("ztwatch: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* FNV-1a over the tag's key. */
static uint32_t
store_tag_hash(int field, int64_t block, const void *value, size_t n)
{
	const unsigned char	*p = value;
	uint32_t		 h = 2166136261u ^ (uint32_t)field;
	size_t			 i;

	h = (h ^ (uint32_t)block) * 16777619u;
	h = (h ^ (uint32_t)((uint64_t)block >> 32)) * 16777619u;
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The slot that holds the tag for the key, or the empty one it would go in. */
static uint32_t *
store_tags_slot(const struct store_tags *t, int field, int64_t block, const void *value,
    size_t n, uint32_t h)
{
	const struct store_tag	*g;
	size_t			 i = h & (t->nslot - 1);

	for (;; i = (i + 1) & (t->nslot - 1)) {
		if (t->slot[i] == 0)
			return &t->slot[i];
		g = &t->tag[t->slot[i] - 1];
		if (g->hash == h && g->field == field && g->block == block && g->len == n &&
		    memcmp(g->value, value, n) == 0)
			return &t->slot[i];
	}
}

/* Rebuild the slots for the tags there are, with room to grow. */
static void
store_tags_rehash(struct store_tags *t)
{
	const struct store_tag	*g;
	size_t			 i, want = 64;

	while (want < t->ntag * 2 + 2)
		want *= 2;
	if (want != t->nslot) {
		free(t->slot);
		t->slot = store_tags_alloc(NULL, want * sizeof *t->slot);
		t->nslot = want;
	}
	memset(t->slot, 0, t->nslot * sizeof *t->slot);
	for (i = 0; i < t->ntag; i++) {
		g = &t->tag[i];
		*store_tags_slot(t, g->field, g->block, g->value, g->len, g->hash) =
		    (uint32_t)i + 1;
	}
}

/* The tag for the key, NULL when there is none. */
static struct store_tag *
store_tags_find(const struct store_tags *t, int field, int64_t block, const void *value,
    size_t n)
{
	uint32_t	*s;

	if (t->nslot == 0)
		return NULL;
	s = store_tags_slot(t, field, block, value, n,
	    store_tag_hash(field, block, value, n));
	return *s == 0 ? NULL : &t->tag[*s - 1];
}

/* The tag for the key, made empty when there is none. */
static struct store_tag *
store_tags_get(struct store_tags *t, int field, int64_t block, const void *value, size_t n)
{
	struct store_tag	*g;
	uint32_t		 h = store_tag_hash(field, block, value, n), *s;

	if ((t->ntag + 1) * 2 > t->nslot)
		store_tags_rehash(t);
	s = store_tags_slot(t, field, block, value, n, h);
	if (*s != 0)
		return &t->tag[*s - 1];
	if (t->ntag == t->captag) {
		t->captag = t->captag ? t->captag * 2 : 16;
		t->tag = store_tags_alloc(t->tag, t->captag * sizeof *t->tag);
	}
	g = &t->tag[t->ntag];
	memset(g, 0, sizeof *g);
	g->field = field;
	g->block = block;
	g->value = store_tags_alloc(NULL, n + 1);
	memcpy(g->value, value, n);
	g->value[n] = '\0';
	g->len = n;
	g->hash = h;
	*s = (uint32_t)++t->ntag;
	return g;
}

/* Append an offset, as it is stored: 2 bytes, little-endian. */
static void
store_tag_push(struct store_tag *g, unsigned offset)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->offsets = store_tags_alloc(g->offsets, (size_t)g->cap * 2);
	}
	g->offsets[2 * g->n] = (unsigned char)(offset & 0xff);
	g->offsets[2 * g->n + 1] = (unsigned char)(offset >> 8);
	g->n++;
}

void
store_tags_add(struct store_tags *t, int field, const void *value, size_t n, int64_t id)
{
	struct store_tag	*g = t->last[field] ? &t->tag[t->last[field] - 1] : NULL;
	int64_t			 block = id / STORE_TAG_ROWS;

	if (value == NULL)
		return;
	/* Rows in a row mostly share their values: skip the hash then. */
	if (g == NULL || g->block != block || g->len != n || memcmp(g->value, value, n) != 0) {
		g = store_tags_get(t, field, block, value, n);
		t->last[field] = (size_t)(g - t->tag) + 1;
	}
	store_tag_push(g, (unsigned)(id % STORE_TAG_ROWS));
}

void
store_tags_add_values(struct store_tags *t, const struct store_value *vals)
{
	int	f;

	for (f = 0; f < TAG_NFIELDS; f++) {
		if (vals[store_tag_cols[f]].type == SQLITE_TEXT)
			store_tags_add(t, f, vals[store_tag_cols[f]].p, vals[store_tag_cols[f]].n,
			    vals[COL_ID].i);
	}
}

static void
store_tag_clear(struct store_tag *g)
{
	free(g->value);
	free(g->offsets);
}

/* Keep only the tags keep() says yes to. */
static void
store_tags_filter(struct store_tags *t, int (*keep)(const struct store_tag *, int64_t),
    int64_t arg)
{
	size_t	i, j = 0;

	for (i = 0; i < t->ntag; i++) {
		if (keep(&t->tag[i], arg))
			t->tag[j++] = t->tag[i];
		else
			store_tag_clear(&t->tag[i]);
	}
	if (j != t->ntag) {
		t->ntag = j;
		store_tags_rehash(t);
		memset(t->last, 0, sizeof t->last);
	}
}

static int
store_tag_in_or_after(const struct store_tag *g, int64_t block)
{
	return g->block >= block;
}

static int
store_tag_committed(const struct store_tag *g, int64_t unused)
{
	return g->committed > 0;
}

void
store_tags_committed(struct store_tags *t, int64_t next_id)
{
	size_t	i;

	for (i = 0; i < t->ntag; i++)
		t->tag[i].committed = t->tag[i].n;
	store_tags_filter(t, store_tag_in_or_after, next_id / STORE_TAG_ROWS);
}

void
store_tags_rollback(struct store_tags *t)
{
	size_t	i;

	for (i = 0; i < t->ntag; i++)
		t->tag[i].n = t->tag[i].committed;
	store_tags_filter(t, store_tag_committed, 0);
}

void
store_tags_free(struct store_tags *t)
{
	size_t	i;

	for (i = 0; i < t->ntag; i++)
		store_tag_clear(&t->tag[i]);
	free(t->tag);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

/* Write one tag, whole. */
static int
store_tag_put(sqlite3_stmt *s, const struct store_tag *g)
{
	int	rc;

	sqlite3_bind_int(s, 1, g->field);
	sqlite3_bind_int64(s, 2, g->block);
	sqlite3_bind_text(s, 3, g->value, (int)g->len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, g->offsets, (int)g->n * 2, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_tags_write(struct store *st, char **cause)
{
	size_t	i;

	if (st->tag_put == NULL && sqlite3_prepare_v3(st->db, "INSERT OR REPLACE INTO trail_tags"
	    " (tag_field, tag_block, tag_value, tag_offsets) VALUES (?,?,?,?)", -1,
	    SQLITE_PREPARE_PERSISTENT, &st->tag_put, NULL) != SQLITE_OK)
		return store_fail(st, "cannot prepare trail", cause);
	for (i = 0; i < st->tags.ntag; i++) {
		if (st->tags.tag[i].n > st->tags.tag[i].committed &&
		    store_tag_put(st->tag_put, &st->tags.tag[i]) != 0)
			return store_fail(st, "cannot write trail", cause);
	}
	return 0;
}

/* Offsets from a tag's stored bytes, kept as they are stored (an odd
   last byte is ignored). */
static void
store_tag_take(struct store_tag *g, const unsigned char *le, size_t bytes)
{
	g->n = g->committed = (unsigned)(bytes / 2);
	g->cap = g->n + 1;
	g->offsets = store_tags_alloc(g->offsets, (size_t)g->cap * 2);
	if (g->n > 0)
		memcpy(g->offsets, le, (size_t)g->n * 2);
}

int
store_tags_load(sqlite3 *db, struct store_tags *t, int64_t block)
{
	sqlite3_stmt	*s;
	int		 rc;

	store_tags_free(t);
	if (sqlite3_prepare_v2(db, "SELECT tag_field, tag_value, tag_offsets FROM trail_tags"
	    " WHERE tag_field IN (0, 1, 2) AND tag_block = ?", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, block);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* A value that is not text matches no filter (a BLOB never
		   equals text): so it lists nothing.  (The type is asked
		   first: reading a value as text converts it.) */
		int		 text = sqlite3_column_type(s, 1) == SQLITE_TEXT;
		const void	*v = sqlite3_column_text(s, 1);
		size_t		 n = (size_t)sqlite3_column_bytes(s, 1);

		if (v != NULL && text)
			store_tag_take(store_tags_get(t, sqlite3_column_int(s, 0), block, v, n),
			    sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Whether offset is among the n ascending little-endian offsets at le. */
static int
store_tag_lookup(const unsigned char *le, size_t n, unsigned offset)
{
	size_t		lo = 0, hi = n, mid;
	unsigned	v;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		v = (unsigned)le[2 * mid] | (unsigned)le[2 * mid + 1] << 8;
		if (v == offset)
			return 1;
		if (v < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
store_tags_missing(const struct store_tags *t, const struct store_value *vals)
{
	const struct store_value	*v;
	const struct store_tag		*g;
	int64_t				 id = vals[COL_ID].i;
	int				 f;

	for (f = 0; f < TAG_NFIELDS; f++) {
		v = &vals[store_tag_cols[f]];
		if (v->type != SQLITE_TEXT)
			continue;
		g = store_tags_find(t, f, id / STORE_TAG_ROWS, v->p, v->n);
		if (g == NULL || !store_tag_lookup(g->offsets, g->n, (unsigned)(id % STORE_TAG_ROWS)))
			return f;
	}
	return -1;
}

/* ztag_has(offsets, id): whether id's offset in its block is listed. */
static void
store_sql_ztag_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*le = sqlite3_value_blob(argv[0]);
	size_t			 bytes = (size_t)sqlite3_value_bytes(argv[0]);
	int64_t			 id = sqlite3_value_int64(argv[1]);

	sqlite3_result_int(ctx, le != NULL && id >= 0 &&
	    store_tag_lookup(le, bytes / 2, (unsigned)(id % STORE_TAG_ROWS)));
}

int
store_tags_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "ztag_has", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
	    store_sql_ztag_has, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int
store_tags_build(struct store *st, char **cause)
{
	static const int	 cols[] = { COL_ID, COL_SUBJECT, COL_ISS, COL_KID };
	struct store_value	 vals[STORE_NCOLS];
	sqlite3_stmt		*s;
	int64_t			 id;
	int			 rc, i;

	if (sqlite3_prepare_v2(st->db, "SELECT id, subject, iss, kid FROM trail ORDER BY id", -1,
	    &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot migrate trail", cause);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < 4; i++)
			store_value_from_column(s, i, &vals[cols[i]]);
		id = vals[COL_ID].i;
		/* A block is complete once a row of the next one comes. */
		if (st->tags.ntag > 0 && id / STORE_TAG_ROWS != st->tags.tag[0].block) {
			if (store_tags_write(st, cause) != 0)
				break;
			store_tags_committed(&st->tags, id);
		}
		store_tags_add_values(&st->tags, vals);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ROW)
			store_fail(st, "cannot migrate trail", cause);
		store_tags_free(&st->tags);
		return -1;
	}
	rc = store_tags_write(st, cause);
	store_tags_free(&st->tags);
	return rc;
}
