/*
 * fetch/fetch.c -- fetching and refreshing jwks_url key sets with libcurl.
 *
 * One thread serves every set of a policy.  It wakes every FETCH_TICK_MS
 * (or at once when stopped) and fetches a set that is due: its max-age ran
 * out, or verifiers met a kid it lacks (auth_policy_remote_misses() rose)
 * and the last fetch is at least refetch_min_s old.  Each answer goes to
 * auth_policy_remote_update(), which publishes it only when it differs.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "fetch.h"

#define FETCH_TICK_MS		100
#define FETCH_CONNECT_MAX_S	10
#define FETCH_MAX_REDIRECTS	3
#define FETCH_ERR_MAX		256
#define FETCH_MAX_AGE_S		86400		/* the longest a set is kept unasked */

/* One jwks_url set and what its fetches found. */
struct fetch_set {
	struct auth_remote_info	 info;
	size_t			 index;
	CURL			*curl;
	int64_t			 due_ms;	/* next scheduled fetch (monotonic) */
	int64_t			 last_ms;	/* last fetch's start, or 0 */
	uint64_t		 misses;	/* auth's count when last looked */
	unsigned		 failures;	/* in a row */
	uint64_t		 fetches;
	time_t			 good_at;	/* wall time of the last good answer */
	time_t			 failed_at;	/* of the last failure, 0 after a good one */
	char			 error[FETCH_ERR_MAX];
	/* One answer being read. */
	char			*body;
	size_t			 len, cap;
	int			 too_big;
	long			 max_age;	/* from Cache-Control, or -1 */
	long			 age;		/* from Age, or 0 */
};

struct fetch_keys {
	const struct auth_policy *p;
	struct fetch_set	*sets;
	size_t			 nsets;
	fetch_note_fn		 note;
	void			*arg;
	pthread_t		 thread;
	int			 running;
	int			 stop;
	pthread_mutex_t		 lock;		/* stop, and every set's state */
	pthread_cond_t		 wake;
};

/* Tell the user, from the fetch thread. */
static void __attribute__((format(printf, 2, 3)))
fetch_note(struct fetch_keys *fk, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (fk->note == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line != NULL)
		fk->note(fk->arg, line);
	free(line);
}

/* ---- one HTTP answer ----------------------------------------------------- */

static size_t
fetch_write(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_set	*s = arg;
	size_t			 len = size * n;
	char			*body;

	if (len > s->info.max_bytes - s->len) {
		s->too_big = 1;
		return 0;			/* stops the transfer */
	}
	if (s->len + len + 1 > s->cap) {
		s->cap = (s->len + len + 1) * 2;
		if (s->cap > s->info.max_bytes + 1)
			s->cap = s->info.max_bytes + 1;
		if ((body = realloc(s->body, s->cap)) == NULL)
			return 0;
		s->body = body;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	return len;
}

/* The number after "name=" in a Cache-Control value, or -1. */
static long
fetch_directive(const char *value, size_t n, const char *name)
{
	size_t	 k = strlen(name), i;

	for (i = 0; i + k <= n; i++) {
		/* a directive starts the value or follows a comma and spaces */
		if ((i == 0 || value[i - 1] == ',' || value[i - 1] == ' ') &&
		    strncasecmp(value + i, name, k) == 0) {
			if (name[k - 1] != '=')
				return 0;
			if (i + k < n && isdigit((unsigned char)value[i + k]))
				return strtol(value + i + k, NULL, 10);
		}
	}
	return -1;
}

/* Headers: Cache-Control's max-age (no-cache and no-store mean 0), and Age.
   libcurl hands over the headers of every answer on the way (a redirect,
   a 100 Continue); only the last one's describe the set. */
static size_t
fetch_header(char *line, size_t size, size_t n, void *arg)
{
	struct fetch_set	*s = arg;
	size_t			 len = size * n;
	long			 v;

	if (len > 5 && strncasecmp(line, "HTTP/", 5) == 0) {
		s->max_age = -1;		/* a status line: a new answer */
		s->age = 0;
	} else if (len > 14 && strncasecmp(line, "Cache-Control:", 14) == 0) {
		if ((v = fetch_directive(line + 14, len - 14, "max-age=")) >= 0)
			s->max_age = v;
		if (fetch_directive(line + 14, len - 14, "no-cache") == 0 ||
		    fetch_directive(line + 14, len - 14, "no-store") == 0)
			s->max_age = 0;
	} else if (len > 4 && strncasecmp(line, "Age:", 4) == 0 &&
	    isdigit((unsigned char)line[4 + strspn(line + 4, " ")]))
		s->age = strtol(line + 4, NULL, 10);
	return len;
}

/* Set the options of one GET of s's URL. */
static void
fetch_setup(struct fetch_set *s, char *errbuf)
{
	const char	*protocols = s->info.allow_http ? "https,http" : "https";
	CURL		*c = s->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, s->info.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	/* allow_http lets an http:// URL be used; it never lets an https://
	   one be redirected to plain http, where anyone on the path could
	   hand over keys of their own. */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
	    strncasecmp(s->info.url, "https://", 8) == 0 ? "https" : protocols);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)FETCH_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, s->info.timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->info.timeout_s < FETCH_CONNECT_MAX_S ?
	    s->info.timeout_s : (long)FETCH_CONNECT_MAX_S);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->info.ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->info.ca_file);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->info.max_bytes);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ztwatch");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

/*
 * GET s's URL into s->body.  0, or -1 with why in s->error.  Runs without
 * the lock: only this thread touches a set's transfer fields.
 */
static int
fetch_get(struct fetch_set *s, char *why, size_t whylen)
{
	char		 errbuf[CURL_ERROR_SIZE] = "";
	CURLcode	 rc;
	long		 status = 0;

	s->len = 0;
	s->too_big = 0;
	s->max_age = -1;
	s->age = 0;
	fetch_setup(s, errbuf);
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, whylen, "the answer is larger than max_bytes (%zu)",
		    s->info.max_bytes);
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	if (status != 200) {
		snprintf(why, whylen, "HTTP %ld", status);
		return -1;
	}
	if (s->len == 0) {			/* an empty 200 */
		snprintf(why, whylen, "the answer is empty");
		return -1;
	}
	s->body[s->len] = '\0';
	return 0;
}

/* When s is due next after a good answer: max-age less Age, else refresh_s,
   never sooner than refetch_min_s (at least a second) nor later than a day
   (a server's max-age of years would pin revoked keys).  Both headers are
   taken as sent (strtol() saturates, and neither is negative, so the
   difference cannot overflow) and only the wait is bounded: bounding each
   on its own turned max-age 200000 with Age 100000 into a wait of 0. */
static int64_t
fetch_next_good(const struct fetch_set *s, int64_t now)
{
	long	wait = s->max_age >= 0 ? s->max_age - s->age : s->info.refresh_s;
	long	floor = s->info.refetch_min_s > 0 ? s->info.refetch_min_s : 1;

	if (wait > FETCH_MAX_AGE_S)
		wait = FETCH_MAX_AGE_S;
	if (wait < floor)
		wait = floor;
	return now + (int64_t)wait * 1000;
}

/* When s is due next after failures in a row: doubling from refetch_min_s
   up to refresh_s. */
static int64_t
fetch_next_failed(const struct fetch_set *s, int64_t now)
{
	long	wait = s->info.refetch_min_s > 0 ? s->info.refetch_min_s : 1;
	unsigned i;

	for (i = 1; i < s->failures && wait < s->info.refresh_s; i++)
		wait *= 2;
	if (wait > s->info.refresh_s)
		wait = s->info.refresh_s;
	return now + (int64_t)wait * 1000;
}

/*
 * Fetch s once and install what came.  Returns 0, or -1 with *cause (for
 * the first fetch).  Later failures are noted and the old keys stay.
 */
static int
fetch_one(struct fetch_keys *fk, struct fetch_set *s, char **cause)
{
	char		 why[FETCH_ERR_MAX];
	char		*change = NULL, *notes = NULL, *err = NULL, *fp = NULL;
	int64_t		 now = auth_mono_ms();
	int		 rc;

	s->last_ms = now;
	rc = fetch_get(s, why, sizeof why);
	if (rc == 0) {
		rc = auth_policy_remote_update(fk->p, s->index, (unsigned char *)s->body, s->len,
		    &change, &notes, &err);
		if (rc < 0) {
			snprintf(why, sizeof why, "%s", err);
			free(err);
		}
	}
	pthread_mutex_lock(&fk->lock);
	s->fetches++;
	if (rc < 0) {
		s->failures++;
		s->failed_at = time(NULL);
		snprintf(s->error, sizeof s->error, "%s", why);
		s->due_ms = fetch_next_failed(s, now);
	} else {
		s->failures = 0;
		s->failed_at = 0;
		s->good_at = time(NULL);
		s->error[0] = '\0';
		s->due_ms = fetch_next_good(s, now);
	}
	pthread_mutex_unlock(&fk->lock);
	if (rc < 0) {
		free(notes);
		if (cause != NULL)
			*cause = auth_printf("keys.%s: %s: %s", s->info.name, s->info.url, why);
		else
			fetch_note(fk, "keys %s: fetching %s failed: %s; keeping the keys in use",
			    s->info.name, s->info.url, why);
		return -1;
	}
	if (notes != NULL)
		fetch_note(fk, "keys %s: %s", s->info.name, notes);
	if (rc == 1 && cause == NULL) {
		auth_policy_keyset(fk->p, &fp, NULL);
		fetch_note(fk, "keys %s changed: %s (key set %s)", s->info.name, change, fp);
	}
	free(fp);
	free(change);
	free(notes);
	return 0;
}

/* ---- the thread ---------------------------------------------------------- */

/* Whether s should be fetched now.  Unknown kids ask for an early fetch,
   but not while the server fails: then the doubling pause decides, or a
   flood of forged kids would bring a try every refetch_min_s. */
static int
fetch_due(struct fetch_keys *fk, struct fetch_set *s, int64_t now)
{
	uint64_t	misses = auth_policy_remote_misses(fk->p, s->index);
	int64_t		min_ms = (int64_t)s->info.refetch_min_s * 1000;

	if (now >= s->due_ms)
		return 1;
	if (misses != s->misses && s->failures == 0 && now - s->last_ms >= min_ms) {
		s->misses = misses;
		return 1;
	}
	return 0;
}

static void *
fetch_thread(void *arg)
{
	struct fetch_keys	*fk = arg;
	struct timespec		 until;
	size_t			 i;
	int			 stop;

	for (;;) {
		pthread_mutex_lock(&fk->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += FETCH_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!fk->stop)
			pthread_cond_timedwait(&fk->wake, &fk->lock, &until);
		stop = fk->stop;
		pthread_mutex_unlock(&fk->lock);
		if (stop)
			break;
		for (i = 0; i < fk->nsets; i++) {
			if (fetch_due(fk, &fk->sets[i], auth_mono_ms()))
				fetch_one(fk, &fk->sets[i], NULL);
		}
	}
	return NULL;
}

/*
 * Start the refresh thread with every signal but faults blocked (libcurl's resolver
 * threads inherit the mask): a recorder takes SIGINT and SIGTERM in its main
 * thread only, to drain and commit; one delivered here would kill it with
 * the batch uncommitted.
 */
static int
fetch_start_thread(struct fetch_keys *fk)
{
	sigset_t	all, old;
	int		rc;

	sigfillset(&all);
	/* Faults stay deliverable: a crash here must still reach the
	   sanitizers' handlers and the core dump. */
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&fk->thread, NULL, fetch_thread, fk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- the handle ---------------------------------------------------------- */

struct fetch_keys *
fetch_keys_start(const struct auth_policy *p, fetch_note_fn note, void *arg, char **cause)
{
	struct fetch_keys	*fk;
	size_t			 i;

	if ((fk = calloc(1, sizeof *fk)) == NULL) {
		*cause = auth_strdup("out of memory");
		return NULL;
	}
	fk->p = p;
	fk->note = note;
	fk->arg = arg;
	pthread_mutex_init(&fk->lock, NULL);
	pthread_cond_init(&fk->wake, NULL);
	if ((fk->nsets = auth_policy_remote_count(p)) == 0)
		return fk;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*cause = auth_strdup("cannot start libcurl");
		goto fail;
	}
	fk->sets = auth_calloc(fk->nsets, sizeof *fk->sets);
	for (i = 0; i < fk->nsets; i++) {
		struct fetch_set	*s = &fk->sets[i];

		auth_policy_remote_info(p, i, &s->info);
		s->index = i;
		if ((s->curl = curl_easy_init()) == NULL) {
			*cause = auth_strdup("cannot start libcurl");
			goto fail;
		}
		s->misses = auth_policy_remote_misses(p, i);
		if (fetch_one(fk, s, cause) != 0)
			goto fail;
	}
	if (fetch_start_thread(fk) != 0) {
		*cause = auth_strdup("cannot start the key fetch thread");
		goto fail;
	}
	fk->running = 1;
	return fk;
fail:
	fetch_keys_stop(fk);
	return NULL;
}

void
fetch_keys_stop(struct fetch_keys *fk)
{
	size_t	i;

	if (fk == NULL)
		return;
	if (fk->running) {
		pthread_mutex_lock(&fk->lock);
		fk->stop = 1;
		pthread_cond_signal(&fk->wake);
		pthread_mutex_unlock(&fk->lock);
		pthread_join(fk->thread, NULL);
	}
	for (i = 0; fk->sets != NULL && i < fk->nsets; i++) {
		if (fk->sets[i].curl != NULL)
			curl_easy_cleanup(fk->sets[i].curl);
		free(fk->sets[i].body);
	}
	if (fk->sets != NULL)
		curl_global_cleanup();
	free(fk->sets);
	pthread_cond_destroy(&fk->wake);
	pthread_mutex_destroy(&fk->lock);
	free(fk);
}

/* "12s", "3m", "2h" for a span of seconds. */
static void
fetch_span(char *buf, size_t n, time_t s)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, n, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(buf, n, "%lldm", (long long)s / 60);
	else
		snprintf(buf, n, "%lldh", (long long)s / 3600);
}

char *
fetch_keys_state(struct fetch_keys *fk, int brief)
{
	char		*out = NULL, *next, ago[32], good[32];
	time_t		 now = time(NULL);
	size_t		 i;
	int		 stale = 0;

	if (fk == NULL || fk->nsets == 0)
		return NULL;
	pthread_mutex_lock(&fk->lock);
	for (i = 0; i < fk->nsets; i++) {
		struct fetch_set	*s = &fk->sets[i];

		stale |= s->failed_at != 0;
		if (brief)
			continue;
		fetch_span(good, sizeof good, now - s->good_at);
		fetch_span(ago, sizeof ago, now - s->failed_at);
		if (s->failed_at != 0)
			next = auth_printf("%s%skeys %s %zu STALE (%s %s ago; good %s ago)",
			    out ? out : "", out ? ", " : "", s->info.name,
			    auth_policy_remote_keys(fk->p, s->index), s->error, ago, good);
		else
			next = auth_printf("%s%skeys %s %zu (fetched %s ago, %llu fetches)",
			    out ? out : "", out ? ", " : "", s->info.name,
			    auth_policy_remote_keys(fk->p, s->index), good,
			    (unsigned long long)s->fetches);
		free(out);
		out = next;
	}
	pthread_mutex_unlock(&fk->lock);
	if (brief)
		out = auth_strdup(stale ? "keys STALE" : "keys ok");
	return out;
}
