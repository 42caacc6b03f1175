/*
 * cli/reverify.h -- judging recorded events again under today's policy and
 * keys (replay --reverify), with the reason a verdict changed.
 */
#ifndef REVERIFY_H
#define REVERIFY_H

#include <stddef.h>

#include "auth.h"

struct store_row;
struct reverify;

/* Judge rows of trail db under p (borrowed); NULL with *cause. */
struct reverify	*reverify_new(struct auth_policy *p, const char *db, char **cause);
void		 reverify_free(struct reverify *);
/*
 * Judge row again, as of when it was received.  Returns 1 when the
 * verdict changed, with *pass and *reason (a reason code) set and, when
 * why is not NULL, why[0..whylen) saying which key made the difference
 * ("key 'k1' (SHA256:...) that verified it then is no longer trusted");
 * 0 when it is the same; -1 for rows that are not events, and for verdicts
 * of other recorders (watch --verdicts), whose messages the trail lacks.
 */
int		 reverify_row(struct reverify *, const struct store_row *row, int *pass,
		     const char **reason, char *why, size_t whylen);
/* Fingerprint of the key set doing the judging. */
const char	*reverify_keyset(const struct reverify *);

#endif
