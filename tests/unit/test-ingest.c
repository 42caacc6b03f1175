/*
 * tests/unit/test-ingest.c -- the nkey sign-in of ingest/ against a real
 * nats-server (started here on a free loopback port and stopped here).
 *
 * The seed and public key below were made by tests/lib/zt.py's
 * nkey_user() (an encoder written separately, in Python), so a public key
 * derived here is checked against another implementation, and signatures
 * are checked against nats.c's own nats_Sign().
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <nats/nats.h>

#include "ingest.h"
#include "ingest-nkey.h"
#include "unit.h"
#include "unit-tmp.h"

#define SEED	"SUANU2QX26QOWC3I7QDEZC2HX4MJNGE27Z36I7WAWON5TTJTA7W7XJ2QFY"
#define PUB	"UAD6HUIG4RPC42W5CGOG7Q2JGICR6HTN2WOI3OQQ35XJFW2PKATVJKUR"
#define SEED_2	"SUAMOC3RF6BU66F66OGCBFUAZXH6GAPHHHEXEI7ETFCXZ5YJDX3HASHV6A"
#define PUB_2	"UCXCHH2ZBHN7ZUEA3FPUW62HVXK36DJAXGDYUWELRAKSRPSLHOO4PDRF"

/* Connections to make: nats.c 3.4 cannot send one signature in 256
   (ingest_sign_nonce()), so 1,500 sign-ins meet that case with
   probability 1 - (255/256)^1500 > 99.7%. */
#define SIGN_INS	1500

static pid_t	server_pid = -1;
static char	server_url[64];

/* Load the nkey file written with text; NULL and *cause on error. */
static struct ingest_nkey *
load_text(const char *text, char **cause)
{
	struct ingest_nkey	*k;
	char			*path = tpath("user.nk");

	write_text("user.nk", text);
	*cause = NULL;
	k = ingest_nkey_load(path, cause);
	free(path);
	return k;
}

static void
test_nkey_public_derived(void)
{
	struct ingest_nkey	*k;
	char			*cause;

	k = load_text(SEED "\n", &cause);
	CHECK(k != NULL);
	if (k != NULL)
		CHECK_STR(ingest_nkey_public(k), PUB);
	ingest_nkey_free(k);
	free(cause);
	k = load_text(SEED "\n" PUB "\n", &cause);
	CHECK(k != NULL);
	ingest_nkey_free(k);
	free(cause);
}

/* Each broken file gets its own message. */
static void
test_nkey_refused(void)
{
	static const struct {
		const char	*text;
		const char	*says;
	} bad[] = {
		{ PUB "\n", "holds no user seed" },
		{ SEED "\n" PUB_2 "\n", "is not its seed's" },
		/* one character changed: the checksum no longer matches */
		{ "SUANU2QX26QOWC3I7QDEZC2HX4MJNGE27Z36I7WAWON5TTJTA7W7XJ3QFY\n",
		  "fails its checksum" },
		{ "SUANU2QX26QOWC3I7QDEZC2HX4MJNGE27Z36I7WAWON5TTJTA7W7XJ2Q1Y\n",
		  "is not a seed's base32" },
	};
	struct ingest_nkey	*k;
	char			*cause, *missing;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		k = load_text(bad[i].text, &cause);
		CHECK(k == NULL);
		CHECK(cause != NULL && strstr(cause, bad[i].says) != NULL);
		if (cause == NULL || strstr(cause, bad[i].says) == NULL)
			fprintf(stderr, "  case %zu: %s\n", i, cause ? cause : "(none)");
		ingest_nkey_free(k);
		free(cause);
	}
	missing = tpath("missing.nk");
	cause = NULL;
	CHECK(ingest_nkey_load(missing, &cause) == NULL);
	CHECK(cause != NULL && strstr(cause, "cannot read") != NULL);
	free(cause);
	free(missing);
}

/* Our Ed25519 signatures equal nats.c's own, including those starting
   with a zero byte (which nats.c's CONNECT then drops). */
static void
test_nkey_signs_as_natsc(void)
{
	struct ingest_nkey	*k;
	char			*cause, nonce[32];
	unsigned char		*ours, *theirs;
	int			 i, ourlen, theirlen, zero_first = 0, same = 0;

	if ((k = load_text(SEED "\n", &cause)) == NULL) {
		CHECK(k != NULL);
		free(cause);
		return;
	}
	for (i = 0; i < 2000; i++) {
		snprintf(nonce, sizeof nonce, "nonce-%d", i);
		ours = theirs = NULL;
		CHECK(ingest_nkey_sign(k, nonce, &ours, &ourlen) == 0);
		CHECK(nats_Sign(SEED, nonce, &theirs, &theirlen) == NATS_OK);
		if (ours != NULL && theirs != NULL && ourlen == 64 && theirlen == 64 &&
		    memcmp(ours, theirs, 64) == 0)
			same++;
		if (ours != NULL && ours[0] == 0)
			zero_first++;
		free(ours);
		free(theirs);
	}
	CHECK(same == 2000);
	CHECK(zero_first > 0);		/* the fixed nonces include the case */
	ingest_nkey_free(k);
}

/* A TCP port on 127.0.0.1 nobody listens on right now. */
static int
free_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof sa;
	int			fd, port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("free port");
		exit(2);
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Wait (up to 10 s) until the server accepts connections. */
static int
server_wait(int port)
{
	struct sockaddr_in	sa;
	int			fd, i, ok = 0;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	for (i = 0; i < 1000 && !ok; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			break;
		ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(fd);
		if (!ok)
			usleep(10000);
	}
	return ok ? 0 : -1;
}

/* nats-server trusting the user PUB only. */
static int
server_start(void)
{
	char	*conf = tpath("server.conf"), text[256];
	int	 port = free_port();

	snprintf(text, sizeof text, "listen: 127.0.0.1:%d\n"
	    "authorization { users = [ { nkey: \"%s\" } ] }\n", port, PUB);
	write_text("server.conf", text);
	snprintf(server_url, sizeof server_url, "nats://127.0.0.1:%d", port);
	if ((server_pid = fork()) == 0) {
		freopen("/dev/null", "w", stderr);
		execlp("nats-server", "nats-server", "-c", conf, (char *)NULL);
		_exit(127);
	}
	free(conf);
	return server_pid > 0 ? server_wait(port) : -1;
}

static void
server_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

/* Connect with the nkey file at name; 0 when connected. */
static int
sign_in(const char *name, char **cause)
{
	struct ingest_conn_opts	 o;
	struct ingest_conn	*c;
	char			*path = tpath(name);

	memset(&o, 0, sizeof o);
	o.servers = server_url;
	o.nkey = path;
	o.name = "test-ingest";
	*cause = NULL;
	c = ingest_connect(&o, cause);
	free(path);
	ingest_close(c);
	return c != NULL ? 0 : -1;
}

/* Every sign-in works, including those whose signature nats.c cannot
   send as it is; a key the server does not know is refused. */
static void
test_nkey_sign_ins(void)
{
	char	*cause;
	int	 i, failed = 0;

	write_text("user.nk", SEED "\n" PUB "\n");
	for (i = 0; i < SIGN_INS; i++) {
		if (sign_in("user.nk", &cause) != 0) {
			if (failed++ == 0)
				fprintf(stderr, "  sign-in %d: %s\n", i, cause);
		}
		free(cause);
	}
	CHECK(failed == 0);

	write_text("other.nk", SEED_2 "\n" PUB_2 "\n");
	CHECK(sign_in("other.nk", &cause) != 0);
	CHECK(cause != NULL && strstr(cause, "uthorization") != NULL);
	free(cause);
}

int
main(void)
{
	unit_tmp_make("test-ingest");
	nats_Open(-1);
	UNIT_RUN(test_nkey_public_derived);
	UNIT_RUN(test_nkey_refused);
	UNIT_RUN(test_nkey_signs_as_natsc);
	if (server_start() != 0) {
		fprintf(stderr, "cannot start nats-server\n");
		unit_failed++;
	} else {
		UNIT_RUN(test_nkey_sign_ins);
	}
	server_stop();
	nats_Close();
	unit_tmp_remove();
	UNIT_DONE();
}
