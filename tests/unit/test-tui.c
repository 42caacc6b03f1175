/*
 * tests/unit/test-tui.c -- the console's models without a terminal: safe
 * text against hostile bytes, widths and fitting, the filter language,
 * streams, the event list, layout, detail, status line, help and keys.
 *
 * Widths come from tui/'s own table, so no setlocale() is needed here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "store.h"
#include "tui.h"
#include "unit.h"

#define NOW	((time_t)1795480752)	/* 2026-11-24T00:39:12Z */

/* Whether s is safe text: valid UTF-8, no C0, DEL, C1, bidi or separators. */
static int
is_safe(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i = 0, k;

	while (i < n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if ((k = auth_utf8_seq(p + i, n - i)) == 0)
			return 0;
		if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return 0;				/* C1 */
		if (k == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
		    p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)
			return 0;				/* 2028-202e */
		if (k == 3 && p[i] == 0xe2 && p[i + 1] == 0x81 &&
		    p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			return 0;				/* 2066-2069 */
		i += k;
	}
	return 1;
}

/* tui_text_safe of a byte string, compared with want. */
static int
safe_is(const char *in, size_t len, const char *want)
{
	char	*got = tui_text_safe(in, len);
	int	 ok = strcmp(got, want) == 0 && is_safe(got);

	if (!ok)
		fprintf(stderr, "  safe: got \"%s\", want \"%s\"\n", got, want);
	free(got);
	return ok;
}

/* Terminal attacks come out as visible text. */
static void
test_safe_hostile(void)
{
	CHECK(safe_is("\x1b]2;pwned\x07", 10, "\\e]2;pwned\\x07"));	/* retitle */
	CHECK(safe_is("\x1b[2J", 4, "\\e[2J"));			/* clear */
	CHECK(safe_is("\x1b[31mred", 8, "\\e[31mred"));		/* recolour */
	CHECK(safe_is("a\x9b" "31m", 5, "a\\x9b31m"));		/* raw C1 CSI */
	CHECK(safe_is("a\xc2\x9b" "31m", 6, "a\\u009b31m"));	/* U+009B */
	CHECK(safe_is("\xc2\x85", 2, "\\u0085"));			/* NEL */
	CHECK(safe_is("l1\r\nl2\tx", 8, "l1\\r\\nl2\\tx"));
	CHECK(safe_is("\x7f\x00\x01", 3, "\\x7f\\x00\\x01"));
	CHECK(safe_is("a\\e", 3, "a\\\\e"));			/* no spoofing */
	CHECK(safe_is("\xe2\x80\xa8|\xe2\x80\xa9", 7, "\\u2028|\\u2029"));
	CHECK(safe_is("abc\xe2\x80\xaeslx.exe", 13, "abc\\u202eslx.exe"));
	CHECK(safe_is("\xe2\x81\xa6x\xe2\x81\xa9", 7, "\\u2066x\\u2069"));
	CHECK(safe_is("ad\xe2\x80\x8bmin", 8, "ad\\u200bmin"));	/* zero-width space */
	CHECK(safe_is("admin\xe2\x80\x8d", 8, "admin\\u200d"));	/* zero-width joiner */
	CHECK(safe_is("\xe3\x85\xa4", 3, "\\u3164"));		/* Hangul filler */
	CHECK(safe_is("\xf0\x9d\x85\xb3", 4, "\\U0001d173"));	/* musical format */
	CHECK(safe_is("\xf3\xa0\x80\x81", 4, "\\U000e0001"));	/* tag */
	CHECK(safe_is("\xef\xbf\xbf", 3, "\\uffff"));		/* noncharacter */
}

/* Invalid UTF-8 is shown byte by byte; valid text passes untouched. */
static void
test_safe_utf8(void)
{
	CHECK(safe_is("\xc3\x28", 2, "\\xc3("));			/* bad continuation */
	CHECK(safe_is("\xc0\xaf", 2, "\\xc0\\xaf"));		/* overlong / */
	CHECK(safe_is("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"));	/* surrogate */
	CHECK(safe_is("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"));	/* > U+10FFFF */
	CHECK(safe_is("\xe4\xb8", 2, "\\xe4\\xb8"));		/* truncated */
	CHECK(safe_is("caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80", 17,
	    "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"));
	CHECK(safe_is("e\xcc\x81", 3, "e\xcc\x81"));		/* combining */
	CHECK(safe_is("\xe2\x80\x8d", 3, "\\u200d"));		/* ZWJ escaped */
}

/* Random bytes never give unsafe output. */
static void
test_safe_random(void)
{
	unsigned char	buf[64];
	unsigned int	seed = 7;
	char		*s, *j;
	int		i, k, bad = 0;

	for (i = 0; i < 20000; i++) {
		for (k = 0; k < 64; k++) {
			seed = seed * 1103515245 + 12345;
			buf[k] = (unsigned char)(seed >> 16);
			if (i % 3 == 0 && k % 4 == 0)
				buf[k] = (unsigned char)(0xc2 + (seed >> 24) % 0x2d);
		}
		s = tui_text_safe(buf, sizeof buf);
		j = tui_text_safe_json((const char *)buf, sizeof buf);
		bad += !is_safe(s) || !is_safe(j);
		free(s);
		free(j);
	}
	CHECK(bad == 0);
}

/* Widths: wide CJK and emoji 2, combining 0. */
static void
test_width(void)
{
	CHECK(tui_text_width("abc") == 3);
	CHECK(tui_text_width("\xe4\xb8\xad\xe6\x96\x87") == 4);
	CHECK(tui_text_width("\xf0\x9f\x98\x80") == 2);
	CHECK(tui_text_width("e\xcc\x81") == 1);
	CHECK(tui_text_width("\xef\xbc\xa1") == 2);		/* fullwidth A */
	CHECK(tui_text_width("\xe2\x80\xa6") == 1);
	CHECK(tui_text_cpwidth(0x1b) < 0 && tui_text_cpwidth(0x9b) < 0);
	CHECK(tui_text_cpwidth(0x202e) < 0 && tui_text_cpwidth(0x4e2d) == 2);
	CHECK(tui_text_cpwidth(0x300) == 0 && tui_text_cpwidth('a') == 1);
}

#define HEART	"\xe2\x9d\xa4"		/* U+2764, one cell alone */
#define VS15	"\xef\xb8\x8e"		/* text form */
#define VS16	"\xef\xb8\x8f"		/* emoji form */

/*
 * VS16 adds no cell, as wcwidth() (and so ncurses) counts it: a wider
 * count would move every column after it left of where ncurses draws it.
 * A base and its VS16 are kept or dropped together.
 */
static void
test_width_vs16(void)
{
	char	*s;
	int	 w;

	CHECK(tui_text_cpwidth(0xfe0f) == 0);
	CHECK(tui_text_width(HEART) == 1);
	CHECK(tui_text_width(HEART VS16) == 1);
	CHECK(tui_text_width("a" VS16) == 1);
	CHECK(tui_text_width("a" HEART VS16 "b") == 3);
	CHECK(tui_text_width(HEART VS15) == 1);
	CHECK(tui_text_width(VS16) == 0);
	CHECK(tui_text_width("\xf0\x9f\x98\x80" VS16) == 2);	/* wide already */
	CHECK(tui_text_prefix(HEART VS16 "x", 1, &w) == 6 && w == 1);
	CHECK(tui_text_prefix(HEART VS16 "x", 0, &w) == 0 && w == 0);
	s = tui_text_fit(HEART VS16 HEART VS16 HEART VS16 HEART VS16, 3);
	CHECK_STR(s, HEART VS16 HEART VS16 "\xe2\x80\xa6");
	free(s);
	s = tui_text_fit("a" HEART VS16, 4);
	CHECK_STR(s, "a" HEART VS16 "  ");
	free(s);
	/* A publisher's subject cannot pull the next column under its header. */
	s = tui_text_fit("x.a" VS16 "b" VS16 "c" VS16, 8);
	CHECK(s != NULL && tui_text_width(s) == 8 && strlen(s) == 3 + 3 * 4 + 2);
	free(s);
}

/* Fitting never splits a sequence or a wide character. */
static void
test_fit(void)
{
	const char	*rows[] = { "orders.created", "\xe8\xa8\x82\xe5\x8d\x95.\xe5\x88\x9b\xe5\xbb\xba",
			    "a\xf0\x9f\x98\x80" "b\xf0\x9f\x98\x80" "c", "e\xcc\x81" "e\xcc\x81"
			    "e\xcc\x81" "e\xcc\x81", "a" HEART VS16 "b" HEART VS16 "c", "" };
	char		*s;
	size_t		 i;
	int		 cols, w;

	s = tui_text_fit("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 5);	/* 中文字 */
	CHECK_STR(s, "\xe4\xb8\xad\xe6\x96\x87\xe2\x80\xa6");
	free(s);
	s = tui_text_fit("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 4);
	CHECK_STR(s, "\xe4\xb8\xad\xe2\x80\xa6 ");			/* 中… + pad */
	free(s);
	s = tui_text_fit("a\xf0\x9f\x98\x80" "b", 3);
	CHECK_STR(s, "a\xe2\x80\xa6 ");
	free(s);
	s = tui_text_fit("e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 2);	/* accents kept */
	CHECK_STR(s, "e\xcc\x81\xe2\x80\xa6");
	free(s);
	s = tui_text_fit("ab", 5);
	CHECK_STR(s, "ab   ");
	free(s);
	s = tui_text_fit_right("42", 5);
	CHECK_STR(s, "   42");
	free(s);
	s = tui_text_fit("abc", 0);
	CHECK_STR(s, "");
	free(s);
	s = tui_text_clip("abcdef", 4);
	CHECK_STR(s, "abc\xe2\x80\xa6");
	free(s);
	for (cols = 1; cols < 20; cols++) {
		for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			s = tui_text_fit(rows[i], cols);
			w = tui_text_width(s);
			CHECK(w == cols && is_safe(s));
			free(s);
		}
	}
	CHECK(tui_text_prefix("\xe4\xb8\xad\xe6\x96\x87", 3, &w) == 3 && w == 2);
}

/* Cuts in bytes land where a character ends, marks kept with it. */
static void
test_text_boundary(void)
{
	const char	*cjk = "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97";	/* 中文字 */
	const char	*zwj = "a\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9";
	char		 zalgo[256];
	int		 i;

	CHECK(tui_text_boundary("abcdef", 4) == 4);
	CHECK(tui_text_boundary("abc", 10) == 3);
	CHECK(tui_text_boundary("abc", 0) == 0 && tui_text_boundary("", 5) == 0);
	CHECK(tui_text_boundary(cjk, 4) == 3 && tui_text_boundary(cjk, 5) == 3);
	CHECK(tui_text_boundary(cjk, 6) == 6 && tui_text_boundary(cjk, 2) == 0);
	CHECK(tui_text_boundary("a\xf0\x9f\x98\x80", 4) == 1);
	CHECK(tui_text_boundary("ae\xcc\x81" "b", 3) == 1);		/* é whole or not */
	CHECK(tui_text_boundary("ae\xcc\x81" "b", 4) == 4);
	CHECK(tui_text_boundary("x" HEART VS16 "y", 4) == 1);	/* not the heart alone */
	CHECK(tui_text_boundary("x" HEART VS16 "y", 7) == 7);
	/* Safe text never holds a raw joiner (it is escaped); here it is a
	   character of its own, and the one after it is not cut from it. */
	CHECK(tui_text_boundary(zwj, 8) == 5);
	CHECK(tui_text_boundary(zwj, 11) == 5);
	CHECK(tui_text_boundary(zwj, 12) == 12);
	/* Only marks after the start: whole sequences still. */
	CHECK(tui_text_boundary("e\xcc\x81\xcc\x82\xcc\x83", 4) == 3);
	/* Marks piled up: a few are kept with their base, many are cut. */
	strcpy(zalgo, "ae");
	for (i = 0; i < 100; i++)
		strcat(zalgo, "\xcc\x81");
	CHECK(tui_text_boundary(zalgo, 50) == 1);
	CHECK(tui_text_boundary(zalgo, 150) == 150);
	CHECK(tui_text_boundary(zalgo, 151) == 150);
	/* Raw bytes that are not UTF-8 count one by one. */
	CHECK(tui_text_boundary("a\xff\xfe" "b", 2) == 2);
	CHECK(tui_text_boundary("ab\xe4\xb8", 10) == 4);
}

/* snprintf() into a fixed buffer never ends inside a character. */
static void
test_text_snprintf(void)
{
	const char	*in[] = { "ab\xe4\xb8\xad\xe6\x96\x87", "a\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
			    "e\xcc\x81" "e\xcc\x81" "e\xcc\x81", "x" HEART VS16 HEART VS16,
			    "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad" };
	char		 buf[16];
	size_t		 i, size;
	int		 bad = 0;

	CHECK(tui_text_snprintf(buf, 8, "%s", "ab\xe4\xb8\xad\xe6\x96\x87") == 8);
	CHECK_STR(buf, "ab\xe4\xb8\xad");			/* not ab中\xe6\x96 */
	CHECK(tui_text_snprintf(buf, 6, "%s!", "x" HEART VS16) == 8);
	CHECK_STR(buf, "x");					/* not x❤ */
	CHECK(tui_text_snprintf(buf, sizeof buf, "n=%d %s", 7, "\xe4\xb8\xad") == 7);
	CHECK_STR(buf, "n=7 \xe4\xb8\xad");			/* fits: as snprintf */
	CHECK(tui_text_snprintf(buf, 1, "%s", "\xe4\xb8\xad") == 3 && buf[0] == '\0');
	CHECK(tui_text_snprintf(NULL, 0, "%s", "abc") == 3);
	/* Every size: valid UTF-8, a prefix, never more than fits. */
	for (i = 0; i < sizeof in / sizeof in[0]; i++) {
		for (size = 1; size <= sizeof buf; size++) {
			memset(buf, 'Z', sizeof buf);
			tui_text_snprintf(buf, size, "%s", in[i]);
			bad += strlen(buf) >= size || strncmp(buf, in[i], strlen(buf)) != 0 ||
			    !auth_utf8_valid(buf, strlen(buf)) ||
			    (strlen(buf) < strlen(in[i]) && size > strlen(in[i]));
		}
	}
	CHECK(bad == 0);
}

/* Dates, ages and counts. */
static void
test_text_formats(void)
{
	char	buf[64];

	tui_text_rfc3339(NOW, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-24T00:39:12Z");
	tui_text_rfc3339(NOW + 0.25, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-24T00:39:12.25Z");
	tui_text_age(NOW + 240, NOW, buf, sizeof buf);
	CHECK_STR(buf, "in 4m");
	tui_text_age(NOW - 7200, NOW, buf, sizeof buf);
	CHECK_STR(buf, "2h ago");
	tui_text_age(NOW - 3 * 86400 - 5, NOW, buf, sizeof buf);
	CHECK_STR(buf, "3d ago");
	tui_text_age(NOW, NOW, buf, sizeof buf);
	CHECK_STR(buf, "now");
	tui_text_count(99999, buf, sizeof buf);
	CHECK_STR(buf, "99999");
	tui_text_count(123456, buf, sizeof buf);
	CHECK_STR(buf, "123k");
	tui_text_count(1234567, buf, sizeof buf);
	CHECK_STR(buf, "1.2M");
}

/* ---- filter ------------------------------------------------------------- */

/* A stream's subject or a group's value, whatever it holds, parses back whole. */
static void
test_filter_term(void)
{
	static const char *const subjects[] = {
		"orders.created", "say.\"hi\"", "back\\slash.x", "\"", "a.\\\"b",
	};
	struct tui_filter	 f;
	char			 longs[600], *t;
	size_t			 i;

	tui_filter_init(&f);
	for (i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
		t = tui_filter_term("", "subject", subjects[i]);
		CHECK(tui_filter_parse(&f, t, NOW) == 0 && f.subject != NULL &&
		    strcmp(f.subject, subjects[i]) == 0);
		free(t);
	}
	/* Longer than any fixed buffer the console had for it. */
	memset(longs, 'a', sizeof longs - 1);
	for (i = 10; i < sizeof longs - 1; i += 10)
		longs[i] = '.';
	longs[sizeof longs - 2] = '"';
	longs[sizeof longs - 1] = '\0';
	t = tui_filter_term("", "subject", longs);
	CHECK(tui_filter_parse(&f, t, NOW) == 0 && f.subject != NULL &&
	    strcmp(f.subject, longs) == 0);
	free(t);
	t = tui_filter_term("verdict:fail ", "kid", "k \"1\"");
	CHECK(tui_filter_parse(&f, t, NOW) == 0 && f.verdict != NULL && f.kid != NULL &&
	    strcmp(f.kid, "k \"1\"") == 0);
	free(t);
	tui_filter_free(&f);
}

/* Every field, quoting and free text. */
static void
test_filter_parse(void)
{
	struct tui_filter	 f;
	char			*s;

	tui_filter_init(&f);
	CHECK(tui_filter_empty(&f));
	CHECK(tui_filter_parse(&f, "verdict:fail reason:expired subject:orders.> "
	    "iss:https://idsvr.example kid:k1 since:-2h Free text", NOW) == 0);
	CHECK_STR(f.store.verdict, "fail");
	CHECK_STR(f.store.reason, "expired");
	CHECK_STR(f.store.subject, "orders.>");
	CHECK_STR(f.store.iss, "https://idsvr.example");
	CHECK_STR(f.store.kid, "k1");
	CHECK(f.store.since_us == ((int64_t)NOW - 7200) * 1000000);
	CHECK(f.store.until_us == 0);
	CHECK(f.nwords == 2 && strcmp(f.words[0], "Free") == 0 &&
	    strcmp(f.folded[0], "free") == 0);
	CHECK(f.error_pos == -1 && !tui_filter_empty(&f));
	CHECK(f.store.kinds == (STORE_KIND_EVENT | STORE_KIND_GAP | STORE_KIND_KEYSET));

	CHECK(tui_filter_parse(&f, "  iss:\"my \\\"issuer\\\"\" \"two words\" "
	    "VERDICT:PASS until:2026-11-24 \"urn:x\"", NOW) == 0);
	CHECK_STR(f.iss, "my \"issuer\"");
	CHECK_STR(f.verdict, "pass");
	CHECK(f.nwords == 2 && strcmp(f.words[0], "two words") == 0);
	CHECK_STR(f.words[1], "urn:x");
	CHECK(f.store.until_us == (int64_t)1795478400 * 1000000);
	s = tui_filter_string(&f);
	CHECK_STR(s, "verdict:pass iss:\"my \\\"issuer\\\"\" until:2026-11-24T00:00:00Z "
	    "\"two words\" \"urn:x\"");
	free(s);

	CHECK(tui_filter_parse(&f, "since:1795399152.5 until:2026-11-24T02:00:00+01:00",
	    NOW) == 0);
	CHECK(f.store.since_us == 1795399152500000LL);
	CHECK(f.store.until_us == (int64_t)1795482000 * 1000000);
	CHECK(tui_filter_parse(&f, "", NOW) == 0 && tui_filter_empty(&f));
	tui_filter_free(&f);
}

/* Parse text expecting an error at pos whose message has want. */
static int
parse_error(const char *text, int pos, const char *want)
{
	struct tui_filter	f;
	int			ok;

	tui_filter_init(&f);
	ok = tui_filter_parse(&f, text, NOW) == -1 && f.error_pos == pos &&
	    strstr(f.error, want) != NULL && is_safe(f.error) && tui_filter_empty(&f);
	if (!ok)
		fprintf(stderr, "  '%s': error at %d: %s\n", text, f.error_pos, f.error);
	tui_filter_free(&f);
	return ok;
}

/* Errors say where and why, as the user types. */
static void
test_filter_errors(void)
{
	CHECK(parse_error("foo:bar", 0, "unknown field 'foo:'"));
	CHECK(parse_error("x http://a", 2, "unknown field 'http:'"));
	CHECK(parse_error("verdict:maybe", 8, "verdict must be pass or fail, not 'maybe'"));
	CHECK(parse_error("verdict:fa", 8, "not 'fa'"));
	CHECK(parse_error("x reason:nope", 9, "reason 'nope' is not a reason code"));
	CHECK(parse_error("subject:a..b", 8, "'a..b' is not a subject pattern"));
	CHECK(parse_error("subject:a.>.b", 8, "not a subject pattern"));
	CHECK(parse_error("a \"unterminated", 2, "unterminated quote"));
	CHECK(parse_error("iss:\"open", 4, "unterminated quote"));
	CHECK(parse_error("since:", 6, "'since:' needs a value"));
	CHECK(parse_error("since:yesterday", 6, "is not a time"));
	CHECK(parse_error("since:-2x", 6, "is not a time"));
	CHECK(parse_error("kid:a kid:b", 6, "'kid:' given twice"));
	CHECK(parse_error("since:-1h until:-2h", 16, "until must be after since"));
	CHECK(parse_error("kid:a verdict:\x1b[2J", 14, "not '\\e[2J'"));
	CHECK(parse_error("a b c d e f g h i j k l m n o p q", 32, "more than 16 words"));
}

/* A long value in an error is cut between characters, not shown as \xNN. */
static void
test_filter_error_cut(void)
{
	struct tui_filter	f;
	char			text[128] = "verdict:";
	int			i;

	for (i = 0; i < 13; i++)			/* e and two marks: 5 bytes, 1 cell */
		strcat(text, "e\xcc\x81\xcc\x82");
	tui_filter_init(&f);
	CHECK(tui_filter_parse(&f, text, NOW) == -1 && is_safe(f.error));
	CHECK(strstr(f.error, "not '") != NULL && strstr(f.error, "\\x") == NULL);
	tui_filter_free(&f);
}

/* Canonical text parses back to the same filter. */
static void
test_filter_roundtrip(void)
{
	const char		*texts[] = {
		"verdict:fail reason:expired subject:orders.> iss:X kid:Y since:-2h until:now "
		    "free text",
		"\"a\\\\b\" iss:\"sp ace\" kid:\"q\\\"uote\"",
		"subject:payments.* since:1795399152.123456 \"x:y\"",
		"id:\"evt 9\" verdict:pass",
	};
	struct tui_filter	 f, g;
	char			*a, *b;
	size_t			 i;

	tui_filter_init(&f);
	tui_filter_init(&g);
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		CHECK(tui_filter_parse(&f, texts[i], NOW) == 0);
		a = tui_filter_string(&f);
		CHECK(tui_filter_parse(&g, a, NOW + 999) == 0);
		b = tui_filter_string(&g);
		CHECK_STR(a, b);
		CHECK(f.store.since_us == g.store.since_us && f.store.until_us ==
		    g.store.until_us && f.nwords == g.nwords);
		free(a);
		free(b);
	}
	tui_filter_free(&f);
	tui_filter_free(&g);
}

/* A trail row to match. */
static void
fake_row(struct store_row *r, const char *kind, const char *subject, const char *verdict,
    const char *reason, const char *body)
{
	memset(r, 0, sizeof *r);
	r->id = 42;
	r->kind = kind;
	r->received_us = (int64_t)NOW * 1000000;
	r->subject = subject;
	r->verdict = verdict;
	r->reason = reason;
	r->iss = "https://idsvr.example";
	r->sub = "user-7";
	r->kid = "orders";
	r->event_id = "e80b1";
	r->jti = "8f14e45f";
	if (body != NULL) {
		r->body = (const unsigned char *)body;
		r->body_len = strlen(body);
		r->has_body = 1;
	}
}

/* Match f (parsed from text) against r. */
static int
match(const char *text, const struct store_row *r)
{
	struct tui_filter	f;
	int			m;

	tui_filter_init(&f);
	if (tui_filter_parse(&f, text, NOW) != 0) {
		fprintf(stderr, "  '%s': %s\n", text, f.error);
		return -1;
	}
	m = tui_filter_match_row(&f, r);
	tui_filter_free(&f);
	return m;
}

/* Rows and live events against fields and free text. */
static void
test_filter_match(void)
{
	struct store_row	r, gap, bin;
	struct tui_filter	f;
	struct tui_event	ev;

	fake_row(&r, "event", "orders.created", "fail", "expired",
	    "{\"eventID\":\"e80b1\",\"Customer\":\"ACME Corp\"}");
	CHECK(match("", &r) == 1);
	CHECK(match("verdict:fail reason:expired subject:orders.>", &r) == 1);
	CHECK(match("verdict:pass", &r) == 0);
	CHECK(match("subject:orders.*.x", &r) == 0);
	CHECK(match("iss:https://idsvr.example kid:orders", &r) == 1);
	CHECK(match("kid:other", &r) == 0);
	CHECK(match("id:e80b1 verdict:fail", &r) == 1);	/* the event id, exactly */
	CHECK(match("id:e80b", &r) == 0);
	CHECK(match("USER-7 e80B", &r) == 1);		/* sub, event id */
	CHECK(match("acme", &r) == 1);			/* body text */
	CHECK(match("\"acme corp\"", &r) == 1);
	CHECK(match("acme nothere", &r) == 0);
	CHECK(match("since:-1h", &r) == 1);
	CHECK(match("until:-1h", &r) == 0);
	fake_row(&bin, "event", "orders.created", "fail", "expired", NULL);
	bin.body = (const unsigned char *)"acme\xff";
	bin.body_len = 5;
	bin.has_body = 1;
	CHECK(match("acme", &bin) == 0);		/* binary body not searched */
	fake_row(&gap, "gap", "orders.created", NULL, NULL, NULL);
	gap.detail = "slow consumer";
	CHECK(match("subject:orders.>", &gap) == 1);
	CHECK(match("verdict:fail", &gap) == 0);	/* event fields leave gaps out */
	CHECK(match("id:e80b1", &gap) == 0);
	CHECK(match("slow", &gap) == 1);
	gap.kind = "session";
	CHECK(match("", &gap) == 0);			/* sessions are not listed */

	memset(&ev, 0, sizeof ev);
	ev.kind = TUI_KIND_EVENT;
	ev.time_us = (int64_t)NOW * 1000000;
	ev.pass = 1;
	ev.subject = "payments.eu";
	ev.iss = "Issuer";
	tui_filter_init(&f);
	CHECK(tui_filter_parse(&f, "verdict:pass reason:ok subject:payments.* issuer", NOW) == 0);
	CHECK(tui_filter_match_event(&f, &ev, NULL, 0));
	CHECK(tui_filter_parse(&f, "verdict:pass total", NOW) == 0);
	CHECK(!tui_filter_match_event(&f, &ev, NULL, 0));
	CHECK(tui_filter_match_event(&f, &ev, "{\"Total\":3}", 11));
	tui_filter_free(&f);
}

/* ---- streams ---------------------------------------------------------------- */

#define SEC(s)	((int64_t)(s) * 1000000)

/* Sparklines scale to their maximum; zero is blank. */
static void
test_sparkline(void)
{
	uint32_t		 v[] = { 0, 1, 2, 4, 8, 3 };
	uint32_t		 big[] = { 1000000, 1, 500000 };
	struct tui_streams	 st;
	char			*s;
	int			 i;

	s = tui_sparkline(v, 6);
	CHECK_STR(s, " \xe2\x96\x81\xe2\x96\x82\xe2\x96\x84\xe2\x96\x88\xe2\x96\x83");
	CHECK(tui_text_width(s) == 6);
	free(s);
	s = tui_sparkline(big, 3);				/* tiny but not zero */
	CHECK_STR(s, "\xe2\x96\x88\xe2\x96\x81\xe2\x96\x84");
	free(s);

	tui_streams_init(&st, 0);
	for (i = 0; i < 10; i++)
		tui_streams_add(&st, "a", 1, NULL, SEC(1000) + i);	/* 10 in second 1000 */
	for (i = 0; i < 5; i++)
		tui_streams_add(&st, "a", 0, "expired", SEC(1002) + i);
	s = tui_stream_spark(tui_streams_at(&st, 0), SEC(1003), 4);
	CHECK_STR(s, "\xe2\x96\x88 \xe2\x96\x84 ");
	free(s);
	s = tui_stream_spark(tui_streams_at(&st, 0), SEC(1070), 60);	/* all gone */
	CHECK(strspn(s, " ") == 60);
	free(s);
	CHECK(tui_stream_rate(tui_streams_at(&st, 0), SEC(1003)) == 3.0);
	CHECK(tui_stream_second(tui_streams_at(&st, 0), 1000) == 10);
	CHECK(tui_stream_second(tui_streams_at(&st, 0), 940) == 0);
	tui_streams_add(&st, "a", 1, NULL, SEC(1000 + 60));	/* a minute later */
	CHECK(tui_stream_second(tui_streams_at(&st, 0), 1000) == 0);
	tui_streams_free(&st);
}

/* Counts, reasons, gaps, order, seeding, hostile names. */
static void
test_streams_counts(void)
{
	struct tui_streams		 st;
	struct store_subject_count	 sc;
	const struct tui_stream		*s;
	char				*line;

	tui_streams_init(&st, 0);
	tui_streams_add(&st, "b.x", 1, NULL, SEC(10));
	tui_streams_add(&st, "b.x", 0, "bad_signature", SEC(10));
	tui_streams_add(&st, "b.x", 0, "expired", SEC(11));
	tui_streams_add(&st, "a.y", 1, NULL, SEC(11));
	tui_streams_gap(&st, "a.y", 7, SEC(12));
	tui_streams_gap(&st, NULL, 3, SEC(12));
	tui_streams_add(&st, "\x1b]2;evil\x07", 1, NULL, SEC(12));
	memset(&sc, 0, sizeof sc);
	sc.subject = "c.z";
	sc.events = 100;
	sc.pass = 90;
	sc.fail = 10;
	tui_streams_seed_cb(&sc, &st);
	tui_streams_sort(&st, TUI_SORT_EVENTS);
	CHECK(tui_streams_count(&st) == 4);
	s = tui_streams_at(&st, 0);
	CHECK_STR(s->name, "c.z");
	s = tui_streams_at(&st, 1);
	CHECK_STR(s->name, "b.x");
	CHECK(s->events == 3 && s->fail == 2 && s->last_reason == AUTH_EXPIRED);
	CHECK(tui_stream_fail_pct(s) > 66.6 && tui_stream_fail_pct(s) < 66.7);
	tui_streams_move(&st, 0);
	tui_streams_move(&st, 1);
	CHECK(tui_streams_selected(&st) == 1);
	tui_streams_sort(&st, TUI_SORT_NAME);
	CHECK_STR(tui_streams_at(&st, 0)->name, "\\e]2;evil\\x07");
	CHECK_STR(tui_streams_at(&st, 1)->name, "a.y");
	CHECK(tui_streams_at(&st, 1)->gaps == 7);
	CHECK(tui_streams_selected(&st) == 2);		/* still b.x */
	CHECK(tui_streams_total(&st)->events == 105 && tui_streams_total(&st)->gaps == 10);
	line = tui_streams_header(80);
	CHECK(tui_text_width(line) == 80);
	free(line);
	line = tui_streams_line(tui_streams_at(&st, 2), SEC(12), 80);
	CHECK(tui_text_width(line) == 80 && strstr(line, "expired") != NULL);
	free(line);
	line = tui_streams_line(tui_streams_at(&st, 0), SEC(12), 64);
	CHECK(tui_text_width(line) == 64 && is_safe(line));
	free(line);
	tui_streams_free(&st);
}

/* A flood of random subjects stays bounded. */
static void
test_streams_bounded(void)
{
	struct tui_streams	 st;
	char			 subject[40], *longsub;
	unsigned int		 seed = 1;
	int			 i;

	tui_streams_init(&st, 100);
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		snprintf(subject, sizeof subject, "flood.%u", seed);
		tui_streams_add(&st, subject, 0, "no_policy", SEC(100) + i);
	}
	CHECK(st.n == 100);
	CHECK(tui_streams_count(&st) == 101);
	CHECK(tui_streams_at(&st, 100)->other);
	CHECK(tui_streams_at(&st, 100)->events == 19900);
	CHECK(tui_streams_total(&st)->events == 20000);
	tui_streams_free(&st);

	tui_streams_init(&st, 0);
	longsub = malloc(TUI_SUBJECT_MAX + 2);
	memset(longsub, 'x', TUI_SUBJECT_MAX + 1);
	longsub[TUI_SUBJECT_MAX + 1] = '\0';
	tui_streams_add(&st, longsub, 1, NULL, SEC(1));
	CHECK(st.n == 0 && tui_streams_count(&st) == 1);
	free(longsub);
	tui_streams_free(&st);
}

/* ---- events ---------------------------------------------------------------- */

/* An event with id (fails when id % 5 == 0). */
static struct tui_event
mk_event(int64_t id)
{
	struct tui_event	e;

	memset(&e, 0, sizeof e);
	e.id = id;
	e.time_us = SEC(NOW) + id;
	e.kind = TUI_KIND_EVENT;
	e.pass = id % 5 != 0;
	e.subject = "orders.created";
	e.reason = e.pass ? "ok" : "expired";
	return e;
}

/* The id of the selected entry. */
static int64_t
sel_id(const struct tui_events *ev)
{
	long	i = tui_events_selected(ev);

	return i < 0 ? -1 : tui_events_at(ev, (size_t)i)->id;
}

/* Following, scrolling, pausing, n/N inside the ring. */
static void
test_events_ring(void)
{
	struct tui_events	 ev;
	struct tui_event	 e;
	int64_t			 id;

	tui_events_init(&ev, 10);
	tui_events_set_rows(&ev, 4);
	for (id = 1; id <= 6; id++) {
		e = mk_event(id);
		tui_events_push(&ev, &e);
	}
	CHECK(ev.state == TUI_FOLLOW && sel_id(&ev) == 6 && tui_events_top(&ev) == 2);
	tui_events_move(&ev, -2);
	CHECK(ev.state == TUI_SCROLLED && sel_id(&ev) == 4);
	e = mk_event(7);
	tui_events_push(&ev, &e);
	CHECK(sel_id(&ev) == 4 && ev.unseen == 1);		/* the view holds */
	CHECK(tui_events_next_fail(&ev, 1) == 1 && sel_id(&ev) == 5);
	CHECK(tui_events_next_fail(&ev, 1) == 0 && sel_id(&ev) == 5);
	tui_events_move(&ev, 10);				/* to the end: follow */
	CHECK(ev.state == TUI_FOLLOW && sel_id(&ev) == 7 && ev.unseen == 0);
	tui_events_pause(&ev);
	for (id = 8; id <= 14; id++) {				/* the ring turns */
		e = mk_event(id);
		tui_events_push(&ev, &e);
	}
	CHECK(ev.state == TUI_PAUSED && sel_id(&ev) == 7 && ev.unseen == 7);
	CHECK(tui_events_count(&ev) == 10 && tui_events_at(&ev, 0)->id == 5);
	CHECK(tui_events_next_fail(&ev, 1) == 1 && sel_id(&ev) == 10);
	CHECK(tui_events_next_fail(&ev, -1) == 1 && sel_id(&ev) == 5);
	tui_events_end(&ev);
	CHECK(ev.state == TUI_PAUSED && sel_id(&ev) == 14);	/* still paused */
	tui_events_home(&ev);
	CHECK(sel_id(&ev) == 5 && tui_events_top(&ev) == 0);
	tui_events_page(&ev, 1);
	CHECK(sel_id(&ev) == 8);
	tui_events_pause(&ev);					/* resume */
	CHECK(ev.state == TUI_FOLLOW && sel_id(&ev) == 14);
	for (id = 15; id <= 30; id++) {				/* selection fell off */
		e = mk_event(id);
		tui_events_push(&ev, &e);
	}
	CHECK(sel_id(&ev) == 30 && tui_events_at(&ev, 0)->id == 21);
	tui_events_free(&ev);
}

/* A fake trail of ids 1..last for the paging protocol. */
static void
fetch_older(struct tui_events *ev, int64_t before, int page)
{
	struct tui_event	e;
	int64_t			id, start = before == 0 ? 100 : before - 1, lastread = 0;
	int			n = 0;

	for (id = start; id >= 1 && n < page; id--, n++) {
		e = mk_event(id);
		tui_events_prepend(ev, &e);
		lastread = id;
	}
	tui_events_older_done(ev, lastread, n < page);
}

/* Fetch after id from the fake trail of 100 rows. */
static void
fetch_newer(struct tui_events *ev, int64_t after, int page)
{
	struct tui_event	e;
	int64_t			id, lastread = 0;
	int			n = 0;

	for (id = after + 1; id <= 100 && n < page; id++, n++) {
		e = mk_event(id);
		tui_events_append(ev, &e);
		lastread = id;
	}
	tui_events_newer_done(ev, lastread, n < page);
}

/* Resolve whatever the list asks for, as the screen would. */
static void
resolve(struct tui_events *ev)
{
	int64_t	id;
	int	guard;

	for (guard = 0; guard < 100; guard++) {
		if (tui_events_need_older(ev, &id))
			fetch_older(ev, id, 8);
		else if (tui_events_need_newer(ev, &id))
			fetch_newer(ev, id, 8);
		else
			return;
	}
	CHECK(guard < 100);
}

/* Scrolling past the ring's start pages older rows in from the trail. */
static void
test_events_paging(void)
{
	struct tui_events	ev;
	struct tui_event	e;
	int64_t			id;
	long			i;
	int			ordered = 1;

	tui_events_init(&ev, 20);
	tui_events_set_rows(&ev, 5);
	CHECK(tui_events_need_older(&ev, &id) && id == 0);	/* empty: load newest */
	resolve(&ev);
	CHECK(tui_events_count(&ev) >= 8 && sel_id(&ev) == 100 && ev.state == TUI_FOLLOW);
	CHECK(tui_events_at(&ev, 0)->id == 101 - (int64_t)tui_events_count(&ev));
	tui_events_move(&ev, -30);			/* past the ring's start */
	resolve(&ev);
	CHECK(sel_id(&ev) == 70);			/* the move finished */
	CHECK(ev.newer_gone);				/* the full ring dropped the newest */
	for (i = 1; i < (long)tui_events_count(&ev); i++)
		ordered &= tui_events_at(&ev, (size_t)i)->id ==
		    tui_events_at(&ev, (size_t)i - 1)->id + 1;
	CHECK(ordered);
	e = mk_event(101);
	tui_events_push(&ev, &e);		/* not contiguous: counted only */
	CHECK(ev.unseen == 1 && tui_events_at(&ev, tui_events_count(&ev) - 1)->id < 100);
	CHECK(tui_events_next_fail(&ev, -1) == 1 && sel_id(&ev) == 65);
	tui_events_home(&ev);
	resolve(&ev);
	tui_events_move(&ev, -1000);
	resolve(&ev);
	CHECK(sel_id(&ev) == 1 && ev.at_start);
	CHECK(!tui_events_need_older(&ev, &id));
	tui_events_end(&ev);				/* back to the present */
	resolve(&ev);
	CHECK(sel_id(&ev) == 100 && !ev.newer_gone);
	CHECK(ev.state == TUI_FOLLOW);
	tui_events_clear(&ev);
	CHECK(tui_events_count(&ev) == 0 && tui_events_need_older(&ev, &id) && id == 0);
	tui_events_free(&ev);
}

/* N searches back through the trail; copies are safe text. */
static void
test_events_search_and_copies(void)
{
	struct tui_events	 ev;
	struct tui_event	 e;
	struct tui_columns	 c;
	char			*line, *head;

	tui_events_init(&ev, 50);
	tui_events_set_rows(&ev, 5);
	resolve(&ev);
	tui_events_move(&ev, -1);			/* 99 */
	CHECK(tui_events_next_fail(&ev, -1) == 1 && sel_id(&ev) == 95);
	tui_events_home(&ev);
	resolve(&ev);
	CHECK(tui_events_next_fail(&ev, -1) == 1 || ev.pending == TUI_PENDING_PREV_FAIL);
	resolve(&ev);
	CHECK(sel_id(&ev) % 5 == 0);
	tui_events_free(&ev);

	tui_events_init(&ev, 4);
	memset(&e, 0, sizeof e);
	e.kind = TUI_KIND_EVENT;
	e.time_us = SEC(NOW) + 123000;
	e.subject = "orders.\x1b[2J\xe4\xb8\xad";
	e.reason = "bad_signature";
	e.iss = "https://i\x9b.example";
	e.sub = "u\xe2\x80\xae" "7";
	e.event_id = "e80b1";
	tui_events_push(&ev, &e);
	CHECK_STR(tui_events_at(&ev, 0)->subject, "orders.\\e[2J\xe4\xb8\xad");
	CHECK_STR(tui_events_at(&ev, 0)->iss, "https://i\\x9b.example");
	CHECK_STR(tui_events_at(&ev, 0)->kid, "");
	tui_layout_columns(&c, 120);
	line = tui_events_line(tui_events_at(&ev, 0), &c, 1);
	head = tui_events_header(&c);
	CHECK(tui_text_width(line) == 120 && tui_text_width(head) == 120);
	CHECK(is_safe(line) && strncmp(line, "00:39:12.123 \xe2\x9c\x97 orders.", 23) == 0);
	CHECK(strstr(line, "u\\u202e7@https://i\\x9b.example") != NULL);
	free(line);
	free(head);
	e.kind = TUI_KIND_GAP;
	e.gap_count = 7;
	tui_events_push(&ev, &e);
	tui_layout_columns(&c, 80);
	line = tui_events_line(tui_events_at(&ev, 1), &c, 1);
	CHECK(tui_text_width(line) == 80 && strstr(line, "gap: 7 lost") != NULL);
	free(line);
	e.gap_count = 0;			/* a reconnect: not counted */
	tui_events_push(&ev, &e);
	line = tui_events_line(tui_events_at(&ev, 2), &c, 1);
	CHECK(strstr(line, "gap: ? lost") != NULL && strstr(line, "0 lost") == NULL);
	free(line);
	tui_events_free(&ev);
}

/* A field longer than the copy keeps (in bytes) is cut between characters. */
static void
test_events_field_cut(void)
{
	struct tui_events	 ev;
	struct tui_event	 e;
	char			*subject;
	const char		*got;
	size_t			 i, n = 4 * TUI_EVENT_FIELD_MAX + 64;

	/* e and then combining marks: 2 bytes each, no cell, so the byte
	   bound cuts before the cell bound, at an odd offset. */
	subject = malloc(n + 1);
	subject[0] = 'e';
	for (i = 1; i + 2 <= n; i += 2)
		memcpy(subject + i, "\xcc\x81", 2);
	subject[i] = '\0';
	tui_events_init(&ev, 4);
	memset(&e, 0, sizeof e);
	e.kind = TUI_KIND_EVENT;
	e.subject = subject;
	tui_events_push(&ev, &e);
	got = tui_events_at(&ev, 0)->subject;
	CHECK(is_safe(got) && strstr(got, "\\x") == NULL);
	CHECK(strlen(got) == 4 * TUI_EVENT_FIELD_MAX - 1);
	CHECK(strncmp(got, subject, strlen(got)) == 0);
	tui_events_free(&ev);
	free(subject);
}

/* ---- layout ------------------------------------------------------------------ */

/* Whether two rectangles overlap. */
static int
overlap(const struct tui_rect *a, const struct tui_rect *b)
{
	if (a->w == 0 || a->h == 0 || b->w == 0 || b->h == 0)
		return 0;
	return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h &&
	    b->y < a->y + a->h;
}

/* A layout is inside the screen, without overlaps, with sane columns. */
static int
layout_ok(const struct tui_layout *l)
{
	const struct tui_columns	*c = &l->columns;
	int				 p, q, sum, seps;

	for (p = 0; p < TUI_PANE_COUNT; p++) {
		const struct tui_rect	*r = &l->pane[p];

		if (r->w > 0 && (r->x < 0 || r->y < 0 || r->x + r->w > l->cols ||
		    r->y + r->h > l->rows - 1))
			return 0;
		if (overlap(r, &l->status))
			return 0;
		for (q = p + 1; q < TUI_PANE_COUNT; q++)
			if (overlap(r, &l->pane[q]))
				return 0;
	}
	if (l->status.y != l->rows - 1 || l->status.w != l->cols)
		return 0;
	seps = 4 + (c->id > 0);
	sum = c->time + c->mark + c->subject + c->reason + c->who + c->id + seps;
	return sum == l->pane[TUI_PANE_EVENTS].w && c->subject >= 8 && c->reason >= 10 &&
	    c->who >= 8 && l->pane[TUI_PANE_EVENTS].h >= 7 && l->pane[TUI_PANE_STREAMS].h >= 5;
}

/* 80x24, 120x40, 200x60 and too small. */
static void
test_layout(void)
{
	struct tui_layout	l;
	struct tui_keys		k;

	tui_layout_compute(&l, 80, 24, 0);
	CHECK(l.kind == TUI_LAYOUT_STACKED && layout_ok(&l));
	CHECK(!tui_layout_visible(&l, TUI_PANE_DETAIL));
	CHECK(l.pane[TUI_PANE_EVENTS].h + l.pane[TUI_PANE_STREAMS].h == 23);
	CHECK(l.columns.time == 8 && l.columns.id == 0);
	tui_layout_compute(&l, 80, 24, 1);
	CHECK(layout_ok(&l) && tui_layout_visible(&l, TUI_PANE_DETAIL));
	CHECK(l.pane[TUI_PANE_DETAIL].h >= 8);

	tui_layout_compute(&l, 120, 40, 0);
	CHECK(l.kind == TUI_LAYOUT_STACKED && layout_ok(&l));
	CHECK(tui_layout_visible(&l, TUI_PANE_DETAIL) && l.columns.id >= 12);

	tui_layout_compute(&l, 200, 60, 0);
	CHECK(l.kind == TUI_LAYOUT_WIDE && layout_ok(&l));
	CHECK(l.pane[TUI_PANE_STREAMS].h == 59 && l.pane[TUI_PANE_EVENTS].x > 64);
	CHECK(l.pane[TUI_PANE_DETAIL].y == l.pane[TUI_PANE_EVENTS].h);

	tui_layout_compute(&l, 79, 24, 0);
	CHECK(l.kind == TUI_LAYOUT_TOO_SMALL && strstr(l.message, "too small") != NULL);
	CHECK(!tui_layout_visible(&l, TUI_PANE_EVENTS));
	tui_layout_compute(&l, 200, 23, 0);
	CHECK(l.kind == TUI_LAYOUT_TOO_SMALL);

	/* The focus leaves a pane that disappears. */
	tui_keys_init(&k);
	tui_layout_compute(&l, 80, 24, 1);
	tui_keys_set_layout(&k, &l);
	tui_keys_feed(&k, TUI_KEY_TAB, NOW);
	CHECK(k.focus == TUI_PANE_DETAIL);
	tui_layout_compute(&l, 80, 24, 0);
	tui_keys_set_layout(&k, &l);
	CHECK(k.focus == TUI_PANE_EVENTS);
	tui_keys_free(&k);
}

/* ---- detail ------------------------------------------------------------------- */

static const char trace[] =
	"[{\"check\":\"rule\",\"ok\":true,\"detail\":\"a rule covers this subject\","
	"\"actual\":\"payments\"},"
	"{\"check\":\"signature\",\"ok\":true,\"detail\":\"signature verified\"},"
	"{\"check\":\"payload_hash\",\"ok\":false,\"detail\":\"sha256 of the payload does "
	"not match\",\"expected\":\"\\\"abc\\u001b[2J\\\"\",\"actual\":\"def456\"},"
	"{\"check\":\"replay\",\"ok\":null,\"detail\":\"not reached\"}]";

/* Whether some laid-out line of d has s (and the first such line's style). */
static int
detail_has(const struct tui_detail *d, const char *s, enum tui_style *style)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		if (strstr(d->lines[i].text, s) != NULL) {
			if (style != NULL)
				*style = d->lines[i].style;
			return 1;
		}
	}
	return 0;
}

/* Every line fits and is safe. */
static int
detail_fits(const struct tui_detail *d, int width)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		if (tui_text_width(d->lines[i].text) > width || !is_safe(d->lines[i].text) ||
		    d->lines[i].lead > strlen(d->lines[i].text))
			return 0;
	}
	return d->n > 0;
}

/* A token whose header is {"alg":"RS256","kid":"k\u001b"}. */
static char *
mk_token(void)
{
	const char	*h = "{\"alg\":\"RS256\",\"kid\":\"k\\u001b]2;x\\u0007\"}";
	char		*b64 = auth_b64url_encode((const unsigned char *)h, strlen(h));
	char		*t = malloc(strlen(b64) + 16);

	snprintf(t, strlen(b64) + 16, "%s.e30.c2ln", b64);
	free(b64);
	return t;
}

/* The trace, the JWT, the claims with dates, the payload, the hash, hex. */
static void
test_detail(void)
{
	struct store_row	 r;
	struct tui_detail	 d;
	enum tui_style		 st = TUI_STYLE_NORMAL;
	char			*token = mk_token(), claims[256];

	snprintf(claims, sizeof claims, "{\"iss\":\"https://idsvr.example\",\"exp\":%lld,"
	    "\"iat\":%lld,\"sc\\u001bope\":\"a\"}", (long long)NOW + 240, (long long)NOW - 7200);
	fake_row(&r, "event", "payments.eu", "fail", "payload_hash_mismatch",
	    "{\"accessToken\":\"x\",\"payload\":{\"note\":\"\\u001b]2;pwned\\u0007\","
	    "\"cjk\":\"\xe4\xb8\xad\xe6\x96\x87\"}}");
	r.checks = trace;
	r.claims = claims;
	r.token = token;
	r.headers = "{\"Authorization\":\"Bearer x\",\"X-Multi\":[\"a\",\"b\\u001b[31m\"]}";
	r.warnings = "[\"publisher_id is covered by no MAC\"]";
	tui_detail_init(&d);
	tui_detail_set_row(&d, &r, NOW);
	tui_detail_set_width(&d, 60, 1);
	CHECK(detail_fits(&d, 60));
	CHECK(d.id == 42);
	CHECK(detail_has(&d, "\xe2\x9c\x93 signature", NULL));
	CHECK(detail_has(&d, "\xe2\x9c\x97 payload_hash", NULL));
	CHECK(detail_has(&d, "\xc2\xb7 replay", NULL));
	CHECK(detail_has(&d, "expected", NULL) && detail_has(&d, "actual", NULL));
	CHECK(detail_has(&d, "claimed", &st) && st == TUI_STYLE_FAIL);
	CHECK(detail_has(&d, "\"abc\\e[2J\"", NULL));	/* claimed, escaped */
	CHECK(detail_has(&d, "computed    def456", NULL));
	CHECK(detail_has(&d, "RS256", NULL));
	CHECK(detail_has(&d, "\"k\\u001B]2;x\\u0007\"", NULL));	/* header kid, JSON-escaped */
	CHECK(detail_has(&d, "2026-11-24T00:43:12Z (in 4m)", NULL));
	CHECK(detail_has(&d, "(2h ago)", NULL));
	CHECK(detail_has(&d, "sc\\e", NULL) || detail_has(&d, "sc\\u001bope", NULL));
	CHECK(detail_has(&d, "\"note\": \"\\u001B]2;pwned\\u0007\"", NULL));
	CHECK(detail_has(&d, "\xe4\xb8\xad\xe6\x96\x87", NULL));
	CHECK(detail_has(&d, "b\\e[31m", NULL));		/* header value */
	CHECK(detail_has(&d, "publisher_id", &st) && st == TUI_STYLE_WARN);
	CHECK(detail_has(&d, "00000000  7b 22 61 63", NULL));
	CHECK(detail_has(&d, "|{\"accessToken\":\"|", NULL));
	CHECK(detail_has(&d, "Token", NULL));
	tui_detail_set_width(&d, 30, 0);		/* cut, not wrapped */
	CHECK(detail_fits(&d, 30));
	tui_detail_scroll(&d, 5, 10);
	CHECK(d.top == 5);
	tui_detail_scroll(&d, 100000, 10);
	CHECK(d.top == d.n - 10);
	tui_detail_scroll(&d, -100000, 10);
	CHECK(d.top == 0);

	/* A text body keeps its lines; control bytes show. */
	fake_row(&r, "event", "orders.x", "pass", "ok", "line one\r\n\x1b[2Jline two\xc2\x9b");
	tui_detail_set_row(&d, &r, NOW);
	CHECK(detail_fits(&d, 30));			/* laid out at the last width */
	tui_detail_set_width(&d, 80, 1);
	CHECK(detail_has(&d, "line one\\r", NULL) && detail_has(&d, "\\e[2Jline two\\u009b", NULL));
	CHECK(detail_has(&d, "no trace", NULL));

	/* A gap. */
	fake_row(&r, "gap", "orders.x", NULL, NULL, NULL);
	r.gap_count = 7;
	r.detail = "slow consumer";
	tui_detail_set_row(&d, &r, NOW);
	CHECK(detail_has(&d, "Gap 42", NULL) && detail_has(&d, "7 messages", NULL));
	tui_detail_free(&d);
	free(token);
}

/* A row made from a fleet recorder's verdict (watch --verdicts): the subject it
   came on, and the JWT header from the detail column; a message that was not
   a verdict says so and shows its bytes. */
static void
test_detail_remote(void)
{
	struct store_row	 r;
	struct tui_detail	 d;

	fake_row(&r, "event", "orders.created", "fail", "expired", NULL);
	r.checks = trace;
	r.claims = "{\"iss\":\"i\\u001b]2;x\\u0007\"}";
	r.headers = "{\"Ztwatch-Received-Us\":\"1790000000000000\"}";
	r.detail = "{\"verdict_subject\":\"zt.v.orders.created\",\"header\":"
	    "{\"alg\":\"HS256\",\"kid\":\"k\\u001b[2J\"}}";
	tui_detail_init(&d);
	tui_detail_set_row(&d, &r, NOW);
	tui_detail_set_width(&d, 100, 1);
	CHECK(detail_fits(&d, 100));
	CHECK(detail_has(&d, "verdict on  zt.v.orders.created (a verdict of a recorder", NULL));
	CHECK(detail_has(&d, "JWT header", NULL) && detail_has(&d, "\"HS256\"", NULL));
	CHECK(detail_has(&d, "\"k\\u001B[2J\"", NULL));	/* kid, JSON-escaped */
	CHECK(detail_has(&d, "Ztwatch-Received-Us", NULL) && !detail_has(&d, "Payload (", NULL));

	fake_row(&r, "event", "orders.created", "fail", "malformed_message",
	    "[\x1b]2;pwned\x07");
	r.checks = "[{\"check\":\"verdict\",\"ok\":false,\"detail\":\"not a verdict: the message"
	    " is not JSON\"}]";
	r.detail = "{\"verdict_subject\":\"zt.v.orders.created\"}";
	tui_detail_set_row(&d, &r, NOW);
	tui_detail_set_width(&d, 100, 1);
	CHECK(detail_fits(&d, 100));
	CHECK(detail_has(&d, "zt.v.orders.created (not a verdict)", NULL));
	CHECK(detail_has(&d, "not a verdict: the message is not JSON", NULL));
	CHECK(detail_has(&d, "Verdict message (text)", NULL) &&
	    detail_has(&d, "[\\e]2;pwned\\x07", NULL));
	CHECK(!detail_has(&d, "JWT header", NULL));

	/* A detail that only looks like one is an ordinary event's. */
	fake_row(&r, "event", "orders.created", "pass", "ok", NULL);
	r.detail = "{\"verdict_subject\":7}";
	tui_detail_set_row(&d, &r, NOW);
	tui_detail_set_width(&d, 100, 1);
	CHECK(!detail_has(&d, "verdict on", NULL));
	tui_detail_free(&d);
}

/* ---- status and help ------------------------------------------------------------ */

/* Narrow terminals lose the least important parts first. */
static void
test_status(void)
{
	struct tui_status	 s;
	char			*line;

	memset(&s, 0, sizeof s);
	s.server = "nats://demo:4222\x1b]2;x\x07";
	s.conn = TUI_CONN_RECONNECTING;
	s.events = 123456;
	s.pass = 120000;
	s.fail = 3456;
	s.gaps = 2;
	s.drops = 9;
	s.rate = 1234.4;
	s.db = "/var/lib/ztwatch/trail.db";
	s.follow = TUI_PAUSED;
	s.unseen = 12;
	s.filter = "verdict:fail";
	line = tui_status_line(&s, 200);
	CHECK(tui_text_width(line) == 200 && is_safe(line));
	CHECK(strstr(line, "reconnecting") && strstr(line, "nats://demo:4222\\e]2;x\\x07") &&
	    strstr(line, "trail.db") && strstr(line, "/verdict:fail") &&
	    strstr(line, "1234/s") && strstr(line, "PAUSED +12") && strstr(line, "drops 9"));
	free(line);
	line = tui_status_line(&s, 80);
	CHECK(tui_text_width(line) == 80);
	CHECK(strstr(line, "reconnecting") && strstr(line, "drops 9") &&
	    strstr(line, "PAUSED") && strstr(line, "123k events") && !strstr(line, "nats://"));
	free(line);
	line = tui_status_line(&s, 40);
	CHECK(tui_text_width(line) == 40 && strstr(line, "reconnecting"));
	free(line);
	/* The fleet's console says what it watches; it goes after the rate. */
	s.view = "fleet verdicts on zt.v.>\x1b[2J";
	s.follow = TUI_FOLLOW;
	line = tui_status_line(&s, 200);
	CHECK(tui_text_width(line) == 200 && is_safe(line) &&
	    strstr(line, "fleet verdicts on zt.v.>\\e[2J") && strstr(line, "nats://"));
	free(line);
	s.view = "fleet verdicts on zt.v.>";
	s.drops = 0;
	line = tui_status_line(&s, 80);
	CHECK(tui_text_width(line) == 80 && strstr(line, "fleet verdicts on zt.v.>") &&
	    !strstr(line, "nats://") && !strstr(line, "trail.db"));
	free(line);
	CHECK(strcmp(tui_conn_name(TUI_CONN_CLOSED), "closed") == 0);
}

/* The help is data shared by `?` and the README. */
static void
test_help(void)
{
	char	*t;
	size_t	 i;
	int	 subs = 0;

	CHECK(tui_help_count() >= 15);
	for (i = 0; i < tui_help_count(); i++)
		subs += strncmp(tui_help_at(i)->keys, ":sub", 4) == 0;
	CHECK(subs == 1 && tui_help_at(tui_help_count()) == NULL);
	t = tui_help_text(0);
	CHECK(strstr(t, ":unsub SUBJECT") != NULL && strstr(t, "n N") != NULL);
	free(t);
	t = tui_help_text(1);
	CHECK(strncmp(t, "| key | does |\n|---|---|\n", 24) == 0);
	CHECK(strstr(t, "| `:export [FILE]` |") != NULL);
	free(t);
}

/* ---- keys ---------------------------------------------------------------------- */

/* Feed a string of characters; the last action. */
static struct tui_action
type(struct tui_keys *k, const char *s)
{
	struct tui_action	a;
	uint32_t		cp;
	size_t			n, i;

	memset(&a, 0, sizeof a);
	while (*s != '\0') {
		n = auth_utf8_seq((const unsigned char *)s, strlen(s));
		cp = (unsigned char)s[0];
		if (n > 1) {
			cp = (unsigned char)s[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
			for (i = 1; i < n; i++)
				cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
		} else
			n = 1;
		a = tui_keys_feed(k, (int)cp, NOW);
		s += n;
	}
	return a;
}

/* Normal-mode keys map to actions. */
static void
test_keys_normal(void)
{
	struct tui_keys		k;
	struct tui_layout	l;
	struct tui_action	a;

	tui_keys_init(&k);
	tui_layout_compute(&l, 120, 40, 0);
	tui_keys_set_layout(&k, &l);
	CHECK(tui_keys_feed(&k, 'j', NOW).type == TUI_ACT_MOVE);
	a = tui_keys_feed(&k, TUI_KEY_UP, NOW);
	CHECK(a.type == TUI_ACT_MOVE && a.n == -1 && a.pane == TUI_PANE_EVENTS);
	CHECK(tui_keys_feed(&k, TUI_KEY_PGDN, NOW).n == 1);
	CHECK(tui_keys_feed(&k, 'G', NOW).type == TUI_ACT_END);
	CHECK(tui_keys_feed(&k, TUI_KEY_HOME, NOW).type == TUI_ACT_HOME);
	a = tui_keys_feed(&k, 'N', NOW);
	CHECK(a.type == TUI_ACT_NEXT_FAIL && a.n == -1);
	CHECK(tui_keys_feed(&k, 'p', NOW).type == TUI_ACT_PAUSE);
	a = tui_keys_feed(&k, 'e', NOW);
	CHECK(a.type == TUI_ACT_EXPORT && a.arg == NULL);
	tui_keys_feed(&k, '\t', NOW);
	CHECK(k.focus == TUI_PANE_DETAIL);
	tui_keys_feed(&k, TUI_KEY_TAB, NOW);
	CHECK(k.focus == TUI_PANE_STREAMS);
	tui_keys_feed(&k, TUI_KEY_BTAB, NOW);
	CHECK(k.focus == TUI_PANE_DETAIL);
	tui_keys_feed(&k, 27, NOW);			/* Esc: back to events */
	CHECK(k.focus == TUI_PANE_EVENTS);
	a = tui_keys_feed(&k, '\r', NOW);		/* Enter opens the detail */
	CHECK(a.type == TUI_ACT_OPEN && a.pane == TUI_PANE_EVENTS && k.detail_open &&
	    k.focus == TUI_PANE_DETAIL);
	CHECK(tui_keys_feed(&k, TUI_KEY_ESC, NOW).type == TUI_ACT_CLOSE && !k.detail_open);
	tui_keys_feed(&k, '?', NOW);
	CHECK(k.mode == TUI_MODE_HELP);
	CHECK(tui_keys_feed(&k, 'q', NOW).type == TUI_ACT_REDRAW && k.mode == TUI_MODE_NORMAL);
	CHECK(tui_keys_feed(&k, TUI_KEY_RESIZE, NOW).type == TUI_ACT_RESIZE);
	CHECK(tui_keys_feed(&k, 'x', NOW).type == TUI_ACT_NONE);
	CHECK(tui_keys_feed(&k, 'q', NOW).type == TUI_ACT_QUIT);
	tui_keys_free(&k);
}

/* The filter prompt: errors as you type, editing, applying. */
static void
test_keys_filter(void)
{
	struct tui_keys		k;
	struct tui_action	a;
	struct tui_prompt	p;

	tui_keys_init(&k);
	tui_keys_feed(&k, '/', NOW);
	CHECK(k.mode == TUI_MODE_FILTER && k.len == 0 && k.error_pos == -1);
	type(&k, "verdict:fial");
	CHECK(k.error_pos == 8 && strstr(k.error, "'fial'") != NULL);
	tui_keys_prompt(&k, 80, &p);
	CHECK(tui_text_width(p.text) == 80 && p.cursor == 13 && p.mark == 9 && p.msg == 15);
	CHECK(strncmp(p.text, "/verdict:fial  verdict must be", 30) == 0);
	free(p.text);
	a = tui_keys_feed(&k, '\n', NOW);		/* refused, prompt stays */
	CHECK(a.type == TUI_ACT_ERROR && k.mode == TUI_MODE_FILTER);
	tui_keys_feed(&k, TUI_KEY_BACKSPACE, NOW);
	tui_keys_feed(&k, TUI_KEY_BACKSPACE, NOW);
	tui_keys_feed(&k, TUI_KEY_BACKSPACE, NOW);
	type(&k, "ail");
	CHECK(k.error_pos == -1 && k.error[0] == '\0');
	tui_keys_feed(&k, 0x7fffffff, NOW);		/* not a character: ignored */
	tui_keys_feed(&k, 7, NOW);			/* BEL: not inserted */
	tui_keys_feed(&k, 0x9b, NOW);			/* C1: not inserted */
	tui_keys_feed(&k, 0x202e, NOW);			/* bidi: not inserted */
	CHECK(strcmp(k.prompt, "verdict:fail") == 0);
	tui_keys_feed(&k, TUI_KEY_HOME, NOW);
	type(&k, "\xe4\xb8\xad ");			/* a wide char at the start */
	CHECK(strcmp(k.prompt, "\xe4\xb8\xad verdict:fail") == 0 && k.cursor == 4);
	tui_keys_prompt(&k, 80, &p);
	CHECK(p.cursor == 4);
	free(p.text);
	tui_keys_feed(&k, TUI_KEY_LEFT, NOW);
	tui_keys_feed(&k, TUI_KEY_BACKSPACE, NOW);	/* removes the whole character */
	CHECK(strcmp(k.prompt, " verdict:fail") == 0 && k.cursor == 0);
	a = tui_keys_feed(&k, TUI_KEY_ENTER, NOW);
	CHECK(a.type == TUI_ACT_FILTER && strcmp(a.arg, " verdict:fail") == 0);
	CHECK(k.mode == TUI_MODE_NORMAL && strcmp(k.applied, " verdict:fail") == 0);
	tui_keys_feed(&k, '/', NOW);			/* reopens with the filter */
	CHECK(strcmp(k.prompt, " verdict:fail") == 0 && k.cursor == k.len);
	tui_keys_feed(&k, TUI_KEY_CTRL('w'), NOW);
	CHECK(strcmp(k.prompt, " ") == 0);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	CHECK(k.len == 0);
	tui_keys_feed(&k, TUI_KEY_BACKSPACE, NOW);	/* empty prompt: leave */
	CHECK(k.mode == TUI_MODE_NORMAL && strcmp(k.applied, " verdict:fail") == 0);
	tui_keys_feed(&k, '/', NOW);
	type(&k, "x");
	CHECK(tui_keys_feed(&k, 27, NOW).type == TUI_ACT_REDRAW && k.mode == TUI_MODE_NORMAL);

	/* A long prompt scrolls to keep the cursor in view. */
	tui_keys_feed(&k, '/', NOW);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	type(&k, "abcdefghijklmnopqrstuvwxyz0123456789");
	tui_keys_prompt(&k, 20, &p);
	CHECK(tui_text_width(p.text) == 20 && p.cursor < 20 && strstr(p.text, "789") != NULL);
	free(p.text);
	tui_keys_feed(&k, TUI_KEY_HOME, NOW);
	tui_keys_prompt(&k, 20, &p);
	CHECK(p.cursor == 1 && strncmp(p.text, "/abcdefghijklmnopqr", 19) == 0);
	free(p.text);
	tui_keys_free(&k);
}

/* The command prompt. */
static void
test_keys_command(void)
{
	struct tui_keys		k;
	struct tui_action	a;

	tui_keys_init(&k);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "sub orders.>\n");
	CHECK(a.type == TUI_ACT_SUB && strcmp(a.arg, "orders.>") == 0);
	CHECK(k.mode == TUI_MODE_NORMAL);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "unsub  payments.*\n");
	CHECK(a.type == TUI_ACT_UNSUB && strcmp(a.arg, "payments.*") == 0);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "sub a..b\n");
	CHECK(a.type == TUI_ACT_ERROR && k.mode == TUI_MODE_COMMAND && k.error_pos == 4);
	CHECK(strstr(a.arg, "'a..b' is not a subject") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	CHECK(k.error[0] == '\0');			/* an edit clears it */
	a = type(&k, "sub\n");
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "needs a subject") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "export \"my file.jsonl\"\n");
	CHECK(a.type == TUI_ACT_EXPORT && strcmp(a.arg, "my file.jsonl") == 0);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "export\n");
	CHECK(a.type == TUI_ACT_EXPORT && a.arg == NULL);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "export a b\n");
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "takes one argument") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "frob\n");
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "'frob' is not a command") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "goto yesterday-ish\n");
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "is not a time") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	/* The argument is one value: its quotes cannot add terms. */
	a = type(&k, "goto \"-2h\\\" verdict:fail \\\"x\"\n");
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "is not a time") != NULL);
	CHECK(k.applied[0] == '\0');
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "goto -2h\n");
	CHECK(a.type == TUI_ACT_FILTER && strcmp(a.arg, "until:-2h") == 0);
	CHECK(strcmp(k.applied, "until:-2h") == 0 && k.mode == TUI_MODE_NORMAL);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, "goto -1h\n");		/* a second bound: edit it with / */
	CHECK(a.type == TUI_ACT_ERROR && strstr(a.arg, "until:") != NULL);
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "q\n");
	CHECK(a.type == TUI_ACT_QUIT);
	tui_keys_free(&k);
}

#define CJK10	"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad" \
		"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"

/* A command word too long for its buffer is cut between characters. */
static void
test_keys_command_cut(void)
{
	struct tui_keys		k;
	struct tui_action	a;
	int			i;

	tui_keys_init(&k);
	tui_keys_feed(&k, ':', NOW);
	a = type(&k, CJK10 "\xe4\xb8\xad\xe4\xb8\xad\n");	/* 12 x 中: 36 bytes */
	CHECK(a.type == TUI_ACT_ERROR && is_safe(k.error));
	CHECK(strstr(a.arg, "'" CJK10 "' is not a command") != NULL);
	CHECK(strstr(a.arg, "\\x") == NULL);
	/* e and 100 marks: one cell, so the message outgrows k.error. */
	tui_keys_feed(&k, TUI_KEY_CTRL('u'), NOW);
	a = type(&k, "goto e");
	for (i = 0; i < 100; i++)
		a = type(&k, "\xcc\x81");
	a = type(&k, "\n");
	CHECK(a.type == TUI_ACT_ERROR && strncmp(a.arg, "'e\xcc\x81", 4) == 0);
	CHECK(is_safe(k.error) && strlen(k.error) == sizeof k.error - 2);
	tui_keys_free(&k);
}

int
main(void)
{
	UNIT_RUN(test_safe_hostile);
	UNIT_RUN(test_safe_utf8);
	UNIT_RUN(test_safe_random);
	UNIT_RUN(test_width);
	UNIT_RUN(test_width_vs16);
	UNIT_RUN(test_fit);
	UNIT_RUN(test_text_boundary);
	UNIT_RUN(test_text_snprintf);
	UNIT_RUN(test_text_formats);
	UNIT_RUN(test_filter_parse);
	UNIT_RUN(test_filter_term);
	UNIT_RUN(test_filter_errors);
	UNIT_RUN(test_filter_error_cut);
	UNIT_RUN(test_filter_roundtrip);
	UNIT_RUN(test_filter_match);
	UNIT_RUN(test_sparkline);
	UNIT_RUN(test_streams_counts);
	UNIT_RUN(test_streams_bounded);
	UNIT_RUN(test_events_ring);
	UNIT_RUN(test_events_paging);
	UNIT_RUN(test_events_search_and_copies);
	UNIT_RUN(test_events_field_cut);
	UNIT_RUN(test_layout);
	UNIT_RUN(test_detail);
	UNIT_RUN(test_detail_remote);
	UNIT_RUN(test_status);
	UNIT_RUN(test_help);
	UNIT_RUN(test_keys_normal);
	UNIT_RUN(test_keys_filter);
	UNIT_RUN(test_keys_command);
	UNIT_RUN(test_keys_command_cut);
	UNIT_DONE();
}
