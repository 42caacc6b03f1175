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
#include "screen.h"
#include "store.h"

#define REPLAY_MAX_HEADERS	64

struct replay {
	struct auth_policy	*policy;
	struct auth_verifier	*verifier;
	struct tui_screen	*screen;
};

static struct tui_screen *replay_screen;	/* for the signal handler */

/* Print the usage of replay. */
static void
replay_usage(FILE *f)
{
	fputs("usage: ztwatch [-d DB] [-p POLICY] replay [--since T] [--until T] [--reverify]\n\n"
	    "Open the console on a recorded trail, without NATS.  T is RFC 3339, epoch\n"
	    "seconds or relative (-2h).  --reverify judges each event shown again under\n"
	    "today's policy and keys, as of the time it was received, and marks the\n"
	    "verdicts that changed.\n", f);
}

/* The row's headers (a JSON object of strings or arrays) as auth_headers. */
static size_t
replay_headers(json_t *obj, struct auth_header *h, size_t max)
{
	const char	*name;
	json_t		*v, *item;
	size_t		 n = 0, i;

	json_object_foreach(obj, name, v) {
		if (json_is_string(v) && n < max) {
			h[n].name = name;
			h[n++].value = json_string_value(v);
		}
		json_array_foreach(v, i, item) {
			if (json_is_string(item) && n < max) {
				h[n].name = name;
				h[n++].value = json_string_value(item);
			}
		}
	}
	return n;
}

/* Judge a row again; 1 changed, 0 same, -1 not an event. */
static int
replay_rejudge(void *arg, const struct store_row *row, int *pass, const char **reason)
{
	struct replay		*rp = arg;
	struct auth_header	 h[REPLAY_MAX_HEADERS];
	struct auth_verdict	*v;
	struct auth_msg		 msg;
	json_t			*headers = NULL;
	int			 changed, was_pass;

	if (strcmp(row->kind, "event") != 0 || row->verdict == NULL)
		return -1;
	memset(&msg, 0, sizeof msg);
	msg.subject = row->subject ? row->subject : "";
	if (row->headers != NULL && (headers = json_loads(row->headers, 0, NULL)) != NULL)
		msg.nheaders = replay_headers(headers, h, REPLAY_MAX_HEADERS);
	msg.headers = h;
	msg.body = row->body ? row->body : (const unsigned char *)"";
	msg.body_len = row->body_len;
	v = auth_verify(rp->verifier, &msg, (time_t)(row->received_us / 1000000));
	*pass = auth_verdict_pass(v);
	*reason = auth_reason_name(auth_verdict_reason(v));
	auth_verdict_free(v);
	json_decref(headers);
	was_pass = strcmp(row->verdict, "pass") == 0;
	/* The replay check needs the history of its window; a recorded replay
	   that judges as a pass alone has not changed. */
	if (!was_pass && row->reason != NULL && strcmp(row->reason, "replay") == 0 && *pass)
		return 0;
	changed = *pass != was_pass || (row->reason != NULL && strcmp(*reason, row->reason) != 0);
	return changed;
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
replay_parse(struct cli_globals *g, struct tui_source *src, int *reverify, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "reverify", no_argument, NULL, 'r' },
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
				cli_error("replay: '%s' is not a time (RFC 3339, epoch seconds, -2h)",
				    optarg);
				return -1;
			}
			break;
		case 'r':
			*reverify = 1;
			break;
		case 'd':
			g->db = optarg;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			replay_usage(stdout);
			exit(CLI_EXIT_OK);
		default:
			replay_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		cli_error("replay: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* ztwatch replay. */
int
cmd_replay(struct cli_globals *g, int argc, char **argv)
{
	struct tui_source	 src;
	struct replay		 rp;
	char			*cause = NULL;
	int			 reverify = 0, rc = CLI_EXIT_OK;

	memset(&src, 0, sizeof src);
	memset(&rp, 0, sizeof rp);
	if (replay_parse(g, &src, &reverify, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	if (reverify) {
		if ((rp.policy = cli_load_policy(g)) == NULL)
			return CLI_EXIT_USAGE;
		rp.verifier = auth_verifier_new(rp.policy);
		src.rejudge = replay_rejudge;
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
	auth_verifier_free(rp.verifier);
	auth_policy_free(rp.policy);
	return rc;
}
