/*
 * tui/layout.c -- where the panes go for a terminal size, and the event
 * list's columns for a pane width.
 *
 * Below 80x24 nothing but a message is drawn: a console that squeezes
 * columns to nothing shows garbage, and garbage is worse than a request
 * for a bigger window.  Up to 160x40 the panes stack (streams, events,
 * detail); above, streams take a column on the left so the events and the
 * detail keep their width.
 */
#include <stdio.h>
#include <string.h>

#include "tui-int.h"

#define WIDE_COLS	160
#define WIDE_ROWS	40
#define DETAIL_ROWS	36	/* stacked: the detail always shows from here */

/* v clamped to lo..hi. */
static int
layout_clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Set a rectangle. */
static void
layout_rect(struct tui_rect *r, int x, int y, int w, int h)
{
	r->x = x;
	r->y = y;
	r->w = w;
	r->h = h;
}

/* Stacked: streams, events, then the detail when it fits or is open. */
static void
layout_stacked(struct tui_layout *l, int detail_open)
{
	int	body = l->rows - 1, sh, eh, dh;

	sh = layout_clamp(body / 4, 5, 10);
	eh = body - sh;
	dh = 0;
	if (detail_open || l->rows >= DETAIL_ROWS) {
		dh = eh - layout_clamp(eh * 2 / 5, 7, eh);
		eh -= dh;
	}
	layout_rect(&l->pane[TUI_PANE_STREAMS], 0, 0, l->cols, sh);
	layout_rect(&l->pane[TUI_PANE_EVENTS], 0, sh, l->cols, eh);
	layout_rect(&l->pane[TUI_PANE_DETAIL], 0, sh + eh, dh > 0 ? l->cols : 0, dh);
}

/* Wide: streams left; events over the detail on the right. */
static void
layout_wide(struct tui_layout *l)
{
	int	body = l->rows - 1, sw, rx, rw, eh;

	sw = layout_clamp(l->cols * 2 / 5, 64, 90);
	rx = sw + 1;
	rw = l->cols - rx;
	eh = body * 2 / 5;
	layout_rect(&l->pane[TUI_PANE_STREAMS], 0, 0, sw, body);
	layout_rect(&l->pane[TUI_PANE_EVENTS], rx, 0, rw, eh);
	layout_rect(&l->pane[TUI_PANE_DETAIL], rx, eh, rw, body - eh);
}

/* Lay out the terminal. */
void
tui_layout_compute(struct tui_layout *l, int cols, int rows, int detail_open)
{
	memset(l, 0, sizeof *l);
	l->cols = cols;
	l->rows = rows;
	if (cols < TUI_MIN_COLS || rows < TUI_MIN_ROWS) {
		l->kind = TUI_LAYOUT_TOO_SMALL;
		snprintf(l->message, sizeof l->message,
		    "terminal too small: %dx%d, ztwatch needs %dx%d", cols, rows,
		    TUI_MIN_COLS, TUI_MIN_ROWS);
		return;
	}
	if (cols >= WIDE_COLS && rows >= WIDE_ROWS) {
		l->kind = TUI_LAYOUT_WIDE;
		layout_wide(l);
	} else {
		l->kind = TUI_LAYOUT_STACKED;
		layout_stacked(l, detail_open);
	}
	layout_rect(&l->status, 0, rows - 1, cols, 1);
	tui_layout_columns(&l->columns, l->pane[TUI_PANE_EVENTS].w);
}

/* Whether pane p is visible. */
int
tui_layout_visible(const struct tui_layout *l, enum tui_pane p)
{
	return l->kind != TUI_LAYOUT_TOO_SMALL && p < TUI_PANE_COUNT &&
	    l->pane[p].w > 0 && l->pane[p].h > 0;
}

/* Event list columns for pane width w. */
void
tui_layout_columns(struct tui_columns *c, int w)
{
	int	avail, rest;

	memset(c, 0, sizeof *c);
	if (w < 20)
		return;
	c->time = w < 100 ? 8 : w < 150 ? 12 : 23;
	c->mark = 1;
	/* time, mark, subject, reason, who: four separators; id adds one. */
	avail = w - c->time - c->mark - 4;
	c->reason = layout_clamp(avail / 5, 10, 21);
	if (avail >= 90) {
		c->id = layout_clamp(avail / 5, 12, 36);
		avail--;
	}
	rest = avail - c->reason - c->id;
	c->subject = layout_clamp(rest * 45 / 100, 8, 48);
	c->who = rest - c->subject;
}
