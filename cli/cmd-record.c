/*
 * cli/cmd-record.c -- `ztwatch record`: the headless recorder.
 *
 * The main thread only supervises: it waits for signals in short ticks,
 * turns subscription drops and disconnections into gap rows, prints the
 * stats line, and on SIGINT/SIGTERM drains the subscriptions into the
 * pipeline, lets the pipeline record and commit everything, and closes
 * the session.  All the work happens on the pipeline's threads.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "ingest.h"
#include "pipeline.h"
#include "screen.h"
#include "store.h"

#define RECORD_MAX_SUBJECTS	64
#define RECORD_TICK_MS		200
#define RECORD_DRAIN_MS		10000
#define RECORD_PENDING_MSGS	65536
#define RECORD_PENDING_BYTES	(64 << 20)

struct record_opts {
	const char		*subjects[RECORD_MAX_SUBJECTS];
	int			 nsubjects;
	int			 json;
	int			 wait;
	int			 jobs;
	int			 stats_s;
	unsigned		 queue;
	int			 buffer;
	const char		*latency_header;
	const char		*verdict_subject; /* --verdict-subject PREFIX */
	const char		*verdicts;	/* --verdicts PREFIX: the fleet's view */
	struct ingest_js_opts	 js;
	int			 console;	/* watch: the screen instead of stats */
};

/*
 * What the connection's callbacks leave for the main thread.  A failover
 * to another server of a cluster can be over before the next tick, so
 * disconnections and connections are counted, not just the state kept.
 */
struct record_watch {
	atomic_int		 state;
	atomic_uint		 downs;		/* disconnections so far */
	atomic_uint		 ups;		/* connections so far */
	atomic_int_fast64_t	 down_ms;	/* when the latest disconnection began */
	atomic_int_fast64_t	 up_ms;		/* when the latest connection came */
};

/* One core subscription and what it has dropped so far. */
struct record_sub {
	struct ingest_sub	*sub;
	uint64_t		 dropped;
};

struct record {
	struct record_opts	 o;
	struct record_watch	 watch;
	struct ingest_conn	*conn;
	struct pipeline		*pipe;
	struct store		*store;
	struct record_sub	 subs[RECORD_MAX_SUBJECTS];
	int			 nsubs;
	int			 interrupted;	/* by a signal while waiting to connect */
	int			 refused;	/* the subjects would take the verdicts */
	int			 json_failed;	/* printing the verdicts failed (told) */
	struct ingest_js	*js;
	unsigned		 seen_downs, seen_ups;
	char			 url[256];	/* the server connected to, as of the
						   last tick */
	uint64_t		 last_received;
	int64_t			 last_stats_ms;
	struct tui_screen	*screen;	/* watch */
	char			 keys[32];	/* fetched keys' state, for the status line */
	const char		*db;
	sigset_t		 sigs;
	int			 rc;		/* exit code once the loop ends */
	struct cli_rate		 rate;		/* the console's */
};

/* A message for the user: the status line in the console, else stderr. */
static void
record_note(struct record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
record_note(struct record *r, const char *fmt, ...)
{
	char	text[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (r->screen != NULL)
		tui_screen_note(r->screen, text);
	else
		cli_error("%s: %s", r->o.console ? "watch" : "record", text);
}

/* Print the usage of watch: record's options and the console's keys. */
static void
watch_usage(FILE *f)
{
	char	*keys = tui_help_text(0);

	fputs("usage: ztwatch [connection] [-p POLICY] [-d DB] watch [SUBJECT...]\n"
	    "           [--stream S --durable D [--since T | --seq N]]\n"
	    "           [--verdict-subject PREFIX] [record's options]\n"
	    "       ztwatch [connection] [-d DB] watch --verdicts PREFIX [--wait] [--buffer N]\n\n"
	    "The console: verify and record every event on the subjects (default: the\n"
	    "subjects of the policy's rules) as record does, and show them live.  The\n"
	    "options are record's (ztwatch record --help); --json and --stats do not apply.\n\n"
	    "  --verdicts PREFIX the fleet's console: show the verdicts every recorder run\n"
	    "                    with --verdict-subject PREFIX publishes on PREFIX.>, live,\n"
	    "                    per original subject; judges nothing, needs no policy.\n"
	    "                    Each verdict is kept as an event row of a trail of its own\n"
	    "                    (-d DB when given, else a private temporary file removed\n"
	    "                    on exit); messages that are not verdicts are kept as\n"
	    "                    failing malformed_message rows\n\n"
	    "keys:\n", f);
	fputs(keys ? keys : "", f);
	free(keys);
}

/* Print the usage of record. */
static void
record_usage(FILE *f)
{
	fputs("usage: ztwatch [connection] [-p POLICY] [-d DB] record [SUBJECT...] [--json]\n"
	    "           [--stream S --durable D [--since T | --seq N] [--ack-wait S]]\n"
	    "           [--verdict-subject PREFIX] [--wait] [--stats S] [--jobs N]\n"
	    "           [--queue N] [--buffer N] [--latency-header H]\n"
	    "       ztwatch [connection] record --verdicts PREFIX [--json] [--stats S]\n\n"
	    "Verify every event on the subjects (default: the subjects of the policy's\n"
	    "rules) and record it with its verdict in the trail.  SIGINT or SIGTERM\n"
	    "records what was received, closes the session and exits 0.\n\n"
	    "  --json            print each verdict as a JSON line on stdout, once recorded\n"
	    "  --verdict-subject PREFIX  publish each verdict, once recorded, to\n"
	    "                    PREFIX.<the event's subject> (core NATS)\n"
	    "  --verdicts PREFIX read the verdicts a fleet of recorders publishes with\n"
	    "                    --verdict-subject PREFIX instead of verifying: count them,\n"
	    "                    and with --json print them; no policy, no trail\n"
	    "  --stream S        read JetStream stream S through a durable pull consumer\n"
	    "  --durable D       the durable's name; a run resumes where the last one stopped;\n"
	    "                    recorders on one durable share its messages (a fleet)\n"
	    "  --since T         a new durable starts at time T (RFC 3339 or -2h)\n"
	    "  --seq N           a new durable starts at stream sequence N\n"
	    "  --ack-wait S      seconds before the server redelivers an unacked message (30)\n"
	    "  --wait            wait for the server to come up instead of failing\n"
	    "  --stats S         print a stats line on stderr every S seconds (10; 0: never)\n"
	    "  --jobs N          verifier threads (default: every CPU)\n"
	    "  --queue N         messages in flight between NATS and the trail (8192)\n"
	    "  --buffer N        messages nats.c may hold for a recorder that falls behind\n"
	    "                    on core NATS (65536, and at most 8 KiB each on average);\n"
	    "                    beyond that they are dropped, and recorded as gaps\n"
	    "  --latency-header H  header carrying the publish time in microseconds since\n"
	    "                    the epoch; the final stats give publish-to-commit latency\n", f);
}

/* The command's name in messages: record, or watch (the console). */
static const char	*record_name = "record";

/* A number option from min to max; one message names both. */
static int
record_number(const char *opt, const char *arg, long long min, long long max, long long *out)
{
	char	*end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || *out < min || *out > max) {
		cli_error("%s: %s wants a number from %lld to %lld", record_name, opt, min, max);
		return -1;
	}
	return 0;
}

/* --since and --seq both given: one start only. */
static int
record_one_start(void)
{
	cli_error("%s: --since and --seq each say where a new durable starts; give one",
	    record_name);
	return -1;
}

/* Whether s is printable ASCII without spaces: a verdict prefix is printed in
   stats lines as it is. */
static int
record_ascii(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Whether a stream or durable name is one JetStream takes and nats.c can
 * put in its JSON requests as it is: printable ASCII without the subject
 * separators and wildcards, '/', '\\' or '"'.
 */
static int
record_js_name_ok(const char *name)
{
	return *name != '\0' && record_ascii(name) && strpbrk(name, ".*>/\\\"") == NULL;
}

/* Parse the command line. */
static int
record_parse(struct cli_globals *g, struct record_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "stream", required_argument, NULL, 'S' },
		{ "durable", required_argument, NULL, 'D' },
		{ "since", required_argument, NULL, 's' },
		{ "seq", required_argument, NULL, 'q' },
		{ "ack-wait", required_argument, NULL, 'a' },
		{ "wait", no_argument, NULL, 'w' },
		{ "stats", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "queue", required_argument, NULL, 'Q' },
		{ "latency-header", required_argument, NULL, 'L' },
		{ "buffer", required_argument, NULL, 'B' },
		{ "verdict-subject", required_argument, NULL, 'V' },
		{ "verdicts", required_argument, NULL, 'F' },
		{ "db", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long long	n;
	int		ch;

	record_name = o->console ? "watch" : "record";
	o->stats_s = 10;
	while ((ch = getopt_long(argc, argv, "d:p:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'J':
			o->json = 1;
			break;
		case 'S':
			o->js.stream = optarg;
			break;
		case 'D':
			o->js.durable = optarg;
			break;
		case 's':
			if (o->js.start == INGEST_JS_SEQ)
				return record_one_start();
			if (cli_parse_when(optarg, &o->js.start_us) != 0) {
				cli_error("%s: --since '%s' is not a time after 1970-01-01"
				    " and before 10000 (RFC 3339, epoch seconds, -2h)",
				    record_name, optarg);
				return -1;
			}
			o->js.start = INGEST_JS_TIME;
			break;
		case 'q':
			if (o->js.start == INGEST_JS_TIME)
				return record_one_start();
			if (record_number("--seq", optarg, 1, INT64_MAX, &n) != 0)
				return -1;
			o->js.start = INGEST_JS_SEQ;
			o->js.start_seq = (uint64_t)n;
			break;
		case 'a':
			if (record_number("--ack-wait", optarg, 1, 86400, &n) != 0)
				return -1;
			o->js.ack_wait_s = (int)n;
			break;
		case 'w':
			o->wait = 1;
			break;
		case 't':
			if (record_number("--stats", optarg, 0, 86400, &n) != 0)
				return -1;
			o->stats_s = (int)n;
			break;
		case 'j':
			if (record_number("--jobs", optarg, 1, 64, &n) != 0)
				return -1;
			o->jobs = (int)n;
			break;
		case 'Q':
			if (record_number("--queue", optarg, 16, 1 << 22, &n) != 0)
				return -1;
			o->queue = (unsigned)n;
			break;
		case 'L':
			o->latency_header = optarg;
			break;
		case 'B':
			if (record_number("--buffer", optarg, 1, 1 << 24, &n) != 0)
				return -1;
			o->buffer = (int)n;
			break;
		case 'V':
		case 'F':
			if (!auth_subject_valid(optarg, 0) || !record_ascii(optarg)) {
				cli_error("%s: %s wants a subject prefix of printable ASCII"
				    " without wildcards, like 'verdicts' or 'zt.verdicts'",
				    record_name, ch == 'V' ? "--verdict-subject" : "--verdicts");
				return -1;
			}
			if (ch == 'V')
				o->verdict_subject = optarg;
			else
				o->verdicts = optarg;
			break;
		case 'd':
			g->db = optarg;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			if (o->console)
				watch_usage(stdout);
			else
				record_usage(stdout);
			cli_help_done(o->console ? "watch" : "record");
		default:
			if (o->console)
				watch_usage(stderr);
			else
				record_usage(stderr);
			return -1;
		}
	}
	for (; optind < argc; optind++) {
		if (o->nsubjects == RECORD_MAX_SUBJECTS) {
			cli_error("%s: at most %d subjects", record_name, RECORD_MAX_SUBJECTS);
			return -1;
		}
		if (!auth_subject_valid(argv[optind], 1)) {
			cli_error("%s: '%s' is not a valid NATS subject", record_name, argv[optind]);
			return -1;
		}
		o->subjects[o->nsubjects++] = argv[optind];
	}
	if (o->console && o->json) {
		cli_error("watch: --json would write over the screen (use record --json)");
		return -1;
	}
	if (o->verdicts != NULL && (o->nsubjects > 0 || o->js.stream != NULL ||
	    o->verdict_subject != NULL || o->latency_header != NULL)) {
		cli_error("%s: --verdicts reads verdicts others published; it takes no"
		    " subjects, --stream, --verdict-subject or --latency-header", record_name);
		return -1;
	}
	if ((o->js.stream == NULL) != (o->js.durable == NULL)) {
		cli_error("%s: --stream and --durable go together", record_name);
		return -1;
	}
	if (o->js.stream == NULL && o->js.start != INGEST_JS_ALL) {
		cli_error("%s: --since and --seq need --stream and --durable", record_name);
		return -1;
	}
	if (o->js.durable != NULL && !record_js_name_ok(o->js.durable)) {
		cli_error("%s: a durable name is printable ASCII without '.', '*', '>',"
		    " '/', '\\', '\"' or spaces", record_name);
		return -1;
	}
	if (o->js.stream != NULL && !record_js_name_ok(o->js.stream)) {
		cli_error("%s: a stream name is printable ASCII without '.', '*', '>',"
		    " '/', '\\', '\"' or spaces", record_name);
		return -1;
	}
	if (o->js.stream != NULL && o->nsubjects > 1) {
		cli_error("%s: with --stream, give at most one subject (the consumer's filter)",
		    record_name);
		return -1;
	}
	return 0;
}

/*
 * How subject patterns a and b relate: with cover, whether a matches every
 * subject b matches; without, whether some subject matches both.  NATS
 * delivers a message once per subscription that matches it, so two
 * overlapping subscriptions would record it twice, the second a replay.
 */
static int
record_subjects_meet(const char *a, const char *b, int cover)
{
	size_t	an, bn;

	for (;;) {
		an = strcspn(a, ".");
		bn = strcspn(b, ".");
		if (an == 1 && a[0] == '>')
			return 1;
		if (bn == 1 && b[0] == '>')
			return !cover;
		if (!(an == 1 && a[0] == '*') && !(!cover && bn == 1 && b[0] == '*') &&
		    (an != bn || strncmp(a, b, an) != 0))
			return 0;
		if (a[an] == '\0' || b[bn] == '\0')
			return a[an] == '\0' && b[bn] == '\0';
		a += an + 1;
		b += bn + 1;
	}
}

/* The first pair of o's subjects that overlap, said as cmd's error; -1 then. */
static int
record_subjects_apart(const struct record_opts *o, const char *cmd)
{
	int	i, j;

	for (i = 0; i < o->nsubjects; i++) {
		for (j = i + 1; j < o->nsubjects; j++) {
			if (!record_subjects_meet(o->subjects[i], o->subjects[j], 0))
				continue;
			cli_error("%s: subjects '%s' and '%s' overlap: a message on both would"
			    " be delivered and recorded twice (the second as a replay); give"
			    " subjects that do not", cmd, o->subjects[i], o->subjects[j]);
			return -1;
		}
	}
	return 0;
}

/* Whether subject is covered by one of list[0..n) other than list[self]
   (the first of equal ones stays). */
static int
record_subject_covered(const char *const *list, size_t n, size_t self)
{
	size_t	k;

	for (k = 0; k < n; k++) {
		if (k != self && record_subjects_meet(list[k], list[self], 1) &&
		    (k < self || !record_subjects_meet(list[self], list[k], 1)))
			return 1;
	}
	return 0;
}

/* Default subjects: every rule's, less those another rule's covers. */
static int
record_default_subjects(struct record_opts *o, const struct auth_policy *p)
{
	const char	*all[RECORD_MAX_SUBJECTS * 4], *subject;
	size_t		 i, j, n = 0, rules = auth_policy_rule_count(p);

	for (i = 0; i < rules; i++) {
		for (j = 0; (subject = auth_policy_rule_subject(p, i, j)) != NULL; j++) {
			if (n == sizeof all / sizeof all[0])
				return -1;
			all[n++] = subject;
		}
	}
	/* One subscription for rules whose subjects another's covers. */
	for (i = 0; i < n; i++) {
		if (record_subject_covered(all, n, i))
			continue;
		if (o->nsubjects == RECORD_MAX_SUBJECTS)
			return -1;
		o->subjects[o->nsubjects++] = all[i];
	}
	return o->nsubjects > 0 ? 0 : -1;
}

/*
 * Whether the subject pattern can match a verdict subject PREFIX.<x>
 * (x one token or more): a recorder that did so would judge its own
 * verdicts, and publish verdicts of those, without end.
 */
static int
record_overlaps(const char *pattern, const char *prefix)
{
	char	*verdicts;
	int	 meet;

	if (asprintf(&verdicts, "%s.>", prefix) < 0)
		return 1;		/* out of memory: refuse rather than loop */
	meet = record_subjects_meet(pattern, verdicts, 0);
	free(verdicts);
	return meet;
}

/* ---- connection events ------------------------------------------------------ */

static void
record_on_state(enum ingest_state s, void *arg)
{
	struct record	*r = arg;

	if (s == INGEST_RECONNECTING) {
		atomic_store(&r->watch.down_ms, auth_mono_ms());
		atomic_fetch_add(&r->watch.downs, 1);
	} else if (s == INGEST_CONNECTED) {
		atomic_store(&r->watch.up_ms, auth_mono_ms());
		atomic_fetch_add(&r->watch.ups, 1);
	}
	atomic_store(&r->watch.state, (int)s);
}

static void
record_on_error(const char *text, void *arg)
{
	record_note(arg, "server: %s", text);
}

/* A disconnection ended: core NATS lost whatever was published meanwhile. */
static void
record_reconnected(struct record *r, double secs)
{
	char	detail[512];
	int	i;

	ingest_conn_url(r->conn, r->url, sizeof r->url);
	record_note(r, "reconnected to %s after %.1f s", r->url, secs);
	if (r->js != NULL)
		return;		/* the durable resumes where it was; nothing lost */
	for (i = 0; i < r->nsubs; i++) {
		snprintf(detail, sizeof detail, "disconnected from the server for %.1f s;"
		    " core NATS messages published meanwhile were not delivered (count unknown)",
		    secs);
		pipeline_gap(r->pipe, ingest_sub_subject(r->subs[i].sub), NULL, 0, 0, detail);
	}
}

/*
 * Notice state changes: say so, and mark the gap of a disconnection.  A
 * failover that began and ended since the last tick is reported whole:
 * r->url still names the server that was lost.
 */
static void
record_check_state(struct record *r)
{
	unsigned	downs = atomic_load(&r->watch.downs);
	unsigned	ups = atomic_load(&r->watch.ups);
	int64_t		down_ms = atomic_load(&r->watch.down_ms);
	int64_t		up_ms = atomic_load(&r->watch.up_ms);
	int		s = atomic_load(&r->watch.state);

	if (downs != r->seen_downs) {
		record_note(r, "disconnected from %s; reconnecting", r->url);
		r->seen_downs = downs;
	}
	if (ups != r->seen_ups) {
		r->seen_ups = ups;
		record_reconnected(r, (double)((up_ms > down_ms ? up_ms : auth_mono_ms()) -
		    down_ms) / 1000.0);
	} else if (s == INGEST_CONNECTED)
		ingest_conn_url(r->conn, r->url, sizeof r->url);
}

/* Turn new slow-consumer drops into gap rows. */
static void
record_check_drops(struct record *r)
{
	char		detail[256];
	uint64_t	d;
	int		i;

	for (i = 0; i < r->nsubs; i++) {
		d = ingest_sub_dropped(r->subs[i].sub);
		if (d <= r->subs[i].dropped)
			continue;
		snprintf(detail, sizeof detail, "%llu messages dropped: the recorder fell behind"
		    " the publishers (slow consumer)", (unsigned long long)(d - r->subs[i].dropped));
		pipeline_gap(r->pipe, ingest_sub_subject(r->subs[i].sub), NULL, 0,
		    d - r->subs[i].dropped, detail);
		r->subs[i].dropped = d;
	}
}

/* One stats line. */
static void
record_print_stats(struct record *r, int final)
{
	struct pipeline_stats	st;
	int64_t			now = auth_mono_ms();
	double			secs = (double)(now - r->last_stats_ms) / 1000.0;
	char			*keys;

	pipeline_stats(r->pipe, &st);
	fprintf(stderr, "ztwatch: %s: %llu received, %llu committed (%llu pass, %llu fail,"
	    " %llu duplicates), %.0f/s, %llu lost in %llu gaps, queue %llu, %s%s\n",
	    r->o.console ? "watch" : "record",
	    (unsigned long long)st.received, (unsigned long long)st.recorded,
	    (unsigned long long)st.pass, (unsigned long long)st.fail,
	    (unsigned long long)st.duplicates,
	    secs > 0 ? (double)(st.received - r->last_received) / secs : 0.0,
	    (unsigned long long)st.lost, (unsigned long long)st.gaps,
	    (unsigned long long)st.queued,
	    ingest_state_name(atomic_load(&r->watch.state)), final ? " (final)" : "");
	if (final && st.recorded > 0 && st.last_commit_us > st.first_us)
		fprintf(stderr, "ztwatch: %s: throughput: %llu events in %.3f s from first"
		    " receive to last commit: %.0f/s\n", r->o.console ? "watch" : "record",
		    (unsigned long long)st.recorded,
		    (double)(st.last_commit_us - st.first_us) / 1e6, (double)st.recorded * 1e6 /
		    (double)(st.last_commit_us - st.first_us));
	if (final && st.latency_n > 0)
		fprintf(stderr, "ztwatch: %s: publish to commit: p50 %.2f ms, p99 %.2f ms"
		    " (%llu events)\n", r->o.console ? "watch" : "record", (double)st.latency_p50_us / 1000.0,
		    (double)st.latency_p99_us / 1000.0, (unsigned long long)st.latency_n);
	if (final && r->o.verdict_subject != NULL)
		fprintf(stderr, "ztwatch: %s: %llu verdicts published on %s.>, %llu could not"
		    " be\n", r->o.console ? "watch" : "record", (unsigned long long)st.published,
		    r->o.verdict_subject, (unsigned long long)st.unpublished);
	if (final && st.unrecorded > 0)
		fprintf(stderr, "ztwatch: %s: %llu messages received after the trail failed"
		    " were not recorded\n", r->o.console ? "watch" : "record",
		    (unsigned long long)st.unrecorded);
	/* The key state quotes JWKS servers' errors, which quote their documents. */
	if ((keys = cli_keys_state(0)) != NULL) {
		cli_error("%s: %s", r->o.console ? "watch" : "record", keys);
		free(keys);
	}
	r->last_received = st.received;
	r->last_stats_ms = now;
}

/* Wait for the first connection (with --wait); 0 when connected. */
static int
record_wait_connected(struct record *r, const sigset_t *sigs)
{
	struct timespec	tick = { 0, RECORD_TICK_MS * 1000000L };
	int		told = 0;

	while (atomic_load(&r->watch.state) != INGEST_CONNECTED) {
		if (!told) {
			cli_error("%s: waiting for %s", record_name, ingest_conn_servers(r->conn));
			told = 1;
		}
		if (sigtimedwait(sigs, NULL, &tick) > 0) {
			r->interrupted = 1;
			return -1;
		}
	}
	r->seen_downs = atomic_load(&r->watch.downs);
	r->seen_ups = atomic_load(&r->watch.ups);
	ingest_conn_url(r->conn, r->url, sizeof r->url);
	return 0;
}

/* Messages nats.c may hold per subscription: --buffer, or the default. */
static int
record_pending_msgs(const struct record *r)
{
	return r->o.buffer > 0 ? r->o.buffer : RECORD_PENDING_MSGS;
}

/* Bytes it may hold: 8 KiB a message for --buffer, within an int. */
static int
record_pending_bytes(const struct record *r)
{
	return r->o.buffer > 0 ? cli_buffer_bytes(r->o.buffer) : RECORD_PENDING_BYTES;
}

/*
 * Whether the stream read without a filter takes the verdicts this recorder
 * publishes (said once; r->refused set), or cannot be looked up.  The
 * subjects named on the command line were checked before connecting.
 */
static int
record_stream_takes_verdicts(struct record *r)
{
	char	**subjects = NULL, *cause = NULL;
	size_t	  n = 0, i;
	int	  rc = 0;

	if (ingest_js_stream_subjects(r->conn, r->o.js.stream, &subjects, &n, &cause) != 0) {
		cli_error("%s: stream '%s': %s", record_name, r->o.js.stream, cause);
		free(cause);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (record_overlaps(subjects[i], r->o.verdict_subject)) {
			cli_error("%s: stream '%s' takes '%s', where the verdicts go (%s.>):"
			    " it would judge its own verdicts; choose another prefix or name"
			    " the subjects to read", record_name, r->o.js.stream, subjects[i],
			    r->o.verdict_subject);
			r->refused = 1;
			rc = -1;
		}
	}
	for (i = 0; i < n; i++)
		free(subjects[i]);
	free(subjects);
	return rc;
}

/* Subscribe to the subjects, or bind the durable. */
static int
record_subscribe(struct record *r)
{
	char	*cause = NULL, *notice = NULL;
	int	 i;

	if (r->o.js.stream != NULL) {
		r->o.js.filter = r->o.nsubjects == 1 ? r->o.subjects[0] : NULL;
		if (r->o.verdict_subject != NULL && r->o.js.filter == NULL &&
		    record_stream_takes_verdicts(r) != 0)
			return -1;
		r->js = ingest_js_consume(r->conn, &r->o.js, pipeline_deliver, pipeline_js_gap,
		    r->pipe, &notice, &cause);
		if (notice != NULL) {
			cli_error("%s: %s", record_name, notice);
			free(notice);
		}
		if (r->js == NULL) {
			cli_error("%s: stream '%s': %s", record_name, r->o.js.stream, cause);
			free(cause);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < r->o.nsubjects; i++) {
		r->subs[i].sub = ingest_subscribe(r->conn, r->o.subjects[i],
		    record_pending_msgs(r), record_pending_bytes(r), pipeline_deliver, r->pipe,
		    &cause);
		if (r->subs[i].sub == NULL) {
			cli_error("%s: %s", record_name, cause);
			free(cause);
			return -1;
		}
		r->nsubs++;
	}
	return 0;
}

/* Say what the key fetcher noticed: a key set changed, a fetch failed. */
static void
record_check_keys(struct record *r)
{
	char	*notes = cli_keys_take_notes(), *line, *save = NULL;

	for (line = notes ? strtok_r(notes, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		record_note(r, "%s", line);
	free(notes);
}

/* Say once that printing the verdicts (--json) failed; the trail goes on. */
static void
record_check_json(struct record *r)
{
	struct pipeline_stats	st;

	if (r->json_failed || r->pipe == NULL)
		return;
	pipeline_stats(r->pipe, &st);
	if (st.json_errno == 0)
		return;
	r->json_failed = 1;
	cli_error("%s: cannot print the verdicts (--json): %s; they are still recorded"
	    " in the trail", record_name, strerror(st.json_errno));
}

/* One supervision step: 0 to go on, or 1 with r->rc set to stop. */
static int
record_tick(struct record *r, int sig)
{
	if (sig == SIGINT || sig == SIGTERM) {
		r->rc = CLI_EXIT_OK;
		return 1;
	}
	record_check_state(r);
	record_check_drops(r);
	record_check_keys(r);
	record_check_json(r);
	if (pipeline_error(r->pipe) != NULL) {
		r->rc = CLI_EXIT_FAIL;
		return 1;
	}
	if (atomic_load(&r->watch.state) == INGEST_CLOSED) {
		cli_error("%s: the connection to %s closed", r->o.console ? "watch" : "record",
		    ingest_conn_servers(r->conn));
		r->rc = CLI_EXIT_FAIL;
		return 1;
	}
	if (ingest_js_gone_away(r->js)) {
		cli_error("%s: stream '%s': durable '%s' was deleted on the server; nothing more"
		    " can be read through it", record_name, r->o.js.stream, r->o.js.durable);
		r->rc = CLI_EXIT_FAIL;
		return 1;
	}
	if (!r->o.console && r->o.stats_s > 0 &&
	    auth_mono_ms() - r->last_stats_ms >= (int64_t)r->o.stats_s * 1000)
		record_print_stats(r, 0);
	return 0;
}

/* Supervise until a signal or a failure; returns an exit code. */
static int
record_loop(struct record *r, const sigset_t *sigs)
{
	struct timespec	tick = { 0, RECORD_TICK_MS * 1000000L };

	r->last_stats_ms = auth_mono_ms();
	while (!record_tick(r, sigtimedwait(sigs, NULL, &tick)))
		;
	return r->rc;
}

/* ---- the console (watch) ----------------------------------------------------- */

/* The screen's tick: signals and supervision. */
static void
watch_tick(void *arg)
{
	struct record	*r = arg;
	struct timespec	 zero = { 0, 0 };

	if (record_tick(r, sigtimedwait(&r->sigs, NULL, &zero)))
		tui_screen_quit(r->screen);
}

/* Take count at now_ms into the rate. */
double
cli_rate_update(struct cli_rate *rt, uint64_t count, int64_t now_ms)
{
	if (now_ms - rt->ms >= 1000) {
		rt->rate = rt->ms ? (double)(count - rt->base) * 1000.0 /
		    (double)(now_ms - rt->ms) : 0;
		rt->base = count;
		rt->ms = now_ms;
	}
	return rt->rate;
}

/* The console's connection state for ingest's. */
void
cli_status_conn(struct tui_status *st, int ingest_state)
{
	switch (ingest_state) {
	case INGEST_CONNECTING:
		st->conn = TUI_CONN_CONNECTING;
		break;
	case INGEST_CONNECTED:
		st->conn = TUI_CONN_CONNECTED;
		break;
	case INGEST_RECONNECTING:
		st->conn = TUI_CONN_RECONNECTING;
		break;
	default:
		st->conn = TUI_CONN_CLOSED;
		break;
	}
}

/* The status line's live part. */
static void
watch_status(void *arg, struct tui_status *st)
{
	struct record		*r = arg;
	struct pipeline_stats	 ps;
	int64_t			 now = auth_mono_ms();
	char			*keys;

	pipeline_stats(r->pipe, &ps);
	cli_rate_update(&r->rate, ps.received, now);
	cli_status_conn(st, atomic_load(&r->watch.state));
	st->events = ps.pass + ps.fail;
	st->pass = ps.pass;
	st->fail = ps.fail;
	st->gaps = ps.gaps;
	st->drops = ps.lost;
	st->rate = r->rate.rate;
	if ((keys = cli_keys_state(1)) != NULL) {
		snprintf(r->keys, sizeof r->keys, "%s", keys);
		free(keys);
		st->keys = r->keys;
	}
}

/* Events and gaps as the writer records them, for the streams pane. */
static void
watch_on_event(const struct pipeline_event *ev, void *arg)
{
	struct record	*r = arg;

	if (r->screen != NULL && !ev->duplicate)
		tui_screen_event(r->screen, ev->m->msg.subject, auth_verdict_pass(ev->v),
		    auth_reason_name(auth_verdict_reason(ev->v)), ev->m->received_us);
}

static void
watch_on_gap(const char *subject, uint64_t count, void *arg)
{
	struct record	*r = arg;

	if (r->screen != NULL)
		tui_screen_gap(r->screen, subject, count, auth_epoch_us());
}

/* :sub and :unsub. */
static int
watch_subscribe(void *arg, const char *subject, int on, char **msg)
{
	struct record	*r = arg;
	char		*cause = NULL;
	int		 i;

	if (r->js != NULL) {
		*msg = strdup("reading a JetStream durable: subjects are its filter");
		return -1;
	}
	for (i = 0; i < r->nsubs; i++)
		if (strcmp(ingest_sub_subject(r->subs[i].sub), subject) == 0)
			break;
	if (!on) {
		if (i == r->nsubs) {
			asprintf(msg, "not subscribed to %s", subject);
			return -1;
		}
		ingest_sub_drain(r->subs[i].sub, 2000, NULL);
		record_check_drops(r);
		ingest_sub_free(r->subs[i].sub);
		r->subs[i] = r->subs[--r->nsubs];
		return 0;
	}
	if (i < r->nsubs) {
		asprintf(msg, "already subscribed to %s", subject);
		return -1;
	}
	if (r->nsubs == RECORD_MAX_SUBJECTS) {
		asprintf(msg, "at most %d subscriptions", RECORD_MAX_SUBJECTS);
		return -1;
	}
	for (i = 0; i < r->nsubs; i++) {
		if (record_subjects_meet(ingest_sub_subject(r->subs[i].sub), subject, 0)) {
			asprintf(msg, "%s overlaps %s: a message on both would be recorded twice",
			    subject, ingest_sub_subject(r->subs[i].sub));
			return -1;
		}
	}
	if (r->o.verdict_subject != NULL && record_overlaps(subject, r->o.verdict_subject)) {
		asprintf(msg, "%s takes the verdicts published on %s.>", subject,
		    r->o.verdict_subject);
		return -1;
	}
	r->subs[r->nsubs].sub = ingest_subscribe(r->conn, subject, record_pending_msgs(r),
	    record_pending_bytes(r), pipeline_deliver, r->pipe, &cause);
	if (r->subs[r->nsubs].sub == NULL) {
		*msg = cause;
		return -1;
	}
	r->subs[r->nsubs++].dropped = 0;
	return 0;
}

/* Run the console until q or a signal; returns an exit code. */
static int
watch_loop(struct record *r, struct cli_globals *g)
{
	struct tui_source	 src;
	char			*cause = NULL;

	memset(&src, 0, sizeof src);
	src.db = g->db;
	src.server = ingest_conn_servers(r->conn);
	src.status = watch_status;
	src.subscribe = watch_subscribe;
	src.tick = watch_tick;
	src.export = cli_console_export;
	src.arg = r;
	r->rc = CLI_EXIT_OK;
	if ((r->screen = tui_screen_new(&src, &cause)) == NULL) {
		cli_error("watch: %s", cause);
		free(cause);
		return CLI_EXIT_FAIL;
	}
	if (tui_screen_run(r->screen, &cause) != 0) {
		cli_error("watch: %s", cause);
		free(cause);
		r->rc = CLI_EXIT_FAIL;
	}
	tui_screen_free(r->screen);
	r->screen = NULL;
	return r->rc;
}

/* Stop the inputs, delivering what nats.c already holds. */
static void
record_drain(struct record *r)
{
	char	*cause = NULL;
	int	 i;

	for (i = 0; i < r->nsubs; i++) {
		if (ingest_sub_drain(r->subs[i].sub, RECORD_DRAIN_MS, &cause) != 0) {
			cli_error("%s: %s", record_name, cause);
			free(cause);
			cause = NULL;
		}
	}
	ingest_js_stop(r->js);
	record_check_drops(r);
}

/* Open the trail and start its session. */
static int
record_open_store(struct record *r, struct cli_globals *g, struct auth_policy *p)
{
	struct store_session_info	 si;
	char				 subjects[2048] = "", *cause = NULL;
	size_t				 len = 0;
	int				 i;

	if ((r->store = store_open(g->db, &cause)) == NULL) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		return -1;
	}
	for (i = 0; i < r->o.nsubjects && len < sizeof subjects; i++)
		len += (size_t)snprintf(subjects + len, sizeof subjects - len, "%s%s",
		    i ? " " : "", r->o.subjects[i]);
	memset(&si, 0, sizeof si);
	si.version = ZTWATCH_VERSION;
	si.command = "record";
	si.server = g->server;
	si.subjects = subjects;
	si.source = r->o.js.stream;
	si.policy = p;
	store_set_batch(r->store, 4096, 100);
	if (store_session_begin(r->store, &si, auth_epoch_us(), &cause) != 0) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Connect with the globals. */
static int
record_connect(struct record *r, struct cli_globals *g)
{
	struct ingest_conn_opts	 co;
	char			*cause = NULL;

	memset(&co, 0, sizeof co);
	cli_conn_opts(g, &co);
	co.name = "ztwatch record";
	co.wait = r->o.wait;
	co.on_state = record_on_state;
	co.on_error = record_on_error;
	co.arg = r;
	if ((r->conn = ingest_connect(&co, &cause)) == NULL) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Start the pipeline. */
static int
record_start_pipeline(struct record *r, struct auth_policy *p)
{
	struct pipeline_opts	 po;
	char			*cause = NULL;

	memset(&po, 0, sizeof po);
	po.policy = p;
	po.store = r->store;
	po.workers = r->o.jobs;
	po.capacity = r->o.queue;
	po.json = r->o.json ? stdout : NULL;
	po.latency_header = r->o.latency_header;
	if (r->o.verdict_subject != NULL) {
		po.verdict_conn = r->conn;
		po.verdict_prefix = r->o.verdict_subject;
	}
	if (r->o.console) {
		po.on_event = watch_on_event;
		po.on_gap = watch_on_gap;
		po.arg = r;
	}
	if ((r->pipe = pipeline_start(&po, &cause)) == NULL) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Tear down in order: inputs, pipeline, acks, connection, trail. */
static int
record_finish(struct record *r, int rc)
{
	char	*cause = NULL;
	int	 i;

	if (r->pipe != NULL) {
		record_drain(r);
		if (pipeline_finish(r->pipe) != 0) {
			cli_error("%s: %s", r->o.console ? "watch" : "record", pipeline_error(r->pipe));
			rc = CLI_EXIT_FAIL;
		}
		record_check_json(r);
		if (r->json_failed)
			rc = CLI_EXIT_FAIL;
		if (r->conn != NULL && atomic_load(&r->watch.state) == INGEST_CONNECTED &&
		    ingest_flush(r->conn, 5000, &cause) != 0) {
			cli_error("%s: %s", record_name, cause);
			free(cause);
			cause = NULL;
		}
		record_print_stats(r, 1);
	}
	for (i = 0; i < r->nsubs; i++)
		ingest_sub_free(r->subs[i].sub);
	ingest_js_free(r->js);
	pipeline_free(r->pipe);
	ingest_close(r->conn);
	if (r->store != NULL && store_close(r->store, &cause) != 0) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}

/* ---- the fleet's verdicts (record --verdicts) ------------------------------ */

#define FLEET_MAX_SUBJECTS	1024
#define FLEET_SHOWN_SUBJECTS	20

/* One subject's verdicts. */
struct fleet_subject {
	char		*subject;
	uint64_t	 pass, fail;
};

/*
 * What record --verdicts keeps.  fleet_deliver() runs on nats.c's
 * delivery thread while the main thread prints the counts, so the lock
 * guards every member after it.
 */
struct fleet {
	const char		*prefix;
	size_t			 prefix_len;
	FILE			*json;		/* --json: the verdicts, or NULL */
	pthread_mutex_t		 lock;
	uint64_t		 received, pass, fail, invalid, last_received;
	uint64_t		 reasons[AUTH_REASON_COUNT];
	struct fleet_subject	 subjects[FLEET_MAX_SUBJECTS];
	size_t			 nsubjects;
	uint64_t		 untallied;	/* verdicts on subjects past the table */
	int			 json_errno;	/* printing the verdicts failed, or 0 */
	int			 json_told;	/* ... and it was said */
};

/*
 * Whether v is a verdict (DESIGN §2) published for subject: "verdict"
 * pass (reason ok) or fail (another reason code), and the subject the
 * message came on.  Sets *reason.
 */
static int
fleet_valid(json_t *v, const char *subject, int *reason)
{
	const char	*verdict, *vsubject, *name;

	if (!json_is_object(v) ||
	    (verdict = json_string_value(json_object_get(v, "verdict"))) == NULL ||
	    (vsubject = json_string_value(json_object_get(v, "subject"))) == NULL ||
	    (name = json_string_value(json_object_get(v, "reason"))) == NULL ||
	    (*reason = auth_reason_from_name(name)) < 0 || strcmp(vsubject, subject) != 0)
		return 0;
	if (strcmp(verdict, "pass") == 0)
		return *reason == AUTH_OK;
	return strcmp(verdict, "fail") == 0 && *reason != AUTH_OK;
}

/* Count one verdict on subject (locked). */
static void
fleet_count(struct fleet *f, const char *subject, int reason)
{
	struct fleet_subject	*fs = NULL;
	size_t			 i;

	if (reason == AUTH_OK)
		f->pass++;
	else
		f->fail++;
	f->reasons[reason]++;
	for (i = 0; i < f->nsubjects && fs == NULL; i++)
		if (strcmp(f->subjects[i].subject, subject) == 0)
			fs = &f->subjects[i];
	if (fs == NULL && f->nsubjects < FLEET_MAX_SUBJECTS &&
	    (f->subjects[f->nsubjects].subject = strdup(subject)) != NULL)
		fs = &f->subjects[f->nsubjects++];
	if (fs == NULL)
		f->untallied++;
	else if (reason == AUTH_OK)
		fs->pass++;
	else
		fs->fail++;
}

/* An ingest_deliver_fn: one message on PREFIX.>. */
static void
fleet_deliver(struct ingest_msg *m, void *arg)
{
	struct fleet	*f = arg;
	const char	*subject, *body;
	json_error_t	 error;
	json_t		*v;
	char		*safe = NULL;
	int		 reason = -1, ok;

	ingest_msg_prepare(m);
	subject = m->msg.subject + f->prefix_len + 1;	/* PREFIX. is certain */
	body = (const char *)m->msg.body;
	v = json_loadb(body, m->msg.body_len, JSON_REJECT_DUPLICATES, &error);
	ok = v != NULL && fleet_valid(v, subject, &reason);
	pthread_mutex_lock(&f->lock);
	f->received++;
	if (!ok)
		f->invalid++;
	else {
		fleet_count(f, subject, reason);
		if (f->json != NULL && f->json_errno == 0) {
			errno = 0;
			/* Valid JSON, so only line breaks and C1 controls
			   inside strings could upset a terminal: re-encoded. */
			if (auth_json_unsafe(body, m->msg.body_len) &&
			    (safe = auth_json_safe(body, m->msg.body_len)) != NULL)
				fputs(safe, f->json);
			else
				fwrite(body, 1, m->msg.body_len, f->json);
			if (fputc('\n', f->json) == EOF || ferror(f->json))
				f->json_errno = errno != 0 ? errno : EIO;
		}
	}
	pthread_mutex_unlock(&f->lock);
	free(safe);
	json_decref(v);
	ingest_msg_free(m);
}

/*
 * Flush the verdicts printed (--json); whether printing them failed (a
 * full disk, a reader gone), said once, as record --json says it.
 */
static int
fleet_json_failed(struct fleet *f)
{
	int	failed, told;

	pthread_mutex_lock(&f->lock);
	errno = 0;
	if (f->json_errno == 0 && (fflush(f->json) != 0 || ferror(f->json)))
		f->json_errno = errno != 0 ? errno : EIO;
	failed = f->json_errno;
	told = f->json_told;
	f->json_told = failed != 0;
	pthread_mutex_unlock(&f->lock);
	if (failed != 0 && !told)
		cli_error("%s: cannot print the verdicts (--json): %s; counting them goes on",
		    record_name, strerror(failed));
	return failed != 0;
}

/* Subjects by verdicts, most first. */
static int
fleet_subject_cmp(const void *a, const void *b)
{
	const struct fleet_subject	*x = a, *y = b;
	uint64_t			 nx = x->pass + x->fail, ny = y->pass + y->fail;

	return nx < ny ? 1 : nx > ny ? -1 : strcmp(x->subject, y->subject);
}

/* The stats line; at the end, the tally by subject and by reason. */
static void
fleet_print_stats(struct record *r, struct fleet *f, struct ingest_sub *sub, int final)
{
	int64_t		now = auth_mono_ms();
	double		secs = (double)(now - r->last_stats_ms) / 1000.0;
	char		*safe, line[1024];
	size_t		i, len;

	pthread_mutex_lock(&f->lock);
	fprintf(stderr, "ztwatch: record: %llu verdicts on %s.> (%llu pass, %llu fail, %llu not"
	    " verdicts), %.0f/s, %llu dropped, %s%s\n", (unsigned long long)f->received,
	    f->prefix, (unsigned long long)f->pass, (unsigned long long)f->fail,
	    (unsigned long long)f->invalid,
	    secs > 0 ? (double)(f->received - f->last_received) / secs : 0.0,
	    (unsigned long long)(sub != NULL ? ingest_sub_dropped(sub) : 0),
	    ingest_state_name(atomic_load(&r->watch.state)), final ? " (final)" : "");
	f->last_received = f->received;
	r->last_stats_ms = now;
	if (final) {
		qsort(f->subjects, f->nsubjects, sizeof f->subjects[0], fleet_subject_cmp);
		for (i = 0; i < f->nsubjects && i < FLEET_SHOWN_SUBJECTS; i++) {
			safe = tui_text_safe_str(f->subjects[i].subject);
			fprintf(stderr, "ztwatch: record:   %s: %llu pass, %llu fail\n",
			    safe ? safe : "?", (unsigned long long)f->subjects[i].pass,
			    (unsigned long long)f->subjects[i].fail);
			free(safe);
		}
		if (f->nsubjects > FLEET_SHOWN_SUBJECTS)
			fprintf(stderr, "ztwatch: record:   and %zu more subjects\n",
			    f->nsubjects - FLEET_SHOWN_SUBJECTS);
		if (f->untallied > 0)
			fprintf(stderr, "ztwatch: record:   and %llu verdicts on subjects past the"
			    " first %d\n", (unsigned long long)f->untallied, FLEET_MAX_SUBJECTS);
		len = 0;
		line[0] = '\0';
		for (i = 1; i < AUTH_REASON_COUNT && len < sizeof line; i++)
			if (f->reasons[i] > 0)
				len += (size_t)snprintf(line + len, sizeof line - len, "%s %s %llu",
				    len ? "," : "", auth_reason_name(i),
				    (unsigned long long)f->reasons[i]);
		if (len > 0)
			fprintf(stderr, "ztwatch: record:   failures by reason:%s\n", line);
	}
	pthread_mutex_unlock(&f->lock);
}

/*
 * record --verdicts PREFIX: the verdicts a fleet of recorders publishes
 * (--verdict-subject PREFIX), read live from all of them at once.  It
 * judges nothing and writes no trail (each recorder's trail holds its
 * events): it counts, prints a stats line, and with --json writes each
 * verdict on stdout as record --json does.  Returns an exit code.
 */
static int
fleet_main(struct record *r, struct cli_globals *g)
{
	struct timespec		 tick = { 0, RECORD_TICK_MS * 1000000L };
	struct ingest_sub	*sub = NULL;
	struct fleet		*f;
	char			*subject = NULL, *cause = NULL;
	size_t			 i;
	int			 sig, rc = CLI_EXIT_FAIL;

	if ((f = calloc(1, sizeof *f)) == NULL) {
		cli_error("%s: out of memory", record_name);
		return CLI_EXIT_FAIL;
	}
	f->prefix = r->o.verdicts;
	f->prefix_len = strlen(f->prefix);
	f->json = r->o.json ? stdout : NULL;
	pthread_mutex_init(&f->lock, NULL);
	if (asprintf(&subject, "%s.>", f->prefix) < 0)
		subject = NULL;
	if (subject == NULL || record_connect(r, g) != 0)
		goto out;
	if (record_wait_connected(r, &r->sigs) != 0) {
		rc = CLI_EXIT_OK;		/* interrupted while waiting */
		goto out;
	}
	sub = ingest_subscribe(r->conn, subject, record_pending_msgs(r), record_pending_bytes(r),
	    fleet_deliver, f, &cause);
	if (sub == NULL) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
		goto out;
	}
	if (r->o.stats_s > 0)
		cli_error("%s: reading the verdicts on %s from %s", record_name, subject, r->url);
	r->last_stats_ms = auth_mono_ms();
	rc = CLI_EXIT_OK;
	for (;;) {
		sig = sigtimedwait(&r->sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		record_check_state(r);
		if (atomic_load(&r->watch.state) == INGEST_CLOSED) {
			cli_error("%s: the connection to %s closed", record_name,
			    ingest_conn_servers(r->conn));
			rc = CLI_EXIT_FAIL;
			break;
		}
		if (f->json != NULL && fleet_json_failed(f))
			rc = CLI_EXIT_FAIL;	/* said once; counting goes on */
		if (r->o.stats_s > 0 &&
		    auth_mono_ms() - r->last_stats_ms >= (int64_t)r->o.stats_s * 1000)
			fleet_print_stats(r, f, sub, 0);
	}
	if (ingest_sub_drain(sub, RECORD_DRAIN_MS, &cause) != 0) {
		cli_error("%s: %s", record_name, cause);
		free(cause);
	}
	fleet_print_stats(r, f, sub, 1);
out:
	ingest_sub_free(sub);
	ingest_close(r->conn);
	r->conn = NULL;
	if (f->json != NULL && fleet_json_failed(f))
		rc = CLI_EXIT_FAIL;
	for (i = 0; i < f->nsubjects; i++)
		free(f->subjects[i].subject);
	pthread_mutex_destroy(&f->lock);
	free(f);
	free(subject);
	return rc;
}

/* record and watch: the same pipeline, with stats or with the screen. */
static int
record_main(struct cli_globals *g, int argc, char **argv, int console)
{
	struct record		 r;
	struct auth_policy	*p;
	int			 i, rc = CLI_EXIT_FAIL;

	memset(&r, 0, sizeof r);
	atomic_init(&r.watch.state, INGEST_CONNECTING);
	atomic_init(&r.watch.downs, 0);
	atomic_init(&r.watch.ups, 0);
	atomic_init(&r.watch.down_ms, 0);
	atomic_init(&r.watch.up_ms, 0);
	r.o.console = console;
	if (record_parse(g, &r.o, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	/* Every thread started from here on inherits the blocked signals, so
	   only the main thread's sigtimedwait() ever sees them. */
	sigemptyset(&r.sigs);
	sigaddset(&r.sigs, SIGINT);
	sigaddset(&r.sigs, SIGTERM);
	if (r.o.verdicts != NULL) {
		pthread_sigmask(SIG_BLOCK, &r.sigs, NULL);
		if (console) {
			struct cli_fleet_opts	fo = { r.o.verdicts, r.o.wait, r.o.buffer };

			rc = cli_fleet_watch(g, &fo, &r.sigs);
		} else
			rc = fleet_main(&r, g);
		ingest_shutdown();
		return rc;
	}
	if ((p = cli_load_policy(g)) == NULL)
		return CLI_EXIT_USAGE;
	if (r.o.nsubjects == 0 && r.o.js.stream == NULL &&
	    record_default_subjects(&r.o, p) != 0) {
		cli_error("%s: no subjects given and the policy's rules name none", argv[0]);
		cli_policy_free(p);
		return CLI_EXIT_USAGE;
	}
	if (record_subjects_apart(&r.o, argv[0]) != 0) {
		cli_policy_free(p);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; r.o.verdict_subject != NULL && i < r.o.nsubjects; i++) {
		if (record_overlaps(r.o.subjects[i], r.o.verdict_subject)) {
			cli_error("%s: subject '%s' takes the verdicts published on %s.>"
			    " (it would judge its own verdicts); choose another prefix",
			    argv[0], r.o.subjects[i], r.o.verdict_subject);
			cli_policy_free(p);
			return CLI_EXIT_USAGE;
		}
	}
	r.db = g->db;
	pthread_sigmask(SIG_BLOCK, &r.sigs, NULL);

	if (record_connect(&r, g) == 0 && record_open_store(&r, g, p) == 0 &&
	    record_start_pipeline(&r, p) == 0 && record_wait_connected(&r, &r.sigs) == 0 &&
	    record_subscribe(&r) == 0) {
		if (console) {
			rc = watch_loop(&r, g);
		} else {
			if (r.o.stats_s > 0)
				cli_error("%s: recording %s%s into %s", record_name, r.o.js.stream ?
				    "stream " : "", r.o.js.stream ? r.o.js.stream :
				    "core NATS subjects", g->db);
			rc = record_loop(&r, &r.sigs);
		}
	} else if (r.interrupted) {
		rc = CLI_EXIT_OK;	/* stopped before the first connection: not a failure */
	} else if (r.refused)
		rc = CLI_EXIT_USAGE;
	rc = record_finish(&r, rc);
	cli_policy_free(p);
	ingest_shutdown();
	return rc;
}

/* ztwatch record. */
int
cmd_record(struct cli_globals *g, int argc, char **argv)
{
	return record_main(g, argc, argv, 0);
}

/* ztwatch watch: the console on the recorder's pipeline. */
int
cmd_watch(struct cli_globals *g, int argc, char **argv)
{
	return record_main(g, argc, argv, 1);
}
