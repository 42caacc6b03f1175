/*
 * tests/unit/test-keyring.c -- the keyring: PEM, JWK, JWK Set and secrets.
 *
 * Keys are made fresh for every run (RSA-2048, P-256, P-384, P-521,
 * Ed25519) and written as PEM (SPKI, PKCS#1, a self-signed certificate)
 * and as JWK and JWK Set files into a temporary folder.  Each must load
 * with the right type and with a fingerprint computed here independently
 * (i2d_PUBKEY, SHA-256, base64url by EVP_EncodeBlock).  Then every kind of
 * bad entry must fail with a message starting with the entry's policy path
 * and naming the field, leave the keyring untouched and the OpenSSL error
 * queue empty, and no message may ever contain a secret.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth-int.h"
#include "unit.h"
#include "unit-tmp.h"

#define WHERE		"policy.json: keys.k"
#define SECRET		"s3cr3t-Value-0123456789"
/* python3: hashlib.pbkdf2_hmac('sha256', SECRET, salt, 20000)[:8].hex() */
#define SECRET_FP	"PBKDF2:311b4837e5e84ff1"
#define SEED_FP		"PBKDF2:966f84a945d9fc44"
#define UNSET_ENV	"ZTWATCH_TEST_KEYRING_UNSET"
#define SECRET_ENV	"ZTWATCH_TEST_KEYRING_SECRET"

/* A generated test key and what the keyring must say of it. */
struct tkey {
	const char	*file;		/* base name under keys/ */
	const char	*type_text;
	const char	*kid;
	const char	*alg;
	const char	*crv;		/* JWK crv, or NULL */
	size_t		 size;		/* EC coordinate bytes */
	EVP_PKEY	*pkey;
	char		*fp;		/* fingerprint computed here */
};

static struct tkey tkeys[] = {
	{ "rsa", "RSA-2048", "rsa-1", "RS256", NULL, 0, NULL, NULL },
	{ "p256", "EC P-256", "ec-256", "ES256", "P-256", 32, NULL, NULL },
	{ "p384", "EC P-384", "ec-384", "ES384", "P-384", 48, NULL, NULL },
	{ "p521", "EC P-521", "ec-521", "ES512", "P-521", 66, NULL, NULL },
	{ "ed25519", "Ed25519", "ed-1", "EdDSA", "Ed25519", 32, NULL, NULL },
};
#define NTKEYS (sizeof tkeys / sizeof tkeys[0])
#define T_RSA	(&tkeys[0])
#define T_P256	(&tkeys[1])
#define BIG	(1024 * 1024 + 1)	/* one byte over the cap */


/* ---- helpers ---------------------------------------------------------- */

/* A BIO writing to name in the temporary folder. */
static BIO *
open_bio(const char *name)
{
	char	*path = tpath(name);
	BIO	*bio = BIO_new_file(path, "w");

	if (bio == NULL) {
		perror(path);
		exit(2);
	}
	free(path);
	return bio;
}

/* base64url without padding, done with OpenSSL's own base64. */
static char *
b64url(const unsigned char *in, size_t len)
{
	char	*out = malloc(4 * ((len + 2) / 3) + 1), *p;

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return out;
}

/* "SHA256:" and base64url of SHA-256 of the SPKI DER of pkey. */
static char *
fp_of(EVP_PKEY *pkey)
{
	unsigned char	*der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 md_len;
	char		*b64, *fp;
	int		 n;

	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0 || EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(),
	    NULL) != 1)
		abort();
	OPENSSL_free(der);
	b64 = b64url(md, md_len);
	fp = auth_printf("SHA256:%s", b64);
	free(b64);
	return fp;
}

/* A new key pair of type ("RSA", "EC", "ED25519", "ED448"). */
static EVP_PKEY *
gen(const char *type, const char *curve, size_t bits)
{
	EVP_PKEY	*pkey;

	if (strcmp(type, "RSA") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
	else if (strcmp(type, "EC") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (pkey == NULL) {
		fprintf(stderr, "cannot make a %s key\n", type);
		exit(2);
	}
	return pkey;
}

/* Write the SubjectPublicKeyInfo PEM of pkey. */
static void
write_spki(const char *name, EVP_PKEY *pkey)
{
	BIO	*bio = open_bio(name);

	if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
		abort();
	BIO_free(bio);
}

/* Write the PKCS#1 "RSA PUBLIC KEY" PEM of an RSA pkey. */
static void
write_pkcs1(const char *name, EVP_PKEY *pkey)
{
	BIO		*bio = open_bio(name);
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_PublicKey(pkey, &der)) <= 0 ||
	    PEM_write_bio(bio, "RSA PUBLIC KEY", "", der, n) <= 0)
		abort();
	OPENSSL_free(der);
	BIO_free(bio);
}

/* Write the private key PEM of pkey (PKCS#8, or traditional with params). */
static void
write_private(const char *name, EVP_PKEY *pkey, int traditional)
{
	BIO	*bio = open_bio(name);
	int	 ok;

	if (traditional) {
		ok = PEM_write_bio_Parameters(bio, pkey) == 1 &&
		    PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL,
		    0, NULL, NULL) == 1;
	} else
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
		    NULL) == 1;
	if (!ok)
		abort();
	BIO_free(bio);
}

/* Write a self-signed certificate for pkey (an EC or RSA key). */
static void
write_cert(const char *name, EVP_PKEY *pkey)
{
	BIO		*bio = open_bio(name);
	X509		*x = X509_new();
	X509_NAME	*subject;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	subject = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ztwatch test", -1, -1, 0);
	X509_set_issuer_name(x, subject);
	if (X509_sign(x, pkey, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509(bio, x) != 1)
		abort();
	X509_free(x);
	BIO_free(bio);
}

/* Set member of jwk to base64url of bn, left-padded to size (0: minimal). */
static void
set_bn(json_t *jwk, const char *member, const BIGNUM *bn, size_t size)
{
	unsigned char	*buf;
	char		*s;

	if (size == 0)
		size = (size_t)BN_num_bytes(bn);
	buf = malloc(size);
	if (BN_bn2binpad(bn, buf, (int)size) < 0)
		abort();
	s = b64url(buf, size);
	json_object_set_new(jwk, member, json_string(s));
	free(s);
	free(buf);
}

/* Get BIGNUM parameter name of pkey. */
static BIGNUM *
get_bn(EVP_PKEY *pkey, const char *name)
{
	BIGNUM	*bn = NULL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		abort();
	return bn;
}

/* The public JWK of t (with kid and alg when with_meta), a new reference. */
static json_t *
jwk_of(const struct tkey *t, int with_meta)
{
	json_t		*jwk = json_object();
	BIGNUM		*a, *b;
	unsigned char	 raw[32];
	size_t		 len = sizeof raw;
	char		*s;

	if (EVP_PKEY_is_a(t->pkey, "RSA")) {
		a = get_bn(t->pkey, OSSL_PKEY_PARAM_RSA_N);
		b = get_bn(t->pkey, OSSL_PKEY_PARAM_RSA_E);
		json_object_set_new(jwk, "kty", json_string("RSA"));
		set_bn(jwk, "n", a, 0);
		set_bn(jwk, "e", b, 0);
		BN_free(a);
		BN_free(b);
	} else if (EVP_PKEY_is_a(t->pkey, "EC")) {
		a = get_bn(t->pkey, OSSL_PKEY_PARAM_EC_PUB_X);
		b = get_bn(t->pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
		json_object_set_new(jwk, "kty", json_string("EC"));
		json_object_set_new(jwk, "crv", json_string(t->crv));
		set_bn(jwk, "x", a, t->size);
		set_bn(jwk, "y", b, t->size);
		BN_free(a);
		BN_free(b);
	} else {
		if (EVP_PKEY_get_raw_public_key(t->pkey, raw, &len) != 1)
			abort();
		s = b64url(raw, len);
		json_object_set_new(jwk, "kty", json_string("OKP"));
		json_object_set_new(jwk, "crv", json_string(t->crv));
		json_object_set_new(jwk, "x", json_string(s));
		free(s);
	}
	if (with_meta) {
		json_object_set_new(jwk, "kid", json_string(t->kid));
		json_object_set_new(jwk, "alg", json_string(t->alg));
		json_object_set_new(jwk, "use", json_string("sig"));
	}
	return jwk;
}

/* Move the point of an EC JWK of T_P256 off the curve: y + 1. */
static void
set_off_curve(json_t *jwk)
{
	BIGNUM	*y = get_bn(T_P256->pkey, OSSL_PKEY_PARAM_EC_PUB_Y);

	BN_add_word(y, 1);
	set_bn(jwk, "y", y, T_P256->size);
	BN_free(y);
}

/* Write json (stolen) to name. */
static void
write_json(const char *name, json_t *json)
{
	char	*path = tpath(name);

	if (json_dump_file(json, path, JSON_COMPACT) != 0)
		abort();
	json_decref(json);
	free(path);
}

/* A JWK Set of the given JWKs (stolen), a new reference. */
static json_t *
jwks_of(json_t *a, json_t *b, json_t *c)
{
	json_t	*keys = json_array();

	json_array_append_new(keys, a);
	if (b != NULL)
		json_array_append_new(keys, b);
	if (c != NULL)
		json_array_append_new(keys, c);
	return json_pack("{s:o}", "keys", keys);
}

/* Load the entry in JSON text as key "k", relative to folder dir. */
static int
load(struct auth_keyring *kr, const char *text, const char *dir, char **cause)
{
	json_error_t	 je;
	json_t		*entry;
	int		 rc;

	if ((entry = json_loads(text, 0, &je)) == NULL) {
		fprintf(stderr, "bad test entry %s: %s\n", text, je.text);
		exit(2);
	}
	*cause = NULL;
	rc = auth_keyring_load_entry(kr, "k", entry, dir, WHERE, cause);
	json_decref(entry);
	return rc;
}

/* Load one entry that must give one key; NULL (reported) otherwise. */
static struct auth_key *
load_one(struct auth_keyring *kr, const char *text)
{
	char	*cause;
	size_t	 before = kr->nkeys;

	if (load(kr, text, tmpdir, &cause) != 0) {
		fprintf(stderr, "  entry %s failed: %s\n", text, cause);
		free(cause);
		return NULL;
	}
	if (kr->nkeys != before + 1) {
		fprintf(stderr, "  entry %s gave %zu keys\n", text,
		    kr->nkeys - before);
		return NULL;
	}
	return kr->keys[before];
}

/* Whether a message contains the secret in any spelling the test uses. */
static int
leaks_secret(const char *s)
{
	char	*b64 = b64url((const unsigned char *)SECRET, strlen(SECRET));
	int	 leak;

	leak = strstr(s, SECRET) != NULL || strstr(s, b64) != NULL ||
	    strstr(s, "s3cr3t") != NULL;
	free(b64);
	return leak;
}

/*
 * Whether the entry fails with a message that starts with the entry's
 * path and holds want (and want2), adding no key, leaking no secret and
 * leaving no OpenSSL error queued.
 */
static int
fails_with(const char *text, const char *want, const char *want2)
{
	struct auth_keyring	 kr;
	char			*cause = NULL;
	int			 rc, ok;

	auth_keyring_init(&kr);
	rc = load(&kr, text, tmpdir, &cause);
	ok = rc == -1 && cause != NULL &&
	    strncmp(cause, WHERE, strlen(WHERE)) == 0 &&
	    strstr(cause, want) != NULL &&
	    (want2 == NULL || strstr(cause, want2) != NULL) &&
	    kr.nkeys == 0 && !leaks_secret(cause) && ERR_peek_error() == 0;
	if (!ok) {
		fprintf(stderr, "  entry %s\n  gave rc %d \"%s\"\n  want \"%s\""
		    " \"%s\"\n", text, rc, cause ? cause : "(null)", want,
		    want2 ? want2 : "");
	}
	free(cause);
	auth_keyring_release(&kr);
	return ok;
}

/* ---- fixtures --------------------------------------------------------- */

/* Make the keys and write every file the tests use. */
static void
setup(void)
{
	struct tkey	*t;
	EVP_PKEY	*pkey;
	json_t		*jwk;
	char		*name, *big;
	size_t		 i;

	unit_tmp_make("test-keyring");
	name = tpath("keys");
	mkdir(name, 0700);
	free(name);

	tkeys[0].pkey = gen("RSA", NULL, 2048);
	tkeys[1].pkey = gen("EC", "P-256", 0);
	tkeys[2].pkey = gen("EC", "P-384", 0);
	tkeys[3].pkey = gen("EC", "P-521", 0);
	tkeys[4].pkey = gen("ED25519", NULL, 0);
	for (i = 0; i < NTKEYS; i++) {
		t = &tkeys[i];
		t->fp = fp_of(t->pkey);
		name = auth_printf("keys/%s.pem", t->file);
		write_spki(name, t->pkey);
		free(name);
		name = auth_printf("keys/%s.jwk.json", t->file);
		write_json(name, jwk_of(t, 1));
		free(name);
		name = auth_printf("keys/%s.bare.jwk.json", t->file);
		write_json(name, jwk_of(t, 0));
		free(name);
	}
	write_pkcs1("keys/rsa.pkcs1.pem", T_RSA->pkey);
	write_cert("keys/p256.cert.pem", T_P256->pkey);
	write_json("keys/all.jwks.json", json_pack("{s:[o,o,o,o,o]}", "keys",
	    jwk_of(&tkeys[0], 1), jwk_of(&tkeys[1], 1), jwk_of(&tkeys[2], 1),
	    jwk_of(&tkeys[3], 1), jwk_of(&tkeys[4], 1)));

	write_private("keys/rsa.key.pem", T_RSA->pkey, 0);
	write_private("keys/p256.key.pem", T_P256->pkey, 1);

	pkey = gen("RSA", NULL, 1024);
	write_spki("keys/rsa1024.pem", pkey);
	EVP_PKEY_free(pkey);
	pkey = gen("EC", "secp256k1", 0);
	write_spki("keys/k256.pem", pkey);
	EVP_PKEY_free(pkey);
	pkey = gen("ED448", NULL, 0);
	write_spki("keys/ed448.pem", pkey);
	EVP_PKEY_free(pkey);
	pkey = gen("X25519", NULL, 0);
	write_spki("keys/x25519.pem", pkey);
	EVP_PKEY_free(pkey);

	big = malloc(BIG);
	memset(big, 'A', BIG);
	write_file("keys/big.pem", big, BIG);
	free(big);
	write_text("keys/garbage.pem", "this is not a key\n");
	write_text("keys/broken.pem", "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n");

	/* bad JWKs */
	jwk = jwk_of(T_RSA, 0);
	json_object_set_new(jwk, "n", json_string("ab+c"));
	write_json("keys/bad-n.jwk.json", jwk);
	jwk = jwk_of(T_RSA, 0);
	json_object_set_new(jwk, "n", json_string("AQAB="));
	write_json("keys/padded-n.jwk.json", jwk);
	jwk = jwk_of(T_P256, 0);
	set_off_curve(jwk);
	write_json("keys/offcurve.jwk.json", jwk);
	jwk = jwk_of(T_P256, 0);
	json_object_set_new(jwk, "d", json_string("AAAA"));
	write_json("keys/private.jwk.json", jwk);
	jwk = jwk_of(T_P256, 0);
	json_object_set_new(jwk, "x", json_string("AAAA"));
	write_json("keys/shortx.jwk.json", jwk);
	jwk = jwk_of(T_P256, 0);
	json_object_set_new(jwk, "crv", json_string("P-192"));
	write_json("keys/p192.jwk.json", jwk);
	jwk = jwk_of(&tkeys[4], 0);
	json_object_set_new(jwk, "crv", json_string("Ed448"));
	write_json("keys/ed448.jwk.json", jwk);
	jwk = jwk_of(T_RSA, 0);
	json_object_set_new(jwk, "alg", json_string("ES256"));
	write_json("keys/misfit.jwk.json", jwk);
	jwk = jwk_of(T_RSA, 0);
	json_object_set_new(jwk, "e", json_integer(65537));
	write_json("keys/int-e.jwk.json", jwk);
	jwk = jwk_of(T_RSA, 0);
	json_object_del(jwk, "kty");
	write_json("keys/nokty.jwk.json", jwk);

	/* bad JWK Sets */
	jwk = json_object();
	json_object_set_new(jwk, "kty", json_string("foo"));
	write_json("keys/foo.jwks.json", jwks_of(jwk_of(T_RSA, 1),
	    jwk_of(T_P256, 1), jwk));
	jwk = jwk_of(T_P256, 1);
	json_object_set_new(jwk, "kid", json_string(T_RSA->kid));
	write_json("keys/dup.jwks.json", jwks_of(jwk_of(T_RSA, 1), jwk, NULL));
	write_json("keys/bare.jwks.json", jwks_of(jwk_of(T_P256, 0),
	    jwk_of(T_P256, 0), NULL));
	write_text("keys/empty.jwks.json", "{\"keys\": []}");
	write_text("keys/nokeys.jwks.json", "{\"other\": 1}");
	write_text("keys/dupmember.jwks.json", "{\"keys\": [], \"keys\": []}");

	/* secrets */
	write_text("keys/secret.txt", SECRET "\r\n");
	write_text("keys/two-newlines.txt", SECRET "\n\n");
	write_text("keys/empty.secret", "\n");
	name = b64url((const unsigned char *)SECRET, strlen(SECRET));
	write_json("keys/oct.jwk.json", json_pack("{s:s,s:s,s:s}", "kty", "oct",
	    "k", name, "kid", "hs"));
	free(name);
	/* jansson quotes a bad token of up to 20 characters in its errors */
	write_text("keys/leak.jwk.json", "{\"kty\": \"oct\", \"k\": "
	    "\"s3cr3t-short");
	write_text("keys/leak2.jwk.json", "{\"kty\": \"oct\", \"k\": "
	    "\"s3cr3t-short\\q\"}");
	write_text("keys/leak3.jwk.json", "{\"kty\": \"oct\", \"k\": \"" SECRET
	    "!\"}");
}

/* Free the keys and remove the temporary folder. */
static void
teardown(void)
{
	size_t	i;

	for (i = 0; i < NTKEYS; i++) {
		EVP_PKEY_free(tkeys[i].pkey);
		free(tkeys[i].fp);
	}
	unit_tmp_remove();
}

/* ---- tests ------------------------------------------------------------ */

/* SPKI PEM files load with the right type and fingerprint. */
static void
test_pem_spki(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;
	char			*entry, *source;
	size_t			 i;

	auth_keyring_init(&kr);
	for (i = 0; i < NTKEYS; i++) {
		entry = auth_printf("{\"pem_file\": \"keys/%s.pem\"}",
		    tkeys[i].file);
		key = load_one(&kr, entry);
		CHECK(key != NULL);
		if (key != NULL) {
			source = auth_printf("pem_file %s/keys/%s.pem", tmpdir,
			    tkeys[i].file);
			CHECK_STR(key->type_text, tkeys[i].type_text);
			CHECK_STR(key->fingerprint, tkeys[i].fp);
			CHECK_STR(key->source, source);
			CHECK_STR(key->name, "k");
			CHECK(key->kid == NULL && key->use == NULL);
			CHECK(key->issuer == NULL && key->alg == -1);
			CHECK(key->pkey != NULL && key->secret == NULL);
			CHECK(key->index == i);
			free(source);
		}
		free(entry);
	}
	CHECK(kr.nkeys == NTKEYS);
	CHECK(kr.keys[1]->type == AUTH_KEY_EC_P256);
	CHECK(kr.keys[2]->type == AUTH_KEY_EC_P384);
	CHECK(kr.keys[3]->type == AUTH_KEY_EC_P521);
	CHECK(kr.keys[4]->type == AUTH_KEY_ED25519);
	CHECK(kr.keys[0]->type == AUTH_KEY_RSA);
	auth_keyring_release(&kr);
	CHECK(kr.nkeys == 0 && kr.keys == NULL);
}

/* PKCS#1 and certificate PEM give the same key as SPKI. */
static void
test_pem_pkcs1_cert(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;

	auth_keyring_init(&kr);
	key = load_one(&kr, "{\"pem_file\": \"keys/rsa.pkcs1.pem\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->type_text, "RSA-2048");
		CHECK_STR(key->fingerprint, T_RSA->fp);
	}
	key = load_one(&kr, "{\"pem_file\": \"keys/p256.cert.pem\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->type_text, "EC P-256");
		CHECK_STR(key->fingerprint, T_P256->fp);
		CHECK(key->index == 1);
	}
	auth_keyring_release(&kr);
}

/* A key made by the openssl command matches its fingerprint there. */
static void
test_pem_openssl_vector(void)
{
	/* openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary */
	static const char	 pem[] =
	    "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEAhlZxNGPV/xmH0GGiDWZeQJt+Wf8eQlFdnIG7ze3249M=\n"
	    "-----END PUBLIC KEY-----\n";
	struct auth_key		*key;
	char			*cause = NULL;

	key = auth_key_from_pem((const unsigned char *)pem, sizeof pem - 1,
	    &cause);
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->fingerprint,
		    "SHA256:juZgosl5ALPjHaonj1ptyp69sSyrvOq0uaUPZOZ-7Oc");
		CHECK_STR(key->type_text, "Ed25519");
	}
	auth_key_free(key);
	free(cause);
	CHECK(ERR_peek_error() == 0);
}

/* The RFC 8037 Ed25519 JWK gives the fingerprint of its SPKI. */
static void
test_jwk_rfc8037(void)
{
	json_t		*jwk;
	struct auth_key	*key;
	char		*cause = NULL;

	jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	    "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
	key = auth_key_from_jwk(jwk, &cause);
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->fingerprint,
		    "SHA256:BuP9j9opu2CrWVV95h7bCuzbIxE0vjDnW0Vfjht5L6k");
		CHECK(key->kid == NULL && key->alg == -1);
	}
	auth_key_free(key);
	free(cause);
	json_decref(jwk);
}

/* JWK files load with kid, alg and use, and match the PEM fingerprints. */
static void
test_jwk_file(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;
	char			*entry, *source;
	size_t			 i;

	auth_keyring_init(&kr);
	for (i = 0; i < NTKEYS; i++) {
		entry = auth_printf("{\"jwk_file\": \"keys/%s.jwk.json\"}",
		    tkeys[i].file);
		key = load_one(&kr, entry);
		CHECK(key != NULL);
		if (key != NULL) {
			source = auth_printf("jwk_file %s/keys/%s.jwk.json",
			    tmpdir, tkeys[i].file);
			CHECK_STR(key->type_text, tkeys[i].type_text);
			CHECK_STR(key->fingerprint, tkeys[i].fp);
			CHECK_STR(key->kid, tkeys[i].kid);
			CHECK_STR(auth_alg_name(key->alg), tkeys[i].alg);
			CHECK_STR(key->use, "sig");
			CHECK_STR(key->source, source);
			free(source);
		}
		free(entry);
	}
	auth_keyring_release(&kr);
}

/* A JWK Set gives one key per JWK, all under the entry's name. */
static void
test_jwks_file(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;
	char			*cause = NULL, *source;
	size_t			 i;

	auth_keyring_init(&kr);
	CHECK(load_one(&kr, "{\"secret\": \"first\"}") != NULL);
	CHECK(load(&kr, "{\"jwks_file\": \"keys/all.jwks.json\", "
	    "\"issuer\": \"https://idsvr\"}", tmpdir, &cause) == 0);
	CHECK(cause == NULL);
	CHECK(kr.nkeys == 1 + NTKEYS);
	for (i = 0; i < NTKEYS && i + 1 < kr.nkeys; i++) {
		key = kr.keys[i + 1];
		source = auth_printf("jwks_file %s/keys/all.jwks.json kid=%s",
		    tmpdir, tkeys[i].kid);
		CHECK(key->index == i + 1);
		CHECK_STR(key->name, "k");
		CHECK_STR(key->kid, tkeys[i].kid);
		CHECK_STR(key->fingerprint, tkeys[i].fp);
		CHECK_STR(key->type_text, tkeys[i].type_text);
		CHECK_STR(key->issuer, "https://idsvr");
		CHECK_STR(key->source, source);
		free(source);
	}
	free(cause);
	auth_keyring_release(&kr);

	/* JWKs without kid are allowed, and shown by position */
	auth_keyring_init(&kr);
	cause = NULL;
	CHECK(load(&kr, "{\"jwks_file\": \"keys/bare.jwks.json\", "
	    "\"alg\": \"ES256\"}", tmpdir, &cause) == 0);
	CHECK(kr.nkeys == 2);
	if (kr.nkeys == 2) {
		source = auth_printf("jwks_file %s/keys/bare.jwks.json keys[1]",
		    tmpdir);
		CHECK_STR(kr.keys[1]->source, source);
		CHECK(kr.keys[0]->kid == NULL && kr.keys[1]->kid == NULL);
		CHECK(kr.keys[1]->alg == AUTH_ALG_ES256);
		free(source);
	}
	free(cause);
	auth_keyring_release(&kr);
}

/* Absolute paths are taken as they are; relative ones need dir. */
static void
test_paths(void)
{
	struct auth_keyring	 kr;
	char			*entry, *cause = NULL, *want;

	auth_keyring_init(&kr);
	entry = auth_printf("{\"pem_file\": \"%s/keys/rsa.pem\"}", tmpdir);
	CHECK(load(&kr, entry, "/nonexistent", &cause) == 0);
	CHECK(kr.nkeys == 1);
	free(entry);
	free(cause);
	cause = NULL;

	entry = auth_printf("%s/", tmpdir);
	CHECK(load(&kr, "{\"pem_file\": \"keys/p256.pem\"}", entry,
	    &cause) == 0);
	want = auth_printf("pem_file %s/keys/p256.pem", tmpdir);
	if (kr.nkeys == 2)
		CHECK_STR(kr.keys[1]->source, want);
	free(want);
	free(entry);
	free(cause);
	cause = NULL;

	CHECK(load(&kr, "{\"pem_file\": \"keys/rsa.pem\"}", "/nonexistent",
	    &cause) == -1);
	CHECK(cause != NULL && strstr(cause, WHERE ".pem_file: cannot read "
	    "'/nonexistent/keys/rsa.pem'") != NULL);
	CHECK(kr.nkeys == 2);
	free(cause);
	auth_keyring_release(&kr);
}

/* Secrets from a literal, a file, the environment and an oct JWK. */
static void
test_secrets(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;
	char			*want;
	size_t			 i;

	auth_keyring_init(&kr);
	setenv(SECRET_ENV, SECRET, 1);
	key = load_one(&kr, "{\"secret\": \"" SECRET "\", \"alg\": \"HS256\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->source, "secret (literal)");
		CHECK(key->alg == AUTH_ALG_HS256);
	}
	key = load_one(&kr, "{\"secret_file\": \"keys/secret.txt\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		want = auth_printf("secret_file %s/keys/secret.txt", tmpdir);
		CHECK_STR(key->source, want);
		free(want);
	}
	key = load_one(&kr, "{\"secret_env\": \"" SECRET_ENV "\"}");
	CHECK(key != NULL);
	if (key != NULL)
		CHECK_STR(key->source, "secret_env " SECRET_ENV);
	key = load_one(&kr, "{\"jwk_file\": \"keys/oct.jwk.json\"}");
	CHECK(key != NULL);
	if (key != NULL)
		CHECK_STR(key->kid, "hs");
	CHECK(kr.nkeys == 4);
	for (i = 0; i < kr.nkeys; i++) {
		key = kr.keys[i];
		CHECK(key->type == AUTH_KEY_OCT && key->pkey == NULL);
		CHECK(key->secret_len == strlen(SECRET));
		CHECK(memcmp(key->secret, SECRET, strlen(SECRET)) == 0);
		CHECK_STR(key->type_text, "oct");
		CHECK_STR(key->fingerprint, SECRET_FP);
		CHECK(!leaks_secret(key->source));
		CHECK(!leaks_secret(key->fingerprint));
	}

	/* only one newline goes */
	key = load_one(&kr, "{\"secret_file\": \"keys/two-newlines.txt\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK(key->secret_len == strlen(SECRET) + 1);
		CHECK(key->fingerprint != NULL &&
		    strcmp(key->fingerprint, SECRET_FP) != 0);
	}
	key = load_one(&kr, "{\"secret\": \"random-asdfghjkl\"}");
	CHECK(key != NULL);
	if (key != NULL)
		CHECK_STR(key->fingerprint, SEED_FP);
	unsetenv(SECRET_ENV);
	auth_keyring_release(&kr);
}

/* Entry options: alg pins, kid and use set, issuer kept. */
static void
test_options(void)
{
	struct auth_keyring	 kr;
	struct auth_key		*key;

	auth_keyring_init(&kr);
	key = load_one(&kr, "{\"pem_file\": \"keys/rsa.pem\", \"alg\": "
	    "\"PS256\", \"kid\": \"orders-1\", \"use\": \"sig\", "
	    "\"issuer\": \"https://orders\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK(key->alg == AUTH_ALG_PS256);
		CHECK_STR(key->kid, "orders-1");
		CHECK_STR(key->use, "sig");
		CHECK_STR(key->issuer, "https://orders");
	}
	key = load_one(&kr, "{\"jwk_file\": \"keys/p256.jwk.json\", "
	    "\"kid\": \"renamed\", \"alg\": \"ES256\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK_STR(key->kid, "renamed");
		CHECK(key->alg == AUTH_ALG_ES256);
	}
	key = load_one(&kr, "{\"jwk_file\": \"keys/ed25519.bare.jwk.json\", "
	    "\"alg\": \"EdDSA\"}");
	CHECK(key != NULL);
	if (key != NULL) {
		CHECK(key->kid == NULL);
		CHECK(key->alg == AUTH_ALG_EDDSA);
	}
	auth_keyring_release(&kr);
}

/* Bad entries, bad sources, bad options. */
static void
test_errors_entry(void)
{
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"colour\": 1}",
	    WHERE ": unknown field 'colour'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", "
	    "\"secret\": \"" SECRET "\"}", WHERE ": two key sources",
	    "'pem_file' and 'secret'"));
	CHECK(fails_with("{\"alg\": \"RS256\"}", WHERE ": no key source",
	    NULL));
	CHECK(fails_with("{}", WHERE ": no key source", NULL));
	CHECK(fails_with("[]", WHERE ": not a JSON object", NULL));
	CHECK(fails_with("{\"pem_file\": 3}", WHERE ".pem_file: not a string",
	    NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"alg\": 256}",
	    WHERE ".alg: not a string", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"kid\": null}",
	    WHERE ".kid: not a string", NULL));
	CHECK(fails_with("{\"pem_file\": \"\"}", WHERE ".pem_file: empty path",
	    NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/all.jwks.json\", \"kid\": "
	    "\"x\"}", WHERE ".kid: not allowed with jwks_file", NULL));
}

/* alg must be known, exact, and fit the key. */
static void
test_errors_alg(void)
{
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"alg\": \"RS257\"}",
	    WHERE ".alg: unknown algorithm 'RS257'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"alg\": \"rs256\"}",
	    WHERE ".alg: unknown algorithm 'rs256'", NULL));
	CHECK(fails_with("{\"secret\": \"" SECRET "\", \"alg\": \"none\"}",
	    WHERE ".alg: unknown algorithm 'none'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"alg\": \"ES256\"}",
	    WHERE ".alg: algorithm 'ES256' does not fit key type RSA-2048",
	    NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.pem\", \"alg\": \"HS256\"}",
	    WHERE ".alg: algorithm 'HS256' does not fit", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/p384.pem\", "
	    "\"alg\": \"ES256\"}",
	    WHERE ".alg: algorithm 'ES256' does not fit key type EC P-384",
	    NULL));
	CHECK(fails_with("{\"secret\": \"" SECRET "\", \"alg\": \"RS256\"}",
	    WHERE ".alg: algorithm 'RS256' does not fit key type oct", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/rsa.jwk.json\", \"alg\": "
	    "\"PS256\"}", WHERE ".alg: 'PS256' contradicts the key's own alg "
	    "'RS256'", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/rsa.jwk.json\", \"use\": "
	    "\"enc\"}", WHERE ".use: 'enc' contradicts", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/misfit.jwk.json\"}",
	    WHERE ".jwk_file: algorithm 'ES256' does not fit key type RSA-2048",
	    NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/all.jwks.json\", \"alg\": "
	    "\"RS256\"}", WHERE ".alg: keys[1]: 'RS256' contradicts", NULL));
}

/* PEM files that cannot be used. */
static void
test_errors_pem(void)
{
	char	*want;

	want = auth_printf(WHERE ".pem_file: cannot read '%s/keys/nope.pem': "
	    "No such file or directory", tmpdir);
	CHECK(fails_with("{\"pem_file\": \"keys/nope.pem\"}", want, NULL));
	free(want);
	CHECK(fails_with("{\"pem_file\": \"keys/garbage.pem\"}",
	    WHERE ".pem_file: no PEM data", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/broken.pem\"}",
	    WHERE ".pem_file: cannot decode the PUBLIC KEY block", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.key.pem\"}",
	    WHERE ".pem_file: this is a private key; give the public key "
	    "(openssl pkey -pubout)", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/p256.key.pem\"}",
	    WHERE ".pem_file: this is a private key", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa1024.pem\"}",
	    WHERE ".pem_file: RSA key of 1024 bits is too small "
	    "(2048 at least)", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/k256.pem\"}",
	    WHERE ".pem_file: unsupported EC curve 'secp256k1'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/ed448.pem\"}",
	    WHERE ".pem_file: unsupported key type 'ED448'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/x25519.pem\"}",
	    WHERE ".pem_file: unsupported key type 'X25519'", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/rsa.jwk.json\"}",
	    WHERE ".pem_file: no PEM data", NULL));
	CHECK(fails_with("{\"pem_file\": \"keys/big.pem\"}",
	    WHERE ".pem_file: ", "is larger than 1048576 bytes"));
}

/* JWK and JWK Set files that cannot be used. */
static void
test_errors_jwk(void)
{
	CHECK(fails_with("{\"jwk_file\": \"keys/bad-n.jwk.json\"}",
	    WHERE ".jwk_file: member 'n' is not valid base64url", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/padded-n.jwk.json\"}",
	    WHERE ".jwk_file: member 'n' is not valid base64url", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/int-e.jwk.json\"}",
	    WHERE ".jwk_file: member 'e' is not a string", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/nokty.jwk.json\"}",
	    WHERE ".jwk_file: missing member 'kty'", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/offcurve.jwk.json\"}",
	    WHERE ".jwk_file: the EC point is not on curve P-256", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/private.jwk.json\"}",
	    WHERE ".jwk_file: private key material in a verification key",
	    NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/shortx.jwk.json\"}",
	    WHERE ".jwk_file: member 'x' must be 32 bytes for P-256, not 3",
	    NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/p192.jwk.json\"}",
	    WHERE ".jwk_file: unsupported EC curve 'P-192'", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/ed448.jwk.json\"}",
	    WHERE ".jwk_file: unsupported OKP curve 'Ed448'", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/all.jwks.json\"}",
	    WHERE ".jwk_file: this is a JWK Set; use jwks_file", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/garbage.pem\"}",
	    WHERE ".jwk_file: invalid JSON at line 1", NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/foo.jwks.json\"}",
	    WHERE ".jwks_file: keys[2]: unsupported kty 'foo'", NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/dup.jwks.json\"}",
	    WHERE ".jwks_file: keys[1]: duplicate kid 'rsa-1' (also keys[0])",
	    NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/empty.jwks.json\"}",
	    WHERE ".jwks_file: member 'keys' is empty", NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/nokeys.jwks.json\"}",
	    WHERE ".jwks_file: missing member 'keys'", NULL));
	CHECK(fails_with("{\"jwks_file\": \"keys/dupmember.jwks.json\"}",
	    WHERE ".jwks_file: invalid JSON", "duplicate"));
	CHECK(fails_with("{\"jwks_file\": \"keys/rsa.jwk.json\"}",
	    WHERE ".jwks_file: missing member 'keys'", NULL));
}

/* Secrets that cannot be used, and no message ever shows one. */
static void
test_errors_secret(void)
{
	setenv(SECRET_ENV, SECRET, 1);
	unsetenv(UNSET_ENV);
	CHECK(fails_with("{\"secret_env\": \"" UNSET_ENV "\"}",
	    WHERE ".secret_env: environment variable " UNSET_ENV " is not set",
	    NULL));
	setenv(UNSET_ENV, "", 1);
	CHECK(fails_with("{\"secret_env\": \"" UNSET_ENV "\"}",
	    WHERE ".secret_env: environment variable " UNSET_ENV " is empty",
	    NULL));
	unsetenv(UNSET_ENV);
	CHECK(fails_with("{\"secret\": \"\"}", WHERE ".secret: the secret is "
	    "empty", NULL));
	CHECK(fails_with("{\"secret_file\": \"keys/empty.secret\"}",
	    WHERE ".secret_file: the secret in", "is empty"));
	CHECK(fails_with("{\"secret_env\": \"" SECRET_ENV "\", \"alg\": "
	    "\"ES256\"}", WHERE ".alg: algorithm 'ES256' does not fit key "
	    "type oct", NULL));
	CHECK(fails_with("{\"secret_file\": \"keys/secret.txt\", \"alg\": "
	    "\"EdDSA\"}", WHERE ".alg:", NULL));
	CHECK(fails_with("{\"secret\": \"" SECRET "\", \"what\": \"" SECRET
	    "\"}", WHERE ": unknown field 'what'", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/leak.jwk.json\"}",
	    WHERE ".jwk_file: invalid JSON", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/leak2.jwk.json\"}",
	    WHERE ".jwk_file: invalid JSON", NULL));
	CHECK(fails_with("{\"jwk_file\": \"keys/leak3.jwk.json\"}",
	    WHERE ".jwk_file: member 'k' is not valid base64url", NULL));
	unsetenv(SECRET_ENV);
}

/* A failing entry leaves the keyring as it was. */
static void
test_all_or_nothing(void)
{
	struct auth_keyring	 kr;
	char			*cause = NULL;

	auth_keyring_init(&kr);
	CHECK(load_one(&kr, "{\"pem_file\": \"keys/rsa.pem\"}") != NULL);
	CHECK(load(&kr, "{\"jwks_file\": \"keys/foo.jwks.json\"}", tmpdir,
	    &cause) == -1);
	CHECK(kr.nkeys == 1);
	free(cause);
	cause = NULL;
	CHECK(load(&kr, "{\"jwks_file\": \"keys/all.jwks.json\", "
	    "\"alg\": \"ES384\"}", tmpdir, &cause) == -1);
	CHECK(kr.nkeys == 1);
	free(cause);
	CHECK(load_one(&kr, "{\"pem_file\": \"keys/p256.pem\"}") != NULL);
	CHECK(kr.nkeys == 2 && kr.keys[1]->index == 1);
	auth_keyring_release(&kr);
}

/* The parsers called directly. */
static void
test_parsers(void)
{
	struct auth_key	*key;
	char		*cause = NULL;
	json_t		*jwk;

	key = auth_key_from_secret((const unsigned char *)"", 0, &cause);
	CHECK(key == NULL && cause != NULL);
	free(cause);
	cause = NULL;

	key = auth_key_from_pem((const unsigned char *)"", 0, &cause);
	CHECK(key == NULL && cause != NULL);
	free(cause);
	cause = NULL;

	jwk = json_string("not an object");
	key = auth_key_from_jwk(jwk, &cause);
	CHECK(key == NULL && cause != NULL);
	json_decref(jwk);
	free(cause);
	cause = NULL;

	/* x5c and key_ops are ignored */
	jwk = jwk_of(T_P256, 0);
	json_object_set_new(jwk, "x5c", json_pack("[s]", "MIIB"));
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "verify"));
	key = auth_key_from_jwk(jwk, &cause);
	CHECK(key != NULL);
	if (key != NULL)
		CHECK_STR(key->fingerprint, T_P256->fp);
	auth_key_free(key);
	json_decref(jwk);
	free(cause);
	auth_key_free(NULL);
	CHECK(ERR_peek_error() == 0);
}

int
main(void)
{
	setup();
	UNIT_RUN(test_pem_spki);
	UNIT_RUN(test_pem_pkcs1_cert);
	UNIT_RUN(test_pem_openssl_vector);
	UNIT_RUN(test_jwk_rfc8037);
	UNIT_RUN(test_jwk_file);
	UNIT_RUN(test_jwks_file);
	UNIT_RUN(test_paths);
	UNIT_RUN(test_secrets);
	UNIT_RUN(test_options);
	UNIT_RUN(test_errors_entry);
	UNIT_RUN(test_errors_alg);
	UNIT_RUN(test_errors_pem);
	UNIT_RUN(test_errors_jwk);
	UNIT_RUN(test_errors_secret);
	UNIT_RUN(test_all_or_nothing);
	UNIT_RUN(test_parsers);

	teardown();
	UNIT_DONE();
}
