/*
 * tests/tools/ztpub.c -- a plain nats.c publisher for tests and benchmarks.
 *
 *   ztpub -s URL [--jetstream] [--repeat N] [--rate R] [--stamp HEADER] FILE.jsonl
 *   ztpub -s URL --create-stream NAME --subjects 'a.>,b' [--max-msgs N]
 *
 * Publishes each capture line ({"subject","headers","body_b64"}, the
 * verify --batch format) as one NATS message, in order, as fast as it can
 * (or at R messages/s), the whole file N times.  --stamp adds a header
 * holding the publish time in microseconds since the epoch (for the
 * recorder's --latency-header).  --jetstream publishes through JetStream,
 * waiting for every ack.  Lines are parsed before the first publish, so
 * the timing covers publishing only.  Prints "N messages in S s (R/s)" on
 * stderr; exit 1 on any error.
 *
 * --create-stream makes a JetStream stream (file storage) for tests,
 * keeping at most N messages when --max-msgs is given.
 *
 * It talks to nats.c directly, not through ingest/, so tests see messages
 * that ztwatch's own publishing code did not make.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "auth.h"

struct line {
	natsMsg	*msg;
};

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Build the natsMsg of one capture line. */
static natsMsg *
line_msg(struct auth_capture *c, const char *text, size_t len, size_t lineno)
{
	const char	*error = NULL;
	natsMsg		*m = NULL;
	size_t		 i;

	if (auth_capture_parse(c, text, len, &error) != 0) {
		fprintf(stderr, "ztpub: line %zu: %s\n", lineno, error);
		return NULL;
	}
	if (natsMsg_Create(&m, c->msg.subject, NULL, (const char *)c->msg.body,
	    (int)c->msg.body_len) != NATS_OK)
		return NULL;
	for (i = 0; i < c->msg.nheaders; i++)
		natsMsgHeader_Add(m, c->msg.headers[i].name, c->msg.headers[i].value);
	return m;
}

/* Read every line of the file into messages. */
static struct line *
load(const char *file, size_t *n)
{
	struct auth_capture	 c;
	struct line		*lines = NULL, *nl;
	FILE			*f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char			*text = NULL;
	size_t			 cap = 0, count = 0, lcap = 0;
	ssize_t			 len;

	if (f == NULL) {
		perror(file);
		return NULL;
	}
	memset(&c, 0, sizeof c);
	while ((len = getline(&text, &cap, f)) > 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		if (len == 0)
			continue;
		if (count == lcap) {
			lcap = lcap ? lcap * 2 : 1024;
			if ((nl = realloc(lines, lcap * sizeof *lines)) == NULL)
				exit(1);
			lines = nl;
		}
		if ((lines[count].msg = line_msg(&c, text, (size_t)len, count + 1)) == NULL)
			exit(1);
		count++;
	}
	free(text);
	auth_capture_release(&c);
	if (f != stdin)
		fclose(f);
	*n = count;
	return lines;
}

/* Publish one message. */
static natsStatus
publish(natsConnection *nc, jsCtx *js, natsMsg *m, const char *stamp)
{
	struct timespec	 ts;
	jsPubAck	*pa = NULL;
	char		 us[32];
	natsStatus	 s;

	if (stamp != NULL) {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(us, sizeof us, "%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
		natsMsgHeader_Set(m, stamp, us);
	}
	if (js == NULL)
		return natsConnection_PublishMsg(nc, m);
	s = js_PublishMsg(&pa, js, m, NULL, NULL);
	jsPubAck_Destroy(pa);
	return s;
}

/* Create a stream on the subjects (comma-separated). */
static int
create_stream(const char *url, const char *name, char *subjects, long max_msgs)
{
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	jsStreamConfig	 cfg;
	jsStreamInfo	*si = NULL;
	const char	*list[32];
	char		*tok, *save = NULL;
	int		 n = 0, rc = 0;
	jsErrCode	 jerr = 0;

	for (tok = strtok_r(subjects, ",", &save); tok != NULL && n < 32;
	    tok = strtok_r(NULL, ",", &save))
		list[n++] = tok;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK ||
	    natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
		fprintf(stderr, "ztpub: cannot connect to %s\n", url);
		return 1;
	}
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Subjects = list;
	cfg.SubjectsLen = n;
	cfg.Storage = js_FileStorage;
	if (max_msgs > 0)
		cfg.MaxMsgs = max_msgs;
	if (js_AddStream(&si, js, &cfg, NULL, &jerr) != NATS_OK) {
		fprintf(stderr, "ztpub: cannot create stream %s: %s (%d)\n", name,
		    nats_GetLastError(NULL), (int)jerr);
		rc = 1;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_CloseAndWait(2000);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jetstream", no_argument, NULL, 'J' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "stamp", required_argument, NULL, 'S' },
		{ "create-stream", required_argument, NULL, 'c' },
		{ "subjects", required_argument, NULL, 'u' },
		{ "max-msgs", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*stream = NULL;
	char		*subjects = NULL;
	long		 max_msgs = 0;
	const char	*url = "nats://127.0.0.1:4222", *stamp = NULL;
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	struct line	*lines;
	size_t		 n, i, sent = 0;
	long		 repeat = 1, r;
	double		 rate = 0, t0, dt;
	int		 ch, use_js = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			url = optarg;
			break;
		case 'J':
			use_js = 1;
			break;
		case 'r':
			repeat = atol(optarg);
			break;
		case 'R':
			rate = atof(optarg);
			break;
		case 'S':
			stamp = optarg;
			break;
		case 'c':
			stream = optarg;
			break;
		case 'u':
			subjects = optarg;
			break;
		case 'm':
			max_msgs = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: ztpub -s URL [--jetstream] [--repeat N] [--rate R]"
			    " [--stamp HEADER] FILE.jsonl\n");
			return 2;
		}
	}
	if (stream != NULL)
		return subjects ? create_stream(url, stream, subjects, max_msgs) : 2;
	if (optind != argc - 1 || repeat < 1)
		return 2;
	if ((lines = load(argv[optind], &n)) == NULL)
		return 1;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK) {
		fprintf(stderr, "ztpub: cannot connect to %s\n", url);
		return 1;
	}
	if (use_js && natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
		return 1;
	t0 = now_s();
	for (r = 0; r < repeat && rc == 0; r++) {
		for (i = 0; i < n; i++, sent++) {
			if (rate > 0)
				while (now_s() - t0 < (double)sent / rate)
					usleep(200);
			if (publish(nc, js, lines[i].msg, stamp) != NATS_OK) {
				fprintf(stderr, "ztpub: publish failed: %s\n",
				    nats_GetLastError(NULL));
				rc = 1;
				break;
			}
		}
	}
	if (natsConnection_FlushTimeout(nc, 30000) != NATS_OK)
		rc = 1;
	dt = now_s() - t0;
	fprintf(stderr, "ztpub: %zu messages in %.3f s (%.0f/s)\n", sent, dt,
	    dt > 0 ? (double)sent / dt : 0.0);
	for (i = 0; i < n; i++)
		natsMsg_Destroy(lines[i].msg);
	free(lines);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_CloseAndWait(2000);
	return rc;
}
