/*
 * auth/auth-jdoc.h -- a strict JSON tokenizer for the hot path.
 *
 * jdoc_parse() checks a JSON text as strictly as jansson's json_loadb()
 * with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY and lays its values out
 * as a flat array of tokens in document order (like jsmn), without
 * copying or decoding anything.  Documents of up to JDOC_INLINE values
 * need no allocation at all.  Strings and numbers are decoded on demand.
 *
 * Ownership: a struct jdoc borrows its text, which must outlive it and
 * stay unchanged.  It may hold memory for the tokens of large documents:
 * call jdoc_release() once done, whether jdoc_parse() succeeded or not.
 * The struct points into itself, so it must not be copied or moved
 * after jdoc_parse().  A parsed jdoc is read-only and may be shared by
 * threads.
 *
 * Standalone: only <stddef.h> and <stdint.h>; struct auth_pointer is
 * defined in auth-int.h.
 */
#ifndef AUTH_JDOC_H
#define AUTH_JDOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct auth_pointer;

/* Kinds of value; kept in a uint8_t. */
enum jdoc_type {
	JDOC_OBJECT,
	JDOC_ARRAY,
	JDOC_STRING,
	JDOC_NUMBER,
	JDOC_TRUE,
	JDOC_FALSE,
	JDOC_NULL
};

#define JDOC_INLINE	128		/* tokens held without malloc */

/*
 * One value.  An object is followed by its members as key (a string
 * token), value, key, value ...; an array by its elements.  A token's
 * subtree is toks[i .. skip).
 */
struct jdoc_tok {
	uint8_t		 type;		/* enum jdoc_type */
	uint8_t		 escaped;	/* string holds a backslash escape */
	uint8_t		 real;		/* number with a fraction or exponent */
	uint32_t	 start;		/* first byte (a string's quote) */
	uint32_t	 end;		/* past the last byte (the quote) */
	uint32_t	 count;		/* objects: members; arrays: elements */
	uint32_t	 skip;		/* first token after the subtree */
};

/* A parsed document.  All members are read-only for callers. */
struct jdoc {
	const char	*text;		/* borrowed */
	size_t		 len;
	struct jdoc_tok	*toks;		/* inline_toks or owned; never NULL */
	size_t		 ntoks;
	size_t		 cap;
	struct jdoc_tok	 inline_toks[JDOC_INLINE];
};

/*
 * Parse text[0..len), any JSON value with optional whitespace around it,
 * into d; the root is token 0.  Rejects, like jansson: anything outside
 * RFC 8259, invalid UTF-8 (overlong forms, surrogates, above U+10FFFF),
 * raw control characters in strings, \u0000 and lone surrogate escapes,
 * duplicate member names (compared decoded), integers outside int64_t
 * and other numbers that overflow a double.  Also rejects objects and
 * arrays nested deeper than max_depth (a scalar has depth 0, [] depth 1)
 * and texts longer than 4 GiB - 1.  Never recurses.  Returns 0, or -1
 * with a short reason in err[0..errlen) ("duplicate key 'alg' at byte
 * 17"; byte offsets count from 0).  err may be NULL; 128 bytes always
 * suffice.  A reason quotes at most 40 bytes of a member name as written
 * in the text, which are valid UTF-8 without control characters.
 */
int		 jdoc_parse(struct jdoc *d, const char *text, size_t len,
		     size_t max_depth, char *err, size_t errlen);
/*
 * Free what d holds.  Safe twice, after a failed parse, and on a d that
 * was never parsed if d->toks is NULL.
 */
void		 jdoc_release(struct jdoc *d);

/*
 * Lookups.  Token indexes are ints; the functions below return -1, NULL,
 * 0 or "not equal" for an index out of range or of the wrong type.
 */
/* Index of the value of member name (plain UTF-8) of object obj, or -1. */
int		 jdoc_member(const struct jdoc *d, int obj, const char *name);
/* Index of element i of array arr, or -1.  Takes O(i). */
int		 jdoc_element(const struct jdoc *d, int arr, size_t i);
/*
 * Resolve the RFC 6901 pointer p (not NULL) from token root; -1 when
 * absent.  Array steps are decimal without leading zeros ("-" is never
 * present).
 */
int		 jdoc_pointer(const struct jdoc *d, int root,
		     const struct auth_pointer *p);

/*
 * Strings.  A string token's decoded value is valid UTF-8 without NUL
 * bytes and never longer than its raw contents, end - start - 2 bytes.
 * When !escaped, the decoded value is exactly text[start + 1 .. end - 1).
 */
/*
 * Decoded value of string tok as a new NUL-terminated string the caller
 * frees; sets *n if n is not NULL.  NULL if tok is not a string.
 */
char		*jdoc_strdup(const struct jdoc *d, int tok, size_t *n);
/*
 * Decode string tok into buf[0..size), NUL-terminated, and set *n (if
 * not NULL) to its length.  Returns 0, or -1 if tok is not a string or
 * buf is too small; size >= end - start - 1 is always enough.
 */
int		 jdoc_string_copy(const struct jdoc *d, int tok, char *buf,
		     size_t size, size_t *n);
/* Whether string tok decodes to exactly s[0..n); decodes only when escaped. */
int		 jdoc_string_equals(const struct jdoc *d, int tok,
		     const char *s, size_t n);
/*
 * Whether member name k (a key token of a parsed object) is exactly
 * name[0..n): compared as written, inline, and decoded only when escaped.
 * For lookups on every event, where a call per name would cost more.
 */
static inline int
jdoc_key_is(const struct jdoc *d, int k, const char *name, size_t n)
{
	const struct jdoc_tok	*t = &d->toks[k];

	if (t->escaped)
		return jdoc_string_equals(d, k, name, n);
	return t->end - t->start - 2 == n && (n == 0 || (d->text[t->start + 1] == name[0] &&
	    memcmp(d->text + t->start + 1, name, n) == 0));
}

/* Numbers. */
/*
 * Value of number tok, as strtod() gives it in the C locale whatever the
 * current locale is; 0.0 if tok is not a number.
 */
double		 jdoc_number(const struct jdoc *d, int tok);
/*
 * Set *v to number tok if it is written as an integer (no fraction or
 * exponent) and return 0; else -1.  Such integers always fit.
 */
int		 jdoc_int64(const struct jdoc *d, int tok, int64_t *v);

/*
 * Deep equality of value a of da and value b of db (which may be the
 * same document): strings compared decoded, numbers by exact decimal
 * value (1 == 1.0 == 10e-1, -0 == 0, but 0.1 != 0.10000000000000001),
 * objects as unordered member sets, arrays in order.  Never recurses;
 * objects with many members are sorted, not scanned pairwise.
 * Returns 1 when equal, else 0.
 */
int		 jdoc_equal(const struct jdoc *da, int a, const struct jdoc *db,
		     int b);

#endif
