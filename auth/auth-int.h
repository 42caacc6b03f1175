/*
 * auth/auth-int.h -- definitions shared by the files of auth/ only.
 * Nothing outside auth/ includes this; it is where OpenSSL types appear.
 */
#ifndef AUTH_INT_H
#define AUTH_INT_H

#include <pthread.h>
#include <stdatomic.h>

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

/* RSA verification on OpenSSL's Montgomery arithmetic (auth-rsa.c): one
   per key and thread, as it holds its own scratch space; the same for every
   RS and PS algorithm. */
struct auth_rsa;
struct auth_rsa	*auth_rsa_new(const EVP_PKEY *);
void		 auth_rsa_free(struct auth_rsa *);
size_t		 auth_rsa_size(const struct auth_rsa *);
int		 auth_rsa_verify_pkcs1(struct auth_rsa *, const EVP_MD *,
		    const unsigned char *, size_t, const unsigned char *, size_t);
int		 auth_rsa_verify_pss(struct auth_rsa *, EVP_MD_CTX *, const EVP_MD *,
		    const unsigned char *, size_t, const unsigned char *, size_t);

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
	int			 remote;	/* fetched (jwks_url): lives with its key set */
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
/* What may be shown of key (borrowed from it). */
void		 auth_key_info_fill(const struct auth_key *key, struct auth_key_info *info);
/* Parse JSON text strictly (duplicate keys refused); errors never quote it. */
json_t		*auth_keyring_json(const unsigned char *buf, size_t len, char **cause);

/* ---- keys fetched while the policy is in use (auth-remote.c) ----------- */

/* A jwks_url key entry: where its keys come from and what is asked of them. */
struct auth_remote {
	char		*name;		/* the policy's key entry name */
	char		*url;
	char		*ca_file;	/* absolute path, or NULL: the system's CAs */
	int		 allow_http;
	long		 refresh_s;	/* refetch period when the server sets no max-age */
	long		 refetch_min_s;	/* least time between two fetches */
	long		 timeout_s;
	size_t		 max_bytes;
	int		 alg;		/* every key pinned to this alg, or -1 */
	char		*issuer;	/* keys only for tokens from this iss, or NULL */
};

/* One remote's keys from one fetch: immutable, shared by snapshots. */
struct auth_keyset {
	atomic_uint		 refs;
	struct auth_keyring	 kr;
	char			*fingerprint;	/* "SHA256:..." over its kids and keys */
};

/*
 * Every key the policy trusts at one moment: immutable once published, so
 * verifiers read it without locks; counted references keep it alive for
 * the verifiers and verdicts that use it after a newer one replaces it.
 */
struct auth_snapshot {
	atomic_uint		 refs;
	uint64_t		 generation;
	char			*fingerprint;	/* the key set's: "SHA256:..." */
	struct auth_keyset	**sets;		/* [nremotes]; NULL before a first fetch */
	size_t			 nsets;
	char			*json;		/* what the trail says of it */
};

/* What changes while the policy is in use; behind a pointer, since verifiers
   hold the policy const. */
struct auth_live {
	pthread_mutex_t		 lock;		/* guards snap's replacement */
	struct auth_snapshot	*snap;
	_Atomic uint64_t	 generation;	/* snap->generation, read without the lock */
	_Atomic uint64_t	*misses;	/* [nremotes]: tokens no fetched key fit */
};

struct auth_policy;
/* Publish the first snapshot of a loaded policy (static keys, no fetched ones). */
void		 auth_live_init(struct auth_policy *);
void		 auth_live_free(struct auth_policy *);
/* A counted reference to the snapshot in use. */
struct auth_snapshot *auth_snapshot_acquire(const struct auth_policy *);
void		 auth_snapshot_release(struct auth_snapshot *);
void		 auth_remote_free(struct auth_remote *);

/* ---- policy (auth-policy.c) -------------------------------------------- */

/* Where a rule finds the token (DESIGN §1). */
enum auth_wire {
	AUTH_WIRE_HEADER,		/* Authorization: Bearer <JWT> */
	AUTH_WIRE_JSON,			/* {"accessToken":..., "payload":...} */
	AUTH_WIRE_SEED			/* the Go seed's nats_pubsub envelope */
};

/* A parsed JSON pointer (RFC 6901): unescaped reference tokens. */
struct auth_pointer {
	char		 *text;		/* as written, for messages */
	char		**tokens;
	size_t		  ntokens;
};

/* Encodings of a hash claim. */
enum auth_encoding {
	AUTH_ENC_HEX,
	AUTH_ENC_BASE64URL
};

/* One binding of the token to the event. */
struct auth_bind {
	char			*claim;
	struct auth_pointer	*equals;	/* claim equals this payload field */
	const char		*digest;	/* hash binding: "SHA256"...; else NULL */
	size_t			 digest_len;
	enum auth_encoding	 encoding;
	int			 jcs;		/* hash the RFC 8785 form */
	char			*ok_text;	/* trace detail when it holds */
};

/* One rule of the policy.  Strings owned. */
struct auth_rule {
	char			 *name;
	size_t			  index;
	char			**subjects;
	size_t			  nsubjects;
	enum auth_wire		  wire;
	char			 *token_header;		/* AUTH_WIRE_HEADER */
	char			 *token_scheme;		/* or NULL: the raw value */
	struct auth_pointer	 *token_pointer;	/* AUTH_WIRE_JSON */
	struct auth_pointer	 *payload_pointer;	/* or NULL: whole body */
	size_t			 *keys;			/* keyring indexes */
	size_t			  nkeys;
	size_t			 *remotes;		/* jwks_url entries (indexes) */
	size_t			  nremotes;
	unsigned int		  algs;			/* bit per enum auth_alg */
	char			**issuers;
	size_t			  nissuers;
	char			**audiences;
	size_t			  naudiences;
	char			**scopes;
	size_t			  nscopes;
	char			**require;		/* claims that must be present */
	size_t			  nrequire;
	struct auth_bind	 *binds;
	size_t			  nbinds;
	long long		  leeway;
	char			 *replay_claim;		/* replay key: a claim ... */
	struct auth_pointer	 *replay_field;		/* ... or a payload field */
	long long		  replay_window;
	struct auth_pointer	 *event_id;		/* where the event id is */
	size_t			  event_key;		/* seed: keyring index */
	int			  bind_publisher;
	/* Trace texts made once at load, not per event. */
	char			 *algs_text;		/* "RS256 PS256" */
	char			 *issuers_text;		/* "a, b" */
	char			 *audiences_text;
	char			 *scopes_text;
	char			 *token_text;		/* where the token is */
};

/* Caps on untrusted input (DESIGN §2). */
struct auth_limits {
	size_t		max_token;
	size_t		max_body;
	size_t		max_depth;
};

struct auth_policy {
	char			*path;
	char			*hash;
	struct auth_keyring	 kr;
	struct auth_rule	*rules;
	size_t			 nrules;
	struct auth_limits	 limits;
	struct auth_remote	*remotes;		/* jwks_url entries */
	size_t			 nremotes;
	struct auth_live	*live;
};


/* ---- JSON pointers (auth-pointer.c) ---------------------------------- */

/* Parse a JSON pointer; NULL with *cause set when it is malformed. */
struct auth_pointer *auth_pointer_parse(const char *text, char **cause);
void		 auth_pointer_free(struct auth_pointer *);

/* ---- verdicts (auth-verdict.c) ------------------------------------------ */

#define AUTH_MAX_CHECKS		64	/* 16 steps + AUTH_MAX_BINDS */
#define AUTH_MAX_BINDS		32
#define AUTH_MAX_RULE_KEYS	64
#define AUTH_MAX_WARNINGS	8

/* A block of the verdict's string arena. */
struct auth_arena {
	struct auth_arena	*next;
	size_t			 used;
	size_t			 cap;
	char			 data[];
};

struct auth_verdict {
	enum auth_reason	 reason;
	int			 failed;
	const char		*subject;
	const struct auth_rule	*rule;
	const char		*alg;
	const char		*kid;
	const char		*token;
	const char		*event_id;	/* JSON text of the id */
	const char		*header_text;	/* decoded JSON of the JWT header */
	size_t			 header_len;
	const char		*claims_text;	/* decoded JSON of the claims */
	size_t			 claims_len;
	struct auth_facts	 facts;		/* registered claims */
	json_t			*header;	/* built from the text on demand */
	json_t			*claims;
	struct auth_check	 checks[AUTH_MAX_CHECKS];
	size_t			 nchecks;
	const char		*warnings[AUTH_MAX_WARNINGS];
	size_t			 nwarnings;
	int			 has_replay_key;
	unsigned char		 replay_key[32];
	long long		 replay_window;
	const struct auth_key	*key;		/* the key that verified the signature */
	struct auth_snapshot	*snap;		/* keys it was judged with (a reference),
						   when the policy fetches keys */
	struct auth_arena	*arena;
};

struct auth_verdict *auth_verdict_new(const char *subject);
/* Room for n bytes in the verdict's arena (unaligned), lasting as it does. */
char		*auth_verdict_alloc(struct auth_verdict *, size_t n);
/* Copy n bytes into the verdict's arena, NUL-terminated. */
const char	*auth_verdict_strndup(struct auth_verdict *, const char *s, size_t n);
/* printf into the verdict's arena. */
const char	*auth_verdict_printf(struct auth_verdict *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/* Append a check; expected/actual may be NULL.  Strings must live in the arena
   or be static. */
void		 auth_verdict_check_add(struct auth_verdict *, const char *check,
		     enum auth_check_state, const char *detail, const char *expected,
		     const char *actual);
/* Fail the verdict with reason at check; further checks are "not reached". */
void		 auth_verdict_fail(struct auth_verdict *, enum auth_reason, const char *check,
		     const char *detail, const char *expected, const char *actual);
void		 auth_verdict_warn(struct auth_verdict *, const char *warning);

/* ---- RFC 8785 JSON canonicalization (auth-jcs.c) ------------------- */

/*
 * Canonicalize the JSON text json[0..len) per RFC 8785 (JCS).  Returns an
 * allocated, NUL-terminated string and sets *out_len, or NULL with *cause
 * set when the text is not valid I-JSON (bad JSON, duplicate keys, numbers
 * that are not finite doubles, invalid UTF-8, lone surrogates).
 */
char		*auth_jcs(const char *json, size_t len, size_t *out_len, char **cause);

/* Text naming a key type, for messages: "a secret", "an RSA key"... */
const char	*auth_key_type_words(enum auth_key_type);

/* ---- base64 without allocation (auth-b64.c) ------------------------- */

/* Room that decoding n characters of base64 may take: bytes and a NUL. */
#define AUTH_B64_DECODED_MAX(n)	((n) / 4 * 3 + 3)
/*
 * Strict base64url (unpadded) or padded base64 decode of in[0..n) into
 * out, which has room for AUTH_B64_DECODED_MAX(n) bytes and may be in
 * itself (decoding in place); a NUL follows the bytes.  Returns 0 and
 * sets *out_len, or -1 on bad input (exactly when the allocating
 * decoders return NULL).
 */
int		 auth_b64url_decode_into(const char *in, size_t n, unsigned char *out,
		     size_t *out_len);
int		 auth_b64_decode_into(const char *in, size_t n, unsigned char *out,
		     size_t *out_len);

/* ---- small utilities (auth-util.c) ----------------------------------- */

/* Read a whole file; NULL with *cause ("cannot read 'path': ...") on error. */
unsigned char	*auth_read_file(const char *path, size_t max, size_t *len, char **cause);
/* Constant-time equality of two buffers of the same length. */
int		 auth_ct_equal(const void *a, const void *b, size_t len);
/* Lowercase hex of in, NUL-terminated, allocated. */
char		*auth_hex(const unsigned char *in, size_t len);

#endif
