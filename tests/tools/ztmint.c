/*
 * tests/tools/ztmint.c -- mint tokens, JWKs and MACs for tests and benchmarks.
 *
 *   ztmint token --alg ALG --key FILE [--kid K] [--header JSON]
 *       [--claims JSON] [--exp-in SEC] [--nbf-in SEC] [--iat-in SEC]
 *       [--now T] [--lib libjwt|auth]
 *   ztmint sign --alg ALG --key FILE --header-raw TEXT --claims-raw TEXT
 *   ztmint jwk --pub PEMFILE | --secret FILE [--kid K] [--alg A] [--use U]
 *   ztmint libjwt-verify --key FILE	(tokens on stdin, one a line)
 *   ztmint hmac --alg HS256|HS384|HS512 --key FILE [--b64]	(bytes on stdin)
 *
 * Tokens come from libjwt 1.10.2 where it can make them (HS*, RS*, ES*)
 * and from our own auth_sign() otherwise (PS*, EdDSA), so most test
 * tokens are not made by the code that judges them.  "sign" takes the
 * header and claims as exact bytes, for attack vectors no JSON library
 * would write (duplicate members, odd spacing, a lying alg); "--alg none"
 * there gives an unsigned token.  "libjwt-verify" is an independent
 * oracle: plain jwt_decode() with the key file's bytes, nothing else.
 *
 * Results go to stdout.  An error is one line on stderr and exit 1; a bad
 * command line exits 2.  Key files are read as they are: a PEM, or for HS*
 * the raw secret, trailing newline included if the file has one.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"

#define MINT_ERROR	1
#define MINT_USAGE	2

/* Long options; each value is its own code. */
enum {
	OPT_ALG = 256,
	OPT_B64,
	OPT_CLAIMS,
	OPT_CLAIMS_RAW,
	OPT_EXP_IN,
	OPT_HEADER,
	OPT_HEADER_RAW,
	OPT_IAT_IN,
	OPT_KEY,
	OPT_KID,
	OPT_LIB,
	OPT_NBF_IN,
	OPT_NOW,
	OPT_PUB,
	OPT_SECRET,
	OPT_USE,
	OPT_HELP
};

/* Everything a command line may say; NULL when not given. */
struct mint_opts {
	const char	*alg;
	const char	*key;
	const char	*kid;
	const char	*header;
	const char	*claims;
	const char	*header_raw;
	const char	*claims_raw;
	const char	*exp_in;
	const char	*nbf_in;
	const char	*iat_in;
	const char	*now;
	const char	*lib;
	const char	*pub;
	const char	*secret;
	const char	*use;
	int		 b64;
};

/* One subcommand. */
struct mint_cmd {
	const char		*name;
	const char		*usage;
	const struct option	*options;
	int			(*run)(const struct mint_opts *);
};

static const struct option mint_token_options[] = {
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "claims", required_argument, NULL, OPT_CLAIMS },
	{ "exp-in", required_argument, NULL, OPT_EXP_IN },
	{ "nbf-in", required_argument, NULL, OPT_NBF_IN },
	{ "iat-in", required_argument, NULL, OPT_IAT_IN },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "lib", required_argument, NULL, OPT_LIB },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};
static const struct option mint_sign_options[] = {
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "header-raw", required_argument, NULL, OPT_HEADER_RAW },
	{ "claims-raw", required_argument, NULL, OPT_CLAIMS_RAW },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};
static const struct option mint_jwk_options[] = {
	{ "pub", required_argument, NULL, OPT_PUB },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "use", required_argument, NULL, OPT_USE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};
static const struct option mint_verify_options[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};
static const struct option mint_hmac_options[] = {
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "b64", no_argument, NULL, OPT_B64 },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static int	mint_token(const struct mint_opts *);
static int	mint_sign(const struct mint_opts *);
static int	mint_jwk(const struct mint_opts *);
static int	mint_libjwt_verify(const struct mint_opts *);
static int	mint_hmac(const struct mint_opts *);

static const struct mint_cmd mint_cmds[] = {
	{ "token", "token --alg ALG --key FILE [--kid K] [--header JSON] "
	    "[--claims JSON] [--exp-in SEC] [--nbf-in SEC] [--iat-in SEC] "
	    "[--now T] [--lib libjwt|auth]", mint_token_options, mint_token },
	{ "sign", "sign --alg ALG|none [--key FILE] --header-raw TEXT "
	    "--claims-raw TEXT", mint_sign_options, mint_sign },
	{ "jwk", "jwk --pub PEMFILE|--secret FILE [--kid K] [--alg A] "
	    "[--use U]", mint_jwk_options, mint_jwk },
	{ "libjwt-verify", "libjwt-verify --key FILE < tokens",
	    mint_verify_options, mint_libjwt_verify },
	{ "hmac", "hmac --alg HS256|HS384|HS512 --key FILE [--b64] < data",
	    mint_hmac_options, mint_hmac },
};
#define MINT_NCMDS (sizeof mint_cmds / sizeof mint_cmds[0])

static const struct mint_cmd	*mint_cmd;	/* the one running */

/* Print an error line. */
static void __attribute__((format(printf, 1, 2)))
mint_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("ztmint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print a usage error and the running command's synopsis; returns 2. */
static int __attribute__((format(printf, 1, 2)))
mint_usage(const char *fmt, ...)
{
	va_list	ap;

	fputs("ztmint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (mint_cmd != NULL)
		fprintf(stderr, " (usage: ztmint %s)\n", mint_cmd->usage);
	else
		fputs(" (try ztmint --help)\n", stderr);
	return MINT_USAGE;
}

/* Print every synopsis to f. */
static void
mint_help(FILE *f)
{
	size_t	i;

	for (i = 0; i < MINT_NCMDS; i++)
		fprintf(f, "%s ztmint %s\n", i == 0 ? "usage:" : "      ",
		    mint_cmds[i].usage);
}

/* realloc that exits on out-of-memory. */
static void *
mint_realloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL) {
		mint_error("out of memory");
		abort();
	}
	return p;
}

/* Read all of f into a new NUL-terminated buffer; NULL on a read error. */
static unsigned char *
mint_read_stream(FILE *f, size_t *len)
{
	unsigned char	*buf = NULL;
	size_t		 n = 0, cap = 0, r;

	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = mint_realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r != 0);
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Read a whole file; NULL after printing an error. */
static unsigned char *
mint_read_file(const char *path, size_t *len)
{
	FILE		*f;
	unsigned char	*buf;

	if ((f = fopen(path, "rb")) == NULL) {
		mint_error("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = mint_read_stream(f, len)) == NULL)
		mint_error("cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	return buf;
}

/* Parse a whole decimal integer; 0, or -1 when s is not one. */
static int
mint_parse_ll(const char *s, long long *v)
{
	char	*end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		return -1;
	return 0;
}

/* Parse a JSON object argument; NULL after a usage message. */
static json_t *
mint_parse_object(const char *what, const char *text)
{
	json_error_t	 err;
	json_t		*obj;

	if ((obj = json_loads(text, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		mint_usage("%s: %s", what, err.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		mint_usage("%s: not a JSON object", what);
		return NULL;
	}
	return obj;
}

/* Put name = now + the seconds in arg into claims; -1 on a bad number. */
static int
mint_set_time(json_t *claims, const char *name, const char *opt,
    const char *arg, long long now)
{
	long long	sec;

	if (arg == NULL)
		return 0;
	if (mint_parse_ll(arg, &sec) != 0 ||
	    (sec > 0 && now > LLONG_MAX - sec) ||
	    (sec < 0 && now < LLONG_MIN - sec)) {
		mint_usage("%s: bad number of seconds '%s'", opt, arg);
		return -1;
	}
	json_object_set_new(claims, name, json_integer(now + sec));
	return 0;
}

/* The compact JWS of header and claims (exact bytes), or NULL. */
static char *
mint_compact(int alg, const unsigned char *key, size_t key_len,
    const char *header, size_t header_len, const char *claims,
    size_t claims_len)
{
	char		*h64, *c64, *s64 = NULL, *input, *token = NULL;
	unsigned char	*sig = NULL;
	size_t		 input_len, sig_len = 0, len;
	char		*cause = NULL;

	h64 = auth_b64url_encode((const unsigned char *)header, header_len);
	c64 = auth_b64url_encode((const unsigned char *)claims, claims_len);
	input_len = strlen(h64) + 1 + strlen(c64);
	input = mint_realloc(NULL, input_len + 1);
	snprintf(input, input_len + 1, "%s.%s", h64, c64);
	if (alg != -1) {
		sig = auth_sign(alg, key, key_len, (const unsigned char *)input,
		    input_len, &sig_len, &cause);
		if (sig == NULL) {
			mint_error("cannot sign: %s", cause);
			free(cause);
			goto out;
		}
	}
	s64 = auth_b64url_encode(sig, sig_len);
	len = input_len + 1 + strlen(s64);
	token = mint_realloc(NULL, len + 1);
	snprintf(token, len + 1, "%s.%s", input, s64);
out:
	free(s64);
	free(sig);
	free(input);
	free(c64);
	free(h64);
	return token;
}

/* A token with libjwt's encoder; NULL after an error. */
static char *
mint_token_libjwt(int alg, const unsigned char *key, size_t key_len,
    json_t *header, json_t *claims)
{
	jwt_t	*jwt = NULL;
	char	*text = NULL, *token = NULL;
	int	 r;

	if (key_len > INT_MAX) {
		mint_error("key too long for libjwt");
		return NULL;
	}
	if ((r = jwt_new(&jwt)) != 0) {
		mint_error("libjwt: jwt_new: %s", strerror(r));
		return NULL;
	}
	r = jwt_set_alg(jwt, jwt_str_alg(auth_alg_name(alg)), key,
	    (int)key_len);
	if (r != 0) {
		mint_error("libjwt: jwt_set_alg: %s", strerror(r));
		goto out;
	}
	if (json_object_size(claims) != 0) {
		if ((text = json_dumps(claims, JSON_COMPACT)) == NULL) {
			mint_error("cannot write claims");
			goto out;
		}
		if ((r = jwt_add_grants_json(jwt, text)) != 0) {
			mint_error("libjwt: jwt_add_grants_json: %s",
			    strerror(r));
			goto out;
		}
		free(text);
		text = NULL;
	}
	if (json_object_size(header) != 0) {
		if ((text = json_dumps(header, JSON_COMPACT)) == NULL) {
			mint_error("cannot write header");
			goto out;
		}
		if ((r = jwt_add_headers_json(jwt, text)) != 0) {
			mint_error("libjwt: jwt_add_headers_json: %s",
			    strerror(r));
			goto out;
		}
	}
	errno = 0;
	if ((token = jwt_encode_str(jwt)) == NULL)
		mint_error("libjwt: jwt_encode_str: %s",
		    errno != 0 ? strerror(errno) : "failed");
out:
	free(text);
	jwt_free(jwt);
	return token;
}

/* A token from auth_sign(), header {"alg","typ",extras...}. */
static char *
mint_token_auth(int alg, const unsigned char *key, size_t key_len,
    json_t *extras, json_t *claims)
{
	json_t	*header;
	char	*htext = NULL, *ctext = NULL, *token = NULL;

	header = json_object();
	json_object_set_new(header, "alg", json_string(auth_alg_name(alg)));
	json_object_set_new(header, "typ", json_string("JWT"));
	json_object_update(header, extras);
	htext = json_dumps(header, JSON_COMPACT);
	ctext = json_dumps(claims, JSON_COMPACT);
	if (htext == NULL || ctext == NULL)
		mint_error("cannot write header or claims");
	else {
		token = mint_compact(alg, key, key_len, htext, strlen(htext),
		    ctext, strlen(ctext));
	}
	free(ctext);
	free(htext);
	json_decref(header);
	return token;
}

/* ztmint token. */
static int
mint_token(const struct mint_opts *o)
{
	json_t		*claims = NULL, *header = NULL, *typ;
	unsigned char	*key = NULL;
	size_t		 key_len;
	char		*token = NULL;
	long long	 now;
	int		 alg, use_libjwt, ret = MINT_USAGE;

	if (o->alg == NULL || o->key == NULL)
		return mint_usage("--alg and --key are needed");
	if ((alg = auth_alg_from_name(o->alg)) == -1)
		return mint_usage("unknown algorithm '%s'", o->alg);
	use_libjwt = alg <= AUTH_ALG_RS512 ||
	    (alg >= AUTH_ALG_ES256 && alg <= AUTH_ALG_ES512);
	if (o->lib != NULL) {
		if (strcmp(o->lib, "auth") == 0)
			use_libjwt = 0;
		else if (strcmp(o->lib, "libjwt") != 0)
			return mint_usage("--lib is libjwt or auth");
		else if (!use_libjwt)
			return mint_usage("libjwt cannot sign %s", o->alg);
	}
	now = (long long)time(NULL);
	if (o->now != NULL && mint_parse_ll(o->now, &now) != 0)
		return mint_usage("--now: bad time '%s'", o->now);

	if (o->claims != NULL)
		claims = mint_parse_object("--claims", o->claims);
	else
		claims = json_object();
	if (claims == NULL)
		goto out;
	if (o->header != NULL)
		header = mint_parse_object("--header", o->header);
	else
		header = json_object();
	if (header == NULL)
		goto out;
	if (json_object_get(header, "alg") != NULL) {
		mint_usage("--header cannot set alg (use ztmint sign)");
		goto out;
	}
	typ = json_object_get(header, "typ");
	if (use_libjwt && typ != NULL && !(json_is_string(typ) &&
	    strcmp(json_string_value(typ), "JWT") == 0)) {
		mint_usage("libjwt always writes typ JWT (use --lib auth)");
		goto out;
	}
	if (o->kid != NULL)
		json_object_set_new(header, "kid", json_string(o->kid));
	if (mint_set_time(claims, "iat", "--iat-in", o->iat_in, now) != 0 ||
	    mint_set_time(claims, "nbf", "--nbf-in", o->nbf_in, now) != 0 ||
	    mint_set_time(claims, "exp", "--exp-in", o->exp_in, now) != 0)
		goto out;

	ret = MINT_ERROR;
	if ((key = mint_read_file(o->key, &key_len)) == NULL)
		goto out;
	if (use_libjwt)
		token = mint_token_libjwt(alg, key, key_len, header, claims);
	else
		token = mint_token_auth(alg, key, key_len, header, claims);
	if (token != NULL) {
		printf("%s\n", token);
		ret = 0;
	}
out:
	free(token);
	if (key != NULL)
		OPENSSL_cleanse(key, key_len);
	free(key);
	json_decref(header);
	json_decref(claims);
	return ret;
}

/* ztmint sign. */
static int
mint_sign(const struct mint_opts *o)
{
	unsigned char	*key = NULL;
	size_t		 key_len = 0;
	char		*token;
	int		 alg;

	if (o->alg == NULL || o->header_raw == NULL || o->claims_raw == NULL)
		return mint_usage("--alg, --header-raw and --claims-raw "
		    "are needed");
	if (strcmp(o->alg, "none") == 0)
		alg = -1;
	else if ((alg = auth_alg_from_name(o->alg)) == -1)
		return mint_usage("unknown algorithm '%s'", o->alg);
	if (alg != -1 && o->key == NULL)
		return mint_usage("--key is needed");

	if (alg != -1 && (key = mint_read_file(o->key, &key_len)) == NULL)
		return MINT_ERROR;
	token = mint_compact(alg, key, key_len, o->header_raw,
	    strlen(o->header_raw), o->claims_raw, strlen(o->claims_raw));
	if (key != NULL)
		OPENSSL_cleanse(key, key_len);
	free(key);
	if (token == NULL)
		return MINT_ERROR;
	printf("%s\n", token);
	free(token);
	return 0;
}

/* Passphrase callback that refuses, so an encrypted key never prompts. */
static int
mint_no_pass(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/*
 * A key from a PEM: a private key (its public half is used), an SPKI
 * public key, an X.509 certificate or a PKCS#1 RSA public key.
 */
static EVP_PKEY *
mint_load_pem(const unsigned char *pem, size_t len)
{
	OSSL_DECODER_CTX	*dctx;
	BIO			*bio;
	EVP_PKEY		*pkey = NULL;
	X509			*x509;
	int			 i;

	if (len > INT_MAX)
		return NULL;
	for (i = 0; i < 4 && pkey == NULL; i++) {
		if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
			break;
		switch (i) {
		case 0:
			pkey = PEM_read_bio_PrivateKey(bio, NULL, mint_no_pass,
			    NULL);
			break;
		case 1:
			pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
			break;
		case 2:
			x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
			if (x509 != NULL) {
				pkey = X509_get_pubkey(x509);
				X509_free(x509);
			}
			break;
		case 3:
			dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM",
			    "type-specific", "RSA", EVP_PKEY_PUBLIC_KEY, NULL,
			    NULL);
			if (dctx != NULL) {
				if (!OSSL_DECODER_from_bio(dctx, bio))
					pkey = NULL;
				OSSL_DECODER_CTX_free(dctx);
			}
			break;
		}
		BIO_free(bio);
	}
	return pkey;
}

/* Put the base64url of a big number, padded to pad bytes (0: minimal). */
static int
mint_set_bn(json_t *jwk, const char *name, EVP_PKEY *pkey, const char *param,
    size_t pad)
{
	BIGNUM		*bn = NULL;
	unsigned char	*buf;
	size_t		 n;
	char		*b64;
	int		 ret = -1;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return -1;
	n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	buf = mint_realloc(NULL, n);
	if (BN_bn2binpad(bn, buf, (int)n) == (int)n) {
		b64 = auth_b64url_encode(buf, n);
		json_object_set_new(jwk, name, json_string(b64));
		free(b64);
		ret = 0;
	}
	free(buf);
	BN_free(bn);
	return ret;
}

/* Fill jwk with the public members of pkey; -1 after an error. */
static int
mint_jwk_public(json_t *jwk, EVP_PKEY *pkey, const char *path)
{
	unsigned char	*buf;
	char		 group[64], *b64;
	const char	*crv;
	size_t		 len, size;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		json_object_set_new(jwk, "kty", json_string("RSA"));
		if (mint_set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N,
		    0) != 0 || mint_set_bn(jwk, "e", pkey,
		    OSSL_PKEY_PARAM_RSA_E, 0) != 0)
			goto bad;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len))
			goto bad;
		if (strcmp(group, "prime256v1") == 0) {
			crv = "P-256";
			size = 32;
		} else if (strcmp(group, "secp384r1") == 0) {
			crv = "P-384";
			size = 48;
		} else if (strcmp(group, "secp521r1") == 0) {
			crv = "P-521";
			size = 66;
		} else {
			mint_error("'%s': unsupported EC curve %s", path,
			    group);
			return -1;
		}
		json_object_set_new(jwk, "kty", json_string("EC"));
		json_object_set_new(jwk, "crv", json_string(crv));
		if (mint_set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X,
		    size) != 0 || mint_set_bn(jwk, "y", pkey,
		    OSSL_PKEY_PARAM_EC_PUB_Y, size) != 0)
			goto bad;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		if (!EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len))
			goto bad;
		buf = mint_realloc(NULL, len);
		if (!EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, buf, len, &len)) {
			free(buf);
			goto bad;
		}
		b64 = auth_b64url_encode(buf, len);
		free(buf);
		json_object_set_new(jwk, "kty", json_string("OKP"));
		json_object_set_new(jwk, "crv", json_string("Ed25519"));
		json_object_set_new(jwk, "x", json_string(b64));
		free(b64);
		return 0;
	}
	mint_error("'%s': unsupported key type %s", path,
	    EVP_PKEY_get0_type_name(pkey) != NULL ?
	    EVP_PKEY_get0_type_name(pkey) : "(unknown)");
	return -1;
bad:
	mint_error("'%s': cannot get the public key", path);
	return -1;
}

/* ztmint jwk. */
static int
mint_jwk(const struct mint_opts *o)
{
	json_t		*jwk;
	EVP_PKEY	*pkey = NULL;
	unsigned char	*data;
	size_t		 len;
	char		*text = NULL, *b64;
	int		 ret = MINT_ERROR;

	if ((o->pub == NULL) == (o->secret == NULL))
		return mint_usage("give one of --pub and --secret");
	if ((data = mint_read_file(o->pub ? o->pub : o->secret, &len)) == NULL)
		return MINT_ERROR;

	jwk = json_object();
	if (o->secret != NULL) {
		b64 = auth_b64url_encode(data, len);
		json_object_set_new(jwk, "kty", json_string("oct"));
		json_object_set_new(jwk, "k", json_string(b64));
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	} else {
		if ((pkey = mint_load_pem(data, len)) == NULL) {
			mint_error("'%s': no key found", o->pub);
			goto out;
		}
		if (mint_jwk_public(jwk, pkey, o->pub) != 0)
			goto out;
	}
	if (o->kid != NULL)
		json_object_set_new(jwk, "kid", json_string(o->kid));
	if (o->use != NULL)
		json_object_set_new(jwk, "use", json_string(o->use));
	if (o->alg != NULL)
		json_object_set_new(jwk, "alg", json_string(o->alg));
	if ((text = json_dumps(jwk, JSON_COMPACT)) == NULL) {
		mint_error("cannot write the JWK");
		goto out;
	}
	printf("%s\n", text);
	ret = 0;
out:
	free(text);
	json_decref(jwk);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(data, len);
	free(data);
	ERR_clear_error();
	return ret;
}

/* ztmint libjwt-verify. */
static int
mint_libjwt_verify(const struct mint_opts *o)
{
	unsigned char	*key;
	size_t		 key_len, cap = 0;
	ssize_t		 n;
	char		*line = NULL;
	jwt_t		*jwt;
	int		 ok;

	if (o->key == NULL)
		return mint_usage("--key is needed");
	if ((key = mint_read_file(o->key, &key_len)) == NULL)
		return MINT_ERROR;
	if (key_len > INT_MAX) {
		mint_error("'%s': too long", o->key);
		free(key);
		return MINT_ERROR;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		jwt = NULL;
		ok = jwt_decode(&jwt, line, key, (int)key_len) == 0;
		jwt_free(jwt);
		puts(ok ? "pass" : "fail");
	}
	free(line);
	OPENSSL_cleanse(key, key_len);
	free(key);
	ERR_clear_error();
	if (ferror(stdin)) {
		mint_error("cannot read stdin: %s", strerror(errno));
		return MINT_ERROR;
	}
	return 0;
}

/* ztmint hmac. */
static int
mint_hmac(const struct mint_opts *o)
{
	static const unsigned char	 empty[1];
	const char			*digest;
	unsigned char			*key = NULL, *data = NULL;
	unsigned char			 mac[EVP_MAX_MD_SIZE];
	size_t				 key_len, data_len, mac_len, i;
	char				*b64;
	int				 ret = MINT_ERROR;

	if (o->alg == NULL || o->key == NULL)
		return mint_usage("--alg and --key are needed");
	if (strcmp(o->alg, "HS256") == 0)
		digest = "SHA256";
	else if (strcmp(o->alg, "HS384") == 0)
		digest = "SHA384";
	else if (strcmp(o->alg, "HS512") == 0)
		digest = "SHA512";
	else
		return mint_usage("--alg is HS256, HS384 or HS512");

	if ((key = mint_read_file(o->key, &key_len)) == NULL)
		goto out;
	if ((data = mint_read_stream(stdin, &data_len)) == NULL) {
		mint_error("cannot read stdin: %s", strerror(errno));
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL,
	    key_len ? key : empty, key_len, data_len ? data : empty, data_len,
	    mac, sizeof mac, &mac_len) == NULL) {
		mint_error("cannot compute HMAC");
		goto out;
	}
	if (o->b64) {
		b64 = auth_b64_encode(mac, mac_len);
		printf("%s\n", b64);
		free(b64);
	} else {
		for (i = 0; i < mac_len; i++)
			printf("%02x", mac[i]);
		putchar('\n');
	}
	ret = 0;
out:
	if (key != NULL)
		OPENSSL_cleanse(key, key_len);
	free(key);
	free(data);
	ERR_clear_error();
	return ret;
}

/* Store one parsed option in o. */
static void
mint_set_opt(struct mint_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_ALG:
		o->alg = arg;
		break;
	case OPT_B64:
		o->b64 = 1;
		break;
	case OPT_CLAIMS:
		o->claims = arg;
		break;
	case OPT_CLAIMS_RAW:
		o->claims_raw = arg;
		break;
	case OPT_EXP_IN:
		o->exp_in = arg;
		break;
	case OPT_HEADER:
		o->header = arg;
		break;
	case OPT_HEADER_RAW:
		o->header_raw = arg;
		break;
	case OPT_IAT_IN:
		o->iat_in = arg;
		break;
	case OPT_KEY:
		o->key = arg;
		break;
	case OPT_KID:
		o->kid = arg;
		break;
	case OPT_LIB:
		o->lib = arg;
		break;
	case OPT_NBF_IN:
		o->nbf_in = arg;
		break;
	case OPT_NOW:
		o->now = arg;
		break;
	case OPT_PUB:
		o->pub = arg;
		break;
	case OPT_SECRET:
		o->secret = arg;
		break;
	case OPT_USE:
		o->use = arg;
		break;
	}
}

/* Run the command argv[1] names. */
int
main(int argc, char **argv)
{
	struct mint_opts	 o;
	size_t			 i;
	int			 c, ret;

	if (argc < 2)
		return mint_usage("no command");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		mint_help(stdout);
		return 0;
	}
	for (i = 0; i < MINT_NCMDS; i++) {
		if (strcmp(argv[1], mint_cmds[i].name) == 0)
			mint_cmd = &mint_cmds[i];
	}
	if (mint_cmd == NULL)
		return mint_usage("unknown command '%s'", argv[1]);

	memset(&o, 0, sizeof o);
	opterr = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+:h", mint_cmd->options,
	    NULL)) != -1) {
		switch (c) {
		case 'h':
		case OPT_HELP:
			printf("usage: ztmint %s\n", mint_cmd->usage);
			return 0;
		case ':':
			return mint_usage("option '%s' needs a value",
			    argv[optind - 1]);
		case '?':
			if (optopt > 0 && optopt < 256)
				return mint_usage("unknown option '-%c'",
				    optopt);
			return mint_usage("unknown option '%s'",
			    argv[optind - 1]);
		default:
			mint_set_opt(&o, c, optarg);
			break;
		}
	}
	if (optind != argc)
		return mint_usage("unexpected argument '%s'", argv[optind]);

	ret = mint_cmd->run(&o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mint_error("cannot write stdout: %s", strerror(errno));
		ret = MINT_ERROR;
	}
	return ret;
}
