/*
 * cli/cmd-fleet-watch.c -- `ztwatch watch --verdicts PREFIX`: the fleet's
 * console.
 *
 * Recorders run with --verdict-subject PREFIX publish each verdict they
 * commit on PREFIX.<the event's subject>.  This reads them all (one core
 * subscription to PREFIX.>) and shows them in the console of `watch`.  The
 * console reads its events from a trail, so every verdict is first kept as
 * an event row of a trail of this run's own (store_append_remote): -d DB
 * when given, else a private temporary file removed at the end.  So the
 * filter, failure groups, paging, export and the detail pane work on the
 * fleet as on one recorder.  Nothing is judged here and no policy is read:
 * the verdicts are the recorders' (a message that is not a verdict is kept
 * as a failing malformed_message row, so junk on the verdict subjects
 * shows).
 *
 * Threads: nats.c's delivery thread appends rows (under lock, which
 * guards the trail's writer and the counters); the screen's thread, in
 * its tick, commits what is pending, turns drops and disconnections into
 * gap rows, and watches for signals.  The console polls the trail for
 * committed rows as `watch` does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "screen.h"
#include "store.h"

#define FLEET_WATCH_PENDING_MSGS	65536
#define FLEET_WATCH_PENDING_BYTES	(64 << 20)
#define FLEET_WATCH_COMMIT_MS		100
#define FLEET_WATCH_DRAIN_MS		5000
#define FLEET_WATCH_TICK_MS		200

struct fleet_watch {
	const struct cli_fleet_opts *o;
	struct cli_globals	*g;
	char			*pattern;	/* PREFIX.> */
	char			*view;		/* for the status line */
	char			*db;		/* the trail */
	int			 temporary;	/* db is ours to remove */
	struct ingest_conn	*conn;
	struct ingest_sub	*sub;
	struct tui_screen	*screen;
	sigset_t		 sigs;
	int			 rc;

	/* Written by nats.c's callbacks, read by the tick. */
	atomic_int		 state;
	atomic_uint		 downs, ups;
	atomic_int_fast64_t	 down_ms, up_ms;
	unsigned		 seen_downs, seen_ups;
	char			 url[256];

	/* Under lock: the trail's writer and what was made of the messages. */
	pthread_mutex_t		 lock;
	struct store		*store;
	char			*error;		/* the trail's failure */
	uint64_t		 received, pass, fail, malformed, duplicates;
	uint64_t		 gaps, lost, dropped;
	int64_t			 last_commit_ms;

	struct cli_rate		 rate;		/* the screen's thread only */
};

/* A message for the user: the status line while the console runs, else stderr. */
static void
fleet_watch_note(struct fleet_watch *fw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fleet_watch_note(struct fleet_watch *fw, const char *fmt, ...)
{
	char	text[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (fw->screen != NULL)
		tui_screen_note(fw->screen, text);	/* made safe there */
	else
		cli_error("watch: %s", text);
}

/* ---- the trail -------------------------------------------------------------- */

/* A private temporary trail: $TMPDIR (or /tmp)/ztwatch-fleet-XXXXXX. */
static char *
fleet_watch_tempdb(void)
{
	const char	*dir = getenv("TMPDIR");
	char		*path = NULL;
	int		 fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (asprintf(&path, "%s/ztwatch-fleet-XXXXXX", dir) < 0)
		return NULL;
	if ((fd = mkstemp(path)) < 0) {
		cli_error("watch: cannot make a temporary trail in %s: %s", dir, strerror(errno));
		free(path);
		return NULL;
	}
	close(fd);		/* an empty file: SQLite makes it a new trail */
	return path;
}

/* Remove the temporary trail and the files SQLite keeps beside it. */
static void
fleet_watch_remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char	name[4096];
	size_t	i;

	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		if (unlink(name) != 0 && errno != ENOENT)
			cli_error("watch: cannot remove '%s': %s", name, strerror(errno));
	}
}

/* Open the trail and start its session: a fleet's view. */
static int
fleet_watch_open_store(struct fleet_watch *fw)
{
	struct store_session_info	 si;
	char				*cause = NULL;

	if ((fw->store = store_open(fw->db, &cause)) == NULL) {
		cli_error("watch: %s", cause);
		free(cause);
		return -1;
	}
	/* The rates are a console's: the writer's second thread is not worth it. */
	store_set_writer_thread(fw->store, 0, NULL);
	store_set_batch(fw->store, 4096, FLEET_WATCH_COMMIT_MS);
	memset(&si, 0, sizeof si);
	si.version = ZTWATCH_VERSION;
	si.command = "watch --verdicts";
	si.server = fw->g->server;
	si.subjects = fw->pattern;
	si.source = fw->o->prefix;
	if (store_session_begin(fw->store, &si, auth_epoch_us(), &cause) != 0) {
		cli_error("watch: %s", cause);
		free(cause);
		return -1;
	}
	fw->last_commit_ms = auth_mono_ms();
	return 0;
}

/* Keep a trail failure (locked); the tick ends the console with it. */
static void
fleet_watch_failed(struct fleet_watch *fw, char *cause)
{
	if (fw->error == NULL)
		fw->error = cause != NULL ? cause : strdup("the trail failed");
	else
		free(cause);
}

/* Commit what is pending once it has waited long enough (locked). */
static void
fleet_watch_commit(struct fleet_watch *fw, int now)
{
	char	*cause = NULL;
	int64_t	 ms = auth_mono_ms();

	if (fw->error != NULL || fw->store == NULL || store_pending(fw->store) == 0)
		return;
	if (!now && ms - fw->last_commit_ms < FLEET_WATCH_COMMIT_MS)
		return;
	if (store_commit(fw->store, &cause) != 0)
		fleet_watch_failed(fw, cause);
	fw->last_commit_ms = ms;
}

/* Record a gap on the verdict subjects: count lost (0: unknown). */
static void
fleet_watch_gap(struct fleet_watch *fw, uint64_t count, const char *detail)
{
	char	*cause = NULL;

	pthread_mutex_lock(&fw->lock);
	if (fw->error == NULL) {
		if (store_append_gap(fw->store, auth_epoch_us(), fw->pattern, NULL, 0, count,
		    detail, &cause) != 0)
			fleet_watch_failed(fw, cause);
		else {
			fw->gaps++;
			fw->lost += count;
		}
	}
	pthread_mutex_unlock(&fw->lock);
	if (fw->screen != NULL)
		tui_screen_gap(fw->screen, fw->pattern, count, auth_epoch_us());
}

/* ---- messages ------------------------------------------------------------- */

/* A header's value (the first), or NULL. */
static const char *
fleet_watch_header(const struct auth_msg *msg, const char *name)
{
	size_t	i;

	for (i = 0; i < msg->nheaders; i++)
		if (msg->headers[i].name != NULL && strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	return NULL;
}

/*
 * Which JetStream message the verdict judged, from the headers the
 * recorder sets (Ztwatch-Stream, Ztwatch-Stream-Seq): a verdict of a
 * message already on record (a redelivery another recorder also judged)
 * is then kept once.  Headers that do not parse are ignored.
 */
static void
fleet_watch_origin(const struct auth_msg *msg, struct store_origin *o)
{
	const char		*stream = fleet_watch_header(msg, "Ztwatch-Stream");
	const char		*seq = fleet_watch_header(msg, "Ztwatch-Stream-Seq");
	char			*end;
	unsigned long long	 n;

	if (stream == NULL || seq == NULL || *stream == '\0' || *seq < '1' || *seq > '9')
		return;
	errno = 0;
	n = strtoull(seq, &end, 10);
	if (errno != 0 || *end != '\0' || n > INT64_MAX)
		return;
	o->stream = stream;
	o->stream_seq = n;
}

/* An ingest_deliver_fn: one message on PREFIX.>, kept as a row. */
static void
fleet_watch_deliver(struct ingest_msg *m, void *arg)
{
	struct fleet_watch	*fw = arg;
	struct store_remote	 res;
	struct store_origin	 o;
	char			*cause = NULL;
	int			 shown = 0;

	ingest_msg_prepare(m);
	memset(&o, 0, sizeof o);
	o.received_us = m->received_us;
	fleet_watch_origin(&m->msg, &o);
	pthread_mutex_lock(&fw->lock);
	fw->received++;
	if (fw->error == NULL) {
		if (store_append_remote(fw->store, &m->msg, fw->o->prefix, &o, &res, &cause) != 0)
			fleet_watch_failed(fw, cause);
		else if (res.duplicate)
			fw->duplicates++;
		else {
			shown = 1;
			if (res.pass)
				fw->pass++;
			else
				fw->fail++;
			if (res.malformed)
				fw->malformed++;
		}
	}
	pthread_mutex_unlock(&fw->lock);
	if (shown && fw->screen != NULL)
		tui_screen_event(fw->screen, res.subject, res.pass, auth_reason_name(res.reason),
		    m->received_us);
	ingest_msg_free(m);
}

/* ---- the connection ------------------------------------------------------- */

static void
fleet_watch_on_state(enum ingest_state s, void *arg)
{
	struct fleet_watch	*fw = arg;

	if (s == INGEST_RECONNECTING) {
		atomic_store(&fw->down_ms, auth_mono_ms());
		atomic_fetch_add(&fw->downs, 1);
	} else if (s == INGEST_CONNECTED) {
		atomic_store(&fw->up_ms, auth_mono_ms());
		atomic_fetch_add(&fw->ups, 1);
	}
	atomic_store(&fw->state, (int)s);
}

static void
fleet_watch_on_error(const char *text, void *arg)
{
	fleet_watch_note(arg, "server: %s", text);
}

/* Connect; with --wait, wait for the server (a signal gives up: 1). */
static int
fleet_watch_connect(struct fleet_watch *fw)
{
	struct ingest_conn_opts	 co;
	struct timespec		 tick = { 0, FLEET_WATCH_TICK_MS * 1000000L };
	char			*cause = NULL;
	int			 told = 0;

	memset(&co, 0, sizeof co);
	cli_conn_opts(fw->g, &co);
	co.name = "ztwatch watch --verdicts";
	co.wait = fw->o->wait;
	co.on_state = fleet_watch_on_state;
	co.on_error = fleet_watch_on_error;
	co.arg = fw;
	if ((fw->conn = ingest_connect(&co, &cause)) == NULL) {
		cli_error("watch: %s", cause);
		free(cause);
		return -1;
	}
	while (atomic_load(&fw->state) != INGEST_CONNECTED) {
		if (!told) {
			cli_error("watch: waiting for %s", ingest_conn_servers(fw->conn));
			told = 1;
		}
		if (sigtimedwait(&fw->sigs, NULL, &tick) > 0)
			return 1;
	}
	fw->seen_downs = atomic_load(&fw->downs);
	fw->seen_ups = atomic_load(&fw->ups);
	ingest_conn_url(fw->conn, fw->url, sizeof fw->url);
	return 0;
}

/* Say what changed in the connection; a disconnection is a gap: core NATS
   does not keep what was published meanwhile. */
static void
fleet_watch_check_state(struct fleet_watch *fw)
{
	unsigned	downs = atomic_load(&fw->downs), ups = atomic_load(&fw->ups);
	int64_t		down_ms = atomic_load(&fw->down_ms), up_ms = atomic_load(&fw->up_ms);
	char		detail[256];
	double		secs;

	if (downs != fw->seen_downs) {
		fleet_watch_note(fw, "disconnected from %s; reconnecting", fw->url);
		fw->seen_downs = downs;
	}
	if (ups != fw->seen_ups) {
		fw->seen_ups = ups;
		secs = (double)((up_ms > down_ms ? up_ms : auth_mono_ms()) - down_ms) / 1000.0;
		ingest_conn_url(fw->conn, fw->url, sizeof fw->url);
		fleet_watch_note(fw, "reconnected to %s after %.1f s", fw->url, secs);
		snprintf(detail, sizeof detail, "disconnected from the server for %.1f s; verdicts"
		    " published meanwhile were not delivered (count unknown)", secs);
		fleet_watch_gap(fw, 0, detail);
	} else if (atomic_load(&fw->state) == INGEST_CONNECTED)
		ingest_conn_url(fw->conn, fw->url, sizeof fw->url);
}

/* Turn new slow-consumer drops into a gap row. */
static void
fleet_watch_check_drops(struct fleet_watch *fw)
{
	char		detail[256];
	uint64_t	d;

	if (fw->sub == NULL || (d = ingest_sub_dropped(fw->sub)) <= fw->dropped)
		return;
	snprintf(detail, sizeof detail, "%llu verdicts dropped: the console fell behind the"
	    " fleet (slow consumer)", (unsigned long long)(d - fw->dropped));
	fleet_watch_gap(fw, d - fw->dropped, detail);
	fw->dropped = d;
}

/* ---- the console ----------------------------------------------------------- */

/* The screen's tick: signals, the connection, drops, commits. */
static void
fleet_watch_tick(void *arg)
{
	struct fleet_watch	*fw = arg;
	struct timespec		 zero = { 0, 0 };
	int			 sig = sigtimedwait(&fw->sigs, NULL, &zero), failed;

	if (sig > 0) {
		tui_screen_quit(fw->screen);
		return;
	}
	fleet_watch_check_state(fw);
	fleet_watch_check_drops(fw);
	pthread_mutex_lock(&fw->lock);
	fleet_watch_commit(fw, 0);
	failed = fw->error != NULL;
	pthread_mutex_unlock(&fw->lock);
	if (failed) {
		fw->rc = CLI_EXIT_FAIL;
		tui_screen_quit(fw->screen);
	} else if (atomic_load(&fw->state) == INGEST_CLOSED) {
		cli_error("watch: the connection to %s closed", ingest_conn_servers(fw->conn));
		fw->rc = CLI_EXIT_FAIL;
		tui_screen_quit(fw->screen);
	}
}

/* The status line's live part. */
static void
fleet_watch_status(void *arg, struct tui_status *st)
{
	struct fleet_watch	*fw = arg;
	int64_t			 now = auth_mono_ms();
	uint64_t		 received;

	pthread_mutex_lock(&fw->lock);
	received = fw->received;
	st->events = fw->pass + fw->fail;
	st->pass = fw->pass;
	st->fail = fw->fail;
	st->gaps = fw->gaps;
	st->drops = fw->lost;
	pthread_mutex_unlock(&fw->lock);
	st->rate = cli_rate_update(&fw->rate, received, now);
	cli_status_conn(st, atomic_load(&fw->state));
}

/* :sub and :unsub: the fleet's console has one subscription. */
static int
fleet_watch_subscribe(void *arg, const char *subject, int on, char **msg)
{
	struct fleet_watch	*fw = arg;

	if (asprintf(msg, "the fleet's console reads the verdicts on %s only", fw->pattern) < 0)
		*msg = NULL;
	return -1;
}

/* Final counts on stderr. */
static void
fleet_watch_print_stats(struct fleet_watch *fw)
{
	pthread_mutex_lock(&fw->lock);
	fprintf(stderr, "ztwatch: watch: %llu verdicts on %s (%llu pass, %llu fail, %llu not"
	    " verdicts, %llu duplicates), %llu lost in %llu gaps, %s %s%s\n",
	    (unsigned long long)fw->received, fw->pattern, (unsigned long long)fw->pass,
	    (unsigned long long)(fw->fail - fw->malformed), (unsigned long long)fw->malformed,
	    (unsigned long long)fw->duplicates, (unsigned long long)fw->lost,
	    (unsigned long long)fw->gaps, fw->temporary ? "temporary trail" : "trail", fw->db,
	    fw->temporary ? " (removed)" : "");
	pthread_mutex_unlock(&fw->lock);
}

/* Run the console until q, a signal or a failure. */
static void
fleet_watch_console(struct fleet_watch *fw)
{
	char	*cause = NULL;

	if (tui_screen_run(fw->screen, &cause) != 0) {
		cli_error("watch: %s", cause);
		free(cause);
		fw->rc = CLI_EXIT_FAIL;
	}
}

/* Subscribe to PREFIX.>. */
static int
fleet_watch_subscribe_all(struct fleet_watch *fw)
{
	char	*cause = NULL;
	int	 n = fw->o->buffer > 0 ? fw->o->buffer : FLEET_WATCH_PENDING_MSGS;

	fw->sub = ingest_subscribe(fw->conn, fw->pattern, n, fw->o->buffer > 0 ?
	    cli_buffer_bytes(n) : FLEET_WATCH_PENDING_BYTES, fleet_watch_deliver, fw, &cause);
	if (fw->sub == NULL) {
		cli_error("watch: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Stop reading, keep what nats.c already holds, commit, close. */
static void
fleet_watch_finish(struct fleet_watch *fw)
{
	char	*cause = NULL;

	if (fw->sub != NULL) {
		if (ingest_sub_drain(fw->sub, FLEET_WATCH_DRAIN_MS, &cause) != 0) {
			cli_error("watch: %s", cause);
			free(cause);
			cause = NULL;
		}
		fleet_watch_check_drops(fw);
		ingest_sub_free(fw->sub);
		fw->sub = NULL;
	}
	/* The connection's callbacks may still note things on the screen. */
	ingest_close(fw->conn);
	fw->conn = NULL;
	tui_screen_free(fw->screen);
	fw->screen = NULL;
	pthread_mutex_lock(&fw->lock);
	fleet_watch_commit(fw, 1);
	if (fw->error != NULL) {
		cli_error("watch: %s", fw->error);
		fw->rc = CLI_EXIT_FAIL;
	}
	if (fw->store != NULL && store_close(fw->store, &cause) != 0) {
		cli_error("watch: %s", cause);
		free(cause);
		fw->rc = CLI_EXIT_FAIL;
	}
	fw->store = NULL;
	pthread_mutex_unlock(&fw->lock);
}

/* watch --verdicts PREFIX. */
int
cli_fleet_watch(struct cli_globals *g, const struct cli_fleet_opts *o, const sigset_t *sigs)
{
	struct fleet_watch	*fw;
	struct tui_source	 src;
	char			*cause = NULL;
	int			 rc, started = 0;

	if ((fw = calloc(1, sizeof *fw)) == NULL) {
		cli_error("watch: out of memory");
		return CLI_EXIT_FAIL;
	}
	fw->o = o;
	fw->g = g;
	fw->rc = CLI_EXIT_OK;
	fw->sigs = *sigs;
	/* A closed terminal ends the console as q does, so the trail is
	   closed (and a temporary one removed). */
	sigaddset(&fw->sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &fw->sigs, NULL);
	atomic_init(&fw->state, INGEST_CONNECTING);
	atomic_init(&fw->downs, 0);
	atomic_init(&fw->ups, 0);
	atomic_init(&fw->down_ms, 0);
	atomic_init(&fw->up_ms, 0);
	pthread_mutex_init(&fw->lock, NULL);
	if (asprintf(&fw->pattern, "%s.>", o->prefix) < 0 ||
	    asprintf(&fw->view, "fleet verdicts on %s.>", o->prefix) < 0) {
		cli_error("watch: out of memory");
		fw->rc = CLI_EXIT_FAIL;
		goto out;
	}
	if (g->db != cli_default_db)
		fw->db = strdup(g->db);
	else if ((fw->db = fleet_watch_tempdb()) != NULL)
		fw->temporary = 1;
	if (fw->db == NULL || fleet_watch_open_store(fw) != 0) {
		fw->rc = CLI_EXIT_FAIL;
		goto out;
	}
	memset(&src, 0, sizeof src);
	src.db = fw->db;
	src.server = g->server;
	src.view = fw->view;
	src.status = fleet_watch_status;
	src.subscribe = fleet_watch_subscribe;
	src.tick = fleet_watch_tick;
	src.export = cli_console_export;
	src.arg = fw;
	if ((fw->screen = tui_screen_new(&src, &cause)) == NULL) {
		cli_error("watch: %s", cause);
		free(cause);
		fw->rc = CLI_EXIT_FAIL;
		goto out;
	}
	if ((rc = fleet_watch_connect(fw)) != 0) {
		fw->rc = rc > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;	/* > 0: interrupted */
		goto out;
	}
	if (fleet_watch_subscribe_all(fw) != 0) {
		fw->rc = CLI_EXIT_FAIL;
		goto out;
	}
	started = 1;
	fleet_watch_console(fw);
out:
	fleet_watch_finish(fw);
	if (fw->temporary)
		fleet_watch_remove_db(fw->db);
	if (started)
		fleet_watch_print_stats(fw);
	rc = fw->rc;
	free(fw->error);
	free(fw->pattern);
	free(fw->view);
	free(fw->db);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
	return rc;
}
