/*
 * store/store-checkpoint.c -- WAL checkpoints on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses the
 * threshold: that commit copies the whole WAL (128 MiB at 8,192 pages of
 * 16 KiB) into the database and syncs it, while the recorder waits.
 * Measured on a 200,000-event flood: 40 commits took 314 ms, 170 of them
 * in the one that checkpointed.  Here the writer's connection never
 * checkpoints; its WAL hook (called after each commit with the WAL's size)
 * wakes this thread, which checkpoints PASSIVE-ly from a connection of its
 * own: the writer goes on appending meanwhile, and SQLite restarts the WAL
 * from its beginning once a checkpoint has copied all of it.
 *
 * SQLite starts the WAL over only when a write transaction begins with
 * every frame already copied, and our writer begins its next transaction
 * as soon as it has committed, so a checkpoint beside it never finishes
 * in time on its own.  The thread therefore repeats its pass until a pass
 * finds little new (each copies what came during the one before, which
 * shrinks fast), and the writer, in the hook after its next commit,
 * copies that little itself (a passive checkpoint from its own connection:
 * a few milliseconds, where the whole WAL took 170); the transaction it
 * begins next starts the WAL over.  A passive checkpoint never blocks and
 * may copy only part of the WAL (a reader holding an old snapshot); it is
 * tried again later.  If the WAL still grows past 8 times the threshold,
 * the writer checkpoints after a commit as SQLite would have.  Closing the
 * writer's connection checkpoints what is left, as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define STORE_WAL_CHECKPOINT	8192		/* pages (16 KiB) that wake the thread; at 8
						   times that the writer checkpoints itself */
#define STORE_CATCH_UP_ROUNDS	8		/* passes per wake at most */
#define STORE_CATCH_UP_LEFT	1024		/* frames (16 MiB) a pass may leave */

struct store_checkpointer {
	sqlite3			*db;		/* its own connection */
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 wake;
	int			 due, running, stop;
	int			 pages;		/* STORE_WAL_CHECKPOINT, or a test's */
	unsigned		 passes;	/* the thread's checkpoints so far */
	unsigned		 seen;		/* passes the writer has followed up */
};

/* The writer's WAL hook: after every commit, with the WAL's page count. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_checkpointer	*c = arg;
	unsigned			 passes;
	int				 busy, limit;

	pthread_mutex_lock(&c->mu);
	passes = c->passes;
	busy = c->due || c->running;
	limit = c->pages;
	if (!busy && passes == c->seen && pages >= limit && pages < 8 * limit) {
		c->due = 1;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->mu);
	if ((!busy && passes != c->seen) || pages >= 8 * limit) {
		/* The tail the thread's pass left, or (it cannot keep up, or
		   readers pin the WAL) everything, as SQLite would. */
		c->seen = passes;
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	return SQLITE_OK;
}

/*
 * Passive passes until a pass finds little new: the writer adds frames
 * meanwhile, but each pass copies what came during the previous one,
 * which shrinks fast, since copying is quicker than recording.  What is
 * left (a commit or two) is copied by the next wake, or by the writer.
 */
static void
store_checkpoint_catch_up(struct store_checkpointer *c)
{
	int	log = 0, done = 0, prev = -1, round;

	for (round = 0; round < STORE_CATCH_UP_ROUNDS; round++) {
		if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
		    &done) != SQLITE_OK)
			break;
		/* Little came since the last pass: the next commit finds the WAL
		   all copied, and starts it over. */
		if (prev >= 0 && log - prev <= STORE_CATCH_UP_LEFT)
			break;
		prev = log;
	}
}

static void *
store_checkpoint_main(void *arg)
{
	struct store_checkpointer	*c = arg;

	pthread_setname_np(pthread_self(), "zt-checkpoint");
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stop)
			break;
		c->due = 0;
		c->running = 1;
		pthread_mutex_unlock(&c->mu);
		/* Failures (a full disk, say) leave the WAL as it is: the rows in it
		   are committed, and the next try or the close copies them. */
		store_checkpoint_catch_up(c);
		pthread_mutex_lock(&c->mu);
		c->running = 0;
		c->passes++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Start checkpointing st's trail on a thread; without one, SQLite's own
   automatic checkpoint stays on. */
void
store_checkpointer_start(struct store *st)
{
	struct store_checkpointer	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return;
	/* A connection sees the WAL only once it has read the database: until
	   then a checkpoint from it does nothing (and says so only by -1s). */
	if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(c->db);
		free(c);
		return;
	}
	c->pages = STORE_WAL_CHECKPOINT;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, store_checkpoint_main, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->wake);
		sqlite3_close(c->db);
		free(c);
		return;
	}
	st->ckpt = c;
	/* Replaces SQLite's automatic checkpoint (itself a WAL hook). */
	sqlite3_wal_hook(st->db, store_wal_hook, c);
}

/* Stop the thread and close its connection (before the writer's closes). */
void
store_checkpointer_stop(struct store *st)
{
	struct store_checkpointer	*c = st->ckpt;

	if (c == NULL)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->wake);
	sqlite3_close(c->db);
	free(c);
	st->ckpt = NULL;
}

/* The WAL size (pages) that wakes the checkpoint thread (tests). */
void
store_set_checkpoint_pages(struct store *st, int pages)
{
	if (st->ckpt != NULL && pages > 0) {
		pthread_mutex_lock(&st->ckpt->mu);
		st->ckpt->pages = pages;
		pthread_mutex_unlock(&st->ckpt->mu);
	}
}
