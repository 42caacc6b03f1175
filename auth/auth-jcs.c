/*
 * auth/auth-jcs.c -- RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * A small recursive-descent parser that writes the canonical form as it
 * reads: no whitespace, strings in the ECMAScript JSON.stringify spelling,
 * numbers as ECMAScript Number.prototype.toString of their double, and
 * object members sorted by name compared as UTF-16 code units.
 *
 * DESIGN
 *
 * The parser is our own rather than jansson's so that every I-JSON rule is
 * checked in one place: UTF-8 is validated byte by byte (no overlongs, no
 * encoded surrogates, nothing above U+10FFFF), a \u escape of a surrogate
 * must be a high half followed by a low half, member names may hold
 * U+0000, duplicate names are refused after unescaping, and nesting stops
 * at AUTH_JCS_MAX_DEPTH.
 *
 * An object's members are written one after another into the output, each
 * span remembered with its unescaped name; at the closing brace the spans
 * are sorted, checked for duplicates and written back in order with commas.
 * That copies each level once, which is cheap for the small documents
 * (JWK, policies, claims) this is used on.
 *
 * Numbers never meet the locale's decimal point: the text is rewritten as
 * "<digits>e<exponent>" before strtod(3), and the digits of snprintf's
 * "%.*e" are picked out without looking at the separator.  The shortest
 * round-trip digits come from trying precisions 1 to 17.  At a power of
 * two the interval of decimals that read back to the same double is
 * lopsided, so the nearest p-digit decimal may miss while the one a unit
 * above it reads back (2^-1017 is 7.120236347223045e-307, not the 17
 * digits of "%.16e"); ECMAScript wants the shorter one, so it is tried too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

#define AUTH_JCS_MAX_DEPTH	1000

/* A growing output buffer. */
struct auth_jcs_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* One object member: its unescaped name and its span in the output. */
struct auth_jcs_member {
	char	*name;
	size_t	 name_len;
	size_t	 at;		/* input offset of the name, for messages */
	size_t	 start;		/* span of "name":value in the output */
	size_t	 end;
};

/* Parser state. */
struct auth_jcs {
	const unsigned char	*s;
	size_t			 len;
	size_t			 off;
	struct auth_jcs_buf	 out;
	struct auth_jcs_buf	 str;	/* scratch: the last unescaped string */
	char			*cause;
};

static int	auth_jcs_value(struct auth_jcs *, unsigned int);

/* Make room for n more bytes. */
static void
auth_jcs_reserve(struct auth_jcs_buf *b, size_t n)
{
	size_t	cap;

	if (b->cap - b->len > n)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	b->p = auth_realloc(b->p, cap);
	b->cap = cap;
}

/* Append n bytes. */
static void
auth_jcs_add(struct auth_jcs_buf *b, const void *p, size_t n)
{
	auth_jcs_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Append one byte. */
static void
auth_jcs_addc(struct auth_jcs_buf *b, int c)
{
	auth_jcs_reserve(b, 1);
	b->p[b->len++] = (char)c;
}

/* Set the error message once, for the byte at off. */
static int
auth_jcs_fail(struct auth_jcs *j, size_t off, const char *what)
{
	if (j->cause == NULL)
		j->cause = auth_printf("%s at byte %zu", what, off);
	return -1;
}

/* Skip JSON whitespace. */
static void
auth_jcs_space(struct auth_jcs *j)
{
	while (j->off < j->len) {
		switch (j->s[j->off]) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			j->off++;
			break;
		default:
			return;
		}
	}
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t
auth_jcs_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return 0;
	if (n < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return need + 1;
}

/* Append code point cp as UTF-8. */
static void
auth_jcs_put_utf8(struct auth_jcs_buf *b, unsigned long cp)
{
	if (cp < 0x80)
		auth_jcs_addc(b, (int)cp);
	else if (cp < 0x800) {
		auth_jcs_addc(b, (int)(0xc0 | (cp >> 6)));
		auth_jcs_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		auth_jcs_addc(b, (int)(0xe0 | (cp >> 12)));
		auth_jcs_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		auth_jcs_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		auth_jcs_addc(b, (int)(0xf0 | (cp >> 18)));
		auth_jcs_addc(b, (int)(0x80 | ((cp >> 12) & 0x3f)));
		auth_jcs_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		auth_jcs_addc(b, (int)(0x80 | (cp & 0x3f)));
	}
}

/* Read the four hex digits of a \u escape at off; -1 if not hex. */
static long
auth_jcs_hex4(struct auth_jcs *j, size_t off)
{
	long	v = 0;
	size_t	i;
	int	c;

	if (j->len - off < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = j->s[off + i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	return v;
}

/* Parse the string at off (on its quote) into j->str, unescaped. */
static int
auth_jcs_string(struct auth_jcs *j)
{
	size_t		 start = j->off, n;
	unsigned char	 c;
	long		 cp, lo;

	j->str.len = 0;
	j->off++;
	for (;;) {
		if (j->off >= j->len)
			return auth_jcs_fail(j, start, "unterminated string");
		c = j->s[j->off];
		if (c == '"') {
			j->off++;
			break;
		}
		if (c < 0x20)
			return auth_jcs_fail(j, j->off,
			    "control character in string");
		if (c >= 0x80) {
			n = auth_jcs_utf8_len(j->s + j->off, j->len - j->off);
			if (n == 0)
				return auth_jcs_fail(j, j->off, "invalid UTF-8");
			auth_jcs_add(&j->str, j->s + j->off, n);
			j->off += n;
			continue;
		}
		if (c != '\\') {
			auth_jcs_addc(&j->str, c);
			j->off++;
			continue;
		}
		if (j->off + 1 >= j->len)
			return auth_jcs_fail(j, start, "unterminated string");
		switch (j->s[j->off + 1]) {
		case '"':
		case '\\':
		case '/':
			auth_jcs_addc(&j->str, j->s[j->off + 1]);
			break;
		case 'b':
			auth_jcs_addc(&j->str, '\b');
			break;
		case 'f':
			auth_jcs_addc(&j->str, '\f');
			break;
		case 'n':
			auth_jcs_addc(&j->str, '\n');
			break;
		case 'r':
			auth_jcs_addc(&j->str, '\r');
			break;
		case 't':
			auth_jcs_addc(&j->str, '\t');
			break;
		case 'u':
			if ((cp = auth_jcs_hex4(j, j->off + 2)) == -1)
				return auth_jcs_fail(j, j->off,
				    "invalid \\u escape");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return auth_jcs_fail(j, j->off,
				    "lone low surrogate escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->len - j->off < 12 ||
				    j->s[j->off + 6] != '\\' ||
				    j->s[j->off + 7] != 'u' ||
				    (lo = auth_jcs_hex4(j, j->off + 8)) < 0xdc00 ||
				    lo > 0xdfff)
					return auth_jcs_fail(j, j->off,
					    "lone high surrogate escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				j->off += 6;
			}
			auth_jcs_put_utf8(&j->str, (unsigned long)cp);
			j->off += 4;
			break;
		default:
			return auth_jcs_fail(j, j->off, "invalid escape");
		}
		j->off += 2;
	}
	return 0;
}

/* Write the unescaped string s[0..n) in its JCS spelling. */
static void
auth_jcs_put_string(struct auth_jcs_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;
	unsigned char		 c;

	auth_jcs_addc(b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		switch (c) {
		case '"':
			auth_jcs_add(b, "\\\"", 2);
			break;
		case '\\':
			auth_jcs_add(b, "\\\\", 2);
			break;
		case '\b':
			auth_jcs_add(b, "\\b", 2);
			break;
		case '\f':
			auth_jcs_add(b, "\\f", 2);
			break;
		case '\n':
			auth_jcs_add(b, "\\n", 2);
			break;
		case '\r':
			auth_jcs_add(b, "\\r", 2);
			break;
		case '\t':
			auth_jcs_add(b, "\\t", 2);
			break;
		default:
			if (c < 0x20) {
				auth_jcs_add(b, "\\u00", 4);
				auth_jcs_addc(b, hex[c >> 4]);
				auth_jcs_addc(b, hex[c & 15]);
			} else
				auth_jcs_addc(b, c);
			break;
		}
	}
	auth_jcs_addc(b, '"');
}

/* Decode the code point at s[*i] (valid UTF-8) and step past it. */
static unsigned long
auth_jcs_next_cp(const unsigned char *s, size_t *i)
{
	unsigned long	cp = s[*i];
	size_t		n, k;

	if (cp < 0x80) {
		(*i)++;
		return cp;
	}
	if (cp < 0xe0) {
		n = 1;
		cp &= 0x1f;
	} else if (cp < 0xf0) {
		n = 2;
		cp &= 0x0f;
	} else {
		n = 3;
		cp &= 0x07;
	}
	for (k = 1; k <= n; k++)
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	*i += n + 1;
	return cp;
}

/* The first UTF-16 code unit of cp. */
static unsigned long
auth_jcs_unit(unsigned long cp)
{
	if (cp < 0x10000)
		return cp;
	return 0xd800 + ((cp - 0x10000) >> 10);
}

/* qsort(3) order of members: names as arrays of UTF-16 code units. */
static int
auth_jcs_cmp(const void *va, const void *vb)
{
	const struct auth_jcs_member	*a = va, *b = vb;
	const unsigned char		*sa = (const unsigned char *)a->name;
	const unsigned char		*sb = (const unsigned char *)b->name;
	size_t				 i = 0, k = 0;
	unsigned long			 ca, cb, ua, ub;

	while (i < a->name_len && k < b->name_len) {
		ca = auth_jcs_next_cp(sa, &i);
		cb = auth_jcs_next_cp(sb, &k);
		if (ca == cb)
			continue;
		ua = auth_jcs_unit(ca);
		ub = auth_jcs_unit(cb);
		if (ua == ub) {
			/* Same high surrogate: the low ones follow cp order. */
			ua = ca;
			ub = cb;
		}
		return ua < ub ? -1 : 1;
	}
	if (i < a->name_len)
		return 1;
	if (k < b->name_len)
		return -1;
	return 0;
}

/*
 * Build "<digits>e<exp>" from the p digits d and decimal exponent e of
 * d[0].d[1..] x 10^e, and read it back.  No decimal point, so no locale.
 */
static double
auth_jcs_read_back(const char *d, int p, int e)
{
	char	buf[64];

	snprintf(buf, sizeof buf, "%.*se%d", p, d, e - (p - 1));
	return strtod(buf, NULL);
}

/* Write the finite double v as ECMAScript Number::toString would. */
static void
auth_jcs_put_number(struct auth_jcs_buf *b, double v)
{
	char	 tmp[64], d[32], up[32];
	char	*cp;
	int	 p, k, e = 0, n, i;

	if (v == 0) {
		auth_jcs_addc(b, '0');	/* -0 too */
		return;
	}
	if (signbit(v)) {
		auth_jcs_addc(b, '-');
		v = -v;
	}

	/* Shortest digits that read back to v; 17 always do. */
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
		k = 0;
		for (cp = tmp; *cp != 'e' && *cp != '\0'; cp++) {
			if (*cp >= '0' && *cp <= '9')
				d[k++] = *cp;
		}
		d[k] = '\0';
		e = (int)strtol(cp + 1, NULL, 10);
		if (p == 17 || auth_jcs_read_back(d, p, e) == v)
			break;

		/* The decimal a unit above, for the lopsided interval. */
		memcpy(up, d, (size_t)p + 1);
		for (i = p - 1; i >= 0 && up[i] == '9'; i--)
			up[i] = '0';
		if (i >= 0)
			up[i]++;
		else
			up[0] = '1';	/* 9.9 -> 10: exponent up */
		if (auth_jcs_read_back(up, p, i >= 0 ? e : e + 1) == v) {
			memcpy(d, up, (size_t)p + 1);
			if (i < 0)
				e++;
			break;
		}
	}

	/* k digits, v = 0.d x 10^n, as in ECMA-262 Number::toString. */
	k = p;
	while (k > 1 && d[k - 1] == '0')
		k--;
	n = e + 1;
	if (k <= n && n <= 21) {
		auth_jcs_add(b, d, (size_t)k);
		for (i = 0; i < n - k; i++)
			auth_jcs_addc(b, '0');
	} else if (0 < n && n <= 21) {
		auth_jcs_add(b, d, (size_t)n);
		auth_jcs_addc(b, '.');
		auth_jcs_add(b, d + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		auth_jcs_add(b, "0.", 2);
		for (i = 0; i < -n; i++)
			auth_jcs_addc(b, '0');
		auth_jcs_add(b, d, (size_t)k);
	} else {
		auth_jcs_addc(b, d[0]);
		if (k > 1) {
			auth_jcs_addc(b, '.');
			auth_jcs_add(b, d + 1, (size_t)(k - 1));
		}
		snprintf(tmp, sizeof tmp, "e%c%d", n - 1 < 0 ? '-' : '+',
		    abs(n - 1));
		auth_jcs_add(b, tmp, strlen(tmp));
	}
}

/* Parse the number at off and write its canonical form. */
static int
auth_jcs_number(struct auth_jcs *j)
{
	struct auth_jcs_buf	 t = { NULL, 0, 0 };
	size_t			 start = j->off, nfrac = 0;
	long long		 exp = 0, adj;
	int			 neg = 0, eneg = 0, nonzero = 0;
	char			 tail[32];
	double			 v;
	unsigned char		 c;

	if (j->s[j->off] == '-') {
		neg = 1;
		j->off++;
	}
	if (j->off >= j->len || j->s[j->off] < '0' || j->s[j->off] > '9')
		return auth_jcs_fail(j, start, "invalid number");
	if (neg)
		auth_jcs_addc(&t, '-');

	/* Integer part; a leading 0 stands alone. */
	if (j->s[j->off] == '0')
		j->off++;
	else {
		while (j->off < j->len &&
		    (c = j->s[j->off]) >= '0' && c <= '9') {
			if (c != '0' || nonzero) {
				auth_jcs_addc(&t, c);
				nonzero = 1;
			}
			j->off++;
		}
	}
	if (j->off < j->len && j->s[j->off] >= '0' && j->s[j->off] <= '9')
		goto bad;

	/* Fraction: its digits join the others and move the exponent. */
	if (j->off < j->len && j->s[j->off] == '.') {
		j->off++;
		if (j->off >= j->len || j->s[j->off] < '0' ||
		    j->s[j->off] > '9')
			goto bad;
		while (j->off < j->len &&
		    (c = j->s[j->off]) >= '0' && c <= '9') {
			if (c != '0' || nonzero) {
				auth_jcs_addc(&t, c);
				nonzero = 1;
			}
			nfrac++;
			j->off++;
		}
	}

	/* Exponent, saturated far beyond any double. */
	if (j->off < j->len && (j->s[j->off] == 'e' || j->s[j->off] == 'E')) {
		j->off++;
		if (j->off < j->len &&
		    (j->s[j->off] == '+' || j->s[j->off] == '-')) {
			eneg = j->s[j->off] == '-';
			j->off++;
		}
		if (j->off >= j->len || j->s[j->off] < '0' ||
		    j->s[j->off] > '9')
			goto bad;
		while (j->off < j->len &&
		    (c = j->s[j->off]) >= '0' && c <= '9') {
			if (exp < 1000000000LL)
				exp = exp * 10 + (c - '0');
			j->off++;
		}
		if (eneg)
			exp = -exp;
	}

	if (!nonzero) {
		free(t.p);
		auth_jcs_addc(&j->out, '0');
		return 0;
	}
	if (nfrac > 1000000000)
		nfrac = 1000000000;
	adj = exp - (long long)nfrac;
	snprintf(tail, sizeof tail, "e%lld", adj);
	auth_jcs_add(&t, tail, strlen(tail) + 1);
	v = strtod(t.p, NULL);
	free(t.p);
	if (!isfinite(v))
		return auth_jcs_fail(j, start, "number out of range");
	auth_jcs_put_number(&j->out, v);
	return 0;

bad:
	free(t.p);
	return auth_jcs_fail(j, start, "invalid number");
}

/* Parse the object at off (on its brace) and write it sorted. */
static int
auth_jcs_object(struct auth_jcs *j, unsigned int depth)
{
	struct auth_jcs_member	*m = NULL;
	size_t			 n = 0, cap = 0, i, first;
	char			*copy = NULL;
	int			 rc = -1;

	j->off++;
	auth_jcs_addc(&j->out, '{');
	first = j->out.len;
	auth_jcs_space(j);
	if (j->off < j->len && j->s[j->off] == '}') {
		j->off++;
		auth_jcs_addc(&j->out, '}');
		return 0;
	}
	for (;;) {
		auth_jcs_space(j);
		if (j->off >= j->len || j->s[j->off] != '"') {
			auth_jcs_fail(j, j->off, "expected member name");
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			m = auth_realloc(m, cap * sizeof *m);
		}
		m[n].at = j->off;
		if (auth_jcs_string(j) != 0)
			goto out;
		m[n].name = auth_malloc(j->str.len);
		if (j->str.len != 0)
			memcpy(m[n].name, j->str.p, j->str.len);
		m[n].name_len = j->str.len;
		m[n].start = j->out.len;
		n++;
		auth_jcs_put_string(&j->out, j->str.p, j->str.len);

		auth_jcs_space(j);
		if (j->off >= j->len || j->s[j->off] != ':') {
			auth_jcs_fail(j, j->off, "expected ':'");
			goto out;
		}
		j->off++;
		auth_jcs_addc(&j->out, ':');
		if (auth_jcs_value(j, depth) != 0)
			goto out;
		m[n - 1].end = j->out.len;

		auth_jcs_space(j);
		if (j->off < j->len && j->s[j->off] == ',') {
			j->off++;
			continue;
		}
		if (j->off < j->len && j->s[j->off] == '}') {
			j->off++;
			break;
		}
		auth_jcs_fail(j, j->off, "expected ',' or '}'");
		goto out;
	}

	qsort(m, n, sizeof *m, auth_jcs_cmp);
	for (i = 1; i < n; i++) {
		if (auth_jcs_cmp(&m[i - 1], &m[i]) == 0) {
			auth_jcs_fail(j, m[i - 1].at > m[i].at ?
			    m[i - 1].at : m[i].at, "duplicate member name");
			goto out;
		}
	}

	/* Write the members back in order, with commas. */
	copy = auth_malloc(j->out.len - first);
	memcpy(copy, j->out.p + first, j->out.len - first);
	j->out.len = first;
	for (i = 0; i < n; i++) {
		if (i > 0)
			auth_jcs_addc(&j->out, ',');
		auth_jcs_add(&j->out, copy + (m[i].start - first),
		    m[i].end - m[i].start);
	}
	auth_jcs_addc(&j->out, '}');
	rc = 0;

out:
	for (i = 0; i < n; i++)
		free(m[i].name);
	free(m);
	free(copy);
	return rc;
}

/* Parse the array at off (on its bracket). */
static int
auth_jcs_array(struct auth_jcs *j, unsigned int depth)
{
	j->off++;
	auth_jcs_addc(&j->out, '[');
	auth_jcs_space(j);
	if (j->off < j->len && j->s[j->off] == ']') {
		j->off++;
		auth_jcs_addc(&j->out, ']');
		return 0;
	}
	for (;;) {
		if (auth_jcs_value(j, depth) != 0)
			return -1;
		auth_jcs_space(j);
		if (j->off < j->len && j->s[j->off] == ',') {
			j->off++;
			auth_jcs_addc(&j->out, ',');
			continue;
		}
		if (j->off < j->len && j->s[j->off] == ']') {
			j->off++;
			auth_jcs_addc(&j->out, ']');
			return 0;
		}
		return auth_jcs_fail(j, j->off, "expected ',' or ']'");
	}
}

/* Parse the literal word at off. */
static int
auth_jcs_literal(struct auth_jcs *j, const char *word)
{
	size_t	n = strlen(word);

	if (j->len - j->off < n || memcmp(j->s + j->off, word, n) != 0)
		return auth_jcs_fail(j, j->off, "invalid literal");
	j->off += n;
	auth_jcs_add(&j->out, word, n);
	return 0;
}

/* Parse one value, with depth containers already open around it. */
static int
auth_jcs_value(struct auth_jcs *j, unsigned int depth)
{
	auth_jcs_space(j);
	if (j->off >= j->len)
		return auth_jcs_fail(j, j->off, "unexpected end of input");
	switch (j->s[j->off]) {
	case '{':
	case '[':
		if (depth >= AUTH_JCS_MAX_DEPTH)
			return auth_jcs_fail(j, j->off,
			    "nesting deeper than 1000");
		if (j->s[j->off] == '{')
			return auth_jcs_object(j, depth + 1);
		return auth_jcs_array(j, depth + 1);
	case '"':
		if (auth_jcs_string(j) != 0)
			return -1;
		auth_jcs_put_string(&j->out, j->str.p, j->str.len);
		return 0;
	case 't':
		return auth_jcs_literal(j, "true");
	case 'f':
		return auth_jcs_literal(j, "false");
	case 'n':
		return auth_jcs_literal(j, "null");
	default:
		if (j->s[j->off] == '-' ||
		    (j->s[j->off] >= '0' && j->s[j->off] <= '9'))
			return auth_jcs_number(j);
		return auth_jcs_fail(j, j->off, "unexpected character");
	}
}

/* Canonicalize json[0..len) per RFC 8785. */
char *
auth_jcs(const char *json, size_t len, size_t *out_len, char **cause)
{
	struct auth_jcs	j;

	memset(&j, 0, sizeof j);
	j.s = (const unsigned char *)json;
	j.len = len;
	if (auth_jcs_value(&j, 0) != 0)
		goto fail;
	auth_jcs_space(&j);
	if (j.off != j.len) {
		auth_jcs_fail(&j, j.off, "trailing data");
		goto fail;
	}
	free(j.str.p);
	auth_jcs_addc(&j.out, '\0');
	*out_len = j.out.len - 1;
	return j.out.p;

fail:
	free(j.str.p);
	free(j.out.p);
	*cause = j.cause;
	return NULL;
}
