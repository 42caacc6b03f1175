/*
 * auth/auth-b64.c -- strict base64url and base64.
 *
 * Strict means one spelling per byte string: base64url without padding,
 * base64 with exact padding, no whitespace, and unused low bits of the last
 * character zero.  A token that could be written two ways is refused, so a
 * signature can never be "the same" under two different texts.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AUTH_B64_AVX2	1
#endif

static const char auth_b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char auth_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static unsigned char	auth_b64url_table[256];
static unsigned char	auth_b64_table_std[256];
/*
 * The same values placed where the first, second, third and fourth
 * character of a group put them in its 24 bits (bytes in memory order);
 * an invalid character sets bit 31 in all four.
 */
static uint32_t		auth_b64url_quad[4][256];
static uint32_t		auth_b64_quad_std[4][256];
static pthread_once_t	auth_b64_once = PTHREAD_ONCE_INIT;
static int		auth_b64_use_avx2;	/* the CPU has AVX2 */

#ifdef AUTH_B64_AVX2
/*
 * 32 characters at a time with AVX2: each byte is classified by range
 * (A-Z, a-z, 0-9 and the alphabet's two others; a byte of 0x80 or more is
 * negative as a signed char, so in none), turned into its 6-bit value by
 * the offset of its range, and four values are packed into three bytes
 * (multiply-adds, then a shuffle).  Any byte outside the alphabet stops
 * the decoding with -1, as in the scalar loop.  It runs while at least 40
 * characters remain, so its 16-byte stores (each writing 4 bytes past its
 * 12 good ones) stay inside AUTH_B64_DECODED_MAX(n), and behind the input
 * still to read when decoding in place.  Returns the characters decoded
 * (a multiple of 32), or -1.
 */
__attribute__((target("avx2"))) static long
auth_b64_decode_avx2(const unsigned char *s, size_t n, unsigned char *out, int url)
{
	const __m256i	c62 = _mm256_set1_epi8(url ? '-' : '+');
	const __m256i	c63 = _mm256_set1_epi8(url ? '_' : '/');
	const __m256i	off62 = _mm256_set1_epi8((char)(62 - (url ? '-' : '+')));
	const __m256i	off63 = _mm256_set1_epi8((char)(63 - (url ? '_' : '/')));
	const __m256i	pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12,
			    -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	__m256i		x, upper, lower, digit, s62, s63, off, v;
	size_t		i;

	for (i = 0; i + 40 <= n; i += 32) {
		x = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		upper = _mm256_and_si256(_mm256_cmpgt_epi8(x, _mm256_set1_epi8('A' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), x));
		lower = _mm256_and_si256(_mm256_cmpgt_epi8(x, _mm256_set1_epi8('a' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), x));
		digit = _mm256_and_si256(_mm256_cmpgt_epi8(x, _mm256_set1_epi8('0' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), x));
		s62 = _mm256_cmpeq_epi8(x, c62);
		s63 = _mm256_cmpeq_epi8(x, c63);
		if ((unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(upper, lower),
		    _mm256_or_si256(digit, _mm256_or_si256(s62, s63)))) != 0xffffffffu)
			return -1;
		off = _mm256_or_si256(
		    _mm256_or_si256(_mm256_and_si256(upper, _mm256_set1_epi8(-'A')),
		    _mm256_and_si256(lower, _mm256_set1_epi8(26 - 'a'))),
		    _mm256_or_si256(_mm256_and_si256(digit, _mm256_set1_epi8(52 - '0')),
		    _mm256_or_si256(_mm256_and_si256(s62, off62), _mm256_and_si256(s63, off63))));
		v = _mm256_add_epi8(x, off);
		/* a<<6|b and c<<6|d, then a<<18|b<<12|c<<6|d in each 32 bits */
		v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
		v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
		v = _mm256_shuffle_epi8(v, pack);
		_mm_storeu_si128((__m128i *)(void *)out, _mm256_castsi256_si128(v));
		_mm_storeu_si128((__m128i *)(void *)(out + 12), _mm256_extracti128_si256(v, 1));
		out += 24;
	}
	return (long)i;
}
#endif

/* Value table for an alphabet: 0..63, or 0xff; and its quad tables. */
static void
auth_b64_table(const char *chars, unsigned char table[256], uint32_t quad[4][256])
{
	uint32_t	v;
	int		i, k;

	memset(table, 0xff, 256);
	for (i = 0; i < 64; i++)
		table[(unsigned char)chars[i]] = (unsigned char)i;
	for (i = 0; i < 256; i++) {
		for (k = 0; k < 4; k++) {
			if (table[i] & 0x80) {
				quad[k][i] = UINT32_C(0x80000000);
				continue;
			}
			/* Bits of the 24-bit group, big-endian, then bytes in order. */
			v = (uint32_t)table[i] << (18 - 6 * k);
			quad[k][i] = (v >> 16 & 0xff) | (v >> 8 & 0xff) << 8 |
			    (v & 0xff) << 16;
		}
	}
}

/*
 * Decode unpadded base64 of alphabet table into out, which has room for
 * AUTH_B64_DECODED_MAX(n) bytes (the output and a NUL); out may be in
 * itself (each group of output lands at or before the input it comes
 * from).  Returns 0 and sets *out_len, or -1 on any bad input.
 */
static int
auth_b64_decode_to(const unsigned char table[256], const uint32_t quad[4][256],
    const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	const unsigned char	*s = (const unsigned char *)in;
	unsigned char		*p = out;
	unsigned int		 v[4];
	uint32_t		 w;
	size_t			 i = 0, full = n / 4, rest = n % 4;

	if (rest == 1)
		return -1;
#ifdef AUTH_B64_AVX2
	if (auth_b64_use_avx2 && n >= 40) {
		long	done = auth_b64_decode_avx2(s, n, out, table == auth_b64url_table);

		if (done < 0)
			return -1;
		i = (size_t)done;
		p = out + i / 4 * 3;
	}
#endif
	for (; i < full * 4; i += 4) {
		w = quad[0][s[i]] | quad[1][s[i + 1]] | quad[2][s[i + 2]] | quad[3][s[i + 3]];
		if (w & UINT32_C(0x80000000))
			return -1;
		p[0] = (unsigned char)w;
		p[1] = (unsigned char)(w >> 8);
		p[2] = (unsigned char)(w >> 16);
		p += 3;
	}
	if (rest >= 2) {
		v[0] = table[s[i]];
		v[1] = table[s[i + 1]];
		if ((v[0] | v[1]) & 0x80)
			return -1;
		if (rest == 2) {
			if (v[1] & 0x0f)	/* non-canonical trailing bits */
				return -1;
			*p++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
		} else {
			v[2] = table[s[i + 2]];
			if ((v[2] & 0x80) || (v[2] & 0x03))
				return -1;
			*p++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
			*p++ = (unsigned char)(v[1] << 4 | v[2] >> 2);
		}
	}
	*out_len = (size_t)(p - out);
	*p = '\0';
	return 0;
}

/* Decode unpadded base64 of alphabet table; NULL on any bad input. */
static unsigned char *
auth_b64_decode_raw(const unsigned char table[256], const uint32_t quad[4][256],
    const char *in, size_t n, size_t *out_len)
{
	unsigned char	*out;

	if (n % 4 == 1)
		return NULL;
	out = auth_malloc(AUTH_B64_DECODED_MAX(n));
	if (auth_b64_decode_to(table, quad, in, n, out, out_len) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Build both tables, once, before any thread decodes. */
static void
auth_b64_init(void)
{
	auth_b64_table(auth_b64url_chars, auth_b64url_table, auth_b64url_quad);
	auth_b64_table(auth_b64_chars, auth_b64_table_std, auth_b64_quad_std);
#ifdef AUTH_B64_AVX2
	auth_b64_use_avx2 = __builtin_cpu_supports("avx2");
#endif
}

/* Strict base64url decode. */
unsigned char *
auth_b64url_decode(const char *in, size_t n, size_t *out_len)
{
	pthread_once(&auth_b64_once, auth_b64_init);
	return auth_b64_decode_raw(auth_b64url_table, auth_b64url_quad, in, n, out_len);
}

/* Strict base64url decode into out (AUTH_B64_DECODED_MAX(n) bytes). */
int
auth_b64url_decode_into(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	pthread_once(&auth_b64_once, auth_b64_init);
	return auth_b64_decode_to(auth_b64url_table, auth_b64url_quad, in, n, out, out_len);
}

/* Strict padded base64 decode into out (AUTH_B64_DECODED_MAX(n) bytes). */
int
auth_b64_decode_into(const char *in, size_t n, unsigned char *out, size_t *out_len)
{
	size_t	pad = 0;

	pthread_once(&auth_b64_once, auth_b64_init);
	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	return auth_b64_decode_to(auth_b64_table_std, auth_b64_quad_std, in, n - pad, out,
	    out_len);
}

/* Strict padded base64 decode. */
unsigned char *
auth_b64_decode(const char *in, size_t n, size_t *out_len)
{
	size_t	pad = 0;

	pthread_once(&auth_b64_once, auth_b64_init);
	if (n % 4 != 0)
		return NULL;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	return auth_b64_decode_raw(auth_b64_table_std, auth_b64_quad_std, in, n - pad,
	    out_len);
}

/* Encode with alphabet chars, padding when pad is set. */
static char *
auth_b64_encode_raw(const char *chars, const unsigned char *in, size_t n, int pad)
{
	char	*out = auth_malloc((n + 2) / 3 * 4 + 1), *p = out;
	size_t	 i;

	for (i = 0; i + 3 <= n; i += 3) {
		*p++ = chars[in[i] >> 2];
		*p++ = chars[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*p++ = chars[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		*p++ = chars[in[i + 2] & 63];
	}
	if (n - i == 1) {
		*p++ = chars[in[i] >> 2];
		*p++ = chars[(in[i] & 3) << 4];
		if (pad) {
			*p++ = '=';
			*p++ = '=';
		}
	} else if (n - i == 2) {
		*p++ = chars[in[i] >> 2];
		*p++ = chars[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*p++ = chars[(in[i + 1] & 15) << 2];
		if (pad)
			*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* base64url without padding. */
char *
auth_b64url_encode(const unsigned char *in, size_t n)
{
	return auth_b64_encode_raw(auth_b64url_chars, in, n, 0);
}

/* Standard base64 with padding. */
char *
auth_b64_encode(const unsigned char *in, size_t n)
{
	return auth_b64_encode_raw(auth_b64_chars, in, n, 1);
}
