/*
 * auth/auth-sign.c -- JWS signatures for minting (pub, demo and tests).
 *
 * HS* take the raw secret bytes and give an HMAC.  Every other algorithm
 * takes a private key PEM (PKCS#8 or the traditional RSA/EC forms), whose
 * type must fit the algorithm exactly: an RSA key for RS* and PS*, the
 * named curve for each ES* and an Ed25519 key for EdDSA.  An encrypted PEM
 * is refused rather than prompting for a passphrase.
 *
 * Signatures come out in JWS form: PS* use MGF1 with the same hash and a
 * salt as long as the digest (RFC 7518 section 3.5), ES* give the raw
 * r||s, each left-padded to the curve's size, not OpenSSL's DER, and
 * EdDSA signs the input itself, with no digest.
 *
 * Whatever happens, the OpenSSL error queue is left empty, so a failure
 * here never leaks into a later, unrelated error message.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth-int.h"

/* A cause naming what failed and OpenSSL's last reason, if any. */
static char *
auth_sign_error(const char *what)
{
	unsigned long	e = ERR_peek_last_error();
	const char	*reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		return auth_printf("%s: %s", what, reason);
	return auth_printf("%s", what);
}

/* Passphrase callback that refuses, so an encrypted key never prompts. */
static int
auth_sign_no_pass(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* Text naming a key type, for messages ("an RSA key"). */
const char *
auth_key_type_words(enum auth_key_type type)
{
	switch (type) {
	case AUTH_KEY_OCT:
		return "a secret";
	case AUTH_KEY_RSA:
		return "an RSA key";
	case AUTH_KEY_EC_P256:
		return "an EC P-256 key";
	case AUTH_KEY_EC_P384:
		return "an EC P-384 key";
	case AUTH_KEY_EC_P521:
		return "an EC P-521 key";
	case AUTH_KEY_ED25519:
		return "an Ed25519 key";
	}
	return "an unknown key";
}

/* The key type of pkey, or -1 with *cause set when it has no place here. */
static int
auth_sign_key_type(EVP_PKEY *pkey, char **cause)
{
	char	group[64];
	size_t	len;

	if (EVP_PKEY_is_a(pkey, "RSA"))
		return AUTH_KEY_RSA;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return AUTH_KEY_ED25519;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len)) {
			*cause = auth_sign_error("EC key without a named "
			    "curve");
			return -1;
		}
		if (strcmp(group, "prime256v1") == 0)
			return AUTH_KEY_EC_P256;
		if (strcmp(group, "secp384r1") == 0)
			return AUTH_KEY_EC_P384;
		if (strcmp(group, "secp521r1") == 0)
			return AUTH_KEY_EC_P521;
		*cause = auth_printf("unsupported EC curve %s", group);
		return -1;
	}
	*cause = auth_printf("unsupported key type %s",
	    EVP_PKEY_get0_type_name(pkey) != NULL ?
	    EVP_PKEY_get0_type_name(pkey) : "(unknown)");
	return -1;
}

/* Parse a private key PEM; NULL with *cause set. */
static EVP_PKEY *
auth_sign_load_key(const unsigned char *key, size_t key_len, char **cause)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if (key_len == 0 || key_len > INT_MAX) {
		*cause = auth_printf("no private key PEM");
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(key, (int)key_len)) == NULL) {
		*cause = auth_sign_error("cannot read key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, auth_sign_no_pass, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		*cause = auth_printf("no usable private key PEM");
	return pkey;
}

/* HMAC of input with the secret. */
static unsigned char *
auth_sign_hmac(const struct auth_alg_info *ai, const unsigned char *key,
    size_t key_len, const unsigned char *input, size_t input_len,
    size_t *sig_len, char **cause)
{
	static const unsigned char	 empty[1];
	unsigned char			 mac[EVP_MAX_MD_SIZE], *sig;
	size_t				 len;

	if (key_len == 0)
		key = empty;
	if (input_len == 0)
		input = empty;
	if (EVP_Q_mac(NULL, "HMAC", NULL, ai->digest, NULL, key, key_len,
	    input, input_len, mac, sizeof mac, &len) == NULL) {
		*cause = auth_sign_error("cannot compute HMAC");
		return NULL;
	}
	sig = auth_malloc(len);
	memcpy(sig, mac, len);
	OPENSSL_cleanse(mac, sizeof mac);
	*sig_len = len;
	return sig;
}

/* Turn a DER ECDSA-Sig into r||s of n bytes each; NULL with *cause set. */
static unsigned char *
auth_sign_ecdsa_raw(const unsigned char *der, size_t der_len, size_t n,
    char **cause)
{
	ECDSA_SIG		*es;
	const BIGNUM		*r, *s;
	const unsigned char	*p = der;
	unsigned char		*raw;

	if (der_len > LONG_MAX ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL) {
		*cause = auth_sign_error("cannot decode ECDSA signature");
		return NULL;
	}
	ECDSA_SIG_get0(es, &r, &s);
	raw = auth_malloc(2 * n);
	if (BN_bn2binpad(r, raw, (int)n) < 0 ||
	    BN_bn2binpad(s, raw + n, (int)n) < 0) {
		*cause = auth_printf("ECDSA signature too long for the curve");
		free(raw);
		raw = NULL;
	}
	ECDSA_SIG_free(es);
	return raw;
}

/* Sign input with pkey as ai says. */
static unsigned char *
auth_sign_pkey(const struct auth_alg_info *ai, EVP_PKEY *pkey,
    const unsigned char *input, size_t input_len, size_t *sig_len,
    char **cause)
{
	static const unsigned char	 empty[1];
	EVP_MD_CTX			*md = NULL;
	EVP_PKEY_CTX			*pctx = NULL;
	unsigned char			*sig = NULL, *raw;
	size_t				 len;

	if (input_len == 0)
		input = empty;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		*cause = auth_sign_error("cannot sign");
		goto out;
	}
	if (!EVP_DigestSignInit_ex(md, &pctx, ai->digest, NULL, NULL, pkey,
	    NULL)) {
		*cause = auth_sign_error("cannot start signing");
		goto out;
	}
	if (ai->family == AUTH_FAMILY_RSA) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, ai->pss ?
		    RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0) {
			*cause = auth_sign_error("cannot set RSA padding");
			goto out;
		}
		if (ai->pss && (EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx,
		    ai->digest, NULL) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST) <= 0)) {
			*cause = auth_sign_error("cannot set PSS parameters");
			goto out;
		}
	}
	if (!EVP_DigestSign(md, NULL, &len, input, input_len)) {
		*cause = auth_sign_error("cannot sign");
		goto out;
	}
	sig = auth_malloc(len);
	if (!EVP_DigestSign(md, sig, &len, input, input_len)) {
		*cause = auth_sign_error("cannot sign");
		free(sig);
		sig = NULL;
		goto out;
	}
	if (ai->family == AUTH_FAMILY_EC) {
		raw = auth_sign_ecdsa_raw(sig, len, ai->sig_len / 2, cause);
		free(sig);
		sig = raw;
		len = ai->sig_len;
	}
	if (sig != NULL)
		*sig_len = len;
out:
	EVP_MD_CTX_free(md);
	return sig;
}

/* Sign input for alg with a secret (HS*) or a private key PEM. */
unsigned char *
auth_sign(int alg, const unsigned char *key, size_t key_len,
    const unsigned char *input, size_t input_len, size_t *sig_len,
    char **cause)
{
	const struct auth_alg_info	*ai = auth_alg_info(alg);
	EVP_PKEY			*pkey = NULL;
	unsigned char			*sig = NULL;
	int				 type;

	if (ai == NULL) {
		*cause = auth_printf("unknown algorithm %d", alg);
		return NULL;
	}
	if (ai->family == AUTH_FAMILY_HMAC) {
		sig = auth_sign_hmac(ai, key, key_len, input, input_len,
		    sig_len, cause);
		goto out;
	}
	if ((pkey = auth_sign_load_key(key, key_len, cause)) == NULL)
		goto out;
	if ((type = auth_sign_key_type(pkey, cause)) == -1)
		goto out;
	if (!auth_key_type_fits(type, alg)) {
		*cause = auth_printf("%s needs %s, not %s", ai->name,
		    auth_key_type_words(ai->family == AUTH_FAMILY_RSA ?
		    AUTH_KEY_RSA : ai->family == AUTH_FAMILY_EC ?
		    ai->ec_type : AUTH_KEY_ED25519), auth_key_type_words(type));
		goto out;
	}
	sig = auth_sign_pkey(ai, pkey, input, input_len, sig_len, cause);
out:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return sig;
}
