/*
 * tui/streams.c -- per-subject stats for the streams pane.
 *
 * DESIGN: subjects come from whoever can publish, so the set is bounded.
 * At most max subjects get their own entry (found through an
 * open-addressing hash of the raw subject); the rest share "other".  Each
 * entry keeps a minute of one-second buckets in a ring indexed by
 * second % 60, cleared lazily as time moves on, so feeding an event is
 * O(1) and an entry is a few hundred bytes whatever the traffic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-int.h"

#define STREAMS_OTHER	"(other subjects)"

static const char *const spark_levels[8] = {
	"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
	"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"
};

/* Reset one entry's counters. */
static void
stream_reset(struct tui_stream *s)
{
	memset(s, 0, sizeof *s);
	s->last_reason = -1;
}

/* Empty stats. */
void
tui_streams_init(struct tui_streams *st, size_t max)
{
	memset(st, 0, sizeof *st);
	st->max = max ? max : TUI_STREAMS_MAX;
	st->tsize = 64;
	st->table = auth_calloc(st->tsize, sizeof *st->table);
	stream_reset(&st->other);
	st->other.other = 1;
	st->other.name = auth_strdup(STREAMS_OTHER);
	stream_reset(&st->total);
	st->total.name = auth_strdup("(all)");
}

/* Release everything. */
void
tui_streams_free(struct tui_streams *st)
{
	size_t	i;

	for (i = 0; i < st->n; i++) {
		free(st->list[i]->name);
		free(st->list[i]->key);
		free(st->list[i]);
	}
	free(st->list);
	free(st->table);
	free(st->other.name);
	free(st->total.name);
	memset(st, 0, sizeof *st);
}

/* FNV-1a of s. */
static size_t
streams_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* Double the hash table. */
static void
streams_rehash(struct tui_streams *st)
{
	size_t	i, j, size = st->tsize * 2;
	struct tui_stream **t = auth_calloc(size, sizeof *t);

	for (i = 0; i < st->n; i++) {
		j = streams_hash(st->list[i]->key) & (size - 1);
		while (t[j] != NULL)
			j = (j + 1) & (size - 1);
		t[j] = st->list[i];
	}
	free(st->table);
	st->table = t;
	st->tsize = size;
}

/* The entry for subject, made if there is room; "other" when not. */
static struct tui_stream *
streams_find(struct tui_streams *st, const char *subject)
{
	struct tui_stream	*s;
	size_t			 j;

	if (subject == NULL || strlen(subject) > TUI_SUBJECT_MAX)
		return &st->other;
	j = streams_hash(subject) & (st->tsize - 1);
	for (; st->table[j] != NULL; j = (j + 1) & (st->tsize - 1)) {
		if (strcmp(st->table[j]->key, subject) == 0)
			return st->table[j];
	}
	if (st->n == st->max)
		return &st->other;
	s = auth_malloc(sizeof *s);
	stream_reset(s);
	s->key = auth_strdup(subject);
	s->name = tui_text_safe_str(subject);
	st->table[j] = s;
	if (st->n % 64 == 0)
		st->list = auth_realloc(st->list, (st->n + 64) * sizeof *st->list);
	st->list[st->n++] = s;
	if (st->n * 2 > st->tsize)
		streams_rehash(st);
	return s;
}

/* Bucket index of second sec. */
static size_t
stream_slot(int64_t sec)
{
	return (size_t)(((sec % TUI_SPARK_SECONDS) + TUI_SPARK_SECONDS) % TUI_SPARK_SECONDS);
}

/* Count add events in second sec. */
static void
stream_tick(struct tui_stream *s, int64_t sec, uint32_t add)
{
	int64_t		k;
	uint32_t	*b;

	if (sec > s->last_sec) {
		k = s->last_sec + 1;
		if (k < sec - TUI_SPARK_SECONDS + 1)
			k = sec - TUI_SPARK_SECONDS + 1;
		for (; k <= sec; k++)
			s->bucket[stream_slot(k)] = 0;
		s->last_sec = sec;
	} else if (sec <= s->last_sec - TUI_SPARK_SECONDS)
		return;				/* older than the sparkline */
	b = &s->bucket[stream_slot(sec)];
	*b = *b > UINT32_MAX - add ? UINT32_MAX : *b + add;
}

/* Second of time_us (floor). */
static int64_t
streams_sec(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

/* Count one event on s. */
static void
stream_count(struct tui_stream *s, int pass, int reason, int64_t sec)
{
	s->events++;
	if (pass)
		s->pass++;
	else {
		s->fail++;
		s->last_reason = reason;
	}
	stream_tick(s, sec, 1);
}

/* Count one event. */
void
tui_streams_add(struct tui_streams *st, const char *subject, int pass, const char *reason,
    int64_t time_us)
{
	int64_t	sec = streams_sec(time_us);
	int	r = reason != NULL ? auth_reason_from_name(reason) : -1;

	stream_count(streams_find(st, subject), pass, r, sec);
	stream_count(&st->total, pass, r, sec);
}

/* Count a gap. */
void
tui_streams_gap(struct tui_streams *st, const char *subject, uint64_t count, int64_t time_us)
{
	(void)time_us;
	if (subject != NULL)
		streams_find(st, subject)->gaps += count;
	st->total.gaps += count;
}

/* Add a subject's trail counts. */
void
tui_streams_seed(struct tui_streams *st, const struct store_subject_count *sc)
{
	struct tui_stream	*s = streams_find(st, sc->subject);

	s->events += (uint64_t)sc->events;
	s->pass += (uint64_t)sc->pass;
	s->fail += (uint64_t)sc->fail;
	s->gaps += (uint64_t)sc->gaps;
	st->total.events += (uint64_t)sc->events;
	st->total.pass += (uint64_t)sc->pass;
	st->total.fail += (uint64_t)sc->fail;
	st->total.gaps += (uint64_t)sc->gaps;
}

/* Callback form of tui_streams_seed. */
void
tui_streams_seed_cb(const struct store_subject_count *sc, void *streams)
{
	tui_streams_seed(streams, sc);
}

/* Most events first, then by name. */
static int
streams_cmp_events(const void *a, const void *b)
{
	const struct tui_stream	*x = *(const struct tui_stream *const *)a;
	const struct tui_stream	*y = *(const struct tui_stream *const *)b;

	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* By name. */
static int
streams_cmp_name(const void *a, const void *b)
{
	const struct tui_stream	*x = *(const struct tui_stream *const *)a;
	const struct tui_stream	*y = *(const struct tui_stream *const *)b;

	return strcmp(x->key, y->key);
}

/* Sort for display. */
void
tui_streams_sort(struct tui_streams *st, enum tui_sort sort)
{
	st->sort = sort;
	if (st->n > 1)
		qsort(st->list, st->n, sizeof *st->list,
		    sort == TUI_SORT_NAME ? streams_cmp_name : streams_cmp_events);
}

/* Whether "other" has counted anything. */
static int
streams_has_other(const struct tui_streams *st)
{
	return st->other.events > 0 || st->other.gaps > 0;
}

/* Entries in display order. */
size_t
tui_streams_count(const struct tui_streams *st)
{
	return st->n + (streams_has_other(st) ? 1 : 0);
}

/* Entry i in display order. */
const struct tui_stream *
tui_streams_at(const struct tui_streams *st, size_t i)
{
	if (i < st->n)
		return st->list[i];
	if (i == st->n && streams_has_other(st))
		return &st->other;
	return NULL;
}

/* Index of the selection, or -1. */
int
tui_streams_selected(const struct tui_streams *st)
{
	size_t	i, n = tui_streams_count(st);

	if (st->selected == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (tui_streams_at(st, i) == st->selected)
			return (int)i;
	}
	return -1;
}

/* Move the selection. */
void
tui_streams_move(struct tui_streams *st, int delta)
{
	long	n = (long)tui_streams_count(st), i = tui_streams_selected(st);

	if (n == 0)
		return;
	if (i < 0)
		i = 0;
	else
		i += delta;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	st->selected = tui_streams_at(st, (size_t)i);
}

/* Every event and gap together. */
const struct tui_stream *
tui_streams_total(const struct tui_streams *st)
{
	return &st->total;
}

/* Fail percentage. */
double
tui_stream_fail_pct(const struct tui_stream *s)
{
	return s->events ? 100.0 * (double)s->fail / (double)s->events : 0;
}

/* Events in second sec. */
uint32_t
tui_stream_second(const struct tui_stream *s, int64_t sec)
{
	if (sec > s->last_sec || sec <= s->last_sec - TUI_SPARK_SECONDS)
		return 0;
	return s->bucket[stream_slot(sec)];
}

/* Events per second over the last whole seconds. */
double
tui_stream_rate(const struct tui_stream *s, int64_t now_us)
{
	int64_t		now = streams_sec(now_us), k;
	uint64_t	sum = 0;

	for (k = now - TUI_RATE_SECONDS; k < now; k++)
		sum += tui_stream_second(s, k);
	return (double)sum / TUI_RATE_SECONDS;
}

/* n values as a sparkline. */
char *
tui_sparkline(const uint32_t *values, size_t n)
{
	struct tui_buf	b = { NULL, 0, 0 };
	uint32_t	max = 0;
	size_t		i;
	uint64_t	level;

	for (i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	tui_buf_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (values[i] == 0) {
			tui_buf_str(&b, " ");
			continue;
		}
		level = ((uint64_t)values[i] * 8 + max - 1) / max;	/* 1..8 */
		tui_buf_str(&b, spark_levels[level - 1]);
	}
	return tui_buf_take(&b);
}

/* The last width seconds of s as a sparkline. */
char *
tui_stream_spark(const struct tui_stream *s, int64_t now_us, int width)
{
	uint32_t	v[TUI_SPARK_SECONDS];
	int64_t		now = streams_sec(now_us);
	int		i;

	if (width > TUI_SPARK_SECONDS)
		width = TUI_SPARK_SECONDS;
	if (width < 0)
		width = 0;
	for (i = 0; i < width; i++)
		v[i] = tui_stream_second(s, now - (width - 1 - i));
	return tui_sparkline(v, (size_t)width);
}

/* Column widths of the streams pane. */
struct streams_cols {
	int	name, events, fail, pct, rate, spark, reason, gaps;
};

/* Lay out the columns for width (separated by one space). */
static void
streams_cols(struct streams_cols *c, int width)
{
	int	rest;

	c->events = 6;
	c->fail = 6;
	c->pct = 5;
	c->rate = 6;
	c->gaps = 5;
	rest = width - (c->events + c->fail + c->pct + c->rate + c->gaps) - 7;
	c->reason = rest >= 40 ? rest / 4 : 0;
	if (c->reason > 21)
		c->reason = 21;
	if (c->reason > 0 && c->reason < 12)
		c->reason = 12;
	rest -= c->reason;
	c->spark = rest >= 30 ? rest / 3 : rest >= 24 ? 8 : 0;
	if (c->spark > TUI_SPARK_SECONDS)
		c->spark = TUI_SPARK_SECONDS;
	if (c->spark > 0 && c->spark < 10 && rest >= 30)
		c->spark = 10;
	c->name = rest - c->spark;
	if (c->name < 1)
		c->name = 1;
}

/* Append s fitted to cols (right-aligned when right), then a space. */
static void
streams_put(struct tui_buf *b, const char *s, int cols, int right, int last)
{
	char	*f;

	if (cols <= 0)
		return;
	f = right ? tui_text_fit_right(s, cols) : tui_text_fit(s, cols);
	tui_buf_str(b, f);
	if (!last)
		tui_buf_str(b, " ");
	free(f);
}

/* Cut or pad a built line to exactly width. */
static char *
streams_finish(struct tui_buf *b, int width)
{
	char	*line = tui_buf_take(b), *fit = tui_text_fit(line, width);

	free(line);
	return fit;
}

/* The streams pane's header. */
char *
tui_streams_header(int width)
{
	struct streams_cols	c;
	struct tui_buf		b = { NULL, 0, 0 };

	streams_cols(&c, width);
	streams_put(&b, "subject", c.name, 0, 0);
	streams_put(&b, "events", c.events, 1, 0);
	streams_put(&b, "fail", c.fail, 1, 0);
	streams_put(&b, "fail%", c.pct, 1, 0);
	streams_put(&b, "/s", c.rate, 1, 0);
	streams_put(&b, "last minute", c.spark, 0, 0);
	streams_put(&b, "last failure", c.reason, 0, 0);
	streams_put(&b, "gaps", c.gaps, 1, 1);
	return streams_finish(&b, width);
}

/* One entry of the streams pane. */
char *
tui_streams_line(const struct tui_stream *s, int64_t now_us, int width)
{
	struct streams_cols	 c;
	struct tui_buf		 b = { NULL, 0, 0 };
	char			 num[32], *spark;
	double			 rate = tui_stream_rate(s, now_us), pct;

	streams_cols(&c, width);
	streams_put(&b, s->name, c.name, 0, 0);
	tui_text_count(s->events, num, sizeof num);
	streams_put(&b, num, c.events, 1, 0);
	tui_text_count(s->fail, num, sizeof num);
	streams_put(&b, num, c.fail, 1, 0);
	pct = tui_stream_fail_pct(s);
	if (s->events == 0)
		snprintf(num, sizeof num, "-");
	else if (pct > 0 && pct < 0.1)
		snprintf(num, sizeof num, "<0.1");
	else
		snprintf(num, sizeof num, pct >= 99.95 || pct == 0 ? "%.0f" : "%.1f", pct);
	streams_put(&b, num, c.pct, 1, 0);
	if (rate < 10 && rate != (double)(uint64_t)rate)
		snprintf(num, sizeof num, "%.1f", rate);
	else
		tui_text_count((uint64_t)(rate + 0.5), num, sizeof num);
	streams_put(&b, num, c.rate, 1, 0);
	spark = tui_stream_spark(s, now_us, c.spark);
	streams_put(&b, spark, c.spark, 0, 0);
	free(spark);
	streams_put(&b, s->last_reason >= 0 ? auth_reason_name(s->last_reason) : "",
	    c.reason, 0, 0);
	if (s->gaps > 0)
		tui_text_count(s->gaps, num, sizeof num);
	else
		num[0] = '\0';
	streams_put(&b, num, c.gaps, 1, 1);
	return streams_finish(&b, width);
}
