/*
 * tui/events.c -- the event list: a ring of recent summaries, the
 * selection, following the tail, and paging into the trail.
 *
 * DESIGN: the ring is a window onto the trail, never a copy of it.  Its
 * entries carry positions (seq) that do not change as the ring turns, so
 * the selection and the top row stay on their entries while live events
 * push old ones out or older pages are prepended.  The model never reads
 * the trail itself: it says which ids it needs (need_older/need_newer),
 * the screen runs the query, and a move that ran past the end finishes
 * when the rows arrive (pending).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui-int.h"

#define EVENTS_CAP	5000
#define EVENTS_FIELDS	7

/* Point ev at row's fields. */
void
tui_event_from_row(struct tui_event *ev, const struct store_row *r)
{
	memset(ev, 0, sizeof *ev);
	ev->id = r->id;
	ev->time_us = r->received_us;
	ev->kind = r->kind != NULL && strcmp(r->kind, "event") == 0 ? TUI_KIND_EVENT :
	    r->kind != NULL && strcmp(r->kind, "keyset") == 0 ? TUI_KIND_KEYSET : TUI_KIND_GAP;
	ev->pass = r->verdict != NULL && strcmp(r->verdict, "pass") == 0;
	ev->gap_count = r->gap_count;
	ev->subject = r->subject;
	ev->reason = r->reason;
	ev->iss = r->iss;
	ev->sub = r->sub;
	ev->kid = r->kid;
	ev->event_id = r->event_id;
	ev->jti = r->jti;
}

/* The string fields of e, in block order. */
static void
events_fields(const struct tui_event *e, const char **f)
{
	f[0] = e->subject;
	f[1] = e->reason;
	f[2] = e->iss;
	f[3] = e->sub;
	f[4] = e->kid;
	f[5] = e->event_id;
	f[6] = e->jti;
}

/* Copy e into dst as safe text, all strings in one block (subject first). */
static void
events_copy(struct tui_event *dst, const struct tui_event *e)
{
	const char	*in[EVENTS_FIELDS];
	char		*safe[EVENTS_FIELDS], *raw, *block, *p;
	size_t		 i, len, total = 0;

	events_fields(e, in);
	for (i = 0; i < EVENTS_FIELDS; i++) {
		len = in[i] != NULL ? strlen(in[i]) : 0;
		if (len > 4 * TUI_EVENT_FIELD_MAX)
			len = tui_text_boundary(in[i], 4 * TUI_EVENT_FIELD_MAX);
		raw = tui_text_safe(in[i] != NULL ? in[i] : "", len);
		safe[i] = tui_text_clip(raw, TUI_EVENT_FIELD_MAX);
		free(raw);
		total += strlen(safe[i]) + 1;
	}
	*dst = *e;
	p = block = auth_malloc(total);
	for (i = 0; i < EVENTS_FIELDS; i++) {
		len = strlen(safe[i]) + 1;
		memcpy(p, safe[i], len);
		in[i] = p;
		p += len;
		free(safe[i]);
	}
	dst->subject = in[0];
	dst->reason = in[1];
	dst->iss = in[2];
	dst->sub = in[3];
	dst->kid = in[4];
	dst->event_id = in[5];
	dst->jti = in[6];
}

/* Release a copy. */
static void
events_release(struct tui_event *e)
{
	free((char *)(uintptr_t)e->subject);
	memset(e, 0, sizeof *e);
}

/* An empty list. */
void
tui_events_init(struct tui_events *ev, size_t cap)
{
	memset(ev, 0, sizeof *ev);
	ev->cap = cap ? cap : EVENTS_CAP;
	ev->ring = auth_calloc(ev->cap, sizeof *ev->ring);
	ev->rows = 1;
}

/* Release everything. */
void
tui_events_free(struct tui_events *ev)
{
	tui_events_clear(ev);
	free(ev->ring);
	memset(ev, 0, sizeof *ev);
}

/* The entry at seq. */
static struct tui_event *
events_at(const struct tui_events *ev, int64_t seq)
{
	return &ev->ring[(ev->first + (size_t)(seq - ev->base)) % ev->cap];
}

/* Seq of the newest entry (base - 1 when empty). */
static int64_t
events_last(const struct tui_events *ev)
{
	return ev->base + (int64_t)ev->n - 1;
}

/* Keep the selection in the ring and on screen. */
static void
events_view(struct tui_events *ev)
{
	int64_t	last = events_last(ev), rows = ev->rows > 0 ? ev->rows : 1;

	if (ev->n == 0) {
		ev->sel = ev->top = ev->base;
		return;
	}
	if (ev->state == TUI_FOLLOW)
		ev->sel = last;
	if (ev->sel < ev->base)
		ev->sel = ev->base;
	if (ev->sel > last)
		ev->sel = last;
	if (ev->state == TUI_FOLLOW) {
		ev->top = last - rows + 1;
	} else {
		if (ev->sel < ev->top)
			ev->top = ev->sel;
		if (ev->sel >= ev->top + rows)
			ev->top = ev->sel - rows + 1;
		if (ev->top > last - rows + 1)
			ev->top = last - rows + 1;
	}
	if (ev->top < ev->base)
		ev->top = ev->base;
}

/* Back to following when a scrolled selection reaches the present. */
static void
events_settle(struct tui_events *ev)
{
	if (ev->state == TUI_SCROLLED && ev->n > 0 && ev->sel == events_last(ev) &&
	    !ev->newer_gone) {
		ev->state = TUI_FOLLOW;
		ev->unseen = 0;
	}
}

/* Empty the list. */
void
tui_events_clear(struct tui_events *ev)
{
	size_t	i;

	for (i = 0; i < ev->n; i++)
		events_release(&ev->ring[(ev->first + i) % ev->cap]);
	ev->first = ev->n = 0;
	ev->base = ev->sel = ev->top = 0;
	ev->state = TUI_FOLLOW;
	ev->unseen = 0;
	ev->at_start = ev->newer_gone = 0;
	ev->scan_older = ev->scan_newer = 0;
	ev->pending = TUI_PENDING_NONE;
	ev->pending_n = 0;
}

/* Add e as the newest entry, dropping the oldest when full. */
static void
events_add_newest(struct tui_events *ev, const struct tui_event *e)
{
	if (ev->n == ev->cap) {
		events_release(&ev->ring[ev->first]);
		ev->first = (ev->first + 1) % ev->cap;
		ev->base++;
		ev->n--;
		ev->at_start = 0;
		ev->scan_older = 0;
	}
	events_copy(&ev->ring[(ev->first + ev->n) % ev->cap], e);
	ev->n++;
}

/* A live event. */
void
tui_events_push(struct tui_events *ev, const struct tui_event *e)
{
	if (ev->newer_gone) {
		ev->unseen++;
		return;
	}
	events_add_newest(ev, e);
	if (ev->state != TUI_FOLLOW)
		ev->unseen++;
	events_view(ev);
}

/* A trail row newer than the newest entry. */
void
tui_events_append(struct tui_events *ev, const struct tui_event *e)
{
	events_add_newest(ev, e);
	events_view(ev);
}

/* A trail row older than the oldest entry. */
void
tui_events_prepend(struct tui_events *ev, const struct tui_event *e)
{
	if (ev->n == ev->cap) {
		events_release(events_at(ev, events_last(ev)));
		ev->n--;
		ev->newer_gone = 1;
		ev->scan_newer = 0;
		if (ev->state == TUI_FOLLOW)
			ev->state = TUI_SCROLLED;
	}
	ev->first = (ev->first + ev->cap - 1) % ev->cap;
	ev->base--;
	events_copy(&ev->ring[ev->first], e);
	if (ev->n++ == 0)
		ev->sel = ev->top = ev->base;
	events_view(ev);
}

/* Whether the pending action goes back in time. */
static int
events_pending_older(const struct tui_events *ev)
{
	return (ev->pending == TUI_PENDING_MOVE && ev->pending_n < 0) ||
	    ev->pending == TUI_PENDING_PREV_FAIL;
}

/* Whether the pending action goes forward in time. */
static int
events_pending_newer(const struct tui_events *ev)
{
	return (ev->pending == TUI_PENDING_MOVE && ev->pending_n > 0) ||
	    ev->pending == TUI_PENDING_NEXT_FAIL || ev->pending == TUI_PENDING_END;
}

/* Whether older rows are wanted. */
int
tui_events_need_older(const struct tui_events *ev, int64_t *before_id)
{
	int64_t	id;

	if (ev->at_start)
		return 0;
	if (ev->n == 0) {
		*before_id = 0;
		return 1;
	}
	if ((id = events_at(ev, ev->base)->id) == 0)
		return 0;
	if (!events_pending_older(ev) && ev->sel - ev->base >= (ev->rows > 0 ? ev->rows : 1))
		return 0;
	*before_id = ev->scan_older != 0 && ev->scan_older < id ? ev->scan_older : id;
	return 1;
}

/* Whether newer rows are wanted. */
int
tui_events_need_newer(const struct tui_events *ev, int64_t *after_id)
{
	int64_t	id;

	if (!ev->newer_gone || ev->n == 0)
		return 0;
	if ((id = events_at(ev, events_last(ev))->id) == 0)
		return 0;
	if (!events_pending_newer(ev) &&
	    events_last(ev) - ev->sel >= (ev->rows > 0 ? ev->rows : 1))
		return 0;
	*after_id = ev->scan_newer > id ? ev->scan_newer : id;
	return 1;
}

static void	events_go(struct tui_events *, int);
static int	events_find(struct tui_events *, int);
static void	events_end(struct tui_events *);

/* Finish what was waiting for a fetch. */
static void
events_resume(struct tui_events *ev)
{
	enum tui_pending	p = ev->pending;

	ev->pending = TUI_PENDING_NONE;
	switch (p) {
	case TUI_PENDING_MOVE:
		events_go(ev, ev->pending_n);
		break;
	case TUI_PENDING_PREV_FAIL:
		events_find(ev, -1);
		break;
	case TUI_PENDING_NEXT_FAIL:
		events_find(ev, 1);
		break;
	case TUI_PENDING_END:
		events_end(ev);
		break;
	case TUI_PENDING_NONE:
		break;
	}
}

/* An older fetch is over. */
void
tui_events_older_done(struct tui_events *ev, int64_t last_id, int exhausted)
{
	if (last_id != 0 && (ev->scan_older == 0 || last_id < ev->scan_older))
		ev->scan_older = last_id;
	if (exhausted)
		ev->at_start = 1;
	if (events_pending_older(ev))
		events_resume(ev);
	events_view(ev);
}

/* A newer fetch is over. */
void
tui_events_newer_done(struct tui_events *ev, int64_t last_id, int exhausted)
{
	if (last_id > ev->scan_newer)
		ev->scan_newer = last_id;
	if (exhausted) {
		ev->newer_gone = 0;
		ev->scan_newer = 0;
	}
	if (events_pending_newer(ev))
		events_resume(ev);
	events_settle(ev);
	events_view(ev);
}

/* Rows the pane shows. */
void
tui_events_set_rows(struct tui_events *ev, int rows)
{
	ev->rows = rows > 0 ? rows : 1;
	events_view(ev);
}

/* Move by delta, noting what is left to do past either end. */
static void
events_go(struct tui_events *ev, int delta)
{
	int64_t	target = ev->sel + delta, last = events_last(ev);

	if (ev->n == 0)
		return;
	if (target < ev->base) {
		if (!ev->at_start) {
			ev->pending = TUI_PENDING_MOVE;
			ev->pending_n = (int)(target - ev->base);
		}
		target = ev->base;
	} else if (target > last) {
		if (ev->newer_gone) {
			ev->pending = TUI_PENDING_MOVE;
			ev->pending_n = (int)(target - last);
		}
		target = last;
	}
	if (delta < 0 && ev->state == TUI_FOLLOW && target != last)
		ev->state = TUI_SCROLLED;
	ev->sel = target;
	events_settle(ev);
	events_view(ev);
}

/* Move the selection. */
void
tui_events_move(struct tui_events *ev, int delta)
{
	ev->pending = TUI_PENDING_NONE;
	events_go(ev, delta);
}

/* Move by pages. */
void
tui_events_page(struct tui_events *ev, int pages)
{
	int	page = ev->rows > 1 ? ev->rows - 1 : 1;

	tui_events_move(ev, pages * page);
}

/* The oldest entry in the ring. */
void
tui_events_home(struct tui_events *ev)
{
	ev->pending = TUI_PENDING_NONE;
	if (ev->n == 0)
		return;
	if (ev->state == TUI_FOLLOW && ev->n > 1)
		ev->state = TUI_SCROLLED;
	ev->sel = ev->base;
	events_view(ev);
}

/* The newest event, following again unless paused. */
static void
events_end(struct tui_events *ev)
{
	if (ev->n == 0)
		return;
	ev->sel = events_last(ev);
	if (ev->newer_gone)
		ev->pending = TUI_PENDING_END;
	else if (ev->state != TUI_PAUSED) {
		ev->state = TUI_FOLLOW;
		ev->unseen = 0;
	}
	events_view(ev);
}

/* The newest event. */
void
tui_events_end(struct tui_events *ev)
{
	ev->pending = TUI_PENDING_NONE;
	events_end(ev);
}

/* Whether e is a failed event. */
static int
events_failed(const struct tui_event *e)
{
	return e->kind == TUI_KIND_EVENT && !e->pass;
}

/* Select the next failure in direction dir, or note the search goes on. */
static int
events_find(struct tui_events *ev, int dir)
{
	int64_t	s, last = events_last(ev);

	if (ev->n == 0)
		return 0;
	dir = dir < 0 ? -1 : 1;
	for (s = ev->sel + dir; s >= ev->base && s <= last; s += dir) {
		if (!events_failed(events_at(ev, s)))
			continue;
		if (ev->state == TUI_FOLLOW && s != last)
			ev->state = TUI_SCROLLED;
		ev->sel = s;
		events_settle(ev);
		events_view(ev);
		return 1;
	}
	if (dir < 0 && !ev->at_start)
		ev->pending = TUI_PENDING_PREV_FAIL;
	else if (dir > 0 && ev->newer_gone)
		ev->pending = TUI_PENDING_NEXT_FAIL;
	return 0;
}

/* Select the next or previous failure. */
int
tui_events_next_fail(struct tui_events *ev, int dir)
{
	ev->pending = TUI_PENDING_NONE;
	return events_find(ev, dir);
}

/* Pause, or resume following. */
void
tui_events_pause(struct tui_events *ev)
{
	ev->pending = TUI_PENDING_NONE;
	if (ev->state != TUI_PAUSED) {
		ev->state = TUI_PAUSED;
		return;
	}
	ev->state = TUI_SCROLLED;
	events_end(ev);
	if (ev->n == 0)
		ev->state = TUI_FOLLOW;
}

/* Entries in the ring. */
size_t
tui_events_count(const struct tui_events *ev)
{
	return ev->n;
}

/* Entry i, oldest first. */
const struct tui_event *
tui_events_at(const struct tui_events *ev, size_t i)
{
	return i < ev->n ? events_at(ev, ev->base + (int64_t)i) : NULL;
}

/* Index of the selection. */
long
tui_events_selected(const struct tui_events *ev)
{
	return ev->n == 0 ? -1 : (long)(ev->sel - ev->base);
}

/* Index of the top visible row. */
long
tui_events_top(const struct tui_events *ev)
{
	return ev->n == 0 ? -1 : (long)(ev->top - ev->base);
}

/* ---- drawing one entry ------------------------------------------------- */

/* The time column. */
static void
events_time(int64_t us, int width, int utc, char *buf, size_t size)
{
	struct tm	tm;
	time_t		secs = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
	int		ms = (int)((us - (int64_t)secs * 1000000) / 1000);
	char		t[32];

	if ((utc ? gmtime_r(&secs, &tm) : localtime_r(&secs, &tm)) == NULL) {
		snprintf(buf, size, "?");
		return;
	}
	if (width >= 23)
		strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
	else
		strftime(t, sizeof t, "%H:%M:%S", &tm);
	if (width >= 12)
		snprintf(buf, size, "%s.%03d", t, ms);
	else
		snprintf(buf, size, "%s", t);
}

/* Append s fitted to cols and a separating space (none after the last). */
static void
events_put(struct tui_buf *b, const char *s, int cols, int *first)
{
	char	*f;

	if (cols <= 0)
		return;
	if (!*first)
		tui_buf_str(b, " ");
	*first = 0;
	f = tui_text_fit(s, cols);
	tui_buf_str(b, f);
	free(f);
}

/* The event list's header. */
char *
tui_events_header(const struct tui_columns *c)
{
	struct tui_buf	b = { NULL, 0, 0 };
	int		first = 1;

	tui_buf_add(&b, "", 0);
	events_put(&b, "time", c->time, &first);
	events_put(&b, " ", c->mark, &first);
	events_put(&b, "subject", c->subject, &first);
	events_put(&b, "reason", c->reason, &first);
	events_put(&b, "sub@iss", c->who, &first);
	events_put(&b, "event id", c->id, &first);
	return tui_buf_take(&b);
}

/* One entry's line. */
char *
tui_events_line(const struct tui_event *e, const struct tui_columns *c, int utc)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	char		 t[48], *who;
	const char	*reason = e->reason != NULL ? e->reason : "";
	int		 first = 1, has_sub, has_iss;

	tui_buf_add(&b, "", 0);
	events_time(e->time_us, c->time, utc, t, sizeof t);
	events_put(&b, t, c->time, &first);
	if (e->kind == TUI_KIND_KEYSET) {
		events_put(&b, "\xe2\x9a\xbf", c->mark, &first);	/* ⚿ */
		events_put(&b, "", c->subject, &first);
		events_put(&b, "key set changed (Enter: which keys)", c->reason, &first);
		events_put(&b, "", c->who, &first);
		events_put(&b, "", c->id, &first);
		return tui_buf_take(&b);
	}
	if (e->kind == TUI_KIND_GAP) {
		events_put(&b, "!", c->mark, &first);
		events_put(&b, e->subject != NULL ? e->subject : "", c->subject, &first);
		/* A count of 0: a reconnect, where nobody can know how many. */
		if (e->gap_count > 0)
			snprintf(t, sizeof t, "gap: %lld lost", (long long)e->gap_count);
		else
			snprintf(t, sizeof t, "gap: ? lost");
		events_put(&b, t, c->reason, &first);
		events_put(&b, "", c->who, &first);
		events_put(&b, "", c->id, &first);
		return tui_buf_take(&b);
	}
	events_put(&b, e->pass ? "\xe2\x9c\x93" : "\xe2\x9c\x97", c->mark, &first);
	events_put(&b, e->subject != NULL ? e->subject : "", c->subject, &first);
	events_put(&b, e->pass && strcmp(reason, "ok") == 0 ? "" : reason, c->reason, &first);
	has_sub = e->sub != NULL && e->sub[0] != '\0';
	has_iss = e->iss != NULL && e->iss[0] != '\0';
	if (has_sub && has_iss)
		who = auth_printf("%s@%s", e->sub, e->iss);
	else
		who = auth_strdup(has_sub ? e->sub : has_iss ? e->iss : "");
	events_put(&b, who, c->who, &first);
	free(who);
	events_put(&b, e->event_id != NULL ? e->event_id : "", c->id, &first);
	return tui_buf_take(&b);
}
