/*
 * store/store-remote.c -- event rows from verdicts other recorders judged.
 *
 * A recorder run with --verdict-subject PREFIX publishes each verdict it
 * commits, as the verdict's JSON (DESIGN §2), on PREFIX.<the event's
 * subject>.  `watch --verdicts PREFIX` keeps what it reads as rows of a
 * trail of its own, so that the console, export and audit work on a
 * fleet's verdicts as on one recorder's events.  store_append_remote()
 * maps a verdict message onto the columns store_append_event() fills,
 * with the same compact forms, so readers cannot tell the rows apart
 * except by their detail column (below).
 *
 * DESIGN: the message comes from the network and anyone allowed to
 * publish on PREFIX.> can send it, so it is checked before it is believed:
 * a JSON object (no duplicate names), "verdict" pass or fail, "reason" a
 * reason code that agrees with it, "subject" the subject it was published
 * for, a trace of checks, and every other member it has of the type a
 * verdict gives it.  Anything else is still recorded, as a failing
 * malformed_message row holding the message's bytes as its body and a
 * one-check trace that says what was wrong (never quoting the input), so
 * that someone writing junk or forgeries to the verdict subjects leaves
 * a trace.  Strings come out of jansson, so every text column is valid
 * UTF-8 without NULs; the console makes them safe to show.
 *
 * What differs from a recorder's own rows: the original message's headers
 * and body never travel with a verdict, so headers holds the verdict
 * message's own (Ztwatch-Received-Us, Ztwatch-Stream, ...) and body is
 * empty (NULL) for a verdict; the JWT header, which the console otherwise
 * decodes from the token, goes into detail as
 * {"verdict_subject": "PREFIX.<subject>", "header": {...}}; claims and the
 * trace are jansson's compact re-encoding of the verdict's, not the
 * token's own bytes.  The registered claims (iss, sub, aud, scope, jti,
 * exp, iat) come from top-level members when a verdict has them, else from
 * its claims, as auth/ derives them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store-int.h"

/* What a verdict's JSON gives each column; texts owned by the parse. */
struct remote_cols {
	json_t		*doc;
	const char	*via;		/* the subject it came on (borrowed from msg) */
	const char	*subject;	/* the original subject: via after PREFIX. */
	int		 pass;
	enum auth_reason reason;
	const char	*rule, *alg, *kid, *token;
	const char	*iss, *sub, *aud, *scope, *jti, *event_id;
	int		 has_exp, has_iat;
	double		 exp, iat;
	char		*aud_json, *scope_json, *event_id_json;	/* allocated */
	char		*claims, *checks, *warnings, *detail;	/* allocated */
	const char	*problem;	/* why it is not a verdict, or NULL */
};

/* A JSON value as compact text (jansson's), or NULL for none or null. */
static char *
remote_dump(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Member name of obj when it is absent, null or a string: 0 and *out (NULL
   for absent or null), else -1. */
static int
remote_string(const json_t *obj, const char *name, const char **out)
{
	const json_t	*v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Whether member name of obj is absent, null or of the type check accepts. */
static int
remote_is(const json_t *obj, const char *name, int (*check)(const json_t *))
{
	const json_t	*v = json_object_get(obj, name);

	return v == NULL || json_is_null(v) || check(v);
}

/* Whether v is an object (for remote_is). */
static int
remote_object(const json_t *v)
{
	return json_is_object(v);
}

/* Whether v is a trace: an array of {"check": S, "ok": true|false|null,
   "detail": S} with optional string "expected" and "actual". */
static int
remote_trace(const json_t *v)
{
	const json_t	*c, *ok;
	const char	*s;
	size_t		 i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, c) {
		ok = json_object_get(c, "ok");
		if (!json_is_object(c) || remote_string(c, "check", &s) != 0 || s == NULL ||
		    remote_string(c, "detail", &s) != 0 || s == NULL || ok == NULL ||
		    !(json_is_boolean(ok) || json_is_null(ok)) ||
		    remote_string(c, "expected", &s) != 0 || remote_string(c, "actual", &s) != 0)
			return 0;
	}
	return 1;
}

/* Whether v is an array of strings. */
static int
remote_strings(const json_t *v)
{
	const json_t	*w;
	size_t		 i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, w) {
		if (!json_is_string(w))
			return 0;
	}
	return 1;
}

/* A claim as the trail keeps it: a string as it is, another value as its
   JSON text (then allocated in *json_text); NULL for none or null. */
static const char *
remote_claim(const json_t *v, char **json_text)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	*json_text = remote_dump(v);
	return *json_text;
}

/*
 * The registered claims: a top-level member of the verdict when it has
 * one, else the claim, as auth/ takes them (iss, sub, jti and scope
 * strings, scope else scp's JSON text, aud a string or its JSON text, exp
 * and iat numbers).  Returns a problem, or NULL.
 */
static const char *
remote_facts(struct remote_cols *rc, const json_t *claims)
{
	static const char *const strs[] = { "iss", "sub", "jti" };
	const char	**out[] = { &rc->iss, &rc->sub, &rc->jti };
	const json_t	*top = rc->doc, *v;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		if (remote_string(top, strs[i], out[i]) != 0)
			return "a member 'iss', 'sub' or 'jti' is not a string";
		if (*out[i] == NULL)
			*out[i] = json_string_value(json_object_get(claims, strs[i]));
	}
	if ((v = json_object_get(top, "scope")) == NULL || json_is_null(v)) {
		if ((v = json_object_get(claims, "scope")) == NULL || !json_is_string(v))
			v = json_object_get(claims, "scp");
	}
	rc->scope = remote_claim(v, &rc->scope_json);
	if ((v = json_object_get(top, "aud")) == NULL || json_is_null(v))
		v = json_object_get(claims, "aud");
	rc->aud = remote_claim(v, &rc->aud_json);
	if ((v = json_object_get(top, "exp")) == NULL || json_is_null(v))
		v = json_object_get(claims, "exp");
	if ((rc->has_exp = json_is_number(v)))
		rc->exp = json_number_value(v);
	if ((v = json_object_get(top, "iat")) == NULL || json_is_null(v))
		v = json_object_get(claims, "iat");
	if ((rc->has_iat = json_is_number(v)))
		rc->iat = json_number_value(v);
	return NULL;
}

/* Whether v is a number (for remote_is). */
static int
remote_number(const json_t *v)
{
	return json_is_number(v);
}

/* Check the verdict and fill the columns from it; returns a problem, or
   NULL when it is a verdict. */
static const char *
remote_verdict(struct remote_cols *rc, const void *body, size_t len)
{
	const json_t	*d, *claims, *header, *v;
	const char	*verdict, *reason, *subject, *problem;
	json_t		*detail;
	int		 code;

	if ((rc->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return "the message is not JSON (or names a member twice)";
	d = rc->doc;
	if (!json_is_object(d))
		return "the message is not a JSON object";
	if (remote_string(d, "verdict", &verdict) != 0 || verdict == NULL ||
	    (strcmp(verdict, "pass") != 0 && strcmp(verdict, "fail") != 0))
		return "member 'verdict' is not \"pass\" or \"fail\"";
	if (remote_string(d, "reason", &reason) != 0 || reason == NULL ||
	    (code = auth_reason_from_name(reason)) < 0)
		return "member 'reason' is not a reason code";
	rc->pass = strcmp(verdict, "pass") == 0;
	rc->reason = (enum auth_reason)code;
	if (rc->pass != (rc->reason == AUTH_OK))
		return "members 'verdict' and 'reason' disagree (a pass has reason ok, a failure"
		    " another)";
	if (remote_string(d, "subject", &subject) != 0 || subject == NULL ||
	    strcmp(subject, rc->subject) != 0)
		return "member 'subject' is not the subject the verdict was published for";
	if (remote_string(d, "rule", &rc->rule) != 0 || remote_string(d, "alg", &rc->alg) != 0 ||
	    remote_string(d, "kid", &rc->kid) != 0 || remote_string(d, "token", &rc->token) != 0)
		return "a member 'rule', 'alg', 'kid' or 'token' is not a string";
	if (!remote_is(d, "header", remote_object) || !remote_is(d, "claims", remote_object))
		return "member 'header' or 'claims' is not an object";
	if (!remote_trace(json_object_get(d, "checks")))
		return "member 'checks' is not a trace of checks";
	if (!remote_is(d, "warnings", remote_strings))
		return "member 'warnings' is not an array of strings";
	if (!remote_is(d, "exp", remote_number) || !remote_is(d, "iat", remote_number))
		return "member 'exp' or 'iat' is not a number";
	claims = json_object_get(d, "claims");
	if ((problem = remote_facts(rc, claims)) != NULL)
		return problem;
	/* The event id: a string as it is, another value as its JSON text. */
	rc->event_id = remote_claim(json_object_get(d, "event_id"), &rc->event_id_json);
	rc->claims = remote_dump(claims);
	rc->checks = remote_dump(json_object_get(d, "checks"));
	v = json_object_get(d, "warnings");
	rc->warnings = v != NULL && !json_is_null(v) ? remote_dump(v) : strdup("[]");
	header = json_object_get(d, "header");
	detail = json_object();
	json_object_set_new(detail, "verdict_subject", json_string(rc->via));
	json_object_set(detail, "header", header != NULL ? (json_t *)header : json_null());
	/* A recorder with fetched keys names the key set that judged the event. */
	if (json_is_string(json_object_get(d, "keyset")))
		json_object_set(detail, "keyset", json_object_get(d, "keyset"));
	rc->detail = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	return NULL;
}

/* The columns of a message that is not a verdict: why, in a one-check
   trace. */
static void
remote_malformed(struct remote_cols *rc, const char *problem)
{
	json_t	*checks = json_array(), *c = json_object(), *detail = json_object();
	char	*text = NULL;

	if (asprintf(&text, "not a verdict: %s", problem) < 0)
		text = NULL;
	rc->problem = problem;
	rc->pass = 0;
	rc->reason = AUTH_MALFORMED_MESSAGE;
	rc->rule = rc->alg = rc->kid = rc->token = NULL;
	rc->iss = rc->sub = rc->aud = rc->scope = rc->jti = rc->event_id = NULL;
	rc->has_exp = rc->has_iat = 0;
	json_object_set_new(c, "check", json_string("verdict"));
	json_object_set_new(c, "ok", json_false());
	json_object_set_new(c, "detail", json_string(text != NULL ? text : problem));
	json_array_append_new(checks, c);
	free(rc->checks);
	free(rc->claims);
	free(rc->warnings);
	free(rc->detail);
	rc->claims = NULL;
	rc->checks = json_dumps(checks, JSON_COMPACT);
	rc->warnings = strdup("[]");
	/* The subject may not be UTF-8: then the detail cannot quote it. */
	json_object_set_new(detail, "verdict_subject", json_string(rc->via));
	rc->detail = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	json_decref(checks);
	free(text);
}

/* Release what the columns hold. */
static void
remote_cols_free(struct remote_cols *rc)
{
	json_decref(rc->doc);
	free(rc->aud_json);
	free(rc->scope_json);
	free(rc->event_id_json);
	free(rc->claims);
	free(rc->checks);
	free(rc->warnings);
	free(rc->detail);
}

/* Append the verdict message msg (borrowed) received on PREFIX.<subject>. */
int
store_append_remote(struct store *st, const struct auth_msg *msg, const char *prefix,
    const struct store_origin *o, struct store_remote *res, char **cause)
{
	struct store_value	 vals[STORE_NCOLS];
	struct remote_cols	 rc;
	const char		*problem;
	size_t			 plen = strlen(prefix), i;
	int			 rv;

	memset(&rc, 0, sizeof rc);
	memset(res, 0, sizeof *res);
	rc.via = msg->subject != NULL ? msg->subject : "";
	rc.subject = rc.via;
	if (strncmp(rc.via, prefix, plen) == 0 && rc.via[plen] == '.' && rc.via[plen + 1] != '\0')
		rc.subject = rc.via + plen + 1;
	if ((problem = remote_verdict(&rc, msg->body != NULL ? (const void *)msg->body : "",
	    msg->body_len)) != NULL)
		remote_malformed(&rc, problem);
	if (rc.checks == NULL || rc.warnings == NULL || rc.detail == NULL) {
		/* out of memory: no row without its trace */
		remote_cols_free(&rc);
		*cause = strdup("out of memory");
		return -1;
	}
	res->subject = rc.subject;
	res->pass = rc.pass;
	res->reason = rc.reason;
	res->malformed = problem != NULL;

	for (i = 0; i < STORE_NCOLS; i++)
		val_null(&vals[i]);
	val_text(&vals[COL_KIND], "event");
	val_int(&vals[COL_RECEIVED], o->received_us);
	if (st->session != 0)
		val_int(&vals[COL_SESSION], st->session);
	val_text(&vals[COL_SUBJECT], rc.subject);
	val_text(&vals[COL_STREAM], o->stream);
	if (o->stream != NULL)
		val_int(&vals[COL_SEQ], (int64_t)o->stream_seq);
	val_text(&vals[COL_RULE], rc.rule);
	val_text(&vals[COL_VERDICT], rc.pass ? "pass" : "fail");
	val_text(&vals[COL_REASON], auth_reason_name(rc.reason));
	val_text(&vals[COL_ALG], rc.alg);
	val_text(&vals[COL_KID], rc.kid);
	val_text(&vals[COL_ISS], rc.iss);
	val_text(&vals[COL_SUB], rc.sub);
	val_text(&vals[COL_AUD], rc.aud);
	val_text(&vals[COL_SCOPE], rc.scope);
	val_text(&vals[COL_JTI], rc.jti);
	val_text(&vals[COL_EVENT_ID], rc.event_id);
	if (rc.has_exp)
		val_real(&vals[COL_EXP], rc.exp);
	if (rc.has_iat)
		val_real(&vals[COL_IAT], rc.iat);
	/* A verdict does not carry the event's body; a message that is not a
	   verdict is kept as it came. */
	if (problem != NULL)
		val_blob(&vals[COL_BODY], msg->body, msg->body_len);
	val_text(&vals[COL_WARNINGS], rc.warnings);
	val_text(&vals[COL_DETAIL], rc.detail);
	store_headers_json(msg, &st->hdr);

	/* The compact forms and their contexts, as store_append_event's. */
	store_compact_columns(st, vals, rc.claims, rc.claims != NULL ? strlen(rc.claims) : 0,
	    rc.token, rc.token != NULL ? strlen(rc.token) : 0, rc.checks,
	    rc.checks != NULL ? strlen(rc.checks) : 0);

	rv = store_append_row(st, vals, o->stream != NULL, cause);
	if (rv == 1)
		res->duplicate = 1;
	remote_cols_free(&rc);
	return rv < 0 ? -1 : 0;
}
