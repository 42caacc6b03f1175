/*
 * store/store-int.h -- shared by the files of store/ only.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>

#include "store.h"

#define STORE_SCHEMA_VERSION	1
#define STORE_HASH_LEN		32
#define STORE_NCOLS		28	/* chained columns, id .. detail */

/* The chained columns, in chain order (the canonical encoding's order). */
#define STORE_COLUMNS \
	"id, kind, received_at, session, subject, stream, stream_seq, rule, verdict, " \
	"reason, alg, kid, iss, sub, aud, scope, jti, event_id, exp, iat, headers, " \
	"body, token, checks, claims, warnings, gap_count, detail"

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

struct store {
	sqlite3		*db;
	char		*path;
	int		 writer;
	sqlite3_stmt	*insert;
	sqlite3_stmt	*head;			/* UPDATE sessions SET head... */
	int		 in_txn;
	unsigned	 batch_count, batch_ms;
	unsigned	 pending;
	int64_t		 batch_started_ms;
	int64_t		 last_id;		/* newest row, committed or pending */
	unsigned char	 last_hash[STORE_HASH_LEN];
	int64_t		 committed_id;		/* newest committed row */
	unsigned char	 committed_hash[STORE_HASH_LEN];
	int64_t		 session;		/* open session, or 0 */
	uint64_t	 appended;
	struct store_buf enc;			/* scratch: canonical encoding */
	struct store_buf text;			/* scratch: JSON texts */
};

/* Set *cause from the connection's last error: "what 'path': message". */
int		 store_fail(struct store *, const char *what, char **cause);
/* The chain hash of a row's values after prev. */
void		 store_chain_hash(struct store_buf *scratch, const unsigned char *prev,
		     const struct store_value *vals, unsigned char out[STORE_HASH_LEN]);
/* A value from column i of a stepped statement. */
void		 store_value_from_column(sqlite3_stmt *, int i, struct store_value *);
/* Register ztwatch's SQL functions (nats_match) on a connection. */
int		 store_register_functions(sqlite3 *);
int64_t		 store_now_ms(void);

#endif
