"""t0700-fleet.py -- clusters and fleets of recorders against real nats-servers.

Every case starts its own servers on free loopback ports, in folders of
their own, and stops them.  Traffic comes from ztpub (a plain nats.c
publisher), stream set-up from a raw-protocol client in tests/lib/zt.py.

What is checked: a 3-node JetStream cluster with an R3 stream keeps being
recorded through the loss of the node the recorder is connected to (the
failover shows on stderr; every stream sequence lands in the trail
exactly once; the chain verifies); two recorders on one durable split a
stream between their trails with no message twice and none missing, and
without false gap rows; --verdict-subject publishes each committed
verdict once and `record --verdicts` reads a whole fleet's; `export` and
`audit verify` take several trails (merged by time; checked one by one).
"""

import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTPUB, ZTWATCH, Env, NatsCluster, NatsServer, batch_line,  # noqa: E402
                case, check, create_stream, eq, hs_token, js_api, rfc3339_us, run,
                trail_count, trail_rows, wait_until, zt, ztpub, cleaned, recorder)

BEARER = {"header": "Authorization", "scheme": "Bearer"}


class FleetEnv(Env):
    def __init__(self):
        super().__init__()
        self.pol = self.policy({
            "keys": {"hs": {"secret_file": "hs.secret", "alg": "HS256"}},
            "rules": [{"name": "metrics", "subjects": ["metrics.>"], "token": BEARER,
                       "keys": ["hs"], "algorithms": ["HS256"]}]})

    def metrics_line(self, i, subject="metrics.cpu"):
        """An HS256 bearer message; every seventh one expired (a failing verdict)."""
        exp = int(time.time()) + (-600 if i % 7 == 3 else 3600)
        tok = hs_token(self.secrets["hs"], {"iss": "m", "exp": exp})
        return batch_line(subject, '{"n":%d}' % i, {"Authorization": "Bearer " + tok})

    def capture(self, folder, n, name="capture.jsonl", subjects=("metrics.cpu",)):
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            for i in range(n):
                f.write(json.dumps(self.metrics_line(i, subjects[i % len(subjects)])) + "\n")
        return path


def record_args(env, url, db, *extra):
    return ["-s", url, "-p", env.pol, "-d", db, "record", "--stats", "1"] + list(extra)


def audit_ok(db):
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify of %s (%s %s)" % (db, out, err))


def final_line(rec, text):
    lines = [x for x in rec.stderr().splitlines() if text in x]
    check(lines, "no line with %r in:\n%s" % (text, rec.stderr()[-1500:]))
    return lines[-1]


@case
@cleaned
def cluster_node_loss_every_sequence_once(env):
    """3-node cluster, R3 stream: the recorder's node is killed mid-stream; every sequence once"""
    folder = env.folder("cluster")
    db = os.path.join(folder, "t.db")
    with NatsCluster(folder) as cl:
        cl.wait_stream("CL", ["metrics.>"], replicas=3)
        rec = recorder(record_args(env, cl.urls, db, "--stream", "CL", "--durable", "audit",
                                   "--ack-wait", "2", "--verdict-subject", "zt.verdicts"),
                       folder)
        rec.wait_for("recording")
        node = wait_until(lambda: cl.node_of("ztwatch record"), 10, "the recorder's node")
        # The durable inherits R3 from the stream: two more replicas.
        ci = js_api(node.url, "CONSUMER.INFO.CL.audit")
        check(ci and "error" not in ci, "consumer info: %r" % ci)
        eq(len(ci["cluster"].get("replicas", [])), 2, "the durable's other replicas")
        other = [s for s in cl.nodes if s is not node][0]
        # A steady publisher on a surviving node: messages before and during
        # the failover (core NATS into the stream: the stream decides what
        # exists while it elects a new leader, and the trail is compared
        # with the stream), then a second batch once the stream has a leader
        # again, through JetStream.
        cap = env.capture(folder, 100)
        pub = subprocess.Popen([ZTPUB, "-s", other.url, "--rate", "500", "--repeat", "20", cap],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: trail_count(db) >= 600, 30, "events before the kill")
            node.kill()
            at_kill = trail_count(db)
            rec.wait_for("reconnected to", 30)
            eq(pub.wait(60), 0, "publisher exit code (%s)" % pub.stderr.read())
        finally:
            if pub.poll() is None:
                pub.kill()
                pub.wait()
            pub.stderr.close()
        cl.stream_info("CL")            # a leader again
        ztpub(other.url, cap, "--jetstream", "--repeat", "5")
        info = cl.stream_info("CL")
        last = info["state"]["last_seq"]
        eq(info["state"]["messages"], last, "the stream keeps every sequence")
        check(last >= at_kill + 500, "messages published after the failover (%d, %d at the"
              " kill)" % (last, at_kill))
        wait_until(lambda: trail_count(db) >= last, 40, "%d events recorded" % last)
        time.sleep(2.5)                 # past the ack wait: redeliveries show now
        eq(rec.stop(), 0, "record exit code")
    err = rec.stderr()
    check("disconnected from %s; reconnecting" % node.url in err,
          "the lost node is named: %s" % err[-1500:])
    check(any(("reconnected to nats://127.0.0.1:%d" % s.port) in err for s in cl.nodes
              if s is not node), "the failover names another node: %s" % err[-1500:])
    rows = trail_rows(db, "kind = 'event'")
    eq(sorted(r["stream_seq"] for r in rows), list(range(1, last + 1)),
       "each stream sequence exactly once")
    eq(trail_rows(db, "kind = 'gap'"), [], "no gap rows")
    audit_ok(db)
    # Redeliveries after the failover were recognised, not recorded again,
    # and their verdicts were not published twice.
    published = final_line(rec, "verdicts published on zt.verdicts.>")
    check(published.split("record: ")[1].startswith("%d verdicts published" % last),
          "one verdict published per event: %r" % published)


def fleet_run(env, folder, n, verdicts=True):
    """Two recorders on one durable, each with its own trail; n messages."""
    dbs = [os.path.join(folder, "a.db"), os.path.join(folder, "b.db")]
    with NatsServer(folder) as srv:
        create_stream(srv.url, "FLEET", "metrics.>")
        view = None
        if verdicts:
            view = recorder(["-s", srv.url, "record", "--verdicts", "zt.v", "--json"], folder,
                            "view")
            view.wait_for("reading the verdicts")
        raw = None
        if verdicts:
            # The verdict messages themselves, headers and all, recorded as
            # ordinary messages (no rule covers them: no_policy).
            raw = recorder(record_args(env, srv.url, os.path.join(folder, "raw.db"),
                                       "zt.v.>"), folder, "raw")
            raw.wait_for("recording")
        extra = ["--verdict-subject", "zt.v"] if verdicts else []
        recs = [recorder(record_args(env, srv.url, db, "--stream", "FLEET", "--durable", "fleet",
                                     "--jobs", "1", "--queue", "64", *extra), folder, name)
                for db, name in zip(dbs, ("a", "b"))]
        for r in recs:
            r.wait_for("recording")
        ztpub(srv.url, env.capture(folder, 200, subjects=("metrics.cpu", "metrics.disk")),
              "--jetstream", "--repeat", str(n // 200))
        wait_until(lambda: sum(trail_count(d) for d in dbs) >= n, 90, "%d events" % n)
        time.sleep(1)
        for r in recs:
            eq(r.stop(), 0, "recorder exit code")
        if view is not None:
            wait_until(lambda: len(view.stdout().splitlines()) >= n, 30, "the fleet's verdicts")
            eq(view.stop(), 0, "record --verdicts exit code")
            wait_until(lambda: trail_count(os.path.join(folder, "raw.db")) >= n, 30,
                       "the verdict messages")
            eq(raw.stop(), 0, "exit code of the recorder of verdict messages")
    return dbs, recs, view


@case
@cleaned
def two_recorders_on_one_durable_split_the_stream(env):
    """fleet: two recorders on one durable record every message exactly once, no false gaps"""
    folder = env.folder("fleet")
    n = 2000
    dbs, recs, view = fleet_run(env, folder, n)
    seqs = [sorted(r["stream_seq"] for r in trail_rows(d, "kind = 'event'")) for d in dbs]
    check(all(len(s) > 0 for s in seqs), "both recorders took messages: %r" %
          [len(s) for s in seqs])
    eq(set(seqs[0]) & set(seqs[1]), set(), "no message in both trails")
    eq(sorted(seqs[0] + seqs[1]), list(range(1, n + 1)), "together: every sequence")
    for d in dbs:
        eq(trail_rows(d, "kind = 'gap'"), [], "no gap rows in %s (the other recorder's"
           " messages are not a gap)" % d)
        audit_ok(d)
    # The fleet's view: every committed verdict, once, as record --json prints it.
    got = sorted(json.loads(x)["subject"] + " " + json.loads(x)["reason"]
                 for x in view.stdout().splitlines())
    want = sorted(r["subject"] + " " + r["reason"] for d in dbs
                  for r in trail_rows(d, "kind = 'event'"))
    eq(len(got), n, "verdicts the fleet's view received")
    eq(got, want, "the fleet's view: the verdicts of both trails")
    fails = sum(1 for d in dbs for r in trail_rows(d, "kind = 'event' AND verdict = 'fail'"))
    check(fails > 0, "some events failed")
    line = final_line(view, "(final)")
    check("%d verdicts on zt.v.> (%d pass, %d fail, 0 not verdicts)" % (n, n - fails, fails)
          in line, "the view's counts: %r" % line)
    check("failures by reason: expired %d" % fails in view.stderr(), view.stderr()[-800:])
    # The messages on the wire: one per stream sequence, on zt.v.<subject>,
    # saying which message of which stream it judged and when it came.
    rc, out, err = zt(["-d", os.path.join(folder, "raw.db"), "export", "--format", "jsonl",
                       "--verdict", "fail"])
    eq(rc, 0, "export of the verdict messages (%s)" % err)
    msgs = [json.loads(x) for x in out.decode().splitlines()]
    by_seq = {}
    for m in msgs:
        h = {k.lower(): v for k, v in m["headers"].items()}
        v = json.loads(m["body"])
        eq(m["subject"], "zt.v." + v["subject"], "verdict subject")
        eq(h.get("ztwatch-stream"), "FLEET", "Ztwatch-Stream header")
        seq = int(h["ztwatch-stream-seq"])
        check(seq not in by_seq, "sequence %d published once" % seq)
        by_seq[seq] = v["reason"]
        check("ztwatch-received-us" in h, "Ztwatch-Received-Us header: %r" % h)
    eq(sorted(by_seq), list(range(1, n + 1)), "a verdict message for every sequence")
    trail = {r["stream_seq"]: r["reason"] for d in dbs for r in trail_rows(d, "kind = 'event'")}
    eq(by_seq, trail, "each published verdict is the one in the trail")


@case
@cleaned
def merged_export_and_audit_of_a_fleet(env):
    """export and audit verify with several -d: merged by time, complete; each chain checked"""
    folder = env.folder("merge")
    n = 1000
    dbs, _, _ = fleet_run(env, folder, n, verdicts=False)
    rc, out, err = zt(["export", "-d", dbs[0], "-d", dbs[1], "--format", "jsonl"])
    eq(rc, 0, "export exit code (%s)" % err)
    rows = [json.loads(x) for x in out.decode().splitlines()]
    eq(len(rows), n + 2, "every event and both session rows")
    eq({r["db"] for r in rows}, set(dbs), "each row names its trail")
    times = [rfc3339_us(r["received_at"]) for r in rows]
    eq(times, sorted(times), "rows in time order")
    for d in dbs:
        ids = [r["id"] for r in rows if r["db"] == d]
        eq(ids, sorted(ids), "each trail's rows in its chain order")
        eq(len(ids), trail_count(d, "1=1"), "every row of %s" % d)
    eq(sorted(r["stream_seq"] for r in rows if r["kind"] == "event"), list(range(1, n + 1)),
       "the merged export holds every sequence once")
    # CSV: the same rows, db first.
    rc, out, err = zt(["export", "-d", dbs[0], "-d", dbs[1], "--format", "csv"])
    eq(rc, 0, "csv export exit code (%s)" % err)
    from zt import read_csv_rows
    head, crows = read_csv_rows(out)
    eq(head[:2], ["db", "kind"], "CSV columns")
    eq([(r["db"], int(r["id"])) for r in crows], [(r["db"], r["id"]) for r in rows],
       "CSV rows in the same order")
    # One trail: no db member (as before).
    rc, out, err = zt(["export", "-d", dbs[0], "--format", "jsonl"])
    check("db" not in json.loads(out.decode().splitlines()[0]), "no db member for one trail")
    # audit verify: each chain, one line each naming its trail.
    rc, out, err = zt(["audit", "verify", "-d", dbs[0], "-d", dbs[1]])
    eq(rc, 0, "audit verify of both (%s)" % err)
    lines = out.decode().splitlines()
    eq(len(lines), 2, "one line per trail: %r" % lines)
    for d, line in zip(dbs, lines):
        check(line.startswith("audit: %s: " % d) and "chain intact" in line, line)
    # Tamper with one trail: exit 1, that trail and row named, the other intact.
    con = sqlite3.connect(dbs[1])
    victim = con.execute("SELECT id FROM trail WHERE kind = 'event' ORDER BY id LIMIT 1 "
                         "OFFSET 5").fetchone()[0]
    con.execute("UPDATE trail SET subject = 'metrics.forged' WHERE id = ?", (victim,))
    con.commit()
    con.close()
    rc, out, err = zt(["-d", dbs[0], "audit", "-d", dbs[0], "-d", dbs[1], "verify"])
    eq(rc, 1, "audit verify exit code with one tampered trail")
    lines = out.decode().splitlines()
    check("chain intact" in lines[0], lines[0])
    check(lines[1].startswith("audit: %s: TAMPERED" % dbs[1]) and str(victim) in lines[1],
          "the tampered trail and row named: %r" % lines[1])
    check(dbs[1] in err, "stderr names the trail: %r" % err)
    # An unreadable trail among them: exit 2 unless one is tampered.
    rc, out, err = zt(["audit", "verify", "-d", dbs[0], "-d", env.path("no/such.db")])
    eq(rc, 2, "audit verify with a missing trail")
    check("chain intact" in out.decode(), "the readable trail is still checked")
    rc, _, err = zt(["export", "-d", dbs[0], "-d", env.path("no/such.db"), "--format", "jsonl"])
    eq(rc, 2, "export with a missing trail: %s" % err)


@case
@cleaned
def verdict_subject_on_core_nats_and_what_the_view_refuses(env):
    """--verdict-subject on core NATS: each verdict once, after commit; junk is not a verdict"""
    folder = env.folder("verdicts")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        view = recorder(["-s", srv.url, "record", "--verdicts", "zt.v", "--json"], folder, "view")
        view.wait_for("reading the verdicts")
        rec = recorder(record_args(env, srv.url, db, "--json", "--verdict-subject", "zt.v",
                                   "metrics.>"), folder)
        rec.wait_for("recording")
        ztpub(srv.url, env.capture(folder, 70))
        wait_until(lambda: trail_count(db) >= 70, 30, "70 events")
        junk = env.write("junk.jsonl", "".join(json.dumps(batch_line(s, b)) + "\n" for s, b in [
            ("zt.v.metrics.cpu", "not json"),
            ("zt.v.metrics.cpu", '{"verdict":"pass","reason":"expired","subject":"metrics.cpu"}'),
            ("zt.v.metrics.cpu", '{"verdict":"fail","reason":"ok","subject":"metrics.cpu"}'),
            ("zt.v.metrics.cpu", '{"verdict":"pass","reason":"ok","subject":"metrics.other"}'),
            ("zt.v.metrics.cpu", '{"verdict":"pass","verdict":"pass","reason":"ok",'
             '"subject":"metrics.cpu"}')]))
        ztpub(srv.url, junk)
        wait_until(lambda: "75 verdicts" in view.stderr(), 20, "the view's count")
        eq(rec.stop(), 0, "record exit code")
        eq(view.stop(), 0, "view exit code")
    printed = rec.stdout().decode().splitlines()
    eq(len(printed), 70, "record --json lines")
    eq(view.stdout().decode().splitlines(), printed,
       "the view printed exactly the recorder's verdicts, in order")
    check("70 verdicts published on zt.v.>, 0 could not be" in rec.stderr(), rec.stderr())
    check("75 verdicts on zt.v.> (60 pass, 10 fail, 5 not verdicts)" in
          final_line(view, "(final)"), view.stderr())
    check("metrics.cpu: 60 pass, 10 fail" in view.stderr(), view.stderr())
    # Refusals: a subject that would take the verdicts, the console, mixing modes.
    for args, text in [
            (["--verdict-subject", "metrics", "metrics.>"], "would judge its own verdicts"),
            (["--verdict-subject", "zt", ">"], "would judge its own verdicts"),
            (["--verdict-subject", "zt.*"], "without wildcards"),
            (["--verdicts", "zt.v", "metrics.>"], "takes no subjects")]:
        rc, _, err = zt(record_args(env, srv.url, db, *args))
        eq(rc, 2, "exit code for %r (%s)" % (args, err))
        check(text in err, "message for %r: %r" % (args, err))
    # The fleet's console (t0710) refuses what record --verdicts refuses.
    rc, _, err = zt(["-s", srv.url, "-d", db, "watch", "--verdicts", "zt.v", "metrics.>"])
    eq(rc, 2, "watch --verdicts with a subject")
    check("takes no subjects" in err, err)
    check(err.startswith("ztwatch: watch: "), "watch names itself: %r" % err)
    # A prefix is printed as it is in the stats lines: printable ASCII only.
    for opt in ("--verdicts", "--verdict-subject"):
        rc, _, err = zt(record_args(env, srv.url, db, opt, "v\x1b]0;pwned\x07"))
        eq(rc, 2, "%s with terminal controls (%s)" % (opt, err))
        check("printable ASCII" in err and "\x1b" not in err, err)



@case
def fleet_view_printing_into_a_full_disk_is_told_once_and_exit_1(env):
    """record --verdicts --json into /dev/full: told once with the cause, exit 1 (as record)"""
    folder = env.folder("view-full")
    body = '{"verdict":"pass","reason":"ok","subject":"metrics.cpu"}'
    with NatsServer(folder) as srv, open("/dev/full", "wb") as full, \
            open(os.path.join(folder, "view.err"), "wb") as errf:
        view = subprocess.Popen([ZTWATCH, "-s", srv.url, "record", "--verdicts", "zt.v", "--json",
                                 "--stats", "1"], stdout=full, stderr=errf)
        try:
            wait_until(lambda: b"reading the verdicts" in open(errf.name, "rb").read(), 20,
                       "reading")
            ztpub(srv.url, env.write("v.jsonl", json.dumps(batch_line("zt.v.metrics.cpu",
                                                                        body)) + "\n"),
                  "--repeat", "20")
            wait_until(lambda: b"cannot print the verdicts" in open(errf.name, "rb").read(),
                       10, "the failure is told while reading")
        finally:
            view.terminate()
            rc = view.wait(60)
    err = open(errf.name, "rb").read().decode(errors="replace")
    eq(rc, 1, "exit code (%s)" % err[-400:])
    eq(err.count("cannot print the verdicts"), 1, "told once: %s" % err[-600:])
    check("No space left on device" in err, "the cause: %s" % err[-400:])
    check([x for x in err.splitlines() if "(final)" in x and "20 verdicts on zt.v.> (20 pass"
           in x], "every verdict counted: %s" % err[-600:])


@case
@cleaned
def verdict_subject_inside_the_stream_read_is_refused(env):
    """--verdict-subject: a stream read whole whose subjects take the verdicts is refused
    (exit 2, the stream and subject named) instead of judging its own verdicts forever"""
    folder = env.folder("vloop")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        create_stream(srv.url, "LOOP", "metrics.>")
        rc, _, err = zt(record_args(env, srv.url, db, "--stream", "LOOP", "--durable", "d",
                                    "--verdict-subject", "metrics.v"), timeout=60)
        eq(rc, 2, "exit code: %r" % err)
        check("stream 'LOOP' takes 'metrics.>'" in err and "own verdicts" in err, err)
        eq(trail_count(db), 0, "nothing was judged")
        # Elsewhere, or a filter beside the prefix, the stream is read.
        for extra in (["--verdict-subject", "zt.v"], ["--verdict-subject", "metrics.v",
                                                      "metrics.cpu"]):
            rec = recorder(record_args(env, srv.url, db, "--stream", "LOOP", "--durable",
                                       "d%d" % len(extra)) + extra, folder)
            rec.wait_for("recording")
            eq(rec.stop(), 0, "exit code for %r: %s" % (extra, rec.stderr()))


run(FleetEnv)
