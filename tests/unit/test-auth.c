/*
 * tests/unit/test-auth.c -- unit tests for auth/'s small parts: NATS subject
 * matching, strict base64, JSON pointers and raw spans, the replay cache.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth-int.h"
#include "auth-jdoc.h"
#include "unit.h"

/* NATS semantics: '*' one token, '>' one or more trailing tokens. */
static void
test_subject_match(void)
{
	CHECK(auth_subject_match("orders.>", "orders.created"));
	CHECK(auth_subject_match("orders.>", "orders.a.b.c"));
	CHECK(!auth_subject_match("orders.>", "orders"));
	CHECK(!auth_subject_match("orders.>", "ordersx.a"));
	CHECK(auth_subject_match("payments.*", "payments.eu"));
	CHECK(!auth_subject_match("payments.*", "payments.eu.x"));
	CHECK(!auth_subject_match("payments.*", "payments"));
	CHECK(auth_subject_match("*.b.*", "a.b.c"));
	CHECK(!auth_subject_match("*.b.*", "a.c.c"));
	CHECK(auth_subject_match("events", "events"));
	CHECK(!auth_subject_match("events", "events.x"));
	CHECK(!auth_subject_match("events", "event"));
	CHECK(auth_subject_match(">", "anything.at.all"));
	CHECK(!auth_subject_match("a.*", "a."));
	CHECK(auth_subject_valid("orders.>", 1));
	CHECK(!auth_subject_valid("orders.>", 0));
	CHECK(!auth_subject_valid("orders.>.x", 1));
	CHECK(!auth_subject_valid("a..b", 1));
	CHECK(!auth_subject_valid("a.b*", 1));
	CHECK(!auth_subject_valid("a b", 1));
	CHECK(!auth_subject_valid("", 1));
	CHECK(!auth_subject_valid(".a", 1));
}

/* One spelling per byte string: padding, alphabet and trailing bits. */
static void
test_base64_strict(void)
{
	unsigned char	*out;
	size_t		 n;
	char		*enc;

	out = auth_b64url_decode("aGk", 3, &n);
	CHECK(out != NULL && n == 2 && memcmp(out, "hi", 2) == 0);
	free(out);
	CHECK(auth_b64url_decode("aGk=", 4, &n) == NULL);	/* padding */
	CHECK(auth_b64url_decode("aGl", 3, &n) == NULL);	/* stray low bits */
	CHECK(auth_b64url_decode("a+k", 3, &n) == NULL);	/* std alphabet */
	CHECK(auth_b64url_decode("a", 1, &n) == NULL);
	CHECK(auth_b64url_decode("a Gk", 4, &n) == NULL);
	out = auth_b64url_decode("", 0, &n);
	CHECK(out != NULL && n == 0);
	free(out);
	out = auth_b64_decode("aGk=", 4, &n);
	CHECK(out != NULL && n == 2);
	free(out);
	CHECK(auth_b64_decode("aGk", 3, &n) == NULL);		/* padding required */
	CHECK(auth_b64_decode("a-k=", 4, &n) == NULL);		/* url alphabet */
	CHECK(auth_b64_decode("aG==", 4, &n) == NULL);		/* stray bits */
	enc = auth_b64_encode((const unsigned char *)"\xfb\xff", 2);
	CHECK_STR(enc, "+/8=");
	free(enc);
	enc = auth_b64url_encode((const unsigned char *)"\xfb\xff", 2);
	CHECK_STR(enc, "-_8");
	free(enc);
}

/* A plain strict decoder to compare with: -1, or the length decoded. */
static long
ref_b64_decode(const char *alpha, const char *in, size_t n, unsigned char *out)
{
	unsigned long	acc = 0;
	size_t		i, bits = 0, len = 0;
	const char	*c;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if (in[i] == '\0' || (c = strchr(alpha, in[i])) == NULL)
			return -1;
		acc = acc << 6 | (unsigned long)(c - alpha);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	return acc != 0 ? -1 : (long)len;	/* stray trailing bits */
}

/*
 * Long inputs take the decoder's 32-characters-at-a-time path (where the
 * CPU has it): random texts of both alphabets, then each with one byte
 * made wrong at a random place (every byte value in turn, so also the
 * other alphabet's two, '=' and bytes of 0x80 and up), agree with the
 * plain decoder, decoded into a buffer and in place.
 */
static void
test_base64_long_inputs(void)
{
	static const char	url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const char	std[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			 text[400], copy[400];
	unsigned char		 want[400], *got;
	size_t			 n, len, k, pad;
	long			 wlen;
	int			 round, isurl, bad, mismatches = 0;

	srand(7);
	for (round = 0; round < 20000; round++) {
		isurl = round % 2;
		n = 40 + (size_t)rand() % 300;
		n -= n % 4 == 1;
		for (k = 0; k < n; k++)
			text[k] = (isurl ? url : std)[rand() % 64];
		/* Even rounds pair: a valid text, then one byte changed. */
		bad = round % 4 >= 2;
		/* (Not in base64's last two places: "=" there is padding, and the
		   text a valid one of another length.) */
		if (bad)
			text[(size_t)rand() % (isurl ? n : n - 2)] = (char)(round / 4 % 256);
		if (!isurl && n % 4 != 0) {
			/* padded base64: the decoder takes the unpadded part */
			pad = 4 - n % 4;
			memset(text + n, '=', pad);
		} else
			pad = 0;
		wlen = ref_b64_decode(isurl ? url : std, text, n, want);
		if (isurl)
			got = auth_b64url_decode(text, n, &len);
		else
			got = auth_b64_decode(text, n + pad, &len);
		if (wlen < 0 ? got != NULL : got == NULL || len != (size_t)wlen ||
		    memcmp(got, want, len) != 0)
			mismatches++;
		free(got);
		/* In place, as the verifier decodes a capture's body. */
		memcpy(copy, text, n + pad);
		if ((isurl ? auth_b64url_decode_into(copy, n, (unsigned char *)copy, &len) :
		    auth_b64_decode_into(copy, n + pad, (unsigned char *)copy, &len)) != 0 ?
		    wlen >= 0 : wlen < 0 || len != (size_t)wlen || memcmp(copy, want, len) != 0)
			mismatches++;
	}
	CHECK(mismatches == 0);
}

/* Raw span of the value ptr names in text, as the verifier finds payloads. */
static char *
span(const char *text, const char *ptr)
{
	struct auth_pointer	*p;
	struct jdoc		 d;
	char			*cause = NULL, *out = NULL;
	int			 t;

	d.toks = NULL;
	if ((p = auth_pointer_parse(ptr, &cause)) == NULL) {
		free(cause);
		return NULL;
	}
	if (jdoc_parse(&d, text, strlen(text), 64, NULL, 0) == 0 &&
	    (t = jdoc_pointer(&d, 0, p)) >= 0) {
		out = strndup(text + d.toks[t].start, d.toks[t].end - d.toks[t].start);
	}
	jdoc_release(&d);
	auth_pointer_free(p);
	return out;
}

/* JSON pointers and the exact bytes of members. */
static void
test_json_span(void)
{
	const char	*doc = " { \"a\" : { \"b~c\" : [ 1 , {\"x\": \"y\\\"}\"} ] },"
	    "\"payload\":{ \"k\" : [1,2,{}] , \"s\":\"}\" }, \"n\":-1.5e3 ,\"a/b\":true}";
	char		*s, *cause = NULL;

	s = span(doc, "/payload");
	CHECK_STR(s, "{ \"k\" : [1,2,{}] , \"s\":\"}\" }");
	free(s);
	s = span(doc, "/a/b~0c/1/x");
	CHECK_STR(s, "\"y\\\"}\"");
	free(s);
	s = span(doc, "/a/b~0c/0");
	CHECK_STR(s, "1");
	free(s);
	s = span(doc, "/n");
	CHECK_STR(s, "-1.5e3");
	free(s);
	s = span(doc, "/a~1b");
	CHECK_STR(s, "true");
	free(s);
	s = span(doc, "");
	CHECK(s != NULL && s[0] == '{');
	free(s);
	CHECK(span(doc, "/missing") == NULL);
	CHECK(span(doc, "/a/b~0c/2") == NULL);
	CHECK(span(doc, "/a/b~0c/01") == NULL);
	/* An escaped member name still matches its decoded pointer token. */
	s = span("{\"p\\u0061y\":[7]}", "/pay");
	CHECK_STR(s, "[7]");
	free(s);
	CHECK(auth_pointer_parse("payload", &cause) == NULL && cause != NULL);
	free(cause);
	cause = NULL;
	CHECK(auth_pointer_parse("/a~2", &cause) == NULL);
	free(cause);
}

/* Hostile nesting is refused by depth, without recursion. */
static void
test_json_depth(void)
{
	size_t		 n = 200000, i;
	char		*deep = malloc(n * 2), err[128];
	struct jdoc	 d;

	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[n * 2 - 1 - i] = ']';
	}
	d.toks = NULL;
	CHECK(jdoc_parse(&d, deep, n * 2, 64, err, sizeof err) == -1);
	CHECK(strstr(err, "64") != NULL);
	jdoc_release(&d);
	CHECK(jdoc_parse(&d, "{\"a\":\"[[[[[\"}", 13, 1, err, sizeof err) == 0);
	jdoc_release(&d);
	free(deep);
}

/* A verdict carrying replay key k (a small integer), as auth_verify leaves it. */
static struct auth_verdict *
replay_verdict(uint32_t k, long long window)
{
	struct auth_verdict	*v = auth_verdict_new("s");

	memset(v->replay_key, 0, sizeof v->replay_key);
	memcpy(v->replay_key, &k, sizeof k);
	v->replay_key[8] = (unsigned char)(k >> 3);
	v->has_replay_key = 1;
	v->replay_window = window;
	return v;
}

/* Run the replay step for key k at now; returns whether it passed. */
static int
replay_pass(struct auth_replay *rp, uint32_t k, long long window, time_t now)
{
	struct auth_verdict	*v = replay_verdict(k, window);
	int			 pass;

	auth_replay_check(rp, v, now);
	pass = auth_verdict_pass(v);
	if (!pass)
		CHECK(auth_verdict_reason(v) == AUTH_REPLAY);
	auth_verdict_free(v);
	return pass;
}

/* Seen twice in the window is a replay; after the window it is new. */
static void
test_replay_window(void)
{
	struct auth_replay	*rp = auth_replay_new(100);

	CHECK(replay_pass(rp, 1, 60, 1000));
	CHECK(!replay_pass(rp, 1, 60, 1001));
	CHECK(!replay_pass(rp, 1, 60, 1059));
	CHECK(replay_pass(rp, 1, 60, 1060));
	CHECK(!replay_pass(rp, 1, 60, 1061));
	CHECK(replay_pass(rp, 2, 60, 1061));
	CHECK(auth_replay_evictions(rp) == 0);
	auth_replay_free(rp);
}

/* Memory is bounded: past capacity the keys closest to expiry go, counted. */
static void
test_replay_bounded(void)
{
	struct auth_replay	*rp = auth_replay_new(1000);
	uint32_t		 k;
	int			 all_replays = 1;

	for (k = 0; k < 5000; k++)
		CHECK(replay_pass(rp, k, 3600, 100 + k / 10));
	CHECK(auth_replay_evictions(rp) == 4000);
	/* The newest 1000 (latest expiries) are still remembered, in a table
	   that survived thousands of backward-shift deletions. */
	for (k = 4000; k < 5000; k++)
		all_replays &= !replay_pass(rp, k, 3600, 600);
	CHECK(all_replays);
	CHECK(replay_pass(rp, 10, 3600, 600));		/* forgotten early */
	auth_replay_free(rp);
}

/* A large bound costs nothing until keys arrive; growing toward it keeps
   every key, and the bound still holds. */
static void
test_replay_grows(void)
{
	struct auth_replay	*rp = auth_replay_new(300000);
	uint32_t		 k;
	int			 all_pass = 1, all_replays = 1;

	CHECK(auth_replay_capacity(rp) <= 1024);
	for (k = 0; k < 70000; k++)
		all_pass &= replay_pass(rp, k, 3600, 100);
	CHECK(all_pass);
	CHECK(auth_replay_evictions(rp) == 0);
	CHECK(auth_replay_capacity(rp) >= 70000 && auth_replay_capacity(rp) <= 300000);
	for (k = 0; k < 70000; k++)		/* every key kept through each move */
		all_replays &= !replay_pass(rp, k, 3600, 200);
	CHECK(all_replays);
	auth_replay_free(rp);

	rp = auth_replay_new(700);		/* grows to the bound, not past it */
	for (k = 0; k < 2000; k++)
		CHECK(replay_pass(rp, k, 3600, 100));
	CHECK(auth_replay_capacity(rp) == 700);
	CHECK(auth_replay_evictions(rp) == 1300);
	auth_replay_free(rp);
}

/* Short-window keys cannot flush a long-window key out of a full cache. */
static void
test_replay_mixed_windows(void)
{
	struct auth_replay	*rp = auth_replay_new(4);

	CHECK(replay_pass(rp, 1, 1000, 100));		/* long window */
	CHECK(replay_pass(rp, 2, 1, 100));
	CHECK(replay_pass(rp, 3, 1, 100));
	CHECK(replay_pass(rp, 4, 1, 100));
	CHECK(replay_pass(rp, 5, 1, 110));		/* cache full: expired ones go */
	CHECK(replay_pass(rp, 6, 1, 110));
	CHECK(replay_pass(rp, 7, 1, 110));
	CHECK(replay_pass(rp, 8, 1, 110));
	CHECK(!replay_pass(rp, 1, 1000, 111));		/* still caught */
	auth_replay_free(rp);
}

/* Extreme clocks: no false replay before the epoch, no overflow at the end. */
static void
test_replay_extreme_times(void)
{
	struct auth_replay	*rp = auth_replay_new(8);

	CHECK(replay_pass(rp, 1, 60, -1));
	CHECK(!replay_pass(rp, 1, 60, 0));
	CHECK(replay_pass(rp, 2, 600, (time_t)(INT64_MAX - 100)));	/* clamped expiry */
	CHECK(!replay_pass(rp, 2, 600, (time_t)(INT64_MAX - 50)));
	auth_replay_free(rp);
}

/* A failing verdict is not remembered and not changed. */
static void
test_replay_skips_failures(void)
{
	struct auth_replay	*rp = auth_replay_new(10);
	struct auth_verdict	*v = replay_verdict(7, 60);

	auth_verdict_fail(v, AUTH_EXPIRED, "time", "expired", NULL, NULL);
	auth_replay_check(rp, v, 10);
	CHECK(auth_verdict_reason(v) == AUTH_EXPIRED);
	auth_verdict_free(v);
	CHECK(replay_pass(rp, 7, 60, 11));
	auth_replay_free(rp);
}

/* A special sequence at every position of strings 0..48 bytes long. */
static const struct {
	const char	*raw;		/* what the string holds */
	const char	*decoded;	/* what the JSON must decode to */
} verdict_specials[] = {
	{ "\"", "\"" }, { "\\", "\\" }, { "\n", "\n" }, { "\x1b", "\x1b" },
	{ "\x7f", "\x7f" }, { "\xc3\xa9", "\xc3\xa9" },
	{ "\xe2\x80\xae", "\xe2\x80\xae" }, { "\xff", "\xef\xbf\xbd" },
};

/* Whether out holds a byte a terminal might obey: C0, DEL, or U+202E raw. */
static int
raw_control(const char *out)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)out; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	}
	return strstr(out, "\xe2\x80\xae") != NULL;
}

/* The detail of the verdict's only check, read back from its JSON. */
static char *
verdict_detail_roundtrip(const char *detail, int *unsafe)
{
	struct auth_verdict	*v = auth_verdict_new("s");
	char			*buf = NULL, *got = NULL;
	size_t			 len = 0, cap = 0;
	json_t			*root, *d;

	auth_verdict_check_add(v, "c", AUTH_CHECK_OK, detail, NULL, NULL);
	auth_verdict_json(v, &buf, &len, &cap);
	*unsafe = raw_control(buf);
	root = json_loads(buf, 0, NULL);
	d = json_object_get(json_array_get(json_object_get(root, "checks"), 0), "detail");
	if (json_is_string(d))
		got = strdup(json_string_value(d));
	json_decref(root);
	free(buf);
	auth_verdict_free(v);
	return got;
}

static void
test_verdict_string_escapes(void)
{
	char	 in[64], want[64], *got;
	size_t	 len, at, k, n;
	int	 unsafe, bad = 0;

	for (k = 0; k < sizeof verdict_specials / sizeof verdict_specials[0]; k++) {
		n = strlen(verdict_specials[k].raw);
		for (len = 0; len <= 48; len++) {
			for (at = 0; at <= len; at++) {
				memset(in, 'x', len);
				memcpy(in + at, verdict_specials[k].raw, n);
				memset(in + at + n, 'y', len - at);
				in[len + n] = '\0';
				memset(want, 'x', at);
				strcpy(want + at, verdict_specials[k].decoded);
				memset(want + strlen(want), 'y', len - at);
				want[at + strlen(verdict_specials[k].decoded) + len - at] = '\0';
				got = verdict_detail_roundtrip(in, &unsafe);
				if (got == NULL || strcmp(got, want) != 0 || unsafe)
					bad++;
				free(got);
			}
		}
	}
	CHECK(bad == 0);
	/* Plain strings of every length come back as they are. */
	for (len = 0; len < sizeof in - 1; len++) {
		memset(in, 'a' + (int)(len % 26), len);
		in[len] = '\0';
		got = verdict_detail_roundtrip(in, &unsafe);
		CHECK(got != NULL && strcmp(got, in) == 0 && !unsafe);
		free(got);
	}
}

/*
 * Strings that end at the last byte of a page with no page after it: the
 * one-pass copy reads whole 16-byte blocks and must stop before the gap,
 * and long strings (past the first 128 bytes of room) come back whole.
 */
static void
test_verdict_string_page_end(void)
{
	long	 page = sysconf(_SC_PAGESIZE);
	char	*map, *in, *got;
	size_t	 len;
	int	 unsafe, bad = 0, tail;

	map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	CHECK(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	CHECK(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
	for (tail = 0; tail < 2; tail++) {
		for (len = 0; len <= 600; len++) {
			in = map + page - 1 - len;
			memset(in, 'a' + (int)(len % 26), len);
			if (tail && len > 0)
				in[len - 1] = '"';	/* the slow path at the very end */
			in[len] = '\0';
			got = verdict_detail_roundtrip(in, &unsafe);
			if (got == NULL || strcmp(got, in) != 0 || unsafe)
				bad++;
			free(got);
		}
	}
	CHECK(bad == 0);
	munmap(map, (size_t)page * 2);
}

/* Decoded claims with a character a terminal obeys, at every offset. */
static void
test_verdict_claims_filter(void)
{
	char			 text[96], *buf;
	size_t			 len, cap, pad;
	struct auth_verdict	*v;
	json_t			*root;
	int			 bad = 0;

	for (pad = 0; pad <= 40; pad++) {
		snprintf(text, sizeof text, "{\"a\":\"%.*s\xe2\x80\xae\"}", (int)pad,
		    "0123456789012345678901234567890123456789");
		v = auth_verdict_new("s");
		v->claims_text = text;
		v->claims_len = strlen(text);
		buf = NULL;
		len = cap = 0;
		auth_verdict_json(v, &buf, &len, &cap);
		root = json_loads(buf, 0, NULL);
		if (root == NULL || raw_control(buf) ||
		    !json_is_string(json_object_get(json_object_get(root, "claims"), "a")))
			bad++;
		json_decref(root);
		free(buf);
		v->claims_text = NULL;
		auth_verdict_free(v);
	}
	CHECK(bad == 0);
}

int
main(void)
{
	UNIT_RUN(test_subject_match);
	UNIT_RUN(test_base64_strict);
	UNIT_RUN(test_base64_long_inputs);
	UNIT_RUN(test_json_span);
	UNIT_RUN(test_json_depth);
	UNIT_RUN(test_replay_window);
	UNIT_RUN(test_replay_bounded);
	UNIT_RUN(test_replay_grows);
	UNIT_RUN(test_replay_mixed_windows);
	UNIT_RUN(test_replay_extreme_times);
	UNIT_RUN(test_replay_skips_failures);
	UNIT_RUN(test_verdict_string_escapes);
	UNIT_RUN(test_verdict_string_page_end);
	UNIT_RUN(test_verdict_claims_filter);
	UNIT_DONE();
}
