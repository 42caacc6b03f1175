/*
 * auth/auth-alg.c -- the algorithm table and the reason codes.
 *
 * Names are matched exactly: "none", "None", "NONE", "nOnE" and anything
 * not in the table are refused by construction, since there is no entry
 * for them (DESIGN §1).
 */
#include <string.h>

#include "auth-int.h"

static const struct auth_alg_info auth_algs[AUTH_ALG_COUNT] = {
	[AUTH_ALG_HS256] = { "HS256", AUTH_FAMILY_HMAC, "SHA256", 0, 0, 0 },
	[AUTH_ALG_HS384] = { "HS384", AUTH_FAMILY_HMAC, "SHA384", 0, 0, 0 },
	[AUTH_ALG_HS512] = { "HS512", AUTH_FAMILY_HMAC, "SHA512", 0, 0, 0 },
	[AUTH_ALG_RS256] = { "RS256", AUTH_FAMILY_RSA, "SHA256", 0, 0, 0 },
	[AUTH_ALG_RS384] = { "RS384", AUTH_FAMILY_RSA, "SHA384", 0, 0, 0 },
	[AUTH_ALG_RS512] = { "RS512", AUTH_FAMILY_RSA, "SHA512", 0, 0, 0 },
	[AUTH_ALG_PS256] = { "PS256", AUTH_FAMILY_RSA, "SHA256", 1, 0, 0 },
	[AUTH_ALG_PS384] = { "PS384", AUTH_FAMILY_RSA, "SHA384", 1, 0, 0 },
	[AUTH_ALG_PS512] = { "PS512", AUTH_FAMILY_RSA, "SHA512", 1, 0, 0 },
	[AUTH_ALG_ES256] = { "ES256", AUTH_FAMILY_EC, "SHA256", 0, AUTH_KEY_EC_P256, 64 },
	[AUTH_ALG_ES384] = { "ES384", AUTH_FAMILY_EC, "SHA384", 0, AUTH_KEY_EC_P384, 96 },
	[AUTH_ALG_ES512] = { "ES512", AUTH_FAMILY_EC, "SHA512", 0, AUTH_KEY_EC_P521, 132 },
	[AUTH_ALG_EDDSA] = { "EdDSA", AUTH_FAMILY_EDDSA, NULL, 0, 0, 64 },
};

static const char *auth_reasons[AUTH_REASON_COUNT] = {
	[AUTH_OK] = "ok",
	[AUTH_NO_POLICY] = "no_policy",
	[AUTH_MALFORMED_MESSAGE] = "malformed_message",
	[AUTH_MISSING_TOKEN] = "missing_token",
	[AUTH_MALFORMED_TOKEN] = "malformed_token",
	[AUTH_ALG_NOT_ALLOWED] = "alg_not_allowed",
	[AUTH_UNKNOWN_KEY] = "unknown_key",
	[AUTH_BAD_SIGNATURE] = "bad_signature",
	[AUTH_EXPIRED] = "expired",
	[AUTH_NOT_YET_VALID] = "not_yet_valid",
	[AUTH_WRONG_ISSUER] = "wrong_issuer",
	[AUTH_WRONG_AUDIENCE] = "wrong_audience",
	[AUTH_INSUFFICIENT_SCOPE] = "insufficient_scope",
	[AUTH_MISSING_CLAIM] = "missing_claim",
	[AUTH_PAYLOAD_HASH_MISMATCH] = "payload_hash_mismatch",
	[AUTH_EVENT_ID_MISMATCH] = "event_id_mismatch",
	[AUTH_EVENT_TOKEN_INVALID] = "event_token_invalid",
	[AUTH_EVENT_TOKEN_EXPIRED] = "event_token_expired",
	[AUTH_REPLAY] = "replay",
};

/* Facts about alg, or NULL. */
const struct auth_alg_info *
auth_alg_info(int alg)
{
	if (alg < 0 || alg >= AUTH_ALG_COUNT)
		return NULL;
	return &auth_algs[alg];
}

/* Name of alg. */
const char *
auth_alg_name(int alg)
{
	const struct auth_alg_info	*ai = auth_alg_info(alg);

	return ai ? ai->name : NULL;
}

/* Exact-name lookup. */
int
auth_alg_from_name(const char *name)
{
	int	i;

	if (name == NULL)
		return -1;
	for (i = 0; i < AUTH_ALG_COUNT; i++) {
		if (strcmp(auth_algs[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* Whether a key of type can verify alg: the key decides the family. */
int
auth_key_type_fits(enum auth_key_type type, int alg)
{
	const struct auth_alg_info	*ai = auth_alg_info(alg);

	if (ai == NULL)
		return 0;
	switch (ai->family) {
	case AUTH_FAMILY_HMAC:
		return type == AUTH_KEY_OCT;
	case AUTH_FAMILY_RSA:
		return type == AUTH_KEY_RSA;
	case AUTH_FAMILY_EC:
		return type == ai->ec_type;
	case AUTH_FAMILY_EDDSA:
		return type == AUTH_KEY_ED25519;
	}
	return 0;
}

/* Code string of reason. */
const char *
auth_reason_name(enum auth_reason r)
{
	if ((int)r < 0 || r >= AUTH_REASON_COUNT)
		return "unknown";
	return auth_reasons[r];
}

/* Reason for a code string, or -1. */
int
auth_reason_from_name(const char *name)
{
	int	i;

	for (i = 0; i < AUTH_REASON_COUNT; i++) {
		if (strcmp(auth_reasons[i], name) == 0)
			return i;
	}
	return -1;
}
