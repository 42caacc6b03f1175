/*
 * cli/cmd-verify.c -- `ztwatch verify`: one message, or a batch in parallel.
 *
 * DESIGN (batch): lines are read in blocks.  For each block, every core
 * decodes and judges lines (each thread with its own auth_verifier); then
 * one thread runs the replay step in input order, so which of two
 * duplicates is the replay never depends on thread timing; then every core
 * formats verdicts; then one thread writes them in input order.  Only
 * reading, the replay lookup and writing are serial, and they are cheap.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* Lines per block.  Small enough that a block's lines, verdicts and output
   (some 6 KB an event) stay in the cores' caches from one phase to the next:
   2048 made every phase fetch them from memory again, for a third more
   time per event outside the signature check. */
#define VERIFY_BLOCK		256
#define VERIFY_MAX_STDIN	(256u << 20)
#define VERIFY_REPLAY_CACHE	262144
#define VERIFY_MAX_HEADERS	64
#define VERIFY_IOV		512	/* lines per writev (IOV_MAX is 1024) */
#define VERIFY_READ		(256u << 10)	/* bytes per read of the capture */

/* Options of one verify run. */
struct verify_opts {
	const char		*subject;
	struct auth_header	 headers[VERIFY_MAX_HEADERS];
	size_t			 nheaders;
	const char		*file;
	const char		*batch;
	int			 jobs;
	int			 fixed_now;
	time_t			 now;
};

/* Print the usage of verify. */
static void
verify_usage(FILE *f)
{
	fputs("usage: ztwatch [-p POLICY] verify [--subject S] [-H 'K: V']... [--now T] [FILE|-]\n"
	    "       ztwatch [-p POLICY] verify --batch FILE.jsonl [--jobs N] [--now T]\n\n"
	    "Judge a message and print its verdict as JSON (exit 0 pass, 1 fail, 2 error).\n"
	    "With --batch, judge each line {\"subject\",\"headers\":{...},\"body_b64\"} and\n"
	    "print one verdict line per input line, in input order; a summary goes to stderr.\n\n"
	    "  --subject S   the NATS subject the message arrived on\n"
	    "  -H 'K: V'     a message header (repeatable)\n"
	    "  --now T       judge as of T (RFC 3339 or epoch seconds) instead of now\n"
	    "  --jobs N      threads for --batch (default: every CPU)\n", f);
}

/* Split "K: V" into a header. */
static int
verify_header(struct verify_opts *o, char *arg)
{
	char	*colon = strchr(arg, ':'), *v;

	if (colon == NULL || colon == arg || o->nheaders == VERIFY_MAX_HEADERS)
		return -1;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	o->headers[o->nheaders].name = arg;
	o->headers[o->nheaders].value = v;
	o->nheaders++;
	return 0;
}

/* Parse the command line; returns -1 on a usage error (message printed). */
static int
verify_parse(struct cli_globals *g, struct verify_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "subject", required_argument, NULL, 'S' },
		{ "header", required_argument, NULL, 'H' },
		{ "batch", required_argument, NULL, 'b' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "now", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char	*end;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "H:p:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			o->subject = optarg;
			break;
		case 'H':
			if (verify_header(o, optarg) != 0) {
				cli_error("verify: bad header '%s' (want 'Name: value')", optarg);
				return -1;
			}
			break;
		case 'b':
			o->batch = optarg;
			break;
		case 'j':
			o->jobs = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->jobs < 1 || o->jobs > 256) {
				cli_error("verify: --jobs wants a number from 1 to 256");
				return -1;
			}
			break;
		case 'n':
			if (cli_parse_time(optarg, &o->now) != 0) {
				cli_error("verify: --now '%s' is not RFC 3339 or epoch seconds", optarg);
				return -1;
			}
			o->fixed_now = 1;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			cli_help_done("verify");
		default:
			verify_usage(stderr);
			return -1;
		}
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc) {
		cli_error("verify: one message at a time (or use --batch)");
		return -1;
	}
	if (o->batch != NULL && (o->file != NULL || o->subject != NULL || o->nheaders > 0)) {
		cli_error("verify: --batch takes its subjects, headers and bodies from the file");
		return -1;
	}
	return 0;
}

/* Read all of f, up to max bytes (more is cut and flagged by *over). */
static unsigned char *
verify_slurp(FILE *f, size_t max, size_t *len)
{
	unsigned char	*buf = NULL;
	size_t		 n = 0, cap = 0, r;

	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (buf == NULL)
				return NULL;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0 && n <= max);
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Judge one message from a file or stdin. */
static int
verify_one(struct auth_policy *p, struct verify_opts *o)
{
	struct auth_verifier	*vf;
	struct auth_verdict	*v;
	struct auth_replay	*rp;
	struct auth_msg		 msg;
	FILE			*f = stdin;
	unsigned char		*body;
	char			*out = NULL;
	size_t			 len = 0, olen = 0, ocap = 0;
	time_t			 now = o->fixed_now ? o->now : time(NULL);
	int			 rc, err;

	if (o->file != NULL && strcmp(o->file, "-") != 0 && (f = fopen(o->file, "rb")) == NULL) {
		cli_error("verify: cannot open '%s': %s", o->file, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	body = verify_slurp(f, VERIFY_MAX_STDIN, &len);
	if (f != stdin)
		fclose(f);
	if (body == NULL) {
		cli_error("verify: cannot read the message body: %s", strerror(errno));
		return CLI_EXIT_USAGE;
	}
	memset(&msg, 0, sizeof msg);
	msg.subject = o->subject ? o->subject : "";
	msg.headers = o->headers;
	msg.nheaders = o->nheaders;
	msg.body = body;
	msg.body_len = len;

	vf = auth_verifier_new(p);
	v = auth_verify(vf, &msg, now);
	rp = auth_replay_new(16);
	auth_replay_check(rp, v, now);
	auth_verdict_json(v, &out, &olen, &ocap);
	puts(out);
	rc = auth_verdict_pass(v) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	if ((err = cli_flush_error(stdout)) != 0) {
		/* Exit 1 alone would say "fail" with the reason lost. */
		cli_error("verify: cannot write the verdict: %s", strerror(err));
		rc = CLI_EXIT_USAGE;
	}
	free(out);
	auth_replay_free(rp);
	auth_verdict_free(v);
	auth_verifier_free(vf);
	free(body);
	return rc;
}

/* ---- batch -------------------------------------------------------------- */

/*
 * The capture, read in large pieces.  The reading thread only finds where
 * the lines are and writes nothing per line: the judging threads read the
 * lines where they are (parsing writes the decoded strings elsewhere).
 */
struct batch_input {
	int			 fd;
	char			*buf;
	size_t			 cap;
	size_t			 start, end;	/* bytes not yet taken */
	int			 eof;
};

/* One line of a batch. */
struct batch_item {
	size_t			 at;		/* where it starts in the input */
	size_t			 len;
	unsigned long		 lineno;
	struct auth_verdict	*v;
	struct auth_capture	 capture;	/* the decoded line */
	int			 rejected;	/* the line is not a message */
	int			 pass;		/* the verdict's, once formatted */
	enum auth_reason	 reason;
	char			*out;
	size_t			 out_len, out_cap;
};

/*
 * A thread's share of a block: the same items every block, so that each
 * item's buffers (decoded strings, verdict, output) stay in one core's
 * cache.  Handed out by one counter per share: the owner takes from it, and
 * a thread done with its own share helps with the others'.  Items claimed
 * from one counter for all threads bounced those buffers between the cores
 * and cost up to a tenth of the throughput per CPU-second on two cores,
 * more the farther apart the host put them.  A share fills a cache line of
 * its own, for the same reason.
 */
struct batch_share {
	atomic_size_t		 next;
	size_t			 end;
	char			 pad[64 - sizeof(atomic_size_t) - sizeof(size_t)];
};

/* What a worker thread is given: the batch, and which thread it is. */
struct batch_worker {
	struct batch		*b;
	size_t			 self;
};

/* State shared by the batch threads. */
struct batch {
	struct auth_policy	*p;
	struct verify_opts	*o;
	struct batch_input	 in;
	struct batch_item	 items[VERIFY_BLOCK];
	size_t			 n;
	int			 phase;		/* 1 judge, 2 format, 3 quit */
	int			 format_early;	/* format final verdicts while judging */
	unsigned long		 generation;
	struct batch_share	*shares;	/* one per thread */
	size_t			 nthreads;	/* running, the caller included */
	pthread_t		*tids;
	struct batch_worker	*workers;
	size_t			 busy;
	pthread_mutex_t		 lock;
	pthread_cond_t		 start, done;
	struct auth_verifier	**vfs;		/* one per thread asked for */
	size_t			 nvfs;
};

/* Format one item's output line, newline included, then free its verdict
   (in parallel), keeping what the summary counts. */
static void
batch_format(struct batch_item *it)
{
	it->pass = auth_verdict_pass(it->v);
	it->reason = auth_verdict_reason(it->v);
	it->out_len = 0;
	auth_verdict_json(it->v, &it->out, &it->out_len, &it->out_cap);
	/* The writer leaves a NUL after the text: room for the newline. */
	it->out[it->out_len++] = '\n';
	auth_verdict_free(it->v);
	it->v = NULL;
}

/*
 * Decode and judge one line; a line that is not a message gets a verdict
 * too.  A verdict the replay step will not touch is formatted at once,
 * while it is still in the cache.
 */
static void
batch_judge(struct batch *b, struct auth_verifier *vf, struct batch_item *it)
{
	char		detail[160];
	const char	*error = NULL;

	if (auth_capture_parse(&it->capture, b->in.buf + it->at, it->len, &error) != 0) {
		snprintf(detail, sizeof detail, "line %lu: %s", it->lineno, error);
		it->v = auth_verdict_rejected(it->capture.msg.subject, "input", detail);
		it->rejected = 1;
	} else {
		it->rejected = 0;
		it->v = auth_verify(vf, &it->capture.msg,
		    b->o->fixed_now ? b->o->now : time(NULL));
	}
	if (b->format_early && !auth_verdict_wants_replay(it->v))
		batch_format(it);
}

/* Split the block's items into the threads' shares. */
static void
batch_share_out(struct batch *b)
{
	size_t	t;

	for (t = 0; t < b->nthreads; t++) {
		atomic_store_explicit(&b->shares[t].next, b->n * t / b->nthreads,
		    memory_order_relaxed);
		b->shares[t].end = b->n * (t + 1) / b->nthreads;
	}
}

/* Work through thread self's share of the block in the current phase,
   then through what is left of the others'. */
static void
batch_work(struct batch *b, size_t self, int phase)
{
	struct batch_share	*sh;
	size_t			 i, k;

	for (k = 0; k < b->nthreads; k++) {
		sh = &b->shares[(self + k) % b->nthreads];
		while ((i = atomic_fetch_add_explicit(&sh->next, 1,
		    memory_order_relaxed)) < sh->end) {
			if (phase == 1)
				batch_judge(b, b->vfs[self], &b->items[i]);
			else if (b->items[i].v != NULL)
				batch_format(&b->items[i]);
		}
	}
}

/* A worker thread: wait for a phase, work, report done. */
static void *
batch_thread(void *arg)
{
	struct batch		*b = ((struct batch_worker *)arg)->b;
	size_t			 self = ((struct batch_worker *)arg)->self;
	unsigned long		 seen = 0;
	int			 phase;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->generation == seen)
			pthread_cond_wait(&b->start, &b->lock);
		seen = b->generation;
		phase = b->phase;
		pthread_mutex_unlock(&b->lock);
		if (phase == 3)
			return NULL;
		batch_work(b, self, phase);
		pthread_mutex_lock(&b->lock);
		if (--b->busy == 0)
			pthread_cond_signal(&b->done);
		pthread_mutex_unlock(&b->lock);
	}
}

/* Run phase on every thread (the caller too) and wait for it to finish. */
static void
batch_phase(struct batch *b, int phase)
{
	batch_share_out(b);
	pthread_mutex_lock(&b->lock);
	b->phase = phase;
	b->busy = b->nthreads - 1;
	b->generation++;
	pthread_cond_broadcast(&b->start);
	pthread_mutex_unlock(&b->lock);
	if (phase == 3)
		return;
	batch_work(b, 0, phase);
	pthread_mutex_lock(&b->lock);
	while (b->busy > 0)
		pthread_cond_wait(&b->done, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Make room for another read after the n lines found so far in this block,
 * which start at base: the bytes before base are done with, and go first;
 * the buffer grows only when that is not enough.
 */
static void
batch_input_room(struct batch *b, size_t n, size_t *base)
{
	struct batch_input	*in = &b->in;
	size_t			 i;

	if (in->cap - in->end >= VERIFY_READ)
		return;
	if (*base > 0) {
		memmove(in->buf, in->buf + *base, in->end - *base);
		in->end -= *base;
		in->start -= *base;
		for (i = 0; i < n; i++)
			b->items[i].at -= *base;
		*base = 0;
	}
	if (in->cap - in->end < VERIFY_READ) {
		in->cap = in->cap ? in->cap * 2 : 4 * VERIFY_READ;
		in->buf = auth_realloc(in->buf, in->cap);
	}
}

/* Read more of the capture into the buffer; returns 0, or -1 on a read
   error (errno set).  At the end of the input, sets eof. */
static int
batch_input_fill(struct batch_input *in)
{
	ssize_t	r;

	do
		r = read(in->fd, in->buf + in->end, VERIFY_READ);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0)
		in->eof = 1;
	in->end += (size_t)r;
	return 0;
}

/*
 * Find up to VERIFY_BLOCK lines, reading as needed; returns the count, or
 * (size_t)-1 on a read error.  A line is kept as its offset in the input
 * buffer, where it stays until the next call.
 */
static size_t
batch_read(struct batch *b, unsigned long *lineno)
{
	struct batch_input	*in = &b->in;
	struct batch_item	*it;
	const char		*nl;
	size_t			 n = 0, base = in->start, from = in->start, len;

	while (n < VERIFY_BLOCK) {
		nl = in->end > from ? memchr(in->buf + from, '\n', in->end - from) : NULL;
		if (nl == NULL && !in->eof) {
			batch_input_room(b, n, &base);
			from = in->end;		/* all before it is looked at */
			if (batch_input_fill(in) != 0)
				return (size_t)-1;
			continue;
		}
		if (nl == NULL && in->start == in->end)
			break;
		len = nl != NULL ? (size_t)(nl - in->buf) - in->start : in->end - in->start;
		it = &b->items[n];
		it->at = in->start;
		in->start += len + (nl != NULL);
		from = in->start;
		++*lineno;
		while (len > 0 && in->buf[it->at + len - 1] == '\r')
			len--;
		if (len == 0)
			continue;		/* blank lines are not messages */
		it->len = len;
		it->lineno = *lineno;
		it->v = NULL;
		n++;
	}
	return n;
}

/* Counts for the summary. */
struct batch_counts {
	unsigned long long	total, pass;
	unsigned long long	reasons[AUTH_REASON_COUNT];
};

/* Replay in input order, then count; returns how many verdicts are left
   to format. */
static size_t
batch_replay(struct batch *b, struct auth_replay *rp, struct batch_counts *c)
{
	size_t	i, left = 0;

	for (i = 0; i < b->n; i++) {
		struct batch_item	*it = &b->items[i];

		c->total++;
		if (it->v == NULL) {		/* final, and formatted */
			c->pass += it->pass != 0;
			c->reasons[it->reason]++;
			continue;
		}
		left++;
		auth_replay_check(rp, it->v, b->o->fixed_now ? b->o->now : time(NULL));
		if (auth_verdict_pass(it->v))
			c->pass++;
		c->reasons[auth_verdict_reason(it->v)]++;
	}
	return left;
}

/* Write the block's lines in order, straight from the items' buffers
   (no copy through stdio's buffer). */
static int
batch_write(struct batch *b)
{
	struct iovec	 iov[VERIFY_IOV];
	struct iovec	*v;
	size_t		 i = 0, n;
	ssize_t		 w;

	if (fflush(stdout) != 0)
		return -1;
	while (i < b->n) {
		for (n = 0; n < VERIFY_IOV && i < b->n; i++) {
			if (b->items[i].out_len > 0) {
				iov[n].iov_base = b->items[i].out;
				iov[n++].iov_len = b->items[i].out_len;
			}
		}
		for (v = iov; n > 0; ) {
			if ((w = writev(STDOUT_FILENO, v, (int)n)) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			/* A short write: skip what went, then write the rest. */
			for (; n > 0 && (size_t)w >= v->iov_len; v++, n--)
				w -= (ssize_t)v->iov_len;
			if (n > 0) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
			}
		}
	}
	return 0;
}

/* Record the block's events in input order, then free their verdicts. */
static int
batch_record(struct batch *b, struct store *st, char **cause)
{
	struct store_origin	 o;
	struct auth_msg		 raw;
	struct timespec		 ts;
	size_t			 i;
	int			 rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&o, 0, sizeof o);
	for (i = 0; i < b->n; i++) {
		struct batch_item	*it = &b->items[i];
		const struct auth_msg	*msg = &it->capture.msg;

		if (it->rejected) {
			/* Not a message: keep the line itself, so nothing is lost. */
			memset(&raw, 0, sizeof raw);
			raw.subject = it->capture.msg.subject ? it->capture.msg.subject : "";
			raw.body = (const unsigned char *)b->in.buf + it->at;
			raw.body_len = it->len;
			msg = &raw;
		}
		o.received_us = !it->rejected && it->capture.has_received ?
		    it->capture.received_us : (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		if (rc == 0 && store_append_event(st, msg, it->v, &o, NULL, cause) != 0)
			rc = -1;
		auth_verdict_free(it->v);
		it->v = NULL;
	}
	return rc;
}

/* CPU seconds used by the process so far. */
static double
batch_cpu_seconds(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Wall-clock seconds. */
static double
batch_wall_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print the summary line with rates. */
static void
batch_summary(const struct batch_counts *c, const char *verb, double wall, double cpu,
    int jobs)
{
	int	r, first = 1;

	fprintf(stderr, "ztwatch: %s %llu event%s in %.3f s with %d thread%s: "
	    "%.0f/s, %.0f per CPU-second; %llu pass, %llu fail",
	    verb, c->total, c->total == 1 ? "" : "s", wall, jobs, jobs == 1 ? "" : "s",
	    wall > 0 ? (double)c->total / wall : 0.0,
	    cpu > 0 ? (double)c->total / cpu : 0.0, c->pass, c->total - c->pass);
	for (r = 1; r < AUTH_REASON_COUNT; r++) {
		if (c->reasons[r] == 0)
			continue;
		fprintf(stderr, "%s%s %llu", first ? " (" : ", ", auth_reason_name(r),
		    c->reasons[r]);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", stderr);
}

/* Start the worker threads: as many of the verifiers' as will start. */
static void
batch_start(struct batch *b)
{
	size_t	i;

	for (i = 1; i < b->nvfs; i++) {
		b->workers[i].b = b;
		b->workers[i].self = i;
		if (pthread_create(&b->tids[i], NULL, batch_thread, &b->workers[i]) != 0)
			break;
	}
	b->nthreads = i;
}

/* Free a batch and all it holds (its threads stopped). */
static void
batch_free(struct batch *b)
{
	size_t	i;

	for (i = 0; i < VERIFY_BLOCK; i++) {
		free(b->items[i].out);
		auth_capture_release(&b->items[i].capture);
		auth_verdict_free(b->items[i].v);
	}
	for (i = 0; b->vfs != NULL && i < b->nvfs; i++)
		auth_verifier_free(b->vfs[i]);
	free(b->vfs);
	free(b->tids);
	free(b->workers);
	free(b->shares);
	free(b->in.buf);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->start);
	pthread_cond_destroy(&b->done);
	free(b);
}

/*
 * Judge a whole capture file: print the verdicts, or, with st, record
 * them in the trail (import).  Shared by verify --batch and import.
 */
int
cli_batch_run(struct auth_policy *p, const char *file, int jobs_opt, int fixed_now,
    time_t now, struct store *st)
{
	struct verify_opts	 opts, *o = &opts;
	char			*cause = NULL;
	struct batch		*b = calloc(1, sizeof *b);
	struct batch_counts	 c;
	struct auth_replay	*rp;
	FILE			*f;
	unsigned long		 lineno = 0;
	size_t			 left;
	double			 wall0 = batch_wall_seconds(), cpu0 = batch_cpu_seconds();
	int			 jobs, i, rc = CLI_EXIT_OK;
	unsigned		 pending;

	memset(o, 0, sizeof *o);
	o->batch = file;
	o->jobs = jobs_opt;
	o->fixed_now = fixed_now;
	o->now = now;
	jobs = o->jobs ? o->jobs : cli_ncpu();
	if (b == NULL)
		return CLI_EXIT_USAGE;
	/* Each block allocates and frees the same few megabytes: keep them
	   rather than giving them back to the kernel and faulting them in again. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	if (strcmp(o->batch, "-") == 0)
		f = stdin;
	else if ((f = fopen(o->batch, "r")) == NULL) {
		cli_error("%s: cannot open '%s': %s", st ? "import" : "verify", o->batch,
		    strerror(errno));
		free(b);
		return CLI_EXIT_USAGE;
	}
	b->in.fd = fileno(f);
	memset(&c, 0, sizeof c);
	b->p = p;
	b->o = o;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->start, NULL);
	pthread_cond_init(&b->done, NULL);
	b->vfs = calloc((size_t)jobs, sizeof *b->vfs);
	b->tids = calloc((size_t)jobs, sizeof *b->tids);
	b->workers = calloc((size_t)jobs, sizeof *b->workers);
	b->shares = aligned_alloc(64, (size_t)jobs * sizeof *b->shares);
	if (b->vfs == NULL || b->tids == NULL || b->workers == NULL || b->shares == NULL) {
		cli_error("%s: out of memory", st ? "import" : "verify");
		batch_free(b);
		if (f != stdin)
			fclose(f);
		return CLI_EXIT_USAGE;
	}
	for (b->nvfs = 0; b->nvfs < (size_t)jobs; b->nvfs++)
		b->vfs[b->nvfs] = auth_verifier_new(p);
	batch_start(b);
	rp = auth_replay_new(VERIFY_REPLAY_CACHE);

	/* import records the verdicts (batch_record) instead of printing them. */
	b->format_early = st == NULL;
	while ((b->n = batch_read(b, &lineno)) > 0 && b->n != (size_t)-1) {
		batch_phase(b, 1);
		left = batch_replay(b, rp, &c);
		if (st != NULL) {
			if (batch_record(b, st, &cause) != 0) {
				cli_error("import: %s; events from line %lu on are not recorded",
				    cause, b->items[0].lineno);
				free(cause);
				rc = CLI_EXIT_FAIL;
				break;
			}
			continue;
		}
		if (left > 0)
			batch_phase(b, 2);
		if (batch_write(b) != 0) {
			cli_error("verify: cannot write the verdicts: %s", strerror(errno));
			rc = CLI_EXIT_USAGE;
			break;
		}
	}
	if (b->n == (size_t)-1) {
		cli_error("%s: cannot read '%s': %s", st ? "import" : "verify", o->batch,
		    strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
	fflush(stdout);
	batch_phase(b, 3);
	for (i = 1; i < (int)b->nthreads; i++)
		pthread_join(b->tids[i], NULL);
	pending = st != NULL ? store_pending(st) : 0;
	if (st != NULL && rc == CLI_EXIT_OK && store_commit(st, &cause) != 0) {
		cli_error("import: %s; the last %u events are not recorded", cause, pending);
		free(cause);
		rc = CLI_EXIT_FAIL;
	}
	/* After a failure (a read, a write, the trail) the one line said what
	   happened; no summary to confuse. */
	if (rc == CLI_EXIT_OK)
		batch_summary(&c, st ? "recorded" : "verified", batch_wall_seconds() - wall0,
		    batch_cpu_seconds() - cpu0, (int)b->nthreads);
	if (auth_replay_evictions(rp) > 0)
		cli_error("verify: replay cache full: %llu keys forgotten early",
		    (unsigned long long)auth_replay_evictions(rp));
	if (rc == CLI_EXIT_OK && c.pass != c.total && st == NULL)
		rc = CLI_EXIT_FAIL;

	auth_replay_free(rp);
	batch_free(b);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ztwatch verify. */
int
cmd_verify(struct cli_globals *g, int argc, char **argv)
{
	struct verify_opts	 o;
	struct auth_policy	*p;
	int			 rc;

	memset(&o, 0, sizeof o);
	if (verify_parse(g, &o, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	if ((p = cli_load_policy(g)) == NULL)
		return CLI_EXIT_USAGE;
	rc = o.batch != NULL ? cli_batch_run(p, o.batch, o.jobs, o.fixed_now, o.now, NULL) :
	    verify_one(p, &o);
	cli_policy_free(p);
	return rc;
}
