/*
 * tui/tui.h -- the console's models: everything `watch` and `replay` draw,
 * as plain structs and functions that make no curses call (DESIGN §6).
 *
 * The screen code (tui/screen*.c, the only files that include curses) is a
 * thin loop: it feeds key codes to struct tui_keys and acts on the
 * struct tui_action that comes back, feeds events to struct tui_streams
 * and struct tui_events, asks struct tui_layout where the panes are, and
 * draws the strings these models give it.
 *
 * Every string this header hands out for drawing is *safe text*: printable
 * UTF-8 only, with every control character and escape sequence of an event
 * made visible (see "safe text" below), so the screen may pass it to
 * addstr() as is, and its width in cells is what tui_text_width() says.
 *
 * Conventions: allocation failure aborts (as in auth/); "allocated" means
 * the caller frees the result with free(); "borrowed" means valid until the
 * next call that changes the model.  Widths, columns and rows count
 * terminal cells.  Times are microseconds since the epoch (int64_t, "_us")
 * unless said otherwise.  Nothing here prints, reads the clock or touches
 * the locale: "now" is always an argument.
 */
#ifndef TUI_H
#define TUI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"
#include "store.h"

/* ---- safe text (text.c, text-width.c) ---------------------------------- */

/*
 * tui_text_safe() turns arbitrary bytes into safe text.  Printable UTF-8
 * passes unchanged; everything else becomes a visible escape:
 *
 *   TAB LF CR ESC                     \t \n \r \e
 *   other C0 controls and DEL         \xNN     (BEL \x07, NUL \x00, DEL \x7f)
 *   a byte that is not valid UTF-8    \xNN     (a raw C1 byte: \x9b)
 *   C1 controls U+0080-U+009F         \u0080 .. \u009f  (as UTF-8, c2 80..)
 *   U+2028, U+2029                    \u2028 \u2029
 *   bidi controls                     \u061c \u200e \u200f \u202a-\u202e
 *                                     \u2066-\u2069
 *   invisible characters (Unicode's   \u00ad \u034f \u115f \u1160 \u17b4
 *   default-ignorable ones but the    \u17b5 \u180b-\u180f \u200b-\u200d
 *   variation selectors, and the      \u2060-\u206f \u3164 \ufeff \uffa0
 *   Hangul fillers)                   \ufff0-\ufffb \U0001bca0-\U0001bca3
 *                                     \U0001d173-\U0001d17a \U000e0000-\U000e0fff
 *   unassigned code points and        \uXXXX, or \UXXXXXXXX above U+FFFF
 *   noncharacters (per the table)
 *   a backslash                       \\       (so an escape is never spoofed)
 *
 * Hex digits are lowercase.  So `ESC ] 2 ; t BEL` shows as `\e]2;t\x07` and
 * the C1 CSI shows as `\x9b` (raw byte) or `\u009b` (UTF-8).  Overlong
 * forms, surrogates and bytes past U+10FFFF are invalid UTF-8 and come out
 * byte by byte as \xNN.  Variation selectors stay, for emoji; the
 * zero-width joiner does not (it hides in a name: "admin" + U+200D).
 *
 * Widths come from a table built into text-width.c (glibc 2.36's wcwidth()
 * in C.UTF-8, Unicode 14), so they do not depend on the process locale:
 * wide (East Asian W/F, emoji) 2 cells, combining marks 0, others 1.  On
 * top of the table, a one-cell character followed by U+FE0F (variation
 * selector 16, emoji presentation) takes 2 cells, as terminals that know
 * emoji draw it; U+FE0F itself is 0.
 */

/* Bytes p[0..len) as safe text. Allocated. */
char		*tui_text_safe(const void *p, size_t len);
/* A C string as safe text; NULL gives "". Allocated. */
char		*tui_text_safe_str(const char *s);
/*
 * Text that is already an escaped form (JSON from jansson) as safe text:
 * the same as tui_text_safe() except that backslashes are left single,
 * since in JSON they already mean an escape.  Allocated.
 */
char		*tui_text_safe_json(const char *s, size_t len);
/* Cells a code point takes: 0, 1 or 2, or -1 when safe text escapes it. */
int		 tui_text_cpwidth(uint32_t cp);
/* Cells safe text s takes. */
int		 tui_text_width(const char *s);
/*
 * Byte length of the longest prefix of safe text s that fits in cols
 * cells; never splits a UTF-8 sequence or a wide character, and keeps the
 * combining marks that follow the last character kept.  *width (when not
 * NULL) gets the prefix's width.
 */
size_t		 tui_text_prefix(const char *s, int cols, int *width);
/* s cut to at most cols cells, ending in "…" when cut. Allocated. */
char		*tui_text_clip(const char *s, int cols);
/*
 * s fitted to exactly cols cells: cut with "…" when wider, padded with
 * spaces when narrower (also where a wide character did not fit).
 * cols <= 0 gives "".  Allocated.
 */
char		*tui_text_fit(const char *s, int cols);
/* Like tui_text_fit() but padded on the left (numbers). Allocated. */
char		*tui_text_fit_right(const char *s, int cols);

/*
 * Byte length of the longest prefix of s (NUL-terminated, any bytes, safe
 * text or raw) of at most max bytes that ends where a character ends: a cut
 * there never splits a UTF-8 sequence, nor parts a character from the
 * combining marks or variation selector after it, nor ends in a zero-width
 * joiner.  Only when that would drop all of s, or more than 64 bytes of
 * marks piled on one character, does it cut between marks (still between
 * sequences).  A byte that is not valid UTF-8 counts as a character.
 */
size_t		 tui_text_boundary(const char *s, size_t max);
/*
 * snprintf() for text that may hold UTF-8: what does not fit in buf is cut
 * at tui_text_boundary(), never inside a character.  Returns what
 * snprintf() returns (the untruncated length, or -1).
 */
int		 tui_text_snprintf(char *buf, size_t size, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));
int		 tui_text_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
		     __attribute__((format(printf, 3, 0)));

/*
 * Time t (seconds, fractions kept to the microsecond) as RFC 3339 in UTC
 * into buf: "2026-11-24T01:02:03Z", or "2026-11-24T01:02:03.25Z" with the
 * fraction's trailing zeros dropped.
 */
void		 tui_text_rfc3339(double t, char *buf, size_t size);
/*
 * t relative to now, in the largest whole unit: "in 4m", "2h ago", "3d
 * ago", "now" (under a second).  Units s, m, h, d.
 */
void		 tui_text_age(double t, double now, char *buf, size_t size);
/* A count in at most 5 cells: "99999", "100k", "999k", "1.2M", "12M", "3.4G". */
void		 tui_text_count(uint64_t n, char *buf, size_t size);

/* ---- events as the models see them ------------------------------------ */

/* What an entry of the event list is. */
enum tui_event_kind {
	TUI_KIND_EVENT,
	TUI_KIND_GAP,
	TUI_KIND_KEYSET		/* the fetched keys changed */
};

/*
 * One event (or gap) summary.  Given to tui_events_push() and friends, or
 * to tui_filter_match_event(), the strings are raw and borrowed (NULL when
 * absent); the event list keeps its own copies as safe text (absent
 * fields ""), each cut to TUI_EVENT_FIELD_MAX cells, and those are what
 * tui_events_at() returns.
 */
struct tui_event {
	int64_t		 id;		/* row id in the trail; 0 when unknown */
	int64_t		 time_us;	/* received at */
	enum tui_event_kind kind;
	int		 pass;		/* events: the verdict */
	int64_t		 gap_count;	/* gaps: messages lost */
	const char	*subject;
	const char	*reason;	/* reason code; NULL or "ok" on a pass */
	const char	*iss, *sub, *kid, *event_id, *jti;
};

#define TUI_EVENT_FIELD_MAX	256

/* Point ev at row's fields (borrowed from the row); any kind but "event" is a gap. */
void		 tui_event_from_row(struct tui_event *ev, const struct store_row *row);

/* ---- filter language (filter.c) --------------------------------------- */

/*
 * The `/` filter:
 *
 *   verdict:pass|fail  reason:CODE  subject:PATTERN  iss:VALUE  kid:VALUE
 *   id:EVENT-ID  since:TIME  until:TIME  and free-text words
 *
 * (id: looks the event id up in the trail's index, where a free word
 * would scan.)
 *
 * Field names are case-insensitive; each may appear once.  A value or a
 * word with spaces is quoted: iss:"my issuer", "two words" (inside quotes
 * \" and \\ escape).  A bare word with a colon after a name (foo:bar) is
 * an unknown field; quote free text that has one ("urn:x").  TIME is
 * relative to now (-30s, -15m, -2h, -7d, -1w, or now), RFC 3339
 * (2026-11-24T01:02:03Z), a date (2026-11-24, midnight UTC) or epoch
 * seconds.  since is inclusive, until exclusive, as in the trail.
 *
 * Fields narrow the trail query (f->store, given to store_query()); free
 * text cannot, so rows that come back are tested with
 * tui_filter_match_row().  A word matches when it occurs, ASCII case
 * folded, in any of subject, reason, iss, sub, kid, event_id, jti, a gap's
 * detail, or the body when the body is UTF-8 text; every word must match.
 * Filters always leave out session rows (f->store.kinds).
 */
#define TUI_FILTER_WORDS	16

struct tui_filter {
	struct store_filter	 store;		/* strings point into this struct */
	char			*verdict, *reason, *subject, *iss, *kid, *event_id;
	char			*words[TUI_FILTER_WORDS];	/* as typed */
	char			*folded[TUI_FILTER_WORDS];	/* ASCII lowercase */
	size_t			 nwords;
	/* After a failed parse: where (a byte offset into the text) and why. */
	int			 error_pos;	/* -1 when the parse succeeded */
	char			 error[160];	/* safe text */
};

/* An empty filter (matches every event and gap). */
void		 tui_filter_init(struct tui_filter *);
/* Release what f holds; f is empty again. */
void		 tui_filter_free(struct tui_filter *);
/*
 * Parse text into f (freed first), resolving relative times against now.
 * Returns 0, or -1 with f->error_pos and f->error set and f empty.
 * Example errors: at 0 "unknown field 'foo:'"; at 8 "verdict must be pass
 * or fail, not 'x'"; at 7 "reason 'x' is not a reason code"; "'a..b' is
 * not a subject pattern"; "unterminated quote"; "'since:' needs a value".
 */
int		 tui_filter_parse(struct tui_filter *f, const char *text, time_t now);
/* Whether f matches everything. */
int		 tui_filter_empty(const struct tui_filter *);
/* Whether trail row r passes f (fields and free text). */
int		 tui_filter_match_row(const struct tui_filter *, const struct store_row *r);
/*
 * Whether a live event (raw, as for tui_events_push) passes f; body (may
 * be NULL) is the message body for the free text.
 */
int		 tui_filter_match_event(const struct tui_filter *, const struct tui_event *ev,
		     const void *body, size_t body_len);
/*
 * f as canonical text: fields in the order verdict reason subject iss kid
 * since until, then the words; times as RFC 3339 UTC; values quoted when
 * needed.  Parsing it again gives the same filter.  "" for an empty
 * filter.  Not safe text (it is what was typed): pass it through
 * tui_text_safe_str() to draw it.  Allocated.
 */
char		*tui_filter_string(const struct tui_filter *);
/*
 * "prefix name:value" with value quoted and escaped when needed, so that
 * it parses back to exactly value (a subject may hold '"' or '\\', and is
 * never cut).  An empty value gives name:"", which the parser refuses as
 * a field without a value.  Allocated.
 */
char		*tui_filter_term(const char *prefix, const char *name, const char *value);

/* ---- streams (streams.c) ------------------------------------------------ */

#define TUI_SPARK_SECONDS	60	/* one-second buckets in a sparkline */
#define TUI_RATE_SECONDS	5	/* rate: mean over the last whole seconds */
#define TUI_STREAMS_MAX		10000	/* default cap on distinct subjects */
#define TUI_SUBJECT_MAX		1024	/* longer subjects count under "other" */

/* One subject's counters. Read-only outside streams.c. */
struct tui_stream {
	char		*name;		/* safe text; "(other subjects)" for other */
	char		*key;		/* raw subject; NULL for other */
	uint64_t	 events, pass, fail, gaps;
	int		 last_reason;	/* enum auth_reason of the last failure, or -1 */
	int64_t		 last_sec;	/* second of the newest bucket */
	uint32_t	 bucket[TUI_SPARK_SECONDS];	/* events in second s at [s % 60] */
	int		 other;		/* the overflow bucket */
};

/* Display orders. */
enum tui_sort {
	TUI_SORT_EVENTS,		/* most events first, then by name */
	TUI_SORT_NAME
};

/*
 * Per-subject stats, bounded: at most max distinct subjects are tracked;
 * events on any other subject (and on subjects longer than
 * TUI_SUBJECT_MAX) add to one "other" entry, listed last, so a flood of
 * random subjects cannot grow memory.  Members are read-only outside
 * streams.c; use the functions.
 */
struct tui_streams {
	struct tui_stream	**list;		/* display order (tui_streams_sort) */
	size_t			  n, max;
	struct tui_stream	**table;	/* hash of key -> stream */
	size_t			  tsize;
	struct tui_stream	  other;
	struct tui_stream	  total;	/* every event and gap */
	enum tui_sort		  sort;
	const struct tui_stream	 *selected;
};

/* Empty stats tracking at most max subjects (0: TUI_STREAMS_MAX). */
void		 tui_streams_init(struct tui_streams *, size_t max);
void		 tui_streams_free(struct tui_streams *);
/* Count one event on subject at time_us; reason is its code (fails only). */
void		 tui_streams_add(struct tui_streams *, const char *subject, int pass,
		     const char *reason, int64_t time_us);
/* Count a gap of count messages on subject (NULL: in the totals only). */
void		 tui_streams_gap(struct tui_streams *, const char *subject, uint64_t count,
		     int64_t time_us);
/* Add one subject's trail counts (replay); no sparkline or rate. */
void		 tui_streams_seed(struct tui_streams *, const struct store_subject_count *);
/* Callback form for store_count_subjects(st, f, tui_streams_seed_cb, streams, ...). */
void		 tui_streams_seed_cb(const struct store_subject_count *, void *streams);
/* Sort for display (call before drawing); keeps the selection. */
void		 tui_streams_sort(struct tui_streams *, enum tui_sort);
/* Entries in display order: the subjects, then "other" when it counted any. */
size_t		 tui_streams_count(const struct tui_streams *);
const struct tui_stream *tui_streams_at(const struct tui_streams *, size_t i);
/* Move the selection by delta entries (clamped); select the first if none. */
void		 tui_streams_move(struct tui_streams *, int delta);
/* Index of the selected entry in display order, or -1. */
int		 tui_streams_selected(const struct tui_streams *);
/* Every event and gap together (for the status line). */
const struct tui_stream *tui_streams_total(const struct tui_streams *);

/* Fail percentage of s (0 when no events). */
double		 tui_stream_fail_pct(const struct tui_stream *s);
/* Events per second over the TUI_RATE_SECONDS whole seconds before now. */
double		 tui_stream_rate(const struct tui_stream *s, int64_t now_us);
/* Events in the second sec (0 when outside the last minute of s). */
uint32_t	 tui_stream_second(const struct tui_stream *s, int64_t sec);
/*
 * The last width seconds up to now (the current second rightmost, at most
 * TUI_SPARK_SECONDS) as ▁▂▃▄▅▆▇█ scaled to the largest of them; a second
 * with no events is a space.  Allocated.
 */
char		*tui_stream_spark(const struct tui_stream *s, int64_t now_us, int width);
/* n values as a sparkline scaled to their maximum. Allocated. */
char		*tui_sparkline(const uint32_t *values, size_t n);
/*
 * The streams pane: a header and one line per entry, exactly width cells:
 * subject, events, fails, fail %, rate, sparkline, last failure reason,
 * gaps (columns dropped or narrowed as width shrinks). Allocated.
 */
char		*tui_streams_header(int width);
char		*tui_streams_line(const struct tui_stream *s, int64_t now_us, int width);

/* ---- event list (events.c) ---------------------------------------------- */

/* How the list moves when events arrive. */
enum tui_follow {
	TUI_FOLLOW,		/* the selection is the newest event, always */
	TUI_SCROLLED,		/* the user moved up; reaching the end follows again */
	TUI_PAUSED		/* `p`: nothing moves until `p` again */
};

/* What the list is waiting for after a move past its ends. */
enum tui_pending {
	TUI_PENDING_NONE,
	TUI_PENDING_MOVE,	/* finish a move by pending_n rows */
	TUI_PENDING_PREV_FAIL,
	TUI_PENDING_NEXT_FAIL,
	TUI_PENDING_END
};

/*
 * The event list: a ring of at most cap recent summaries, which is always
 * a contiguous window of the (filtered) trail, oldest first.  Positions
 * are sequence numbers (seq) that stay with an entry while the ring moves.
 * The ring's copies are safe text; absent fields are "".
 *
 * Paging through the trail.  When the selection nears the ring's oldest
 * entry (or a move goes past it), tui_events_need_older() says so and
 * gives an id; the screen resolves it with
 *
 *	c = store_query(st, &filter.store, STORE_NEWEST_FIRST, before_id, PAGE, ..);
 *	for each row: if (tui_filter_match_row(&filter, row))
 *		tui_event_from_row(&e, row), tui_events_prepend(ev, &e);
 *	tui_events_older_done(ev, id_of_the_last_row_read, rows_read < PAGE);
 *
 * (the last id read, not the last kept, so free text that rejects a whole
 * page still moves on).  Prepending to a full ring drops its newest
 * entries; from then on the ring stops short of the present, live pushes
 * are not kept (only counted in unseen), and tui_events_need_newer() asks
 * for rows after an id the same way: STORE_OLDEST_FIRST,
 * tui_events_append(), tui_events_newer_done().  So push live events once
 * the writer has committed them (their ids known): a catch-up read then
 * finds every push that was not kept.  Paging needs trail ids:
 * an entry with id 0 at the end concerned stops it.  An empty ring asks
 * for rows before id 0, which store_query() reads as "the newest": that is
 * how a fresh list, or one cleared for a new filter, loads itself.  PAGE
 * should be at most cap.  A move past the ring's end that waits for a
 * fetch is finished when the fetch is done; any other move cancels it.
 *
 * Members are read-only outside events.c.
 */
struct tui_events {
	struct tui_event	*ring;
	size_t			 cap, first, n;	/* ring[first] is the oldest */
	int64_t			 base;		/* seq of the oldest */
	int64_t			 sel, top;	/* seqs of the selection and the top row */
	int			 rows;		/* visible rows */
	enum tui_follow		 state;
	uint64_t		 unseen;	/* arrived while not following */
	int			 at_start;	/* the ring holds the trail's oldest */
	int			 newer_gone;	/* the ring stops short of the newest */
	int64_t			 scan_older;	/* lowest id read going back, or 0 */
	int64_t			 scan_newer;	/* highest id read going forward, or 0 */
	enum tui_pending	 pending;
	int			 pending_n;
};

/* An empty list of at most cap entries (0: 5000). */
void		 tui_events_init(struct tui_events *, size_t cap);
void		 tui_events_free(struct tui_events *);
/* Empty the list (a new filter): following, and asking for the newest rows. */
void		 tui_events_clear(struct tui_events *);
/* A live event, newest (copied as safe text).  Dropped while newer_gone. */
void		 tui_events_push(struct tui_events *, const struct tui_event *ev);
/* A trail row newer than the newest entry (answering need_newer). */
void		 tui_events_append(struct tui_events *, const struct tui_event *ev);
/* A trail row older than the oldest entry (answering need_older). */
void		 tui_events_prepend(struct tui_events *, const struct tui_event *ev);
/* 1 and *before_id set when the screen should fetch older rows. */
int		 tui_events_need_older(const struct tui_events *, int64_t *before_id);
/* 1 and *after_id set when the screen should fetch newer rows. */
int		 tui_events_need_newer(const struct tui_events *, int64_t *after_id);
/* A fetch is over: last_id the last row read (0: none), exhausted when
   it read less than a page.  Finishes a pending move or search. */
void		 tui_events_older_done(struct tui_events *, int64_t last_id, int exhausted);
void		 tui_events_newer_done(struct tui_events *, int64_t last_id, int exhausted);
/* Rows the pane shows (the layout's events height less its header). */
void		 tui_events_set_rows(struct tui_events *, int rows);
/* Move the selection by delta rows (up is negative). */
void		 tui_events_move(struct tui_events *, int delta);
/* Move by pages (a page is rows - 1, at least 1). */
void		 tui_events_page(struct tui_events *, int pages);
/* The oldest entry in the ring (older pages load as you scroll up). */
void		 tui_events_home(struct tui_events *);
/* The newest event; follows the tail again unless paused. */
void		 tui_events_end(struct tui_events *);
/*
 * Select the next (dir > 0, newer, `n`) or previous (dir < 0, older, `N`)
 * failed event.  Returns 1 when it moved.  0 when the ring has none that
 * way; when the trail may hold more, the search goes on after the fetch
 * it asked for (tui_events_need_older/newer).
 */
int		 tui_events_next_fail(struct tui_events *, int dir);
/* `p`: pause, or resume following the tail. */
void		 tui_events_pause(struct tui_events *);
/* Entries in the ring. */
size_t		 tui_events_count(const struct tui_events *);
/* Entry i, 0 the oldest (safe text), or NULL. */
const struct tui_event *tui_events_at(const struct tui_events *, size_t i);
/* Index of the selection and of the top visible row; -1 when empty. */
long		 tui_events_selected(const struct tui_events *);
long		 tui_events_top(const struct tui_events *);

/* ---- layout (layout.c) --------------------------------------------------- */

#define TUI_MIN_COLS	80
#define TUI_MIN_ROWS	24

/* The panes. */
enum tui_pane {
	TUI_PANE_STREAMS,
	TUI_PANE_EVENTS,
	TUI_PANE_DETAIL,
	TUI_PANE_COUNT
};

/* A rectangle of cells; w or h 0 means hidden. */
struct tui_rect {
	int	x, y, w, h;
};

/*
 * Column widths of the event list (cells; 0 hidden), in drawing order,
 * separated by one space: time, ✓/✗, subject, reason, sub@iss, event id.
 * time is 8 (15:04:05), 12 (15:04:05.123) or 23 (2026-11-24 15:04:05.123).
 */
struct tui_columns {
	int	time, mark, subject, reason, who, id;
};

/* How the screen is divided. */
enum tui_layout_kind {
	TUI_LAYOUT_TOO_SMALL,		/* draw only l->message */
	TUI_LAYOUT_STACKED,		/* streams, events, detail top to bottom */
	TUI_LAYOUT_WIDE			/* streams left; events over detail right */
};

/*
 * Where everything goes.  Each pane's first row is its header (title and
 * column names); its content is the rows below.  In the wide layout the
 * column between streams and the right panes (x = streams.w) is a
 * separator.  The status line is the last row.
 *
 *   below 80x24       TOO_SMALL
 *   stacked           streams (rows-1)/4 rows, 5..10; the rest to events,
 *                     split with detail (events 2/5, at least 7) when the
 *                     detail is open or rows >= 36; else detail hidden
 *   160x40 and up     WIDE: streams left, cols*2/5 (64..90) wide, full
 *                     height; right of a separator column, events (2/5
 *                     of the height) over the detail
 */
struct tui_layout {
	enum tui_layout_kind	 kind;
	int			 cols, rows;
	struct tui_rect		 pane[TUI_PANE_COUNT];
	struct tui_rect		 status;
	struct tui_columns	 columns;	/* for pane[TUI_PANE_EVENTS].w */
	char			 message[80];	/* TOO_SMALL: what to show */
};

/* Lay out a cols x rows terminal; detail_open shows the detail when stacked. */
void		 tui_layout_compute(struct tui_layout *, int cols, int rows, int detail_open);
/* Whether pane p is visible. */
int		 tui_layout_visible(const struct tui_layout *, enum tui_pane p);
/* Column widths of the event list for a pane width w. */
void		 tui_layout_columns(struct tui_columns *, int w);
/*
 * The event list's header, and the line of ev (an entry of the list, from
 * tui_events_at: safe text), each exactly the columns' total width: a
 * failure shows ✗ and its reason, a pass ✓, a gap "!" and "gap: N lost";
 * the who column is sub@iss.  utc: times in UTC, else local time (TZ).
 * Allocated.
 */
char		*tui_events_header(const struct tui_columns *);
char		*tui_events_line(const struct tui_event *ev, const struct tui_columns *, int utc);

/* ---- detail (detail.c) ---------------------------------------------------- */

/* How a piece of the detail is drawn. */
enum tui_style {
	TUI_STYLE_NORMAL,
	TUI_STYLE_HEADING,
	TUI_STYLE_OK,
	TUI_STYLE_FAIL,
	TUI_STYLE_NOT_REACHED,
	TUI_STYLE_WARN,
	TUI_STYLE_KEY,
	TUI_STYLE_VALUE,
	TUI_STYLE_DIM
};

/*
 * One line: text[0..lead) is drawn in lead_style, the rest in style.
 * text is safe text and (after tui_detail_set_width) fits the width.
 */
struct tui_line {
	enum tui_style	 style;
	enum tui_style	 lead_style;
	size_t		 lead;
	char		*text;
};

#define TUI_DETAIL_HEX_MAX	65536	/* bytes shown in the hex view */
#define TUI_DETAIL_BODY_LINES	20000	/* lines of payload shown */

/*
 * The detail of one trail row, in sections: the summary, the trace (every
 * check ✓/✗/· with its detail, expected and actual), warnings, the
 * payload hash (claimed vs computed, from the payload_hash check), the JWT
 * header (decoded from the token) and claims (exp, iat, nbf, auth_time
 * also as RFC 3339 and age), the message headers, the payload (JSON
 * pretty-printed, else text line by line), the token, and a hex view
 * (offset, 16 bytes, safe ASCII).  Gaps and sessions get their fields.
 * A row made from a verdict another recorder published (watch --verdicts:
 * its detail column names the verdict's subject) shows that subject, and
 * its JWT header from the detail column, having no token to decode.
 *
 * set_row builds the logical lines once (copies: the row may go); then
 * set_width lays them out, wrapped (continuations indented) or cut with
 * "…", as often as the pane changes.  Members read-only outside detail.c.
 */
struct tui_detail {
	struct tui_line	*logical;	/* as built */
	size_t		 nlogical, caplogical;
	struct tui_line	*lines;		/* laid out: draw lines[top ..] */
	size_t		 n, cap;
	int		 width, wrap;
	size_t		 top;
	int64_t		 id;		/* the row shown; 0 none */
};

void		 tui_detail_init(struct tui_detail *);
void		 tui_detail_free(struct tui_detail *);
/* Show row r judged at now (seconds). */
void		 tui_detail_set_row(struct tui_detail *, const struct store_row *r, time_t now);
/* Lay the lines out for width cells; wrap, else cut. */
void		 tui_detail_set_width(struct tui_detail *, int width, int wrap);
/* Scroll by delta lines, for a pane of rows rows (clamped). */
void		 tui_detail_scroll(struct tui_detail *, long delta, int rows);

/* ---- status line and help (status.c) ------------------------------------ */

/* The NATS connection as the status line shows it. */
enum tui_conn {
	TUI_CONN_REPLAY,		/* no NATS: replaying the trail */
	TUI_CONN_CONNECTING,
	TUI_CONN_CONNECTED,
	TUI_CONN_RECONNECTING,
	TUI_CONN_CLOSED
};

/* "replay", "connecting", "connected", "reconnecting", "closed". */
const char	*tui_conn_name(enum tui_conn);

/* What the status line says. Borrowed; strings raw (made safe here). */
struct tui_status {
	const char	*server;	/* or NULL */
	const char	*view;		/* what is watched, when not events:
					   "fleet verdicts on P.>", or NULL */
	enum tui_conn	 conn;
	uint64_t	 events, pass, fail, gaps, drops;
	double		 rate;		/* events per second */
	const char	*db;		/* or NULL */
	enum tui_follow	 follow;
	uint64_t	 unseen;	/* new events not in view */
	const char	*filter;	/* canonical filter, or NULL */
	const char	*message;	/* a transient message, or NULL */
	const char	*keys;		/* fetched keys' state ("keys ok"), or NULL */
};

/*
 * The status line, exactly width cells.  When it does not fit, parts go
 * in this order: server, database, filter, gaps, rate, view; the
 * connection state, totals, drops (when any), the follow state and the
 * message stay.
 * Allocated.
 */
char		*tui_status_line(const struct tui_status *, int width);

/* One entry of the key help. */
struct tui_help {
	const char	*keys;		/* "j k ↑ ↓" or ":sub SUBJECT" */
	const char	*what;
};

/* The key and command help (shared by `?` and the README). */
size_t		 tui_help_count(void);
const struct tui_help *tui_help_at(size_t i);
/* The help as text: aligned lines (markdown 0) or a markdown table. Allocated. */
char		*tui_help_text(int markdown);

/* ---- keys (keys.c) ------------------------------------------------------------ */

/*
 * Key codes: a character is its Unicode code point; named keys are above
 * U+10FFFF.  Raw '\t', '\r', '\n', 27, 127 and 8 are read as TAB, ENTER,
 * ENTER, ESC, BACKSPACE, BACKSPACE, so the screen may pass either.
 */
enum tui_key {
	TUI_KEY_UP = 0x110000,
	TUI_KEY_DOWN,
	TUI_KEY_LEFT,
	TUI_KEY_RIGHT,
	TUI_KEY_PGUP,
	TUI_KEY_PGDN,
	TUI_KEY_HOME,
	TUI_KEY_END,
	TUI_KEY_TAB,
	TUI_KEY_BTAB,			/* shift-tab */
	TUI_KEY_ENTER,
	TUI_KEY_ESC,
	TUI_KEY_BACKSPACE,
	TUI_KEY_DELETE,
	TUI_KEY_RESIZE
};

#define TUI_KEY_CTRL(c)	((c) & 0x1f)

/* What the keys are doing. */
enum tui_mode {
	TUI_MODE_NORMAL,
	TUI_MODE_FILTER,		/* editing the `/` prompt */
	TUI_MODE_COMMAND,		/* editing the `:` prompt */
	TUI_MODE_HELP			/* `?`: any key closes */
};

/* What the screen should do after a key. */
enum tui_act {
	TUI_ACT_NONE,			/* nothing changed */
	TUI_ACT_REDRAW,			/* the prompt, help or focus changed: draw */
	TUI_ACT_QUIT,
	TUI_ACT_MOVE,			/* move the focused pane by n (rows) */
	TUI_ACT_PAGE,			/* by n pages */
	TUI_ACT_HOME,
	TUI_ACT_END,
	TUI_ACT_OPEN,			/* Enter on pane: events open the detail
					   (detail_open set), streams filter on it */
	TUI_ACT_CLOSE,			/* Esc: detail closed (stacked) */
	TUI_ACT_NEXT_FAIL,		/* n: 1 newer, -1 older */
	TUI_ACT_PAUSE,
	TUI_ACT_SORT,			/* streams: events <-> name */
	TUI_ACT_FILTER,			/* apply arg (checked; "" clears) */
	TUI_ACT_SUB,			/* subscribe to arg (a checked subject) */
	TUI_ACT_UNSUB,
	TUI_ACT_EXPORT,			/* export the filter to arg, or NULL: a name of
					   the screen's choosing */
	TUI_ACT_ERROR,			/* show arg; the prompt stays open */
	TUI_ACT_RESIZE,
	TUI_ACT_REFRESH			/* ^L */
};

/* An action: arg is borrowed from the keys state, valid until the next key. */
struct tui_action {
	enum tui_act	 type;
	enum tui_pane	 pane;		/* the focused pane when it happened */
	int		 n;
	const char	*arg;
};

#define TUI_PROMPT_MAX	512

/*
 * The key state machine.  Normal-mode keys:
 *   j k ↑ ↓ move, PgUp PgDn (also ^B ^F) page, Home End (g G) ends,
 *   Tab / Shift-Tab next / previous visible pane, Enter open, Esc close,
 *   / filter, n N next / previous failure, p pause, e export, s sort,
 *   : command, ? help, q (and ^C) quit, ^L refresh.
 * In a prompt: characters insert at the cursor, ← → Home End (^A ^E)
 * move, Backspace Delete edit, ^U ^K ^W kill, Enter applies, Esc cancels.
 * The filter prompt starts with the applied filter and is parsed as you
 * type (error and error_pos; error "" when it parses).  Commands:
 *   sub SUBJECT, unsub SUBJECT, export [FILE], q / quit, help.
 * Members are read-only outside keys.c.
 */
struct tui_keys {
	enum tui_mode	 mode;
	enum tui_pane	 focus;
	int		 detail_open;
	int		 visible;		/* 1 << pane for each visible pane */
	char		 prompt[TUI_PROMPT_MAX];
	size_t		 len, cursor;		/* bytes */
	char		 applied[TUI_PROMPT_MAX];	/* the filter in force */
	struct tui_filter check;		/* the prompt, parsed */
	char		 error[160];		/* safe text; "" none */
	int		 error_pos;		/* byte offset in prompt, or -1 */
	char		 arg[TUI_PROMPT_MAX];	/* of the last action */
};

void		 tui_keys_init(struct tui_keys *);
void		 tui_keys_free(struct tui_keys *);
/* Which panes are visible now (after each tui_layout_compute). */
void		 tui_keys_set_layout(struct tui_keys *, const struct tui_layout *);
/* Feed one key at now (for relative times in the filter). */
struct tui_action tui_keys_feed(struct tui_keys *, int key, time_t now);

/* The prompt line, laid out for drawing. */
struct tui_prompt {
	char	*text;		/* allocated safe text, exactly width cells */
	int	 cursor;	/* column of the cursor */
	int	 mark;		/* column of the error position, or -1 */
	int	 msg;		/* column where the error message starts, or -1 */
};

/* Lay out the prompt ("/" or ":" then the text, then the error). */
void		 tui_keys_prompt(const struct tui_keys *, int width, struct tui_prompt *);

#endif
