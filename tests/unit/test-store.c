/*
 * tests/unit/test-store.c -- the trail's query API, as the console uses it:
 * newest-first pages with filters, per-subject counts, lookups by id, gaps.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "store.h"
#include "unit.h"

static char	dir[] = "/tmp/zt-store-XXXXXX";
static char	db[64];

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

/* A reader cannot write, and a missing trail is an error naming it. */
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
	UNIT_RUN(test_counts_and_get);
	UNIT_RUN(test_errors);
	UNIT_DONE();
}
