/*
 * cli/cmd-policy.c -- `ztwatch policy` and `ztwatch keys`: show what the
 * policy trusts, and the shared time parser.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/*
 * The latest time accepted, 9999-12-31T23:59:59Z: a bound that is still a
 * date, and whose microseconds fit an int64_t with room to spare.
 */
#define CLI_TIME_MAX	253402300799LL

/* Parse epoch seconds: digits only, from 0 to CLI_TIME_MAX. */
static int
cli_parse_epoch(const char *s, time_t *out)
{
	long long	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
		if (v > CLI_TIME_MAX)	/* checked per digit, so never overflows */
			return -1;
	}
	*out = (time_t)v;
	return 0;
}

/* Parse an RFC 3339 offset, "Z" or "+hh:mm"/"-hh:mm" within a day, to
   seconds east of UTC. */
static int
cli_parse_offset(const char *s, long *off)
{
	int	h, m;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || s[3] != ':' ||
	    !isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]) || s[6] != '\0')
		return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	if (h > 23 || m > 59)
		return -1;
	*off = (s[0] == '+' ? 1 : -1) * (h * 3600L + m * 60L);
	return 0;
}

/* Parse RFC 3339 ("2026-11-23T01:02:03Z", offsets allowed) or epoch seconds,
   either from 1970 to the end of 9999. */
int
cli_parse_time(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*rest;
	time_t		 t;
	long		 off;

	if (*s == '@')
		s++;
	if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s))
		return cli_parse_epoch(s, out);
	/* strptime skips blanks before a number; a time is not padded. */
	if (!isdigit((unsigned char)*s))
		return -1;
	memset(&tm, 0, sizeof tm);
	if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*rest == '.')
		for (rest++; isdigit((unsigned char)*rest); rest++)
			;
	if (cli_parse_offset(rest, &off) != 0)
		return -1;
	/* %Y takes at most four digits, so timegm cannot overflow here. */
	t = timegm(&tm) - off;
	if (t < 0 || t > CLI_TIME_MAX)
		return -1;
	*out = t;
	return 0;
}

/* Parse a time: absolute, or relative to now ("-2h"). */
static int
cli_parse_when_any(const char *s, int64_t *us)
{
	struct timespec	 ts;
	char		*end;
	long long	 n;
	time_t		 t;
	int64_t		 unit;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (strcmp(s, "now") == 0) {
		*us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		return 0;
	}
	if (s[0] == '-' && isdigit((unsigned char)s[1])) {
		n = strtoll(s + 1, &end, 10);
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
		/* At most a century back, whatever the unit (and no overflow). */
		if (end[1] != '\0' || n > 100LL * 365 * 86400 / unit)
			return -1;
		*us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - n * unit * 1000000;
		return 0;
	}
	if (cli_parse_time(s, &t) != 0)
		return -1;
	*us = (int64_t)t * 1000000;	/* t <= CLI_TIME_MAX: fits */
	/* Keep an RFC 3339 fraction: "…:03.250Z" is 250 ms after the second. */
	if ((end = strchr(s, '.')) != NULL && isdigit((unsigned char)end[1])) {
		int64_t	frac = 0, scale = 100000;

		for (end++; isdigit((unsigned char)*end) && scale > 0; end++, scale /= 10)
			frac += (*end - '0') * scale;
		*us += frac;
	}
	return 0;
}

/* Parse a time for filters; after the epoch, since a filter's 0 means "no
   bound" (--until 0 would select everything). */
int
cli_parse_when(const char *s, int64_t *us)
{
	if (cli_parse_when_any(s, us) != 0 || *us <= 0)
		return -1;
	return 0;
}

/* A string member of a key's description, or NULL. */
static const char *
policy_key_str(json_t *key, const char *member)
{
	return json_string_value(json_object_get(key, member));
}

/* Print every key in use, fixed and fetched, and, with set, the key set's fingerprint. */
static void
policy_print_keys(const struct auth_policy *p, int set_too)
{
	char	*fp = NULL, *text = NULL, *name, *kid, *source;
	json_t	*set, *key;
	size_t	 i;

	auth_policy_keyset(p, &fp, &text);
	set = json_loads(text, 0, NULL);
	json_array_foreach(json_object_get(set, "keys"), i, key) {
		name = cli_visible(policy_key_str(key, "name"));
		kid = cli_visible(policy_key_str(key, "kid"));
		source = cli_visible(policy_key_str(key, "source"));
		printf("  %-12s %-10s %-6s %-24s %s\n    %s\n", name ? name : "?",
		    policy_key_str(key, "type"), policy_key_str(key, "alg") ?
		    policy_key_str(key, "alg") : "-", kid ? kid : "?",
		    policy_key_str(key, "fingerprint"), source ? source : "?");
		free(name);
		free(kid);
		free(source);
	}
	if (set_too)
		printf("key set %s\n", fp);
	json_decref(set);
	free(fp);
	free(text);
}

/* Whether argv asks for help; prints usage if so. */
static int
policy_help(int argc, char **argv, const char *usage)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		puts(usage);
		return 1;
	}
	return 0;
}

/* Refuse arguments after cmd: "keys -p other.json" must not list the keys
   of ./ztwatch.json.  Returns 0, or -1 once said. */
static int
policy_no_args(const char *cmd, int argc)
{
	if (argc <= 1)
		return 0;
	cli_error("%s: takes no arguments (the policy is a global option: ztwatch -p POLICY %s)",
	    cmd, cmd);
	return -1;
}

/* ztwatch policy: validate and summarise. */
int
cmd_policy(struct cli_globals *g, int argc, char **argv)
{
	struct auth_policy	*p;
	size_t			 i;

	if (policy_help(argc, argv, "usage: ztwatch [-p POLICY] policy\n\n"
	    "Check the policy file (exit 0 valid, 2 invalid) and list its rules and keys."))
		return CLI_EXIT_OK;
	if (policy_no_args("policy", argc) != 0)
		return CLI_EXIT_USAGE;
	if ((p = cli_load_policy(g)) == NULL)
		return CLI_EXIT_USAGE;
	printf("policy %s: valid, sha256 %s\nrules:\n", g->policy, auth_policy_hash(p));
	for (i = 0; i < auth_policy_rule_count(p); i++) {
		char	*name = cli_visible(auth_policy_rule_name(p, i));

		printf("  %zu. %s\n", i + 1, name ? name : "?");
		free(name);
	}
	puts("keys:");
	policy_print_keys(p, 1);
	cli_policy_free(p);
	return CLI_EXIT_OK;
}

/* ztwatch keys: the keyring with fingerprints. */
int
cmd_keys(struct cli_globals *g, int argc, char **argv)
{
	struct auth_policy	*p;

	if (policy_help(argc, argv, "usage: ztwatch [-p POLICY] keys\n\n"
	    "List each key: name, type, pinned alg, kid, fingerprint and source.\n"
	    "Secrets are shown only by a PBKDF2 fingerprint, never in clear."))
		return CLI_EXIT_OK;
	if (policy_no_args("keys", argc) != 0)
		return CLI_EXIT_USAGE;
	if ((p = cli_load_policy(g)) == NULL)
		return CLI_EXIT_USAGE;
	policy_print_keys(p, 0);
	cli_policy_free(p);
	return CLI_EXIT_OK;
}
