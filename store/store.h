/*
 * store/store.h -- the audit trail; the only place that includes sqlite3.h.
 *
 * One writer per database (struct store opened with store_open), any
 * number of readers on their own connections (store_open_reader).  Rows
 * form a hash chain in id order (README, "The audit trail").  Every
 * function returns 0/-1 or NULL and sets *cause to an allocated message
 * on error; nothing here prints.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct store;				/* opaque */

/* ---- opening ------------------------------------------------------------ */

/* Open or create the trail at path for writing (migrating it if older). */
struct store	*store_open(const char *path, char **cause);
/* Open an existing trail read-only. */
struct store	*store_open_reader(const char *path, char **cause);
/* Commit what is pending, close the session if one is open, and close. */
int		 store_close(struct store *, char **cause);

/* ---- writing ----------------------------------------------------------- */

/* What a session row says about the run that records. Borrowed. */
struct store_session_info {
	const char		*version;
	const char		*command;	/* "import", "record" */
	const char		*server;	/* or NULL */
	const char		*subjects;	/* or NULL */
	const char		*source;	/* file name, or NULL */
	const struct auth_policy *policy;	/* hash and key fingerprints */
};

/* Start a session: writes its row. */
int		 store_session_begin(struct store *, const struct store_session_info *,
		     int64_t now_us, char **cause);

/* Where an event came from, besides the message itself. */
struct store_origin {
	int64_t		 received_us;	/* microseconds since the epoch */
	const char	*stream;	/* JetStream stream, or NULL */
	uint64_t	 stream_seq;	/* its sequence, or 0 */
};

/*
 * Append the event msg judged v (both borrowed).  Rows are committed in
 * batches (store_set_batch); a JetStream message already recorded (same
 * stream and sequence) is skipped and *dup set, when dup is not NULL.
 */
int		 store_append_event(struct store *, const struct auth_msg *msg,
		     const struct auth_verdict *v, const struct store_origin *,
		     int *dup, char **cause);
/* What store_append_remote() made of a message. */
struct store_remote {
	const char	*subject;	/* the event's subject (borrowed from the message) */
	int		 pass;
	enum auth_reason reason;
	int		 malformed;	/* not a verdict: recorded as a failing
					   malformed_message row holding its bytes */
	int		 duplicate;	/* its stream and sequence were on record:
					   not recorded */
};

/*
 * Append, as an event row, a verdict another recorder published with
 * --verdict-subject prefix: msg (borrowed) is the message as received on
 * "prefix.<subject>", its body the verdict's JSON (DESIGN §2).  The columns
 * are filled as store_append_event() fills them from a verdict; a message
 * that is not a verdict (untrusted input: not JSON, not an object, members
 * missing or of the wrong type, a verdict for another subject) becomes a
 * failing malformed_message row saying why; o's stream and sequence, when
 * set, make the row unique as a JetStream event's is (store-remote.c has
 * the details).  Fills *res.  Returns 0, or -1 with *cause when the trail
 * fails.
 */
int		 store_append_remote(struct store *, const struct auth_msg *msg,
		     const char *prefix, const struct store_origin *o,
		     struct store_remote *res, char **cause);
/* Append a gap: count messages lost on subject (stream and first seq). */
int		 store_append_gap(struct store *, int64_t received_us, const char *subject,
		     const char *stream, uint64_t first_seq, uint64_t count,
		     const char *detail, char **cause);
/* Commit after count rows or ms milliseconds, whichever comes first. */
void		 store_set_batch(struct store *, unsigned count, unsigned ms);
/*
 * Whether appends hand their rows to a second thread that does SQLite's
 * part while the next rows are encoded (on by default when the machine has
 * two CPUs).  Either way the calls above mean the same: a batch commits
 * before the append that fills it returns, a failure of a handed-over row
 * is a failure of its batch, reported by the next append, commit or close,
 * and a row that may be a duplicate (a JetStream message) is written before
 * store_append_event returns.  Returns 0, or -1 with *cause when rows
 * handed over so far failed.
 */
int		 store_set_writer_thread(struct store *, int on, char **cause);
/* The WAL size in pages (8,192 by default, 128 MiB) at which a thread
   checkpoints it into the database: smaller in tests. */
void		 store_set_checkpoint_pages(struct store *, int pages);
/* Commit the pending batch now. */
int		 store_commit(struct store *, char **cause);
/* Rows appended but not yet committed. */
unsigned	 store_pending(const struct store *);
/* Rows appended by this writer so far (committed or pending). */
uint64_t	 store_appended(const struct store *);

/* ---- reading ------------------------------------------------------------ */

/* Row kinds. */
#define STORE_KIND_EVENT	0x1
#define STORE_KIND_GAP		0x2
#define STORE_KIND_SESSION	0x4
#define STORE_KIND_KEYSET	0x8	/* the fetched keys changed */
#define STORE_KIND_ALL		0xf

/* A filter; zero/NULL members match everything. Borrowed strings. */
struct store_filter {
	int64_t		 since_us;	/* received_at >= since (0: no bound) */
	int64_t		 until_us;	/* received_at < until (0: no bound) */
	const char	*subject;	/* NATS pattern */
	const char	*verdict;	/* "pass" or "fail" */
	const char	*reason;
	const char	*iss;
	const char	*kid;
	int		 kinds;		/* STORE_KIND_*; 0 means all that fit */
	const char	*event_id;	/* as the trail keeps it (a string decoded) */
};

/* One row as read; pointers valid until the next step of its cursor. */
struct store_row {
	int64_t			 id;
	const char		*kind;		/* "event", "gap", "session", "keyset" */
	int64_t			 received_us;
	int64_t			 session;
	const char		*subject, *stream;
	int64_t			 stream_seq;	/* 0 when none */
	const char		*rule, *verdict, *reason, *alg, *kid, *iss, *sub, *aud;
	const char		*scope, *jti, *event_id;
	int			 has_exp, has_iat;
	double			 exp, iat;
	const char		*headers, *token, *checks, *claims, *warnings, *detail;
	const unsigned char	*body;
	size_t			 body_len;
	int			 has_body;
	int64_t			 gap_count;
	const unsigned char	*prev_hash, *hash;	/* 32 bytes each */
};

struct store_cursor;

/* Order of a query. */
enum store_order {
	STORE_OLDEST_FIRST,
	STORE_NEWEST_FIRST
};

/*
 * Rows matching f, in order, starting after row id from (0: from the
 * start); at most limit rows (0: no limit).  Newest-first pages for the
 * console: pass the last id of a page as from.
 */
struct store_cursor *store_query(struct store *, const struct store_filter *f,
		     enum store_order, int64_t from, int64_t limit, char **cause);
/* Next row: 1 and *row set, 0 at the end, -1 with *cause on error. */
int		 store_next(struct store_cursor *, const struct store_row **row, char **cause);
void		 store_cursor_free(struct store_cursor *);
/* The work a query has done so far, in SQLite's virtual machine steps
   (for tests that pin how much of the trail a query reads). */
int64_t		 store_cursor_work(const struct store_cursor *);
/* The row with this id: 1 found, 0 none, -1 error; the cursor holds it. */
int		 store_get(struct store *, int64_t id, struct store_cursor **c,
		     const struct store_row **row, char **cause);

/* Per-subject counts for the console's streams pane. */
struct store_subject_count {
	const char	*subject;
	int64_t		 events, pass, fail, gaps;
};
/* Call fn for each subject with events or gaps; returns 0 or -1. */
int		 store_count_subjects(struct store *, const struct store_filter *f,
		     void (*fn)(const struct store_subject_count *, void *), void *arg,
		     char **cause);

/* Failed events grouped by one column, for the console's failures view. */
struct store_group_count {
	const char	*value;		/* NULL when the column was empty */
	int64_t		 count;
};
/* Call fn for the limit (0: 100) largest groups of failed events matching f
   by column "reason", "iss" or "kid", most first; returns 0 or -1. */
int		 store_count_failures(struct store *, const struct store_filter *f,
		     const char *column, int limit,
		     void (*fn)(const struct store_group_count *, void *), void *arg,
		     char **cause);

/* ---- the chain ------------------------------------------------------- */

/* What the audit found. */
struct store_audit {
	int		 intact;
	int64_t		 rows;
	int64_t		 bad_id;	/* first bad row, or 0 */
	char		*problem;	/* allocated description when !intact */
	unsigned char	 head[32];	/* hash of the newest row */
};

/* Walk the chain. Returns 0 (see a->intact) or -1 with *cause. */
int		 store_audit(struct store *, struct store_audit *a,
		     void (*progress)(int64_t rows, void *), void *arg, char **cause);

#endif
