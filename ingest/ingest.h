/*
 * ingest/ingest.h -- NATS for ztwatch; the only place that includes nats.h.
 *
 * A connection (one or more servers, credentials, TLS) whose state the
 * caller can watch; core subscriptions and JetStream pull consumers that
 * hand each message to a caller's deliver function; publishing for pub
 * and the demo.  Messages are handed over as they came from nats.c (no
 * copy of the body is made here); the receiver owns them until
 * ingest_msg_free().  Functions return 0/-1 or NULL and set *cause to an
 * allocated message on error; nothing here prints.
 *
 * Threads: deliver functions run on nats.c's delivery threads (core) or
 * on the consumer's fetch thread (JetStream) and may block: that is the
 * backpressure.  A blocked core subscription makes nats.c drop messages
 * once its pending limits fill; ingest_sub_dropped() counts them.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

/* What the connection is doing. */
enum ingest_state {
	INGEST_CONNECTING,
	INGEST_CONNECTED,
	INGEST_RECONNECTING,
	INGEST_CLOSED
};

/* "connecting", "connected", "reconnecting", "closed". */
const char	*ingest_state_name(enum ingest_state);

/* How to reach the servers (DESIGN §7).  Borrowed strings, NULL if unset. */
struct ingest_conn_opts {
	const char	*servers;	/* "URL[,URL...]"; NULL: $NATS_URL, else
					   nats://127.0.0.1:4222 */
	const char	*creds;		/* user credentials file */
	const char	*nkey;		/* nkey seed file */
	const char	*user, *password;
	const char	*token;
	const char	*tls_ca, *tls_cert, *tls_key;
	const char	*name;		/* connection name shown by the server */
	int		 wait;		/* keep trying at start instead of failing */
	/* Called from nats.c's threads on every change; must not block. */
	void		(*on_state)(enum ingest_state, void *arg);
	void		(*on_error)(const char *text, void *arg);
	void		*arg;
};

struct ingest_conn;

/* Connect; with opts->wait the call returns at once and connects later. */
struct ingest_conn *ingest_connect(const struct ingest_conn_opts *, char **cause);
/* Close the connection and free it (subscriptions must be gone). */
void		 ingest_close(struct ingest_conn *);
enum ingest_state ingest_conn_state(struct ingest_conn *);
/* The server URL connected to (while disconnected: the last one connected
   to; before any connection: the servers as given), into buf. */
void		 ingest_conn_url(struct ingest_conn *, char *buf, size_t len);
/* The servers as given, for the session record. Borrowed. */
const char	*ingest_conn_servers(struct ingest_conn *);
/* Flush what is buffered to the server, waiting at most ms. */
int		 ingest_flush(struct ingest_conn *, int ms, char **cause);

/* ---- received messages --------------------------------------------------- */

#define INGEST_MAX_HEADERS	64

/* One received message. */
struct ingest_msg {
	struct auth_msg		 msg;		/* valid after ingest_msg_prepare() */
	struct auth_header	 headers[INGEST_MAX_HEADERS];
	int64_t			 received_us;	/* when the deliver function got it */
	const char		*stream;	/* JetStream stream, or NULL */
	uint64_t		 stream_seq;
	uint64_t		 deliveries;	/* 1 on first delivery */
	int			 header_overflow; /* more headers than fit */
	void			*nmsg;		/* natsMsg */
	char			*stream_buf;
	const char		**keys;		/* nats.c's header key list */
};

/* Fill m->msg (subject, headers, body) from the message.  Cheap but not
   free: call it on a worker thread, not in the deliver function. */
void		 ingest_msg_prepare(struct ingest_msg *);
/* Acknowledge a JetStream message (no-op for core); asynchronous. */
int		 ingest_msg_ack(struct ingest_msg *, char **cause);
void		 ingest_msg_free(struct ingest_msg *);

/* Receives each message; may block (backpressure). */
typedef void	(*ingest_deliver_fn)(struct ingest_msg *, void *arg);

/* ---- core subscriptions ------------------------------------------------ */

struct ingest_sub;

/*
 * Subscribe to subject (wildcards allowed).  nats.c keeps at most
 * pending_msgs messages (and pending_bytes) waiting for deliver; beyond
 * that it drops them and ingest_sub_dropped() counts them.
 */
struct ingest_sub *ingest_subscribe(struct ingest_conn *, const char *subject,
		     int pending_msgs, int pending_bytes, ingest_deliver_fn, void *arg,
		     char **cause);
const char	*ingest_sub_subject(const struct ingest_sub *);
/* Messages nats.c dropped on this subscription so far. */
uint64_t	 ingest_sub_dropped(struct ingest_sub *);
/*
 * Stop interest, deliver what is already pending, and wait (at most ms).
 * Without the server (or if the drain fails midway) what nats.c holds is
 * handed over all the same, and what it still held then counts as dropped;
 * -1 with *cause when a drain failed.
 */
int		 ingest_sub_drain(struct ingest_sub *, int ms, char **cause);
/* Close and free; returns once deliver is no longer running. */
void		 ingest_sub_free(struct ingest_sub *);

/* ---- JetStream ------------------------------------------------------------ */

/* Where a new durable starts. */
enum ingest_js_start {
	INGEST_JS_ALL,
	INGEST_JS_SEQ,
	INGEST_JS_TIME
};

struct ingest_js_opts {
	const char		*stream;
	const char		*durable;
	const char		*filter;	/* one subject filter, or NULL: all */
	enum ingest_js_start	 start;
	uint64_t		 start_seq;
	int64_t			 start_us;
	int			 ack_wait_s;	/* redelivery after this (0: 30) */
	int			 max_ack_pending;
	int			 batch;		/* messages per fetch (0: 256) */
};

/* A gap seen by a JetStream consumer: sequences it will never get. */
struct ingest_gap {
	const char	*stream;
	uint64_t	 first_seq;
	uint64_t	 count;
	const char	*detail;
};

typedef void	(*ingest_gap_fn)(const struct ingest_gap *, void *arg);

struct ingest_js;

/*
 * Consume stream through the durable pull consumer (created when missing,
 * resumed when it exists) on a thread of its own, calling deliver for
 * each message and gap for each sequence gap.  *notice is set (allocated)
 * when start options were ignored because the durable already existed.
 */
/* The subjects a stream takes (new strings the caller frees); -1 with *cause. */
int		 ingest_js_stream_subjects(struct ingest_conn *, const char *stream,
		     char ***subjects, size_t *n, char **cause);
struct ingest_js *ingest_js_consume(struct ingest_conn *, const struct ingest_js_opts *,
		     ingest_deliver_fn deliver, ingest_gap_fn gap, void *arg,
		     char **notice, char **cause);
/* Whether the durable (or its stream) was deleted on the server while
   consuming: fetching has stopped, and nothing more will come. */
int		 ingest_js_gone_away(struct ingest_js *);
/* Stop fetching; returns after the fetch thread is done delivering. */
void		 ingest_js_stop(struct ingest_js *);
void		 ingest_js_free(struct ingest_js *);

/* ---- publishing ----------------------------------------------------------- */

/* Publish one message (core NATS, buffered). */
int		 ingest_publish(struct ingest_conn *, const struct auth_msg *, char **cause);
/* Publish through JetStream and wait for the stream's ack; *seq set. */
int		 ingest_js_publish(struct ingest_conn *, const struct auth_msg *, uint64_t *seq,
		     char **cause);

/* Release nats.c's global threads and memory; call once, at exit. */
void		 ingest_shutdown(void);

#endif
