/*
 * auth/auth-policy.c -- the policy file (DESIGN §3): load, validate, match.
 *
 * Everything a verdict depends on is decided here, once: which keys each
 * rule trusts, which algorithms, where the token is, what it is bound to.
 * Every error names the file, the JSON path and the problem, and stops the
 * load; a policy that loads is one the verifier can apply without doubt.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "auth-int.h"

#define AUTH_DEFAULT_MAX_TOKEN	16384
#define AUTH_DEFAULT_MAX_BODY	(1024 * 1024)
#define AUTH_DEFAULT_MAX_DEPTH	64
#define AUTH_POLICY_MAX_BYTES	(4 * 1024 * 1024)

/* State of one load, for error messages. */
struct policy_load {
	const char		*file;		/* as given, for messages */
	char			*dir;		/* folder for relative paths */
	struct auth_policy	*p;
	char			**cause;
};

/* Set *cause to "file: path: message" and return -1. */
static int __attribute__((format(printf, 3, 4)))
policy_error(struct policy_load *pl, const char *path, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	msg = auth_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (path != NULL && *path != '\0')
		*pl->cause = auth_printf("%s: %s: %s", pl->file, path, msg);
	else
		*pl->cause = auth_printf("%s: %s", pl->file, msg);
	free(msg);
	return -1;
}

/* Check that obj has only members named in allowed (NULL-terminated). */
static int
policy_known_fields(struct policy_load *pl, const char *path, json_t *obj,
    const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], k) == 0)
				break;
		}
		if (allowed[i] == NULL)
			return policy_error(pl, path, "unknown field '%s'", k);
	}
	return 0;
}

/* A string member, or NULL; error when present with another type. */
static int
policy_string(struct policy_load *pl, const char *path, json_t *obj,
    const char *key, const char **out)
{
	json_t	*v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return policy_error(pl, path, "'%s' must be a non-empty string", key);
	*out = json_string_value(v);
	return 0;
}

/*
 * A non-empty string or array of them into a new array; absent gives none.
 * An empty list is refused unless empty_ok: "issuer": [] would read as a
 * check and silently be none, which is what leaving the member out says.
 */
static int
policy_strings(struct policy_load *pl, const char *path, json_t *obj,
    const char *key, int empty_ok, char ***out, size_t *n)
{
	json_t	*v = json_object_get(obj, key), *e;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return policy_error(pl, path, "'%s' must be a non-empty string", key);
		*out = auth_calloc(1, sizeof **out);
		(*out)[(*n)++] = auth_strdup(json_string_value(v));
		return 0;
	}
	if (!json_is_array(v))
		return policy_error(pl, path, "'%s' must be a string or an array of strings", key);
	if (json_array_size(v) == 0 && !empty_ok)
		return policy_error(pl, path, "'%s' is an empty list, which would check nothing;"
		    " leave it out if that is meant", key);
	*out = auth_calloc(json_array_size(v), sizeof **out);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0) {
			return policy_error(pl, path, "%s[%zu] must be a non-empty string",
			    key, i);
		}
		(*out)[(*n)++] = auth_strdup(json_string_value(e));
	}
	return 0;
}

/* An integer member from min to max (the message names both), or the default. */
static int
policy_integer(struct policy_load *pl, const char *path, json_t *obj,
    const char *key, long long min, long long max, long long *out)
{
	json_t	*v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return policy_error(pl, path, "'%s' must be an integer from %lld to %lld",
		    key, min, max);
	*out = json_integer_value(v);
	return 0;
}

/* A JSON pointer member, or NULL. */
static int
policy_pointer(struct policy_load *pl, const char *path, json_t *obj,
    const char *key, struct auth_pointer **out)
{
	const char	*s;
	char		*why = NULL;
	json_t		*v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return policy_error(pl, path, "'%s' must be a JSON pointer string", key);
	s = json_string_value(v);
	if ((*out = auth_pointer_parse(s, &why)) == NULL) {
		policy_error(pl, path, "%s: %s", key, why);
		free(why);
		return -1;
	}
	return 0;
}

/* Whether url starts with scheme (case-insensitive) and has a host after it. */
static int
policy_url_scheme(const char *url, const char *scheme)
{
	size_t	n = strlen(scheme);

	return strncasecmp(url, scheme, n) == 0 && url[n] != '\0' && url[n] != '/';
}

/* Load a jwks_url entry: keys fetched by the caller while the policy is in use. */
static int
policy_load_remote(struct policy_load *pl, const char *name, json_t *entry)
{
	static const char *const fields[] = { "jwks_url", "ca_file", "allow_http",
		"refresh_s", "refetch_min_s", "timeout_s", "max_bytes", "alg", "issuer", NULL };
	struct auth_remote	*r;
	const char		*url, *ca = NULL, *alg = NULL, *iss = NULL;
	long long		 refresh = 300, refetch = 30, timeout = 10, max = 1 << 20;
	json_t			*http = json_object_get(entry, "allow_http");
	char			*path = auth_printf("keys.%s", name);
	int			 rc = -1;

	if (policy_known_fields(pl, path, entry, fields) != 0 ||
	    policy_string(pl, path, entry, "jwks_url", &url) != 0 ||
	    policy_string(pl, path, entry, "ca_file", &ca) != 0 ||
	    policy_string(pl, path, entry, "alg", &alg) != 0 ||
	    policy_string(pl, path, entry, "issuer", &iss) != 0 ||
	    policy_integer(pl, path, entry, "refresh_s", 1, 7 * 86400, &refresh) != 0 ||
	    policy_integer(pl, path, entry, "refetch_min_s", 0, 86400, &refetch) != 0 ||
	    policy_integer(pl, path, entry, "timeout_s", 1, 600, &timeout) != 0 ||
	    policy_integer(pl, path, entry, "max_bytes", 64, 64 << 20, &max) != 0)
		goto out;
	if (http != NULL && !json_is_boolean(http)) {
		policy_error(pl, path, "'allow_http' must be true or false");
		goto out;
	}
	if (!policy_url_scheme(url, "https://") && !policy_url_scheme(url, "http://")) {
		policy_error(pl, path, "jwks_url: '%s' is not an https:// URL", url);
		goto out;
	}
	if (policy_url_scheme(url, "http://") && !json_is_true(http)) {
		policy_error(pl, path, "jwks_url: '%s' is plain http, which anyone on the way can "
		    "change; use https, or say \"allow_http\": true", url);
		goto out;
	}
	if (alg != NULL && auth_alg_from_name(alg) < 0) {
		policy_error(pl, path, "alg: unknown algorithm '%s'", alg);
		goto out;
	}
	pl->p->remotes = auth_realloc(pl->p->remotes, (pl->p->nremotes + 1) *
	    sizeof *pl->p->remotes);
	r = &pl->p->remotes[pl->p->nremotes++];
	memset(r, 0, sizeof *r);
	r->name = auth_strdup(name);
	r->url = auth_strdup(url);
	if (ca != NULL)
		r->ca_file = ca[0] == '/' ? auth_strdup(ca) : auth_printf("%s/%s", pl->dir, ca);
	r->allow_http = json_is_true(http);
	r->refresh_s = (long)refresh;
	r->refetch_min_s = (long)refetch;
	r->timeout_s = (long)timeout;
	r->max_bytes = (size_t)max;
	r->alg = alg ? auth_alg_from_name(alg) : -1;
	r->issuer = iss ? auth_strdup(iss) : NULL;
	if (r->ca_file != NULL && access(r->ca_file, R_OK) != 0)
		policy_error(pl, path, "ca_file: cannot read '%s': %s", r->ca_file,
		    strerror(errno));
	else
		rc = 0;
out:
	free(path);
	return rc;
}

/* Index of the jwks_url entry named name, or -1. */
static long
policy_find_remote(const struct auth_policy *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->nremotes; i++) {
		if (strcmp(p->remotes[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* Load the "keys" object into the keyring. */
static int
policy_load_keys(struct policy_load *pl, json_t *keys)
{
	const char	*name;
	json_t		*entry;
	char		*where;
	int		 rc;

	if (!json_is_object(keys) || json_object_size(keys) == 0)
		return policy_error(pl, "keys", "must be an object naming at least one key");
	json_object_foreach(keys, name, entry) {
		if (!json_is_object(entry))
			return policy_error(pl, "keys", "'%s' must be an object", name);
		if (json_object_get(entry, "jwks_url") != NULL) {
			if (policy_load_remote(pl, name, entry) != 0)
				return -1;
			continue;
		}
		where = auth_printf("%s: keys.%s", pl->file, name);
		rc = auth_keyring_load_entry(&pl->p->kr, name, entry, pl->dir, where,
		    pl->cause);
		free(where);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Load "limits". */
static int
policy_load_limits(struct policy_load *pl, json_t *lim)
{
	static const char *const fields[] = {
		"max_token_bytes", "max_body_bytes", "max_depth", NULL
	};
	struct auth_limits	*l = &pl->p->limits;
	long long		 tok = (long long)l->max_token, body = (long long)l->max_body;
	long long		 depth = (long long)l->max_depth;

	if (lim == NULL)
		return 0;
	if (!json_is_object(lim))
		return policy_error(pl, "limits", "must be an object");
	if (policy_known_fields(pl, "limits", lim, fields) != 0 ||
	    policy_integer(pl, "limits", lim, "max_token_bytes", 16, 1 << 20, &tok) != 0 ||
	    policy_integer(pl, "limits", lim, "max_body_bytes", 2, 64 << 20, &body) != 0 ||
	    policy_integer(pl, "limits", lim, "max_depth", 1, 1000, &depth) != 0)
		return -1;
	l->max_token = (size_t)tok;
	l->max_body = (size_t)body;
	l->max_depth = (size_t)depth;
	return 0;
}

/* Index of the keys entry named name: its first key, or -1. */
static long
policy_find_entry(struct auth_policy *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->kr.nkeys; i++) {
		if (strcmp(p->kr.keys[i]->name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* Add every key of the entry name to r->keys. */
static int
policy_rule_add_keys(struct policy_load *pl, struct auth_rule *r, const char *path,
    const char *name)
{
	struct auth_keyring	*kr = &pl->p->kr;
	size_t			 i;

	long			 remote = policy_find_remote(pl->p, name);

	if (remote >= 0) {
		r->remotes = auth_realloc(r->remotes, (r->nremotes + 1) * sizeof *r->remotes);
		r->remotes[r->nremotes++] = (size_t)remote;
		return 0;
	}
	if (policy_find_entry(pl->p, name) < 0)
		return policy_error(pl, path, "no key named '%s' in keys", name);
	for (i = 0; i < kr->nkeys; i++) {
		if (strcmp(kr->keys[i]->name, name) != 0)
			continue;
		/* Every fitting key is tried; keep that bounded and whole. */
		if (r->nkeys == AUTH_MAX_RULE_KEYS)
			return policy_error(pl, path, "a rule may use at most %d keys",
			    AUTH_MAX_RULE_KEYS);
		r->keys = auth_realloc(r->keys, (r->nkeys + 1) * sizeof *r->keys);
		r->keys[r->nkeys++] = i;
	}
	return 0;
}

/* Load "keys" and "algorithms" of a rule and check they agree. */
static int
policy_rule_keys(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	json_t		*keys = json_object_get(jr, "keys"), *algs, *e;
	char		*sub;
	size_t		 i, k;
	int		 alg, rc;

	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return policy_error(pl, path, "a rule needs 'keys', a non-empty array of key names");
	json_array_foreach(keys, i, e) {
		if (!json_is_string(e))
			return policy_error(pl, path, "keys[%zu] must be a key name", i);
		sub = auth_printf("%s.keys[%zu]", path, i);
		rc = policy_rule_add_keys(pl, r, sub, json_string_value(e));
		free(sub);
		if (rc != 0)
			return -1;
	}

	algs = json_object_get(jr, "algorithms");
	if (algs != NULL && (!json_is_array(algs) || json_array_size(algs) == 0))
		return policy_error(pl, path, "'algorithms' must be a non-empty array");
	json_array_foreach(algs, i, e) {
		sub = auth_printf("%s.algorithms[%zu]", path, i);
		alg = json_is_string(e) ? auth_alg_from_name(json_string_value(e)) : -1;
		if (!json_is_string(e))
			rc = policy_error(pl, sub, "must be an algorithm name");
		else if (alg < 0 && strcasecmp(json_string_value(e), "none") == 0)
			rc = policy_error(pl, sub, "'none' is never accepted");
		else if (alg < 0)
			rc = policy_error(pl, sub, "unknown algorithm '%s'", json_string_value(e));
		free(sub);
		if (alg < 0)
			return rc;
		r->algs |= 1u << alg;
	}

	/* Keys must not contradict the rule; each allowed alg needs a key. */
	for (k = 0; k < r->nkeys; k++) {
		struct auth_key	*key = pl->p->kr.keys[r->keys[k]];

		if (key->use != NULL && strcmp(key->use, "sig") != 0)
			return policy_error(pl, path, "key '%s'%s%s%s has use '%s', not 'sig'",
			    key->name, key->kid ? " (kid '" : "", key->kid ? key->kid : "",
			    key->kid ? "')" : "", key->use);
		if (algs != NULL && key->alg >= 0 && !(r->algs & (1u << key->alg)))
			return policy_error(pl, path,
			    "key '%s'%s%s%s is for %s, which the rule's algorithms do not allow",
			    key->name, key->kid ? " (kid '" : "", key->kid ? key->kid : "",
			    key->kid ? "')" : "", auth_alg_name(key->alg));
	}
	for (k = 0; k < r->nremotes; k++) {
		const struct auth_remote	*rm = &pl->p->remotes[r->remotes[k]];

		if (algs == NULL && rm->alg < 0)
			return policy_error(pl, path, "a rule using '%s' (jwks_url) must list its "
			    "'algorithms': its keys are only known once fetched", rm->name);
		if (algs != NULL && rm->alg >= 0 && !(r->algs & (1u << rm->alg)))
			return policy_error(pl, path,
			    "key '%s' is for %s, which the rule's algorithms do not allow",
			    rm->name, auth_alg_name(rm->alg));
	}
	for (alg = 0; alg < AUTH_ALG_COUNT; alg++) {
		int	fits = 0;

		/* A fetched set may hold a key for any alg its entry allows. */
		for (k = 0; k < r->nremotes; k++) {
			if (pl->p->remotes[r->remotes[k]].alg < 0 ||
			    pl->p->remotes[r->remotes[k]].alg == alg)
				fits = 1;
		}
		for (k = 0; k < r->nkeys; k++) {
			struct auth_key	*key = pl->p->kr.keys[r->keys[k]];

			if (auth_key_type_fits(key->type, alg) &&
			    (key->alg < 0 || key->alg == alg))
				fits = 1;
		}
		if (algs == NULL && fits)
			r->algs |= 1u << alg;
		else if ((r->algs & (1u << alg)) && !fits)
			return policy_error(pl, path, "no key of this rule can verify %s",
			    auth_alg_name(alg));
	}
	if (r->algs == 0)
		return policy_error(pl, path, "no algorithm fits this rule's keys");
	return 0;
}

/* Load "token" and "payload": the rule's wire format. */
static int
policy_rule_wire(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	static const char *const tfields[] = { "header", "scheme", "json", NULL };
	static const char *const pfields[] = { "json", NULL };
	json_t		*tok = json_object_get(jr, "token"), *pay = json_object_get(jr, "payload");
	const char	*hdr, *scheme;
	char		*sub;
	int		 rc;

	if (r->wire == AUTH_WIRE_SEED) {
		if (tok != NULL || pay != NULL)
			return policy_error(pl, path,
			    "profile nats_pubsub fixes where the token is; drop 'token' and 'payload'");
		return 0;
	}
	if (!json_is_object(tok))
		return policy_error(pl, path,
		    "a rule needs 'token': {\"header\": NAME, \"scheme\": S} or {\"json\": POINTER}");
	sub = auth_printf("%s.token", path);
	rc = policy_known_fields(pl, sub, tok, tfields);
	if (rc == 0)
		rc = policy_string(pl, sub, tok, "header", &hdr);
	if (rc == 0)
		rc = policy_string(pl, sub, tok, "scheme", &scheme);
	if (rc == 0)
		rc = policy_pointer(pl, sub, tok, "json", &r->token_pointer);
	if (rc == 0 && (hdr != NULL) == (r->token_pointer != NULL))
		rc = policy_error(pl, sub, "give exactly one of 'header' or 'json'");
	if (rc == 0 && scheme != NULL && hdr == NULL)
		rc = policy_error(pl, sub, "'scheme' goes with 'header'");
	free(sub);
	if (rc != 0)
		return -1;
	r->wire = hdr != NULL ? AUTH_WIRE_HEADER : AUTH_WIRE_JSON;
	r->token_header = auth_strdup(hdr);
	r->token_scheme = auth_strdup(scheme);

	if (pay == NULL)
		return 0;
	sub = auth_printf("%s.payload", path);
	rc = json_is_object(pay) ? 0 : policy_error(pl, sub, "must be {\"json\": POINTER}");
	if (rc == 0)
		rc = policy_known_fields(pl, sub, pay, pfields);
	if (rc == 0)
		rc = policy_pointer(pl, sub, pay, "json", &r->payload_pointer);
	if (rc == 0 && r->payload_pointer == NULL)
		rc = policy_error(pl, sub, "must be {\"json\": POINTER}");
	free(sub);
	return rc;
}

/* Load one "bind" entry. */
static int
policy_rule_bind(struct policy_load *pl, struct auth_bind *b, const char *path, json_t *jb)
{
	static const char *const fields[] = {
		"claim", "equals", "hash", "encoding", "canon", NULL
	};
	const char	*claim, *hash, *enc, *canon;

	if (!json_is_object(jb))
		return policy_error(pl, path, "must be an object");
	if (policy_known_fields(pl, path, jb, fields) != 0 ||
	    policy_string(pl, path, jb, "claim", &claim) != 0 ||
	    policy_pointer(pl, path, jb, "equals", &b->equals) != 0 ||
	    policy_string(pl, path, jb, "hash", &hash) != 0 ||
	    policy_string(pl, path, jb, "encoding", &enc) != 0 ||
	    policy_string(pl, path, jb, "canon", &canon) != 0)
		return -1;
	if (claim == NULL)
		return policy_error(pl, path, "a binding needs 'claim'");
	b->claim = auth_strdup(claim);
	if ((b->equals != NULL) == (hash != NULL))
		return policy_error(pl, path, "give exactly one of 'equals' or 'hash'");
	if (hash == NULL) {
		if (enc != NULL || canon != NULL)
			return policy_error(pl, path, "'encoding' and 'canon' go with 'hash'");
		return 0;
	}
	if (strcmp(hash, "sha256") == 0) {
		b->digest = "SHA256";
		b->digest_len = 32;
	} else if (strcmp(hash, "sha384") == 0) {
		b->digest = "SHA384";
		b->digest_len = 48;
	} else if (strcmp(hash, "sha512") == 0) {
		b->digest = "SHA512";
		b->digest_len = 64;
	} else
		return policy_error(pl, path, "unknown hash '%s' (sha256, sha384, sha512)", hash);
	if (enc == NULL || strcmp(enc, "hex") == 0)
		b->encoding = AUTH_ENC_HEX;
	else if (strcmp(enc, "base64url") == 0)
		b->encoding = AUTH_ENC_BASE64URL;
	else
		return policy_error(pl, path, "unknown encoding '%s' (hex, base64url)", enc);
	if (canon != NULL && strcmp(canon, "jcs") == 0)
		b->jcs = 1;
	else if (canon != NULL && strcmp(canon, "none") != 0)
		return policy_error(pl, path, "unknown canon '%s' (jcs, none)", canon);
	return 0;
}

/* Load "bind". */
static int
policy_rule_binds(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	json_t	*binds = json_object_get(jr, "bind"), *e;
	char	*sub;
	size_t	 i;
	int	 rc;

	if (binds == NULL)
		return 0;
	if (!json_is_array(binds))
		return policy_error(pl, path, "'bind' must be an array");
	if (json_array_size(binds) > AUTH_MAX_BINDS)
		return policy_error(pl, path, "at most %d bindings per rule", AUTH_MAX_BINDS);
	r->binds = auth_calloc(json_array_size(binds), sizeof *r->binds);
	json_array_foreach(binds, i, e) {
		sub = auth_printf("%s.bind[%zu]", path, i);
		rc = policy_rule_bind(pl, &r->binds[r->nbinds++], sub, e);
		free(sub);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Load "replay". */
static int
policy_rule_replay(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	static const char *const fields[] = { "claim", "field", "window_s", NULL };
	json_t		*rp = json_object_get(jr, "replay");
	const char	*claim;
	char		*sub;
	int		 rc;

	if (rp == NULL)
		return 0;
	sub = auth_printf("%s.replay", path);
	r->replay_window = 86400;
	rc = json_is_object(rp) ? 0 : policy_error(pl, sub, "must be an object");
	if (rc == 0)
		rc = policy_known_fields(pl, sub, rp, fields);
	if (rc == 0)
		rc = policy_string(pl, sub, rp, "claim", &claim);
	if (rc == 0)
		rc = policy_pointer(pl, sub, rp, "field", &r->replay_field);
	if (rc == 0)
		rc = policy_integer(pl, sub, rp, "window_s", 1, 366LL * 86400, &r->replay_window);
	if (rc == 0 && (claim != NULL) == (r->replay_field != NULL))
		rc = policy_error(pl, sub, "give exactly one of 'claim' or 'field'");
	if (rc == 0)
		r->replay_claim = auth_strdup(claim);
	free(sub);
	return rc;
}

/* Load the seed profile's event key and publisher binding. */
static int
policy_rule_seed(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	const char	*ek;
	json_t		*bp = json_object_get(jr, "bind_publisher");
	long		 idx;
	size_t		 i, n = 0;

	if (policy_string(pl, path, jr, "event_key", &ek) != 0)
		return -1;
	if (bp != NULL && !json_is_boolean(bp))
		return policy_error(pl, path, "'bind_publisher' must be true or false");
	if (r->wire != AUTH_WIRE_SEED) {
		if (ek != NULL || bp != NULL)
			return policy_error(pl, path,
			    "'event_key' and 'bind_publisher' go with \"profile\": \"nats_pubsub\"");
		return 0;
	}
	r->bind_publisher = json_is_true(bp);
	if (ek == NULL)
		return policy_error(pl, path, "profile nats_pubsub needs 'event_key'");
	if ((idx = policy_find_entry(pl->p, ek)) < 0)
		return policy_error(pl, path, "event_key: no key named '%s' in keys", ek);
	for (i = 0; i < pl->p->kr.nkeys; i++)
		n += strcmp(pl->p->kr.keys[i]->name, ek) == 0;
	if (n != 1 || pl->p->kr.keys[idx]->type != AUTH_KEY_OCT)
		return policy_error(pl, path, "event_key: '%s' must be one HMAC secret", ek);
	r->event_key = (size_t)idx;
	return 0;
}

/* Check subjects, scopes and claims lists of a rule. */
static int
policy_rule_lists(struct policy_load *pl, struct auth_rule *r, const char *path, json_t *jr)
{
	size_t	i;

	/* An empty subjects list gets the message of a missing one, below. */
	if (policy_strings(pl, path, jr, "subjects", 1, &r->subjects, &r->nsubjects) != 0 ||
	    policy_strings(pl, path, jr, "issuer", 0, &r->issuers, &r->nissuers) != 0 ||
	    policy_strings(pl, path, jr, "audience", 0, &r->audiences, &r->naudiences) != 0 ||
	    policy_strings(pl, path, jr, "scopes", 0, &r->scopes, &r->nscopes) != 0)
		return -1;
	if (r->nsubjects == 0)
		return policy_error(pl, path, "a rule needs 'subjects'");
	for (i = 0; i < r->nsubjects; i++) {
		if (!auth_subject_valid(r->subjects[i], 1))
			return policy_error(pl, path, "subjects[%zu]: '%s' is not a valid subject",
			    i, r->subjects[i]);
	}
	for (i = 0; i < r->nscopes; i++) {
		if (strchr(r->scopes[i], ' ') != NULL)
			return policy_error(pl, path, "scopes[%zu]: a scope has no spaces", i);
	}
	if (json_object_get(jr, "require") != NULL) {
		if (policy_strings(pl, path, jr, "require", 1, &r->require, &r->nrequire) != 0)
			return -1;
	} else {
		r->require = auth_calloc(1, sizeof *r->require);
		r->require[r->nrequire++] = auth_strdup("exp");
	}
	return 0;
}

/* resume_* scopes are meta-scopes: the token must be bound to the event. */
static int
policy_rule_meta_scopes(struct policy_load *pl, struct auth_rule *r, const char *path)
{
	size_t	i;

	if (r->nbinds > 0 || r->wire == AUTH_WIRE_SEED)
		return 0;
	for (i = 0; i < r->nscopes; i++) {
		if (strncmp(r->scopes[i], "resume_", 7) == 0)
			return policy_error(pl, path,
			    "scope '%s' is a resume_ meta-scope: the rule must bind the token to the event ('bind')",
			    r->scopes[i]);
	}
	return 0;
}

/* "a, b, c" (sep between), allocated. */
static char *
policy_join(char **list, size_t n, const char *sep)
{
	size_t	 i, len = 1;
	char	*out;

	for (i = 0; i < n; i++)
		len += strlen(list[i]) + strlen(sep);
	out = auth_calloc(1, len);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, sep);
		strcat(out, list[i]);
	}
	return out;
}

/* The texts the trace shows for a rule, made once. */
static void
policy_rule_texts(struct auth_rule *r)
{
	char	*algs[AUTH_ALG_COUNT];
	size_t	 n = 0, i;
	int	 alg;

	for (alg = 0; alg < AUTH_ALG_COUNT; alg++) {
		if (r->algs & (1u << alg))
			algs[n++] = (char *)auth_alg_name(alg);
	}
	r->algs_text = policy_join(algs, n, " ");
	r->issuers_text = policy_join(r->issuers, r->nissuers, ", ");
	r->audiences_text = policy_join(r->audiences, r->naudiences, ", ");
	r->scopes_text = policy_join(r->scopes, r->nscopes, " ");
	if (r->wire == AUTH_WIRE_SEED)
		r->token_text = auth_strdup("found in the envelope's /jwt");
	else if (r->wire == AUTH_WIRE_JSON)
		r->token_text = auth_printf("found in the body at %s", r->token_pointer->text);
	else
		r->token_text = auth_printf("found in header '%s'%s%s", r->token_header,
		    r->token_scheme ? " after " : "", r->token_scheme ? r->token_scheme : "");
	for (i = 0; i < r->nbinds; i++) {
		struct auth_bind	*b = &r->binds[i];

		if (b->equals != NULL)
			b->ok_text = auth_printf("claim '%s' equals the payload's %s", b->claim,
			    b->equals->text);
		else
			b->ok_text = auth_printf("%s of the payload%s matches claim '%s'",
			    b->digest, b->jcs ? " (JCS)" : " (exact bytes)", b->claim);
	}
}

/* Load one rule. */
static int
policy_load_rule(struct policy_load *pl, struct auth_rule *r, size_t idx, json_t *jr)
{
	static const char *const fields[] = {
		"name", "subjects", "token", "payload", "profile", "keys", "algorithms",
		"issuer", "audience", "scopes", "require", "bind", "leeway_s", "replay",
		"event_id", "event_key", "bind_publisher", NULL
	};
	char		*path = auth_printf("rules[%zu]", idx);
	const char	*name, *profile;
	size_t		 i;
	int		 rc = -1;

	r->index = idx;
	if (!json_is_object(jr)) {
		policy_error(pl, path, "must be an object");
		goto out;
	}
	if (policy_known_fields(pl, path, jr, fields) != 0 ||
	    policy_string(pl, path, jr, "name", &name) != 0 ||
	    policy_string(pl, path, jr, "profile", &profile) != 0)
		goto out;
	if (name == NULL) {
		policy_error(pl, path, "a rule needs 'name'");
		goto out;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(pl->p->rules[i].name, name) == 0) {
			policy_error(pl, path, "a rule named '%s' comes earlier", name);
			goto out;
		}
	}
	r->name = auth_strdup(name);
	if (profile != NULL && strcmp(profile, "nats_pubsub") != 0) {
		policy_error(pl, path, "unknown profile '%s' (nats_pubsub)", profile);
		goto out;
	}
	r->wire = profile != NULL ? AUTH_WIRE_SEED : AUTH_WIRE_HEADER;
	if (policy_rule_lists(pl, r, path, jr) != 0 ||
	    policy_rule_wire(pl, r, path, jr) != 0 ||
	    policy_rule_keys(pl, r, path, jr) != 0 ||
	    policy_rule_binds(pl, r, path, jr) != 0 ||
	    policy_rule_replay(pl, r, path, jr) != 0 ||
	    policy_rule_seed(pl, r, path, jr) != 0 ||
	    policy_rule_meta_scopes(pl, r, path) != 0 ||
	    policy_integer(pl, path, jr, "leeway_s", 0, 86400, &r->leeway) != 0 ||
	    policy_pointer(pl, path, jr, "event_id", &r->event_id) != 0)
		goto out;
	policy_rule_texts(r);
	for (i = 0; r->event_id == NULL && i < r->nbinds; i++) {
		if (r->binds[i].equals != NULL)
			r->event_id = auth_pointer_parse(r->binds[i].equals->text, pl->cause);
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/* Load "rules". */
static int
policy_load_rules(struct policy_load *pl, json_t *rules)
{
	json_t	*jr;
	size_t	 i;

	if (!json_is_array(rules) || json_array_size(rules) == 0)
		return policy_error(pl, "rules", "must be a non-empty array");
	pl->p->rules = auth_calloc(json_array_size(rules), sizeof *pl->p->rules);
	json_array_foreach(rules, i, jr) {
		pl->p->nrules++;
		if (policy_load_rule(pl, &pl->p->rules[i], i, jr) != 0)
			return -1;
	}
	return 0;
}

/*
 * Keep only jansson's own words of a syntax error: a literal secret may be
 * in the file, so nothing the file holds may be shown.  The file's text is
 * quoted at the end ("invalid token near 'x'"), and a byte or an escape in
 * a few messages ("control character 0x1f", "invalid Unicode '\uD800'");
 * " near end of file" quotes nothing and stays.
 */
static void
policy_json_words(char *text)
{
	static const char	*quotes[] = { " near '", " 0x", " '\\u" };
	char			*p;
	size_t			 i;

	for (i = 0; i < sizeof quotes / sizeof quotes[0]; i++)
		if ((p = strstr(text, quotes[i])) != NULL)
			*p = '\0';
}

/* Hex SHA-256 of the file bytes. */
static char *
policy_hash(const unsigned char *buf, size_t len)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	return auth_hex(md, sizeof md);
}

/* Load, validate and parse the policy at path. */
struct auth_policy *
auth_policy_load(const char *path, char **cause)
{
	static const char *const fields[] = { "keys", "rules", "limits", NULL };
	struct policy_load	 pl;
	unsigned char		*buf;
	size_t			 len;
	json_error_t		 je;
	json_t			*root = NULL;
	char			*copy, *why = NULL;
	int			 rc = -1;

	memset(&pl, 0, sizeof pl);
	pl.file = path;
	pl.cause = cause;
	if ((buf = auth_read_file(path, AUTH_POLICY_MAX_BYTES, &len, &why)) == NULL) {
		*cause = auth_printf("policy: %s", why);
		free(why);
		return NULL;
	}
	copy = auth_strdup(path);
	/* Absolute, so key sources read well in the trail and the console. */
	if ((pl.dir = realpath(dirname(copy), NULL)) == NULL)
		pl.dir = auth_strdup(dirname(copy));
	free(copy);
	pl.p = auth_calloc(1, sizeof *pl.p);
	auth_keyring_init(&pl.p->kr);
	pl.p->path = auth_strdup(path);
	pl.p->hash = policy_hash(buf, len);
	pl.p->limits.max_token = AUTH_DEFAULT_MAX_TOKEN;
	pl.p->limits.max_body = AUTH_DEFAULT_MAX_BODY;
	pl.p->limits.max_depth = AUTH_DEFAULT_MAX_DEPTH;

	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		policy_json_words(je.text);
		policy_error(&pl, NULL, "line %d, column %d: not valid JSON: %s", je.line,
		    je.column, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		policy_error(&pl, NULL, "the policy must be a JSON object");
		goto out;
	}
	if (policy_known_fields(&pl, "", root, fields) != 0 ||
	    policy_load_limits(&pl, json_object_get(root, "limits")) != 0 ||
	    policy_load_keys(&pl, json_object_get(root, "keys")) != 0 ||
	    policy_load_rules(&pl, json_object_get(root, "rules")) != 0)
		goto out;
	auth_live_init(pl.p);
	rc = 0;
out:
	json_decref(root);
	free(buf);
	free(pl.dir);
	if (rc != 0) {
		auth_policy_free(pl.p);
		return NULL;
	}
	return pl.p;
}

/* Free the strings of a list. */
static void
policy_free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Free one rule's contents. */
static void
policy_free_rule(struct auth_rule *r)
{
	size_t	i;

	free(r->name);
	policy_free_list(r->subjects, r->nsubjects);
	free(r->token_header);
	free(r->token_scheme);
	auth_pointer_free(r->token_pointer);
	auth_pointer_free(r->payload_pointer);
	free(r->keys);
	free(r->remotes);
	policy_free_list(r->issuers, r->nissuers);
	policy_free_list(r->audiences, r->naudiences);
	policy_free_list(r->scopes, r->nscopes);
	policy_free_list(r->require, r->nrequire);
	for (i = 0; i < r->nbinds; i++) {
		free(r->binds[i].claim);
		free(r->binds[i].ok_text);
		auth_pointer_free(r->binds[i].equals);
	}
	free(r->algs_text);
	free(r->issuers_text);
	free(r->audiences_text);
	free(r->scopes_text);
	free(r->token_text);
	free(r->binds);
	free(r->replay_claim);
	auth_pointer_free(r->replay_field);
	auth_pointer_free(r->event_id);
}

/* Free a policy and its keyring. */
void
auth_policy_free(struct auth_policy *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		policy_free_rule(&p->rules[i]);
	free(p->rules);
	auth_live_free(p);
	for (i = 0; i < p->nremotes; i++)
		auth_remote_free(&p->remotes[i]);
	free(p->remotes);
	auth_keyring_release(&p->kr);
	free(p->path);
	free(p->hash);
	free(p);
}

/* Hex SHA-256 of the policy file. */
const char *
auth_policy_hash(const struct auth_policy *p)
{
	return p->hash;
}

/* Number of keys in the keyring. */
size_t
auth_policy_key_count(const struct auth_policy *p)
{
	return p->kr.nkeys;
}

/* What may be shown of key i. */
void
auth_policy_key_info(const struct auth_policy *p, size_t i, struct auth_key_info *info)
{
	auth_key_info_fill(p->kr.keys[i], info);
}

/* What may be shown of a key: never the secret. */
void
auth_key_info_fill(const struct auth_key *k, struct auth_key_info *info)
{
	info->name = k->name;
	info->kid = k->kid;
	info->type = k->type_text;
	info->alg = k->alg >= 0 ? auth_alg_name(k->alg) : NULL;
	info->use = k->use;
	info->source = k->source;
	info->fingerprint = k->fingerprint;
}

/* Number of rules. */
size_t
auth_policy_rule_count(const struct auth_policy *p)
{
	return p->nrules;
}

/* Name of rule i. */
const char *
auth_policy_rule_name(const struct auth_policy *p, size_t i)
{
	return p->rules[i].name;
}

/* Subject pattern j of rule i. */
const char *
auth_policy_rule_subject(const struct auth_policy *p, size_t i, size_t j)
{
	if (i >= p->nrules || j >= p->rules[i].nsubjects)
		return NULL;
	return p->rules[i].subjects[j];
}

/* First rule matching subject, or -1. */
int
auth_policy_match(const struct auth_policy *p, const char *subject)
{
	size_t	i, j;

	for (i = 0; i < p->nrules; i++) {
		for (j = 0; j < p->rules[i].nsubjects; j++) {
			if (auth_subject_match(p->rules[i].subjects[j], subject))
				return (int)i;
		}
	}
	return -1;
}

/* Length of the subject token starting at s. */
static size_t
subject_token_len(const char *s)
{
	const char	*dot = strchr(s, '.');

	return dot != NULL ? (size_t)(dot - s) : strlen(s);
}

/* NATS subject matching. */
int
auth_subject_match(const char *pat, const char *subj)
{
	size_t	pl, sl;

	for (;;) {
		pl = subject_token_len(pat);
		sl = subject_token_len(subj);
		if (pl == 1 && pat[0] == '>')
			return sl > 0 || subj[0] != '\0';
		if (!(pl == 1 && pat[0] == '*') &&
		    (pl != sl || memcmp(pat, subj, pl) != 0))
			return 0;
		if (pl == 1 && pat[0] == '*' && sl == 0)
			return 0;
		pat += pl;
		subj += sl;
		if (*pat == '\0' || *subj == '\0')
			return *pat == '\0' && *subj == '\0';
		pat++;
		subj++;
	}
}

/* Valid subject: non-empty tokens, no spaces; wildcards as whole tokens. */
int
auth_subject_valid(const char *s, int wildcards)
{
	size_t	n;

	if (*s == '\0')
		return 0;
	for (;;) {
		n = subject_token_len(s);
		if (n == 0 || strcspn(s, " \t\r\n") < n)
			return 0;
		if (memchr(s, '*', n) != NULL || memchr(s, '>', n) != NULL) {
			if (!wildcards || n != 1)
				return 0;
			if (s[0] == '>' && s[1] != '\0')
				return 0;
		}
		s += n;
		if (*s == '\0')
			return 1;
		s++;
	}
}
