/*
 * tui/screen.h -- the console's screen: the only place curses is used.
 *
 * A thin loop over the models of tui.h: it reads keys, feeds them to the
 * key model, pages the event list through the trail (a read-only
 * connection of its own), and draws at most about 30 times a second.
 * Live counters arrive from other threads through tui_screen_event() and
 * tui_screen_gap(); everything else happens on the thread that runs the
 * screen.
 */
#ifndef TUI_SCREEN_H
#define TUI_SCREEN_H

#include <stdint.h>

#include "tui.h"

/* Where the screen's data comes from: the live recorder or a trail. */
struct tui_source {
	const char	*db;		/* the trail, opened read-only by the screen */
	const char	*server;	/* NULL when replaying */
	const char	*view;		/* for the status line: what is watched
					   when not events (tui_status), or NULL */
	int64_t		 since_us, until_us;	/* replay's time window (0: open) */
	/* Live only: the connection state and counters. */
	void		(*status)(void *arg, struct tui_status *st);
	/* :sub / :unsub; returns 0, or -1 with *msg (allocated) saying why. */
	int		(*subscribe)(void *arg, const char *subject, int on, char **msg);
	/*
	 * Replay --reverify: judge row again under today's policy; returns 1
	 * when the verdict differs from the recorded one, with *pass and
	 * *reason (a reason code) set and why[0..whylen) saying why (which
	 * key); 0 when it is the same; -1 for rows it cannot judge (gaps).
	 */
	int		(*rejudge)(void *arg, const struct store_row *row, int *pass,
			    const char **reason, char *why, size_t whylen);
	/* Called on the screen's thread every tick (about 30 times a second). */
	void		(*tick)(void *arg);
	/* Export the rows of trail db the filter shows to file (JSON lines);
	   the count, or -1 with *msg (allocated). */
	long long	(*export)(const char *db, const struct tui_filter *f,
			    const char *file, char **msg);
	void		*arg;
};

struct tui_screen;

struct tui_screen *tui_screen_new(const struct tui_source *, char **cause);
/* A live event or gap, from any thread. */
void		 tui_screen_event(struct tui_screen *, const char *subject, int pass,
		     const char *reason, int64_t time_us);
void		 tui_screen_gap(struct tui_screen *, const char *subject, uint64_t count,
		     int64_t time_us);
/* A message for the status line, from any thread (raw: made safe here). */
void		 tui_screen_note(struct tui_screen *, const char *text);
/* Ask the loop to end (from a signal handler: async-signal-safe). */
void		 tui_screen_quit(struct tui_screen *);
/* Run until `q` or tui_screen_quit(); restores the terminal.  0 or -1. */
int		 tui_screen_run(struct tui_screen *, char **cause);
void		 tui_screen_free(struct tui_screen *);

#endif
