/*
 * cli/cmd-import.c -- `ztwatch import`: verify a capture into the trail.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* Print the usage of import. */
static void
import_usage(FILE *f)
{
	fputs("usage: ztwatch [-p POLICY] [-d DB] import [--now T] [--jobs N] FILE.jsonl|-\n\n"
	    "Verify a capture (lines {\"subject\",\"headers\",\"body_b64\"}, optionally\n"
	    "\"received_at\") and record each message with its verdict in the trail, in\n"
	    "order, as one session.  Exit 0 when recorded (whatever the verdicts), 1 on a\n"
	    "database error, 2 on a usage or policy error.\n\n"
	    "  --now T     judge as of T (RFC 3339 or epoch seconds)\n"
	    "  --jobs N    threads for verifying (default: every CPU)\n", f);
}

/* ztwatch import. */
int
cmd_import(struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_session_info	 si;
	struct auth_policy		*p;
	struct store			*st;
	struct timespec			 ts;
	char				*cause = NULL;
	time_t				 now = 0;
	int				 ch, jobs = 0, fixed = 0, rc;

	while ((ch = getopt_long(argc, argv, "d:p:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (cli_parse_time(optarg, &now) != 0) {
				cli_error("import: --now '%s' is not RFC 3339 or epoch seconds", optarg);
				return CLI_EXIT_USAGE;
			}
			fixed = 1;
			break;
		case 'j':
			jobs = atoi(optarg);
			if (jobs < 1 || jobs > 256) {
				cli_error("import: --jobs wants a number from 1 to 256");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'd':
			g->db = optarg;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			import_usage(stdout);
			return CLI_EXIT_OK;
		default:
			import_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("import: give one capture file (or - for stdin)");
		return CLI_EXIT_USAGE;
	}
	/* Nothing is recorded unless the capture can be read at all. */
	if (strcmp(argv[optind], "-") != 0 && access(argv[optind], R_OK) != 0) {
		cli_error("import: cannot read '%s': %s", argv[optind], strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if ((p = cli_load_policy(g)) == NULL)
		return CLI_EXIT_USAGE;
	if ((st = store_open(g->db, &cause)) == NULL) {
		cli_error("import: %s", cause);
		free(cause);
		cli_policy_free(p);
		return CLI_EXIT_FAIL;
	}
	memset(&si, 0, sizeof si);
	si.version = ZTWATCH_VERSION;
	si.command = "import";
	si.source = argv[optind];
	si.policy = p;
	clock_gettime(CLOCK_REALTIME, &ts);
	store_set_batch(st, 4096, 1000);
	if (store_session_begin(st, &si, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
	    &cause) != 0) {
		cli_error("import: %s", cause);
		free(cause);
		store_close(st, NULL);
		cli_policy_free(p);
		return CLI_EXIT_FAIL;
	}
	rc = cli_batch_run(p, argv[optind], jobs, fixed, now, st);
	if (store_close(st, &cause) != 0) {
		cli_error("import: %s", cause);
		free(cause);
		rc = CLI_EXIT_FAIL;
	}
	cli_policy_free(p);
	return rc;
}
