/*
 * store/store.c -- opening the trail, its schema, and the one writer.
 *
 * DESIGN: rows are appended inside a transaction that commits after a
 * count of rows or a time, whichever comes first; the same transaction
 * moves the session's head (newest row id and hash), so a committed row
 * and the head that vouches for it are never apart, and a crash loses at
 * most the open batch.  The chain hash of each row is computed here from
 * exactly the values bound to the INSERT, and checked in store-read.c
 * from exactly the values SQLite returns: the columns have no declared
 * types, so SQLite keeps each value's storage class as written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/* Milliseconds of a monotonic clock. */
int64_t
store_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* *cause = "what 'path': sqlite's message"; returns -1. */
int
store_fail(struct store *st, const char *what, char **cause)
{
	const char	*msg = st->db ? sqlite3_errmsg(st->db) : "out of memory";

	if (asprintf(cause, "%s '%s': %s", what, st->path, msg) < 0)
		*cause = NULL;
	return -1;
}

/* Run SQL with no results. */
static int
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
	sqlite3_finalize(st->insert);
	sqlite3_finalize(st->head);
	sqlite3_close(st->db);
	free(st->enc.p);
	free(st->text.p);
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
	if (version < 1 && sqlite3_exec(st->db, store_schema_v1, NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(st, "cannot create trail", cause);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (store_exec(st, "PRAGMA user_version = 1", "cannot write trail", cause) != 0 ||
	    store_exec(st, "COMMIT", "cannot write trail", cause) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
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

/* Open a connection: path must be a file (or absent, for a writer). */
static struct store *
store_connect(const char *path, int writer, char **cause)
{
	struct store	*st;
	struct stat	 sb;
	int		 flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
			    SQLITE_OPEN_READONLY;

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
	st->batch_count = 1000;
	st->batch_ms = 200;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_fail(st, "cannot open trail", cause);
		store_free(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	return st;
}

/* Open or create for writing. */
struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;

	if ((st = store_connect(path, 1, cause)) == NULL)
		return NULL;
	/* The first statement is where "file is not a database" shows. */
	/* Rows run to several KiB: 16 KiB pages keep them off overflow chains.
	   (Only takes effect when the file is new.) */
	if (store_exec(st, "PRAGMA page_size = 16384", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA journal_mode = WAL", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA wal_autocheckpoint = 8192", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", "cannot open trail", cause) != 0 ||
	    store_exec(st, "PRAGMA cache_size = -65536", "cannot open trail", cause) != 0 ||
	    store_migrate(st, cause) != 0 || store_load_tail(st, cause) != 0 ||
	    store_register_functions(st->db) != 0)
		goto fail;
	if (sqlite3_prepare_v3(st->db, "INSERT INTO trail (" STORE_COLUMNS ", prev_hash, hash)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
	    SQLITE_PREPARE_PERSISTENT, &st->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db, "UPDATE sessions SET head_id = ?, head_hash = ?,"
	    " rows = rows + ? WHERE id = ?", -1, SQLITE_PREPARE_PERSISTENT, &st->head,
	    NULL) != SQLITE_OK) {
		store_fail(st, "cannot prepare trail", cause);
		goto fail;
	}
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

/* ---- the chain ------------------------------------------------------- */

/* Make room for n more bytes. */
static void
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
static void
store_buf_add(struct store_buf *b, const void *p, size_t n)
{
	store_buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

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
 * The chain hash: SHA-256("ztwatch-trail-v1" || prev || encoding), the
 * encoding being, per column in chain order, a type byte (SQLite's
 * storage class) and the value: integers and reals as 8 big-endian bytes,
 * text and blobs as an 8-byte length and the bytes.
 */
void
store_chain_hash(struct store_buf *b, const unsigned char *prev,
    const struct store_value *vals, unsigned char out[STORE_HASH_LEN])
{
	static const char	prefix[] = "ztwatch-trail-v1";
	unsigned char		type;
	uint64_t		bits;
	int			i;

	b->len = 0;
	store_buf_add(b, prefix, sizeof prefix - 1);
	store_buf_add(b, prev, STORE_HASH_LEN);
	for (i = 0; i < STORE_NCOLS; i++) {
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
			store_buf_add(b, vals[i].p, vals[i].n);
			break;
		}
	}
	auth_sha256(b->p, b->len, out);
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
static void
val_null(struct store_value *v)
{
	v->type = SQLITE_NULL;
}

static void
val_int(struct store_value *v, int64_t i)
{
	v->type = SQLITE_INTEGER;
	v->i = i;
}

static void
val_real(struct store_value *v, double d)
{
	v->type = SQLITE_FLOAT;
	v->d = d;
}

static void
val_text(struct store_value *v, const char *s)
{
	if (s == NULL) {
		v->type = SQLITE_NULL;
		return;
	}
	v->type = SQLITE_TEXT;
	v->p = s;
	v->n = strlen(s);
}

static void
val_blob(struct store_value *v, const void *p, size_t n)
{
	v->type = SQLITE_BLOB;
	v->p = p != NULL ? p : "";
	v->n = n;
}

/* Bind vals (and the hashes) to the insert statement. */
static int
store_bind(struct store *st, const struct store_value *vals, const unsigned char *prev,
    const unsigned char *hash)
{
	sqlite3_stmt	*s = st->insert;
	int		 i, rc = SQLITE_OK;

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
		rc = sqlite3_bind_blob(s, STORE_NCOLS + 1, prev, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, STORE_NCOLS + 2, hash, STORE_HASH_LEN, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Give up the open batch: its rows were never committed. */
static void
store_rollback(struct store *st)
{
	if (st->in_txn)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = 0;
	st->pending = 0;
	st->last_id = st->committed_id;
	memcpy(st->last_hash, st->committed_hash, STORE_HASH_LEN);
}

/* Commit the pending batch, moving the session head in the same transaction. */
int
store_commit(struct store *st, char **cause)
{
	sqlite3_stmt	*h = st->head;

	if (!st->in_txn)
		return 0;
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
	st->committed_id = st->last_id;
	memcpy(st->committed_hash, st->last_hash, STORE_HASH_LEN);
	return 0;
}

/*
 * Append one row of values (id filled in here).  Returns 0, 1 when a
 * unique constraint says the row is already there (nothing appended), or
 * -1 with *cause (the batch is rolled back).
 */
static int
store_append_row(struct store *st, struct store_value *vals, char **cause)
{
	unsigned char	hash[STORE_HASH_LEN];
	int		rc;

	if (!st->in_txn) {
		if (store_exec(st, "BEGIN IMMEDIATE", "cannot write trail", cause) != 0)
			return -1;
		st->in_txn = 1;
		st->batch_started_ms = store_now_ms();
	}
	val_int(&vals[COL_ID], st->last_id + 1);
	store_chain_hash(&st->enc, st->last_hash, vals, hash);
	if (store_bind(st, vals, st->last_hash, hash) != 0) {
		store_fail(st, "cannot write trail", cause);
		sqlite3_reset(st->insert);
		store_rollback(st);
		return -1;
	}
	rc = sqlite3_step(st->insert);
	sqlite3_reset(st->insert);
	sqlite3_clear_bindings(st->insert);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != SQLITE_DONE) {
		store_fail(st, "cannot write trail", cause);
		store_rollback(st);
		return -1;
	}
	st->last_id++;
	memcpy(st->last_hash, hash, STORE_HASH_LEN);
	st->pending++;
	st->appended++;
	if (st->pending >= st->batch_count ||
	    store_now_ms() - st->batch_started_ms >= (int64_t)st->batch_ms)
		return store_commit(st, cause);
	return 0;
}

/* ---- sessions -------------------------------------------------------------- */

/* The session row's detail: the run and the keys it trusted. */
static char *
store_session_detail(const struct store_session_info *si)
{
	json_t			*d = json_object(), *keys = json_array(), *k;
	struct auth_key_info	 ki;
	size_t			 i;
	char			*out;

	json_object_set_new(d, "version", json_string(si->version));
	json_object_set_new(d, "command", json_string(si->command));
	if (si->policy != NULL) {
		json_object_set_new(d, "policy_hash", json_string(auth_policy_hash(si->policy)));
		for (i = 0; i < auth_policy_key_count(si->policy); i++) {
			auth_policy_key_info(si->policy, i, &ki);
			k = json_object();
			json_object_set_new(k, "name", json_string(ki.name));
			json_object_set_new(k, "kid", ki.kid ? json_string(ki.kid) : json_null());
			json_object_set_new(k, "type", json_string(ki.type));
			json_object_set_new(k, "fingerprint", json_string(ki.fingerprint));
			json_object_set_new(k, "source", json_string(ki.source));
			json_array_append_new(keys, k);
		}
	}
	json_object_set_new(d, "keys", keys);
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
	char			*detail;
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
	st->batch_started_ms = store_now_ms();
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
	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	detail = store_session_detail(si);
	val_text(&vals[COL_KIND], "session");
	val_int(&vals[COL_RECEIVED], now_us);
	val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_SUBJECT], NULL);
	val_text(&vals[COL_DETAIL], detail);
	rc = store_append_row(st, vals, cause);
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

/* The message's headers as a JSON object; repeated names become arrays. */
static char *
store_headers_json(const struct auth_msg *msg)
{
	json_t	*o = json_object(), *old, *arr;
	char	*out;
	size_t	 i;

	for (i = 0; i < msg->nheaders; i++) {
		const char	*name = msg->headers[i].name, *value = msg->headers[i].value;

		if (name == NULL || value == NULL)
			continue;
		if ((old = json_object_get(o, name)) == NULL) {
			json_object_set_new(o, name, json_string(value));
		} else if (json_is_array(old)) {
			json_array_append_new(old, json_string(value));
		} else {
			arr = json_array();
			json_array_append(arr, old);
			json_array_append_new(arr, json_string(value));
			json_object_set_new(o, name, arr);
		}
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* The event id as the trail keeps it: a string decoded, another value as
   its JSON text (so lookups by id compare plain text). Allocated. */
static char *
store_event_id(const char *json)
{
	json_t	*j;
	char	*out;

	if (json == NULL)
		return NULL;
	if (json[0] != '"' || (j = json_loads(json, JSON_DECODE_ANY, NULL)) == NULL)
		return strdup(json);
	out = strdup(json_string_value(j));
	json_decref(j);
	return out;
}

/* Copy the growable text buffer's JSON for a column; offsets into st->text. */
static void
store_text_take(struct store *st, char *buf, size_t len, size_t *off)
{
	*off = st->text.len;
	store_buf_add(&st->text, buf, len + 1);
}

/* Append an event. */
int
store_append_event(struct store *st, const struct auth_msg *msg, const struct auth_verdict *v,
    const struct store_origin *o, int *dup, char **cause)
{
	struct store_value	 vals[STORE_NCOLS];
	struct auth_facts	 f;
	const char		*claims;
	char			*headers, *js = NULL, *event_id;
	size_t			 clen, jlen = 0, jcap = 0, checks_off, warn_off;
	int			 i, rc;

	if (dup != NULL)
		*dup = 0;
	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	auth_verdict_facts(v, &f);
	headers = store_headers_json(msg);
	st->text.len = 0;
	auth_verdict_checks_json(v, &js, &jlen, &jcap);
	store_text_take(st, js, jlen, &checks_off);
	jlen = 0;
	auth_verdict_warnings_json(v, &js, &jlen, &jcap);
	store_text_take(st, js, jlen, &warn_off);
	free(js);
	claims = auth_verdict_claims_text(v, &clen);

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
	event_id = store_event_id(auth_verdict_event_id(v));
	val_text(&vals[COL_EVENT_ID], event_id);
	if (f.has_exp)
		val_real(&vals[COL_EXP], f.exp);
	if (f.has_iat)
		val_real(&vals[COL_IAT], f.iat);
	val_text(&vals[COL_HEADERS], headers);
	val_blob(&vals[COL_BODY], msg->body, msg->body_len);
	val_text(&vals[COL_TOKEN], auth_verdict_token(v));
	val_text(&vals[COL_CHECKS], (const char *)st->text.p + checks_off);
	if (claims != NULL) {
		vals[COL_CLAIMS].type = SQLITE_TEXT;
		vals[COL_CLAIMS].p = claims;
		vals[COL_CLAIMS].n = clen;
	}
	val_text(&vals[COL_WARNINGS], (const char *)st->text.p + warn_off);
	rc = store_append_row(st, vals, cause);
	free(headers);
	free(event_id);
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
	return store_append_row(st, vals, cause) < 0 ? -1 : 0;
}
