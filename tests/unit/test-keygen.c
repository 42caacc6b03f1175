/*
 * tests/unit/test-keygen.c -- fresh key pairs (auth_keygen) through the
 * whole engine.
 *
 * One key pair of every kind the demo can make is generated; the public
 * PEMs are written into a temporary folder beside a policy with a rule per
 * key, and the policy must load them with the right types.  Each private
 * PEM then signs: auth_sign() and a hand-made token that auth_verify()
 * passes, and auth_mint() for every algorithm that fits the key, which
 * must pass too -- and fail with bad_signature when signed by another
 * fresh key of the same kind.  Fresh keys must differ from one another,
 * and a secret is refused.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth-int.h"
#include "unit.h"
#include "unit-tmp.h"

#define NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define EVENT	"{\"eventID\":\"e-1\",\"amount\":12.50}"

/* One kind of key and what it must sign with. */
struct gkey {
	const char		*name;		/* file base name and rule name */
	enum auth_key_type	 type;
	const char		*type_text;	/* what the keyring calls it */
	const char		*algs;		/* JSON list members */
	const char		*sign_algs[3];	/* algorithms to mint with */
	char			*priv, *pub;
	char			*other;		/* another key of the kind (private) */
};

static struct gkey gkeys[] = {
	{ "rsa", AUTH_KEY_RSA, "RSA-2048", "\"RS256\",\"PS256\",\"RS512\"",
	    { "RS256", "PS256", "RS512" }, NULL, NULL, NULL },
	{ "p256", AUTH_KEY_EC_P256, "EC P-256", "\"ES256\"", { "ES256" }, NULL, NULL, NULL },
	{ "p384", AUTH_KEY_EC_P384, "EC P-384", "\"ES384\"", { "ES384" }, NULL, NULL, NULL },
	{ "p521", AUTH_KEY_EC_P521, "EC P-521", "\"ES512\"", { "ES512" }, NULL, NULL, NULL },
	{ "ed", AUTH_KEY_ED25519, "Ed25519", "\"EdDSA\"", { "EdDSA" }, NULL, NULL, NULL },
};
#define NGKEYS	(sizeof gkeys / sizeof gkeys[0])

static struct auth_policy	*policy;
static struct auth_verifier	*vf;

/* Generate every key, write the policy and load it. */
static void
setup(void)
{
	FILE	*f;
	char	*text = NULL, *name, *cause = NULL, *path, *other_pub;
	size_t	 len = 0, i;

	unit_tmp_make("zt-keygen");
	f = open_memstream(&text, &len);
	fputs("{\"keys\":{", f);
	for (i = 0; i < NGKEYS; i++) {
		struct gkey	*g = &gkeys[i];

		if (auth_keygen(g->type, &g->priv, &g->pub, &cause) != 0 ||
		    auth_keygen(g->type, &g->other, &other_pub, &cause) != 0) {
			fprintf(stderr, "keygen %s: %s\n", g->name, cause);
			exit(2);
		}
		free(other_pub);
		name = auth_printf("%s.pub.pem", g->name);
		write_text(name, g->pub);
		free(name);
		fprintf(f, "%s\"%s\":{\"pem_file\":\"%s.pub.pem\"}", i ? "," : "", g->name,
		    g->name);
	}
	fputs("},\"rules\":[", f);
	for (i = 0; i < NGKEYS; i++)
		fprintf(f, "%s{\"name\":\"%s\",\"subjects\":[\"%s.>\"],"
		    "\"token\":{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},"
		    "\"keys\":[\"%s\"],\"algorithms\":[%s],\"issuer\":\"https://issuer.test\","
		    "\"bind\":[{\"claim\":\"event_id\",\"equals\":\"/eventID\"},"
		    "{\"claim\":\"payload_hash\",\"hash\":\"sha256\"}]}", i ? "," : "",
		    gkeys[i].name, gkeys[i].name, gkeys[i].name, gkeys[i].algs);
	fputs("]}\n", f);
	fclose(f);
	write_text("policy.json", text);
	free(text);
	path = tpath("policy.json");
	if ((policy = auth_policy_load(path, &cause)) == NULL) {
		fprintf(stderr, "policy: %s\n", cause);
		exit(2);
	}
	free(path);
	vf = auth_verifier_new(policy);
}

/* Free everything and remove the temporary folder. */
static void
teardown(void)
{
	size_t	i;

	auth_verifier_free(vf);
	auth_policy_free(policy);
	for (i = 0; i < NGKEYS; i++) {
		free(gkeys[i].priv);
		free(gkeys[i].pub);
		free(gkeys[i].other);
	}
	unit_tmp_remove();
}

/* Judge a bearer message; returns the verdict (caller frees). */
static struct auth_verdict *
judge(const char *subject, const char *token, const char *body)
{
	struct auth_header	 h;
	struct auth_msg		 msg;
	char			*value = auth_printf("Bearer %s", token);
	struct auth_verdict	*v;

	h.name = "Authorization";
	h.value = value;
	memset(&msg, 0, sizeof msg);
	msg.subject = subject;
	msg.headers = &h;
	msg.nheaders = 1;
	msg.body = (const unsigned char *)body;
	msg.body_len = strlen(body);
	v = auth_verify(vf, &msg, NOW);
	free(value);
	return v;
}

/* The PEMs have the shapes other tools expect, and keys are fresh. */
static void
test_pem_shapes(void)
{
	char	*priv = NULL, *pub = NULL, *cause = NULL;
	size_t	 i;

	for (i = 0; i < NGKEYS; i++) {
		CHECK(strncmp(gkeys[i].priv, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
		CHECK(strncmp(gkeys[i].pub, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
		CHECK(strstr(gkeys[i].priv, "ENCRYPTED") == NULL);
		CHECK(strcmp(gkeys[i].priv, gkeys[i].other) != 0);
	}
	CHECK(auth_keygen(AUTH_KEY_OCT, &priv, &pub, &cause) == -1);
	CHECK(priv == NULL && pub == NULL);
	CHECK(cause != NULL && strstr(cause, "secret") != NULL);
	free(cause);
	cause = NULL;
	CHECK(auth_keygen((enum auth_key_type)99, &priv, &pub, &cause) == -1);
	CHECK(cause != NULL && priv == NULL && pub == NULL);
	free(cause);
}

/* The policy loads every public key with its type. */
static void
test_keyring_types(void)
{
	struct auth_key_info	info;
	size_t			i, j;
	int			found;

	CHECK(auth_policy_key_count(policy) == NGKEYS);
	for (i = 0; i < NGKEYS; i++) {
		found = 0;
		for (j = 0; j < auth_policy_key_count(policy); j++) {
			auth_policy_key_info(policy, j, &info);
			if (strcmp(info.name, gkeys[i].name) == 0) {
				CHECK_STR(info.type, gkeys[i].type_text);
				CHECK(strncmp(info.fingerprint, "SHA256:", 7) == 0);
				found = 1;
			}
		}
		CHECK(found);
	}
}

/* auth_sign over a hand-made signing input verifies. */
static void
test_sign_verify(void)
{
	unsigned char		 digest[32], *sig;
	char			*hex, *hdr, *claims, *h64, *c64, *input, *s64, *token, *cause;
	char			 subject[64];
	struct auth_verdict	*v;
	size_t			 i, sig_len;

	auth_sha256(EVENT, strlen(EVENT), digest);
	hex = auth_hex(digest, sizeof digest);
	for (i = 0; i < NGKEYS; i++) {
		const char	*alg = gkeys[i].sign_algs[0];

		cause = NULL;
		hdr = auth_printf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
		claims = auth_printf("{\"iss\":\"https://issuer.test\",\"exp\":%lld,"
		    "\"event_id\":\"e-1\",\"payload_hash\":\"%s\"}", (long long)NOW + 300, hex);
		h64 = auth_b64url_encode((const unsigned char *)hdr, strlen(hdr));
		c64 = auth_b64url_encode((const unsigned char *)claims, strlen(claims));
		input = auth_printf("%s.%s", h64, c64);
		sig = auth_sign(auth_alg_from_name(alg), (const unsigned char *)gkeys[i].priv,
		    strlen(gkeys[i].priv), (const unsigned char *)input, strlen(input),
		    &sig_len, &cause);
		CHECK(sig != NULL);
		if (sig == NULL) {
			fprintf(stderr, "  %s: %s\n", alg, cause);
			free(cause);
		} else {
			s64 = auth_b64url_encode(sig, sig_len);
			token = auth_printf("%s.%s", input, s64);
			snprintf(subject, sizeof subject, "%s.signed", gkeys[i].name);
			v = judge(subject, token, EVENT);
			CHECK(auth_verdict_pass(v));
			if (!auth_verdict_pass(v))
				fprintf(stderr, "  %s: %s\n", alg,
				    auth_reason_name(auth_verdict_reason(v)));
			auth_verdict_free(v);
			free(s64);
			free(token);
		}
		free(sig);
		free(input);
		free(c64);
		free(h64);
		free(claims);
		free(hdr);
	}
	free(hex);
}

/* Mint with key (private PEM) on the key's rule; returns the verdict. */
static struct auth_verdict *
mint_judge(const struct gkey *g, const char *key, const char *alg)
{
	struct auth_mint_opts	 o;
	struct auth_minted	 mt;
	struct auth_verdict	*v = NULL;
	char			*cause = NULL, subject[64];

	memset(&o, 0, sizeof o);
	o.key = (const unsigned char *)key;
	o.key_len = strlen(key);
	o.alg = alg;
	o.now = NOW;
	memset(&mt, 0, sizeof mt);
	snprintf(subject, sizeof subject, "%s.minted", g->name);
	if (auth_mint(policy, subject, (const unsigned char *)EVENT, strlen(EVENT), &o, &mt,
	    &cause) != 0) {
		fprintf(stderr, "  mint %s %s: %s\n", g->name, alg, cause);
		free(cause);
	} else {
		v = auth_verify(vf, &mt.msg, NOW);
	}
	auth_minted_free(&mt);
	return v;
}

/* Minting with a fresh key passes; with another fresh key it does not. */
static void
test_mint_round_trip(void)
{
	struct auth_verdict	*v;
	size_t			 i, j;

	for (i = 0; i < NGKEYS; i++) {
		for (j = 0; j < 3 && gkeys[i].sign_algs[j] != NULL; j++) {
			v = mint_judge(&gkeys[i], gkeys[i].priv, gkeys[i].sign_algs[j]);
			CHECK(v != NULL && auth_verdict_pass(v));
			CHECK(v == NULL || strcmp(auth_verdict_alg(v), gkeys[i].sign_algs[j]) == 0);
			auth_verdict_free(v);
		}
		v = mint_judge(&gkeys[i], gkeys[i].other, gkeys[i].sign_algs[0]);
		CHECK(v != NULL && !auth_verdict_pass(v));
		CHECK(v == NULL || auth_verdict_reason(v) == AUTH_BAD_SIGNATURE);
		auth_verdict_free(v);
	}
}

int
main(void)
{
	setup();
	UNIT_RUN(test_pem_shapes);
	UNIT_RUN(test_keyring_types);
	UNIT_RUN(test_sign_verify);
	UNIT_RUN(test_mint_round_trip);
	teardown();
	UNIT_DONE();
}
