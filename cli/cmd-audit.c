/*
 * cli/cmd-audit.c -- `ztwatch audit verify`: walk the trail's hash chain.
 *
 * Several trails (-d A -d B after the command: a fleet's, one per
 * recorder) are each walked in turn and reported one line each; the exit
 * code is the worst: 1 when any is tampered, else 2 when any cannot be
 * read, else 0.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

#define AUDIT_MAX_DBS	64

/* Progress on a terminal while a long chain is walked. */
static void
audit_progress(int64_t rows, void *arg)
{
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\raudit: %lld rows checked", (long long)rows);
}

/* Print the usage of audit. */
static void
audit_usage(FILE *f)
{
	fputs("usage: ztwatch [-d DB] audit verify [-d DB]...\n\n"
	    "Walk the trail's hash chain: exit 0 when intact (prints the row count and\n"
	    "the head hash, worth keeping elsewhere), 1 when a row was edited, inserted\n"
	    "or deleted (names the first), 2 when the trail cannot be read.  Several -d\n"
	    "after the command check each of those trails (a fleet's), one line each\n"
	    "naming the trail; the exit code is 1 if any is tampered, else 2 if any\n"
	    "cannot be read.\n", f);
}

/*
 * Walk the chain of db and report it, naming db when named is set.
 * Returns CLI_EXIT_OK (intact), CLI_EXIT_FAIL (tampered) or
 * CLI_EXIT_USAGE (unreadable).
 */
static int
audit_one(const char *db, int named)
{
	struct store_audit	 a;
	struct store		*st;
	char			*cause = NULL, hex[65], name[1024] = "", *shown;
	int			 i, rc;

	/* A trail's path may come from a folder someone else fills. */
	if (named && (shown = cli_visible(db)) != NULL) {
		snprintf(name, sizeof name, "%s: ", shown);
		free(shown);
	}
	if ((st = store_open_reader(db, &cause)) == NULL) {
		cli_error("audit: %s", cause);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	memset(&a, 0, sizeof a);
	rc = store_audit(st, &a, audit_progress, NULL, &cause);
	if (isatty(STDERR_FILENO) && a.rows >= 100000)
		fputc('\n', stderr);
	store_close(st, NULL);
	if (rc != 0) {
		cli_error("audit: %s%s", name, cause);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	if (!a.intact) {
		/* A problem may quote the trail's own text (an index's definition). */
		shown = cli_visible(a.problem);
		printf("audit: %sTAMPERED: %s\n", name, shown ? shown : "?");
		free(shown);
		cli_error("audit: trail '%s' is not intact: %s", db, a.problem);
		free(a.problem);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", a.head[i]);
	printf("audit: %s%lld rows, chain intact, head %s\n", name, (long long)a.rows, hex);
	return CLI_EXIT_OK;
}

/* ztwatch audit verify. */
int
cmd_audit(struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*dbs[AUDIT_MAX_DBS];
	int		 ndbs = 0, ch, i, rc, worst = CLI_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (ndbs == AUDIT_MAX_DBS) {
				cli_error("audit: at most %d trails", AUDIT_MAX_DBS);
				return CLI_EXIT_USAGE;
			}
			dbs[ndbs++] = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return CLI_EXIT_OK;
		default:
			audit_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "verify") != 0) {
		cli_error("audit: the one subcommand is 'verify' (ztwatch audit --help)");
		return CLI_EXIT_USAGE;
	}
	if (ndbs == 0)
		dbs[ndbs++] = g->db;
	for (i = 0; i < ndbs; i++) {
		rc = audit_one(dbs[i], ndbs > 1);
		if (rc == CLI_EXIT_FAIL || (rc == CLI_EXIT_USAGE && worst == CLI_EXIT_OK))
			worst = rc;
	}
	return worst;
}
