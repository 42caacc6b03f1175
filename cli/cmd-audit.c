/*
 * cli/cmd-audit.c -- `ztwatch audit verify`: walk the trail's hash chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* Progress on a terminal while a long chain is walked. */
static void
audit_progress(int64_t rows, void *arg)
{
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\raudit: %lld rows checked", (long long)rows);
}

/* ztwatch audit verify. */
int
cmd_audit(struct cli_globals *g, int argc, char **argv)
{
	struct store_audit	 a;
	struct store		*st;
	char			*cause = NULL, hex[65];
	int			 i, rc;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts("usage: ztwatch [-d DB] audit verify\n\n"
		    "Walk the trail's hash chain: exit 0 when intact (prints the row count and\n"
		    "the head hash, worth keeping elsewhere), 1 when a row was edited, inserted\n"
		    "or deleted (names the first), 2 when the trail cannot be read.");
		return CLI_EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "verify") != 0) {
		cli_error("audit: the one subcommand is 'verify' (ztwatch audit --help)");
		return CLI_EXIT_USAGE;
	}
	if ((st = store_open_reader(g->db, &cause)) == NULL) {
		cli_error("audit: %s", cause);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	rc = store_audit(st, &a, audit_progress, NULL, &cause);
	if (isatty(STDERR_FILENO) && a.rows >= 100000)
		fputc('\n', stderr);
	store_close(st, NULL);
	if (rc != 0) {
		cli_error("audit: %s", cause);
		free(cause);
		return CLI_EXIT_USAGE;
	}
	if (!a.intact) {
		printf("audit: TAMPERED: %s\n", a.problem);
		cli_error("audit: trail '%s' is not intact: %s", g->db, a.problem);
		free(a.problem);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", a.head[i]);
	printf("audit: %lld rows, chain intact, head %s\n", (long long)a.rows, hex);
	return CLI_EXIT_OK;
}
