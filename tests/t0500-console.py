"""t0500-console.py -- the console in a real terminal (tmux), live and replayed.

Each case runs `ztwatch watch` or `ztwatch replay` inside a detached tmux
session on a private tmux socket, against a real nats-server on a free
loopback port, publishes events, and reads the screen with
`tmux capture-pane`.  What is checked: subjects, verdicts and reasons on
screen; a hostile event (title, clear-screen and colour escapes in its
subject, header and body) leaves the pane title and the screen intact and
shows its escapes as text; resizing to 80x24 and back; the filter; `q`
exits 0 and gives the terminal back; replay --reverify marks verdicts that
changed after a key left the policy; a command too long for its buffer is
cut between characters.
"""

import json
import re
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from ztmux import Tmux  # noqa: E402
from zt import (ZTWATCH, Env, Failure, NatsServer, batch_line, case, check, eq,  # noqa: E402
                run, trail_count, wait_until, zt, ztpub)

ISS = "https://idsvr.example/oauth"
BEARER = {"header": "Authorization", "scheme": "Bearer"}


class ConsoleEnv(Env):
    def __init__(self):
        super().__init__()
        self.keys_def = {"rsa": {"pem_file": "rsa.pub.pem"},
                         "rsa2": {"pem_file": "rsa2.pub.pem"},
                         "seedjwt": {"secret_file": "seedjwt.secret", "alg": "HS256"},
                         "seedevt": {"secret_file": "seedevt.secret"}}
        self.pol = self.make_policy(["rsa"])

    def make_policy(self, order_keys):
        return self.policy({
            "keys": self.keys_def,
            "rules": [
                {"name": "orders", "subjects": ["orders.>"], "token": BEARER,
                 "keys": order_keys, "algorithms": ["RS256"], "issuer": ISS,
                 "bind": [{"claim": "event_id", "equals": "/eventID"},
                          {"claim": "payload_hash", "hash": "sha256", "encoding": "hex"}]},
                {"name": "seed", "subjects": ["events", "chats"], "profile": "nats_pubsub",
                 "keys": ["seedjwt"], "event_key": "seedevt"}]})

    def pub(self, url, subject, event, *args, policy=None):
        ev = os.path.join(self.dir, "event.json")
        with open(ev, "w") as f:
            f.write(event)
        rc, _, err = zt(["-s", url, "-p", policy or self.pol, "pub", subject, ev] + list(args))
        eq(rc, 0, "pub %s %r: %s" % (subject, args, err))

    def publish_mix(self, url):
        ev = '{"eventID":"evt-%d","amount":12}'
        self.pub(url, "orders.created", ev % 1, "--sign-key", self.path("rsa.pem"))
        self.pub(url, "orders.created", ev % 2, "--sign-key", self.path("rsa.pem"),
                 "--tamper", "signature")
        self.pub(url, "orders.shipped", ev % 3, "--sign-key", self.path("rsa.pem"),
                 "--tamper", "expired")
        self.pub(url, "chats", '{"message":"hi"}')


HOSTILE = b"\x1b]2;pwned-title\x07\x1b[2J\x1b[31mRED\x1b[0m\x9b2J"


@case
def live_console_shows_subjects_verdicts_and_reasons(env):
    """watch: subjects, ✓/✗ and reasons on screen; q exits 0 and restores the terminal"""
    folder = env.folder("live")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-p", env.pol, "-d", db, "watch"])
        try:
            t.wait_for("connected")
            env.publish_mix(srv.url)
            for text in ("orders.created", "orders.shipped", "chats", "bad_signature", "✓",
                         "✗", "expired", "4 events"):
                s = t.wait_for(text)
            check("Trace" in s, "the detail pane shows the trace:\n" + s)
            eq(t.fmt("#{alternate_on}"), "1", "the console uses the alternate screen")
            t.keys("?")
            s = t.wait_for("quit")
            t.keys("Escape")
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
            s = t.wait_for("CONSOLE-EXITED")
            eq(t.fmt("#{alternate_on}"), "0", "the terminal is back on the normal screen")
            check("4 received, 4 committed" in t.stderr(), "final stats: " + t.stderr())
        finally:
            t.close()
    eq(trail_count(db), 4, "events in the trail")


@case
def hostile_event_cannot_retitle_clear_or_recolour(env):
    """an event full of escape sequences leaves the title and screen intact"""
    folder = env.folder("hostile")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-p", env.pol, "-d", db, "watch",
                          "orders.>", "chats", "evil.>"])
        try:
            t.wait_for("connected")
            env.publish_mix(srv.url)
            t.wait_for("expired")
            title = t.title()
            line = batch_line("evil.x", b'{"eventID":"' + HOSTILE + b'"}',
                              {"X-Note": HOSTILE.decode("latin-1")})
            cap = os.path.join(folder, "evil.jsonl")
            with open(cap, "w") as f:
                f.write(json.dumps(line) + "\n")
            ztpub(srv.url, cap)
            s = t.wait_for("evil.x")
            time.sleep(1)
            s = t.screen()
            eq(t.title(), title, "pane title")
            check("pwned-title" not in t.title(), "title not taken over")
            for text in ("orders.created", "bad_signature", "expired"):
                check(text in s, "screen not cleared (%r missing):\n%s" % (text, s))
            check("\\e]2;pwned-title\\x07" in s, "escapes shown as text:\n" + s)
            colours = t.tmux("capture-pane", "-e", "-p", "-t", "zt").stdout
            check("\x1b[31mRED" not in colours, "the event's colour sequence is not obeyed")
            t.keys("q")
            eq(t.exit_code(), 0, "exit code")
        finally:
            t.close()


@case
def burst_while_paused_reaches_the_list_whole(env):
    """watch: a burst of 2,000 events while paused is counted and listed whole (more than
    one poll's rows once made the list jump ahead, skipping the rest for good)"""
    folder = env.folder("burst")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-p", env.pol, "-d", db, "watch"])
        try:
            t.wait_for("connected")
            t.keys("p")
            t.wait_for("PAUSED")
            lines = [batch_line("orders.created", '{"eventID":"b%d"}' % i) for i in range(2000)]
            cap = os.path.join(folder, "burst.jsonl")
            with open(cap, "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines))
            ztpub(srv.url, cap)
            wait_until(lambda: trail_count(db) >= 2000, 60, "the burst in the trail")
            s = t.wait_for("PAUSED +2000", timeout=30)
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
        finally:
            t.close()


@case
def resize_to_80x24_and_back_and_filter(env):
    """resize to 80x24 and back; the / filter narrows the list"""
    folder = env.folder("resize")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-p", env.pol, "-d", db, "watch"], 120, 40)
        try:
            t.wait_for("connected")
            env.publish_mix(srv.url)
            t.wait_for("expired")
            t.tmux("resize-window", "-t", "zt", "-x", "80", "-y", "24")
            time.sleep(0.8)
            s = t.screen()
            eq(len(s.rstrip("\n").split("\n")), 24, "rows after resize")
            check("orders.created" in s and "expired" in s and "connected" in s,
                  "usable at 80x24:\n" + s)
            check(all(len(x) <= 80 for x in s.split("\n")), "nothing past 80 columns")
            t.tmux("resize-window", "-t", "zt", "-x", "200", "-y", "50")
            time.sleep(0.8)
            s = t.screen()
            check("Trace" in s and "bad_signature" in s, "wide again:\n" + s)
            t.keys("/")
            t.keys("reason:nonsense")
            s = t.wait_for("not a reason code")
            t.keys("C-u")
            t.keys("verdict:fail", "Enter")
            time.sleep(0.8)
            s = t.screen()
            events = re.findall(r"\d\d:\d\d:\d\d\.\d+ [✓✗] [^│]*", s)
            check(len(events) == 2 and all("✗" in x for x in events),
                  "only failures after verdict:fail:\n" + s)
            out = os.path.join(folder, "fails.jsonl")
            t.keys(":")
            t.keys("export " + out, "Enter")
            s = t.wait_for("exported 2 rows")
            with open(out) as f:
                rows = [json.loads(x) for x in f]
            eq(sorted((r["subject"], r["reason"]) for r in rows),
               [("orders.created", "bad_signature"), ("orders.shipped", "expired")],
               ":export writes the filtered rows")
            t.keys("/")
            t.keys("C-u", "Enter")                  # clear the filter
            t.keys("f")
            s = t.wait_for("failures by reason")
            check("by issuer" in s and "by key" in s, "grouped three ways:\n" + s)
            check("bad_signature" in s and "expired" in s, "the reasons listed:\n" + s)
            t.keys("j", "Enter")                     # bad_signature, then expired
            time.sleep(0.8)
            s = t.screen()
            events = re.findall(r"\d\d:\d\d:\d\d\.\d+ [✓✗] [^│]*", s)
            check(events and all("expired" in x for x in events),
                  "Enter on a group shows its events: %r" % events)
            t.tmux("resize-window", "-t", "zt", "-x", "60", "-y", "15")
            time.sleep(0.8)
            check("too small" in t.screen(), "a too-small terminal says so:\n" + t.screen())
            t.keys("q")
            eq(t.exit_code(), 0, "exit code")
        finally:
            t.close()


@case
def replay_and_reverify_show_changed_verdicts(env):
    """replay shows the trail; --reverify after a key left the policy marks changes"""
    folder = env.folder("replay")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        from zt import Recorder
        rec = Recorder(["-s", srv.url, "-p", env.pol, "-d", db, "record", "--stats", "1"],
                       folder)
        rec.wait_for("recording")
        env.publish_mix(srv.url)
        wait_until(lambda: trail_count(db) >= 4, 30, "events recorded")
        eq(rec.stop(), 0, "record exit code")
    t = Tmux(folder, [ZTWATCH, "-p", env.pol, "-d", db, "replay"])
    try:
        s = t.wait_for("replay")
        check("orders.created" in s and "expired" in s, "replay shows the trail:\n" + s)
        check("→" not in s, "nothing marked without --reverify")
        # A command word longer than its buffer (12 x 中, 36 bytes) is cut
        # between characters: no half sequence shown as \xNN.
        t.keys(":")
        t.keys("中" * 12, "Enter")
        s = t.wait_for("is not a command")
        check("'%s' is not a command" % ("中" * 10) in s and "\\x" not in s,
              "the long command cut between characters:\n" + s)
        t.keys("Escape")
        t.keys("q")
        eq(t.exit_code(), 0, "replay exit code")
    finally:
        t.close()
    rotated = env.make_policy(["rsa2"])      # the signing key left the policy
    t = Tmux(folder, [ZTWATCH, "-p", rotated, "-d", db, "replay", "--reverify"])
    try:
        s = t.wait_for("✓→✗")
        check("bad_signature" in s or "unknown_key" in s, "the new reason shown:\n" + s)
        t.keys("q")
        eq(t.exit_code(), 0, "replay --reverify exit code")
    finally:
        t.close()


def main():
    if shutil.which("tmux") is None:
        print("skip - console tests: tmux is not installed")
        return
    run(ConsoleEnv)


main()
