"""t0710-fleet-watch.py -- `watch --verdicts PREFIX`: the fleet's console.

Each case runs the console inside a detached tmux session on a private
tmux socket, against a real nats-server on a free loopback port (started
and stopped by the case), and reads the screen with `tmux capture-pane`.

What is checked: two recorders sharing a JetStream durable publish their
verdicts (--verdict-subject); the console shows the subjects, the pass and
fail counts, a failure's reason and its detail; the filter and the
failures view work on them; q exits 0; the trail it wrote (-d) holds one
event row per verdict with the recorders' columns, says it is a fleet's
view, exports, and passes `audit verify`.  Hostile messages published
straight onto the verdict subjects (escape sequences in the subject,
reason, claims and headers; not JSON; not an object; forged and
inconsistent verdicts; a redelivered verdict) neither reach the terminal
raw nor crash it, and are kept as malformed_message rows; without -d the
trail is a temporary file, removed on exit.
"""

import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from ztmux import Tmux  # noqa: E402
from zt import (ZTWATCH, Env, NatsServer, batch_line, case,  # noqa: E402
                check, create_stream, eq, free_port, hs_token, run,
                trail_count, trail_rows, wait_until, zt, ztpub, cleaned, recorder)

BEARER = {"header": "Authorization", "scheme": "Bearer"}
HOSTILE = "\x1b]2;pwned-title\x07\x1b[2J\x1b[31mRED\x1b[0m\u009b2J"


class FleetWatchEnv(Env):
    def __init__(self):
        super().__init__()
        self.pol = self.policy({
            "keys": {"hs": {"secret_file": "hs.secret", "alg": "HS256", "kid": "hs-1"}},
            "rules": [{"name": "metrics", "subjects": ["metrics.>"], "token": BEARER,
                       "keys": ["hs"], "algorithms": ["HS256"]}]})

    def capture(self, folder, n):
        """n HS256 bearer messages on metrics.disk (even) and metrics.cpu (odd);
        every seventh one expired (a failing verdict)."""
        path = os.path.join(folder, "capture.jsonl")
        with open(path, "w") as f:
            for i in range(n):
                exp = int(time.time()) + (-600 if i % 7 == 3 else 3600)
                tok = hs_token(self.secrets["hs"], {"iss": "metrics-issuer", "sub": "s%d" % i,
                                                    "exp": exp}, {"alg": "HS256",
                                                                  "kid": "hs-1"})
                subject = "metrics.cpu" if i % 2 else "metrics.disk"
                f.write(json.dumps(batch_line(subject, '{"n":%d}' % i,
                                              {"Authorization": "Bearer " + tok})) + "\n")
        return path


def event_lines(screen):
    return re.findall(r"\d\d:\d\d:\d\d\.\d+ [✓✗] [^│\n]*", screen)


@case
@cleaned
def fleet_console_shows_every_recorders_verdicts(env):
    """watch --verdicts: two recorders' verdicts by subject, pass/fail, reasons, detail; q; trail"""
    folder = env.folder("fleet")
    fdb = os.path.join(folder, "fleet.db")
    dbs = [os.path.join(folder, "a.db"), os.path.join(folder, "b.db")]
    n = 140
    with NatsServer(folder) as srv:
        create_stream(srv.url, "FLEET", "metrics.>")
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-d", fdb, "watch", "--verdicts", "zt.v"])
        try:
            s = t.wait_for("connected")
            check("fleet verdicts on zt.v.>" in s, "the status line says what it watches:\n" + s)
            recs = [recorder(["-s", srv.url, "-p", env.pol, "-d", db, "record", "--stats", "1",
                              "--stream", "FLEET", "--durable", "fleet", "--jobs", "1",
                              "--verdict-subject", "zt.v"], folder, name)
                    for db, name in zip(dbs, ("a", "b"))]
            for r in recs:
                r.wait_for("recording")
            ztpub(srv.url, env.capture(folder, n), "--jetstream")
            wait_until(lambda: sum(trail_count(d) for d in dbs) >= n, 60, "%d events" % n)
            wait_until(lambda: trail_count(fdb) >= n, 30, "the fleet's %d verdicts" % n)
            s = t.wait_for("%d events ✓ 120 ✗ 20" % n)
            # Streams: per original subject, 70 events each, 10 of them failed.
            for subject in ("metrics.cpu", "metrics.disk"):
                check(re.search(r"%s\s+70\s+10\s+14\.3" % re.escape(subject), s),
                      "streams line of %s:\n%s" % (subject, s))
            check("expired" in s and "✓" in s and "✗" in s, "verdicts and reasons:\n" + s)
            check(re.search(r"s\d+@metrics-issuer", s), "sub@iss of the events:\n" + s)
            # The newest failure and its detail.
            t.keys("N")
            s = t.wait_for("✗ fail: expired")
            for text in ("verdict on  zt.v.metrics.", "a verdict of a recorder of the fleet",
                         "Trace", "✗ time", "stream      FLEET #"):
                check(text in s, "the detail shows %r:\n%s" % (text, s))
            # The detail pane scrolls to the JWT header and claims.
            t.keys("Tab")
            t.keys("PgDn")
            s = t.screen()
            check("JWT header" in s and '"hs-1"' in s and "metrics-issuer" in s,
                  "JWT header and claims in the detail:\n" + s)
            t.keys("Tab", "Tab")
            # The filter and the failures view work on the fleet's rows.
            t.keys("/")
            t.keys("C-u", "verdict:fail subject:metrics.cpu", "Enter")
            time.sleep(0.8)
            ev = event_lines(t.screen())
            eq(len(ev), 10, "failures on metrics.cpu after the filter (%r)" % ev)
            check(all("✗" in x and "expired" in x and "metrics.cpu" in x for x in ev), ev)
            t.keys("/")
            t.keys("C-u", "Enter")
            t.keys("f")
            s = t.wait_for("failures by reason")
            check(re.search(r"20\s+expired", s) and "metrics-issuer" in s and "hs-1" in s,
                  "failures grouped by reason, issuer and key:\n" + s)
            t.keys("Escape")
            t.keys(":")
            t.keys("sub metrics.>", "Enter")
            check("reads the verdicts on zt.v.> only" in t.screen(), ":sub is refused")
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
            t.wait_for("CONSOLE-EXITED")
            err = t.stderr()
            check("%d verdicts on zt.v.> (120 pass, 20 fail, 0 not verdicts, 0 duplicates)" % n
                  in err, "final counts: " + err)
            for r in recs:
                eq(r.stop(), 0, "recorder exit code")
        finally:
            t.close()
    # The trail: one row per verdict, the recorders' columns, a fleet session.
    rows = trail_rows(fdb, "kind = 'event'")
    eq(len(rows), n, "event rows in the fleet's trail")
    theirs = {r["stream_seq"]: r for d in dbs for r in trail_rows(d, "kind = 'event'")}
    eq(sorted(r["stream_seq"] for r in rows), sorted(theirs), "one row per stream sequence")
    for r in rows:
        o = theirs[r["stream_seq"]]
        eq((r["stream"], r["subject"], r["verdict"], r["reason"], r["rule"], r["alg"],
            r["kid"], r["iss"], r["sub"], r["exp"]),
           (o["stream"], o["subject"], o["verdict"], o["reason"], o["rule"], o["alg"],
            o["kid"], o["iss"], o["sub"], o["exp"]), "row for sequence %d" % r["stream_seq"])
    sessions = trail_rows(fdb, "kind = 'session'")
    eq(len(sessions), 1, "one session")
    d = json.loads(sessions[0]["detail"])
    eq((d["command"], d["subjects"], d["source"]), ("watch --verdicts", "zt.v.>", "zt.v"),
       "the session says it is the fleet's view")
    rc, out, err = zt(["-d", fdb, "audit", "verify"])
    eq(rc, 0, "audit verify of the fleet's trail (%s %s)" % (out, err))
    rc, out, err = zt(["-d", fdb, "export", "--format", "jsonl", "--verdict", "fail"])
    eq(rc, 0, "export (%s)" % err)
    fails = [json.loads(x) for x in out.decode().splitlines()]
    eq(len(fails), 20, "failures exported")
    check(all(f["claims"]["iss"] == "metrics-issuer" and f["checks"] and
              f["detail"]["header"]["kid"] == "hs-1" for f in fails),
          "exported rows carry claims, trace and JWT header: %r" % fails[:1])


def verdict(subject, reason="ok", **extra):
    v = {"verdict": "pass" if reason == "ok" else "fail", "reason": reason,
         "subject": subject, "rule": "metrics", "alg": "HS256", "kid": "hs-1",
         "event_id": None, "header": {"alg": "HS256", "typ": "JWT"},
         "claims": {"iss": "good-issuer", "sub": "alice", "exp": int(time.time()) + 600},
         "checks": [{"check": "rule", "ok": True, "detail": "a rule covers this subject"},
                    {"check": "time", "ok": reason == "ok", "detail": "checked"}]}
    v.update(extra)
    return json.dumps(v)


@case
def hostile_verdict_messages_stay_text_and_temporary_trail_goes(env):
    """junk and escapes on the verdict subjects: shown escaped, kept as malformed rows, no crash"""
    folder = env.folder("hostile")
    tmp = os.path.join(folder, "tmp")
    os.makedirs(tmp)
    with NatsServer(folder) as srv:
        t = Tmux(folder, ["env", "TMPDIR=" + tmp, ZTWATCH, "-s", srv.url, "watch",
                          "--verdicts", "zt.v"], 200, 50)
        try:
            t.wait_for("connected")
            # Without -d: a private temporary trail, named on the status line.
            dbs = [f for f in os.listdir(tmp) if not f.endswith(("-wal", "-shm"))]
            eq(len(dbs), 1, "one temporary trail in TMPDIR (%r)" % os.listdir(tmp))
            db = os.path.join(tmp, dbs[0])
            check(dbs[0].startswith("ztwatch-fleet-"), dbs[0])
            good = [("zt.v.orders.created", verdict("orders.created")),
                    ("zt.v.orders.created", verdict("orders.created", "expired")),
                    ("zt.v.orders.shipped", verdict("orders.shipped", "bad_signature"))]
            headers_js = {"Ztwatch-Stream": "ORD", "Ztwatch-Stream-Seq": "7"}
            lines = [batch_line(s, b) for s, b in good]
            # A JetStream message's verdict, and the same again (a redelivery
            # another recorder judged too): kept once.
            lines += [batch_line("zt.v.orders.created", verdict("orders.created"),
                                 headers_js)] * 2
            ztpub(srv.url, _capture(folder, "good.jsonl", lines))
            t.wait_for("orders.shipped")
            t.wait_for("4 events")
            title = t.title()
            hostile = [
                ("zt.v.evil.a", (HOSTILE + " not json").encode("utf-8")),
                ("zt.v.evil.b", b"[1,2,3]"),
                ("zt.v.evil.c", b'"a string"'),
                ("zt.v.evil.d", b"42"),
                ("zt.v.evil.e", b"\xff\xfe\x1b[2J"),
                # A well-formed verdict full of escapes: shown, escaped.
                ("zt.v.evil.f", verdict("evil.f", "expired", rule=HOSTILE, alg=HOSTILE,
                                        kid=HOSTILE, event_id=HOSTILE,
                                        header={"alg": HOSTILE, HOSTILE: "x"},
                                        claims={"iss": HOSTILE, "sub": HOSTILE, HOSTILE: 1},
                                        checks=[{"check": HOSTILE, "ok": False,
                                                 "detail": HOSTILE, "actual": HOSTILE}],
                                        warnings=[HOSTILE]).encode()),
                ("zt.v.evil.g", verdict("evil.g", HOSTILE).encode()),
                ("zt.v.evil.h", verdict(HOSTILE).encode()),
                ("zt.v.evil.i", verdict("evil.i", "expired", verdict="pass").encode()),
                ("zt.v.evil.j", b'{"verdict":"pass","verdict":"pass","reason":"ok",'
                                b'"subject":"evil.j","checks":[]}'),
                ("zt.v.evil.k", b"[" * 50000 + b"]" * 50000),
                ("zt.v.evil.l", verdict("evil.l", checks="none").encode()),
                ("zt.v.evil\x1b]2;subject-title\x07.m", b"{}"),
            ]
            lines = [batch_line(s, b, {"X-Evil": HOSTILE}) for s, b in hostile]
            ztpub(srv.url, _capture(folder, "hostile.jsonl", lines))
            total = 4 + len(hostile)
            s = t.wait_for("%d events" % total)
            time.sleep(1)
            s = t.screen()
            eq(t.title(), title, "pane title")
            check("pwned" not in t.title() and "subject-title" not in t.title(),
                  "title not taken over")
            for text in ("orders.created", "orders.shipped", "bad_signature",
                         "malformed_messa", "evil\\e]2;subject-title\\x07.m",
                         "\\e]2;pwned-title\\x07"):
                check(text in s, "screen shows %r (not cleared, escapes as text):\n%s" %
                      (text, s))
            colours = t.tmux("capture-pane", "-e", "-p", "-t", "zt").stdout
            check("\x1b[31mRED" not in colours and "\x1b]2;" not in colours,
                  "no escape from a message is obeyed")
            check("%d events ✓ 2 ✗ %d" % (total, total - 2) in s, "status totals:\n" + s)
            # The detail of a message that is not a verdict.
            t.keys("/")
            t.keys("C-u", "subject:evil.b", "Enter")
            s = t.wait_for("not a verdict: the message is not a JSON object")
            check("Verdict message (JSON)" in s and "(not a verdict)" in s, s)
            # The detail of the verdict full of escapes.
            t.keys("/")
            t.keys("C-u", "subject:evil.f", "Enter")
            s = t.wait_for("✗ fail: expired")
            check("\\e]2;pwned-title\\x07" in s, "escapes in the trace as text:\n" + s)
            colours = t.tmux("capture-pane", "-e", "-p", "-t", "zt").stdout
            check("\x1b[31mRED" not in colours, "no colour from the verdict")
            eq(t.title(), title, "pane title after the detail")
            # The trail, while the console runs: rows, kinds, chain.
            rows = trail_rows(db, "kind = 'event'")
            eq(len(rows), total, "rows (the redelivered verdict kept once)")
            bad = [r for r in rows if r["reason"] == "malformed_message"]
            eq(len(bad), len(hostile) - 1, "messages that are not verdicts")
            check(all(r["verdict"] == "fail" and r["body"] is not None for r in bad),
                  "kept as failing rows with their bytes")
            eq(sum(1 for r in rows if r["stream"] == "ORD" and r["stream_seq"] == 7), 1,
               "the JetStream message's verdict once")
            rc, out, err = zt(["-d", db, "audit", "verify"])
            eq(rc, 0, "audit verify of the temporary trail (%s %s)" % (out, err))
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
            err = t.stderr()
            check("%d verdicts on zt.v.> (2 pass, 3 fail, %d not verdicts, 1 duplicates)" %
                  (total + 1, len(hostile) - 1) in err, "final counts: " + err)
            check("temporary trail %s (removed)" % db in err, err)
            eq(os.listdir(tmp), [], "the temporary trail and its WAL are removed")
        finally:
            t.close()


def _capture(folder, name, lines):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return path


@case
def refusals_and_an_unreachable_server(env):
    """watch --verdicts: usage errors exit 2; no server exits 1 and leaves no temporary trail"""
    folder = env.folder("refusals")
    tmp = os.path.join(folder, "tmp")
    os.makedirs(tmp)
    for args, text in [
            (["--verdicts", "zt.v", "metrics.>"], "takes no subjects"),
            (["--verdicts", "zt.v", "--json"], "would write over the screen"),
            (["--verdicts", "zt.*"], "without wildcards"),
            (["--verdicts", "zt.v", "--stream", "S", "--durable", "D"], "takes no")]:
        rc, _, err = zt(["watch"] + args)
        eq(rc, 2, "exit code for %r (%s)" % (args, err))
        check(text in err, "message for %r: %r" % (args, err))
    rc, out, _ = zt(["watch", "--help"])
    eq(rc, 0, "watch --help")
    check(b"--verdicts PREFIX" in out and b"temporary" in out, out.decode())
    port = free_port()
    rc, _, err = zt(["-s", "nats://127.0.0.1:%d" % port, "watch", "--verdicts", "zt.v"],
                    extra_env={"TMPDIR": tmp, "TERM": "dumb"})
    eq(rc, 1, "no server (%s)" % err)
    eq(os.listdir(tmp), [], "no temporary trail left behind")


@case
def reverify_leaves_fleet_verdicts_alone(env):
    """replay --reverify on a fleet's trail: a verdict row holds no message to judge again,
    so none is reported as changed; the summary says how many could not be judged"""
    folder = env.folder("fleet-reverify")
    db = os.path.join(folder, "fleet.db")
    with NatsServer(folder) as srv:
        t = Tmux(folder, [ZTWATCH, "-s", srv.url, "-d", db, "watch", "--verdicts", "zt.v"])
        try:
            t.wait_for("connected")
            lines = [batch_line("zt.v.metrics.cpu", verdict("metrics.cpu")),
                     batch_line("zt.v.metrics.cpu", verdict("metrics.cpu", "expired")),
                     batch_line("zt.v.metrics.cpu", b"not a verdict")]
            ztpub(srv.url, _capture(folder, "v.jsonl", lines))
            t.wait_for("3 events")
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
        finally:
            t.close()
    rc, out, err = zt(["-p", env.pol, "-d", db, "replay", "--reverify", "--changes"])
    eq(rc, 0, "replay --reverify --changes (%s)" % err)
    eq(out.decode(), "", "no verdict reported as changed")
    check("0 events judged again" in err and "0 verdicts changed" in err and
          "3 verdicts of other recorders" in err, err)


def main():
    if shutil.which("tmux") is None:
        print("skip - fleet console tests: tmux is not installed")
        return
    run(FleetWatchEnv)


main()
