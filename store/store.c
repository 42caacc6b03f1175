/*
 * store/store.c -- opening the trail, its schema, sessions, and the rows
 * of events and gaps.
 *
 * DESIGN: rows are appended inside a transaction that commits after a
 * count of rows or a time, whichever comes first; the same transaction
 * moves the session's head (newest row id and hash), so a committed row
 * and the head that vouches for it are never apart, and a crash loses at
 * most the open batch.  The chain hash of each row is computed (in
 * store-writer.c) from exactly the values bound to the INSERT, and checked
 * in store-read.c from exactly the values SQLite returns: the columns have
 * no declared types, so SQLite keeps each value's storage class as
 * written.  An event's claims, token, headers and trace are stored in
 * compact form when that is shorter (store-codec.c); readers get the text
 * back, and the chain covers what is stored.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "store-int.h"

static const char *const store_schema_v1 =
    "CREATE TABLE trail ("
    " id INTEGER PRIMARY KEY, kind, received_at, session, subject, stream, stream_seq,"
    " rule, verdict, reason, alg, kid, iss, sub, aud, scope, jti, event_id, exp, iat,"
    " headers, body, token, checks, claims, warnings, gap_count, detail,"
    " prev_hash, hash);"
    "CREATE INDEX trail_time ON trail(received_at);"
    "CREATE INDEX trail_subject ON trail(subject, id);"
    "CREATE INDEX trail_verdict ON trail(verdict, reason, id);"
    "CREATE INDEX trail_iss ON trail(iss, id);"
    "CREATE INDEX trail_kid ON trail(kid, id);"
    "CREATE INDEX trail_event_id ON trail(event_id);"
    /* A JetStream message is recorded once, however often it is delivered. */
    "CREATE UNIQUE INDEX trail_stream_seq ON trail(stream, stream_seq)"
    " WHERE kind = 'event' AND stream IS NOT NULL;"
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY, started_us, ended_us, first_id, head_id, head_hash, rows);";

/*
 * Version 2: claims, token, headers and checks may hold a compact value (a
 * BLOB; v1 rows, all TEXT, read the same), and the event id index is
 * grouped by blocks of ids (store-int.h).  No row changes, so the chain and
 * the sessions' heads stay as they are.
 */
static const char *const store_schema_v2 =
    "DROP INDEX IF EXISTS trail_event_id;"
    "CREATE INDEX trail_event_block ON trail(" STORE_EVENT_BLOCK ", event_id)"
    " WHERE event_id IS NOT NULL;";

/*
 * Version 3: the time index and the verdict index go.  Time is found
 * through trail_spans (store-int.h), one row per few thousand events, built
 * here from the rows' times.  Failures keep two indexes of their own, by
 * reason and by id (the console's failures in id order), so a passing
 * event, the common case, costs two index entries less to record and a
 * failing one the same as before.  No row changes.
 */
static const char *const store_schema_v3 =
    "CREATE TABLE trail_spans (first_id INTEGER PRIMARY KEY, last_id, min_at, max_at);"
    "INSERT INTO trail_spans SELECT min(id), max(id), min(received_at), max(received_at)"
    " FROM trail GROUP BY id >> " STORE_SPAN_SHIFT ";"
    "DROP INDEX IF EXISTS trail_time;"
    "DROP INDEX IF EXISTS trail_verdict;"
    "CREATE INDEX trail_fail_reason ON trail(reason, id) WHERE verdict = 'fail';"
    "CREATE INDEX trail_fail_id ON trail(id) WHERE verdict = 'fail';";

/*
 * Version 4: the subject, iss and kid indexes go.  Which rows hold a value
 * is kept per block of ids in trail_tags (store-int.h, store-tags.c),
 * built here from the rows by store_tags_build(), so a row costs three
 * index entries less to record.  No row changes.
 */
static const char *const store_schema_v4 =
    "CREATE TABLE trail_tags (tag_field INTEGER, tag_block INTEGER, tag_value TEXT,"
    " tag_offsets BLOB, PRIMARY KEY (tag_field, tag_block, tag_value)) WITHOUT ROWID;"
    /* By block for patterns and windows, by value for a value met rarely. */
    "CREATE INDEX trail_tags_value ON trail_tags(tag_field, tag_value, tag_block);"
    "DROP INDEX IF EXISTS trail_subject;"
    "DROP INDEX IF EXISTS trail_iss;"
    "DROP INDEX IF EXISTS trail_kid;";

/*
 * The index definitions of db, one "name: sql" line each in name order,
 * or NULL when they cannot be read.
 */
char *
store_index_defs(sqlite3 *db)
{
	sqlite3_stmt	*s;
	char		*out = NULL, *more;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
	    " AND sql IS NOT NULL ORDER BY name", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	out = strdup("");
	while (out != NULL && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (asprintf(&more, "%s%s: %s\n", out, sqlite3_column_text(s, 0),
		    sqlite3_column_text(s, 1)) < 0)
			more = NULL;
		free(out);
		out = more;
	}
	sqlite3_finalize(s);
	if (out != NULL && rc != SQLITE_DONE) {
		free(out);
		out = NULL;
	}
	return out;
}

/*
 * The index definitions a trail of this schema has, as store_index_defs()
 * gives them, from the schema built in memory: the audit compares, since
 * an index redefined to leave rows out would hide them from filters.
 */
char *
store_index_defs_expected(void)
{
	sqlite3	*db = NULL;
	char	*out = NULL;

	if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
	    sqlite3_exec(db, store_schema_v1, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, store_schema_v2, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, store_schema_v3, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, store_schema_v4, NULL, NULL, NULL) == SQLITE_OK)
		out = store_index_defs(db);
	sqlite3_close(db);
	return out;
}

/* *cause = "what 'path': sqlite's message" (when cause is not NULL); returns -1. */
int
store_fail(struct store *st, const char *what, char **cause)
{
	const char	*msg = st->db ? sqlite3_errmsg(st->db) : "out of memory";

	if (cause != NULL && asprintf(cause, "%s '%s': %s", what, st->path, msg) < 0)
		*cause = NULL;
	return -1;
}

/* Run SQL with no results. */
int
store_exec(struct store *st, const char *sql, const char *what, char **cause)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(st, what, cause);
	return 0;
}

/* Free a store's resources. */
static void
store_free(struct store *st)
{
	store_writer_stop(st);
	store_checkpointer_stop(st);
	sqlite3_finalize(st->insert);
	sqlite3_finalize(st->head);
	sqlite3_finalize(st->span_put);
	sqlite3_finalize(st->tag_put);
	store_tags_free(&st->tags);
	sqlite3_close(st->db);
	/* After SQLite's close: closing a descriptor of the file drops its locks. */
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st->sync.enc.p);
	free(st->text.p);
	free(st->hdr.p);
	free(st->eid.p);
	free(st->ctx.p);
	free(st->ztok.p);
	free(st->zhdr.p);
	free(st->zchk.p);
	free(st->zclm.p);
	store_lz_free(&st->lz);
	free(st->keyset_json);
	free(st->path);
	free(st);
}

/* Bring the schema to STORE_SCHEMA_VERSION. */
static int
store_migrate(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 version = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	st->version = version;
	if (version > STORE_SCHEMA_VERSION) {
		if (asprintf(cause, "trail '%s' has schema %d, newer than this ztwatch knows (%d)",
		    st->path, version, STORE_SCHEMA_VERSION) < 0)
			*cause = NULL;
		return -1;
	}
	if (version == STORE_SCHEMA_VERSION || !st->writer)
		return 0;
	if (store_exec(st, "BEGIN IMMEDIATE", "cannot write trail", cause) != 0)
		return -1;
	/* Each step takes the schema one version further. */
	if ((version < 1 && sqlite3_exec(st->db, store_schema_v1, NULL, NULL, NULL) != SQLITE_OK) ||
	    (version < 2 && sqlite3_exec(st->db, store_schema_v2, NULL, NULL, NULL) != SQLITE_OK) ||
	    (version < 3 && sqlite3_exec(st->db, store_schema_v3, NULL, NULL, NULL) != SQLITE_OK) ||
	    (version < 4 && sqlite3_exec(st->db, store_schema_v4, NULL, NULL, NULL) != SQLITE_OK)) {
		store_fail(st, version == 0 ? "cannot create trail" : "cannot migrate trail", cause);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (version < 4 && store_tags_build(st, cause) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (store_exec(st, "PRAGMA user_version = " STORE_STR(STORE_SCHEMA_VERSION), "cannot write trail",
	    cause) != 0 || store_exec(st, "COMMIT", "cannot write trail", cause) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	st->version = STORE_SCHEMA_VERSION;
	return 0;
}

/* Read the newest row's id and hash, where the chain continues. */
static int
store_load_tail(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "SELECT id, hash FROM trail ORDER BY id DESC LIMIT 1",
	    -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	memset(st->last_hash, 0, sizeof st->last_hash);
	st->last_id = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->last_id = sqlite3_column_int64(s, 0);
		if (sqlite3_column_bytes(s, 1) == STORE_HASH_LEN)
			memcpy(st->last_hash, sqlite3_column_blob(s, 1), STORE_HASH_LEN);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(st, "cannot read trail", cause);
	st->committed_id = st->last_id;
	memcpy(st->committed_hash, st->last_hash, STORE_HASH_LEN);
	return 0;
}

/* Read the newest span, the one the next commits extend. */
static int
store_load_span(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	memset(&st->span, 0, sizeof st->span);
	if (sqlite3_prepare_v2(st->db, "SELECT first_id, min_at, max_at FROM trail_spans"
	    " ORDER BY first_id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->span.first_id = sqlite3_column_int64(s, 0);
		st->span.has_at = sqlite3_column_type(s, 1) == SQLITE_INTEGER &&
		    sqlite3_column_type(s, 2) == SQLITE_INTEGER;
		st->span.min_at = sqlite3_column_int64(s, 1);
		st->span.max_at = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(st, "cannot read trail", cause);
	return 0;
}

/* SQLite's memory statistics take a global mutex on every allocation;
   nothing here reads them. */
static void
store_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Open a connection: path must be a file (or absent, for a writer). */
static struct store *
store_connect(const char *path, int writer, char **cause)
{
	struct store	*st;
	struct stat	 sb;
	int		 flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
			    SQLITE_OPEN_READONLY;
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;

	pthread_once(&once, store_sqlite_config);

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (asprintf(cause, "trail '%s' is a directory", path) < 0)
			*cause = NULL;
		return NULL;
	}
	if (!writer && stat(path, &sb) != 0) {
		if (asprintf(cause, "no trail at '%s': %s", path, strerror(errno)) < 0)
			*cause = NULL;
		return NULL;
	}
	if ((st = calloc(1, sizeof *st)) == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		*cause = strdup("out of memory");
		return NULL;
	}
	st->writer = writer;
	st->lock_fd = -1;
	st->batch_count = 1000;
	st->batch_ms = 200;
	st->threaded = 1;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_fail(st, "cannot open trail", cause);
		store_free(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	return st;
}

/*
 * Make st the file's one writer: a second one (another record or import)
 * would chain its rows from a stale tail and fail on the first insert.
 * An flock, which SQLite's own POSIX locks do not see; it goes with the
 * process.
 */
static int
store_lock_writer(struct store *st, char **cause)
{
	if ((st->lock_fd = open(st->path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (asprintf(cause, "cannot open trail '%s': %s", st->path, strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (asprintf(cause, "trail '%s' is being written by another ztwatch (record, import or"
	    " the console): one writer at a time", st->path) < 0)
		*cause = NULL;
	return -1;
}

/* Open or create for writing. */
struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;

	if ((st = store_connect(path, 1, cause)) == NULL)
		return NULL;
	/* The first statement is where "file is not a database" shows. */
	/* 16 KiB pages: for rows of 1-2 KiB, measured faster to write than 32
	   or 64 KiB, and rows with big bodies stay off overflow chains.  (Only
	   takes effect when the file is new.) */
	if (store_exec(st, "PRAGMA page_size = 16384", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA journal_mode = WAL", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA wal_autocheckpoint = 8192", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA cache_size = -65536", "cannot open trail", cause) != 0 ||
	    store_lock_writer(st, cause) != 0 ||
	    store_migrate(st, cause) != 0 || store_load_tail(st, cause) != 0 ||
	    store_load_span(st, cause) != 0 || store_register_functions(st->db) != 0)
		goto fail;
	/* The open block's tags, which the next commits rewrite whole. */
	if (store_tags_load(st->db, &st->tags, (st->last_id + 1) / STORE_TAG_ROWS) != 0) {
		store_fail(st, "cannot read trail", cause);
		goto fail;
	}
	if (sqlite3_prepare_v3(st->db, "INSERT INTO trail (" STORE_COLUMNS ", prev_hash, hash)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
	    SQLITE_PREPARE_PERSISTENT, &st->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db, "UPDATE sessions SET head_id = ?, head_hash = ?,"
	    " rows = rows + ? WHERE id = ?", -1, SQLITE_PREPARE_PERSISTENT, &st->head,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db, "INSERT OR REPLACE INTO trail_spans (first_id, last_id,"
	    " min_at, max_at) VALUES (?,?,?,?)", -1, SQLITE_PREPARE_PERSISTENT, &st->span_put,
	    NULL) != SQLITE_OK) {
		store_fail(st, "cannot prepare trail", cause);
		goto fail;
	}
	store_writer_start(st);
	store_checkpointer_start(st);
	return st;
fail:
	store_free(st);
	return NULL;
}

/* Open read-only. */
struct store *
store_open_reader(const char *path, char **cause)
{
	struct store	*st;

	if ((st = store_connect(path, 0, cause)) == NULL)
		return NULL;
	if (store_migrate(st, cause) != 0 || store_register_functions(st->db) != 0) {
		store_free(st);
		return NULL;
	}
	return st;
}

/* Commit count/time policy. */
void
store_set_batch(struct store *st, unsigned count, unsigned ms)
{
	st->batch_count = count ? count : 1;
	st->batch_ms = ms;
}

/* Whether appends overlap with SQLite's work on a second thread. */
int
store_set_writer_thread(struct store *st, int on, char **cause)
{
	if (store_writer_sync(st, cause) != 0)
		return -1;
	st->threaded = on;
	if (on)
		store_writer_start(st);
	else
		store_writer_stop(st);
	return 0;
}

/* Rows not yet committed. */
unsigned
store_pending(const struct store *st)
{
	return st->pending;
}

/* Rows appended by this writer. */
uint64_t
store_appended(const struct store *st)
{
	return st->appended;
}

/* ---- rows ------------------------------------------------------------------ */

/* Make room for n more bytes. */
void
store_buf_reserve(struct store_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	while (b->cap - b->len < n)
		b->cap = b->cap ? b->cap * 2 : 4096;
	if ((b->p = realloc(b->p, b->cap)) == NULL) {
		fputs("ztwatch: out of memory\n", stderr);
		abort();
	}
}

/* Append n bytes. */
void
store_buf_add(struct store_buf *b, const void *p, size_t n)
{
	store_buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* A value from a column of a stepped statement (as the audit reads it). */
void
store_value_from_column(sqlite3_stmt *s, int i, struct store_value *v)
{
	v->type = sqlite3_column_type(s, i);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(s, i);
		break;
	case SQLITE_FLOAT:
		v->d = sqlite3_column_double(s, i);
		break;
	case SQLITE_TEXT:
		v->p = sqlite3_column_text(s, i);
		v->n = (size_t)sqlite3_column_bytes(s, i);
		break;
	case SQLITE_BLOB:
		v->p = sqlite3_column_blob(s, i);
		v->n = (size_t)sqlite3_column_bytes(s, i);
		if (v->p == NULL)
			v->p = "";
		break;
	}
}

/* Value setters for building a row. */
void
val_null(struct store_value *v)
{
	v->type = SQLITE_NULL;
}

void
val_int(struct store_value *v, int64_t i)
{
	v->type = SQLITE_INTEGER;
	v->i = i;
}

void
val_real(struct store_value *v, double d)
{
	v->type = SQLITE_FLOAT;
	v->d = d;
}

void
val_textn(struct store_value *v, const void *s, size_t n)
{
	v->type = SQLITE_TEXT;
	v->p = s;
	v->n = n;
}

void
val_text(struct store_value *v, const char *s)
{
	if (s == NULL)
		v->type = SQLITE_NULL;
	else
		val_textn(v, s, strlen(s));
}

void
val_blob(struct store_value *v, const void *p, size_t n)
{
	v->type = SQLITE_BLOB;
	v->p = p != NULL ? p : "";
	v->n = n;
}

/* ---- sessions -------------------------------------------------------------- */

/* The session row's detail: the run and the keys it trusted (text: the
   policy's key set as the session starts). */
static char *
store_session_detail(const struct store_session_info *si, const char *text)
{
	json_t			*d = json_object(), *set;
	char			*out;

	json_object_set_new(d, "version", json_string(si->version));
	json_object_set_new(d, "command", json_string(si->command));
	if (si->policy != NULL) {
		json_object_set_new(d, "policy_hash", json_string(auth_policy_hash(si->policy)));
		/* Every key trusted as the session starts, fixed and fetched. */
		set = json_loads(text, 0, NULL);
		json_object_set(d, "keyset", json_object_get(set, "keyset"));
		json_object_set(d, "keys", json_object_get(set, "keys"));
		json_decref(set);
	} else
		json_object_set_new(d, "keys", json_array());
	json_object_set_new(d, "server", si->server ? json_string(si->server) : json_null());
	json_object_set_new(d, "subjects", si->subjects ? json_string(si->subjects) :
	    json_null());
	json_object_set_new(d, "source", si->source ? json_string(si->source) : json_null());
	out = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return out;
}

/* Start a session. */
int
store_session_begin(struct store *st, const struct store_session_info *si, int64_t now_us,
    char **cause)
{
	struct store_value	 vals[STORE_NCOLS];
	sqlite3_stmt		*s;
	char			*detail, *keys = NULL;
	uint64_t		 gen = 0;
	int			 i, rc;

	if (store_commit(st, cause) != 0)
		return -1;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO sessions (started_us, first_id, head_id,"
	    " head_hash, rows) VALUES (?, ?, ?, ?, 0)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot write trail", cause);
	if (store_exec(st, "BEGIN IMMEDIATE", "cannot write trail", cause) != 0) {
		sqlite3_finalize(s);
		return -1;
	}
	st->in_txn = 1;
	sqlite3_bind_int64(s, 1, now_us);
	sqlite3_bind_int64(s, 2, st->last_id + 1);
	sqlite3_bind_int64(s, 3, st->last_id);
	sqlite3_bind_blob(s, 4, st->last_hash, STORE_HASH_LEN, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_fail(st, "cannot write trail", cause);
		store_rollback(st);
		return -1;
	}
	st->session = sqlite3_last_insert_rowid(st->db);
	/* Events name their key set when it can change (fetched keys).  The
	   generation and the keys of one snapshot: a fetch may land meanwhile. */
	if (si->policy != NULL)
		gen = auth_policy_keyset(si->policy, NULL, &keys);
	free(st->keyset_json);
	st->keyset_json = NULL;
	st->keyset_nseen = 0;
	if (si->policy != NULL && auth_policy_remote_count(si->policy) > 0) {
		st->keyset_json = strdup(keys);
		st->keyset_seen[st->keyset_nseen++] = gen;
	}
	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	detail = store_session_detail(si, keys);
	free(keys);
	val_text(&vals[COL_KIND], "session");
	val_int(&vals[COL_RECEIVED], now_us);
	val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_SUBJECT], NULL);
	val_text(&vals[COL_DETAIL], detail);
	/* Written here, in this transaction, and committed at once. */
	rc = store_append_row(st, vals, 1, cause);
	free(detail);
	if (rc != 0 || store_commit(st, cause) != 0) {
		st->session = 0;
		return -1;
	}
	return 0;
}

/* Commit, close the session and the connection. */
int
store_close(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc = 0;

	if (st == NULL)
		return 0;
	if (st->writer) {
		rc = store_commit(st, cause);
		store_writer_stop(st);
		if (rc == 0 && st->session != 0 && sqlite3_prepare_v2(st->db,
		    "UPDATE sessions SET ended_us = ? WHERE id = ?", -1, &s, NULL) == SQLITE_OK) {
			struct timespec	ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			sqlite3_bind_int64(s, 1, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
			sqlite3_bind_int64(s, 2, st->session);
			if (sqlite3_step(s) != SQLITE_DONE)
				rc = store_fail(st, "cannot close session in trail", cause);
			sqlite3_finalize(s);
		}
		/* Fold the WAL back so the file stands alone. */
		sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	store_free(st);
	return rc;
}

/* ---- events and gaps ---------------------------------------------------- */

#define SWAR_ONES	0x0101010101010101ULL
#define SWAR_HIGHS	0x8080808080808080ULL
/* Whether some byte of x is below n (n <= 128), or equal to b. */
#define SWAR_LESS(x, n)	(((x) - SWAR_ONES * (n)) & ~(x) & SWAR_HIGHS)
#define SWAR_HAS(x, b)	SWAR_LESS((x) ^ (SWAR_ONES * (b)), 1)

/* Append s[0..n) as a JSON string, escaped exactly as jansson's json_dumps
   does: \" \\ \b \f \n \r \t, other controls as \u00XX, the rest raw. */
static void
store_json_string(struct store_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t			 i = 0, run = 0;
	uint64_t		 x;

	store_buf_reserve(b, n + 2);
	store_buf_add(b, "\"", 1);
	while (i < n) {
		if (i + 8 <= n) {
			memcpy(&x, p + i, 8);
			if (!SWAR_LESS(x, 0x20) && !SWAR_HAS(x, '"') && !SWAR_HAS(x, '\\')) {
				i += 8;
				continue;
			}
		}
		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			i++;
			continue;
		}
		store_buf_add(b, p + run, i - run);
		switch (p[i]) {
		case '"':
			store_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			store_buf_add(b, "\\\\", 2);
			break;
		case '\b':
			store_buf_add(b, "\\b", 2);
			break;
		case '\f':
			store_buf_add(b, "\\f", 2);
			break;
		case '\n':
			store_buf_add(b, "\\n", 2);
			break;
		case '\r':
			store_buf_add(b, "\\r", 2);
			break;
		case '\t':
			store_buf_add(b, "\\t", 2);
			break;
		default:
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			store_buf_add(b, esc, 6);
		}
		run = ++i;
	}
	store_buf_add(b, p + run, i - run);
	store_buf_add(b, "\"", 1);
}

#define STORE_HDR_FAST	64

/*
 * The message's headers as a JSON object, NUL-terminated in b; repeated
 * names become arrays.  Byte for byte what trails of schema 1 hold (they
 * were built with jansson): members in order of first appearance, names
 * or values that are not UTF-8 left out, and a name seen again turns into
 * an array even when that value is left out.
 */
void
store_headers_json(const struct auth_msg *msg, struct store_buf *b)
{
	const struct auth_header	*h = msg->headers;
	unsigned char			 fast[STORE_HDR_FAST], *ok = fast;
	size_t				 fastlen[STORE_HDR_FAST], *vlen = fastlen;
	size_t				 n = msg->nheaders, i, j;
	int				 seen, array;

	/* ok[i]: 1 name is usable, 2 and so is the value. */
	if (n > STORE_HDR_FAST && ((ok = malloc(n)) == NULL ||
	    (vlen = malloc(n * sizeof *vlen)) == NULL)) {
		fputs("ztwatch: out of memory\n", stderr);
		abort();
	}
	for (i = 0; i < n; i++) {
		ok[i] = h[i].name != NULL && h[i].value != NULL &&
		    auth_utf8_valid(h[i].name, strlen(h[i].name));
		if (ok[i] && auth_utf8_valid(h[i].value, vlen[i] = strlen(h[i].value)))
			ok[i] = 2;
	}
	b->len = 0;
	store_buf_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (ok[i] != 2)
			continue;
		for (seen = 0, j = 0; j < i && !seen; j++)
			seen = ok[j] == 2 && strcmp(h[j].name, h[i].name) == 0;
		if (seen)
			continue;
		for (array = 0, j = i + 1; j < n && !array; j++)
			array = ok[j] != 0 && strcmp(h[j].name, h[i].name) == 0;
		if (b->len > 1)
			store_buf_add(b, ",", 1);
		store_json_string(b, h[i].name, strlen(h[i].name));
		store_buf_add(b, array ? ":[" : ":", array ? 2 : 1);
		store_json_string(b, h[i].value, vlen[i]);
		for (j = i + 1; array && j < n; j++) {
			if (ok[j] == 2 && strcmp(h[j].name, h[i].name) == 0) {
				store_buf_add(b, ",", 1);
				store_json_string(b, h[j].value, vlen[j]);
			}
		}
		if (array)
			store_buf_add(b, "]", 1);
	}
	store_buf_add(b, "}", 2);
	b->len--;
	if (ok != fast) {
		free(ok);
		free(vlen);
	}
}

/* The event id as the trail keeps it: a string decoded, another value as
   its JSON text (so lookups by id compare plain text). NULL when none. */
static const char *
store_event_id(const char *json, struct store_buf *b)
{
	json_t	*j;
	size_t	 n;

	if (json == NULL || json[0] != '"')
		return json;
	n = strlen(json);
	b->len = 0;
	if (n >= 2 && json[n - 1] == '"' && memchr(json, '\\', n) == NULL) {
		store_buf_add(b, json + 1, n - 2);
	} else {
		if ((j = json_loads(json, JSON_DECODE_ANY, NULL)) == NULL)
			return json;
		store_buf_add(b, json_string_value(j), strlen(json_string_value(j)));
		json_decref(j);
	}
	store_buf_add(b, "", 1);
	return (const char *)b->p;
}

/* Store text[0..n) compactly against ctx when that is shorter, else as text
   (matches looked for before text[search] only; seeded: ctx may appear
   whole in the text). */
void
store_val_compact(struct store *st, struct store_value *v, struct store_buf *z,
    const void *ctx, size_t ctxlen, const void *text, size_t n, size_t search, int seeded)
{
	size_t	seed = seeded && text != NULL ? store_lz_find(text, n, ctx, ctxlen) : SIZE_MAX;

	z->len = 0;
	if (text != NULL && store_lz_encode(&st->lz, ctx, ctxlen, text, n, search, seed, z) == 0)
		val_blob(v, z->p, z->len);
	else if (text != NULL)
		val_textn(v, text, n);
	else
		val_null(v);
}

/*
 * The compact forms of an event row's long columns (README, "The audit
 * trail"): the claims against the registered claims' columns (set in
 * vals), the token against the base64url of the claims, the headers
 * (st->hdr) against the token, the trace against the claims.  The token
 * holds its claims whole, and the headers the token: those matches are
 * seeded rather than searched for.
 */
void
store_compact_columns(struct store *st, struct store_value *vals, const char *claims,
    size_t clen, const char *token, size_t tlen, const char *checks, size_t checks_len)
{
	const char	*sig;
	int		 i;

	st->ctx.len = 0;
	for (i = COL_ISS; i <= COL_EVENT_ID; i++) {
		if (vals[i].type == SQLITE_TEXT)
			store_buf_add(&st->ctx, vals[i].p, vals[i].n);
	}
	store_val_compact(st, &vals[COL_CLAIMS], &st->zclm, st->ctx.p, st->ctx.len, claims,
	    clen, clen, 0);
	st->ctx.len = 0;
	if (claims != NULL)
		store_b64url(&st->ctx, claims, clen);
	/* A JWS signature does not repeat: no need to look for matches in it. */
	sig = token != NULL ? strrchr(token, '.') : NULL;
	store_val_compact(st, &vals[COL_TOKEN], &st->ztok, st->ctx.p, st->ctx.len, token, tlen,
	    sig != NULL ? (size_t)(sig - token) + 1 : tlen, 1);
	store_val_compact(st, &vals[COL_HEADERS], &st->zhdr, token, tlen, st->hdr.p, st->hdr.len,
	    st->hdr.len, 1);
	store_val_compact(st, &vals[COL_CHECKS], &st->zchk, claims, claims ? clen : 0, checks,
	    checks_len, checks_len, 0);
}

/* Whether keys (a key set description's array) has key: same entry name,
   kid and fingerprint. */
static int
store_keys_have(json_t *keys, json_t *key)
{
	json_t	*k;
	size_t	 i;

	json_array_foreach(keys, i, k) {
		if (json_equal(json_object_get(k, "name"), json_object_get(key, "name")) &&
		    json_equal(json_object_get(k, "kid"), json_object_get(key, "kid")) &&
		    json_equal(json_object_get(k, "fingerprint"),
		    json_object_get(key, "fingerprint")))
			return 1;
	}
	return 0;
}

/* The keys of a that b lacks; their entry names join names (an array). */
static json_t *
store_keys_diff(json_t *a, json_t *b, json_t *names)
{
	json_t	*out = json_array(), *k, *name, *n;
	size_t	 i, j;

	json_array_foreach(a, i, k) {
		if (store_keys_have(b, k))
			continue;
		json_array_append(out, k);
		if (!json_is_string(name = json_object_get(k, "name")))
			continue;
		json_array_foreach(names, j, n) {
			if (json_equal(n, name))
				break;
		}
		if (j == json_array_size(names))
			json_array_append(names, name);
	}
	return out;
}

/*
 * A keyset row's detail: json (auth_policy_keyset()'s description) with its
 * change said against prev, the key set the trail last recorded.  auth/
 * says what changed since the set before, but sets that judged no event
 * never reach the trail: keys added then removed, or two entries changed,
 * between two events.  Allocated, or NULL when json does not parse.
 */
static char *
store_keyset_detail(const char *prev, const char *json)
{
	json_t	*d = json_loads(json, 0, NULL), *p = json_loads(prev ? prev : "{}", 0, NULL);
	json_t	*change = json_object(), *keys = json_object_get(d, "keys");
	json_t	*before = json_object_get(p, "keys"), *names = json_array(), *n;
	json_t	*added = store_keys_diff(keys, before, names);
	json_t	*removed = store_keys_diff(before, keys, names);
	char	*text = NULL, *next, *out;
	size_t	 i;

	/* The entry that changed; several, when sets came and went unrecorded. */
	json_array_foreach(names, i, n) {
		if (asprintf(&next, "%s%s%s", text ? text : "", text ? ", " : "",
		    json_string_value(n)) < 0)
			break;
		free(text);
		text = next;
	}
	if (text != NULL)
		json_object_set_new(change, "key", json_string(text));
	else
		json_object_set(change, "key", json_object_get(json_object_get(d, "change"),
		    "key"));
	json_object_set_new(change, "added", added);
	json_object_set_new(change, "removed", removed);
	json_object_set_new(d, "change", change);
	out = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	free(text);
	json_decref(names);
	json_decref(d);
	json_decref(p);
	return out;
}

/* Whether the key set of generation gen was recorded in this session. */
static int
store_keyset_recorded(const struct store *st, uint64_t gen)
{
	unsigned	i;

	for (i = 0; i < st->keyset_nseen; i++) {
		if (st->keyset_seen[i] == gen)
			return 1;
	}
	return 0;
}

/* The newest generation recorded in this session, or 0. */
static uint64_t
store_keyset_newest(const struct store *st)
{
	uint64_t	newest = 0;
	unsigned	i;

	for (i = 0; i < st->keyset_nseen; i++) {
		if (st->keyset_seen[i] > newest)
			newest = st->keyset_seen[i];
	}
	return newest;
}

/* Note gen as recorded, forgetting the oldest when full. */
static void
store_keyset_note(struct store *st, uint64_t gen)
{
	if (st->keyset_nseen == STORE_KEYSETS_SEEN) {
		memmove(st->keyset_seen, st->keyset_seen + 1,
		    (STORE_KEYSETS_SEEN - 1) * sizeof st->keyset_seen[0]);
		st->keyset_nseen--;
	}
	st->keyset_seen[st->keyset_nseen++] = gen;
}

/*
 * Append a keyset row: the keys that judge the events after it changed
 * (detail: auth_policy_keyset()'s description).  The newest set's change
 * is said since the set last recorded; an older one's, recorded late,
 * keeps auth's own (since the set before it).
 */
static int
store_append_keyset(struct store *st, int64_t received_us, const char *json, int newest,
    char **cause)
{
	struct store_value	vals[STORE_NCOLS];
	char			*detail = newest ? store_keyset_detail(st->keyset_json, json) : NULL;
	int			i, rc;

	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	val_text(&vals[COL_KIND], "keyset");
	val_int(&vals[COL_RECEIVED], received_us);
	if (st->session != 0)
		val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_DETAIL], detail != NULL ? detail : json);
	rc = store_append_row(st, vals, 0, cause) < 0 ? -1 : 0;
	free(detail);
	if (rc == 0 && newest) {
		free(st->keyset_json);
		st->keyset_json = strdup(json);
	}
	return rc;
}

/* Append an event. */
int
store_append_event(struct store *st, const struct auth_msg *msg, const struct auth_verdict *v,
    const struct store_origin *o, int *dup, char **cause)
{
	struct store_value	 vals[STORE_NCOLS];
	struct auth_facts	 f;
	const char		*claims, *token, *keyset, *keyset_json;
	char			*js;
	size_t			 clen, tlen, jlen, jcap, checks_len, warn_off;
	uint64_t		 keyset_gen;
	int			 i, rc;

	if (dup != NULL)
		*dup = 0;
	/*
	 * A key set not yet recorded gets its row first, once.  With several
	 * verifier threads, verdicts of the set before may still arrive after
	 * one of the set after: no change, and no row, unless that older set
	 * was never recorded (two changes in one block).
	 */
	keyset_gen = auth_verdict_keyset(v, &keyset, &keyset_json);
	if (keyset_gen != 0 && !store_keyset_recorded(st, keyset_gen)) {
		if (store_append_keyset(st, o->received_us, keyset_json,
		    keyset_gen > store_keyset_newest(st), cause) != 0)
			return -1;
		store_keyset_note(st, keyset_gen);
	}
	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	auth_verdict_facts(v, &f);
	claims = auth_verdict_claims_text(v, &clen);
	token = auth_verdict_token(v);
	tlen = token != NULL ? strlen(token) : 0;

	/* The trace, then the warnings, in one buffer. */
	js = (char *)st->text.p;
	jlen = 0;
	jcap = st->text.cap;
	auth_verdict_checks_json(v, &js, &jlen, &jcap);
	checks_len = jlen;
	warn_off = jlen;
	auth_verdict_warnings_json(v, &js, &jlen, &jcap);
	st->text.p = (unsigned char *)js;
	st->text.cap = jcap;
	st->text.len = jlen;
	store_headers_json(msg, &st->hdr);

	val_text(&vals[COL_KIND], "event");
	val_int(&vals[COL_RECEIVED], o->received_us);
	if (st->session != 0)
		val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_SUBJECT], msg->subject ? msg->subject : "");
	val_text(&vals[COL_STREAM], o->stream);
	if (o->stream != NULL)
		val_int(&vals[COL_SEQ], (int64_t)o->stream_seq);
	val_text(&vals[COL_RULE], auth_verdict_rule(v));
	val_text(&vals[COL_VERDICT], auth_verdict_pass(v) ? "pass" : "fail");
	val_text(&vals[COL_REASON], auth_reason_name(auth_verdict_reason(v)));
	val_text(&vals[COL_ALG], auth_verdict_alg(v));
	val_text(&vals[COL_KID], auth_verdict_kid(v));
	val_text(&vals[COL_ISS], f.iss);
	val_text(&vals[COL_SUB], f.sub);
	val_text(&vals[COL_AUD], f.aud);
	val_text(&vals[COL_SCOPE], f.scope);
	val_text(&vals[COL_JTI], f.jti);
	val_text(&vals[COL_EVENT_ID], store_event_id(auth_verdict_event_id(v), &st->eid));
	if (f.has_exp)
		val_real(&vals[COL_EXP], f.exp);
	if (f.has_iat)
		val_real(&vals[COL_IAT], f.iat);
	val_blob(&vals[COL_BODY], msg->body, msg->body_len);
	val_textn(&vals[COL_WARNINGS], js + warn_off, jlen - warn_off);
	val_text(&vals[COL_DETAIL], keyset);

	store_compact_columns(st, vals, claims, claims ? clen : 0, token, tlen, js, checks_len);

	rc = store_append_row(st, vals, o->stream != NULL, cause);
	if (rc == 1 && dup != NULL)
		*dup = 1;
	return rc < 0 ? -1 : 0;
}

/* Append a gap. */
int
store_append_gap(struct store *st, int64_t received_us, const char *subject,
    const char *stream, uint64_t first_seq, uint64_t count, const char *detail, char **cause)
{
	struct store_value	vals[STORE_NCOLS];
	int			i;

	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	val_text(&vals[COL_KIND], "gap");
	val_int(&vals[COL_RECEIVED], received_us);
	if (st->session != 0)
		val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_SUBJECT], subject);
	val_text(&vals[COL_STREAM], stream);
	if (stream != NULL)
		val_int(&vals[COL_SEQ], (int64_t)first_seq);
	val_int(&vals[COL_GAP_COUNT], (int64_t)count);
	val_text(&vals[COL_DETAIL], detail);
	return store_append_row(st, vals, 0, cause) < 0 ? -1 : 0;
}
