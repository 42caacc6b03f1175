/*
 * auth/auth-json.c -- strict JSON parsing, JSON pointers and raw spans.
 *
 * DESIGN: jansson gives trees but not byte offsets, and a payload hash must
 * be computed over the exact bytes the sender hashed, never over a
 * re-serialization.  So text is parsed twice: jansson validates it
 * (duplicate keys rejected, UTF-8 checked) and gives the tree for claim
 * comparisons; then auth_json_span() walks the already-valid text to find
 * the raw byte span of one member.  Depth is measured first by a cheap
 * scan, so hostile nesting never reaches a recursive parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

/* Parse a JSON pointer ("" or "/a/b~1c"). */
struct auth_pointer *
auth_pointer_parse(const char *text, char **cause)
{
	struct auth_pointer	*p;
	const char		*s;
	char			*tok, *t;

	if (text[0] != '\0' && text[0] != '/') {
		*cause = auth_printf("JSON pointer '%s' must start with '/'", text);
		return NULL;
	}
	p = auth_calloc(1, sizeof *p);
	p->text = auth_strdup(text);
	s = text;
	while (*s == '/') {
		s++;
		tok = auth_malloc(strlen(s) + 1);
		for (t = tok; *s != '\0' && *s != '/'; s++) {
			if (*s != '~') {
				*t++ = *s;
				continue;
			}
			if (s[1] == '0')
				*t++ = '~';
			else if (s[1] == '1')
				*t++ = '/';
			else {
				*cause = auth_printf("JSON pointer '%s' has a bad '~' escape",
				    text);
				free(tok);
				auth_pointer_free(p);
				return NULL;
			}
			s++;
		}
		*t = '\0';
		p->tokens = auth_realloc(p->tokens, (p->ntokens + 1) * sizeof *p->tokens);
		p->tokens[p->ntokens++] = tok;
	}
	return p;
}

/* Free a pointer. */
void
auth_pointer_free(struct auth_pointer *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ntokens; i++)
		free(p->tokens[i]);
	free(p->tokens);
	free(p->text);
	free(p);
}

/* Array index of a reference token: digits without leading zeros, or -1. */
static long
auth_pointer_index(const char *tok)
{
	long	v = 0;

	if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return -1;
	for (; *tok != '\0'; tok++) {
		if (*tok < '0' || *tok > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*tok - '0');
	}
	return v;
}

/* Resolve p in a jansson tree. */
json_t *
auth_pointer_get(json_t *root, const struct auth_pointer *p)
{
	json_t	*cur = root;
	size_t	 i;
	long	 idx;

	for (i = 0; cur != NULL && i < p->ntokens; i++) {
		if (json_is_object(cur))
			cur = json_object_get(cur, p->tokens[i]);
		else if (json_is_array(cur)) {
			idx = auth_pointer_index(p->tokens[i]);
			cur = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
		} else
			cur = NULL;
	}
	return cur;
}

/* Skip whitespace from i. */
static size_t
auth_json_ws(const char *b, size_t len, size_t i)
{
	while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
		i++;
	return i;
}

/* Skip a string starting at its opening quote; returns index after it. */
static size_t
auth_json_skip_string(const char *b, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (b[i] == '\\')
			i++;
		else if (b[i] == '"')
			return i + 1;
	}
	return len;
}

/* Skip one value of valid JSON starting at i; returns index after it. */
static size_t
auth_json_skip_value(const char *b, size_t len, size_t i)
{
	size_t	depth = 0;

	do {
		if (i >= len)
			return len;
		switch (b[i]) {
		case '"':
			i = auth_json_skip_string(b, len, i);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		default:
			if (depth == 0) {	/* scalar at top: number or literal */
				while (i < len && strchr(",}] \t\r\n", b[i]) == NULL)
					i++;
				return i;
			}
		}
		i++;
	} while (depth > 0);
	return i;
}

/*
 * Compare the JSON string at b[i] (its opening quote) with the plain
 * token tok, decoding escapes; sets *end past the closing quote.
 */
static int
auth_json_key_equals(const char *b, size_t len, size_t i, const char *tok, size_t *end)
{
	size_t	 j = auth_json_skip_string(b, len, i);
	json_t	*s;
	int	 eq;

	*end = j;
	if (memchr(b + i + 1, '\\', j - i - 2) == NULL) {
		return j - i - 2 == strlen(tok) &&
		    memcmp(b + i + 1, tok, j - i - 2) == 0;
	}
	/* Escaped key: let jansson decode it (rare). */
	s = json_loadb(b + i, j - i, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	eq = s != NULL && json_string_length(s) == strlen(tok) &&
	    memcmp(json_string_value(s), tok, strlen(tok)) == 0;
	json_decref(s);
	return eq;
}

/* Step into the member or element tok of the container at b[i]. */
static int
auth_json_step(const char *b, size_t len, size_t *i, const char *tok)
{
	size_t	 j = *i, end;
	long	 idx, k;

	if (b[j] == '{') {
		j = auth_json_ws(b, len, j + 1);
		while (j < len && b[j] == '"') {
			int	match = auth_json_key_equals(b, len, j, tok, &end);

			j = auth_json_ws(b, len, end);	/* at ':' */
			j = auth_json_ws(b, len, j + 1);
			if (match) {
				*i = j;
				return 0;
			}
			j = auth_json_ws(b, len, auth_json_skip_value(b, len, j));
			if (j < len && b[j] == ',')
				j = auth_json_ws(b, len, j + 1);
		}
		return -1;
	}
	if (b[j] == '[') {
		if ((idx = auth_pointer_index(tok)) < 0)
			return -1;
		j = auth_json_ws(b, len, j + 1);
		for (k = 0; j < len && b[j] != ']'; k++) {
			if (k == idx) {
				*i = j;
				return 0;
			}
			j = auth_json_ws(b, len, auth_json_skip_value(b, len, j));
			if (j < len && b[j] == ',')
				j = auth_json_ws(b, len, j + 1);
		}
	}
	return -1;
}

/* Raw byte span of the value p names. */
int
auth_json_span(const char *b, size_t len, const struct auth_pointer *p,
    size_t *off, size_t *n)
{
	size_t	i = auth_json_ws(b, len, 0), t;

	for (t = 0; t < p->ntokens; t++) {
		if (i >= len || auth_json_step(b, len, &i, p->tokens[t]) != 0)
			return -1;
	}
	if (i >= len)
		return -1;
	*off = i;
	*n = auth_json_skip_value(b, len, i) - i;
	return 0;
}

/* Nesting depth, stopping once it exceeds max. */
size_t
auth_json_depth(const char *b, size_t len, size_t max)
{
	size_t	i, depth = 0, deepest = 0;

	for (i = 0; i < len; i++) {
		switch (b[i]) {
		case '"':
			i = auth_json_skip_string(b, len, i) - 1;
			break;
		case '{':
		case '[':
			if (++depth > deepest && (deepest = depth) > max)
				return deepest;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return deepest;
}

/* Strict parse: depth first, then jansson with duplicates rejected. */
json_t *
auth_json_parse(const char *buf, size_t len, size_t max_depth, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*j;
	size_t		 depth;

	if ((depth = auth_json_depth(buf, len, max_depth)) > max_depth) {
		snprintf(err, errlen, "JSON nested deeper than %zu levels", max_depth);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (j == NULL)
		snprintf(err, errlen, "%s at byte %d", je.text, je.position);
	return j;
}
