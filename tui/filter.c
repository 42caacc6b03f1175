/*
 * tui/filter.c -- the `/` filter language: parse, match, print.
 *
 * A filter is fields that narrow the trail query (struct store_filter)
 * plus free-text words the trail cannot search, which the console tests
 * row by row.  Parsing stops at the first problem and says where it is,
 * so the prompt can point at it while the user types.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-int.h"

/* The fields, in canonical order. */
enum filter_field {
	FIELD_VERDICT,
	FIELD_REASON,
	FIELD_SUBJECT,
	FIELD_ISS,
	FIELD_KID,
	FIELD_ID,
	FIELD_SINCE,
	FIELD_UNTIL,
	FIELD_COUNT
};

static const char *const filter_names[FIELD_COUNT] = {
	"verdict", "reason", "subject", "iss", "kid", "id", "since", "until"
};

/* Parser state. */
struct filter_parse {
	struct tui_filter	*f;
	const char		*text;
	size_t			 pos;
	time_t			 now;
	int			 seen[FIELD_COUNT];
	size_t			 until_pos;
};

/* An empty filter. */
void
tui_filter_init(struct tui_filter *f)
{
	memset(f, 0, sizeof *f);
	f->store.kinds = STORE_KIND_EVENT | STORE_KIND_GAP | STORE_KIND_KEYSET;
	f->error_pos = -1;
}

/* Release what f holds. */
void
tui_filter_free(struct tui_filter *f)
{
	size_t	i;

	free(f->verdict);
	free(f->reason);
	free(f->subject);
	free(f->iss);
	free(f->kid);
	free(f->event_id);
	for (i = 0; i < f->nwords; i++) {
		free(f->words[i]);
		free(f->folded[i]);
	}
	tui_filter_init(f);
}

/* Record an error at pos; the message is cut at a character boundary. */
static int
filter_error(struct filter_parse *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
filter_error(struct filter_parse *p, size_t pos, const char *fmt, ...)
{
	struct tui_filter	*f = p->f;
	va_list			 ap;

	va_start(ap, fmt);
	tui_text_vsnprintf(f->error, sizeof f->error, fmt, ap);
	va_end(ap);
	f->error_pos = (int)pos;
	return -1;
}

/*
 * A short safe rendering of a value for a message: at most 64 bytes of it
 * (whole characters, or the cut shows as \xNN), then 24 cells. Allocated.
 */
static char *
filter_shown(const char *v)
{
	char	*safe = tui_text_safe(v, tui_text_boundary(v, 64));
	char	*cut = tui_text_clip(safe, 24);

	free(safe);
	return cut;
}

/* Whether c separates tokens. */
static int
filter_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Read a token at p->pos: quoted (with \" and \\) or bare up to a space.
 * Returns it allocated, or NULL (error set) for an unterminated quote.
 */
static char *
filter_token(struct filter_parse *p)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	const char	*t = p->text;
	size_t		 start = p->pos;

	if (t[p->pos] != '"') {
		while (t[p->pos] != '\0' && !filter_space(t[p->pos]))
			p->pos++;
		tui_buf_add(&b, t + start, p->pos - start);
		return tui_buf_take(&b);
	}
	tui_buf_add(&b, "", 0);
	for (p->pos++; t[p->pos] != '"'; p->pos++) {
		if (t[p->pos] == '\0') {
			free(tui_buf_take(&b));
			filter_error(p, start, "unterminated quote");
			return NULL;
		}
		if (t[p->pos] == '\\' && (t[p->pos + 1] == '"' || t[p->pos + 1] == '\\'))
			p->pos++;
		tui_buf_add(&b, t + p->pos, 1);
	}
	p->pos++;
	return tui_buf_take(&b);
}

/* Field named s[0..n) (case-insensitive), or -1. */
static int
filter_field(const char *s, size_t n)
{
	int	i;

	for (i = 0; i < FIELD_COUNT; i++) {
		if (strlen(filter_names[i]) == n && strncasecmp(s, filter_names[i], n) == 0)
			return i;
	}
	return -1;
}

/* Length of the field name at s when s starts "name:", else 0. */
static size_t
filter_name_len(const char *s)
{
	size_t	n = 0;

	while (isalpha((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n > 0 && s[n] == ':' ? n : 0;
}

/* Parse a time value; 0 and *us, or -1. */
static int
filter_time(const char *v, time_t now, int64_t *us)
{
	char		*end, buf[40];
	double		 t;
	long long	 n;
	int64_t		 unit = 0;

	if (strcasecmp(v, "now") == 0) {
		*us = (int64_t)now * 1000000;
		return 0;
	}
	if (v[0] == '-' || (isdigit((unsigned char)v[0]) && strchr("smhdw",
	    v[strlen(v) - 1]) != NULL)) {
		if (!isdigit((unsigned char)v[v[0] == '-']))
			return -1;
		n = strtoll(v[0] == '-' ? v + 1 : v, &end, 10);
		if (end[0] == '\0' || end[1] != '\0')
			return -1;
		switch (end[0]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		if (n < 0 || n > 10000000000LL / unit)	/* about 300 years */
			return -1;
		*us = ((int64_t)now - n * unit) * 1000000;
		return 0;
	}
	if (strspn(v, "0123456789.") == strlen(v)) {
		t = strtod(v, &end);
		if (*end != '\0' || end == v)
			return -1;
	} else if (strlen(v) == 10) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", v);
		if (auth_parse_rfc3339(buf, &t) != 0)
			return -1;
	} else if (auth_parse_rfc3339(v, &t) != 0)
		return -1;
	if (t < 0 || t > 1e13)
		return -1;
	*us = (int64_t)(t * 1e6 + 0.5);
	return 0;
}

/* Check and store the value v (taken over) of field at pos (value at vpos). */
static int
filter_set(struct filter_parse *p, int field, char *v, size_t pos, size_t vpos)
{
	struct tui_filter	*f = p->f;
	char			*shown;
	int			 r = 0, reason;
	size_t			 i;

	if (v[0] == '\0') {
		free(v);
		return filter_error(p, vpos, "'%s:' needs a value", filter_names[field]);
	}
	if (p->seen[field]++) {
		free(v);
		return filter_error(p, pos, "'%s:' given twice", filter_names[field]);
	}
	shown = filter_shown(v);
	switch (field) {
	case FIELD_VERDICT:
		for (i = 0; v[i] != '\0'; i++)
			v[i] = (char)tolower((unsigned char)v[i]);
		if (strcmp(v, "pass") != 0 && strcmp(v, "fail") != 0)
			r = filter_error(p, vpos, "verdict must be pass or fail, not '%s'", shown);
		else
			f->store.verdict = f->verdict = v, v = NULL;
		break;
	case FIELD_REASON:
		if ((reason = auth_reason_from_name(v)) < 0)
			r = filter_error(p, vpos, "reason '%s' is not a reason code", shown);
		else
			f->store.reason = f->reason = auth_strdup(auth_reason_name(reason));
		break;
	case FIELD_SUBJECT:
		if (!auth_subject_valid(v, 1))
			r = filter_error(p, vpos, "'%s' is not a subject pattern", shown);
		else
			f->store.subject = f->subject = v, v = NULL;
		break;
	case FIELD_ISS:
		f->store.iss = f->iss = v, v = NULL;
		break;
	case FIELD_KID:
		f->store.kid = f->kid = v, v = NULL;
		break;
	case FIELD_ID:
		f->store.event_id = f->event_id = v, v = NULL;
		break;
	default:
		if (filter_time(v, p->now, field == FIELD_SINCE ? &f->store.since_us :
		    &f->store.until_us) != 0)
			r = filter_error(p, vpos, "%s: '%s' is not a time (-2h, RFC 3339, "
			    "a date or epoch seconds)", filter_names[field], shown);
		if (field == FIELD_UNTIL)
			p->until_pos = vpos;
		break;
	}
	free(shown);
	free(v);
	return r;
}

/* Add a free-text word (taken over). */
static int
filter_word(struct filter_parse *p, char *w, size_t pos)
{
	struct tui_filter	*f = p->f;
	size_t			 i;
	char			*low;

	if (w[0] == '\0') {
		free(w);
		return 0;
	}
	if (f->nwords == TUI_FILTER_WORDS) {
		free(w);
		return filter_error(p, pos, "more than %d words", TUI_FILTER_WORDS);
	}
	low = auth_strdup(w);
	for (i = 0; low[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	f->words[f->nwords] = w;
	f->folded[f->nwords++] = low;
	return 0;
}

/* Parse one item at p->pos (spaces skipped). */
static int
filter_item(struct filter_parse *p)
{
	const char	*t = p->text;
	size_t		 start = p->pos, n, vpos;
	char		*v;
	int		 field;

	if ((n = filter_name_len(t + start)) == 0) {
		if ((v = filter_token(p)) == NULL)
			return -1;
		return filter_word(p, v, start);
	}
	if ((field = filter_field(t + start, n)) < 0) {
		char	*name = auth_strdup(t + start), *shown;

		name[n] = '\0';
		shown = filter_shown(name);
		filter_error(p, start, "unknown field '%s:' (quote free text that has a colon)",
		    shown);
		free(shown);
		free(name);
		return -1;
	}
	p->pos = vpos = start + n + 1;
	if ((v = filter_token(p)) == NULL)
		return -1;
	return filter_set(p, field, v, start, vpos);
}

/* Parse text into f. */
int
tui_filter_parse(struct tui_filter *f, const char *text, time_t now)
{
	struct filter_parse	p;
	char			err[sizeof f->error];
	int			pos;

	tui_filter_free(f);
	memset(&p, 0, sizeof p);
	p.f = f;
	p.text = text;
	p.now = now;
	for (;;) {
		while (filter_space(text[p.pos]))
			p.pos++;
		if (text[p.pos] == '\0')
			break;
		if (filter_item(&p) != 0)
			goto fail;
	}
	if (f->store.since_us != 0 && f->store.until_us != 0 &&
	    f->store.until_us <= f->store.since_us) {
		filter_error(&p, p.until_pos, "until must be after since");
		goto fail;
	}
	f->error_pos = -1;
	f->error[0] = '\0';
	return 0;
fail:
	memcpy(err, f->error, sizeof err);
	pos = f->error_pos;
	tui_filter_free(f);
	memcpy(f->error, err, sizeof err);
	f->error_pos = pos;
	return -1;
}

/* Whether f matches everything. */
int
tui_filter_empty(const struct tui_filter *f)
{
	return f->verdict == NULL && f->reason == NULL && f->subject == NULL &&
	    f->iss == NULL && f->kid == NULL && f->event_id == NULL && f->store.since_us == 0 &&
	    f->store.until_us == 0 && f->nwords == 0;
}

/* Whether s equals want (want NULL: anything). */
static int
filter_eq(const char *want, const char *s)
{
	return want == NULL || (s != NULL && strcmp(want, s) == 0);
}

/* The fields every entry has, as the trail would test them. */
struct filter_subject {
	int		 kind;		/* STORE_KIND_* */
	int64_t		 time_us;
	const char	*subject, *verdict, *reason, *iss, *kid, *event_id;
};

/* Whether the fields pass (mirrors store_filter semantics). */
static int
filter_fields(const struct tui_filter *f, const struct filter_subject *s)
{
	int	kinds = f->store.kinds ? f->store.kinds : STORE_KIND_ALL;

	if (f->verdict || f->reason || f->iss || f->kid || f->event_id)
		kinds &= STORE_KIND_EVENT;
	if (f->subject)
		kinds &= ~(STORE_KIND_SESSION | STORE_KIND_KEYSET);
	if ((kinds & s->kind) == 0)
		return 0;
	if (f->store.since_us != 0 && s->time_us < f->store.since_us)
		return 0;
	if (f->store.until_us != 0 && s->time_us >= f->store.until_us)
		return 0;
	if (f->subject != NULL && (s->subject == NULL ||
	    !auth_subject_match(f->subject, s->subject)))
		return 0;
	return filter_eq(f->verdict, s->verdict) && filter_eq(f->reason, s->reason) &&
	    filter_eq(f->iss, s->iss) && filter_eq(f->kid, s->kid) &&
	    filter_eq(f->event_id, s->event_id);
}

/* Whether body[0..n) is UTF-8 text (no NUL). */
static int
filter_body_text(const unsigned char *body, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		if ((k = auth_utf8_seq(body + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Whether word occurs in any of the strings (NULL-terminated list) or body. */
static int
filter_word_in(const char *word, const char *const *fields, size_t nfields,
    const unsigned char *body, size_t body_len, int body_text)
{
	size_t	i;

	for (i = 0; i < nfields; i++) {
		if (fields[i] != NULL && tui_contains(fields[i], strlen(fields[i]), word))
			return 1;
	}
	return body_text && tui_contains(body, body_len, word);
}

/* Whether every word occurs somewhere. */
static int
filter_words(const struct tui_filter *f, const char *const *fields, size_t nfields,
    const void *body, size_t body_len)
{
	size_t	i;
	int	text = -1;

	for (i = 0; i < f->nwords; i++) {
		if (filter_word_in(f->folded[i], fields, nfields, NULL, 0, 0))
			continue;
		if (text < 0)
			text = body != NULL && filter_body_text(body, body_len);
		if (!text || !tui_contains(body, body_len, f->folded[i]))
			return 0;
	}
	return 1;
}

/* Kind bit of a row's kind name. */
static int
filter_kind(const char *kind)
{
	if (kind != NULL && strcmp(kind, "gap") == 0)
		return STORE_KIND_GAP;
	if (kind != NULL && strcmp(kind, "session") == 0)
		return STORE_KIND_SESSION;
	if (kind != NULL && strcmp(kind, "keyset") == 0)
		return STORE_KIND_KEYSET;
	return STORE_KIND_EVENT;
}

/* Whether row r passes f. */
int
tui_filter_match_row(const struct tui_filter *f, const struct store_row *r)
{
	struct filter_subject	 s;
	const char		*fields[8];

	s.kind = filter_kind(r->kind);
	s.time_us = r->received_us;
	s.subject = r->subject;
	s.verdict = r->verdict;
	s.reason = r->reason;
	s.iss = r->iss;
	s.kid = r->kid;
	s.event_id = r->event_id;
	if (!filter_fields(f, &s))
		return 0;
	fields[0] = r->subject;
	fields[1] = r->reason;
	fields[2] = r->iss;
	fields[3] = r->sub;
	fields[4] = r->kid;
	fields[5] = r->event_id;
	fields[6] = r->jti;
	fields[7] = r->detail;
	return filter_words(f, fields, 8, r->has_body ? r->body : NULL, r->body_len);
}

/* Whether a live event passes f. */
int
tui_filter_match_event(const struct tui_filter *f, const struct tui_event *ev,
    const void *body, size_t body_len)
{
	struct filter_subject	 s;
	const char		*fields[7];
	const char		*reason = ev->reason;

	if (ev->kind == TUI_KIND_EVENT && ev->pass && reason == NULL)
		reason = "ok";
	s.kind = ev->kind == TUI_KIND_GAP ? STORE_KIND_GAP : ev->kind == TUI_KIND_KEYSET ?
	    STORE_KIND_KEYSET : STORE_KIND_EVENT;
	s.time_us = ev->time_us;
	s.subject = ev->subject;
	s.verdict = ev->kind != TUI_KIND_EVENT ? NULL : ev->pass ? "pass" : "fail";
	s.reason = ev->kind != TUI_KIND_EVENT ? NULL : reason;
	s.iss = ev->iss;
	s.kid = ev->kid;
	s.event_id = ev->event_id;
	if (!filter_fields(f, &s))
		return 0;
	fields[0] = ev->subject;
	fields[1] = ev->reason;
	fields[2] = ev->iss;
	fields[3] = ev->sub;
	fields[4] = ev->kid;
	fields[5] = ev->event_id;
	fields[6] = ev->jti;
	return filter_words(f, fields, 7, body, body_len);
}

/* Whether v must be quoted to parse back as one token (word: free text). */
static int
filter_needs_quotes(const char *v, int word)
{
	const unsigned char	*p = (const unsigned char *)v;

	if (*p == '\0' || *p == '"')
		return 1;
	for (; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '\\' || *p == '"' || (word && *p == ':'))
			return 1;
	}
	return 0;
}

/* Append v, quoted when needed. */
static void
filter_put_value(struct tui_buf *b, const char *v, int word)
{
	if (!filter_needs_quotes(v, word)) {
		tui_buf_str(b, v);
		return;
	}
	tui_buf_str(b, "\"");
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			tui_buf_str(b, "\\");
		tui_buf_add(b, v, 1);
	}
	tui_buf_str(b, "\"");
}

/* Append "name:value". */
static void
filter_put(struct tui_buf *b, int field, const char *v)
{
	if (v == NULL)
		return;
	if (b->len > 0)
		tui_buf_str(b, " ");
	tui_buf_printf(b, "%s:", filter_names[field]);
	filter_put_value(b, v, 0);
}

/* "prefix name:value", value quoted when needed. */
char *
tui_filter_term(const char *prefix, const char *name, const char *value)
{
	struct tui_buf	b = { NULL, 0, 0 };

	tui_buf_printf(&b, "%s%s:", prefix, name);
	filter_put_value(&b, value, 0);
	return tui_buf_take(&b);
}

/* Append "name:TIME". */
static void
filter_put_time(struct tui_buf *b, int field, int64_t us)
{
	char	t[48];

	if (us == 0)
		return;
	tui_text_rfc3339((double)(us / 1000000) + (double)(us % 1000000) / 1e6, t, sizeof t);
	filter_put(b, field, t);
}

/* f as canonical text. */
char *
tui_filter_string(const struct tui_filter *f)
{
	struct tui_buf	b = { NULL, 0, 0 };
	size_t		i;

	filter_put(&b, FIELD_VERDICT, f->verdict);
	filter_put(&b, FIELD_REASON, f->reason);
	filter_put(&b, FIELD_SUBJECT, f->subject);
	filter_put(&b, FIELD_ISS, f->iss);
	filter_put(&b, FIELD_KID, f->kid);
	filter_put(&b, FIELD_ID, f->event_id);
	filter_put_time(&b, FIELD_SINCE, f->store.since_us);
	filter_put_time(&b, FIELD_UNTIL, f->store.until_us);
	for (i = 0; i < f->nwords; i++) {
		if (b.len > 0)
			tui_buf_str(&b, " ");
		filter_put_value(&b, f->words[i], 1);
	}
	return tui_buf_take(&b);
}
