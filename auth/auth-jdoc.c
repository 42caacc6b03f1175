/*
 * auth/auth-jdoc.c -- a strict JSON tokenizer for the hot path.
 *
 * DESIGN: jansson builds a tree of allocated nodes and copies every
 * string; at 60,000 events a second per core that is most of the budget.
 * jdoc_parse() makes one pass over the text and writes fixed-size tokens
 * into an array that lives inside struct jdoc, so a typical event costs
 * no allocation.  Nothing is decoded: tokens hold byte offsets and a
 * string is unescaped only when someone asks for it.
 *
 * The parser is a loop over three states (a value is due, a member name
 * is due, a value just ended) with no recursion.  An open object or
 * array keeps its parent's index in its skip field; closing it restores
 * the parent and sets skip for real, so no stack is needed at any depth.
 *
 * Strictness is jansson's (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), on
 * purpose down to its number limits (integers must fit int64_t, other
 * numbers must not overflow a double), so a text this file accepts is
 * one the rest of auth/ can hand to jansson.  tests/unit/test-jdoc.c
 * checks that against jansson itself.  The differences: depth (the
 * caller's max_depth here, a fixed 2048 levels counting scalars in
 * jansson), and jansson 2.14 silently drops a NUL byte right after a
 * number or a literal ("[1\0]" loads as [1]), which is refused here.
 *
 * Duplicate names are looked for when an object closes: pairwise for up
 * to JDOC_SMALL members (raw bytes compared when neither name is
 * escaped), otherwise by a stable merge sort of the names, so that huge
 * objects cost O(n log n) whatever their names are (a hash would let an
 * attacker choose colliding names).  So when a text has several faults,
 * the one reported may not be the first in the text.
 */
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "auth-int.h"
#include "auth-jdoc.h"

#define JDOC_NONE	UINT32_MAX	/* parent of the top level */
#define JDOC_SMALL	16		/* objects checked pairwise */
#define JDOC_KEYSHOW	40		/* bytes of a name in a message */
#define JDOC_EXPCAP	1000000000000000LL	/* exponents saturate here */
#define JDOC_MANT	(UINT64_C(1) << 53)	/* largest exact mantissa */

#define JDOC_ONES	UINT64_C(0x0101010101010101)
#define JDOC_HIGHS	UINT64_C(0x8080808080808080)

/* Bytes that stand for themselves in strings: printable ASCII but '"', '\'. */
static const uint8_t jdoc_plain[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20 */ 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	/* 0x60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x80 - 0xff: 0 */
};

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
/* Powers of ten that a double holds exactly. */
static const double jdoc_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};
#endif

/* A number as 0.DIGITS x 10^exp, DIGITS from first to last, skipping '.'. */
struct jdoc_dec {
	const unsigned char	*first;
	const unsigned char	*last;
	int64_t			 exp;
	int			 neg;
	int			 zero;
	int			 huge;		/* exponent saturated */
};

/* A reader of the decoded bytes of a string's contents. */
struct jdoc_rd {
	const unsigned char	*p;
	const unsigned char	*e;
	unsigned char		 b[4];
	unsigned int		 nb;
	unsigned int		 ib;
};

/* Two values to compare in jdoc_equal(). */
struct jdoc_pair {
	uint32_t	 a;
	uint32_t	 b;
};

static pthread_once_t	 jdoc_c_once = PTHREAD_ONCE_INIT;
static locale_t		 jdoc_c_locale;

/* Whether c is a decimal digit. */
static inline int
jdoc_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Whether c is JSON whitespace. */
static inline int
jdoc_space(int c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Value of four hex digits at p, or -1. */
static int
jdoc_hex4(const unsigned char *p)
{
	int	i, c, v = 0;

	for (i = 0; i < 4; i++) {
		c = p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | c;
	}
	return v;
}

/* Whether tok is a token of d. */
static inline int
jdoc_valid(const struct jdoc *d, int tok)
{
	return tok >= 0 && (size_t)tok < d->ntoks;
}

/* Make the C locale for strtod_l(). */
static void
jdoc_c_init(void)
{
	jdoc_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* strtod() of the number p[0..n) in the C locale. */
static double
jdoc_strtod(const unsigned char *p, size_t n)
{
	char	 buf[128], *s = buf;
	double	 v;

	if (n >= sizeof buf)
		s = auth_malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	pthread_once(&jdoc_c_once, jdoc_c_init);
	if (jdoc_c_locale != (locale_t)0)
		v = strtod_l(s, NULL, jdoc_c_locale);
	else
		v = strtod(s, NULL);
	if (s != buf)
		free(s);
	return v;
}

/* Split the valid number p[0..n) into its decimal parts. */
static void
jdoc_dec(const unsigned char *p, size_t n, struct jdoc_dec *dc)
{
	const unsigned char	*e = p + n, *me, *dot = NULL, *q;
	int64_t			 x = 0;
	int			 xneg = 0;

	memset(dc, 0, sizeof *dc);
	if (*p == '-') {
		dc->neg = 1;
		p++;
	}
	for (me = p; me < e && *me != 'e' && *me != 'E'; me++) {
		if (*me == '.')
			dot = me;
	}
	if (me < e) {
		q = me + 1;
		if (*q == '+' || *q == '-')
			xneg = *q++ == '-';
		for (; q < e; q++) {
			x = x * 10 + (*q - '0');
			if (x > JDOC_EXPCAP) {
				x = JDOC_EXPCAP;
				dc->huge = 1;
			}
		}
		if (xneg)
			x = -x;
	}
	if (dot == NULL)
		dot = me;
	for (q = p; q < me && (*q == '0' || *q == '.'); q++)
		continue;
	if (q == me) {
		dc->zero = 1;
		return;
	}
	dc->first = q;
	if (q < dot)
		dc->exp = (dot - q) + x;
	else
		dc->exp = x - (q - dot - 1);
	for (q = me - 1; *q == '0' || *q == '.'; q--)
		continue;
	dc->last = q;
}

/* Whether the valid real number p[0..n) overflows a double, as in jansson. */
static int
jdoc_overflows(const unsigned char *p, size_t n)
{
	struct jdoc_dec	dc;
	double		v;

	jdoc_dec(p, n, &dc);
	if (dc.zero || dc.exp <= 308)		/* below 10^308 */
		return 0;
	if (dc.exp >= 310)			/* at least 10^309 */
		return 1;
	v = jdoc_strtod(p, n);
	return v > DBL_MAX || v < -DBL_MAX;
}

#ifdef __SSE2__
/* Bit i set when byte i of v ends a string's plain run: '"', '\\', below
   0x20, or 0x80 and above (the signed compare catches those). */
static inline unsigned int
jdoc_special16(__m128i v)
{
	return (unsigned int)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
}
#endif

/*
 * Scan the string whose opening quote is at s[start]; set *escaped if it
 * holds an escape.  Returns the offset past its closing quote, or 0 with
 * *why and *at.
 */
static size_t
jdoc_scan_string(const unsigned char *s, size_t len, size_t start,
    uint8_t *escaped, const char **why, size_t *at)
{
	size_t		i = start + 1, n, k;
	uint64_t	x, q, b, z;
	unsigned int	c, lo, hi;
	int		u, u2;
#ifdef __SSE2__
	__m128i		v;
	int		mask;
#endif

	for (;;) {
		/* Skip all but '"', '\', < 0x20 and >= 0x80 in bulk. */
#ifdef __SSE2__
		while (len - i >= 16) {
			v = _mm_loadu_si128((const __m128i *)(s + i));
			mask = (int)jdoc_special16(v);
			if (mask != 0) {
				i += __builtin_ctz(mask);
				goto special;
			}
			i += 16;
		}
#endif
		while (len - i >= 8) {
			memcpy(&x, s + i, 8);
			q = x ^ (JDOC_ONES * '"');
			b = x ^ (JDOC_ONES * '\\');
			z = ((q - JDOC_ONES) & ~q) | ((b - JDOC_ONES) & ~b) |
			    ((x - JDOC_ONES * 0x20) & ~x) | x;
			if (z & JDOC_HIGHS)
				break;
			i += 8;
		}
		while (i < len && jdoc_plain[s[i]])
			i++;
#ifdef __SSE2__
special:
#endif
		if (i >= len) {
			*why = "unterminated string";
			*at = start;
			return 0;
		}
		c = s[i];
		if (c == '"')
			return i + 1;
		*at = i;
		if (c == '\\') {
			*escaped = 1;
			if (len - i < 2) {
				*why = "unterminated string";
				*at = start;
				return 0;
			}
			switch (s[i + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				continue;
			case 'u':
				break;
			default:
				*why = "invalid escape";
				return 0;
			}
			if (len - i < 6 || (u = jdoc_hex4(s + i + 2)) < 0) {
				*why = "invalid \\u escape";
				return 0;
			}
			if (u == 0) {
				*why = "\\u0000 not allowed";
				return 0;
			}
			if (u >= 0xdc00 && u <= 0xdfff) {
				*why = "lone low surrogate";
				return 0;
			}
			if (u < 0xd800 || u > 0xdbff) {
				i += 6;
				continue;
			}
			if (len - i < 12 || s[i + 6] != '\\' ||
			    s[i + 7] != 'u' ||
			    (u2 = jdoc_hex4(s + i + 8)) < 0xdc00 ||
			    u2 > 0xdfff) {
				*why = "lone high surrogate";
				return 0;
			}
			i += 12;
			continue;
		}
		if (c < 0x20) {
			*why = "control character in string";
			return 0;
		}

		/* UTF-8 as in Unicode's table 3-7 (no overlong forms). */
		*why = "invalid UTF-8";
		if (c < 0xc2 || c > 0xf4)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		if (c < 0xe0)
			n = 2;
		else if (c < 0xf0) {
			n = 3;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else {
			n = 4;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		}
		if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		}
		i += n;
	}
}

/*
 * jdoc_scan_string() for the common case, inline: a string whose closing
 * quote is among the next 16 bytes with nothing before it to look at (most
 * keys and short values).  Anything else goes the long way.
 */
static inline size_t
jdoc_scan_string_fast(const unsigned char *s, size_t len, size_t start,
    uint8_t *escaped, const char **why, size_t *at)
{
#ifdef __SSE2__
	__m128i		v;
	unsigned int	mask;

	if (len - start > 16) {
		v = _mm_loadu_si128((const __m128i *)(s + start + 1));
		mask = jdoc_special16(v);
		if (mask != 0 && s[start + 1 + (unsigned int)__builtin_ctz(mask)] == '"')
			return start + 2 + (unsigned int)__builtin_ctz(mask);
	}
#endif
	return jdoc_scan_string(s, len, start, escaped, why, at);
}

/*
 * Scan the number at s[start]; set *real if it has a fraction or an
 * exponent.  Returns the offset past it, or 0 with *why and *at.
 */
static size_t
jdoc_scan_number(const unsigned char *s, size_t len, size_t start,
    uint8_t *real, const char **why, size_t *at)
{
	size_t	i = start, j, k;
	int	neg, exp = 0;

	*at = start;
	*why = "invalid number";
	if ((neg = s[i] == '-'))
		i++;
	j = i;
	if (i >= len || !jdoc_digit(s[i]))
		return 0;
	if (s[i] == '0') {
		if (++i < len && jdoc_digit(s[i])) {
			*why = "leading zero in number";
			return 0;
		}
	} else {
		while (++i < len && jdoc_digit(s[i]))
			continue;
	}
	k = i - j;
	if (i < len && s[i] == '.') {
		*real = 1;
		if (++i >= len || !jdoc_digit(s[i]))
			return 0;
		while (++i < len && jdoc_digit(s[i]))
			continue;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		*real = 1;
		exp = 1;
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !jdoc_digit(s[i]))
			return 0;
		while (++i < len && jdoc_digit(s[i]))
			continue;
	}
	if (!*real) {
		if (k > 19 || (k == 19 && memcmp(s + j, neg ?
		    "9223372036854775808" : "9223372036854775807", 19) > 0)) {
			*why = "integer out of range";
			return 0;
		}
	} else if ((exp || k > 308) && jdoc_overflows(s + start, i - start)) {
		*why = "number out of range";
		return 0;
	}
	return i;
}

/* Code point of the valid escape at *pp, which is moved past it. */
static uint32_t
jdoc_unescape(const unsigned char **pp)
{
	const unsigned char	*p = *pp + 1;
	uint32_t		 cp;

	switch (*p++) {
	case 'b':
		cp = '\b';
		break;
	case 'f':
		cp = '\f';
		break;
	case 'n':
		cp = '\n';
		break;
	case 'r':
		cp = '\r';
		break;
	case 't':
		cp = '\t';
		break;
	case 'u':
		cp = (uint32_t)jdoc_hex4(p);
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) +
			    ((uint32_t)jdoc_hex4(p + 2) - 0xdc00);
			p += 6;
		}
		break;
	default:				/* '"', '\' or '/' */
		cp = p[-1];
		break;
	}
	*pp = p;
	return cp;
}

/* Write cp as UTF-8 to out; returns the length. */
static unsigned int
jdoc_utf8(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | cp >> 12;
		out[1] = 0x80 | (cp >> 6 & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | cp >> 18;
	out[1] = 0x80 | (cp >> 12 & 0x3f);
	out[2] = 0x80 | (cp >> 6 & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Start reading the contents of string token t of d. */
static void
jdoc_rd_init(struct jdoc_rd *r, const struct jdoc *d, const struct jdoc_tok *t)
{
	r->p = (const unsigned char *)d->text + t->start + 1;
	r->e = (const unsigned char *)d->text + t->end - 1;
	r->nb = r->ib = 0;
}

/* Next decoded byte, or -1 at the end. */
static inline int
jdoc_rd_next(struct jdoc_rd *r)
{
	if (r->ib < r->nb)
		return r->b[r->ib++];
	if (r->p >= r->e)
		return -1;
	if (*r->p != '\\')
		return *r->p++;
	r->nb = jdoc_utf8(jdoc_unescape(&r->p), r->b);
	r->ib = 1;
	return r->b[0];
}

/* Decode the valid contents p[0..n) into out (room for n); returns its size. */
static size_t
jdoc_decode(const unsigned char *p, size_t n, char *out)
{
	const unsigned char	*e = p + n, *bs;
	unsigned char		*o = (unsigned char *)out;

	while (p < e) {
		if ((bs = memchr(p, '\\', e - p)) == NULL)
			bs = e;
		memcpy(o, p, bs - p);
		o += bs - p;
		p = bs;
		if (p < e)
			o += jdoc_utf8(jdoc_unescape(&p), o);
	}
	return o - (unsigned char *)out;
}

/* Compare the decoded string tokens a of da and b of db like memcmp(). */
static int
jdoc_strcmp(const struct jdoc *da, uint32_t a, const struct jdoc *db,
    uint32_t b)
{
	const struct jdoc_tok	*ta = &da->toks[a], *tb = &db->toks[b];
	struct jdoc_rd		 ra, rb;
	size_t			 la, lb;
	int			 r, x, y;

	if (!ta->escaped && !tb->escaped) {
		la = ta->end - ta->start - 2;
		lb = tb->end - tb->start - 2;
		r = memcmp(da->text + ta->start + 1, db->text + tb->start + 1,
		    la < lb ? la : lb);
		if (r != 0)
			return r;
		return (la > lb) - (la < lb);
	}
	jdoc_rd_init(&ra, da, ta);
	jdoc_rd_init(&rb, db, tb);
	do {
		x = jdoc_rd_next(&ra);
		y = jdoc_rd_next(&rb);
	} while (x == y && x != -1);
	return x - y;
}

/* Whether member names a and b of d are the same, raw bytes first. */
static inline int
jdoc_key_eq(const struct jdoc *d, uint32_t a, uint32_t b)
{
	const struct jdoc_tok	*ta = &d->toks[a], *tb = &d->toks[b];
	uint32_t		 n = ta->end - ta->start;

	if (!ta->escaped && !tb->escaped) {
		/* n counts both quotes; the first byte inside settles most pairs. */
		return n == tb->end - tb->start && (n == 2 ||
		    (d->text[ta->start + 1] == d->text[tb->start + 1] &&
		    memcmp(d->text + ta->start + 1, d->text + tb->start + 1, n - 2) == 0));
	}
	return jdoc_strcmp(d, a, d, b) == 0;
}

/* Sort the name tokens v[0..n) of d stably by decoded name; tmp holds n. */
static void
jdoc_sort_keys(const struct jdoc *d, uint32_t *v, uint32_t *tmp, size_t n)
{
	uint32_t	*src = v, *dst = tmp, *sw;
	size_t		 w, lo, mid, hi, a, b, k;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			a = lo;
			b = mid;
			k = lo;
			while (a < mid && b < hi) {
				if (jdoc_strcmp(d, src[b], d, src[a]) < 0)
					dst[k++] = src[b++];
				else
					dst[k++] = src[a++];
			}
			while (a < mid)
				dst[k++] = src[a++];
			while (b < hi)
				dst[k++] = src[b++];
		}
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
}

/* Collect the name tokens of object o of d into v, in document order. */
static void
jdoc_keys(const struct jdoc *d, uint32_t o, uint32_t *v)
{
	uint32_t	i, k = o + 1;

	for (i = 0; i < d->toks[o].count; i++) {
		v[i] = k;
		k = d->toks[k + 1].skip;
	}
}

/*
 * Look for duplicate names in the closed object o of d.  Returns 0, or
 * -1 with *dup set to the first name (in document order) seen before.
 */
static int
jdoc_dups(const struct jdoc *d, uint32_t o, uint32_t *dup)
{
	uint32_t	 small[JDOC_SMALL], *v, n = d->toks[o].count, i, j;
	int		 found = 0;

	if (n <= JDOC_SMALL) {
		jdoc_keys(d, o, small);
		for (j = 1; j < n; j++) {
			for (i = 0; i < j; i++) {
				if (jdoc_key_eq(d, small[i], small[j])) {
					*dup = small[j];
					return -1;
				}
			}
		}
		return 0;
	}

	/* Stable sort: equal names stay in document order. */
	v = auth_malloc(2 * (size_t)n * sizeof *v);
	jdoc_keys(d, o, v);
	jdoc_sort_keys(d, v, v + n, n);
	for (i = 1; i < n; i++) {
		if (jdoc_strcmp(d, v[i - 1], d, v[i]) == 0 &&
		    (!found || v[i] < *dup)) {
			*dup = v[i];
			found = 1;
		}
	}
	free(v);
	return found ? -1 : 0;
}

/* Double the token array; NULL when it may not grow (INT_MAX tokens). */
static struct jdoc_tok *
jdoc_grow(struct jdoc *d)
{
	struct jdoc_tok	*toks;
	size_t		 cap;

	if (d->cap >= INT_MAX)
		return NULL;
	cap = d->cap * 2 < INT_MAX ? d->cap * 2 : INT_MAX;
	if (d->toks == d->inline_toks) {
		toks = auth_malloc(cap * sizeof *toks);
		memcpy(toks, d->inline_toks, d->cap * sizeof *toks);
	} else
		toks = auth_realloc(d->toks, cap * sizeof *toks);
	d->toks = toks;
	d->cap = cap;
	return toks;
}

/* Fail a parse: release d and write the reason to err. */
static int __attribute__((format(printf, 4, 5)))
jdoc_fail(struct jdoc *d, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	jdoc_release(d);
	return -1;
}

/* Fail a parse on a duplicate name, quoting it as written. */
static int
jdoc_fail_dup(struct jdoc *d, uint32_t k, char *err, size_t errlen)
{
	const struct jdoc_tok	*t = &d->toks[k];
	const char		*p = d->text + t->start + 1;
	size_t			 n = t->end - t->start - 2;
	uint32_t		 at = t->start;
	const char		*more = "";

	if (n > JDOC_KEYSHOW) {
		n = JDOC_KEYSHOW;
		/* Cut at a character boundary. */
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
		more = "...";
	}
	return jdoc_fail(d, err, errlen, "duplicate key '%.*s%s' at byte %lu",
	    (int)n, p, more, (unsigned long)at);
}

/* Parse text[0..len) strictly into d. */
int
jdoc_parse(struct jdoc *d, const char *text, size_t len, size_t max_depth,
    char *err, size_t errlen)
{
	const unsigned char	*s = (const unsigned char *)text;
	struct jdoc_tok		*toks, *t;
	const char		*why;
	size_t			 i = 0, at = 0, depth = 0, cap;
	uint32_t		 ntoks = 0, cur = JDOC_NONE, parent, dup = 0;
	int			 c, obj;

	d->text = text;
	d->len = len;
	d->toks = toks = d->inline_toks;
	d->ntoks = 0;
	d->cap = cap = JDOC_INLINE;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > UINT32_MAX) {
		return jdoc_fail(d, err, errlen,
		    "document longer than 4 GiB - 1 (%zu bytes)", len);
	}

value:
	while (i < len && jdoc_space(s[i]))
		i++;
	if (i >= len)
		goto eof;
	if (ntoks == cap) {
		if ((toks = jdoc_grow(d)) == NULL)
			goto toomany;
		cap = d->cap;
	}
	t = &toks[ntoks];
	t->start = i;
	t->escaped = t->real = 0;
	t->count = 0;
	switch (c = s[i]) {
	case '{':
	case '[':
		if (++depth > max_depth) {
			return jdoc_fail(d, err, errlen,
			    "nested deeper than %zu at byte %zu", max_depth, i);
		}
		t->type = c == '{' ? JDOC_OBJECT : JDOC_ARRAY;
		t->skip = cur;
		cur = ntoks++;
		i++;
		while (i < len && jdoc_space(s[i]))
			i++;
		if (i < len && s[i] == c + 2) {		/* '}' or ']' */
			i++;
			goto close;
		}
		if (c == '{')
			goto key;
		goto value;
	case '"':
		t->type = JDOC_STRING;
		i = jdoc_scan_string_fast(s, len, i, &t->escaped, &why, &at);
		if (i == 0)
			goto bad;
		break;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		t->type = JDOC_NUMBER;
		i = jdoc_scan_number(s, len, i, &t->real, &why, &at);
		if (i == 0)
			goto bad;
		break;
	case 't':
		if (len - i < 4 || memcmp(s + i, "true", 4) != 0)
			goto literal;
		t->type = JDOC_TRUE;
		i += 4;
		break;
	case 'f':
		if (len - i < 5 || memcmp(s + i, "false", 5) != 0)
			goto literal;
		t->type = JDOC_FALSE;
		i += 5;
		break;
	case 'n':
		if (len - i < 4 || memcmp(s + i, "null", 4) != 0)
			goto literal;
		t->type = JDOC_NULL;
		i += 4;
		break;
	default:
		goto unexpected;
	}
	t->end = i;
	t->skip = ++ntoks;
	goto next;

key:
	if (i >= len)
		goto eof;
	if (s[i] != '"') {
		why = "expected string key";
		at = i;
		goto bad;
	}
	if (ntoks == cap) {
		if ((toks = jdoc_grow(d)) == NULL)
			goto toomany;
		cap = d->cap;
	}
	t = &toks[ntoks];
	t->type = JDOC_STRING;
	t->start = i;
	t->escaped = t->real = 0;
	t->count = 0;
	i = jdoc_scan_string_fast(s, len, i, &t->escaped, &why, &at);
	if (i == 0)
		goto bad;
	t->end = i;
	t->skip = ++ntoks;
	while (i < len && jdoc_space(s[i]))
		i++;
	if (i >= len)
		goto eof;
	if (s[i] != ':') {
		why = "expected ':'";
		at = i;
		goto bad;
	}
	i++;
	goto value;

next:
	if (cur == JDOC_NONE)
		goto done;
	toks[cur].count++;
	obj = toks[cur].type == JDOC_OBJECT;
	while (i < len && jdoc_space(s[i]))
		i++;
	if (i >= len)
		goto eof;
	if (s[i] == ',') {
		i++;
		while (i < len && jdoc_space(s[i]))
			i++;
		if (obj)
			goto key;
		goto value;
	}
	if (s[i] != (obj ? '}' : ']')) {
		why = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		at = i;
		goto bad;
	}
	i++;

close:
	t = &toks[cur];
	t->end = i;
	parent = t->skip;
	t->skip = ntoks;
	if (t->type == JDOC_OBJECT && t->count > 1 &&
	    jdoc_dups(d, cur, &dup) != 0)
		return jdoc_fail_dup(d, dup, err, errlen);
	depth--;
	cur = parent;
	goto next;

done:
	while (i < len && jdoc_space(s[i]))
		i++;
	if (i < len) {
		return jdoc_fail(d, err, errlen, "trailing garbage at byte %zu",
		    i);
	}
	d->ntoks = ntoks;
	return 0;

eof:
	return jdoc_fail(d, err, errlen, "unexpected end of input at byte %zu",
	    len);
literal:
	return jdoc_fail(d, err, errlen, "invalid literal at byte %zu", i);
unexpected:
	if (c > 0x20 && c < 0x7f) {
		return jdoc_fail(d, err, errlen, "unexpected '%c' at byte %zu",
		    c, i);
	}
	return jdoc_fail(d, err, errlen, "unexpected byte 0x%02x at byte %zu",
	    c, i);
toomany:
	return jdoc_fail(d, err, errlen, "too many values at byte %zu", i);
bad:
	return jdoc_fail(d, err, errlen, "%s at byte %zu", why, at);
}

/* Whether text[0..len) is one JSON value, parsed as strictly as tokens are
   (no duplicate keys); for text read back from a file someone may edit. */
int
auth_json_valid(const char *text, size_t len)
{
	struct jdoc	d;
	int		ok;

	d.toks = NULL;
	d.cap = 0;
	/* The parser keeps no stack: depth costs nothing here. */
	ok = jdoc_parse(&d, text, len, (size_t)1 << 20, NULL, 0) == 0;
	jdoc_release(&d);
	return ok;
}

/* Free the token array if it is not the inline one. */
void
jdoc_release(struct jdoc *d)
{
	if (d->toks != NULL && d->toks != d->inline_toks)
		free(d->toks);
	d->toks = d->inline_toks;
	d->ntoks = 0;
	d->cap = JDOC_INLINE;
}

/* Find member name of object obj. */
int
jdoc_member(const struct jdoc *d, int obj, const char *name)
{
	size_t		 n = strlen(name);
	uint32_t	 i, k;

	if (!jdoc_valid(d, obj) || d->toks[obj].type != JDOC_OBJECT)
		return -1;
	k = obj + 1;
	for (i = 0; i < d->toks[obj].count; i++) {
		if (jdoc_key_is(d, (int)k, name, n))
			return k + 1;
		k = d->toks[k + 1].skip;
	}
	return -1;
}

/* Find element i of array arr. */
int
jdoc_element(const struct jdoc *d, int arr, size_t i)
{
	uint32_t	k;

	if (!jdoc_valid(d, arr) || d->toks[arr].type != JDOC_ARRAY ||
	    i >= d->toks[arr].count)
		return -1;
	for (k = arr + 1; i > 0; i--)
		k = d->toks[k].skip;
	return k;
}

/* Array index of a pointer token: digits without leading zeros, or -1. */
static long
jdoc_index(const char *tok)
{
	long	v = 0;

	if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return -1;
	for (; *tok != '\0'; tok++) {
		if (!jdoc_digit(*tok) || v > INT_MAX / 10)
			return -1;
		v = v * 10 + (*tok - '0');
	}
	return v;
}

/* Resolve pointer p from root. */
int
jdoc_pointer(const struct jdoc *d, int root, const struct auth_pointer *p)
{
	size_t	i;
	long	idx;
	int	cur = root;

	if (!jdoc_valid(d, root))
		return -1;
	for (i = 0; i < p->ntokens && cur >= 0; i++) {
		switch (d->toks[cur].type) {
		case JDOC_OBJECT:
			cur = jdoc_member(d, cur, p->tokens[i]);
			break;
		case JDOC_ARRAY:
			idx = jdoc_index(p->tokens[i]);
			cur = idx < 0 ? -1 : jdoc_element(d, cur, idx);
			break;
		default:
			cur = -1;
			break;
		}
	}
	return cur;
}

/* Decoded copy of string tok. */
char *
jdoc_strdup(const struct jdoc *d, int tok, size_t *n)
{
	const struct jdoc_tok	*t;
	char			*out;
	size_t			 len;

	if (!jdoc_valid(d, tok) || d->toks[tok].type != JDOC_STRING)
		return NULL;
	t = &d->toks[tok];
	out = auth_malloc(t->end - t->start - 1);
	len = jdoc_decode((const unsigned char *)d->text + t->start + 1,
	    t->end - t->start - 2, out);
	out[len] = '\0';
	if (n != NULL)
		*n = len;
	return out;
}

/* Decode string tok into buf. */
int
jdoc_string_copy(const struct jdoc *d, int tok, char *buf, size_t size,
    size_t *n)
{
	const struct jdoc_tok	*t;
	struct jdoc_rd		 r;
	size_t			 raw, len;

	if (!jdoc_valid(d, tok) || d->toks[tok].type != JDOC_STRING)
		return -1;
	t = &d->toks[tok];
	raw = t->end - t->start - 2;
	if (size <= raw) {
		/* Maybe too small: measure first. */
		len = 0;
		for (jdoc_rd_init(&r, d, t); jdoc_rd_next(&r) != -1; len++)
			continue;
		if (size <= len)
			return -1;
	}
	len = jdoc_decode((const unsigned char *)d->text + t->start + 1, raw,
	    buf);
	buf[len] = '\0';
	if (n != NULL)
		*n = len;
	return 0;
}

/* Whether string tok decodes to s[0..n). */
int
jdoc_string_equals(const struct jdoc *d, int tok, const char *s, size_t n)
{
	const struct jdoc_tok	*t;
	struct jdoc_rd		 r;
	size_t			 raw, i;

	if (!jdoc_valid(d, tok) || d->toks[tok].type != JDOC_STRING)
		return 0;
	t = &d->toks[tok];
	raw = t->end - t->start - 2;
	if (!t->escaped) {
		return raw == n && (n == 0 || (d->text[t->start + 1] == s[0] &&
		    memcmp(d->text + t->start + 1, s, n) == 0));
	}
	if (n >= raw)				/* an escape always shrinks */
		return 0;
	jdoc_rd_init(&r, d, t);
	for (i = 0; i < n; i++) {
		if (jdoc_rd_next(&r) != (unsigned char)s[i])
			return 0;
	}
	return jdoc_rd_next(&r) == -1;
}

/* Value of number tok. */
double
jdoc_number(const struct jdoc *d, int tok)
{
	const struct jdoc_tok	*t;
	const unsigned char	*p, *e;

	if (!jdoc_valid(d, tok) || d->toks[tok].type != JDOC_NUMBER)
		return 0.0;
	t = &d->toks[tok];
	p = (const unsigned char *)d->text + t->start;
	e = (const unsigned char *)d->text + t->end;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	{
		/*
		 * Clinger's fast path: a mantissa below 2^53 and a power of
		 * ten below 10^23 are exact doubles, so one multiplication or
		 * division rounds correctly, just as strtod() does.
		 */
		const unsigned char	*q = p;
		uint64_t		 m = 0;
		int			 neg, e10 = 0, x = 0, xneg = 0;
		double			 v;

		if ((neg = *q == '-'))
			q++;
		for (; q < e && jdoc_digit(*q); q++) {
			if (m > JDOC_MANT / 10)
				goto slow;
			m = m * 10 + (*q - '0');
		}
		if (q < e && *q == '.') {
			for (q++; q < e && jdoc_digit(*q); q++, e10--) {
				if (m > JDOC_MANT / 10 || e10 < -400)
					goto slow;
				m = m * 10 + (*q - '0');
			}
		}
		if (q < e) {			/* 'e' or 'E' */
			if (*++q == '+' || *q == '-')
				xneg = *q++ == '-';
			for (; q < e; q++) {
				if (x > 1000)
					goto slow;
				x = x * 10 + (*q - '0');
			}
			e10 += xneg ? -x : x;
		}
		if (m > JDOC_MANT || e10 < -22 || e10 > 22)
			goto slow;
		v = (double)m;
		v = e10 < 0 ? v / jdoc_pow10[-e10] : v * jdoc_pow10[e10];
		return neg ? -v : v;
	}
slow:
#endif
	return jdoc_strtod(p, e - p);
}

/* Integer value of number tok. */
int
jdoc_int64(const struct jdoc *d, int tok, int64_t *v)
{
	const struct jdoc_tok	*t;
	const char		*p, *e;
	int64_t			 acc = 0;
	int			 neg;

	if (!jdoc_valid(d, tok) || d->toks[tok].type != JDOC_NUMBER ||
	    d->toks[tok].real)
		return -1;
	t = &d->toks[tok];
	p = d->text + t->start;
	e = d->text + t->end;
	if ((neg = *p == '-'))
		p++;
	for (; p < e; p++)		/* negative, to reach INT64_MIN */
		acc = acc * 10 - (*p - '0');
	*v = neg ? acc : -acc;
	return 0;
}

/* Whether numbers a of da and b of db have the same decimal value. */
static int
jdoc_numeq(const struct jdoc *da, uint32_t a, const struct jdoc *db, uint32_t b)
{
	const struct jdoc_tok	*ta = &da->toks[a], *tb = &db->toks[b];
	const unsigned char	*pa, *pb;
	struct jdoc_dec		 x, y;
	size_t			 na, nb;

	pa = (const unsigned char *)da->text + ta->start;
	pb = (const unsigned char *)db->text + tb->start;
	na = ta->end - ta->start;
	nb = tb->end - tb->start;
	if (na == nb && memcmp(pa, pb, na) == 0)
		return 1;
	jdoc_dec(pa, na, &x);
	jdoc_dec(pb, nb, &y);
	if (x.zero || y.zero)
		return x.zero && y.zero;
	/* Exponents beyond 10^15 (tiny values) are equal only as written. */
	if (x.huge || y.huge || x.neg != y.neg || x.exp != y.exp)
		return 0;
	pa = x.first;
	pb = y.first;
	for (;;) {
		if (*pa == '.')
			pa++;
		if (*pb == '.')
			pb++;
		if (*pa != *pb)
			return 0;
		if (pa == x.last || pb == y.last)
			return pa == x.last && pb == y.last;
		pa++;
		pb++;
	}
}

/* Make room for n more pairs on the stack of jdoc_equal(). */
static void
jdoc_pairs_room(struct jdoc_pair **stk, size_t *cap, struct jdoc_pair *inl,
    size_t used, size_t n)
{
	struct jdoc_pair	*p;
	size_t			 want = used + n;

	if (want <= *cap)
		return;
	if (want < *cap * 2)
		want = *cap * 2;
	if (*stk == inl) {
		p = auth_malloc(want * sizeof *p);
		memcpy(p, inl, used * sizeof *p);
	} else
		p = auth_realloc(*stk, want * sizeof *p);
	*stk = p;
	*cap = want;
}

/*
 * Pair the members of objects a of da and b of db (same count) by name,
 * pushing their values; 0 when the names differ.
 */
static int
jdoc_pair_members(const struct jdoc *da, uint32_t a, const struct jdoc *db,
    uint32_t b, struct jdoc_pair *out)
{
	uint32_t	 n = da->toks[a].count, i, j, ka, kb, *va;
	int		 eq = 1;

	if (n <= JDOC_SMALL) {
		ka = a + 1;
		for (i = 0; i < n; i++) {
			kb = b + 1;
			for (j = 0; j < n; j++) {
				if (jdoc_strcmp(da, ka, db, kb) == 0)
					break;
				kb = db->toks[kb + 1].skip;
			}
			if (j == n)
				return 0;
			out[i].a = ka + 1;
			out[i].b = kb + 1;
			ka = da->toks[ka + 1].skip;
		}
		return 1;
	}

	/* Names are unique in each: sorted, they must match one to one. */
	va = auth_malloc(3 * (size_t)n * sizeof *va);
	jdoc_keys(da, a, va);
	jdoc_sort_keys(da, va, va + 2 * (size_t)n, n);
	jdoc_keys(db, b, va + n);
	jdoc_sort_keys(db, va + n, va + 2 * (size_t)n, n);
	for (i = 0; i < n && eq; i++) {
		eq = jdoc_strcmp(da, va[i], db, va[n + i]) == 0;
		out[i].a = va[i] + 1;
		out[i].b = va[n + i] + 1;
	}
	free(va);
	return eq;
}

/* Deep equality, with an explicit stack of pairs still to compare. */
int
jdoc_equal(const struct jdoc *da, int a, const struct jdoc *db, int b)
{
	struct jdoc_pair	 inl[64], *stk = inl, pr;
	const struct jdoc_tok	*ta, *tb;
	size_t			 n = 0, cap = 64;
	uint32_t		 i, x, y;
	int			 eq = 1;

	if (!jdoc_valid(da, a) || !jdoc_valid(db, b))
		return 0;
	stk[n].a = a;
	stk[n++].b = b;
	while (eq && n > 0) {
		pr = stk[--n];
		ta = &da->toks[pr.a];
		tb = &db->toks[pr.b];
		if (ta->type != tb->type) {
			eq = 0;
			break;
		}
		switch (ta->type) {
		case JDOC_STRING:
			eq = jdoc_strcmp(da, pr.a, db, pr.b) == 0;
			break;
		case JDOC_NUMBER:
			eq = jdoc_numeq(da, pr.a, db, pr.b);
			break;
		case JDOC_ARRAY:
			if (ta->count != tb->count) {
				eq = 0;
				break;
			}
			jdoc_pairs_room(&stk, &cap, inl, n, ta->count);
			x = pr.a + 1;
			y = pr.b + 1;
			for (i = 0; i < ta->count; i++) {
				stk[n].a = x;
				stk[n++].b = y;
				x = da->toks[x].skip;
				y = db->toks[y].skip;
			}
			break;
		case JDOC_OBJECT:
			if (ta->count != tb->count) {
				eq = 0;
				break;
			}
			jdoc_pairs_room(&stk, &cap, inl, n, ta->count);
			eq = jdoc_pair_members(da, pr.a, db, pr.b, stk + n);
			n += ta->count;
			break;
		default:				/* true, false, null */
			break;
		}
	}
	if (stk != inl)
		free(stk);
	return eq;
}
