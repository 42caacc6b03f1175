/*
 * store/store-int.h -- shared by the files of store/ only.
 */
#ifndef STORE_INT_H
#define STORE_KEYSETS_SEEN	16	/* key sets a session remembers recording */
#define STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

#define STORE_SCHEMA_VERSION	4
#define STORE_STR(x)		STORE_STR_(x)	/* a number macro as a string literal */
#define STORE_STR_(x)		#x
#define STORE_HASH_LEN		32
#define STORE_NCOLS		28	/* chained columns, id .. detail */

/* The chained columns, in chain order (the canonical encoding's order). */
#define STORE_COLUMNS \
	"id, kind, received_at, session, subject, stream, stream_seq, rule, verdict, " \
	"reason, alg, kid, iss, sub, aud, scope, jti, event_id, exp, iat, headers, " \
	"body, token, checks, claims, warnings, gap_count, detail"

/* The columns whose texts, in this order, are the claims' context. */
#define STORE_CLAIMS_CTX_FIRST	COL_ISS		/* iss, sub, aud, scope, jti, */
#define STORE_CLAIMS_CTX_LAST	COL_EVENT_ID	/* event_id */

/*
 * The event id index groups rows in blocks of 2^14 ids, so that a batch
 * only touches the newest block's part of it (event ids are random);
 * a lookup probes each block.  The expression must be written exactly
 * so for SQLite to use the index.
 */
#define STORE_EVENT_SHIFT	"14"
#define STORE_EVENT_BLOCK	"(id >> " STORE_EVENT_SHIFT ")"

/*
 * Schema 3 has no index on received_at: rows are appended about in time
 * order, so a table of spans does its work for almost nothing.  Each row
 * of trail_spans covers consecutive ids, from first_id to last_id, with
 * the least and greatest received_at among them.  A span takes in commits
 * until it holds STORE_SPAN_ROWS rows (one commit is never split, so a
 * bigger commit makes a bigger span).  Every row is in a span, written in
 * the transaction that commits the row, so the rows received in a window
 * are among the ids from the first span that overlaps it to the last one:
 * a time filter adds that id range to its test of received_at, whatever
 * order the times come in.
 */
#define STORE_SPAN_ROWS		4096
#define STORE_SPAN_SHIFT	"12"	/* log2(STORE_SPAN_ROWS), for migrating */

/*
 * Schema 4 has no index on subject, iss or kid either: each costs an index
 * entry per row, and a recorder writes far more rows than anyone queries.
 * trail_tags holds, per block of STORE_TAG_ROWS ids, per column and per
 * value, the sorted offsets in the block of the rows that hold it
 * (store-tags.c), written with the commit that commits those rows.  A
 * filter on one of the columns joins the tags whose value matches and
 * reads only the rows they list, block by block; it still compares the
 * column row by row, so a tag can narrow a query but never widen it.
 */
#define STORE_TAG_ROWS		1024
#define STORE_TAG_ROWS_STR	"1024"	/* the same, for SQL */

enum store_tag_field { TAG_SUBJECT, TAG_ISS, TAG_KID, TAG_NFIELDS };
extern const char *const store_tag_names[TAG_NFIELDS];	/* their columns' names */

/* One value's rows in one block: offsets[0..n) ascending, of which the
   first committed are in the trail. */
struct store_tag {
	int		 field;
	int64_t		 block;
	char		*value;
	size_t		 len;
	uint32_t	 hash;
	unsigned char	*offsets;		/* 2 bytes each, little-endian */
	unsigned	 n, committed, cap;
};

/* The tags of the blocks being written (or audited), found by hash. */
struct store_tags {
	struct store_tag *tag;
	size_t		 ntag, captag;
	uint32_t	*slot;			/* index + 1 into tag; 0: empty */
	size_t		 nslot;			/* a power of two, or 0 */
	size_t		 last[TAG_NFIELDS];	/* index + 1 of each column's tag
						   added to last; 0: none */
};

/* A span's received_at bounds (either may be absent: rows without a time). */
struct store_span {
	int64_t		 first_id;		/* 0: no span */
	int64_t		 min_at, max_at;
	int		 has_at;
};

/* Column positions in STORE_COLUMNS. */
enum store_col {
	COL_ID, COL_KIND, COL_RECEIVED, COL_SESSION, COL_SUBJECT, COL_STREAM, COL_SEQ,
	COL_RULE, COL_VERDICT, COL_REASON, COL_ALG, COL_KID, COL_ISS, COL_SUB, COL_AUD,
	COL_SCOPE, COL_JTI, COL_EVENT_ID, COL_EXP, COL_IAT, COL_HEADERS, COL_BODY,
	COL_TOKEN, COL_CHECKS, COL_CLAIMS, COL_WARNINGS, COL_GAP_COUNT, COL_DETAIL
};

/* One value of a row being written or checked, as SQLite stores it. */
struct store_value {
	int			 type;		/* SQLITE_NULL/INTEGER/FLOAT/TEXT/BLOB */
	int64_t			 i;
	double			 d;
	const void		*p;
	size_t			 n;
};

/* A growable byte buffer. */
struct store_buf {
	unsigned char	*p;
	size_t		 len, cap;
};

/* An LZ encoder's scratch (store-codec.c); zeroed before first use. */
/* A hash chain's head: the newest row position with that hash, valid
   only when stamped with the encoder's current generation. */
struct store_lz_head {
	int32_t		 pos;
	uint32_t	 gen;
};

struct store_lz {
	struct store_lz_head *head;
	uint32_t	 gen;
	int32_t		*prev;
	size_t		 prevcap;
	struct store_buf buf;
};

/*
 * A row on its way to the INSERT: its canonical encoding (what the chain
 * hashes) holds every value's bytes, and vals point into it.
 */
struct store_slot {
	struct store_buf	 enc;
	struct store_value	 vals[STORE_NCOLS];
	unsigned char		 prev[STORE_HASH_LEN];
	unsigned char		 hash[STORE_HASH_LEN];
};

#define STORE_SLOTS	256		/* rows queued for the writer thread */
#define STORE_WAKE	32		/* rows queued before it is woken */
#define STORE_PUBLISH	8		/* rows filled before they are queued */
#define STORE_SLOT_KEEP	(256 * 1024)	/* a slot's buffer beyond this is not kept */

/*
 * The writer thread (store-writer.c) and its queue: slots [tail, head)
 * are the thread's; the caller fills the slots from head on and queues
 * them (moves head) a few at a time.  mu guards head, tail, err, stop and
 * the two waiting flags; filled and room are the caller's.
 */
struct store_writer {
	pthread_t		 thread;
	int			 running;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;		/* rows queued, or stop */
	pthread_cond_t		 done;		/* rows handled */
	uint64_t		 head, tail;
	unsigned		 filled;	/* slots filled, not yet queued */
	unsigned		 room;		/* free slots as the caller last saw */
	int			 wwait, cwait, stop;
	char			*err;		/* the thread's first failure */
	struct store_slot	*slots;
	/* The hash the queued rows chain from, then of the last row the
	   thread hashed: the thread's while rows are queued, the caller's
	   (under mu) while the queue is empty. */
	unsigned char		 chain[STORE_HASH_LEN];
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 writer;
	int		 lock_fd;		/* a writer's flock on the file, or -1 */
	sqlite3_stmt	*insert;
	sqlite3_stmt	*head;			/* UPDATE sessions SET head... */
	sqlite3_stmt	*span_put;		/* INSERT OR REPLACE INTO trail_spans */
	sqlite3_stmt	*tag_put;		/* INSERT OR REPLACE INTO trail_tags */
	struct store_tags tags;			/* the open block's, and the batch's */
	int		 version;		/* the trail's schema */
	struct store_span span;			/* the newest committed span */
	struct store_span batch_at;		/* received_at bounds of the open batch */
	int		 in_txn;		/* used by whichever thread writes */
	unsigned	 batch_count, batch_ms;
	unsigned	 pending;
	int64_t		 batch_started_ms;
	int64_t		 last_id;		/* newest row, committed or pending */
	unsigned char	 last_hash[STORE_HASH_LEN];
	int64_t		 committed_id;		/* newest committed row */
	unsigned char	 committed_hash[STORE_HASH_LEN];
	int64_t		 session;		/* open session, or 0 */
	char		*keyset_json;		/* the newest key set recorded
						   (fetched keys), or NULL */
	uint64_t	 keyset_seen[STORE_KEYSETS_SEEN];	/* generations recorded
						   in this session, newest kept */
	unsigned	 keyset_nseen;
	uint64_t	 appended;
	int		 threaded;		/* use the writer thread when it runs */
	struct store_writer w;
	struct store_slot sync;			/* the row being written in this thread */
	struct store_checkpointer *ckpt;	/* WAL checkpoints off the writer's path */
	/* Scratch for building an event row (the caller's thread only). */
	struct store_buf text;			/* checks and warnings JSON */
	struct store_buf hdr;			/* headers JSON */
	struct store_buf eid;			/* decoded event id */
	struct store_buf ctx;			/* a compact value's context */
	struct store_buf ztok, zhdr, zchk, zclm;	/* compact values */
	struct store_lz	 lz;
};

/* Set *cause from the connection's last error: "what 'path': message". */
int		 store_fail(struct store *, const char *what, char **cause);
/* Run SQL with no results. */
int		 store_exec(struct store *, const char *sql, const char *what, char **cause);
/* The chain hash of a row's values after prev. */
void		 store_chain_hash(struct store_buf *scratch, const unsigned char *prev,
		     const struct store_value *vals, unsigned char out[STORE_HASH_LEN]);
/* A value from column i of a stepped statement. */
void		 store_value_from_column(sqlite3_stmt *, int i, struct store_value *);
/* Register ztwatch's SQL functions (nats_match) on a connection. */
int		 store_register_functions(sqlite3 *);

/* The message's headers as the trail's JSON object (store.c), NUL-terminated
   in b (b->len not counting the NUL). */
void		 store_headers_json(const struct auth_msg *, struct store_buf *b);

/* Growable buffers: make room for n more bytes; append n bytes. */
void		 store_buf_reserve(struct store_buf *, size_t n);
void		 store_buf_add(struct store_buf *, const void *p, size_t n);

/* ---- store-codec.c: the compact form of long text columns ------------- */

/* Append the compact form of in against ctx to out, looking for matches
   before in[search] only; seed: where ctx appears whole in in, or
   SIZE_MAX: 0, or -1 (not shorter). */
int		 store_lz_encode(struct store_lz *, const void *ctx, size_t ctxlen,
		     const void *in, size_t n, size_t search, size_t seed, struct store_buf *out);
/* Where ctx appears whole in text, or SIZE_MAX. */
size_t		 store_lz_find(const void *text, size_t n, const void *ctx, size_t ctxlen);
/* Decode a compact value against ctx into out (NUL-terminated): 0 or -1. */
int		 store_lz_decode(const void *p, size_t n, const void *ctx, size_t ctxlen,
		     struct store_buf *out);
void		 store_lz_free(struct store_lz *);
/* Append the unpadded base64url of p[0..n). */
void		 store_b64url(struct store_buf *, const void *p, size_t n);
/* The frozen dictionary of compact values, format 1. */
const char	*store_codec_dict(size_t *len);

/* ---- store-writer.c: appending rows, the writer thread, commits -------- */

/*
 * Append a row (id filled in).  may_collide: the row may hit the unique
 * (stream, stream_seq) index, so it is written in this thread, and 1 is
 * returned when it did (nothing appended).  Otherwise 0, or -1 with
 * *cause (the batch is rolled back).
 */
int		 store_append_row(struct store *, struct store_value *vals, int may_collide,
		     char **cause);
/* Start the writer thread (when threaded); stop it after handing back its work. */
void		 store_writer_start(struct store *);
void		 store_writer_stop(struct store *);
/* Wait for queued rows to be written; -1 with *cause when one failed. */
int		 store_writer_sync(struct store *, char **cause);
/* Queued rows chain from st->last_hash from now on (the queue is empty). */
void		 store_writer_chain_from(struct store *);
/* Give up the open batch (after an error). */
void		 store_rollback(struct store *);

/* Value setters for building a row (store.c); text and blobs are borrowed. */
void		 val_null(struct store_value *);
void		 val_int(struct store_value *, int64_t);
void		 val_real(struct store_value *, double);
void		 val_textn(struct store_value *, const void *s, size_t n);
void		 val_text(struct store_value *, const char *s);	/* NULL: null */
void		 val_blob(struct store_value *, const void *p, size_t n);
/* text[0..n) in its compact form against ctx when that is shorter (matches
   looked for before text[search] only; seeded: ctx may appear whole in
   text), else as text; NULL text: null. */
void		 store_val_compact(struct store *, struct store_value *, struct store_buf *z,
		     const void *ctx, size_t ctxlen, const void *text, size_t n, size_t search,
		     int seeded);

/* An event row's claims, token, headers (st->hdr) and checks in their
   compact forms, the registered claims' columns set in vals. */
void		 store_compact_columns(struct store *, struct store_value *vals,
		     const char *claims, size_t clen, const char *token, size_t tlen,
		     const char *checks, size_t checks_len);

/* ---- store-tags.c: which rows of a block hold a subject, iss or kid ---- */

/* Add the row id's value of field (n bytes; NULL: nothing) to its tag. */
void		 store_tags_add(struct store_tags *, int field, const void *value, size_t n,
		     int64_t id);
/* Add a row's subject, iss and kid (text values only; vals[COL_ID] set). */
void		 store_tags_add_values(struct store_tags *, const struct store_value *vals);
/* Write the tags the open batch added to, in its transaction: 0 or -1. */
int		 store_tags_write(struct store *, char **cause);
/* The batch committed: what it added is in the trail, and blocks before
   the one next_id falls in are complete and forgotten. */
void		 store_tags_committed(struct store_tags *, int64_t next_id);
/* The batch was rolled back: forget what it added. */
void		 store_tags_rollback(struct store_tags *);
/* Load block's tags from the trail into t (emptied first): 0 or -1. */
int		 store_tags_load(sqlite3 *, struct store_tags *, int64_t block);
/* The first column (TAG_*) whose text value in vals (vals[COL_ID] set) is
   not in its tag, or -1: all are. */
int		 store_tags_missing(const struct store_tags *, const struct store_value *vals);
void		 store_tags_free(struct store_tags *);
/* Schema 4's migration: tags for every row already in the trail. */
int		 store_tags_build(struct store *, char **cause);
/* The SQL function ztag_has(offsets, id). */
int		 store_tags_register(sqlite3 *);

/* ---- store-checkpoint.c: WAL checkpoints on a thread of their own ----- */

struct store_checkpointer;
void		 store_checkpointer_start(struct store *);
void		 store_checkpointer_stop(struct store *);

/* Index definitions, "name: sql" lines in name order (store.c); NULL on failure. */
char	*store_index_defs(sqlite3 *);
char	*store_index_defs_expected(void);

#endif
