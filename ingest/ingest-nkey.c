/*
 * ingest/ingest-nkey.c -- a NATS user nkey: the seed file read once, the
 * server's nonce signed with OpenSSL's Ed25519.
 *
 * DESIGN: nats.c 3.4 drops a signature whose first byte is zero and
 * sends its CONNECT without "sig" (nats-server: "Signature missing", then
 * "Authorization Violation"): one sign-in in 256 failed at random.  With
 * the signing done here (natsOptions_SetNKey's handler), ingest.c sees
 * that case and tries again with a new nonce; the file needs only the
 * seed (the public key is derived from it), and the seed is read once.
 *
 * The nkey text format: RFC 4648 base32 without padding of
 * prefix bytes ‖ key ‖ CRC-16/XMODEM (little-endian) of what precedes.
 * A seed has two prefix bytes ('S' and the key type, here 'U' for a user)
 * and the 32-byte Ed25519 private key; a public key one prefix byte and
 * the 32-byte public key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ingest-nkey.h"

#define NKEY_PREFIX_SEED	(18 << 3)	/* 'S' */
#define NKEY_PREFIX_USER	(20 << 3)	/* 'U' */
#define NKEY_RAW		32
#define NKEY_SEED_TEXT		58		/* base32 of 2 + 32 + 2 bytes */
#define NKEY_PUB_TEXT		56		/* base32 of 1 + 32 + 2 bytes */

struct ingest_nkey {
	EVP_PKEY	*key;
	char		 pub[NKEY_PUB_TEXT + 1];
};

static const char nkey_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* CRC-16/XMODEM, as the nkeys format uses. */
static unsigned
nkey_crc16(const unsigned char *p, size_t n)
{
	unsigned	crc = 0;
	int		bit;

	while (n-- > 0) {
		crc ^= (unsigned)*p++ << 8;
		for (bit = 0; bit < 8; bit++)
			crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
		crc &= 0xffff;
	}
	return crc;
}

/* Decode base32 text (no padding) into out; returns the byte count or -1. */
static int
nkey_base32_decode(const char *text, size_t len, unsigned char *out, size_t outsize)
{
	unsigned	acc = 0;
	int		bits = 0;
	size_t		i, n = 0;
	const char	*c;

	for (i = 0; i < len; i++) {
		if (text[i] == '\0' || (c = strchr(nkey_alphabet, text[i])) == NULL)
			return -1;
		acc = (acc << 5) | (unsigned)(c - nkey_alphabet);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n == outsize)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)n;
}

/* Encode in as base32 without padding; out holds (n * 8 + 4) / 5 + 1. */
static void
nkey_base32_encode(const unsigned char *in, size_t n, char *out)
{
	unsigned	acc = 0;
	int		bits = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			*out++ = nkey_alphabet[(acc >> bits) & 31];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		*out++ = nkey_alphabet[(acc << (5 - bits)) & 31];
	*out = '\0';
}

/* The 32-byte private key of a user seed's text, or -1 with *why set. */
static int
nkey_decode_seed(const char *text, unsigned char seed[NKEY_RAW], const char **why)
{
	unsigned char	raw[2 + NKEY_RAW + 2 + 1];
	int		n;

	n = nkey_base32_decode(text, strlen(text), raw, sizeof raw);
	if (n != 2 + NKEY_RAW + 2) {
		*why = "is not a seed's base32 text";
		return -1;
	}
	if (nkey_crc16(raw, 2 + NKEY_RAW) != (unsigned)(raw[34] | raw[35] << 8)) {
		*why = "fails its checksum";
		return -1;
	}
	if ((raw[0] & 0xf8) != NKEY_PREFIX_SEED ||
	    ((raw[0] & 7) << 5 | (raw[1] & 0xf8) >> 3) != NKEY_PREFIX_USER) {
		*why = "is not a user seed (it must start 'SU')";
		return -1;
	}
	memcpy(seed, raw + 2, NKEY_RAW);
	OPENSSL_cleanse(raw, sizeof raw);
	return 0;
}

/* The public key's nkey text ("U..."). */
static int
nkey_public_text(EVP_PKEY *key, char out[NKEY_PUB_TEXT + 1])
{
	unsigned char	raw[1 + NKEY_RAW + 2];
	size_t		len = NKEY_RAW;
	unsigned	crc;

	raw[0] = NKEY_PREFIX_USER;
	if (EVP_PKEY_get_raw_public_key(key, raw + 1, &len) != 1 || len != NKEY_RAW)
		return -1;
	crc = nkey_crc16(raw, 1 + NKEY_RAW);
	raw[1 + NKEY_RAW] = crc & 0xff;
	raw[2 + NKEY_RAW] = crc >> 8;
	nkey_base32_encode(raw, sizeof raw, out);
	return 0;
}

/* Read the file's lines: the seed ("SU...") and, if there, the public key.
   A credentials file holds its seed the same way, between marker lines. */
static int
nkey_read_file(const char *file, char seed[NKEY_SEED_TEXT + 1], char pub[NKEY_PUB_TEXT + 1],
    char **cause)
{
	char	line[256];
	FILE	*f;

	seed[0] = pub[0] = '\0';
	if ((f = fopen(file, "r")) == NULL) {
		asprintf(cause, "cannot read '%s': %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n \t")] = '\0';
		if (line[0] == 'S' && strlen(line) == NKEY_SEED_TEXT)
			memcpy(seed, line, NKEY_SEED_TEXT + 1);
		else if (line[0] == 'U' && strlen(line) == NKEY_PUB_TEXT)
			memcpy(pub, line, NKEY_PUB_TEXT + 1);
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	if (seed[0] == '\0') {
		asprintf(cause, "'%s' holds no user seed (a line 'SU...', as"
		    " 'nk -gen user' writes)", file);
		return -1;
	}
	return 0;
}

/* Load the nkey file; NULL with *cause on error. */
struct ingest_nkey *
ingest_nkey_load(const char *file, char **cause)
{
	struct ingest_nkey	*k;
	char			 seed_text[NKEY_SEED_TEXT + 1], pub[NKEY_PUB_TEXT + 1];
	unsigned char		 seed[NKEY_RAW];
	const char		*why = NULL;

	if (nkey_read_file(file, seed_text, pub, cause) != 0)
		return NULL;
	if (nkey_decode_seed(seed_text, seed, &why) != 0) {
		OPENSSL_cleanse(seed_text, sizeof seed_text);
		asprintf(cause, "the seed in '%s' %s", file, why);
		return NULL;
	}
	OPENSSL_cleanse(seed_text, sizeof seed_text);
	if ((k = calloc(1, sizeof *k)) == NULL) {
		OPENSSL_cleanse(seed, sizeof seed);
		asprintf(cause, "out of memory");
		return NULL;
	}
	k->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
	OPENSSL_cleanse(seed, sizeof seed);
	if (k->key == NULL || nkey_public_text(k->key, k->pub) != 0) {
		asprintf(cause, "'%s': OpenSSL cannot make an Ed25519 key of its seed", file);
		ingest_nkey_free(k);
		return NULL;
	}
	if (pub[0] != '\0' && strcmp(pub, k->pub) != 0) {
		asprintf(cause, "'%s': the public key %s is not its seed's (%s)", file, pub,
		    k->pub);
		ingest_nkey_free(k);
		return NULL;
	}
	return k;
}

/*
 * The user JWT of a credentials file: the line after "-----BEGIN NATS USER
 * JWT-----" (as nsc writes them); NULL with *cause when there is none.
 */
char *
ingest_creds_jwt(const char *file, char **cause)
{
	char	line[8192], *jwt = NULL;
	int	next = 0;
	FILE	*f;

	if ((f = fopen(file, "r")) == NULL) {
		asprintf(cause, "cannot read '%s': %s", file, strerror(errno));
		return NULL;
	}
	while (jwt == NULL && fgets(line, sizeof line, f) != NULL) {
		if (next && line[0] != '\r' && line[0] != '\n') {
			line[strcspn(line, "\r\n \t")] = '\0';
			jwt = strdup(line);
		}
		next = strstr(line, "BEGIN NATS USER JWT") != NULL;
	}
	fclose(f);
	if (jwt == NULL)
		asprintf(cause, "'%s' holds no user JWT (a line after"
		    " '-----BEGIN NATS USER JWT-----')", file);
	return jwt;
}

/* The user public key ("U..."). */
const char *
ingest_nkey_public(const struct ingest_nkey *k)
{
	return k->pub;
}

/*
 * Sign the nonce: *sig is malloc'd, nats.c frees it.  Runs on nats.c's
 * connect and reconnect threads; the key is only read.
 */
int
ingest_nkey_sign(const struct ingest_nkey *k, const char *nonce, unsigned char **sig,
    int *siglen)
{
	EVP_MD_CTX	*ctx;
	size_t		 len = 64;
	int		 ok;

	*sig = NULL;
	*siglen = 0;
	if (nonce == NULL)
		nonce = "";
	if ((ctx = EVP_MD_CTX_new()) == NULL || (*sig = malloc(len)) == NULL) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->key) == 1 &&
	    EVP_DigestSign(ctx, *sig, &len, (const unsigned char *)nonce, strlen(nonce)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(*sig);
		*sig = NULL;
		return -1;
	}
	*siglen = (int)len;
	return 0;
}

void
ingest_nkey_free(struct ingest_nkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->key);
	free(k);
}
