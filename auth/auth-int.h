/*
 * auth/auth-int.h -- definitions shared by the files of auth/ only.
 * Nothing outside auth/ includes this; it is where OpenSSL types appear.
 */
#ifndef AUTH_INT_H
#define AUTH_INT_H

#include <openssl/evp.h>

#include "auth.h"

/* Key families an algorithm needs; the key decides the family (DESIGN §2). */
enum auth_family {
	AUTH_FAMILY_HMAC,
	AUTH_FAMILY_RSA,		/* RS* and PS* */
	AUTH_FAMILY_EC,
	AUTH_FAMILY_EDDSA
};

/* Facts about one algorithm. */
struct auth_alg_info {
	const char		*name;
	enum auth_family	 family;
	const char		*digest;	/* "SHA256", ...; NULL for EdDSA */
	int			 pss;		/* RSASSA-PSS */
	enum auth_key_type	 ec_type;	/* curve the EC algs need */
	size_t			 sig_len;	/* fixed raw length (ECDSA, EdDSA), else 0 */
};

const struct auth_alg_info *auth_alg_info(int alg);
/* Whether a key of type can verify alg. */
int		 auth_key_type_fits(enum auth_key_type, int alg);

/*
 * One parsed key.  Public keys hold pkey; secrets hold secret/secret_len
 * (never printed, never stored in the trail).  All strings owned.
 */
struct auth_key {
	char			*name;		/* policy key entry name */
	char			*kid;		/* JWK kid; NULL for PEM/secret entries */
	int			 alg;		/* pinned alg or -1 */
	char			*use;		/* JWK "use" or NULL */
	char			*issuer;	/* only for tokens from this iss, or NULL */
	enum auth_key_type	 type;
	EVP_PKEY		*pkey;		/* NULL for AUTH_KEY_OCT */
	unsigned char		*secret;	/* AUTH_KEY_OCT only */
	size_t			 secret_len;
	char			*type_text;	/* "RSA-2048", "EC P-256", "oct" ... */
	char			*source;	/* where it came from, for display */
	char			*fingerprint;
	size_t			 index;		/* position in the keyring */
};

/* The keyring: every key of the policy, parsed once. */
struct auth_keyring {
	struct auth_key		**keys;
	size_t			  nkeys;
	size_t			  cap;
};

void		 auth_keyring_init(struct auth_keyring *);
void		 auth_keyring_release(struct auth_keyring *);

/*
 * Load the keys of one policy "keys" entry into kr.  entry is the entry's
 * JSON object (borrowed), name its member name, dir the policy's folder
 * for relative paths, where a prefix for messages such as
 * "policy.json: keys.idsvr".  Unknown members of entry are an error.
 * Adds one key (pem_file, jwk_file, secret*) or several (jwks_file).
 * Returns 0, or -1 with *cause set ("policy.json: keys.idsvr: ...").
 */
int		 auth_keyring_load_entry(struct auth_keyring *kr, const char *name,
		     json_t *entry, const char *dir, const char *where, char **cause);

/* Parse one JWK object (borrowed) into a new key; NULL with *cause set. */
struct auth_key	*auth_key_from_jwk(json_t *jwk, char **cause);
/* Parse a PEM public key (SPKI, PKCS#1 RSA, or an X.509 certificate). */
struct auth_key	*auth_key_from_pem(const unsigned char *pem, size_t len, char **cause);
/* A secret key from raw bytes. */
struct auth_key	*auth_key_from_secret(const unsigned char *secret, size_t len, char **cause);
void		 auth_key_free(struct auth_key *);

/* ---- small utilities (auth-util.c) ----------------------------------- */

/* printf into a new string; aborts on out-of-memory. */
char		*auth_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char		*auth_strdup(const char *);
void		*auth_malloc(size_t);
void		*auth_calloc(size_t, size_t);
void		*auth_realloc(void *, size_t);
/* Read a whole file; NULL with *cause ("cannot read 'path': ...") on error. */
unsigned char	*auth_read_file(const char *path, size_t max, size_t *len, char **cause);
/* Constant-time equality of two buffers of the same length. */
int		 auth_ct_equal(const void *a, const void *b, size_t len);
/* Lowercase hex of in, NUL-terminated, allocated. */
char		*auth_hex(const unsigned char *in, size_t len);

#endif
