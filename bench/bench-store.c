/*
 * bench/bench-store.c -- the audit trail's figures for `make bench`.
 *
 * Judges each line of a capture once (real tokens and bodies), then
 * records N events cycling through those verdicts into a fresh trail,
 * timing the batched writer with every index -- with its writer thread,
 * and in one thread -- beside a reference: bare SQLite inserting N rows
 * of 1.3 KB with 4 indexes in the same batches with the same settings,
 * which is what DESIGN §8 quotes.  Each of the three runs REPS times,
 * interleaved, and the best of each is kept (this machine's speed drifts
 * from minute to minute).  Then it times the console's queries on the
 * result: the newest page, filtered newest pages, a lookup by event id.
 *
 *   bench-store [-r REPS] POLICY CAPTURE DB N
 *
 * The reference talks to SQLite directly, the one place outside store/
 * that does: it measures SQLite, not ztwatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth.h"
#include "store.h"

#define BENCH_TIME0	1790000000000000LL	/* the first event's received_at */

#define BENCH_MAX_LINES 4096
#define BENCH_BATCH	4096
#define BENCH_REF_ROW	1300	/* bytes of a reference row */

/* Seconds of a monotonic clock. */
static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Exit with a message. */
static void
die(const char *what, const char *cause)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, cause ? cause : "failed");
	exit(1);
}

/* Remove a database and its WAL. */
static void
remove_db(const char *path)
{
	char	aux[4096];

	remove(path);
	snprintf(aux, sizeof aux, "%.4000s-wal", path);
	remove(aux);
	snprintf(aux, sizeof aux, "%.4000s-shm", path);
	remove(aux);
}

/* Run SQL on the reference database or die. */
static void
ref_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die("reference", sqlite3_errmsg(db));
}

/*
 * The reference: n rows of about 1.3 KB (a few short columns and a text
 * payload) into a table with 4 indexes, committed every BENCH_BATCH rows,
 * with the trail's settings.  Returns rows per second.
 */
static double
ref_run(const char *path, long n)
{
	static const char *const subjects[] = { "orders.created", "orders.updated" };
	static const char *const reasons[] = { "ok", "expired", "event_id_mismatch" };
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 payload[BENCH_REF_ROW];
	size_t		 plen = BENCH_REF_ROW - 140, i;
	long		 k;
	double		 t0;

	remove_db(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("reference", path);
	ref_exec(db, "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;"
	    "PRAGMA wal_autocheckpoint = 8192; PRAGMA synchronous = NORMAL;"
	    "PRAGMA cache_size = -65536;"
	    "CREATE TABLE t (id INTEGER PRIMARY KEY, received_at, subject, verdict, reason,"
	    " iss, payload);"
	    "CREATE INDEX t_time ON t(received_at);"
	    "CREATE INDEX t_subject ON t(subject, id);"
	    "CREATE INDEX t_verdict ON t(verdict, reason, id);"
	    "CREATE INDEX t_iss ON t(iss, id);");
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &s,
	    NULL) != SQLITE_OK)
		die("reference", sqlite3_errmsg(db));
	srand(1);
	for (i = 0; i < plen; i++)
		payload[i] = (char)('a' + rand() % 26);
	t0 = now_s();
	ref_exec(db, "BEGIN");
	for (k = 0; k < n; k++) {
		payload[k % plen] = (char)('a' + (payload[k % plen] - 'a' + 1) % 26);
		sqlite3_bind_int64(s, 1, k + 1);
		sqlite3_bind_int64(s, 2, 1790000000000000LL + k * 1000);
		sqlite3_bind_text(s, 3, subjects[k % 10 >= 8], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, k % 10 >= 8 ? "fail" : "pass", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, reasons[k % 10 >= 8 ? k % 10 - 7 : 0], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, "https://idsvr.example/oauth/v2/oauth-anonymous", -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(s, 7, payload, (int)plen, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			die("reference", sqlite3_errmsg(db));
		sqlite3_reset(s);
		if ((k + 1) % BENCH_BATCH == 0)
			ref_exec(db, "COMMIT; BEGIN");
	}
	ref_exec(db, "COMMIT");
	sqlite3_finalize(s);
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(db);
	t0 = now_s() - t0;
	remove_db(path);
	return n / t0;
}

/* Record n events cycling through the judged lines; returns events per second. */
static double
record_run(const char *path, long n, int thread, struct auth_capture *caps,
    struct auth_verdict **vs, size_t nlines)
{
	struct store		*st;
	struct store_origin	 o;
	char			*cause = NULL;
	double			 t0;
	long			 k;

	remove_db(path);
	if ((st = store_open(path, &cause)) == NULL)
		die("open", cause);
	if (store_set_writer_thread(st, thread, &cause) != 0)
		die("writer thread", cause);
	store_set_batch(st, BENCH_BATCH, 1000);
	memset(&o, 0, sizeof o);
	t0 = now_s();
	for (k = 0; k < n; k++) {
		o.received_us = BENCH_TIME0 + k * 1000;
		if (store_append_event(st, &caps[k % nlines].msg, vs[k % nlines], &o, NULL,
		    &cause) != 0)
			die("append", cause);
	}
	if (store_close(st, &cause) != 0)
		die("close", cause);
	return n / (now_s() - t0);
}

/* Time one page of a query: ms to the first `limit` rows. */
static double
page_ms(struct store *st, const struct store_filter *f, int64_t limit, int64_t *rows)
{
	struct store_cursor	*c;
	const struct store_row	*r;
	char			*cause = NULL;
	double			 t0 = now_s();

	*rows = 0;
	if ((c = store_query(st, f, STORE_NEWEST_FIRST, 0, limit, &cause)) == NULL)
		die("query", cause);
	while (store_next(c, &r, &cause) == 1)
		++*rows;
	store_cursor_free(c);
	return (now_s() - t0) * 1000;
}

/* Print the time of one page. */
static void
page(struct store *st, const struct store_filter *f, const char *what)
{
	int64_t	rows;
	double	ms = page_ms(st, f, 50, &rows);

	printf("query: newest page (50 rows, %s): %.2f ms [%lld rows]\n", what, ms,
	    (long long)rows);
}

int
main(int argc, char **argv)
{
	static struct auth_capture	 caps[BENCH_MAX_LINES];
	static struct auth_verdict	*vs[BENCH_MAX_LINES];
	struct auth_policy		*p;
	struct auth_verifier		*vf;
	struct store			*st;
	struct store_filter		 f;
	struct stat			 sb;
	char				*cause = NULL, *line = NULL, ref[4096], what[160];
	const char			*err, *eid;
	size_t				 cap = 0, nlines = 0, i;
	ssize_t				 len;
	long				 n;
	int				 reps = 3, r, ch;
	double				 best_ref = 0, best_one = 0, best_two = 0, x;
	FILE				*fp;

	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch != 'r' || (reps = atoi(optarg)) < 1)
			die("usage", "bench-store [-r REPS] POLICY CAPTURE DB N");
	}
	if (argc - optind != 4)
		die("usage", "bench-store [-r REPS] POLICY CAPTURE DB N");
	argv += optind;
	n = atol(argv[3]);
	if ((p = auth_policy_load(argv[0], &cause)) == NULL)
		die("policy", cause);
	vf = auth_verifier_new(p);
	if ((fp = fopen(argv[1], "r")) == NULL)
		die("capture", argv[1]);
	while (nlines < BENCH_MAX_LINES && (len = getline(&line, &cap, fp)) > 0) {
		if (auth_capture_parse(&caps[nlines], line, (size_t)len, &err) != 0)
			die("capture line", err);
		vs[nlines] = auth_verify(vf, &caps[nlines].msg, time(NULL));
		nlines++;
	}
	fclose(fp);
	free(line);
	if (nlines == 0)
		die("capture", "no lines");
	snprintf(ref, sizeof ref, "%s.reference", argv[2]);

	for (r = 0; r < reps; r++) {
		if ((x = ref_run(ref, n)) > best_ref)
			best_ref = x;
		if ((x = record_run(argv[2], n, 0, caps, vs, nlines)) > best_one)
			best_one = x;
		if ((x = record_run(argv[2], n, 1, caps, vs, nlines)) > best_two)
			best_two = x;
	}
	stat(argv[2], &sb);
	printf("record: %ld events: %.0f events/s (writer thread), %.0f events/s (one thread); "
	    "%.0f bytes per event (%d distinct events cycled)\n", n, best_two, best_one,
	    (double)sb.st_size / n, (int)nlines);
	printf("reference: SQLite alone, %ld rows of %d bytes, 4 indexes, same batches: "
	    "%.0f rows/s\n", n, BENCH_REF_ROW, best_ref);

	if ((st = store_open_reader(argv[2], &cause)) == NULL)
		die("reader", cause);
	memset(&f, 0, sizeof f);
	page(st, &f, "no filter");
	f.verdict = "fail";
	page(st, &f, "verdict:fail");
	/* A minute in the middle of the trail (events are 1 ms apart). */
	f.verdict = NULL;
	f.since_us = BENCH_TIME0 + n / 2 * 1000;
	f.until_us = f.since_us + 60 * 1000000LL;
	page(st, &f, "a minute mid-trail");
	memset(&f, 0, sizeof f);
	f.verdict = "fail";
	f.reason = "expired";
	page(st, &f, "verdict:fail reason:expired");
	memset(&f, 0, sizeof f);
	f.subject = "orders.updated";
	f.verdict = "fail";
	page(st, &f, "subject:orders.updated verdict:fail");
	memset(&f, 0, sizeof f);
	if ((eid = auth_verdict_event_id(vs[nlines / 2])) != NULL) {
		/* The trail keeps a string id decoded. */
		snprintf(what, sizeof what, "%.*s", (int)strlen(eid) - 2, eid + 1);
		f.event_id = what;
		page(st, &f, "one event id");
	}
	store_close(st, NULL);

	for (i = 0; i < nlines; i++) {
		auth_verdict_free(vs[i]);
		auth_capture_release(&caps[i]);
	}
	auth_verifier_free(vf);
	auth_policy_free(p);
	return 0;
}
