/*
 * auth/auth-b64.c -- strict base64url and base64.
 *
 * Strict means one spelling per byte string: base64url without padding,
 * base64 with exact padding, no whitespace, and unused low bits of the last
 * character zero.  A token that could be written two ways is refused, so a
 * signature can never be "the same" under two different texts.
 */
#include <pthread.h>
#include <string.h>

#include "auth-int.h"

static const char auth_b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char auth_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static unsigned char	auth_b64url_table[256];
static unsigned char	auth_b64_table_std[256];
static pthread_once_t	auth_b64_once = PTHREAD_ONCE_INIT;

/* Value table for an alphabet: 0..63, or 0xff. */
static void
auth_b64_table(const char *chars, unsigned char table[256])
{
	int	i;

	memset(table, 0xff, 256);
	for (i = 0; i < 64; i++)
		table[(unsigned char)chars[i]] = (unsigned char)i;
}

/* Decode unpadded base64 of alphabet table; NULL on any bad input. */
static unsigned char *
auth_b64_decode_raw(const unsigned char table[256], const char *in, size_t n,
    size_t *out_len)
{
	unsigned char	*out, *p;
	unsigned int	 v[4];
	size_t		 i, full = n / 4, rest = n % 4;

	if (rest == 1)
		return NULL;
	out = auth_malloc(full * 3 + 3);
	p = out;
	for (i = 0; i < full * 4; i += 4) {
		v[0] = table[(unsigned char)in[i]];
		v[1] = table[(unsigned char)in[i + 1]];
		v[2] = table[(unsigned char)in[i + 2]];
		v[3] = table[(unsigned char)in[i + 3]];
		if ((v[0] | v[1] | v[2] | v[3]) & 0x80)
			goto bad;
		*p++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
		*p++ = (unsigned char)(v[1] << 4 | v[2] >> 2);
		*p++ = (unsigned char)(v[2] << 6 | v[3]);
	}
	if (rest >= 2) {
		v[0] = table[(unsigned char)in[i]];
		v[1] = table[(unsigned char)in[i + 1]];
		if ((v[0] | v[1]) & 0x80)
			goto bad;
		*p++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (rest == 2) {
			if (v[1] & 0x0f)	/* non-canonical trailing bits */
				goto bad;
		} else {
			v[2] = table[(unsigned char)in[i + 2]];
			if ((v[2] & 0x80) || (v[2] & 0x03))
				goto bad;
			*p++ = (unsigned char)(v[1] << 4 | v[2] >> 2);
		}
	}
	*out_len = (size_t)(p - out);
	*p = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Build both tables, once, before any thread decodes. */
static void
auth_b64_init(void)
{
	auth_b64_table(auth_b64url_chars, auth_b64url_table);
	auth_b64_table(auth_b64_chars, auth_b64_table_std);
}

/* Strict base64url decode. */
unsigned char *
auth_b64url_decode(const char *in, size_t n, size_t *out_len)
{
	pthread_once(&auth_b64_once, auth_b64_init);
	return auth_b64_decode_raw(auth_b64url_table, in, n, out_len);
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
	return auth_b64_decode_raw(auth_b64_table_std, in, n - pad, out_len);
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
