/*
 * tui/status.c -- the status line, and the key help as data.
 *
 * The status line is built from parts with priorities; when the terminal
 * is narrow the least important parts go first, so the connection state
 * (a reconnecting console must say so), the totals and the drops are
 * always there.  The help table is the one list of keys: `?` draws it and
 * tui_help_text(1) prints it for the README.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-int.h"

#define STATUS_SEP	" \xe2\x94\x82 "	/* " │ " */
#define STATUS_PARTS	12

/* One part of the status line. */
struct status_part {
	char	*text;		/* safe text, or NULL when absent */
	int	 drop;		/* dropped first when higher; 0 never */
};

/* The connection state's name. */
const char *
tui_conn_name(enum tui_conn c)
{
	switch (c) {
	case TUI_CONN_REPLAY:
		return "replay";
	case TUI_CONN_CONNECTING:
		return "connecting";
	case TUI_CONN_CONNECTED:
		return "connected";
	case TUI_CONN_RECONNECTING:
		return "reconnecting";
	case TUI_CONN_CLOSED:
		return "closed";
	}
	return "?";
}

/* A raw string as a safe part cut to cols, or NULL. */
static char *
status_safe(const char *raw, int cols)
{
	char	*safe, *cut;

	if (raw == NULL || raw[0] == '\0')
		return NULL;
	safe = tui_text_safe_str(raw);
	cut = tui_text_clip(safe, cols);
	free(safe);
	return cut;
}

/* Fill the parts, in display order. */
static size_t
status_parts(const struct tui_status *s, struct status_part *p)
{
	char	ev[16], ok[16], bad[16], n[16];
	char	*f;
	size_t	i = 0;

	p[i].text = auth_strdup(tui_conn_name(s->conn)), p[i++].drop = 0;
	p[i].text = status_safe(s->view, 40), p[i++].drop = 4;
	p[i].text = status_safe(s->server, 40), p[i++].drop = 9;
	tui_text_count(s->events, ev, sizeof ev);
	tui_text_count(s->pass, ok, sizeof ok);
	tui_text_count(s->fail, bad, sizeof bad);
	p[i].text = auth_printf("%s events \xe2\x9c\x93 %s \xe2\x9c\x97 %s", ev, ok, bad);
	p[i++].drop = 0;
	if (s->rate < 10 && s->rate != (double)(uint64_t)s->rate)
		snprintf(n, sizeof n, "%.1f", s->rate);
	else
		tui_text_count((uint64_t)(s->rate + 0.5), n, sizeof n);
	p[i].text = auth_printf("%s/s", n), p[i++].drop = 5;
	tui_text_count(s->drops, n, sizeof n);
	p[i].text = s->drops ? auth_printf("drops %s", n) : NULL, p[i++].drop = 0;
	tui_text_count(s->gaps, n, sizeof n);
	p[i].text = s->gaps ? auth_printf("gaps %s", n) : NULL, p[i++].drop = 6;
	tui_text_count(s->unseen, n, sizeof n);
	if (s->follow == TUI_PAUSED)
		p[i].text = s->unseen ? auth_printf("PAUSED +%s", n) : auth_strdup("PAUSED");
	else if (s->follow == TUI_SCROLLED)
		p[i].text = s->unseen ? auth_printf("SCROLLED +%s", n) : auth_strdup("SCROLLED");
	else
		p[i].text = NULL;
	p[i++].drop = 0;
	f = s->filter != NULL && s->filter[0] != '\0' ? auth_printf("/%s", s->filter) : NULL;
	p[i].text = status_safe(f, 40), p[i++].drop = 7;
	free(f);
	p[i].text = status_safe(s->db, 30), p[i++].drop = 8;
	/* Stale keys stay in view; good ones go first when room is short. */
	p[i].text = status_safe(s->keys, 20);
	p[i++].drop = s->keys != NULL && strstr(s->keys, "STALE") != NULL ? 0 : 10;
	p[i].text = status_safe(s->message, 60), p[i++].drop = 0;
	return i;
}

/* Width of the parts joined. */
static int
status_width(const struct status_part *p, size_t n)
{
	size_t	i;
	int	w = 0, first = 1;

	for (i = 0; i < n; i++) {
		if (p[i].text == NULL)
			continue;
		w += tui_text_width(p[i].text) + (first ? 1 : 3);
		first = 0;
	}
	return w;
}

/* The status line. */
char *
tui_status_line(const struct tui_status *s, int width)
{
	struct status_part	 p[STATUS_PARTS];
	struct tui_buf		 b = { NULL, 0, 0 };
	size_t			 n = status_parts(s, p), i, worst;
	char			*line, *fit;

	while (status_width(p, n) > width) {
		for (worst = n, i = 0; i < n; i++) {
			if (p[i].text != NULL && p[i].drop > 0 &&
			    (worst == n || p[i].drop > p[worst].drop))
				worst = i;
		}
		if (worst == n)
			break;
		free(p[worst].text);
		p[worst].text = NULL;
	}
	tui_buf_str(&b, " ");
	for (i = 0; i < n; i++) {
		if (p[i].text == NULL)
			continue;
		if (b.len > 1)
			tui_buf_str(&b, STATUS_SEP);
		tui_buf_str(&b, p[i].text);
		free(p[i].text);
	}
	line = tui_buf_take(&b);
	fit = tui_text_fit(line, width);
	free(line);
	return fit;
}

/* ---- help -------------------------------------------------------------- */

static const struct tui_help help[] = {
	{ "j k \xe2\x86\x91 \xe2\x86\x93", "move the selection (or scroll the detail)" },
	{ "PgUp PgDn ^B ^F", "a page up or down" },
	{ "Home End g G", "oldest loaded / newest event (End follows the tail)" },
	{ "Tab Shift-Tab", "next / previous pane" },
	{ "Enter", "events: open the detail; streams: filter on the subject" },
	{ "Esc", "back from the detail" },
	{ "/", "filter: verdict:fail reason:expired subject:orders.> iss:X kid:Y "
	    "id:EVENT-ID since:-2h until:T text" },
	{ "n N", "next / previous failure" },
	{ "f", "failures grouped by reason, issuer and key; Enter shows a group" },
	{ "p", "pause, or resume following the tail" },
	{ "e", "export the events matching the filter" },
	{ "s", "sort the streams by events or by name" },
	{ ":", "command" },
	{ "?", "this help" },
	{ "q", "quit" },
	{ ":sub SUBJECT", "subscribe to SUBJECT (wildcards allowed)" },
	{ ":unsub SUBJECT", "drop the subscription to SUBJECT" },
	{ ":goto TIME", "show the events up to TIME (-2h, RFC 3339): adds until:TIME" },
	{ ":export [FILE]", "export the events matching the filter to FILE (JSON lines)" },
	{ ":q", "quit" },
};

/* Entries of the help. */
size_t
tui_help_count(void)
{
	return sizeof help / sizeof help[0];
}

/* Entry i of the help. */
const struct tui_help *
tui_help_at(size_t i)
{
	return i < tui_help_count() ? &help[i] : NULL;
}

/* Append s with markdown table pipes escaped. */
static void
help_md(struct tui_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			tui_buf_str(b, "\\");
		tui_buf_add(b, s, 1);
	}
}

/* The help as text. */
char *
tui_help_text(int markdown)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	size_t		 i;
	int		 w = 0, kw;
	char		*keys;

	for (i = 0; i < tui_help_count(); i++)
		if ((kw = tui_text_width(help[i].keys)) > w)
			w = kw;
	if (markdown)
		tui_buf_str(&b, "| key | does |\n|---|---|\n");
	for (i = 0; i < tui_help_count(); i++) {
		if (markdown) {
			tui_buf_str(&b, "| `");
			help_md(&b, help[i].keys);
			tui_buf_str(&b, "` | ");
			help_md(&b, help[i].what);
			tui_buf_str(&b, " |\n");
			continue;
		}
		keys = tui_text_fit(help[i].keys, w);
		tui_buf_printf(&b, "  %s  %s\n", keys, help[i].what);
		free(keys);
	}
	return tui_buf_take(&b);
}
