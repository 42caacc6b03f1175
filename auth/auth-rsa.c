/*
 * auth/auth-rsa.c -- RSA signature verification on OpenSSL's Montgomery
 * arithmetic (RS256/384/512, PS256/384/512).
 *
 * DESIGN §8 asks for 85% of `openssl speed` per core.  EVP_PKEY_verify
 * spends about a tenth of an RSA-2048 verify around its one modular
 * exponentiation: a BN_CTX made and freed, buffers allocated, the key's
 * lock taken, and BN_mod_exp_mont's general windowing, which for
 * e = 65537 does a multiplication more than the exponent needs.  Here the
 * key's Montgomery context is made once per verifier (one per thread), the
 * exponentiation is the square-and-multiply chain over e's bits on
 * BN_mod_mul_montgomery (OpenSSL's own assembler), and nothing is
 * allocated per signature.
 *
 * The checks are those of RFC 8017, and they refuse exactly what
 * EVP_PKEY_verify refuses: a signature as long as the modulus and below it
 * (§5.2.2); for PKCS#1 v1.5 the one encoding a good signature can have,
 * rebuilt and compared whole (§8.2.2), so no parsing of the padding can be
 * fooled; for PSS the steps of §9.1.2 with the salt as long as the hash
 * (RFC 7518 §3.5).  tests/unit/test-rsa.c holds every answer to
 * EVP_PKEY_verify's, on good signatures and on crafted bad encodings.
 * Everything here is public data, so nothing needs to run in constant time.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "auth-int.h"

#define RSA_PSS_MAX_HASH	64

/* A public key ready for the hot path, with its scratch space. */
struct auth_rsa {
	BIGNUM		*n, *e;
	BN_MONT_CTX	*mont;
	BN_CTX		*bn;
	BIGNUM		*s, *sm, *m;	/* signature, in Montgomery form, result */
	size_t		 k;		/* modulus bytes */
	int		 bits;		/* modulus bits */
	unsigned char	*em;		/* k bytes: the encoded message */
	unsigned char	*db;		/* k bytes: PSS's unmasked data block */
};

/* DigestInfo prefixes (RFC 8017 §9.2 note 1). */
static const unsigned char rsa_di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static const unsigned char rsa_di_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x02, 0x05, 0x00, 0x04, 0x30
};
static const unsigned char rsa_di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x03, 0x05, 0x00, 0x04, 0x40
};

/* The DigestInfo prefix for md, when its hash is hlen bytes; else NULL. */
static const unsigned char *
rsa_digest_info(const EVP_MD *md, size_t hlen)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha256:
		return hlen == 32 ? rsa_di_sha256 : NULL;
	case NID_sha384:
		return hlen == 48 ? rsa_di_sha384 : NULL;
	case NID_sha512:
		return hlen == 64 ? rsa_di_sha512 : NULL;
	}
	return NULL;
}

/* Free r and all it holds. */
void
auth_rsa_free(struct auth_rsa *r)
{
	if (r == NULL)
		return;
	BN_free(r->n);
	BN_free(r->e);
	BN_MONT_CTX_free(r->mont);
	BN_free(r->s);
	BN_free(r->sm);
	BN_free(r->m);
	BN_CTX_free(r->bn);
	free(r->em);
	free(r->db);
	free(r);
}

/*
 * The hot-path form of an RSA public key, or NULL when the key is one
 * OpenSSL's public operation refuses (a modulus over 16384 bits, e not
 * below n, or e over 64 bits with a modulus over 3072 bits): no signature
 * verifies with such a key.
 */
struct auth_rsa *
auth_rsa_new(const EVP_PKEY *pkey)
{
	struct auth_rsa	*r = auth_calloc(1, sizeof *r);

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &r->n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &r->e) != 1)
		goto fail;
	r->bits = BN_num_bits(r->n);
	r->k = (size_t)BN_num_bytes(r->n);
	if (!BN_is_odd(r->n) || BN_ucmp(r->n, r->e) <= 0 || BN_is_zero(r->e) ||
	    r->bits > OPENSSL_RSA_MAX_MODULUS_BITS ||
	    (r->bits > OPENSSL_RSA_SMALL_MODULUS_BITS &&
	    BN_num_bits(r->e) > OPENSSL_RSA_MAX_PUBEXP_BITS))
		goto fail;
	if ((r->bn = BN_CTX_new()) == NULL || (r->mont = BN_MONT_CTX_new()) == NULL ||
	    BN_MONT_CTX_set(r->mont, r->n, r->bn) != 1 ||
	    (r->s = BN_new()) == NULL || (r->sm = BN_new()) == NULL ||
	    (r->m = BN_new()) == NULL)
		goto fail;
	r->em = auth_malloc(r->k);
	r->db = auth_malloc(r->k);
	return r;
fail:
	auth_rsa_free(r);
	return NULL;
}

/* The modulus length in bytes: the length of every signature. */
size_t
auth_rsa_size(const struct auth_rsa *r)
{
	return r->k;
}

/*
 * RSAVP1 (RFC 8017 §5.2.2): r->em = sig^e mod n, k bytes.  Returns 0, or -1
 * when sig is not k bytes (§8.1.2, §8.2.2 step 1: OpenSSL's PSS path would
 * take a shorter one, but the verifier refuses those before), is not below
 * n, or the arithmetic fails.
 */
static int
rsa_public(struct auth_rsa *r, const unsigned char *sig, size_t len)
{
	int	i;

	if (len != r->k || BN_bin2bn(sig, (int)len, r->s) == NULL ||
	    BN_ucmp(r->s, r->n) >= 0)
		return -1;
	if (BN_to_montgomery(r->sm, r->s, r->mont, r->bn) != 1 ||
	    BN_copy(r->m, r->sm) == NULL)
		return -1;
	/* Left to right over e's bits below the top one: 16 squarings and one
	   multiplication for 65537. */
	for (i = BN_num_bits(r->e) - 2; i >= 0; i--) {
		if (BN_mod_mul_montgomery(r->m, r->m, r->m, r->mont, r->bn) != 1)
			return -1;
		if (BN_is_bit_set(r->e, i) &&
		    BN_mod_mul_montgomery(r->m, r->m, r->sm, r->mont, r->bn) != 1)
			return -1;
	}
	if (BN_from_montgomery(r->m, r->m, r->mont, r->bn) != 1 ||
	    BN_bn2binpad(r->m, r->em, (int)r->k) != (int)r->k)
		return -1;
	return 0;
}

/*
 * RSASSA-PKCS1-v1_5 verify (RFC 8017 §8.2.2) of sig over the hash h (hlen
 * bytes, by md): EM must be 00 01 FF..FF 00 DigestInfo h, exactly.  1 good,
 * 0 bad.
 */
int
auth_rsa_verify_pkcs1(struct auth_rsa *r, const EVP_MD *md, const unsigned char *h,
    size_t hlen, const unsigned char *sig, size_t len)
{
	const unsigned char	*di = rsa_digest_info(md, hlen);
	size_t			 tlen = sizeof rsa_di_sha256 + hlen, ps, i;

	/* At least eight bytes of FF (§9.2 step 5). */
	if (di == NULL || r->k < tlen + 11 || rsa_public(r, sig, len) != 0)
		return 0;
	ps = r->k - tlen - 3;
	if (r->em[0] != 0x00 || r->em[1] != 0x01 || r->em[2 + ps] != 0x00)
		return 0;
	for (i = 2; i < 2 + ps; i++) {
		if (r->em[i] != 0xff)
			return 0;
	}
	return memcmp(r->em + 3 + ps, di, sizeof rsa_di_sha256) == 0 &&
	    memcmp(r->em + 3 + ps + sizeof rsa_di_sha256, h, hlen) == 0;
}

/* MGF1 (RFC 8017 B.2.1) with md over seed, XORed into out[0..len). */
static int
rsa_mgf1_xor(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char *seed, size_t slen,
    unsigned char *out, size_t len)
{
	unsigned char	block[RSA_PSS_MAX_HASH], c[4];
	uint32_t	counter;
	size_t		i, done = 0, take;

	for (counter = 0; done < len; counter++) {
		c[0] = (unsigned char)(counter >> 24);
		c[1] = (unsigned char)(counter >> 16);
		c[2] = (unsigned char)(counter >> 8);
		c[3] = (unsigned char)counter;
		if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, seed, slen) != 1 ||
		    EVP_DigestUpdate(ctx, c, sizeof c) != 1 ||
		    EVP_DigestFinal_ex(ctx, block, NULL) != 1)
			return -1;
		take = len - done < slen ? len - done : slen;
		for (i = 0; i < take; i++)
			out[done + i] ^= block[i];
		done += take;
	}
	return 0;
}

/*
 * RSASSA-PSS verify (RFC 8017 §9.1.2) of sig over the hash h (hlen bytes,
 * by md, which is also MGF1's hash), the salt exactly hlen bytes long;
 * ctx is a digest context to use.  1 good, 0 bad.
 */
int
auth_rsa_verify_pss(struct auth_rsa *r, EVP_MD_CTX *ctx, const EVP_MD *md,
    const unsigned char *h, size_t hlen, const unsigned char *sig, size_t len)
{
	static const unsigned char	zeros[8];
	unsigned char			hh[RSA_PSS_MAX_HASH];
	const unsigned char		*em = r->em, *hm;
	int				msbits = (r->bits - 1) & 7;
	size_t				emlen = r->k, dblen, i;

	if (hlen == 0 || hlen > RSA_PSS_MAX_HASH || (size_t)EVP_MD_get_size(md) != hlen ||
	    rsa_public(r, sig, len) != 0)
		return 0;
	/* emBits = modBits - 1: the bits above it must be zero, and when
	   they fill the first byte, EM is a byte shorter (§9.1.2 steps 3, 6). */
	if ((em[0] & (0xff << msbits)) != 0)
		return 0;
	if (msbits == 0) {
		em++;
		emlen--;
	}
	if (emlen < 2 * hlen + 2 || em[emlen - 1] != 0xbc)
		return 0;
	dblen = emlen - hlen - 1;
	hm = em + dblen;
	memcpy(r->db, em, dblen);
	if (rsa_mgf1_xor(ctx, md, hm, hlen, r->db, dblen) != 0)
		return 0;
	if (msbits != 0)
		r->db[0] &= (unsigned char)(0xff >> (8 - msbits));
	/* DB = PS (zeros) || 01 || salt, the salt hlen bytes (steps 10, 11). */
	for (i = 0; i < dblen - hlen - 1; i++) {
		if (r->db[i] != 0x00)
			return 0;
	}
	if (r->db[dblen - hlen - 1] != 0x01)
		return 0;
	/* H' = Hash(00 x 8 || mHash || salt) must be H (steps 12-14). */
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, zeros, sizeof zeros) != 1 ||
	    EVP_DigestUpdate(ctx, h, hlen) != 1 ||
	    EVP_DigestUpdate(ctx, r->db + dblen - hlen, hlen) != 1 ||
	    EVP_DigestFinal_ex(ctx, hh, NULL) != 1)
		return 0;
	return memcmp(hh, hm, hlen) == 0;
}
