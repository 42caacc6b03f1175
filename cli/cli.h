/*
 * cli/cli.h -- what the command files share: global options and helpers.
 */
#ifndef CLI_H
#define CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "auth.h"

#define ZTWATCH_VERSION "0.1.0"

/* Exit codes of every command. */
#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

/* Options given before the command (DESIGN §7). */
struct cli_globals {
	const char	*server;	/* -s URL[,URL...] */
	const char	*policy;	/* -p POLICY */
	const char	*db;		/* -d DB */
	const char	*creds;		/* --creds F */
	const char	*nkey;		/* --nkey F */
	const char	*user;		/* --user U */
	const char	*password;	/* --password P */
	const char	*token;		/* --token T */
	const char	*tls_ca;	/* --tls-ca F */
	const char	*tls_cert;	/* --tls-cert F */
	const char	*tls_key;	/* --tls-key F */
};

/* The default of -d: cli_globals.db points here until -d is given. */
extern const char cli_default_db[];

/* A command: name, entry point, one-line summary for the help. */
struct cli_command {
	const char	*name;
	int		(*run)(struct cli_globals *, int argc, char **argv);
	const char	*usage;
	const char	*summary;
};

struct store;
struct ingest_conn;
struct ingest_conn_opts;

int	cmd_verify(struct cli_globals *, int, char **);
int	cmd_import(struct cli_globals *, int, char **);
int	cmd_export(struct cli_globals *, int, char **);
int	cmd_audit(struct cli_globals *, int, char **);
int	cmd_watch(struct cli_globals *, int, char **);
int	cmd_replay(struct cli_globals *, int, char **);

struct store_filter;
struct store_row;
/* Export, as JSON lines, the rows matching f that keep accepts (NULL: all)
   to file (appears whole or not at all).  Rows written, or -1 with *cause. */
struct tui_filter;
/* The console's export: rows of db its filter f shows, to file (cmd-replay.c). */
long long cli_console_export(const char *db, const struct tui_filter *f, const char *file,
	    char **msg);
long long cli_export_jsonl(const char *db, const struct store_filter *f,
	    int (*keep)(const struct store_row *, void *), void *arg, const char *file,
	    char **cause);

/*
 * Judge every line of a capture file (verify --batch format) on jobs
 * threads (0: every CPU); print verdicts, or record them in st.
 * Returns an exit code.
 */
int	cli_batch_run(struct auth_policy *, const char *file, int jobs, int fixed_now,
	    time_t now, struct store *st);
int	cmd_policy(struct cli_globals *, int, char **);
int	cmd_record(struct cli_globals *, int, char **);
int	cmd_pub(struct cli_globals *, int, char **);

/* What watch --verdicts takes from record's options. */
struct cli_fleet_opts {
	const char	*prefix;	/* --verdicts PREFIX */
	int		 wait;		/* --wait */
	int		 buffer;	/* --buffer N; 0: the default */
};
/*
 * watch --verdicts PREFIX: the fleet's console (cli/cmd-fleet-watch.c),
 * until q or one of sigs, which the caller has blocked.  Returns an exit
 * code.
 */
int	cli_fleet_watch(struct cli_globals *, const struct cli_fleet_opts *,
	    const sigset_t *sigs);

/* The console's live status, shared by watch and watch --verdicts (cmd-record.c). */
struct tui_status;
/* Events per second, measured over a second or more. */
struct cli_rate {
	uint64_t	base;		/* the count at ms */
	int64_t		ms;		/* 0 before the first look */
	double		rate;
};
/* Take count at now_ms into the rate; returns the rate. */
double	cli_rate_update(struct cli_rate *, uint64_t count, int64_t now_ms);
/* Set st's connection state from ingest's (INGEST_*). */
void	cli_status_conn(struct tui_status *st, int ingest_state);

/* Fill the connection options from the globals (callbacks left as set). */
void	cli_conn_opts(const struct cli_globals *, struct ingest_conn_opts *);
int	cmd_keys(struct cli_globals *, int, char **);
/* The demo: private nats-server, mixed traffic, the console (cli/cmd-demo.c). */
int	cmd_demo(struct cli_globals *, int, char **);

/* Print "ztwatch: message" on stderr. */
void	cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After a command's --help text: exit 0, or 2 when stdout failed (never returns). */
void	cli_help_done(const char *cmd) __attribute__((noreturn));
/* Flush f: 0 when everything written to it so far went out, else an errno. */
int	cli_flush_error(FILE *f);
/* Load the policy and fetch its jwks_url keys (cli-keys.c); NULL after an error. */
struct auth_policy *cli_load_policy(const struct cli_globals *);
/* Stop refreshing its keys and free a policy cli_load_policy() gave. */
void	cli_policy_free(struct auth_policy *);
/* Lines about fetched keys since the last call (each ending in a newline), or NULL. */
char	*cli_keys_take_notes(void);
/* The fetched keys' state, brief for a status bar; NULL when the policy fetches none. */
char	*cli_keys_state(int brief);
/* Parse "RFC 3339" or "@EPOCH" or plain epoch seconds, from 1970 to the end
   of 9999 (offsets within a day); -1 if neither or out of range. */
int	cli_parse_time(const char *s, time_t *out);
/* Same, plus relative times ("-30s", "-15m", "-2h", "-7d", "now"), to
   microseconds since the epoch. */
int	cli_parse_when(const char *s, int64_t *us);
/* A copy of s with control bytes shown as \xNN, for the terminal. */
char	*cli_visible(const char *s);
/* nats.c's byte limit for a --buffer of msgs messages: 8 KiB each, within an int. */
int	 cli_buffer_bytes(int msgs);
/* Number of CPUs to use. */
int	cli_ncpu(void);
/* Give a stream a large buffer (before its first read or write). */
void	cli_stream_buffer(FILE *);

#endif
