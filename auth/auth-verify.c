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
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "auth-int.h"

#define JUDGE_MAX_CANDIDATES	16
#define JUDGE_SHOW_MAX		160	/* bytes of a value shown in a detail */

/* Per-thread verification context: cached OpenSSL objects. */
struct auth_verifier {
	const struct auth_policy	*p;
	void				**ctx;	/* [key * AUTH_ALG_COUNT + alg] */
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
	json_t			*body;
	json_t			*payload;	/* borrowed from body */
	const char		*payload_raw;
	size_t			 payload_len;
	const char		*tok;
	size_t			 tok_len;
	size_t			 input_len;	/* header.claims */
	unsigned char		*sig;
	size_t			 sig_len;
	int			 alg;
	const struct auth_key	*cand[JUDGE_MAX_CANDIDATES];
	size_t			 ncand;
	json_t			*event_auth;	/* seed: borrowed */
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
	default:
		EVP_PKEY_CTX_free(ctx);
		break;
	}
}

/* Free a verifier. */
void
auth_verifier_free(struct auth_verifier *vf)
{
	size_t	i, n;

	if (vf == NULL)
		return;
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

/* Digest in[0..n) into out; returns its length or 0. */
static unsigned int
verifier_digest(struct auth_verifier *vf, const char *name, const void *in, size_t n,
    unsigned char *out)
{
	unsigned int	len = 0;

	if (EVP_DigestInit_ex2(vf->mdctx, verifier_md(vf, name), NULL) != 1 ||
	    EVP_DigestUpdate(vf->mdctx, in, n) != 1 ||
	    EVP_DigestFinal_ex(vf->mdctx, out, &len) != 1)
		return 0;
	return len;
}

/* The cached HMAC context for key and alg, made on first use. */
static EVP_MAC_CTX *
verifier_hmac_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	void		**slot = &vf->ctx[key->index * AUTH_ALG_COUNT + (size_t)alg];
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

/* The cached public-key verify context for key and alg. */
static EVP_PKEY_CTX *
verifier_pkey_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	const struct auth_alg_info	*ai = auth_alg_info(alg);
	void				**slot = &vf->ctx[key->index * AUTH_ALG_COUNT + (size_t)alg];
	EVP_PKEY_CTX			*ctx;

	if (*slot != NULL)
		return *slot;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, verifier_md(vf, ai->digest)) != 1)
		goto fail;
	if (ai->family == AUTH_FAMILY_RSA) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    ai->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1)
			goto fail;
		/* RFC 7518 §3.5: the salt is as long as the hash. */
		if (ai->pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)
			goto fail;
	}
	*slot = ctx;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* The cached Ed25519 verify context for key. */
static EVP_MD_CTX *
verifier_ed_ctx(struct auth_verifier *vf, const struct auth_key *key, int alg)
{
	void		**slot = &vf->ctx[key->index * AUTH_ALG_COUNT + (size_t)alg];
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

/* Show a JSON value compactly, cut to JUDGE_SHOW_MAX bytes. */
static const char *
judge_show(struct judge *j, json_t *val)
{
	char	*s;
	const char *out;
	size_t	 n;

	if (val == NULL)
		return "(absent)";
	if ((s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return "(unprintable)";
	n = strlen(s);
	if (n > JUDGE_SHOW_MAX)
		out = auth_verdict_printf(j->v, "%.*s…", JUDGE_SHOW_MAX, s);
	else
		out = auth_verdict_strndup(j->v, s, n);
	free(s);
	return out;
}

/* RFC 3339 UTC text of t. */
static const char *
judge_time(struct judge *j, double t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	char		buf[64];

	if (t < -62135596800.0 || t > 253402300799.0 || gmtime_r(&tt, &tm) == NULL)
		return auth_verdict_printf(j->v, "%.0f", t);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return auth_verdict_strndup(j->v, buf, strlen(buf));
}

/* A short age such as "3h12m". */
static const char *
judge_age(struct judge *j, double secs)
{
	long long	s = (long long)(secs < 0 ? -secs : secs);

	if (s < 120)
		return auth_verdict_printf(j->v, "%llds", s);
	if (s < 7200)
		return auth_verdict_printf(j->v, "%lldm%llds", s / 60, s % 60);
	if (s < 172800)
		return auth_verdict_printf(j->v, "%lldh%lldm", s / 3600, s / 60 % 60);
	return auth_verdict_printf(j->v, "%lldd%lldh", s / 86400, s / 3600 % 24);
}

/* String claim or NULL. */
static const char *
judge_claim_str(struct judge *j, const char *name)
{
	return json_string_value(json_object_get(j->v->claims, name));
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
	auth_verdict_check_add(j->v, "rule", AUTH_CHECK_OK,
	    auth_verdict_printf(j->v, "rule '%s' covers this subject", j->r->name), NULL, NULL);
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
	json_t	*id = NULL;

	if (j->r->wire == AUTH_WIRE_SEED)
		id = json_object_get(j->body, "id");
	else if (j->r->event_id != NULL && j->payload != NULL)
		id = auth_pointer_get(j->payload, j->r->event_id);
	if (id != NULL && !json_is_object(id) && !json_is_array(id))
		j->v->event_id = judge_show(j, id);
}

/* Locate the payload span and tree inside the body. */
static int
judge_payload(struct judge *j, const struct auth_pointer *ptr)
{
	const char	*b = (const char *)j->msg->body;
	size_t		 off, n;

	if (ptr == NULL) {
		j->payload = j->body;
		j->payload_raw = b;
		j->payload_len = j->msg->body_len;
		return 0;
	}
	j->payload = auth_pointer_get(j->body, ptr);
	if (j->payload == NULL ||
	    auth_json_span(b, j->msg->body_len, ptr, &off, &n) != 0)
		return judge_bad_message(j, auth_verdict_printf(j->v,
		    "body has no payload at %s", ptr->text));
	j->payload_raw = b + off;
	j->payload_len = n;
	return 0;
}

/* The seed envelope's required members and types. */
static int
judge_seed_envelope(struct judge *j)
{
	static const char *const auth_fields[] = {
		"publisher_id", "event_type", "expires_at", "hash"
	};
	static char		*data_tokens[] = { (char *)"data" };
	static struct auth_pointer data_ptr = { (char *)"/data", data_tokens, 1 };
	size_t	i;

	if (!json_is_object(j->body))
		return judge_bad_message(j, "the nats_pubsub envelope must be a JSON object");
	if (!json_is_string(json_object_get(j->body, "id")))
		return judge_bad_message(j, "envelope has no string 'id'");
	j->event_auth = json_object_get(j->body, "event_auth");
	if (!json_is_object(j->event_auth))
		return judge_bad_message(j, "envelope has no 'event_auth' object");
	for (i = 0; i < sizeof auth_fields / sizeof auth_fields[0]; i++) {
		if (!json_is_string(json_object_get(j->event_auth, auth_fields[i])))
			return judge_bad_message(j, auth_verdict_printf(j->v,
			    "event_auth has no string '%s'", auth_fields[i]));
	}
	if (json_object_get(j->body, "data") == NULL)
		return judge_bad_message(j, "envelope has no 'data'");
	return judge_payload(j, &data_ptr);
}

/* Step: parse the body per the rule. */
static int
step_message(struct judge *j)
{
	char		err[160];
	const char	*first;
	size_t		 n;

	if (j->msg->body_len > j->p->limits.max_body)
		return judge_bad_message(j, auth_verdict_printf(j->v,
		    "body is %zu bytes, over the cap of %zu", j->msg->body_len,
		    j->p->limits.max_body));
	j->body = auth_json_parse((const char *)j->msg->body, j->msg->body_len,
	    j->p->limits.max_depth, err, sizeof err);
	if (j->body == NULL)
		return judge_bad_message(j, auth_verdict_printf(j->v, "body is not JSON: %s", err));
	if (j->r->wire == AUTH_WIRE_HEADER &&
	    (n = judge_find_header(j, j->r->token_header, &first)) > 1)
		return judge_bad_message(j, auth_verdict_printf(j->v,
		    "%zu '%s' headers: which one carries the token is ambiguous", n,
		    j->r->token_header));
	if (j->r->wire == AUTH_WIRE_SEED) {
		if (judge_seed_envelope(j) != 0)
			return -1;
	} else if (judge_payload(j, j->r->payload_pointer) != 0)
		return -1;
	judge_event_id(j);
	auth_verdict_check_add(j->v, "message", AUTH_CHECK_OK,
	    auth_verdict_printf(j->v, "%zu-byte JSON body, payload %zu bytes",
	    j->msg->body_len, j->payload_len), NULL, NULL);
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
	json_t	*t;

	if (j->r->wire == AUTH_WIRE_HEADER) {
		if (judge_token_header(j) != 0)
			return -1;
	} else {
		t = j->r->wire == AUTH_WIRE_SEED ? json_object_get(j->body, "jwt") :
		    auth_pointer_get(j->body, j->r->token_pointer);
		if (t == NULL || json_is_null(t))
			return judge_no_token(j, auth_verdict_printf(j->v, "body has no token at %s",
			    j->r->wire == AUTH_WIRE_SEED ? "/jwt" : j->r->token_pointer->text));
		if (!json_is_string(t) || json_string_length(t) == 0)
			return judge_no_token(j, "the token member is not a non-empty string");
		j->tok = json_string_value(t);
		j->tok_len = json_string_length(t);
	}
	auth_verdict_check_add(j->v, "token", AUTH_CHECK_OK,
	    auth_verdict_printf(j->v, "%zu-byte token", j->tok_len), NULL, NULL);
	return 0;
}

/* Fail the decode step. */
static int
judge_bad_token(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_MALFORMED_TOKEN, "decode", detail, NULL, NULL);
	return -1;
}

/* Decode one base64url JSON segment into an object. */
static json_t *
judge_segment(struct judge *j, const char *seg, size_t n, const char *what)
{
	unsigned char	*raw;
	size_t		 len;
	char		 err[160];
	json_t		*obj;

	if ((raw = auth_b64url_decode(seg, n, &len)) == NULL) {
		judge_bad_token(j, auth_verdict_printf(j->v, "%s is not strict base64url", what));
		return NULL;
	}
	obj = auth_json_parse((const char *)raw, len, j->p->limits.max_depth, err, sizeof err);
	free(raw);
	if (obj == NULL) {
		judge_bad_token(j, auth_verdict_printf(j->v, "%s is not JSON: %s", what, err));
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		judge_bad_token(j, auth_verdict_printf(j->v, "%s is not a JSON object", what));
		return NULL;
	}
	return obj;
}

/* Registered claims must have their registered types (RFC 7519 §4.1). */
static int
judge_claim_types(struct judge *j)
{
	static const char *const dates[] = { "exp", "nbf", "iat" };
	static const char *const strings[] = { "iss", "sub", "jti" };
	json_t	*c = j->v->claims, *aud, *e;
	size_t	 i;

	for (i = 0; i < 3; i++) {
		e = json_object_get(c, dates[i]);
		if (e != NULL && !json_is_number(e))
			return judge_bad_token(j, auth_verdict_printf(j->v,
			    "claim '%s' is not a NumericDate", dates[i]));
		e = json_object_get(c, strings[i]);
		if (e != NULL && !json_is_string(e))
			return judge_bad_token(j, auth_verdict_printf(j->v,
			    "claim '%s' is not a string", strings[i]));
	}
	aud = json_object_get(c, "aud");
	if (aud != NULL && !json_is_string(aud)) {
		if (!json_is_array(aud))
			return judge_bad_token(j, "claim 'aud' is not a string or array");
		json_array_foreach(aud, i, e) {
			if (!json_is_string(e))
				return judge_bad_token(j, "claim 'aud' holds a non-string");
		}
	}
	return 0;
}

/* Header members that must be understood or must not be trusted. */
static int
judge_header_members(struct judge *j)
{
	static const char *const untrusted[] = { "jku", "x5u", "jwk", "x5c" };
	json_t	*h = j->v->header, *kid;
	size_t	 i;

	if (json_object_get(h, "crit") != NULL)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "header lists critical extensions %s, which ztwatch does not implement",
		    judge_show(j, json_object_get(h, "crit"))));
	kid = json_object_get(h, "kid");
	if (kid != NULL && !json_is_string(kid))
		return judge_bad_token(j, "header 'kid' is not a string");
	j->v->kid = json_string_value(kid);
	for (i = 0; i < sizeof untrusted / sizeof untrusted[0]; i++) {
		if (json_object_get(h, untrusted[i]) != NULL)
			auth_verdict_warn(j->v, auth_verdict_printf(j->v,
			    "header '%s' ignored: keys never come from the token", untrusted[i]));
	}
	return 0;
}

/* Step: split, base64url and JSON of header and claims. */
static int
step_decode(struct judge *j)
{
	const char	*t = j->tok, *d1, *d2;
	size_t		 dots = 0, i;

	if (j->tok_len > j->p->limits.max_token)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "token is %zu bytes, over the cap of %zu", j->tok_len, j->p->limits.max_token));
	j->v->token = auth_verdict_strndup(j->v, t, j->tok_len);
	for (i = 0; i < j->tok_len; i++)
		dots += t[i] == '.';
	if (dots != 2)
		return judge_bad_token(j, auth_verdict_printf(j->v,
		    "token has %zu segments, want 3 (header.claims.signature)", dots + 1));
	d1 = memchr(t, '.', j->tok_len);
	d2 = memchr(d1 + 1, '.', j->tok_len - (size_t)(d1 + 1 - t));
	if ((j->v->header = judge_segment(j, t, (size_t)(d1 - t), "header")) == NULL)
		return -1;
	if ((j->v->claims = judge_segment(j, d1 + 1, (size_t)(d2 - d1 - 1), "claims")) == NULL)
		return -1;
	j->sig = auth_b64url_decode(d2 + 1, j->tok_len - (size_t)(d2 + 1 - t), &j->sig_len);
	if (j->sig == NULL)
		return judge_bad_token(j, "signature is not strict base64url");
	j->input_len = (size_t)(d2 - t);
	if (judge_header_members(j) != 0 || judge_claim_types(j) != 0)
		return -1;
	auth_verdict_check_add(j->v, "decode", AUTH_CHECK_OK,
	    "three segments, strict base64url, JSON objects without duplicate keys", NULL, NULL);
	return 0;
}

/* The rule's allowed algorithms as text. */
static const char *
judge_rule_algs(struct judge *j)
{
	char	buf[160] = "";
	int	alg;

	for (alg = 0; alg < AUTH_ALG_COUNT; alg++) {
		if (j->r->algs & (1u << alg)) {
			if (buf[0] != '\0')
				strcat(buf, " ");
			strcat(buf, auth_alg_name(alg));
		}
	}
	return auth_verdict_strndup(j->v, buf, strlen(buf));
}

/* Fail the alg step. */
static int
judge_bad_alg(struct judge *j, const char *detail)
{
	auth_verdict_fail(j->v, AUTH_ALG_NOT_ALLOWED, "alg", detail, judge_rule_algs(j),
	    j->v->alg);
	return -1;
}

/* Step: alg allowed by the rule and by the key's type. */
static int
step_alg(struct judge *j)
{
	json_t	*a = json_object_get(j->v->header, "alg");
	size_t	 k;
	int	 fits = 0;

	if (!json_is_string(a))
		return judge_bad_alg(j, "header has no 'alg' string");
	j->v->alg = json_string_value(a);
	j->alg = auth_alg_from_name(j->v->alg);
	if (j->alg < 0 && strcasecmp(j->v->alg, "none") == 0)
		return judge_bad_alg(j, "unsigned tokens ('none' in any spelling) are never accepted");
	if (j->alg < 0)
		return judge_bad_alg(j, "unknown algorithm");
	if (!(j->r->algs & (1u << j->alg)))
		return judge_bad_alg(j, "the rule does not allow this algorithm");
	for (k = 0; k < j->r->nkeys; k++)
		fits |= auth_key_type_fits(j->p->kr.keys[j->r->keys[k]]->type, j->alg);
	if (!fits)
		return judge_bad_alg(j, "no key of this rule is of the type this algorithm needs "
		    "(the key decides the algorithm family)");
	auth_verdict_check_add(j->v, "alg", AUTH_CHECK_OK, "allowed by the rule and the keys",
	    judge_rule_algs(j), j->v->alg);
	return 0;
}

/* Whether key may verify this token (type, pinned alg, kid, issuer). */
static int
judge_key_fits(struct judge *j, const struct auth_key *key)
{
	const char	*iss = judge_claim_str(j, "iss");

	if (!auth_key_type_fits(key->type, j->alg) || (key->alg >= 0 && key->alg != j->alg))
		return 0;
	if (key->issuer != NULL && (iss == NULL || strcmp(iss, key->issuer) != 0))
		return 0;
	/* kid is only ever a lookup key: compared, never used as a path. */
	if (j->v->kid != NULL && strcmp(j->v->kid, key->kid ? key->kid : key->name) != 0)
		return 0;
	return 1;
}

/* Step: find the candidate keys. */
static int
step_key(struct judge *j)
{
	size_t	k;

	for (k = 0; k < j->r->nkeys && j->ncand < JUDGE_MAX_CANDIDATES; k++) {
		const struct auth_key	*key = j->p->kr.keys[j->r->keys[k]];

		if (judge_key_fits(j, key))
			j->cand[j->ncand++] = key;
	}
	if (j->ncand == 0) {
		auth_verdict_fail(j->v, AUTH_UNKNOWN_KEY, "key", j->v->kid != NULL ?
		    auth_verdict_printf(j->v, "no %s key of rule '%s' has this kid",
		    j->v->alg, j->r->name) :
		    auth_verdict_printf(j->v, "no %s key of rule '%s' fits this token",
		    j->v->alg, j->r->name), NULL, j->v->kid);
		return -1;
	}
	auth_verdict_check_add(j->v, "key", AUTH_CHECK_OK, j->ncand == 1 ?
	    auth_verdict_printf(j->v, "key '%s'%s%s%s", j->cand[0]->name,
	    j->cand[0]->kid ? " kid '" : "", j->cand[0]->kid ? j->cand[0]->kid : "",
	    j->cand[0]->kid ? "'" : "") :
	    auth_verdict_printf(j->v, "%zu candidate keys", j->ncand), NULL, NULL);
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
		mdlen = verifier_digest(j->vf, ai->digest, j->tok, j->input_len, md);
		pctx = verifier_pkey_ctx(j->vf, key, j->alg);
		ok = mdlen > 0 && pctx != NULL &&
		    EVP_PKEY_verify(pctx, j->sig, j->sig_len, md, mdlen) == 1;
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
		mdlen = verifier_digest(j->vf, ai->digest, j->tok, j->input_len, md);
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
	ERR_clear_error();
	if (!ok)
		*why = "signature does not verify";
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
			auth_verdict_check_add(j->v, "signature", AUTH_CHECK_OK,
			    auth_verdict_printf(j->v, "%s signature verified with key '%s'%s%s%s",
			    j->v->alg, j->cand[i]->name, j->cand[i]->kid ? " kid '" : "",
			    j->cand[i]->kid ? j->cand[i]->kid : "", j->cand[i]->kid ? "'" : ""),
			    NULL, NULL);
			if (j->v->kid == NULL) {
				const char *k = j->cand[i]->kid ? j->cand[i]->kid : j->cand[i]->name;

				j->v->kid = auth_verdict_strndup(j->v, k, strlen(k));
			}
			return 0;
		}
	}
	if (j->ncand > 1)
		why = auth_verdict_printf(j->v, "%s with any of %zu candidate keys", why, j->ncand);
	auth_verdict_fail(j->v, AUTH_BAD_SIGNATURE, "signature", why, NULL, NULL);
	return -1;
}

/* Step: exp, nbf, iat against now with the rule's leeway. */
static int
step_time(struct judge *j)
{
	json_t		*c = j->v->claims;
	double		 now = (double)j->now, lw = (double)j->r->leeway;
	json_t		*exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	json_t		*iat = json_object_get(c, "iat");
	double		 t;

	if (exp != NULL && now >= (t = json_number_value(exp)) + lw) {
		auth_verdict_fail(j->v, AUTH_EXPIRED, "time", auth_verdict_printf(j->v,
		    "expired %s ago (leeway %llds)", judge_age(j, now - t), j->r->leeway),
		    auth_verdict_printf(j->v, "exp after %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	if (nbf != NULL && now + lw < (t = json_number_value(nbf))) {
		auth_verdict_fail(j->v, AUTH_NOT_YET_VALID, "time", auth_verdict_printf(j->v,
		    "not valid for another %s (leeway %llds)", judge_age(j, t - now), j->r->leeway),
		    auth_verdict_printf(j->v, "nbf before %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	if (iat != NULL && now + lw < (t = json_number_value(iat))) {
		auth_verdict_fail(j->v, AUTH_NOT_YET_VALID, "time", auth_verdict_printf(j->v,
		    "issued %s in the future (leeway %llds)", judge_age(j, t - now), j->r->leeway),
		    auth_verdict_printf(j->v, "iat before %s", judge_time(j, now)),
		    judge_time(j, t));
		return -1;
	}
	auth_verdict_check_add(j->v, "time", AUTH_CHECK_OK, exp != NULL ?
	    auth_verdict_printf(j->v, "valid, expires in %s",
	    judge_age(j, json_number_value(exp) - now)) : "valid (no exp)", NULL, NULL);
	return 0;
}

/* A list as "a, b, c". */
static const char *
judge_list(struct judge *j, char **list, size_t n)
{
	size_t	 i, len = 0;
	char	*buf, *p;
	const char *out;

	for (i = 0; i < n; i++)
		len += strlen(list[i]) + 2;
	p = buf = auth_malloc(len + 1);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ", " : "", list[i]);
	*p = '\0';
	out = auth_verdict_strndup(j->v, buf, (size_t)(p - buf));
	free(buf);
	return out;
}

/* Step: iss. */
static int
step_issuer(struct judge *j)
{
	const char	*iss = judge_claim_str(j, "iss");
	size_t		 i;

	for (i = 0; iss != NULL && i < j->r->nissuers; i++) {
		if (strcmp(iss, j->r->issuers[i]) == 0) {
			auth_verdict_check_add(j->v, "issuer", AUTH_CHECK_OK, "trusted issuer",
			    judge_list(j, j->r->issuers, j->r->nissuers), iss);
			return 0;
		}
	}
	auth_verdict_fail(j->v, AUTH_WRONG_ISSUER, "issuer", iss ? "issuer not trusted by the rule" :
	    "token has no iss claim", judge_list(j, j->r->issuers, j->r->nissuers),
	    iss ? iss : "(absent)");
	return -1;
}

/* Whether the token's aud names one of the rule's audiences. */
static int
judge_aud_match(struct judge *j, json_t *aud)
{
	json_t	*e;
	size_t	 i, k;

	for (k = 0; k < j->r->naudiences; k++) {
		if (json_is_string(aud) && strcmp(json_string_value(aud), j->r->audiences[k]) == 0)
			return 1;
		json_array_foreach(aud, i, e) {
			if (strcmp(json_string_value(e), j->r->audiences[k]) == 0)
				return 1;
		}
	}
	return 0;
}

/* Step: aud (a string or an array containing the audience). */
static int
step_audience(struct judge *j)
{
	json_t	*aud = json_object_get(j->v->claims, "aud");

	if (aud != NULL && judge_aud_match(j, aud)) {
		auth_verdict_check_add(j->v, "audience", AUTH_CHECK_OK, "audience matches",
		    judge_list(j, j->r->audiences, j->r->naudiences), judge_show(j, aud));
		return 0;
	}
	auth_verdict_fail(j->v, AUTH_WRONG_AUDIENCE, "audience", aud ?
	    "token is not for this audience" : "token has no aud claim",
	    judge_list(j, j->r->audiences, j->r->naudiences), judge_show(j, aud));
	return -1;
}

/* Whether the token grants scope exactly (scope string or scp array). */
static int
judge_has_scope(struct judge *j, const char *want)
{
	const char	*s = judge_claim_str(j, "scope");
	json_t		*scp = json_object_get(j->v->claims, "scp"), *e;
	size_t		 n = strlen(want), i, len;

	while (s != NULL && *s != '\0') {
		len = strcspn(s, " ");
		if (len == n && memcmp(s, want, n) == 0)
			return 1;
		s += len;
		s += strspn(s, " ");
	}
	if (json_is_string(scp) && strcmp(json_string_value(scp), want) == 0)
		return 1;
	json_array_foreach(scp, i, e) {
		if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
			return 1;
	}
	return 0;
}

/* The token's scopes as shown. */
static const char *
judge_token_scopes(struct judge *j)
{
	const char	*s = judge_claim_str(j, "scope");
	json_t		*scp = json_object_get(j->v->claims, "scp");

	if (s != NULL)
		return auth_verdict_strndup(j->v, s, strlen(s));
	if (scp != NULL)
		return judge_show(j, scp);
	return "(none)";
}

/* Step: required scopes; each must be granted exactly, not as a prefix. */
static int
step_scope(struct judge *j)
{
	size_t	i;

	for (i = 0; i < j->r->nscopes; i++) {
		if (!judge_has_scope(j, j->r->scopes[i])) {
			auth_verdict_fail(j->v, AUTH_INSUFFICIENT_SCOPE, "scope",
			    auth_verdict_printf(j->v, "token lacks scope '%s'", j->r->scopes[i]),
			    judge_list(j, j->r->scopes, j->r->nscopes), judge_token_scopes(j));
			return -1;
		}
	}
	auth_verdict_check_add(j->v, "scope", AUTH_CHECK_OK, "required scopes granted",
	    judge_list(j, j->r->scopes, j->r->nscopes), judge_token_scopes(j));
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
	json_t	*c = j->v->claims;
	size_t	 i;

	for (i = 0; i < j->r->nrequire; i++) {
		if (json_object_get(c, j->r->require[i]) == NULL)
			return judge_missing_claim(j, j->r->require[i], "required by the rule");
	}
	for (i = 0; i < j->r->nbinds; i++) {
		if (json_object_get(c, j->r->binds[i].claim) == NULL)
			return judge_missing_claim(j, j->r->binds[i].claim, "the binding needs it");
	}
	if (j->r->replay_claim != NULL && json_object_get(c, j->r->replay_claim) == NULL)
		return judge_missing_claim(j, j->r->replay_claim, "replay detection needs it");
	auth_verdict_check_add(j->v, "claims", AUTH_CHECK_OK, "required claims present",
	    NULL, NULL);
	return 0;
}

/* Decode a claimed digest; NULL when it is not one. */
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
		hi = isxdigit((unsigned char)text[2 * i]) ? (isdigit((unsigned char)text[2 * i]) ?
		    text[2 * i] - '0' : (tolower((unsigned char)text[2 * i]) - 'a' + 10)) : -1;
		lo = isxdigit((unsigned char)text[2 * i + 1]) ? (isdigit((unsigned char)text[2 * i + 1]) ?
		    text[2 * i + 1] - '0' : (tolower((unsigned char)text[2 * i + 1]) - 'a' + 10)) : -1;
		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

/* Check one hash binding; 0 ok, -1 failed. */
static int
judge_hash_bind(struct judge *j, const struct auth_bind *b)
{
	json_t		*cv = json_object_get(j->v->claims, b->claim);
	unsigned char	 md[EVP_MAX_MD_SIZE], *claimed = NULL;
	const char	*in = j->payload_raw, *shown;
	char		*canon = NULL, *why = NULL, *mine;
	size_t		 inlen = j->payload_len, clen = 0;
	unsigned int	 mdlen;
	int		 ok;

	if (b->jcs) {
		if ((canon = auth_jcs(in, inlen, &inlen, &why)) == NULL) {
			auth_verdict_fail(j->v, AUTH_PAYLOAD_HASH_MISMATCH, "payload_hash",
			    auth_verdict_printf(j->v, "payload cannot be canonicalized: %s", why),
			    NULL, NULL);
			free(why);
			return -1;
		}
		in = canon;
	}
	mdlen = verifier_digest(j->vf, b->digest, in, inlen, md);
	free(canon);
	mine = b->encoding == AUTH_ENC_HEX ? auth_hex(md, mdlen) : auth_b64url_encode(md, mdlen);
	shown = auth_verdict_strndup(j->v, mine, strlen(mine));
	free(mine);
	if (json_is_string(cv))
		claimed = judge_claimed_digest(b, json_string_value(cv), &clen);
	ok = claimed != NULL && clen == mdlen && auth_ct_equal(claimed, md, mdlen);
	free(claimed);
	if (!ok) {
		auth_verdict_fail(j->v, AUTH_PAYLOAD_HASH_MISMATCH, "payload_hash",
		    auth_verdict_printf(j->v, "%s of the payload%s does not match claim '%s'",
		    b->digest, b->jcs ? " (JCS)" : " (exact bytes)", b->claim),
		    judge_show(j, cv), shown);
		return -1;
	}
	auth_verdict_check_add(j->v, "payload_hash", AUTH_CHECK_OK,
	    auth_verdict_printf(j->v, "%s of the payload%s matches claim '%s'", b->digest,
	    b->jcs ? " (JCS)" : " (exact bytes)", b->claim), judge_show(j, cv), shown);
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
	json_t			*cv, *fv;
	size_t			 i;

	for (i = 0; i < j->r->nbinds; i++) {
		b = &j->r->binds[i];
		if (b->equals == NULL)
			continue;
		cv = json_object_get(j->v->claims, b->claim);
		fv = auth_pointer_get(j->payload, b->equals);
		if (fv == NULL || !json_equal(cv, fv)) {
			auth_verdict_fail(j->v, AUTH_EVENT_ID_MISMATCH, "event_id",
			    fv == NULL ? auth_verdict_printf(j->v, "payload has no %s",
			    b->equals->text) : auth_verdict_printf(j->v,
			    "claim '%s' is not the payload's %s", b->claim, b->equals->text),
			    judge_show(j, cv), judge_show(j, fv));
			return -1;
		}
		auth_verdict_check_add(j->v, "event_id", AUTH_CHECK_OK,
		    auth_verdict_printf(j->v, "claim '%s' equals the payload's %s", b->claim,
		    b->equals->text), judge_show(j, cv), judge_show(j, fv));
	}
	return 0;
}

/* Parse RFC 3339 ("2026-11-24T01:02:03.123456789+01:00"); -1 if not. */
static int
judge_rfc3339(const char *s, double *out)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, n = 0, oh, om;
	double		frac = 0, scale = 0.1;
	time_t		t;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    (s[10] != 'T' && s[10] != 't') ||
	    sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8)
		return -1;
	s += 19;
	if (*s == '.') {
		if (!isdigit((unsigned char)s[1]))
			return -1;
		for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	t = timegm(&tm);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
	    n == 5 && oh <= 23 && om <= 59) {
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	*out = (double)t + frac;
	return 0;
}

/* Copy a string value into the verdict (the body tree is freed after judging). */
static const char *
judge_copy(struct judge *j, json_t *str)
{
	return auth_verdict_strndup(j->v, json_string_value(str), json_string_length(str));
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
	/* The body tree dies with the judgement: the trace keeps copies. */
	const char		*hash = judge_copy(j, json_object_get(j->event_auth, "hash"));
	const char		*pub = judge_copy(j, json_object_get(j->event_auth, "publisher_id"));
	const char		*exp = judge_copy(j, json_object_get(j->event_auth, "expires_at"));
	const char		*iss = judge_claim_str(j, "iss");
	unsigned char		 mac[EVP_MAX_MD_SIZE], *claimed;
	size_t			 maclen, clen = 0;
	char			*mine;
	const char		*shown;
	double			 t;
	int			 ok;

	auth_verdict_warn(j->v, "event_auth.publisher_id and event_type are not covered by any MAC");
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
	if (judge_rfc3339(exp, &t) != 0)
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_INVALID,
		    "event_auth.expires_at is not an RFC 3339 time", NULL, exp);
	if ((double)j->now >= t + (double)j->r->leeway)
		return judge_bad_event_token(j, AUTH_EVENT_TOKEN_EXPIRED,
		    auth_verdict_printf(j->v, "event token expired %s ago",
		    judge_age(j, (double)j->now - t)),
		    auth_verdict_printf(j->v, "expires_at after %s", judge_time(j, (double)j->now)),
		    exp);
	auth_verdict_check_add(j->v, "event_token", AUTH_CHECK_OK, j->r->bind_publisher ?
	    "HMAC over data verified, publisher is the issuer, not expired" :
	    "HMAC over data verified, not expired", hash, shown);
	return 0;
}

/* Prepare the replay key: SHA-256 of rule name and the claim or field. */
static void
judge_replay_key(struct judge *j)
{
	json_t	*val;
	char	*text, *buf;
	size_t	 n;

	if (j->r->replay_claim != NULL)
		val = json_object_get(j->v->claims, j->r->replay_claim);
	else if (j->r->replay_field != NULL)
		val = auth_pointer_get(j->payload, j->r->replay_field);
	else
		return;
	if (val == NULL || (text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return;
	n = strlen(j->r->name) + 1 + strlen(text);
	buf = auth_printf("%s%c%s", j->r->name, '\0', text);
	verifier_digest(j->vf, "SHA256", buf, n, j->v->replay_key);
	free(buf);
	free(text);
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

	memset(&j, 0, sizeof j);
	j.vf = vf;
	j.p = vf->p;
	j.msg = msg;
	j.now = now;
	j.alg = -1;
	j.v = auth_verdict_new(msg->subject);
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
	json_decref(j.body);
	free(j.sig);
	return j.v;
}
