/*
 * tui/tui-int.h -- definitions shared by the model files of tui/ only.
 */
#ifndef TUI_INT_H
#define TUI_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tui.h"

/* A growable NUL-terminated string. p is NULL until the first append. */
struct tui_buf {
	char	*p;
	size_t	 len, cap;
};

void	 tui_buf_add(struct tui_buf *, const void *, size_t);
void	 tui_buf_str(struct tui_buf *, const char *);
void	 tui_buf_printf(struct tui_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 tui_buf_spaces(struct tui_buf *, int);
/* The string built (never NULL), handed over: b is empty again. */
char	*tui_buf_take(struct tui_buf *);

/*
 * Decode one character of s (NUL-terminated): its length, and *cp.  A
 * byte that starts no valid sequence decodes as itself, length 1.
 */
size_t	 tui_utf8_next(const char *s, uint32_t *cp);
/* Encode cp as UTF-8 into out (4 bytes); returns the length. */
size_t	 tui_utf8_put(uint32_t cp, char *out);

/* ASCII case-folded search of the word (lowercase) in p[0..n). */
int	 tui_contains(const void *p, size_t n, const char *word);

#endif
