/*
 * auth/auth.h -- the verification engine: keyring, policy, verdicts.
 *
 * auth/ is pure: after auth_policy_load() has read the policy and its key
 * files, nothing here does I/O.  It is the only place that includes OpenSSL
 * headers.  Every function returns 0/-1 or NULL and, on error, sets *cause to
 * an allocated message the caller frees; nothing here prints.
 *
 * Threads: a loaded policy is read-only and may be shared by any number of
 * threads.  Each thread verifies through its own struct auth_verifier (it
 * caches per-key OpenSSL contexts).  The replay cache is not thread-safe; the
 * caller runs the replay step in one place, in message order.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* JWT signature algorithms, in the order of DESIGN §1. */
enum auth_alg {
	AUTH_ALG_HS256,
	AUTH_ALG_HS384,
	AUTH_ALG_HS512,
	AUTH_ALG_RS256,
	AUTH_ALG_RS384,
	AUTH_ALG_RS512,
	AUTH_ALG_PS256,
	AUTH_ALG_PS384,
	AUTH_ALG_PS512,
	AUTH_ALG_ES256,
	AUTH_ALG_ES384,
	AUTH_ALG_ES512,
	AUTH_ALG_EDDSA,
	AUTH_ALG_COUNT
};

/* Name of alg ("RS256"), or NULL when out of range. */
const char	*auth_alg_name(int alg);
/* Algorithm for an exact, case-sensitive name; -1 for anything else ("none"). */
int		 auth_alg_from_name(const char *name);

/* Stable reason codes (DESIGN §2).  Scripts and the trail depend on the strings. */
enum auth_reason {
	AUTH_OK,
	AUTH_NO_POLICY,
	AUTH_MALFORMED_MESSAGE,
	AUTH_MISSING_TOKEN,
	AUTH_MALFORMED_TOKEN,
	AUTH_ALG_NOT_ALLOWED,
	AUTH_UNKNOWN_KEY,
	AUTH_BAD_SIGNATURE,
	AUTH_EXPIRED,
	AUTH_NOT_YET_VALID,
	AUTH_WRONG_ISSUER,
	AUTH_WRONG_AUDIENCE,
	AUTH_INSUFFICIENT_SCOPE,
	AUTH_MISSING_CLAIM,
	AUTH_PAYLOAD_HASH_MISMATCH,
	AUTH_EVENT_ID_MISMATCH,
	AUTH_EVENT_TOKEN_INVALID,
	AUTH_EVENT_TOKEN_EXPIRED,
	AUTH_REPLAY,
	AUTH_REASON_COUNT
};

/* "ok", "no_policy", ... */
const char	*auth_reason_name(enum auth_reason);
/* Reason for a code string, or -1. */
int		 auth_reason_from_name(const char *name);

/* ---- keyring ---------------------------------------------------------- */

/* Kinds of key material. */
enum auth_key_type {
	AUTH_KEY_OCT,			/* HMAC secret */
	AUTH_KEY_RSA,
	AUTH_KEY_EC_P256,
	AUTH_KEY_EC_P384,
	AUTH_KEY_EC_P521,
	AUTH_KEY_ED25519
};

/* What may be shown of a key: never the secret itself. All borrowed. */
struct auth_key_info {
	const char	*name;		/* the policy's key entry name */
	const char	*kid;		/* JWK kid, or NULL */
	const char	*type;		/* "oct", "RSA-2048", "EC P-256", "Ed25519" */
	const char	*alg;		/* pinned alg, or NULL */
	const char	*use;		/* JWK use, or NULL */
	const char	*source;	/* "pem_file /abs/path", "secret_env X", ... */
	const char	*fingerprint;	/* "SHA256:<base64url>" of SPKI DER, or
					   "PBKDF2:<hex>" for secrets (DESIGN §2) */
};

/* ---- policy ----------------------------------------------------------- */

struct auth_policy;			/* opaque; owns its keyring */

/*
 * Load, validate and parse the policy at path and every key it names.
 * Errors name the file, the JSON path and the problem, for example
 *   policy.json: rules[1].keys[0]: no key named "idsvr9"
 */
struct auth_policy *auth_policy_load(const char *path, char **cause);
void		 auth_policy_free(struct auth_policy *);
/* Lowercase hex SHA-256 of the policy file's bytes. Borrowed. */
const char	*auth_policy_hash(const struct auth_policy *);
size_t		 auth_policy_key_count(const struct auth_policy *);
/* Fill *info for key i (0 <= i < count). */
void		 auth_policy_key_info(const struct auth_policy *, size_t i,
		     struct auth_key_info *info);
size_t		 auth_policy_rule_count(const struct auth_policy *);
/* Name of rule i. Borrowed. */
const char	*auth_policy_rule_name(const struct auth_policy *, size_t i);
/* Subject pattern j of rule i (borrowed), or NULL past the last. */
const char	*auth_policy_rule_subject(const struct auth_policy *, size_t i, size_t j);
/* Whether subject matches the NATS pattern (`*` one token, `>` the rest). */
int		 auth_subject_match(const char *pattern, const char *subject);
/* Whether pattern is a valid subject (wildcards allowed when wildcards). */
int		 auth_subject_valid(const char *pattern, int wildcards);
/* Index of the first rule matching subject, or -1. */
int		 auth_policy_match(const struct auth_policy *, const char *subject);

/* ---- keys fetched over HTTP (jwks_url) --------------------------------- */
/*
 * A jwks_url entry loads no keys: the caller fetches the JWK Set (auth/
 * does no I/O) and hands the text to auth_policy_remote_update(), at start
 * and whenever the set should be fetched again.  Each update that changes
 * a set publishes a new key set for the whole policy, with a new
 * generation and fingerprint; verifiers pick it up at their next event,
 * and verdicts name the key set that judged them.  Updates may run on any
 * thread while others verify.
 */
struct auth_remote_info {
	const char	*name;		/* the policy's key entry name */
	const char	*url;
	const char	*ca_file;	/* or NULL: the system's CAs */
	int		 allow_http;	/* plain http:// allowed */
	long		 refresh_s;	/* refetch after this when the server sets no max-age */
	long		 refetch_min_s;	/* never two fetches closer than this */
	long		 timeout_s;
	size_t		 max_bytes;	/* a bigger answer is refused */
};
size_t		 auth_policy_remote_count(const struct auth_policy *);
void		 auth_policy_remote_info(const struct auth_policy *, size_t i,
		     struct auth_remote_info *info);
/*
 * Install the JWK Set text[0..len) fetched for remote i as its keys.  JWKs
 * that cannot verify here (another use, an unknown kty or curve, an alg
 * the entry does not allow) are left out and named in *notes (or NULL).
 * Returns 1 when the keys changed, with *change saying how ("+kid2 -kid1",
 * allocated); 0 when they are the ones in use; -1 with *cause, the keys
 * in use staying, when the text is no usable JWK Set.
 */
int		 auth_policy_remote_update(const struct auth_policy *, size_t i,
		     const unsigned char *text, size_t len, char **change, char **notes,
		     char **cause);
/* Keys remote i has now (0 before its first fetch). */
size_t		 auth_policy_remote_keys(const struct auth_policy *, size_t i);
/* Tokens on rules using remote i that none of its keys fit, so far: a rise
   asks for a refetch (the caller rate-limits it). */
uint64_t	 auth_policy_remote_misses(const struct auth_policy *, size_t i);
/*
 * The key set in use: every key of the policy, fixed and fetched.  Returns
 * its generation (1 for the keys at load, one more per change) and sets
 * *fingerprint ("SHA256:...") and *json (its description for the trail:
 * keyset, generation, keys, and the change that made it), both allocated;
 * either may be NULL.
 */
uint64_t	 auth_policy_keyset(const struct auth_policy *, char **fingerprint, char **json);

/* ---- messages and verdicts ------------------------------------------- */

/* One message header. Borrowed strings. */
struct auth_header {
	const char	*name;
	const char	*value;
};

/* A message to judge. Everything borrowed for the duration of the call. */
struct auth_msg {
	const char			*subject;
	const struct auth_header	*headers;
	size_t				 nheaders;
	const unsigned char		*body;
	size_t				 body_len;
};

/* Result of one check in the trace. */
enum auth_check_state {
	AUTH_CHECK_FAIL,
	AUTH_CHECK_OK,
	AUTH_CHECK_NOT_REACHED
};

/* One entry of the ordered trace. Strings borrowed from the verdict. */
struct auth_check {
	const char		*check;		/* "rule", "signature", ... */
	enum auth_check_state	 state;
	const char		*detail;	/* never NULL */
	const char		*expected;	/* or NULL */
	const char		*actual;	/* or NULL */
};

struct auth_verdict;			/* opaque; see accessors below */

/* Per-thread verification context. */
struct auth_verifier;

struct auth_verifier *auth_verifier_new(const struct auth_policy *);
void		 auth_verifier_free(struct auth_verifier *);

/*
 * Judge msg at time now (seconds since the epoch), running every check of
 * DESIGN §2 except replay.  Never fails: a bad message gives a failing
 * verdict.  Returns a new verdict the caller frees with auth_verdict_free().
 */
struct auth_verdict *auth_verify(struct auth_verifier *, const struct auth_msg *msg,
		     time_t now);
void		 auth_verdict_free(struct auth_verdict *);
/*
 * A failing verdict (malformed_message) for input that is not a message
 * at all, such as a capture line that does not parse: check names the
 * step ("input") and detail says why.  Copies its arguments.
 */
struct auth_verdict *auth_verdict_rejected(const char *subject, const char *check,
		     const char *detail);

int		 auth_verdict_pass(const struct auth_verdict *);
enum auth_reason auth_verdict_reason(const struct auth_verdict *);
/* Borrowed strings, NULL when absent. */
const char	*auth_verdict_subject(const struct auth_verdict *);
const char	*auth_verdict_rule(const struct auth_verdict *);
const char	*auth_verdict_alg(const struct auth_verdict *);
const char	*auth_verdict_kid(const struct auth_verdict *);
const char	*auth_verdict_token(const struct auth_verdict *);
const char	*auth_verdict_event_id(const struct auth_verdict *);
/* Decoded JWT header and claims (borrowed), NULL when not decoded. */
json_t		*auth_verdict_header(const struct auth_verdict *);
json_t		*auth_verdict_claims(const struct auth_verdict *);
size_t		 auth_verdict_check_count(const struct auth_verdict *);
const struct auth_check *auth_verdict_check(const struct auth_verdict *, size_t i);
size_t		 auth_verdict_warning_count(const struct auth_verdict *);
const char	*auth_verdict_warning(const struct auth_verdict *, size_t i);

/* Registered claims of a verdict's token, for the trail.  Borrowed strings,
   NULL when absent; aud is the claim's JSON text (a string or an array). */
struct auth_facts {
	const char	*iss;
	const char	*sub;
	const char	*aud;
	const char	*scope;
	const char	*jti;
	int		 has_exp, has_iat;
	double		 exp, iat;
};

void		 auth_verdict_facts(const struct auth_verdict *, struct auth_facts *);
/*
 * The key set that judged v, when its policy fetches keys (jwks_url):
 * returns the generation and sets *fingerprint and *json (borrowed, as
 * auth_policy_keyset() describes them).  0 with both NULL otherwise: the
 * keys are the policy's, fixed at load.
 */
uint64_t	 auth_verdict_keyset(const struct auth_verdict *, const char **fingerprint,
		     const char **json);
/* The key that verified v's signature: 1 with *info filled (borrowed), or 0. */
int		 auth_verdict_key(const struct auth_verdict *, struct auth_key_info *info);
/* The decoded header and claims JSON text (borrowed), NULL when not decoded. */
const char	*auth_verdict_header_text(const struct auth_verdict *, size_t *len);
const char	*auth_verdict_claims_text(const struct auth_verdict *, size_t *len);
/* Append the trace alone (a JSON array) to the growable buffer. */
int		 auth_verdict_checks_json(const struct auth_verdict *, char **buf,
		     size_t *len, size_t *cap);
/* Append the warnings (a JSON array, maybe empty) to the growable buffer. */
int		 auth_verdict_warnings_json(const struct auth_verdict *, char **buf,
		     size_t *len, size_t *cap);

/*
 * Append the verdict's JSON form (DESIGN §2), one line without a newline,
 * to the growable buffer *buf of length *len and capacity *cap.
 * Returns 0, or -1 when memory runs out.
 */
int		 auth_verdict_json(const struct auth_verdict *, char **buf,
		     size_t *len, size_t *cap);

/* ---- replay ------------------------------------------------------------ */

struct auth_replay;

/* A replay cache remembering at most max_entries keys; it starts small
   and grows toward that bound as keys arrive. */
struct auth_replay *auth_replay_new(size_t max_entries);
void		 auth_replay_free(struct auth_replay *);
/* Keys the cache has room for now. */
size_t		 auth_replay_capacity(const struct auth_replay *);
/*
 * The last check: if v passed so far and its rule asks for replay
 * detection, fail v with AUTH_REPLAY when its key was seen inside the
 * window, else remember it.  Call in message order, from one thread.
 */
void		 auth_replay_check(struct auth_replay *, struct auth_verdict *v,
		     time_t now);
/* Whether auth_replay_check() has anything to do with v: it passed so far
   and its rule asks for replay detection.  Otherwise v is final. */
int		 auth_verdict_wants_replay(const struct auth_verdict *);
/* Keys forgotten early because the cache was full. */
uint64_t	 auth_replay_evictions(const struct auth_replay *);

/* ---- signing (for pub, demo and tests) -------------------------------- */

/*
 * Sign input with the private key or secret in key_pem/key_len for alg,
 * giving the JWS signature bytes (raw r||s for ECDSA).  Returns an
 * allocated buffer and sets *sig_len, or NULL with *cause set.
 */
unsigned char	*auth_sign(int alg, const unsigned char *key, size_t key_len,
		     const unsigned char *input, size_t input_len, size_t *sig_len,
		     char **cause);

/* ---- key generation (demo, tests) ------------------------------------- */

/*
 * Generate a fresh key pair of type (RSA-2048, EC P-256/384/521, Ed25519;
 * not AUTH_KEY_OCT) and give it as PEM text: *private_pem unencrypted
 * PKCS#8, *public_pem SPKI, both allocated and NUL-terminated, for the
 * caller to free (the private one best wiped first).  Returns 0, or -1
 * with *cause set and both set to NULL.
 */
int		 auth_keygen(enum auth_key_type type, char **private_pem, char **public_pem,
		     char **cause);

/* ---- minting (pub, demo) ----------------------------------------------- */

/* Ways pub can spoil an event on purpose, to show each failure. */
enum auth_tamper {
	AUTH_TAMPER_NONE,
	AUTH_TAMPER_PAYLOAD,		/* body changed after minting */
	AUTH_TAMPER_SIGNATURE,		/* one signature bit flipped */
	AUTH_TAMPER_EXPIRED,		/* exp long past (beyond leeway) */
	AUTH_TAMPER_AUDIENCE,		/* aud not the rule's */
	AUTH_TAMPER_SCOPE,		/* required scopes left out */
	AUTH_TAMPER_ALG_NONE,		/* alg "none", empty signature */
	AUTH_TAMPER_KEY_CONFUSION,	/* HS256 keyed with the rule key's public PEM text */
	AUTH_TAMPER_REPLAY,		/* a valid event; the caller sends it twice */
	AUTH_TAMPER_COUNT
};

/* "payload", "signature", "expired", "audience", "scope", "alg-none",
   "key-confusion", "replay"; "none" for NONE; NULL out of range. */
const char	*auth_tamper_name(int);
/* Tamper for an exact name, or -1 if unknown. */
int		 auth_tamper_from_name(const char *);

/*
 * What to mint.  Zero every field that is not set: each has a default.
 * All borrowed for the duration of the call.
 */
struct auth_mint_opts {
	const char		*rule;		/* rule name; NULL: the first rule matching the subject */
	const unsigned char	*key;		/* private key PEM (RSA, EC, Ed25519) or HMAC secret bytes;
						   NULL: the rule's own secret when its key is an HMAC secret */
	size_t			 key_len;
	const char		*alg;		/* NULL: the first of the rule's algorithms that fits the key */
	const char		*kid;		/* NULL: the kid of the policy key whose public key equals
						   the signing key's, if any */
	const char		*sub;		/* "sub" claim; NULL: "ztwatch-pub" (the seed profile: none) */
	long			 lifetime_s;	/* 0: 300 */
	enum auth_tamper	 tamper;
	time_t			 now;
	long			 now_nsec;	/* nanoseconds past now, for the seed's expires_at */
	int			 utc_offset_min; /* zone of the seed's expires_at, minutes east
						   of UTC; 0 writes "Z" (as Go does for UTC) */
};

/* A minted message; everything owned by the struct. */
struct auth_minted {
	struct auth_msg		 msg;		/* subject, headers, body ready to publish */
	struct auth_header	 headers[4];
	char			*subject;
	char			*header_value;	/* storage for header values */
	unsigned char		*body;
	char			*token;		/* the (outer) JWT */
	char			*jti;		/* or NULL (seed profile has none) */
	const char		*rule;		/* the rule used (borrowed from the policy) */
	char			*warning;	/* or NULL: something the user should know, e.g. the
						   signing key is not among the rule's keys, so the
						   event will fail */
};

/*
 * Mint an event-bound token for event[0..event_len) (the event JSON) on
 * subject per the policy rule, and build the message in the rule's wire
 * format (DESIGN §1) into *out, which the caller releases with
 * auth_minted_free() (also safe after a failure, when *out is zeroed).
 * opts may be NULL for every default.  Refuses, rather than mint an
 * event that would pass, a tamper the rule cannot show: audience without
 * an audience, scope without scopes, replay without replay detection,
 * key confusion without a public key.  Returns 0, or -1 with *cause
 * (allocated).  Never prints; no secret ever appears in *cause.
 */
int		 auth_mint(const struct auth_policy *, const char *subject,
		     const unsigned char *event, size_t event_len,
		     const struct auth_mint_opts *, struct auth_minted *out, char **cause);
void		 auth_minted_free(struct auth_minted *);

/* ---- capture lines (verify --batch, import) ---------------------------- */

#define AUTH_CAPTURE_MAX_HEADERS 64

/*
 * One message decoded from a capture line
 *   {"subject": S, "headers": {NAME: V | [V, ...]}, "body_b64": B64 | "body": TEXT}
 * msg points into the struct's own storage, valid until the next parse or
 * release.  Zero the struct before its first use.
 */
struct auth_capture {
	struct auth_msg		 msg;
	struct auth_header	 headers[AUTH_CAPTURE_MAX_HEADERS];
	char			*buf;		/* decoded strings */
	size_t			 cap;
	unsigned char		*body;		/* decoded body */
	int64_t			 received_us;	/* "received_at", when has_received */
	int			 has_received;
	char			 why[192];	/* a parse error, for *error */
};

/*
 * Parse line[0..len) into c.  Returns 0, or -1 with *error set to a
 * description ("input line is not a JSON object", ...) that lives as long
 * as c does and until its next parse.
 */
int		 auth_capture_parse(struct auth_capture *c, const char *line, size_t len,
		     const char **error);
void		 auth_capture_release(struct auth_capture *c);

/* ---- encoding helpers shared with the CLI ------------------------------ */

/* Allocation that aborts on out-of-memory (shared with tui/); strdup(NULL)
   is NULL; printf into a new string. */
void		*auth_malloc(size_t);
void		*auth_calloc(size_t, size_t);
void		*auth_realloc(void *, size_t);
char		*auth_strdup(const char *);
char		*auth_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Call first in main(): sets OpenSSL up without its exit-time cleanup. */
void		 auth_library_init(void);

/* Parse RFC 3339 ("2026-11-24T01:02:03.123456789+01:00") into seconds. */
int		 auth_parse_rfc3339(const char *s, double *out);
/* The same, to microseconds exactly (a double loses them after 2255). */
int		 auth_parse_rfc3339_us(const char *s, int64_t *out);
/*
 * Whether JSON text holds characters unsafe to print raw on one line: C0
 * controls but tab (line breaks, ESC), DEL, C1 controls (U+0080-U+009F,
 * which terminals may obey), U+2028/U+2029, bidi controls and invisible
 * format characters (auth_cp_hidden).  auth_json_safe() re-encodes valid
 * JSON text compactly with all of them escaped; it returns an allocated
 * string, or NULL when the text is not JSON.
 */
int		 auth_json_unsafe(const char *text, size_t len);
/* Whether text[0..len) is one JSON value, strictly (no duplicate keys). */
int		 auth_json_valid(const char *text, size_t len);
char		*auth_json_safe(const char *text, size_t len);
/* Whether cp is a bidi control or an invisible format character. */
int		 auth_cp_hidden(uint32_t cp);
/* Length of the UTF-8 character at s (n bytes left) that every output
   escapes (a C1 control, U+2028/U+2029, auth_cp_hidden), its code point in
   *cp; 0 for any other character. */
size_t		 auth_utf8_escaped(const unsigned char *s, size_t n, uint32_t *cp);
/* cp as a JSON escape (two, a surrogate pair, above U+FFFF) in out, with
   its length (6 or 12). */
size_t		 auth_json_escape_cp(char out[13], uint32_t cp);
/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when
   there is none (an invalid byte, an overlong form, a surrogate, a NUL). */
size_t		 auth_utf8_seq(const unsigned char *s, size_t n);
/* The same, with the sequence's code point in *cp. */
size_t		 auth_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Whether s[0..n) is valid UTF-8 text; NULs count as text (JSON escapes them). */
int		 auth_utf8_valid(const void *s, size_t n);
/* Milliseconds on the monotonic clock; microseconds since the epoch. */
int64_t		 auth_mono_ms(void);
int64_t		 auth_epoch_us(void);
/* SHA-256 of in[0..n) into out[32]. */
void		 auth_sha256(const void *in, size_t n, unsigned char out[32]);

/* Strict base64url (no padding) decode; NULL on bad input. *out_len set. */
unsigned char	*auth_b64url_decode(const char *in, size_t in_len, size_t *out_len);
/* base64url without padding, NUL-terminated, allocated. */
char		*auth_b64url_encode(const unsigned char *in, size_t in_len);
/* Standard base64 with padding decode (strict); NULL on bad input. */
unsigned char	*auth_b64_decode(const char *in, size_t in_len, size_t *out_len);
/* Standard base64 with padding, NUL-terminated, allocated. */
char		*auth_b64_encode(const unsigned char *in, size_t in_len);

#endif
