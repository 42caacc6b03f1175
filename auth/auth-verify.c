/*
 * auth/auth-verify.c -- judging one event: the checks of DESIGN §2, in order.
 *
 * DESIGN: each check is a step function over a struct judge.  A step that
 * fails records why (with expected vs actual where that helps) and stops
 * the run; the steps it never reached are listed as such, so the trace
 * shows exactly where an event fell.  The order is part of the interface:
 * an event that is both expired and forged is reported as forged, because
 * the signature is checked first.
 *
 * Signatures are verified with OpenSSL contexts built once per key and
 * algorithm and kept in the per-thread struct auth_verifier, so the hot
 * path is one digest and one public-key operation, as in `openssl speed`.
 * RSA goes through auth-rsa.c, which does that operation on the key's
 * cached Montgomery form without EVP's per-call bookkeeping.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include "auth-int.h"
#include "auth-jdoc.h"

#define JUDGE_MAX_CANDIDATES	64	/* = AUTH_MAX_RULE_KEYS */
#define JUDGE_SHOW_MAX		160	/* bytes of a value shown in a detail */
#define JUDGE_SIG_INLINE	1024	/* signature bytes decoded without malloc */

/* Registered claims looked up by every event: indexed once per token. */
enum judge_reg { REG_EXP, REG_NBF, REG_IAT, REG_ISS, REG_SUB, REG_JTI, REG_AUD,
	REG_SCOPE, REG_SCP, JUDGE_NREG };
static const char *const judge_reg_names[JUDGE_NREG] = {
	"exp", "nbf", "iat", "iss", "sub", "jti", "aud", "scope", "scp"
};
static const uint8_t judge_reg_lens[JUDGE_NREG] = { 3, 3, 3, 3, 3, 3, 3, 5, 3 };

/* Header members looked at by every event, also indexed once; the four
   untrusted ones (HDR_JKU..HDR_X5C) are warned about in this order. */
enum judge_hdr { HDR_ALG, HDR_KID, HDR_CRIT, HDR_JKU, HDR_X5U, HDR_JWK, HDR_X5C, JUDGE_NHDR };
static const char *const judge_hdr_names[JUDGE_NHDR] = {
	"alg", "kid", "crit", "jku", "x5u", "jwk", "x5c"
};
static const uint8_t judge_hdr_lens[JUDGE_NHDR] = { 3, 3, 4, 3, 3, 3, 3 };

/* A cached context for a fetched key, which has no fixed keyring slot. */
struct verifier_dyn {
	const struct auth_key	*key;
	int			 alg;
	void			*ctx;
};

/* Per-thread verification context: cached OpenSSL objects. */
struct auth_verifier {
	const struct auth_policy	*p;
	void				**ctx;	/* [key * AUTH_ALG_COUNT + alg] */
	struct auth_snapshot		*snap;	/* fetched keys in use (a reference) */
	uint64_t			 gen;	/* snap's generation */
	struct verifier_dyn		*dyn;	/* contexts of snap's keys */
	size_t				 ndyn, capdyn;
	EVP_MD				*md[3];	/* SHA-256, -384, -512 */
	EVP_MD_CTX			*mdctx;
	EVP_MAC				*hmac;
};

/* The state of one judgement. */
struct judge {
	struct auth_verifier	*vf;
	const struct auth_policy *p;
	const struct auth_rule	*r;
	const struct auth_msg	*msg;
	struct auth_verdict	*v;
	time_t			 now;
	int			 payload;	/* token of the payload in body */
	const char		*payload_raw;
	size_t			 payload_len;
	const char		*tok;
	size_t			 tok_len;
	size_t			 input_len;	/* header.claims */
	unsigned char		*sig;		/* sigbuf or sig_heap */
	size_t			 sig_len;
	unsigned char		*sig_heap;	/* a signature over JUDGE_SIG_INLINE */
	int			 alg;
	const struct auth_key	*cand[JUDGE_MAX_CANDIDATES];
	size_t			 ncand;
	size_t			 untried;	/* keys that fit beyond the cap */
	int			 event_auth;	/* seed: token in body */
	int			 reg[JUDGE_NREG];	/* registered claims' tokens */
	int			 hdr[JUDGE_NHDR];	/* those header members' tokens */
	/* Last, and not zeroed per event: jdoc_parse() fills them. */
	struct jdoc		 body;
	struct jdoc		 hdoc;		/* JWT header, over v->header_text */
	struct jdoc		 cdoc;		/* claims, over v->claims_text */
	unsigned char		 sigbuf[JUDGE_SIG_INLINE];
};

/* ---- the verifier ------------------------------------------------------- */

/* A verifier for policy p. */
struct auth_verifier *
auth_verifier_new(const struct auth_policy *p)
{
	struct auth_verifier	*vf = auth_calloc(1, sizeof *vf);

	vf->p = p;
	vf->ctx = auth_calloc(p->kr.nkeys * AUTH_ALG_COUNT, sizeof *vf->ctx);
	vf->md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
	vf->md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
	vf->md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
	vf->mdctx = EVP_MD_CTX_new();
	vf->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (vf->md[0] == NULL || vf->md[1] == NULL || vf->md[2] == NULL ||
	    vf->mdctx == NULL || vf->hmac == NULL) {
		fputs("ztwatch: OpenSSL lacks SHA-2 or HMAC\n", stderr);
		abort();
	}
	return vf;
}

/* Free one cached context of the right kind for alg. */
static void
verifier_free_ctx(void *ctx, int alg)
{
	switch (auth_alg_info(alg)->family) {
	case AUTH_FAMILY_HMAC:
		EVP_MAC_CTX_free(ctx);
		break;
	case AUTH_FAMILY_EDDSA:
		EVP_MD_CTX_free(ctx);
		break;
	case AUTH_FAMILY_RSA:
		auth_rsa_free(ctx);
		break;
	default:
		EVP_PKEY_CTX_free(ctx);
		break;
	}
}

/* Drop the contexts of fetched keys (their snapshot is being let go). */
static void
verifier_flush_dyn(struct auth_verifier *vf)
{
	size_t	i;

	for (i = 0; i < vf->ndyn; i++)
		verifier_free_ctx(vf->dyn[i].ctx, vf->dyn[i].alg);
	vf->ndyn = 0;
}

/* Take up the policy's newest fetched keys, when they changed. */
static void
verifier_sync(struct auth_verifier *vf)
{
	uint64_t	gen = atomic_load_explicit(&vf->p->live->generation, memory_order_acquire);

	if (gen == vf->gen)
		return;
	verifier_flush_dyn(vf);
	auth_snapshot_release(vf->snap);
	vf->snap = auth_snapshot_acquire(vf->p);
	vf->gen = vf->snap->generation;
}

/* Free a verifier. */
void
auth_verifier_free(struct auth_verifier *vf)
{
	size_t	i, n;

	if (vf == NULL)
		return;
	verifier_flush_dyn(vf);
	free(vf->dyn);
	auth_snapshot_release(vf->snap);
	n = vf->p->kr.nkeys * AUTH_ALG_COUNT;
	for (i = 0; i < n; i++) {
		if (vf->ctx[i] != NULL)
			verifier_free_ctx(vf->ctx[i], (int)(i % AUTH_ALG_COUNT));
	}
	free(vf->ctx);
	EVP_MD_free(vf->md[0]);
	EVP_MD_free(vf->md[1]);
	EVP_MD_free(vf->md[2]);
	EVP_MD_CTX_free(vf->mdctx);
	EVP_MAC_free(vf->hmac);
	free(vf);
}

/* The fetched digest for "SHA256"/"SHA384"/"SHA512". */
static EVP_MD *
verifier_md(struct auth_verifier *vf, const char *name)
{
	if (strcmp(name, "SHA384") == 0)
		return vf->md[1];
	if (strcmp(name, "SHA512") == 0)
		return vf->md[2];
	return vf->md[0];
}

/* Digest in[0..n) with md into out; returns its length or 0. */
static unsigned int
verifier_digest(struct auth_verifier *vf, const EVP_MD *md, const void *in, size_t n,
    unsigned char *out)
{
	unsigned int	len = 0;

	if (EVP_DigestInit_ex2(vf->mdctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(vf->mdctx, in, n) != 1 ||
	    EVP_DigestFinal_ex(vf->mdctx, out, &len) != 1)
		return 0;
	return len;
}

/* Where the context for key and alg is cached (NULL until made). */
static void **
verifier_slot(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	size_t	i;

	if (!key->remote)
		return &vf->ctx[key->index * AUTH_ALG_COUNT + (size_t)alg];
	for (i = 0; i < vf->ndyn; i++) {
		if (vf->dyn[i].key == key && vf->dyn[i].alg == alg)
			return &vf->dyn[i].ctx;
	}
	if (vf->ndyn == vf->capdyn) {
		vf->capdyn = vf->capdyn ? vf->capdyn * 2 : 8;
		vf->dyn = auth_realloc(vf->dyn, vf->capdyn * sizeof *vf->dyn);
	}
	vf->dyn[vf->ndyn].key = key;
	vf->dyn[vf->ndyn].alg = alg;
	vf->dyn[vf->ndyn].ctx = NULL;
	return &vf->dyn[vf->ndyn++].ctx;
}

/* The cached HMAC context for key and alg, made on first use. */
static EVP_MAC_CTX *
verifier_hmac_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	void		**slot = verifier_slot(vf, key, alg);
	OSSL_PARAM	  params[2];
	EVP_MAC_CTX	 *ctx;

	if (*slot != NULL)
		return *slot;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)auth_alg_info(alg)->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(vf->hmac)) == NULL)
		return NULL;
	if (EVP_MAC_init(ctx, key->secret, key->secret_len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	*slot = ctx;
	return ctx;
}

/* HMAC of in with key under alg's digest into out; returns length or 0. */
static size_t
verifier_hmac(struct auth_verifier *vf, const struct auth_key *key, int alg,
    const void *in, size_t n, unsigned char *out)
{
	EVP_MAC_CTX	*ctx = verifier_hmac_ctx(vf, key, alg);
	size_t		 len = 0;

	/* Re-initialising with no key keeps the key and resets the state. */
	if (ctx == NULL || EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(ctx, in, n) != 1 ||
	    EVP_MAC_final(ctx, out, &len, EVP_MAX_MD_SIZE) != 1)
		return 0;
	return len;
}

/* The cached ECDSA verify context for key and alg. */
static EVP_PKEY_CTX *
verifier_pkey_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	void		**slot = verifier_slot(vf, key, alg);
	EVP_PKEY_CTX	 *ctx;

	if (*slot != NULL)
		return *slot;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx,
	    verifier_md(vf, auth_alg_info(alg)->digest)) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	*slot = ctx;
	return ctx;
}

/* The cached RSA key in Montgomery form for key, one for every RS and PS
   algorithm (kept in RS256's slot); NULL for a key no signature verifies
   with (see auth_rsa_new). */
static struct auth_rsa *
verifier_rsa(struct auth_verifier *vf, const struct auth_key *key)
{
	void	**slot = verifier_slot(vf, key, AUTH_ALG_RS256);

	if (*slot == NULL)
		*slot = auth_rsa_new(key->pkey);
	return *slot;
}

/* The cached Ed25519 verify context for key. */
static EVP_MD_CTX *
verifier_ed_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	void		**slot = verifier_slot(vf, key, alg);
	EVP_MD_CTX	 *ctx;

	if (*slot != NULL)
		return *slot;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NULL;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	*slot = ctx;
	return ctx;
}

/* Raw r||s to DER; NULL when r or s is zero. *der_len set. */
static unsigned char *
verifier_ecdsa_der(const unsigned char *sig, size_t len, int *der_len)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	unsigned char	*der = NULL;

	r = BN_bin2bn(sig, (int)(len / 2), NULL);
	s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	if (r == NULL || s == NULL || BN_is_zero(r) || BN_is_zero(s) ||
	    (es = ECDSA_SIG_new()) == NULL) {
		BN_free(r);
		BN_free(s);
		return NULL;
	}
	ECDSA_SIG_set0(es, r, s);
	*der_len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	return *der_len > 0 ? der : NULL;
}

/* ---- small helpers ---------------------------------------------------- */

/* The raw JSON text of value tok of d, cut to JUDGE_SHOW_MAX bytes. */
static const char *
judge_show(struct judge *j, const struct jdoc *d, int tok)
{
	const struct jdoc_tok	*t;
	size_t			 n;

	if (tok < 0)
		return "(absent)";
	t = &d->toks[tok];
	n = t->end - t->start;
	if (n > JUDGE_SHOW_MAX)
		return auth_verdict_printf(j->v, "%.*s…", JUDGE_SHOW_MAX, d->text + t->start);
	return auth_verdict_strndup(j->v, d->text + t->start, n);
}

/* The whole raw JSON text of value tok of d, copied into the verdict. */
static const char *
judge_raw(struct judge *j, const struct jdoc *d, int tok)
{
	return auth_verdict_strndup(j->v, d->text + d->toks[tok].start,
	    d->toks[tok].end - d->toks[tok].start);
}

/* Decoded string tok of d, copied into the verdict; NULL if not a string. */
static const char *
judge_str(struct judge *j, const struct jdoc *d, int tok)
{
	const struct jdoc_tok	*t;
	const char		*out;
	char			*buf;
	size_t			 size;

	if (tok < 0 || d->toks[tok].type != JDOC_STRING)
		return NULL;
	t = &d->toks[tok];
	if (!t->escaped)
		return auth_verdict_strndup(j->v, d->text + t->start + 1, t->end - t->start - 2);
	size = t->end - t->start - 1;
	buf = auth_malloc(size);
	jdoc_string_copy(d, tok, buf, size, &size);
	out = auth_verdict_strndup(j->v, buf, size);
	free(buf);
	return out;
}

/* Token of claim name, or -1. */
static int
judge_claim(struct judge *j, const char *name)
{
	return jdoc_member(&j->cdoc, 0, name);
}

/* Which of the n names (of the given lengths) key k of d is, or -1. */
static int
judge_key_of(const struct jdoc *d, int k, const char *const *names, const uint8_t *lens,
    int n)
{
	int	r;

	for (r = 0; r < n; r++) {
		if (jdoc_key_is(d, k, names[r], lens[r]))
			return r;
	}
	return -1;
}

/* One pass over object 0 of d: idx[r] = value token of names[r], or -1
   (the first one; duplicates are refused before this). */
static void
judge_index(const struct jdoc *d, const char *const *names, const uint8_t *lens, int n,
    int *idx)
{
	int	k, r;

	for (r = 0; r < n; r++)
		idx[r] = -1;
	for (k = 1; k < (int)d->toks[0].skip; k = (int)d->toks[k + 1].skip) {
		if ((r = judge_key_of(d, k, names, lens, n)) >= 0 && idx[r] < 0)
			idx[r] = k + 1;
	}
}

/* One pass over the claims to find the registered ones. */
static void
judge_index_claims(struct judge *j)
{
	judge_index(&j->cdoc, judge_reg_names, judge_reg_lens, JUDGE_NREG, j->reg);
}

/* Type of token tok of d, or -1. */
static int
judge_type(const struct jdoc *d, int tok)
{
	return tok < 0 ? -1 : d->toks[tok].type;
}

/* Fill the verdict's facts from the indexed claims (for the trail). */
static void
judge_facts(struct judge *j)
{
	struct auth_facts	*f = &j->v->facts;
	int			 aud = j->reg[REG_AUD];

	f->iss = judge_str(j, &j->cdoc, j->reg[REG_ISS]);
	f->sub = judge_str(j, &j->cdoc, j->reg[REG_SUB]);
	f->jti = judge_str(j, &j->cdoc, j->reg[REG_JTI]);
	f->scope = judge_str(j, &j->cdoc, j->reg[REG_SCOPE]);
	if (f->scope == NULL && j->reg[REG_SCP] >= 0)
		f->scope = judge_raw(j, &j->cdoc, j->reg[REG_SCP]);
	if (aud >= 0)
		f->aud = judge_type(&j->cdoc, aud) == JDOC_STRING ?
		    judge_str(j, &j->cdoc, aud) : judge_raw(j, &j->cdoc, aud);
	if ((f->has_exp = judge_type(&j->cdoc, j->reg[REG_EXP]) == JDOC_NUMBER))
		f->exp = jdoc_number(&j->cdoc, j->reg[REG_EXP]);
	if ((f->has_iat = judge_type(&j->cdoc, j->reg[REG_IAT]) == JDOC_NUMBER))
		f->iat = jdoc_number(&j->cdoc, j->reg[REG_IAT]);
}

/* String claim, decoded, or NULL. */
static const char *
judge_claim_str(struct judge *j, const char *name)
{
	return judge_str(j, &j->cdoc, judge_claim(j, name));
}

/* RFC 3339 UTC text of t. */
static const char *
judge_time(struct judge *j, double t)
{
	struct tm	tm;
	time_t		tt;
	char		buf[64];

	/* Range first: casting a huge double to time_t is undefined. */
	if (!(t >= -62135596800.0 && t <= 253402300799.0))
		return auth_verdict_printf(j->v, "%.6g", t);
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		return auth_verdict_printf(j->v, "%.0f", t);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return auth_verdict_strndup(j->v, buf, strlen(buf));
}

/* Write v in decimal at p; returns the end.  (printf is slow on the hot path.) */
static char *
judge_put_num(char *p, unsigned long long v)
{
	char	tmp[24];
	int	n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Write s at p; returns the end. */
static char *
judge_put_str(char *p, const char *s)
{
	size_t	n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* Write an age such as "3h12m" at p (at most 48 bytes); returns the end. */
static char *
judge_put_age(char *p, double secs)
{
	long long	s;

	secs = secs < 0 ? -secs : secs;
	if (!(secs < 1e15))		/* huge, infinite or NaN: clamp before casting */
		secs = 1e15;
	s = (long long)secs;
	if (s < 120)
		return judge_put_str(judge_put_num(p, (unsigned long long)s), "s");
	if (s < 7200) {
		p = judge_put_str(judge_put_num(p, (unsigned long long)s / 60), "m");
		return judge_put_str(judge_put_num(p, (unsigned long long)s % 60), "s");
	}
	if (s < 172800) {
		p = judge_put_str(judge_put_num(p, (unsigned long long)s / 3600), "h");
		return judge_put_str(judge_put_num(p, (unsigned long long)s / 60 % 60), "m");
	}
	p = judge_put_str(judge_put_num(p, (unsigned long long)s / 86400), "d");
	return judge_put_str(judge_put_num(p, (unsigned long long)s / 3600 % 24), "h");
}

/* A short age such as "3h12m". */
static const char *
judge_age(struct judge *j, double secs)
{
	char	buf[64];

	return auth_verdict_strndup(j->v, buf, (size_t)(judge_put_age(buf, secs) - buf));
}

/* ---- the steps -------------------------------------------------------- */

/* Step: find the rule for the subject (default deny). */
static int
step_rule(struct judge *j)
{
	int	idx = auth_policy_match(j->p, j->msg->subject ? j->msg->subject : "");

	if (idx < 0) {
		auth_verdict_fail(j->v, AUTH_NO_POLICY, "rule",
		    "no rule covers this subject (default deny)", NULL, NULL);
		return -1;
	}
	j->r = &j->p->rules[idx];
	j->v->rule = j->r;
	auth_verdict_check_add(j->v, "rule", AUTH_CHECK_OK, "a rule covers this subject",
	    NULL, j->r->name);
	return 0;
}

/* Fail the message step. */
static int
judge_bad_message(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_MALFORMED_MESSAGE, "message", detail, NULL, NULL);
	return -1;
}

/* Number of headers named name (case-insensitive); *first set. */
static size_t
judge_find_header(struct judge *j, const char *name, const char **first)
{
	size_t	i, n = 0;

	*first = NULL;
	for (i = 0; i < j->msg->nheaders; i++) {
		if (j->msg->headers[i].name != NULL &&
		    strcasecmp(j->msg->headers[i].name, name) == 0) {
			if (n++ == 0)
				*first = j->msg->headers[i].value;
		}
	}
	return n;
}

/* Record the event id, when the rule says where it is. */
static void
judge_event_id(struct judge *j)
{
	int	id = -1, type;

	if (j->r->wire == AUTH_WIRE_SEED)
		id = jdoc_member(&j->body, 0, "id");
	else if (j->r->event_id != NULL && j->payload >= 0)
		id = jdoc_pointer(&j->body, j->payload, j->r->event_id);
	type = judge_type(&j->body, id);
	/* Whole, never cut for display: the verdict JSON embeds it as a value. */
	if (type >= 0 && type != JDOC_OBJECT && type != JDOC_ARRAY)
		j->v->event_id = judge_raw(j, &j->body, id);
}

/* Locate the payload: its token and its exact bytes in the body. */
static int
judge_payload(struct judge *j, int tok, const char *where)
{
	if (tok < 0)
		return judge_bad_message(j, auth_verdict_printf(j->v, "body has no payload at %s",
		    where));
	j->payload = tok;
	j->payload_raw = j->body.text + j->body.toks[tok].start;
	j->payload_len = j->body.toks[tok].end - j->body.toks[tok].start;
	return 0;
}

/* The seed envelope's required members and types. */
static int
judge_seed_envelope(struct judge *j)
{
	static const char *const auth_fields[] = {
		"publisher_id", "event_type", "expires_at", "hash"
	};
	size_t	i;

	if (judge_type(&j->body, 0) != JDOC_OBJECT)
		return judge_bad_message(j, "the nats_pubsub envelope must be a JSON object");
	if (judge_type(&j->body, jdoc_member(&j->body, 0, "id")) != JDOC_STRING)
		return judge_bad_message(j, "envelope has no string 'id'");
	j->event_auth = jdoc_member(&j->body, 0, "event_auth");
	if (judge_type(&j->body, j->event_auth) != JDOC_OBJECT)
		return judge_bad_message(j, "envelope has no 'event_auth' object");
	for (i = 0; i < sizeof auth_fields / sizeof auth_fields[0]; i++) {
		if (judge_type(&j->body, jdoc_member(&j->body, j->event_auth,
		    auth_fields[i])) != JDOC_STRING)
			return judge_bad_message(j, auth_verdict_printf(j->v,
			    "event_auth has no string '%s'", auth_fields[i]));
	}
	return judge_payload(j, jdoc_member(&j->body, 0, "data"), "/data");
}

/* Step: parse the body per the rule. */
static int
step_message(struct judge *j)
{
	char		err[160], buf[96], *p;
	const char	*first;
	size_t		 n;

	if (j->msg->body_len > j->p->limits.max_body)
		return judge_bad_message(j, auth_verdict_printf(j->v,
		    "body is %zu bytes, over the cap of %zu", j->msg->body_len,
		    j->p->limits.max_body));
	if (jdoc_parse(&j->body, (const char *)j->msg->body, j->msg->body_len,
	    j->p->limits.max_depth, err, sizeof err) != 0)
		return judge_bad_message(j, auth_verdict_printf(j->v, "body is not JSON: %s", err));
	if (j->r->wire == AUTH_WIRE_HEADER &&
	    (n = judge_find_header(j, j->r->token_header, &first)) > 1)
		return judge_bad_message(j, auth_verdict_printf(j->v,
		    "%zu '%s' headers: which one carries the token is ambiguous", n,
		    j->r->token_header));
	if (j->r->wire == AUTH_WIRE_SEED) {
		if (judge_seed_envelope(j) != 0)
			return -1;
	} else if (j->r->payload_pointer == NULL) {
		judge_payload(j, 0, "");
	} else if (judge_payload(j, jdoc_pointer(&j->body, 0, j->r->payload_pointer),
	    j->r->payload_pointer->text) != 0)
		return -1;
	judge_event_id(j);
	p = judge_put_num(buf, j->msg->body_len);
	p = judge_put_str(p, "-byte JSON body, payload ");
	p = judge_put_str(judge_put_num(p, j->payload_len), " bytes");
	auth_verdict_check_add(j->v, "message", AUTH_CHECK_OK,
	    auth_verdict_strndup(j->v, buf, (size_t)(p - buf)), NULL, NULL);
	return 0;
}

/* Fail the token step. */
static int
judge_no_token(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_MISSING_TOKEN, "token", detail, NULL, NULL);
	return -1;
}

/* Token from the header, after the scheme. */
static int
judge_token_header(struct judge *j)
{
	const struct auth_rule	*r = j->r;
	const char		*val, *s;
	size_t			 n;

	judge_find_header(j, r->token_header, &val);
	if (val == NULL)
		return judge_no_token(j, auth_verdict_printf(j->v, "no '%s' header",
		    r->token_header));
	s = val;
	if (r->token_scheme != NULL) {
		n = strlen(r->token_scheme);
		if (strncasecmp(s, r->token_scheme, n) != 0 || (s[n] != ' ' && s[n] != '\t'))
			return judge_no_token(j, auth_verdict_printf(j->v,
			    "'%s' header does not use the %s scheme", r->token_header,
			    r->token_scheme));
		s += n;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return judge_no_token(j, auth_verdict_printf(j->v, "'%s' header has no token",
		    r->token_header));
	j->tok = s;
	j->tok_len = n;
	return 0;
}

/* Step: find the token. */
static int
step_token(struct judge *j)
{
	int	t;

	if (j->r->wire == AUTH_WIRE_HEADER) {
		if (judge_token_header(j) != 0)
			return -1;
	} else {
		t = j->r->wire == AUTH_WIRE_SEED ? jdoc_member(&j->body, 0, "jwt") :
		    jdoc_pointer(&j->body, 0, j->r->token_pointer);
		if (t < 0 || judge_type(&j->body, t) == JDOC_NULL)
			return judge_no_token(j, auth_verdict_printf(j->v, "body has no token at %s",
			    j->r->wire == AUTH_WIRE_SEED ? "/jwt" : j->r->token_pointer->text));
		if ((j->tok = judge_str(j, &j->body, t)) == NULL || *j->tok == '\0')
			return judge_no_token(j, "the token member is not a non-empty string");
		j->tok_len = strlen(j->tok);
	}
	auth_verdict_check_add(j->v, "token", AUTH_CHECK_OK, j->r->token_text, NULL, NULL);
	return 0;
}

/* Fail the decode step. */
static int
judge_bad_token(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_MALFORMED_TOKEN, "decode", detail, NULL, NULL);
	return -1;
}

/*
 * Decode one base64url JSON segment into the verdict (which keeps the
 * text) and parse it into d; it must be an object.
 */
static int
judge_segment(struct judge *j, const char *seg, size_t n, const char *what,
    struct jdoc *d, const char **text, size_t *len)
{
	char		*raw;
	size_t		 rawlen;
	char		 err[160];

	/* Decoded straight into the verdict, which keeps the text. */
	raw = auth_verdict_alloc(j->v, AUTH_B64_DECODED_MAX(n));
	if (auth_b64url_decode_into(seg, n, (unsigned char *)raw, &rawlen) != 0)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "%s is not strict base64url", what));
	*text = raw;
	*len = rawlen;
	if (jdoc_parse(d, *text, rawlen, j->p->limits.max_depth, err, sizeof err) != 0) {
		*text = NULL;
		return judge_bad_token(j, auth_verdict_printf(j->v, "%s is not JSON: %s", what,
		    err));
	}
	if (d->toks[0].type != JDOC_OBJECT) {
		*text = NULL;
		return judge_bad_token(j, auth_verdict_printf(j->v, "%s is not a JSON object",
		    what));
	}
	return 0;
}

/* Registered claims must have their registered types (RFC 7519 §4.1). */
static int
judge_claim_types(struct judge *j)
{
	static const char *const dates[] = { "exp", "nbf", "iat" };
	static const char *const strings[] = { "iss", "sub", "jti" };
	const struct jdoc	*c = &j->cdoc;
	int			 aud, e, type;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		type = judge_type(c, j->reg[REG_EXP + i]);
		if (type >= 0 && type != JDOC_NUMBER)
			return judge_bad_token(j, auth_verdict_printf(j->v,
			    "claim '%s' is not a NumericDate", dates[i]));
		type = judge_type(c, j->reg[REG_ISS + i]);
		if (type >= 0 && type != JDOC_STRING)
			return judge_bad_token(j, auth_verdict_printf(j->v,
			    "claim '%s' is not a string", strings[i]));
	}
	aud = j->reg[REG_AUD];
	type = judge_type(c, aud);
	if (type < 0 || type == JDOC_STRING)
		return 0;
	if (type != JDOC_ARRAY)
		return judge_bad_token(j, "claim 'aud' is not a string or array");
	for (e = aud + 1; e < (int)c->toks[aud].skip; e = (int)c->toks[e].skip) {
		if (c->toks[e].type != JDOC_STRING)
			return judge_bad_token(j, "claim 'aud' holds a non-string");
	}
	return 0;
}

/* Header members that must be understood or must not be trusted. */
static int
judge_header_members(struct judge *j)
{
	const struct jdoc	*h = &j->hdoc;
	int			 kid, crit, i;

	judge_index(h, judge_hdr_names, judge_hdr_lens, JUDGE_NHDR, j->hdr);
	if ((crit = j->hdr[HDR_CRIT]) >= 0)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "header lists critical extensions %s, which ztwatch does not implement",
		    judge_show(j, h, crit)));
	kid = j->hdr[HDR_KID];
	if (kid >= 0 && h->toks[kid].type != JDOC_STRING)
		return judge_bad_token(j, "header 'kid' is not a string");
	j->v->kid = judge_str(j, h, kid);
	for (i = HDR_JKU; i <= HDR_X5C; i++) {
		if (j->hdr[i] >= 0)
			auth_verdict_warn(j->v, auth_verdict_printf(j->v,
			    "header '%s' ignored: keys never come from the token", judge_hdr_names[i]));
	}
	return 0;
}

/* Step: split, base64url and JSON of header and claims. */
static int
step_decode(struct judge *j)
{
	const char	*t = j->tok, *d1, *d2;
	size_t		 dots = 0, i, n;

	if (j->tok_len > j->p->limits.max_token)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "token is %zu bytes, over the cap of %zu", j->tok_len, j->p->limits.max_token));
	j->v->token = t = auth_verdict_strndup(j->v, t, j->tok_len);
	j->tok = t;
	d1 = memchr(t, '.', j->tok_len);
	d2 = d1 ? memchr(d1 + 1, '.', j->tok_len - (size_t)(d1 + 1 - t)) : NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', j->tok_len - (size_t)(d2 + 1 - t)) != NULL) {
		for (i = 0; i < j->tok_len; i++)
			dots += t[i] == '.';
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "token has %zu segment%s, want 3 (header.claims.signature)", dots + 1,
		    dots ? "s" : ""));
	}
	if (judge_segment(j, t, (size_t)(d1 - t), "header", &j->hdoc, &j->v->header_text,
	    &j->v->header_len) != 0 ||
	    judge_segment(j, d1 + 1, (size_t)(d2 - d1 - 1), "claims", &j->cdoc,
	    &j->v->claims_text, &j->v->claims_len) != 0)
		return -1;
	n = j->tok_len - (size_t)(d2 + 1 - t);
	if (AUTH_B64_DECODED_MAX(n) <= sizeof j->sigbuf)
		j->sig = j->sigbuf;
	else
		j->sig = j->sig_heap = auth_malloc(AUTH_B64_DECODED_MAX(n));
	if (auth_b64url_decode_into(d2 + 1, n, j->sig, &j->sig_len) != 0) {
		j->sig = NULL;
		return judge_bad_token(j, "signature is not strict base64url");
	}
	j->input_len = (size_t)(d2 - t);
	judge_index_claims(j);
	if (judge_header_members(j) != 0 || judge_claim_types(j) != 0)
		return -1;
	judge_facts(j);
	auth_verdict_check_add(j->v, "decode", AUTH_CHECK_OK,
	    "three segments, strict base64url, JSON objects without duplicate keys", NULL, NULL);
	return 0;
}

/* Fail the alg step. */
static int
judge_bad_alg(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_ALG_NOT_ALLOWED, "alg", detail, j->r->algs_text,
	    j->v->alg);
	return -1;
}

/*
 * Whether a fetched key of the rule, as of now, has the type j->alg needs:
 * 1 yes, 0 no, -1 when a set has not been fetched and so cannot tell (the
 * key step then decides).  No fetched keys at all is 0.
 */
static int
judge_remote_type_fits(struct judge *j)
{
	const struct auth_keyset	*ks;
	size_t				 k, i;

	for (k = 0; k < j->r->nremotes; k++) {
		if (j->vf->snap == NULL || (ks = j->vf->snap->sets[j->r->remotes[k]]) == NULL)
			return -1;
		for (i = 0; i < ks->kr.nkeys; i++) {
			if (auth_key_type_fits(ks->kr.keys[i]->type, j->alg))
				return 1;
		}
	}
	return 0;
}

/* Count a miss on each of the rule's fetched sets: a rotation may bring the
   key this token wants, so the fetcher looks again (rate-limited). */
static void
judge_ask_refetch(struct judge *j)
{
	size_t	k;

	for (k = 0; k < j->r->nremotes; k++)
		atomic_fetch_add(&j->p->live->misses[j->r->remotes[k]], 1);
}

/* Step: alg allowed by the rule and by the key's type. */
static int
step_alg(struct judge *j)
{
	size_t	k;
	int	fits = 0;

	j->v->alg = judge_str(j, &j->hdoc, j->hdr[HDR_ALG]);
	if (j->v->alg == NULL)
		return judge_bad_alg(j, "header has no 'alg' string");
	j->alg = auth_alg_from_name(j->v->alg);
	if (j->alg < 0 && strcasecmp(j->v->alg, "none") == 0)
		return judge_bad_alg(j, "unsigned tokens ('none' in any spelling) are never accepted");
	if (j->alg < 0)
		return judge_bad_alg(j, "unknown algorithm");
	if (!(j->r->algs & (1u << j->alg)))
		return judge_bad_alg(j, "the rule does not allow this algorithm");
	for (k = 0; k < j->r->nkeys; k++)
		fits |= auth_key_type_fits(j->p->kr.keys[j->r->keys[k]]->type, j->alg);
	if (!fits && (fits = judge_remote_type_fits(j)) == 0)
		judge_ask_refetch(j);
	if (fits == 0)
		return judge_bad_alg(j, "no key of this rule is of the type this algorithm needs "
		    "(the key decides the algorithm family)");
	auth_verdict_check_add(j->v, "alg", AUTH_CHECK_OK, "allowed by the rule and the keys",
	    j->r->algs_text, j->v->alg);
	return 0;
}

/* Whether key may verify this token (type, pinned alg, kid, issuer). */
static int
judge_key_fits(struct judge *j, const struct auth_key *key, const char *iss)
{
	if (!auth_key_type_fits(key->type, j->alg) || (key->alg >= 0 && key->alg != j->alg))
		return 0;
	if (key->issuer != NULL && (iss == NULL || strcmp(iss, key->issuer) != 0))
		return 0;
	/* kid is only ever a lookup key: compared, never used as a path. */
	if (j->v->kid != NULL && strcmp(j->v->kid, key->kid ? key->kid : key->name) != 0)
		return 0;
	return 1;
}

/* Take key as a candidate, or count it when the candidates are full (a
   fetched set may hold any number of keys without a kid). */
static void
judge_candidate(struct judge *j, const struct auth_key *key)
{
	if (j->ncand < JUDGE_MAX_CANDIDATES)
		j->cand[j->ncand++] = key;
	else
		j->untried++;
}

/* Add the fitting keys of the rule's fetched sets to the candidates. */
static void
judge_remote_candidates(struct judge *j)
{
	const struct auth_keyset	*ks;
	const char			*iss = NULL;
	size_t				 k, i;

	if (j->r->nremotes == 0 || j->vf->snap == NULL)
		return;
	for (k = 0; k < j->r->nremotes && iss == NULL; k++) {
		if (j->p->remotes[j->r->remotes[k]].issuer != NULL)
			iss = judge_claim_str(j, "iss");
	}
	for (k = 0; k < j->r->nremotes; k++) {
		if ((ks = j->vf->snap->sets[j->r->remotes[k]]) == NULL)
			continue;
		for (i = 0; i < ks->kr.nkeys; i++) {
			if (judge_key_fits(j, ks->kr.keys[i], iss))
				judge_candidate(j, ks->kr.keys[i]);
		}
	}
}

/* Step: find the candidate keys. */
static int
step_key(struct judge *j)
{
	const char	*iss = NULL;
	size_t		 k;

	for (k = 0; k < j->r->nkeys && iss == NULL; k++) {
		if (j->p->kr.keys[j->r->keys[k]]->issuer != NULL)
			iss = judge_claim_str(j, "iss");
	}
	for (k = 0; k < j->r->nkeys; k++) {
		const struct auth_key	*key = j->p->kr.keys[j->r->keys[k]];

		if (judge_key_fits(j, key, iss))
			judge_candidate(j, key);
	}
	judge_remote_candidates(j);
	if (j->ncand == 0) {
		/* A kid no fetched set has may be a new key. */
		judge_ask_refetch(j);
		auth_verdict_fail(j->v, AUTH_UNKNOWN_KEY, "key", j->v->kid != NULL ?
		    auth_verdict_printf(j->v, "no %s key of rule '%s' has this kid",
		    j->v->alg, j->r->name) :
		    auth_verdict_printf(j->v, "no %s key of rule '%s' fits this token",
		    j->v->alg, j->r->name), NULL, j->v->kid);
		return -1;
	}
	auth_verdict_check_add(j->v, "key", AUTH_CHECK_OK, j->ncand == 1 ?
	    "one key fits" : auth_verdict_printf(j->v, "%zu candidate keys", j->ncand),
	    NULL, j->ncand == 1 ? (j->cand[0]->kid ? j->cand[0]->kid : j->cand[0]->name) : NULL);
	return 0;
}

/* Verify the signature with one key: 1 good, 0 bad, with *why for bad. */
static int
judge_verify_with(struct judge *j, const struct auth_key *key, const char **why)
{
	const struct auth_alg_info	*ai = auth_alg_info(j->alg);
	unsigned char			 md[EVP_MAX_MD_SIZE], *der;
	unsigned int			 mdlen;
	size_t				 maclen;
	EVP_PKEY_CTX			*pctx;
	EVP_MD_CTX			*ectx;
	struct auth_rsa			*rsa;
	const EVP_MD			*hash;
	int				 derlen, ok = 0;

	if (j->sig_len == 0) {
		*why = "signature is empty (stripped)";
		return 0;
	}
	switch (ai->family) {
	case AUTH_FAMILY_HMAC:
		maclen = verifier_hmac(j->vf, key, j->alg, j->tok, j->input_len, md);
		ok = maclen > 0 && maclen == j->sig_len && auth_ct_equal(md, j->sig, maclen);
		break;
	case AUTH_FAMILY_RSA:
		if (j->sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
			*why = "signature length is not the key's modulus length";
			return 0;
		}
		hash = verifier_md(j->vf, ai->digest);
		mdlen = verifier_digest(j->vf, hash, j->tok, j->input_len, md);
		rsa = verifier_rsa(j->vf, key);
		ok = mdlen > 0 && rsa != NULL && (ai->pss ?
		    auth_rsa_verify_pss(rsa, j->vf->mdctx, hash, md, mdlen, j->sig, j->sig_len) :
		    auth_rsa_verify_pkcs1(rsa, hash, md, mdlen, j->sig, j->sig_len)) == 1;
		break;
	case AUTH_FAMILY_EC:
		if (j->sig_len != ai->sig_len) {
			*why = auth_verdict_printf(j->v,
			    "ECDSA signature must be %zu bytes (raw r||s), not %zu", ai->sig_len,
			    j->sig_len);
			return 0;
		}
		if ((der = verifier_ecdsa_der(j->sig, j->sig_len, &derlen)) == NULL) {
			*why = "ECDSA r or s is zero";
			return 0;
		}
		mdlen = verifier_digest(j->vf, verifier_md(j->vf, ai->digest), j->tok,
		    j->input_len, md);
		pctx = verifier_pkey_ctx(j->vf, key, j->alg);
		ok = mdlen > 0 && pctx != NULL &&
		    EVP_PKEY_verify(pctx, der, (size_t)derlen, md, mdlen) == 1;
		OPENSSL_free(der);
		break;
	case AUTH_FAMILY_EDDSA:
		if (j->sig_len != ai->sig_len) {
			*why = "Ed25519 signature must be 64 bytes";
			return 0;
		}
		ectx = verifier_ed_ctx(j->vf, key, j->alg);
		ok = ectx != NULL && EVP_DigestVerify(ectx, j->sig, j->sig_len,
		    (const unsigned char *)j->tok, j->input_len) == 1;
		break;
	}
	if (!ok) {
		/* A failed check may leave errors queued; a good one leaves none. */
		ERR_clear_error();
		*why = "signature does not verify";
	}
	return ok;
}

/* Step: signature. */
static int
step_signature(struct judge *j)
{
	const char	*why = "signature does not verify";
	size_t		 i;

	for (i = 0; i < j->ncand; i++) {
		if (judge_verify_with(j, j->cand[i], &why)) {
			const char *k = j->cand[i]->kid ? j->cand[i]->kid : j->cand[i]->name;

			k = auth_verdict_strndup(j->v, k, strlen(k));
			j->v->key = j->cand[i];
			auth_verdict_check_add(j->v, "signature", AUTH_CHECK_OK,
			    "signature verified with the key", NULL, k);
			if (j->v->kid == NULL)
				j->v->kid = k;
			return 0;
		}
	}
	if (j->untried > 0)
		why = auth_verdict_printf(j->v, "%s with any of the first %zu candidate keys; %zu"
		    " more fit and were not tried (a token is tried against %d keys at most:"
		    " give it a kid)", why, j->ncand, j->untried, JUDGE_MAX_CANDIDATES);
	else if (j->ncand > 1)
		why = auth_verdict_printf(j->v, "%s with any of %zu candidate keys", why, j->ncand);
	auth_verdict_fail(j->v, AUTH_BAD_SIGNATURE, "signature", why, NULL, NULL);
	return -1;
}

/* Step: exp, nbf, iat against now with the rule's leeway. */
static int
step_time(struct judge *j)
{
	double	now = (double)j->now, lw = (double)j->r->leeway, t;
	int	exp = j->reg[REG_EXP], nbf = j->reg[REG_NBF], iat = j->reg[REG_IAT];
	char	buf[96], *p;

	if (exp >= 0 && now >= (t = jdoc_number(&j->cdoc, exp)) + lw) {
		auth_verdict_fail(j->v, AUTH_EXPIRED, "time", auth_verdict_printf(j->v,
		    "expired %s ago (leeway %llds)", judge_age(j, now - t), j->r->leeway),
		    auth_verdict_printf(j->v, "exp after %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	if (nbf >= 0 && now + lw < (t = jdoc_number(&j->cdoc, nbf))) {
		auth_verdict_fail(j->v, AUTH_NOT_YET_VALID, "time", auth_verdict_printf(j->v,
		    "not valid for another %s (leeway %llds)", judge_age(j, t - now), j->r->leeway),
		    auth_verdict_printf(j->v, "nbf before %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	if (iat >= 0 && now + lw < (t = jdoc_number(&j->cdoc, iat))) {
		auth_verdict_fail(j->v, AUTH_NOT_YET_VALID, "time", auth_verdict_printf(j->v,
		    "issued %s in the future (leeway %llds)", judge_age(j, t - now), j->r->leeway),
		    auth_verdict_printf(j->v, "iat before %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	if (exp < 0) {
		auth_verdict_check_add(j->v, "time", AUTH_CHECK_OK, "valid (no exp)", NULL, NULL);
		return 0;
	}
	p = judge_put_str(buf, "valid, expires in ");
	p = judge_put_age(p, jdoc_number(&j->cdoc, exp) - now);
	auth_verdict_check_add(j->v, "time", AUTH_CHECK_OK,
	    auth_verdict_strndup(j->v, buf, (size_t)(p - buf)), NULL, NULL);
	return 0;
}

/* Step: iss. */
static int
step_issuer(struct judge *j)
{
	const char	*iss = judge_str(j, &j->cdoc, j->reg[REG_ISS]);
	size_t		 i;

	for (i = 0; iss != NULL && i < j->r->nissuers; i++) {
		if (strcmp(iss, j->r->issuers[i]) == 0) {
			auth_verdict_check_add(j->v, "issuer", AUTH_CHECK_OK, "trusted issuer",
			    j->r->issuers_text, iss);
			return 0;
		}
	}
	auth_verdict_fail(j->v, AUTH_WRONG_ISSUER, "issuer", iss ? "issuer not trusted by the rule" :
	    "token has no iss claim", j->r->issuers_text,
	    iss ? iss : "(absent)");
	return -1;
}

/* Whether string token tok of the claims is one of the rule's audiences. */
static int
judge_aud_is(struct judge *j, int tok)
{
	size_t	k;

	for (k = 0; k < j->r->naudiences; k++) {
		if (jdoc_string_equals(&j->cdoc, tok, j->r->audiences[k],
		    strlen(j->r->audiences[k])))
			return 1;
	}
	return 0;
}

/* Whether the token's aud (a string, or an array holding one) matches. */
static int
judge_aud_match(struct judge *j, int aud)
{
	const struct jdoc	*c = &j->cdoc;
	int			 e;

	if (c->toks[aud].type == JDOC_STRING)
		return judge_aud_is(j, aud);
	for (e = aud + 1; e < (int)c->toks[aud].skip; e = (int)c->toks[e].skip) {
		if (judge_aud_is(j, e))
			return 1;
	}
	return 0;
}

/* Step: aud (a string or an array containing the audience). */
static int
step_audience(struct judge *j)
{
	int	aud = j->reg[REG_AUD];

	if (aud >= 0 && judge_aud_match(j, aud)) {
		auth_verdict_check_add(j->v, "audience", AUTH_CHECK_OK, "audience matches",
		    j->r->audiences_text, judge_show(j, &j->cdoc, aud));
		return 0;
	}
	auth_verdict_fail(j->v, AUTH_WRONG_AUDIENCE, "audience", aud >= 0 ?
	    "token is not for this audience" : "token has no aud claim",
	    j->r->audiences_text, judge_show(j, &j->cdoc, aud));
	return -1;
}

/* Whether the space-separated list holds want[0..n) as one whole scope. */
static int
judge_scope_listed(const char *list, const char *want, size_t n)
{
	size_t	len;

	while (list != NULL && *list != '\0') {
		len = strcspn(list, " ");
		if (len == n && memcmp(list, want, n) == 0)
			return 1;
		list += len;
		list += strspn(list, " ");
	}
	return 0;
}

/*
 * Whether the token grants scope exactly: in the scope string, or in scp,
 * an array or (as Azure AD writes it) a space-separated string.
 */
static int
judge_has_scope(struct judge *j, const char *scope, const char *want)
{
	const struct jdoc	*c = &j->cdoc;
	size_t			 n = strlen(want);
	int			 scp = j->reg[REG_SCP], e;

	if (judge_scope_listed(scope, want, n))
		return 1;
	if (judge_type(c, scp) == JDOC_STRING)
		return judge_scope_listed(judge_str(j, c, scp), want, n);
	if (judge_type(c, scp) != JDOC_ARRAY)
		return 0;
	for (e = scp + 1; e < (int)c->toks[scp].skip; e = (int)c->toks[e].skip) {
		if (jdoc_string_equals(c, e, want, n))
			return 1;
	}
	return 0;
}

/* The token's scopes as shown. */
static const char *
judge_token_scopes(struct judge *j, const char *scope)
{
	int	scp = j->reg[REG_SCP];

	if (scope != NULL)
		return scope;
	if (scp >= 0)
		return judge_show(j, &j->cdoc, scp);
	return "(none)";
}

/* Step: required scopes; each must be granted exactly, not as a prefix. */
static int
step_scope(struct judge *j)
{
	const char	*scope = judge_str(j, &j->cdoc, j->reg[REG_SCOPE]);
	size_t		 i;

	for (i = 0; i < j->r->nscopes; i++) {
		if (!judge_has_scope(j, scope, j->r->scopes[i])) {
			auth_verdict_fail(j->v, AUTH_INSUFFICIENT_SCOPE, "scope",
			    auth_verdict_printf(j->v, "token lacks scope '%s'", j->r->scopes[i]),
			    j->r->scopes_text, judge_token_scopes(j, scope));
			return -1;
		}
	}
	auth_verdict_check_add(j->v, "scope", AUTH_CHECK_OK, "required scopes granted",
	    j->r->scopes_text, judge_token_scopes(j, scope));
	return 0;
}

/* Fail missing_claim for name. */
static int
judge_missing_claim(struct judge *j, const char *name, const char *why)
{
	auth_verdict_fail(j->v, AUTH_MISSING_CLAIM, "claims",
	    auth_verdict_printf(j->v, "claim '%s' is missing (%s)", name, why), name, NULL);
	return -1;
}

/* Step: required claims, including those the bindings and replay use. */
static int
step_claims(struct judge *j)
{
	size_t	i;

	for (i = 0; i < j->r->nrequire; i++) {
		if (judge_claim(j, j->r->require[i]) < 0)
			return judge_missing_claim(j, j->r->require[i], "required by the rule");
	}
	for (i = 0; i < j->r->nbinds; i++) {
		if (judge_claim(j, j->r->binds[i].claim) < 0)
			return judge_missing_claim(j, j->r->binds[i].claim, "the binding needs it");
	}
	if (j->r->replay_claim != NULL && judge_claim(j, j->r->replay_claim) < 0)
		return judge_missing_claim(j, j->r->replay_claim, "replay detection needs it");
	/* Fail closed: an event without its replay field cannot be checked. */
	if (j->r->replay_field != NULL &&
	    jdoc_pointer(&j->body, j->payload, j->r->replay_field) < 0) {
		auth_verdict_fail(j->v, AUTH_MISSING_CLAIM, "claims", auth_verdict_printf(j->v,
		    "the payload has no %s, which replay detection needs",
		    j->r->replay_field->text), j->r->replay_field->text, NULL);
		return -1;
	}
	auth_verdict_check_add(j->v, "claims", AUTH_CHECK_OK, "required claims present",
	    NULL, NULL);
	return 0;
}

/* Value of a lowercase hex digit, or -1: DESIGN's hash claims are lowercase hex. */
static int
judge_lower_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a claimed digest; NULL when it is not one in the binding's encoding. */
static unsigned char *
judge_claimed_digest(const struct auth_bind *b, const char *text, size_t *len)
{
	unsigned char	*out;
	size_t		 n = strlen(text), i;
	int		 hi, lo;

	if (b->encoding == AUTH_ENC_BASE64URL)
		return auth_b64url_decode(text, n, len);
	if (n % 2 != 0)
		return NULL;
	out = auth_malloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		hi = judge_lower_hex((unsigned char)text[2 * i]);
		lo = judge_lower_hex((unsigned char)text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

/*
 * A number literal as (sign, significant digits, exponent): "42.0",
 * "4.2e1" and "420e-1" all give +, "42", 0.  Writes digits into buf.
 * Zeros are held back until a non-zero digit follows, so trailing zeros
 * only move the exponent however many there are.  Returns -1 if the
 * digits do not fit in buf or the exponent saturates: the value is then
 * not known, and must not be taken for any other.
 */
static int
judge_decimal(const char *s, size_t n, int *neg, char *buf, size_t size, long long *exp)
{
	size_t		i, nd = 0, zeros = 0;
	long long	e = 0, frac = 0;
	int		seen = 0, eneg = 0, lost = 0;

	*neg = n > 0 && s[0] == '-';
	i = *neg;
	for (; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] == '.') {
			seen = 1;
			continue;
		}
		if (seen)
			frac++;
		if (s[i] == '0') {
			if (nd > 0)
				zeros++;
			continue;
		}
		if (nd + zeros + 1 >= size) {
			lost = 1;
			continue;
		}
		for (; zeros > 0; zeros--)
			buf[nd++] = '0';
		buf[nd++] = s[i];
	}
	if (i < n) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < n; i++) {
			if (e >= 100000)
				lost = 1;
			else
				e = e * 10 + (s[i] - '0');
		}
	}
	buf[nd] = '\0';
	*exp = (eneg ? -e : e) - frac + (long long)zeros;
	if (nd == 0) {			/* zero, whatever its exponent */
		*neg = 0;
		*exp = 0;
		return 0;
	}
	return lost ? -1 : 0;
}

/*
 * I-JSON for the JCS binding: every number in the payload must denote
 * exactly the value its canonical form denotes.  Otherwise two payloads an
 * application reads as different integers (9007199254740993 and
 * 9007199254740992) would share one canonical form, and one hash.
 */
static int
judge_numbers_exact(struct judge *j, const char **bad)
{
	const struct jdoc	*d = &j->body;
	char			 a[64], b[64], *canon, *why = NULL;
	long long		 ea, eb;
	size_t			 n;
	int			 t, na, nb, ok;

	for (t = j->payload; t < (int)d->toks[j->payload].skip; t++) {
		if (d->toks[t].type != JDOC_NUMBER)
			continue;
		n = d->toks[t].end - d->toks[t].start;
		if ((canon = auth_jcs(d->text + d->toks[t].start, n, &n, &why)) == NULL) {
			free(why);
			*bad = judge_raw(j, d, t);
			return -1;
		}
		ok = judge_decimal(d->text + d->toks[t].start,
		    d->toks[t].end - d->toks[t].start, &na, a, sizeof a, &ea) == 0 &&
		    judge_decimal(canon, n, &nb, b, sizeof b, &eb) == 0 &&
		    na == nb && ea == eb && strcmp(a, b) == 0;
		free(canon);
		if (!ok) {
			*bad = judge_raw(j, d, t);
			return -1;
		}
	}
	return 0;
}

/* Check one hash binding; 0 ok, -1 failed. */
static int
judge_hash_bind(struct judge *j, const struct auth_bind *b)
{
	int		 ctok = judge_claim(j, b->claim);
	const char	*claim = judge_str(j, &j->cdoc, ctok), *in = j->payload_raw, *shown;
	unsigned char	 md[EVP_MAX_MD_SIZE], *claimed = NULL;
	char		*canon = NULL, *why = NULL, *mine;
	size_t		 inlen = j->payload_len, clen = 0;
	unsigned int	 mdlen;
	int		 ok, decoded;

	if (b->jcs) {
		const char	*bad;

		if (judge_numbers_exact(j, &bad) != 0) {
			auth_verdict_fail(j->v, AUTH_PAYLOAD_HASH_MISMATCH, "payload_hash",
			    auth_verdict_printf(j->v, "payload number %.60s is not exactly a "
			    "double, so its canonical (JCS) form would stand for another value",
			    bad), NULL, NULL);
			return -1;
		}
		if ((canon = auth_jcs(in, inlen, &inlen, &why)) == NULL) {
			auth_verdict_fail(j->v, AUTH_PAYLOAD_HASH_MISMATCH, "payload_hash",
			    auth_verdict_printf(j->v, "payload cannot be canonicalized: %s", why),
			    NULL, NULL);
			free(why);
			return -1;
		}
		in = canon;
	}
	mdlen = verifier_digest(j->vf, verifier_md(j->vf, b->digest), in, inlen, md);
	free(canon);
	mine = b->encoding == AUTH_ENC_HEX ? auth_hex(md, mdlen) : auth_b64url_encode(md, mdlen);
	shown = auth_verdict_strndup(j->v, mine, strlen(mine));
	free(mine);
	if (claim != NULL)
		claimed = judge_claimed_digest(b, claim, &clen);
	decoded = claimed != NULL;
	ok = mdlen > 0 && decoded && clen == mdlen && auth_ct_equal(claimed, md, mdlen);
	free(claimed);
	if (!ok) {
		auth_verdict_fail(j->v, AUTH_PAYLOAD_HASH_MISMATCH, "payload_hash",
		    !decoded ? auth_verdict_printf(j->v, "claim '%s' is not %s", b->claim,
		    b->encoding == AUTH_ENC_HEX ? "lowercase hex" : "base64url") :
		    auth_verdict_printf(j->v, "%s of the payload%s does not match claim '%s'",
		    b->digest, b->jcs ? " (JCS)" : " (exact bytes)", b->claim),
		    judge_show(j, &j->cdoc, ctok), shown);
		return -1;
	}
	auth_verdict_check_add(j->v, "payload_hash", AUTH_CHECK_OK, b->ok_text, claim, shown);
	return 0;
}

/* Step: payload-hash bindings. */
static int
step_payload_hash(struct judge *j)
{
	size_t	i;

	for (i = 0; i < j->r->nbinds; i++) {
		if (j->r->binds[i].digest != NULL && judge_hash_bind(j, &j->r->binds[i]) != 0)
			return -1;
	}
	return 0;
}

/* Step: claim-equals-field bindings. */
static int
step_event_id(struct judge *j)
{
	const struct auth_bind	*b;
	int			 cv, fv;
	size_t			 i;

	for (i = 0; i < j->r->nbinds; i++) {
		b = &j->r->binds[i];
		if (b->equals == NULL)
			continue;
		cv = judge_claim(j, b->claim);
		fv = jdoc_pointer(&j->body, j->payload, b->equals);
		if (fv < 0 || !jdoc_equal(&j->cdoc, cv, &j->body, fv)) {
			auth_verdict_fail(j->v, AUTH_EVENT_ID_MISMATCH, "event_id",
			    fv < 0 ? auth_verdict_printf(j->v, "payload has no %s",
			    b->equals->text) : auth_verdict_printf(j->v,
			    "claim '%s' is not the payload's %s", b->claim, b->equals->text),
			    judge_show(j, &j->cdoc, cv), judge_show(j, &j->body, fv));
			return -1;
		}
		auth_verdict_check_add(j->v, "event_id", AUTH_CHECK_OK, b->ok_text,
		    judge_show(j, &j->cdoc, cv), judge_show(j, &j->body, fv));
	}
	return 0;
}

/* A string member of the seed's event_auth, decoded into the verdict. */
static const char *
judge_event_auth(struct judge *j, const char *name)
{
	return judge_str(j, &j->body, jdoc_member(&j->body, j->event_auth, name));
}

/* Fail the seed event token. */
static int
judge_bad_event_token(struct judge *j, enum auth_reason r, const char *detail,
    const char *expected, const char *actual)
{
	auth_verdict_fail(j->v, r, "event_token", detail, expected, actual);
	return -1;
}

/* Step: the Go seed's event token (HMAC over data, publisher, expiry). */
static int
step_event_token(struct judge *j)
{
	const struct auth_key	*ek = j->p->kr.keys[j->r->event_key];
	const char		*hash = judge_event_auth(j, "hash");
	const char		*pub = judge_event_auth(j, "publisher_id");
	const char		*exp = judge_event_auth(j, "expires_at");
	const char		*iss = judge_claim_str(j, "iss");
	unsigned char		 mac[EVP_MAX_MD_SIZE], *claimed;
	size_t			 maclen, clen = 0;
	char			*mine;
	const char		*shown;
	double			 t;
	int			 ok;

	auth_verdict_warn(j->v, "the envelope's id and event_auth's publisher_id, event_type and "
	    "expires_at are not covered by any MAC");
	maclen = verifier_hmac(j->vf, ek, AUTH_ALG_HS256, j->payload_raw, j->payload_len, mac);
	mine = auth_b64_encode(mac, maclen);
	shown = auth_verdict_strndup(j->v, mine, strlen(mine));
	free(mine);
	claimed = auth_b64_decode(hash, strlen(hash), &clen);
	ok = claimed != NULL && maclen > 0 && clen == maclen && auth_ct_equal(claimed, mac, maclen);
	free(claimed);
	if (!ok)
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_INVALID,
		    "HMAC-SHA256 of data with the event key does not match event_auth.hash",
		    hash, shown);
	if (j->r->bind_publisher && (iss == NULL || strcmp(iss, pub) != 0))
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_INVALID,
		    "event_auth.publisher_id is not the token's iss", iss ? iss : "(no iss)", pub);
	if (auth_parse_rfc3339(exp, &t) != 0)
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_INVALID,
		    "event_auth.expires_at is not an RFC 3339 time", NULL, exp);
	if ((double)j->now >= t + (double)j->r->leeway)
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_EXPIRED,
		    auth_verdict_printf(j->v, "event token expired %s ago",
		    judge_age(j, (double)j->now - t)),
		    auth_verdict_printf(j->v, "expires_at after %s", judge_time(j, (double)j->now)),
		    exp);
	auth_verdict_check_add(j->v, "event_token", AUTH_CHECK_OK, j->r->bind_publisher ?
	    "HMAC over data verified; publisher is the issuer; expires_at (covered by no MAC) "
	    "not passed" : "HMAC over data verified; expires_at (covered by no MAC) not passed",
	    hash, shown);
	return 0;
}

/*
 * Prepare the replay key: SHA-256 of a scope and the canonical value.
 * A claim is scoped by the token's issuer (one jti, one event, whichever
 * rule the subject falls under); a payload field by the rule.  Strings
 * are decoded and other values canonicalized (RFC 8785), so one value has
 * one key however it is spelled: 42, 42.0 and 4.2e1 are the same event.
 * A type byte ('s' string, 'j' JSON text) comes before the value, else
 * "42" and 42, or "[1]" and [1], would be one key.
 */
static void
judge_replay_key(struct judge *j)
{
	const struct jdoc	*d = &j->cdoc;
	const char		*scope, *text;
	char			*canon = NULL, *why = NULL, *buf, type = 's';
	size_t			 n, tlen;
	int			 tok;

	if (j->r->replay_claim != NULL) {
		tok = judge_claim(j, j->r->replay_claim);
		scope = auth_verdict_printf(j->v, "claim%c%s%c%s", '\0', j->r->replay_claim, '\0',
		    j->v->facts.iss ? j->v->facts.iss : "");
		n = strlen("claim") + 1 + strlen(j->r->replay_claim) + 1 +
		    (j->v->facts.iss ? strlen(j->v->facts.iss) : 0);
	} else if (j->r->replay_field != NULL) {
		d = &j->body;
		tok = jdoc_pointer(d, j->payload, j->r->replay_field);
		scope = auth_verdict_printf(j->v, "rule%c%s", '\0', j->r->name);
		n = strlen("rule") + 1 + strlen(j->r->name);
	} else
		return;
	if (tok < 0)
		return;			/* step_claims has failed the event already */
	if ((text = judge_str(j, d, tok)) != NULL) {
		tlen = strlen(text);
	} else {
		type = 'j';
		text = judge_raw(j, d, tok);
		tlen = strlen(text);
		if ((canon = auth_jcs(text, tlen, &tlen, &why)) != NULL)
			text = canon;
		free(why);
	}
	buf = auth_malloc(n + 2 + tlen);
	memcpy(buf, scope, n);
	buf[n] = '\0';
	buf[n + 1] = type;
	memcpy(buf + n + 2, text, tlen);
	verifier_digest(j->vf, j->vf->md[0], buf, n + 2 + tlen, j->v->replay_key);
	free(buf);
	free(canon);
	j->v->has_replay_key = 1;
	j->v->replay_window = j->r->replay_window;
}

/* ---- the run ------------------------------------------------------------ */

/* One step of the run: name, function, and whether the rule uses it. */
struct judge_step {
	const char	*name;
	int		(*fn)(struct judge *);
	int		(*applies)(const struct auth_rule *);
};

static int applies_always(const struct auth_rule *r) { return 1; }
static int applies_issuer(const struct auth_rule *r) { return r->nissuers > 0; }
static int applies_audience(const struct auth_rule *r) { return r->naudiences > 0; }
static int applies_scope(const struct auth_rule *r) { return r->nscopes > 0; }
static int applies_seed(const struct auth_rule *r) { return r->wire == AUTH_WIRE_SEED; }
static int applies_replay(const struct auth_rule *r)
{
	return r->replay_claim != NULL || r->replay_field != NULL;
}

/* Whether the rule has a binding of the kind (hash or equals). */
static int
applies_bind(const struct auth_rule *r, int hash)
{
	size_t	i;

	for (i = 0; i < r->nbinds; i++) {
		if ((r->binds[i].digest != NULL) == hash)
			return 1;
	}
	return 0;
}
static int applies_hash(const struct auth_rule *r) { return applies_bind(r, 1); }
static int applies_equals(const struct auth_rule *r) { return applies_bind(r, 0); }

static const struct judge_step judge_steps[] = {
	{ "rule", step_rule, applies_always },
	{ "message", step_message, applies_always },
	{ "token", step_token, applies_always },
	{ "decode", step_decode, applies_always },
	{ "alg", step_alg, applies_always },
	{ "key", step_key, applies_always },
	{ "signature", step_signature, applies_always },
	{ "time", step_time, applies_always },
	{ "issuer", step_issuer, applies_issuer },
	{ "audience", step_audience, applies_audience },
	{ "scope", step_scope, applies_scope },
	{ "claims", step_claims, applies_always },
	{ "payload_hash", step_payload_hash, applies_hash },
	{ "event_id", step_event_id, applies_equals },
	{ "event_token", step_event_token, applies_seed },
	{ "replay", NULL, applies_replay },	/* auth_replay_check() */
};

/* Judge msg at now. */
struct auth_verdict *
auth_verify(struct auth_verifier *vf, const struct auth_msg *msg, time_t now)
{
	struct judge	 j;
	size_t		 i, nsteps = sizeof judge_steps / sizeof judge_steps[0];

	/* The token arrays (8 KiB) are filled by jdoc_parse(); zero the rest. */
	memset(&j, 0, offsetof(struct judge, body));
	j.body.toks = j.hdoc.toks = j.cdoc.toks = NULL;
	j.vf = vf;
	j.p = vf->p;
	j.msg = msg;
	j.now = now;
	j.alg = -1;
	j.payload = j.event_auth = -1;
	j.v = auth_verdict_new(msg->subject);
	if (vf->p->nremotes > 0) {
		/* The verdict keeps the keys it was judged with alive. */
		verifier_sync(vf);
		atomic_fetch_add(&vf->snap->refs, 1);
		j.v->snap = vf->snap;
	}
	for (i = 0; i < nsteps; i++) {
		const struct judge_step	*s = &judge_steps[i];

		if (j.r != NULL && !s->applies(j.r))
			continue;
		if (j.v->failed) {
			if (j.r != NULL)
				auth_verdict_check_add(j.v, s->name, AUTH_CHECK_NOT_REACHED,
				    "not reached", NULL, NULL);
			continue;
		}
		if (s->fn != NULL)
			s->fn(&j);
	}
	if (!j.v->failed)
		judge_replay_key(&j);
	jdoc_release(&j.body);
	jdoc_release(&j.hdoc);
	jdoc_release(&j.cdoc);
	free(j.sig_heap);
	return j.v;
}
