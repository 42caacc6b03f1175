/*
 * auth/auth-util.c -- allocation, files, constant-time compare, encodings.
 *
 * Allocation failure aborts: a verifier that cannot allocate a few bytes
 * cannot judge anything, and half-judged verdicts are worse than a stop.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "auth-int.h"

/* Abort on out-of-memory. */
static void
auth_oom(void)
{
	fputs("ztwatch: out of memory\n", stderr);
	abort();
}

/* malloc that never returns NULL. */
void *
auth_malloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		auth_oom();
	return p;
}

/* calloc that never returns NULL. */
void *
auth_calloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		auth_oom();
	return p;
}

/* realloc that never returns NULL. */
void *
auth_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		auth_oom();
	return p;
}

/* strdup that never returns NULL; NULL in gives NULL out. */
char *
auth_strdup(const char *s)
{
	size_t	 n;
	char	*p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	p = auth_malloc(n);
	memcpy(p, s, n);
	return p;
}

/* printf into a new string. */
char *
auth_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		auth_oom();
	s = auth_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Read a whole file of at most max bytes. */
unsigned char *
auth_read_file(const char *path, size_t max, size_t *len, char **cause)
{
	FILE		*f;
	unsigned char	*buf = NULL;
	size_t		 n = 0, cap = 0, r;

	if ((f = fopen(path, "rb")) == NULL) {
		*cause = auth_printf("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = auth_realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			*cause = auth_printf("'%s' is larger than %zu bytes", path, max);
			goto fail;
		}
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		*cause = auth_printf("cannot read '%s': %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

/* Constant-time equality of two equal-length buffers. */
int
auth_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

/* Lowercase hex. */
char *
auth_hex(const unsigned char *in, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	char			*out = auth_malloc(len * 2 + 1);
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[i * 2] = digits[in[i] >> 4];
		out[i * 2 + 1] = digits[in[i] & 15];
	}
	out[len * 2] = '\0';
	return out;
}

static EVP_MD		*auth_sha256_md;
static pthread_once_t	 auth_sha256_once = PTHREAD_ONCE_INIT;

static void
auth_sha256_fetch(void)
{
	auth_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256 of in[0..n).  The trail hashes every row: the algorithm is
   fetched once, as SHA256() would on every call. */
void
auth_sha256(const void *in, size_t n, unsigned char out[32])
{
	pthread_once(&auth_sha256_once, auth_sha256_fetch);
	if (auth_sha256_md == NULL ||
	    EVP_Digest(in, n, out, NULL, auth_sha256_md, NULL) != 1)
		SHA256(in, n, out);
}

/* The n digits at s as a number; -1 unless all are digits (no blank, no sign). */
static int
auth_rfc3339_digits(const char *s, int n)
{
	int	i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days in month mo (1-12) of year y, proleptic Gregorian. */
static int
auth_rfc3339_mdays(int y, int mo)
{
	static const int	days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[mo - 1];
}

/*
 * Parse RFC 3339 ("2026-11-24T01:02:03.123456789+01:00") into whole
 * seconds and the fraction's digits (*frac, *nfrac of them); -1 if not.
 * Strict, as the grammar of its section 5.6: digits exactly where digits
 * go, real dates only, second 60 for a leap second (it reads as the next
 * minute's first), and an offset of "Z" or ±HH:MM.
 */
static int
auth_rfc3339_split(const char *s, time_t *out, const char **frac, size_t *nfrac)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, oh, om;
	time_t		t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	y = auth_rfc3339_digits(s, 4);
	mo = auth_rfc3339_digits(s + 5, 2);
	d = auth_rfc3339_digits(s + 8, 2);
	h = auth_rfc3339_digits(s + 11, 2);
	mi = auth_rfc3339_digits(s + 14, 2);
	sec = auth_rfc3339_digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > auth_rfc3339_mdays(y, mo) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	s += 19;
	*frac = s;
	*nfrac = 0;
	if (*s == '.') {
		if (!isdigit((unsigned char)s[1]))
			return -1;
		*frac = ++s;
		*nfrac = strspn(s, "0123456789");
		s += *nfrac;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		if (strlen(s) != 6 || s[3] != ':' ||
		    (oh = auth_rfc3339_digits(s + 1, 2)) < 0 || oh > 23 ||
		    (om = auth_rfc3339_digits(s + 4, 2)) < 0 || om > 59)
			return -1;
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	*out = t;
	return 0;
}

/* Parse RFC 3339 as auth_rfc3339_split() does, to seconds in a double. */
int
auth_parse_rfc3339(const char *s, double *out)
{
	const char	*frac;
	size_t		 n, i;
	double		 f = 0, scale = 0.1;
	time_t		 t;

	if (auth_rfc3339_split(s, &t, &frac, &n) != 0)
		return -1;
	for (i = 0; i < n; i++, scale /= 10)
		f += (frac[i] - '0') * scale;
	*out = (double)t + f;
	return 0;
}

/*
 * Parse RFC 3339 to microseconds since the epoch, exactly (no double on
 * the way, which loses microseconds after 2255); digits past the sixth
 * round half up.  -1 if not RFC 3339 (as above).
 */
int
auth_parse_rfc3339_us(const char *s, int64_t *out)
{
	const char	*frac;
	size_t		 n, i;
	int64_t		 us = 0;
	time_t		 t;

	if (auth_rfc3339_split(s, &t, &frac, &n) != 0)
		return -1;
	for (i = 0; i < 6; i++)
		us = us * 10 + (i < n ? frac[i] - '0' : 0);
	if (n > 6 && frac[6] >= '5')
		us++;
	*out = (int64_t)t * 1000000 + us;
	return 0;
}

/*
 * Bidi controls and invisible characters: they reorder or hide the text
 * around them on a terminal (U+202E turns "exe.txt" round; "admin" with a
 * zero-width joiner looks like "admin"), so every output escapes them.
 * Unicode's default-ignorable code points but the variation selectors
 * U+FE00-FE0F (emoji), with the Hangul fillers.  Sorted ranges; the
 * console's safe text uses the same list.
 */
static const uint32_t auth_hidden_ranges[][2] = {
	{ 0x000ad, 0x000ad }, { 0x0034f, 0x0034f }, { 0x0061c, 0x0061c },
	{ 0x0115f, 0x01160 }, { 0x017b4, 0x017b5 }, { 0x0180b, 0x0180f },
	{ 0x0200b, 0x0200f }, { 0x02028, 0x0202e }, { 0x02060, 0x0206f },
	{ 0x03164, 0x03164 }, { 0x0feff, 0x0feff }, { 0x0ffa0, 0x0ffa0 },
	{ 0x0fff0, 0x0fffb }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
	{ 0xe0000, 0xe0fff },
};

/* Whether cp is a bidi control or an invisible format character. */
int
auth_cp_hidden(uint32_t cp)
{
	size_t	i;

	for (i = 0; i < sizeof auth_hidden_ranges / sizeof auth_hidden_ranges[0]; i++) {
		if (cp < auth_hidden_ranges[i][0])
			return 0;
		if (cp <= auth_hidden_ranges[i][1])
			return 1;
	}
	return 0;
}

/* Length of the character at p (n bytes left) when output escapes it (a C1
   control, U+2028/U+2029, a hidden one), with its code point; else 0. */
size_t
auth_utf8_escaped(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t	k;

	if (p[0] < 0x80 || (k = auth_utf8_decode(p, n, cp)) == 0)
		return 0;
	return *cp <= 0x9f || auth_cp_hidden(*cp) ? k : 0;
}

/* Write cp as a JSON escape (a surrogate pair above U+FFFF) into out;
   returns its length, 6 or 12. */
size_t
auth_json_escape_cp(char out[13], uint32_t cp)
{
	if (cp <= 0xffff)
		return (size_t)snprintf(out, 13, "\\u%04x", (unsigned)cp);
	cp -= 0x10000;
	return (size_t)snprintf(out, 13, "\\u%04x\\u%04x", 0xd800 + (unsigned)(cp >> 10),
	    0xdc00 + (unsigned)(cp & 0x3ff));
}

/* Unsafe characters in JSON text? */
int
auth_json_unsafe(const char *text, size_t len)
{
	const unsigned char	*p = (const unsigned char *)text;
	uint32_t		 cp;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f ||
		    (p[i] >= 0xc2 && auth_utf8_escaped(p + i, len - i, &cp) > 0))
			return 1;
	}
	return 0;
}

/* Re-encode JSON text with every non-ASCII character and DEL escaped. */
char *
auth_json_safe(const char *text, size_t len)
{
	json_t	*j;
	char	*out, *p;
	size_t	 n, dels = 0;

	j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (j == NULL)
		return NULL;
	out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	json_decref(j);
	if (out == NULL)
		return NULL;
	/* jansson leaves DEL raw; outside strings JSON has no DEL, so every
	   one is inside a string and becomes \u007f. */
	for (p = out; *p != '\0'; p++)
		dels += *p == 0x7f;
	if (dels == 0)
		return out;
	n = strlen(out);
	p = auth_malloc(n + dels * 5 + 1);
	for (len = 0, n = 0; out[n] != '\0'; n++) {
		if (out[n] == 0x7f) {
			memcpy(p + len, "\\u007f", 6);
			len += 6;
		} else
			p[len++] = out[n];
	}
	p[len] = '\0';
	free(out);
	return p;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0; its code
   point in *cp (for ASCII, the byte). */
size_t
auth_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t		len, i;
	uint32_t	c;

	if (n == 0 || s[0] == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	/* A NUL is never a continuation byte, so scanning stops there. */
	for (i = 1; i < len; i++) {
		if (i >= n || (s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
size_t
auth_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t	cp;

	return auth_utf8_decode(s, n, &cp);
}

#define SWAR_ONES	0x0101010101010101ULL
#define SWAR_HIGHS	0x8080808080808080ULL

/* Whether s[0..n) is valid UTF-8; ASCII (NUL included) is checked 8 bytes at
   a time, since trail text is mostly ASCII. */
int
auth_utf8_valid(const void *s, size_t n)
{
	const unsigned char	*p = s;
	size_t			 i = 0, k;
	uint64_t		 x;

	while (i < n) {
		if (i + 8 <= n) {
			memcpy(&x, p + i, 8);
			if ((x & SWAR_HIGHS) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = auth_utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * Initialise OpenSSL without its exit-time cleanup.  nats.c frees part of
 * OpenSSL's TLS state when it closes (nats_Close) without telling
 * OpenSSL, whose own atexit cleanup then frees it again and crashes; a
 * process about to exit loses nothing by skipping that cleanup.
 */
void
auth_library_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

/* Milliseconds on the monotonic clock. */
int64_t
auth_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds since the epoch. */
int64_t
auth_epoch_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
