/*
 * cli/cli-keys.c -- loading the policy, and keeping its fetched keys fresh.
 *
 * Every command loads its policy here.  A policy with jwks_url entries
 * gets its key sets fetched before the command goes on, and refreshed on
 * fetch/'s thread while it runs.  What that thread has to say (a key set
 * changed, a fetch failed) waits in a list until the command shows it:
 * record on stderr, the console on its status line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fetch.h"

/* One process, one policy at a time. */
static struct fetch_keys	*cli_fetch;
static pthread_mutex_t		 cli_notes_lock = PTHREAD_MUTEX_INITIALIZER;
static char			*cli_notes;	/* lines, each ending in '\n' */

/* From fetch/'s thread: keep the line for the command to show. */
static void
cli_keys_note(void *arg, const char *line)
{
	char	*n;

	pthread_mutex_lock(&cli_notes_lock);
	if (asprintf(&n, "%s%s\n", cli_notes ? cli_notes : "", line) >= 0) {
		free(cli_notes);
		cli_notes = n;
	}
	pthread_mutex_unlock(&cli_notes_lock);
}

/* Load the policy and fetch its keys, printing any error. */
struct auth_policy *
cli_load_policy(const struct cli_globals *g)
{
	struct auth_policy	*p;
	char			*cause = NULL;

	if ((p = auth_policy_load(g->policy, &cause)) == NULL) {
		cli_error("%s", cause);
		free(cause);
		return NULL;
	}
	if ((cli_fetch = fetch_keys_start(p, cli_keys_note, NULL, &cause)) == NULL) {
		cli_error("%s: cannot fetch keys: %s", g->policy, cause);
		free(cause);
		auth_policy_free(p);
		return NULL;
	}
	return p;
}

/* Stop refreshing keys, print what is left to say, and free the policy. */
void
cli_policy_free(struct auth_policy *p)
{
	char	*notes, *line, *save = NULL;

	fetch_keys_stop(cli_fetch);
	cli_fetch = NULL;
	notes = cli_keys_take_notes();
	for (line = notes ? strtok_r(notes, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		cli_error("%s", line);
	free(notes);
	auth_policy_free(p);
}

/* What fetch/ said since the last call (lines, each ending in a newline), or NULL. */
char *
cli_keys_take_notes(void)
{
	char	*notes;

	pthread_mutex_lock(&cli_notes_lock);
	notes = cli_notes;
	cli_notes = NULL;
	pthread_mutex_unlock(&cli_notes_lock);
	return notes;
}

/* The state of the fetched keys (fetch_keys_state()), or NULL when none. */
char *
cli_keys_state(int brief)
{
	return fetch_keys_state(cli_fetch, brief);
}
