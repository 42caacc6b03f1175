/*
 * cli/cmd-demo.c -- `ztwatch demo`: a private nats-server, live traffic of
 * every kind, and the console (or the headless recorder).
 *
 * Everything the demo makes lives in one temporary folder (mkdtemp under
 * $TMPDIR or /tmp): fresh key pairs (auth_keygen), the secrets and the
 * policy of assets/demo-policy.json, the scenario, nats-server's
 * JetStream store and log, the publisher's log and the trail.  The folder
 * is removed when the demo ends, unless --keep.
 *
 * DESIGN: three processes, one supervisor.  The process that runs
 * `ztwatch demo` stays single-threaded and only supervises: it starts
 *   nats-server    (exec; its own process group, so a Ctrl-C on the
 *                   terminal does not stop it before the others),
 *   the viewer     (a fork running cmd_watch, or cmd_record with
 *                   --no-console, exactly as those commands run alone),
 *   the publisher  (a fork minting the scenario's mix with auth_mint and
 *                   publishing it through its own ingest connection),
 * and waits for signals and for its children with sigtimedwait().  The
 * viewer and the publisher are processes rather than threads because
 * the viewer's command ends by releasing nats.c's global state
 * (ingest_shutdown), which must not happen under a publisher still
 * running; and because a supervisor that shares nothing with them can
 * clean up whatever way they end -- a console that fails to start, a
 * crash, a signal.  Every child also asks the kernel for a signal should
 * the supervisor die first (PR_SET_PDEATHSIG: SIGTERM, SIGKILL for the
 * headless recorder), so even a SIGKILLed demo leaves no process behind
 * (only its folder).  With the console on the terminal, the publisher
 * writes to publisher.log in the folder, and its last line is shown after
 * the console closes.
 *
 * The end is always the same order: the publisher stops first (so the
 * viewer receives everything it sent), then the viewer (which commits
 * the trail and closes its session), then nats-server; then a summary of
 * the trail's verdicts by subject and by reason, and the folder goes.
 *
 * Where the assets are: --assets DIR, else $ZTWATCH_ASSETS, else
 * ./assets, else assets/ next to the binary or up to two folders above
 * it (build/test/ztwatch in a checkout).  nats-server is
 * $ZTWATCH_NATS_SERVER if set, else the first on $PATH, /usr/sbin,
 * /usr/local/sbin or /usr/local/bin.
 */
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "store.h"

#define DEMO_MAX_KEYS		32
#define DEMO_MAX_ENTRIES	256
#define DEMO_MAX_SUBJECTS	64
#define DEMO_MAX_FILE		(1 << 20)
#define DEMO_RATE		20		/* events/s when nobody says */
#define DEMO_MAX_RATE		10000
#define DEMO_TICK_MS		100
#define DEMO_PORT_WAIT_MS	10000		/* nats-server must listen by then */
#define DEMO_NATS_TRIES		3		/* a new port each time */
#define DEMO_STOP_PUB_MS	5000
#define DEMO_STOP_VIEWER_MS	30000		/* the recorder drains and commits */
#define DEMO_STOP_NATS_MS	10000

/* Traffic kinds beyond the tampers of auth_mint (which come first). */
enum {
	DEMO_NO_TOKEN = AUTH_TAMPER_COUNT,	/* the bare event, no token at all */
	DEMO_NO_POLICY,				/* a good token on a subject no rule covers */
	DEMO_FOREIGN_KEY,			/* signed by a key the policy does not trust */
	DEMO_KIND_COUNT
};

static const char *const demo_extra_kinds[] = { "no-token", "no-policy", "foreign-key" };

struct demo_opts {
	int		 console;
	long		 duration_s;		/* 0: until interrupted */
	long		 rate;			/* 0: the scenario's */
	int		 keep;
	const char	*assets;
};

/* A generated key pair (its private PEM) or a secret (its bytes). */
struct demo_key {
	const char	*name;			/* borrowed from the scenario */
	int		 secret;
	unsigned char	*priv;
	size_t		 priv_len;
};

/* One line of the mix: a stream of valid events, or an attack on one. */
struct demo_entry {
	char			*where;		/* "streams[2]", for messages */
	const char		*subject;	/* where it is published */
	const char		*rule;
	const char		*alg;		/* or NULL: the rule's first that fits */
	const char		*sub;		/* or NULL */
	const struct demo_key	*key;		/* or NULL: the rule's own secret */
	json_t			*events;	/* templates (borrowed) */
	size_t			 next_event;
	int			 kind;		/* AUTH_TAMPER_NONE for valid events */
	long			 weight, current;
};

struct demo {
	struct demo_opts	 o;
	char			 dir[PATH_MAX];
	int			 have_dir;
	char			*assets;
	char			*policy_path, *db_path;
	char			*nats_bin;
	char			 url[64];
	json_t			*scenario;
	struct auth_policy	*policy;
	struct demo_key		 keys[DEMO_MAX_KEYS];
	int			 nkeys;
	struct demo_entry	 entries[DEMO_MAX_ENTRIES];
	int			 nentries;
	long			 total_weight;
	const char		*subjects[DEMO_MAX_SUBJECTS];
	int			 nsubjects;
	long			 rate, start_delay_ms;
	uint64_t		 rng;
	uint64_t		 sent[DEMO_KIND_COUNT];
	uint64_t		 messages;
	pid_t			 nats, pub, viewer;
	int			 pub_status, viewer_status;
	sigset_t		 sigs;		/* INT, TERM, HUP: what ends the demo */
	sigset_t		 oldmask;
	struct termios		 tty;
	int			 have_tty;
};

/* Print the usage of demo. */
static void
demo_usage(FILE *f)
{
	fputs("usage: ztwatch demo [--no-console] [--duration S] [--rate N] [--keep]\n"
	    "           [--assets DIR]\n\n"
	    "Start a private nats-server (JetStream on, 127.0.0.1 only) in a temporary\n"
	    "folder, make fresh keys and the demo policy from assets/, publish a\n"
	    "continuous mix of valid events in all three wire formats and every kind of\n"
	    "attack, and open the console on it.  Quitting (q, SIGINT, SIGTERM) stops\n"
	    "everything, sums up the trail and removes the folder.  The global options\n"
	    "(-s, -p, -d, credentials) do not apply: the demo brings its own.\n\n"
	    "  --no-console    run the headless recorder instead of the console, and\n"
	    "                  print a summary of the verdicts by subject and reason\n"
	    "  --duration S    stop by itself after S seconds (default: when told)\n"
	    "  --rate N        events per second (default: the scenario's, else 20)\n"
	    "  --keep          keep the folder (keys, policy, trail, logs); prints its path\n"
	    "  --assets DIR    where demo-policy.json and demo-scenario.json are\n"
	    "                  (default: $ZTWATCH_ASSETS, ./assets, or assets/ by the binary)\n\n"
	    "nats-server is $ZTWATCH_NATS_SERVER, else the first on $PATH or in /usr/sbin.\n",
	    f);
}

/* A number option from min to max. */
static int
demo_number(const char *opt, const char *arg, long min, long max, long *out)
{
	char	*end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || *out < min || *out > max) {
		cli_error("demo: %s wants a number from %ld to %ld", opt, min, max);
		return -1;
	}
	return 0;
}

/* Parse the command line. */
static int
demo_parse(struct demo_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-console", no_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "keep", no_argument, NULL, 'k' },
		{ "assets", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	o->console = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->console = 0;
			break;
		case 'D':
			if (demo_number("--duration", optarg, 1, 366L * 86400, &o->duration_s) != 0)
				return -1;
			break;
		case 'r':
			if (demo_number("--rate", optarg, 1, DEMO_MAX_RATE, &o->rate) != 0)
				return -1;
			break;
		case 'k':
			o->keep = 1;
			break;
		case 'a':
			o->assets = optarg;
			break;
		case 'h':
			demo_usage(stdout);
			cli_help_done("demo");
		default:
			demo_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		cli_error("demo: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- files ------------------------------------------------------------------ */

/* A path inside the demo folder (allocated). */
static char *
demo_path(const struct demo *d, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", d->dir, name) < 0)
		abort();
	return p;
}

/* Read a whole file (at most DEMO_MAX_FILE bytes); NULL with errno set. */
static unsigned char *
demo_read(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*buf;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(DEMO_MAX_FILE + 1)) == NULL) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, DEMO_MAX_FILE + 1, f);
	if (ferror(f) || n > DEMO_MAX_FILE) {
		errno = ferror(f) ? EIO : EFBIG;
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Write data to name in the demo folder with mode; 0 or -1 (said). */
static int
demo_write(const struct demo *d, const char *name, const void *data, size_t len, mode_t mode)
{
	char	*path = demo_path(d, name);
	int	 fd, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd >= 0 && write(fd, data, len) == (ssize_t)len && close(fd) == 0) {
		fd = -1;
		rc = 0;
	}
	if (rc != 0) {
		cli_error("demo: cannot write '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(path);
	return rc;
}

/* Whether dir holds both demo files. */
static int
demo_assets_in(const char *dir)
{
	char	p[PATH_MAX];

	snprintf(p, sizeof p, "%s/demo-policy.json", dir);
	if (access(p, R_OK) != 0)
		return 0;
	snprintf(p, sizeof p, "%s/demo-scenario.json", dir);
	return access(p, R_OK) == 0;
}

/* Find the assets folder (see the top of the file); 0 or -1 (said). */
static int
demo_find_assets(struct demo *d)
{
	char		 exe[PATH_MAX], p[PATH_MAX], *slash;
	const char	*env = getenv("ZTWATCH_ASSETS");
	ssize_t		 n;
	int		 up;

	if (d->o.assets != NULL || (env != NULL && *env != '\0')) {
		const char	*dir = d->o.assets != NULL ? d->o.assets : env;

		if (!demo_assets_in(dir)) {
			cli_error("demo: no demo-policy.json and demo-scenario.json in '%s'", dir);
			return -1;
		}
		d->assets = strdup(dir);
		return 0;
	}
	if (demo_assets_in("assets")) {
		d->assets = strdup("assets");
		return 0;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = '\0';
		for (up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++) {
			*slash = '\0';
			if ((size_t)snprintf(p, sizeof p, "%s/assets", exe) < sizeof p &&
			    demo_assets_in(p)) {
				d->assets = strdup(p);
				return 0;
			}
		}
	}
	cli_error("demo: cannot find the demo's assets (demo-policy.json, demo-scenario.json):"
	    " run it from the checkout, or give --assets DIR");
	return -1;
}

/* Find nats-server; 0 or -1 (said). */
static int
demo_find_nats(struct demo *d)
{
	const char	*env = getenv("ZTWATCH_NATS_SERVER"), *path = getenv("PATH");
	const char	*extra[] = { "/usr/sbin", "/usr/local/sbin", "/usr/local/bin" };
	char		*dirs, *dir, *save = NULL, p[PATH_MAX];
	size_t		 i;

	if (env != NULL && *env != '\0') {
		if (access(env, X_OK) == 0) {
			d->nats_bin = strdup(env);
			return 0;
		}
	} else {
		dirs = strdup(path != NULL ? path : "/usr/bin:/bin");
		for (dir = strtok_r(dirs, ":", &save); dir != NULL && d->nats_bin == NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			snprintf(p, sizeof p, "%s/nats-server", *dir ? dir : ".");
			if (access(p, X_OK) == 0)
				d->nats_bin = strdup(p);
		}
		free(dirs);
		for (i = 0; i < sizeof extra / sizeof extra[0] && d->nats_bin == NULL; i++) {
			snprintf(p, sizeof p, "%s/nats-server", extra[i]);
			if (access(p, X_OK) == 0)
				d->nats_bin = strdup(p);
		}
		if (d->nats_bin != NULL)
			return 0;
	}
	cli_error("demo: nats-server not found; ./dev demo installs it");
	return -1;
}

/* Remove one file or folder (nftw callback). */
static int
demo_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (remove(path) != 0)
		cli_error("demo: cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

/* Print the last lines of a log of the folder on stderr (under a header). */
static void
demo_log_tail(const struct demo *d, const char *name, int lines, int header)
{
	char		*path = demo_path(d, name);
	unsigned char	*text;
	size_t		 len = 0, i, start;
	int		 seen = 0;

	text = demo_read(path, &len);
	free(path);
	if (text == NULL || len == 0) {
		free(text);
		return;
	}
	while (len > 0 && text[len - 1] == '\n')
		len--;
	for (start = len; start > 0; start--) {
		if (text[start - 1] == '\n' && ++seen == lines)
			break;
	}
	if (header)
		fprintf(stderr, "ztwatch: demo: %s says:\n  ", name);
	for (i = start; i < len; i++) {
		if (text[i] == '\n')
			fputs(header ? "\n  " : "\n", stderr);
		else if (text[i] < 0x20 || text[i] > 0x7e)
			fprintf(stderr, "\\x%02x", text[i]);
		else
			fputc(text[i], stderr);
	}
	fputc('\n', stderr);
	free(text);
}

/* ---- the scenario ----------------------------------------------------------- */

/* Key type for a scenario's name ("RSA-2048", "EC P-256", ...); -1 if none. */
static int
demo_key_type(const char *s)
{
	static const struct {
		const char		*name;
		enum auth_key_type	 type;
	} types[] = {
		{ "RSA-2048", AUTH_KEY_RSA }, { "EC P-256", AUTH_KEY_EC_P256 },
		{ "EC P-384", AUTH_KEY_EC_P384 }, { "EC P-521", AUTH_KEY_EC_P521 },
		{ "Ed25519", AUTH_KEY_ED25519 }
	};
	size_t	i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strcmp(types[i].name, s) == 0)
			return (int)types[i].type;
	}
	return -1;
}

/* Kind for an attack's name; -1 if unknown (valid is not an attack). */
static int
demo_kind(const char *name)
{
	size_t	i;
	int	t = auth_tamper_from_name(name);

	if (t > AUTH_TAMPER_NONE)
		return t;
	for (i = 0; i < sizeof demo_extra_kinds / sizeof demo_extra_kinds[0]; i++) {
		if (strcmp(demo_extra_kinds[i], name) == 0)
			return AUTH_TAMPER_COUNT + (int)i;
	}
	return -1;
}

/* Name of a kind ("valid" for none). */
static const char *
demo_kind_name(int kind)
{
	if (kind == AUTH_TAMPER_NONE)
		return "valid";
	if (kind < AUTH_TAMPER_COUNT)
		return auth_tamper_name(kind);
	return demo_extra_kinds[kind - AUTH_TAMPER_COUNT];
}

/* The key or secret named name, or NULL. */
static const struct demo_key *
demo_key(const struct demo *d, const char *name)
{
	int	i;

	for (i = 0; i < d->nkeys; i++) {
		if (strcmp(d->keys[i].name, name) == 0)
			return &d->keys[i];
	}
	return NULL;
}

/* Make the scenario's keys and secrets in the folder; 0 or -1 (said). */
static int
demo_make_keys(struct demo *d, const char *file)
{
	json_t		*keys = json_object_get(d->scenario, "keys");
	json_t		*secrets = json_object_get(d->scenario, "secrets"), *v;
	const char	*name;
	char		*priv, *pub, *cause = NULL, fname[256];
	int		 type;

	if (!json_is_object(keys) || (secrets != NULL && !json_is_object(secrets))) {
		cli_error("demo: %s: 'keys' (and 'secrets') must be objects", file);
		return -1;
	}
	json_object_foreach(keys, name, v) {
		if (d->nkeys == DEMO_MAX_KEYS || strlen(name) > 64 || strpbrk(name, "/.") != NULL ||
		    !json_is_string(v) || (type = demo_key_type(json_string_value(v))) < 0) {
			cli_error("demo: %s: keys.%s: want a short plain name and a type (RSA-2048,"
			    " EC P-256, EC P-384, EC P-521, Ed25519)", file, name);
			return -1;
		}
		if (auth_keygen((enum auth_key_type)type, &priv, &pub, &cause) != 0) {
			cli_error("demo: key '%s': %s", name, cause);
			free(cause);
			return -1;
		}
		d->keys[d->nkeys].name = name;
		d->keys[d->nkeys].priv = (unsigned char *)priv;
		d->keys[d->nkeys++].priv_len = strlen(priv);
		snprintf(fname, sizeof fname, "%s.pem", name);
		if (demo_write(d, fname, priv, strlen(priv), 0600) != 0) {
			free(pub);
			return -1;
		}
		snprintf(fname, sizeof fname, "%s.pub.pem", name);
		if (demo_write(d, fname, pub, strlen(pub), 0644) != 0) {
			free(pub);
			return -1;
		}
		free(pub);
	}
	json_object_foreach(secrets, name, v) {
		if (d->nkeys == DEMO_MAX_KEYS || strlen(name) > 64 || strpbrk(name, "/.") != NULL ||
		    !json_is_string(v) || demo_key(d, name) != NULL) {
			cli_error("demo: %s: secrets.%s: want a short plain name, not a key's,"
			    " and a string", file, name);
			return -1;
		}
		d->keys[d->nkeys].name = name;
		d->keys[d->nkeys].secret = 1;
		d->keys[d->nkeys].priv_len = json_string_length(v);
		if ((d->keys[d->nkeys].priv = malloc(json_string_length(v) + 1)) == NULL)
			abort();
		memcpy(d->keys[d->nkeys].priv, json_string_value(v), json_string_length(v) + 1);
		d->nkeys++;
		snprintf(fname, sizeof fname, "%s.secret", name);
		if (demo_write(d, fname, json_string_value(v), json_string_length(v), 0600) != 0)
			return -1;
	}
	return 0;
}

/* An optional string member; 0, or -1 when present but not a string. */
static int
demo_string(json_t *o, const char *member, const char **out)
{
	json_t	*v = json_object_get(o, member);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Add a subject to the recorded list unless there. */
static int
demo_add_subject(struct demo *d, const char *subject)
{
	int	i;

	for (i = 0; i < d->nsubjects; i++) {
		if (strcmp(d->subjects[i], subject) == 0)
			return 0;
	}
	if (d->nsubjects == DEMO_MAX_SUBJECTS)
		return -1;
	d->subjects[d->nsubjects++] = subject;
	return 0;
}

/* Read one stream or attack into a new entry; 0 or -1 (said). */
static int
demo_entry(struct demo *d, const char *file, const char *list, size_t i, json_t *o)
{
	struct demo_entry	*e, *stream = NULL;
	const char		*kind = NULL, *sname = NULL, *key = NULL;
	json_t			*w;
	int			 j;

	if (d->nentries == DEMO_MAX_ENTRIES) {
		cli_error("demo: %s: at most %d streams and attacks", file, DEMO_MAX_ENTRIES);
		return -1;
	}
	e = &d->entries[d->nentries];
	memset(e, 0, sizeof *e);
	if (asprintf(&e->where, "%s: %s[%zu]", file, list, i) < 0)
		abort();
	d->nentries++;
	if (!json_is_object(o) || demo_string(o, "subject", &e->subject) != 0 ||
	    demo_string(o, "rule", &e->rule) != 0 || demo_string(o, "alg", &e->alg) != 0 ||
	    demo_string(o, "sub", &e->sub) != 0 || demo_string(o, "sign_key", &key) != 0 ||
	    demo_string(o, "kind", &kind) != 0 || demo_string(o, "stream", &sname) != 0) {
		cli_error("demo: %s: must be an object whose members are strings", e->where);
		return -1;
	}
	w = json_object_get(o, "weight");
	e->weight = w == NULL ? 1 : json_is_integer(w) ? (long)json_integer_value(w) : -1;
	if (e->weight < 0 || e->weight > 1000) {
		cli_error("demo: %s: weight: want a whole number from 0 to 1000", e->where);
		return -1;
	}
	if (strcmp(list, "attacks") == 0) {
		if (kind == NULL || (e->kind = demo_kind(kind)) < 0) {
			cli_error("demo: %s: kind: want one of payload, signature, expired,"
			    " audience, scope, alg-none, key-confusion, replay, no-token,"
			    " no-policy, foreign-key", e->where);
			return -1;
		}
		for (j = 0; sname != NULL && j < d->nentries - 1 && stream == NULL; j++) {
			if (d->entries[j].kind == AUTH_TAMPER_NONE &&
			    strcmp(d->entries[j].subject, sname) == 0)
				stream = &d->entries[j];
		}
		if (stream == NULL) {
			cli_error("demo: %s: stream: want the subject of one of the streams",
			    e->where);
			return -1;
		}
		if (e->subject == NULL)
			e->subject = stream->subject;
		if (e->rule == NULL)
			e->rule = stream->rule;
		if (e->alg == NULL && key == NULL)
			e->alg = stream->alg;
		if (e->sub == NULL)
			e->sub = stream->sub;
		e->key = stream->key;
		e->events = stream->events;
		if ((e->kind == DEMO_FOREIGN_KEY) != (key != NULL)) {
			cli_error("demo: %s: sign_key goes with (and only with) kind foreign-key",
			    e->where);
			return -1;
		}
		if (e->kind == DEMO_NO_POLICY && auth_policy_match(d->policy, e->subject) >= 0) {
			cli_error("demo: %s: no-policy wants a subject no rule covers", e->where);
			return -1;
		}
	} else {
		e->events = json_object_get(o, "events");
		if (e->subject == NULL || !json_is_array(e->events) ||
		    json_array_size(e->events) == 0) {
			cli_error("demo: %s: a stream wants a subject and a list of events",
			    e->where);
			return -1;
		}
	}
	if (key != NULL && (e->key = demo_key(d, key)) == NULL) {
		cli_error("demo: %s: sign_key: no key or secret '%s' in the scenario", e->where,
		    key);
		return -1;
	}
	if (!auth_subject_valid(e->subject, 0) || demo_add_subject(d, e->subject) != 0) {
		cli_error("demo: %s: '%s' is not a subject to publish on (or too many"
		    " subjects)", e->where, e->subject);
		return -1;
	}
	d->total_weight += e->weight;
	return 0;
}

/* Read the streams and attacks of the scenario; 0 or -1 (said). */
static int
demo_load_entries(struct demo *d, const char *file)
{
	json_t	*streams = json_object_get(d->scenario, "streams");
	json_t	*attacks = json_object_get(d->scenario, "attacks"), *v;
	size_t	 i;

	if (!json_is_array(streams) || json_array_size(streams) == 0 ||
	    (attacks != NULL && !json_is_array(attacks))) {
		cli_error("demo: %s: 'streams' must be a list of streams, 'attacks' a list",
		    file);
		return -1;
	}
	json_array_foreach(streams, i, v) {
		if (demo_entry(d, file, "streams", i, v) != 0)
			return -1;
	}
	json_array_foreach(attacks, i, v) {
		if (demo_entry(d, file, "attacks", i, v) != 0)
			return -1;
	}
	if (d->total_weight == 0) {
		cli_error("demo: %s: every weight is 0: nothing to publish", file);
		return -1;
	}
	return 0;
}

/* Read the scenario (already copied into the folder); 0 or -1 (said). */
static int
demo_load_scenario(struct demo *d)
{
	char		*path = demo_path(d, "scenario.json");
	json_error_t	 err;
	json_t		*v;
	int		 rc = -1;

	if ((d->scenario = json_load_file(path, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		cli_error("demo: %s/demo-scenario.json: line %d: %s", d->assets, err.line,
		    err.text);
		goto out;
	}
	if (!json_is_object(d->scenario)) {
		cli_error("demo: %s/demo-scenario.json: not a JSON object", d->assets);
		goto out;
	}
	d->rate = DEMO_RATE;
	if ((v = json_object_get(d->scenario, "rate")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > DEMO_MAX_RATE) {
			cli_error("demo: %s/demo-scenario.json: rate: want 1 to %d events/s",
			    d->assets, DEMO_MAX_RATE);
			goto out;
		}
		d->rate = (long)json_integer_value(v);
	}
	if ((v = json_object_get(d->scenario, "start_delay_ms")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 60000) {
			cli_error("demo: %s/demo-scenario.json: start_delay_ms: want 0 to 60000",
			    d->assets);
			goto out;
		}
		d->start_delay_ms = (long)json_integer_value(v);
	}
	if (d->o.rate > 0)
		d->rate = d->o.rate;
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- events ---------------------------------------------------------------- */

/* Next pseudo-random number (xorshift64*; events need variety, not secrecy). */
static uint64_t
demo_random(struct demo *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ULL;
}

/* Seed the generator. */
static void
demo_seed(struct demo *d)
{
	struct timespec	ts;

	if (getrandom(&d->rng, sizeof d->rng, 0) != (ssize_t)sizeof d->rng) {
		clock_gettime(CLOCK_REALTIME, &ts);
		d->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
	}
	if (d->rng == 0)
		d->rng = 0x9e3779b97f4a7c15ULL;
}

/* The value a "$..." placeholder stands for (new reference), or NULL. */
static json_t *
demo_placeholder(struct demo *d, const char *s, uint64_t seq, char **cause)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 buf[64], *end, *copy, *p, *alt[64];
	long long	 lo, hi;
	uint64_t	 a, b;
	size_t		 n = 0;
	json_t		*v;

	if (strncmp(s, "$$", 2) == 0)
		return json_string(s + 1);
	if (strcmp(s, "$uuid") == 0) {
		a = demo_random(d);
		b = demo_random(d);
		snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx",
		    (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
		    (unsigned long long)(a & 0xfff),
		    (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)),
		    (unsigned long long)(b & 0xffffffffffffULL));
		return json_string(buf);
	}
	if (strcmp(s, "$now") == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ts.tv_nsec / 1000000);
		return json_string(buf);
	}
	if (strcmp(s, "$seq") == 0)
		return json_integer((json_int_t)seq);
	if (strncmp(s, "$int:", 5) == 0) {
		errno = 0;
		lo = strtoll(s + 5, &end, 10);
		if (errno == 0 && end != s + 5 && *end == ':') {
			p = end + 1;
			hi = strtoll(p, &end, 10);
			if (errno == 0 && end != p && *end == '\0' && lo <= hi && hi - lo < (1LL << 48))
				return json_integer((json_int_t)(lo + (long long)(demo_random(d) %
				    (uint64_t)(hi - lo + 1))));
		}
		*cause = strdup("$int:LO:HI wants two whole numbers, LO <= HI");
		return NULL;
	}
	if (strncmp(s, "$pick:", 6) == 0 && s[6] != '\0') {
		if ((copy = strdup(s + 6)) == NULL)
			abort();
		for (p = copy; n < sizeof alt / sizeof alt[0]; n++) {
			alt[n] = p;
			if ((p = strchr(p, '|')) == NULL) {
				n++;
				break;
			}
			*p++ = '\0';
		}
		v = json_string(alt[demo_random(d) % n]);
		free(copy);
		return v;
	}
	if (asprintf(cause, "unknown placeholder '%.40s' (want $uuid, $now, $seq, $int:LO:HI,"
	    " $pick:A|B, or $$ for a plain $)", s) < 0)
		abort();
	return NULL;
}

/* A copy of the template with its placeholders filled (new reference). */
static json_t *
demo_expand(struct demo *d, json_t *t, uint64_t seq, char **cause)
{
	json_t		*out, *v, *x;
	const char	*k;
	size_t		 i;

	if (json_is_string(t) && json_string_value(t)[0] == '$')
		return demo_placeholder(d, json_string_value(t), seq, cause);
	if (json_is_object(t)) {
		out = json_object();
		json_object_foreach(t, k, v) {
			if ((x = demo_expand(d, v, seq, cause)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, k, x);
		}
		return out;
	}
	if (json_is_array(t)) {
		out = json_array();
		json_array_foreach(t, i, v) {
			if ((x = demo_expand(d, v, seq, cause)) == NULL) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, x);
		}
		return out;
	}
	return json_deep_copy(t);
}

/*
 * Build message number seq of entry e into *mt (release it with
 * auth_minted_free, also after a failure).  0, or -1 with *cause.
 */
static int
demo_build(struct demo *d, struct demo_entry *e, uint64_t seq, struct auth_minted *mt,
    char **cause)
{
	struct auth_mint_opts	 mo;
	struct timespec		 ts;
	json_t			*ev;
	char			*text;
	int			 rc;

	memset(mt, 0, sizeof *mt);
	ev = demo_expand(d, json_array_get(e->events, e->next_event), seq, cause);
	e->next_event = (e->next_event + 1) % json_array_size(e->events);
	if (ev == NULL)
		return -1;
	text = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(ev);
	if (text == NULL) {
		*cause = strdup("cannot write the event as JSON");
		return -1;
	}
	if (e->kind == DEMO_NO_TOKEN) {
		/* The event alone, as if the publisher never asked for a token. */
		mt->subject = strdup(e->subject);
		mt->body = (unsigned char *)text;
		mt->msg.subject = mt->subject;
		mt->msg.body = mt->body;
		mt->msg.body_len = strlen(text);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&mo, 0, sizeof mo);
	mo.rule = e->rule;
	if (e->key != NULL) {
		mo.key = e->key->priv;
		mo.key_len = e->key->priv_len;
	}
	mo.alg = e->alg;
	mo.sub = e->sub;
	mo.tamper = e->kind < AUTH_TAMPER_COUNT ? (enum auth_tamper)e->kind : AUTH_TAMPER_NONE;
	/* time(), not ts.tv_sec: the recorder judges by time(), a coarser clock
	   that may still show the previous second for a few milliseconds, and a
	   rule without leeway would call a token issued "now" not yet valid. */
	mo.now = time(NULL);
	mo.now_nsec = ts.tv_nsec;
	rc = auth_mint(d->policy, e->subject, (const unsigned char *)text, strlen(text), &mo,
	    mt, cause);
	free(text);
	return rc;
}

/* Mint one message of every entry now, so a bad scenario stops the start. */
static int
demo_check_entries(struct demo *d)
{
	struct auth_minted	 mt;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < d->nentries; i++) {
		if (demo_build(d, &d->entries[i], 0, &mt, &cause) != 0) {
			cli_error("demo: %s: %s", d->entries[i].where, cause);
			free(cause);
			auth_minted_free(&mt);
			return -1;
		}
		auth_minted_free(&mt);
		d->entries[i].next_event = 0;
	}
	return 0;
}

/*
 * The next entry of the mix: smooth weighted round robin, so each cycle of
 * total_weight messages holds every entry exactly weight times, spread out.
 */
static struct demo_entry *
demo_next(struct demo *d)
{
	struct demo_entry	*best = NULL;
	int			 i;

	for (i = 0; i < d->nentries; i++) {
		d->entries[i].current += d->entries[i].weight;
		if (d->entries[i].weight > 0 &&
		    (best == NULL || d->entries[i].current > best->current))
			best = &d->entries[i];
	}
	best->current -= d->total_weight;
	return best;
}

/* ---- processes --------------------------------------------------------------- */

/* Wait at most ms for one of d->sigs; the signal, or 0 after ms. */
static int
demo_wait_signal(struct demo *d, int64_t ms)
{
	struct timespec	ts;
	int		sig;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	do
		sig = sigtimedwait(&d->sigs, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	return sig > 0 ? sig : 0;
}

/* A free TCP port on 127.0.0.1, or 0. */
static int
demo_free_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof sa;
	int			fd, port = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Whether something accepts connections on 127.0.0.1:port. */
static int
demo_port_open(int port)
{
	struct sockaddr_in	sa;
	int			fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/*
 * In a new child: end with the supervisor (deathsig), and the signal mask
 * children start with.
 */
static void
demo_child_setup(struct demo *d, pid_t parent, int deathsig, int own_group, int unblock)
{
	sigset_t	mask = d->oldmask;

	prctl(PR_SET_PDEATHSIG, deathsig);
	if (getppid() != parent)
		_exit(1);		/* the supervisor is gone already */
	if (own_group)
		setpgid(0, 0);
	sigdelset(&mask, SIGCHLD);
	if (unblock) {
		sigdelset(&mask, SIGINT);
		sigdelset(&mask, SIGTERM);
		sigdelset(&mask, SIGHUP);
	} else {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
	}
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

/* Point stdin at /dev/null, stdout and stderr at a new log of the folder. */
static void
demo_redirect(struct demo *d, const char *name)
{
	char	*path = demo_path(d, name);
	int	 fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), nul;

	free(path);
	if (fd < 0)
		_exit(127);
	fflush(stdout);
	fflush(stderr);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if ((nul = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	}
}

/* Start nats-server on a free port; its pid, or -1 (said). */
static pid_t
demo_exec_nats(struct demo *d, int port)
{
	char	 portbuf[16], *js = demo_path(d, "js");
	char	*argv[] = { d->nats_bin, (char *)"-a", (char *)"127.0.0.1", (char *)"-p",
		    portbuf, (char *)"-js", (char *)"-sd", js, NULL };
	pid_t	 pid, parent = getpid();

	snprintf(portbuf, sizeof portbuf, "%d", port);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		demo_child_setup(d, parent, SIGTERM, 1, 1);
		demo_redirect(d, "nats-server.log");
		execv(d->nats_bin, argv);
		fprintf(stderr, "cannot run %s: %s\n", d->nats_bin, strerror(errno));
		_exit(127);
	}
	free(js);
	if (pid < 0)
		cli_error("demo: cannot start nats-server: %s", strerror(errno));
	else
		setpgid(pid, pid);
	return pid;
}

/* Reap pid if it ended; 1 and *status set, or 0 while it runs. */
static int
demo_reaped(pid_t pid, int *status)
{
	pid_t	r;

	do
		r = waitpid(pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	return r == pid || (r < 0 && errno == ECHILD);
}

/* SIGTERM pid and wait at most ms, then SIGKILL; its status. */
static int
demo_stop(struct demo *d, pid_t pid, int ms, const char *what)
{
	int64_t	deadline = auth_mono_ms() + ms;
	int	status = 0;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	while (!demo_reaped(pid, &status)) {
		if (auth_mono_ms() >= deadline) {
			cli_error("demo: the %s did not stop within %d s; killing it", what,
			    ms / 1000);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		demo_wait_signal(d, 20);	/* already stopping: a signal changes nothing */
	}
	return status;
}

/* Say how a child ended, when not well. */
static void
demo_report_status(const char *what, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		cli_error("demo: the %s exited with status %d", what, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		cli_error("demo: the %s was killed by signal %d", what, WTERMSIG(status));
}

/* Start nats-server and wait until it listens; 0, -1 (said), or 1 if told to stop. */
static int
demo_start_nats(struct demo *d)
{
	int64_t	deadline;
	int	tries, port, status = 0, sig;

	for (tries = 0; tries < DEMO_NATS_TRIES; tries++) {
		if ((port = demo_free_port()) == 0) {
			cli_error("demo: no free port on 127.0.0.1");
			return -1;
		}
		if ((d->nats = demo_exec_nats(d, port)) < 0)
			return -1;
		deadline = auth_mono_ms() + DEMO_PORT_WAIT_MS;
		while (auth_mono_ms() < deadline) {
			if (demo_port_open(port)) {
				snprintf(d->url, sizeof d->url, "nats://127.0.0.1:%d", port);
				return 0;
			}
			if (demo_reaped(d->nats, &status)) {
				d->nats = 0;
				break;
			}
			if ((sig = demo_wait_signal(d, 50)) != 0)
				return 1;
		}
		if (d->nats > 0) {
			cli_error("demo: nats-server did not listen on port %d within %d s", port,
			    DEMO_PORT_WAIT_MS / 1000);
			demo_log_tail(d, "nats-server.log", 8, 1);
			return -1;
		}
	}
	cli_error("demo: nats-server exited at start (%s %d)", WIFEXITED(status) ? "status" :
	    "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	demo_log_tail(d, "nats-server.log", 8, 1);
	return -1;
}

/* ---- the publisher (a child) ------------------------------------------------- */

/* Print what was published, by kind, on stderr. */
static void
demo_print_sent(const struct demo *d)
{
	uint64_t	attacks = 0;
	int		k, first = 1;

	for (k = AUTH_TAMPER_NONE + 1; k < DEMO_KIND_COUNT; k++)
		attacks += d->sent[k];
	fprintf(stderr, "ztwatch: demo: published %llu messages: %llu valid events, %llu attacks",
	    (unsigned long long)d->messages, (unsigned long long)d->sent[AUTH_TAMPER_NONE],
	    (unsigned long long)attacks);
	for (k = AUTH_TAMPER_NONE + 1; k < DEMO_KIND_COUNT; k++) {
		if (d->sent[k] == 0)
			continue;
		fprintf(stderr, "%s%s %llu", first ? " (" : ", ", demo_kind_name(k),
		    (unsigned long long)d->sent[k]);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", stderr);
}

/* Publish the mix at the rate until SIGTERM; an exit code. */
static int
demo_publisher(struct demo *d)
{
	struct ingest_conn_opts	 co;
	struct ingest_conn	*c;
	struct auth_minted	 mt;
	struct demo_entry	*e;
	char			*cause = NULL;
	int64_t			 next_us, now_us, step_us = 1000000 / d->rate;
	uint64_t		 seq;
	int			 i, times, rc = CLI_EXIT_OK;

	demo_seed(d);
	memset(&co, 0, sizeof co);
	co.servers = d->url;
	co.name = "ztwatch demo publisher";
	if ((c = ingest_connect(&co, &cause)) == NULL) {
		cli_error("demo: publisher: %s", cause);
		free(cause);
		ingest_shutdown();
		return CLI_EXIT_FAIL;
	}
	/* A head start for the viewer to subscribe. */
	if (demo_wait_signal(d, d->start_delay_ms) != 0)
		goto done;
	next_us = auth_mono_ms() * 1000;
	for (seq = 1;; seq++) {
		e = demo_next(d);
		if (demo_build(d, e, seq, &mt, &cause) != 0) {
			cli_error("demo: publisher: %s: %s", e->where, cause);
			free(cause);
			auth_minted_free(&mt);
			rc = CLI_EXIT_FAIL;
			break;
		}
		times = e->kind == AUTH_TAMPER_REPLAY ? 2 : 1;
		for (i = 0; i < times && rc == CLI_EXIT_OK; i++) {
			if (ingest_publish(c, &mt.msg, &cause) != 0) {
				cli_error("demo: publisher: %s", cause);
				free(cause);
				rc = CLI_EXIT_FAIL;
			}
		}
		auth_minted_free(&mt);
		if (rc != CLI_EXIT_OK)
			break;
		d->sent[e->kind]++;
		d->messages += (uint64_t)times;
		next_us += step_us;
		now_us = auth_mono_ms() * 1000;
		if (next_us < now_us - 1000000)
			next_us = now_us;	/* behind by a second: do not rush to catch up */
		if (demo_wait_signal(d, (next_us - now_us) / 1000) != 0)
			break;
	}
done:
	if (ingest_flush(c, 5000, &cause) != 0) {
		cli_error("demo: publisher: %s", cause);
		free(cause);
		rc = CLI_EXIT_FAIL;
	}
	ingest_close(c);
	ingest_shutdown();
	demo_print_sent(d);
	return rc;
}

/* ---- the viewer (a child) ------------------------------------------------------ */

/* Run the console, or the recorder; an exit code. */
static int
demo_viewer(struct demo *d)
{
	struct cli_globals	 g;
	char			*argv[DEMO_MAX_SUBJECTS + 8];
	int			 argc = 0, i;

	memset(&g, 0, sizeof g);
	g.server = d->url;
	g.policy = d->policy_path;
	g.db = d->db_path;
	if (d->o.console) {
		argv[argc++] = (char *)"watch";
	} else {
		argv[argc++] = (char *)"record";
		argv[argc++] = (char *)"--stats";
		argv[argc++] = (char *)"1";
	}
	for (i = 0; i < d->nsubjects; i++)
		argv[argc++] = (char *)d->subjects[i];
	argv[argc] = NULL;
	optind = 0;
	if (d->o.console)
		return cmd_watch(&g, argc, argv);
	return cmd_record(&g, argc, argv);
}

/* Free what the demo holds. */
static void
demo_free(struct demo *d)
{
	int	i;

	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].priv != NULL)
			memset(d->keys[i].priv, 0, d->keys[i].priv_len);
		free(d->keys[i].priv);
	}
	d->nkeys = 0;
	for (i = 0; i < d->nentries; i++)
		free(d->entries[i].where);
	d->nentries = 0;
	auth_policy_free(d->policy);
	d->policy = NULL;
	json_decref(d->scenario);
	d->scenario = NULL;
	free(d->assets);
	free(d->policy_path);
	free(d->db_path);
	free(d->nats_bin);
	d->assets = d->policy_path = d->db_path = d->nats_bin = NULL;
}

/* Fork a child running fn; its pid, or -1 (said). */
static pid_t
demo_fork(struct demo *d, const char *what, int (*fn)(struct demo *), int own_group,
    const char *log)
{
	pid_t	pid, parent = getpid();
	int	rc;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		cli_error("demo: cannot start the %s: %s", what, strerror(errno));
		return -1;
	}
	if (pid > 0) {
		if (own_group)
			setpgid(pid, pid);
		return pid;
	}
	/* Should the supervisor die, nats-server goes at the same moment, and a
	   recorder told to stop would then wait out its drain timeouts on a dead
	   connection: the headless one is killed outright (its trail keeps every
	   committed batch), the console gets SIGTERM to give the terminal back. */
	demo_child_setup(d, parent, fn == demo_viewer && !d->o.console ? SIGKILL : SIGTERM,
	    own_group, 0);
	if (log != NULL)
		demo_redirect(d, log);
	rc = fn(d);
	demo_free(d);
	fflush(stdout);
	fflush(stderr);
	exit(rc);
}

/* ---- the supervisor ------------------------------------------------------------- */

/*
 * Wait for the end: the viewer quitting, a signal, the duration, or a
 * child failing.  Stops the publisher and the viewer, in that order.
 * Returns an exit code.
 */
static int
demo_supervise(struct demo *d)
{
	int64_t		 deadline = d->o.duration_s > 0 ? auth_mono_ms() +
			    d->o.duration_s * 1000 : 0;
	int		 status, rc = CLI_EXIT_OK, sig;
	const char	*why = NULL;

	for (;;) {
		if (demo_reaped(d->viewer, &d->viewer_status)) {
			d->viewer = 0;
			break;
		}
		if (demo_reaped(d->pub, &d->pub_status)) {
			d->pub = 0;
			why = "the publisher stopped";
			rc = CLI_EXIT_FAIL;
			break;
		}
		if (demo_reaped(d->nats, &status)) {
			d->nats = 0;
			demo_report_status("nats-server", status);
			why = "nats-server stopped";
			rc = CLI_EXIT_FAIL;
			break;
		}
		if (deadline != 0 && auth_mono_ms() >= deadline)
			break;
		if ((sig = demo_wait_signal(d, DEMO_TICK_MS)) != 0)
			break;
	}
	if (why != NULL)
		cli_error("demo: %s; ending the demo", why);
	if (d->pub > 0) {
		d->pub_status = demo_stop(d, d->pub, DEMO_STOP_PUB_MS, "publisher");
		d->pub = 0;
	}
	if (d->viewer > 0) {
		d->viewer_status = demo_stop(d, d->viewer, DEMO_STOP_VIEWER_MS,
		    d->o.console ? "console" : "recorder");
		d->viewer = 0;
	}
	if (d->have_tty && d->o.console && WIFSIGNALED(d->viewer_status))
		tcsetattr(STDIN_FILENO, TCSANOW, &d->tty);
	if (WIFEXITED(d->viewer_status) && WEXITSTATUS(d->viewer_status) != 0 &&
	    rc == CLI_EXIT_OK)
		rc = WEXITSTATUS(d->viewer_status);
	else if (WIFSIGNALED(d->viewer_status)) {
		demo_report_status(d->o.console ? "console" : "recorder", d->viewer_status);
		rc = CLI_EXIT_FAIL;
	}
	if (!WIFEXITED(d->pub_status) || WEXITSTATUS(d->pub_status) != 0) {
		if (d->o.console)
			demo_log_tail(d, "publisher.log", 8, 1);
		else
			demo_report_status("publisher", d->pub_status);
		rc = rc == CLI_EXIT_OK ? CLI_EXIT_FAIL : rc;
	} else if (d->o.console) {
		demo_log_tail(d, "publisher.log", 1, 0);	/* what it published */
	}
	return rc;
}

/* Print s with every byte but printable ASCII escaped, padded to width. */
static void
demo_print_safe(const char *s, int width)
{
	int	n = 0;

	for (; *s != '\0'; s++, n++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			n += printf("\\x%02x", (unsigned char)*s) - 1;
		else
			putchar(*s);
	}
	for (; n < width; n++)
		putchar(' ');
}

/* store_count_subjects callback: one line per subject. */
static void
demo_subject_line(const struct store_subject_count *c, void *arg)
{
	fputs("    ", stdout);
	demo_print_safe(c->subject, 22);
	printf(" %7lld %7lld %7lld\n", (long long)c->events, (long long)c->pass,
	    (long long)c->fail);
}

/* Sum up the trail: verdicts by subject and by reason, on stdout. */
static void
demo_summary(struct demo *d)
{
	struct store_filter	 f;
	struct store		*st;
	struct store_cursor	*cur = NULL;
	const struct store_row	*row;
	int64_t			 reasons[AUTH_REASON_COUNT + 1], pass = 0, fail = 0;
	char			*cause = NULL;
	int			 r, i;

	if (access(d->db_path, F_OK) != 0)
		return;			/* the viewer never opened it */
	if ((st = store_open_reader(d->db_path, &cause)) == NULL) {
		cli_error("demo: %s", cause);
		free(cause);
		return;
	}
	memset(reasons, 0, sizeof reasons);
	memset(&f, 0, sizeof f);
	f.kinds = STORE_KIND_EVENT;
	if ((cur = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause)) == NULL)
		goto fail;
	while ((r = store_next(cur, &row, &cause)) == 1) {
		if (row->verdict != NULL && strcmp(row->verdict, "pass") == 0)
			pass++;
		else
			fail++;
		i = row->reason != NULL ? auth_reason_from_name(row->reason) : -1;
		reasons[i < 0 ? AUTH_REASON_COUNT : i]++;
	}
	if (r < 0)
		goto fail;
	printf("ztwatch demo: %lld events in the trail: %lld pass, %lld fail\n",
	    (long long)(pass + fail), (long long)pass, (long long)fail);
	printf("  by subject:             events    pass    fail\n");
	if (store_count_subjects(st, &f, demo_subject_line, NULL, &cause) != 0)
		goto fail;
	printf("  by reason:\n");
	for (i = 0; i <= AUTH_REASON_COUNT; i++) {
		if (reasons[i] > 0)
			printf("    %-22s %7lld\n", i < AUTH_REASON_COUNT ?
			    auth_reason_name((enum auth_reason)i) : "(other)",
			    (long long)reasons[i]);
	}
	goto out;
fail:
	cli_error("demo: cannot sum up the trail: %s", cause);
	free(cause);
	cause = NULL;
out:
	fflush(stdout);
	store_cursor_free(cur);
	if (store_close(st, &cause) != 0) {
		cli_error("demo: %s", cause);
		free(cause);
	}
}

/* Copy an asset into the folder under name; 0 or -1 (said). */
static int
demo_copy_asset(struct demo *d, const char *asset, const char *name)
{
	char		 src[PATH_MAX];
	unsigned char	*data;
	size_t		 len = 0;
	int		 rc;

	snprintf(src, sizeof src, "%s/%s", d->assets, asset);
	if ((data = demo_read(src, &len)) == NULL) {
		cli_error("demo: cannot read '%s': %s", src, strerror(errno));
		return -1;
	}
	rc = demo_write(d, name, data, len, 0644);
	free(data);
	return rc;
}

/*
 * Make the folder, the keys, the policy.  0, or an exit code (said):
 * CLI_EXIT_USAGE for a mistake in the assets, CLI_EXIT_FAIL otherwise.
 */
static int
demo_prepare(struct demo *d)
{
	const char	*tmp = getenv("TMPDIR");
	char		*cause = NULL;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(d->dir, sizeof d->dir, "%s/ztwatch-demo-XXXXXX", tmp) >=
	    sizeof d->dir || mkdtemp(d->dir) == NULL) {
		cli_error("demo: cannot make a folder in %s: %s", tmp, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	d->have_dir = 1;
	d->policy_path = demo_path(d, "policy.json");
	d->db_path = demo_path(d, "ztwatch.db");
	if (demo_copy_asset(d, "demo-policy.json", "policy.json") != 0 ||
	    demo_copy_asset(d, "demo-scenario.json", "scenario.json") != 0)
		return CLI_EXIT_FAIL;
	if (demo_load_scenario(d) != 0 || demo_make_keys(d, "demo-scenario.json") != 0)
		return CLI_EXIT_USAGE;
	if ((d->policy = auth_policy_load(d->policy_path, &cause)) == NULL) {
		cli_error("demo: %s (from %s/demo-policy.json)", cause, d->assets);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	demo_seed(d);
	if (demo_load_entries(d, "demo-scenario.json") != 0 || demo_check_entries(d) != 0)
		return CLI_EXIT_USAGE;
	return 0;
}

/* ztwatch demo. */
int
cmd_demo(struct cli_globals *g, int argc, char **argv)
{
	struct demo	d;
	int		rc = CLI_EXIT_FAIL, started;

	memset(&d, 0, sizeof d);
	if (demo_parse(&d.o, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	if (d.o.console && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		cli_error("demo: the console needs a terminal; try ztwatch demo --no-console");
		return CLI_EXIT_USAGE;
	}
	if (demo_find_assets(&d) != 0) {
		demo_free(&d);
		return CLI_EXIT_USAGE;
	}
	if (demo_find_nats(&d) != 0) {
		demo_free(&d);
		return CLI_EXIT_FAIL;
	}
	d.have_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &d.tty) == 0;

	/* From here on the signals that end the demo only ever arrive through
	   sigtimedwait(); they stay blocked until exit, so none is lost. */
	sigemptyset(&d.sigs);
	sigaddset(&d.sigs, SIGINT);
	sigaddset(&d.sigs, SIGTERM);
	sigaddset(&d.sigs, SIGHUP);
	sigaddset(&d.sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &d.sigs, &d.oldmask);
	sigdelset(&d.sigs, SIGCHLD);	/* blocked only to wake the waits sooner */

	if ((rc = demo_prepare(&d)) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	if ((started = demo_start_nats(&d)) != 0) {
		rc = started > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto out;
	}
	cli_error("demo: nats-server on %s (JetStream on), %d subjects, %ld events/s;"
	    " folder %s", d.url, d.nsubjects, d.rate, d.dir);
	if ((d.viewer = demo_fork(&d, d.o.console ? "console" : "recorder", demo_viewer, 0,
	    NULL)) < 0)
		goto out;
	if ((d.pub = demo_fork(&d, "publisher", demo_publisher, 1,
	    d.o.console ? "publisher.log" : NULL)) < 0) {
		demo_stop(&d, d.viewer, DEMO_STOP_VIEWER_MS, "viewer");
		goto out;
	}
	rc = demo_supervise(&d);
out:
	if (d.nats > 0) {
		demo_stop(&d, d.nats, DEMO_STOP_NATS_MS, "nats-server");
		d.nats = 0;
	}
	if (d.have_dir && d.db_path != NULL)
		demo_summary(&d);
	if (d.have_dir && d.o.keep) {
		cli_error("demo: kept %s", d.dir);
	} else if (d.have_dir) {
		nftw(d.dir, demo_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	demo_free(&d);
	return rc;
}
