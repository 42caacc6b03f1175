/*
 * tui/text.c -- safe text: bytes from events made fit for a terminal, and
 * fitted to columns.
 *
 * DESIGN: the screen never sees a byte of an event directly.  Subjects,
 * claims, headers and bodies are written by whoever can publish, and a
 * terminal obeys ESC and C1 sequences (retitle, clear, recolour, even
 * answer back), reorders text after bidi controls, and shows nothing for
 * invisible format characters.  So every string the models hand out goes
 * through tui_text_safe() first; the escapes it writes are plain ASCII
 * (the scheme is in tui.h), and its output is valid UTF-8 of printable
 * characters only, whose width tui_text_width() knows exactly.  Fitting
 * (tui_text_fit) then works on whole characters, so a cut can never leave
 * half a sequence or half a wide character behind.  Text that goes into a
 * fixed-size buffer is cut the same way, by tui_text_snprintf(): a plain
 * snprintf() would end in the middle of a sequence and the terminal would
 * show garbage there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui-int.h"

#define TEXT_ELLIPSIS	"\xe2\x80\xa6"	/* U+2026, one cell */
#define TEXT_VS16	0xfe0f		/* variation selector 16: emoji form */
#define TEXT_ZWJ	0x200d		/* zero-width joiner */
#define TEXT_CLUSTER_MAX 64		/* bytes a cut backs up over for marks */

/* Append the visible form of a byte that cannot be shown. */
static void
text_escape_byte(struct tui_buf *b, unsigned char c)
{
	switch (c) {
	case '\t':
		tui_buf_str(b, "\\t");
		break;
	case '\n':
		tui_buf_str(b, "\\n");
		break;
	case '\r':
		tui_buf_str(b, "\\r");
		break;
	case 0x1b:
		tui_buf_str(b, "\\e");
		break;
	default:
		tui_buf_printf(b, "\\x%02x", c);
		break;
	}
}

/* Bytes as safe text; backslashes doubled unless json. */
static char *
text_escape(const void *bytes, size_t len, int json)
{
	const unsigned char	*p = bytes;
	struct tui_buf		 b = { NULL, 0, 0 };
	size_t			 i = 0, n;
	uint32_t		 cp;

	tui_buf_add(&b, "", 0);
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			text_escape_byte(&b, p[i++]);
			continue;
		}
		if (p[i] == '\\') {
			tui_buf_str(&b, json ? "\\" : "\\\\");
			i++;
			continue;
		}
		if (p[i] < 0x80) {
			tui_buf_add(&b, p + i++, 1);
			continue;
		}
		if ((n = auth_utf8_decode(p + i, len - i, &cp)) == 0) {
			text_escape_byte(&b, p[i++]);
			continue;
		}
		if (tui_text_cpwidth(cp) < 0)
			tui_buf_printf(&b, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
		else
			tui_buf_add(&b, p + i, n);
		i += n;
	}
	return tui_buf_take(&b);
}

/* Bytes as safe text. */
char *
tui_text_safe(const void *p, size_t len)
{
	return text_escape(p, len, 0);
}

/* A C string as safe text. */
char *
tui_text_safe_str(const char *s)
{
	return s == NULL ? auth_strdup("") : text_escape(s, strlen(s), 0);
}

/* JSON text as safe text. */
char *
tui_text_safe_json(const char *s, size_t len)
{
	return text_escape(s, len, 1);
}

/* Width of one decoded character of safe text (1 for anything unexpected). */
static int
text_cw(uint32_t cp)
{
	int	w = tui_text_cpwidth(cp);

	return w < 0 ? 1 : w;
}

/*
 * Length of the character at s (not at its end) and, in *cw, its cells.  A
 * VS16 after it is taken with it, so that fitting keeps or drops the two
 * together, but adds no cell: ncurses places what follows by wcwidth(),
 * which counts the pair as one cell, and the columns must line up with
 * where ncurses puts them.  (Terminals that draw the emoji form wide then
 * show the rest of that line a cell to the right; counting two here would
 * instead shift every column after it to the left, under the wrong header.)
 */
static size_t
text_char(const char *s, int *cw)
{
	uint32_t	cp, vs;
	size_t		n = tui_utf8_next(s, &cp), m;

	*cw = text_cw(cp);
	if (*cw == 1 && s[n] != '\0') {
		m = tui_utf8_next(s + n, &vs);
		if (vs == TEXT_VS16)
			n += m;
	}
	return n;
}

/* Cells s takes. */
int
tui_text_width(const char *s)
{
	int	w = 0, cw;

	while (*s != '\0') {
		s += text_char(s, &cw);
		w += cw;
	}
	return w;
}

/* Longest prefix within cols cells. */
size_t
tui_text_prefix(const char *s, int cols, int *width)
{
	size_t	i = 0, n;
	int	w = 0, cw;

	while (s[i] != '\0') {
		n = text_char(s + i, &cw);
		if (w + cw > cols)
			break;
		w += cw;
		i += n;
	}
	if (width != NULL)
		*width = w;
	return i;
}

/* s cut to at most cols cells; *width gets the result's width. */
static void
text_cut(struct tui_buf *b, const char *s, int cols, int *width)
{
	size_t	n;
	int	w;

	*width = 0;
	if (cols <= 0)
		return;
	if ((w = tui_text_width(s)) <= cols) {
		tui_buf_str(b, s);
		*width = w;
		return;
	}
	n = tui_text_prefix(s, cols - 1, &w);
	tui_buf_add(b, s, n);
	tui_buf_str(b, TEXT_ELLIPSIS);
	*width = w + 1;
}

/* s cut to at most cols cells. */
char *
tui_text_clip(const char *s, int cols)
{
	struct tui_buf	b = { NULL, 0, 0 };
	int		w;

	text_cut(&b, s, cols, &w);
	return tui_buf_take(&b);
}

/* s fitted to exactly cols cells, padded on the right. */
char *
tui_text_fit(const char *s, int cols)
{
	struct tui_buf	b = { NULL, 0, 0 };
	int		w;

	text_cut(&b, s, cols, &w);
	tui_buf_spaces(&b, cols - w);
	return tui_buf_take(&b);
}

/* s fitted to exactly cols cells, padded on the left. */
char *
tui_text_fit_right(const char *s, int cols)
{
	struct tui_buf	 b = { NULL, 0, 0 };
	char		*cut;
	int		 w;

	text_cut(&b, s, cols, &w);
	cut = tui_buf_take(&b);
	tui_buf_spaces(&b, cols - w);
	tui_buf_str(&b, cut);
	free(cut);
	return tui_buf_take(&b);
}

/*
 * Longest prefix within max bytes that ends where a character ends.  The
 * cut at i is clean when what follows it is not a zero-width mark that
 * belongs to the character before (a combining mark, a variation
 * selector, a joiner) and what precedes it is not a joiner: so neither
 * half is left with a mark or a joiner hanging.  The cut backs up to the
 * last clean one unless that is 0 or more than TEXT_CLUSTER_MAX bytes
 * back: then it is marks piled on one base (no character anyone writes
 * is that long), and the last whole sequence is better than losing them
 * all.
 */
size_t
tui_text_boundary(const char *s, size_t max)
{
	size_t		i = 0, n, clean = 0;
	uint32_t	cp = 0, prev = 0;

	for (;;) {
		n = s[i] == '\0' ? 0 : tui_utf8_next(s + i, &cp);
		if (n == 0 || (tui_text_cpwidth(cp) != 0 && prev != TEXT_ZWJ))
			clean = i;
		if (n == 0 || i + n > max)
			break;
		prev = cp;
		i += n;
	}
	return clean > 0 && i - clean <= TEXT_CLUSTER_MAX ? clean : i;
}

/* vsnprintf() cut at a character boundary. */
int
tui_text_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	va_list	 aq;
	char	*all;
	size_t	 keep;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(buf, size, fmt, aq);
	va_end(aq);
	if (n < 0 || size == 0 || (size_t)n < size)
		return n;
	/* Cut: format it whole, to see the character the end falls in. */
	all = auth_malloc((size_t)n + 1);
	vsnprintf(all, (size_t)n + 1, fmt, ap);
	keep = tui_text_boundary(all, size - 1);
	memcpy(buf, all, keep);
	buf[keep] = '\0';
	free(all);
	return n;
}

/* snprintf() cut at a character boundary. */
int
tui_text_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = tui_text_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* RFC 3339 in UTC. */
void
tui_text_rfc3339(double t, char *buf, size_t size)
{
	struct tm	tm;
	int64_t		all = (int64_t)(t * 1e6 + (t >= 0 ? 0.5 : -0.5));
	time_t		secs;
	long		us;
	char		frac[16] = "";
	size_t		n;

	if (t > 1e14 || t < -1e14) {
		snprintf(buf, size, "%.0f", t);
		return;
	}
	secs = (time_t)(all / 1000000);
	us = (long)(all % 1000000);
	if (us < 0) {
		secs--;
		us += 1000000;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, size, "%.0f", t);
		return;
	}
	if (us > 0) {
		snprintf(frac, sizeof frac, ".%06ld", us);
		for (n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* t relative to now. */
void
tui_text_age(double t, double now, char *buf, size_t size)
{
	double		d = t - now, a = d < 0 ? -d : d;
	const char	*unit;
	long long	n;

	if (a < 1) {
		snprintf(buf, size, "now");
		return;
	}
	if (a < 60)
		n = (long long)a, unit = "s";
	else if (a < 3600)
		n = (long long)(a / 60), unit = "m";
	else if (a < 86400)
		n = (long long)(a / 3600), unit = "h";
	else
		n = (long long)(a / 86400), unit = "d";
	if (d > 0)
		snprintf(buf, size, "in %lld%s", n, unit);
	else
		snprintf(buf, size, "%lld%s ago", n, unit);
}

/* A count in at most 5 cells. */
void
tui_text_count(uint64_t n, char *buf, size_t size)
{
	static const char	 units[] = "kMGTPE";
	double			 v = (double)n;
	int			 u = -1;

	if (n < 100000) {
		snprintf(buf, size, "%llu", (unsigned long long)n);
		return;
	}
	while (v >= 999.5 && u < 5) {
		v /= 1000;
		u++;
	}
	if (v < 9.95)
		snprintf(buf, size, "%.1f%c", v, units[u]);
	else
		snprintf(buf, size, "%.0f%c", v, units[u]);
}
