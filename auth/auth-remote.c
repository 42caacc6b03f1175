/*
 * auth/auth-remote.c -- keys that change while the policy is in use.
 *
 * A jwks_url entry's keys arrive as text the caller fetched (auth/ does no
 * I/O).  Each set that differs from the one in use makes a new snapshot of
 * every key the policy trusts: immutable, with a generation, a fingerprint
 * and a JSON description for the trail.  Publishing one is a pointer swap
 * under a lock plus an atomic generation; a verifier compares the
 * generation (one atomic load) at each event and takes a counted reference
 * only when it moved.  An old snapshot, and the keys only it holds, is
 * freed when the last verifier or verdict using it lets go, so a rotation
 * never pulls a key from under a signature check in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

/* ---- references ------------------------------------------------------ */

static void
keyset_release(struct auth_keyset *ks)
{
	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	auth_keyring_release(&ks->kr);
	free(ks->fingerprint);
	free(ks);
}

void
auth_snapshot_release(struct auth_snapshot *s)
{
	size_t	i;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (i = 0; i < s->nsets; i++)
		keyset_release(s->sets[i]);
	free(s->sets);
	free(s->fingerprint);
	free(s->json);
	free(s);
}

/* A counted reference to the snapshot in use. */
struct auth_snapshot *
auth_snapshot_acquire(const struct auth_policy *p)
{
	struct auth_snapshot	*s;

	pthread_mutex_lock(&p->live->lock);
	s = p->live->snap;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&p->live->lock);
	return s;
}

/* ---- fingerprints and descriptions ------------------------------------ */

/* "SHA256:<base64url>" of text[0..n). */
static char *
remote_fingerprint(const char *text, size_t n)
{
	unsigned char	 md[32];
	char		*b64, *fp;

	auth_sha256(text, n, md);
	b64 = auth_b64url_encode(md, sizeof md);
	fp = auth_printf("SHA256:%s", b64);
	free(b64);
	return fp;
}

/* Append s and a separator to the growing text *t. */
static void
remote_append(char **t, const char *s, char sep)
{
	char	*n = auth_printf("%s%s%c", *t ? *t : "", s ? s : "", sep);

	free(*t);
	*t = n;
}

static int
remote_cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A set's fingerprint: over its keys' kids and fingerprints, in sorted order,
   so that the same keys served in another order are the same set. */
static char *
keyset_fingerprint(const struct auth_keyring *kr)
{
	char	**lines = auth_calloc(kr->nkeys + 1, sizeof *lines), *text = NULL, *fp;
	size_t	  i;

	for (i = 0; i < kr->nkeys; i++)
		lines[i] = auth_printf("%s\t%s", kr->keys[i]->kid ? kr->keys[i]->kid : "",
		    kr->keys[i]->fingerprint);
	qsort(lines, kr->nkeys, sizeof *lines, remote_cmp_line);
	for (i = 0; i < kr->nkeys; i++) {
		remote_append(&text, lines[i], '\n');
		free(lines[i]);
	}
	free(lines);
	fp = remote_fingerprint(text ? text : "", text ? strlen(text) : 0);
	free(text);
	return fp;
}

/* A key as the trail describes it. */
static json_t *
remote_key_json(const struct auth_key *k)
{
	json_t	*o = json_object();

	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "kid", k->kid ? json_string(k->kid) : json_null());
	json_object_set_new(o, "type", json_string(k->type_text));
	json_object_set_new(o, "alg", k->alg >= 0 ? json_string(auth_alg_name(k->alg)) :
	    json_null());
	json_object_set_new(o, "fingerprint", json_string(k->fingerprint));
	json_object_set_new(o, "source", json_string(k->source));
	return o;
}

/* Whether kr holds a key with k's kid and fingerprint. */
static int
keyring_has(const struct auth_keyring *kr, const struct auth_key *k)
{
	size_t	i;

	for (i = 0; kr != NULL && i < kr->nkeys; i++) {
		if (strcmp(kr->keys[i]->fingerprint, k->fingerprint) == 0 &&
		    (kr->keys[i]->kid == NULL) == (k->kid == NULL) &&
		    (k->kid == NULL || strcmp(kr->keys[i]->kid, k->kid) == 0))
			return 1;
	}
	return 0;
}

/* A kid from the fetched text for a message: controls shown as '?', cut at 64 bytes. */
static char *
remote_visible(const char *s)
{
	char	*v = auth_strdup(s);
	size_t	 i;

	for (i = 0; v[i] != '\0'; i++) {
		unsigned char	c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && (unsigned char)v[i + 1] >= 0x80 &&
		    (unsigned char)v[i + 1] <= 0x9f))
			v[i] = '?';
	}
	if (i > 64)
		strcpy(v + 61, "...");
	return v;
}

/* Keys of a that b lacks, as a JSON array and as "+kid" words in *words. */
static json_t *
keyring_diff(const struct auth_keyring *a, const struct auth_keyring *b, char sign,
    char **words)
{
	json_t	*arr = json_array();
	char	*w, *v;
	size_t	 i;

	for (i = 0; a != NULL && i < a->nkeys; i++) {
		if (keyring_has(b, a->keys[i]))
			continue;
		json_array_append_new(arr, remote_key_json(a->keys[i]));
		v = remote_visible(a->keys[i]->kid ? a->keys[i]->kid : a->keys[i]->fingerprint);
		w = auth_printf("%s%s%c%s", *words ? *words : "", *words ? " " : "", sign, v);
		free(v);
		free(*words);
		*words = w;
	}
	return arr;
}

/*
 * Fill s's fingerprint and description.  change, when a fetch made s,
 * names the remote and the keys it gained and lost.
 */
static void
snapshot_describe(const struct auth_policy *p, struct auth_snapshot *s, json_t *change)
{
	json_t	*d = json_object(), *keys = json_array();
	char	*text = NULL, *line;
	size_t	 i, j;

	for (i = 0; i < p->kr.nkeys; i++) {
		line = auth_printf("%s\t%s\t%s", p->kr.keys[i]->name,
		    p->kr.keys[i]->kid ? p->kr.keys[i]->kid : "", p->kr.keys[i]->fingerprint);
		remote_append(&text, line, '\n');
		free(line);
		json_array_append_new(keys, remote_key_json(p->kr.keys[i]));
	}
	for (i = 0; i < s->nsets; i++) {
		line = auth_printf("%s\t*\t%s", p->remotes[i].name,
		    s->sets[i] ? s->sets[i]->fingerprint : "-");
		remote_append(&text, line, '\n');
		free(line);
		for (j = 0; s->sets[i] != NULL && j < s->sets[i]->kr.nkeys; j++)
			json_array_append_new(keys, remote_key_json(s->sets[i]->kr.keys[j]));
	}
	s->fingerprint = remote_fingerprint(text ? text : "", text ? strlen(text) : 0);
	free(text);
	json_object_set_new(d, "keyset", json_string(s->fingerprint));
	json_object_set_new(d, "generation", json_integer((json_int_t)s->generation));
	json_object_set_new(d, "keys", keys);
	if (change != NULL)
		json_object_set_new(d, "change", change);
	s->json = json_dumps(d, JSON_COMPACT);
	json_decref(d);
}

/* ---- the live state ------------------------------------------------------ */

void
auth_live_init(struct auth_policy *p)
{
	struct auth_live	*l = auth_calloc(1, sizeof *l);
	struct auth_snapshot	*s = auth_calloc(1, sizeof *s);

	pthread_mutex_init(&l->lock, NULL);
	l->misses = auth_calloc(p->nremotes ? p->nremotes : 1, sizeof *l->misses);
	atomic_init(&s->refs, 1);
	s->generation = 1;
	s->nsets = p->nremotes;
	s->sets = auth_calloc(p->nremotes ? p->nremotes : 1, sizeof *s->sets);
	snapshot_describe(p, s, NULL);
	l->snap = s;
	atomic_init(&l->generation, 1);
	p->live = l;
}

void
auth_live_free(struct auth_policy *p)
{
	if (p->live == NULL)
		return;
	auth_snapshot_release(p->live->snap);
	pthread_mutex_destroy(&p->live->lock);
	free((void *)p->live->misses);
	free(p->live);
	p->live = NULL;
}

void
auth_remote_free(struct auth_remote *r)
{
	free(r->name);
	free(r->url);
	free(r->ca_file);
	free(r->issuer);
}

/* ---- a fetched set ------------------------------------------------------- */

/* Why JWK k of remote r is left out, or NULL when it is kept. */
static char *
remote_unfit(const struct auth_remote *r, struct auth_key *k)
{
	/* A set is fetched without credentials: a secret in it is one anyone
	   who can fetch it holds, and could sign with. */
	if (k->type == AUTH_KEY_OCT)
		return auth_strdup("an HMAC secret (kty 'oct'), which anyone who can fetch the "
		    "set holds");
	if (k->use != NULL && strcmp(k->use, "sig") != 0)
		return auth_printf("use '%s', not 'sig'", k->use);
	if (r->alg >= 0 && k->alg >= 0 && k->alg != r->alg)
		return auth_printf("alg %s, the entry allows only %s", auth_alg_name(k->alg),
		    auth_alg_name(r->alg));
	if (r->alg >= 0 && !auth_key_type_fits(k->type, r->alg))
		return auth_printf("a %s key cannot verify %s", k->type_text,
		    auth_alg_name(r->alg));
	return NULL;
}

/* Note why JWK i (with kid, or NULL) is left out. */
static void
remote_note(char **notes, size_t i, const char *kid, const char *why)
{
	char	*v = kid ? remote_visible(kid) : NULL;
	char	*n = auth_printf("%s%skeys[%zu]%s%s%s left out: %s", *notes ? *notes : "",
	    *notes ? "; " : "", i, v ? " (kid '" : "", v ? v : "", v ? "')" : "", why);

	free(v);
	free(*notes);
	*notes = n;
}

/* Whether kr already has a key with kid. */
static int
keyring_has_kid(const struct auth_keyring *kr, const char *kid)
{
	size_t	i;

	for (i = 0; kid != NULL && i < kr->nkeys; i++) {
		if (kr->keys[i]->kid != NULL && strcmp(kr->keys[i]->kid, kid) == 0)
			return 1;
	}
	return 0;
}

/* Parse a fetched JWK Set into ks's keyring; -1 with *cause. */
static int
remote_parse(const struct auth_remote *r, const unsigned char *text, size_t len,
    struct auth_keyring *kr, char **notes, char **cause)
{
	json_t		*root, *keys, *jwk;
	struct auth_key	*k;
	char		*why = NULL;
	size_t		 i;
	int		 rc = -1;

	if ((root = auth_keyring_json(text, len, cause)) == NULL)
		return -1;
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		*cause = auth_strdup("not a JWK Set (an object with a 'keys' array)");
		goto out;
	}
	json_array_foreach(keys, i, jwk) {
		if ((k = auth_key_from_jwk(jwk, &why)) == NULL ||
		    (why = remote_unfit(r, k)) != NULL) {
			remote_note(notes, i, json_string_value(json_object_get(jwk, "kid")), why);
			free(why);
			why = NULL;
			auth_key_free(k);
			continue;
		}
		if (keyring_has_kid(kr, k->kid)) {
			why = remote_visible(k->kid);
			*cause = auth_printf("keys[%zu]: duplicate kid '%s'", i, why);
			free(why);
			auth_key_free(k);
			goto out;
		}
		k->name = auth_strdup(r->name);
		k->issuer = auth_strdup(r->issuer);
		if (r->alg >= 0)
			k->alg = r->alg;
		k->remote = 1;
		k->source = k->kid ? auth_printf("jwks_url %s kid=%s", r->url, k->kid) :
		    auth_printf("jwks_url %s keys[%zu]", r->url, i);
		k->index = kr->nkeys;
		kr->keys = auth_realloc(kr->keys, (kr->nkeys + 1) * sizeof *kr->keys);
		kr->keys[kr->nkeys++] = k;
		kr->cap = kr->nkeys;
	}
	if (kr->nkeys == 0)
		*cause = auth_printf("no usable key in the set%s%s", *notes ? ": " : "",
		    *notes ? *notes : "");
	else
		rc = 0;
out:
	json_decref(root);
	return rc;
}

/* The change from old to new keys of remote r, as JSON and words. */
static json_t *
remote_change(const struct auth_remote *r, const struct auth_keyset *old,
    const struct auth_keyset *new, char **words)
{
	json_t	*c = json_object();

	json_object_set_new(c, "key", json_string(r->name));
	json_object_set_new(c, "added", keyring_diff(&new->kr, old ? &old->kr : NULL, '+',
	    words));
	json_object_set_new(c, "removed", keyring_diff(old ? &old->kr : NULL, &new->kr, '-',
	    words));
	if (*words == NULL)
		*words = auth_strdup("same keys, other details");
	return c;
}

/* Install a fetched set as remote i's keys. */
int
auth_policy_remote_update(const struct auth_policy *p, size_t i, const unsigned char *text,
    size_t len, char **change, char **notes, char **cause)
{
	struct auth_live	*l = p->live;
	struct auth_keyset	*ks;
	struct auth_snapshot	*old, *s;
	size_t			 j;

	*change = *notes = NULL;
	ks = auth_calloc(1, sizeof *ks);
	atomic_init(&ks->refs, 1);
	auth_keyring_init(&ks->kr);
	if (remote_parse(&p->remotes[i], text, len, &ks->kr, notes, cause) != 0) {
		keyset_release(ks);
		return -1;
	}
	ks->fingerprint = keyset_fingerprint(&ks->kr);

	pthread_mutex_lock(&l->lock);
	old = l->snap;
	if (old->sets[i] != NULL && strcmp(old->sets[i]->fingerprint, ks->fingerprint) == 0) {
		pthread_mutex_unlock(&l->lock);
		keyset_release(ks);
		return 0;
	}
	s = auth_calloc(1, sizeof *s);
	atomic_init(&s->refs, 1);
	s->generation = old->generation + 1;
	s->nsets = old->nsets;
	s->sets = auth_calloc(s->nsets, sizeof *s->sets);
	for (j = 0; j < s->nsets; j++) {
		s->sets[j] = j == i ? ks : old->sets[j];
		if (j != i && s->sets[j] != NULL)
			atomic_fetch_add(&s->sets[j]->refs, 1);
	}
	snapshot_describe(p, s, remote_change(&p->remotes[i], old->sets[i], ks, change));
	l->snap = s;
	atomic_store(&l->generation, s->generation);
	pthread_mutex_unlock(&l->lock);
	auth_snapshot_release(old);
	return 1;
}

/* ---- what callers may see ---------------------------------------------- */

size_t
auth_policy_remote_count(const struct auth_policy *p)
{
	return p->nremotes;
}

void
auth_policy_remote_info(const struct auth_policy *p, size_t i, struct auth_remote_info *info)
{
	const struct auth_remote	*r = &p->remotes[i];

	info->name = r->name;
	info->url = r->url;
	info->ca_file = r->ca_file;
	info->allow_http = r->allow_http;
	info->refresh_s = r->refresh_s;
	info->refetch_min_s = r->refetch_min_s;
	info->timeout_s = r->timeout_s;
	info->max_bytes = r->max_bytes;
}

size_t
auth_policy_remote_keys(const struct auth_policy *p, size_t i)
{
	struct auth_snapshot	*s = auth_snapshot_acquire(p);
	size_t			 n = s->sets[i] ? s->sets[i]->kr.nkeys : 0;

	auth_snapshot_release(s);
	return n;
}

uint64_t
auth_policy_remote_misses(const struct auth_policy *p, size_t i)
{
	return atomic_load(&p->live->misses[i]);
}

uint64_t
auth_policy_keyset(const struct auth_policy *p, char **fingerprint, char **json)
{
	struct auth_snapshot	*s = auth_snapshot_acquire(p);
	uint64_t		 gen = s->generation;

	if (fingerprint != NULL)
		*fingerprint = auth_strdup(s->fingerprint);
	if (json != NULL)
		*json = auth_strdup(s->json);
	auth_snapshot_release(s);
	return gen;
}

uint64_t
auth_verdict_keyset(const struct auth_verdict *v, const char **fingerprint, const char **json)
{
	if (v->snap == NULL) {
		*fingerprint = *json = NULL;
		return 0;
	}
	*fingerprint = v->snap->fingerprint;
	*json = v->snap->json;
	return v->snap->generation;
}

int
auth_verdict_key(const struct auth_verdict *v, struct auth_key_info *info)
{
	if (v->key == NULL)
		return 0;
	auth_key_info_fill(v->key, info);
	return 1;
}
