/*
 * auth/auth-keygen.c -- fresh signing key pairs (demo, tests).
 *
 * The demo makes its keys at every start rather than shipping private
 * keys in assets/: RSA-2048 (RS* and PS*), the three NIST curves (ES256,
 * ES384, ES512) and Ed25519 (EdDSA).  Keys come out as PEM text, the
 * private one as unencrypted PKCS#8 and the public one as SPKI -- what a
 * policy's pem_file and auth_sign() read.  HMAC secrets are only random
 * bytes and have no key pair, so they are refused here.
 *
 * Whatever happens, the OpenSSL error queue is left empty.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth-int.h"

/* The PEM text a BIO holds, as a new string; NULL when empty. */
static char *
auth_keygen_text(BIO *bio)
{
	char	*data, *out;
	long	 n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return NULL;
	out = auth_malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	return out;
}

/* Generate a key pair of type as PEM strings. */
int
auth_keygen(enum auth_key_type type, char **private_pem, char **public_pem, char **cause)
{
	EVP_PKEY	*pkey = NULL;
	BIO		*priv = NULL, *pub = NULL;
	int		 rc = -1;

	*private_pem = *public_pem = NULL;
	switch (type) {
	case AUTH_KEY_RSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case AUTH_KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case AUTH_KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case AUTH_KEY_EC_P521:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		break;
	case AUTH_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case AUTH_KEY_OCT:
		*cause = auth_printf("an HMAC secret is random bytes, not a key pair");
		goto out;
	default:
		*cause = auth_printf("unknown key type %d", (int)type);
		goto out;
	}
	if (pkey == NULL) {
		*cause = auth_printf("cannot generate the key");
		goto out;
	}
	if ((priv = BIO_new(BIO_s_mem())) == NULL || (pub = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, pkey) != 1 ||
	    (*private_pem = auth_keygen_text(priv)) == NULL ||
	    (*public_pem = auth_keygen_text(pub)) == NULL) {
		*cause = auth_printf("cannot write the new key as PEM");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		if (*private_pem != NULL)
			OPENSSL_cleanse(*private_pem, strlen(*private_pem));
		free(*private_pem);
		free(*public_pem);
		*private_pem = *public_pem = NULL;
	}
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}
