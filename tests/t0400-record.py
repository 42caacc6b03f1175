"""t0400-record.py -- ztwatch record and pub against a real nats-server.

Every case starts its own nats-server (JetStream on, a folder of its own)
on a free loopback port and stops it.  Traffic is published both by
`ztwatch pub` and by ztpub, a plain nats.c publisher that does not share
ztwatch's publishing code; tokens for ztpub's messages are minted by
ztmint (libjwt) and the seed envelope is built here byte for byte.

What is checked: every verdict is the one `verify --batch` gives for the
same messages; every message is in the trail (exactly once for
JetStream, across a SIGKILL); drops and disconnections become gap rows
whose counts add up with the events to what the server says it sent;
SIGTERM commits everything received; errors are one clear line and the
documented exit code.
"""

import base64
import csv
import glob
import io
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTPUB, ZTWATCH, Env, Failure, NatsServer, Recorder, TestCA,  # noqa: E402
                batch_line, case, check, create_stream, eq, hs_token, js_api, mount_tmpfs,
                nats_operator, nkey_user, run, seed_event, trail_count, trail_rows, unmount,
                wait_until, zt, ztpub)

ISS = "https://idsvr.example/oauth"
AUD = "jobs.example.com"
BEARER = {"header": "Authorization", "scheme": "Bearer"}
TAMPERS = {"payload": "payload_hash_mismatch", "signature": "bad_signature",
           "expired": "expired", "audience": "wrong_audience", "scope": "insufficient_scope",
           "alg-none": "alg_not_allowed", "key-confusion": "alg_not_allowed"}


class RecordEnv(Env):
    def __init__(self):
        super().__init__()
        self.pol = self.policy({
            "keys": {"rsa": {"pem_file": "rsa.pub.pem"}, "p256": {"pem_file": "p256.pub.pem"},
                     "hs": {"secret_file": "hs.secret", "alg": "HS256"},
                     "seedjwt": {"secret_file": "seedjwt.secret", "alg": "HS256"},
                     "seedevt": {"secret_file": "seedevt.secret"}},
            "rules": [
                {"name": "orders", "subjects": ["orders.>"], "token": BEARER, "keys": ["rsa"],
                 "algorithms": ["RS256"], "issuer": ISS, "audience": AUD,
                 "scopes": ["trigger_invoicing"],
                 "bind": [{"claim": "event_id", "equals": "/eventID"},
                          {"claim": "payload_hash", "hash": "sha256", "encoding": "hex"}],
                 "replay": {"claim": "jti", "window_s": 3600}},
                {"name": "payments", "subjects": ["payments.*"],
                 "token": {"json": "/accessToken"}, "payload": {"json": "/payload"},
                 "keys": ["p256"], "algorithms": ["ES256"], "issuer": ISS,
                 "bind": [{"claim": "event_payload_hash", "hash": "sha256",
                           "encoding": "hex"}]},
                {"name": "seed", "subjects": ["events", "chats"], "profile": "nats_pubsub",
                 "keys": ["seedjwt"], "event_key": "seedevt", "bind_publisher": True},
                {"name": "metrics", "subjects": ["metrics.>"], "token": BEARER,
                 "keys": ["hs"], "algorithms": ["HS256"]},
            ]})

    def event(self, i):
        return json.dumps({"eventID": "evt-%06d" % i, "utcTime": "2026-11-23T10:00:00Z",
                           "items": [{"sku": "A-%d" % i, "qty": i % 7}]},
                          separators=(",", ":"))

    def bearer_line(self, subject, i, claims=None):
        """An RS256 bearer message minted by libjwt (via ztmint)."""
        body = self.event(i)
        import hashlib
        c = {"iss": ISS, "aud": AUD, "scope": "trigger_invoicing", "jti": "j-%s-%d" % (subject, i),
             "event_id": "evt-%06d" % i,
             "payload_hash": hashlib.sha256(body.encode()).hexdigest()}
        c.update(claims or {})
        tok = self.mint("RS256", "rsa", c)
        return batch_line(subject, body, {"Authorization": "Bearer " + tok})

    def payments_line(self, subject, i):
        import hashlib
        payload = '{"amount":%d,"currency":"EUR"}' % (100 + i)
        tok = self.mint("ES256", "p256", {"iss": ISS, "event_payload_hash":
                                          hashlib.sha256(payload.encode()).hexdigest()})
        return batch_line(subject, '{"accessToken":"%s","payload":%s}' % (tok, payload))

    def seed_line(self, subject, i, publisher="publisher-1"):
        body = seed_event(self.secrets["seedjwt"], self.secrets["seedevt"],
                          {"message": "hello %d" % i}, publisher=publisher)
        return batch_line(subject, body)

    def metrics_line(self, i):
        tok = hs_token(self.secrets["hs"], {"iss": "m", "exp": int(time.time()) + 3600})
        return batch_line("metrics.cpu", '{"n":%d}' % i, {"Authorization": "Bearer " + tok})

    def capture(self, folder, lines, name="capture.jsonl"):
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
        return path

    def pub(self, url, subject, event, *args):
        ev = os.path.join(self.dir, "event.json")
        with open(ev, "w") as f:
            f.write(event)
        return zt(["-s", url, "-p", self.pol, "pub", subject, ev] + list(args))


def record_args(env, url, db, *extra):
    return ["-s", url, "-p", env.pol, "-d", db, "record", "--stats", "1"] + list(extra)


def export_events(db):
    rc, out, err = zt(["-d", db, "export", "--format", "jsonl"])
    eq(rc, 0, "export exit code (%s)" % err)
    return [json.loads(x) for x in out.decode().splitlines()]


def final_stats(rec):
    """The numbers of the recorder's final stats line."""
    import re
    lines = [x for x in rec.stderr().splitlines() if "(final)" in x]
    check(lines, "no final stats line in:\n" + rec.stderr()[-1500:])
    m = re.search(r"(\d+) received, (\d+) committed \((\d+) pass, (\d+) fail, (\d+) duplicates\)"
                  r".* (\d+) lost in (\d+) gaps", lines[-1])
    check(m, "final stats line unreadable: " + lines[-1])
    keys = ["received", "committed", "pass", "fail", "duplicates", "lost", "gaps"]
    return dict(zip(keys, (int(x) for x in m.groups())))


def wait_events(db, n, timeout=120):
    wait_until(lambda: trail_count(db) >= n, timeout, "%d events in %s" % (n, db))


@case
def mixed_traffic_every_verdict_right_every_message_recorded(env):
    """mixed traffic, three wire formats, pub and a plain publisher: verdicts match verify --batch"""
    folder = env.folder("mixed")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        rec = Recorder(record_args(env, srv.url, db, "--json", "orders.>", "payments.*",
                                   "events", "chats", "metrics.>"), folder)
        rec.wait_for("recording")
        lines = []
        for i in range(20):
            lines.append(env.bearer_line("orders.created", i))
            lines.append(env.payments_line("payments.eu", i))
            lines.append(env.seed_line("events" if i % 2 else "chats", i))
        lines.append(env.bearer_line("orders.created", 99, {"aud": "someone-else"}))
        lines.append(env.bearer_line("orders.created", 5))   # same jti: a replay
        ztpub(srv.url, env.capture(folder, lines))
        # The token-exchange side: ztwatch pub, a good event and each tamper.
        rc, _, err = env.pub(srv.url, "orders.created", env.event(500), "--sign-key",
                             env.path("rsa.pem"))
        eq(rc, 0, "pub exit code (%s)" % err)
        for kind in TAMPERS:
            rc, _, err = env.pub(srv.url, "orders.created", env.event(600), "--sign-key",
                                 env.path("rsa.pem"), "--tamper", kind)
            eq(rc, 0, "pub --tamper %s (%s)" % (kind, err))
        rc, _, err = env.pub(srv.url, "orders.created", env.event(700), "--sign-key",
                             env.path("rsa.pem"), "--tamper", "replay")
        eq(rc, 0, "pub --tamper replay (%s)" % err)
        rc, _, err = env.pub(srv.url, "payments.us", '{"amount":1}', "--sign-key",
                             env.path("p256.pem"))
        eq(rc, 0, "pub payments (%s)" % err)
        rc, _, err = env.pub(srv.url, "events", '{"message":"from pub"}')
        eq(rc, 0, "pub seed (%s)" % err)
        total = len(lines) + 1 + len(TAMPERS) + 2 + 2
        wait_events(db, total)
        # Named threads, so top -H and perf tell the pipeline's stages apart.
        names = set()
        for t in glob.glob("/proc/%d/task/*/comm" % rec.proc.pid):
            with open(t) as f:
                names.add(f.read().strip())
        check({"zt-verify", "zt-rows", "zt-store", "zt-checkpoint"} <= names,
              "the recorder's threads are named: %s" % sorted(names))
        eq(rec.stop(), 0, "record exit code after SIGTERM")
    rows = [r for r in export_events(db) if r["kind"] == "event"]
    eq(len(rows), total, "events in the trail")
    # ztpub's messages: the same verdicts as verify --batch on the same capture.
    # Core NATS keeps order per subscription only, so compare per subject.
    rc, verdicts, err = env.batch(env.pol, lines)
    first = rows[:len(lines)]

    def by_subject(items):
        out = {}
        for it in items:
            out.setdefault(it[0], []).append(it[1:])
        return out
    got = by_subject([(r["subject"], r["verdict"], r["reason"], r.get("body")) for r in first])
    want = by_subject([(v["subject"], v["verdict"], v["reason"],
                        base64.b64decode(line["body_b64"]).decode())
                       for v, line in zip(verdicts, lines)])
    eq(got, want, "verdicts and bodies of the plain publisher's messages, per subject")
    eq(verdicts[-2]["reason"], "wrong_audience", "the wrong audience fails")
    eq(verdicts[-1]["reason"], "replay", "the repeated jti is a replay")
    # pub's messages: the good one passes, each tamper fails as it should.
    rest = rows[len(lines):]
    eq((rest[0]["verdict"], rest[0]["reason"]), ("pass", "ok"), "pub's valid event")
    for r, kind in zip(rest[1:], TAMPERS):
        eq((kind, r["verdict"], r["reason"]), (kind, "fail", TAMPERS[kind]), "tamper verdict")
    rp = rest[1 + len(TAMPERS):3 + len(TAMPERS)]
    eq([(r["verdict"], r["reason"]) for r in rp], [("pass", "ok"), ("fail", "replay")],
       "--tamper replay sends one event twice")
    eq([(r["subject"], r["verdict"]) for r in rest[-2:]], [("payments.us", "pass"),
                                                           ("events", "pass")],
       "pub in the body-token and seed formats")
    # --json printed one verdict per event, in trail order.
    printed = [json.loads(x) for x in rec.stdout().decode().splitlines()]
    eq([(v["subject"], v["reason"]) for v in printed],
       [(r["subject"], r["reason"]) for r in rows], "--json verdicts")
    rc, _, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify (%s)" % err)


@case
def jetstream_sigkill_and_resume_records_every_sequence_once(env):
    """JetStream: SIGKILL mid-stream, restart on the durable: every sequence exactly once"""
    folder = env.folder("js")
    db = os.path.join(folder, "t.db")
    n = 3000
    with NatsServer(folder) as srv:
        create_stream(srv.url, "METRICS", "metrics.>")
        cap = env.capture(folder, [env.metrics_line(i) for i in range(100)])
        args = record_args(env, srv.url, db, "--stream", "METRICS", "--durable", "rec",
                           "--ack-wait", "2", "--queue", "64", "--jobs", "1")
        rec = Recorder(args, folder, "rec1")
        # Published at a pace, so the kill lands mid-stream however fast the recorder is.
        pub = subprocess.Popen([ZTPUB, "-s", srv.url, "--jetstream", "--rate", "1000",
                                "--repeat", str(n // 100), cap], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: trail_count(db) >= 300, 120, "some events recorded")
            rec.stop(signal.SIGKILL)
        finally:
            eq(pub.wait(timeout=120), 0, "the publisher's exit code")
        first = len(trail_rows(db, "kind = 'event'"))
        check(first < n, "the recorder was killed mid-stream (%d of %d)" % (first, n))
        rc, _, err = zt(["-d", db, "audit", "verify"])
        eq(rc, 0, "audit verify after SIGKILL (%s)" % err)
        rec = Recorder(args, folder, "rec2")
        wait_events(db, n)
        time.sleep(3)        # past the ack wait: redeliveries would show now
        eq(rec.stop(), 0, "second recorder's exit code")
    rows = trail_rows(db, "kind = 'event'")
    seqs = sorted(r["stream_seq"] for r in rows)
    eq(seqs, list(range(1, n + 1)), "each stream sequence exactly once")
    check(all(r["stream"] == "METRICS" for r in rows), "stream name recorded")
    rc, _, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify (%s)" % err)


@case
def jetstream_deleted_sequences_become_a_gap_row(env):
    """JetStream: messages gone before they were read are a gap row with the count"""
    folder = env.folder("jsgap")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        create_stream(srv.url, "SMALL", "metrics.>", max_msgs=50)
        cap = env.capture(folder, [env.metrics_line(i) for i in range(10)])
        ztpub(srv.url, cap, "--jetstream")
        args = record_args(env, srv.url, db, "--stream", "SMALL", "--durable", "d1")
        rec = Recorder(args, folder, "a")
        wait_events(db, 10)
        eq(rec.stop(), 0, "first run exit code")
        ztpub(srv.url, cap, "--jetstream", "--repeat", "20")   # seqs 11..210; 161..210 kept
        rec = Recorder(args, folder, "b")
        wait_events(db, 60)
        eq(rec.stop(), 0, "second run exit code")
    gaps = trail_rows(db, "kind = 'gap'")
    eq([(g["stream"], g["stream_seq"], g["gap_count"]) for g in gaps], [("SMALL", 11, 150)],
       "gap row: first missing sequence and count")
    seqs = [r["stream_seq"] for r in trail_rows(db, "kind = 'event'")]
    eq(seqs, list(range(1, 11)) + list(range(161, 211)), "sequences recorded")


@case
def jetstream_resumed_filtered_durable_is_no_gap_and_keeps_its_filter(env):
    """JetStream: a filtered durable resumed without its subject: no false gaps; others refused"""
    folder = env.folder("jsfilter")
    db = os.path.join(folder, "t.db")

    def lines(first):
        out = []
        for i in range(first, first + 10):
            line = env.metrics_line(i)
            line["subject"] = "metrics.cpu" if i % 2 else "metrics.mem"
            out.append(line)
        return out

    with NatsServer(folder) as srv:
        create_stream(srv.url, "MIXED", "metrics.>")
        ztpub(srv.url, env.capture(folder, lines(0), "a.jsonl"), "--jetstream")
        durable = ["--stream", "MIXED", "--durable", "cpu"]
        rec = Recorder(record_args(env, srv.url, db, *durable, "metrics.cpu"), folder, "a")
        wait_events(db, 5)
        eq(rec.stop(), 0, "first run exit code")
        ztpub(srv.url, env.capture(folder, lines(10), "b.jsonl"), "--jetstream")
        rec = Recorder(record_args(env, srv.url, db, *durable, "--ack-wait", "60"), folder, "b")
        wait_events(db, 10)
        time.sleep(0.5)
        eq(rec.stop(), 0, "resumed without the subject: exit code")
        check("durable 'cpu' exists: its ack wait stays 30 s (--ack-wait is for a new durable)"
              in rec.stderr(), "another --ack-wait is told: %r" % rec.stderr()[-400:])
        rc, _, err = zt(record_args(env, srv.url, db, *durable, "metrics.mem"))
        check(rc == 1 and "durable 'cpu' exists and reads only 'metrics.cpu'" in err,
              "another subject than the durable's: %d %r" % (rc, err))
        db2 = os.path.join(folder, "all.db")
        rec = Recorder(record_args(env, srv.url, db2, "--stream", "MIXED", "--durable", "all"),
                       folder, "c")
        wait_events(db2, 20)
        eq(rec.stop(), 0, "unfiltered durable exit code")
        rc, _, err = zt(record_args(env, srv.url, db2, "--stream", "MIXED", "--durable", "all",
                                    "metrics.cpu"))
        check(rc == 1 and "reads every subject of the stream, not only 'metrics.cpu'" in err,
              "a subject for an unfiltered durable: %d %r" % (rc, err))
    eq(trail_rows(db, "kind = 'gap'"), [], "no gap rows: the other subject's sequences are "
       "not the durable's")
    seqs = [r["stream_seq"] for r in trail_rows(db, "kind = 'event'")]
    eq(seqs, list(range(2, 21, 2)), "the filtered durable's sequences")


@case
def jetstream_durable_or_stream_deleted_while_reading_is_exit_1(env):
    """JetStream: the durable or its stream deleted while recording: one line, exit 1"""
    folder = env.folder("jsgone")
    with NatsServer(folder) as srv:
        create_stream(srv.url, "GONE", "metrics.>")
        cap = env.capture(folder, [env.metrics_line(i) for i in range(10)])
        ztpub(srv.url, cap, "--jetstream")
        for name, api in (("durable", "CONSUMER.DELETE.GONE.d"), ("stream", "STREAM.DELETE.GONE")):
            db = os.path.join(folder, name + ".db")
            rec = Recorder(record_args(env, srv.url, db, "--stream", "GONE", "--durable", "d"),
                           folder, name)
            wait_events(db, 10)
            check(js_api(srv.url, api).get("success"), "%s deleted" % name)
            wait_until(lambda: rec.proc.poll() is not None, 30,
                       "the recorder to stop once its %s is gone" % name)
            eq(rec.stop(), 1, "exit code once the %s is gone" % name)
            check("durable 'd' was deleted on the server" in rec.stderr(),
                  "says why: " + rec.stderr()[-600:])
            eq(final_stats(rec)["committed"], 10, "what came before is committed")


@case
def server_restart_reconnects_and_the_gap_is_visible(env):
    """the server stops and restarts: the recorder reconnects, records what follows, marks the gap"""
    folder = env.folder("restart")
    db = os.path.join(folder, "t.db")
    srv = NatsServer(folder)
    try:
        rec = Recorder(record_args(env, srv.url, db, "metrics.>"), folder)
        rec.wait_for("recording")
        before = env.capture(folder, [env.metrics_line(i) for i in range(50)], "a.jsonl")
        ztpub(srv.url, before)
        wait_events(db, 50)
        srv.stop()
        rec.wait_for("disconnected")
        time.sleep(0.5)
        srv.start()
        rec.wait_for("reconnected")
        after = env.capture(folder, [env.metrics_line(i) for i in range(50, 80)], "b.jsonl")
        ztpub(srv.url, after)
        wait_events(db, 80)
        eq(rec.stop(), 0, "record exit code")
    finally:
        srv.stop()
    rows = trail_rows(db, "kind IN ('event', 'gap')")
    kinds = [r["kind"] for r in rows]
    eq(kinds.count("event"), 80, "events before and after the restart")
    gi = kinds.index("gap")
    eq(kinds[:gi], ["event"] * 50, "the gap comes after the first 50 events")
    check("disconnected" in rows[gi]["detail"], "gap detail says why: %r" % rows[gi]["detail"])
    eq(rows[gi]["subject"], "metrics.>", "gap row names the subscription")
    check("reconnecting" in rec.stderr(), "state change shown")
    # How many went by while disconnected is unknown: the export says null, not 0.
    for fmt in ("jsonl", "csv"):
        rc, out, err = zt(["-d", db, "export", "--format", fmt])
        eq(rc, 0, "export %s: %s" % (fmt, err))
        if fmt == "jsonl":
            gaps = [json.loads(x) for x in out.decode().splitlines() if "\"kind\":\"gap\"" in x]
            eq([g["gap_count"] for g in gaps], [None], "a reconnect gap's count in jsonl")
        else:
            recs = list(csv.DictReader(io.StringIO(out.decode())))
            eq([g["gap_count"] for g in recs if g["kind"] == "gap"], [""],
               "a reconnect gap's count in csv")


def flood(env, name, queue, buffer, settle=0):
    """20,000 RS256 events at full speed at one verifier with a small ring and buffer, then
    SIGTERM (after settle s); returns the recorder, its trail, what the server sent it and
    its peak RSS (kB)."""
    folder = env.folder(name)
    db = os.path.join(folder, "t.db")
    with NatsServer(folder, monitor=True) as srv:
        rec = Recorder(record_args(env, srv.url, db, "--jobs", "1", "--queue", queue,
                                   "--buffer", buffer, "orders.>"), folder)
        rec.wait_for("recording")
        cap = env.capture(folder, [env.bearer_line("orders.flood", i) for i in range(200)])
        ztpub(srv.url, cap, "--repeat", "100")
        time.sleep(settle)
        rss = rec.peak_rss_kb()
        eq(rec.stop(), 0, "record exit code")
        conns = [c for c in srv.connz() if c.get("name") == "ztwatch record"]
        eq(len(conns), 1, "the recorder's connection in connz")
    return rec, db, conns[0]["out_msgs"], rss


@case
def flood_on_core_nats_drops_are_counted_and_memory_is_bounded(env):
    """a publisher far faster than verification: drops recorded as gaps, memory bounded"""
    rec, db, sent, rss = flood(env, "flood", "64", "500", settle=1)
    st = final_stats(rec)
    check(st["lost"] > 0, "the flood made the recorder drop messages: %r" % st)
    events = trail_rows(db, "kind = 'event'")
    gaps = trail_rows(db, "kind = 'gap'")
    lost = sum(g["gap_count"] for g in gaps)
    eq(len(events) + lost, sent, "events + counted drops == messages the server sent")
    eq(lost, st["lost"], "gap rows hold the drops the stats report")
    check(all("slow consumer" in g["detail"] for g in gaps), "gap detail names the cause")
    # ASan doubles memory; the bound is still far below 20,000 messages' worth
    # of unbounded queueing plus verdicts.
    check(rss < 400 * 1024, "peak RSS %d kB stays bounded" % rss)


@case
def stopped_while_the_server_is_down_records_what_nats_held(env):
    """the server dies with a backlog in the recorder's nats.c buffer, then SIGTERM: the
    backlog is still recorded (nothing is left out without a gap), exit 0"""
    folder = env.folder("down-stop")
    db = os.path.join(folder, "t.db")
    srv = NatsServer(folder, monitor=True)
    try:
        rec = Recorder(record_args(env, srv.url, db, "--jobs", "1", "--buffer", "30000",
                                   "metrics.>"), folder)
        rec.wait_for("recording")
        cap = env.capture(folder, [env.metrics_line(i) for i in range(200)])
        ztpub(srv.url, cap, "--repeat", "100")     # 20,000 events, far faster than recorded

        def all_sent():
            c = [c for c in srv.connz() if c.get("name") == "ztwatch record"][0]
            return c["out_msgs"] == 20000 and c.get("pending_bytes", 0) == 0
        wait_until(all_sent, 30, "the server handed every message over")
        srv.kill()
        time.sleep(0.2)         # the recorder sees the connection go, not the backlog
        eq(rec.stop(), 0, "record exit code")
    finally:
        srv.stop()
    events = trail_count(db, "kind = 'event'")
    lost = sum(g["gap_count"] for g in trail_rows(db, "kind = 'gap'"))
    check("reconnecting" in rec.stderr(), "stopped while disconnected")
    eq(events + lost, 20000, "every message handed over is recorded or in a gap")
    eq(lost, 0, "the backlog was handed over within the drain's time, not given up")


@case
def flood_stopped_at_once_still_records_its_drops(env):
    """SIGTERM straight after a flood: the drops since the last stats tick are a gap row too"""
    rec, db, sent, _ = flood(env, "flood-stop", "16", "64")
    events = trail_rows(db, "kind = 'event'")
    lost = sum(g["gap_count"] for g in trail_rows(db, "kind = 'gap'"))
    check(lost > 0, "the flood made the recorder drop messages")
    eq(len(events) + lost, sent, "events + counted drops == messages the server sent")
    eq(lost, final_stats(rec)["lost"], "gap rows hold the drops the stats report")


@case
def verdicts_to_a_full_disk_are_an_error_not_a_loss(env):
    """record --json into a full disk (/dev/full): one message, exit 1, every event still
    recorded in the trail"""
    folder = env.folder("json-full")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv, open("/dev/full", "wb") as full, \
            open(os.path.join(folder, "rec.err"), "wb") as errf:
        rec = subprocess.Popen([ZTWATCH] + record_args(env, srv.url, db, "--json", "metrics.>"),
                               stdout=full, stderr=errf)
        try:
            wait_until(lambda: b"recording" in open(errf.name, "rb").read(), 20, "recording")
            ztpub(srv.url, env.capture(folder, [env.metrics_line(i) for i in range(50)]))
            wait_events(db, 50, 30)
            wait_until(lambda: b"cannot print the verdicts" in open(errf.name, "rb").read(),
                       10, "the failure is told while recording")
        finally:
            rec.terminate()
            rc = rec.wait(60)
    err = open(errf.name, "rb").read().decode(errors="replace")
    eq(rc, 1, "exit code (%s)" % err[-400:])
    eq(err.count("cannot print the verdicts"), 1, "told once: %s" % err[-600:])
    check("No space left on device" in err, "the cause: %s" % err[-400:])
    eq(trail_count(db, "kind = 'event'"), 50, "every event is in the trail")


@case
def trail_on_a_full_disk_counts_only_what_it_committed(env):
    """the trail's disk fills while recording: exit 1, and the final counts (pass, fail) are
    of the events committed, not of rows the failed commit rolled back"""
    folder = env.folder("trail-full")
    mnt = os.path.join(folder, "tmpfs")
    why = mount_tmpfs(mnt)
    if why is not None:
        print("skip - trail on a full disk: mount failed: %s" % why)
        return
    try:
        db = os.path.join(mnt, "t.db")
        with NatsServer(folder) as srv:
            rec = Recorder(record_args(env, srv.url, db, "metrics.>"), folder)
            rec.wait_for("recording")
            tok = hs_token(env.secrets["hs"], {"iss": "m", "exp": int(time.time()) + 3600})
            lines = [batch_line("metrics.cpu", '{"n":%d,"pad":"%s"}' % (i, "x" * 4000),
                                {"Authorization": "Bearer " + tok}) for i in range(100)]
            ztpub(srv.url, env.capture(folder, lines), "--repeat", "30")   # ~12 MB of bodies
            eq(rec.stop(), 1, "exit code once the disk is full")
        st = final_stats(rec)
        committed = trail_count(db, "kind = 'event'")
        eq(st["committed"], committed, "committed == events in the trail")
        eq(st["pass"] + st["fail"], committed, "pass + fail count committed events only")
        check(committed < 3000, "the disk filled before the end (%d committed)" % committed)
    finally:
        unmount(mnt)


@case
def pub_print_escapes_what_a_terminal_obeys(env):
    """pub --print: a subject with a bidi control comes out escaped, the line still JSON"""
    subject = "metrics.a\u202eb"
    rc, out, err = zt(["-p", env.pol, "pub", subject, "-", "--print"], input=b'{"n":1}')
    eq(rc, 0, "exit code (%s)" % err)
    check("\u202e".encode() not in out, "U+202E escaped: %r" % out[:120])
    eq(json.loads(out)["subject"], subject, "the subject reads back")


@case
def pub_takes_an_event_of_exactly_the_maximum(env):
    """pub reads an event of exactly 16 MiB, and refuses one byte more with one line"""
    folder = env.folder("pub-max")
    size = 16 << 20
    for extra, want in ((0, 0), (1, 2)):
        path = os.path.join(folder, "ev%d.json" % extra)
        with open(path, "wb") as f:
            f.write(b'{"p":"' + b"x" * (size + extra - 8) + b'"}')
        rc, out, err = zt(["-p", env.pol, "pub", "metrics.big", path, "--print"])
        eq(rc, want, "%d bytes: exit code (%s)" % (size + extra, err[-300:]))
        if want == 0:
            eq(len(base64.b64decode(json.loads(out)["body_b64"])), size, "the whole event")
        else:
            check("File too large" in err and len(err.splitlines()) == 1, err[-300:])


@case
def large_buffers_are_accepted(env):
    """--buffer up to its maximum starts: its byte limit (8 KiB a message) stays within an int"""
    folder = env.folder("big-buffer")
    with NatsServer(folder) as srv:
        for n in ("262144", "524288", str(1 << 24)):
            db = os.path.join(folder, "t%s.db" % n)
            rec = Recorder(record_args(env, srv.url, db, "--buffer", n, "orders.>"), folder,
                           name="rec" + n)
            rec.wait_for("recording", 20)
            eq(rec.stop(), 0, "--buffer %s: exit code (%s)" % (n, rec.stderr()[-300:]))


@case
def sigterm_under_load_commits_everything_received(env):
    """SIGTERM under load: every message the server delivered is committed before exit"""
    folder = env.folder("term")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder, monitor=True) as srv:
        rec = Recorder(record_args(env, srv.url, db, "--json", "metrics.>"), folder)
        rec.wait_for("recording")
        cap = env.capture(folder, [env.metrics_line(i) for i in range(100)])
        pub = subprocess.Popen([os.environ.get("ZTPUB", "build/test/ztpub"), "-s", srv.url,
                                "--repeat", "1000", "--rate", "4000", cap],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: trail_count(db) > 500, 60, "traffic recorded")
        eq(rec.stop(), 0, "record exit code on SIGTERM under load")
        pub.kill()
        pub.wait()
        conns = [c for c in srv.connz() if c.get("name") == "ztwatch record"]
        sent = conns[0]["out_msgs"]
    st = final_stats(rec)
    events = trail_rows(db, "kind = 'event'")
    lost = sum(g["gap_count"] for g in trail_rows(db, "kind = 'gap'"))
    eq(len(events) + lost, sent, "everything the server sent is on record")
    eq(st["received"], st["committed"], "received == committed")
    eq(len(rec.stdout().decode().splitlines()), len(events), "--json printed every event")
    rc, _, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify (%s)" % err)
    sessions = trail_rows(db, "kind = 'session'")
    eq(len(sessions), 1, "one session row")


@case
def unreachable_server_is_one_clear_error_or_a_wait(env):
    """an unreachable server: exit 1 with a message; with --wait, record once it comes up"""
    folder = env.folder("down")
    db = os.path.join(folder, "t.db")
    from zt import free_port
    port = free_port()
    url = "nats://127.0.0.1:%d" % port
    rc, _, err = zt(record_args(env, url, db, "metrics.>"), timeout=60)
    eq(rc, 1, "exit code")
    check("cannot connect to " + url in err, "message names the server: %r" % err)
    eq(len(err.strip().splitlines()), 1, "one line: %r" % err)
    rc, _, err = zt(["-s", url, "-p", env.pol, "pub", "metrics.x", "-"], input=b"{}")
    eq(rc, 1, "pub exit code when the server is down")
    check("cannot connect" in err, "pub says why: %r" % err)
    rec = Recorder(record_args(env, url, db, "--wait", "metrics.>"), folder)
    rec.wait_for("waiting for")
    srv = NatsServer(folder, port=port)
    try:
        rec.wait_for("recording")
        ztpub(srv.url, env.capture(folder, [env.metrics_line(i) for i in range(5)]))
        wait_events(db, 5)
        eq(rec.stop(), 0, "record exit code")
    finally:
        srv.stop()


@case
def server_lost_at_the_first_jetstream_request_is_exit_1(env):
    """a server lost while the durable is being bound fails (exit 1, the stream named),
    and is not taken for a stop while waiting to connect (exit 0)"""
    from zt import CuttingProxy
    folder = env.folder("cut")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as srv:
        create_stream(srv.url, "CUT", "cut.>")
        proxy = CuttingProxy(srv.port, b"$JS.API")
        try:
            rc, _, err = zt(record_args(env, proxy.url, db, "--stream", "CUT", "--durable", "d"),
                            timeout=90)
        finally:
            proxy.close()
    check(proxy.cut.is_set(), "the line was cut at the JetStream request")
    eq(rc, 1, "exit code: %r" % err)
    check("record: stream 'CUT':" in err, "the failure names the stream: %r" % err)


@case
def connection_and_range_usage_errors_exit_2(env):
    """usage errors are exit 2 with one line before anything connects: options that go
    together, files that are not there, names nats.c cannot send, ranges stated whole"""
    from zt import free_port
    folder = env.folder("usage")
    db = os.path.join(folder, "t.db")
    url = "nats://127.0.0.1:%d" % free_port()
    missing = os.path.join(folder, "nosuch.pem")
    for pre, args, text in [
            (["--tls-cert", missing], ["metrics.>"], "--tls-cert and --tls-key go together"),
            (["--creds", missing, "--nkey", missing], ["metrics.>"], "cannot be used together"),
            (["--tls-ca", missing], ["metrics.>"], "--tls-ca '%s': No such file" % missing),
            (["-s", " , "], ["metrics.>"], "no server URL given"),
            ([], ["--stream", "S", "--durable", 'a"b'], "a durable name is printable ASCII"),
            ([], ["--stream", "a/b", "--durable", "d"], "a stream name is printable ASCII"),
            ([], ["--stream", "S", "--durable", "d", "--since", "-2h", "--seq", "3"],
             "give one"),
            ([], ["--jobs", "0"], "--jobs wants a number from 1 to 64"),
            ([], ["--jobs", "100000"], "--jobs wants a number from 1 to 64"),
            ([], ["--queue", "2"], "--queue wants a number from 16 to"),
            ([], ["metrics.>", "metrics.*.x"], "subjects 'metrics.>' and 'metrics.*.x' overlap"),
            ([], ["a.*.c", "a.b.*"], "overlap")]:
        full = record_args(env, url, db, *args)
        cmd = full[:6] + pre + full[6:]       # globals after "-s url", before "record"
        rc, _, err = zt(cmd, timeout=30)
        eq(rc, 2, "exit code for %r (%s)" % (pre + args, err))
        eq(len(err.strip().splitlines()), 1, "one line for %r: %r" % (pre + args, err))
        check(text in err, "message for %r: %r" % (pre + args, err))
        check("(null)" not in err and ".c:" not in err, "no library internals: %r" % err)
    for args in (["--help"], ["--version"], ["record", "--help"], ["pub", "--help"]):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([ZTWATCH] + args, stdout=full, stderr=subprocess.PIPE)
        eq(p.returncode, 2, "%r to a full disk: %r" % (args, p.stderr))
        check(b"cannot write the output: No space left on device" in p.stderr, p.stderr)


@case
def rules_whose_subjects_overlap_are_one_subscription(env):
    """record with the policy's subjects: a rule's subjects that another rule's cover are
    not subscribed twice, so each message is one row (not a pass and a false replay)"""
    folder = env.folder("overlap")
    db = os.path.join(folder, "t.db")
    rule = {"token": BEARER, "keys": ["hs"], "algorithms": ["HS256"],
            "replay": {"claim": "jti", "window_s": 3600}}
    pol = env.policy({"keys": {"hs": {"secret_file": "hs.secret", "alg": "HS256"}},
                      "rules": [dict(rule, name="cpu", subjects=["metrics.cpu", "metrics.*"]),
                                dict(rule, name="all", subjects=["metrics.>"])]})
    tok = hs_token(env.secrets["hs"], {"iss": "m", "jti": "once", "exp": int(time.time()) + 600})
    with NatsServer(folder) as srv:
        rec = Recorder(["-s", srv.url, "-p", pol, "-d", db, "record", "--stats", "1"], folder)
        try:
            rec.wait_for("recording")
            ztpub(srv.url, env.capture(folder, [batch_line("metrics.cpu", '{"n":1}', {
                "Authorization": "Bearer " + tok})]))
            wait_events(db, 1)
            time.sleep(1)
            eq(rec.stop(), 0, "record exit code")
        finally:
            rec.kill()
    eq([(r["subject"], r["reason"]) for r in export_events(db) if r["kind"] == "event"],
       [("metrics.cpu", "ok")], "one row, not a pass and a replay")


@case
def bad_arguments_and_server_refusals_are_clear(env):
    """bad subjects, durables, streams, credentials and permissions give clear errors"""
    folder = env.folder("errors")
    db = os.path.join(folder, "t.db")
    conf = ('authorization { users = [ {user: alice, password: s3cret-pw,'
            ' permissions: {subscribe: {deny: ["secret.>"]}}} ] }\n')
    with NatsServer(folder, config=conf) as srv:
        for args, code, text in [
                (["orders..x"], 2, "not a valid NATS subject"),
                (["--stream", "S"], 2, "--stream and --durable go together"),
                (["--stream", "S", "--durable", "a.b"], 2, "durable name"),
                (["--seq", "5"], 2, "need --stream"),
                (["--since", "yesterday-ish", "--stream", "S", "--durable", "d"], 2,
                 "not a time"),
                (["--since", "99999999999999", "--stream", "S", "--durable", "d"], 2,
                 "not a time")]:
            rc, _, err = zt(record_args(env, srv.url, db, *args))
            eq(rc, code, "exit code for %r (%s)" % (args, err))
            check(text in err, "message for %r: %r" % (args, err))
        rc, _, err = zt(["--user", "alice", "--password", "wrong"] +
                        record_args(env, srv.url, db, "metrics.>"))
        eq(rc, 1, "wrong password exit code")
        check("uthorization" in err, "authorization failure named: %r" % err)
        rc, _, err = zt(["--user", "alice", "--password", "s3cret-pw"] +
                        record_args(env, srv.url, db, "--stream", "NOPE", "--durable", "d"))
        eq(rc, 1, "missing stream exit code")
        check("NOPE" in err, "the missing stream is named: %r" % err)
        create_stream(srv.url.replace("//", "//alice:s3cret-pw@"), "S", "metrics.>")
        rc, _, err = zt(["--user", "alice", "--password", "s3cret-pw"] +
                        record_args(env, srv.url, db, "--stream", "S", "--durable", "d",
                                    "orders.>"))
        eq(rc, 1, "a filter the stream does not take: exit code")
        check("cannot create the durable: consumer filter subject is not a valid subset" in err
              and ".c:" not in err, "nats.c's reason without its source line: %r" % err)
        rec = Recorder(["--user", "alice", "--password", "s3cret-pw"] +
                       record_args(env, srv.url, db, "secret.>", "metrics.>"), folder)
        rec.wait_for("Permissions Violation")
        eq(rec.stop(), 0, "record keeps going after a refused subscription")
        check("secret.>" in rec.stderr(), "the refused subject is named")
    rc, _, err = zt(["-s", srv.url, "-p", env.pol, "pub", "orders.x", "-", "--tamper", "bogus"],
                    input=b"{}")
    eq(rc, 2, "unknown tamper")
    check("bogus" in err, err)


@case
def token_and_tls_connections(env):
    """--token and TLS (--tls-ca): record connects and records; a wrong CA is refused"""
    folder = env.folder("tls")
    db = os.path.join(folder, "t.db")
    test_ca = TestCA(folder)
    ca = test_ca.pem
    crt, key = test_ca.issue("srv")
    conf = ('authorization { token: "t0k3n-for-tests" }\n'
            'tls { cert_file: "%s", key_file: "%s" }\n' % (crt, key))
    with NatsServer(folder, config=conf) as srv:
        url = "tls://127.0.0.1:%d" % srv.port
        rc, _, err = zt(["--token", "t0k3n-for-tests"] + record_args(env, url, db, "metrics.>"))
        eq(rc, 1, "without --tls-ca the server's certificate is not trusted")
        rec = Recorder(["--token", "t0k3n-for-tests", "--tls-ca", ca] +
                       record_args(env, url, db, "metrics.>"), folder)
        rec.wait_for("recording")
        rc, _, err = zt(["-s", url, "--token", "t0k3n-for-tests", "--tls-ca", ca, "-p", env.pol,
                         "pub", "metrics.cpu", "-"], input=b'{"n":1}')
        eq(rc, 0, "pub over TLS with a token (%s)" % err)
        wait_events(db, 1)
        eq(rec.stop(), 0, "record exit code")
        rc, _, err = zt(["--token", "wrong", "--tls-ca", ca] + record_args(env, url, db, "x"))
        eq(rc, 1, "a wrong token is refused")
        check("uthoriz" in err, "says why: %r" % err)
    rows = trail_rows(db, "kind = 'event'")
    eq([(r["subject"], r["verdict"]) for r in rows], [("metrics.cpu", "pass")], "recorded over TLS")


@case
def client_certificate(env):
    """--tls-cert/--tls-key: a server that requires client certificates accepts one its CA
    issued and refuses a connection without one or with another CA's"""
    folder = env.folder("mtls")
    db = os.path.join(folder, "t.db")
    test_ca = TestCA(folder)
    crt, key = test_ca.issue("srv")
    client = test_ca.issue("client", cn="ztwatch-recorder", alt="DNS:ztwatch-recorder")
    other_ca = TestCA(env.folder("mtls-other"), "zt-other-ca")
    stranger = other_ca.issue("client", cn="stranger", alt="DNS:stranger")
    conf = ('tls { cert_file: "%s", key_file: "%s", ca_file: "%s", verify: true }\n'
            % (crt, key, test_ca.pem))
    tls = ["--tls-ca", test_ca.pem]
    with NatsServer(folder, config=conf) as srv:
        url = "tls://127.0.0.1:%d" % srv.port
        rc, _, err = zt(tls + record_args(env, url, db, "metrics.>"))
        eq(rc, 1, "without a client certificate the server refuses")
        check("requires a client certificate, and none was given" in err, err)
        rc, _, err = zt(tls + ["--tls-cert", stranger[0], "--tls-key", stranger[1]] +
                        record_args(env, url, db, "metrics.>"))
        eq(rc, 1, "a certificate from another CA is refused")
        check("refused the one given" in err, err)
        mine = tls + ["--tls-cert", client[0], "--tls-key", client[1]]
        rec = Recorder(mine + record_args(env, url, db, "metrics.>"), folder)
        rec.wait_for("recording")
        rc, _, err = zt(["-s", url] + mine + ["-p", env.pol, "pub", "metrics.cpu", "-"],
                        input=b'{"n":1}')
        eq(rc, 0, "pub with the client certificate (%s)" % err)
        wait_events(db, 1)
        eq(rec.stop(), 0, "record exit code")
        rc, _, err = zt(tls + ["--tls-cert", client[0], "--tls-key", stranger[1]] +
                        record_args(env, url, db, "x"))
        check(rc != 0 and err.strip() != "", "a key that is not the certificate's: %r" % err)
    eq(trail_count(db), 1, "recorded with a client certificate")


def record_signed_in(env, srv, db, folder, good, stranger, what):
    """Without sign-in the server refuses; record and pub with the good arguments record
    one event; the stranger's are refused with exit 1 and the server's reason."""
    rc, _, err = zt(record_args(env, srv.url, db, "metrics.>"))
    eq(rc, 1, "without %s the server refuses" % what)
    rec = Recorder(good + record_args(env, srv.url, db, "metrics.>"), folder)
    rec.wait_for("recording")
    rc, _, err = zt(["-s", srv.url] + good + ["-p", env.pol, "pub", "metrics.cpu", "-"],
                    input=b'{"n":1}')
    eq(rc, 0, "pub with %s (%s)" % (what, err))
    wait_events(db, 1)
    eq(rec.stop(), 0, "record exit code")
    rc, _, err = zt(stranger + record_args(env, srv.url, db, "x"))
    eq(rc, 1, "a stranger's %s is refused" % what)
    check("uthoriz" in err, "says why: %r" % err)


@case
def nkey_connection(env):
    """--nkey: a user nkey (seed and public key) the server trusts connects and records;
    another pair is refused with exit 1 and the server's reason"""
    folder = env.folder("nkey")
    db = os.path.join(folder, "t.db")
    good, pub = nkey_user(folder, "good")
    other, _ = nkey_user(folder, "other")
    check(pub.startswith("U") and len(pub) == 56, "a user public key: %s" % pub)
    conf = 'authorization { users = [ { nkey: "%s" } ] }\n' % pub
    with NatsServer(folder, config=conf) as srv:
        record_signed_in(env, srv, db, folder, ["--nkey", good], ["--nkey", other], "the nkey")
    eq(trail_count(db), 1, "recorded with the nkey")


@case
def creds_connection(env):
    """--creds: decentralized auth (operator, account, user JWT and seed, as nsc sets it
    up); a user the account did not sign is refused; a file without a JWT is named"""
    folder = env.folder("creds")
    db = os.path.join(folder, "t.db")
    conf, creds, stranger = nats_operator(folder)
    no_jwt = os.path.join(folder, "seed-only.creds")
    with open(creds) as f, open(no_jwt, "w") as out:
        out.write("\n".join(line for line in f.read().splitlines() if "JWT" not in line
                            and not line.startswith("eyJ")))
    with NatsServer(folder, config=conf, js_flags=False) as srv:
        record_signed_in(env, srv, db, folder, ["--creds", creds], ["--creds", stranger],
                         "the credentials")
        rc, _, err = zt(["--creds", no_jwt] + record_args(env, srv.url, db, "x"))
        check(rc != 0 and "holds no user JWT" in err, "a file without a JWT: %r" % err)
    eq(trail_count(db), 1, "recorded with the credentials")


run(RecordEnv)
