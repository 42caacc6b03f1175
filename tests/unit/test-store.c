/*
 * tests/unit/test-store.c -- the trail's query API, as the console uses it:
 * newest-first pages with filters, per-subject counts, lookups by id and
 * by event id, gaps; and how rows are kept: the compact form of claims,
 * token, headers and trace gives back exactly what auth produced (and
 * headers exactly what jansson built in schema 1), the codec survives
 * damaged input, and the writer thread writes the same chain as one
 * thread; verdicts other recorders published become the rows their own
 * trails hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auth.h"
#include "store.h"
#include "store-int.h"
#include "unit.h"

static char	dir[] = "/tmp/zt-store-XXXXXX";
static char	db[64];

/* The frozen dictionary of compact values (store-codec.c; README). */
#define STORE_TEST_DICT_SHA256	"bdb5dd634c99f433b6c60aca33f3cc8431f60971dc20d395300119469556f740"
#define STORE_TEST_DICT_LEN	3409

/* A failing verdict is enough to fill a row: the store takes what auth gives. */
static void
append(struct store *st, const char *subject, int64_t t, const char *why)
{
	struct auth_verdict	*v = auth_verdict_rejected(subject, "input", why);
	struct auth_msg		 msg;
	struct store_origin	 o;
	char			*cause = NULL;

	memset(&msg, 0, sizeof msg);
	msg.subject = subject;
	msg.body = (const unsigned char *)"{}";
	msg.body_len = 2;
	memset(&o, 0, sizeof o);
	o.received_us = t;
	CHECK(store_append_event(st, &msg, v, &o, NULL, &cause) == 0);
	free(cause);
	auth_verdict_free(v);
}

/* Build a trail of 1000 events over 4 subjects and one gap. */
static void
test_build(void)
{
	struct store	*st;
	char		*cause = NULL, subject[32];
	int		 i;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(db, sizeof db, "%s/t.db", dir);
	st = store_open(db, &cause);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	store_set_batch(st, 64, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(subject, sizeof subject, "orders.%s.%d", i % 4 == 3 ? "eu" : "us", i % 2);
		append(st, subject, 1000000 + i, "x");
	}
	CHECK(store_append_gap(st, 2000000, "orders.us.0", NULL, 0, 7, "slow consumer",
	    &cause) == 0);
	CHECK(store_appended(st) == 1001);
	CHECK(store_close(st, &cause) == 0);
	free(cause);
}

/* Newest-first pages walk the whole trail without overlap. */
static void
test_pages(void)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	struct store		*st;
	char			*cause = NULL;
	int64_t			 from = 0, last = 0, seen = 0;
	int			 got, ordered = 1;

	if ((st = store_open_reader(db, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	memset(&f, 0, sizeof f);
	f.kinds = STORE_KIND_EVENT;
	do {
		c = store_query(st, &f, STORE_NEWEST_FIRST, from, 50, &cause);
		CHECK(c != NULL);
		got = 0;
		while (c && store_next(c, &r, &cause) == 1) {
			if (last != 0 && r->id >= last)
				ordered = 0;
			last = from = r->id;
			got++;
			seen++;
		}
		store_cursor_free(c);
	} while (got == 50);
	CHECK(ordered);
	CHECK(seen == 1000);
	store_close(st, NULL);
}

/* Filters: subject patterns, time window; gaps only where they belong. */
static void
test_filters(void)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	struct store		*st;
	char			*cause = NULL;
	int64_t			 n;

	if ((st = store_open_reader(db, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	memset(&f, 0, sizeof f);
	f.subject = "orders.eu.*";
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		CHECK(strncmp(r->subject, "orders.eu.", 10) == 0);
	store_cursor_free(c);
	CHECK(n == 250);

	f.subject = "orders.us.0";		/* literal: events and the gap */
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 1, &cause);
	CHECK(store_next(c, &r, &cause) == 1 && strcmp(r->kind, "gap") == 0 &&
	    r->gap_count == 7);
	store_cursor_free(c);

	memset(&f, 0, sizeof f);
	f.since_us = 1000100;
	f.until_us = 1000200;
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		CHECK(r->received_us >= 1000100 && r->received_us < 1000200);
	store_cursor_free(c);
	CHECK(n == 100);

	memset(&f, 0, sizeof f);
	f.reason = "malformed_message";
	f.subject = "orders.>";
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		CHECK(strcmp(r->kind, "event") == 0);
	store_cursor_free(c);
	CHECK(n == 1000);			/* the event filter leaves the gap out */
	store_close(st, NULL);
}

/* A subject pattern finds subjects that are not UTF-8 too: bytes 0xf5-0xff
   sort above any code point, and a prefix range must not cut them off. */
static void
test_filter_subject_bytes(void)
{
	static const char *const subjects[] = {
		"bulk.a", "bulk.\xff", "bulk.\xf5x", "bulk.z", "bulk/", "bulj.z", "bul"
	};
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	struct store		*st;
	char			*cause = NULL, path[96];
	int64_t			 n;
	size_t			 i;

	snprintf(path, sizeof path, "%s/bytes.db", dir);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	for (i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
		append(st, subjects[i], 1000000 + (int64_t)i, "x");
	CHECK(store_commit(st, &cause) == 0);
	memset(&f, 0, sizeof f);
	f.subject = "bulk.>";
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		CHECK(strncmp(r->subject, "bulk.", 5) == 0);
	store_cursor_free(c);
	CHECK(n == 4);
	f.subject = "bulk.*";
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		;
	store_cursor_free(c);
	CHECK(n == 4);
	store_close(st, NULL);
}

/* An integer from SQL on the trail at path. */
static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3		*d;
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(d, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(d);
	return v;
}

/* Rows a subject filter finds. */
static int64_t
count_subject(struct store *st, const char *subject)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	char			*cause = NULL;
	int64_t			 n = 0;

	memset(&f, 0, sizeof f);
	f.subject = subject;
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 0, &cause);
	while (c && store_next(c, &r, &cause) == 1)
		n += strcmp(r->subject, subject) == 0;
	store_cursor_free(c);
	free(cause);
	return n;
}

/*
 * Tags (schema 4): a batch rolled back leaves nothing in them (its ids are
 * given again to other rows), and a writer reopened mid-block carries on
 * the block's tags; every row is then in its tag (the audit) and a
 * subject filter finds exactly its rows.
 */
static void
test_tags(void)
{
	struct store_session_info si;
	struct store_audit	 a;
	struct store		*st;
	char			*cause = NULL, path[96];
	int			 i;

	snprintf(path, sizeof path, "%s/tags.db", dir);
	memset(&si, 0, sizeof si);
	si.version = "test";
	si.command = "test";
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_session_begin(st, &si, 1000, &cause) == 0);
	store_set_batch(st, 1000, 100000);
	for (i = 0; i < 500; i++)
		append(st, i % 2 ? "tags.kept" : "tags.other", 1000000 + i, "x");
	CHECK(store_commit(st, &cause) == 0);
	for (i = 0; i < 300; i++)
		append(st, i % 3 ? "tags.gone" : "tags.kept", 2000000 + i, "x");
	CHECK(store_writer_sync(st, &cause) == 0);
	store_rollback(st);
	for (i = 0; i < 300; i++)
		append(st, "tags.kept", 3000000 + i, "x");
	CHECK(store_close(st, &cause) == 0);
	/* Reopened in the same block of ids, and on into the next. */
	st = store_open(path, &cause);
	CHECK(st != NULL && store_session_begin(st, &si, 5000000, &cause) == 0);
	for (i = 0; st != NULL && i < 400; i++)
		append(st, "tags.kept", 4000000 + i, "x");
	CHECK(st == NULL || store_close(st, &cause) == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM trail_tags WHERE tag_value = 'tags.gone'") == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM trail_tags WHERE tag_value = 'tags.kept'") == 2);
	CHECK(sql_int(path, "SELECT sum(length(tag_offsets)) FROM trail_tags"
	    " WHERE tag_value = 'tags.kept'") == 2 * (250 + 300 + 400));
	if ((st = store_open_reader(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(count_subject(st, "tags.kept") == 250 + 300 + 400);
	CHECK(count_subject(st, "tags.gone") == 0);
	CHECK(store_audit(st, &a, NULL, NULL, &cause) == 0 && a.intact);
	free(a.problem);
	store_close(st, NULL);
	free(cause);
}

/* Newest-first first page of f: the work, and in *rows how many of its rows
   have the subject (NULL: any) and a time from since on. */
static int64_t
page_work(struct store *st, const struct store_filter *f, const char *subject, int64_t since,
    int *rows)
{
	struct store_cursor	*c;
	const struct store_row	*r;
	char			*cause = NULL;
	int64_t			 work;

	*rows = 0;
	if ((c = store_query(st, f, STORE_NEWEST_FIRST, 0, 50, &cause)) == NULL) {
		free(cause);
		return -1;
	}
	while (store_next(c, &r, &cause) == 1)
		*rows += (subject == NULL || strcmp(r->subject, subject) == 0) &&
		    r->received_us >= since;
	work = store_cursor_work(c);
	store_cursor_free(c);
	free(cause);
	return work;
}

/*
 * A subject filter with a time window reads the tags of the window's
 * blocks only: SQLite does not carry the window's ids over to the tags by
 * itself, and a plan that tries every block reads every row.
 */
static void
test_tags_window(void)
{
	struct store_filter	 f;
	struct store		*st;
	char			*cause = NULL, path[96];
	int64_t			 whole, windowed, wild, since = 1000000 + 59000;
	int			 i, rows;

	snprintf(path, sizeof path, "%s/window.db", dir);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	store_set_batch(st, 4096, 100000);
	for (i = 0; i < 60 * STORE_TAG_ROWS; i++)
		append(st, i % 2 ? "plan.a" : "plan.b", 1000000 + i * 1000 / STORE_TAG_ROWS, "x");
	CHECK(store_close(st, &cause) == 0);
	if ((st = store_open_reader(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	memset(&f, 0, sizeof f);
	f.subject = "plan.a";
	whole = page_work(st, &f, "plan.a", 0, &rows);
	CHECK(rows == 50);
	f.since_us = since;
	windowed = page_work(st, &f, "plan.a", since, &rows);
	CHECK(rows == 50);
	f.subject = "plan.*";
	wild = page_work(st, &f, NULL, since, &rows);
	CHECK(rows == 50);
	/* About a block's rows for a page, with the window or without (a
	   plan that tried every block would do some 15 times the work). */
	CHECK(whole > 0 && windowed < 4 * whole && wild < 8 * whole);
	store_close(st, NULL);
	free(cause);
}

/* Per-subject counts for the streams pane. */
static void
count_cb(const struct store_subject_count *sc, void *arg)
{
	int64_t	*totals = arg;

	totals[0] += sc->events;
	totals[1] += sc->fail;
	totals[2] += sc->gaps;
	totals[3]++;
}

/* Counts add up; lookups by id find the row or say none. */
static void
test_counts_and_get(void)
{
	struct store_filter	 f;
	struct store_cursor	*c = NULL;
	const struct store_row	*r;
	struct store		*st;
	char			*cause = NULL;
	int64_t			 totals[4] = { 0, 0, 0, 0 };

	if ((st = store_open_reader(db, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	memset(&f, 0, sizeof f);
	CHECK(store_count_subjects(st, &f, count_cb, totals, &cause) == 0);
	CHECK(totals[0] == 1000 && totals[1] == 1000 && totals[2] == 7 && totals[3] == 3);
	CHECK(store_get(st, 500, &c, &r, &cause) == 1 && r->id == 500);
	store_cursor_free(c);
	CHECK(store_get(st, 99999, &c, &r, &cause) == 0);
	store_cursor_free(c);
	store_close(st, NULL);
}

/* ---- the codec ----------------------------------------------------------- */

/* Pieces random texts are made of: trace and header text, and noise. */
static const char *const pieces[] = {
	"{\"check\":\"", "\",\"ok\":true,\"detail\":\"", "\",\"ok\":false,\"detail\":\"",
	"not reached", "\"},", "signature", "expired 3m ago", "https://idsvr.example/",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", "{\"Authorization\":\"Bearer ", "\\\"",
	"\\u0007", "\xc3\xa9", "x", "0123456789", "-_.", "\"", "\\"
};

/* A random text of about n bytes made of pieces, noise and ctx's bytes. */
static size_t
random_text(char *out, size_t cap, size_t n, const char *ctx, size_t ctxlen)
{
	size_t	len = 0, k, off;

	while (len < n && len + 64 < cap) {
		switch (rand() % 4) {
		case 0:
			k = (size_t)snprintf(out + len, 64, "%s",
			    pieces[rand() % (sizeof pieces / sizeof pieces[0])]);
			break;
		case 1:
			for (k = 0; k < (size_t)(rand() % 12); k++)
				out[len + k] = (char)(1 + rand() % 255);
			break;
		case 2:
			if (ctxlen == 0) {
				k = 0;
				break;
			}
			off = (size_t)rand() % ctxlen;
			k = (size_t)rand() % 60;
			if (k > ctxlen - off)
				k = ctxlen - off;
			memcpy(out + len, ctx + off, k);
			break;
		default:
			/* A repeat of what came before. */
			if (len == 0) {
				k = 0;
				break;
			}
			off = (size_t)rand() % len;
			k = (size_t)rand() % 40;
			if (k > len - off)
				k = len - off;
			memmove(out + len, out + off, k);
		}
		len += k;
	}
	return len;
}

/* Encoding then decoding gives the text back, byte for byte. */
static void
test_codec_round_trip(void)
{
	struct store_lz		 z;
	struct store_buf	 enc = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	static char		 text[8192], ctx[2048];
	size_t			 n, ctxlen, i, search, seed, off;
	int			 packed = 0, bad = 0, seeded = 0;

	memset(&z, 0, sizeof z);
	srand(7);
	for (i = 0; i < 3000; i++) {
		ctxlen = i % 3 == 0 ? 0 : random_text(ctx, sizeof ctx, (size_t)rand() % 1500, NULL,
		    0);
		n = random_text(text, sizeof text, (size_t)rand() % 6000, ctx, ctxlen);
		/* Every other text with a context holds it whole somewhere. */
		if (i % 2 == 1 && ctxlen > 0 && n + ctxlen <= sizeof text) {
			off = (size_t)rand() % (n + 1);
			memmove(text + off + ctxlen, text + off, n - off);
			memcpy(text + off, ctx, ctxlen);
			n += ctxlen;
		}
		search = i % 5 == 0 ? (size_t)rand() % (n + 1) : n;
		seed = i % 4 < 2 ? store_lz_find(text, n, ctx, ctxlen) : SIZE_MAX;
		seeded += seed != SIZE_MAX && seed < search && ctxlen >= 64;
		enc.len = 0;
		if (store_lz_encode(&z, ctx, ctxlen, text, n, search, seed, &enc) != 0) {
			CHECK(enc.len == 0);
			continue;
		}
		packed++;
		CHECK(enc.len < n);
		if (store_lz_decode(enc.p, enc.len, ctx, ctxlen, &dec) != 0 || dec.len != n ||
		    memcmp(dec.p, text, n) != 0 || dec.p[n] != '\0')
			bad++;
	}
	CHECK(bad == 0);
	CHECK(packed > 1500);
	CHECK(seeded > 300);
	store_lz_free(&z);
	free(enc.p);
	free(dec.p);
}

/* A context found whole in the text (a token in the headers) is one match. */
static void
test_codec_seeded(void)
{
	struct store_lz		 z;
	struct store_buf	 enc = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	static const char	 pre[] = "{\"Authorization\":\"Bearer ";
	char			 ctx[512], text[600];
	size_t			 ctxlen, n, seed;

	memset(&z, 0, sizeof z);
	srand(5);
	for (ctxlen = 0; ctxlen < 400; ctxlen++)
		ctx[ctxlen] = "abcdefghijklmnopqrstuvwxyz0123456789-_"[rand() % 38];
	n = (size_t)snprintf(text, sizeof text, "%s%.*s\"}", pre, (int)ctxlen, ctx);
	seed = store_lz_find(text, n, ctx, ctxlen);
	CHECK(seed == sizeof pre - 1);
	CHECK(store_lz_find(text, n, "Bearer x", 8) == SIZE_MAX);
	CHECK(store_lz_encode(&z, ctx, ctxlen, text, n, n, seed, &enc) == 0);
	CHECK(enc.len < 40);
	CHECK(store_lz_decode(enc.p, enc.len, ctx, ctxlen, &dec) == 0 && dec.len == n &&
	    memcmp(dec.p, text, n) == 0);
	store_lz_free(&z);
	free(enc.p);
	free(dec.p);
}

/* A damaged compact value is refused or decodes to its declared length,
   never read or written out of bounds (ASan watches). */
static void
test_codec_damage(void)
{
	struct store_lz		 z;
	struct store_buf	 enc = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	static char		 text[4096], ctx[512];
	unsigned char		 junk[600];
	size_t			 n, ctxlen, i, k, len;
	int			 rc;

	memset(&z, 0, sizeof z);
	srand(11);
	for (i = 0; i < 2000; i++) {
		ctxlen = random_text(ctx, sizeof ctx, 300, NULL, 0);
		n = random_text(text, sizeof text, 2000, ctx, ctxlen);
		enc.len = 0;
		if (store_lz_encode(&z, ctx, ctxlen, text, n, n, SIZE_MAX, &enc) != 0)
			continue;
		len = enc.len;
		if (i % 3 == 0) {
			len = (size_t)rand() % len;		/* truncated */
		} else {
			for (k = 0; k < 1 + (size_t)rand() % 4; k++)
				enc.p[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
		}
		rc = store_lz_decode(enc.p, len, ctx, ctxlen, &dec);
		CHECK(rc == -1 || (dec.p[dec.len] == '\0'));
	}
	for (i = 0; i < 2000; i++) {
		len = (size_t)rand() % sizeof junk;
		for (k = 0; k < len; k++)
			junk[k] = (unsigned char)rand();
		if (len > 0 && i % 2 == 0)
			junk[0] = 1;			/* the format byte */
		rc = store_lz_decode(junk, len, ctx, i % 4 ? ctxlen : 0, &dec);
		CHECK(rc == -1 || dec.p[dec.len] == '\0');
	}
	CHECK(store_lz_decode("", 0, NULL, 0, &dec) == -1);
	CHECK(store_lz_decode("\x02\x01x", 3, NULL, 0, &dec) == -1);	/* unknown format */
	store_lz_free(&z);
	free(enc.p);
	free(dec.p);
}

/* The dictionary is part of the format (README): it never changes. */
static void
test_codec_dictionary(void)
{
	static const char	 want[] = STORE_TEST_DICT_SHA256;
	unsigned char		 h[32];
	char			 hex[65];
	const char		*d;
	size_t			 n;
	int			 i;

	d = store_codec_dict(&n);
	auth_sha256(d, n, h);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CHECK_STR(hex, want);
	CHECK(n == STORE_TEST_DICT_LEN);
}

/* ---- event rows ------------------------------------------------------------ */

static const char	 hs_secret[] = "0123456789abcdef0123456789abcdef";

/* printf to an allocated string. */
static char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* The policy of the event tests, written into dir. */
static struct auth_policy *
event_policy(void)
{
	char			 path[128], *cause = NULL;
	struct auth_policy	*p;
	FILE			*f;

	snprintf(path, sizeof path, "%s/hs.secret", dir);
	f = fopen(path, "w");
	fputs(hs_secret, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/policy.json", dir);
	f = fopen(path, "w");
	fputs("{\"keys\":{\"hs\":{\"secret_file\":\"hs.secret\",\"kid\":\"k1\"}},"
	    "\"rules\":[{\"name\":\"orders\",\"subjects\":[\"orders.>\"],"
	    "\"token\":{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},"
	    "\"keys\":[\"hs\"],\"issuer\":\"https://idsvr.example/oauth\","
	    "\"bind\":[{\"claim\":\"event_id\",\"equals\":\"/eventID\"}]}]}", f);
	fclose(f);
	p = auth_policy_load(path, &cause);
	if (p == NULL)
		fprintf(stderr, "  policy: %s\n", cause);
	free(cause);
	return p;
}

/* An HS256 token for claims (JSON text), its signature spoilt if tamper; allocated. */
static char *
hs_token(const char *claims, int tamper)
{
	const char	*hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";
	char		*h64, *c64, *s64, *input, *out, *cause = NULL;
	unsigned char	*sig;
	size_t		 siglen;

	h64 = auth_b64url_encode((const unsigned char *)hdr, strlen(hdr));
	c64 = auth_b64url_encode((const unsigned char *)claims, strlen(claims));
	input = xprintf("%s.%s", h64, c64);
	sig = auth_sign(AUTH_ALG_HS256, (const unsigned char *)hs_secret, strlen(hs_secret),
	    (const unsigned char *)input, strlen(input), &siglen, &cause);
	if (tamper)
		sig[0] ^= 1;
	s64 = auth_b64url_encode(sig, siglen);
	out = xprintf("%s.%s", input, s64);
	free(h64);
	free(c64);
	free(input);
	free(sig);
	free(s64);
	free(cause);
	return out;
}

/* The headers JSON as schema 1 built it (the reference: jansson). */
static char *
v1_headers_json(const struct auth_msg *msg)
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

/* The newest row of a reader's trail (the cursor kept in *c). */
static const struct store_row *
newest(struct store *rd, struct store_cursor **c)
{
	struct store_filter	 f;
	const struct store_row	*r = NULL;
	char			*cause = NULL;

	memset(&f, 0, sizeof f);
	*c = store_query(rd, &f, STORE_NEWEST_FIRST, 0, 1, &cause);
	if (*c == NULL || store_next(*c, &r, &cause) != 1)
		r = NULL;
	free(cause);
	return r;
}

/* The newest row's columns are what auth gave, and the long ones compact. */
static void
check_event_row(const char *path, const struct auth_msg *msg, const struct auth_verdict *v,
    int compact)
{
	struct store_cursor	*c = NULL;
	const struct store_row	*r;
	struct store		*rd;
	sqlite3			*db3;
	sqlite3_stmt		*s;
	char			*cause = NULL, *want_headers = v1_headers_json(msg), *js = NULL;
	const char		*claims;
	size_t			 jlen = 0, jcap = 0, clen;
	int			 i;

	auth_verdict_checks_json(v, &js, &jlen, &jcap);
	js[jlen] = '\0';
	claims = auth_verdict_claims_text(v, &clen);
	if ((rd = store_open_reader(path, &cause)) == NULL || (r = newest(rd, &c)) == NULL) {
		CHECK(!"row read back");
		goto out;
	}
	CHECK_STR(r->headers, want_headers);
	CHECK_STR(r->checks, js);
	if (auth_verdict_token(v) != NULL)
		CHECK_STR(r->token, auth_verdict_token(v));
	else
		CHECK(r->token == NULL);
	CHECK((claims == NULL && r->claims == NULL) || (claims != NULL && r->claims != NULL &&
	    strlen(r->claims) == clen && memcmp(r->claims, claims, clen) == 0));
	if (compact && sqlite3_open_v2(path, &db3, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_prepare_v2(db3, "SELECT typeof(token), typeof(headers), typeof(checks),"
		    " typeof(claims) FROM trail ORDER BY id DESC LIMIT 1", -1, &s, NULL);
		CHECK(sqlite3_step(s) == SQLITE_ROW);
		for (i = 0; i < 4; i++)
			CHECK_STR((const char *)sqlite3_column_text(s, i), "blob");
		sqlite3_finalize(s);
		sqlite3_close(db3);
	}
out:
	store_cursor_free(c);
	store_close(rd, NULL);
	free(want_headers);
	free(js);
	free(cause);
}

/* Append msg judged v to the trail at path, closing it again. */
static void
append_one(const char *path, const struct auth_msg *msg, const struct auth_verdict *v)
{
	struct store		*st;
	struct store_origin	 o;
	char			*cause = NULL;

	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		free(cause);
		return;
	}
	memset(&o, 0, sizeof o);
	o.received_us = 1790000000000000LL;
	CHECK(store_append_event(st, msg, v, &o, NULL, &cause) == 0);
	CHECK(store_close(st, &cause) == 0);
	free(cause);
}

/* Passing, failing and tokenless events come back exactly, compact. */
static void
test_event_columns(void)
{
	struct auth_policy	*p = event_policy();
	struct auth_verifier	*vf;
	struct auth_verdict	*v;
	struct auth_header	 h[4];
	struct auth_msg		 msg;
	char			 path[96], *tok[3], *bearer[3];
	const char		*body = "{\"eventID\":\"e-1\",\"amount\":12}";
	int			 i;

	if (p == NULL) {
		CHECK(p != NULL);
		return;
	}
	snprintf(path, sizeof path, "%s/events.db", dir);
	vf = auth_verifier_new(p);
	tok[0] = hs_token("{\"iss\":\"https://idsvr.example/oauth\",\"sub\":\"u1\","
	    "\"event_id\":\"e-1\",\"exp\":1900000000}", 0);
	tok[1] = hs_token("{\"iss\":\"https://idsvr.example/oauth\",\"sub\":\"u1\","
	    "\"event_id\":\"e-1\",\"exp\":1700000000}", 0);		/* expired */
	tok[2] = hs_token("{\"iss\":\"https://idsvr.example/oauth\",\"sub\":\"u1\","
	    "\"event_id\":\"e-2\",\"exp\":1900000000}", 1);		/* forged */
	for (i = 0; i < 3; i++) {
		bearer[i] = xprintf("Bearer %s", tok[i]);
		h[0].name = "Authorization";
		h[0].value = bearer[i];
		h[1].name = "Nats-Msg-Id";
		h[1].value = "m\t\"1\"\x01";
		memset(&msg, 0, sizeof msg);
		msg.subject = "orders.created";
		msg.headers = h;
		msg.nheaders = 2;
		msg.body = (const unsigned char *)body;
		msg.body_len = strlen(body);
		v = auth_verify(vf, &msg, 1800000000);
		CHECK(auth_verdict_pass(v) == (i == 0));
		append_one(path, &msg, v);
		check_event_row(path, &msg, v, 1);
		auth_verdict_free(v);
	}
	/* No token at all: a short trace, maybe left as text. */
	v = auth_verdict_rejected("orders.x", "input", "input line is not JSON");
	memset(&msg, 0, sizeof msg);
	msg.subject = "orders.x";
	append_one(path, &msg, v);
	check_event_row(path, &msg, v, 0);
	auth_verdict_free(v);
	for (i = 0; i < 3; i++) {
		free(tok[i]);
		free(bearer[i]);
	}
	auth_verifier_free(vf);
	auth_policy_free(p);
}

/* A compact value damaged in the file: reading the row fails, naming it;
   the other rows still read. */
static void
test_event_damaged(void)
{
	struct store_cursor	*c = NULL;
	const struct store_row	*r;
	struct store		*rd;
	sqlite3			*db3;
	char			 path[96], *cause = NULL;

	snprintf(path, sizeof path, "%s/events.db", dir);
	if (sqlite3_open(path, &db3) != SQLITE_OK)
		return;
	/* The first event (a pass): its trace cut short. */
	CHECK(sqlite3_exec(db3, "UPDATE trail SET checks = substr(checks, 1, length(checks) - 3)"
	    " WHERE id = 1 AND typeof(checks) = 'blob'", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_changes(db3) == 1);
	sqlite3_close(db3);
	if ((rd = store_open_reader(path, &cause)) == NULL) {
		CHECK(rd != NULL);
		return;
	}
	CHECK(store_get(rd, 1, &c, &r, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "row 1") != NULL && strstr(cause, "checks") != NULL);
	store_cursor_free(c);
	free(cause);
	cause = NULL;
	CHECK(store_get(rd, 2, &c, &r, &cause) == 1 && r->id == 2);
	store_cursor_free(c);
	store_close(rd, NULL);
	free(cause);
}

/* Header sets with repeats, controls, quotes, non-ASCII and invalid UTF-8
   come back as schema 1's jansson-built JSON, byte for byte. */
static void
test_event_headers(void)
{
	static const char *const names[] = { "A", "b", "Nats-Msg-Id", "\xc3\xa9t\xc3\xa9",
	    "bad\xff", "x\"y" };
	struct auth_header	 h[12];
	struct auth_msg		 msg;
	struct auth_verdict	*v;
	struct store		*st;
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	char			 path[96], *cause = NULL, vals[12][40], *want[200];
	int			 i, k, j, n, bad = 0;

	snprintf(path, sizeof path, "%s/headers.db", dir);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	srand(3);
	v = auth_verdict_rejected("h.x", "input", "x");
	for (i = 0; i < 200; i++) {
		struct store_origin	o;

		n = rand() % 12;
		for (k = 0; k < n; k++) {
			int	len = rand() % 30;

			for (j = 0; j < len; j++) {
				switch (rand() % 6) {
				case 0:
					vals[k][j] = (char)(1 + rand() % 31);
					break;
				case 1:
					vals[k][j] = "\"\\/\x7f"[rand() % 4];
					break;
				case 2:
					vals[k][j] = (char)(0x80 + rand() % 128);
					break;
				default:
					vals[k][j] = (char)(' ' + rand() % 95);
				}
			}
			vals[k][len] = '\0';
			if (rand() % 3 == 0 && len >= 2) {
				vals[k][0] = '\xc3';		/* a valid two-byte sequence */
				vals[k][1] = '\xa9';
			}
			h[k].name = rand() % 10 == 0 ? NULL : names[rand() % 6];
			h[k].value = rand() % 10 == 0 ? NULL : vals[k];
		}
		memset(&msg, 0, sizeof msg);
		msg.subject = "h.x";
		msg.headers = h;
		msg.nheaders = (size_t)n;
		memset(&o, 0, sizeof o);
		o.received_us = 1000 + i;
		want[i] = v1_headers_json(&msg);
		CHECK(store_append_event(st, &msg, v, &o, NULL, &cause) == 0);
	}
	CHECK(store_close(st, &cause) == 0);
	auth_verdict_free(v);
	if ((st = store_open_reader(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	memset(&f, 0, sizeof f);
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (i = 0; store_next(c, &r, &cause) == 1 && i < 200; i++) {
		if (r->headers == NULL || strcmp(r->headers, want[i]) != 0) {
			if (bad++ < 3)
				fprintf(stderr, "  headers %d: got %s, want %s\n", i,
				    r->headers ? r->headers : "(null)", want[i]);
		}
		free(want[i]);
	}
	CHECK(i == 200);
	CHECK(bad == 0);
	store_cursor_free(c);
	store_close(st, NULL);
	free(cause);
}

/* ---- lookups by event id; the writer thread ------------------------------- */

/* Append n events to st: every step-th with an event id (e-0 .. e-6), the
   rest rejected; JetStream ones (stream "S", seq from *seq on) when js. */
static void
append_mixed(struct store *st, struct auth_verifier *vf, int64_t n, int64_t step, int js,
    uint64_t *seq, int64_t *dups)
{
	struct auth_verdict	*rej = auth_verdict_rejected("orders.r", "input", "x");
	struct auth_header	 h;
	struct auth_msg		 msg;
	struct auth_verdict	*v;
	struct store_origin	 o;
	char			*cause = NULL, *tok, *bearer, claims[160], body[64];
	int64_t			 k;
	int			 dup;

	for (k = 0; k < n; k++) {
		memset(&o, 0, sizeof o);
		o.received_us = 1000000 + (int64_t)store_appended(st);
		if (js) {
			o.stream = "S";
			o.stream_seq = (*seq)++;
		}
		memset(&msg, 0, sizeof msg);
		dup = 0;
		if (step > 0 && k % step == 0) {
			snprintf(claims, sizeof claims, "{\"iss\":\"https://idsvr.example/oauth\","
			    "\"event_id\":\"e-%lld\",\"exp\":1900000000}", (long long)(k / step % 7));
			snprintf(body, sizeof body, "{\"eventID\":\"e-%lld\"}",
			    (long long)(k / step % 7));
			tok = hs_token(claims, 0);
			bearer = xprintf("Bearer %s", tok);
			h.name = "Authorization";
			h.value = bearer;
			msg.subject = "orders.e";
			msg.headers = &h;
			msg.nheaders = 1;
			msg.body = (const unsigned char *)body;
			msg.body_len = strlen(body);
			v = auth_verify(vf, &msg, 1800000000);
			CHECK(store_append_event(st, &msg, v, &o, &dup, &cause) == 0);
			auth_verdict_free(v);
			free(tok);
			free(bearer);
		} else {
			msg.subject = "orders.r";
			CHECK(store_append_event(st, &msg, rej, &o, &dup, &cause) == 0);
		}
		*dups += dup;
	}
	auth_verdict_free(rej);
	free(cause);
}

/* The event id filter finds rows in every block of ids, newest first. */
static void
test_event_id_lookup(void)
{
	struct auth_policy	*p = event_policy();
	struct auth_verifier	*vf;
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	struct store		*st;
	char			 path[96], *cause = NULL;
	int64_t			 n = 0, last = 0, from = 0, dups = 0, work, same = 0;
	uint64_t		 seq = 1;
	int			 ok = 1, got;
	char			*subject = NULL;

	if (p == NULL)
		return;
	vf = auth_verifier_new(p);
	snprintf(path, sizeof path, "%s/eid.db", dir);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	store_set_batch(st, 4096, 1000);
	/* 40,000 rows: three blocks of 2^14 ids; e-3 lands in each. */
	append_mixed(st, vf, 40000, 997, 0, &seq, &dups);
	CHECK(store_close(st, &cause) == 0);
	st = store_open_reader(path, &cause);
	memset(&f, 0, sizeof f);
	f.event_id = "e-3";
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 0, &cause);
	while (store_next(c, &r, &cause) == 1) {
		ok &= strcmp(r->event_id, "e-3") == 0 && (last == 0 || r->id < last);
		last = r->id;
		n++;
		if (subject == NULL)
			subject = strdup(r->subject);
		same += strcmp(r->subject, subject) == 0;
	}
	work = store_cursor_work(c);
	store_cursor_free(c);
	CHECK(ok);
	CHECK(n == 6);			/* k = 997 * (3 + 7 j) for j = 0..5 */
	CHECK(last < 16384);		/* the oldest is in the first block */
	/* Pages of two walk the same rows. */
	n = 0;
	do {
		c = store_query(st, &f, STORE_NEWEST_FIRST, from, 2, &cause);
		for (got = 0; store_next(c, &r, &cause) == 1; got++, n++)
			from = r->id;
		store_cursor_free(c);
	} while (got == 2);
	CHECK(n == 6);
	/* With a subject too, still through the event id index: the subject's
	   tags would have every block's rows read. */
	f.subject = subject;
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 0, &cause);
	for (n = 0; store_next(c, &r, &cause) == 1; n++)
		;
	CHECK(n == same && store_cursor_work(c) < 4 * work);
	store_cursor_free(c);
	f.subject = NULL;
	f.event_id = "e-99";
	c = store_query(st, &f, STORE_NEWEST_FIRST, 0, 0, &cause);
	CHECK(store_next(c, &r, &cause) == 0);
	store_cursor_free(c);
	store_close(st, NULL);
	free(subject);
	free(cause);
	auth_verifier_free(vf);
	auth_policy_free(p);
}

/* The chain hashes of every row of the trail at path, in order (allocated);
   the audit must find it intact. */
static unsigned char *
chain_of(const char *path, int64_t *rows)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	struct store		*st;
	struct store_audit	 a;
	unsigned char		*h = NULL;
	char			*cause = NULL;

	*rows = 0;
	if ((st = store_open_reader(path, &cause)) == NULL)
		return NULL;
	CHECK(store_audit(st, &a, NULL, NULL, &cause) == 0 && a.intact);
	if (!a.intact)
		fprintf(stderr, "  audit: %s\n", a.problem);
	free(a.problem);
	memset(&f, 0, sizeof f);
	c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	while (store_next(c, &r, &cause) == 1) {
		h = realloc(h, (size_t)(*rows + 1) * 32);
		memcpy(h + *rows * 32, r->hash, 32);
		++*rows;
	}
	store_cursor_free(c);
	store_close(st, NULL);
	free(cause);
	return h;
}

/* With and without the writer thread: the same rows, the same chain;
   JetStream duplicates are skipped and reported either way. */
static void
test_writer_thread(void)
{
	struct auth_policy	*p = event_policy();
	struct store_session_info si;
	struct auth_verifier	*vf;
	struct store		*st;
	char			 path[2][96], *cause = NULL;
	unsigned char		*h[2];
	int64_t			 rows[2], dups;
	uint64_t		 seq;
	int			 t;

	if (p == NULL)
		return;
	vf = auth_verifier_new(p);
	for (t = 0; t < 2; t++) {
		snprintf(path[t], sizeof path[t], "%s/thread%d.db", dir, t);
		if ((st = store_open(path[t], &cause)) == NULL) {
			CHECK(st != NULL);
			return;
		}
		CHECK(store_set_writer_thread(st, t, &cause) == 0);
		memset(&si, 0, sizeof si);
		si.version = "test";
		si.command = "test";
		CHECK(store_session_begin(st, &si, 1000, &cause) == 0);
		store_set_batch(st, 300, 100000);
		dups = 0;
		seq = 1;
		append_mixed(st, vf, 1000, 5, 0, &seq, &dups);
		CHECK(store_append_gap(st, 5000000, "orders.e", NULL, 0, 3, "slow consumer",
		    &cause) == 0);
		append_mixed(st, vf, 500, 3, 1, &seq, &dups);	/* JetStream 1..500 */
		CHECK(store_pending(st) == (1000 + 1 + 500) % 300);
		seq = 401;					/* redelivered 401..600 */
		append_mixed(st, vf, 200, 3, 1, &seq, &dups);
		append_mixed(st, vf, 100, 7, 0, &seq, &dups);
		CHECK(dups == 100);
		CHECK(store_appended(st) == 1 + 1000 + 1 + 500 + 100 + 100);
		CHECK(store_close(st, &cause) == 0);
		h[t] = chain_of(path[t], &rows[t]);
	}
	CHECK(rows[0] == 1702 && rows[1] == 1702);
	CHECK(h[0] != NULL && h[1] != NULL && memcmp(h[0], h[1], (size_t)rows[0] * 32) == 0);
	free(h[0]);
	free(h[1]);
	free(cause);
	auth_verifier_free(vf);
	auth_policy_free(p);
}

/*
 * WAL checkpoints run on their own thread and the WAL starts over: with a
 * threshold of 16 pages (256 KiB), 6,000 events (about 8 MiB) leave a WAL
 * file of at most 8 times that (SQLite's own automatic checkpoint, were it
 * still on, would let it reach 1,000 pages, 16 MiB), and every row is
 * there, chained.
 */
static void
test_checkpoints(void)
{
	struct auth_policy	*p = event_policy();
	struct store_session_info si;
	struct auth_verifier	*vf;
	struct store		*st;
	struct stat		 sb;
	char			 path[96], wal[100], *cause = NULL;
	unsigned char		*h;
	int64_t			 rows, dups = 0;
	uint64_t		 seq = 1;

	if (p == NULL)
		return;
	vf = auth_verifier_new(p);
	snprintf(path, sizeof path, "%s/ckpt.db", dir);
	snprintf(wal, sizeof wal, "%s-wal", path);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	store_set_checkpoint_pages(st, 16);
	memset(&si, 0, sizeof si);
	si.version = "test";
	si.command = "test";
	CHECK(store_session_begin(st, &si, 1000, &cause) == 0);
	store_set_batch(st, 100, 100000);
	append_mixed(st, vf, 6000, 5, 0, &seq, &dups);
	CHECK(store_commit(st, &cause) == 0);
	CHECK(stat(wal, &sb) == 0 && sb.st_size > 0);
	CHECK(sb.st_size <= 3 * 1024 * 1024);
	CHECK(store_close(st, &cause) == 0);
	h = chain_of(path, &rows);
	CHECK(h != NULL && rows == 6001);
	free(h);
	free(cause);
	auth_verifier_free(vf);
	auth_policy_free(p);
}

/* ---- verdicts other recorders published (watch --verdicts) ----------------- */

/* Whether two JSON texts (or NULLs) hold the same value. */
static int
same_json(const char *a, const char *b)
{
	json_t	*x, *y;
	int	 same;

	if (a == NULL || b == NULL)
		return a == b;
	x = json_loads(a, JSON_DECODE_ANY, NULL);
	y = json_loads(b, JSON_DECODE_ANY, NULL);
	same = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* Whether two strings are both NULL or equal. */
static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Append body as a message on subject to the remote trail; *res filled. */
static int
append_remote(struct store *st, const char *subject, const char *body, size_t len,
    const char *stream, uint64_t seq, struct store_remote *res)
{
	struct auth_header	 h[1] = { { "Ztwatch-Received-Us", "1790000000000001" } };
	struct auth_msg		 msg;
	struct store_origin	 o;
	char			*cause = NULL;
	int			 rc;

	memset(&msg, 0, sizeof msg);
	msg.subject = subject;
	msg.headers = h;
	msg.nheaders = 1;
	msg.body = (const unsigned char *)body;
	msg.body_len = len;
	memset(&o, 0, sizeof o);
	o.received_us = 1790000000000002LL;
	o.stream = stream;
	o.stream_seq = seq;
	rc = store_append_remote(st, &msg, "zt.v", &o, res, &cause);
	if (rc != 0)
		fprintf(stderr, "  append_remote: %s\n", cause);
	free(cause);
	return rc;
}

/*
 * A verdict published as JSON and kept by store_append_remote gives the
 * row store_append_event gives for the verdict itself (the JSON columns
 * the same values); a message that is not a verdict becomes a failing
 * malformed_message row holding its bytes; a verdict of a JetStream
 * message already on record is kept once; the chain verifies.
 */
static void
test_remote(void)
{
	static const char *const junk[] = {
		"not json \x1b]2;title\x07",
		"[1,2]",
		"\"a string\"",
		"",
		"{\"verdict\":\"pass\",\"reason\":\"expired\",\"subject\":\"orders.created\","
		    "\"checks\":[]}",
		"{\"verdict\":\"fail\",\"reason\":\"ok\",\"subject\":\"orders.created\","
		    "\"checks\":[]}",
		"{\"verdict\":\"fail\",\"reason\":\"\\u001b[2Jexpired\",\"subject\":"
		    "\"orders.created\",\"checks\":[]}",
		"{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":\"orders.other\","
		    "\"checks\":[]}",
		"{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":\"orders.created\"}",
		"{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":\"orders.created\","
		    "\"checks\":[{\"check\":\"rule\",\"ok\":1,\"detail\":\"x\"}]}",
		"{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":\"orders.created\","
		    "\"checks\":[],\"claims\":[1]}",
		"{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":\"orders.created\","
		    "\"checks\":[],\"rule\":7}",
		"{\"verdict\":\"pass\",\"verdict\":\"pass\",\"reason\":\"ok\","
		    "\"subject\":\"orders.created\",\"checks\":[]}",
	};
	struct auth_policy	*p = event_policy();
	struct auth_verifier	*vf;
	struct auth_verdict	*v[2];
	struct auth_header	 h[1];
	struct auth_msg		 msg;
	struct store		*local, *remote, *ra, *rb;
	struct store_cursor	*ca = NULL, *cb = NULL;
	const struct store_row	*a, *b;
	struct store_filter	 f;
	struct store_remote	 res;
	struct store_origin	 o;
	struct store_audit	 audit;
	struct store_session_info si;
	char			 pa[96], pb[96], *tok[2], *bearer[2], *js = NULL, *cause = NULL;
	const char		*body = "{\"eventID\":\"e-1\",\"amount\":12}";
	size_t			 jlen, jcap = 0, i;
	json_t			*detail, *hdr;
	int			 n;

	if (p == NULL) {
		CHECK(p != NULL);
		return;
	}
	snprintf(pa, sizeof pa, "%s/local.db", dir);
	snprintf(pb, sizeof pb, "%s/remote.db", dir);
	local = store_open(pa, &cause);
	remote = store_open(pb, &cause);
	CHECK(local != NULL && remote != NULL);
	if (local == NULL || remote == NULL)
		return;
	memset(&si, 0, sizeof si);
	si.version = "test";
	si.command = "watch --verdicts";
	si.subjects = "zt.v.>";
	CHECK(store_session_begin(remote, &si, 1790000000000000LL, &cause) == 0);
	vf = auth_verifier_new(p);
	tok[0] = hs_token("{\"iss\":\"https://idsvr.example/oauth\",\"sub\":\"u1\","
	    "\"aud\":[\"a\",\"b\"],\"scp\":[\"s1\",\"s2\"],\"jti\":\"j-1\",\"event_id\":\"e-1\","
	    "\"iat\":1799999000,\"exp\":1900000000,\"note\":\"\\u001b]2;pwned\\u0007\"}", 0);
	tok[1] = hs_token("{\"iss\":\"https://idsvr.example/oauth\",\"sub\":\"u1\","
	    "\"aud\":\"a\",\"scope\":\"s1 s2\",\"event_id\":\"e-1\",\"exp\":1900000000}", 1);
	for (i = 0; i < 2; i++) {
		bearer[i] = xprintf("Bearer %s", tok[i]);
		h[0].name = "Authorization";
		h[0].value = bearer[i];
		memset(&msg, 0, sizeof msg);
		msg.subject = "orders.created";
		msg.headers = h;
		msg.nheaders = 1;
		msg.body = (const unsigned char *)body;
		msg.body_len = strlen(body);
		v[i] = auth_verify(vf, &msg, 1800000000);
		memset(&o, 0, sizeof o);
		o.received_us = 1790000000000000LL;
		CHECK(store_append_event(local, &msg, v[i], &o, NULL, &cause) == 0);
		jlen = 0;
		auth_verdict_json(v[i], &js, &jlen, &jcap);
		CHECK(append_remote(remote, "zt.v.orders.created", js, jlen, NULL, 0, &res) == 0);
		CHECK(!res.malformed && !res.duplicate && res.pass == auth_verdict_pass(v[i]) &&
		    res.reason == auth_verdict_reason(v[i]) &&
		    same_str(res.subject, "orders.created"));
	}
	CHECK(auth_verdict_pass(v[0]) && !auth_verdict_pass(v[1]));
	/* A JetStream message's verdict, then the same again: kept once. */
	CHECK(append_remote(remote, "zt.v.orders.created", js, jlen, "ORD", 5, &res) == 0 &&
	    !res.duplicate);
	CHECK(append_remote(remote, "zt.v.orders.created", js, jlen, "ORD", 5, &res) == 0 &&
	    res.duplicate);
	for (i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		CHECK(append_remote(remote, "zt.v.orders.created", junk[i], strlen(junk[i]), NULL,
		    0, &res) == 0);
		CHECK(res.malformed && !res.pass && res.reason == AUTH_MALFORMED_MESSAGE);
	}
	CHECK(store_appended(remote) == 1 + 3 + sizeof junk / sizeof junk[0]);
	CHECK(store_close(local, &cause) == 0 && store_close(remote, &cause) == 0);

	ra = store_open_reader(pa, &cause);
	rb = store_open_reader(pb, &cause);
	CHECK(ra != NULL && rb != NULL);
	if (ra == NULL || rb == NULL)
		goto out;
	memset(&f, 0, sizeof f);
	f.kinds = STORE_KIND_EVENT;
	ca = store_query(ra, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	cb = store_query(rb, &f, STORE_OLDEST_FIRST, 0, 0, &cause);
	for (i = 0; i < 2 && store_next(ca, &a, &cause) == 1 && store_next(cb, &b, &cause) == 1;
	    i++) {
		CHECK_STR(b->subject, a->subject);
		CHECK(same_str(b->rule, a->rule) && same_str(b->verdict, a->verdict) &&
		    same_str(b->reason, a->reason) && same_str(b->alg, a->alg) &&
		    same_str(b->kid, a->kid));
		CHECK(same_str(b->iss, a->iss) && same_str(b->sub, a->sub) &&
		    same_str(b->aud, a->aud) && same_str(b->scope, a->scope) &&
		    same_str(b->jti, a->jti) && same_str(b->event_id, a->event_id));
		CHECK(b->has_exp == a->has_exp && b->exp == a->exp && b->has_iat == a->has_iat &&
		    b->iat == a->iat);
		CHECK(same_json(b->claims, a->claims) && same_json(b->checks, a->checks) &&
		    same_json(b->warnings, a->warnings));
		CHECK(b->token == NULL && !b->has_body && b->stream == NULL);
		CHECK_STR(b->headers, "{\"Ztwatch-Received-Us\":\"1790000000000001\"}");
		detail = json_loads(b->detail ? b->detail : "", 0, NULL);
		CHECK_STR(json_string_value(json_object_get(detail, "verdict_subject")),
		    "zt.v.orders.created");
		hdr = auth_verdict_header(v[i]);
		CHECK(hdr != NULL && json_equal(json_object_get(detail, "header"), hdr));
		json_decref(detail);
	}
	CHECK(i == 2);
	CHECK(same_str(a->scope, "s1 s2") && same_str(b->iss, "https://idsvr.example/oauth"));
	CHECK(store_next(cb, &b, &cause) == 1 && same_str(b->stream, "ORD") && b->stream_seq == 5);
	for (n = 0; store_next(cb, &b, &cause) == 1; n++) {
		CHECK_STR(b->verdict, "fail");
		CHECK_STR(b->reason, "malformed_message");
		CHECK_STR(b->subject, "orders.created");
		CHECK(b->rule == NULL && b->claims == NULL && b->token == NULL);
		CHECK(b->has_body && b->body_len == strlen(junk[n]) &&
		    memcmp(b->body, junk[n], b->body_len) == 0);
		CHECK(b->checks != NULL && strstr(b->checks, "not a verdict") != NULL);
		CHECK(b->detail != NULL && strstr(b->detail, "zt.v.orders.created") != NULL &&
		    strstr(b->detail, "header") == NULL);
	}
	CHECK(n == (int)(sizeof junk / sizeof junk[0]));
	CHECK(store_audit(rb, &audit, NULL, NULL, &cause) == 0 && audit.intact);
	free(audit.problem);
out:
	store_cursor_free(ca);
	store_cursor_free(cb);
	store_close(ra, NULL);
	store_close(rb, NULL);
	for (i = 0; i < 2; i++) {
		auth_verdict_free(v[i]);
		free(tok[i]);
		free(bearer[i]);
	}
	free(js);
	free(cause);
	auth_verifier_free(vf);
	auth_policy_free(p);
}

/* A reader cannot write, and a missing trail is an error naming it. */
/* A verdict judged with fetched keys names its key set: the fleet's row keeps it. */
/* A bearer token under a kid no key set has: judged unknown_key, by
   whatever key set the verifier holds. */
static struct auth_verdict *
judge_unknown_kid(struct auth_verifier *vf)
{
	static const char	 tok[] = "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6Inp6In0.e30.AAAA";
	struct auth_header	 h = { "Authorization", tok };
	struct auth_msg		 m = { "orders.a", &h, 1, (const unsigned char *)"{}", 2 };

	return auth_verify(vf, &m, 1700000000);
}

/*
 * Each key set that judged an event is recorded once.  With several
 * verifier threads, a verdict judged by an old set may reach the writer
 * after one judged by a newer: that is no change of keys, and must not
 * write rows back and forth.  Here the session starts with k2's set, and
 * verdicts of k1's set (never recorded) and k2's arrive interleaved: one
 * row, for k1's set, saying its own change.
 */
static void
test_keyset_rows_go_forward(void)
{
	/* Two P-256 public keys (a fetched set may hold no HMAC secret). */
	static const char	 k1[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				     "\"kid\":\"k1\","
				     "\"x\":\"jzqbHU5VCmdXeb10nA12dpe3aZiEiiGxMePHCJ3yUXI\","
				     "\"y\":\"ffYcCvbBi3EDOibCyV2-g6YWLv8UxzlWBkrj1GD33yo\"}]}";
	static const char	 k2[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				     "\"kid\":\"k2\","
				     "\"x\":\"JRybMjV5GjFzZcuhzZrPrYWy8fD3hXSaODxbraUSEcc\","
				     "\"y\":\"RULF3v9nY7AlH1hKCZgy5nYwFf6fM6z1bjutTVl5cdY\"}]}";
	struct store_session_info si;
	struct auth_verdict	*old1, *old2, *new1, *new2;
	struct auth_verifier	*vf;
	struct auth_policy	*p;
	struct store		*st;
	struct store_origin	 o;
	struct auth_msg		 msg;
	char			*cause = NULL, *change = NULL, *notes = NULL, path[96], pol[96];
	FILE			*f;

	snprintf(pol, sizeof pol, "%s/keyset-policy.json", dir);
	snprintf(path, sizeof path, "%s/keyset-forward.db", dir);
	if ((f = fopen(pol, "w")) == NULL) {
		CHECK(f != NULL);
		return;
	}
	fputs("{\"keys\":{\"idp\":{\"jwks_url\":\"https://idp.example/jwks\"}},"
	    "\"rules\":[{\"name\":\"r\",\"subjects\":[\"orders.>\"],\"token\":"
	    "{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},\"keys\":[\"idp\"],"
	    "\"algorithms\":[\"ES256\"]}]}", f);
	fclose(f);
	if ((p = auth_policy_load(pol, &cause)) == NULL) {
		CHECK(p != NULL);
		fprintf(stderr, "  %s\n", cause);
		free(cause);
		return;
	}
	vf = auth_verifier_new(p);
	CHECK(auth_policy_remote_update(p, 0, (const unsigned char *)k1, strlen(k1), &change,
	    &notes, &cause) == 1);
	old1 = judge_unknown_kid(vf);
	old2 = judge_unknown_kid(vf);
	free(change);
	free(notes);
	CHECK(auth_policy_remote_update(p, 0, (const unsigned char *)k2, strlen(k2), &change,
	    &notes, &cause) == 1);
	new1 = judge_unknown_kid(vf);
	new2 = judge_unknown_kid(vf);

	memset(&si, 0, sizeof si);
	si.version = "test";
	si.command = "test";
	si.policy = p;
	memset(&msg, 0, sizeof msg);
	msg.subject = "orders.a";
	memset(&o, 0, sizeof o);
	st = store_open(path, &cause);
	CHECK(st != NULL);
	/* The session starts with k2 in use, as a recorder starts after a fetch;
	   then come verdicts of k1's set and k2's, interleaved. */
	if (st != NULL) {
		CHECK(store_session_begin(st, &si, 1000, &cause) == 0);
		o.received_us = 2000;
		CHECK(store_append_event(st, &msg, new1, &o, NULL, &cause) == 0);
		CHECK(store_append_event(st, &msg, old1, &o, NULL, &cause) == 0);
		CHECK(store_append_event(st, &msg, new2, &o, NULL, &cause) == 0);
		CHECK(store_append_event(st, &msg, old2, &o, NULL, &cause) == 0);
		CHECK(store_close(st, &cause) == 0);
	}
	CHECK(sql_int(path, "SELECT count(*) FROM trail WHERE kind = 'event'") == 4);
	CHECK(sql_int(path, "SELECT count(*) FROM trail WHERE kind = 'keyset'") == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM trail WHERE kind = 'keyset'"
	    " AND detail LIKE '%\"added\":[{%\"kid\":\"k1\"%'"
	    " AND detail NOT LIKE '%\"kid\":\"k2\"%'") == 1);
	/* It comes before the first event of its set. */
	CHECK(sql_int(path, "SELECT count(*) FROM trail WHERE kind = 'event' AND id <"
	    " (SELECT id FROM trail WHERE kind = 'keyset')") == 1);
	auth_verdict_free(old1);
	auth_verdict_free(old2);
	auth_verdict_free(new1);
	auth_verdict_free(new2);
	auth_verifier_free(vf);
	auth_policy_free(p);
	free(change);
	free(notes);
	free(cause);
}

static void
test_remote_keyset(void)
{
	const char		*body = "{\"verdict\":\"pass\",\"reason\":\"ok\",\"subject\":"
	    "\"orders.created\",\"checks\":[],\"keyset\":\"SHA256:k3yset\"}";
	struct store_remote	 res;
	struct store_cursor	*c = NULL;
	const struct store_row	*r;
	struct store		*st;
	char			 path[96], *cause = NULL;

	snprintf(path, sizeof path, "%s/remote-keyset.db", dir);
	if ((st = store_open(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(append_remote(st, "zt.v.orders.created", body, strlen(body), NULL, 0, &res) == 0);
	CHECK(!res.malformed && res.pass);
	CHECK(store_close(st, &cause) == 0);
	if ((st = store_open_reader(path, &cause)) == NULL) {
		CHECK(st != NULL);
		return;
	}
	CHECK(store_get(st, 1, &c, &r, &cause) == 1);
	CHECK(r != NULL && r->detail != NULL && strstr(r->detail, "\"keyset\":\"SHA256:k3yset\"")
	    != NULL);
	store_cursor_free(c);
	store_close(st, NULL);
	free(cause);
}

static void
test_errors(void)
{
	char		*cause = NULL, path[96];
	struct store	*st;

	snprintf(path, sizeof path, "%s/none.db", dir);
	st = store_open_reader(path, &cause);
	CHECK(st == NULL && cause != NULL && strstr(cause, "none.db") != NULL);
	free(cause);
	CHECK(access(path, F_OK) != 0);		/* nothing created */
	snprintf(path, sizeof path, "rm -rf %s", dir);
	CHECK(system(path) == 0);
}

int
main(void)
{
	UNIT_RUN(test_build);
	UNIT_RUN(test_pages);
	UNIT_RUN(test_filters);
	UNIT_RUN(test_filter_subject_bytes);
	UNIT_RUN(test_tags);
	UNIT_RUN(test_tags_window);
	UNIT_RUN(test_counts_and_get);
	UNIT_RUN(test_codec_round_trip);
	UNIT_RUN(test_codec_seeded);
	UNIT_RUN(test_codec_damage);
	UNIT_RUN(test_codec_dictionary);
	UNIT_RUN(test_event_columns);
	UNIT_RUN(test_event_damaged);
	UNIT_RUN(test_event_headers);
	UNIT_RUN(test_event_id_lookup);
	UNIT_RUN(test_writer_thread);
	UNIT_RUN(test_checkpoints);
	UNIT_RUN(test_remote);
	UNIT_RUN(test_remote_keyset);
	UNIT_RUN(test_keyset_rows_go_forward);
	UNIT_RUN(test_errors);
	UNIT_DONE();
}
