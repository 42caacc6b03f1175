/*
 * fetch/fetch.h -- keys over HTTP(S) for jwks_url entries: the only place
 * libcurl is used.
 *
 * fetch_keys_start() fetches every jwks_url key set of a policy once, then
 * keeps them fresh on a thread of its own:
 *   - again when the server's Cache-Control max-age (less Age) runs out,
 *     or the entry's refresh_s when the server says nothing;
 *   - early when tokens arrive with a kid no fetched key has, but never
 *     two fetches of one set closer than the entry's refetch_min_s, so a
 *     flood of forged kids costs the identity server one request per
 *     refetch_min_s at most;
 *   - after a failure, with a growing pause (up to refresh_s), keeping
 *     the last good keys meanwhile.
 * TLS is verified (the system's CAs, or the entry's ca_file); plain
 * http:// only when the entry allows it; answers over max_bytes, slower
 * than timeout_s or other than 200 are failures.
 */
#ifndef FETCH_H
#define FETCH_H

#include "auth.h"

struct fetch_keys;

/* A line worth telling the user: a key set changed, or a fetch failed. */
typedef void	(*fetch_note_fn)(void *arg, const char *line);

/*
 * Fetch the key sets of p (borrowed; it must outlive the handle) and start
 * keeping them fresh.  note, when not NULL, is called from the fetch thread
 * with each change and failure after the first fetch.  A policy without
 * jwks_url entries gives a handle that does nothing.  NULL with *cause
 * ("keys.idsvr: https://...: HTTP 404") when a first fetch fails.
 */
struct fetch_keys *fetch_keys_start(const struct auth_policy *p, fetch_note_fn note,
		     void *arg, char **cause);
void		 fetch_keys_stop(struct fetch_keys *);

/*
 * The state of the fetched keys, allocated, or NULL when there are none:
 * brief for a status bar ("keys ok", "keys STALE"), else one clause per
 * set for a stats line ("keys idsvr 3 (fetched 12s ago, 4 fetches)",
 * "keys idsvr 3 STALE (HTTP 503 4s ago; good 2m ago)").
 */
char		*fetch_keys_state(struct fetch_keys *, int brief);

#endif
