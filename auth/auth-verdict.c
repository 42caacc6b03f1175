/*
 * auth/auth-verdict.c -- verdicts: the ordered trace and the JSON form.
 *
 * A verdict owns its strings in a small arena (one allocation for the
 * common case) so judging an event costs few mallocs on the hot path.
 * The JSON form is written by hand for the same reason; only the decoded
 * header and claims go through jansson's dumper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "auth-int.h"

/* The first arena block, allocated with the verdict; most verdicts need
   no other (an RS256 token alone takes some 750 bytes of it). */
#define AUTH_ARENA_FIRST	2048

/* A verdict and its first arena block, allocated together. */
struct verdict_block {
	struct auth_verdict	v;
	struct auth_arena	a;
	char			data[AUTH_ARENA_FIRST];
};

/* A new, passing-so-far verdict for subject. */
struct auth_verdict *
auth_verdict_new(const char *subject)
{
	struct verdict_block	*vb = auth_malloc(sizeof *vb);
	struct auth_verdict	*v = &vb->v;

	memset(v, 0, offsetof(struct auth_verdict, checks));
	v->nchecks = v->nwarnings = 0;
	v->has_replay_key = 0;
	v->key = NULL;
	v->snap = NULL;
	v->reason = AUTH_OK;
	vb->a.next = NULL;
	vb->a.used = 0;
	vb->a.cap = AUTH_ARENA_FIRST;
	v->arena = &vb->a;
	v->subject = auth_verdict_strndup(v, subject ? subject : "",
	    subject ? strlen(subject) : 0);
	return v;
}

/* A failing verdict for input that is not a message. */
struct auth_verdict *
auth_verdict_rejected(const char *subject, const char *check, const char *detail)
{
	struct auth_verdict	*v = auth_verdict_new(subject);

	auth_verdict_fail(v, AUTH_MALFORMED_MESSAGE,
	    auth_verdict_strndup(v, check, strlen(check)),
	    auth_verdict_strndup(v, detail, strlen(detail)), NULL, NULL);
	return v;
}

/* Room for n bytes in the arena. */
static char *
auth_arena_alloc(struct auth_verdict *v, size_t n)
{
	struct auth_arena	*a = v->arena;
	size_t			 cap;
	char			*p;

	if (a == NULL || a->cap - a->used < n) {
		cap = n > AUTH_ARENA_FIRST ? n : AUTH_ARENA_FIRST;
		a = auth_malloc(sizeof *a + cap);
		a->next = v->arena;
		a->used = 0;
		a->cap = cap;
		v->arena = a;
	}
	p = a->data + a->used;
	a->used += n;
	return p;
}

/* Room for n bytes in the verdict's arena, for the caller to fill. */
char *
auth_verdict_alloc(struct auth_verdict *v, size_t n)
{
	return auth_arena_alloc(v, n);
}

/* Copy n bytes into the arena. */
const char *
auth_verdict_strndup(struct auth_verdict *v, const char *s, size_t n)
{
	char	*p = auth_arena_alloc(v, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* printf into the arena. */
const char *
auth_verdict_printf(struct auth_verdict *v, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return "";
	if ((size_t)n < sizeof small)
		return auth_verdict_strndup(v, small, (size_t)n);
	p = auth_arena_alloc(v, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Append a check to the trace. */
void
auth_verdict_check_add(struct auth_verdict *v, const char *check,
    enum auth_check_state state, const char *detail, const char *expected,
    const char *actual)
{
	struct auth_check	*c;

	if (v->nchecks == AUTH_MAX_CHECKS)
		return;
	c = &v->checks[v->nchecks++];
	c->check = check;
	c->state = state;
	c->detail = detail ? detail : "";
	c->expected = expected;
	c->actual = actual;
}

/* Fail the verdict at check. */
void
auth_verdict_fail(struct auth_verdict *v, enum auth_reason reason, const char *check,
    const char *detail, const char *expected, const char *actual)
{
	auth_verdict_check_add(v, check, AUTH_CHECK_FAIL, detail, expected, actual);
	if (!v->failed) {
		v->failed = 1;
		v->reason = reason;
	}
}

/* Add a warning (static or arena string). */
void
auth_verdict_warn(struct auth_verdict *v, const char *w)
{
	if (v->nwarnings < AUTH_MAX_WARNINGS)
		v->warnings[v->nwarnings++] = w;
}

/* Free a verdict and the arena blocks it grew (the first lives inside it). */
void
auth_verdict_free(struct auth_verdict *v)
{
	struct verdict_block	*vb = (struct verdict_block *)v;
	struct auth_arena	*a, *next;

	if (v == NULL)
		return;
	for (a = v->arena; a != NULL && a != &vb->a; a = next) {
		next = a->next;
		free(a);
	}
	json_decref(v->header);
	json_decref(v->claims);
	auth_snapshot_release(v->snap);
	free(vb);
}

int
auth_verdict_pass(const struct auth_verdict *v)
{
	return !v->failed;
}

enum auth_reason
auth_verdict_reason(const struct auth_verdict *v)
{
	return v->reason;
}

const char *
auth_verdict_subject(const struct auth_verdict *v)
{
	return v->subject;
}

const char *
auth_verdict_rule(const struct auth_verdict *v)
{
	return v->rule ? v->rule->name : NULL;
}

const char *
auth_verdict_alg(const struct auth_verdict *v)
{
	return v->alg;
}

const char *
auth_verdict_kid(const struct auth_verdict *v)
{
	return v->kid;
}

const char *
auth_verdict_token(const struct auth_verdict *v)
{
	return v->token;
}

const char *
auth_verdict_event_id(const struct auth_verdict *v)
{
	return v->event_id;
}

/* A jansson tree of already-validated JSON text, or NULL. */
static json_t *
verdict_tree(const char *text, size_t len)
{
	return text != NULL ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
}

/* The header as a tree, built on first use (verdicts are used by one thread
   at a time, so the cache needs no lock). */
json_t *
auth_verdict_header(const struct auth_verdict *cv)
{
	struct auth_verdict	*v = (struct auth_verdict *)cv;

	if (v->header == NULL)
		v->header = verdict_tree(v->header_text, v->header_len);
	return v->header;
}

/* The claims as a tree, built on first use. */
json_t *
auth_verdict_claims(const struct auth_verdict *cv)
{
	struct auth_verdict	*v = (struct auth_verdict *)cv;

	if (v->claims == NULL)
		v->claims = verdict_tree(v->claims_text, v->claims_len);
	return v->claims;
}

size_t
auth_verdict_check_count(const struct auth_verdict *v)
{
	return v->nchecks;
}

const struct auth_check *
auth_verdict_check(const struct auth_verdict *v, size_t i)
{
	return i < v->nchecks ? &v->checks[i] : NULL;
}

size_t
auth_verdict_warning_count(const struct auth_verdict *v)
{
	return v->nwarnings;
}

const char *
auth_verdict_warning(const struct auth_verdict *v, size_t i)
{
	return i < v->nwarnings ? v->warnings[i] : NULL;
}

/* ---- JSON form ---------------------------------------------------------- */

/* A growable output buffer, written back to the caller's at the end. */
struct jbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

/* Make room for n more bytes (and a final NUL). */
static void
jbuf_grow(struct jbuf *b, size_t n)
{
	size_t	cap = b->cap ? b->cap : 1024;

	while (cap - b->len < n + 1)
		cap *= 2;
	b->buf = auth_realloc(b->buf, cap);
	b->cap = cap;
}

/* Append n bytes. */
static inline void
jbuf_add(struct jbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1)
		jbuf_grow(b, n);
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

/* Append a C string. */
static void
jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_add(b, s, strlen(s));
}

/* Append a string literal, its length known at compile time. */
#define JBUF_LIT(b, lit)	jbuf_add((b), (lit), sizeof(lit) - 1)

/* Bytes that go out as they are inside a JSON string: printable ASCII
   other than '"' and '\\'.  Everything else takes the slow path. */
static const unsigned char jbuf_plain[256] = {
	['\x20'] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1,
	['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1,
	['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1,
	['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
	['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
	['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1,
	['}'] = 1, ['~'] = 1,
};

#ifdef __SSE2__
/* Bit i set when byte i of v is not plain: '"', '\\', DEL, below 0x20
   (NUL included) or 0x80 and above (the signed compare catches those). */
static inline unsigned int
jbuf_special16(__m128i v)
{
	return (unsigned int)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), _mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)))));
}

#define JBUF_PAGE	4096	/* no page is smaller: a load within one never faults */

/*
 * Copy the plain bytes (jbuf_plain) that start the NUL-terminated s to w,
 * 16 at a time, with room bytes of room at w; returns how many there were
 * (s[return] is the NUL or the first byte that needs a closer look).
 * One pass does what strlen, memcpy and a check would do in three.  Whole
 * blocks are loaded, so up to 15 bytes after the NUL are read, but only
 * within the page that holds it: where a block would cross into the next
 * page it stops early, and the caller's byte loop goes on from there.  The
 * bytes past the NUL are masked off and never used; AddressSanitizer, which
 * cannot tell, does not watch this function.
 */
__attribute__((no_sanitize_address)) static size_t
jbuf_copy_plain(char *w, const char *s, size_t room)
{
	size_t		i;
	unsigned int	mask;
	__m128i		v;

	for (i = 0; room - i >= 16 &&
	    ((uintptr_t)(s + i) & (JBUF_PAGE - 1)) <= JBUF_PAGE - 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		_mm_storeu_si128((__m128i *)(void *)(w + i), v);
		if ((mask = jbuf_special16(v)) != 0)
			return i + (size_t)__builtin_ctz(mask);
	}
	return i;
}
#else
/* Copy the plain bytes (jbuf_plain) that start s to w (room bytes of room);
   returns how many there were. */
static size_t
jbuf_copy_plain(char *w, const char *s, size_t room)
{
	size_t	i = 0;

	while (i < room && jbuf_plain[(unsigned char)s[i]]) {
		w[i] = s[i];
		i++;
	}
	return i;
}
#endif

/*
 * Append the rest of a JSON string whose first n bytes of str (plain) are
 * already out, and the closing quote: control characters escaped, bytes
 * that are not UTF-8 turned into U+FFFD so the line stays valid JSON.
 */
static __attribute__((noinline)) void
jbuf_string_rest(struct jbuf *b, const char *str, size_t n)
{
	const unsigned char	*p;
	const unsigned char	*run;
	char			 esc[13];
	uint32_t		 cp;
	size_t			 k;

	for (p = (const unsigned char *)str + n;;) {
		for (run = p; jbuf_plain[*p]; p++)
			;
		jbuf_add(b, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p >= 0x80 && (k = auth_utf8_seq(p, 4)) > 0) {
			/* C1 controls, U+2028/9, bidi controls and invisible
			   characters are escaped like C0 ones. */
			if (auth_utf8_escaped(p, k, &cp) > 0)
				jbuf_add(b, esc, auth_json_escape_cp(esc, cp));
			else
				jbuf_add(b, (const char *)p, k);
			p += k;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			jbuf_add(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			jbuf_add(b, esc, 6);
		} else
			jbuf_add(b, "\\ufffd", 6);
		p++;
	}
	jbuf_add(b, "\"", 1);
}

/*
 * Append s as a JSON string.  The common case (short, nothing to escape)
 * is copied and checked in one pass, here; the rest goes out of line.
 */
static inline void
jbuf_string(struct jbuf *b, const char *str)
{
	char	*out;
	size_t	 n;

	if (b->cap - b->len < 128)
		jbuf_grow(b, 127);
	out = b->buf + b->len;
	out[0] = '"';
	n = jbuf_copy_plain(out + 1, str, b->cap - b->len - 3);
	if (str[n] == '\0') {
		out[n + 1] = '"';
		b->len += n + 2;
		return;
	}
	b->len += 1 + n;
	jbuf_string_rest(b, str, n);
}

/* Append ,"key":"value" (or null); key is plain ASCII. */
static void
jbuf_member(struct jbuf *b, const char *key, const char *value)
{
	jbuf_add(b, ",\"", 2);
	jbuf_puts(b, key);
	jbuf_add(b, "\":", 2);
	if (value != NULL)
		jbuf_string(b, value);
	else
		jbuf_add(b, "null", 4);
}

/*
 * Whether text[0..len) holds any byte with which auth_json_unsafe() starts
 * a finding: a C0 control but tab, DEL, or a lead byte of a character it
 * escapes (0xc2, 0xcd, 0xd8, 0xe1, 0xe2, 0xe3, 0xef, 0xf0, 0xf3; see
 * auth_hidden_ranges in auth-util.c).  A quick filter: most texts
 * hold none, and then need no closer look.
 */
#ifdef __SSE2__
/* Whether any of the 16 bytes of v starts such a finding. */
static inline int
jbuf_maybe_unsafe16(__m128i v)
{
	__m128i	ctl, lead;

	/* v <= 0x1f, unsigned, and not a tab */
	ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
	    _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
	lead = _mm_or_si128(_mm_or_si128(
	    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xc2))),
	    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xd8)),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe1)))),
	    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe2)),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xef))),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xf3))));
	lead = _mm_or_si128(lead, _mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xcd)),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xe3))),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xf0))));
	return _mm_movemask_epi8(_mm_or_si128(ctl, lead)) != 0;
}

static int
jbuf_maybe_unsafe(const char *text, size_t len)
{
	unsigned char	pad[16];
	size_t		i;

	for (i = 0; len - i >= 16; i += 16) {
		if (jbuf_maybe_unsafe16(_mm_loadu_si128((const __m128i *)(const void *)
		    (text + i))))
			return 1;
	}
	if (i == len)
		return 0;
	/* The tail, in a copy padded with a byte that is never a finding. */
	memset(pad, 'a', sizeof pad);
	memcpy(pad, text + i, len - i);
	return jbuf_maybe_unsafe16(_mm_loadu_si128((const __m128i *)(const void *)pad));
}
#else
static int
jbuf_maybe_unsafe(const char *text, size_t len)
{
	static const unsigned char	 leads[] = {
		0x7f, 0xc2, 0xcd, 0xd8, 0xe1, 0xe2, 0xe3, 0xef, 0xf0, 0xf3
	};
	const unsigned char		*p = (const unsigned char *)text;
	size_t				 i;

	for (i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\t') || memchr(leads, p[i], sizeof leads) != NULL)
			return 1;
	}
	return 0;
}
#endif

/*
 * Append validated JSON text as a value.  The decoded bytes go out as they
 * are (faithful, and no re-serialization on the hot path) unless they hold
 * a line break or a character a terminal might obey: then re-encoded.
 */
static void
jbuf_raw_json(struct jbuf *b, const char *text, size_t len)
{
	char	*safe;

	if (!jbuf_maybe_unsafe(text, len) || !auth_json_unsafe(text, len)) {
		jbuf_add(b, text, len);
	} else if ((safe = auth_json_safe(text, len)) != NULL) {
		jbuf_puts(b, safe);
		free(safe);
	} else
		JBUF_LIT(b, "null");
}

/* Append ,"key": and validated JSON text, or null. */
static void
jbuf_json(struct jbuf *b, const char *key, const char *text, size_t len)
{
	jbuf_add(b, ",\"", 2);
	jbuf_puts(b, key);
	jbuf_add(b, "\":", 2);
	if (text == NULL)
		JBUF_LIT(b, "null");
	else
		jbuf_raw_json(b, text, len);
}

/* Append the trace. */
static void
jbuf_checks(struct jbuf *b, const struct auth_verdict *v)
{
	size_t	i;

	JBUF_LIT(b, ",\"checks\":[");
	for (i = 0; i < v->nchecks; i++) {
		const struct auth_check	*c = &v->checks[i];

		if (i > 0)
			JBUF_LIT(b, ",{\"check\":");
		else
			JBUF_LIT(b, "{\"check\":");
		jbuf_string(b, c->check);
		if (c->state == AUTH_CHECK_OK)
			JBUF_LIT(b, ",\"ok\":true,\"detail\":");
		else if (c->state == AUTH_CHECK_FAIL)
			JBUF_LIT(b, ",\"ok\":false,\"detail\":");
		else
			JBUF_LIT(b, ",\"ok\":null,\"detail\":");
		jbuf_string(b, c->detail);
		if (c->expected != NULL) {
			JBUF_LIT(b, ",\"expected\":");
			jbuf_string(b, c->expected);
		}
		if (c->actual != NULL) {
			JBUF_LIT(b, ",\"actual\":");
			jbuf_string(b, c->actual);
		}
		JBUF_LIT(b, "}");
	}
	JBUF_LIT(b, "]");
}

/* The registered claims. */
void
auth_verdict_facts(const struct auth_verdict *v, struct auth_facts *f)
{
	*f = v->facts;
}

/* Decoded header text. */
const char *
auth_verdict_header_text(const struct auth_verdict *v, size_t *len)
{
	*len = v->header_len;
	return v->header_text;
}

/* Decoded claims text. */
const char *
auth_verdict_claims_text(const struct auth_verdict *v, size_t *len)
{
	*len = v->claims_len;
	return v->claims_text;
}

/* Copy a jbuf's result back to the caller's growable buffer. */
static void
jbuf_done(struct jbuf *b, char **buf, size_t *len, size_t *cap)
{
	if (b->cap - b->len < 1)
		jbuf_grow(b, 1);
	b->buf[b->len] = '\0';
	*buf = b->buf;
	*len = b->len;
	*cap = b->cap;
}

/* The trace alone, as a JSON array. */
int
auth_verdict_checks_json(const struct auth_verdict *v, char **buf, size_t *len, size_t *cap)
{
	struct jbuf	b = { *buf, *len, *cap };

	jbuf_checks(&b, v);
	/* jbuf_checks writes ,"checks":[...]; keep only the array. */
	memmove(b.buf + *len, b.buf + *len + 10, b.len - *len - 10);
	b.len -= 10;
	jbuf_done(&b, buf, len, cap);
	return 0;
}

/* The warnings, as a JSON array. */
int
auth_verdict_warnings_json(const struct auth_verdict *v, char **buf, size_t *len, size_t *cap)
{
	struct jbuf	b = { *buf, *len, *cap };
	size_t		i;

	JBUF_LIT(&b, "[");
	for (i = 0; i < v->nwarnings; i++) {
		if (i)
			JBUF_LIT(&b, ",");
		jbuf_string(&b, v->warnings[i]);
	}
	JBUF_LIT(&b, "]");
	jbuf_done(&b, buf, len, cap);
	return 0;
}

/* The verdict's JSON form (DESIGN §2), one line. */
int
auth_verdict_json(const struct auth_verdict *v, char **buf, size_t *len, size_t *cap)
{
	struct jbuf	b = { *buf, *len, *cap };
	size_t		i;

	if (b.cap - b.len < 1024 + v->header_len + v->claims_len)
		jbuf_grow(&b, 1024 + v->header_len + v->claims_len);
	jbuf_puts(&b, v->failed ? "{\"verdict\":\"fail\"" : "{\"verdict\":\"pass\"");
	jbuf_member(&b, "reason", auth_reason_name(v->reason));
	jbuf_member(&b, "subject", v->subject);
	jbuf_member(&b, "rule", v->rule ? v->rule->name : NULL);
	jbuf_member(&b, "alg", v->alg);
	jbuf_member(&b, "kid", v->kid);
	if (v->snap != NULL)
		jbuf_member(&b, "keyset", v->snap->fingerprint);
	jbuf_add(&b, ",\"event_id\":", 12);
	if (v->event_id != NULL)
		jbuf_raw_json(&b, v->event_id, strlen(v->event_id));
	else
		JBUF_LIT(&b, "null");
	jbuf_json(&b, "header", v->header_text, v->header_len);
	jbuf_json(&b, "claims", v->claims_text, v->claims_len);
	jbuf_checks(&b, v);
	if (v->nwarnings > 0) {
		jbuf_puts(&b, ",\"warnings\":[");
		for (i = 0; i < v->nwarnings; i++) {
			if (i)
				jbuf_add(&b, ",", 1);
			jbuf_string(&b, v->warnings[i]);
		}
		jbuf_add(&b, "]", 1);
	}
	jbuf_add(&b, "}", 1);
	b.buf[b.len] = '\0';
	*buf = b.buf;
	*len = b.len;
	*cap = b.cap;
	return 0;
}
