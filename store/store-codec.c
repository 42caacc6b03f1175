/*
 * store/store-codec.c -- the compact form of the trail's long text columns.
 *
 * DESIGN: an event row repeats itself.  The claims repeat the registered
 * claims' columns, the token's claims segment is the base64url of the
 * claims, the headers usually hold the whole token, and the trace is mostly
 * the same check names and sentences in every row.  So claims, token,
 * headers and checks may be stored as a BLOB holding an LZ77 encoding of
 * their text against a context made of the row's own columns and a fixed
 * dictionary of common trace, claims and header text; a TEXT value is
 * stored as it is.  The encoding is lossless (export gives back the text
 * byte for byte), the chain covers the stored bytes, and the decoding needs
 * nothing but this file and the row: README, "The audit trail", documents
 * the format.  The encoder is greedy, with hash chains over the dictionary
 * (built once) and over the context and the text (per value); it spends
 * little on what does not compress (a signature).
 *
 * The dictionary is part of the format: rows written with it are decoded
 * with it forever.  Never change store_dict_v1; a better dictionary would
 * be format 2 (a new first byte), with version 1 still decoded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define LZ_FORMAT	1		/* first byte of a compact value */
#define LZ_MIN		4		/* shortest match */
#define LZ_HBITS	12		/* the dictionary's hash table */
#define LZ_HSIZE	(1 << LZ_HBITS)
#define LZ_VBITS	10		/* a value's: values are short, and a
					   small table stays in L1 */
#define LZ_VSIZE	(1 << LZ_VBITS)
#define LZ_CHAIN	8		/* candidates tried per position */
#define LZ_GOOD		64		/* a match this long ends the search */
#define LZ_CTX_STEP	4		/* a long context is indexed every 4th (or 8th) */
#define LZ_HASH_MUL	2654435761u

/* Dictionary 1: text common in traces, headers and JWT headers.  Frozen. */
static const char store_dict_v1[] =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.ey"
    "JhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ0"
    "eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhbGciOiJSUzI1NiIsImtpZCI6eyJhbGciOiJQUzI"
    "1NiIsImtpZCI6eyJhbGciOiJFUzI1NiIsImtpZCI6eyJhbGciOiJFZERTQSIsImtpZCI6eyJhbGc"
    "iOiJIUzI1NiIsImtpZCI6eyJhdWQieyJpc3MieyJzdWIieyJleHAi{\"aud\":\"\",\"event_i"
    "d\":\"\",\"exp\":17,\"iat\":17,\"nbf\":17,\"iss\":\"https://\",\"jti\":\"\","
    "\"scope\":\"openid \",\"sub\":\"\"}{\"Nats-Msg-Id\":\"\",\"Content-Type\":\""
    "application/json\"{\"Authorization\":\"Bearer no rule covers this subject (d"
    "efault deny)body is not JSON: body has no token at /signature does not verif"
    "yissuer not trusted by the ruletoken is not for this audiencetoken lacks sco"
    "pe 'the rule does not allow this algorithmunsigned tokens ('none' in any spe"
    "lling) are never acceptednot valid for another  in the future (leeway event "
    "token expired header 'jku' ignored: keys never come from the tokenrequired b"
    "y the rulethe binding needs itreplay detection needs it\",\"expected\":\"exp"
    " after \",\"expected\":\"nbf before \",\"expected\":\"iat before found in th"
    "e body at /{\"check\":\"time\",\"ok\":null,\"detail\":\"not reached\"},{\"ch"
    "eck\":\"issuer\",\"ok\":null,\"detail\":\"not reached\"},{\"check\":\"audien"
    "ce\",\"ok\":null,\"detail\":\"not reached\"},{\"check\":\"scope\",\"ok\":nul"
    "l,\"detail\":\"not reached\"},{\"check\":\"claims\",\"ok\":null,\"detail\":"
    "\"not reached\"},{\"check\":\"payload_hash\",\"ok\":null,\"detail\":\"not re"
    "ached\"},{\"check\":\"event_id\",\"ok\":null,\"detail\":\"not reached\"},{\""
    "check\":\"event_token\",\"ok\":null,\"detail\":\"not reached\"},{\"check\":"
    "\"replay\",\"ok\":null,\"detail\":\"not reached\"},\"ok\":false,\"detail\":"
    "\"claim 'event_id' is not the payload's /eventID\",\"expected\":\"\\\"\"},{"
    "\"check\":\"time\",\"ok\":false,\"detail\":\"expired  ago (leeway 0s)\",\"ex"
    "pected\":\"exp after 2026-11-23T00:00:00Z\",\"actual\":\"2026-{\"check\":\"t"
    "oken\",\"ok\":false,\"detail\":\"no 'Authorization' header\"}{\"check\":\"pa"
    "yload_hash\",\"ok\":true,\"detail\":\"SHA-256 of the payload (JCS) matches c"
    "laim 'payload_hash'\",\"expected\":\"{\"check\":\"event_token\",\"ok\":true,"
    "\"detail\":\"HMAC over data verified; publisher is the issuer; expires_at (c"
    "overed by no MAC) not passed\"},{\"check\":\"replay\",\"ok\":true,\"detail\""
    ":\"first sighting within the 300s window\"}]\"expected\":\"HS256\",\"actual"
    "\":\"HS256\"},{\"check\":\"key\",\"ok\":true,\"detail\":\"one key fits\",\"a"
    "ctual\":\"[{\"check\":\"rule\",\"ok\":true,\"detail\":\"a rule covers this s"
    "ubject\",\"actual\":\"\"},{\"check\":\"message\",\"ok\":true,\"detail\":\"-b"
    "yte JSON body, payload  bytes\"},{\"check\":\"token\",\"ok\":true,\"detail\""
    ":\"found in header 'Authorization' after Bearer\"},{\"check\":\"decode\",\"o"
    "k\":true,\"detail\":\"three segments, strict base64url, JSON objects without"
    " duplicate keys\"},{\"check\":\"alg\",\"ok\":true,\"detail\":\"allowed by th"
    "e rule and the keys\",\"expected\":\"RS256\",\"actual\":\"RS256\"},{\"check"
    "\":\"key\",\"ok\":true,\"detail\":\"one key fits\",\"actual\":\"\"},{\"check"
    "\":\"signature\",\"ok\":true,\"detail\":\"signature verified with the key\","
    "\"actual\":\"\"},{\"check\":\"time\",\"ok\":true,\"detail\":\"valid, expires"
    " in 23h59m\"},{\"check\":\"issuer\",\"ok\":true,\"detail\":\"trusted issuer"
    "\",\"expected\":\"https://\",\"actual\":\"https://\"},{\"check\":\"audience"
    "\",\"ok\":true,\"detail\":\"audience matches\",\"expected\":\"\",\"actual\":"
    "\"\\\"\\\"\"},{\"check\":\"scope\",\"ok\":true,\"detail\":\"required scopes "
    "granted\",\"expected\":\"\",\"actual\":\"openid \"},{\"check\":\"claims\",\""
    "ok\":true,\"detail\":\"required claims present\"},{\"check\":\"event_id\",\""
    "ok\":true,\"detail\":\"claim 'event_id' equals the payload's /eventID\",\"ex"
    "pected\":\"\\\"\\\"\",\"actual\":\"\\\"\\\"\"}]";

#define LZ_DLEN		(sizeof store_dict_v1 - 1)

/* Hash chains over the dictionary, built once. */
static int16_t		 lz_dhead[LZ_HSIZE];
static int16_t		 lz_dprev[LZ_DLEN];
static pthread_once_t	 lz_once = PTHREAD_ONCE_INIT;

/* The 4 bytes at p, to hash. */
static inline uint32_t
lz_word(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return v * LZ_HASH_MUL;
}

/* Hash of the 4 bytes at p, for the dictionary's table. */
static inline unsigned
lz_hash(const unsigned char *p)
{
	return lz_word(p) >> (32 - LZ_HBITS);
}

/* Index the dictionary: each hash's chain, nearest the end first. */
static void
lz_dict_init(void)
{
	const unsigned char	*d = (const unsigned char *)store_dict_v1;
	size_t			 i;
	unsigned		 h;

	memset(lz_dhead, 0xff, sizeof lz_dhead);
	for (i = 0; i + LZ_MIN <= LZ_DLEN; i++) {
		h = lz_hash(d + i);
		lz_dprev[i] = lz_dhead[h];
		lz_dhead[h] = (int16_t)i;
	}
}

/* The dictionary, for the unit test that pins it. */
const char *
store_codec_dict(size_t *len)
{
	*len = LZ_DLEN;
	return store_dict_v1;
}

/* Read a varint at *p (before end); -1 when malformed. */
static int
lz_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned	shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char	c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			return 0;
		shift += 7;
	}
	return -1;
}

/* Length of the common prefix of a and b, at most n. */
static inline size_t
lz_common(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t	k = 0;

	while (k + 8 <= n) {
		uint64_t	x, y;

		memcpy(&x, a + k, 8);
		memcpy(&y, b + k, 8);
		if (x != y)
			return k + (size_t)(__builtin_ctzll(x ^ y) >> 3);
		k += 8;
	}
	while (k < n && a[k] == b[k])
		k++;
	return k;
}

/* Free an encoder's scratch. */
void
store_lz_free(struct store_lz *z)
{
	free(z->head);
	free(z->prev);
	free(z->buf.p);
	memset(z, 0, sizeof *z);
}

/* Remember row position r under its hash. */
static inline void
lz_insert(struct store_lz *z, size_t r)
{
	struct store_lz_head	*e = &z->head[lz_word(z->buf.p + r) >> (32 - LZ_VBITS)];

	z->prev[r] = e->gen == z->gen ? e->pos : -1;
	e->pos = (int32_t)r;
	e->gen = z->gen;
}

/* Write v as a varint at w; returns the byte after it. */
static inline unsigned char *
lz_put_varint(unsigned char *w, uint64_t v)
{
	while (v >= 0x80) {
		*w++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*w++ = (unsigned char)v;
	return w;
}

/* Where ctx[0..ctxlen) first appears whole in text[0..n), or SIZE_MAX. */
size_t
store_lz_find(const void *text, size_t n, const void *ctx, size_t ctxlen)
{
	const unsigned char	*t = text, *p = t, *end;

	if (ctxlen == 0 || ctxlen > n)
		return SIZE_MAX;
	end = t + (n - ctxlen) + 1;
	while ((p = memchr(p, *(const unsigned char *)ctx, (size_t)(end - p))) != NULL) {
		if (memcmp(p, ctx, ctxlen) == 0)
			return (size_t)(p - t);
		p++;
	}
	return SIZE_MAX;
}

/*
 * Encode in[0..n) against ctx[0..ctxlen) and the dictionary, appending the
 * compact value to out; matches are looked for before in[search] only
 * (what follows is known not to repeat, like a signature).  seed: where
 * the whole context appears in the text (store_lz_find()), or SIZE_MAX.
 * Returns 0, or -1 when it would not be shorter than the text (out is
 * then unchanged).
 */
int
store_lz_encode(struct store_lz *z, const void *ctx, size_t ctxlen, const void *in, size_t n,
    size_t search, size_t seed, struct store_buf *out)
{
	const unsigned char	*d = (const unsigned char *)store_dict_v1, *rb;
	const unsigned char	*src = in;
	unsigned char		*w, *wstart, *wlimit;
	size_t			 rlen = ctxlen + n, i, anchor, r, best, dist, len, k;
	size_t			 misses = 0, step;
	int32_t			 c;
	int			 steps;

	pthread_once(&lz_once, lz_dict_init);
	if (n < 16)
		return -1;
	if (z->head == NULL) {
		if ((z->head = calloc(LZ_VSIZE, sizeof *z->head)) == NULL) {
			fputs("ztwatch: out of memory\n", stderr);
			abort();
		}
	}
	if (z->prevcap < rlen) {
		z->prevcap = rlen + rlen / 2;
		if ((z->prev = realloc(z->prev, z->prevcap * sizeof *z->prev)) == NULL) {
			fputs("ztwatch: out of memory\n", stderr);
			abort();
		}
	}
	if (++z->gen == 0) {
		memset(z->head, 0, LZ_VSIZE * sizeof *z->head);
		z->gen = 1;
	}
	z->buf.len = 0;
	store_buf_reserve(&z->buf, rlen + 8);
	if (ctxlen > 0)
		memcpy(z->buf.p, ctx, ctxlen);
	memcpy(z->buf.p + ctxlen, in, n);
	z->buf.len = rlen;
	rb = z->buf.p;
	/* A short context is indexed at every position, a longer one every
	   few: a match against it is then found a few bytes late, for a
	   fraction of the work.  Long contexts (a token) tend to be matched
	   whole anyway.  (Measured on recorded rows: every 2nd position from
	   128 bytes on costs 1% in size and saves 10% of the time.) */
	step = ctxlen > 512 ? 2 * LZ_CTX_STEP : ctxlen > 256 ? LZ_CTX_STEP : ctxlen > 128 ? 2 : 1;
	/* A long context that appears whole in the text (the token in the
	   headers, the claims in the token) is matched there at once and not
	   indexed: indexing it was most of the work of encoding such a value. */
	if (seed != SIZE_MAX && (ctxlen < LZ_GOOD || seed >= search || seed + ctxlen > n))
		seed = SIZE_MAX;
	for (r = 0; seed == SIZE_MAX && r + LZ_MIN <= ctxlen; r += step)
		lz_insert(z, r);

	/* The output is given up once as long as the text, so n + 32 bytes
	   (a sequence's varints and literals overshoot by less) are enough. */
	store_buf_reserve(out, n + 32);
	wstart = w = out->p + out->len;
	wlimit = wstart + n;
	*w++ = LZ_FORMAT;
	w = lz_put_varint(w, n);
	anchor = i = 0;
	if (search > n)
		search = n;
	while (i + LZ_MIN <= n && i < search && w < wlimit) {
		struct store_lz_head	*e;
		uint32_t		 word;
		unsigned		 h;

		r = ctxlen + i;
		word = lz_word(rb + r);
		h = word >> (32 - LZ_HBITS);
		e = &z->head[word >> (32 - LZ_VBITS)];
		best = dist = 0;
		c = e->gen == z->gen ? e->pos : -1;
		/* r joins its chain (the candidates below are all before it). */
		z->prev[r] = c;
		e->pos = (int32_t)r;
		e->gen = z->gen;
		if (i == seed) {
			best = lz_common(rb, rb + r, rlen - r);
			dist = r;
			c = -1;
		}
		for (steps = 0; c >= 0 && steps < LZ_CHAIN && best < LZ_GOOD; steps++,
		    c = z->prev[c]) {
			/* A candidate that cannot beat the best differs at its end. */
			if (best > 0 && (best >= rlen - r || rb[c + best] != rb[r + best]))
				continue;
			len = lz_common(rb + c, rb + r, rlen - r);
			if (len > best) {
				best = len;
				dist = r - (size_t)c;
			}
		}
		c = best < LZ_GOOD && i != seed ? lz_dhead[h] : -1;
		for (steps = 0; c >= 0 && steps < LZ_CHAIN && best < LZ_GOOD; steps++,
		    c = lz_dprev[c]) {
			k = LZ_DLEN - (size_t)c < rlen - r ? LZ_DLEN - (size_t)c : rlen - r;
			if (best > 0 && (k <= best || d[c + best] != rb[r + best]))
				continue;
			len = lz_common(d + c, rb + r, k);
			if (len > best) {
				best = len;
				dist = LZ_DLEN - (size_t)c + r;
			}
		}
		/* Nothing before the seed runs into it. */
		if (i < seed && best > seed - i)
			best = seed - i;
		if (best < LZ_MIN) {
			/* Incompressible runs (signatures) are skipped over faster. */
			k = i + 1 + (++misses >> 5);
			i = i < seed && k > seed ? seed : k;
			continue;
		}
		misses = 0;
		if (w + (i - anchor) + 30 > wlimit + 32)
			break;
		w = lz_put_varint(w, i - anchor);
		memcpy(w, src + anchor, i - anchor);
		w += i - anchor;
		w = lz_put_varint(w, dist);
		w = lz_put_varint(w, best - LZ_MIN);
		i += best;
		anchor = i;
	}
	if (w < wlimit && anchor < n && w + (n - anchor) + 10 < wlimit) {
		w = lz_put_varint(w, n - anchor);
		memcpy(w, src + anchor, n - anchor);
		w += n - anchor;
	} else if (anchor < n)
		return -1;
	if (w >= wlimit)
		return -1;
	out->len += (size_t)(w - wstart);
	return 0;
}

/*
 * Decode the compact value p[0..n) against ctx[0..ctxlen) into out (text,
 * NUL-terminated; out->len excludes the NUL).  Returns 0, or -1 when p is
 * not a well-formed compact value.
 */
int
store_lz_decode(const void *p, size_t n, const void *ctx, size_t ctxlen, struct store_buf *out)
{
	const unsigned char	*s = p, *end = s + n, *d = (const unsigned char *)store_dict_v1;
	const unsigned char	*c = ctx;
	uint64_t		 total, lit, dist, mlen, src, o;
	unsigned char		*w;
	size_t			 k;

	out->len = 0;
	if (n < 2 || s[0] != LZ_FORMAT)
		return -1;
	s++;
	if (lz_get_varint(&s, end, &total) != 0 || total > ((uint64_t)1 << 31))
		return -1;
	store_buf_reserve(out, (size_t)total + 1);
	w = out->p;
	while (s < end) {
		if (lz_get_varint(&s, end, &lit) != 0 || lit > (uint64_t)(end - s) ||
		    lit > total - out->len)
			return -1;
		memcpy(w + out->len, s, (size_t)lit);
		out->len += (size_t)lit;
		s += lit;
		if (s == end)
			break;
		if (lz_get_varint(&s, end, &dist) != 0 || lz_get_varint(&s, end, &mlen) != 0 ||
		    total - out->len < LZ_MIN || mlen > total - out->len - LZ_MIN)
			return -1;
		mlen += LZ_MIN;
		o = LZ_DLEN + ctxlen + out->len;
		if (dist == 0 || dist > o)
			return -1;
		/* Copy from the virtual buffer dictionary || context || output. */
		for (src = o - dist; mlen > 0; src += k, mlen -= k) {
			if (src < LZ_DLEN) {
				k = (size_t)(LZ_DLEN - src < mlen ? LZ_DLEN - src : mlen);
				memcpy(w + out->len, d + src, k);
			} else if (src < LZ_DLEN + ctxlen) {
				k = (size_t)(LZ_DLEN + ctxlen - src < mlen ? LZ_DLEN + ctxlen - src :
				    mlen);
				memcpy(w + out->len, c + (src - LZ_DLEN), k);
			} else {
				o = src - LZ_DLEN - ctxlen;
				k = (size_t)(out->len - o < mlen ? out->len - o : mlen);
				memcpy(w + out->len, w + o, k);
			}
			out->len += k;
		}
	}
	if (out->len != total)
		return -1;
	w[out->len] = '\0';
	return 0;
}

/* Append the base64url (unpadded) of p[0..n) to b. */
void
store_b64url(struct store_buf *b, const void *p, size_t n)
{
	static const char	 abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char	*s = p;
	unsigned char		*w;
	size_t			 i;
	uint32_t		 v;

	store_buf_reserve(b, (n + 2) / 3 * 4 + 1);
	w = b->p + b->len;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*w++ = (unsigned char)abc[v >> 18];
		*w++ = (unsigned char)abc[(v >> 12) & 63];
		*w++ = (unsigned char)abc[(v >> 6) & 63];
		*w++ = (unsigned char)abc[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		*w++ = (unsigned char)abc[v >> 18];
		*w++ = (unsigned char)abc[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*w++ = (unsigned char)abc[v >> 18];
		*w++ = (unsigned char)abc[(v >> 12) & 63];
		*w++ = (unsigned char)abc[(v >> 6) & 63];
	}
	b->len = (size_t)(w - b->p);
}
