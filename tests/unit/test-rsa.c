/*
 * tests/unit/test-rsa.c -- auth-rsa.c held to EVP_PKEY_verify.
 *
 * The hot path verifies RSA signatures on OpenSSL's Montgomery arithmetic
 * instead of EVP_PKEY_verify.  Every case here is judged by both, and they
 * must agree: good signatures for SHA-256/384/512 under PKCS#1 v1.5 and
 * PSS, on keys whose modulus fills its first byte or not (1537, 2047 and
 * 2048 bits), with e = 3, 65537 and 1000003; a modulus too short for PS512;
 * PSS's forbidden top bits; encodings edited one byte at a time and signed
 * with the private key's raw operation; PSS salts of the wrong length;
 * signature values 0, 1, n - 1, n and above, and a good one plus n; random
 * encodings; DigestInfo without NULL, PSS with another mask hash; keys
 * OpenSSL refuses; and Bleichenbacher's e = 3 forgery, whose cube has the
 * right prefix and garbage where the padding should be.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "auth-int.h"
#include "unit.h"

#define MAX_K	512

/* A test key: the private key, its hot-path form, and n and e. */
struct tkey {
	EVP_PKEY	*pkey;
	struct auth_rsa	*rsa;
	BIGNUM		*n, *e;
	size_t		 k;
	int		 bits;
};

static const char *const hashes[] = { "SHA256", "SHA384", "SHA512" };
static const unsigned char di_sha256[] = {	/* RFC 8017 §9.2 note 1 */
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static EVP_MD_CTX	*mdctx;
static int		 agreed;	/* cases judged the same by both */

/* A new RSA key of bits with public exponent e. */
static void
tkey_make(struct tkey *t, int bits, unsigned long e)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM		*be = BN_new();

	memset(t, 0, sizeof *t);
	BN_set_word(be, e);
	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits) != 1 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, be) != 1 ||
	    EVP_PKEY_keygen(c, &t->pkey) != 1) {
		fprintf(stderr, "cannot make an RSA-%d key\n", bits);
		exit(1);
	}
	EVP_PKEY_CTX_free(c);
	BN_free(be);
	EVP_PKEY_get_bn_param(t->pkey, OSSL_PKEY_PARAM_RSA_N, &t->n);
	EVP_PKEY_get_bn_param(t->pkey, OSSL_PKEY_PARAM_RSA_E, &t->e);
	t->bits = BN_num_bits(t->n);
	t->k = (size_t)BN_num_bytes(t->n);
	t->rsa = auth_rsa_new(t->pkey);
}

static void
tkey_free(struct tkey *t)
{
	auth_rsa_free(t->rsa);
	EVP_PKEY_free(t->pkey);
	BN_free(t->n);
	BN_free(t->e);
}

/* Set ctx's padding, digest and PSS salt length (-1: the digest's). */
static int
set_scheme(EVP_PKEY_CTX *c, int pss, const char *hash, int saltlen)
{
	EVP_MD	*md = EVP_MD_fetch(NULL, hash, NULL);
	int	 ok;

	ok = EVP_PKEY_CTX_set_signature_md(c, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, pss ? RSA_PKCS1_PSS_PADDING :
	    RSA_PKCS1_PADDING) == 1 &&
	    (!pss || EVP_PKEY_CTX_set_rsa_pss_saltlen(c, saltlen) == 1);
	EVP_MD_free(md);
	return ok;
}

/* EVP_PKEY_verify's answer, set up as ztwatch used to: 1 or 0. */
static int
evp_verify(const struct tkey *t, int pss, const char *hash, const unsigned char *h,
    size_t hlen, const unsigned char *sig, size_t len)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_pkey(NULL, t->pkey, NULL);
	int		 ok;

	ok = c != NULL && EVP_PKEY_verify_init(c) == 1 &&
	    set_scheme(c, pss, hash, RSA_PSS_SALTLEN_DIGEST) &&
	    EVP_PKEY_verify(c, sig, len, h, hlen) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok;
}

/* The hot path's answer. */
static int
fast_verify(const struct tkey *t, int pss, const char *hash, const unsigned char *h,
    size_t hlen, const unsigned char *sig, size_t len)
{
	EVP_MD	*md = EVP_MD_fetch(NULL, hash, NULL);
	int	 ok;

	ok = pss ? auth_rsa_verify_pss(t->rsa, mdctx, md, h, hlen, sig, len) :
	    auth_rsa_verify_pkcs1(t->rsa, md, h, hlen, sig, len);
	EVP_MD_free(md);
	return ok;
}

/* Both judge the case, and must say want. */
#define AGREE(t, pss, hash, h, hlen, sig, len, want) do {			\
	int f_ = fast_verify(t, pss, hash, h, hlen, sig, len);			\
	int e_ = evp_verify(t, pss, hash, h, hlen, sig, len);			\
	if (f_ != e_ || f_ != (want))						\
		fprintf(stderr, "  RSA-%d %s %s: fast %d, EVP %d, want %d\n",	\
		    (t)->bits, pss ? "PSS" : "PKCS1", hash, f_, e_, want);	\
	CHECK(f_ == e_ && f_ == (want));					\
	agreed += f_ == e_;							\
} while (0)

/* Sign h with the private key; saltlen for PSS (-1: the digest's). */
static size_t
sign(const struct tkey *t, int pss, const char *hash, int saltlen, const unsigned char *h,
    size_t hlen, unsigned char *sig)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_pkey(NULL, t->pkey, NULL);
	size_t		 len = MAX_K;

	if (c == NULL || EVP_PKEY_sign_init(c) != 1 || !set_scheme(c, pss, hash, saltlen) ||
	    EVP_PKEY_sign(c, sig, &len, h, hlen) != 1)
		len = 0;
	EVP_PKEY_CTX_free(c);
	return len;
}

/* The private key's raw operation on em (k bytes): a "signature" whose
   public operation gives em back.  0 when em is not below n. */
static size_t
sign_raw(const struct tkey *t, const unsigned char *em, unsigned char *sig)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_pkey(NULL, t->pkey, NULL);
	size_t		 len = MAX_K;

	if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) != 1 ||
	    EVP_PKEY_sign(c, sig, &len, em, t->k) != 1)
		len = 0;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return len;
}

/* em = sig^e mod n, k bytes, by BN_mod_exp (not the code under test). */
static void
open_raw(const struct tkey *t, const unsigned char *sig, unsigned char *em)
{
	BN_CTX	*bc = BN_CTX_new();
	BIGNUM	*s = BN_bin2bn(sig, (int)t->k, NULL), *m = BN_new();

	BN_mod_exp(m, s, t->e, t->n, bc);
	BN_bn2binpad(m, em, (int)t->k);
	BN_free(s);
	BN_free(m);
	BN_CTX_free(bc);
}

/* 2048 and 1537 bits with e = 65537, 2047 with e = 1000003 (more bits set
   than 65537 or 3 have), 3072 with e = 3; a 1025-bit key, too short for PS512. */
static struct tkey	keys[4], small;

static void
test_keys_load(void)
{
	size_t	i;

	for (i = 0; i < 4; i++) {
		CHECK(keys[i].rsa != NULL);
		CHECK(auth_rsa_size(keys[i].rsa) == keys[i].k);
	}
	CHECK(keys[0].bits == 2048 && keys[1].bits == 1537 && keys[2].bits == 2047);
	CHECK(BN_get_word(keys[2].e) == 1000003 && BN_get_word(keys[3].e) == 3);
}

/* Good signatures over random hashes pass both ways, for every hash, both
   schemes and every key; the same signature over another hash fails. */
static void
test_good_signatures(void)
{
	unsigned char	h[64], sig[MAX_K];
	size_t		i, a, hlen, len;
	int		pss;

	for (i = 0; i < 4; i++) {
		for (a = 0; a < 3; a++) {
			hlen = 32 + 16 * a;
			for (pss = 0; pss < 2; pss++) {
				RAND_bytes(h, (int)hlen);
				len = sign(&keys[i], pss, hashes[a], -1, h, hlen, sig);
				CHECK(len == keys[i].k);
				AGREE(&keys[i], pss, hashes[a], h, hlen, sig, len, 1);
				h[hlen - 1] ^= 1;
				AGREE(&keys[i], pss, hashes[a], h, hlen, sig, len, 0);
				h[hlen - 1] ^= 1;
				sig[len / 2] ^= 0x10;
				AGREE(&keys[i], pss, hashes[a], h, hlen, sig, len, 0);
			}
		}
	}
}

/* A PKCS#1 signature judged under another hash of the same key fails
   (DigestInfo names the hash), and so does a PSS signature as PKCS#1. */
static void
test_scheme_confusion(void)
{
	unsigned char	h[64], sig[MAX_K];
	size_t		len;

	RAND_bytes(h, sizeof h);
	len = sign(&keys[0], 0, "SHA512", -1, h, 64, sig);
	AGREE(&keys[0], 0, "SHA512", h, 64, sig, len, 1);
	AGREE(&keys[0], 0, "SHA256", h, 32, sig, len, 0);
	AGREE(&keys[0], 1, "SHA512", h, 64, sig, len, 0);
	len = sign(&keys[0], 1, "SHA256", -1, h, 32, sig);
	AGREE(&keys[0], 0, "SHA256", h, 32, sig, len, 0);
}

/*
 * Every byte of a good encoding changed in turn (to 0x00, and to its
 * complement), signed with the raw private operation: each one fails both
 * ways.  The untouched encoding, signed the same way, passes.
 */
static void
test_edited_encodings(void)
{
	unsigned char	h[64], sig[MAX_K], em[MAX_K], ed[MAX_K];
	size_t		i, a, pos, len, tried = 0;
	int		pss, v;

	for (i = 0; i < 3; i++) {
		for (pss = 0; pss < 2; pss++) {
			a = (i + (size_t)pss) % 3;
			RAND_bytes(h, 64);
			len = sign(&keys[i], pss, hashes[a], -1, h, 32 + 16 * a, sig);
			open_raw(&keys[i], sig, em);
			CHECK(sign_raw(&keys[i], em, sig) == keys[i].k);
			AGREE(&keys[i], pss, hashes[a], h, 32 + 16 * a, sig, len, 1);
			for (pos = 0; pos < keys[i].k; pos++) {
				for (v = 0; v < 2; v++) {
					memcpy(ed, em, keys[i].k);
					ed[pos] = v ? (unsigned char)~em[pos] : 0x00;
					if (ed[pos] == em[pos] ||
					    sign_raw(&keys[i], ed, sig) != keys[i].k)
						continue;	/* the same, or not below n */
					AGREE(&keys[i], pss, hashes[a], h, 32 + 16 * a, sig,
					    keys[i].k, 0);
					tried++;
				}
			}
		}
	}
	CHECK(tried > 2500);
}

/* PSS with a salt of any length but the hash's fails both ways. */
static void
test_pss_salt_lengths(void)
{
	static const int	salts[] = { 0, 20, 31, 33, 64, RSA_PSS_SALTLEN_MAX };
	unsigned char		h[32], sig[MAX_K];
	size_t			i, s, len;

	for (i = 0; i < 3; i++) {
		RAND_bytes(h, sizeof h);
		for (s = 0; s < sizeof salts / sizeof salts[0]; s++) {
			len = sign(&keys[i], 1, "SHA256", salts[s], h, 32, sig);
			CHECK(len == keys[i].k);
			AGREE(&keys[i], 1, "SHA256", h, 32, sig, len, 0);
		}
		len = sign(&keys[i], 1, "SHA256", 32, h, 32, sig);
		AGREE(&keys[i], 1, "SHA256", h, 32, sig, len, 1);
	}
}

/*
 * PSS's first byte: the bits above emBits (modBits - 1) must be zero.  An
 * encoding that is good apart from one such bit set fails; the unmasking
 * would clear it, so only the explicit check catches it.  The edited
 * encoding must stay below n to be signed: for the 1537-bit key (a whole
 * zero byte above emBits) that is an even chance a try, so it is always
 * tested; for the others it depends on n's first byte, and they are tried
 * where it allows.
 */
static void
test_pss_top_bits(void)
{
	unsigned char	h[32], sig[MAX_K], em[MAX_K];
	size_t		i;
	int		n, msbits, tried[3] = { 0, 0, 0 };

	for (i = 0; i < 3; i++) {
		msbits = (keys[i].bits - 1) & 7;
		for (n = 0; n < 64 && !tried[i]; n++) {
			RAND_bytes(h, sizeof h);
			sign(&keys[i], 1, "SHA256", -1, h, 32, sig);
			open_raw(&keys[i], sig, em);
			em[0] |= (unsigned char)(msbits ? 1 << msbits : 1);
			if (sign_raw(&keys[i], em, sig) != keys[i].k)
				continue;		/* not below n: another try */
			AGREE(&keys[i], 1, "SHA256", h, 32, sig, keys[i].k, 0);
			tried[i] = 1;
		}
	}
	CHECK(keys[1].bits % 8 == 1 && tried[1]);
}

/* PS512 needs emLen >= 2 * 64 + 2: a 1025-bit key (emLen 128) can verify
   no PS512 signature, and checking one reads nothing out of bounds. */
static void
test_short_modulus(void)
{
	unsigned char	h[64], sig[MAX_K];
	int		n;

	CHECK(small.bits == 1025 && small.rsa != NULL);
	RAND_bytes(h, sizeof h);
	CHECK(sign(&small, 1, "SHA512", -1, h, 64, sig) == 0);
	for (n = 0; n < 8; n++) {
		RAND_bytes(sig, (int)small.k);
		sig[0] = 0;
		AGREE(&small, 1, "SHA512", h, 64, sig, small.k, 0);
	}
	CHECK(sign(&small, 0, "SHA512", -1, h, 64, sig) == small.k);
	AGREE(&small, 0, "SHA512", h, 64, sig, small.k, 1);
}

/* Signature values at the edges: 0, 1, n - 1, n, n + 1, all ones. */
static void
test_edge_values(void)
{
	unsigned char	h[32], sig[MAX_K];
	BIGNUM		*s = BN_new();
	size_t		i, c;
	int		pss, plus_n = 0;

	RAND_bytes(h, sizeof h);
	for (i = 0; i < 4; i++) {
		/* A good signature plus n gives the same encoding, and must fail:
		   only the value below n is the signature (§5.2.2 step 1). */
		for (pss = 0; pss < 2; pss++) {
			sign(&keys[i], pss, "SHA256", -1, h, 32, sig);
			BN_bin2bn(sig, (int)keys[i].k, s);
			BN_add(s, s, keys[i].n);
			if (BN_num_bytes(s) > (int)keys[i].k)
				continue;
			BN_bn2binpad(s, sig, (int)keys[i].k);
			AGREE(&keys[i], pss, "SHA256", h, 32, sig, keys[i].k, 0);
			plus_n++;
		}
		for (c = 0; c < 6; c++) {
			switch (c) {
			case 0:
				BN_zero(s);
				break;
			case 1:
				BN_one(s);
				break;
			case 2:
			case 3:
			case 4:
				BN_copy(s, keys[i].n);
				if (c == 2)
					BN_sub_word(s, 1);
				if (c == 4)
					BN_add_word(s, 1);
				break;
			case 5:
				BN_zero(s);
				BN_set_bit(s, (int)(8 * keys[i].k));
				BN_sub_word(s, 1);
				break;
			}
			BN_bn2binpad(s, sig, (int)keys[i].k);
			for (pss = 0; pss < 2; pss++)
				AGREE(&keys[i], pss, "SHA256", h, 32, sig, keys[i].k, 0);
		}
	}
	CHECK(plus_n >= 2);	/* the 2047-bit key always has room for it */
	BN_free(s);
}

/* Signatures a byte short or long fail (RFC 8017 §8.2.2 step 1), even when
   the short one is a good signature with its leading zero dropped. */
static void
test_lengths(void)
{
	unsigned char	h[32], sig[MAX_K + 1], em[MAX_K];
	size_t		len;
	int		pss, n;

	for (pss = 0; pss < 2; pss++) {
		/* A good signature whose first byte is zero. */
		for (n = 0; n < 4000; n++) {
			RAND_bytes(h, sizeof h);
			len = sign(&keys[0], pss, "SHA256", -1, h, 32, sig);
			if (sig[0] == 0)
				break;
		}
		CHECK(sig[0] == 0);
		CHECK(fast_verify(&keys[0], pss, "SHA256", h, 32, sig, len) == 1);
		CHECK(fast_verify(&keys[0], pss, "SHA256", h, 32, sig + 1, len - 1) == 0);
		memmove(sig + 1, sig, len);
		sig[0] = 0;
		CHECK(fast_verify(&keys[0], pss, "SHA256", h, 32, sig, len + 1) == 0);
	}
	memset(em, 0, sizeof em);
	CHECK(fast_verify(&keys[0], 0, "SHA256", h, 32, em, 0) == 0);
}

/* Random encodings below n fail both ways. */
static void
test_random_encodings(void)
{
	unsigned char	h[32], sig[MAX_K], em[MAX_K];
	size_t		i, n;
	int		pss;

	RAND_bytes(h, sizeof h);
	for (i = 0; i < 4; i++) {
		for (n = 0; n < 24; n++) {
			RAND_bytes(em, (int)keys[i].k);
			em[0] = n % 2 ? 0x00 : em[0] & 0x3f;
			if (n % 3 == 0)
				em[1] = 0x01;
			if (sign_raw(&keys[i], em, sig) != keys[i].k)
				continue;
			for (pss = 0; pss < 2; pss++)
				AGREE(&keys[i], pss, "SHA256", h, 32, sig, keys[i].k, 0);
		}
	}
}

/*
 * Bleichenbacher's forgery for e = 3 (2006): no private key, just a cube
 * root.  s is the smallest number whose cube is at least
 * 00 01 FF 00 DigestInfo H 00..00; its cube keeps that prefix and has
 * garbage after it, so a verifier that parses the padding and ignores what
 * follows the hash accepts it.  Both must refuse it.
 */
static void
test_bleichenbacher_e3(void)
{
	const struct tkey	*t = &keys[3];
	unsigned char		 h[32], target[MAX_K], sig[MAX_K], em[MAX_K];
	BN_CTX			*bc = BN_CTX_new();
	BIGNUM			*goal = BN_new(), *s = BN_new(), *cube = BN_new();
	BIGNUM			*three = BN_new();
	int			 bit;

	RAND_bytes(h, sizeof h);
	memset(target, 0, sizeof target);
	target[1] = 0x01;
	target[2] = 0xff;
	memcpy(target + 4, di_sha256, sizeof di_sha256);
	memcpy(target + 4 + sizeof di_sha256, h, sizeof h);
	BN_bin2bn(target, (int)t->k, goal);
	BN_set_word(three, 3);
	/* The integer cube root of goal, rounded up, bit by bit. */
	BN_zero(s);
	for (bit = BN_num_bits(goal) / 3 + 1; bit >= 0; bit--) {
		BN_set_bit(s, bit);
		BN_exp(cube, s, three, bc);
		if (BN_cmp(cube, goal) > 0)
			BN_clear_bit(s, bit);
	}
	BN_add_word(s, 1);
	BN_exp(cube, s, three, bc);
	CHECK(BN_cmp(cube, t->n) < 0);
	BN_bn2binpad(s, sig, (int)t->k);
	/* The forgery is real: its public operation keeps the whole prefix. */
	open_raw(t, sig, em);
	CHECK(memcmp(em, target, 4 + sizeof di_sha256 + sizeof h) == 0);
	CHECK(memcmp(em, target, t->k) != 0);
	AGREE(t, 0, "SHA256", h, 32, sig, t->k, 0);
	BN_free(goal);
	BN_free(s);
	BN_free(cube);
	BN_free(three);
	BN_CTX_free(bc);
}

/* A public key of n and e, or NULL. */
static EVP_PKEY *
public_key(const BIGNUM *n, const BIGNUM *e)
{
	EVP_PKEY	*pkey = NULL;
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params;

	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	params = OSSL_PARAM_BLD_to_param(bld);
	if (EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(c);
	return pkey;
}

/* Whether a key of n and e gets no hot-path form, and EVP_PKEY_verify
   verifies nothing with it either. */
static int
refused(const BIGNUM *n, const BIGNUM *e)
{
	struct tkey	t;
	unsigned char	h[32], sig[MAX_K * 5];
	int		ok;

	memset(&t, 0, sizeof t);
	if ((t.pkey = public_key(n, e)) == NULL)
		return 0;
	t.k = (size_t)BN_num_bytes(n);
	t.rsa = auth_rsa_new(t.pkey);
	memset(h, 1, sizeof h);
	memset(sig, 0, t.k);
	sig[t.k - 1] = 2;
	ok = t.rsa == NULL && t.k <= sizeof sig &&
	    evp_verify(&t, 0, "SHA256", h, 32, sig, t.k) == 0;
	auth_rsa_free(t.rsa);
	EVP_PKEY_free(t.pkey);
	return ok;
}

/* Keys OpenSSL's public operation refuses get no hot-path form: e as large
   as n; e over 64 bits with a modulus over 3072 bits; a modulus over 16384
   bits.  The largest allowed e and modulus are taken. */
static void
test_refused_keys(void)
{
	BIGNUM	*n = BN_new(), *e = BN_new();

	CHECK(refused(keys[0].n, keys[0].n));
	/* A 4096-bit odd number stands for the modulus: only its size counts. */
	BN_rand(n, 4096, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
	BN_zero(e);
	BN_set_bit(e, 64);
	BN_add_word(e, 1);			/* 2^64 + 1: 65 bits */
	CHECK(refused(n, e));
	BN_set_word(e, 65537);
	BN_rand(n, 16385, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
	CHECK(refused(n, e));
	BN_rand(n, 16384, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
	CHECK(!refused(n, e));
	BN_rand(n, 4096, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
	BN_rand(e, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
	CHECK(!refused(n, e));
	BN_free(n);
	BN_free(e);
}

/* Sign 00 01 FF..FF 00 prefix h with the raw private operation. */
static void
pkcs1_raw(const struct tkey *t, const unsigned char *prefix, size_t plen,
    const unsigned char *h, size_t hlen, unsigned char *sig)
{
	unsigned char	em[MAX_K];

	memset(em, 0xff, t->k);
	em[0] = 0x00;
	em[1] = 0x01;
	em[t->k - hlen - plen - 1] = 0x00;
	memcpy(em + t->k - hlen - plen, prefix, plen);
	memcpy(em + t->k - hlen, h, hlen);
	CHECK(sign_raw(t, em, sig) == t->k);
}

/*
 * Encodings a lax verifier might take: DigestInfo without its NULL
 * parameters (an old form some accept), the hash named for SHA-384 around a
 * SHA-256 value, and PSS whose mask came from SHA-1 or whose hash is
 * another.  And a hash whose length does not fit the algorithm.
 */
static void
test_other_encodings(void)
{
	static const unsigned char no_null[] = {
		0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x02, 0x01, 0x04, 0x20
	};
	static const unsigned char sha384_named[] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x20
	};
	static const unsigned char sha384_named_48[] = {	/* the real one */
		0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30
	};
	const struct tkey	*t = &keys[0];
	unsigned char		 h[64], sig[MAX_K];
	EVP_PKEY_CTX		*c;
	EVP_MD			*sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	size_t			 len;

	RAND_bytes(h, sizeof h);
	pkcs1_raw(t, no_null, sizeof no_null, h, 32, sig);
	AGREE(t, 0, "SHA256", h, 32, sig, t->k, 0);
	pkcs1_raw(t, sha384_named, sizeof sha384_named, h, 32, sig);
	AGREE(t, 0, "SHA256", h, 32, sig, t->k, 0);

	/* PSS with MGF1 over SHA-1. */
	c = EVP_PKEY_CTX_new_from_pkey(NULL, t->pkey, NULL);
	len = sizeof sig;
	CHECK(c != NULL && EVP_PKEY_sign_init(c) == 1 && set_scheme(c, 1, "SHA256", -1) &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, sha1) == 1 &&
	    EVP_PKEY_sign(c, sig, &len, h, 32) == 1);
	AGREE(t, 1, "SHA256", h, 32, sig, len, 0);
	EVP_PKEY_CTX_free(c);
	EVP_MD_free(sha1);

	/* PSS over SHA-384 judged as SHA-256 of the same leading bytes. */
	len = sign(t, 1, "SHA384", -1, h, 48, sig);
	AGREE(t, 1, "SHA384", h, 48, sig, len, 1);
	AGREE(t, 1, "SHA256", h, 32, sig, len, 0);

	/*
	 * A hash whose length is not the named hash's is refused, even when
	 * the encoding signed is exactly the one that length would give.
	 * EVP_PKEY_verify (OpenSSL 3.0) takes these: it does not hold the
	 * hash's length to the digest's.  The verifier always passes the
	 * digest's own output, so only the stricter answer is checked here.
	 */
	pkcs1_raw(t, sha384_named_48, sizeof sha384_named_48, h, 32, sig);
	CHECK(fast_verify(t, 0, "SHA384", h, 32, sig, t->k) == 0);
	pkcs1_raw(t, di_sha256, sizeof di_sha256, h, 48, sig);
	CHECK(fast_verify(t, 0, "SHA256", h, 48, sig, t->k) == 0);
	len = sign(t, 0, "SHA256", -1, h, 32, sig);
	CHECK(fast_verify(t, 0, "SHA256", h, 32, sig, len) == 1);
	CHECK(fast_verify(t, 0, "SHA384", h, 32, sig, len) == 0);
	CHECK(fast_verify(t, 1, "SHA384", h, 32, sig, len) == 0);
}

int
main(void)
{
	size_t	i;

	mdctx = EVP_MD_CTX_new();
	tkey_make(&keys[0], 2048, 65537);
	tkey_make(&keys[1], 1537, 65537);
	tkey_make(&keys[2], 2047, 1000003);
	tkey_make(&keys[3], 3072, 3);
	tkey_make(&small, 1025, 65537);
	UNIT_RUN(test_keys_load);
	UNIT_RUN(test_good_signatures);
	UNIT_RUN(test_scheme_confusion);
	UNIT_RUN(test_edited_encodings);
	UNIT_RUN(test_pss_salt_lengths);
	UNIT_RUN(test_pss_top_bits);
	UNIT_RUN(test_short_modulus);
	UNIT_RUN(test_edge_values);
	UNIT_RUN(test_lengths);
	UNIT_RUN(test_random_encodings);
	UNIT_RUN(test_bleichenbacher_e3);
	UNIT_RUN(test_refused_keys);
	UNIT_RUN(test_other_encodings);
	fprintf(stderr, "  %d cases judged alike by the hot path and EVP_PKEY_verify\n",
	    agreed);
	for (i = 0; i < 4; i++)
		tkey_free(&keys[i]);
	tkey_free(&small);
	EVP_MD_CTX_free(mdctx);
	UNIT_DONE();
}
