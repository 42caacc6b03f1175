/*
 * ingest/ingest-nkey.h -- a NATS user nkey for signing the server's nonce
 * (private to ingest/).
 */
#ifndef INGEST_NKEY_H
#define INGEST_NKEY_H

struct ingest_nkey;

/* Read a seed file ("SU..." and optionally the matching "U..." line) or
   the seed of a credentials file. */
struct ingest_nkey	*ingest_nkey_load(const char *file, char **cause);
/* The user JWT of a credentials file (the caller frees). */
char			*ingest_creds_jwt(const char *file, char **cause);
const char		*ingest_nkey_public(const struct ingest_nkey *);
/* Ed25519 signature of the nonce; *sig is malloc'd.  0 or -1. */
int			 ingest_nkey_sign(const struct ingest_nkey *, const char *nonce,
			    unsigned char **sig, int *siglen);
void			 ingest_nkey_free(struct ingest_nkey *);

#endif
