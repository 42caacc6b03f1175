/*
 * bench/bench-pkey.c -- a bare RSA verify, timed the way `openssl speed`
 * times it, for the primitives `openssl speed` (3.0) has no test for.
 *
 * `openssl speed rsa2048` times PKCS#1 v1.5 verification only; PS256 is
 * RSASSA-PSS, whose padding check costs a little more (MGF1 and a second
 * hash).  This verifies one signature of a 32-byte digest again and again
 * with a context set up once, as `openssl speed` does, for about SECONDS
 * of user CPU time, and prints verifies per CPU-second.  With "pkcs1" it
 * times what `openssl speed rsa2048` times, so the two methods can be
 * compared in the same run.  zt-pkcs1 and zt-pss time the same verify done
 * the way ztwatch does it (auth-rsa.c: the exponentiation on the key's
 * cached Montgomery form), to show how much of ztwatch's figure is a
 * cheaper primitive rather than less work around it.
 *
 *   bench-pkey pkcs1|pss|zt-pkcs1|zt-pss PRIVATE-KEY.pem [SECONDS]
 *
 * pkcs1 and pss measure OpenSSL, not ztwatch, like the reference beside
 * ztwatch's trail figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth-int.h"		/* auth_rsa_*, as the unit tests use it */

/* User CPU seconds so far (what `openssl speed` counts). */
static double
user_seconds(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

/* A context for pkey with the padding (and, for PSS, salt) of mode. */
static EVP_PKEY_CTX *
bench_ctx(EVP_PKEY *pkey, int pss, int sign)
{
	EVP_PKEY_CTX	*ctx = EVP_PKEY_CTX_new(pkey, NULL);

	if (ctx == NULL || (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
	    (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The hot-path state for the zt- modes. */
struct bench_zt {
	struct auth_rsa	*rsa;
	EVP_MD_CTX	*mdctx;
	EVP_MD		*sha256;
};

/* One verify of sig over md: EVP_PKEY_verify, or ztwatch's path with z. */
static int
bench_verify(EVP_PKEY_CTX *vctx, struct bench_zt *z, int pss, const unsigned char *md,
    const unsigned char *sig, size_t siglen)
{
	if (z->rsa == NULL)
		return EVP_PKEY_verify(vctx, sig, siglen, md, 32) == 1;
	if (pss)
		return auth_rsa_verify_pss(z->rsa, z->mdctx, z->sha256, md, 32, sig, siglen);
	return auth_rsa_verify_pkcs1(z->rsa, z->sha256, md, 32, sig, siglen);
}

int
main(int argc, char **argv)
{
	static const char *const modes[] = { "pkcs1", "pss", "zt-pkcs1", "zt-pss" };
	unsigned char	 md[32], sig[1024];
	size_t		 siglen = sizeof sig, m;
	EVP_PKEY	*pkey;
	EVP_PKEY_CTX	*sctx, *vctx;
	struct bench_zt	 z = { NULL, NULL, NULL };
	FILE		*f;
	double		 seconds = argc > 3 ? atof(argv[3]) : 2.0, t0, t;
	unsigned long	 n = 0, i;
	int		 pss;

	for (m = 0; argc >= 3 && m < 4 && strcmp(argv[1], modes[m]) != 0; m++)
		;
	if (argc < 3 || m == 4 || seconds <= 0) {
		fputs("usage: bench-pkey pkcs1|pss|zt-pkcs1|zt-pss PRIVATE-KEY.pem [SECONDS]\n",
		    stderr);
		return 2;
	}
	pss = m % 2;
	if ((f = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	memset(md, 0x5a, sizeof md);
	if (pkey == NULL || (sctx = bench_ctx(pkey, pss, 1)) == NULL ||
	    (vctx = bench_ctx(pkey, pss, 0)) == NULL ||
	    EVP_PKEY_sign(sctx, sig, &siglen, md, sizeof md) != 1) {
		fprintf(stderr, "bench-pkey: cannot sign with '%s'\n", argv[2]);
		return 1;
	}
	if (m >= 2 && ((z.rsa = auth_rsa_new(pkey)) == NULL ||
	    (z.mdctx = EVP_MD_CTX_new()) == NULL ||
	    (z.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)) {
		fputs("bench-pkey: cannot set up ztwatch's RSA path\n", stderr);
		return 1;
	}
	t0 = user_seconds();
	do {
		for (i = 0; i < 256; i++) {
			if (!bench_verify(vctx, &z, pss, md, sig, siglen)) {
				fputs("bench-pkey: a signature did not verify\n", stderr);
				return 1;
			}
		}
		n += i;
		t = user_seconds() - t0;
	} while (t < seconds);
	printf("%s %lu verifies in %.2f s: %.0f per CPU-second\n", argv[1], n, t, n / t);
	auth_rsa_free(z.rsa);
	EVP_MD_CTX_free(z.mdctx);
	EVP_MD_free(z.sha256);
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pkey);
	return 0;
}
