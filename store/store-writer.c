/*
 * store/store-writer.c -- appending rows: the chain, batches, the writer
 * thread.
 *
 * DESIGN: the caller's thread does most of what a row needs before
 * SQLite: it compacts the long columns, builds the row's canonical
 * encoding (which holds every value), gives it its id, and queues it; a
 * second thread chains it (its hash, from the row before's) and binds it
 * to the INSERT and steps it, so the next rows are encoded while SQLite
 * works on the previous ones.  The caller's thread is a flood's critical
 * path, so the hash, which the second thread reads the encoding for
 * anyway, is done there.  A row can be queued with its id given ahead
 * only because it cannot fail to be inserted short of an error that
 * loses the whole batch anyway.  A row that may be refused as a duplicate (a JetStream message,
 * by the unique (stream, stream_seq) index) is written in the caller's
 * thread once the queue is empty, and so is everything else that talks to
 * SQLite (commits, sessions, closing).  The connection is thus used by one
 * thread at a time, handed over through the queue's mutex.
 *
 * Commits stay where they were: the append that fills a batch (by count
 * or time) waits for the queue to empty and commits, so store_pending()
 * still drops to 0 exactly when the rows are durable.  A failure in the
 * thread rolls the batch back and is reported by the next append, commit
 * or close, as a failure of the batch.  The thread is woken for a few
 * rows at a time, not for each: a wake-up costs more than a row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-int.h"

#define STORE_CHAIN_PREFIX	"ztwatch-trail-v1"	/* what every row hash starts with */
#define STORE_CHAIN_PREFIX_LEN	(sizeof STORE_CHAIN_PREFIX - 1)

/* Append v as 8 bytes, big-endian. */
static void
store_buf_u64(struct store_buf *b, uint64_t v)
{
	unsigned char	be[8];
	int		i;

	for (i = 7; i >= 0; i--, v >>= 8)
		be[i] = (unsigned char)(v & 0xff);
	store_buf_add(b, be, 8);
}

/*
 * Build the slot's canonical encoding of vals (README, "The audit trail"),
 * leaving room for the previous row's hash, and point the slot's values
 * into it.
 */
static void
store_slot_fill(struct store_slot *s, const struct store_value *vals)
{
	struct store_buf	*b = &s->enc;
	size_t			 off[STORE_NCOLS];
	unsigned char		 type;
	uint64_t		 bits;
	size_t			 need = STORE_CHAIN_PREFIX_LEN + STORE_HASH_LEN + STORE_NCOLS * 9;
	int			 i;

	for (i = 0; i < STORE_NCOLS; i++) {
		if (vals[i].type == SQLITE_TEXT || vals[i].type == SQLITE_BLOB)
			need += vals[i].n;
	}
	/* A slot that once held a huge row gives the memory back. */
	if (b->cap > STORE_SLOT_KEEP && need <= STORE_SLOT_KEEP / 4) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	b->len = 0;
	store_buf_reserve(b, need);
	store_buf_add(b, STORE_CHAIN_PREFIX, STORE_CHAIN_PREFIX_LEN);
	b->len += STORE_HASH_LEN;			/* the previous hash, later */
	for (i = 0; i < STORE_NCOLS; i++) {
		s->vals[i] = vals[i];
		type = (unsigned char)vals[i].type;
		store_buf_add(b, &type, 1);
		switch (vals[i].type) {
		case SQLITE_INTEGER:
			store_buf_u64(b, (uint64_t)vals[i].i);
			break;
		case SQLITE_FLOAT:
			memcpy(&bits, &vals[i].d, 8);
			store_buf_u64(b, bits);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			store_buf_u64(b, vals[i].n);
			off[i] = b->len;
			store_buf_add(b, vals[i].p, vals[i].n);
			break;
		}
	}
	for (i = 0; i < STORE_NCOLS; i++) {
		if (vals[i].type == SQLITE_TEXT || vals[i].type == SQLITE_BLOB)
			s->vals[i].p = b->p + off[i];
	}
}

/* Chain the filled slot after prev: its hash. */
static void
store_slot_hash(struct store_slot *s, const unsigned char *prev)
{
	memcpy(s->enc.p + STORE_CHAIN_PREFIX_LEN, prev, STORE_HASH_LEN);
	memcpy(s->prev, prev, STORE_HASH_LEN);
	auth_sha256(s->enc.p, s->enc.len, s->hash);
}

/*
 * The chain hash: SHA-256("ztwatch-trail-v1" || prev || encoding), the
 * encoding being, per column in chain order, a type byte (SQLite's
 * storage class) and the value: integers and reals as 8 big-endian bytes,
 * text and blobs as an 8-byte length and the bytes.
 */
void
store_chain_hash(struct store_buf *b, const unsigned char *prev,
    const struct store_value *vals, unsigned char out[STORE_HASH_LEN])
{
	struct store_slot	s;

	s.enc = *b;
	store_slot_fill(&s, vals);
	store_slot_hash(&s, prev);
	*b = s.enc;
	memcpy(out, s.hash, STORE_HASH_LEN);
}

/* Bind the slot's values and hashes to the insert statement. */
static int
store_bind(struct store *st, const struct store_slot *sl)
{
	const struct store_value	*vals = sl->vals;
	sqlite3_stmt			*s = st->insert;
	int				 i, rc = SQLITE_OK;

	for (i = 0; i < STORE_NCOLS && rc == SQLITE_OK; i++) {
		switch (vals[i].type) {
		case SQLITE_NULL:
			rc = sqlite3_bind_null(s, i + 1);
			break;
		case SQLITE_INTEGER:
			rc = sqlite3_bind_int64(s, i + 1, vals[i].i);
			break;
		case SQLITE_FLOAT:
			rc = sqlite3_bind_double(s, i + 1, vals[i].d);
			break;
		case SQLITE_TEXT:
			rc = sqlite3_bind_text64(s, i + 1, vals[i].p, vals[i].n, SQLITE_STATIC,
			    SQLITE_UTF8);
			break;
		case SQLITE_BLOB:
			rc = sqlite3_bind_blob64(s, i + 1, vals[i].p, vals[i].n, SQLITE_STATIC);
			break;
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, STORE_NCOLS + 1, sl->prev, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, STORE_NCOLS + 2, sl->hash, STORE_HASH_LEN, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Roll back SQLite's open transaction, if any (the thread that writes). */
static void
store_abort_txn(struct store *st)
{
	if (st->in_txn)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = 0;
}

/*
 * INSERT one encoded row, opening the batch's transaction if needed.
 * Returns 0, 1 when the unique index refused it, or -1 with *cause (the
 * transaction is rolled back).
 */
static int
store_insert(struct store *st, const struct store_slot *sl, char **cause)
{
	int	rc;

	if (!st->in_txn) {
		if (store_exec(st, "BEGIN IMMEDIATE", "cannot write trail", cause) != 0)
			return -1;
		st->in_txn = 1;
	}
	if (store_bind(st, sl) != 0) {
		store_fail(st, "cannot write trail", cause);
		sqlite3_reset(st->insert);
		store_abort_txn(st);
		return -1;
	}
	rc = sqlite3_step(st->insert);
	sqlite3_reset(st->insert);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != SQLITE_DONE) {
		store_fail(st, "cannot write trail", cause);
		store_abort_txn(st);
		return -1;
	}
	return 0;
}

/* Forget the open batch: its rows were never committed. */
void
store_rollback(struct store *st)
{
	store_abort_txn(st);
	memset(&st->batch_at, 0, sizeof st->batch_at);
	st->pending = 0;
	st->last_id = st->committed_id;
	memcpy(st->last_hash, st->committed_hash, STORE_HASH_LEN);
	store_writer_chain_from(st);
	store_tags_rollback(&st->tags);
}

/* ---- the writer thread ----------------------------------------------------- */

/* The thread: insert queued rows until told to stop. */
static void *
store_writer_main(void *arg)
{
	struct store		*st = arg;
	struct store_writer	*w = &st->w;
	uint64_t		 from, to, i;
	char			*cause;
	int			 failed;

	pthread_setname_np(pthread_self(), "zt-store");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == w->tail && !w->stop) {
			w->wwait = 1;
			pthread_cond_wait(&w->work, &w->mu);
			w->wwait = 0;
		}
		if (w->head == w->tail && w->stop)
			break;
		from = w->tail;
		to = w->head;
		failed = w->err != NULL;
		pthread_mutex_unlock(&w->mu);

		/* After a failure the rest of the batch is dropped unwritten. */
		for (i = from; i < to && !failed; i++) {
			cause = NULL;
			store_slot_hash(&w->slots[i % STORE_SLOTS], w->chain);
			memcpy(w->chain, w->slots[i % STORE_SLOTS].hash, STORE_HASH_LEN);
			switch (store_insert(st, &w->slots[i % STORE_SLOTS], &cause)) {
			case 0:
				continue;
			case 1:
				/* Queued rows cannot collide; if one does, the batch is void. */
				free(cause);
				if (asprintf(&cause, "cannot write trail '%s': a row was refused as "
				    "a duplicate", st->path) < 0)
					cause = NULL;
				store_abort_txn(st);
				break;
			}
			failed = 1;
			pthread_mutex_lock(&w->mu);
			w->err = cause != NULL ? cause : strdup("cannot write trail");
			pthread_mutex_unlock(&w->mu);
		}

		pthread_mutex_lock(&w->mu);
		w->tail = to;
		if (w->cwait)
			pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Queued rows chain from st->last_hash (the queue is empty). */
void
store_writer_chain_from(struct store *st)
{
	struct store_writer	*w = &st->w;

	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	memcpy(w->chain, st->last_hash, STORE_HASH_LEN);
	pthread_mutex_unlock(&w->mu);
}

/* Start the thread, if this store is threaded and the machine has a second CPU. */
void
store_writer_start(struct store *st)
{
	struct store_writer	*w = &st->w;

	if (!st->writer || !st->threaded || w->running || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	if ((w->slots = calloc(STORE_SLOTS, sizeof *w->slots)) == NULL)
		return;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	w->head = w->tail = 0;
	w->filled = 0;
	w->room = STORE_SLOTS;
	w->stop = w->wwait = w->cwait = 0;
	memcpy(w->chain, st->last_hash, STORE_HASH_LEN);
	if (pthread_create(&w->thread, NULL, store_writer_main, st) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		free(w->slots);
		w->slots = NULL;
		return;
	}
	w->running = 1;
}

/* Stop the thread once its queue is empty; free the queue. */
void
store_writer_stop(struct store *st)
{
	struct store_writer	*w = &st->w;
	int			 i;

	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	for (i = 0; i < STORE_SLOTS; i++)
		free(w->slots[i].enc.p);
	free(w->slots);
	w->slots = NULL;
	free(w->err);
	w->err = NULL;
	w->running = 0;
}

/* Queue the filled slots (called with the mutex held); -1 when the thread
   has failed, and then they are dropped. */
static int
store_writer_publish(struct store_writer *w)
{
	if (w->err != NULL) {
		w->room += w->filled;
		w->filled = 0;
		return -1;
	}
	w->head += w->filled;
	w->filled = 0;
	/* Woken for a handful of rows, not for each: a wake-up costs more. */
	if (w->wwait && w->head - w->tail >= STORE_WAKE)
		pthread_cond_signal(&w->work);
	return 0;
}

/* Wait until the thread has handled every queued row; take its failure. */
int
store_writer_sync(struct store *st, char **cause)
{
	struct store_writer	*w = &st->w;
	char			*err;

	if (!w->running)
		return 0;
	pthread_mutex_lock(&w->mu);
	store_writer_publish(w);
	if (w->wwait && w->tail != w->head)
		pthread_cond_signal(&w->work);
	while (w->tail != w->head) {
		w->cwait = 1;
		pthread_cond_wait(&w->done, &w->mu);
		w->cwait = 0;
	}
	w->room = STORE_SLOTS;
	err = w->err;
	w->err = NULL;
	if (err == NULL)
		memcpy(st->last_hash, w->chain, STORE_HASH_LEN);
	pthread_mutex_unlock(&w->mu);
	if (err == NULL)
		return 0;
	/* The thread rolled the transaction back: the batch is gone. */
	store_rollback(st);
	if (cause != NULL)
		*cause = err;
	else
		free(err);
	return -1;
}

/* A free slot after the filled ones (waiting for one if need be). */
static struct store_slot *
store_writer_slot(struct store *st)
{
	struct store_writer	*w = &st->w;

	if (w->room == 0) {
		pthread_mutex_lock(&w->mu);
		store_writer_publish(w);
		if (w->wwait && w->tail != w->head)
			pthread_cond_signal(&w->work);
		while (w->head - w->tail == STORE_SLOTS) {
			w->cwait = 1;
			pthread_cond_wait(&w->done, &w->mu);
			w->cwait = 0;
		}
		w->room = STORE_SLOTS - (unsigned)(w->head - w->tail);
		pthread_mutex_unlock(&w->mu);
	}
	return &w->slots[(w->head + w->filled) % STORE_SLOTS];
}

/* Count the slot just filled; queue the filled ones a few at a time.
   Returns -1 when the thread has failed meanwhile. */
static int
store_writer_push(struct store *st)
{
	struct store_writer	*w = &st->w;
	int			 rc;

	w->filled++;
	w->room--;
	if (w->filled < STORE_PUBLISH)
		return 0;
	pthread_mutex_lock(&w->mu);
	rc = store_writer_publish(w);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* ---- appending and committing ---------------------------------------------- */

/* Widen span's received_at bounds to take in [min_at, max_at]. */
static void
store_span_widen(struct store_span *span, int64_t min_at, int64_t max_at)
{
	if (!span->has_at || min_at < span->min_at)
		span->min_at = min_at;
	if (!span->has_at || max_at > span->max_at)
		span->max_at = max_at;
	span->has_at = 1;
}

/*
 * Cover the batch's rows by a span in its transaction: the newest span
 * grows while it stays within STORE_SPAN_ROWS rows, else a new one starts.
 * *next is what st->span becomes once the transaction commits.
 */
static int
store_span_commit(struct store *st, struct store_span *next, char **cause)
{
	sqlite3_stmt	*s = st->span_put;
	int		 rc;

	*next = st->span;
	if (next->first_id == 0 || st->last_id - next->first_id >= STORE_SPAN_ROWS) {
		memset(next, 0, sizeof *next);
		next->first_id = st->committed_id + 1;
	}
	if (st->batch_at.has_at)
		store_span_widen(next, st->batch_at.min_at, st->batch_at.max_at);
	sqlite3_bind_int64(s, 1, next->first_id);
	sqlite3_bind_int64(s, 2, st->last_id);
	if (next->has_at) {
		sqlite3_bind_int64(s, 3, next->min_at);
		sqlite3_bind_int64(s, 4, next->max_at);
	} else {
		sqlite3_bind_null(s, 3);
		sqlite3_bind_null(s, 4);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_fail(st, "cannot write trail", cause);
		store_rollback(st);
		return -1;
	}
	return 0;
}

/* Commit the pending batch, moving the session head in the same transaction. */
int
store_commit(struct store *st, char **cause)
{
	sqlite3_stmt		*h = st->head;
	struct store_span	 span = st->span;

	if (store_writer_sync(st, cause) != 0)
		return -1;
	if (!st->in_txn)
		return 0;
	if (st->last_id > st->committed_id && store_span_commit(st, &span, cause) != 0)
		return -1;
	if (store_tags_write(st, cause) != 0) {
		store_rollback(st);
		return -1;
	}
	if (st->session != 0) {
		sqlite3_bind_int64(h, 1, st->last_id);
		sqlite3_bind_blob(h, 2, st->last_hash, STORE_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(h, 3, st->pending);
		sqlite3_bind_int64(h, 4, st->session);
		if (sqlite3_step(h) != SQLITE_DONE) {
			store_fail(st, "cannot write trail", cause);
			sqlite3_reset(h);
			store_rollback(st);
			return -1;
		}
		sqlite3_reset(h);
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(st, "cannot write trail", cause);
		store_rollback(st);
		return -1;
	}
	st->in_txn = 0;
	st->pending = 0;
	st->span = span;
	memset(&st->batch_at, 0, sizeof st->batch_at);
	store_tags_committed(&st->tags, st->last_id + 1);
	st->committed_id = st->last_id;
	memcpy(st->committed_hash, st->last_hash, STORE_HASH_LEN);
	return 0;
}

/* Append one row of values. */
int
store_append_row(struct store *st, struct store_value *vals, int may_collide, char **cause)
{
	struct store_slot	*sl;
	int			 rc;

	vals[COL_ID].type = SQLITE_INTEGER;
	vals[COL_ID].i = st->last_id + 1;
	if (st->w.running && !may_collide) {
		/* The thread hashes it (st->last_hash is brought up to date
		   by the next sync). */
		sl = store_writer_slot(st);
		store_slot_fill(sl, vals);
		if (store_writer_push(st) != 0) {
			store_writer_sync(st, cause);
			return -1;
		}
	} else {
		if (store_writer_sync(st, cause) != 0)
			return -1;
		sl = &st->sync;
		store_slot_fill(sl, vals);
		store_slot_hash(sl, st->last_hash);
		if ((rc = store_insert(st, sl, cause)) != 0) {
			if (rc < 0)
				store_rollback(st);
			return rc;
		}
		memcpy(st->last_hash, sl->hash, STORE_HASH_LEN);
		store_writer_chain_from(st);
	}
	st->last_id++;
	store_tags_add_values(&st->tags, vals);
	if (vals[COL_RECEIVED].type == SQLITE_INTEGER)
		store_span_widen(&st->batch_at, vals[COL_RECEIVED].i, vals[COL_RECEIVED].i);
	if (st->pending++ == 0)
		st->batch_started_ms = auth_mono_ms();
	st->appended++;
	if (st->pending >= st->batch_count ||
	    auth_mono_ms() - st->batch_started_ms >= (int64_t)st->batch_ms)
		return store_commit(st, cause);
	return 0;
}
