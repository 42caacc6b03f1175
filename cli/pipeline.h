/*
 * cli/pipeline.h -- received messages to verdicts to the trail (DESIGN §4).
 *
 *   deliver (nats.c threads) -> ring (bounded) -> workers (judge, every
 *   core) -> writer (replay in arrival order, trail, acks, --json)
 *
 * The ring is one array of slots used three ways: producers fill slots at
 * the head, workers judge them in any order, and the one writer takes
 * them at the tail, in arrival order, once judged.  A full ring blocks
 * the producer: that is the backpressure.  JetStream messages are acked,
 * and verdicts printed and published, only after the batch holding their
 * rows commits; a redelivery already on record is neither.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "auth.h"
#include "ingest.h"
#include "store.h"

struct pipeline;

/* What the writer tells an observer (the console) about each event. */
struct pipeline_event {
	const struct ingest_msg		*m;
	const struct auth_verdict	*v;
	int				 duplicate;	/* already in the trail */
};

struct pipeline_opts {
	struct auth_policy	*policy;
	struct store		*store;
	int			 workers;	/* 0: every CPU */
	unsigned		 capacity;	/* ring slots (0: 8192) */
	FILE			*json;		/* print verdicts here after commit, or NULL */
	/* Publish each verdict after commit on conn to PREFIX.<subject>, or NULL. */
	struct ingest_conn	*verdict_conn;
	const char		*verdict_prefix;
	const char		*latency_header; /* header with the publish time in µs */
	/* Called on the writer thread for every event and gap, in order. */
	void			(*on_event)(const struct pipeline_event *, void *arg);
	void			(*on_gap)(const char *subject, uint64_t count, void *arg);
	void			*arg;
};

/* Counters, read at any time. */
struct pipeline_stats {
	uint64_t	received;	/* messages handed to the pipeline */
	uint64_t	recorded;	/* events committed to the trail */
	uint64_t	pass, fail;
	uint64_t	duplicates;	/* JetStream redeliveries already on record */
	uint64_t	gaps;		/* gap rows */
	uint64_t	lost;		/* messages the gap rows count */
	uint64_t	queued;		/* in the ring now */
	uint64_t	unrecorded;	/* received after the trail failed */
	int64_t		latency_p50_us, latency_p99_us;	/* publish to commit; -1 unknown */
	uint64_t	latency_n;
	uint64_t	published;	/* verdicts published (verdict_prefix) */
	uint64_t	unpublished;	/* verdicts nats.c refused to take */
	int64_t		first_us;	/* first message received (0: none yet) */
	int64_t		last_commit_us;	/* latest commit that held events */
	int		json_errno;	/* why printing the verdicts failed, or 0 */
};

/* Start the workers and the writer. */
struct pipeline	*pipeline_start(const struct pipeline_opts *, char **cause);
/* An ingest_deliver_fn: arg is the pipeline. Blocks while the ring is full. */
void		 pipeline_deliver(struct ingest_msg *, void *arg);
/* An ingest_gap_fn for JetStream sequence gaps. */
void		 pipeline_js_gap(const struct ingest_gap *, void *arg);
/* Record a gap (drops, a disconnection) in order with the events. */
void		 pipeline_gap(struct pipeline *, const char *subject, const char *stream,
		     uint64_t first_seq, uint64_t count, const char *detail);
void		 pipeline_stats(struct pipeline *, struct pipeline_stats *);
/* The writer's error (borrowed), or NULL while the trail is healthy. */
const char	*pipeline_error(struct pipeline *);
/*
 * Take no more input, judge and record everything in the ring, commit,
 * ack, and stop the threads.  Returns 0, or -1 if the trail failed.
 */
int		 pipeline_finish(struct pipeline *);
void		 pipeline_free(struct pipeline *);

#endif
