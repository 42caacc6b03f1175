/*
 * tui/buf.c -- growable strings and UTF-8 helpers for the models.
 *
 * Allocation is auth/'s (auth_malloc and friends), which aborts on
 * failure: a console that cannot allocate a line cannot draw anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-int.h"

/* Make room for n more bytes and the NUL. */
static void
tui_buf_grow(struct tui_buf *b, size_t n)
{
	if (b->cap - b->len > n)
		return;
	while (b->cap - b->len <= n)
		b->cap = b->cap ? b->cap * 2 : 64;
	b->p = auth_realloc(b->p, b->cap);
}

/* Append n bytes. */
void
tui_buf_add(struct tui_buf *b, const void *p, size_t n)
{
	tui_buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a C string. */
void
tui_buf_str(struct tui_buf *b, const char *s)
{
	tui_buf_add(b, s, strlen(s));
}

/* Append printf output. */
void
tui_buf_printf(struct tui_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;		/* an encoding error: append nothing */
	tui_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	if (n > 0)
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append n spaces (none when n <= 0). */
void
tui_buf_spaces(struct tui_buf *b, int n)
{
	if (n <= 0)
		return;
	tui_buf_grow(b, (size_t)n);
	memset(b->p + b->len, ' ', (size_t)n);
	b->len += (size_t)n;
	b->p[b->len] = '\0';
}

/* Hand the string over. */
char *
tui_buf_take(struct tui_buf *b)
{
	char	*p = b->p;

	if (p == NULL)
		p = auth_strdup("");
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* Decode one character. */
size_t
tui_utf8_next(const char *s, uint32_t *cp)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	n = auth_utf8_decode(p, p[0] == 0 ? 0 : 4, cp);
	if (n == 0) {
		*cp = p[0];
		return 1;
	}
	return n;
}

/* Encode one character. */
size_t
tui_utf8_put(uint32_t cp, char *out)
{
	unsigned char	*o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ASCII lowercase of one byte. */
static unsigned char
tui_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Case-folded search. */
int
tui_contains(const void *p, size_t n, const char *word)
{
	const unsigned char	*h = p, *w = (const unsigned char *)word;
	size_t			 m = strlen(word), i, j;

	if (m == 0)
		return 1;
	if (h == NULL || n < m)
		return 0;
	for (i = 0; i + m <= n; i++) {
		if (tui_lower(h[i]) != w[0])
			continue;
		for (j = 1; j < m && tui_lower(h[i + j]) == w[j]; j++)
			;
		if (j == m)
			return 1;
	}
	return 0;
}
