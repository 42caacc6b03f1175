/*
 * cli/cmd-replay.c -- `ztwatch replay`: the console on a recorded trail.
 *
 * No NATS: the screen pages through the trail, the streams pane comes
 * from the trail's counts.  With --reverify every row shown is judged
 * again under today's policy and keys, as of the time it was received
 * (so a token valid then is valid now), and changed verdicts are marked.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "reverify.h"
#include "screen.h"
#include "store.h"

#define REPLAY_WHY_MAX		512

struct replay {
	struct auth_policy	*policy;
	struct reverify		*rv;
	struct tui_screen	*screen;
};

static struct tui_screen *replay_screen;	/* for the signal handler */

/* Print the usage of replay. */
static void
replay_usage(FILE *f)
{
	fputs("usage: ztwatch [-d DB] [-p POLICY] replay [--since T] [--until T]\n"
	    "           [--reverify [--changes]]\n\n"
	    "Open the console on a recorded trail, without NATS.  T is RFC 3339, epoch\n"
	    "seconds or relative (-2h).  --reverify judges each event shown again under\n"
	    "today's policy and keys, as of the time it was received, and marks the\n"
	    "verdicts that changed, with the key that made the difference when keys\n"
	    "rotated.  With --changes there is no console: every event of the window is\n"
	    "judged again and each changed verdict printed as a JSON line (id,\n"
	    "received_us, subject, kid, was, now, why); a summary goes to stderr.\n", f);
}

/* Judge a row again for the console; 1 changed, 0 same, -1 not an event. */
static int
replay_rejudge(void *arg, const struct store_row *row, int *pass, const char **reason,
    char *why, size_t whylen)
{
	struct replay	*rp = arg;

	return reverify_row(rp->rv, row, pass, reason, why, whylen);
}

/* The filter's free text decides, row by row. */
static int
console_keep(const struct store_row *row, void *arg)
{
	return tui_filter_match_row(arg, row);
}

/* The console's export (watch and replay): the rows its filter shows. */
long long
cli_console_export(const char *db, const struct tui_filter *f, const char *file, char **msg)
{
	return cli_export_jsonl(db, &f->store, console_keep, (void *)f, file, msg);
}

static void
replay_on_signal(int sig)
{
	if (replay_screen != NULL)
		tui_screen_quit(replay_screen);
}

/* Parse the options into src; -1 on a usage error. */
static int
replay_parse(struct cli_globals *g, struct tui_source *src, int *reverify, int *changes,
    int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "reverify", no_argument, NULL, 'r' },
		{ "changes", no_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "d:p:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
		case 'U':
			if (cli_parse_when(optarg, ch == 'S' ? &src->since_us : &src->until_us)) {
				cli_error("replay: %s '%s' is not a time after 1970-01-01"
				    " and before 10000 (RFC 3339, epoch seconds, -2h)",
				    ch == 'S' ? "--since" : "--until", optarg);
				return -1;
			}
			break;
		case 'r':
			*reverify = 1;
			break;
		case 'c':
			*changes = 1;
			break;
		case 'd':
			g->db = optarg;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			replay_usage(stdout);
			cli_help_done("replay");
		default:
			replay_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		cli_error("replay: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (*changes && !*reverify) {
		cli_error("replay: --changes lists what --reverify finds; give both");
		return -1;
	}
	return 0;
}

/* One changed verdict as a JSON line on stdout. */
static void
replay_print_change(const struct store_row *row, int pass, const char *reason,
    const char *why)
{
	json_t	*o = json_object(), *was = json_object(), *now = json_object();
	char	*line;

	json_object_set_new(o, "id", json_integer(row->id));
	json_object_set_new(o, "received_us", json_integer(row->received_us));
	json_object_set_new(o, "subject", json_string(row->subject ? row->subject : ""));
	json_object_set_new(o, "kid", row->kid ? json_string(row->kid) : json_null());
	json_object_set_new(was, "verdict", json_string(row->verdict));
	json_object_set_new(was, "reason", row->reason ? json_string(row->reason) : json_null());
	json_object_set_new(was, "keyset", row->detail ? json_string(row->detail) : json_null());
	json_object_set_new(now, "verdict", json_string(pass ? "pass" : "fail"));
	json_object_set_new(now, "reason", json_string(reason));
	json_object_set_new(o, "was", was);
	json_object_set_new(o, "now", now);
	json_object_set_new(o, "why", json_string(why));
	/* Escaped: subjects and kids come from the wire. */
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(o);
}

/* replay --reverify --changes: judge every event of the window, print changes. */
static int
replay_changes(struct replay *rp, const char *db, const struct tui_source *src)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	struct store		*st;
	const struct store_row	*row;
	const char		*reason;
	char			 why[REPLAY_WHY_MAX], *cause = NULL;
	unsigned long long	 n = 0, changed = 0, remote = 0;
	int			 pass, rc, r;

	if ((st = store_open_reader(db, &cause)) == NULL) {
		cli_error("replay: %s", cause);
		free(cause);
		return CLI_EXIT_FAIL;
	}
	memset(&f, 0, sizeof f);
	f.kinds = STORE_KIND_EVENT;
	f.since_us = src->since_us;
	f.until_us = src->until_us;
	if ((c = store_query(st, &f, STORE_OLDEST_FIRST, 0, 0, &cause)) == NULL)
		rc = -1;
	else {
		while ((rc = store_next(c, &row, &cause)) == 1) {
			if ((r = reverify_row(rp->rv, row, &pass, &reason, why, sizeof why)) < 0) {
				remote++;
				continue;
			}
			n++;
			if (r == 1) {
				changed++;
				replay_print_change(row, pass, reason, why);
			}
		}
	}
	store_cursor_free(c);
	store_close(st, NULL);
	fflush(stdout);
	if (rc < 0) {
		cli_error("replay: %s", cause);
		free(cause);
		return CLI_EXIT_FAIL;
	}
	snprintf(why, sizeof why, "; %llu verdicts of other recorders (watch --verdicts) hold"
	    " no message to judge", remote);
	cli_error("replay: %llu events judged again under key set %s: %llu verdicts changed%s",
	    n, reverify_keyset(rp->rv), changed, remote > 0 ? why : "");
	return CLI_EXIT_OK;
}

/* ztwatch replay. */
int
cmd_replay(struct cli_globals *g, int argc, char **argv)
{
	struct tui_source	 src;
	struct replay		 rp;
	char			*cause = NULL;
	int			 reverify = 0, changes = 0, rc = CLI_EXIT_OK;

	memset(&src, 0, sizeof src);
	memset(&rp, 0, sizeof rp);
	if (replay_parse(g, &src, &reverify, &changes, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	if (reverify) {
		if ((rp.policy = cli_load_policy(g)) == NULL)
			return CLI_EXIT_USAGE;
		if ((rp.rv = reverify_new(rp.policy, g->db, &cause)) == NULL) {
			cli_error("replay: %s", cause);
			free(cause);
			cli_policy_free(rp.policy);
			return CLI_EXIT_FAIL;
		}
		src.rejudge = replay_rejudge;
	}
	if (changes) {
		rc = replay_changes(&rp, g->db, &src);
		goto out;
	}
	src.db = g->db;
	src.export = cli_console_export;
	src.arg = &rp;
	if ((rp.screen = tui_screen_new(&src, &cause)) == NULL) {
		cli_error("replay: %s", cause);
		free(cause);
		rc = CLI_EXIT_USAGE;
	} else {
		replay_screen = rp.screen;
		signal(SIGINT, replay_on_signal);
		signal(SIGTERM, replay_on_signal);
		if (tui_screen_run(rp.screen, &cause) != 0) {
			cli_error("replay: %s", cause);
			free(cause);
			rc = CLI_EXIT_FAIL;
		}
		replay_screen = NULL;
		tui_screen_free(rp.screen);
	}
out:
	reverify_free(rp.rv);
	cli_policy_free(rp.policy);
	return rc;
}
