/*
 * tui/screen.c -- the console's curses loop over the models of tui.h.
 *
 * DESIGN: everything shown is built by the models as safe text, so this
 * file only places strings and attributes.  The event list is paged from
 * the trail on a read-only connection; new rows are found by polling the
 * trail each tick (rows appear once the writer commits them), which makes
 * live and replay the same code.  Redraws happen at most every
 * SCREEN_FRAME_MS, and only when something changed, so the screen never
 * competes with recording for long.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "screen.h"

#define SCREEN_FRAME_MS		33	/* at most ~30 redraws a second */
#define SCREEN_PAGE		256	/* trail rows per fetch */
#define SCREEN_POLL_MAX		512	/* new rows per tick before jumping ahead */
#define SCREEN_JUDGED		4096	/* re-verified rows remembered */

enum {
	PAIR_PASS = 1,
	PAIR_FAIL,
	PAIR_GAP,
	PAIR_HEAD,
	PAIR_KEY,
	PAIR_DIM,
	PAIR_CHANGED
};

#define SCREEN_GROUPS		20	/* failure groups per column */

/* One group of failures (the `f` view). */
struct screen_group {
	const char	*by;		/* "reason", "iss", "kid" */
	char		*value;		/* raw; NULL when empty */
	int64_t		 count;
};

/* A re-verified row. */
struct screen_judged {
	int64_t		 id;
	int		 state;		/* -1 cannot judge, 0 same, 1 changed */
	int		 pass;
	const char	*reason;
	char		 why[256];	/* raw: the key behind a change */
};

struct tui_screen {
	struct tui_source	 src;
	struct store		*reader;
	SCREEN			*term;

	pthread_mutex_t		 lock;		/* guards streams (fed from other threads) */
	struct tui_streams	 streams;

	struct tui_events	 events;
	struct tui_detail	 detail;
	struct tui_keys		 keys;
	struct tui_layout	 layout;
	struct tui_filter	 filter;
	char			*filter_text;

	volatile sig_atomic_t	 quit;
	int64_t			 newest_id;	/* newest trail row looked at */
	int			 dirty;
	int			 utc;
	int			 colors;
	int			 stream_top;
	char			 message[256];
	time_t			 message_until;
	char			 note[256];	/* from other threads, under lock */
	int			 has_note;
	struct screen_judged	 judged[SCREEN_JUDGED];
	struct screen_group	 groups[3 * SCREEN_GROUPS];
	size_t			 ngroups;
	int			 groups_open, group_sel;
};

static void	screen_groups_clear(struct tui_screen *);

/* Say something on the status line for a few seconds. */
static void
screen_say(struct tui_screen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
screen_say(struct tui_screen *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	tui_text_vsnprintf(s->message, sizeof s->message, fmt, ap);
	va_end(ap);
	s->message_until = time(NULL) + 5;
	s->dirty = 1;
}

/* ---- life ---------------------------------------------------------------- */

struct tui_screen *
tui_screen_new(const struct tui_source *src, char **cause)
{
	struct tui_screen	*s;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	s->src = *src;
	if ((s->reader = store_open_reader(src->db, cause)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	tui_streams_init(&s->streams, 0);
	tui_events_init(&s->events, 0);
	tui_detail_init(&s->detail);
	tui_keys_init(&s->keys);
	tui_filter_init(&s->filter);
	s->filter.store.since_us = src->since_us;
	s->filter.store.until_us = src->until_us;
	s->utc = getenv("TZ") != NULL && strcmp(getenv("TZ"), "UTC") == 0;
	return s;
}

void
tui_screen_free(struct tui_screen *s)
{
	if (s == NULL)
		return;
	store_close(s->reader, NULL);
	tui_streams_free(&s->streams);
	tui_events_free(&s->events);
	tui_detail_free(&s->detail);
	tui_keys_free(&s->keys);
	tui_filter_free(&s->filter);
	free(s->filter_text);
	screen_groups_clear(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
tui_screen_event(struct tui_screen *s, const char *subject, int pass, const char *reason,
    int64_t time_us)
{
	pthread_mutex_lock(&s->lock);
	tui_streams_add(&s->streams, subject, pass, reason, time_us);
	pthread_mutex_unlock(&s->lock);
}

void
tui_screen_gap(struct tui_screen *s, const char *subject, uint64_t count, int64_t time_us)
{
	pthread_mutex_lock(&s->lock);
	tui_streams_gap(&s->streams, subject, count, time_us);
	pthread_mutex_unlock(&s->lock);
}

void
tui_screen_note(struct tui_screen *s, const char *text)
{
	pthread_mutex_lock(&s->lock);
	tui_text_snprintf(s->note, sizeof s->note, "%s", text);
	s->has_note = 1;
	pthread_mutex_unlock(&s->lock);
}

void
tui_screen_quit(struct tui_screen *s)
{
	s->quit = 1;
}

/* ---- the trail --------------------------------------------------------------- */

/* Whether the applied filter keeps row r (free text included). */
static int
screen_keep(struct tui_screen *s, const struct store_row *r)
{
	return tui_filter_match_row(&s->filter, r);
}

/* Answer the event list's request for older or newer rows. */
static void
screen_fetch(struct tui_screen *s, int older, int64_t from)
{
	struct store_cursor	*c;
	const struct store_row	*r;
	struct tui_event	 ev;
	char			*cause = NULL;
	int64_t			 last = 0;
	int			 n = 0, rc;

	c = store_query(s->reader, &s->filter.store, older ? STORE_NEWEST_FIRST :
	    STORE_OLDEST_FIRST, from, SCREEN_PAGE, &cause);
	if (c == NULL) {
		screen_say(s, "trail: %s", cause);
		free(cause);
		if (older)
			tui_events_older_done(&s->events, 0, 1);
		else
			tui_events_newer_done(&s->events, 0, 1);
		return;
	}
	while ((rc = store_next(c, &r, &cause)) == 1) {
		n++;
		last = r->id;
		if (r->id > s->newest_id)
			s->newest_id = r->id;
		if (!screen_keep(s, r))
			continue;
		tui_event_from_row(&ev, r);
		if (older)
			tui_events_prepend(&s->events, &ev);
		else
			tui_events_append(&s->events, &ev);
	}
	if (rc < 0) {
		screen_say(s, "trail: %s", cause);
		free(cause);
	}
	store_cursor_free(c);
	if (older)
		tui_events_older_done(&s->events, last, n < SCREEN_PAGE);
	else
		tui_events_newer_done(&s->events, last, n < SCREEN_PAGE);
	s->dirty = 1;
}

/* The newest row id in the trail (any kind), or 0. */
static int64_t
screen_max_id(struct tui_screen *s)
{
	struct store_filter	 all;
	struct store_cursor	*c;
	const struct store_row	*r;
	int64_t			 id = 0;

	memset(&all, 0, sizeof all);
	if ((c = store_query(s->reader, &all, STORE_NEWEST_FIRST, 0, 1, NULL)) == NULL)
		return 0;
	if (store_next(c, &r, NULL) == 1)
		id = r->id;
	store_cursor_free(c);
	return id;
}

/* Rows committed since the last look go to the list as live events. */
static void
screen_poll(struct tui_screen *s)
{
	struct store_cursor	*c;
	const struct store_row	*r;
	struct tui_event	 ev;
	int64_t			 max = screen_max_id(s), last = 0;
	int			 n = 0;

	if (max <= s->newest_id)
		return;
	/* Far behind while following: jump to the present, as a pager would. */
	if (max - s->newest_id > SCREEN_POLL_MAX && s->events.state == TUI_FOLLOW) {
		tui_events_clear(&s->events);
		s->newest_id = max;
		s->dirty = 1;
		return;
	}
	c = store_query(s->reader, &s->filter.store, STORE_OLDEST_FIRST, s->newest_id,
	    SCREEN_POLL_MAX, NULL);
	if (c == NULL)
		return;
	while (store_next(c, &r, NULL) == 1) {
		n++;
		last = r->id;
		if (screen_keep(s, r)) {
			tui_event_from_row(&ev, r);
			tui_events_push(&s->events, &ev);
		}
	}
	store_cursor_free(c);
	/* A full page leaves rows after it: the next tick goes on from the
	   last one read.  Jumping to max here skipped them for good. */
	if (n == SCREEN_POLL_MAX)
		s->newest_id = last;
	else
		s->newest_id = last > max ? last : max;
	s->dirty = 1;
}

/* Serve whatever the event list is waiting for. */
static void
screen_page(struct tui_screen *s)
{
	int64_t	id;
	int	rounds;

	/* A search for a failure may need several pages: bounded per tick. */
	for (rounds = 0; rounds < 8; rounds++) {
		if (tui_events_need_older(&s->events, &id))
			screen_fetch(s, 1, id);
		else if (tui_events_need_newer(&s->events, &id))
			screen_fetch(s, 0, id);
		else
			break;
	}
}

/* The re-verification of row id (cached). */
static const struct screen_judged *
screen_judge(struct tui_screen *s, int64_t id)
{
	struct screen_judged	*j = &s->judged[(uint64_t)id % SCREEN_JUDGED];
	struct store_cursor	*c = NULL;
	const struct store_row	*r;

	if (s->src.rejudge == NULL || id <= 0)
		return NULL;
	if (j->id == id)
		return j;
	j->id = id;
	j->state = -1;
	if (store_get(s->reader, id, &c, &r, NULL) == 1)
		j->state = s->src.rejudge(s->src.arg, r, &j->pass, &j->reason, j->why,
		    sizeof j->why);
	store_cursor_free(c);
	return j;
}

/* Load the selected row into the detail when it changed. */
static void
screen_sync_detail(struct tui_screen *s)
{
	const struct tui_event	*ev;
	struct store_cursor	*c = NULL;
	const struct store_row	*r;
	long			 sel = tui_events_selected(&s->events);
	struct tui_rect		*p = &s->layout.pane[TUI_PANE_DETAIL];

	if (!tui_layout_visible(&s->layout, TUI_PANE_DETAIL) || sel < 0 ||
	    (ev = tui_events_at(&s->events, (size_t)sel)) == NULL || ev->id <= 0)
		return;
	if (ev->id != s->detail.id) {
		if (store_get(s->reader, ev->id, &c, &r, NULL) != 1) {
			store_cursor_free(c);
			return;		/* not committed yet: next tick */
		}
		tui_detail_set_row(&s->detail, r, time(NULL));
		store_cursor_free(c);
		s->detail.width = 0;
	}
	if (s->detail.width != p->w)
		tui_detail_set_width(&s->detail, p->w, 1);
}

/* ---- the failures view (`f`) ------------------------------------------- */

static void	screen_apply_filter(struct tui_screen *, const char *);
static void	screen_relayout(struct tui_screen *);

struct screen_group_ctx {
	struct tui_screen	*s;
	const char		*by;
};

static void
screen_group_cb(const struct store_group_count *gc, void *arg)
{
	struct screen_group_ctx	*ctx = arg;
	struct tui_screen	*s = ctx->s;
	struct screen_group	*g;

	if (s->ngroups == sizeof s->groups / sizeof s->groups[0])
		return;
	g = &s->groups[s->ngroups++];
	g->by = ctx->by;
	g->value = gc->value ? strdup(gc->value) : NULL;
	g->count = gc->count;
}

static void
screen_groups_clear(struct tui_screen *s)
{
	size_t	i;

	for (i = 0; i < s->ngroups; i++)
		free(s->groups[i].value);
	s->ngroups = 0;
	s->group_sel = 0;
}

/* Open the view: failures under the filter, by reason, issuer and key. */
static void
screen_groups_open(struct tui_screen *s)
{
	static const char *const by[] = { "reason", "iss", "kid" };
	struct screen_group_ctx	 ctx;
	char			*cause = NULL;
	size_t			 i;

	screen_groups_clear(s);
	ctx.s = s;
	for (i = 0; i < 3; i++) {
		ctx.by = by[i];
		if (store_count_failures(s->reader, &s->filter.store, by[i], SCREEN_GROUPS,
		    screen_group_cb, &ctx, &cause) != 0) {
			screen_say(s, "failures: %s", cause);
			free(cause);
			return;
		}
	}
	s->groups_open = 1;
	s->dirty = 1;
}

/* Enter on a group: the list shows its failures. */
static void
screen_groups_pick(struct tui_screen *s)
{
	const struct screen_group	*g;
	char				*text;

	s->groups_open = 0;
	if (s->group_sel < 0 || (size_t)s->group_sel >= s->ngroups)
		return;
	g = &s->groups[s->group_sel];
	if (g->value == NULL) {
		screen_apply_filter(s, "verdict:fail");
		return;
	}
	/* The whole value, escaped: a cut value is not the group's. */
	text = tui_filter_term("verdict:fail ", g->by, g->value);
	screen_apply_filter(s, text);
	free(text);
}

/* Keys while the view is open; returns 1 when the key was its. */
static int
screen_groups_key(struct tui_screen *s, int key)
{
	if (!s->groups_open) {
		if (key == 'f' && s->keys.mode == TUI_MODE_NORMAL) {
			screen_groups_open(s);
			return 1;
		}
		return 0;
	}
	s->dirty = 1;
	if ((key == 'j' || key == TUI_KEY_DOWN) && (size_t)s->group_sel + 1 < s->ngroups)
		s->group_sel++;
	else if ((key == 'k' || key == TUI_KEY_UP) && s->group_sel > 0)
		s->group_sel--;
	else if (key == TUI_KEY_ENTER || key == '\r' || key == '\n')
		screen_groups_pick(s);
	else if (key == TUI_KEY_ESC || key == 27 || key == 'f' || key == 'q')
		s->groups_open = 0;
	else if (key == TUI_KEY_RESIZE)
		screen_relayout(s);
	return 1;
}

/* ---- drawing ------------------------------------------------------------- */

/* Attribute for a detail style. */
static attr_t
screen_style(struct tui_screen *s, enum tui_style st)
{
	switch (st) {
	case TUI_STYLE_HEADING:
		return A_BOLD | (s->colors ? COLOR_PAIR(PAIR_HEAD) : 0);
	case TUI_STYLE_OK:
		return s->colors ? COLOR_PAIR(PAIR_PASS) : 0;
	case TUI_STYLE_FAIL:
		return A_BOLD | (s->colors ? COLOR_PAIR(PAIR_FAIL) : 0);
	case TUI_STYLE_NOT_REACHED:
	case TUI_STYLE_DIM:
		return A_DIM;
	case TUI_STYLE_WARN:
		return s->colors ? COLOR_PAIR(PAIR_GAP) : A_BOLD;
	case TUI_STYLE_KEY:
		return s->colors ? COLOR_PAIR(PAIR_KEY) : 0;
	case TUI_STYLE_VALUE:
	case TUI_STYLE_NORMAL:
		break;
	}
	return A_NORMAL;
}

/* Put safe text at (y, x), at most w cells. */
static void
screen_put(int y, int x, int w, const char *text, attr_t attr)
{
	char	*fit;

	if (w <= 0 || text == NULL)
		return;
	fit = tui_text_fit(text, w);
	attron(attr);
	mvaddstr(y, x, fit ? fit : "");
	attroff(attr);
	free(fit);
}

/* The header row of a pane; bold when it has the focus. */
static void
screen_header(struct tui_screen *s, const struct tui_rect *p, enum tui_pane pane,
    const char *text)
{
	attr_t	a = A_REVERSE | (s->keys.focus == pane ? A_BOLD : A_DIM);

	screen_put(p->y, p->x, p->w, text, a);
}

static void
screen_draw_streams(struct tui_screen *s, int64_t now_us)
{
	const struct tui_rect	*p = &s->layout.pane[TUI_PANE_STREAMS];
	const struct tui_stream	*st;
	char			*line;
	size_t			 n, i;
	int			 rows = p->h - 1, sel, y;

	if (p->h <= 0)
		return;
	pthread_mutex_lock(&s->lock);
	tui_streams_sort(&s->streams, s->streams.sort);
	line = tui_streams_header(p->w);
	screen_header(s, p, TUI_PANE_STREAMS, line);
	free(line);
	n = tui_streams_count(&s->streams);
	sel = tui_streams_selected(&s->streams);
	if (sel >= 0 && sel < s->stream_top)
		s->stream_top = sel;
	if (sel >= 0 && sel >= s->stream_top + rows)
		s->stream_top = sel - rows + 1;
	for (y = 0, i = (size_t)s->stream_top; y < rows && i < n; y++, i++) {
		st = tui_streams_at(&s->streams, i);
		line = tui_streams_line(st, now_us, p->w);
		screen_put(p->y + 1 + y, p->x, p->w, line, ((int)i == sel &&
		    s->keys.focus == TUI_PANE_STREAMS ? A_REVERSE : 0) |
		    (st->fail > 0 && s->colors ? COLOR_PAIR(PAIR_FAIL) : 0));
		free(line);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Colour of an event line. */
static attr_t
screen_event_attr(struct tui_screen *s, const struct tui_event *ev)
{
	if (!s->colors)
		return ev->kind == TUI_KIND_EVENT && !ev->pass ? A_BOLD : 0;
	if (ev->kind != TUI_KIND_EVENT)
		return COLOR_PAIR(PAIR_GAP);
	return COLOR_PAIR(ev->pass ? PAIR_PASS : PAIR_FAIL);
}

static void
screen_draw_events(struct tui_screen *s)
{
	const struct tui_rect		*p = &s->layout.pane[TUI_PANE_EVENTS];
	const struct tui_event		*ev;
	const struct screen_judged	*j;
	char				*line, changed[64];
	long				 top, sel, i;
	int				 y;
	attr_t				 a;

	if (p->h <= 0)
		return;
	line = tui_events_header(&s->layout.columns);
	screen_header(s, p, TUI_PANE_EVENTS, line);
	free(line);
	tui_events_set_rows(&s->events, p->h - 1);
	top = tui_events_top(&s->events);
	sel = tui_events_selected(&s->events);
	for (y = 0, i = top; top >= 0 && y < p->h - 1; y++, i++) {
		if ((ev = tui_events_at(&s->events, (size_t)i)) == NULL)
			break;
		line = tui_events_line(ev, &s->layout.columns, s->utc);
		a = screen_event_attr(s, ev);
		if (i == sel)
			a |= A_REVERSE | (s->keys.focus == TUI_PANE_EVENTS ? A_BOLD : 0);
		screen_put(p->y + 1 + y, p->x, p->w, line, a);
		free(line);
		/* --reverify: a changed verdict is marked over the reason column. */
		if (ev->kind == TUI_KIND_EVENT && (j = screen_judge(s, ev->id)) != NULL &&
		    j->state == 1) {
			tui_text_snprintf(changed, sizeof changed, "%s→%s %s",
			    ev->pass ? "✓" : "✗", j->pass ? "✓" : "✗", j->reason);
			screen_put(p->y + 1 + y, p->x + s->layout.columns.time + 1,
			    p->w - s->layout.columns.time - 1, changed, A_BOLD | A_REVERSE |
			    (s->colors ? COLOR_PAIR(PAIR_CHANGED) : 0));
		}
	}
}

static void
screen_draw_detail(struct tui_screen *s)
{
	const struct tui_rect		*p = &s->layout.pane[TUI_PANE_DETAIL];
	const struct screen_judged	*j;
	const struct tui_line		*l;
	char				*head, *lead, *why;
	size_t				 i;
	int				 y;

	if (p->h <= 0)
		return;
	/* Allocated, not a fixed buffer: screen_put() cuts it, by cells. */
	j = screen_judge(s, s->detail.id);
	if (j != NULL && j->state == 1) {
		/* why names a kid the trail recorded: made safe first. */
		why = tui_text_safe_str(j->why);
		head = auth_printf(" detail of row %lld | re-verified now: %s %s: %s",
		    (long long)s->detail.id, j->pass ? "✓ pass" : "✗ fail", j->reason, why);
		free(why);
	} else if (s->detail.id > 0)
		head = auth_printf(" detail of row %lld", (long long)s->detail.id);
	else
		head = auth_strdup(" detail (Enter on an event)");
	screen_header(s, p, TUI_PANE_DETAIL, head);
	free(head);
	for (y = 1, i = s->detail.top; y < p->h && i < s->detail.n; y++, i++) {
		l = &s->detail.lines[i];
		if (l->lead > 0 && (lead = strndup(l->text, l->lead)) != NULL) {
			screen_put(p->y + y, p->x, p->w, lead, screen_style(s, l->lead_style));
			screen_put(p->y + y, p->x + tui_text_width(lead), p->w -
			    tui_text_width(lead), l->text + l->lead, screen_style(s, l->style));
			free(lead);
		} else {
			screen_put(p->y + y, p->x, p->w, l->text, screen_style(s, l->style));
		}
	}
}

static void
screen_draw_status(struct tui_screen *s)
{
	struct tui_status	 st;
	struct tui_prompt	 pr;
	const struct tui_stream	*total;
	char			*line;

	if (s->keys.mode == TUI_MODE_FILTER || s->keys.mode == TUI_MODE_COMMAND) {
		tui_keys_prompt(&s->keys, s->layout.status.w, &pr);
		screen_put(s->layout.status.y, 0, s->layout.status.w, pr.text, A_NORMAL);
		if (pr.mark >= 0)
			mvchgat(s->layout.status.y, pr.mark, 1, A_UNDERLINE | A_BOLD,
			    s->colors ? PAIR_FAIL : 0, NULL);
		if (pr.msg >= 0)
			mvchgat(s->layout.status.y, pr.msg, -1, A_BOLD, s->colors ? PAIR_FAIL : 0,
			    NULL);
		move(s->layout.status.y, pr.cursor);
		free(pr.text);
		return;
	}
	memset(&st, 0, sizeof st);
	if (s->src.status != NULL) {
		s->src.status(s->src.arg, &st);
	} else {
		st.conn = TUI_CONN_REPLAY;
		pthread_mutex_lock(&s->lock);
		total = tui_streams_total(&s->streams);
		st.events = total->events;
		st.pass = total->pass;
		st.fail = total->fail;
		st.gaps = total->gaps;
		pthread_mutex_unlock(&s->lock);
	}
	st.server = s->src.server;
	st.view = s->src.view;
	st.db = s->src.db;
	st.follow = s->events.state;
	st.unseen = s->events.unseen;
	st.filter = s->filter_text;
	st.message = s->message_until >= time(NULL) && s->message[0] ? s->message : NULL;
	line = tui_status_line(&st, s->layout.status.w);
	screen_put(s->layout.status.y, 0, s->layout.status.w, line, A_REVERSE);
	free(line);
}

/* The help, over everything. */
static void
screen_draw_help(struct tui_screen *s)
{
	char	*text = tui_help_text(0), *line, *save = NULL;
	int	 y = 1, w = s->layout.cols - 4;

	screen_put(0, 2, w, "ztwatch keys (any key closes)", A_BOLD);
	for (line = strtok_r(text, "\n", &save); line != NULL && y < s->layout.rows - 1;
	    line = strtok_r(NULL, "\n", &save))
		screen_put(++y, 2, w, line, A_NORMAL);
	free(text);
}

/* The failures view, over everything. */
static void
screen_draw_groups(struct tui_screen *s)
{
	const struct screen_group	*g;
	const char			*last = NULL;
	char				*line, *safe;
	int				 y = 2, w = s->layout.cols - 4;
	size_t				 i;

	screen_put(0, 2, w, "failures by reason, issuer and key (Enter: their events,"
	    " Esc: back)", A_BOLD);
	if (s->ngroups == 0)
		screen_put(y, 2, w, "no failures under the filter", A_DIM);
	for (i = 0; i < s->ngroups && y < s->layout.rows - 1; i++) {
		g = &s->groups[i];
		if (last == NULL || strcmp(last, g->by) != 0) {
			screen_put(++y, 2, w, strcmp(g->by, "reason") == 0 ? "by reason" :
			    strcmp(g->by, "iss") == 0 ? "by issuer" : "by key (kid)",
			    screen_style(s, TUI_STYLE_HEADING));
			y++;
			last = g->by;
		}
		safe = tui_text_safe_str(g->value != NULL ? g->value : "(none)");
		/* Allocated, not a fixed buffer: screen_put() cuts by cells. */
		line = auth_printf("  %10lld  %s", (long long)g->count, safe);
		free(safe);
		screen_put(y++, 2, w, line, (int)i == s->group_sel ? A_REVERSE :
		    screen_style(s, TUI_STYLE_FAIL));
		free(line);
	}
}

static void
screen_draw(struct tui_screen *s)
{
	int64_t	now = auth_epoch_us();

	erase();
	if (s->layout.kind == TUI_LAYOUT_TOO_SMALL) {
		mvaddstr(0, 0, s->layout.message);
		refresh();
		return;
	}
	if (s->keys.mode == TUI_MODE_HELP) {
		screen_draw_help(s);
		refresh();
		return;
	}
	if (s->groups_open) {
		screen_draw_groups(s);
		refresh();
		return;
	}
	screen_sync_detail(s);
	screen_draw_streams(s, now);
	screen_draw_events(s);
	screen_draw_detail(s);
	if (s->layout.kind == TUI_LAYOUT_WIDE) {
		mvvline(0, s->layout.pane[TUI_PANE_STREAMS].w, ACS_VLINE,
		    s->layout.rows - 1);
	}
	screen_draw_status(s);
	curs_set(s->keys.mode == TUI_MODE_FILTER || s->keys.mode == TUI_MODE_COMMAND);
	refresh();
}

/* ---- keys ------------------------------------------------------------------ */

/* curses' key to the key model's code. */
static int
screen_key(int rc, wint_t wc)
{
	if (rc == OK)
		return (int)wc;
	switch (wc) {
	case KEY_UP:		return TUI_KEY_UP;
	case KEY_DOWN:		return TUI_KEY_DOWN;
	case KEY_LEFT:		return TUI_KEY_LEFT;
	case KEY_RIGHT:		return TUI_KEY_RIGHT;
	case KEY_PPAGE:		return TUI_KEY_PGUP;
	case KEY_NPAGE:		return TUI_KEY_PGDN;
	case KEY_HOME:		return TUI_KEY_HOME;
	case KEY_END:		return TUI_KEY_END;
	case KEY_BTAB:		return TUI_KEY_BTAB;
	case KEY_ENTER:		return TUI_KEY_ENTER;
	case KEY_BACKSPACE:	return TUI_KEY_BACKSPACE;
	case KEY_DC:		return TUI_KEY_DELETE;
	case KEY_RESIZE:	return TUI_KEY_RESIZE;
	}
	return -1;
}

/* Lay out for the terminal's size now. */
static void
screen_relayout(struct tui_screen *s)
{
	tui_layout_compute(&s->layout, COLS, LINES, s->keys.detail_open);
	tui_keys_set_layout(&s->keys, &s->layout);
	tui_events_set_rows(&s->events, s->layout.pane[TUI_PANE_EVENTS].h - 1);
	s->detail.width = 0;
	s->dirty = 1;
}

/* Apply filter text (already checked by the prompt). */
static void
screen_apply_filter(struct tui_screen *s, const char *text)
{
	struct tui_filter	f;

	tui_filter_init(&f);
	if (tui_filter_parse(&f, text, time(NULL)) != 0) {
		screen_say(s, "filter: %s", f.error);
		tui_filter_free(&f);
		return;
	}
	if (f.store.since_us == 0)
		f.store.since_us = s->src.since_us;
	if (f.store.until_us == 0)
		f.store.until_us = s->src.until_us;
	tui_filter_free(&s->filter);
	s->filter = f;		/* its strings are on the heap: a plain copy moves them */
	free(s->filter_text);
	s->filter_text = tui_filter_empty(&s->filter) ? NULL : tui_filter_string(&s->filter);
	tui_events_clear(&s->events);
	s->detail.id = 0;
	s->dirty = 1;
}

/* Filter the list on the selected stream's subject. */
static void
screen_open_stream(struct tui_screen *s)
{
	const struct tui_stream	*st;
	char			*text = NULL;
	int			 sel;

	pthread_mutex_lock(&s->lock);
	sel = tui_streams_selected(&s->streams);
	st = sel >= 0 ? tui_streams_at(&s->streams, (size_t)sel) : NULL;
	/* Quoted and escaped: a subject may hold '"' or '\\'. */
	if (st != NULL && st->key != NULL)
		text = tui_filter_term("", "subject", st->key);
	pthread_mutex_unlock(&s->lock);
	if (text != NULL)
		screen_apply_filter(s, text);
	free(text);
}

/* e / :export */
static void
screen_export(struct tui_screen *s, const char *file)
{
	char		 name[64], *msg = NULL;
	time_t		 t = time(NULL);
	long long	 n;

	if (s->src.export == NULL) {
		screen_say(s, "export is not available here");
		return;
	}
	if (file == NULL || *file == '\0') {
		strftime(name, sizeof name, "ztwatch-export-%Y%m%d-%H%M%S.jsonl", localtime(&t));
		file = name;
	}
	if ((n = s->src.export(s->src.db, &s->filter, file, &msg)) < 0) {
		screen_say(s, "export: %s", msg ? msg : "failed");
		free(msg);
		return;
	}
	screen_say(s, "exported %lld rows to %s", n, file);
}

/* :sub / :unsub */
static void
screen_subscribe(struct tui_screen *s, const char *subject, int on)
{
	char	*msg = NULL;

	if (s->src.subscribe == NULL) {
		screen_say(s, "replaying: no subscriptions");
		return;
	}
	if (s->src.subscribe(s->src.arg, subject, on, &msg) != 0) {
		screen_say(s, "%s", msg ? msg : "failed");
		free(msg);
		return;
	}
	screen_say(s, "%s %s", on ? "subscribed to" : "unsubscribed from", subject);
}

/* Move within the focused pane. */
static void
screen_move(struct tui_screen *s, enum tui_pane pane, int n, int pages)
{
	int	rows = s->layout.pane[pane].h - 1;

	if (rows < 1)
		rows = 1;
	switch (pane) {
	case TUI_PANE_STREAMS:
		pthread_mutex_lock(&s->lock);
		tui_streams_move(&s->streams, pages ? n * rows : n);
		pthread_mutex_unlock(&s->lock);
		break;
	case TUI_PANE_EVENTS:
		if (pages)
			tui_events_page(&s->events, n);
		else
			tui_events_move(&s->events, n);
		break;
	case TUI_PANE_DETAIL:
		tui_detail_scroll(&s->detail, pages ? (long)n * rows : n, rows);
		break;
	default:
		break;
	}
}

/* Do what a key asked. */
static void
screen_act(struct tui_screen *s, const struct tui_action *a)
{
	s->dirty = 1;
	switch (a->type) {
	case TUI_ACT_QUIT:
		s->quit = 1;
		break;
	case TUI_ACT_MOVE:
		screen_move(s, a->pane, a->n, 0);
		break;
	case TUI_ACT_PAGE:
		screen_move(s, a->pane, a->n, 1);
		break;
	case TUI_ACT_HOME:
	case TUI_ACT_END:
		if (a->pane == TUI_PANE_EVENTS) {
			if (a->type == TUI_ACT_HOME)
				tui_events_home(&s->events);
			else
				tui_events_end(&s->events);
		} else {
			screen_move(s, a->pane, a->type == TUI_ACT_HOME ? -1000000 : 1000000, 0);
		}
		break;
	case TUI_ACT_OPEN:
		if (a->pane == TUI_PANE_STREAMS)
			screen_open_stream(s);
		screen_relayout(s);
		break;
	case TUI_ACT_CLOSE:
	case TUI_ACT_RESIZE:
		screen_relayout(s);
		break;
	case TUI_ACT_REFRESH:
		screen_relayout(s);
		clearok(stdscr, TRUE);
		break;
	case TUI_ACT_NEXT_FAIL:
		if (!tui_events_next_fail(&s->events, a->n) && s->events.pending == TUI_PENDING_NONE)
			screen_say(s, "no %s failure", a->n > 0 ? "newer" : "older");
		break;
	case TUI_ACT_PAUSE:
		tui_events_pause(&s->events);
		break;
	case TUI_ACT_SORT:
		pthread_mutex_lock(&s->lock);
		s->streams.sort = s->streams.sort == TUI_SORT_EVENTS ? TUI_SORT_NAME :
		    TUI_SORT_EVENTS;
		pthread_mutex_unlock(&s->lock);
		break;
	case TUI_ACT_FILTER:
		screen_apply_filter(s, a->arg ? a->arg : "");
		break;
	case TUI_ACT_SUB:
	case TUI_ACT_UNSUB:
		screen_subscribe(s, a->arg, a->type == TUI_ACT_SUB);
		break;
	case TUI_ACT_EXPORT:
		screen_export(s, a->arg);
		break;
	case TUI_ACT_ERROR:
		screen_say(s, "%s", a->arg ? a->arg : "error");
		break;
	case TUI_ACT_NONE:
	case TUI_ACT_REDRAW:
		break;
	}
}

/* Read and handle every key waiting (the first wait bounded by ms). */
static void
screen_keys(struct tui_screen *s, int ms)
{
	struct tui_action	a;
	wint_t			wc;
	int			rc, key;

	timeout(ms);
	while (!s->quit && (rc = get_wch(&wc)) != ERR) {
		if ((key = screen_key(rc, wc)) < 0)
			continue;
		if (screen_groups_key(s, key)) {
			timeout(0);
			continue;
		}
		a = tui_keys_feed(&s->keys, key, time(NULL));
		screen_act(s, &a);
		timeout(0);
	}
}

/* ---- the loop --------------------------------------------------------------- */

/* A note from another thread becomes the status message. */
static void
screen_take_note(struct tui_screen *s)
{
	char	*safe = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->has_note) {
		safe = tui_text_safe_str(s->note);
		s->has_note = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (safe != NULL) {
		screen_say(s, "%s", safe);
		free(safe);
	}
}

/* Curses on; UTF-8 output whatever the locale said, when it can be had. */
static int
screen_start(struct tui_screen *s, char **cause)
{
	const char	*term = getenv("TERM");

	setlocale(LC_ALL, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
	/* newterm, unlike initscr, reports a terminal it cannot drive. */
	if ((s->term = newterm(NULL, stdout, stdin)) == NULL) {
		asprintf(cause, "cannot drive the terminal (TERM=%s)", term ? term : "unset");
		return -1;
	}
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_PASS, COLOR_GREEN, -1);
		init_pair(PAIR_FAIL, COLOR_RED, -1);
		init_pair(PAIR_GAP, COLOR_YELLOW, -1);
		init_pair(PAIR_HEAD, COLOR_CYAN, -1);
		init_pair(PAIR_KEY, COLOR_BLUE, -1);
		init_pair(PAIR_DIM, COLOR_WHITE, -1);
		init_pair(PAIR_CHANGED, COLOR_MAGENTA, -1);
		s->colors = 1;
	}
	return 0;
}

/* Replay: the streams pane from the trail's counts. */
static void
screen_seed_streams(struct tui_screen *s)
{
	struct store_filter	f;

	memset(&f, 0, sizeof f);
	f.since_us = s->src.since_us;
	f.until_us = s->src.until_us;
	pthread_mutex_lock(&s->lock);
	store_count_subjects(s->reader, &f, tui_streams_seed_cb, &s->streams, NULL);
	pthread_mutex_unlock(&s->lock);
}

int
tui_screen_run(struct tui_screen *s, char **cause)
{
	int64_t	last_draw = 0, now;

	if (s->src.status == NULL)
		screen_seed_streams(s);
	else
		s->newest_id = screen_max_id(s);
	if (screen_start(s, cause) != 0)
		return -1;
	screen_relayout(s);
	while (!s->quit) {
		screen_keys(s, SCREEN_FRAME_MS);
		if (s->src.tick != NULL)
			s->src.tick(s->src.arg);
		if (s->quit)
			break;
		screen_take_note(s);
		if (s->src.status != NULL)
			screen_poll(s);
		screen_page(s);
		now = auth_mono_ms();
		/* Live panes (rates, sparklines) move every second at least. */
		if (s->src.status != NULL && now - last_draw >= 1000)
			s->dirty = 1;
		if (s->dirty && now - last_draw >= SCREEN_FRAME_MS) {
			screen_draw(s);
			s->dirty = 0;
			last_draw = now;
		}
	}
	endwin();
	delscreen(s->term);
	s->term = NULL;
	return 0;
}
