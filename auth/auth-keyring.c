/*
 * auth/auth-keyring.c -- the keyring: PEM, JWK, JWK Set and secret keys.
 *
 * Every key the policy names is parsed here once, at load, into a struct
 * auth_key holding an EVP_PKEY (RSA of 2048 bits or more, EC on P-256,
 * P-384 or P-521, Ed25519) or an HMAC secret.  Anything else is refused
 * with a message naming the policy path and the problem, so a key that
 * could never verify a token stops start-up instead of failing later.
 *
 * A key is shown by its fingerprint: SHA-256 of the SubjectPublicKeyInfo
 * DER for public keys, which matches
 *   openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary
 * in base64url, and a slow PBKDF2 of the secret for secrets, which tells a
 * changed secret from an unchanged one without revealing it.  Secret bytes
 * never reach a message: errors about a secret say what is wrong, never
 * what it is, and JSON errors drop the text jansson quotes from the input.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth-int.h"

#define AUTH_KEY_FILE_MAX	(1024 * 1024)
#define AUTH_RSA_MIN_BITS	2048
#define AUTH_RSA_MAX_BITS	16384
#define AUTH_FP_SALT		"ztwatch-key-fingerprint-v1"
#define AUTH_FP_ITERATIONS	20000
#define AUTH_FP_SECRET_LEN	8
#define AUTH_EC_COORD_MAX	66		/* P-521 */

/* A curve ztwatch accepts. */
struct auth_curve {
	const char		*jwk;		/* JWK crv and display name */
	const char		*group;		/* OpenSSL group name */
	int			 nid;
	enum auth_key_type	 type;
	size_t			 size;		/* bytes of one coordinate */
};

static const struct auth_curve auth_curves[] = {
	{ "P-256", "prime256v1", NID_X9_62_prime256v1, AUTH_KEY_EC_P256, 32 },
	{ "P-384", "secp384r1", NID_secp384r1, AUTH_KEY_EC_P384, 48 },
	{ "P-521", "secp521r1", NID_secp521r1, AUTH_KEY_EC_P521, 66 },
};
#define AUTH_NCURVES (sizeof auth_curves / sizeof auth_curves[0])

/* JWK members that only a private key has. */
static const char *auth_jwk_private[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth"
};
#define AUTH_NJWK_PRIVATE (sizeof auth_jwk_private / sizeof auth_jwk_private[0])

/* One policy "keys" entry while it is being loaded. */
struct auth_entry {
	const char			*name;
	const char			*dir;
	const char			*where;
	const struct auth_source	*source;
	const char			*value;		/* source string */
	size_t				 value_len;
	const char			*alg_name;
	int				 alg;
	const char			*kid;
	const char			*issuer;
	const char			*use;
};

/* A source member and how to load it. */
struct auth_source {
	const char	*member;
	int		 (*load)(struct auth_entry *, struct auth_keyring *,
			     char **);
};

/* ---- keys ------------------------------------------------------------- */

/* A new, empty key. */
static struct auth_key *
auth_key_new(void)
{
	struct auth_key	*key = auth_calloc(1, sizeof *key);

	key->alg = -1;
	return key;
}

/* Free a key and everything it owns, wiping the secret first. */
void
auth_key_free(struct auth_key *key)
{
	if (key == NULL)
		return;
	if (key->secret != NULL) {
		OPENSSL_cleanse(key->secret, key->secret_len);
		free(key->secret);
	}
	EVP_PKEY_free(key->pkey);
	free(key->name);
	free(key->kid);
	free(key->use);
	free(key->issuer);
	free(key->type_text);
	free(key->source);
	free(key->fingerprint);
	free(key);
}

/* "SHA256:<base64url>" of the SubjectPublicKeyInfo DER, or NULL. */
static char *
auth_fingerprint_pkey(EVP_PKEY *pkey)
{
	unsigned char	*der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 md_len;
	char		*b64, *fp;
	int		 n, ok;

	if ((n = i2d_PUBKEY(pkey, &der)) <= 0)
		return NULL;
	ok = EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (ok != 1)
		return NULL;
	b64 = auth_b64url_encode(md, md_len);
	fp = auth_printf("SHA256:%s", b64);
	free(b64);
	return fp;
}

/* "PBKDF2:<hex>" of a secret, or NULL. */
static char *
auth_fingerprint_secret(const unsigned char *secret, size_t len)
{
	unsigned char	 out[AUTH_FP_SECRET_LEN];
	char		*hex, *fp;

	if (PKCS5_PBKDF2_HMAC((const char *)secret, (int)len,
	    (const unsigned char *)AUTH_FP_SALT, sizeof AUTH_FP_SALT - 1,
	    AUTH_FP_ITERATIONS, EVP_sha256(), sizeof out, out) != 1)
		return NULL;
	hex = auth_hex(out, sizeof out);
	fp = auth_printf("PBKDF2:%s", hex);
	free(hex);
	return fp;
}

/*
 * What key text the secret is, or NULL: PEM armour, or a JWK (a JSON
 * object naming "kty").  A public key's text as an HMAC secret is the key
 * confusion attack set up by the policy itself: anyone holding the public
 * key could then sign.
 */
static const char *
auth_secret_key_text(const unsigned char *secret, size_t len)
{
	if (memmem(secret, len, "-----BEGIN ", 11) != NULL)
		return "PEM";
	if (memchr(secret, '{', len) != NULL && memmem(secret, len, "\"kty\"", 5) != NULL)
		return "JWK";
	return NULL;
}

/* A secret key from raw bytes. */
struct auth_key *
auth_key_from_secret(const unsigned char *secret, size_t len, char **cause)
{
	struct auth_key	*key;
	const char	*text;

	if (len == 0) {
		*cause = auth_strdup("the secret is empty");
		return NULL;
	}
	if (len > INT_MAX) {
		*cause = auth_strdup("the secret is too long");
		return NULL;
	}
	if ((text = auth_secret_key_text(secret, len)) != NULL) {
		*cause = auth_printf("the secret is %s key text; an HMAC secret that is a key's"
		    " text lets whoever has that key sign (key confusion): use a random secret",
		    text);
		return NULL;
	}
	key = auth_key_new();
	key->type = AUTH_KEY_OCT;
	key->type_text = auth_strdup("oct");
	key->secret = auth_malloc(len);
	memcpy(key->secret, secret, len);
	key->secret_len = len;
	key->fingerprint = auth_fingerprint_secret(secret, len);
	ERR_clear_error();
	if (key->fingerprint == NULL) {
		*cause = auth_strdup("cannot fingerprint the secret");
		auth_key_free(key);
		return NULL;
	}
	return key;
}

/* Curve for a NID, or NULL. */
static const struct auth_curve *
auth_curve_by_nid(int nid)
{
	size_t	i;

	for (i = 0; i < AUTH_NCURVES; i++) {
		if (auth_curves[i].nid == nid)
			return &auth_curves[i];
	}
	return NULL;
}

/* Curve for a JWK crv, or NULL. */
static const struct auth_curve *
auth_curve_by_jwk(const char *crv)
{
	size_t	i;

	for (i = 0; i < AUTH_NCURVES; i++) {
		if (strcmp(auth_curves[i].jwk, crv) == 0)
			return &auth_curves[i];
	}
	return NULL;
}

/* Check an RSA key's size. */
static int
auth_classify_rsa(struct auth_key *key, char **cause)
{
	int	bits = EVP_PKEY_get_bits(key->pkey);

	if (bits < AUTH_RSA_MIN_BITS) {
		*cause = auth_printf("RSA key of %d bits is too small "
		    "(%d at least)", bits, AUTH_RSA_MIN_BITS);
		return -1;
	}
	if (bits > AUTH_RSA_MAX_BITS) {
		*cause = auth_printf("RSA key of %d bits is too large "
		    "(%d at most)", bits, AUTH_RSA_MAX_BITS);
		return -1;
	}
	key->type = AUTH_KEY_RSA;
	key->type_text = auth_printf("RSA-%d", bits);
	return 0;
}

/* Check an EC key's curve and that its point is on it. */
static int
auth_classify_ec(struct auth_key *key, char **cause)
{
	const struct auth_curve	*curve;
	EVP_PKEY_CTX		*ctx;
	char			 group[80];
	size_t			 len;
	int			 nid, ok;

	if (EVP_PKEY_get_group_name(key->pkey, group, sizeof group,
	    &len) != 1) {
		*cause = auth_strdup("EC key without a named curve "
		    "(P-256, P-384 or P-521)");
		return -1;
	}
	if ((nid = OBJ_txt2nid(group)) == NID_undef)
		nid = EC_curve_nist2nid(group);
	if ((curve = auth_curve_by_nid(nid)) == NULL) {
		*cause = auth_printf("unsupported EC curve '%s' "
		    "(P-256, P-384 or P-521)", group);
		return -1;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL)
		ok = 0;
	else
		ok = EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		*cause = auth_printf("the EC point is not on curve %s",
		    curve->jwk);
		return -1;
	}
	key->type = curve->type;
	key->type_text = auth_printf("EC %s", curve->jwk);
	return 0;
}

/* Set a public key's type and type_text, refusing what ztwatch cannot use. */
static int
auth_classify(struct auth_key *key, char **cause)
{
	const char	*name;

	if (EVP_PKEY_is_a(key->pkey, "RSA"))
		return auth_classify_rsa(key, cause);
	if (EVP_PKEY_is_a(key->pkey, "EC"))
		return auth_classify_ec(key, cause);
	if (EVP_PKEY_is_a(key->pkey, "ED25519")) {
		key->type = AUTH_KEY_ED25519;
		key->type_text = auth_strdup("Ed25519");
		return 0;
	}
	if ((name = EVP_PKEY_get0_type_name(key->pkey)) == NULL)
		name = "unknown";
	*cause = auth_printf("unsupported key type '%s' (RSA, EC P-256, P-384, "
	    "P-521 or Ed25519)", name);
	return -1;
}

/* A key from a public pkey, which it takes over even on error. */
static struct auth_key *
auth_key_from_pkey(EVP_PKEY *pkey, char **cause)
{
	struct auth_key	*key = auth_key_new();

	key->pkey = pkey;
	if (auth_classify(key, cause) != 0)
		goto fail;
	if ((key->fingerprint = auth_fingerprint_pkey(pkey)) == NULL) {
		*cause = auth_strdup("cannot encode the public key");
		goto fail;
	}
	return key;
fail:
	auth_key_free(key);
	return NULL;
}

/* ---- PEM -------------------------------------------------------------- */

/* Whether s ends with suffix. */
static int
auth_ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The public key of a DER certificate, or NULL. */
static EVP_PKEY *
auth_pem_certificate(const unsigned char *der, long len, char **cause)
{
	const unsigned char	*p = der;
	X509			*x;
	EVP_PKEY		*pkey = NULL;

	if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len) {
		*cause = auth_strdup("cannot decode the CERTIFICATE block");
		goto out;
	}
	if ((pkey = X509_get_pubkey(x)) == NULL)
		*cause = auth_strdup("cannot decode the certificate's "
		    "public key");
out:
	X509_free(x);
	return pkey;
}

/* The public key in one PEM block of type name, or NULL. */
static EVP_PKEY *
auth_pem_block(const char *name, const unsigned char *der, long len,
    char **cause)
{
	const unsigned char	*p = der;
	EVP_PKEY		*pkey;

	if (strcmp(name, "PUBLIC KEY") == 0)
		pkey = d2i_PUBKEY(NULL, &p, len);
	else if (strcmp(name, "RSA PUBLIC KEY") == 0)
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	else if (strcmp(name, "CERTIFICATE") == 0)
		return auth_pem_certificate(der, len, cause);
	else if (auth_ends_with(name, "PRIVATE KEY")) {
		*cause = auth_strdup("this is a private key; give the public "
		    "key (openssl pkey -pubout)");
		return NULL;
	} else {
		*cause = auth_printf("unsupported PEM block '%s' (PUBLIC KEY, "
		    "RSA PUBLIC KEY or CERTIFICATE)", name);
		return NULL;
	}
	if (pkey != NULL && p != der + len) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	if (pkey == NULL)
		*cause = auth_printf("cannot decode the %s block", name);
	return pkey;
}

/* Parse a PEM public key: the first PEM block other than EC PARAMETERS. */
struct auth_key *
auth_key_from_pem(const unsigned char *pem, size_t len, char **cause)
{
	BIO		*bio = NULL;
	char		*name = NULL, *header = NULL;
	unsigned char	*der = NULL;
	long		 der_len;
	EVP_PKEY	*pkey;
	struct auth_key	*key = NULL;

	if (len > INT_MAX) {
		*cause = auth_strdup("the PEM data is too large");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*cause = auth_strdup("out of memory");
		goto out;
	}
	for (;;) {
		if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
			if (ERR_GET_REASON(ERR_peek_last_error()) ==
			    PEM_R_NO_START_LINE)
				*cause = auth_strdup("no PEM data (want "
				    "-----BEGIN PUBLIC KEY-----)");
			else
				*cause = auth_strdup("malformed PEM data");
			goto out;
		}
		if (strcmp(name, "EC PARAMETERS") != 0)
			break;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		name = header = NULL;
		der = NULL;
	}
	if ((pkey = auth_pem_block(name, der, der_len, cause)) != NULL)
		key = auth_key_from_pkey(pkey, cause);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)der_len);
	BIO_free(bio);
	ERR_clear_error();
	return key;
}

/* ---- JWK -------------------------------------------------------------- */

/*
 * Get string member of jwk into *s (borrowed).  A missing member is an
 * error when required, else leaves *s NULL.
 */
static int
auth_jwk_string(json_t *jwk, const char *member, int required,
    const char **s, char **cause)
{
	json_t	*v = json_object_get(jwk, member);

	*s = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		*cause = auth_printf("missing member '%s'", member);
		return -1;
	}
	if (!json_is_string(v)) {
		*cause = auth_printf("member '%s' is not a string", member);
		return -1;
	}
	*s = json_string_value(v);
	return 0;
}

/* Decode required base64url member of jwk; NULL with *cause set. */
static unsigned char *
auth_jwk_bytes(json_t *jwk, const char *member, size_t *len, char **cause)
{
	const char	*s;
	unsigned char	*out;

	if (auth_jwk_string(jwk, member, 1, &s, cause) != 0)
		return NULL;
	out = auth_b64url_decode(s, json_string_length(json_object_get(jwk,
	    member)), len);
	if (out == NULL) {
		*cause = auth_printf("member '%s' is not valid base64url",
		    member);
		return NULL;
	}
	if (*len == 0) {
		*cause = auth_printf("member '%s' is empty", member);
		free(out);
		return NULL;
	}
	return out;
}

/* Refuse a JWK that carries private key material. */
static int
auth_jwk_check_public(json_t *jwk, char **cause)
{
	size_t	i;

	for (i = 0; i < AUTH_NJWK_PRIVATE; i++) {
		if (json_object_get(jwk, auth_jwk_private[i]) != NULL) {
			*cause = auth_printf("private key material in a "
			    "verification key (member '%s')",
			    auth_jwk_private[i]);
			return -1;
		}
	}
	return 0;
}

/* A key of OpenSSL type from the parameters in bld. */
static struct auth_key *
auth_key_from_params(const char *type, OSSL_PARAM_BLD *bld,
    const char *problem, char **cause)
{
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	struct auth_key	*key = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		*cause = auth_strdup(problem);
		goto out;
	}
	key = auth_key_from_pkey(pkey, cause);
out:
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* An RSA key from the JWK members n and e. */
static struct auth_key *
auth_jwk_rsa(json_t *jwk, char **cause)
{
	unsigned char	*n = NULL, *e = NULL;
	size_t		 n_len, e_len;
	BIGNUM		*bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	struct auth_key	*key = NULL;

	if ((n = auth_jwk_bytes(jwk, "n", &n_len, cause)) == NULL)
		goto out;
	if ((e = auth_jwk_bytes(jwk, "e", &e_len, cause)) == NULL)
		goto out;
	if (n_len > AUTH_RSA_MAX_BITS / 8 + 1) {
		*cause = auth_printf("member 'n' is longer than %d bits",
		    AUTH_RSA_MAX_BITS);
		goto out;
	}
	if (e_len > 32) {
		*cause = auth_strdup("member 'e' is longer than 256 bits");
		goto out;
	}
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL) {
		*cause = auth_strdup("out of memory");
		goto out;
	}
	if (!BN_is_odd(bn_n)) {
		*cause = auth_strdup("member 'n' is not an RSA modulus");
		goto out;
	}
	if (!BN_is_odd(bn_e) || BN_is_one(bn_e)) {
		*cause = auth_strdup("member 'e' is not an RSA exponent");
		goto out;
	}
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1) {
		*cause = auth_strdup("out of memory");
		goto out;
	}
	key = auth_key_from_params("RSA", bld, "cannot import the RSA key",
	    cause);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return key;
}

/* Decode coordinate member of an EC or OKP JWK, which must be size bytes. */
static unsigned char *
auth_jwk_coordinate(json_t *jwk, const char *member, size_t size,
    const char *crv, char **cause)
{
	unsigned char	*out;
	size_t		 len;

	if ((out = auth_jwk_bytes(jwk, member, &len, cause)) == NULL)
		return NULL;
	if (len != size) {
		*cause = auth_printf("member '%s' must be %zu bytes for %s, "
		    "not %zu", member, size, crv, len);
		free(out);
		return NULL;
	}
	return out;
}

/* An EC key from the JWK members crv, x and y. */
static struct auth_key *
auth_jwk_ec(json_t *jwk, char **cause)
{
	const struct auth_curve	*curve;
	const char		*crv;
	unsigned char		*x = NULL, *y = NULL;
	unsigned char		 point[1 + 2 * AUTH_EC_COORD_MAX];
	OSSL_PARAM_BLD		*bld = NULL;
	struct auth_key		*key = NULL;
	char			*problem = NULL;

	if (auth_jwk_string(jwk, "crv", 1, &crv, cause) != 0)
		return NULL;
	if ((curve = auth_curve_by_jwk(crv)) == NULL) {
		*cause = auth_printf("unsupported EC curve '%s' "
		    "(P-256, P-384 or P-521)", crv);
		return NULL;
	}
	x = auth_jwk_coordinate(jwk, "x", curve->size, crv, cause);
	if (x == NULL)
		goto out;
	y = auth_jwk_coordinate(jwk, "y", curve->size, crv, cause);
	if (y == NULL)
		goto out;
	point[0] = 0x04;			/* uncompressed */
	memcpy(point + 1, x, curve->size);
	memcpy(point + 1 + curve->size, y, curve->size);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    curve->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, 1 + 2 * curve->size) != 1) {
		*cause = auth_strdup("out of memory");
		goto out;
	}
	problem = auth_printf("the EC point is not on curve %s", curve->jwk);
	key = auth_key_from_params("EC", bld, problem, cause);
out:
	free(problem);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return key;
}

/* An Ed25519 key from the JWK members crv and x. */
static struct auth_key *
auth_jwk_okp(json_t *jwk, char **cause)
{
	const char	*crv;
	unsigned char	*x;
	OSSL_PARAM_BLD	*bld = NULL;
	struct auth_key	*key = NULL;

	if (auth_jwk_string(jwk, "crv", 1, &crv, cause) != 0)
		return NULL;
	if (strcmp(crv, "Ed25519") != 0) {
		*cause = auth_printf("unsupported OKP curve '%s' "
		    "(Ed25519 only)", crv);
		return NULL;
	}
	if ((x = auth_jwk_coordinate(jwk, "x", 32, crv, cause)) == NULL)
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    x, 32) != 1) {
		*cause = auth_strdup("out of memory");
		goto out;
	}
	key = auth_key_from_params("ED25519", bld,
	    "cannot import the Ed25519 key", cause);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	return key;
}

/* A secret key from the JWK member k. */
static struct auth_key *
auth_jwk_oct(json_t *jwk, char **cause)
{
	unsigned char	*k;
	size_t		 len;
	struct auth_key	*key;

	if ((k = auth_jwk_bytes(jwk, "k", &len, cause)) == NULL)
		return NULL;
	key = auth_key_from_secret(k, len, cause);
	OPENSSL_cleanse(k, len);
	free(k);
	return key;
}

/* Set kid, alg and use of key from its JWK. */
static int
auth_jwk_meta(struct auth_key *key, json_t *jwk, char **cause)
{
	const char	*kid, *alg, *use;

	if (auth_jwk_string(jwk, "kid", 0, &kid, cause) != 0 ||
	    auth_jwk_string(jwk, "alg", 0, &alg, cause) != 0 ||
	    auth_jwk_string(jwk, "use", 0, &use, cause) != 0)
		return -1;
	if (alg != NULL) {
		if ((key->alg = auth_alg_from_name(alg)) == -1) {
			*cause = auth_printf("unknown algorithm '%s'", alg);
			return -1;
		}
		if (!auth_key_type_fits(key->type, key->alg)) {
			*cause = auth_printf("algorithm '%s' does not fit key "
			    "type %s", alg, key->type_text);
			return -1;
		}
	}
	key->kid = auth_strdup(kid);
	key->use = auth_strdup(use);
	return 0;
}

/* Parse one JWK object (borrowed) into a new key. */
struct auth_key *
auth_key_from_jwk(json_t *jwk, char **cause)
{
	const char	*kty;
	struct auth_key	*key = NULL;

	if (!json_is_object(jwk)) {
		*cause = auth_strdup("a JWK must be a JSON object");
		return NULL;
	}
	if (auth_jwk_check_public(jwk, cause) != 0 ||
	    auth_jwk_string(jwk, "kty", 1, &kty, cause) != 0)
		return NULL;
	if (strcmp(kty, "RSA") == 0)
		key = auth_jwk_rsa(jwk, cause);
	else if (strcmp(kty, "EC") == 0)
		key = auth_jwk_ec(jwk, cause);
	else if (strcmp(kty, "OKP") == 0)
		key = auth_jwk_okp(jwk, cause);
	else if (strcmp(kty, "oct") == 0)
		key = auth_jwk_oct(jwk, cause);
	else
		*cause = auth_printf("unsupported kty '%s'", kty);
	ERR_clear_error();
	if (key != NULL && auth_jwk_meta(key, jwk, cause) != 0) {
		auth_key_free(key);
		key = NULL;
	}
	return key;
}

/* ---- the keyring ------------------------------------------------------ */

/* An empty keyring. */
void
auth_keyring_init(struct auth_keyring *kr)
{
	memset(kr, 0, sizeof *kr);
}

/* Free every key of kr and leave it empty. */
void
auth_keyring_release(struct auth_keyring *kr)
{
	size_t	i;

	for (i = 0; i < kr->nkeys; i++)
		auth_key_free(kr->keys[i]);
	free(kr->keys);
	auth_keyring_init(kr);
}

/* Append key to kr, setting its index. */
static void
auth_keyring_push(struct auth_keyring *kr, struct auth_key *key)
{
	if (kr->nkeys == kr->cap) {
		kr->cap = kr->cap ? kr->cap * 2 : 8;
		kr->keys = auth_realloc(kr->keys, kr->cap * sizeof *kr->keys);
	}
	key->index = kr->nkeys;
	kr->keys[kr->nkeys++] = key;
}

/* Move every key of from to the end of kr. */
static void
auth_keyring_move(struct auth_keyring *kr, struct auth_keyring *from)
{
	size_t	i;

	for (i = 0; i < from->nkeys; i++)
		auth_keyring_push(kr, from->keys[i]);
	from->nkeys = 0;
}

/* Replace *cause with "prefix: *cause". */
static void
auth_cause_prefix(char **cause, const char *prefix)
{
	char	*s = auth_printf("%s: %s", prefix, *cause);

	free(*cause);
	*cause = s;
}

/* Replace *cause with "where.field: *cause". */
static void
auth_cause_field(char **cause, const char *where, const char *field)
{
	char	*prefix = auth_printf("%s.%s", where, field);

	auth_cause_prefix(cause, prefix);
	free(prefix);
}

/* The source member's path, resolved against the policy's folder. */
static char *
auth_entry_path(struct auth_entry *e, char **cause)
{
	const char	*dir = e->dir;

	if (e->value[0] == '\0') {
		*cause = auth_strdup("empty path");
		return NULL;
	}
	if (e->value[0] == '/' || dir == NULL || dir[0] == '\0')
		return auth_strdup(e->value);
	if (dir[strlen(dir) - 1] == '/')
		return auth_printf("%s%s", dir, e->value);
	return auth_printf("%s/%s", dir, e->value);
}

/* Read the file the source member names; *path gets its resolved path. */
static unsigned char *
auth_entry_read(struct auth_entry *e, char **path, size_t *len, char **cause)
{
	unsigned char	*buf;

	if ((*path = auth_entry_path(e, cause)) == NULL)
		return NULL;
	buf = auth_read_file(*path, AUTH_KEY_FILE_MAX, len, cause);
	if (buf == NULL) {
		free(*path);
		*path = NULL;
	}
	return buf;
}

/* Free a buffer that may hold a secret. */
static void
auth_clear_free(unsigned char *buf, size_t len)
{
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
}

/* Parse JSON text; errors leave out the input jansson would quote. */
json_t *
auth_keyring_json(const unsigned char *buf, size_t len, char **cause)
{
	json_error_t	 error;
	json_t		*root;
	char		*near;

	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &error);
	if (root == NULL) {
		/* jansson quotes the text near the error: it may be a secret */
		if ((near = strstr(error.text, " near ")) != NULL)
			*near = '\0';
		*cause = auth_printf("invalid JSON at line %d column %d: %s",
		    error.line, error.column, error.text);
	}
	return root;
}

/* Load a pem_file source. */
static int
auth_load_pem_file(struct auth_entry *e, struct auth_keyring *tmp,
    char **cause)
{
	unsigned char	*buf;
	char		*path;
	size_t		 len;
	struct auth_key	*key;

	if ((buf = auth_entry_read(e, &path, &len, cause)) == NULL)
		return -1;
	key = auth_key_from_pem(buf, len, cause);
	if (key != NULL) {
		key->source = auth_printf("pem_file %s", path);
		auth_keyring_push(tmp, key);
	}
	free(buf);
	free(path);
	return key != NULL ? 0 : -1;
}

/* Load a jwk_file source. */
static int
auth_load_jwk_file(struct auth_entry *e, struct auth_keyring *tmp,
    char **cause)
{
	unsigned char	*buf;
	char		*path;
	size_t		 len;
	json_t		*root;
	struct auth_key	*key = NULL;

	if ((buf = auth_entry_read(e, &path, &len, cause)) == NULL)
		return -1;
	if ((root = auth_keyring_json(buf, len, cause)) == NULL)
		goto out;
	if (json_object_get(root, "keys") != NULL)
		*cause = auth_strdup("this is a JWK Set; use jwks_file");
	else if ((key = auth_key_from_jwk(root, cause)) != NULL) {
		key->source = auth_printf("jwk_file %s", path);
		auth_keyring_push(tmp, key);
	}
	json_decref(root);
out:
	auth_clear_free(buf, len);
	free(path);
	return key != NULL ? 0 : -1;
}

/* Add the JWKs of array keys to tmp, refusing duplicate kids. */
static int
auth_load_jwks_keys(json_t *keys, const char *path, struct auth_keyring *tmp,
    char **cause)
{
	struct auth_key	*key, *other;
	char		*prefix;
	size_t		 i, j;

	for (i = 0; i < json_array_size(keys); i++) {
		prefix = auth_printf("keys[%zu]", i);
		key = auth_key_from_jwk(json_array_get(keys, i), cause);
		if (key == NULL) {
			auth_cause_prefix(cause, prefix);
			free(prefix);
			return -1;
		}
		for (j = 0; key->kid != NULL && j < tmp->nkeys; j++) {
			other = tmp->keys[j];
			if (other->kid == NULL ||
			    strcmp(other->kid, key->kid) != 0)
				continue;
			*cause = auth_printf("%s: duplicate kid '%s' (also "
			    "keys[%zu])", prefix, key->kid, j);
			auth_key_free(key);
			free(prefix);
			return -1;
		}
		if (key->kid != NULL)
			key->source = auth_printf("jwks_file %s kid=%s", path,
			    key->kid);
		else
			key->source = auth_printf("jwks_file %s %s", path,
			    prefix);
		auth_keyring_push(tmp, key);
		free(prefix);
	}
	return 0;
}

/* Load a jwks_file source: one key per JWK. */
static int
auth_load_jwks_file(struct auth_entry *e, struct auth_keyring *tmp,
    char **cause)
{
	unsigned char	*buf;
	char		*path;
	size_t		 len;
	json_t		*root, *keys;
	int		 rc = -1;

	if ((buf = auth_entry_read(e, &path, &len, cause)) == NULL)
		return -1;
	if ((root = auth_keyring_json(buf, len, cause)) == NULL)
		goto out;
	keys = json_object_get(root, "keys");
	if (!json_is_object(root))
		*cause = auth_strdup("a JWK Set must be a JSON object");
	else if (keys == NULL)
		*cause = auth_strdup("missing member 'keys'");
	else if (!json_is_array(keys))
		*cause = auth_strdup("member 'keys' is not an array");
	else if (json_array_size(keys) == 0)
		*cause = auth_strdup("member 'keys' is empty");
	else
		rc = auth_load_jwks_keys(keys, path, tmp, cause);
	json_decref(root);
out:
	auth_clear_free(buf, len);
	free(path);
	return rc;
}

/* Add a secret key of bytes secret[0..len) shown as source. */
static int
auth_load_secret_bytes(struct auth_keyring *tmp, const unsigned char *secret,
    size_t len, char *source, char **cause)
{
	struct auth_key	*key;

	if ((key = auth_key_from_secret(secret, len, cause)) == NULL) {
		free(source);
		return -1;
	}
	key->source = source;
	auth_keyring_push(tmp, key);
	return 0;
}

/* Load a secret source: the string's UTF-8 bytes. */
static int
auth_load_secret(struct auth_entry *e, struct auth_keyring *tmp, char **cause)
{
	return auth_load_secret_bytes(tmp, (const unsigned char *)e->value,
	    e->value_len, auth_strdup("secret (literal)"), cause);
}

/* Load a secret_file source, less one trailing newline. */
static int
auth_load_secret_file(struct auth_entry *e, struct auth_keyring *tmp,
    char **cause)
{
	unsigned char	*buf;
	char		*path;
	size_t		 len, n;
	int		 rc;

	if ((buf = auth_entry_read(e, &path, &len, cause)) == NULL)
		return -1;
	n = len;
	if (n > 0 && buf[n - 1] == '\n') {
		n--;
		if (n > 0 && buf[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		*cause = auth_printf("the secret in '%s' is empty", path);
		rc = -1;
	} else
		rc = auth_load_secret_bytes(tmp, buf, n,
		    auth_printf("secret_file %s", path), cause);
	auth_clear_free(buf, len);
	free(path);
	return rc;
}

/* Load a secret_env source. */
static int
auth_load_secret_env(struct auth_entry *e, struct auth_keyring *tmp,
    char **cause)
{
	const char	*value;

	if (e->value[0] == '\0') {
		*cause = auth_strdup("empty environment variable name");
		return -1;
	}
	if ((value = getenv(e->value)) == NULL) {
		*cause = auth_printf("environment variable %s is not set",
		    e->value);
		return -1;
	}
	if (*value == '\0') {
		*cause = auth_printf("environment variable %s is empty",
		    e->value);
		return -1;
	}
	return auth_load_secret_bytes(tmp, (const unsigned char *)value,
	    strlen(value), auth_printf("secret_env %s", e->value), cause);
}

/* The key sources, one of which each entry names. */
static const struct auth_source auth_sources[] = {
	{ "pem_file", auth_load_pem_file },
	{ "jwk_file", auth_load_jwk_file },
	{ "jwks_file", auth_load_jwks_file },
	{ "secret", auth_load_secret },
	{ "secret_file", auth_load_secret_file },
	{ "secret_env", auth_load_secret_env },
};
#define AUTH_NSOURCES (sizeof auth_sources / sizeof auth_sources[0])

/* The source named member, or NULL. */
static const struct auth_source *
auth_source_find(const char *member)
{
	size_t	i;

	for (i = 0; i < AUTH_NSOURCES; i++) {
		if (strcmp(auth_sources[i].member, member) == 0)
			return &auth_sources[i];
	}
	return NULL;
}

/* Take one member of a key entry. */
static int
auth_entry_member(struct auth_entry *e, const char *member, json_t *value,
    char **cause)
{
	const struct auth_source	 *source;
	const char			**slot = NULL;

	if ((source = auth_source_find(member)) == NULL) {
		if (strcmp(member, "alg") == 0)
			slot = &e->alg_name;
		else if (strcmp(member, "kid") == 0)
			slot = &e->kid;
		else if (strcmp(member, "issuer") == 0)
			slot = &e->issuer;
		else if (strcmp(member, "use") == 0)
			slot = &e->use;
		else {
			*cause = auth_printf("%s: unknown field '%s'", e->where,
			    member);
			return -1;
		}
	}
	if (!json_is_string(value)) {
		*cause = auth_printf("%s.%s: not a string", e->where, member);
		return -1;
	}
	if (slot != NULL) {
		*slot = json_string_value(value);
		return 0;
	}
	if (e->source != NULL) {
		*cause = auth_printf("%s: two key sources, '%s' and '%s' "
		    "(give one)", e->where, e->source->member, member);
		return -1;
	}
	e->source = source;
	e->value = json_string_value(value);
	e->value_len = json_string_length(value);
	return 0;
}

/* Read and check the members of a key entry. */
static int
auth_entry_parse(struct auth_entry *e, json_t *entry, char **cause)
{
	const char	*member;
	json_t		*value;

	if (!json_is_object(entry)) {
		*cause = auth_printf("%s: not a JSON object", e->where);
		return -1;
	}
	json_object_foreach(entry, member, value) {
		if (auth_entry_member(e, member, value, cause) != 0)
			return -1;
	}
	if (e->source == NULL) {
		*cause = auth_printf("%s: no key source (one of pem_file, "
		    "jwk_file, jwks_file, jwks_url, secret, secret_file, "
		    "secret_env)", e->where);
		return -1;
	}
	if (e->alg_name != NULL &&
	    (e->alg = auth_alg_from_name(e->alg_name)) == -1) {
		*cause = auth_printf("%s.alg: unknown algorithm '%s'", e->where,
		    e->alg_name);
		return -1;
	}
	if (e->kid != NULL && strcmp(e->source->member, "jwks_file") == 0) {
		*cause = auth_printf("%s.kid: not allowed with jwks_file (each "
		    "JWK has its own kid)", e->where);
		return -1;
	}
	return 0;
}

/* Apply the entry's alg and use to key; pos is "" or "keys[i]: ". */
static int
auth_entry_apply_key(struct auth_entry *e, struct auth_key *key,
    const char *pos, char **cause)
{
	if (e->alg != -1) {
		if (key->alg != -1 && key->alg != e->alg) {
			*cause = auth_printf("%s.alg: %s'%s' contradicts the "
			    "key's own alg '%s'", e->where, pos, e->alg_name,
			    auth_alg_name(key->alg));
			return -1;
		}
		if (!auth_key_type_fits(key->type, e->alg)) {
			*cause = auth_printf("%s.alg: %salgorithm '%s' does "
			    "not fit key type %s", e->where, pos, e->alg_name,
			    key->type_text);
			return -1;
		}
		key->alg = e->alg;
	}
	if (e->use != NULL) {
		if (key->use != NULL && strcmp(key->use, e->use) != 0) {
			*cause = auth_printf("%s.use: %s'%s' contradicts the "
			    "key's own use '%s'", e->where, pos, e->use,
			    key->use);
			return -1;
		}
		free(key->use);
		key->use = auth_strdup(e->use);
	}
	if (e->kid != NULL) {
		free(key->kid);
		key->kid = auth_strdup(e->kid);
	}
	key->issuer = auth_strdup(e->issuer);
	key->name = auth_strdup(e->name);
	return 0;
}

/* Apply the entry's options to every key loaded from it. */
static int
auth_entry_apply(struct auth_entry *e, struct auth_keyring *tmp, char **cause)
{
	char	*pos;
	size_t	 i;
	int	 rc;

	for (i = 0; i < tmp->nkeys; i++) {
		if (strcmp(e->source->member, "jwks_file") == 0)
			pos = auth_printf("keys[%zu]: ", i);
		else
			pos = auth_strdup("");
		rc = auth_entry_apply_key(e, tmp->keys[i], pos, cause);
		free(pos);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Load the keys of one policy "keys" entry into kr: all of them or none. */
int
auth_keyring_load_entry(struct auth_keyring *kr, const char *name,
    json_t *entry, const char *dir, const char *where, char **cause)
{
	struct auth_entry	e;
	struct auth_keyring	tmp;
	int			rc = -1;

	memset(&e, 0, sizeof e);
	e.name = name;
	e.dir = dir;
	e.where = where;
	e.alg = -1;
	auth_keyring_init(&tmp);

	if (auth_entry_parse(&e, entry, cause) != 0)
		goto out;
	if (e.source->load(&e, &tmp, cause) != 0) {
		auth_cause_field(cause, where, e.source->member);
		goto out;
	}
	if (auth_entry_apply(&e, &tmp, cause) != 0)
		goto out;
	auth_keyring_move(kr, &tmp);
	rc = 0;
out:
	auth_keyring_release(&tmp);
	return rc;
}
