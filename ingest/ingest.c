/*
 * ingest/ingest.c -- connections, subscriptions, JetStream consumers and
 * publishing on nats.c.
 *
 * DESIGN: nats.c already hands each message over as a heap object of its
 * own, so a delivery costs one small allocation here (struct ingest_msg
 * pointing at the natsMsg) and nothing else; decoding headers waits for
 * ingest_msg_prepare() on a worker thread.
 *
 * JetStream gaps and fleets.  Several recorders may share one durable
 * (each pull takes a batch), so a jump in stream sequence between two
 * messages one recorder gets is normal: the sequences between went to
 * the others.  A gap is therefore only reported when nothing else can
 * explain it: the consumer numbers every delivery (its consumer
 * sequence, redeliveries included), so when this recorder got every
 * delivery from its previous new message to this one (consecutive
 * consumer sequences), no other recorder got a message in between, and
 * skipped stream sequences were never delivered to anyone: deleted,
 * expired or over the stream's limits.  Where another recorder's
 * delivery (or one lost in a failover, which comes again) breaks the
 * chain, that stretch is not judged.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "ingest.h"
#include "ingest-nkey.h"

#define INGEST_DEFAULT_URL	"nats://127.0.0.1:4222"
#define INGEST_MAX_SERVERS	32
#define INGEST_FETCH_MS		500

struct ingest_conn {
	natsConnection		*nc;
	natsOptions		*opts;
	jsCtx			*js;
	char			*servers;
	pthread_mutex_t		 url_lock;
	char			 url[256];	/* last server connected to, or "" */
	atomic_int		 state;
	atomic_int		 closed_cb;	/* nats.c's last callback has run */
	void			(*on_state)(enum ingest_state, void *);
	void			(*on_error)(const char *, void *);
	void			*arg;
	struct ingest_nkey	*nkey;		/* --nkey, or NULL */
	atomic_int		 nkey_zero_sig;	/* see ingest_sign_nonce() */
	char			*user_jwt;	/* --creds, or NULL */
};

struct ingest_sub {
	struct ingest_conn	*conn;
	natsSubscription	*sub;
	char			*subject;
	ingest_deliver_fn	 deliver;
	void			*arg;
	uint64_t		 dropped;	/* the last count nats.c gave */
	uint64_t		 left;		/* held when stopped without the server */
	atomic_uint_fast64_t	 taken;		/* messages the handler was given */
	atomic_uint_fast64_t	 unwrapped;	/* ... that could not be copied */
	pthread_mutex_t		 lock;
	pthread_cond_t		 closed_cv;
	int			 closed;	/* nats.c will call deliver no more */
	int			 watched;	/* closed will be set */
};

struct ingest_js {
	struct ingest_conn	*conn;
	natsSubscription	*sub;
	char			*stream;
	char			*durable;
	int			 filtered;
	int			 batch;
	/* Gap detection (see ingest_js_check_gap): */
	uint64_t		 last_seq;	/* stream sequence of the newest first
						   delivery in the chain, 0: none */
	uint64_t		 last_cseq;	/* consumer sequence of the newest
						   delivery seen */
	int			 chain;		/* every delivery since last_seq came here */
	ingest_deliver_fn	 deliver;
	ingest_gap_fn		 gap;
	void			*arg;
	atomic_int		 stop;
	atomic_int		 gone;		/* the durable or stream was deleted */
	int			 started;
	pthread_t		 thread;
};

/* nats.c's text without the place in its source it prefixes ("(jsm.c:2867): "),
   which means nothing to a user. */
static const char *
ingest_reason(const char *text)
{
	const char	*p;

	if (text == NULL || *text != '(' || (p = strstr(text, "): ")) == NULL ||
	    p - text > 40 || memchr(text, ':', (size_t)(p - text)) == NULL)
		return text;
	return p + 3;
}

/* Set *cause to "what: nats.c's reason" and return -1. */
static int
ingest_fail(char **cause, natsStatus s, const char *fmt, ...)
{
	const char	*last = ingest_reason(nats_GetLastError(NULL));
	char		 what[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (cause == NULL)
		return -1;
	if (last != NULL && *last != '\0' && strcmp(last, natsStatus_GetText(s)) != 0)
		asprintf(cause, "%s: %s", what, last);
	else
		asprintf(cause, "%s: %s", what, natsStatus_GetText(s));
	return -1;
}

/* Name of a state. */
const char *
ingest_state_name(enum ingest_state s)
{
	switch (s) {
	case INGEST_CONNECTING:
		return "connecting";
	case INGEST_CONNECTED:
		return "connected";
	case INGEST_RECONNECTING:
		return "reconnecting";
	case INGEST_CLOSED:
		return "closed";
	}
	return "unknown";
}

/* Record a state change and tell the caller. */
static void
ingest_set_state(struct ingest_conn *c, enum ingest_state s)
{
	/* Once closed, a late disconnect callback must not revive the state. */
	if (atomic_load(&c->state) == INGEST_CLOSED)
		return;
	atomic_store(&c->state, s);
	if (c->on_state != NULL)
		c->on_state(s, c->arg);
}

/* Keep the URL nats.c says it is connected to, if it says one. */
static void
ingest_remember_url(struct ingest_conn *c, natsConnection *nc)
{
	char	now[sizeof c->url] = "";

	if (natsConnection_GetConnectedUrl(nc, now, sizeof now) != NATS_OK || now[0] == '\0')
		return;
	pthread_mutex_lock(&c->url_lock);
	memcpy(c->url, now, sizeof c->url);
	pthread_mutex_unlock(&c->url_lock);
}

/* nats.c runs connection callbacks on a thread of its own, without its
   connection lock held, so asking the connection here is safe. */
static void
ingest_on_connected(natsConnection *nc, void *arg)
{
	ingest_remember_url(arg, nc);
	ingest_set_state(arg, INGEST_CONNECTED);
}

static void
ingest_on_disconnected(natsConnection *nc, void *arg)
{
	ingest_set_state(arg, INGEST_RECONNECTING);
}

static void
ingest_on_closed(natsConnection *nc, void *arg)
{
	struct ingest_conn	*c = arg;

	ingest_set_state(c, INGEST_CLOSED);
	atomic_store(&c->closed_cb, 1);
}

/* Asynchronous errors: permission violations and the like.  Slow-consumer
   drops are counted per subscription instead of reported one by one. */
static void
ingest_on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *arg)
{
	struct ingest_conn	*c = arg;
	const char		*last = NULL;
	char			 text[512];

	if (err == NATS_SLOW_CONSUMER || c->on_error == NULL)
		return;
	if (nc != NULL)
		natsConnection_GetLastError(nc, &last);
	snprintf(text, sizeof text, "%s", last != NULL && *last != '\0' ? last :
	    natsStatus_GetText(err));
	c->on_error(text, c->arg);
}

/* Split "a,b , c" into the server list. */
static int
ingest_set_servers(struct ingest_conn *c, char **cause)
{
	const char	*list[INGEST_MAX_SERVERS];
	char		*copy, *tok, *save = NULL;
	int		 n = 0;
	natsStatus	 s;

	if ((copy = strdup(c->servers)) == NULL)
		return ingest_fail(cause, NATS_NO_MEMORY, "servers");
	for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		if (n == INGEST_MAX_SERVERS) {
			free(copy);
			asprintf(cause, "more than %d servers given", INGEST_MAX_SERVERS);
			return -1;
		}
		list[n++] = tok;
	}
	if (n == 0) {
		free(copy);
		asprintf(cause, "no server URL given");
		return -1;
	}
	s = natsOptions_SetServers(c->opts, list, n);
	free(copy);
	if (s != NATS_OK)
		return ingest_fail(cause, s, "bad server list '%s'", c->servers);
	return 0;
}

/*
 * nats.c asks for the nonce's signature on every connect and reconnect.
 * nats.c 3.4 drops a signature whose first byte is zero (one in 256): the
 * CONNECT then goes without "sig" and the server answers "Authorization
 * Violation", which after two in a row ends reconnecting.  Such an attempt
 * is failed here instead, before anything is sent; the next one gets a
 * new nonce (ingest_connect retries, nats.c's reconnect loop goes on).
 */
static natsStatus
ingest_sign_nonce(char **custom_err, unsigned char **sig, int *siglen, const char *nonce,
    void *arg)
{
	struct ingest_conn	*c = arg;

	if (ingest_nkey_sign(c->nkey, nonce, sig, siglen) != 0) {
		*custom_err = strdup("cannot sign the server's nonce with the nkey");
		return NATS_ERR;
	}
	if ((*sig)[0] == 0) {
		free(*sig);
		*sig = NULL;
		*siglen = 0;
		atomic_store(&c->nkey_zero_sig, 1);
		*custom_err = strdup("the nonce's signature starts with a zero byte, which"
		    " nats.c cannot send; trying again");
		return NATS_ERR;
	}
	return NATS_OK;
}

/* nats.c asks for the user JWT of --creds on every connect and reconnect. */
static natsStatus
ingest_user_jwt(char **jwt, char **custom_err, void *arg)
{
	struct ingest_conn	*c = arg;

	if ((*jwt = strdup(c->user_jwt)) == NULL) {
		*custom_err = strdup("out of memory");
		return NATS_NO_MEMORY;
	}
	return NATS_OK;
}

/* Sign in with the nkey file's seed (see ingest-nkey.c for why not nats.c's). */
static int
ingest_set_nkey(struct ingest_conn *c, const char *file, char **cause)
{
	natsStatus	s;

	if ((c->nkey = ingest_nkey_load(file, cause)) == NULL)
		return -1;
	if ((s = natsOptions_SetNKey(c->opts, ingest_nkey_public(c->nkey), ingest_sign_nonce,
	    c)) != NATS_OK)
		return ingest_fail(cause, s, "nkey '%s'", file);
	return 0;
}

/* Sign in with a credentials file: its user JWT, and its seed signing as
   for --nkey (nats.c's own signing has the same flaw). */
static int
ingest_set_creds(struct ingest_conn *c, const char *file, char **cause)
{
	natsStatus	s;

	if ((c->nkey = ingest_nkey_load(file, cause)) == NULL ||
	    (c->user_jwt = ingest_creds_jwt(file, cause)) == NULL)
		return -1;
	if ((s = natsOptions_SetUserCredentialsCallbacks(c->opts, ingest_user_jwt, c,
	    ingest_sign_nonce, c)) != NATS_OK)
		return ingest_fail(cause, s, "credentials '%s'", file);
	return 0;
}

/* Credentials and TLS. */
static int
ingest_set_auth(struct ingest_conn *c, const struct ingest_conn_opts *o, char **cause)
{
	natsStatus	s = NATS_OK;

	if (o->creds != NULL && o->nkey != NULL) {
		asprintf(cause, "--creds and --nkey cannot be used together (a credentials"
		    " file holds its own seed)");
		return -1;
	}
	if (o->creds != NULL && ingest_set_creds(c, o->creds, cause) != 0)
		return -1;
	if (o->nkey != NULL && ingest_set_nkey(c, o->nkey, cause) != 0)
		return -1;
	if ((o->user != NULL || o->password != NULL) &&
	    (s = natsOptions_SetUserInfo(c->opts, o->user, o->password)) != NATS_OK)
		return ingest_fail(cause, s, "user");
	if (o->token != NULL && (s = natsOptions_SetToken(c->opts, o->token)) != NATS_OK)
		return ingest_fail(cause, s, "token");
	if (o->tls_ca != NULL || o->tls_cert != NULL) {
		if ((s = natsOptions_SetSecure(c->opts, true)) != NATS_OK)
			return ingest_fail(cause, s, "TLS");
	}
	if (o->tls_ca != NULL &&
	    (s = natsOptions_LoadCATrustedCertificates(c->opts, o->tls_ca)) != NATS_OK)
		return ingest_fail(cause, s, "TLS CA file '%s'", o->tls_ca);
	if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
		asprintf(cause, "--tls-cert and --tls-key go together");
		return -1;
	}
	if (o->tls_cert != NULL && (s = natsOptions_LoadCertificatesChain(c->opts, o->tls_cert,
	    o->tls_key)) != NATS_OK)
		return ingest_fail(cause, s, "TLS certificate '%s'", o->tls_cert);
	return 0;
}

/* Options: servers, reconnect forever, callbacks, auth. */
static int
ingest_set_options(struct ingest_conn *c, const struct ingest_conn_opts *o, char **cause)
{
	natsStatus	s;

	if ((s = natsOptions_Create(&c->opts)) != NATS_OK)
		return ingest_fail(cause, s, "NATS options");
	if (ingest_set_servers(c, cause) != 0 || ingest_set_auth(c, o, cause) != 0)
		return -1;
	natsOptions_SetName(c->opts, o->name != NULL ? o->name : "ztwatch");
	natsOptions_SetMaxReconnect(c->opts, -1);
	natsOptions_SetReconnectWait(c->opts, 250);
	natsOptions_SetReconnectBufSize(c->opts, 64 << 20);
	natsOptions_SetTimeout(c->opts, 2000);
	natsOptions_SetDisconnectedCB(c->opts, ingest_on_disconnected, c);
	natsOptions_SetReconnectedCB(c->opts, ingest_on_connected, c);
	natsOptions_SetClosedCB(c->opts, ingest_on_closed, c);
	natsOptions_SetErrorHandler(c->opts, ingest_on_error, c);
	if (o->wait)
		natsOptions_SetRetryOnFailedConnect(c->opts, true, ingest_on_connected, c);
	return 0;
}

/*
 * A server that requires client certificates ends the TLS session right
 * after the handshake when it refuses the client's (or gets none), and
 * nats.c then reports only "Expected 'PONG', got ''": say what it means.
 */
static void
ingest_explain_tls_close(const struct ingest_conn_opts *o, const char *servers, char **cause)
{
	char	*more;

	if (cause == NULL || *cause == NULL || strstr(*cause, "Expected 'PONG', got ''") == NULL ||
	    (o->tls_ca == NULL && o->tls_cert == NULL && strstr(servers, "tls://") == NULL))
		return;
	if (asprintf(&more, "%s (the server closed the TLS connection while signing in: it"
	    " requires a client certificate, and %s)", *cause, o->tls_cert == NULL ?
	    "none was given (--tls-cert, --tls-key)" : "refused the one given") < 0)
		return;
	free(*cause);
	*cause = more;
}

/* Connect, trying again while the nkey's signature was one nats.c cannot
   send (see ingest_sign_nonce()). */
static natsStatus
ingest_connect_nats(struct ingest_conn *c)
{
	natsStatus	s;
	int		tries = 0;

	do {
		atomic_store(&c->nkey_zero_sig, 0);
		s = natsConnection_Connect(&c->nc, c->opts);
	} while (s != NATS_OK && s != NATS_NOT_YET_CONNECTED &&
	    atomic_load(&c->nkey_zero_sig) && ++tries < 8);
	return s;
}

/* Connect. */
struct ingest_conn *
ingest_connect(const struct ingest_conn_opts *o, char **cause)
{
	struct ingest_conn	*c;
	const char		*servers = o->servers;
	natsStatus		 s;

	if (servers == NULL || *servers == '\0')
		servers = getenv("NATS_URL");
	if (servers == NULL || *servers == '\0')
		servers = INGEST_DEFAULT_URL;
	if ((c = calloc(1, sizeof *c)) == NULL || (c->servers = strdup(servers)) == NULL) {
		free(c);
		asprintf(cause, "out of memory");
		return NULL;
	}
	atomic_init(&c->state, INGEST_CONNECTING);
	atomic_init(&c->closed_cb, 0);
	atomic_init(&c->nkey_zero_sig, 0);
	pthread_mutex_init(&c->url_lock, NULL);
	c->on_state = o->on_state;
	c->on_error = o->on_error;
	c->arg = o->arg;
	if (ingest_set_options(c, o, cause) != 0) {
		ingest_close(c);
		return NULL;
	}
	s = ingest_connect_nats(c);
	if (s == NATS_OK) {
		ingest_set_state(c, INGEST_CONNECTED);
	} else if (!(s == NATS_NOT_YET_CONNECTED && o->wait)) {
		ingest_fail(cause, s, "cannot connect to %s", c->servers);
		ingest_explain_tls_close(o, c->servers, cause);
		ingest_close(c);
		return NULL;
	}
	return c;
}

/* Close and free. */
void
ingest_close(struct ingest_conn *c)
{
	int	i;

	if (c == NULL)
		return;
	if (c->js != NULL)
		jsCtx_Destroy(c->js);
	if (c->nc != NULL) {
		natsConnection_Close(c->nc);
		/* The closed callback runs later on nats.c's thread and still
		   uses c: wait for it (bounded) before freeing. */
		for (i = 0; i < 5000 && !atomic_load(&c->closed_cb); i++)
			usleep(1000);
		natsConnection_Destroy(c->nc);
	}
	natsOptions_Destroy(c->opts);
	ingest_nkey_free(c->nkey);
	free(c->user_jwt);
	pthread_mutex_destroy(&c->url_lock);
	free(c->servers);
	free(c);
}

/* The connection's state. */
enum ingest_state
ingest_conn_state(struct ingest_conn *c)
{
	return atomic_load(&c->state);
}

/* The URL connected to; while disconnected, the last one (nats.c forgets
   it), so that a message about the disconnection can name the server. */
void
ingest_conn_url(struct ingest_conn *c, char *buf, size_t len)
{
	if (c->nc != NULL)
		ingest_remember_url(c, c->nc);
	pthread_mutex_lock(&c->url_lock);
	snprintf(buf, len, "%s", c->url[0] != '\0' ? c->url : c->servers);
	pthread_mutex_unlock(&c->url_lock);
}

const char *
ingest_conn_servers(struct ingest_conn *c)
{
	return c->servers;
}

/* Flush. */
int
ingest_flush(struct ingest_conn *c, int ms, char **cause)
{
	natsStatus	s = natsConnection_FlushTimeout(c->nc, ms);

	return s == NATS_OK ? 0 : ingest_fail(cause, s, "flush to %s", c->servers);
}

/* ---- messages ------------------------------------------------------------ */

/* A new message wrapping nm. */
static struct ingest_msg *
ingest_msg_new(natsMsg *nm)
{
	struct ingest_msg	*m = malloc(sizeof *m);

	if (m == NULL)
		return NULL;
	memset(m, 0, offsetof(struct ingest_msg, headers));
	m->received_us = auth_epoch_us();
	m->stream = NULL;
	m->stream_seq = 0;
	m->deliveries = 1;
	m->header_overflow = 0;
	m->nmsg = nm;
	m->stream_buf = NULL;
	m->keys = NULL;
	return m;
}

/* Subject, body and headers. */
void
ingest_msg_prepare(struct ingest_msg *m)
{
	natsMsg		 *nm = m->nmsg;
	const char	**keys = NULL, **vals;
	int		  nkeys = 0, nvals, i, j;
	size_t		  n = 0;

	m->msg.subject = natsMsg_GetSubject(nm);
	m->msg.body = (const unsigned char *)natsMsg_GetData(nm);
	m->msg.body_len = (size_t)natsMsg_GetDataLength(nm);
	if (m->msg.body == NULL)
		m->msg.body = (const unsigned char *)"";
	if (natsMsgHeader_Keys(nm, &keys, &nkeys) == NATS_OK) {
		for (i = 0; i < nkeys; i++) {
			if (natsMsgHeader_Values(nm, keys[i], &vals, &nvals) != NATS_OK)
				continue;
			for (j = 0; j < nvals; j++) {
				if (n == INGEST_MAX_HEADERS) {
					m->header_overflow = 1;
					break;
				}
				m->headers[n].name = keys[i];
				m->headers[n].value = vals[j];
				n++;
			}
			free((void *)vals);
		}
	}
	m->keys = keys;
	m->msg.headers = m->headers;
	m->msg.nheaders = n;
}

/* Acknowledge a JetStream message. */
int
ingest_msg_ack(struct ingest_msg *m, char **cause)
{
	natsStatus	s;

	if (m->stream == NULL)
		return 0;
	if ((s = natsMsg_Ack(m->nmsg, NULL)) != NATS_OK)
		return ingest_fail(cause, s, "ack of %s sequence %llu", m->stream,
		    (unsigned long long)m->stream_seq);
	return 0;
}

void
ingest_msg_free(struct ingest_msg *m)
{
	if (m == NULL)
		return;
	natsMsg_Destroy(m->nmsg);
	free((void *)m->keys);
	free(m->stream_buf);
	free(m);
}

/* ---- core subscriptions ------------------------------------------------ */

/* nats.c's callback once a subscription is closed and its handler returned. */
static void
ingest_sub_on_closed(void *arg)
{
	struct ingest_sub	*sub = arg;

	pthread_mutex_lock(&sub->lock);
	sub->closed = 1;
	pthread_cond_broadcast(&sub->closed_cv);
	pthread_mutex_unlock(&sub->lock);
}

#define INGEST_CLOSE_WAIT_S	30	/* for a handler to return, at most */

/*
 * Wait until nats.c will call the handler no more; whether it said so.  A
 * handler waiting for room in the caller's queue returns once the queue
 * moves or closes: the limit is only against a nats.c that never calls
 * back, and then sub must be left allocated rather than freed under it.
 */
static int
ingest_sub_wait_closed(struct ingest_sub *sub)
{
	struct timespec	until;
	int		closed;

	if (!sub->watched)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += INGEST_CLOSE_WAIT_S;
	pthread_mutex_lock(&sub->lock);
	while (!sub->closed && pthread_cond_timedwait(&sub->closed_cv, &sub->lock, &until) == 0)
		;
	closed = sub->closed;
	pthread_mutex_unlock(&sub->lock);
	return closed;
}

/* nats.c's callback: wrap and hand over. */
static void
ingest_sub_on_msg(natsConnection *nc, natsSubscription *s, natsMsg *nm, void *arg)
{
	struct ingest_sub	*sub = arg;
	struct ingest_msg	*m;

	atomic_fetch_add(&sub->taken, 1);
	if ((m = ingest_msg_new(nm)) == NULL) {
		atomic_fetch_add(&sub->unwrapped, 1);	/* counted as dropped */
		natsMsg_Destroy(nm);
		return;
	}
	sub->deliver(m, sub->arg);
}

/* Subscribe. */
struct ingest_sub *
ingest_subscribe(struct ingest_conn *c, const char *subject, int pending_msgs,
    int pending_bytes, ingest_deliver_fn deliver, void *arg, char **cause)
{
	struct ingest_sub	*sub;
	pthread_condattr_t	 ca;
	natsStatus		 s;

	if ((sub = calloc(1, sizeof *sub)) == NULL || (sub->subject = strdup(subject)) == NULL) {
		free(sub);
		asprintf(cause, "out of memory");
		return NULL;
	}
	sub->conn = c;
	sub->deliver = deliver;
	sub->arg = arg;
	pthread_mutex_init(&sub->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sub->closed_cv, &ca);
	pthread_condattr_destroy(&ca);
	s = natsConnection_Subscribe(&sub->sub, c->nc, subject, ingest_sub_on_msg, sub);
	if (s == NATS_OK)
		sub->watched = natsSubscription_SetOnCompleteCB(sub->sub, ingest_sub_on_closed,
		    sub) == NATS_OK;
	if (s == NATS_OK && pending_msgs > 0)
		s = natsSubscription_SetPendingLimits(sub->sub, pending_msgs, pending_bytes);
	if (s != NATS_OK) {
		ingest_fail(cause, s, "cannot subscribe to '%s'", subject);
		ingest_sub_free(sub);
		return NULL;
	}
	return sub;
}

const char *
ingest_sub_subject(const struct ingest_sub *sub)
{
	return sub->subject;
}

/* Dropped so far. */
uint64_t
ingest_sub_dropped(struct ingest_sub *sub)
{
	int64_t	n = 0;

	/* nats.c answers only while the subscription is open: once a drain
	   has closed it, the count read last stands. */
	if (sub->sub != NULL && natsSubscription_GetDropped(sub->sub, &n) == NATS_OK &&
	    n >= 0 && (uint64_t)n > sub->dropped)
		sub->dropped = (uint64_t)n;
	return sub->dropped + sub->left + atomic_load(&sub->unwrapped);
}

/*
 * Drain: deliver what nats.c holds.  No drop may go uncounted, and nats.c
 * forgets the count once the drain closes the subscription: so its limits
 * are lifted first (nothing is dropped after that; what can still come is
 * what the server had in flight before the unsubscribe), then the count is
 * read for the last time.
 */
static int
ingest_sub_drain_server(struct ingest_sub *sub, int ms, char **cause)
{
	natsStatus	s;

	natsSubscription_SetPendingLimits(sub->sub, -1, -1);
	ingest_sub_dropped(sub);
	if ((s = natsSubscription_Drain(sub->sub)) != NATS_OK)
		return ingest_fail(cause, s, "drain of '%s'", sub->subject);
	if ((s = natsSubscription_WaitForDrainCompletion(sub->sub, ms)) != NATS_OK)
		return ingest_fail(cause, s, "drain of '%s'", sub->subject);
	return 0;
}

/*
 * Stop without the server (the connection is down): let nats.c hand over
 * what it holds (for at most ms), then close the subscription.  What it
 * still held then is counted as dropped, so a gap records it.
 */
static void
ingest_sub_stop(struct ingest_sub *sub, int ms)
{
	int64_t		until = nats_Now() + ms;
	int		left = 0;
	int64_t		delivered = 0;
	uint64_t	handed;

	while (natsSubscription_GetPending(sub->sub, &left, NULL) == NATS_OK && left > 0 &&
	    nats_Now() < until)
		nats_Sleep(10);
	ingest_sub_dropped(sub);
	/* Held and handed over so far, read together: once closed, whatever
	   of those the handler never got is what was lost. */
	if (natsSubscription_GetStats(sub->sub, &left, NULL, NULL, NULL, &delivered,
	    NULL) != NATS_OK)
		left = 0;
	natsSubscription_Unsubscribe(sub->sub);
	ingest_sub_wait_closed(sub);
	handed = atomic_load(&sub->taken);
	if (left > 0 && (uint64_t)delivered + (uint64_t)left > handed)
		sub->left = (uint64_t)delivered + (uint64_t)left - handed;
}

/*
 * Deliver what nats.c holds and close: drained through the server when
 * connected; without it (or when the drain fails midway) handed over from
 * nats.c's buffer, what is left counted as dropped.  -1 with *cause only
 * when a drain failed.
 */
int
ingest_sub_drain(struct ingest_sub *sub, int ms, char **cause)
{
	if (natsConnection_Status(sub->conn->nc) != NATS_CONN_STATUS_CONNECTED) {
		ingest_sub_stop(sub, ms);
		return 0;
	}
	if (ingest_sub_drain_server(sub, ms, cause) != 0) {
		ingest_sub_stop(sub, ms);
		return -1;
	}
	return 0;
}

void
ingest_sub_free(struct ingest_sub *sub)
{
	if (sub == NULL)
		return;
	if (sub->sub != NULL) {
		/* The handler may be running: the caller frees what it uses. */
		natsSubscription_Unsubscribe(sub->sub);
		if (!ingest_sub_wait_closed(sub)) {
			/* A handler may still run: leave it what it uses. */
			fprintf(stderr, "ztwatch: nats.c did not close a subscription in %d s\n",
			    INGEST_CLOSE_WAIT_S);
			return;
		}
		natsSubscription_Destroy(sub->sub);
	}
	pthread_mutex_destroy(&sub->lock);
	pthread_cond_destroy(&sub->closed_cv);
	free(sub->subject);
	free(sub);
}

/* ---- JetStream ------------------------------------------------------------ */

/* The connection's JetStream context, made once. */
static jsCtx *
ingest_js_ctx(struct ingest_conn *c, char **cause)
{
	natsStatus	s;

	if (c->js == NULL && (s = natsConnection_JetStream(&c->js, c->nc, NULL)) != NATS_OK) {
		ingest_fail(cause, s, "JetStream");
		return NULL;
	}
	return c->js;
}

/* A JetStream error with its code made readable. */
static int
ingest_js_fail(char **cause, natsStatus s, jsErrCode jerr, const char *stream,
    const char *what)
{
	if (jerr == JSStreamNotFoundErr) {
		asprintf(cause, "%s: no JetStream stream named '%s'", what, stream);
		return -1;
	}
	if (jerr == JSNotEnabledErr || s == NATS_NO_RESPONDERS) {
		asprintf(cause, "%s: JetStream is not enabled on the server", what);
		return -1;
	}
	return ingest_fail(cause, s, "%s", what);
}

/* The subjects stream takes, as new strings; -1 with *cause. */
int
ingest_js_stream_subjects(struct ingest_conn *c, const char *stream, char ***subjects,
    size_t *n, char **cause)
{
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	jsCtx		*js;
	natsStatus	 s;
	int		 i;

	*subjects = NULL;
	*n = 0;
	if ((js = ingest_js_ctx(c, cause)) == NULL)
		return -1;
	if ((s = js_GetStreamInfo(&si, js, stream, NULL, &jerr)) != NATS_OK)
		return ingest_js_fail(cause, s, jerr, stream, "cannot look up the stream");
	if (si->Config->SubjectsLen > 0 &&
	    (*subjects = calloc((size_t)si->Config->SubjectsLen, sizeof **subjects)) == NULL) {
		jsStreamInfo_Destroy(si);
		*cause = strdup("out of memory");
		return -1;
	}
	for (i = 0; i < si->Config->SubjectsLen; i++) {
		if (((*subjects)[*n] = strdup(si->Config->Subjects[i])) != NULL)
			(*n)++;
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

/* Create the durable consumer as the options ask. */
static int
ingest_js_create(struct ingest_js *j, jsCtx *js, const struct ingest_js_opts *o, char **cause)
{
	jsConsumerConfig	 cc;
	jsConsumerInfo		*ci = NULL;
	jsErrCode		 jerr = 0;
	natsStatus		 s;

	jsConsumerConfig_Init(&cc);
	cc.Durable = o->durable;
	cc.AckPolicy = js_AckExplicit;
	cc.AckWait = (int64_t)(o->ack_wait_s > 0 ? o->ack_wait_s : 30) * 1000000000;
	cc.MaxAckPending = o->max_ack_pending > 0 ? o->max_ack_pending : 65536;
	cc.FilterSubject = o->filter;
	switch (o->start) {
	case INGEST_JS_ALL:
		cc.DeliverPolicy = js_DeliverAll;
		break;
	case INGEST_JS_SEQ:
		cc.DeliverPolicy = js_DeliverByStartSequence;
		cc.OptStartSeq = o->start_seq;
		j->last_seq = o->start_seq > 0 ? o->start_seq - 1 : 0;
		break;
	case INGEST_JS_TIME:
		cc.DeliverPolicy = js_DeliverByStartTime;
		cc.OptStartTime = o->start_us * 1000;
		break;
	}
	s = js_AddConsumer(&ci, js, o->stream, &cc, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK && jerr == JSConsumerNameExistErr)
		return 1;		/* another recorder made it meanwhile */
	if (s != NATS_OK)
		return ingest_js_fail(cause, s, jerr, o->stream, "cannot create the durable");
	return 0;
}

/*
 * Whether an existing durable's filter is the one asked for (o->filter,
 * NULL: none); -1 with *cause if not.  What it reads is its own filter, so
 * that decides whether stream sequences may be skipped without a gap: a
 * filtered durable skips other subjects' sequences as a matter of course.
 */
static int
ingest_js_check_filter(struct ingest_js *j, const jsConsumerInfo *ci,
    const struct ingest_js_opts *o, char **cause)
{
	const char	*have = ci->Config != NULL ? ci->Config->FilterSubject : NULL;

	if (have != NULL && *have == '\0')
		have = NULL;
	j->filtered = have != NULL;
	if (o->filter == NULL || (have != NULL && strcmp(have, o->filter) == 0))
		return 0;
	if (have == NULL)
		asprintf(cause, "durable '%s' exists and reads every subject of the stream,"
		    " not only '%s': give no subject, or another durable", o->durable, o->filter);
	else
		asprintf(cause, "durable '%s' exists and reads only '%s', not '%s': give that"
		    " subject or none, or another durable", o->durable, have, o->filter);
	return -1;
}

/* Add to *notice when --ack-wait asks an existing durable for another
   ack wait than its own, which the server keeps. */
static void
ingest_js_note_ack_wait(const jsConsumerInfo *ci, const struct ingest_js_opts *o,
    char **notice)
{
	int64_t	 have;
	char	*n;

	if (notice == NULL || o->ack_wait_s <= 0 || ci->Config == NULL)
		return;
	have = ci->Config->AckWait / 1000000000;
	if (have == o->ack_wait_s || asprintf(&n, "%s%sdurable '%s' exists: its ack wait stays"
	    " %lld s (--ack-wait is for a new durable)", *notice ? *notice : "",
	    *notice ? "; " : "", o->durable, (long long)have) < 0)
		return;
	free(*notice);
	*notice = n;
}

/* Find the durable or make it; resumes from its ack floor.  Recorders of
   a fleet may race to make it: the loser finds the winner's. */
static int
ingest_js_prepare(struct ingest_js *j, jsCtx *js, const struct ingest_js_opts *o,
    char **notice, char **cause)
{
	jsConsumerInfo	*ci = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;
	int		 tries, rc;

	for (tries = 0; tries < 2; tries++) {
		jerr = 0;
		s = js_GetConsumerInfo(&ci, js, o->stream, o->durable, NULL, &jerr);
		if (s == NATS_OK) {
			if (ingest_js_check_filter(j, ci, o, cause) != 0) {
				jsConsumerInfo_Destroy(ci);
				return -1;
			}
			/* New messages continue after the last delivered one; those
			   delivered but never acked come again as redeliveries. */
			j->last_seq = ci->Delivered.Stream;
			j->last_cseq = ci->Delivered.Consumer;
			if (o->start != INGEST_JS_ALL && notice != NULL)
				asprintf(notice, "durable '%s' exists: resuming after stream"
				    " sequence %llu; the start option is ignored", o->durable,
				    (unsigned long long)ci->AckFloor.Stream);
			ingest_js_note_ack_wait(ci, o, notice);
			jsConsumerInfo_Destroy(ci);
			return 0;
		}
		if (jerr != JSConsumerNotFoundErr && s != NATS_NOT_FOUND)
			return ingest_js_fail(cause, s, jerr, o->stream,
			    "cannot look up the durable");
		if ((rc = ingest_js_create(j, js, o, cause)) <= 0)
			return rc;
	}
	asprintf(cause, "durable '%s' exists but cannot be looked up", o->durable);
	return -1;
}

/*
 * Report stream sequences nobody was given as a gap (see DESIGN above):
 * seq and cseq are the stream and consumer sequences of a delivery,
 * first whether it is its first.
 */
static void
ingest_js_check_gap(struct ingest_js *j, uint64_t seq, uint64_t cseq, int first)
{
	struct ingest_gap	g;
	char			detail[160];
	int			chain;

	chain = j->chain && cseq == j->last_cseq + 1;
	if (cseq > j->last_cseq)
		j->last_cseq = cseq;
	j->chain = chain;
	if (!first || seq <= j->last_seq)
		return;			/* a redelivery */
	j->chain = 1;
	if (chain && !j->filtered && j->last_seq != 0 && seq > j->last_seq + 1 &&
	    j->gap != NULL) {
		snprintf(detail, sizeof detail, "stream sequences %llu to %llu were gone"
		    " before they could be read (deleted, expired or over the stream's limits)",
		    (unsigned long long)j->last_seq + 1, (unsigned long long)seq - 1);
		g.stream = j->stream;
		g.first_seq = j->last_seq + 1;
		g.count = seq - j->last_seq - 1;
		g.detail = detail;
		j->gap(&g, j->arg);
	}
	j->last_seq = seq;
}

/* Hand over one fetched message. */
static void
ingest_js_deliver(struct ingest_js *j, natsMsg *nm)
{
	struct ingest_msg	*m;
	jsMsgMetaData		*meta = NULL;

	if ((m = ingest_msg_new(nm)) == NULL) {
		natsMsg_Destroy(nm);
		return;
	}
	if (natsMsg_GetMetaData(&meta, nm) == NATS_OK) {
		m->stream = j->stream;
		m->stream_seq = meta->Sequence.Stream;
		m->deliveries = meta->NumDelivered;
		ingest_js_check_gap(j, m->stream_seq, meta->Sequence.Consumer,
		    meta->NumDelivered <= 1);
		jsMsgMetaData_Destroy(meta);
	}
	j->deliver(m, j->arg);
}

/*
 * After a failed fetch: whether the durable (or its stream) is gone from a
 * server that answers.  The server says "Consumer Deleted" to the pull
 * waiting when it happens, and nothing at all to later pulls, which would
 * only time out: without this check the recorder would wait for ever.
 */
static int
ingest_js_gone(struct ingest_js *j)
{
	jsConsumerInfo	*ci = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;

	if (natsConnection_Status(j->conn->nc) != NATS_CONN_STATUS_CONNECTED)
		return 0;
	s = js_GetConsumerInfo(&ci, j->conn->js, j->stream, j->durable, NULL, &jerr);
	jsConsumerInfo_Destroy(ci);
	return s != NATS_OK && (jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr);
}

/* The fetch loop. */
static void *
ingest_js_run(void *arg)
{
	struct ingest_js	*j = arg;
	natsMsgList		 list;
	natsStatus		 s;
	int			 i;

	while (!atomic_load(&j->stop) && !atomic_load(&j->gone)) {
		memset(&list, 0, sizeof list);
		s = natsSubscription_Fetch(&list, j->sub, j->batch, INGEST_FETCH_MS, NULL);
		if (s == NATS_OK) {
			for (i = 0; i < list.Count; i++) {
				ingest_js_deliver(j, list.Msgs[i]);
				list.Msgs[i] = NULL;
			}
		}
		natsMsgList_Destroy(&list);
		if (s != NATS_OK && s != NATS_TIMEOUT && ingest_js_gone(j))
			atomic_store(&j->gone, 1);
		else if (s != NATS_OK && s != NATS_TIMEOUT)
			usleep(100000);		/* disconnected: nats.c reconnects */
	}
	return NULL;
}

/* Whether the durable was deleted on the server: nothing more will come. */
int
ingest_js_gone_away(struct ingest_js *j)
{
	return j != NULL && atomic_load(&j->gone);
}

/* Start consuming. */
struct ingest_js *
ingest_js_consume(struct ingest_conn *c, const struct ingest_js_opts *o,
    ingest_deliver_fn deliver, ingest_gap_fn gap, void *arg, char **notice, char **cause)
{
	struct ingest_js	*j;
	jsSubOptions		 so;
	jsCtx			*js;
	jsErrCode		 jerr = 0;
	natsStatus		 s;

	if ((js = ingest_js_ctx(c, cause)) == NULL)
		return NULL;
	if ((j = calloc(1, sizeof *j)) == NULL || (j->stream = strdup(o->stream)) == NULL ||
	    (j->durable = strdup(o->durable)) == NULL) {
		ingest_js_free(j);
		asprintf(cause, "out of memory");
		return NULL;
	}
	j->conn = c;
	j->deliver = deliver;
	j->gap = gap;
	j->arg = arg;
	j->filtered = o->filter != NULL;
	j->batch = o->batch > 0 ? o->batch : 256;
	j->chain = 1;
	atomic_init(&j->stop, 0);
	atomic_init(&j->gone, 0);
	if (ingest_js_prepare(j, js, o, notice, cause) != 0) {
		ingest_js_free(j);
		return NULL;
	}
	jsSubOptions_Init(&so);
	so.Stream = o->stream;
	so.Consumer = o->durable;
	s = js_PullSubscribe(&j->sub, js, o->filter != NULL ? o->filter : "", o->durable, NULL,
	    &so, &jerr);
	if (s != NATS_OK) {
		ingest_js_fail(cause, s, jerr, o->stream, "cannot bind to the durable");
		ingest_js_free(j);
		return NULL;
	}
	if (pthread_create(&j->thread, NULL, ingest_js_run, j) != 0) {
		asprintf(cause, "cannot start the JetStream thread");
		ingest_js_free(j);
		return NULL;
	}
	j->started = 1;
	return j;
}

/* Stop fetching. */
void
ingest_js_stop(struct ingest_js *j)
{
	if (j == NULL || !j->started)
		return;
	atomic_store(&j->stop, 1);
	pthread_join(j->thread, NULL);
	j->started = 0;
}

void
ingest_js_free(struct ingest_js *j)
{
	if (j == NULL)
		return;
	ingest_js_stop(j);
	if (j->sub != NULL)
		natsSubscription_Destroy(j->sub);	/* a durable outlives us */
	free(j->stream);
	free(j->durable);
	free(j);
}

/* ---- publishing ----------------------------------------------------------- */

/* A natsMsg for msg. */
static natsStatus
ingest_msg_build(natsMsg **nm, const struct auth_msg *msg)
{
	natsStatus	s;
	size_t		i;

	s = natsMsg_Create(nm, msg->subject, NULL, (const char *)msg->body, (int)msg->body_len);
	for (i = 0; s == NATS_OK && i < msg->nheaders; i++)
		s = natsMsgHeader_Add(*nm, msg->headers[i].name, msg->headers[i].value);
	return s;
}

/* Publish on core NATS. */
int
ingest_publish(struct ingest_conn *c, const struct auth_msg *msg, char **cause)
{
	natsMsg		*nm = NULL;
	natsStatus	 s;

	if ((s = ingest_msg_build(&nm, msg)) == NATS_OK)
		s = natsConnection_PublishMsg(c->nc, nm);
	natsMsg_Destroy(nm);
	return s == NATS_OK ? 0 : ingest_fail(cause, s, "cannot publish on '%s'", msg->subject);
}

/* Publish through JetStream. */
int
ingest_js_publish(struct ingest_conn *c, const struct auth_msg *msg, uint64_t *seq,
    char **cause)
{
	natsMsg		*nm = NULL;
	jsPubAck	*pa = NULL;
	jsCtx		*js;
	jsErrCode	 jerr = 0;
	natsStatus	 s;

	if ((js = ingest_js_ctx(c, cause)) == NULL)
		return -1;
	if ((s = ingest_msg_build(&nm, msg)) == NATS_OK)
		s = js_PublishMsg(&pa, js, nm, NULL, &jerr);
	natsMsg_Destroy(nm);
	if (s != NATS_OK) {
		if (s == NATS_NO_RESPONDERS)
			asprintf(cause, "no JetStream stream takes subject '%s'", msg->subject);
		else
			ingest_fail(cause, s, "cannot publish on '%s' through JetStream",
			    msg->subject);
		return -1;
	}
	if (seq != NULL)
		*seq = pa->Sequence;
	jsPubAck_Destroy(pa);
	return 0;
}

/* Release nats.c's global state (threads, timers) at exit. */
void
ingest_shutdown(void)
{
	nats_CloseAndWait(2000);
}
