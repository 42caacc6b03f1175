/*
 * cli/reverify.c -- judging recorded events again, and saying why a verdict
 * changed.
 *
 * A row is judged under today's policy and keys as of the time it was
 * received.  When the verdict differs, the key sets tell the usual story
 * of a rotation: the key that verified the event then is no longer
 * trusted, or a key trusted now was not then.  The key set that judged a
 * row is the one its detail names (fetched keys) or its session's; both
 * are described in the trail's keyset and session rows, read once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "reverify.h"
#include "store.h"
#include "tui.h"

#define REVERIFY_MAX_HEADERS	64

struct reverify {
	struct auth_policy	*policy;
	struct auth_verifier	*verifier;
	struct store		*trail;
	json_t			*by_keyset;	/* fingerprint -> keys */
	json_t			*by_session;	/* session id -> keys */
	json_t			*today;		/* today's keys */
	char			*today_fp;
};

/* Remember the key sets that session and keyset rows describe. */
static int
reverify_load_keysets(struct reverify *rv, char **cause)
{
	struct store_filter	 f;
	struct store_cursor	*c;
	const struct store_row	*r;
	json_t			*d, *keys;
	char			 id[32];
	int			 rc;

	memset(&f, 0, sizeof f);
	f.kinds = STORE_KIND_SESSION | STORE_KIND_KEYSET;
	if ((c = store_query(rv->trail, &f, STORE_OLDEST_FIRST, 0, 0, cause)) == NULL)
		return -1;
	while ((rc = store_next(c, &r, cause)) == 1) {
		if (r->detail == NULL || (d = json_loads(r->detail, 0, NULL)) == NULL)
			continue;
		if (json_is_array(keys = json_object_get(d, "keys"))) {
			if (json_is_string(json_object_get(d, "keyset")))
				json_object_set(rv->by_keyset,
				    json_string_value(json_object_get(d, "keyset")), keys);
			if (strcmp(r->kind, "session") == 0) {
				snprintf(id, sizeof id, "%lld", (long long)r->session);
				json_object_set(rv->by_session, id, keys);
			}
		}
		json_decref(d);
	}
	store_cursor_free(c);
	return rc;
}

struct reverify *
reverify_new(struct auth_policy *p, const char *db, char **cause)
{
	struct reverify	*rv = calloc(1, sizeof *rv);
	char		*text = NULL;
	json_t		*set;

	if (rv == NULL) {
		*cause = strdup("out of memory");
		return NULL;
	}
	rv->policy = p;
	rv->verifier = auth_verifier_new(p);
	rv->by_keyset = json_object();
	rv->by_session = json_object();
	auth_policy_keyset(p, &rv->today_fp, &text);
	set = json_loads(text, 0, NULL);
	free(text);
	rv->today = json_incref(json_object_get(set, "keys"));
	json_decref(set);
	if ((rv->trail = store_open_reader(db, cause)) == NULL ||
	    reverify_load_keysets(rv, cause) != 0) {
		reverify_free(rv);
		return NULL;
	}
	return rv;
}

void
reverify_free(struct reverify *rv)
{
	if (rv == NULL)
		return;
	auth_verifier_free(rv->verifier);
	store_close(rv->trail, NULL);
	json_decref(rv->by_keyset);
	json_decref(rv->by_session);
	json_decref(rv->today);
	free(rv->today_fp);
	free(rv);
}

/* The row's headers (a JSON object of strings or arrays) as auth_headers. */
static size_t
reverify_headers(json_t *obj, struct auth_header *h, size_t max)
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

/* The keys that judged row, or NULL when the trail does not say. */
static json_t *
reverify_keys_then(struct reverify *rv, const struct store_row *row)
{
	char	id[32];

	if (row->detail != NULL && strncmp(row->detail, "SHA256:", 7) == 0)
		return json_object_get(rv->by_keyset, row->detail);
	snprintf(id, sizeof id, "%lld", (long long)row->session);
	return json_object_get(rv->by_session, id);
}

/* The key of keys that verified a token (kid, or key name when it had none). */
static json_t *
reverify_find_kid(json_t *keys, const char *kid)
{
	json_t	*k;
	size_t	 i;

	json_array_foreach(keys, i, k) {
		const char	*id = json_string_value(json_object_get(k, "kid"));

		if (kid != NULL && strcmp(id ? id : json_string_value(json_object_get(k, "name")),
		    kid) == 0)
			return k;
	}
	return NULL;
}

/* Whether keys has a key with this fingerprint. */
static int
reverify_has_fp(json_t *keys, const char *fp)
{
	json_t	*k;
	size_t	 i;

	json_array_foreach(keys, i, k) {
		if (fp != NULL && json_is_string(json_object_get(k, "fingerprint")) &&
		    strcmp(json_string_value(json_object_get(k, "fingerprint")), fp) == 0)
			return 1;
	}
	return 0;
}

/* Say why the verdict of row changed into v's; a long kid is cut at a
   character boundary, not inside a UTF-8 sequence. */
static void
reverify_explain(struct reverify *rv, const struct store_row *row,
    const struct auth_verdict *v, char *why, size_t len)
{
	json_t			*then = reverify_keys_then(rv, row), *old;
	struct auth_key_info	 ki;
	const char		*fp;
	int			 was_pass = strcmp(row->verdict, "pass") == 0;

	if (was_pass && !auth_verdict_pass(v) &&
	    (old = reverify_find_kid(then, row->kid)) != NULL &&
	    !reverify_has_fp(rv->today, fp = json_string_value(json_object_get(old,
	    "fingerprint")))) {
		tui_text_snprintf(why, len,
		    "key '%s' (%s) that verified it then is no longer trusted", row->kid, fp);
		return;
	}
	if (!was_pass && auth_verdict_key(v, &ki) && then != NULL &&
	    !reverify_has_fp(then, ki.fingerprint)) {
		tui_text_snprintf(why, len,
		    "verified now by key '%s' (%s), which was not trusted then",
		    ki.kid ? ki.kid : ki.name, ki.fingerprint);
		return;
	}
	if (then == NULL)
		snprintf(why, len, "the trail does not say which keys judged it then");
	else
		snprintf(why, len, "%s, with the keys that verified it unchanged: the policy or "
		    "the checks changed", auth_reason_name(auth_verdict_reason(v)));
}

/* Whether row is a verdict another recorder judged (watch --verdicts): its
   detail names the verdict's subject, and the message is not in the trail. */
static int
reverify_is_remote(const struct store_row *row)
{
	json_t	*d;
	int	 remote;

	if (row->detail == NULL || row->detail[0] != '{' ||
	    (d = json_loads(row->detail, 0, NULL)) == NULL)
		return 0;
	remote = json_object_get(d, "verdict_subject") != NULL;
	json_decref(d);
	return remote;
}

/* Judge row again; see reverify.h. */
int
reverify_row(struct reverify *rv, const struct store_row *row, int *pass, const char **reason,
    char *why, size_t whylen)
{
	struct auth_header	 h[REVERIFY_MAX_HEADERS];
	struct auth_verdict	*v;
	struct auth_msg		 msg;
	json_t			*headers = NULL;
	int			 changed, was_pass;

	if (strcmp(row->kind, "event") != 0 || row->verdict == NULL || reverify_is_remote(row))
		return -1;
	memset(&msg, 0, sizeof msg);
	msg.subject = row->subject ? row->subject : "";
	if (row->headers != NULL && (headers = json_loads(row->headers, 0, NULL)) != NULL)
		msg.nheaders = reverify_headers(headers, h, REVERIFY_MAX_HEADERS);
	msg.headers = h;
	msg.body = row->body ? row->body : (const unsigned char *)"";
	msg.body_len = row->body_len;
	v = auth_verify(rv->verifier, &msg, (time_t)(row->received_us / 1000000));
	*pass = auth_verdict_pass(v);
	*reason = auth_reason_name(auth_verdict_reason(v));
	was_pass = strcmp(row->verdict, "pass") == 0;
	/* The replay check needs the history of its window; a recorded replay
	   that judges as a pass alone has not changed. */
	if (!was_pass && row->reason != NULL && strcmp(row->reason, "replay") == 0 && *pass)
		changed = 0;
	else
		changed = *pass != was_pass ||
		    (row->reason != NULL && strcmp(*reason, row->reason) != 0);
	if (changed && why != NULL)
		reverify_explain(rv, row, v, why, whylen);
	auth_verdict_free(v);
	json_decref(headers);
	return changed;
}

/* The key set today's verdicts come from. */
const char *
reverify_keyset(const struct reverify *rv)
{
	return rv->today_fp;
}
