/*
 * cli/pipeline.c -- the recorder's pipeline: ring, workers, writer.
 *
 * DESIGN: one mutex guards the three ring counters (head, next to judge,
 * tail); slot contents are handed over with the counters, and a slot's
 * "judged" flag is an atomic the writer reads without the lock.  Workers
 * take slots in small groups to keep the lock cold, and stay at most
 * PIPE_AHEAD slots ahead of the writer, which wakes them as it moves on.
 * The writer is the only thread touching the replay cache and the store,
 * so both stay single-threaded as their interfaces require.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pipeline.h"

#define PIPE_DEFAULT_SLOTS	8192
#define PIPE_GRAB		16	/* slots a worker takes at once */
#define PIPE_AHEAD		256	/* slots judged ahead of the writer at most:
					   verdicts made thousands ahead are cold in
					   the cache when the writer gets to them
					   (measured: about 10% more CPU an event);
					   128 left the verifiers idle too often */
#define PIPE_REPLAY_CACHE	262144
#define PIPE_IDLE_MS		50
#define PIPE_LAT_BUCKETS	1024	/* log2 buckets, 1/32 octave each */
#define PIPE_MAX_WORKERS	64

enum pipe_kind {
	PIPE_EVENT,
	PIPE_GAP
};

struct pipe_gap {
	int64_t		 received_us;
	char		*subject;
	char		*stream;
	uint64_t	 first_seq;
	uint64_t	 count;
	char		*detail;
};

struct pipe_slot {
	enum pipe_kind		 kind;
	struct ingest_msg	*m;
	struct auth_verdict	*v;
	struct pipe_gap		*gap;
	atomic_int		 judged;
};

/* A message waiting for its batch to commit. */
struct pipe_pending {
	struct ingest_msg	*m;
	int64_t			 sent_us;	/* from the latency header, or 0 */
	size_t			 json_off;	/* its verdict's JSON in p->json */
	size_t			 json_len;	/* 0: none (a duplicate) */
};

struct pipeline {
	struct pipeline_opts	 o;
	struct pipe_slot	*slots;
	uint64_t		 mask;

	pthread_mutex_t		 lock;
	pthread_cond_t		 not_full;	/* producers wait */
	pthread_cond_t		 work;		/* workers wait */
	pthread_cond_t		 ready;		/* the writer waits */
	uint64_t		 head, next, tail;
	int			 closed;
	int			 idle_workers;	/* waiting for something to judge */
	int			 writer_waits;	/* waiting for a judged slot */

	pthread_t		 workers[PIPE_MAX_WORKERS];
	int			 nworkers;
	pthread_t		 writer;
	int			 running;

	/* Writer's own state. */
	struct auth_replay	*replay;
	struct pipe_pending	*pending;
	size_t			 npending, pending_cap;
	char			*json;		/* verdict lines of the batch */
	size_t			 json_len, json_cap;
	char			*vsubject;	/* PREFIX.<subject> being published */
	size_t			 vsubject_cap;
	int64_t			 batch_start_ms;
	/* The open batch's counts, added to the counters when it commits:
	   rows a failed commit rolls back were never recorded. */
	uint64_t		 b_pass, b_fail, b_dups, b_gaps, b_lost;

	/* Counters (writer-owned, read by pipeline_stats). */
	atomic_uint_fast64_t	 received, recorded, pass, fail, dups, gaps, lost,
				 unrecorded, published, unpublished;
	pthread_mutex_t		 lat_lock;
	uint64_t		 lat[PIPE_LAT_BUCKETS];
	uint64_t		 lat_n;
	atomic_int_fast64_t	 first_us, last_commit_us;
	atomic_int		 json_errno;	/* the verdict output failed (o.json) */

	pthread_mutex_t		 err_lock;
	char			*error;
};

/* ---- producers ------------------------------------------------------------ */

/* Put an item at the head, waiting for room.  Returns -1 once closed. */
static int
pipe_put(struct pipeline *p, enum pipe_kind kind, struct ingest_msg *m, struct pipe_gap *g)
{
	struct pipe_slot	*s;
	int			 wake;

	pthread_mutex_lock(&p->lock);
	while (p->head - p->tail > p->mask && !p->closed)
		pthread_cond_wait(&p->not_full, &p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	s = &p->slots[p->head & p->mask];
	s->kind = kind;
	s->m = m;
	s->v = NULL;
	s->gap = g;
	atomic_store_explicit(&s->judged, 0, memory_order_relaxed);
	p->head++;
	/* Wake a worker only when one waits for work it may now take: those
	   held back by PIPE_AHEAD are the writer's to wake. */
	wake = p->idle_workers > 0 && p->next - p->tail < PIPE_AHEAD;
	pthread_mutex_unlock(&p->lock);
	if (wake)
		pthread_cond_signal(&p->work);
	return 0;
}

/* Take a message from ingest. */
void
pipeline_deliver(struct ingest_msg *m, void *arg)
{
	struct pipeline	*p = arg;
	int_fast64_t	 zero = 0;

	if (atomic_fetch_add(&p->received, 1) == 0)
		atomic_compare_exchange_strong(&p->first_us, &zero, m->received_us);
	if (pipe_put(p, PIPE_EVENT, m, NULL) != 0) {
		atomic_fetch_add(&p->unrecorded, 1);
		ingest_msg_free(m);
	}
}

/* Queue a gap row. */
void
pipeline_gap(struct pipeline *p, const char *subject, const char *stream, uint64_t first_seq,
    uint64_t count, const char *detail)
{
	struct pipe_gap	*g = calloc(1, sizeof *g);

	if (g == NULL)
		return;
	g->received_us = auth_epoch_us();
	g->subject = subject ? strdup(subject) : NULL;
	g->stream = stream ? strdup(stream) : NULL;
	g->first_seq = first_seq;
	g->count = count;
	g->detail = detail ? strdup(detail) : NULL;
	if (pipe_put(p, PIPE_GAP, NULL, g) != 0) {
		free(g->subject);
		free(g->stream);
		free(g->detail);
		free(g);
	}
}

/* A JetStream sequence gap. */
void
pipeline_js_gap(const struct ingest_gap *gap, void *arg)
{
	pipeline_gap(arg, NULL, gap->stream, gap->first_seq, gap->count, gap->detail);
}

/* ---- workers -------------------------------------------------------------- */

/* Judge one message. */
static struct auth_verdict *
pipe_judge(struct auth_verifier *vf, struct ingest_msg *m)
{
	struct timespec	ts;

	ingest_msg_prepare(m);
	if (m->header_overflow)
		return auth_verdict_rejected(m->msg.subject, "input",
		    "the message has more headers than ztwatch judges");
	/* time() reads a coarse clock that can lag into the previous second,
	   which would make a token minted this very second look not yet valid. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return auth_verify(vf, &m->msg, ts.tv_sec);
}

/*
 * A worker: judge slots until closed and empty.  Slots are taken under
 * the lock, in order.  A gap slot needs no judging, but it is marked
 * judged only when taken: were the writer allowed past a slot no worker
 * had taken yet, the producer could refill it and two workers would
 * judge the new item.
 */
static void *
pipe_worker(void *arg)
{
	struct pipeline		*p = arg;
	struct auth_verifier	*vf = auth_verifier_new(p->o.policy);
	struct pipe_slot	*mine[PIPE_GRAB], *s;
	uint64_t		 i, n;
	int			 wake, idle;

	pthread_setname_np(pthread_self(), "zt-verify");
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while ((p->next == p->head && !p->closed) ||
		    (p->next != p->head && p->next - p->tail >= PIPE_AHEAD)) {
			idle = p->next == p->head;
			p->idle_workers += idle;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle_workers -= idle;
		}
		if (p->next == p->head) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		for (n = 0; n < PIPE_GRAB && p->next != p->head && p->next - p->tail < PIPE_AHEAD;
		    p->next++) {
			s = &p->slots[p->next & p->mask];
			if (s->kind == PIPE_EVENT)
				mine[n++] = s;
			else		/* nothing to judge, but only now may the writer pass it */
				atomic_store_explicit(&s->judged, 1, memory_order_release);
		}
		pthread_mutex_unlock(&p->lock);

		for (i = 0; i < n; i++) {
			mine[i]->v = pipe_judge(vf, mine[i]->m);
			atomic_store_explicit(&mine[i]->judged, 1, memory_order_release);
		}
		pthread_mutex_lock(&p->lock);
		wake = p->writer_waits;
		pthread_mutex_unlock(&p->lock);
		if (wake)
			pthread_cond_signal(&p->ready);
	}
	auth_verifier_free(vf);
	return NULL;
}

/* ---- the writer ------------------------------------------------------------ */

/* Remember the first trail error; later ones follow from it. */
static void
pipe_set_error(struct pipeline *p, char *cause)
{
	pthread_mutex_lock(&p->err_lock);
	if (p->error == NULL)
		p->error = cause;
	else
		free(cause);
	pthread_mutex_unlock(&p->err_lock);
}

const char *
pipeline_error(struct pipeline *p)
{
	const char	*e;

	pthread_mutex_lock(&p->err_lock);
	e = p->error;
	pthread_mutex_unlock(&p->err_lock);
	return e;
}

/* The publish time a header carries, in µs, or 0. */
static int64_t
pipe_sent_us(const struct pipeline *p, const struct ingest_msg *m)
{
	size_t	i;

	if (p->o.latency_header == NULL)
		return 0;
	for (i = 0; i < m->msg.nheaders; i++)
		if (strcasecmp(m->msg.headers[i].name, p->o.latency_header) == 0)
			return strtoll(m->msg.headers[i].value, NULL, 10);
	return 0;
}

/* Count a publish-to-commit latency. */
static void
pipe_latency_add(struct pipeline *p, int64_t us)
{
	int	b;

	if (us < 1)
		us = 1;
	b = (int)(log2((double)us) * 32);
	if (b >= PIPE_LAT_BUCKETS)
		b = PIPE_LAT_BUCKETS - 1;
	p->lat[b]++;
	p->lat_n++;
}

/*
 * Publish the verdict of pd (committed) to PREFIX.<subject>: the body is
 * the verdict's JSON (DESIGN §2), as --json prints it; headers say when
 * the message was received and, for JetStream, its stream and sequence,
 * so a fleet's verdicts can be traced to the trail that holds them.
 */
static void
pipe_publish_verdict(struct pipeline *p, const struct pipe_pending *pd)
{
	const struct ingest_msg	*m = pd->m;
	struct auth_header	 h[3];
	struct auth_msg		 vm;
	char			 received[32], seq[32], *cause = NULL;
	size_t			 need;

	need = strlen(p->o.verdict_prefix) + 1 + strlen(m->msg.subject) + 1;
	if (need > p->vsubject_cap) {
		char	*ns = realloc(p->vsubject, need);

		if (ns == NULL) {
			atomic_fetch_add(&p->unpublished, 1);
			return;
		}
		p->vsubject = ns;
		p->vsubject_cap = need;
	}
	snprintf(p->vsubject, need, "%s.%s", p->o.verdict_prefix, m->msg.subject);
	snprintf(received, sizeof received, "%lld", (long long)m->received_us);
	memset(&vm, 0, sizeof vm);
	h[0].name = "Ztwatch-Received-Us";
	h[0].value = received;
	vm.nheaders = 1;
	if (m->stream != NULL) {
		snprintf(seq, sizeof seq, "%llu", (unsigned long long)m->stream_seq);
		h[1].name = "Ztwatch-Stream";
		h[1].value = m->stream;
		h[2].name = "Ztwatch-Stream-Seq";
		h[2].value = seq;
		vm.nheaders = 3;
	}
	vm.subject = p->vsubject;
	vm.headers = h;
	vm.body = (const unsigned char *)p->json + pd->json_off;
	vm.body_len = pd->json_len;
	if (ingest_publish(p->o.verdict_conn, &vm, &cause) != 0) {
		free(cause);		/* counted; the trail has the verdict */
		atomic_fetch_add(&p->unpublished, 1);
	} else
		atomic_fetch_add(&p->published, 1);
}

/* Add the open batch's counts to the counters (committed), or drop them. */
static void
pipe_batch_counted(struct pipeline *p, int committed)
{
	if (committed) {
		atomic_fetch_add(&p->pass, p->b_pass);
		atomic_fetch_add(&p->fail, p->b_fail);
		atomic_fetch_add(&p->dups, p->b_dups);
		atomic_fetch_add(&p->gaps, p->b_gaps);
		atomic_fetch_add(&p->lost, p->b_lost);
	}
	p->b_pass = p->b_fail = p->b_dups = p->b_gaps = p->b_lost = 0;
}

/* Print the batch's verdict lines (--json).  A failed write (a full disk,
   a reader gone) stops the printing, not the recording; the caller is
   told through the stats. */
static void
pipe_print_json(struct pipeline *p)
{
	if (p->o.json == NULL || p->json_len == 0 || atomic_load(&p->json_errno) != 0)
		return;
	errno = 0;
	if (fwrite(p->json, 1, p->json_len, p->o.json) != p->json_len ||
	    fflush(p->o.json) != 0)
		atomic_store(&p->json_errno, errno != 0 ? errno : EIO);
}

/* The batch committed: ack, publish, measure, print, free. */
static void
pipe_committed(struct pipeline *p)
{
	int64_t	now = auth_epoch_us();
	size_t	i;
	char	*cause = NULL;

	/* Publishing may wait for the socket: not under the stats' lock. */
	for (i = 0; p->o.verdict_conn != NULL && i < p->npending; i++)
		if (p->pending[i].json_len > 0)
			pipe_publish_verdict(p, &p->pending[i]);
	pthread_mutex_lock(&p->lat_lock);
	for (i = 0; i < p->npending; i++) {
		struct pipe_pending	*pd = &p->pending[i];

		if (ingest_msg_ack(pd->m, &cause) != 0) {
			free(cause);	/* the server redelivers it; the trail dedupes */
			cause = NULL;
		}
		if (pd->sent_us > 0)
			pipe_latency_add(p, now - pd->sent_us);
		ingest_msg_free(pd->m);
	}
	pthread_mutex_unlock(&p->lat_lock);
	atomic_fetch_add(&p->recorded, p->npending);
	if (p->npending > 0)
		atomic_store(&p->last_commit_us, now);
	p->npending = 0;
	pipe_batch_counted(p, 1);
	pipe_print_json(p);
	p->json_len = 0;
}

/* Keep m until its batch commits, with its verdict's JSON at
   p->json[json_off..json_off+json_len) (json_len 0: none). */
static int
pipe_hold(struct pipeline *p, struct ingest_msg *m, size_t json_off, size_t json_len)
{
	struct pipe_pending	*np;

	if (p->npending == p->pending_cap) {
		size_t	cap = p->pending_cap ? p->pending_cap * 2 : 4096;

		if ((np = realloc(p->pending, cap * sizeof *np)) == NULL)
			return -1;
		p->pending = np;
		p->pending_cap = cap;
	}
	p->pending[p->npending].m = m;
	p->pending[p->npending].sent_us = pipe_sent_us(p, m);
	p->pending[p->npending].json_off = json_off;
	p->pending[p->npending].json_len = json_len;
	p->npending++;
	return 0;
}

/* Drop everything held after a trail failure: nothing is acked, so
   JetStream redelivers it to the next run. */
static void
pipe_discard(struct pipeline *p)
{
	size_t	i;

	for (i = 0; i < p->npending; i++) {
		ingest_msg_free(p->pending[i].m);
		atomic_fetch_add(&p->unrecorded, 1);
	}
	p->npending = 0;
	p->json_len = 0;
	pipe_batch_counted(p, 0);
}

/* After an append: if the store committed, settle the batch. */
static void
pipe_after_append(struct pipeline *p)
{
	unsigned	n = store_pending(p->o.store);

	if (n == 0)
		pipe_committed(p);
	else if (n == 1)
		p->batch_start_ms = auth_mono_ms();
}

/* Queue the verdict's JSON line for printing and publishing after the
   commit; its length without the newline, or 0. */
static size_t
pipe_json_line(struct pipeline *p, const struct auth_verdict *v)
{
	size_t	len = p->json_len, n;

	if (auth_verdict_json(v, &p->json, &p->json_len, &p->json_cap) != 0) {
		p->json_len = len;
		return 0;
	}
	n = p->json_len - len;
	if (p->json_len + 1 > p->json_cap) {
		char	*nj = realloc(p->json, p->json_cap + 1);

		if (nj == NULL) {
			p->json_len = len;
			return 0;
		}
		p->json = nj;
		p->json_cap++;
	}
	p->json[p->json_len++] = '\n';
	return n;
}

/* Record one judged event. */
static void
pipe_write_event(struct pipeline *p, struct pipe_slot *s)
{
	struct pipeline_event	 ev;
	struct store_origin	 o;
	char			*cause = NULL;
	size_t			 json_off = 0, json_len = 0;
	int			 dup = 0;

	auth_replay_check(p->replay, s->v, time(NULL));
	if (pipeline_error(p) != NULL) {
		atomic_fetch_add(&p->unrecorded, 1);
		ingest_msg_free(s->m);
		return;
	}
	o.received_us = s->m->received_us;
	o.stream = s->m->stream;
	o.stream_seq = s->m->stream_seq;
	if (store_append_event(p->o.store, &s->m->msg, s->v, &o, &dup, &cause) != 0) {
		pipe_set_error(p, cause);
		ingest_msg_free(s->m);
		atomic_fetch_add(&p->unrecorded, 1);
		pipe_discard(p);
		return;
	}
	if (dup) {
		p->b_dups++;
	} else {
		if (auth_verdict_pass(s->v))
			p->b_pass++;
		else
			p->b_fail++;
		if (p->o.json != NULL || p->o.verdict_conn != NULL) {
			json_off = p->json_len;
			json_len = pipe_json_line(p, s->v);
		}
	}
	if (p->o.on_event != NULL) {
		ev.m = s->m;
		ev.v = s->v;
		ev.duplicate = dup;
		p->o.on_event(&ev, p->o.arg);
	}
	if (pipe_hold(p, s->m, json_off, json_len) != 0) {
		ingest_msg_free(s->m);
		return;
	}
	pipe_after_append(p);
}

/* Record one gap. */
static void
pipe_write_gap(struct pipeline *p, struct pipe_gap *g)
{
	char	*cause = NULL;

	if (pipeline_error(p) == NULL && store_append_gap(p->o.store, g->received_us, g->subject,
	    g->stream, g->first_seq, g->count, g->detail, &cause) != 0) {
		pipe_set_error(p, cause);
		pipe_discard(p);
	} else if (pipeline_error(p) == NULL) {
		p->b_gaps++;
		p->b_lost += g->count;
		if (p->o.on_gap != NULL)
			p->o.on_gap(g->subject, g->count, p->o.arg);
		pipe_after_append(p);
	}
	free(g->subject);
	free(g->stream);
	free(g->detail);
	free(g);
}

/* Commit a batch that has waited long enough with nothing new coming. */
static void
pipe_idle_commit(struct pipeline *p, int force)
{
	char	*cause = NULL;

	if (store_pending(p->o.store) == 0 && p->npending == 0)
		return;
	if (!force && auth_mono_ms() - p->batch_start_ms < PIPE_IDLE_MS)
		return;
	if (pipeline_error(p) != NULL)
		return;
	if (store_commit(p->o.store, &cause) != 0) {
		pipe_set_error(p, cause);
		pipe_discard(p);
		return;
	}
	pipe_committed(p);
}

/* Judged slots ready at the tail, waiting up to the idle time for one. */
static uint64_t
pipe_wait_ready(struct pipeline *p, int *done)
{
	struct timespec	 until;
	uint64_t	 n = 0, t;
	int		 rc;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (t = p->tail; t != p->head; t++) {
			if (!atomic_load_explicit(&p->slots[t & p->mask].judged,
			    memory_order_acquire))
				break;
			n++;
		}
		if (n > 0 || (p->closed && p->tail == p->head))
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PIPE_IDLE_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		p->writer_waits = 1;
		rc = pthread_cond_timedwait(&p->ready, &p->lock, &until);
		p->writer_waits = 0;
		if (rc != 0)
			break;
	}
	*done = p->closed && p->tail == p->head;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* The writer: take judged slots in order and record them. */
static void *
pipe_writer(void *arg)
{
	struct pipeline		*p = arg;
	struct pipe_slot	*s;
	uint64_t		 n, i;
	int			 done = 0, held, full;

	pthread_setname_np(pthread_self(), "zt-rows");
	while (!done) {
		n = pipe_wait_ready(p, &done);
		for (i = 0; i < n; i++) {
			s = &p->slots[(p->tail + i) & p->mask];
			if (s->kind == PIPE_EVENT) {
				pipe_write_event(p, s);
				auth_verdict_free(s->v);
			} else {
				pipe_write_gap(p, s->gap);
			}
			s->m = NULL;
			s->v = NULL;
			s->gap = NULL;
		}
		if (n > 0) {
			pthread_mutex_lock(&p->lock);
			/* Workers held back by PIPE_AHEAD may go on. */
			held = p->next != p->head && p->next - p->tail >= PIPE_AHEAD;
			full = p->head - p->tail > p->mask;
			p->tail += n;
			pthread_mutex_unlock(&p->lock);
			/* Woken after the unlock: a waiter woken sooner would only
			   block again on the lock. */
			if (held)
				pthread_cond_broadcast(&p->work);
			if (full)
				pthread_cond_broadcast(&p->not_full);
		}
		pipe_idle_commit(p, done);
	}
	return NULL;
}

/* ---- life ---------------------------------------------------------------- */

/* Smallest power of two >= n. */
static uint64_t
pipe_pow2(uint64_t n)
{
	uint64_t	v = 1;

	while (v < n)
		v <<= 1;
	return v;
}

/* Start. */
struct pipeline *
pipeline_start(const struct pipeline_opts *o, char **cause)
{
	struct pipeline	*p;
	uint64_t	 slots = pipe_pow2(o->capacity ? o->capacity : PIPE_DEFAULT_SLOTS);
	int		 i;

	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->slots = calloc(slots, sizeof *p->slots)) == NULL ||
	    (p->replay = auth_replay_new(PIPE_REPLAY_CACHE)) == NULL) {
		pipeline_free(p);
		asprintf(cause, "out of memory");
		return NULL;
	}
	p->o = *o;
	p->mask = slots - 1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->lat_lock, NULL);
	pthread_mutex_init(&p->err_lock, NULL);
	pthread_cond_init(&p->not_full, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->ready, NULL);
	p->nworkers = o->workers > 0 ? o->workers : cli_ncpu();
	if (p->nworkers > PIPE_MAX_WORKERS)
		p->nworkers = PIPE_MAX_WORKERS;
	for (i = 0; i < p->nworkers; i++) {
		if (pthread_create(&p->workers[i], NULL, pipe_worker, p) != 0) {
			p->nworkers = i;
			break;
		}
	}
	if (p->nworkers == 0 || pthread_create(&p->writer, NULL, pipe_writer, p) != 0) {
		asprintf(cause, "cannot start the pipeline's threads");
		pipeline_finish(p);
		pipeline_free(p);
		return NULL;
	}
	p->running = 1;
	return p;
}

/* Value at quantile q of the latency histogram, in µs. */
static int64_t
pipe_quantile(const struct pipeline *p, double q)
{
	uint64_t	want = (uint64_t)ceil(q * (double)p->lat_n), seen = 0;
	int		b;

	for (b = 0; b < PIPE_LAT_BUCKETS; b++) {
		seen += p->lat[b];
		if (seen >= want && seen > 0)
			return (int64_t)exp2((b + 0.5) / 32.0);
	}
	return -1;
}

/* Counters. */
void
pipeline_stats(struct pipeline *p, struct pipeline_stats *st)
{
	memset(st, 0, sizeof *st);
	st->received = atomic_load(&p->received);
	st->recorded = atomic_load(&p->recorded);
	st->pass = atomic_load(&p->pass);
	st->fail = atomic_load(&p->fail);
	st->duplicates = atomic_load(&p->dups);
	st->gaps = atomic_load(&p->gaps);
	st->lost = atomic_load(&p->lost);
	st->unrecorded = atomic_load(&p->unrecorded);
	st->published = atomic_load(&p->published);
	st->unpublished = atomic_load(&p->unpublished);
	st->first_us = atomic_load(&p->first_us);
	st->last_commit_us = atomic_load(&p->last_commit_us);
	st->json_errno = atomic_load(&p->json_errno);
	pthread_mutex_lock(&p->lock);
	st->queued = p->head - p->tail;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->lat_lock);
	st->latency_n = p->lat_n;
	st->latency_p50_us = p->lat_n ? pipe_quantile(p, 0.50) : -1;
	st->latency_p99_us = p->lat_n ? pipe_quantile(p, 0.99) : -1;
	pthread_mutex_unlock(&p->lat_lock);
}

/* Drain and stop. */
int
pipeline_finish(struct pipeline *p)
{
	int	i;

	pthread_mutex_lock(&p->lock);
	p->closed = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_cond_broadcast(&p->not_full);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	p->nworkers = 0;
	if (p->running) {
		pthread_join(p->writer, NULL);
		p->running = 0;
	}
	return pipeline_error(p) != NULL ? -1 : 0;
}

void
pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	auth_replay_free(p->replay);
	free(p->slots);
	free(p->pending);
	free(p->json);
	free(p->vsubject);
	free(p->error);
	free(p);
}
