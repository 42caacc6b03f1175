/*
 * auth/auth-util.c -- allocation, files, constant-time compare, encodings.
 *
 * Allocation failure aborts: a verifier that cannot allocate a few bytes
 * cannot judge anything, and half-judged verdicts are worse than a stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

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
