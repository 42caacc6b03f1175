/*
 * tests/unit/test-jcs.c -- RFC 8785 canonicalization (auth_jcs).
 *
 * The RFC's own examples (the Appendix B number table, the §3.2.2 sample
 * object and the §3.2.3 sorting example), ECMAScript number layout at its
 * edges, string escaping, and every kind of input that must be refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"
#include "unit.h"

/* Canonicalize a NUL-terminated text; NULL on error (cause freed). */
static char *
jcs(const char *in)
{
	char	*out, *cause = NULL;
	size_t	 len;

	out = auth_jcs(in, strlen(in), &len, &cause);
	if (out == NULL) {
		fprintf(stderr, "  auth_jcs: %s\n", cause ? cause : "(no cause)");
		free(cause);
		return NULL;
	}
	if (len != strlen(out))
		fprintf(stderr, "  auth_jcs: out_len %zu for \"%s\"\n", len, out);
	return out;
}

/* Whether in canonicalizes to want. */
static int
jcs_is(const char *in, const char *want)
{
	char	*out = jcs(in);
	int	 ok;

	ok = out != NULL && strcmp(out, want) == 0;
	if (!ok)
		fprintf(stderr, "  in %s: got %s, want %s\n", in,
		    out ? out : "(null)", want);
	free(out);
	return ok;
}

/* Whether in[0..len) is refused with a cause. */
static int
jcs_refused_len(const char *in, size_t len)
{
	char	*out, *cause = NULL;
	size_t	 out_len = 0;

	out = auth_jcs(in, len, &out_len, &cause);
	if (out != NULL) {
		fprintf(stderr, "  accepted %.*s as %s\n", (int)len, in, out);
		free(out);
		free(cause);
		return 0;
	}
	if (cause == NULL || *cause == '\0') {
		fprintf(stderr, "  refused %.*s without a cause\n", (int)len, in);
		free(cause);
		return 0;
	}
	free(cause);
	return 1;
}

/* Whether the NUL-terminated in is refused with a cause. */
static int
jcs_refused(const char *in)
{
	return jcs_refused_len(in, strlen(in));
}

/* Canonical text of the double with IEEE-754 bits, given as JSON input. */
static int
jcs_bits_is(uint64_t bits, const char *want)
{
	double	v;
	char	in[64];

	memcpy(&v, &bits, sizeof v);
	snprintf(in, sizeof in, "%.17g", v);
	return jcs_is(in, want);
}

/* RFC 8785 Appendix B: number serialization samples. */
static void
test_rfc_numbers(void)
{
	CHECK(jcs_bits_is(0x0000000000000000ULL, "0"));
	CHECK(jcs_bits_is(0x8000000000000000ULL, "0"));
	CHECK(jcs_bits_is(0x0000000000000001ULL, "5e-324"));
	CHECK(jcs_bits_is(0x8000000000000001ULL, "-5e-324"));
	CHECK(jcs_bits_is(0x7fefffffffffffffULL, "1.7976931348623157e+308"));
	CHECK(jcs_bits_is(0xffefffffffffffffULL, "-1.7976931348623157e+308"));
	CHECK(jcs_bits_is(0x4340000000000000ULL, "9007199254740992"));
	CHECK(jcs_bits_is(0xc340000000000000ULL, "-9007199254740992"));
	CHECK(jcs_bits_is(0x4430000000000000ULL, "295147905179352830000"));
	CHECK(jcs_bits_is(0x44b52d02c7e14af5ULL, "9.999999999999997e+22"));
	CHECK(jcs_bits_is(0x44b52d02c7e14af6ULL, "1e+23"));
	CHECK(jcs_bits_is(0x44b52d02c7e14af7ULL, "1.0000000000000001e+23"));
	CHECK(jcs_bits_is(0x444b1ae4d6e2ef4eULL, "999999999999999700000"));
	CHECK(jcs_bits_is(0x444b1ae4d6e2ef4fULL, "999999999999999900000"));
	CHECK(jcs_bits_is(0x444b1ae4d6e2ef50ULL, "1e+21"));
	CHECK(jcs_bits_is(0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7"));
	CHECK(jcs_bits_is(0x3eb0c6f7a0b5ed8dULL, "0.000001"));
	CHECK(jcs_bits_is(0x41b3de4355555553ULL, "333333333.3333332"));
	CHECK(jcs_bits_is(0x41b3de4355555554ULL, "333333333.33333325"));
	CHECK(jcs_bits_is(0x41b3de4355555555ULL, "333333333.3333333"));
	CHECK(jcs_bits_is(0x41b3de4355555556ULL, "333333333.3333334"));
	CHECK(jcs_bits_is(0x41b3de4355555557ULL, "333333333.33333343"));
	CHECK(jcs_bits_is(0xbecbf647612f3696ULL, "-0.0000033333333333333333"));
	CHECK(jcs_bits_is(0x43143ff3c1cb0959ULL, "1424953923781206.2"));
}

/* Number layout at the edges of ECMAScript's Number::toString. */
static void
test_number_layout(void)
{
	CHECK(jcs_is("-0", "0"));
	CHECK(jcs_is("-0.0e-5", "0"));
	CHECK(jcs_is("0e999999999999999999", "0"));
	CHECK(jcs_is("1", "1"));
	CHECK(jcs_is("-1", "-1"));
	CHECK(jcs_is("1.0", "1"));
	CHECK(jcs_is("4.50", "4.5"));
	CHECK(jcs_is("0.1", "0.1"));
	CHECK(jcs_is("0.3", "0.3"));
	CHECK(jcs_is("1E2", "100"));
	CHECK(jcs_is("1e+2", "100"));
	CHECK(jcs_is("123e-2", "1.23"));
	CHECK(jcs_is("1e20", "100000000000000000000"));
	CHECK(jcs_is("1e21", "1e+21"));
	CHECK(jcs_is("1.5e21", "1.5e+21"));
	CHECK(jcs_is("123456789012345678901234", "1.2345678901234569e+23"));
	CHECK(jcs_is("0.000001", "0.000001"));
	CHECK(jcs_is("0.0000012", "0.0000012"));
	CHECK(jcs_is("1e-7", "1e-7"));
	CHECK(jcs_is("1.5e-7", "1.5e-7"));
	CHECK(jcs_is("2e-3", "0.002"));
	CHECK(jcs_is("1E30", "1e+30"));
	CHECK(jcs_is("0.000000000000000000000000001", "1e-27"));
	CHECK(jcs_is("9007199254740993", "9007199254740992"));
	CHECK(jcs_is("1e-400", "0"));		/* underflow is a double */
	CHECK(jcs_is("2.4703282292062328e-324", "5e-324"));
	/* Powers of two, where the round-trip interval is lopsided. */
	CHECK(jcs_bits_is(0x0060000000000000ULL, "7.120236347223045e-307"));
	CHECK(jcs_bits_is(0x7cf0000000000000ULL, "6.386688990511104e+293"));
	CHECK(jcs_is("9.5367431640625e-7", "9.5367431640625e-7"));
	CHECK(jcs_is("5.764607523034235e+17", "576460752303423500"));
	CHECK(jcs_is("[0.1,-2.5,1e100]", "[0.1,-2.5,1e+100]"));
}

/* RFC 8785 §3.2.2: the sample object and its published output. */
static void
test_rfc_sample(void)
{
	const char	*in =
	    "{\n"
	    "  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
	    "                2e-3, 0.000000000000000000000000001],\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}\n";
	const char	*want =
	    "{\"literals\":[null,true,false],"
	    "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
	    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";

	CHECK(jcs_is(in, want));
}

/* RFC 8785 §3.2.3: members sorted as UTF-16 code units. */
static void
test_rfc_sorting(void)
{
	const char	*in =
	    "{\n"
	    "  \"\\u20ac\": \"Euro Sign\",\n"
	    "  \"\\r\": \"Carriage Return\",\n"
	    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
	    "  \"1\": \"One\",\n"
	    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
	    "  \"\\u0080\": \"Control\",\n"
	    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
	    "}\n";
	const char	*want =
	    "{\"\\r\":\"Carriage Return\","
	    "\"1\":\"One\","
	    "\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";

	CHECK(jcs_is(in, want));
	/* Raw UTF-8 names sort the same way as escaped ones. */
	CHECK(jcs_is("{\"\xef\xac\xb3\":1,\"\xf0\x9f\x98\x80\":2}",
	    "{\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":1}"));
	/* A prefix sorts first; nested objects are sorted too. */
	CHECK(jcs_is("{\"ab\":1,\"a\":2,\"\":3,\"b\":{\"y\":1,\"x\":[{\"d\":0,\"c\":0}]}}",
	    "{\"\":3,\"a\":2,\"ab\":1,\"b\":{\"x\":[{\"c\":0,\"d\":0}],\"y\":1}}"));
}

/* Pretty-printed and compact inputs give the same canonical text. */
static void
test_pretty_equals_compact(void)
{
	const char	*pretty =
	    "\r\n{\t\"kty\" : \"EC\" ,\n"
	    "  \"crv\" : \"P-256\",\n"
	    "  \"x\"   : \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\n"
	    "  \"y\"   : \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\n"
	    "  \"ext\" : [ 1 , 2.0 , { } , [ ] , true ]\n"
	    "}  \n";
	const char	*compact =
	    "{\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"ext\":[1,2,{},[],true],\"kty\":\"EC\",\"crv\":\"P-256\"}";
	char		*a = jcs(pretty), *b = jcs(compact);

	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL)
		CHECK_STR(a, b);
	CHECK_STR(a, "{\"crv\":\"P-256\",\"ext\":[1,2,{},[],true],"
	    "\"kty\":\"EC\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}");
	free(a);
	free(b);
}

/* String escaping: only '"', '\\' and U+0000..U+001F. */
static void
test_strings(void)
{
	char	*out, *cause = NULL;
	size_t	 len;

	CHECK(jcs_is("\"\\u0000\\u0001\\u001F\\u007f\"",
	    "\"\\u0000\\u0001\\u001f\x7f\""));
	CHECK(jcs_is("\"\\b\\f\\n\\r\\t\\u0008\\u000b\"",
	    "\"\\b\\f\\n\\r\\t\\b\\u000b\""));
	CHECK(jcs_is("\"\\/\\\"\\\\\"", "\"/\\\"\\\\\""));
	CHECK(jcs_is("\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\""));
	CHECK(jcs_is("\"\\u00e9\xc3\xa9\\uFFFF\"",
	    "\"\xc3\xa9\xc3\xa9\xef\xbf\xbf\""));
	CHECK(jcs_is("\"\\uDBFF\\uDFFF\"", "\"\xf4\x8f\xbf\xbf\""));
	CHECK(jcs_is("\"<script>&'\"", "\"<script>&'\""));
	CHECK(jcs_is("\"\"", "\"\""));

	/* U+0000 is allowed, in values and in names. */
	CHECK(jcs_is("{\"a\\u0000\":1,\"a\":2}", "{\"a\":2,\"a\\u0000\":1}"));

	/* out_len counts bytes; the text is NUL-terminated. */
	out = auth_jcs("[ \"x\" ]", 7, &len, &cause);
	CHECK(out != NULL && len == 5 && strcmp(out, "[\"x\"]") == 0);
	free(out);

	/* The input need not be NUL-terminated. */
	out = auth_jcs("[1]xyz", 3, &len, &cause);
	CHECK(out != NULL && len == 3 && strcmp(out, "[1]") == 0);
	free(out);
}

/* Any JSON value may stand at the top. */
static void
test_scalars(void)
{
	CHECK(jcs_is("true", "true"));
	CHECK(jcs_is(" false ", "false"));
	CHECK(jcs_is("null", "null"));
	CHECK(jcs_is("\"a\"", "\"a\""));
	CHECK(jcs_is("  42  ", "42"));
	CHECK(jcs_is("{}", "{}"));
	CHECK(jcs_is("[ ]", "[]"));
}

/* Text that is not JSON is refused. */
static void
test_refuse_syntax(void)
{
	static const char	*bad[] = {
		"", "   ", "{", "}", "[", "[1,]", "[,1]", "[1 2]",
		"{\"a\":1,}", "{\"a\"}", "{\"a\" 1}", "{a:1}", "{'a':1}",
		"{1:1}", "01", "-01", "1.", ".5", "+1", "-", "1e", "1e+",
		"0x10", "tru", "nul", "True", "\"abc", "\"\\x\"", "\"\\u12\"",
		"\"\\u12G4\"", "\"a\tb\"", "\"a\nb\"", "1 2", "[1]]", "{}{}",
		"\xef\xbb\xbf{}", "[1]\f", "/* c */ 1",
	};
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!jcs_refused(bad[i])) {
			fprintf(stderr, "  case %zu\n", i);
			CHECK(0);
		}
	}
	CHECK(jcs_refused_len("[1,\0 2]", 7));
	CHECK(jcs_refused_len("\"a\0b\"", 5));
}

/* Duplicate member names, compared after unescaping. */
static void
test_refuse_duplicates(void)
{
	CHECK(jcs_refused("{\"a\":1,\"a\":2}"));
	CHECK(jcs_refused("{\"a\":1,\"b\":0,\"a\":1}"));
	CHECK(jcs_refused("{\"a\":1,\"\\u0061\":2}"));
	CHECK(jcs_refused("{\"\xc3\xa9\":1,\"\\u00e9\":2}"));
	CHECK(jcs_refused("{\"\":1,\"\":2}"));
	CHECK(jcs_refused("[{\"x\":{\"k\":1,\"k\":1}}]"));
	CHECK(jcs_is("{\"a\":{\"a\":1},\"b\":{\"a\":2}}",
	    "{\"a\":{\"a\":1},\"b\":{\"a\":2}}"));
}

/* Numbers that are not finite doubles. */
static void
test_refuse_numbers(void)
{
	CHECK(jcs_refused("NaN"));
	CHECK(jcs_refused("[NaN]"));
	CHECK(jcs_refused("Infinity"));
	CHECK(jcs_refused("-Infinity"));
	CHECK(jcs_refused("1e400"));
	CHECK(jcs_refused("-1e309"));
	CHECK(jcs_refused("1.8e308"));
	CHECK(jcs_refused("1e99999999999999999999"));
	CHECK(jcs_refused("{\"n\":2e308}"));
	CHECK(jcs_is("1.7976931348623157e308", "1.7976931348623157e+308"));
}

/* Bytes that are not UTF-8. */
static void
test_refuse_utf8(void)
{
	CHECK(jcs_refused("\"\xff\""));
	CHECK(jcs_refused("\"\x80\""));
	CHECK(jcs_refused("\"\xc0\xaf\""));		/* overlong '/' */
	CHECK(jcs_refused("\"\xc1\xbf\""));
	CHECK(jcs_refused("\"\xe0\x80\xaf\""));		/* overlong */
	CHECK(jcs_refused("\"\xf0\x80\x80\xaf\""));	/* overlong */
	CHECK(jcs_refused("\"\xed\xa0\x80\""));		/* U+D800 */
	CHECK(jcs_refused("\"\xed\xbf\xbf\""));		/* U+DFFF */
	CHECK(jcs_refused("\"\xf4\x90\x80\x80\""));	/* above U+10FFFF */
	CHECK(jcs_refused("\"\xf5\x80\x80\x80\""));
	CHECK(jcs_refused("\"\xe2\x82\""));		/* truncated */
	CHECK(jcs_refused("\"\xe2\x82"));
	CHECK(jcs_refused("{\"\xe2\":1}"));
	CHECK(jcs_refused("[\xc3\xa9]"));		/* outside a string */
	CHECK(jcs_is("\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"",
	    "\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\""));
}

/* Surrogate escapes must come in high-low pairs. */
static void
test_refuse_surrogates(void)
{
	CHECK(jcs_refused("\"\\ud800\""));
	CHECK(jcs_refused("\"\\uD800x\""));
	CHECK(jcs_refused("\"\\ud800\\u0041\""));
	CHECK(jcs_refused("\"\\ud800\\ud800\""));
	CHECK(jcs_refused("\"\\ud800\\n\""));
	CHECK(jcs_refused("\"\\udc00\""));
	CHECK(jcs_refused("\"\\udfff\\ud800\""));
	CHECK(jcs_refused("{\"\\ud83d\":1}"));
	CHECK(jcs_refused("\"\\ud83d\\ude0"));
}

/* n containers, objects and arrays in turn, around a 0. */
static char *
nested(size_t n)
{
	char	*in = malloc(n * 6 + 2), *p = in;
	size_t	 i;

	for (i = 0; i < n; i++) {
		memcpy(p, i % 2 ? "[" : "{\"a\":", i % 2 ? 1 : 5);
		p += i % 2 ? 1 : 5;
	}
	*p++ = '0';
	for (i = n; i > 0; i--)
		*p++ = (i - 1) % 2 ? ']' : '}';
	*p = '\0';
	return in;
}

/* Whether in is refused for its nesting. */
static int
refused_for_depth(const char *in)
{
	char	*out, *cause = NULL;
	size_t	 len;
	int	 ok;

	out = auth_jcs(in, strlen(in), &len, &cause);
	ok = out == NULL && cause != NULL && strstr(cause, "nesting") != NULL;
	if (!ok)
		fprintf(stderr, "  cause: %s\n", cause ? cause : "(null)");
	free(out);
	free(cause);
	return ok;
}

/* Nesting: 1000 levels are fine, 1001 are not. */
static void
test_refuse_depth(void)
{
	char	*in, *out;
	size_t	 n;

	in = nested(1000);
	out = jcs(in);
	CHECK(out != NULL && strcmp(out, in) == 0);
	free(out);
	free(in);

	in = nested(1001);
	CHECK(refused_for_depth(in));
	free(in);

	/* 1001 arrays. */
	n = 1001;
	in = malloc(2 * n + 1);
	memset(in, '[', n);
	memset(in + n, ']', n);
	in[2 * n] = '\0';
	CHECK(refused_for_depth(in));
	in[2 * n - 1] = '\0';
	out = jcs(in + 1);
	CHECK(out != NULL && strcmp(out, in + 1) == 0);
	free(out);
	free(in);

	/* Far deeper than the limit: refused without exhausting the stack. */
	n = 200000;
	in = malloc(n + 1);
	memset(in, '[', n);
	in[n] = '\0';
	CHECK(refused_for_depth(in));
	free(in);
}

int
main(void)
{
	UNIT_RUN(test_rfc_numbers);
	UNIT_RUN(test_number_layout);
	UNIT_RUN(test_rfc_sample);
	UNIT_RUN(test_rfc_sorting);
	UNIT_RUN(test_pretty_equals_compact);
	UNIT_RUN(test_strings);
	UNIT_RUN(test_scalars);
	UNIT_RUN(test_refuse_syntax);
	UNIT_RUN(test_refuse_duplicates);
	UNIT_RUN(test_refuse_numbers);
	UNIT_RUN(test_refuse_utf8);
	UNIT_RUN(test_refuse_surrogates);
	UNIT_RUN(test_refuse_depth);
	UNIT_DONE();
}
