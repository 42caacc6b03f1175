/*
 * tui/detail.c -- the detail pane: one trail row as styled lines.
 *
 * DESIGN: a row is turned into logical lines once (tui_detail_set_row),
 * every piece of it through safe text, because the row is the attacker's
 * own bytes: a claim name, a header value or a body can hold escape
 * sequences.  Laying the lines out for a width (wrap or cut) is a second,
 * cheap step, redone on resize without going back to the trail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tui-int.h"

#define DETAIL_KEY_MAX	16	/* key column of claims and headers */
#define DETAIL_CHECK_W	14	/* check name column of the trace */

/* Empty detail. */
void
tui_detail_init(struct tui_detail *d)
{
	memset(d, 0, sizeof *d);
	d->wrap = 1;
}

/* Free an array of lines. */
static void
detail_free_lines(struct tui_line *lines, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(lines[i].text);
}

/* Release everything. */
void
tui_detail_free(struct tui_detail *d)
{
	detail_free_lines(d->logical, d->nlogical);
	detail_free_lines(d->lines, d->n);
	free(d->logical);
	free(d->lines);
	tui_detail_init(d);
}

/* Append a line (text taken over) to an array. */
static void
detail_push(struct tui_line **lines, size_t *n, size_t *cap, enum tui_style lead_style,
    size_t lead, enum tui_style style, char *text)
{
	struct tui_line	*l;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*lines = auth_realloc(*lines, *cap * sizeof **lines);
	}
	l = &(*lines)[(*n)++];
	l->lead_style = lead_style;
	l->lead = lead;
	l->style = style;
	l->text = text;
}

/* Add a logical line: lead (safe) in lead_style, then text (safe) in style. */
static void
detail_add(struct tui_detail *d, enum tui_style lead_style, const char *lead,
    enum tui_style style, const char *text)
{
	detail_push(&d->logical, &d->nlogical, &d->caplogical, lead_style, strlen(lead),
	    style, auth_printf("%s%s", lead, text));
}

/* Add a line of raw text in one style. */
static void
detail_text(struct tui_detail *d, enum tui_style style, const char *raw)
{
	char	*safe = tui_text_safe_str(raw);

	detail_add(d, style, "", style, safe);
	free(safe);
}

/* Add a blank line then a heading. */
static void
detail_heading(struct tui_detail *d, const char *title)
{
	if (d->nlogical > 0)
		detail_add(d, TUI_STYLE_NORMAL, "", TUI_STYLE_NORMAL, "");
	detail_add(d, TUI_STYLE_HEADING, "", TUI_STYLE_HEADING, title);
}

/* Add "  key  value": key (safe) padded to keyw, value (safe) in style. */
static void
detail_kv_safe(struct tui_detail *d, const char *key, int keyw, enum tui_style style,
    const char *value)
{
	char	*pad = tui_text_fit(key, keyw), *lead;

	if (tui_text_width(key) > keyw) {
		free(pad);
		pad = auth_strdup(key);
	}
	lead = auth_printf("  %s  ", pad);
	detail_add(d, TUI_STYLE_KEY, lead, style, value);
	free(lead);
	free(pad);
}

/* Add "  key  value" for a raw value; nothing when value is NULL. */
static void
detail_kv(struct tui_detail *d, const char *key, const char *value)
{
	char	*safe;

	if (value == NULL)
		return;
	safe = tui_text_safe_str(value);
	detail_kv_safe(d, key, 10, TUI_STYLE_VALUE, safe);
	free(safe);
}

/* "2026-11-24T01:02:03Z (4m ago)" for t against now. */
static char *
detail_when(double t, time_t now)
{
	char	date[48], age[32];

	tui_text_rfc3339(t, date, sizeof date);
	tui_text_age(t, (double)now, age, sizeof age);
	return auth_printf("%s (%s)", date, age);
}

/* Parse JSON text strictly (duplicate keys refused); NULL when not JSON. */
static json_t *
detail_json(const char *text, size_t len)
{
	if (text == NULL)
		return NULL;
	return json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, NULL);
}

/* A JSON value compact, as safe text. Allocated. */
static char *
detail_compact(const json_t *v)
{
	char	*dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT), *safe;

	if (dump == NULL)
		return auth_strdup("?");
	safe = tui_text_safe_json(dump, strlen(dump));
	free(dump);
	return safe;
}

/* Width of the key column for an object's keys. */
static int
detail_keyw(const json_t *obj)
{
	const char	*key;
	json_t		*v;
	char		*safe;
	int		 w = 0, kw;

	json_object_foreach((json_t *)obj, key, v) {
		safe = tui_text_safe_str(key);
		kw = tui_text_width(safe);
		free(safe);
		if (kw > w)
			w = kw;
	}
	return w > DETAIL_KEY_MAX ? DETAIL_KEY_MAX : w;
}

/* Whether claim name is a NumericDate. */
static int
detail_time_claim(const char *key)
{
	return strcmp(key, "exp") == 0 || strcmp(key, "iat") == 0 ||
	    strcmp(key, "nbf") == 0 || strcmp(key, "auth_time") == 0;
}

/* An object's members as key/value lines; times dated when dates. */
static void
detail_object(struct tui_detail *d, const json_t *obj, time_t now, int dates)
{
	const char	*key;
	json_t		*v;
	char		*safe_key, *value, *when, *both;
	int		 keyw = detail_keyw(obj);

	json_object_foreach((json_t *)obj, key, v) {
		safe_key = tui_text_safe_str(key);
		value = detail_compact(v);
		if (dates && json_is_number(v) && detail_time_claim(key)) {
			when = detail_when(json_number_value(v), now);
			both = auth_printf("%s  %s", value, when);
			free(when);
			free(value);
			value = both;
		}
		detail_kv_safe(d, safe_key, keyw, TUI_STYLE_VALUE, value);
		free(safe_key);
		free(value);
	}
}

/* A string member of a JSON object, or NULL. */
static const char *
detail_member(const json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

/* One check of the trace. */
static void
detail_check(struct tui_detail *d, const json_t *c)
{
	const json_t	*ok = json_object_get(c, "ok");
	const char	*name = detail_member(c, "check"), *detail = detail_member(c, "detail");
	const char	*mark;
	enum tui_style	 style;
	char		*safe, *cut, *lead, *text;

	if (json_is_true(ok))
		mark = "\xe2\x9c\x93", style = TUI_STYLE_OK;		/* ✓ */
	else if (json_is_false(ok))
		mark = "\xe2\x9c\x97", style = TUI_STYLE_FAIL;		/* ✗ */
	else
		mark = "\xc2\xb7", style = TUI_STYLE_NOT_REACHED;	/* · */
	safe = tui_text_safe_str(name != NULL ? name : "?");
	cut = tui_text_fit(safe, DETAIL_CHECK_W);
	if (tui_text_width(safe) > DETAIL_CHECK_W) {
		free(cut);
		cut = auth_strdup(safe);
	}
	lead = auth_printf("%s %s ", mark, cut);
	text = tui_text_safe_str(detail != NULL ? detail : "");
	detail_add(d, style, lead, style == TUI_STYLE_NOT_REACHED ? TUI_STYLE_DIM :
	    TUI_STYLE_NORMAL, text);
	free(text);
	free(lead);
	free(cut);
	free(safe);
	if ((detail = detail_member(c, "expected")) != NULL) {
		text = tui_text_safe_str(detail);
		detail_kv_safe(d, "  expected", DETAIL_CHECK_W, TUI_STYLE_VALUE, text);
		free(text);
	}
	if ((detail = detail_member(c, "actual")) != NULL) {
		text = tui_text_safe_str(detail);
		detail_kv_safe(d, "  actual", DETAIL_CHECK_W, TUI_STYLE_VALUE, text);
		free(text);
	}
}

/* One side of the payload hash: value raw, "-" when absent. */
static void
detail_hash_line(struct tui_detail *d, const char *key, const char *value,
    enum tui_style style)
{
	char	*safe = tui_text_safe_str(value != NULL ? value : "-");

	detail_kv_safe(d, key, 10, style, safe);
	free(safe);
}

/* The trace, warnings and payload hash. */
static void
detail_trace(struct tui_detail *d, const struct store_row *r)
{
	json_t		*checks = detail_json(r->checks, r->checks ? strlen(r->checks) : 0);
	json_t		*warnings, *c, *w, *hash = NULL;
	enum tui_style	 style;
	size_t		 i;

	detail_heading(d, "Trace");
	if (!json_is_array(checks) || json_array_size(checks) == 0)
		detail_text(d, TUI_STYLE_DIM, "no trace");
	json_array_foreach(checks, i, c) {
		if (!json_is_object(c))
			continue;
		detail_check(d, c);
		if (detail_member(c, "check") && strcmp(detail_member(c, "check"),
		    "payload_hash") == 0)
			hash = c;
	}
	warnings = detail_json(r->warnings, r->warnings ? strlen(r->warnings) : 0);
	if (json_is_array(warnings) && json_array_size(warnings) > 0) {
		detail_heading(d, "Warnings");
		json_array_foreach(warnings, i, w) {
			char	*t = json_is_string(w) ? tui_text_safe_str(json_string_value(w)) :
			    detail_compact(w);

			detail_add(d, TUI_STYLE_WARN, "! ", TUI_STYLE_WARN, t);
			free(t);
		}
	}
	json_decref(warnings);
	if (hash != NULL) {
		detail_heading(d, "Payload hash");
		style = json_is_true(json_object_get(hash, "ok")) ? TUI_STYLE_OK :
		    json_is_false(json_object_get(hash, "ok")) ? TUI_STYLE_FAIL : TUI_STYLE_DIM;
		detail_hash_line(d, "claimed", detail_member(hash, "expected"), style);
		detail_hash_line(d, "computed", detail_member(hash, "actual"), style);
	}
	json_decref(checks);
}

/* The JWT header, decoded from the token's first segment. */
static void
detail_jwt_header(struct tui_detail *d, const char *token)
{
	const char	*dot = strchr(token, '.');
	unsigned char	*raw;
	size_t		 len;
	json_t		*h = NULL;
	char		*safe;

	detail_heading(d, "JWT header");
	raw = auth_b64url_decode(token, dot ? (size_t)(dot - token) : strlen(token), &len);
	if (raw != NULL)
		h = detail_json((const char *)raw, len);
	if (json_is_object(h))
		detail_object(d, h, 0, 0);
	else if (raw != NULL) {
		safe = tui_text_safe(raw, len);
		detail_add(d, TUI_STYLE_FAIL, "not JSON: ", TUI_STYLE_VALUE, safe);
		free(safe);
	} else
		detail_text(d, TUI_STYLE_DIM, "not base64url");
	json_decref(h);
	free(raw);
}

/* The claims (the trail's decoded text). */
static void
detail_claims(struct tui_detail *d, const char *claims, time_t now)
{
	json_t	*c = detail_json(claims, strlen(claims));

	detail_heading(d, "Claims");
	if (json_is_object(c))
		detail_object(d, c, now, 1);
	else
		detail_text(d, TUI_STYLE_VALUE, claims);
	json_decref(c);
}

/* The message headers: a name to a string or an array of strings. */
static void
detail_headers(struct tui_detail *d, const char *headers)
{
	json_t		*h = detail_json(headers, strlen(headers)), *v, *e;
	const char	*name;
	char		*key, *value;
	size_t		 i;

	if (!json_is_object(h) || json_object_size(h) == 0) {
		json_decref(h);
		return;
	}
	detail_heading(d, "Headers");
	json_object_foreach(h, name, v) {
		key = tui_text_safe_str(name);
		if (json_is_array(v)) {
			json_array_foreach(v, i, e) {
				value = json_is_string(e) ? tui_text_safe_str(json_string_value(e)) :
				    detail_compact(e);
				detail_kv_safe(d, key, detail_keyw(h), TUI_STYLE_VALUE, value);
				free(value);
			}
		} else {
			value = json_is_string(v) ? tui_text_safe_str(json_string_value(v)) :
			    detail_compact(v);
			detail_kv_safe(d, key, detail_keyw(h), TUI_STYLE_VALUE, value);
			free(value);
		}
		free(key);
	}
	json_decref(h);
}

/* Whether p[0..n) is UTF-8 text. */
static int
detail_is_text(const unsigned char *p, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		if ((k = auth_utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* Lines of text (split at LF), each made safe; json: text is jansson's. */
static void
detail_lines(struct tui_detail *d, const char *text, size_t len, int json)
{
	const char	*p = text, *end = text + len, *nl;
	char		*safe;
	size_t		 lines = 0;

	while (p < end) {
		if (lines++ == TUI_DETAIL_BODY_LINES) {
			safe = auth_printf("... %zu more bytes (see the hex view)",
			    (size_t)(end - p));
			detail_add(d, TUI_STYLE_DIM, "", TUI_STYLE_DIM, safe);
			free(safe);
			return;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		safe = json ? tui_text_safe_json(p, (size_t)(nl - p)) :
		    tui_text_safe(p, (size_t)(nl - p));
		detail_add(d, TUI_STYLE_NORMAL, "", TUI_STYLE_NORMAL, safe);
		free(safe);
		p = nl + 1;
	}
}

/* The payload (what: "Payload", or what else the body is): JSON
   pretty-printed, else text, else a note. */
static void
detail_payload(struct tui_detail *d, const char *what, const unsigned char *body, size_t len)
{
	json_t	*j;
	char	*pretty, *note, *title;

	j = detail_json((const char *)body, len);
	if (j != NULL && (pretty = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY)) != NULL) {
		title = auth_printf("%s (JSON)", what);
		detail_heading(d, title);
		detail_lines(d, pretty, strlen(pretty), 1);
		free(pretty);
	} else if (detail_is_text(body, len)) {
		title = auth_printf("%s (text)", what);
		detail_heading(d, title);
		detail_lines(d, (const char *)body, len, 0);
	} else {
		title = auth_printf("%s (binary)", what);
		detail_heading(d, title);
		note = auth_printf("%zu bytes, not UTF-8: see the hex view", len);
		detail_text(d, TUI_STYLE_DIM, note);
		free(note);
	}
	free(title);
	json_decref(j);
}

/* The hex view: offset, 16 bytes, safe ASCII. */
static void
detail_hex(struct tui_detail *d, const unsigned char *body, size_t len)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	size_t		 off, i, n = len > TUI_DETAIL_HEX_MAX ? TUI_DETAIL_HEX_MAX : len;
	char		*title;

	title = auth_printf("Raw (%zu bytes)", len);
	detail_heading(d, title);
	free(title);
	for (off = 0; off < n; off += 16) {
		tui_buf_printf(&b, "%08zx ", off);
		for (i = 0; i < 16; i++) {
			if (i % 8 == 0)
				tui_buf_str(&b, " ");
			if (off + i < n)
				tui_buf_printf(&b, "%02x ", body[off + i]);
			else
				tui_buf_str(&b, "   ");
		}
		tui_buf_str(&b, " |");
		for (i = 0; i < 16 && off + i < n; i++) {
			unsigned char	c = body[off + i];

			tui_buf_printf(&b, "%c", c >= 0x20 && c < 0x7f ? c : '.');
		}
		tui_buf_str(&b, "|");
		detail_push(&d->logical, &d->nlogical, &d->caplogical, TUI_STYLE_DIM, 10,
		    TUI_STYLE_NORMAL, tui_buf_take(&b));
	}
	if (n < len) {
		title = auth_printf("... %zu more bytes", len - n);
		detail_text(d, TUI_STYLE_DIM, title);
		free(title);
	}
}

/*
 * An event row made from a verdict another recorder published (watch
 * --verdicts, store_append_remote): its detail column is an object naming
 * the subject the verdict came on and holding the JWT header.  The parsed
 * detail (the caller decrefs), or NULL for a row of this trail's own.
 */
static json_t *
detail_remote(const struct store_row *r)
{
	json_t	*j;

	if (r->detail == NULL || r->detail[0] != '{')
		return NULL;
	j = detail_json(r->detail, strlen(r->detail));
	if (json_is_object(j) && json_is_string(json_object_get(j, "verdict_subject")))
		return j;
	json_decref(j);
	return NULL;
}

/* The summary of an event row. */
static void
detail_event_summary(struct tui_detail *d, const struct store_row *r, const json_t *remote,
    time_t now)
{
	char	*t, *when, *seq;

	t = auth_printf("Event %lld", (long long)r->id);
	detail_add(d, TUI_STYLE_HEADING, "", TUI_STYLE_HEADING, t);
	free(t);
	when = detail_when((double)r->received_us / 1e6, now);
	detail_kv(d, "received", when);
	free(when);
	detail_kv(d, "subject", r->subject);
	if (r->verdict != NULL && strcmp(r->verdict, "pass") == 0)
		detail_kv_safe(d, "verdict", 10, TUI_STYLE_OK, "\xe2\x9c\x93 pass");
	else {
		char	*reason = tui_text_safe_str(r->reason ? r->reason : "?");

		t = auth_printf("\xe2\x9c\x97 fail: %s", reason);
		detail_kv_safe(d, "verdict", 10, TUI_STYLE_FAIL, t);
		free(t);
		free(reason);
	}
	detail_kv(d, "rule", r->rule);
	detail_kv(d, "alg", r->alg);
	detail_kv(d, "kid", r->kid);
	/* Fetched keys: the set that judged it (see its keyset row). */
	detail_kv(d, "key set", r->detail);
	detail_kv(d, "event id", r->event_id);
	if (r->stream != NULL) {
		seq = auth_printf("%s #%lld", r->stream, (long long)r->stream_seq);
		detail_kv(d, "stream", seq);
		free(seq);
	}
	if (remote != NULL) {
		/* Only a verdict that checked out keeps its JWT header. */
		t = auth_printf("%s (%s)", json_string_value(json_object_get(remote,
		    "verdict_subject")), json_object_get(remote, "header") != NULL ?
		    "a verdict of a recorder of the fleet" : "not a verdict");
		detail_kv(d, "verdict on", t);
		free(t);
	}
}

/* The kids (or fingerprints) of a key list, joined. */
static char *
detail_kids(json_t *keys)
{
	json_t	*k;
	char	*out = NULL, *n;
	size_t	 i;

	json_array_foreach(keys, i, k) {
		const char *id = json_string_value(json_object_get(k, "kid"));

		if (id == NULL)
			id = json_string_value(json_object_get(k, "fingerprint"));
		n = auth_printf("%s%s%s", out ? out : "", out ? ", " : "", id ? id : "?");
		free(out);
		out = n;
	}
	return out ? out : auth_strdup("none");
}

/* What a keyset row says: the entry that changed, keys added and removed. */
static void
detail_keyset(struct tui_detail *d, const struct store_row *r)
{
	json_t	*set = r->detail ? json_loads(r->detail, 0, NULL) : NULL;
	json_t	*change = json_object_get(set, "change");
	char	*t, *safe;

	detail_kv(d, "key set", json_string_value(json_object_get(set, "keyset")));
	detail_kv(d, "entry", json_string_value(json_object_get(change, "key")));
	/* kids come from the identity server's JWKS: made safe to draw */
	t = detail_kids(json_object_get(change, "added"));
	safe = tui_text_safe_str(t);
	detail_kv_safe(d, "added", 10, TUI_STYLE_OK, safe);
	free(safe);
	free(t);
	t = detail_kids(json_object_get(change, "removed"));
	safe = tui_text_safe_str(t);
	detail_kv_safe(d, "removed", 10, TUI_STYLE_FAIL, safe);
	free(safe);
	free(t);
	t = detail_kids(json_object_get(set, "keys"));
	detail_kv(d, "keys now", t);
	free(t);
	json_decref(set);
}

/* A gap, session or keyset row. */
static void
detail_other(struct tui_detail *d, const struct store_row *r, time_t now)
{
	char	*t, *when;
	int	 gap = r->kind != NULL && strcmp(r->kind, "gap") == 0;
	int	 keyset = r->kind != NULL && strcmp(r->kind, "keyset") == 0;

	t = auth_printf("%s %lld", gap ? "Gap" : keyset ? "Key set change" : "Session",
	    (long long)r->id);
	detail_add(d, TUI_STYLE_HEADING, "", TUI_STYLE_HEADING, t);
	free(t);
	when = detail_when((double)r->received_us / 1e6, now);
	detail_kv(d, "received", when);
	free(when);
	detail_kv(d, "subject", r->subject);
	detail_kv(d, "stream", r->stream);
	if (gap) {
		t = r->gap_count > 0 ? auth_printf("%lld messages", (long long)r->gap_count) :
		    auth_strdup("an unknown number of messages");
		detail_kv_safe(d, "lost", 10, TUI_STYLE_FAIL, t);
		free(t);
		if (r->stream_seq != 0) {
			t = auth_printf("%lld", (long long)r->stream_seq);
			detail_kv(d, "first seq", t);
			free(t);
		}
	}
	if (keyset)
		detail_keyset(d, r);
	detail_kv(d, "detail", r->detail);
}

/* Show row r. */
void
tui_detail_set_row(struct tui_detail *d, const struct store_row *r, time_t now)
{
	json_t	*remote = NULL;
	int	 width = d->width, wrap = d->wrap;

	tui_detail_free(d);
	d->width = width;
	d->wrap = wrap;
	d->id = r->id;
	if (r->kind != NULL && strcmp(r->kind, "event") != 0)
		detail_other(d, r, now);
	else {
		remote = detail_remote(r);
		detail_event_summary(d, r, remote, now);
		detail_trace(d, r);
		if (r->token != NULL && r->token[0] != '\0')
			detail_jwt_header(d, r->token);
		else if (json_is_object(json_object_get(remote, "header"))) {
			detail_heading(d, "JWT header");
			detail_object(d, json_object_get(remote, "header"), 0, 0);
		}
		if (r->claims != NULL)
			detail_claims(d, r->claims, now);
		if (r->headers != NULL)
			detail_headers(d, r->headers);
		if (r->has_body)
			detail_payload(d, remote != NULL ? "Verdict message" : "Payload", r->body,
			    r->body_len);
		if (r->token != NULL && r->token[0] != '\0') {
			detail_heading(d, "Token");
			detail_text(d, TUI_STYLE_DIM, r->token);
		}
	}
	if (r->has_body)
		detail_hex(d, r->body, r->body_len);
	json_decref(remote);
	if (d->width > 0)
		tui_detail_set_width(d, d->width, d->wrap);
}

/* Width of text[0..n). */
static int
detail_width_n(const char *text, size_t n)
{
	char	*part = auth_malloc(n + 1);
	int	 w;

	memcpy(part, text, n);
	part[n] = '\0';
	w = tui_text_width(part);
	free(part);
	return w;
}

/*
 * Bytes of the next piece of s within cols cells: at least one character,
 * and when the rest does not fit, up to a space in the piece's second half
 * so that words stay whole where they can.
 */
static size_t
detail_piece(const char *s, int cols)
{
	uint32_t	cp;
	size_t		n = tui_text_prefix(s, cols, NULL), i;

	if (n == 0)
		return s[0] == '\0' ? 0 : tui_utf8_next(s, &cp);
	if (s[n] == '\0')
		return n;
	for (i = n; i > n / 2; i--) {
		if (s[i - 1] == ' ')
			return i;
	}
	return n;
}

/* Lay out one logical line. */
static void
detail_layout(struct tui_detail *d, const struct tui_line *l)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	const char	*s = l->text;
	size_t		 n;
	int		 indent;
	char		*cut;

	if (!d->wrap || tui_text_width(s) <= d->width) {
		cut = tui_text_clip(s, d->width);
		n = strlen(cut);
		detail_push(&d->lines, &d->n, &d->cap, l->lead_style, l->lead < n ? l->lead : n,
		    l->style, cut);
		return;
	}
	indent = detail_width_n(s, l->lead);
	if (indent > d->width / 2)
		indent = 2;
	n = detail_piece(s, d->width);
	tui_buf_add(&b, s, n);
	detail_push(&d->lines, &d->n, &d->cap, l->lead_style, l->lead < n ? l->lead : n,
	    l->style, tui_buf_take(&b));
	for (s += n; *s != '\0'; s += n) {
		n = detail_piece(s, d->width - indent);
		tui_buf_spaces(&b, indent);
		tui_buf_add(&b, s, n);
		detail_push(&d->lines, &d->n, &d->cap, l->style, 0, l->style, tui_buf_take(&b));
	}
}

/* Lay the lines out for width. */
void
tui_detail_set_width(struct tui_detail *d, int width, int wrap)
{
	size_t	i;

	detail_free_lines(d->lines, d->n);
	d->n = 0;
	d->width = width > 4 ? width : 4;
	d->wrap = wrap;
	for (i = 0; i < d->nlogical; i++)
		detail_layout(d, &d->logical[i]);
	if (d->top >= d->n)
		d->top = d->n > 0 ? d->n - 1 : 0;
}

/* Scroll. */
void
tui_detail_scroll(struct tui_detail *d, long delta, int rows)
{
	long	top = (long)d->top + delta, max = (long)d->n - (rows > 0 ? rows : 1);

	if (top > max)
		top = max;
	if (top < 0)
		top = 0;
	d->top = (size_t)top;
}
