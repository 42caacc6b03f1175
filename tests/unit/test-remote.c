/*
 * tests/unit/test-remote.c -- keys fetched while the policy is in use
 * (jwks_url): installing sets, the key set's generation and fingerprint,
 * verdicts naming their key set, refetch demands, and keys that stay alive
 * for a verdict judged before they were replaced.  No network: the test
 * hands auth/ the JWK Set text a fetch would bring.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "auth-int.h"
#include "unit.h"
#include "unit-tmp.h"

static const char	secret1[] = "first-secret-for-the-remote-test-0123456789";

/* An EC P-256 key pair: the private PEM (to sign) and the public JWK. */
struct tkey {
	char	*pem;
	char	*pub;
};

/* A fresh key, its JWK with kid and (unless NULL) use. */
static struct tkey
ec_key(const char *kid, const char *use)
{
	struct tkey	 t = { NULL, NULL };
	char		*pub = NULL, *cause = NULL, *x, *y;
	unsigned char	 bx[32], by[32];
	BIGNUM		*bnx = NULL, *bny = NULL;
	BIO		*bio;
	EVP_PKEY	*pkey = NULL;

	if (auth_keygen(AUTH_KEY_EC_P256, &t.pem, &pub, &cause) != 0 ||
	    (bio = BIO_new_mem_buf(pub, -1)) == NULL) {
		fprintf(stderr, "cannot make a P-256 key: %s\n", cause ? cause : "?");
		exit(1);
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bnx) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &bny) != 1 ||
	    BN_bn2binpad(bnx, bx, 32) != 32 || BN_bn2binpad(bny, by, 32) != 32) {
		fputs("cannot read a P-256 public key\n", stderr);
		exit(1);
	}
	x = auth_b64url_encode(bx, 32);
	y = auth_b64url_encode(by, 32);
	t.pub = auth_printf("{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\","
	    "\"y\":\"%s\"%s%s%s}", kid, x, y, use ? ",\"use\":\"" : "", use ? use : "",
	    use ? "\"" : "");
	free(x);
	free(y);
	free(pub);
	BN_free(bnx);
	BN_free(bny);
	EVP_PKEY_free(pkey);
	return t;
}

static void
tkey_free(struct tkey *t)
{
	free(t->pem);
	free(t->pub);
}

/* A JWK for an HMAC secret. */
static char *
oct_jwk(const char *kid, const char *secret)
{
	char	*k = auth_b64url_encode((const unsigned char *)secret, strlen(secret));
	char	*j = auth_printf("{\"kty\":\"oct\",\"kid\":\"%s\",\"k\":\"%s\"}", kid, k);

	free(k);
	return j;
}

/* A token under kid and alg, signed with key (a private PEM or a secret). */
static char *
token(int alg, const char *kid, const char *key)
{
	char		*h = auth_printf("{\"alg\":\"%s\",\"kid\":\"%s\"}", auth_alg_name(alg), kid);
	char		*hb = auth_b64url_encode((unsigned char *)h, strlen(h));
	const char	*claims = "{\"sub\":\"t\",\"exp\":1800000000}";
	char		*cb = auth_b64url_encode((const unsigned char *)claims, strlen(claims));
	char		*input = auth_printf("%s.%s", hb, cb), *sb, *tok, *cause = NULL;
	unsigned char	*sig;
	size_t		 n;

	sig = auth_sign(alg, (const unsigned char *)key, strlen(key),
	    (unsigned char *)input, strlen(input), &n, &cause);
	sb = auth_b64url_encode(sig, n);
	tok = auth_printf("%s.%s", input, sb);
	free(h);
	free(hb);
	free(cb);
	free(input);
	free(sig);
	free(sb);
	free(cause);
	return tok;
}

/* Judge a bearer event with tok. */
static struct auth_verdict *
judge(struct auth_verifier *vf, const char *tok)
{
	char			*value = auth_printf("Bearer %s", tok);
	struct auth_header	 h = { "Authorization", value };
	struct auth_msg		 m = { "orders.a", &h, 1, (const unsigned char *)"{}", 2 };
	struct auth_verdict	*v = auth_verify(vf, &m, 1700000000);

	free(value);
	return v;
}

/* Install text for remote 0; the rc, with *change kept for checks. */
static int
update(struct auth_policy *p, const char *text, char **change, char **notes)
{
	char	*cause = NULL;
	int	 rc;

	free(*change);
	free(*notes);
	rc = auth_policy_remote_update(p, 0, (const unsigned char *)text, strlen(text), change,
	    notes, &cause);
	if (rc < 0) {
		free(*change);
		*change = cause;
	}
	return rc;
}

static void
test_remote_sets(void)
{
	struct auth_policy	*p;
	struct auth_verifier	*vf;
	struct auth_verdict	*v, *held;
	struct auth_key_info	 ki;
	const char		*fp, *json;
	char			*cause = NULL, *change = NULL, *notes = NULL, *path, *set;
	struct tkey		 t1 = ec_key("k1", NULL), t2 = ec_key("k2", "sig");
	struct tkey		 te = ec_key("e1", "enc");
	char			*k1 = t1.pub, *k2 = t2.pub, *enc = te.pub;
	char			*oct = oct_jwk("s1", secret1);
	char			*tok1 = token(AUTH_ALG_ES256, "k1", t1.pem);
	char			*tok2 = token(AUTH_ALG_ES256, "k2", t2.pem);
	char			*pfp = NULL, *text;
	uint64_t		 gen;

	unit_tmp_make("zt-remote");
	write_text("policy.json", "{\"keys\":{\"idp\":{\"jwks_url\":\"https://idp.example/jwks\","
	    "\"refetch_min_s\":5}},\"rules\":[{\"name\":\"r\",\"subjects\":[\"orders.>\"],"
	    "\"token\":{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},\"keys\":[\"idp\"],"
	    "\"algorithms\":[\"ES256\"]}]}");
	path = tpath("policy.json");
	p = auth_policy_load(path, &cause);
	CHECK(p != NULL);
	if (p == NULL) {
		fprintf(stderr, "  %s\n", cause);
		return;
	}
	CHECK(auth_policy_remote_count(p) == 1);
	CHECK(auth_policy_remote_keys(p, 0) == 0);
	CHECK(auth_policy_keyset(p, NULL, NULL) == 1);
	vf = auth_verifier_new(p);

	/* Before the first fetch: no key, and a demand for one. */
	v = judge(vf, tok1);
	CHECK_STR(auth_reason_name(auth_verdict_reason(v)), "unknown_key");
	CHECK(auth_verdict_keyset(v, &fp, &json) == 1);
	CHECK(auth_policy_remote_misses(p, 0) == 1);
	auth_verdict_free(v);

	set = auth_printf("{\"keys\":[%s]}", k1);
	CHECK(update(p, set, &change, &notes) == 1);
	CHECK_STR(change, "+k1");
	free(set);
	gen = auth_policy_keyset(p, &pfp, &text);
	CHECK(gen == 2);
	CHECK(strstr(text, "\"change\":{\"key\":\"idp\",\"added\":[{\"name\":\"idp\","
	    "\"kid\":\"k1\"") != NULL);
	free(text);
	held = judge(vf, tok1);
	CHECK(auth_verdict_pass(held));
	CHECK(auth_verdict_keyset(held, &fp, &json) == 2);
	CHECK_STR(fp, pfp);
	CHECK(auth_verdict_key(held, &ki) == 1);
	CHECK_STR(ki.kid, "k1");

	/* The same keys again, spelled otherwise: nothing changes. */
	set = auth_printf("{ \"keys\" : [ %s ] }", k1);
	CHECK(update(p, set, &change, &notes) == 0);
	free(set);
	CHECK(auth_policy_keyset(p, NULL, NULL) == 2);

	/* Rotation: k1 out, k2 in; the verdict judged before keeps its key. */
	set = auth_printf("{\"keys\":[%s,%s]}", enc, k2);
	CHECK(update(p, set, &change, &notes) == 1);
	free(set);
	CHECK_STR(change, "+k2 -k1");
	CHECK(notes != NULL && strstr(notes, "keys[0] (kid 'e1') left out: use 'enc'") != NULL);
	CHECK(auth_policy_keyset(p, NULL, NULL) == 3);
	v = judge(vf, tok1);
	CHECK_STR(auth_reason_name(auth_verdict_reason(v)), "unknown_key");
	auth_verdict_free(v);
	v = judge(vf, tok2);
	CHECK(auth_verdict_pass(v));
	CHECK(auth_verdict_keyset(v, &fp, &json) == 3);
	CHECK(strcmp(fp, pfp) != 0);
	auth_verdict_free(v);
	CHECK(auth_verdict_key(held, &ki) == 1 && strcmp(ki.kid, "k1") == 0 &&
	    strncmp(ki.source, "jwks_url https://idp.example/jwks", 33) == 0);
	auth_verdict_free(held);

	/* An HMAC secret in a fetched set is left out: anyone who can fetch
	   the set could sign with it. */
	set = auth_printf("{\"keys\":[%s,%s]}", oct, k2);
	CHECK(update(p, set, &change, &notes) == 0);
	free(set);
	CHECK(notes != NULL && strstr(notes, "keys[0] (kid 's1') left out: an HMAC secret") !=
	    NULL);
	set = auth_printf("{\"keys\":[%s]}", oct);
	CHECK(update(p, set, &change, &notes) == -1);
	free(set);
	CHECK(change != NULL && strstr(change, "no usable key") != NULL);
	CHECK(auth_policy_keyset(p, NULL, NULL) == 3);

	/* Bad sets leave the keys in use. */
	CHECK(update(p, "<html>", &change, &notes) == -1);
	CHECK(strstr(change, "invalid JSON") != NULL);
	set = auth_printf("{\"keys\":[%s]}", enc);
	CHECK(update(p, set, &change, &notes) == -1);
	free(set);
	CHECK(strstr(change, "no usable key") != NULL);
	set = auth_printf("{\"keys\":[%s,%s]}", k2, k2);
	CHECK(update(p, set, &change, &notes) == -1);
	free(set);
	CHECK(strstr(change, "duplicate kid 'k2'") != NULL);
	CHECK(auth_policy_keyset(p, NULL, NULL) == 3);
	CHECK(auth_policy_remote_keys(p, 0) == 1);
	v = judge(vf, tok2);
	CHECK(auth_verdict_pass(v));
	auth_verdict_free(v);

	auth_verifier_free(vf);
	auth_policy_free(p);
	free(change);
	free(notes);
	free(pfp);
	free(path);
	tkey_free(&t1);
	tkey_free(&t2);
	tkey_free(&te);
	free(oct);
	free(tok1);
	free(tok2);
	unit_tmp_remove();
}

/* A policy without fetched keys: verdicts carry no key set, generation 1. */
static void
test_fixed_keys(void)
{
	struct auth_policy	*p;
	struct auth_verifier	*vf;
	struct auth_verdict	*v;
	const char		*fp, *json;
	char			*cause = NULL, *path, *tok = token(AUTH_ALG_HS256, "k1", secret1);

	unit_tmp_make("zt-remote");
	write_text("s.secret", secret1);
	write_text("policy.json", "{\"keys\":{\"k1\":{\"secret_file\":\"s.secret\"}},"
	    "\"rules\":[{\"name\":\"r\",\"subjects\":[\"orders.>\"],"
	    "\"token\":{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},\"keys\":[\"k1\"]}]}");
	path = tpath("policy.json");
	p = auth_policy_load(path, &cause);
	CHECK(p != NULL);
	if (p != NULL) {
		vf = auth_verifier_new(p);
		v = judge(vf, tok);
		CHECK(auth_verdict_pass(v));
		CHECK(auth_verdict_keyset(v, &fp, &json) == 0 && fp == NULL);
		CHECK(auth_policy_keyset(p, NULL, NULL) == 1);
		auth_verdict_free(v);
		auth_verifier_free(vf);
	}
	auth_policy_free(p);
	free(cause);
	free(path);
	free(tok);
	unit_tmp_remove();
}

int
main(void)
{
	auth_library_init();
	UNIT_RUN(test_remote_sets);
	UNIT_RUN(test_fixed_keys);
	UNIT_DONE();
}
