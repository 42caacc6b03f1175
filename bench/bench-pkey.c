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
 * compared in the same run.
 *
 *   bench-pkey pkcs1|pss PRIVATE-KEY.pem [SECONDS]
 *
 * Like the reference beside ztwatch's trail figures, it measures OpenSSL,
 * not ztwatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

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

int
main(int argc, char **argv)
{
	unsigned char	 md[32], sig[1024];
	size_t		 siglen = sizeof sig;
	EVP_PKEY	*pkey;
	EVP_PKEY_CTX	*sctx, *vctx;
	FILE		*f;
	double		 seconds = argc > 3 ? atof(argv[3]) : 2.0, t0, t;
	unsigned long	 n = 0, i;
	int		 pss;

	if (argc < 3 || (strcmp(argv[1], "pkcs1") != 0 && strcmp(argv[1], "pss") != 0) ||
	    seconds <= 0) {
		fputs("usage: bench-pkey pkcs1|pss PRIVATE-KEY.pem [SECONDS]\n", stderr);
		return 2;
	}
	pss = strcmp(argv[1], "pss") == 0;
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
	t0 = user_seconds();
	do {
		for (i = 0; i < 256; i++) {
			if (EVP_PKEY_verify(vctx, sig, siglen, md, sizeof md) != 1) {
				fputs("bench-pkey: a signature did not verify\n", stderr);
				return 1;
			}
		}
		n += i;
		t = user_seconds() - t0;
	} while (t < seconds);
	printf("%s %lu verifies in %.2f s: %.0f per CPU-second\n", argv[1], n, t, n / t);
	EVP_PKEY_CTX_free(sctx);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pkey);
	return 0;
}
