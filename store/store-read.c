/*
 * store/store-read.c -- reading the trail: filtered queries, counts, and the
 * walk that verifies the hash chain.
 *
 * Queries are built from a fixed set of clauses with bound parameters
 * (never text pasted into SQL).  Subject patterns use NATS semantics
 * through the nats_match() SQL function; a pattern's literal prefix also
 * bounds the subject range so the index narrows the scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define STORE_SQL_MAX 2048

struct store_cursor {
	struct store	*st;
	sqlite3_stmt	*stmt;
	struct store_row row;
	struct store_buf ctx, claims, token, headers, checks;	/* decoded compact values */
};

/* nats_match(pattern, subject) for SQL. */
static void
store_sql_nats_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*pat = sqlite3_value_text(argv[0]);
	const unsigned char	*subj = sqlite3_value_text(argv[1]);

	sqlite3_result_int(ctx, pat != NULL && subj != NULL &&
	    auth_subject_match((const char *)pat, (const char *)subj));
}

/* Register ztwatch's SQL functions. */
int
store_register_functions(sqlite3 *db)
{
	return sqlite3_create_function(db, "nats_match", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
	    store_sql_nats_match, NULL, NULL) == SQLITE_OK ? store_tags_register(db) : -1;
}

/* Length of the pattern's literal prefix, up to the first wildcard token. */
static size_t
store_literal_prefix(const char *pat)
{
	const char	*p = pat, *tok = pat;

	for (; *p != '\0'; p++) {
		if (*p == '.')
			tok = p + 1;
		else if ((*p == '*' || *p == '>') && p == tok)
			return (size_t)(tok - pat);
	}
	return strlen(pat);
}

/* Which kinds a filter admits (event filters exclude the others). */
static int
store_filter_kinds(const struct store_filter *f)
{
	int	kinds = f->kinds ? f->kinds : STORE_KIND_ALL;

	if (f->verdict || f->reason || f->iss || f->kid || f->event_id)
		kinds &= STORE_KIND_EVENT;
	if (f->subject)
		kinds &= ~(STORE_KIND_SESSION | STORE_KIND_KEYSET);
	return kinds;
}

/* Append a clause to the SQL under construction. */
static void
store_clause(char *sql, const char *clause)
{
	strcat(sql, strstr(sql, " WHERE ") ? " AND " : " WHERE ");
	strcat(sql, clause);
}

/*
 * The ids that may hold rows of f's time window (schema 3: there is no
 * index on received_at): from the first span that overlaps the window to
 * the last (store-int.h).  No span: an empty range.  tagged: the blocks of
 * tags joined are bounded the same way (SQLite does not carry the ids'
 * bounds over to the tags by itself, and would try every block).
 */
static void
store_where_spans(const struct store_filter *f, int tagged, char *sql, sqlite3_stmt *s,
    int *n)
{
	char	overlap[64] = "";
	int	k;

	if (s) {
		for (k = 0; k < (tagged ? 4 : 2); k++) {
			if (f->since_us)
				sqlite3_bind_int64(s, (*n)++, f->since_us);
			if (f->until_us)
				sqlite3_bind_int64(s, (*n)++, f->until_us);
		}
		return;
	}
	if (f->since_us)
		strcat(overlap, "max_at >= ?");
	if (f->since_us && f->until_us)
		strcat(overlap, " AND ");
	if (f->until_us)
		strcat(overlap, "min_at < ?");
	store_clause(sql, "id BETWEEN");
	sprintf(sql + strlen(sql), " (SELECT coalesce(min(first_id), 0) FROM trail_spans WHERE %s)"
	    " AND (SELECT coalesce(max(last_id), -1) FROM trail_spans WHERE %s)", overlap, overlap);
	if (!tagged)
		return;
	store_clause(sql, "tag_block BETWEEN");
	sprintf(sql + strlen(sql), " (SELECT coalesce(min(first_id), 0) FROM trail_spans WHERE %s)"
	    " / " STORE_TAG_ROWS_STR " AND (SELECT coalesce(max(last_id), -1) FROM trail_spans"
	    " WHERE %s) / " STORE_TAG_ROWS_STR, overlap, overlap);
}

/*
 * The clauses of subject pattern pat on column col (of STORE_SQL_MAX, at
 * most 64 bytes of name), built into sql or bound on s from *n.
 */
static void
store_where_subject(const char *pat, const char *col, char *sql, sqlite3_stmt *s, int *n)
{
	size_t	plen = store_literal_prefix(pat);
	/* The prefix's last byte + 1 bounds the range from above: any byte
	   may follow the prefix (a subject need not be UTF-8). */
	int	bounded = plen > 0 && (unsigned char)pat[plen - 1] < 0xff;
	char	clause[96], *upper;

	if (plen == strlen(pat)) {
		/* No wildcard: equality. */
		if (s)
			sqlite3_bind_text(s, (*n)++, pat, -1, SQLITE_STATIC);
		else {
			snprintf(clause, sizeof clause, "%s = ?", col);
			store_clause(sql, clause);
		}
		return;
	}
	if (s) {
		sqlite3_bind_text(s, (*n)++, pat, -1, SQLITE_STATIC);
		if (plen > 0)
			sqlite3_bind_text(s, (*n)++, pat, (int)plen, SQLITE_STATIC);
		if (bounded) {
			if ((upper = malloc(plen)) == NULL) {
				fputs("ztwatch: out of memory\n", stderr);
				abort();
			}
			memcpy(upper, pat, plen);
			upper[plen - 1]++;
			sqlite3_bind_text(s, (*n)++, upper, (int)plen, free);
		}
		return;
	}
	snprintf(clause, sizeof clause, "nats_match(?, %s)", col);
	store_clause(sql, clause);
	/* A range on the prefix narrows the values looked at. */
	if (plen > 0) {
		snprintf(clause, sizeof clause, "%s >= ?", col);
		store_clause(sql, clause);
	}
	if (bounded) {
		snprintf(clause, sizeof clause, "%s < ?", col);
		store_clause(sql, clause);
	}
}

/* The tagged column that narrows f's rows (schema 4), or -1: none.  An
   event id is looked up through its own index, far narrower than a tag. */
static int
store_tag_field(const struct store *st, const struct store_filter *f)
{
	if (st->version < 4 || f->event_id)
		return -1;
	if (f->subject)
		return TAG_SUBJECT;
	if (f->iss)
		return TAG_ISS;
	return f->kid ? TAG_KID : -1;
}

/* " FROM ...": the trail, joined to the tags of f's tagged column if any. */
static void
store_from(const struct store *st, const struct store_filter *f, char *sql)
{
	strcat(sql, store_tag_field(st, f) < 0 ? " FROM trail" : " FROM trail_tags, trail");
}

/*
 * The join's clauses: the tags of the column whose value matches, and
 * each tag's block's rows that it lists.  The rows' own columns are
 * tested as well (store_where).
 */
static void
store_where_tags(int field, const struct store_filter *f, char *sql, sqlite3_stmt *s, int *n)
{
	const char	*value = field == TAG_ISS ? f->iss : f->kid;

	if (!s)
		sprintf(sql + strlen(sql), "%stag_field = %d", strstr(sql, " WHERE ") ? " AND " :
		    " WHERE ", field);
	if (field == TAG_SUBJECT)
		store_where_subject(f->subject, "tag_value", sql, s, n);
	else if (s)
		sqlite3_bind_text(s, (*n)++, value, -1, SQLITE_STATIC);
	else
		store_clause(sql, "tag_value = ?");
	/* The row's own value is the tag's: a row listed by a tag of
	   another value (an edited trail) is not read twice. */
	if (!s) {
		store_clause(sql, "id >= tag_block * " STORE_TAG_ROWS_STR " AND id < tag_block * "
		    STORE_TAG_ROWS_STR " + " STORE_TAG_ROWS_STR " AND ztag_has(tag_offsets, id)");
		sprintf(sql + strlen(sql), " AND %s = tag_value", store_tag_names[field]);
	}
}

/*
 * Build "... WHERE ..." for f into sql (of STORE_SQL_MAX) and bind its
 * values starting at parameter *n on s (s NULL: only build).
 */
static void
store_where(const struct store *st, const struct store_filter *f, char *sql, sqlite3_stmt *s,
    int *n)
{
	char	kinds[96] = "";
	int	k = store_filter_kinds(f), field = store_tag_field(st, f);

	if (field >= 0)
		store_where_tags(field, f, sql, s, n);
	if (f->since_us) {
		if (s) sqlite3_bind_int64(s, (*n)++, f->since_us);
		else store_clause(sql, "received_at >= ?");
	}
	if (f->until_us) {
		if (s) sqlite3_bind_int64(s, (*n)++, f->until_us);
		else store_clause(sql, "received_at < ?");
	}
	if ((f->since_us || f->until_us) && st->version >= 3)
		store_where_spans(f, field >= 0, sql, s, n);
	if (f->subject)
		store_where_subject(f->subject, "subject", sql, s, n);
	/* Literal verdicts: SQLite uses the failures' partial indexes only
	   for a query that says verdict = 'fail' in so many words. */
	if (f->verdict && (strcmp(f->verdict, "pass") == 0 || strcmp(f->verdict, "fail") == 0)) {
		if (!s) store_clause(sql, strcmp(f->verdict, "pass") == 0 ?
		    "verdict = 'pass'" : "verdict = 'fail'");
	} else if (f->verdict) {
		if (s) sqlite3_bind_text(s, (*n)++, f->verdict, -1, SQLITE_STATIC);
		else store_clause(sql, "verdict = ?");
	}
	if (f->reason) {
		if (s) sqlite3_bind_text(s, (*n)++, f->reason, -1, SQLITE_STATIC);
		else store_clause(sql, "reason = ?");
		/* Every reason but ok is a failure's. */
		if (!s && strcmp(f->reason, "ok") != 0)
			store_clause(sql, "verdict = 'fail'");
	}
	if (f->iss) {
		if (s) sqlite3_bind_text(s, (*n)++, f->iss, -1, SQLITE_STATIC);
		else store_clause(sql, "iss = ?");
	}
	if (f->kid) {
		if (s) sqlite3_bind_text(s, (*n)++, f->kid, -1, SQLITE_STATIC);
		else store_clause(sql, "kid = ?");
	}
	if (f->event_id) {
		/* The index is by block of ids, then event id: probe every block. */
		if (s) sqlite3_bind_text(s, (*n)++, f->event_id, -1, SQLITE_STATIC);
		else store_clause(sql, "event_id = ? AND " STORE_EVENT_BLOCK " IN ("
		    "WITH RECURSIVE b(k) AS (SELECT (SELECT max(id) FROM trail) >> " STORE_EVENT_SHIFT
		    " UNION ALL SELECT k - 1 FROM b WHERE k > 0) SELECT k FROM b)");
	}
	if (!s && k != STORE_KIND_ALL) {
		strcpy(kinds, "kind IN (''");
		if (k & STORE_KIND_EVENT)
			strcat(kinds, ",'event'");
		if (k & STORE_KIND_GAP)
			strcat(kinds, ",'gap'");
		if (k & STORE_KIND_SESSION)
			strcat(kinds, ",'session'");
		if (k & STORE_KIND_KEYSET)
			strcat(kinds, ",'keyset'");
		strcat(kinds, ")");
		store_clause(sql, kinds);
	}
}

/* Rows matching f. */
struct store_cursor *
store_query(struct store *st, const struct store_filter *f, enum store_order order,
    int64_t from, int64_t limit, char **cause)
{
	struct store_cursor	*c;
	char			 sql[STORE_SQL_MAX];
	int			 n = 1, tagged = store_tag_field(st, f) >= 0;

	snprintf(sql, sizeof sql, "SELECT " STORE_COLUMNS ", prev_hash, hash");
	store_from(st, f, sql);
	store_where(st, f, sql, NULL, &n);
	if (from > 0)
		store_clause(sql, order == STORE_NEWEST_FIRST ? "id < ?" : "id > ?");
	if (from > 0 && tagged)
		store_clause(sql, order == STORE_NEWEST_FIRST ? "tag_block <= ?" : "tag_block >= ?");
	/* Tags come block by block, so SQLite orders the rows of one block
	   at a time. */
	if (tagged)
		strcat(sql, order == STORE_NEWEST_FIRST ? " ORDER BY tag_block DESC, id DESC" :
		    " ORDER BY tag_block, id");
	else
		strcat(sql, order == STORE_NEWEST_FIRST ? " ORDER BY id DESC" : " ORDER BY id");
	if (limit > 0)
		strcat(sql, " LIMIT ?");
	if ((c = calloc(1, sizeof *c)) == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	c->st = st;
	if (sqlite3_prepare_v2(st->db, sql, -1, &c->stmt, NULL) != SQLITE_OK) {
		store_fail(st, "cannot query trail", cause);
		free(c);
		return NULL;
	}
	store_where(st, f, sql, c->stmt, &n);
	if (from > 0)
		sqlite3_bind_int64(c->stmt, n++, from);
	if (from > 0 && tagged)
		sqlite3_bind_int64(c->stmt, n++, from / STORE_TAG_ROWS);
	if (limit > 0)
		sqlite3_bind_int64(c->stmt, n++, limit);
	return c;
}

int64_t
store_cursor_work(const struct store_cursor *c)
{
	return sqlite3_stmt_status(c->stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
}

/* Text of column i, or NULL. */
static const char *
store_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/*
 * Text of a column that may hold a compact value (store-codec.c): TEXT as
 * it is, a BLOB decoded against ctx into b.  Returns 0, or -1 when the
 * BLOB does not decode.
 */
static int
store_col_expand(sqlite3_stmt *s, int i, const void *ctx, size_t ctxlen, struct store_buf *b,
    const char **out)
{
	if (sqlite3_column_type(s, i) != SQLITE_BLOB) {
		*out = store_col_text(s, i);
		return 0;
	}
	if (store_lz_decode(sqlite3_column_blob(s, i), (size_t)sqlite3_column_bytes(s, i), ctx,
	    ctxlen, b) != 0)
		return -1;
	*out = (const char *)b->p;
	return 0;
}

/* Fill the cursor's row from the stepped statement; -1 with *cause when a
   compact value does not decode (the row was damaged). */
static int
store_fill_row(struct store_cursor *c, char **cause)
{
	sqlite3_stmt		*s = c->stmt;
	struct store_row	*r = &c->row;
	const char		*what = NULL;
	size_t			 clen;
	int			 i;

	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(s, COL_ID);
	r->kind = store_col_text(s, COL_KIND);
	r->received_us = sqlite3_column_int64(s, COL_RECEIVED);
	r->session = sqlite3_column_int64(s, COL_SESSION);
	r->subject = store_col_text(s, COL_SUBJECT);
	r->stream = store_col_text(s, COL_STREAM);
	r->stream_seq = sqlite3_column_int64(s, COL_SEQ);
	r->rule = store_col_text(s, COL_RULE);
	r->verdict = store_col_text(s, COL_VERDICT);
	r->reason = store_col_text(s, COL_REASON);
	r->alg = store_col_text(s, COL_ALG);
	r->kid = store_col_text(s, COL_KID);
	r->iss = store_col_text(s, COL_ISS);
	r->sub = store_col_text(s, COL_SUB);
	r->aud = store_col_text(s, COL_AUD);
	r->scope = store_col_text(s, COL_SCOPE);
	r->jti = store_col_text(s, COL_JTI);
	r->event_id = store_col_text(s, COL_EVENT_ID);
	if ((r->has_exp = sqlite3_column_type(s, COL_EXP) != SQLITE_NULL))
		r->exp = sqlite3_column_double(s, COL_EXP);
	if ((r->has_iat = sqlite3_column_type(s, COL_IAT) != SQLITE_NULL))
		r->iat = sqlite3_column_double(s, COL_IAT);
	if ((r->has_body = sqlite3_column_type(s, COL_BODY) != SQLITE_NULL)) {
		r->body = sqlite3_column_blob(s, COL_BODY);
		r->body_len = (size_t)sqlite3_column_bytes(s, COL_BODY);
		if (r->body == NULL)
			r->body = (const unsigned char *)"";
	}
	/* Contexts (README): the claims' is the registered claims' columns, the
	   token's the claims' base64url, the headers' the token, the trace's
	   the claims. */
	c->ctx.len = 0;
	if (sqlite3_column_type(s, COL_CLAIMS) == SQLITE_BLOB) {
		for (i = STORE_CLAIMS_CTX_FIRST; i <= STORE_CLAIMS_CTX_LAST; i++) {
			if (sqlite3_column_type(s, i) == SQLITE_TEXT)
				store_buf_add(&c->ctx, sqlite3_column_text(s, i),
				    (size_t)sqlite3_column_bytes(s, i));
		}
	}
	if (store_col_expand(s, COL_CLAIMS, c->ctx.p, c->ctx.len, &c->claims, &r->claims) != 0)
		what = "claims";
	clen = r->claims != NULL ? strlen(r->claims) : 0;
	c->ctx.len = 0;
	if (sqlite3_column_type(s, COL_TOKEN) == SQLITE_BLOB && r->claims != NULL)
		store_b64url(&c->ctx, r->claims, clen);
	if (what == NULL && store_col_expand(s, COL_TOKEN, c->ctx.p, c->ctx.len, &c->token,
	    &r->token) != 0)
		what = "token";
	if (what == NULL && store_col_expand(s, COL_HEADERS, r->token, r->token ?
	    strlen(r->token) : 0, &c->headers, &r->headers) != 0)
		what = "headers";
	if (what == NULL && store_col_expand(s, COL_CHECKS, r->claims, clen, &c->checks,
	    &r->checks) != 0)
		what = "checks";
	r->warnings = store_col_text(s, COL_WARNINGS);
	r->gap_count = sqlite3_column_int64(s, COL_GAP_COUNT);
	r->detail = store_col_text(s, COL_DETAIL);
	r->prev_hash = sqlite3_column_blob(s, STORE_NCOLS);
	r->hash = sqlite3_column_blob(s, STORE_NCOLS + 1);
	if (what == NULL)
		return 0;
	if (cause != NULL && asprintf(cause, "cannot read trail '%s': row %lld: its %s do%s not "
	    "decode (the row was damaged; see audit verify)", c->st->path, (long long)r->id, what,
	    strcmp(what, "token") == 0 ? "es" : "") < 0)
		*cause = NULL;
	return -1;
}

/* Next row. */
int
store_next(struct store_cursor *c, const struct store_row **row, char **cause)
{
	int	rc = sqlite3_step(c->stmt);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_fail(c->st, "cannot read trail", cause);
	if (store_fill_row(c, cause) != 0)
		return -1;
	*row = &c->row;
	return 1;
}

/* Free a cursor. */
void
store_cursor_free(struct store_cursor *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->stmt);
	free(c->ctx.p);
	free(c->claims.p);
	free(c->token.p);
	free(c->headers.p);
	free(c->checks.p);
	free(c);
}

/* The row with this id. */
int
store_get(struct store *st, int64_t id, struct store_cursor **cp,
    const struct store_row **row, char **cause)
{
	struct store_filter	f;
	struct store_cursor	*c;
	int			 rc;

	memset(&f, 0, sizeof f);
	/* Rows after id - 1, oldest first, one: the row itself if it exists. */
	if ((c = store_query(st, &f, STORE_OLDEST_FIRST, id - 1, 1, cause)) == NULL)
		return -1;
	rc = store_next(c, row, cause);
	if (rc == 1 && (*row)->id != id)
		rc = 0;
	*cp = c;
	return rc;
}

/* Per-subject counts. */
int
store_count_subjects(struct store *st, const struct store_filter *f,
    void (*fn)(const struct store_subject_count *, void *), void *arg, char **cause)
{
	struct store_subject_count	 sc;
	sqlite3_stmt			*s;
	char				 sql[STORE_SQL_MAX];
	int				 n = 1, rc;

	snprintf(sql, sizeof sql, "SELECT subject, sum(kind = 'event'), sum(verdict = 'pass'),"
	    " sum(verdict = 'fail'), sum(CASE WHEN kind = 'gap' THEN gap_count ELSE 0 END)");
	store_from(st, f, sql);
	store_where(st, f, sql, NULL, &n);
	store_clause(sql, "subject IS NOT NULL");
	strcat(sql, " GROUP BY subject ORDER BY subject");
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot query trail", cause);
	n = 1;
	store_where(st, f, sql, s, &n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sc.subject = store_col_text(s, 0);
		sc.events = sqlite3_column_int64(s, 1);
		sc.pass = sqlite3_column_int64(s, 2);
		sc.fail = sqlite3_column_int64(s, 3);
		sc.gaps = sqlite3_column_int64(s, 4);
		fn(&sc, arg);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "cannot query trail", cause);
}

/* Failed events by column ("reason", "iss" or "kid"), most first. */
int
store_count_failures(struct store *st, const struct store_filter *f, const char *column,
    int limit, void (*fn)(const struct store_group_count *, void *), void *arg, char **cause)
{
	struct store_group_count	 gc;
	sqlite3_stmt			*s;
	char				 sql[STORE_SQL_MAX];
	int				 n = 1, rc;

	if (strcmp(column, "reason") != 0 && strcmp(column, "iss") != 0 &&
	    strcmp(column, "kid") != 0) {
		asprintf(cause, "cannot group failures by '%s'", column);
		return -1;
	}
	snprintf(sql, sizeof sql, "SELECT %s, count(*)", column);
	store_from(st, f, sql);
	store_where(st, f, sql, NULL, &n);
	store_clause(sql, "kind = 'event'");
	store_clause(sql, "verdict = 'fail'");
	snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
	    " GROUP BY %s ORDER BY count(*) DESC, %s LIMIT %d", column, column,
	    limit > 0 ? limit : 100);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot query trail", cause);
	n = 1;
	store_where(st, f, sql, s, &n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gc.value = store_col_text(s, 0);
		gc.count = sqlite3_column_int64(s, 1);
		fn(&gc, arg);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "cannot query trail", cause);
}

/* ---- the audit ------------------------------------------------------------- */

/* Record the first problem. */
static void
audit_bad(struct store_audit *a, int64_t id, char *problem)
{
	a->intact = 0;
	a->bad_id = id;
	a->problem = problem;
}

/* Whether column col of s is a hash as the writer stores it: a 32-byte BLOB. */
static int
audit_is_hash(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_BLOB &&
	    sqlite3_column_bytes(s, col) == STORE_HASH_LEN;
}

/* Check one row against its predecessor; 0 intact, else audit_bad called. */
static int
audit_row(struct store_audit *a, sqlite3_stmt *s, const struct store_value *vals,
    struct store_buf *scratch, int64_t prev_id, const unsigned char *prev_hash)
{
	/* Types first: sqlite3_column_type() means nothing after a conversion. */
	int			 hashes = audit_is_hash(s, STORE_NCOLS) &&
				    audit_is_hash(s, STORE_NCOLS + 1);
	unsigned char		 hash[STORE_HASH_LEN];
	const void		*stored_prev = sqlite3_column_blob(s, STORE_NCOLS);
	const void		*stored = sqlite3_column_blob(s, STORE_NCOLS + 1);
	int64_t			 id = sqlite3_column_int64(s, COL_ID);
	char			*msg = NULL;

	store_chain_hash(scratch, stored_prev && sqlite3_column_bytes(s, STORE_NCOLS) ==
	    STORE_HASH_LEN ? stored_prev : prev_hash, vals, hash);
	if (!hashes) {
		/* Bytes past the first 32, or a TEXT copy, would ride along unseen. */
		if (asprintf(&msg, "row %lld was edited: its hash or its link to the row before"
		    " is not a %d-byte BLOB", (long long)id, STORE_HASH_LEN) < 0)
			msg = NULL;
	} else if (memcmp(hash, stored, STORE_HASH_LEN) != 0) {
		if (asprintf(&msg, "row %lld was edited: its contents no longer give its hash",
		    (long long)id) < 0)
			msg = NULL;
	} else if (stored_prev == NULL || memcmp(stored_prev, prev_hash, STORE_HASH_LEN) != 0) {
		if (id != prev_id + 1) {
			if (asprintf(&msg, id == prev_id + 2 ? "row %lld was deleted: row %lld "
			    "does not follow row %lld" : "rows %lld to %lld were deleted: "
			    "row %lld does not follow row %lld", (long long)prev_id + 1,
			    (long long)id - 1, (long long)id, (long long)prev_id) < 0)
				msg = NULL;
			if (msg != NULL && id == prev_id + 2) {
				free(msg);
				if (asprintf(&msg, "row %lld was deleted: row %lld does not follow "
				    "row %lld", (long long)prev_id + 1, (long long)id,
				    (long long)prev_id) < 0)
					msg = NULL;
			}
		} else if (asprintf(&msg, "row %lld was inserted or replaced: it does not "
		    "follow row %lld", (long long)id, (long long)prev_id) < 0)
			msg = NULL;
	} else
		return 0;
	audit_bad(a, id, msg ? msg : strdup("chain broken"));
	return -1;
}

/* The audit's walk over trail_spans beside the rows (schema 3). */
struct audit_spans {
	sqlite3_stmt	*s;		/* NULL: the trail has no spans */
	int		 at_end;
	int64_t		 first_id, last_id;
};

/*
 * Check that the row in row (its id and received_at) lies in its span; 0
 * if not, audit_bad is called.  A time filter trusts the spans, so a span
 * edited to leave a row out would hide it from every such query.  Returns
 * -1 when the spans cannot be read (damage, not an edit the audit can
 * name), else 0.
 */
static int
audit_span(struct audit_spans *sp, struct store_audit *a, sqlite3_stmt *row)
{
	int64_t	id = sqlite3_column_int64(row, COL_ID);
	int	timed = sqlite3_column_type(row, COL_RECEIVED) == SQLITE_INTEGER;
	int64_t	at = sqlite3_column_int64(row, COL_RECEIVED);
	char	*msg = NULL;
	int	rc;

	if (sp->s == NULL)
		return 0;
	while (!sp->at_end && sp->last_id < id) {
		if ((rc = sqlite3_step(sp->s)) != SQLITE_ROW) {
			if (rc != SQLITE_DONE)
				return -1;
			sp->at_end = 1;
			break;
		}
		sp->first_id = sqlite3_column_int64(sp->s, 0);
		sp->last_id = sqlite3_column_int64(sp->s, 1);
	}
	if (!sp->at_end && sp->first_id <= id && (!timed ||
	    (sqlite3_column_type(sp->s, 2) == SQLITE_INTEGER &&
	    at >= sqlite3_column_int64(sp->s, 2) && at <= sqlite3_column_int64(sp->s, 3))))
		return 0;
	if (asprintf(&msg, "the time spans were edited: row %lld is outside them, so time "
	    "filters would miss it", (long long)id) < 0)
		msg = NULL;
	audit_bad(a, id, msg ? msg : strdup("time spans edited"));
	return 0;
}

/* The tags an audit checks rows against: those of one block at a time. */
struct audit_tags {
	int		 on;			/* schema 4, and nothing found yet */
	int		 gone;			/* the table was dropped: no tags */
	int64_t		 block;			/* the block loaded, -1: none */
	struct store_tags tags;
	int64_t		 bad_id;		/* the first row missing from a tag */
	char		*problem;
};

/*
 * Check that the row's subject, iss and kid are in its block's tags; if
 * not, remember the first such row.  A filter on them trusts the tags, so
 * a tag edited to leave a row out would hide it from every such query.
 * The chain's findings come first (a row edited makes its tags wrong too),
 * so this is reported only when the chain is intact.  Returns -1 when the
 * tags cannot be read.
 */
static int
audit_tags(struct store *st, struct audit_tags *at, const struct store_value *vals)
{
	int64_t			 id = vals[COL_ID].i;
	char			*msg = NULL;
	int			 f;

	if (!at->on)
		return 0;
	if (id / STORE_TAG_ROWS != at->block) {
		at->block = id / STORE_TAG_ROWS;
		if (at->gone)
			store_tags_free(&at->tags);
		else if (store_tags_load(st->db, &at->tags, at->block) != 0)
			return -1;
	}
	if ((f = store_tags_missing(&at->tags, vals)) < 0)
		return 0;
	if (asprintf(&msg, "the %s tags were edited: row %lld is not in its value's tag, "
	    "so filters on %s would miss it", store_tag_names[f], (long long)id,
	    store_tag_names[f]) < 0)
		msg = NULL;
	at->bad_id = id;
	at->problem = msg ? msg : strdup("tags edited");
	at->on = 0;
	return 0;
}

/*
 * Check the sessions row in s (id, head_id, head_hash, first_id, rows)
 * against the one before, whose newest row was prev_head: the writer
 * starts a session right after it, and keeps rows = head_id - first_id + 1
 * in the transaction that moves the head.  0, or audit_bad called.
 */
static int
audit_session(struct store_audit *a, sqlite3_stmt *s, int64_t prev_head)
{
	int64_t	sid = sqlite3_column_int64(s, 0), head = sqlite3_column_int64(s, 1);
	int64_t	first = sqlite3_column_int64(s, 3), rows = sqlite3_column_int64(s, 4);
	char	*msg = NULL;

	if (first != prev_head + 1) {
		if (asprintf(&msg, "the sessions were edited: session %lld starts at row %lld,"
		    " not right after row %lld, where the one before ends", (long long)sid,
		    (long long)first, (long long)prev_head) < 0)
			msg = NULL;
	} else if (head - first + 1 != rows) {
		if (asprintf(&msg, "the sessions were edited: session %lld recorded %lld rows"
		    " from row %lld, but names row %lld as its newest", (long long)sid,
		    (long long)rows, (long long)first, (long long)head) < 0)
			msg = NULL;
	} else
		return 0;
	audit_bad(a, first, msg ? msg : strdup("sessions edited"));
	return -1;
}

/* Check every session's recorded head against the chain. */
static int
audit_heads(struct store *st, struct store_audit *a, int64_t last_id, char **cause)
{
	sqlite3_stmt	*s, *g;
	int64_t		 sid, head, max_head = 0;
	char		*msg = NULL;
	int		 rc = SQLITE_DONE, ret = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT id, head_id, head_hash, first_id, rows FROM sessions"
	    " ORDER BY id", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "SELECT hash FROM trail WHERE id = ?", -1, &g,
	    NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	while (a->intact && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sid = sqlite3_column_int64(s, 0);
		head = sqlite3_column_int64(s, 1);
		if (audit_session(a, s, max_head) != 0)
			break;
		if (head > max_head)
			max_head = head;
		if (head == 0)
			continue;
		sqlite3_bind_int64(g, 1, head);
		if ((rc = sqlite3_step(g)) != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW || sqlite3_column_bytes(g, 0) != STORE_HASH_LEN ||
		    sqlite3_column_bytes(s, 2) != STORE_HASH_LEN ||
		    memcmp(sqlite3_column_blob(g, 0), sqlite3_column_blob(s, 2),
		    STORE_HASH_LEN) != 0) {
			if (asprintf(&msg, "rows at the end were deleted: session %lld recorded "
			    "row %lld as its newest, and %s", (long long)sid, (long long)head,
			    head > last_id ? "the trail now ends before it" :
			    "that row has another hash now") < 0)
				msg = NULL;
			audit_bad(a, head, msg ? msg : strdup("truncated"));
		}
		sqlite3_reset(g);
	}
	/* SQLite's message is taken before finalizing resets it. */
	if (a->intact && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "cannot read trail", cause);
	else if (a->intact && last_id > max_head) {
		if (asprintf(&msg, "row %lld was added outside the writer: the newest session "
		    "vouches only for rows up to %lld", (long long)max_head + 1,
		    (long long)max_head) < 0)
			msg = NULL;
		audit_bad(a, max_head + 1, msg ? msg : strdup("rows appended"));
	}
	sqlite3_finalize(s);
	sqlite3_finalize(g);
	return ret;
}

/* The first line of have that want lacks, cut for a message; "" if none. */
static char *
audit_first_extra(const char *have, const char *want)
{
	const char	*p, *nl;
	size_t		 n;

	for (p = have; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		n = (size_t)(nl - p);
		if (memmem(want, strlen(want), p, n + 1) == NULL)
			return strndup(p, n > 160 ? 160 : n);
	}
	return strdup("");
}

/* Whether an integrity_check finding is about an index's entries. */
static int
audit_index_finding(const char *found)
{
	return strstr(found, "missing from index") != NULL ||
	    strstr(found, "wrong # of entries in index") != NULL ||
	    strstr(found, "non-unique entry in index") != NULL;
}

/* Compare the trail's index definitions with the schema's; audit_bad on a change. */
static int
audit_index_defs(struct store *st, struct store_audit *a, char **cause)
{
	char	*have = store_index_defs(st->db), *want = store_index_defs_expected();
	char	*line, *msg = NULL;
	int	 dropped = 0;

	if (have == NULL || want == NULL) {
		free(have);
		free(want);
		return store_fail(st, "cannot read trail", cause);
	}
	if (strcmp(have, want) != 0) {
		/* Name a definition the schema lacks, else one the trail lacks. */
		if ((line = audit_first_extra(have, want)) != NULL && *line == '\0') {
			free(line);
			line = audit_first_extra(want, have);
			dropped = 1;
		}
		if (asprintf(&msg, "an index was %s (%s): filtered exports could leave rows"
		    " out", dropped ? "dropped" : "redefined", line ? line : "?") < 0)
			msg = NULL;
		free(line);
		audit_bad(a, 0, msg ? msg : strdup("indexes edited"));
	}
	free(have);
	free(want);
	return 0;
}

/*
 * Check the trail's indexes: defined as the schema defines them (this
 * version's trails), and holding exactly the rows (SQLite's integrity
 * check).  Filters on failures and event ids read through them, so an
 * index redefined or rebuilt to leave rows out would hide those rows with
 * the chain intact.  0 (audit_bad called on a finding), or -1 with *cause
 * when the trail cannot be read or is damaged in another way.
 */
static int
audit_indexes(struct store *st, struct store_audit *a, char **cause)
{
	sqlite3_stmt	*s;
	const char	*found;
	char		*msg = NULL;
	int		 ret = 0;

	if (st->version == STORE_SCHEMA_VERSION && audit_index_defs(st, a, cause) != 0)
		return -1;
	if (!a->intact)
		return 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	if (sqlite3_step(s) != SQLITE_ROW)
		ret = store_fail(st, "cannot read trail", cause);
	else if ((found = (const char *)sqlite3_column_text(s, 0)) != NULL &&
	    strcmp(found, "ok") != 0) {
		if (audit_index_finding(found)) {
			if (asprintf(&msg, "an index does not hold exactly the rows (%.160s):"
			    " filtered exports could leave rows out", found) < 0)
				msg = NULL;
			audit_bad(a, 0, msg ? msg : strdup("index edited"));
		} else {
			if (asprintf(cause, "trail '%s' is damaged: %.160s", st->path, found) < 0)
				*cause = NULL;
			ret = -1;
		}
	}
	sqlite3_finalize(s);
	return ret;
}

/* Walk the chain. */
int
store_audit(struct store *st, struct store_audit *a, void (*progress)(int64_t, void *),
    void *arg, char **cause)
{
	sqlite3_stmt		*s;
	struct store_buf	 scratch = { NULL, 0, 0 };
	struct audit_spans	 sp = { NULL, 0, 0, 0 };
	struct audit_tags	 at;
	struct store_value	 vals[STORE_NCOLS];
	unsigned char		 prev[STORE_HASH_LEN];
	int64_t			 prev_id = 0;
	int			 rc, i, unreadable;

	memset(a, 0, sizeof *a);
	a->intact = 1;
	memset(prev, 0, sizeof prev);
	memset(&at, 0, sizeof at);
	at.on = st->version >= 4;
	at.block = -1;
	at.gone = at.on && sqlite3_table_column_metadata(st->db, NULL, "trail_tags", "tag_offsets",
	    NULL, NULL, NULL, NULL, NULL) != SQLITE_OK;
	if (st->version >= 3 && sqlite3_prepare_v2(st->db, "SELECT first_id, last_id, min_at,"
	    " max_at FROM trail_spans ORDER BY first_id", -1, &sp.s, NULL) != SQLITE_OK)
		return store_fail(st, "cannot read trail", cause);
	if (sqlite3_prepare_v2(st->db, "SELECT " STORE_COLUMNS ", prev_hash, hash FROM trail"
	    " ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		sqlite3_finalize(sp.s);
		return store_fail(st, "cannot read trail", cause);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < STORE_NCOLS; i++)
			store_value_from_column(s, i, &vals[i]);
		if (audit_row(a, s, vals, &scratch, prev_id, prev) != 0)
			break;
		if (audit_span(&sp, a, s) != 0 ||
		    (a->intact && audit_tags(st, &at, vals) != 0)) {
			rc = SQLITE_ERROR;
			break;
		}
		if (!a->intact)
			break;
		prev_id = sqlite3_column_int64(s, COL_ID);
		memcpy(prev, sqlite3_column_blob(s, STORE_NCOLS + 1), STORE_HASH_LEN);
		if (++a->rows % 100000 == 0 && progress != NULL)
			progress(a->rows, arg);
	}
	/* SQLite's message goes with the next statement finalized: keep it. */
	if ((unreadable = rc != SQLITE_ROW && rc != SQLITE_DONE))
		store_fail(st, "cannot read trail", cause);
	sqlite3_finalize(s);
	sqlite3_finalize(sp.s);
	store_tags_free(&at.tags);
	free(scratch.p);
	if (unreadable) {
		free(at.problem);
		return -1;
	}
	memcpy(a->head, prev, STORE_HASH_LEN);
	if (a->intact && audit_heads(st, a, prev_id, cause) != 0) {
		free(at.problem);
		return -1;
	}
	if (a->intact && at.problem != NULL)
		audit_bad(a, at.bad_id, at.problem);
	else
		free(at.problem);
	/* Last: a finding about rows names them, an index finding cannot. */
	if (a->intact && audit_indexes(st, a, cause) != 0)
		return -1;
	return 0;
}
