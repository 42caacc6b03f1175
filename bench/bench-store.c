/*
 * bench/bench-store.c -- the audit trail's figures for `make bench`.
 *
 * Judges each line of a capture once (real tokens and bodies), then
 * records N events cycling through those verdicts into a fresh trail,
 * timing the batched writer with every index; then times the console's
 * queries on the result: the newest page, and a filtered newest page.
 *
 *   bench-store POLICY CAPTURE DB N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "auth.h"
#include "store.h"

#define BENCH_MAX_LINES 4096

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
die(const char *what, char *cause)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, cause ? cause : "failed");
	exit(1);
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

int
main(int argc, char **argv)
{
	static struct auth_capture	 caps[BENCH_MAX_LINES];
	static struct auth_verdict	*vs[BENCH_MAX_LINES];
	struct auth_policy		*p;
	struct auth_verifier		*vf;
	struct store			*st;
	struct store_filter		 f;
	struct store_origin		 o;
	struct stat			 sb;
	char				*cause = NULL, *line = NULL;
	size_t				 cap = 0, nlines = 0, i;
	ssize_t				 len;
	long				 n, k;
	int64_t				 rows;
	double				 t0, secs;
	FILE				*fp;
	const char			*err;

	if (argc != 5)
		die("usage", "bench-store POLICY CAPTURE DB N");
	n = atol(argv[4]);
	if ((p = auth_policy_load(argv[1], &cause)) == NULL)
		die("policy", cause);
	vf = auth_verifier_new(p);
	if ((fp = fopen(argv[2], "r")) == NULL)
		die("capture", argv[2]);
	while (nlines < BENCH_MAX_LINES && (len = getline(&line, &cap, fp)) > 0) {
		if (auth_capture_parse(&caps[nlines], line, (size_t)len, &err) != 0)
			die("capture line", (char *)err);
		vs[nlines] = auth_verify(vf, &caps[nlines].msg, time(NULL));
		nlines++;
	}
	fclose(fp);
	free(line);

	remove(argv[3]);
	if ((st = store_open(argv[3], &cause)) == NULL)
		die("open", cause);
	store_set_batch(st, 4096, 1000);
	memset(&o, 0, sizeof o);
	t0 = now_s();
	for (k = 0; k < n; k++) {
		o.received_us = 1790000000000000LL + k * 1000;
		if (store_append_event(st, &caps[k % nlines].msg, vs[k % nlines], &o, NULL,
		    &cause) != 0)
			die("append", cause);
	}
	if (store_close(st, &cause) != 0)
		die("close", cause);
	secs = now_s() - t0;
	stat(argv[3], &sb);
	printf("record: %ld events in %.2f s: %.0f events/s; %.0f bytes per event "
	    "(%d distinct events cycled)\n", n, secs, n / secs, (double)sb.st_size / n,
	    (int)nlines);

	if ((st = store_open_reader(argv[3], &cause)) == NULL)
		die("reader", cause);
	memset(&f, 0, sizeof f);
	printf("query: newest page (50 rows, no filter): %.2f ms", page_ms(st, &f, 50, &rows));
	printf(" [%lld rows]\n", (long long)rows);
	f.verdict = "fail";
	f.reason = "expired";
	printf("query: newest page (50 rows, verdict:fail reason:expired): %.2f ms",
	    page_ms(st, &f, 50, &rows));
	printf(" [%lld rows]\n", (long long)rows);
	memset(&f, 0, sizeof f);
	f.subject = "orders.updated";
	f.verdict = "fail";
	printf("query: newest page (50 rows, subject:orders.updated verdict:fail): %.2f ms",
	    page_ms(st, &f, 50, &rows));
	printf(" [%lld rows]\n", (long long)rows);
	store_close(st, NULL);

	for (i = 0; i < nlines; i++) {
		auth_verdict_free(vs[i]);
		auth_capture_release(&caps[i]);
	}
	auth_verifier_free(vf);
	auth_policy_free(p);
	return 0;
}
