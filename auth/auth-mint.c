/*
 * auth/auth-mint.c -- minting event-bound tokens and messages (pub, demo).
 *
 * The publisher's side of auth-verify.c: given a rule of the policy, a
 * signing key and an event, build the message that rule accepts -- the
 * JWT with its claims and bindings, carried in the rule's wire format
 * (DESIGN §1) -- or, on request, one spoiled in a chosen way so that each
 * failure of DESIGN §2 can be shown.  Pure: no I/O, only OpenSSL's random
 * bytes for jti and the seed's id.
 *
 * DESIGN: claims are kept as (name, JSON text) pairs and written by hand,
 * not through jansson, for two reasons.  An "equals" binding copies the
 * event's field as the exact JSON text it has in the event, so 12.50 stays
 * 12.50 (jansson would print 12.5, 0.1 as 0.10000000000000001); and the
 * Go seed's token must come out byte for byte as Go writes it, members in
 * the order of Go's sorted map keys with Go's escaping (<, > and & as
 * \u003c ...).  Every JSON string written here uses that Go escaping; it
 * is valid JSON for any reader.
 *
 * The payload a hash binding covers is the event's own value without the
 * whitespace around it, which is exactly the span the verifier hashes in
 * each wire format.  For a JSON-body rule without a payload pointer the
 * whole body is the payload, so the token member is put in front of the
 * event's members; such a rule cannot carry a hash binding (the hash would
 * have to cover the token holding it) and minting for one says so.
 *
 * The kid written is a JWK's kid only: PEM and secret entries have none,
 * and the verifier tries every fitting key of the rule when there is no
 * kid, so a name from the local policy never goes on the wire unasked.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "auth-int.h"
#include "auth-jdoc.h"

#define MINT_LIFETIME		300		/* default token lifetime, seconds */
#define MINT_NAME		"ztwatch-pub"	/* default iss and sub */
#define MINT_SEED_EVENT_LIFE	86400		/* the seed's extended lifetime */
#define MINT_WRONG_AUDIENCE	"ztwatch-wrong-audience"
#define MINT_TAMPERED		"tampered"	/* member the payload tamper adds */

static const char *const mint_tamper_names[AUTH_TAMPER_COUNT] = {
	"none", "payload", "signature", "expired", "audience", "scope",
	"alg-none", "key-confusion", "replay"
};

/* A growable byte buffer. */
struct mint_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* One claim: its name and its value as JSON text (both owned). */
struct mint_claim {
	char	*name;
	char	*value;
};

/* The state of one minting. */
struct mint {
	const struct auth_policy	*p;
	const struct auth_rule		*r;
	const struct auth_mint_opts	*o;
	const char			*subject;
	struct auth_minted		*out;
	char				*err;
	/* The event: parsed, and its value without surrounding whitespace. */
	const unsigned char		*event;
	size_t				 event_len;
	const char			*raw;
	size_t				 raw_len;
	/* The signing key. */
	const unsigned char		*key;		/* NULL: none (alg-none only) */
	size_t				 key_len;
	enum auth_key_type		 key_type;
	const struct auth_key		*match;		/* the rule's key it equals */
	char				*pem;		/* key confusion: public PEM */
	int				 alg;
	const char			*kid;
	/* The token and the body. */
	const char			*iss;
	long long			 iat, exp;
	struct mint_claim		*claims;
	size_t				 nclaims;
	struct mint_buf			 body;
	size_t				 payload_at;	/* offset of the payload in body */
	int				 payload_members; /* whether it has any */
	/* Last: jdoc_parse() fills it. */
	struct jdoc			 ev;
};

/* ---- names -------------------------------------------------------------- */

/* Name of a tamper kind, or NULL when out of range. */
const char *
auth_tamper_name(int t)
{
	if (t < 0 || t >= AUTH_TAMPER_COUNT)
		return NULL;
	return mint_tamper_names[t];
}

/* Tamper kind for an exact name, or -1. */
int
auth_tamper_from_name(const char *name)
{
	int	t;

	if (name == NULL)
		return -1;
	for (t = 0; t < AUTH_TAMPER_COUNT; t++) {
		if (strcmp(mint_tamper_names[t], name) == 0)
			return t;
	}
	return -1;
}

/* ---- small helpers ---------------------------------------------------- */

/* A new string from fmt and ap. */
static char *
mint_vprintf(const char *fmt, va_list ap)
{
	va_list	 aq;
	char	*s;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	s = auth_malloc((size_t)(n < 0 ? 0 : n) + 1);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	return s;
}

/* Record the first error of this minting; returns -1. */
static int __attribute__((format(printf, 2, 3)))
mint_error(struct mint *m, const char *fmt, ...)
{
	va_list	ap;

	if (m->err != NULL)
		return -1;
	va_start(ap, fmt);
	m->err = mint_vprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* Add a warning for the user, after any earlier one. */
static void __attribute__((format(printf, 2, 3)))
mint_warn(struct mint *m, const char *fmt, ...)
{
	va_list	 ap;
	char	*w, *all;

	va_start(ap, fmt);
	w = mint_vprintf(fmt, ap);
	va_end(ap);
	if (m->out->warning == NULL) {
		m->out->warning = w;
		return;
	}
	all = auth_printf("%s; %s", m->out->warning, w);
	free(m->out->warning);
	free(w);
	m->out->warning = all;
}

/* Append n bytes to b. */
static void
mbuf_add(struct mint_buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = auth_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a C string to b. */
static void
mbuf_puts(struct mint_buf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

/*
 * Append s as a JSON string, escaped as Go's encoding/json does (<, >, &,
 * U+2028 and U+2029 too).  Returns -1 when s is not valid UTF-8.
 */
static int
mbuf_json(struct mint_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), k;
	char			 esc[8];

	mbuf_add(b, "\"", 1);
	while (n > 0) {
		if (*p >= 0x80) {
			if ((k = auth_utf8_seq(p, n)) == 0)
				return -1;
			if (k == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			    (p[2] == 0xa8 || p[2] == 0xa9))
				mbuf_add(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			else
				mbuf_add(b, p, k);
			p += k;
			n -= k;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			mbuf_add(b, esc, 2);
		} else if (*p == '\n')
			mbuf_add(b, "\\n", 2);
		else if (*p == '\r')
			mbuf_add(b, "\\r", 2);
		else if (*p == '\t')
			mbuf_add(b, "\\t", 2);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') {
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			mbuf_add(b, esc, 6);
		} else
			mbuf_add(b, p, 1);
		p++;
		n--;
	}
	mbuf_add(b, "\"", 1);
	return 0;
}

/* s as JSON string text, allocated; NULL when s is not valid UTF-8. */
static char *
mint_json_string(const char *s)
{
	struct mint_buf	b = { NULL, 0, 0 };

	if (mbuf_json(&b, s) != 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Passphrase callback that refuses, so an encrypted key never prompts. */
static int
mint_no_pass(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* The SubjectPublicKeyInfo PEM text of pkey, allocated; NULL on error. */
static char *
mint_public_pem(EVP_PKEY *pkey, size_t *len)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *out = NULL;
	long	 n;

	if (bio != NULL && PEM_write_bio_PUBKEY(bio, pkey) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0) {
		out = auth_malloc((size_t)n + 1);
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(bio);
	ERR_clear_error();
	return out;
}

/* n random bytes as lowercase hex, allocated; NULL when RAND fails. */
static char *
mint_random_hex(size_t n)
{
	unsigned char	buf[32];

	if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1) {
		ERR_clear_error();
		return NULL;
	}
	return auth_hex(buf, n);
}

/* A random (version 4) UUID, as the Go seed's publisher gives each event. */
static char *
mint_uuid(void)
{
	unsigned char	 b[16];
	char		*hex, *out;

	if (RAND_bytes(b, sizeof b) != 1) {
		ERR_clear_error();
		return NULL;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex = auth_hex(b, sizeof b);
	out = auth_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
	free(hex);
	return out;
}

/*
 * t and nsec as Go's time.Format(time.RFC3339Nano) writes them in a zone
 * off_min minutes east of UTC: trailing zeros of the fraction dropped,
 * "Z" for a zero offset.  NULL when t is out of range.
 */
static char *
mint_rfc3339(time_t t, long nsec, int off_min)
{
	struct tm	tm;
	time_t		local = t + (time_t)off_min * 60;
	char		date[64], frac[24] = "", zone[16] = "Z";
	size_t		n;
	int		a = off_min < 0 ? -off_min : off_min;

	if (gmtime_r(&local, &tm) == NULL ||
	    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return NULL;
	if (nsec > 0) {
		snprintf(frac, sizeof frac, ".%09ld", nsec);
		for (n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	if (off_min != 0)
		snprintf(zone, sizeof zone, "%c%02d:%02d", off_min < 0 ? '-' : '+',
		    a / 60, a % 60);
	return auth_printf("%s%s%s", date, frac, zone);
}

/* n bytes of s as a new string. */
static char *
mint_strndup(const char *s, size_t n)
{
	char	*out = auth_malloc(n + 1);

	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* Whether the rule binds a hash of the payload. */
static int
mint_hash_bound(const struct auth_rule *r)
{
	size_t	i;

	for (i = 0; i < r->nbinds; i++) {
		if (r->binds[i].digest != NULL)
			return 1;
	}
	return 0;
}

/* Whether the rule's whole body is the payload (no pointer, or ""). */
static int
mint_whole_body(const struct auth_rule *r)
{
	return r->payload_pointer == NULL || r->payload_pointer->ntokens == 0;
}

/* ---- claims ------------------------------------------------------------- */

/* The claim named name, or NULL. */
static struct mint_claim *
claims_find(struct mint *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->nclaims; i++) {
		if (strcmp(m->claims[i].name, name) == 0)
			return &m->claims[i];
	}
	return NULL;
}

/* Set claim name to the JSON text value (taken over), in place if present. */
static void
claims_set(struct mint *m, const char *name, char *value)
{
	struct mint_claim	*c = claims_find(m, name);

	if (c != NULL) {
		free(c->value);
		c->value = value;
		return;
	}
	m->claims = auth_realloc(m->claims, (m->nclaims + 1) * sizeof *m->claims);
	c = &m->claims[m->nclaims++];
	c->name = auth_strdup(name);
	c->value = value;
}

/* Set claim name to the string s. */
static int
claims_set_string(struct mint *m, const char *name, const char *s)
{
	char	*v;

	if ((v = mint_json_string(s)) == NULL)
		return mint_error(m, "claim '%s' is not valid UTF-8", name);
	claims_set(m, name, v);
	return 0;
}

/* Remove claim name, if present. */
static void
claims_del(struct mint *m, const char *name)
{
	struct mint_claim	*c = claims_find(m, name);
	size_t			 i;

	if (c == NULL)
		return;
	i = (size_t)(c - m->claims);
	free(c->name);
	free(c->value);
	memmove(c, c + 1, (m->nclaims - i - 1) * sizeof *c);
	m->nclaims--;
}

/* qsort order of claims by name, as Go's encoding/json sorts map keys. */
static int
claims_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mint_claim *)a)->name,
	    ((const struct mint_claim *)b)->name);
}

/* Whether the rule needs claim name present (require or replay). */
static int
mint_needs(struct mint *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->r->nrequire; i++) {
		if (strcmp(m->r->require[i], name) == 0)
			return 1;
	}
	return m->r->replay_claim != NULL && strcmp(m->r->replay_claim, name) == 0;
}

/* An "equals" binding: the claim is the event's field, as written there. */
static int
mint_bind_equals(struct mint *m, const struct auth_bind *b)
{
	const struct jdoc_tok	*t;
	int			 tok = jdoc_pointer(&m->ev, 0, b->equals);

	if (tok < 0)
		return mint_error(m, "the event has no %s, which binding claim '%s' needs",
		    b->equals->text, b->claim);
	t = &m->ev.toks[tok];
	claims_set(m, b->claim, mint_strndup(m->ev.text + t->start, t->end - t->start));
	return 0;
}

/* A hash binding: digest of the payload's exact bytes (or JCS form). */
static int
mint_bind_hash(struct mint *m, const struct auth_bind *b)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	const char	*in = m->raw;
	char		*canon = NULL, *why = NULL, *enc;
	size_t		 n = m->raw_len, mdlen = 0;
	int		 ok;

	if (b->jcs) {
		if ((canon = auth_jcs(in, n, &n, &why)) == NULL) {
			mint_error(m, "cannot canonicalize the event (JCS) for claim '%s': %s",
			    b->claim, why);
			free(why);
			return -1;
		}
		in = canon;
	}
	ok = EVP_Q_digest(NULL, b->digest, NULL, in, n, md, &mdlen) == 1;
	free(canon);
	ERR_clear_error();
	if (!ok)
		return mint_error(m, "cannot compute %s for claim '%s'", b->digest, b->claim);
	enc = b->encoding == AUTH_ENC_HEX ? auth_hex(md, mdlen) :
	    auth_b64url_encode(md, mdlen);
	claims_set_string(m, b->claim, enc);
	free(enc);
	return 0;
}

/* Check that every claim the rule requires is there; name those missing. */
static int
mint_required(struct mint *m)
{
	struct mint_buf	 miss = { NULL, 0, 0 };
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i <= m->r->nrequire; i++) {
		const char	*name = i < m->r->nrequire ? m->r->require[i] :
		    m->r->replay_claim;

		if (name == NULL || claims_find(m, name) != NULL)
			continue;
		if (miss.len > 0)
			mbuf_puts(&miss, ", ");
		mbuf_puts(&miss, "'");
		mbuf_puts(&miss, name);
		mbuf_puts(&miss, "'");
	}
	if (miss.len > 0)
		rc = mint_error(m, "rule '%s' requires claim %s, which minting cannot fill",
		    m->r->name, miss.p);
	free(miss.p);
	if (rc == 0 && m->r->replay_field != NULL &&
	    jdoc_pointer(&m->ev, 0, m->r->replay_field) < 0)
		rc = mint_error(m, "the event has no %s, which rule '%s' needs to detect replays",
		    m->r->replay_field->text, m->r->name);
	return rc;
}

/* The registered claims: iss, sub, aud, scope, iat, exp, jti. */
static int
mint_registered(struct mint *m)
{
	const struct auth_rule	*r = m->r;
	int			 seed = r->wire == AUTH_WIRE_SEED;
	char			*jti;

	if (claims_set_string(m, "iss", m->iss) != 0)
		return -1;
	/* The seed's token is {exp, iat, iss}: more only when asked for. */
	if ((!seed || m->o->sub != NULL || mint_needs(m, "sub")) &&
	    claims_set_string(m, "sub", m->o->sub ? m->o->sub : MINT_NAME) != 0)
		return -1;
	if (r->naudiences > 0 && claims_set_string(m, "aud",
	    m->o->tamper == AUTH_TAMPER_AUDIENCE ? MINT_WRONG_AUDIENCE : r->audiences[0]) != 0)
		return -1;
	if (r->nscopes > 0 && claims_set_string(m, "scope", r->scopes_text) != 0)
		return -1;
	claims_set(m, "iat", auth_printf("%lld", m->iat));
	claims_set(m, "exp", auth_printf("%lld", m->exp));
	if (seed && !mint_needs(m, "jti"))
		return 0;
	if ((jti = mint_random_hex(16)) == NULL)
		return mint_error(m, "no random bytes for jti");
	m->out->jti = jti;
	return claims_set_string(m, "jti", jti);
}

/* Build the claims: registered ones, then each binding. */
static int
mint_claims(struct mint *m)
{
	const struct auth_rule	*r = m->r;
	long long		 life = m->o->lifetime_s ? m->o->lifetime_s : MINT_LIFETIME;
	size_t			 i;

	if (m->o->lifetime_s < 0)
		return mint_error(m, "the token lifetime must be positive");
	m->iat = (long long)m->o->now;
	m->exp = m->iat + life;
	if (m->o->tamper == AUTH_TAMPER_EXPIRED) {
		m->iat = (long long)m->o->now - life - r->leeway - 3600;
		m->exp = (long long)m->o->now - r->leeway - 600;
	}
	m->iss = m->match != NULL && m->match->issuer != NULL ? m->match->issuer :
	    r->nissuers > 0 ? r->issuers[0] : MINT_NAME;
	if (mint_registered(m) != 0)
		return -1;
	for (i = 0; i < r->nbinds; i++) {
		if ((r->binds[i].equals != NULL ? mint_bind_equals(m, &r->binds[i]) :
		    mint_bind_hash(m, &r->binds[i])) != 0)
			return -1;
	}
	if (mint_required(m) != 0)
		return -1;
	if (m->o->tamper == AUTH_TAMPER_SCOPE)
		claims_del(m, "scope");
	if (r->wire == AUTH_WIRE_SEED)
		qsort(m->claims, m->nclaims, sizeof *m->claims, claims_cmp);
	return 0;
}

/* ---- the rule, the event, the key --------------------------------------- */

/* Find the rule: by name, or the first matching the subject. */
static int
mint_rule(struct mint *m)
{
	int	idx = -1, judged;
	size_t	i;

	if (m->subject == NULL || !auth_subject_valid(m->subject, 0))
		return mint_error(m, "'%s' is not a subject to publish on",
		    m->subject ? m->subject : "");
	judged = auth_policy_match(m->p, m->subject);
	if (m->o->rule == NULL) {
		if ((idx = judged) < 0)
			return mint_error(m, "no rule covers subject '%s'", m->subject);
	} else {
		for (i = 0; i < m->p->nrules && idx < 0; i++) {
			if (strcmp(m->p->rules[i].name, m->o->rule) == 0)
				idx = (int)i;
		}
		if (idx < 0)
			return mint_error(m, "no rule named '%s' in the policy", m->o->rule);
	}
	m->r = &m->p->rules[idx];
	m->out->rule = m->r->name;
	if (judged < 0)
		mint_warn(m, "no rule covers subject '%s', so the event will fail (no_policy)",
		    m->subject);
	else if (judged != idx)
		mint_warn(m, "subject '%s' is judged by rule '%s', not '%s'", m->subject,
		    m->p->rules[judged].name, m->r->name);
	return 0;
}

/* Parse the event and check it suits the rule's wire format. */
static int
mint_event(struct mint *m)
{
	const struct auth_rule	*r = m->r;
	const char		*tname;
	char			 err[160];

	if (jdoc_parse(&m->ev, (const char *)m->event, m->event_len, m->p->limits.max_depth,
	    err, sizeof err) != 0)
		return mint_error(m, "the event is not JSON: %s", err);
	m->raw = m->ev.text + m->ev.toks[0].start;
	m->raw_len = m->ev.toks[0].end - m->ev.toks[0].start;
	m->payload_members = m->ev.toks[0].type == JDOC_OBJECT && m->ev.toks[0].count > 0;
	if (r->wire != AUTH_WIRE_JSON)
		return 0;
	if (r->token_pointer->ntokens != 1 ||
	    (!mint_whole_body(r) && r->payload_pointer->ntokens != 1))
		return mint_error(m, "rule '%s' puts the token at '%s' and the payload at '%s': "
		    "minting builds bodies for one-level pointers (/name) only", r->name,
		    r->token_pointer->text, r->payload_pointer ? r->payload_pointer->text : "");
	tname = r->token_pointer->tokens[0];
	if (!mint_whole_body(r)) {
		if (strcmp(tname, r->payload_pointer->tokens[0]) == 0)
			return mint_error(m, "rule '%s' puts token and payload in one member",
			    r->name);
		return 0;
	}
	/* The whole body is the payload: the token joins the event's members. */
	if (m->ev.toks[0].type != JDOC_OBJECT)
		return mint_error(m, "rule '%s' carries the token inside the event itself, "
		    "so the event must be a JSON object", r->name);
	if (jdoc_member(&m->ev, 0, tname) >= 0)
		return mint_error(m, "the event already has a member '%s', where rule '%s' "
		    "puts the token", tname, r->name);
	if (mint_hash_bound(r))
		return mint_error(m, "rule '%s' hashes the whole body, which holds the token: "
		    "a token cannot carry a hash of itself", r->name);
	m->payload_members = 1;
	return 0;
}

/* Key confusion: the rule's first public key, as PEM text, is the secret. */
static int
mint_key_confusion(struct mint *m)
{
	const struct auth_key	*k = NULL;
	size_t			 i;

	for (i = 0; i < m->r->nkeys && k == NULL; i++) {
		if (m->p->kr.keys[m->r->keys[i]]->pkey != NULL)
			k = m->p->kr.keys[m->r->keys[i]];
	}
	if (k == NULL)
		return mint_error(m, "rule '%s' has only secrets: key confusion passes a "
		    "public key off as an HMAC secret", m->r->name);
	if ((m->pem = mint_public_pem(k->pkey, &m->key_len)) == NULL)
		return mint_error(m, "cannot write the public key of '%s' as PEM", k->name);
	m->key = (const unsigned char *)m->pem;
	m->key_type = AUTH_KEY_OCT;
	m->alg = AUTH_ALG_HS256;
	m->kid = m->o->kid != NULL ? m->o->kid : k->kid;
	return 0;
}

/* A private key PEM: its type, and the rule's key with the same public key. */
static int
mint_key_private(struct mint *m)
{
	BIO		*bio;
	EVP_PKEY	*pkey = NULL;
	struct auth_key	*pub = NULL;
	char		*pem = NULL, *why = NULL;
	size_t		 len = 0, i;
	int		 rc = -1;

	if (m->key_len > INT_MAX ||
	    (bio = BIO_new_mem_buf(m->key, (int)m->key_len)) == NULL) {
		mint_error(m, "cannot read the signing key");
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, mint_no_pass, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		mint_error(m, "the signing key is PEM but not an unencrypted private key");
		goto out;
	}
	if ((pem = mint_public_pem(pkey, &len)) == NULL ||
	    (pub = auth_key_from_pem((const unsigned char *)pem, len, &why)) == NULL) {
		mint_error(m, "signing key: %s", why ? why : "cannot derive its public key");
		goto out;
	}
	m->key_type = pub->type;
	for (i = 0; i < m->r->nkeys && m->match == NULL; i++) {
		const struct auth_key	*k = m->p->kr.keys[m->r->keys[i]];

		if (k->pkey != NULL && strcmp(k->fingerprint, pub->fingerprint) == 0)
			m->match = k;
	}
	rc = 0;
out:
	free(why);
	free(pem);
	auth_key_free(pub);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/* The key given by the caller: a private key PEM or a secret. */
static int
mint_key_given(struct mint *m)
{
	size_t	i;

	m->key = m->o->key;
	m->key_len = m->o->key_len;
	if (m->key_len == 0)
		return mint_error(m, "the signing key is empty");
	if (memmem(m->key, m->key_len, "-----BEGIN", 10) != NULL)
		return mint_key_private(m);
	m->key_type = AUTH_KEY_OCT;
	for (i = 0; i < m->r->nkeys && m->match == NULL; i++) {
		const struct auth_key	*k = m->p->kr.keys[m->r->keys[i]];

		if (k->type == AUTH_KEY_OCT && k->secret_len == m->key_len &&
		    auth_ct_equal(k->secret, m->key, m->key_len))
			m->match = k;
	}
	return 0;
}

/* The signing key: given, or the rule's own secret. */
static int
mint_key(struct mint *m)
{
	size_t	i;

	if (m->o->tamper == AUTH_TAMPER_KEY_CONFUSION)
		return mint_key_confusion(m);
	if (m->o->key != NULL)
		return mint_key_given(m);
	for (i = 0; i < m->r->nkeys; i++) {
		const struct auth_key	*k = m->p->kr.keys[m->r->keys[i]];

		if (k->type == AUTH_KEY_OCT) {
			m->key = k->secret;
			m->key_len = k->secret_len;
			m->key_type = AUTH_KEY_OCT;
			m->match = k;
			return 0;
		}
	}
	if (m->o->tamper == AUTH_TAMPER_ALG_NONE)
		return 0;		/* an unsigned token needs no key */
	return mint_error(m, "rule '%s' verifies with public keys: give the private key "
	    "to sign with", m->r->name);
}

/* Choose the algorithm: asked for, pinned by the key, or the rule's first fit. */
static int
mint_alg(struct mint *m)
{
	const struct auth_rule	*r = m->r;
	int			 alg;

	if (m->o->tamper == AUTH_TAMPER_KEY_CONFUSION || m->o->tamper == AUTH_TAMPER_ALG_NONE)
		return 0;
	if (m->o->alg != NULL) {
		if ((alg = auth_alg_from_name(m->o->alg)) < 0)
			return mint_error(m, "unknown algorithm '%s'", m->o->alg);
		if (!(r->algs & (1u << alg)))
			return mint_error(m, "rule '%s' does not allow %s (it allows %s)",
			    r->name, m->o->alg, r->algs_text);
		if (!auth_key_type_fits(m->key_type, alg))
			return mint_error(m, "%s does not fit the signing key, %s",
			    m->o->alg, auth_key_type_words(m->key_type));
		m->alg = alg;
		return 0;
	}
	if (m->match != NULL && m->match->alg >= 0 && (r->algs & (1u << m->match->alg)) &&
	    auth_key_type_fits(m->key_type, m->match->alg)) {
		m->alg = m->match->alg;
		return 0;
	}
	for (alg = 0; alg < AUTH_ALG_COUNT; alg++) {
		if ((r->algs & (1u << alg)) && auth_key_type_fits(m->key_type, alg)) {
			m->alg = alg;
			return 0;
		}
	}
	return mint_error(m, "none of rule '%s''s algorithms (%s) fits the signing key, %s",
	    r->name, r->algs_text, auth_key_type_words(m->key_type));
}

/* The kid to write, and warnings about a key the rule will not accept. */
static void
mint_kid(struct mint *m)
{
	const char	*name;

	if (m->o->tamper == AUTH_TAMPER_KEY_CONFUSION)
		return;
	if (m->o->kid != NULL)
		m->kid = m->o->kid;
	else if (m->match != NULL && m->r->wire != AUTH_WIRE_SEED)
		m->kid = m->match->kid;
	if (m->key == NULL)
		return;
	if (m->match == NULL) {
		mint_warn(m, "the signing key is not among rule '%s''s keys, so the event "
		    "will fail verification", m->r->name);
		return;
	}
	name = m->match->kid != NULL ? m->match->kid : m->match->name;
	if (m->o->kid != NULL && strcmp(m->o->kid, name) != 0)
		mint_warn(m, "kid '%s' does not name the signing key ('%s') of rule '%s', so "
		    "the event will fail verification", m->o->kid, name, m->r->name);
	if (m->match->alg >= 0 && m->alg >= 0 && m->match->alg != m->alg)
		mint_warn(m, "key '%s' is pinned to %s, so a %s token will fail verification",
		    name, auth_alg_name(m->match->alg), auth_alg_name(m->alg));
}

/* Check the tamper fits the rule: each must be able to show its failure. */
static int
mint_tamper_check(struct mint *m)
{
	const struct auth_rule	*r = m->r;

	switch (m->o->tamper) {
	case AUTH_TAMPER_NONE:
	case AUTH_TAMPER_SIGNATURE:
	case AUTH_TAMPER_EXPIRED:
	case AUTH_TAMPER_ALG_NONE:
	case AUTH_TAMPER_KEY_CONFUSION:
		return 0;
	case AUTH_TAMPER_PAYLOAD:
		if (m->ev.toks[0].type != JDOC_OBJECT)
			return mint_error(m, "the payload tamper adds a member, so the event "
			    "must be a JSON object");
		if (jdoc_member(&m->ev, 0, MINT_TAMPERED) >= 0)
			return mint_error(m, "the event already has a member '%s'",
			    MINT_TAMPERED);
		if (r->wire != AUTH_WIRE_SEED && !mint_hash_bound(r))
			mint_warn(m, "rule '%s' binds no hash of the payload, so the changed "
			    "payload will pass", r->name);
		return 0;
	case AUTH_TAMPER_AUDIENCE:
		if (r->naudiences == 0)
			return mint_error(m, "rule '%s' checks no audience, so a wrong one "
			    "would pass", r->name);
		return 0;
	case AUTH_TAMPER_SCOPE:
		if (r->nscopes == 0)
			return mint_error(m, "rule '%s' requires no scopes, so leaving them out "
			    "would pass", r->name);
		return 0;
	case AUTH_TAMPER_REPLAY:
		if (r->replay_claim == NULL && r->replay_field == NULL)
			return mint_error(m, "rule '%s' has no replay detection ('replay'), so "
			    "a replayed event would pass", r->name);
		return 0;
	case AUTH_TAMPER_COUNT:
		break;
	}
	return mint_error(m, "unknown tamper kind %d", (int)m->o->tamper);
}

/* ---- the token and the body --------------------------------------------- */

/* The JWT header and claims as JSON text into h and c. */
static int
mint_segments(struct mint *m, struct mint_buf *h, struct mint_buf *c)
{
	size_t	i;

	mbuf_puts(h, "{\"alg\":");
	mbuf_json(h, m->o->tamper == AUTH_TAMPER_ALG_NONE ? "none" : auth_alg_name(m->alg));
	mbuf_puts(h, ",\"typ\":\"JWT\"");
	if (m->kid != NULL) {
		mbuf_puts(h, ",\"kid\":");
		if (mbuf_json(h, m->kid) != 0)
			return mint_error(m, "the kid is not valid UTF-8");
	}
	mbuf_puts(h, "}");
	mbuf_puts(c, "{");
	for (i = 0; i < m->nclaims; i++) {
		if (i > 0)
			mbuf_puts(c, ",");
		if (mbuf_json(c, m->claims[i].name) != 0)
			return mint_error(m, "claim name is not valid UTF-8");
		mbuf_puts(c, ":");
		mbuf_puts(c, m->claims[i].value);
	}
	mbuf_puts(c, "}");
	return 0;
}

/* Sign header.claims (or not, for alg-none) into out->token. */
static int
mint_token(struct mint *m)
{
	struct mint_buf	 h = { NULL, 0, 0 }, c = { NULL, 0, 0 }, t = { NULL, 0, 0 };
	unsigned char	*sig = NULL;
	char		*seg, *why = NULL;
	size_t		 siglen = 0;
	int		 rc = -1;

	if (mint_segments(m, &h, &c) != 0)
		goto out;
	seg = auth_b64url_encode((unsigned char *)h.p, h.len);
	mbuf_puts(&t, seg);
	free(seg);
	mbuf_puts(&t, ".");
	seg = auth_b64url_encode((unsigned char *)c.p, c.len);
	mbuf_puts(&t, seg);
	free(seg);
	mbuf_puts(&t, ".");
	if (m->o->tamper != AUTH_TAMPER_ALG_NONE) {
		sig = auth_sign(m->alg, m->key, m->key_len, (unsigned char *)t.p, t.len - 1,
		    &siglen, &why);
		if (sig == NULL) {
			mint_error(m, "cannot sign with %s: %s", auth_alg_name(m->alg), why);
			goto out;
		}
		/* Flip a bit of the bytes, not of the text: still canonical base64url. */
		if (m->o->tamper == AUTH_TAMPER_SIGNATURE)
			sig[siglen / 2] ^= 0x01;
		seg = auth_b64url_encode(sig, siglen);
		mbuf_puts(&t, seg);
		free(seg);
	}
	m->out->token = t.p;
	t.p = NULL;
	if (strlen(m->out->token) > m->p->limits.max_token)
		mint_warn(m, "the token is over the policy's cap of %zu bytes",
		    m->p->limits.max_token);
	rc = 0;
out:
	free(why);
	free(sig);
	free(h.p);
	free(c.p);
	free(t.p);
	return rc;
}

/* Append a JSON string to the body; -1 when it is not valid UTF-8. */
static int
mint_body_string(struct mint *m, const char *s, const char *what)
{
	if (mbuf_json(&m->body, s) != 0)
		return mint_error(m, "%s is not valid UTF-8", what);
	return 0;
}

/* Header wire: the body is the event exactly; the token goes in a header. */
static int
mint_body_header(struct mint *m)
{
	const struct auth_rule	*r = m->r;

	mbuf_add(&m->body, m->event, m->event_len);
	m->payload_at = m->ev.toks[0].start;
	if (r->token_scheme != NULL)
		m->out->header_value = auth_printf("%s %s", r->token_scheme, m->out->token);
	else
		m->out->header_value = auth_strdup(m->out->token);
	m->out->headers[0].name = r->token_header;
	m->out->headers[0].value = m->out->header_value;
	m->out->msg.nheaders = 1;
	return 0;
}

/* JSON wire: {"<token>":"<JWT>","<payload>":<event>}, or the token first
   among the event's own members when the whole body is the payload. */
static int
mint_body_json(struct mint *m)
{
	const struct auth_rule	*r = m->r;

	mbuf_puts(&m->body, "{");
	if (mint_body_string(m, r->token_pointer->tokens[0], "the token member's name") != 0)
		return -1;
	mbuf_puts(&m->body, ":");
	mint_body_string(m, m->out->token, "the token");
	if (mint_whole_body(r)) {
		m->payload_at = 0;
		if (m->ev.toks[0].count == 0)
			mbuf_puts(&m->body, "}");
		else {
			mbuf_puts(&m->body, ",");
			mbuf_add(&m->body, m->raw + 1, m->raw_len - 1);
		}
		return 0;
	}
	mbuf_puts(&m->body, ",");
	if (mint_body_string(m, r->payload_pointer->tokens[0], "the payload member's name") != 0)
		return -1;
	mbuf_puts(&m->body, ":");
	m->payload_at = m->body.len;
	mbuf_add(&m->body, m->raw, m->raw_len);
	mbuf_puts(&m->body, "}");
	return 0;
}

/* The Go seed's event token: base64 of HMAC-SHA256 over the data bytes. */
static char *
mint_seed_hash(struct mint *m)
{
	const struct auth_key	*ek = m->p->kr.keys[m->r->event_key];
	unsigned char		*mac;
	char			*why = NULL, *out;
	size_t			 len;

	mac = auth_sign(AUTH_ALG_HS256, ek->secret, ek->secret_len,
	    (const unsigned char *)m->raw, m->raw_len, &len, &why);
	if (mac == NULL) {
		mint_error(m, "cannot compute the event token: %s", why);
		free(why);
		return NULL;
	}
	out = auth_b64_encode(mac, len);
	free(mac);
	return out;
}

/* Seed wire: {"id","data","jwt","event_auth"} in the Go struct's order. */
static int
mint_body_seed(struct mint *m)
{
	const struct auth_mint_opts	*o = m->o;
	time_t				 until;
	char				*id = NULL, *hash = NULL, *expires = NULL;
	int				 rc = -1;

	if (o->now_nsec < 0 || o->now_nsec > 999999999 ||
	    o->utc_offset_min < -(23 * 60 + 59) || o->utc_offset_min > 23 * 60 + 59) {
		mint_error(m, "now_nsec or utc_offset_min out of range");
		goto out;
	}
	until = o->tamper == AUTH_TAMPER_EXPIRED ? o->now - (time_t)m->r->leeway - 600 :
	    o->now + MINT_SEED_EVENT_LIFE;
	if ((id = mint_uuid()) == NULL) {
		mint_error(m, "no random bytes for the event id");
		goto out;
	}
	if ((expires = mint_rfc3339(until, o->now_nsec, o->utc_offset_min)) == NULL) {
		mint_error(m, "the event's expiry is out of range");
		goto out;
	}
	if ((hash = mint_seed_hash(m)) == NULL)
		goto out;
	mbuf_puts(&m->body, "{\"id\":");
	mbuf_json(&m->body, id);
	mbuf_puts(&m->body, ",\"data\":");
	m->payload_at = m->body.len;
	mbuf_add(&m->body, m->raw, m->raw_len);
	mbuf_puts(&m->body, ",\"jwt\":");
	mbuf_json(&m->body, m->out->token);
	mbuf_puts(&m->body, ",\"event_auth\":{\"publisher_id\":");
	mbuf_json(&m->body, m->iss);
	mbuf_puts(&m->body, ",\"event_type\":");
	if (mint_body_string(m, m->subject, "the subject") != 0)
		goto out;
	mbuf_puts(&m->body, ",\"expires_at\":");
	mbuf_json(&m->body, expires);
	mbuf_puts(&m->body, ",\"hash\":");
	mbuf_json(&m->body, hash);
	mbuf_puts(&m->body, "}}");
	rc = 0;
out:
	free(id);
	free(hash);
	free(expires);
	return rc;
}

/* The payload tamper: a member added after the payload's '{', once signed. */
static void
mint_tamper_payload(struct mint *m)
{
	const char	*add = m->payload_members ? "\"" MINT_TAMPERED "\":true," :
	    "\"" MINT_TAMPERED "\":true";
	size_t		 at = m->payload_at + 1, n = strlen(add);

	mbuf_add(&m->body, add, n);		/* grow; the bytes move below */
	memmove(m->body.p + at + n, m->body.p + at, m->body.len - n - at);
	memcpy(m->body.p + at, add, n);
}

/* Build the body (and header) in the rule's wire format. */
static int
mint_body(struct mint *m)
{
	int	rc;

	switch (m->r->wire) {
	case AUTH_WIRE_HEADER:
		rc = mint_body_header(m);
		break;
	case AUTH_WIRE_JSON:
		rc = mint_body_json(m);
		break;
	default:
		rc = mint_body_seed(m);
		break;
	}
	if (rc != 0)
		return -1;
	if (m->o->tamper == AUTH_TAMPER_PAYLOAD)
		mint_tamper_payload(m);
	if (m->body.len > m->p->limits.max_body)
		mint_warn(m, "the body is over the policy's cap of %zu bytes",
		    m->p->limits.max_body);
	return 0;
}

/* ---- the whole -------------------------------------------------------- */

/* Free what a minting holds (not what went to out). */
static void
mint_release(struct mint *m)
{
	size_t	i;

	for (i = 0; i < m->nclaims; i++) {
		free(m->claims[i].name);
		free(m->claims[i].value);
	}
	free(m->claims);
	free(m->pem);
	free(m->body.p);
	jdoc_release(&m->ev);
}

/* Mint an event-bound token and its message. */
int
auth_mint(const struct auth_policy *p, const char *subject,
    const unsigned char *event, size_t event_len, const struct auth_mint_opts *o,
    struct auth_minted *out, char **cause)
{
	static const struct auth_mint_opts	 none;	/* every default */
	struct mint				 m;
	int					 rc = -1;

	memset(out, 0, sizeof *out);
	memset(&m, 0, offsetof(struct mint, ev));
	if (o == NULL)
		o = &none;
	m.ev.toks = NULL;
	m.p = p;
	m.o = o;
	m.subject = subject;
	m.event = event;
	m.event_len = event != NULL ? event_len : 0;
	m.out = out;
	m.alg = -1;
	if (mint_rule(&m) != 0 || mint_event(&m) != 0 || mint_tamper_check(&m) != 0 ||
	    mint_key(&m) != 0 || mint_alg(&m) != 0)
		goto out;
	mint_kid(&m);
	if (mint_claims(&m) != 0 || mint_token(&m) != 0 || mint_body(&m) != 0)
		goto out;
	out->subject = auth_strdup(subject);
	out->body = (unsigned char *)m.body.p;
	out->msg.subject = out->subject;
	out->msg.headers = out->headers;
	out->msg.body = out->body;
	out->msg.body_len = m.body.len;
	m.body.p = NULL;
	rc = 0;
out:
	mint_release(&m);
	if (rc != 0) {
		auth_minted_free(out);
		*cause = m.err != NULL ? m.err : auth_strdup("cannot mint the event");
	} else
		free(m.err);
	return rc;
}

/* Free what a minted message owns. */
void
auth_minted_free(struct auth_minted *mt)
{
	if (mt == NULL)
		return;
	free(mt->subject);
	free(mt->header_value);
	free(mt->body);
	free(mt->token);
	free(mt->jti);
	free(mt->warning);
	memset(mt, 0, sizeof *mt);
}
