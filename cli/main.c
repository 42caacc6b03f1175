/*
 * cli/main.c -- ztwatch's entry point: global options and the command table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "tui.h"

static const struct cli_command cli_commands[] = {
	{ "verify", cmd_verify,
	    "verify [--subject S] [-H 'K: V']... [--now T] [FILE|-]\n"
	    "  verify --batch FILE.jsonl [--jobs N] [--now T]",
	    "judge one message (or a batch) and print the verdict JSON" },
	{ "import", cmd_import, "import [--now T] FILE.jsonl",
	    "verify a capture and record it in the audit trail" },
	{ "export", cmd_export, "export --format jsonl|csv [filters] [-d DB]... [-o FILE]",
	    "export trail rows (of one trail, or several merged) as JSON lines or CSV" },
	{ "watch", cmd_watch, "watch [SUBJECT...] [--stream S --durable D] [record's options]\n"
	    "  watch --verdicts PREFIX",
	    "the console: watch live events (or a fleet's verdicts), investigate failures" },
	{ "replay", cmd_replay, "replay [--since T] [--until T] [--reverify]",
	    "the console on a recorded trail, without NATS" },
	{ "record", cmd_record,
	    "record [SUBJECT...] [--json] [--stream S --durable D] [--since T|--seq N]\n"
	    "  record --verdicts PREFIX [--json]",
	    "headless: verify live events and record them in the trail" },
	{ "pub", cmd_pub, "pub SUBJECT [FILE|-] [--rule NAME] [--sign-key F] [--tamper KIND]",
	    "mint an event-bound token for an event and publish it" },
	{ "audit", cmd_audit, "audit verify [-d DB]...",
	    "verify the trail's hash chain (or several trails')" },
	{ "policy", cmd_policy, "policy",
	    "check the policy file and list its rules and keys" },
	{ "keys", cmd_keys, "keys",
	    "list the keyring with fingerprints (secrets are never shown)" },
	{ "demo", cmd_demo, "demo [--no-console] [--duration S] [--rate N] [--keep]",
	    "local nats-server, good and attack traffic, and the console" },
};

const char cli_default_db[] = "ztwatch.db";

/*
 * A copy of s safe for a terminal: what the console's safe text escapes
 * (tui.h) is escaped here too, in a form that reads well in one line of
 * error: C0 controls, DEL and bytes that are not UTF-8 as \x and two hex
 * digits (\x1b); C1 controls, bidi controls, invisible format characters
 * and unassigned code points as \u and four (\u202e).  Error causes
 * carry text from servers, key files and JWKS documents written by
 * someone else: a U+202E in a key's name must not reorder the line
 * around it.  Allocated.
 */
char *
cli_visible(const char *s)
{
	const unsigned char	*p = (const unsigned char *)(s ? s : "-");
	size_t			 len = strlen((const char *)p), i = 0, n;
	char			*out = malloc(len * 4 + 1), *o = out;
	uint32_t		 cp;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			o += sprintf(o, "\\x%02x", p[i++]);
			continue;
		}
		if (p[i] < 0x80) {
			*o++ = (char)p[i++];
			continue;
		}
		if ((n = auth_utf8_decode(p + i, len - i, &cp)) == 0) {
			o += sprintf(o, "\\x%02x", p[i++]);
			continue;
		}
		/* At most 10 bytes for 4, 6 for 2 or 3: within 4 a byte. */
		if (tui_text_cpwidth(cp) < 0)
			o += sprintf(o, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
		else {
			memcpy(o, p + i, n);
			o += n;
		}
		i += n;
	}
	*o = '\0';
	return out;
}

/* nats.c's byte limit for a --buffer of msgs messages: 8 KiB each, within an int. */
int
cli_buffer_bytes(int msgs)
{
	return msgs > INT32_MAX / 8192 ? INT32_MAX : msgs * 8192;
}

/* Print "ztwatch: message", made safe for the terminal. */
void
cli_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL, *safe;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	safe = cli_visible(msg != NULL ? msg : "out of memory");
	fprintf(stderr, "ztwatch: %s\n", safe != NULL ? safe : "out of memory");
	free(safe);
	free(msg);
}

/* Connection options from the globals. */
void
cli_conn_opts(const struct cli_globals *g, struct ingest_conn_opts *o)
{
	o->servers = g->server;
	o->creds = g->creds;
	o->nkey = g->nkey;
	o->user = g->user;
	o->password = g->password;
	o->token = g->token;
	o->tls_ca = g->tls_ca;
	o->tls_cert = g->tls_cert;
	o->tls_key = g->tls_key;
}

/* Number of CPUs. */
int
cli_ncpu(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* 256 KiB: few read calls, and the copy out of it stays in the L2 cache. */
#define CLI_STREAM_BUFFER	(1 << 18)

/*
 * Give stream f a buffer of CLI_STREAM_BUFFER bytes.  setvbuf(f, NULL,
 * _IOFBF, size) is not enough: glibc then ignores size and keeps a 4 KiB
 * buffer, a system call for every 4 KiB.  The buffers are never freed, as
 * f may be stdout, flushed at exit; no command needs more than the few the
 * pool holds.
 */
void
cli_stream_buffer(FILE *f)
{
	static char	*pool[4];
	static size_t	 used;

	if (used == sizeof pool / sizeof pool[0] ||
	    (pool[used] = malloc(CLI_STREAM_BUFFER)) == NULL)
		return;			/* the default buffer still works */
	setvbuf(f, pool[used++], _IOFBF, CLI_STREAM_BUFFER);
}

/* Print the usage summary to f. */
static void
cli_usage(FILE *f)
{
	size_t	i;

	fputs("usage: ztwatch [-s URL[,URL...]] [--creds F | --nkey F | --user U --password P |\n"
	    "               --token T] [--tls-ca F --tls-cert F --tls-key F]\n"
	    "               [-p POLICY] [-d DB] COMMAND [ARGS]\n\n"
	    "Verify zero-trust events (JWT-bound NATS messages) and keep an audit trail.\n\n"
	    "commands:\n", f);
	for (i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
		fprintf(f, "  %-8s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fputs("\noptions:\n"
	    "  -p POLICY   policy file (default ./ztwatch.json)\n"
	    "  -d DB       audit trail database (default ./ztwatch.db)\n"
	    "  -s URL      NATS server(s), comma-separated (default $NATS_URL or\n"
	    "              nats://127.0.0.1:4222)\n"
	    "  --creds F   NATS user credentials file\n"
	    "  --nkey F    NATS nkey file (the user seed, SU...)\n"
	    "  --user U --password P, --token T   NATS user or token authentication\n"
	    "  --tls-ca F  CA to trust for TLS; --tls-cert F --tls-key F: client certificate\n"
	    "  -h, --help  this help; 'ztwatch COMMAND --help' for a command\n"
	    "  --version   print the version\n", f);
}

/* The command named name, or NULL. */
static const struct cli_command *
cli_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++) {
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	}
	return NULL;
}

/* Flush f; an errno when it or an earlier write failed. */
int
cli_flush_error(FILE *f)
{
	errno = 0;
	if (fflush(f) != 0)
		return errno != 0 ? errno : EIO;
	return ferror(f) ? EIO : 0;
}

/*
 * A command that succeeded but whose output did not all reach stdout (a
 * full disk, say) fails with one message: an audit's "intact" line or a
 * verdict lost without a word would read as success.  A command that
 * failed has said why already and keeps its exit code.
 */
static int
cli_output_written(const char *cmd, int rc)
{
	int	err = cli_flush_error(stdout);

	if (rc != CLI_EXIT_OK || err == 0)
		return rc;
	cli_error("%s: cannot write the output: %s", cmd, strerror(err));
	return CLI_EXIT_USAGE;
}

/* After a command's --help: exit 0, or 2 if the text could not be written. */
void
cli_help_done(const char *cmd)
{
	exit(cli_output_written(cmd, CLI_EXIT_OK));
}

/* Whether the file an option names can be read; says why not. */
static int
cli_readable(const char *option, const char *path)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	cli_error("%s '%s': %s", option, path, strerror(errno));
	return -1;
}

/*
 * Connection options that cannot go together, name nothing or name a file
 * that is not there: usage errors (exit 2), said before any command runs
 * rather than as a failure to connect.
 */
static int
cli_globals_check(const struct cli_globals *g)
{
	if (g->password != NULL && g->user == NULL) {
		cli_error("--password goes with --user");
		return -1;
	}
	if (g->creds != NULL && g->nkey != NULL) {
		cli_error("--creds and --nkey cannot be used together (a credentials file"
		    " holds its own seed)");
		return -1;
	}
	if ((g->tls_cert != NULL) != (g->tls_key != NULL)) {
		cli_error("--tls-cert and --tls-key go together");
		return -1;
	}
	if (g->server[strspn(g->server, ", ")] == '\0') {
		cli_error("-s: no server URL given");
		return -1;
	}
	if (cli_readable("--creds", g->creds) != 0 || cli_readable("--nkey", g->nkey) != 0 ||
	    cli_readable("--tls-ca", g->tls_ca) != 0 || cli_readable("--tls-cert", g->tls_cert) != 0 ||
	    cli_readable("--tls-key", g->tls_key) != 0)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "policy", required_argument, NULL, 'p' },
		{ "db", required_argument, NULL, 'd' },
		{ "server", required_argument, NULL, 's' },
		{ "creds", required_argument, NULL, 'C' },
		{ "nkey", required_argument, NULL, 'N' },
		{ "user", required_argument, NULL, 'U' },
		{ "password", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 'T' },
		{ "tls-ca", required_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'E' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_globals		 g;
	const struct cli_command	*cmd;
	int				 ch;

	auth_library_init();
	memset(&g, 0, sizeof g);
	g.policy = "ztwatch.json";
	g.db = cli_default_db;
	g.server = getenv("NATS_URL") ? getenv("NATS_URL") : "nats://127.0.0.1:4222";
	while ((ch = getopt_long(argc, argv, "+hp:d:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cli_usage(stdout);
			return cli_output_written("--help", CLI_EXIT_OK);
		case 'V':
			printf("ztwatch %s\n", ZTWATCH_VERSION);
			return cli_output_written("--version", CLI_EXIT_OK);
		case 'p':
			g.policy = optarg;
			break;
		case 'd':
			g.db = optarg;
			break;
		case 's':
			g.server = optarg;
			break;
		case 'C':
			g.creds = optarg;
			break;
		case 'N':
			g.nkey = optarg;
			break;
		case 'U':
			g.user = optarg;
			break;
		case 'P':
			g.password = optarg;
			break;
		case 'T':
			g.token = optarg;
			break;
		case 'A':
			g.tls_ca = optarg;
			break;
		case 'E':
			g.tls_cert = optarg;
			break;
		case 'K':
			g.tls_key = optarg;
			break;
		default:
			cli_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (cli_globals_check(&g) != 0)
		return CLI_EXIT_USAGE;
	if (optind >= argc) {
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((cmd = cli_find(argv[optind])) == NULL) {
		cli_error("unknown command '%s' (ztwatch --help lists them)", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;			/* reset getopt for the command */
	return cli_output_written(cmd->name, cmd->run(&g, argc, argv));
}
