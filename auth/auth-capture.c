/*
 * auth/auth-capture.c -- capture lines: one recorded message per JSON line.
 *
 * The format of `verify --batch` and `import`.  Lines are parsed with the
 * strict tokenizer (duplicate names refused, UTF-8 checked) and their
 * strings decoded into one buffer the struct reuses line after line, so
 * reading a capture costs no allocation per message in the common case.
 */
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"
#include "auth-jdoc.h"

#define CAPTURE_MAX_DEPTH 4

/* Decode string tok into c->buf at *used; returns it, or NULL. */
static const char *
capture_string(struct auth_capture *c, const struct jdoc *d, int tok, size_t *used)
{
	size_t	n;
	char	*out;

	if (tok < 0 || d->toks[tok].type != JDOC_STRING)
		return NULL;
	out = c->buf + *used;
	if (jdoc_string_copy(d, tok, out, c->cap - *used, &n) != 0)
		return NULL;
	*used += n + 1;
	return out;
}

/* Fill c->headers from the headers object at tok; -1 with *error. */
static int
capture_headers(struct auth_capture *c, const struct jdoc *d, int tok, size_t *used,
    const char **error)
{
	const struct jdoc_tok	*t;
	const char		*name;
	int			 k, v, e;

	c->msg.nheaders = 0;
	if (tok < 0)
		return 0;
	*error = "input line 'headers' must map names to strings or arrays of strings";
	if (d->toks[tok].type != JDOC_OBJECT)
		return -1;
	for (k = tok + 1; k < (int)d->toks[tok].skip; k = (int)d->toks[v].skip) {
		v = k + 1;
		name = capture_string(c, d, k, used);
		t = &d->toks[v];
		if (t->type != JDOC_STRING && t->type != JDOC_ARRAY)
			return -1;
		for (e = t->type == JDOC_STRING ? v : v + 1; e < (int)t->skip;
		    e = (int)d->toks[e].skip) {
			if (c->msg.nheaders == AUTH_CAPTURE_MAX_HEADERS) {
				*error = "input line has too many headers";
				return -1;
			}
			c->headers[c->msg.nheaders].name = name;
			if ((c->headers[c->msg.nheaders].value = capture_string(c, d, e, used)) == NULL)
				return -1;
			c->msg.nheaders++;
			if (t->type == JDOC_STRING)
				break;
		}
	}
	return 0;
}

/*
 * Decode the body: body_b64 (padded base64) or body (text), into c->buf
 * like the other strings (base64 is decoded straight from the line when
 * the string holds no escape, else in place after unescaping).
 */
static int
capture_body(struct auth_capture *c, const struct jdoc *d, size_t *used, const char **error)
{
	int			 b64 = jdoc_member(d, 0, "body_b64");
	int			 text = jdoc_member(d, 0, "body");
	const struct jdoc_tok	*t;
	const char		*s;
	unsigned char		*out;
	size_t			 n;

	free(c->body);
	c->body = NULL;
	if (b64 >= 0 && d->toks[b64].type == JDOC_STRING) {
		t = &d->toks[b64];
		n = t->end - t->start - 2;
		/* Decoded strings never outgrow their raw text: this always holds. */
		if (c->cap - *used < AUTH_B64_DECODED_MAX(n))
			goto bad64;
		out = (unsigned char *)c->buf + *used;
		if (t->escaped) {
			s = capture_string(c, d, b64, used);
			n = strlen(s);
		} else
			s = d->text + t->start + 1;
		if (auth_b64_decode_into(s, n, out, &c->msg.body_len) != 0)
			goto bad64;
		*used = (size_t)(out - (unsigned char *)c->buf) + c->msg.body_len + 1;
		c->msg.body = out;
	} else if (text >= 0 && d->toks[text].type == JDOC_STRING) {
		s = capture_string(c, d, text, used);
		c->msg.body_len = strlen(s);
		c->msg.body = (const unsigned char *)s;
	} else {
		*error = "input line has no 'body_b64' (or 'body') string";
		return -1;
	}
	return 0;
bad64:
	*error = "input line 'body_b64' is not padded base64";
	return -1;
}

/* The optional capture time, "received_at" in RFC 3339. */
static int
capture_received(struct auth_capture *c, const struct jdoc *d, size_t *used,
    const char **error)
{
	int		 t = jdoc_member(d, 0, "received_at");
	const char	*s;

	c->has_received = 0;
	if (t < 0)
		return 0;
	if ((s = capture_string(c, d, t, used)) == NULL ||
	    auth_parse_rfc3339_us(s, &c->received_us) != 0) {
		*error = "input line 'received_at' is not an RFC 3339 time";
		return -1;
	}
	c->has_received = 1;
	return 0;
}

/* Parse one capture line. */
int
auth_capture_parse(struct auth_capture *c, const char *line, size_t len, const char **error)
{
	struct jdoc	d;
	char		jerr[128];
	size_t		used = 0;
	int		rc = -1;

	d.toks = NULL;
	d.cap = 0;
	memset(&c->msg, 0, sizeof c->msg);
	c->msg.headers = c->headers;
	c->has_received = 0;
	/* Decoded strings are never longer than the line itself. */
	if (c->cap < len + 1) {
		c->buf = auth_realloc(c->buf, len + 1);
		c->cap = len + 1;
	}
	if (jdoc_parse(&d, line, len, CAPTURE_MAX_DEPTH, jerr, sizeof jerr) != 0) {
		/* jdoc quotes at most a member name, as valid UTF-8 without controls. */
		snprintf(c->why, sizeof c->why, "input line is not JSON: %s", jerr);
		*error = c->why;
		goto out;
	}
	if (d.toks[0].type != JDOC_OBJECT) {
		*error = "input line is not a JSON object";
		goto out;
	}
	if ((c->msg.subject = capture_string(c, &d, jdoc_member(&d, 0, "subject"), &used)) == NULL) {
		*error = "input line has no string 'subject'";
		goto out;
	}
	if (capture_headers(c, &d, jdoc_member(&d, 0, "headers"), &used, error) != 0 ||
	    capture_body(c, &d, &used, error) != 0 || capture_received(c, &d, &used, error) != 0)
		goto out;
	rc = 0;
out:
	jdoc_release(&d);
	return rc;
}

/* Free what c holds. */
void
auth_capture_release(struct auth_capture *c)
{
	free(c->buf);
	free(c->body);
	c->buf = NULL;
	c->body = NULL;
	c->cap = 0;
}
