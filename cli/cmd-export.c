/*
 * cli/cmd-export.c -- `ztwatch export`: trail rows as JSON lines or CSV.
 *
 * Rows stream from one cursor to the output in constant memory.  JSON
 * lines carry every column under its stable name (README, "The audit
 * trail"); CSV follows RFC 4180 with the same names as columns.  Bodies go
 * out as text when they are UTF-8 without NUL bytes, else as base64, so
 * any body survives the round trip.  With -o, a regular file appears
 * whole or not at all: rows go to FILE.partial, renamed at the end; a
 * FIFO, a device or a symlink is written through (export_via_partial).
 *
 * Several trails (-d A -d B, the trails of a fleet of recorders) are
 * merged: one cursor per trail, each in chain order, and the next row out
 * is always the earliest of the cursors' current rows by received_at
 * (then by the order the trails were given).  Each trail's rows keep
 * their chain order, so the output is in time order as far as each
 * chain is, and every row names its trail in a "db" member (column).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"

/* Column names, in output order (CSV header; JSON member names). */
static const char *const export_columns[] = {
	"kind", "id", "received_at", "session", "subject", "stream", "stream_seq", "rule",
	"verdict", "reason", "alg", "kid", "iss", "sub", "aud", "scope", "jti", "event_id",
	"exp", "iat", "headers", "body", "body_b64", "token", "checks", "claims", "warnings",
	"gap_count", "detail", "prev_hash", "hash"
};
#define EXPORT_NCOLS (sizeof export_columns / sizeof export_columns[0])
#define EXPORT_MAX_DBS	64

/* What export_to returns instead of a row count. */
#define EXPORT_ERR_QUERY	-1	/* a trail cannot be read */
#define EXPORT_ERR_OPEN		-2	/* a trail cannot be opened */
#define EXPORT_ERR_WRITE	-3	/* the output cannot be written */

/* Columns holding JSON text, written as JSON values in JSON lines. */
static int
export_is_json(const char *name)
{
	return strcmp(name, "headers") == 0 || strcmp(name, "checks") == 0 ||
	    strcmp(name, "claims") == 0 || strcmp(name, "warnings") == 0 ||
	    strcmp(name, "detail") == 0;
}

/* One output field: text (or NULL), and whether it is a number or JSON. */
struct export_field {
	const char	*text;
	size_t		 len;
	int		 raw;		/* JSON value, number, or JSON text */
	char		 small[72];	/* storage for numbers, times, hashes */
	char		*owned;		/* storage for base64 */
};

/* Write s[0..n) as a JSON string. */
static void
export_json_string(FILE *f, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[13];
	uint32_t		 cp;
	size_t			 i, k;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			fputc('\\', f);
			fputc(p[i], f);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			fprintf(f, "\\u%04x", p[i]);
		} else if (p[i] >= 0x80) {
			if ((k = auth_utf8_seq(p + i, n - i)) == 0) {
				fputs("\\ufffd", f);	/* only a non-UTF-8 subject can get here */
				continue;
			}
			/* C1 controls, U+2028/9, bidi controls and invisible
			   characters, escaped as in verdicts. */
			if (auth_utf8_escaped(p + i, k, &cp) > 0)
				fwrite(esc, 1, auth_json_escape_cp(esc, cp), f);
			else
				fwrite(p + i, 1, k, f);
			i += k - 1;
		} else
			fputc(p[i], f);
	}
	fputc('"', f);
}

/* Write JSON text as a value: re-encoded when it holds unsafe characters,
   and as a string when it is not JSON (a trail edited by hand: the line
   stays JSON, and shows what is there). */
static void
export_json_value(FILE *f, const char *text, size_t n)
{
	char	*safe;

	if (!auth_json_valid(text, n)) {
		export_json_string(f, text, n);
	} else if (!auth_json_unsafe(text, n)) {
		fwrite(text, 1, n, f);
	} else if ((safe = auth_json_safe(text, n)) != NULL) {
		fputs(safe, f);
		free(safe);
	} else
		export_json_string(f, text, n);
}

/* RFC 3339 with microseconds, UTC. */
static void
export_time(char *buf, size_t size, int64_t us)
{
	time_t		t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&t, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06lldZ", (long long)(us - (int64_t)t * 1000000));
}

/* A JSON number for a NumericDate: integral values without a fraction. */
static void
export_number(char *buf, size_t size, double d)
{
	if (d == (double)(long long)d && d > -1e15 && d < 1e15)
		snprintf(buf, size, "%lld", (long long)d);
	else
		snprintf(buf, size, "%.17g", d);
}

/* Fill field i of row r. */
static void
export_field(const struct store_row *r, size_t i, struct export_field *fl)
{
	const char	*name = export_columns[i];
	const char	*s = NULL;
	int		 k;

	memset(fl, 0, sizeof *fl);
	/* A gap's count of 0 is a lost connection, where nobody knows how many
	   messages went by: null, not 0. */
	if (strcmp(name, "id") == 0 || (strcmp(name, "session") == 0 && r->session) ||
	    (strcmp(name, "stream_seq") == 0 && r->stream) ||
	    (strcmp(name, "gap_count") == 0 && strcmp(r->kind, "gap") == 0 &&
	    r->gap_count > 0)) {
		long long	v = strcmp(name, "id") == 0 ? r->id : strcmp(name, "session") == 0 ?
			    r->session : strcmp(name, "stream_seq") == 0 ? r->stream_seq :
			    r->gap_count;

		snprintf(fl->small, sizeof fl->small, "%lld", v);
		s = fl->small;
		fl->raw = 1;
	} else if (strcmp(name, "received_at") == 0) {
		export_time(fl->small, sizeof fl->small, r->received_us);
		s = fl->small;
	} else if ((strcmp(name, "exp") == 0 && r->has_exp) ||
	    (strcmp(name, "iat") == 0 && r->has_iat)) {
		export_number(fl->small, sizeof fl->small, name[0] == 'e' ? r->exp : r->iat);
		s = fl->small;
		fl->raw = 1;
	} else if (strcmp(name, "hash") == 0 || strcmp(name, "prev_hash") == 0) {
		const unsigned char	*h = name[0] == 'h' ? r->hash : r->prev_hash;

		for (k = 0; h != NULL && k < 32; k++)
			snprintf(fl->small + 2 * k, 3, "%02x", h[k]);
		s = h != NULL ? fl->small : NULL;
	} else if (strcmp(name, "body") == 0 || strcmp(name, "body_b64") == 0) {
		/* A NUL would go out as \u0000, which import (strict) refuses. */
		int	text = r->has_body && auth_utf8_valid(r->body, r->body_len) &&
			    memchr(r->body, '\0', r->body_len) == NULL;

		if (r->has_body && name[4] == '\0' && text) {
			fl->text = (const char *)r->body;
			fl->len = r->body_len;
			return;
		}
		if (r->has_body && name[4] != '\0' && !text)
			s = fl->owned = auth_b64_encode(r->body, r->body_len);
	} else {
		const char *const *cols[] = {
			&r->kind, &r->subject, &r->stream, &r->rule, &r->verdict, &r->reason,
			&r->alg, &r->kid, &r->iss, &r->sub, &r->aud, &r->scope, &r->jti,
			&r->event_id, &r->headers, &r->token, &r->checks, &r->claims,
			&r->warnings, &r->detail
		};
		static const char *const names[] = {
			"kind", "subject", "stream", "rule", "verdict", "reason", "alg", "kid",
			"iss", "sub", "aud", "scope", "jti", "event_id", "headers", "token",
			"checks", "claims", "warnings", "detail"
		};

		for (k = 0; k < (int)(sizeof names / sizeof names[0]); k++) {
			if (strcmp(names[k], name) == 0)
				s = *cols[k];
		}
		fl->raw = s != NULL && export_is_json(name) &&
		    (strcmp(name, "detail") != 0 || s[0] == '{' || s[0] == '[');
	}
	fl->text = s;
	fl->len = s != NULL ? strlen(s) : 0;
}

/* One row as a JSON line: every column, null when it has no value; first
   the trail it comes from when db is not NULL. */
static void
export_jsonl(FILE *f, const struct store_row *r, const char *db)
{
	struct export_field	fl;
	size_t			i;
	int			first = 1;

	fputc('{', f);
	if (db != NULL) {
		fputs("\"db\":", f);
		export_json_string(f, db, strlen(db));
		first = 0;
	}
	for (i = 0; i < EXPORT_NCOLS; i++) {
		export_field(r, i, &fl);
		fprintf(f, "%s\"%s\":", first ? "" : ",", export_columns[i]);
		first = 0;
		if (fl.text == NULL)
			fputs("null", f);
		else {
			if (fl.raw && strcmp(export_columns[i], "id") != 0 &&
			    strcmp(export_columns[i], "session") != 0 &&
			    strcmp(export_columns[i], "stream_seq") != 0 &&
			    strcmp(export_columns[i], "gap_count") != 0 &&
			    strcmp(export_columns[i], "exp") != 0 &&
			    strcmp(export_columns[i], "iat") != 0)
				export_json_value(f, fl.text, fl.len);
			else if (fl.raw)
				fwrite(fl.text, 1, fl.len, f);
			else
				export_json_string(f, fl.text, fl.len);
		}
		free(fl.owned);
	}
	fputs("}\n", f);
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or break. */
static void
export_csv_field(FILE *f, const char *s, size_t n)
{
	size_t	i;

	if (s == NULL)
		return;
	if (memchr(s, ',', n) == NULL && memchr(s, '"', n) == NULL &&
	    memchr(s, '\n', n) == NULL && memchr(s, '\r', n) == NULL) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

/* One row as a CSV record; first the trail it comes from when db is not NULL. */
static void
export_csv(FILE *f, const struct store_row *r, const char *db)
{
	struct export_field	fl;
	size_t			i;

	if (db != NULL) {
		export_csv_field(f, db, strlen(db));
		fputc(',', f);
	}
	for (i = 0; i < EXPORT_NCOLS; i++) {
		export_field(r, i, &fl);
		if (i > 0)
			fputc(',', f);
		export_csv_field(f, fl.text, fl.len);
		free(fl.owned);
	}
	fputs("\r\n", f);
}

/* Options of export. */
struct export_opts {
	struct store_filter	 f;
	int			 csv;
	const char		*out;
	const char		*dbs[EXPORT_MAX_DBS];	/* -d after the command */
	int			 ndbs;
};

/* One trail being exported, and its cursor's current row. */
struct export_input {
	const char		*db;
	struct store		*st;
	struct store_cursor	*c;
	const struct store_row	*row;		/* NULL at the end */
};

/* Print the usage of export. */
static void
export_usage(FILE *f)
{
	fputs("usage: ztwatch [-d DB] export --format jsonl|csv [--since T] [--until T]\n"
	    "           [--subject P] [--verdict pass|fail] [--reason R] [--iss I] [--kid K]\n"
	    "           [--event-id ID]\n"
	    "           [-d DB]... [-o FILE]\n\n"
	    "Write trail rows in chain order.  T is RFC 3339, epoch seconds, or relative\n"
	    "(-30s, -15m, -2h, -7d); P is a NATS subject pattern.  Event filters leave out\n"
	    "session and gap rows.  Without -o, rows go to stdout.\n\n"
	    "Several -d after the command merge those trails (a fleet's): rows by\n"
	    "received_at, then in the order the trails are given, each trail's rows in\n"
	    "its chain order; each row names its trail (\"db\").\n", f);
}

/* Parse export's command line; -1 on a usage error (message printed). */
static int
export_parse(struct cli_globals *g, struct export_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "subject", required_argument, NULL, 's' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "reason", required_argument, NULL, 'r' },
		{ "iss", required_argument, NULL, 'i' },
		{ "kid", required_argument, NULL, 'k' },
		{ "event-id", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*format = NULL;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "o:d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			format = optarg;
			break;
		case 'S':
		case 'U':
			if (cli_parse_when(optarg, ch == 'S' ? &o->f.since_us : &o->f.until_us)) {
				cli_error("export: %s '%s' is not a time after 1970-01-01"
				    " and before 10000 (RFC 3339, epoch seconds, -2h)",
				    ch == 'S' ? "--since" : "--until", optarg);
				return -1;
			}
			break;
		case 's':
			if (!auth_subject_valid(optarg, 1)) {
				cli_error("export: '%s' is not a subject pattern", optarg);
				return -1;
			}
			o->f.subject = optarg;
			break;
		case 'v':
			if (strcmp(optarg, "pass") != 0 && strcmp(optarg, "fail") != 0) {
				cli_error("export: --verdict is pass or fail");
				return -1;
			}
			o->f.verdict = optarg;
			break;
		case 'r':
			if (auth_reason_from_name(optarg) < 0) {
				cli_error("export: '%s' is not a reason code", optarg);
				return -1;
			}
			o->f.reason = optarg;
			break;
		case 'i':
			o->f.iss = optarg;
			break;
		case 'k':
			o->f.kid = optarg;
			break;
		case 'e':
			o->f.event_id = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'd':
			if (o->ndbs == EXPORT_MAX_DBS) {
				cli_error("export: at most %d trails", EXPORT_MAX_DBS);
				return -1;
			}
			o->dbs[o->ndbs++] = optarg;
			break;
		case 'h':
			export_usage(stdout);
			cli_help_done("export");
		default:
			export_usage(stderr);
			return -1;
		}
	}
	if (optind < argc || format == NULL ||
	    (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0)) {
		cli_error("export: give --format jsonl or --format csv (and no other arguments)");
		return -1;
	}
	o->csv = strcmp(format, "csv") == 0;
	return 0;
}

/* Step input in to its next row; 0, or -1 with *cause naming the trail. */
static int
export_step(struct export_input *in, char **cause)
{
	char	*why = NULL;
	int	 rc;

	if ((rc = store_next(in->c, &in->row, &why)) == 1)
		return 0;
	in->row = NULL;
	if (rc == 0)
		return 0;
	asprintf(cause, "%s: %s", in->db, why ? why : "read error");
	free(why);
	return -1;
}

/* The input whose current row comes next: earliest received_at, then the
   first trail given; -1 when every input is done. */
static int
export_next_input(const struct export_input *in, int n)
{
	int	i, best = -1;

	for (i = 0; i < n; i++) {
		if (in[i].row == NULL)
			continue;
		if (best < 0 || in[i].row->received_us < in[best].row->received_us)
			best = i;
	}
	return best;
}

/*
 * 0 when everything written to f since errno was cleared went well, else
 * the errno of the failure (EIO when the failed call left none).
 */
static int
export_write_error(FILE *f)
{
	if (!ferror(f))
		return 0;
	return errno != 0 ? errno : EIO;
}

/*
 * Write the rows of the n inputs (open, with cursors), merged by time
 * (those keep accepts, when given); a "db" member or column when n > 1.
 * The count, or EXPORT_ERR_QUERY or EXPORT_ERR_WRITE (at the first row
 * that cannot be written: a full disk is not worth a million more tries)
 * with *cause set.
 */
static long long
export_rows(struct export_input *in, int n, struct export_opts *o, FILE *f,
    int (*keep)(const struct store_row *, void *), void *arg, char **cause)
{
	const struct store_row	*r;
	long long		 count = 0;
	time_t			 shown = time(NULL);
	int			 tty = isatty(STDERR_FILENO), i, err;
	size_t			 k;

	if (o->csv) {
		if (n > 1)
			fputs("db,", f);
		for (k = 0; k < EXPORT_NCOLS; k++)
			fprintf(f, "%s%s", k ? "," : "", export_columns[k]);
		fputs("\r\n", f);
	}
	for (i = 0; i < n; i++)
		if (export_step(&in[i], cause) != 0)
			return EXPORT_ERR_QUERY;
	while ((i = export_next_input(in, n)) >= 0) {
		r = in[i].row;
		if (keep == NULL || keep(r, arg)) {
			errno = 0;
			if (o->csv)
				export_csv(f, r, n > 1 ? in[i].db : NULL);
			else
				export_jsonl(f, r, n > 1 ? in[i].db : NULL);
			if ((err = export_write_error(f)) != 0) {
				*cause = strdup(strerror(err));
				return EXPORT_ERR_WRITE;
			}
			if (++count % 4096 == 0 && tty && time(NULL) != shown) {
				shown = time(NULL);
				fprintf(stderr, "\rexport: %lld rows", count);
			}
		}
		if (export_step(&in[i], cause) != 0)
			return EXPORT_ERR_QUERY;
	}
	if (tty && count >= 4096)
		fprintf(stderr, "\rexport: %lld rows\n", count);
	return count;
}

/* Close the inputs. */
static void
export_close_inputs(struct export_input *in, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		store_cursor_free(in[i].c);
		if (in[i].st != NULL)
			store_close(in[i].st, NULL);
	}
}

/*
 * Open the trails and their cursors: 0, EXPORT_ERR_OPEN with *cause when
 * a trail cannot be opened, EXPORT_ERR_QUERY with *cause when it cannot
 * be queried.
 */
static int
export_open_inputs(struct export_input *in, const char *const *dbs, int n,
    const struct store_filter *f, char **cause)
{
	int	i;

	memset(in, 0, (size_t)n * sizeof *in);
	for (i = 0; i < n; i++) {
		in[i].db = dbs[i];
		if ((in[i].st = store_open_reader(dbs[i], cause)) == NULL)
			return EXPORT_ERR_OPEN;
		if ((in[i].c = store_query(in[i].st, f, STORE_OLDEST_FIRST, 0, 0, cause)) == NULL)
			return EXPORT_ERR_QUERY;
	}
	return 0;
}

/*
 * Whether -o out goes through out.partial, renamed over out at the end so
 * that the file appears whole or not at all: only when out is missing or
 * a regular file.  Anything else is opened and written into, as the
 * shell's > does, for a rename would replace it: a FIFO or a device
 * (/dev/null, /dev/full) with a file no reader sees, a symlink with a file
 * of its own.  A symlink is not followed to a rename of the file it names
 * either, the simplest rule: that file stays the same file (its owner,
 * mode, links, and the descriptors open on it, as when /dev/stdout names
 * the shell's output), written in place, so not whole or not at all; a
 * dangling link creates it.
 */
static int
export_via_partial(const char *out)
{
	struct stat	sb;

	if (lstat(out, &sb) != 0)
		return errno == ENOENT;
	return S_ISREG(sb.st_mode);
}

/* Where export_to writes. */
struct export_output {
	FILE	*f;		/* stdout, the file opened, or NULL once closed */
	char	*partial;	/* renamed over -o's file at the end, or NULL */
};

/* Open out (stdout when NULL or "-") for writing: 0, or EXPORT_ERR_WRITE
   with *cause set. */
static int
export_open_output(const char *out, struct export_output *w, char **cause)
{
	const char	*path = out;

	w->f = stdout;
	w->partial = NULL;
	if (out == NULL || strcmp(out, "-") == 0)
		return 0;
	if (export_via_partial(out)) {
		if (asprintf(&w->partial, "%s.partial", out) < 0) {
			w->partial = NULL;
			*cause = strdup("out of memory");
			return EXPORT_ERR_WRITE;
		}
		path = w->partial;
	}
	if ((w->f = fopen(path, "w")) == NULL) {
		if (asprintf(cause, "cannot write '%s': %s", path, strerror(errno)) < 0)
			*cause = NULL;
		free(w->partial);
		w->partial = NULL;
		return EXPORT_ERR_WRITE;
	}
	return 0;
}

/*
 * Flush and close w, then rename its partial file over out when ok (the
 * rows went out); else remove the partial file.  0, or EXPORT_ERR_WRITE
 * with *cause set when ok and the output cannot be written.
 */
static int
export_close_output(struct export_output *w, const char *out, int ok, char **cause)
{
	int	err = cli_flush_error(w->f);

	if (w->f != stdout) {
		if (fclose(w->f) != 0 && err == 0)
			err = errno != 0 ? errno : EIO;
		w->f = NULL;
	}
	if (ok && err == 0 && w->partial != NULL && rename(w->partial, out) != 0)
		err = errno;
	if (w->partial != NULL && (!ok || err != 0))
		unlink(w->partial);
	free(w->partial);
	w->partial = NULL;
	if (!ok || err == 0)
		return 0;
	*cause = strdup(strerror(err));
	return EXPORT_ERR_WRITE;
}

/*
 * Turn *cause, why the output could not be written, into the message:
 * naming file (stdout when NULL), and saying that nothing was written when
 * file was whole or not at all.  The words are cli_output_written's.
 */
static void
export_write_cause(const char *file, int whole, char **cause)
{
	char	*why = *cause;
	int	 rc;

	if (file == NULL)
		rc = asprintf(cause, "cannot write the output: %s", why ? why : "failed");
	else
		rc = asprintf(cause, "cannot write '%s': %s%s", file, why ? why : "failed",
		    whole ? " (nothing written)" : "");
	if (rc < 0)
		*cause = NULL;
	free(why);
}

/*
 * Export the trails o->dbs to o->out (stdout when NULL or "-"); see
 * export_via_partial for how a file is written.  Returns the rows
 * written, EXPORT_ERR_WRITE with *cause when the output cannot be
 * written, EXPORT_ERR_QUERY or EXPORT_ERR_OPEN with *cause when a trail
 * cannot be read or opened.
 */
static long long
export_to(struct export_opts *o, int (*keep)(const struct store_row *, void *),
    void *arg, char **cause)
{
	struct export_input	 in[EXPORT_MAX_DBS];
	struct export_output	 w;
	int			 whole;
	long long		 n;

	if ((n = export_open_inputs(in, o->dbs, o->ndbs, &o->f, cause)) == 0)
		n = export_open_output(o->out, &w, cause);
	if (n != 0) {
		export_close_inputs(in, o->ndbs);
		return n;
	}
	whole = w.partial != NULL;
	cli_stream_buffer(w.f);
	n = export_rows(in, o->ndbs, o, w.f, keep, arg, cause);
	export_close_inputs(in, o->ndbs);
	if (export_close_output(&w, o->out, n >= 0, cause) != 0)
		n = EXPORT_ERR_WRITE;
	if (n == EXPORT_ERR_WRITE)
		export_write_cause(w.f == stdout ? NULL : o->out, whole, cause);
	return n;
}

/* Export JSON lines of the rows matching f that keep accepts, to file. */
long long
cli_export_jsonl(const char *db, const struct store_filter *f,
    int (*keep)(const struct store_row *, void *), void *arg, const char *file, char **cause)
{
	struct export_opts	o;
	long long		n;

	memset(&o, 0, sizeof o);
	o.f = *f;
	o.out = file;
	o.dbs[0] = db;
	o.ndbs = 1;
	n = export_to(&o, keep, arg, cause);
	return n < 0 ? -1 : n;
}

/* ztwatch export. */
int
cmd_export(struct cli_globals *g, int argc, char **argv)
{
	struct export_opts	 o;
	char			*cause = NULL;
	long long		 n;

	memset(&o, 0, sizeof o);
	if (export_parse(g, &o, argc, argv) != 0)
		return CLI_EXIT_USAGE;
	/* CSV keeps event bytes as they are (that is its point), so it never goes
	   to a terminal, where a hostile body could retitle or clear it. */
	if (o.csv && (o.out == NULL || strcmp(o.out, "-") == 0) && isatty(STDOUT_FILENO)) {
		cli_error("export: CSV carries raw event bytes; write it with -o FILE or "
		    "through a pipe (JSON lines are safe on a terminal)");
		return CLI_EXIT_USAGE;
	}
	if (o.ndbs == 0)
		o.dbs[o.ndbs++] = g->db;
	n = export_to(&o, NULL, NULL, &cause);
	if (n < 0) {
		cli_error("export: %s", cause ? cause : "failed");
		free(cause);
		/* An output that cannot all be written is exit 2, as for every
		   command (cli_output_written). */
		return n == EXPORT_ERR_QUERY ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}
