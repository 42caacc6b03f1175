/*
 * cli/cmd-pub.c -- `ztwatch pub`: the token-exchange side of the seeds.
 *
 * Reads an event (JSON), mints a token bound to it per a policy rule,
 * and publishes the message in the rule's wire format -- or, with
 * --tamper, a message spoiled in one chosen way, to show each failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"

#define PUB_MAX_EVENT	(16u << 20)

struct pub_opts {
	const char	*subject;
	const char	*file;
	const char	*rule;
	const char	*sign_key;
	const char	*alg;
	const char	*kid;
	const char	*sub;
	long		 lifetime;
	long		 count;
	int		 tamper;
	int		 jetstream;
	int		 print;
};

/* Print the usage of pub. */
static void
pub_usage(FILE *f)
{
	int	i;

	fputs("usage: ztwatch [connection] [-p POLICY] pub SUBJECT [FILE|-] [--rule NAME]\n"
	    "           [--sign-key F] [--alg A] [--kid K] [--sub S] [--lifetime S]\n"
	    "           [--tamper KIND] [--count N] [--jetstream] [--print]\n\n"
	    "Mint a token bound to the event in FILE (JSON; default stdin) per the policy\n"
	    "rule for SUBJECT, and publish the message in the rule's wire format.\n\n"
	    "  --rule NAME     the rule to follow (default: the first matching SUBJECT)\n"
	    "  --sign-key F    private key PEM, or a file holding the HMAC secret\n"
	    "                  (default for HMAC rules: the policy's own secret)\n"
	    "  --alg A         signing algorithm (default: the rule's first that fits)\n"
	    "  --kid K         kid header (default: the policy key matching the signing key)\n"
	    "  --sub S         the token's subject claim (default ztwatch-pub)\n"
	    "  --lifetime S    token lifetime in seconds (default 300)\n"
	    "  --count N       publish N messages, each with a fresh token (default 1)\n"
	    "  --jetstream     publish through JetStream and wait for the stream's ack\n"
	    "  --print         print the message as a capture line instead of publishing\n"
	    "  --tamper KIND   spoil the message on purpose:", f);
	for (i = 1; i < AUTH_TAMPER_COUNT; i++)
		fprintf(f, " %s", auth_tamper_name(i));
	fputs("\n", f);
}

/* A number option. */
static int
pub_number(const char *opt, const char *arg, long min, long max, long *out)
{
	char	*end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || *out < min || *out > max) {
		cli_error("pub: %s wants a number from %ld to %ld", opt, min, max);
		return -1;
	}
	return 0;
}

/* Parse the command line. */
static int
pub_parse(struct cli_globals *g, struct pub_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rule", required_argument, NULL, 'r' },
		{ "sign-key", required_argument, NULL, 'k' },
		{ "alg", required_argument, NULL, 'a' },
		{ "kid", required_argument, NULL, 'K' },
		{ "sub", required_argument, NULL, 'u' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "tamper", required_argument, NULL, 't' },
		{ "jetstream", no_argument, NULL, 'J' },
		{ "print", no_argument, NULL, 'P' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	o->count = 1;
	while ((ch = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o->rule = optarg;
			break;
		case 'k':
			o->sign_key = optarg;
			break;
		case 'a':
			o->alg = optarg;
			break;
		case 'K':
			o->kid = optarg;
			break;
		case 'u':
			o->sub = optarg;
			break;
		case 'l':
			if (pub_number("--lifetime", optarg, 1, 366L * 86400, &o->lifetime) != 0)
				return -1;
			break;
		case 'c':
			if (pub_number("--count", optarg, 1, 100000000, &o->count) != 0)
				return -1;
			break;
		case 't':
			if ((o->tamper = auth_tamper_from_name(optarg)) < 0) {
				cli_error("pub: unknown --tamper '%s' (ztwatch pub --help lists them)",
				    optarg);
				return -1;
			}
			break;
		case 'J':
			o->jetstream = 1;
			break;
		case 'P':
			o->print = 1;
			break;
		case 'p':
			g->policy = optarg;
			break;
		case 'h':
			pub_usage(stdout);
			cli_help_done("pub");
		default:
			pub_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		cli_error("pub: give the subject to publish on");
		return -1;
	}
	o->subject = argv[optind++];
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc) {
		cli_error("pub: one event file at a time");
		return -1;
	}
	if (!auth_subject_valid(o->subject, 0)) {
		cli_error("pub: '%s' is not a subject one can publish on", o->subject);
		return -1;
	}
	return 0;
}

/* Read all of a file (or stdin for "-" or NULL), at most max bytes. */
static unsigned char *
pub_read(const char *file, size_t max, size_t *len)
{
	FILE		*f = stdin;
	unsigned char	*buf = NULL, *nb;
	size_t		 n = 0, cap = 0, r;

	if (file != NULL && strcmp(file, "-") != 0 && (f = fopen(file, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			/* Room for max bytes and one more, which tells a file of
			   exactly max from a longer one. */
			if (cap == max + 1) {
				free(buf);
				buf = NULL;
				errno = EFBIG;
				break;
			}
			cap = cap == 0 ? 4096 : cap * 2 < max + 1 ? cap * 2 : max + 1;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		if ((r = fread(buf + n, 1, cap - n, f)) == 0)
			break;
		n += r;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* Print the message as a capture line (the verify --batch format). */
static void
pub_print(const struct auth_minted *mt)
{
	char	*b64 = auth_b64_encode(mt->msg.body, mt->msg.body_len);
	json_t	*line = json_object(), *h = json_object();
	char	*text;
	size_t	 i;

	for (i = 0; i < mt->msg.nheaders; i++)
		json_object_set_new(h, mt->msg.headers[i].name,
		    json_string(mt->msg.headers[i].value));
	json_object_set_new(line, "subject", json_string(mt->msg.subject));
	json_object_set_new(line, "headers", h);
	json_object_set_new(line, "body_b64", json_string(b64 ? b64 : ""));
	/* ASCII only: a subject may carry a bidi control, which a terminal obeys. */
	if ((text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		printf("%s\n", text);
	free(text);
	free(b64);
	json_decref(line);
}

/* Send one minted message (twice for a replay). */
static int
pub_send(struct ingest_conn *c, const struct pub_opts *o, const struct auth_minted *mt)
{
	char		*cause = NULL;
	uint64_t	 seq = 0;
	int		 i, times = o->tamper == AUTH_TAMPER_REPLAY ? 2 : 1;

	for (i = 0; i < times; i++) {
		if (o->print) {
			pub_print(mt);
			continue;
		}
		if ((o->jetstream ? ingest_js_publish(c, &mt->msg, &seq, &cause) :
		    ingest_publish(c, &mt->msg, &cause)) != 0) {
			cli_error("pub: %s", cause);
			free(cause);
			return -1;
		}
	}
	return 0;
}

/* Mint and send count messages. */
static int
pub_run(struct ingest_conn *c, struct auth_policy *p, const struct pub_opts *o,
    const unsigned char *event, size_t event_len, const unsigned char *key, size_t key_len)
{
	struct auth_mint_opts	 mo;
	struct auth_minted	 mt;
	char			*cause = NULL;
	long			 i;
	int			 warned = 0;

	memset(&mo, 0, sizeof mo);
	mo.rule = o->rule;
	mo.key = key;
	mo.key_len = key_len;
	mo.alg = o->alg;
	mo.kid = o->kid;
	mo.sub = o->sub;
	mo.lifetime_s = o->lifetime;
	mo.tamper = o->tamper;
	for (i = 0; i < o->count; i++) {
		struct timespec	ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		mo.now = ts.tv_sec;
		mo.now_nsec = ts.tv_nsec;	/* the seed's expires_at has nanoseconds */
		memset(&mt, 0, sizeof mt);
		if (auth_mint(p, o->subject, event, event_len, &mo, &mt, &cause) != 0) {
			cli_error("pub: %s", cause);
			free(cause);
			auth_minted_free(&mt);
			return CLI_EXIT_USAGE;
		}
		if (mt.warning != NULL && !warned) {
			cli_error("pub: warning: %s", mt.warning);
			warned = 1;
		}
		if (pub_send(c, o, &mt) != 0) {
			auth_minted_free(&mt);
			return CLI_EXIT_FAIL;
		}
		auth_minted_free(&mt);
	}
	return CLI_EXIT_OK;
}

/* Connect for publishing. */
static struct ingest_conn *
pub_connect(struct cli_globals *g)
{
	struct ingest_conn_opts	 co;
	struct ingest_conn	*c;
	char			*cause = NULL;

	memset(&co, 0, sizeof co);
	cli_conn_opts(g, &co);
	co.name = "ztwatch pub";
	if ((c = ingest_connect(&co, &cause)) == NULL) {
		cli_error("pub: %s", cause);
		free(cause);
	}
	return c;
}

/* ztwatch pub. */
int
cmd_pub(struct cli_globals *g, int argc, char **argv)
{
	struct pub_opts		 o;
	struct auth_policy	*p;
	struct ingest_conn	*c = NULL;
	unsigned char		*event, *key = NULL;
	size_t			 event_len = 0, key_len = 0;
	char			*cause = NULL;
	int			 rc;

	memset(&o, 0, sizeof o);
	if (pub_parse(g, &o, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	if ((event = pub_read(o.file, PUB_MAX_EVENT, &event_len)) == NULL) {
		cli_error("pub: cannot read the event from %s: %s", o.file ? o.file : "stdin",
		    strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (o.sign_key != NULL && (key = pub_read(o.sign_key, 1u << 20, &key_len)) == NULL) {
		cli_error("pub: cannot read the signing key '%s': %s", o.sign_key,
		    strerror(errno));
		free(event);
		return CLI_EXIT_USAGE;
	}
	if (key_len > 0 && key[key_len - 1] == '\n')
		key_len--;		/* as for a policy's secret_file */
	if ((p = cli_load_policy(g)) == NULL) {
		free(event);
		free(key);
		return CLI_EXIT_USAGE;
	}
	rc = CLI_EXIT_FAIL;
	if (o.print || (c = pub_connect(g)) != NULL) {
		rc = pub_run(c, p, &o, event, event_len, key, key_len);
		if (c != NULL && rc == CLI_EXIT_OK && ingest_flush(c, 5000, &cause) != 0) {
			cli_error("pub: %s", cause);
			free(cause);
			rc = CLI_EXIT_FAIL;
		}
	}
	ingest_close(c);
	if (key != NULL)
		memset(key, 0, key_len);	/* may be a secret */
	free(key);
	free(event);
	cli_policy_free(p);
	ingest_shutdown();
	return rc;
}
