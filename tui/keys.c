/*
 * tui/keys.c -- the key state machine: key codes in, actions out.
 *
 * Everything about keys lives here so the screen's loop is only "read a
 * key, feed it, do what the action says".  The prompts (`/` and `:`) are
 * edited here too, and the filter prompt is parsed on every edit so that
 * a mistake is pointed at while it is typed.  Only printable characters
 * (tui_text_cpwidth() >= 0) are ever inserted, so the prompt is safe text
 * as it stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-int.h"

/* Fresh state: normal mode, the events pane focused. */
void
tui_keys_init(struct tui_keys *k)
{
	memset(k, 0, sizeof *k);
	k->mode = TUI_MODE_NORMAL;
	k->focus = TUI_PANE_EVENTS;
	k->visible = 1 << TUI_PANE_STREAMS | 1 << TUI_PANE_EVENTS;
	k->error_pos = -1;
	tui_filter_init(&k->check);
}

/* Release what the state holds. */
void
tui_keys_free(struct tui_keys *k)
{
	tui_filter_free(&k->check);
}

/* Note which panes the layout shows; keep the focus on one of them. */
void
tui_keys_set_layout(struct tui_keys *k, const struct tui_layout *l)
{
	int	p;

	k->visible = 0;
	for (p = 0; p < TUI_PANE_COUNT; p++)
		if (tui_layout_visible(l, (enum tui_pane)p))
			k->visible |= 1 << p;
	if (k->visible != 0 && (k->visible & 1 << k->focus) == 0)
		k->focus = TUI_PANE_EVENTS;
}

/* Raw control codes as named keys. */
static int
keys_normalize(int key)
{
	switch (key) {
	case '\t':
		return TUI_KEY_TAB;
	case '\r':
	case '\n':
		return TUI_KEY_ENTER;
	case 27:
		return TUI_KEY_ESC;
	case 127:
	case 8:
		return TUI_KEY_BACKSPACE;
	}
	return key;
}

/* An action of type t on the focused pane. */
static struct tui_action
keys_act(const struct tui_keys *k, enum tui_act t, int n, const char *arg)
{
	struct tui_action	a;

	a.type = t;
	a.pane = k->focus;
	a.n = n;
	a.arg = arg;
	return a;
}

/* Move the focus to the next visible pane in direction dir. */
static void
keys_focus(struct tui_keys *k, int dir)
{
	int	i, p = k->focus;

	for (i = 0; i < TUI_PANE_COUNT; i++) {
		p = (p + dir + TUI_PANE_COUNT) % TUI_PANE_COUNT;
		if (k->visible & 1 << p) {
			k->focus = (enum tui_pane)p;
			return;
		}
	}
}

/* Set the prompt error (already safe text) at pos. */
static void
keys_error(struct tui_keys *k, const char *msg, int pos)
{
	tui_text_snprintf(k->error, sizeof k->error, "%s", msg);
	k->error_pos = pos;
}

/* Re-parse the filter prompt. */
static void
keys_check(struct tui_keys *k, time_t now)
{
	if (tui_filter_parse(&k->check, k->prompt, now) == 0)
		keys_error(k, "", -1);
	else
		keys_error(k, k->check.error, k->check.error_pos);
}

/* Open a prompt in mode m holding text. */
static struct tui_action
keys_open(struct tui_keys *k, enum tui_mode m, const char *text, time_t now)
{
	k->mode = m;
	tui_text_snprintf(k->prompt, sizeof k->prompt, "%s", text);
	k->len = k->cursor = strlen(k->prompt);
	keys_error(k, "", -1);
	if (m == TUI_MODE_FILTER)
		keys_check(k, now);
	return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
}

/* Enter on the focused pane. */
static struct tui_action
keys_enter(struct tui_keys *k)
{
	struct tui_action	a = keys_act(k, TUI_ACT_OPEN, 0, NULL);

	if (k->focus == TUI_PANE_EVENTS) {
		k->detail_open = 1;
		k->visible |= 1 << TUI_PANE_DETAIL;
		k->focus = TUI_PANE_DETAIL;
		return a;
	}
	if (k->focus == TUI_PANE_STREAMS)
		return a;
	return keys_act(k, TUI_ACT_NONE, 0, NULL);
}

/* Esc in normal mode: back from the detail. */
static struct tui_action
keys_escape(struct tui_keys *k)
{
	if (k->focus != TUI_PANE_DETAIL && !k->detail_open)
		return keys_act(k, TUI_ACT_NONE, 0, NULL);
	k->focus = TUI_PANE_EVENTS;
	k->detail_open = 0;
	return keys_act(k, TUI_ACT_CLOSE, 0, NULL);
}

/* A key in normal mode. */
static struct tui_action
keys_normal(struct tui_keys *k, int key, time_t now)
{
	switch (key) {
	case 'q':
	case TUI_KEY_CTRL('c'):
		return keys_act(k, TUI_ACT_QUIT, 0, NULL);
	case 'j':
	case TUI_KEY_DOWN:
		return keys_act(k, TUI_ACT_MOVE, 1, NULL);
	case 'k':
	case TUI_KEY_UP:
		return keys_act(k, TUI_ACT_MOVE, -1, NULL);
	case TUI_KEY_PGDN:
	case TUI_KEY_CTRL('f'):
		return keys_act(k, TUI_ACT_PAGE, 1, NULL);
	case TUI_KEY_PGUP:
	case TUI_KEY_CTRL('b'):
		return keys_act(k, TUI_ACT_PAGE, -1, NULL);
	case 'g':
	case TUI_KEY_HOME:
		return keys_act(k, TUI_ACT_HOME, 0, NULL);
	case 'G':
	case TUI_KEY_END:
		return keys_act(k, TUI_ACT_END, 0, NULL);
	case TUI_KEY_TAB:
		keys_focus(k, 1);
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_BTAB:
		keys_focus(k, -1);
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_ENTER:
		return keys_enter(k);
	case TUI_KEY_ESC:
		return keys_escape(k);
	case '/':
		return keys_open(k, TUI_MODE_FILTER, k->applied, now);
	case ':':
		return keys_open(k, TUI_MODE_COMMAND, "", now);
	case 'n':
		return keys_act(k, TUI_ACT_NEXT_FAIL, 1, NULL);
	case 'N':
		return keys_act(k, TUI_ACT_NEXT_FAIL, -1, NULL);
	case 'p':
		return keys_act(k, TUI_ACT_PAUSE, 0, NULL);
	case 'e':
		return keys_act(k, TUI_ACT_EXPORT, 0, NULL);
	case 's':
		return keys_act(k, TUI_ACT_SORT, 0, NULL);
	case '?':
		k->mode = TUI_MODE_HELP;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_CTRL('l'):
		return keys_act(k, TUI_ACT_REFRESH, 0, NULL);
	}
	return keys_act(k, TUI_ACT_NONE, 0, NULL);
}

/* Byte offset of the character before the cursor. */
static size_t
keys_prev(const struct tui_keys *k, size_t at)
{
	if (at == 0)
		return 0;
	for (at--; at > 0 && ((unsigned char)k->prompt[at] & 0xc0) == 0x80; at--)
		;
	return at;
}

/* Byte offset of the character after at. */
static size_t
keys_next(const struct tui_keys *k, size_t at)
{
	uint32_t	cp;

	return at >= k->len ? k->len : at + tui_utf8_next(k->prompt + at, &cp);
}

/* Remove prompt[from..to). */
static void
keys_cut(struct tui_keys *k, size_t from, size_t to)
{
	memmove(k->prompt + from, k->prompt + to, k->len - to + 1);
	k->len -= to - from;
	k->cursor = from;
}

/* Insert cp at the cursor if it is printable and fits. */
static int
keys_insert(struct tui_keys *k, int cp)
{
	char	enc[4];
	size_t	n;

	if (cp < 0x20 || cp > 0x10ffff || tui_text_cpwidth((uint32_t)cp) < 0)
		return 0;
	n = tui_utf8_put((uint32_t)cp, enc);
	if (k->len + n >= sizeof k->prompt)
		return 0;
	memmove(k->prompt + k->cursor + n, k->prompt + k->cursor, k->len - k->cursor + 1);
	memcpy(k->prompt + k->cursor, enc, n);
	k->len += n;
	k->cursor += n;
	return 1;
}

/*
 * Read one word of a command at *pos (quotes as in the filter) into out,
 * cut at a character boundary when it is longer.
 */
static int
keys_word(const char *s, size_t *pos, char *out, size_t size)
{
	char	word[TUI_PROMPT_MAX];	/* as long as the prompt: never cut */
	size_t	o = 0;
	int	quoted;

	while (s[*pos] == ' ')
		(*pos)++;
	if (s[*pos] == '\0')
		return 0;
	if ((quoted = s[*pos] == '"'))
		(*pos)++;
	for (; s[*pos] != '\0'; (*pos)++) {
		if (quoted ? s[*pos] == '"' : s[*pos] == ' ')
			break;
		if (quoted && s[*pos] == '\\' && s[*pos + 1] != '\0')
			(*pos)++;
		if (o + 1 < sizeof word)
			word[o++] = s[*pos];
	}
	if (quoted && s[*pos] == '"')
		(*pos)++;
	word[o] = '\0';
	tui_text_snprintf(out, size, "%s", word);
	return 1;
}

/* A command error at pos, "'WHAT' why": the prompt stays open. */
static struct tui_action
keys_cmd_error(struct tui_keys *k, int pos, const char *what, const char *why)
{
	char	*safe = tui_text_safe_str(what), *cut = tui_text_clip(safe, 32);
	char	 msg[sizeof k->error];

	tui_text_snprintf(msg, sizeof msg, "'%s' %s", cut, why);
	free(cut);
	free(safe);
	keys_error(k, msg, pos);
	return keys_act(k, TUI_ACT_ERROR, 0, k->error);
}

/*
 * :goto TIME -- time navigation: the list ends at TIME (the filter gains
 * until:TIME), the newest events before it selected; scrolling back goes
 * on from there.  `/` shows and edits the bound.
 */
static struct tui_action
keys_goto(struct tui_keys *k, size_t argpos, time_t now)
{
	struct tui_filter	f;
	char			text[TUI_PROMPT_MAX], *term;
	int			bad, n;

	if (k->arg[0] == '\0')
		return keys_cmd_error(k, (int)argpos, "goto", "needs a time (-2h, RFC 3339)");
	/* Quoted and escaped as a filter value: the argument is one term,
	   whatever quotes or spaces it holds. */
	term = tui_filter_term(k->applied[0] ? " " : "", "until", k->arg);
	n = snprintf(text, sizeof text, "%s%s", k->applied, term);
	free(term);
	if (n >= (int)sizeof text)
		return keys_cmd_error(k, (int)argpos, k->arg, "makes the filter too long");
	tui_filter_init(&f);
	bad = tui_filter_parse(&f, text, now) != 0;
	tui_filter_free(&f);
	if (bad && strstr(k->applied, "until:") != NULL)
		return keys_cmd_error(k, 0, "goto", "cannot add to a filter with until: (edit it with /)");
	if (bad)
		return keys_cmd_error(k, (int)argpos, k->arg, "is not a time");
	memcpy(k->applied, text, sizeof k->applied);
	memcpy(k->arg, text, sizeof k->arg);
	k->mode = TUI_MODE_NORMAL;
	return keys_act(k, TUI_ACT_FILTER, 0, k->arg);
}

/* Run the command prompt. */
static struct tui_action
keys_command(struct tui_keys *k, time_t now)
{
	char		cmd[32], extra[8];
	size_t		pos = 0, argpos;
	enum tui_act	t;

	if (!keys_word(k->prompt, &pos, cmd, sizeof cmd)) {
		k->mode = TUI_MODE_NORMAL;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	}
	while (k->prompt[pos] == ' ')
		pos++;
	argpos = pos;
	if (!keys_word(k->prompt, &pos, k->arg, sizeof k->arg))
		k->arg[0] = '\0';
	if (keys_word(k->prompt, &pos, extra, sizeof extra))
		return keys_cmd_error(k, (int)pos, cmd, "takes one argument");
	if (strcmp(cmd, "q") == 0 || strcmp(cmd, "quit") == 0)
		t = TUI_ACT_QUIT;
	else if (strcmp(cmd, "help") == 0) {
		k->mode = TUI_MODE_HELP;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	} else if (strcmp(cmd, "goto") == 0) {
		return keys_goto(k, argpos, now);
	} else if (strcmp(cmd, "export") == 0)
		t = TUI_ACT_EXPORT;
	else if (strcmp(cmd, "sub") == 0 || strcmp(cmd, "unsub") == 0) {
		t = cmd[0] == 's' ? TUI_ACT_SUB : TUI_ACT_UNSUB;
		if (k->arg[0] == '\0')
			return keys_cmd_error(k, (int)argpos, cmd, "needs a subject");
		if (!auth_subject_valid(k->arg, 1))
			return keys_cmd_error(k, (int)argpos, k->arg, "is not a subject");
	} else
		return keys_cmd_error(k, 0, cmd,
		    "is not a command (sub, unsub, export, goto, q)");
	k->mode = TUI_MODE_NORMAL;
	return keys_act(k, t, 0, k->arg[0] != '\0' ? k->arg : NULL);
}

/* Enter in a prompt. */
static struct tui_action
keys_submit(struct tui_keys *k, time_t now)
{
	if (k->mode == TUI_MODE_COMMAND)
		return keys_command(k, now);
	keys_check(k, now);
	if (k->error_pos >= 0)
		return keys_act(k, TUI_ACT_ERROR, 0, k->error);
	memcpy(k->applied, k->prompt, sizeof k->applied);
	memcpy(k->arg, k->prompt, sizeof k->arg);
	k->mode = TUI_MODE_NORMAL;
	return keys_act(k, TUI_ACT_FILTER, 0, k->arg);
}

/* An editing key in a prompt; 1 when the text changed. */
static int
keys_edit(struct tui_keys *k, int key)
{
	size_t	at;

	switch (key) {
	case TUI_KEY_BACKSPACE:
		if (k->cursor == 0)
			return 0;
		keys_cut(k, keys_prev(k, k->cursor), k->cursor);
		return 1;
	case TUI_KEY_DELETE:
		if (k->cursor == k->len)
			return 0;
		at = k->cursor;
		keys_cut(k, at, keys_next(k, at));
		return 1;
	case TUI_KEY_CTRL('u'):
		keys_cut(k, 0, k->cursor);
		return 1;
	case TUI_KEY_CTRL('k'):
		k->len = k->cursor;
		k->prompt[k->len] = '\0';
		return 1;
	case TUI_KEY_CTRL('w'):
		at = k->cursor;
		while (at > 0 && k->prompt[at - 1] == ' ')
			at--;
		while (at > 0 && k->prompt[at - 1] != ' ')
			at--;
		keys_cut(k, at, k->cursor);
		return 1;
	}
	return keys_insert(k, key);
}

/* A key in a prompt. */
static struct tui_action
keys_prompt_key(struct tui_keys *k, int key, time_t now)
{
	switch (key) {
	case TUI_KEY_ESC:
	case TUI_KEY_CTRL('c'):
		k->mode = TUI_MODE_NORMAL;
		keys_error(k, "", -1);
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_ENTER:
		return keys_submit(k, now);
	case TUI_KEY_LEFT:
		k->cursor = keys_prev(k, k->cursor);
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_RIGHT:
		k->cursor = keys_next(k, k->cursor);
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_HOME:
	case TUI_KEY_CTRL('a'):
		k->cursor = 0;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_END:
	case TUI_KEY_CTRL('e'):
		k->cursor = k->len;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_KEY_BACKSPACE:
		if (k->len == 0) {		/* as in less: leave an empty prompt */
			k->mode = TUI_MODE_NORMAL;
			return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
		}
		break;
	}
	if (!keys_edit(k, key))
		return keys_act(k, TUI_ACT_NONE, 0, NULL);
	if (k->mode == TUI_MODE_FILTER)
		keys_check(k, now);
	else
		keys_error(k, "", -1);
	return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
}

/* Feed one key. */
struct tui_action
tui_keys_feed(struct tui_keys *k, int key, time_t now)
{
	key = keys_normalize(key);
	if (key == TUI_KEY_RESIZE)
		return keys_act(k, TUI_ACT_RESIZE, 0, NULL);
	switch (k->mode) {
	case TUI_MODE_HELP:
		k->mode = TUI_MODE_NORMAL;
		return keys_act(k, TUI_ACT_REDRAW, 0, NULL);
	case TUI_MODE_FILTER:
	case TUI_MODE_COMMAND:
		return keys_prompt_key(k, key, now);
	case TUI_MODE_NORMAL:
		break;
	}
	return keys_normal(k, key, now);
}

/* Width of prompt[from..to). */
static int
keys_width(const struct tui_keys *k, size_t from, size_t to)
{
	char	*part = auth_malloc(to - from + 1);
	int	 w;

	memcpy(part, k->prompt + from, to - from);
	part[to - from] = '\0';
	w = tui_text_width(part);
	free(part);
	return w;
}

/* Lay out the prompt line. */
void
tui_keys_prompt(const struct tui_keys *k, int width, struct tui_prompt *p)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	size_t		 start = 0;
	int		 room, used;
	char		*line, *msg;

	p->mark = p->msg = -1;
	if (width < 4)
		width = 4;
	/* Scroll so the cursor (one cell after the text before it) shows. */
	while (start < k->cursor && 1 + keys_width(k, start, k->cursor) > width - 2)
		start = keys_next(k, start);
	tui_buf_str(&b, k->mode == TUI_MODE_COMMAND ? ":" : "/");
	tui_buf_str(&b, k->prompt + start);
	p->cursor = 1 + keys_width(k, start, k->cursor);
	if (k->error_pos >= 0 && (size_t)k->error_pos >= start &&
	    (size_t)k->error_pos <= k->len)
		p->mark = 1 + keys_width(k, start, (size_t)k->error_pos);
	line = tui_buf_take(&b);
	used = tui_text_width(line);
	room = width - used - 2;
	if (k->error[0] != '\0' && room >= 10) {
		msg = tui_text_clip(k->error, room);
		tui_buf_str(&b, line);
		tui_buf_str(&b, "  ");
		tui_buf_str(&b, msg);
		p->msg = used + 2;
		free(msg);
		free(line);
		line = tui_buf_take(&b);
	}
	if (p->mark >= width)
		p->mark = -1;
	p->text = tui_text_fit(line, width);
	free(line);
}
