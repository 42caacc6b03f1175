/*
 * auth/auth-pointer.c -- JSON pointers (RFC 6901), parsed once at policy load.
 *
 * The policy names fields of events by pointer ("/eventID"); they are split
 * and unescaped here so that resolving one per event (jdoc_pointer) is a
 * plain walk over tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "auth-int.h"

/* Parse a JSON pointer ("" or "/a/b~1c"). */
struct auth_pointer *
auth_pointer_parse(const char *text, char **cause)
{
	struct auth_pointer	*p;
	const char		*s;
	char			*tok, *t;

	if (text[0] != '\0' && text[0] != '/') {
		*cause = auth_printf("JSON pointer '%s' must start with '/'", text);
		return NULL;
	}
	p = auth_calloc(1, sizeof *p);
	p->text = auth_strdup(text);
	s = text;
	while (*s == '/') {
		s++;
		tok = auth_malloc(strlen(s) + 1);
		for (t = tok; *s != '\0' && *s != '/'; s++) {
			if (*s != '~') {
				*t++ = *s;
				continue;
			}
			if (s[1] == '0')
				*t++ = '~';
			else if (s[1] == '1')
				*t++ = '/';
			else {
				*cause = auth_printf("JSON pointer '%s' has a bad '~' escape",
				    text);
				free(tok);
				auth_pointer_free(p);
				return NULL;
			}
			s++;
		}
		*t = '\0';
		p->tokens = auth_realloc(p->tokens, (p->ntokens + 1) * sizeof *p->tokens);
		p->tokens[p->ntokens++] = tok;
	}
	return p;
}

/* Free a pointer. */
void
auth_pointer_free(struct auth_pointer *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ntokens; i++)
		free(p->tokens[i]);
	free(p->tokens);
	free(p->text);
	free(p);
}
