"""t0800-jwks.py -- keys fetched over HTTP(S) (jwks_url), and key rotation.

A JWKS server started by the test on a free loopback port (plain HTTP, or
HTTPS with a CA made for the run) serves a key set the test changes while
ztwatch runs.  What is checked: policy errors for jwks_url entries; TLS
verified against ca_file and refused without it; each kind of failed
first fetch gives one clear line and exit 2; a rotation mid-run is picked
up on the first unknown kid (events with the new key pass, the old key's
fail), written to the trail as a keyset row and noted per event; a flood
of forged kids costs at most one fetch per refetch_min_s; a server that
goes away leaves the last good keys in use and the state shown as STALE;
Cache-Control max-age sets the refresh; replay --reverify --changes names
the key behind each changed verdict.
"""

import base64
import http.server
import shutil
import json
import os
import signal
import re
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from ztmux import Tmux  # noqa: E402
from zt import (ZTWATCH, Env, NatsServer, Recorder, TestCA, b64url_json, batch_line,  # noqa: E402
                case, check, eq, run, trail_count, trail_rows, wait_until, zt, ztpub)

BEARER = {"header": "Authorization", "scheme": "Bearer"}


class JwksServer:
    """An HTTP(S) server on 127.0.0.1 serving one JWK Set the test may change."""

    def __init__(self, doc, tls=None):
        self.doc = json.dumps(doc).encode()
        self.status = 200
        self.headers = {}
        self.delay = 0.0
        self.requests = 0
        self.redirect = None    # headers of a 302 from url (to /keys, which serves the set,
                                # unless they give a Location)
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with server.lock:
                    server.requests += 1
                    body, status, headers = server.doc, server.status, dict(server.headers)
                    delay, redirect = server.delay, server.redirect
                if delay:
                    time.sleep(delay)
                if redirect is not None and self.path != "/keys":
                    body, status = b"", 302
                    headers = dict(redirect)
                    headers.setdefault("Location", "/keys")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d/oauth/jwks" % (self.scheme, self.port)

    def serve(self, doc=None, status=None, headers=None, raw=None):
        with self.lock:
            if doc is not None:
                self.doc = json.dumps(doc).encode()
            if raw is not None:
                self.doc = raw
            if status is not None:
                self.status = status
            if headers is not None:
                self.headers = headers

    def count(self):
        with self.lock:
            return self.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class JwksEnv(Env):
    def __init__(self):
        super().__init__()
        self.k1 = self.jwk("rsa", kid="k1", alg="RS256", use="sig")
        self.k2 = self.jwk("rsa2", kid="k2", alg="RS256", use="sig")
        self.tok1 = self.mint("RS256", "rsa", {"iss": "idp", "sub": "svc"}, kid="k1",
                              exp_in=3600)
        self.tok2 = self.mint("RS256", "rsa2", {"iss": "idp", "sub": "svc"}, kid="k2",
                              exp_in=3600)

    def pol(self, url, **extra):
        entry = {"jwks_url": url}
        entry.update(extra)
        return self.policy({"keys": {"idp": entry},
                            "rules": [{"name": "orders", "subjects": ["orders.>"],
                                       "token": BEARER, "keys": ["idp"],
                                       "algorithms": ["RS256"]}]})

    def capture(self, folder, name, tokens, subject="orders.created"):
        """A capture file: one message per token."""
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            for i, tok in enumerate(tokens):
                f.write(json.dumps(batch_line(subject, '{"n":%d}' % i,
                                              {"Authorization": "Bearer " + tok})) + "\n")
        return path

    def verify(self, policy, token, extra=None):
        return super().verify(policy, "orders.created", '{"n":1}',
                              {"Authorization": "Bearer " + token}, extra=extra)

    def make_tls(self, folder):
        """A CA and a server certificate for 127.0.0.1; returns (ca, cert, key)."""
        ca = TestCA(folder, "zt-jwks-test-ca")
        return (ca.pem,) + ca.issue("srv", alt="IP:127.0.0.1")


def forged(kid):
    """A token under a kid nobody has: judged unknown_key before any signature."""
    return "%s.%s.%s" % (b64url_json({"alg": "RS256", "kid": kid}),
                         b64url_json({"iss": "idp", "exp": int(time.time()) + 3600}),
                         base64.urlsafe_b64encode(b"\x01" * 256).decode().rstrip("="))


def record(env, url, policy, db, folder, *extra):
    return Recorder(["-s", url, "-p", policy, "-d", db, "record", "--stats", "1",
                     "orders.>"] + list(extra), folder)


def events(db):
    return trail_rows(db, "kind = 'event'")


@case
def policy_errors_for_jwks_url(env):
    """jwks_url: plain http needs allow_http; unknown fields, bad URLs, a missing ca_file and
    a rule without algorithms are policy errors (exit 2, one line naming the path)"""
    cases = [
        ({"jwks_url": "http://127.0.0.1:9/jwks"}, "allow_http"),
        ({"jwks_url": "ftp://127.0.0.1/jwks"}, "not an https:// URL"),
        ({"jwks_url": "https://127.0.0.1/jwks", "ca_file": "nope.pem"}, "ca_file: cannot read"),
        ({"jwks_url": "https://127.0.0.1/jwks", "refetch": 3}, "unknown field 'refetch'"),
        ({"jwks_url": "https://127.0.0.1/jwks", "allow_http": "yes"}, "allow_http"),
        ({"jwks_url": "https://127.0.0.1/jwks", "refresh_s": -1}, "refresh_s"),
    ]
    for entry, want in cases:
        pol = env.policy({"keys": {"idp": entry},
                          "rules": [{"name": "r", "subjects": ["a"], "token": BEARER,
                                     "keys": ["idp"], "algorithms": ["RS256"]}]})
        rc, _, err = zt(["-p", pol, "policy"])
        eq(rc, 2, "exit code for %s" % entry)
        check(want in err and "keys.idp" in err, "%s: %r" % (entry, err))
        eq(len(err.strip().splitlines()), 1, "one line: %r" % err)
    pol = env.policy({"keys": {"idp": {"jwks_url": "https://127.0.0.1/jwks"}},
                      "rules": [{"name": "r", "subjects": ["a"], "token": BEARER,
                                 "keys": ["idp"]}]})
    rc, _, err = zt(["-p", pol, "policy"])
    eq(rc, 2, "a rule on fetched keys without algorithms")
    check("must list its 'algorithms'" in err, err)


@case
def https_with_ca_file(env):
    """HTTPS is verified: with the policy's ca_file the keys load and tokens pass; without
    it the unknown CA is refused at start (exit 2, the TLS reason named)"""
    folder = env.folder("tls")
    ca, crt, key = env.make_tls(folder)
    with JwksServer({"keys": [env.k1]}, tls=(crt, key)) as srv:
        pol = env.pol(srv.url, ca_file=ca)
        rc, v, err = env.verify(pol, env.tok1)
        eq(rc, 0, "pass with the CA (%s)" % err)
        eq(v["verdict"], "pass", "verdict")
        check(v.get("keyset", "").startswith("SHA256:"), "the verdict names its key set")
        rc, out, err = zt(["-p", pol, "policy"])
        text = out.decode()
        check("k1" in text and "jwks_url %s kid=k1" % srv.url in text, text)
        check("key set SHA256:" in text, text)
        rc, v, err = env.verify(env.pol(srv.url), env.tok1)
        eq(rc, 2, "the test CA is not among the system's")
        check("cannot fetch keys" in err and "keys.idp" in err and
              ("certificate" in err.lower() or "SSL" in err), err)
        # An https policy never falls back to plain http, even by redirect.
        check(srv.count() >= 2, "the server was asked")


@case
def first_fetch_failures(env):
    """A first fetch that fails stops start-up with one line and exit 2: HTTP 404, an answer
    over max_bytes, a server slower than timeout_s, text that is no JWK Set, no usable key;
    JWKs that cannot verify are left out with a note"""
    with JwksServer({"keys": [env.k1]}) as srv:
        pol = env.pol(srv.url, allow_http=True)
        srv.serve(status=404)
        rc, _, err = env.verify(pol, env.tok1)
        eq(rc, 2, "404")
        check("HTTP 404" in err and srv.url in err, err)
        eq(len(err.strip().splitlines()), 1, "one line: %r" % err)
        srv.serve(status=200)
        rc, _, err = env.verify(env.pol(srv.url, allow_http=True, max_bytes=100), env.tok1)
        eq(rc, 2, "too big")
        check("larger than max_bytes (100)" in err, err)
        srv.serve(raw=b"<html>login</html>")
        rc, _, err = env.verify(pol, env.tok1)
        eq(rc, 2, "not JSON")
        check("invalid JSON" in err, err)
        srv.serve(doc={"kty": "RSA"})
        rc, _, err = env.verify(pol, env.tok1)
        eq(rc, 2, "not a set")
        check("not a JWK Set" in err, err)
        enc = dict(env.k2, use="enc", kid="e1")
        srv.serve(doc={"keys": [enc]})
        rc, _, err = env.verify(pol, env.tok1)
        eq(rc, 2, "no usable key")
        check("no usable key" in err and "use 'enc'" in err, err)
        hostile = dict(enc, kid="e2\x1b]0;pwned\x07\x1b[2J\u009b")
        srv.serve(doc={"keys": [enc, env.k1, {"kty": "RSA", "kid": "broken", "n": "AQAB"},
                                hostile]})
        rc, v, err = env.verify(pol, env.tok1)
        eq(rc, 0, "the usable key serves (%s)" % err)
        check("left out: use 'enc'" in err and "kid 'broken'" in err, err)
        check("\x1b" not in err and "\x07" not in err and "\u009b" not in err and
              "e2?]0;pwned?" in err, "a hostile kid is shown defused: %r" % err)
        # Absurd caching headers from the server: kept within a day, no overflow.
        srv.serve(doc={"keys": [env.k1]},
                  headers={"Cache-Control": "max-age=99999999999999999999999"})
        rc, v, err = env.verify(pol, env.tok1)
        eq(rc, 0, "a max-age beyond any clock (%s)" % err)
        srv.serve(headers={})
        srv.delay = 3
        t0 = time.time()
        rc, _, err = env.verify(env.pol(srv.url, allow_http=True, timeout_s=1), env.tok1)
        eq(rc, 2, "timeout")
        check("timed out" in err.lower() or "timeout" in err.lower(), err)
        check(time.time() - t0 < 3, "gave up after timeout_s")
        srv.delay = 0


@case
def rotation_while_recording(env):
    """A key rotated at the endpoint while recording: the first unknown kid triggers a
    refetch, events signed with the new key pass and the old key's fail; the trail holds a
    keyset row (k2 added, k1 removed), each event names the key set that judged it, and the
    chain verifies"""
    folder = env.folder("rotate")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            ztpub(nats.url, env.capture(folder, "k1.jsonl", [env.tok1] * 20))
            wait_until(lambda: trail_count(db) >= 20, 30, "k1 events recorded")
            before = srv.count()
            srv.serve(doc={"keys": [env.k2]})
            # Until the refetch, k2 is unknown; it comes at the first miss.
            k2cap = env.capture(folder, "k2.jsonl", [env.tok2])
            wait_until(lambda: ztpub(nats.url, k2cap) is not None and
                       trail_count(db, "kind = 'event' AND kid = 'k2' AND verdict = 'pass'")
                       >= 1, 30, "a k2 event passes after the refetch")
            n = trail_count(db)
            ztpub(nats.url, env.capture(folder, "mixed.jsonl", [env.tok2, env.tok1] * 10))
            wait_until(lambda: trail_count(db) >= n + 20, 30, "mixed events recorded")
            rec.wait_for("keys idp changed: +k2 -k1")
        finally:
            eq(rec.stop(), 0, "recorder exit")
        check(srv.count() - before <= 3, "a refetch or two, not one per event: %d" %
              (srv.count() - before))
        # Judged again under today's keys (k2 only): the key behind each change is named.
        rc, out, replay_err = zt(["-p", pol, "-d", db, "replay", "--reverify", "--changes"])
        eq(rc, 0, "replay --changes: %s" % replay_err)
        changes = [json.loads(x) for x in out.decode().splitlines()]
    rows = events(db)
    tail = rows[-20:]
    eq(sorted((r["kid"], r["verdict"], r["reason"]) for r in tail),
       sorted([("k2", "pass", "ok")] * 10 + [("k1", "fail", "unknown_key")] * 10),
       "after the rotation")
    session = json.loads(trail_rows(db, "kind = 'session'")[0]["detail"])
    fp1 = session["keyset"]
    eq([k["kid"] for k in session["keys"]], ["k1"], "the session's keys")
    eq({r["detail"] for r in rows[:20]}, {fp1}, "the k1 events name the first key set")
    keysets = trail_rows(db, "kind = 'keyset'")
    check(len(keysets) >= 1, "a keyset row")
    change = json.loads(keysets[0]["detail"])
    check(change["keyset"] != fp1, "a new fingerprint")
    eq([k["kid"] for k in change["change"]["added"]], ["k2"], "added")
    eq([k["kid"] for k in change["change"]["removed"]], ["k1"], "removed")
    eq([k["kid"] for k in change["keys"]], ["k2"], "the keys after")
    eq({r["detail"] for r in tail}, {change["keyset"]}, "later events name the new set")
    first_new = [r for r in rows if r["detail"] == change["keyset"]][0]
    check(keysets[0]["id"] < first_new["id"], "the keyset row comes before its events")
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify: %s %s" % (out, err))
    rc, out, err = zt(["-d", db, "export", "--format", "jsonl"])
    kinds = [json.loads(x)["kind"] for x in out.decode().splitlines()]
    check("keyset" in kinds, "export carries the keyset rows")
    k1 = [k for k in session["keys"] if k["kid"] == "k1"][0]["fingerprint"]
    k2 = [k for k in change["keys"] if k["kid"] == "k2"][0]["fingerprint"]
    early_k2 = [r["id"] for r in rows if r["kid"] == "k2" and r["verdict"] == "fail"]
    check(len(early_k2) >= 1, "the k2 event that asked for the refetch failed")
    gone = [c for c in changes if c["was"]["verdict"] == "pass"]
    eq(sorted(c["id"] for c in gone), [r["id"] for r in rows[:20]], "k1's passes changed")
    check(all(c["now"]["reason"] == "unknown_key" and c["was"]["keyset"] == fp1 and
              "key 'k1' (%s) that verified it then is no longer trusted" % k1 in c["why"]
              for c in gone), gone[:1])
    new = [c for c in changes if c["was"]["verdict"] == "fail"]
    eq(sorted(c["id"] for c in new), early_k2, "the early k2 failures changed")
    check(all(c["now"]["verdict"] == "pass" and
              "verified now by key 'k2' (%s), which was not trusted then" % k2 in c["why"]
              for c in new), new[:1])
    check("%d verdicts changed" % len(changes) in replay_err, replay_err)


@case
def forged_kid_flood_is_rate_limited(env):
    """A flood of tokens with forged kids costs the JWKS server at most one fetch per
    refetch_min_s (2 s here), and every such event fails unknown_key"""
    folder = env.folder("flood")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=2)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            start, before = time.time(), srv.count()
            cap = env.capture(folder, "forged.jsonl", [forged("f%d" % i) for i in range(500)])
            while time.time() - start < 5:
                ztpub(nats.url, cap)
            wait_until(lambda: trail_count(db) >= 5000, 60, "the flood recorded")
            elapsed = time.time() - start
            fetches = srv.count() - before
        finally:
            eq(rec.stop(), 0, "recorder exit")
    check(fetches >= 1, "the unknown kids asked for a refetch")
    check(fetches <= elapsed / 2 + 1, "%d fetches in %.1f s with refetch_min_s 2" %
          (fetches, elapsed))
    eq(trail_count(db, "kind = 'event' AND reason != 'unknown_key'"), 0, "all unknown_key")


@case
def server_gone_keeps_last_good_keys(env):
    """max-age=1 makes the recorder refetch every second; when the server goes away the
    fetches fail, the state shows STALE, and events keep passing with the last good keys"""
    folder = env.folder("gone")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats:
        srv = JwksServer({"keys": [env.k1]})
        srv.serve(headers={"Cache-Control": "public, max-age=1"})
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1, refresh_s=300)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            wait_until(lambda: srv.count() >= 3, 10, "refetches every max-age")
            srv.stop()
            rec.wait_for("STALE", 15)
            rec.wait_for("failed")
            ztpub(nats.url, env.capture(folder, "k1.jsonl", [env.tok1] * 10))
            wait_until(lambda: trail_count(db) >= 10, 30, "events recorded")
        finally:
            eq(rec.stop(), 0, "recorder exit")
    eq(trail_count(db, "kind = 'event' AND verdict = 'pass'"), 10, "the old keys still verify")
    check("keeping the keys in use" in rec.stderr(), rec.stderr()[-1500:])


@case
def set_with_more_keys_than_a_token_is_tried_against(env):
    """a fetched set of 70 keys without kid: a token signed by the 70th fails and says that
    keys past the 64th were not tried (a token without kid meets at most 64)"""
    jwks = []
    for i in range(70):
        name = "many%d" % i
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", env.path(name + ".pem")],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", env.path(name + ".pem"), "-pubout", "-out",
                        env.path(name + ".pub.pem")], check=True, capture_output=True)
        jwks.append(env.jwk(name))
    with JwksServer({"keys": jwks}) as srv:
        pol = env.policy({"keys": {"idp": {"jwks_url": srv.url, "allow_http": True}},
                          "rules": [{"name": "orders", "subjects": ["orders.>"],
                                     "token": BEARER, "keys": ["idp"],
                                     "algorithms": ["ES256"]}]})
        rc, v, err = env.verify(pol, env.mint("ES256", "many0", {"iss": "idp"}))
        eq((rc, v["reason"]), (0, "ok"), "the first key's token (%s)" % err)
        rc, v, err = env.verify(pol, env.mint("ES256", "many69", {"iss": "idp"}))
        eq(v["reason"], "bad_signature", "the 70th key's token")
        detail = [c for c in v["checks"] if c["check"] == "signature"][0]["detail"]
        check("6 more fit and were not tried" in detail, detail)


@case
def alg_whose_key_type_the_fetched_set_lacks(env):
    """an ES256 token for a rule that allows ES256 but whose fetched set holds only RSA keys
    fails alg_not_allowed at the alg step, as a local RSA key would (DESIGN §2)"""
    with JwksServer({"keys": [env.k1]}) as srv:
        pol = env.policy({"keys": {"idp": {"jwks_url": srv.url, "allow_http": True}},
                          "rules": [{"name": "orders", "subjects": ["orders.>"],
                                     "token": BEARER, "keys": ["idp"],
                                     "algorithms": ["RS256", "ES256"]}]})
        rc, v, err = env.verify(pol, env.mint("ES256", "p256", {"iss": "idp"}))
        eq((rc, v["reason"]), (1, "alg_not_allowed"), "reason (%s)" % err)
        alg = [c for c in v["checks"] if c["check"] == "alg"][0]
        check(alg["ok"] is False and "type this algorithm needs" in alg["detail"], alg)
        rc, v, err = env.verify(pol, env.tok1)
        eq((rc, v["reason"]), (0, "ok"), "an RS256 token still passes (%s)" % err)


def blocked_signals(pid):
    """Each thread's blocked signal mask, from /proc."""
    masks = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                if line.startswith("SigBlk:"):
                    masks["%s %s" % (tid, name)] = int(line.split()[1], 16)
    return masks


@case
def signals_reach_only_the_main_thread_with_a_jwks_url(env):
    """record with a jwks_url: no thread (the key fetcher's included) takes SIGINT or SIGTERM,
    so a signal drains and commits instead of killing the recorder"""
    folder = env.folder("signals")
    db = os.path.join(folder, "t.db")
    term_int = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        rec = record(env, nats.url, env.pol(srv.url, allow_http=True), db, folder)
        try:
            rec.wait_for("recording")
            masks = blocked_signals(rec.proc.pid)
            check(len(masks) >= 4, "several threads: %r" % masks)
            # The main thread waits for them in sigtimedwait(), which unblocks them meanwhile.
            open_ = [t for t, m in masks.items() if m & term_int != term_int and
                     int(t.split()[0]) != rec.proc.pid]
            eq(open_, [], "threads other than the main one that could take SIGINT/SIGTERM")
            ztpub(nats.url, env.capture(folder, "k1.jsonl", [env.tok1] * 50))
            wait_until(lambda: trail_count(db) >= 50, 30, "events recorded")
        finally:
            eq(rec.stop(signal.SIGINT), 0, "recorder exit on SIGINT")
    check("(final)" in rec.stderr(), "the final stats line: " + rec.stderr()[-600:])


@case
def hostile_refetch_reaches_stderr_defused(env):
    """a refetch that fails on a hostile document: the key state on the stats lines quotes
    it with ESC, BEL and bidi controls escaped"""
    folder = env.folder("hostile")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        srv.serve(headers={"Cache-Control": "public, max-age=1"})
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1, refresh_s=300)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            srv.serve(doc={"keys": [dict(env.k1, use="enc\x1b]0;PWNED\x07\x1b[2J\u202e")]})
            rec.wait_for("STALE", 15)
            rec.wait_for("PWNED", 15)
        finally:
            eq(rec.stop(), 0, "recorder exit")
    err = rec.stderr()
    for raw in ("\x1b", "\x07", "\u202e"):
        check(raw not in err, "%r escaped: %r" % (raw, err[-600:]))
    check("\\x1b]0;PWNED\\x07" in err, "the document's text is shown escaped: %r" % err[-600:])


@case
def refresh_without_max_age_waits_refresh_s(env):
    """Without Cache-Control the set is fetched once and kept for refresh_s"""
    folder = env.folder("quiet")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1, refresh_s=300)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            ztpub(nats.url, env.capture(folder, "k1.jsonl", [env.tok1] * 5))
            wait_until(lambda: trail_count(db) >= 5, 30, "events recorded")
            time.sleep(2.5)
        finally:
            eq(rec.stop(), 0, "recorder exit")
        eq(srv.count(), 1, "one fetch")
    check("keys idp 1 (fetched" in rec.stderr(), "the stats line shows the keys")


@case
def console_shows_key_state_and_changes(env):
    """watch: the status line says keys ok, then STALE when the server fails; a rotation shows
    as a key-set row in the events list whose detail names the keys added and removed, and
    an event's detail names its key set"""
    if shutil.which("tmux") is None:
        print("skip - console key state: tmux is not installed")
        return
    folder = env.folder("console")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1)
        t = Tmux(folder, [ZTWATCH, "-s", nats.url, "-p", pol, "-d", db, "watch", "orders.>"])
        try:
            t.wait_for("keys ok")
            ztpub(nats.url, env.capture(folder, "k1.jsonl", [env.tok1] * 3))
            t.wait_for("3 events")
            t.keys("Enter")
            s = t.wait_for("Trace")
            check(re.search(r"key set\s+SHA256:", s), "the event names its key set:\n" + s)
            srv.serve(doc={"keys": [dict(env.k2, kid="k2\x1b[2J")]})
            tok = env.mint("RS256", "rsa2", {"iss": "idp"}, kid="k2\x1b[2J", exp_in=3600)
            cap = env.capture(folder, "k2.jsonl", [tok])
            wait_until(lambda: ztpub(nats.url, cap) is not None and
                       trail_count(db, "kind = 'keyset'") >= 1, 30, "the key set changes")
            s = t.wait_for("key set changed")
            t.keys("g")
            t.keys("/", "key set", "Enter")
            t.wait_for("Key set change")
            t.keys("Enter")
            s = t.wait_for("removed")
            check("k2?[2J" in s and "k1" in s, "added and removed keys, defused:\n" + s)
            srv.serve(status=503, headers={})
            srv.serve(doc={"keys": [env.k1]})
            # A miss asks for a refetch, which fails: the keys go STALE.
            ztpub(nats.url, env.capture(folder, "f.jsonl", [forged("nope")]))
            t.wait_for("keys STALE", 20)
            t.keys("q")
            eq(t.exit_code(), 0, "exit code after q")
        finally:
            t.close()


@case
def keyset_row_change_spans_sets_no_event_saw(env):
    """two rotations with no event between them (add k2, then drop k1): the one keyset row
    written says what changed since the key set the trail last recorded (+k2 -k1), not only
    since the set in between that judged nothing"""
    folder = env.folder("skipped")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        srv.serve(headers={"Cache-Control": "max-age=1"})
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            srv.serve(doc={"keys": [env.k1, env.k2]})
            rec.wait_for("keys idp changed: +k2", 15)
            srv.serve(doc={"keys": [env.k2]})
            rec.wait_for("keys idp changed: -k1", 15)
            ztpub(nats.url, env.capture(folder, "k2.jsonl", [env.tok2]))
            wait_until(lambda: trail_count(db) >= 1, 30, "the k2 event recorded")
        finally:
            eq(rec.stop(), 0, "recorder exit")
    eq([(r["kid"], r["verdict"]) for r in events(db)], [("k2", "pass")], "the event")
    keysets = trail_rows(db, "kind = 'keyset'")
    eq(len(keysets), 1, "one keyset row, before the one event")
    change = json.loads(keysets[0]["detail"])["change"]
    eq([k["kid"] for k in change["added"]], ["k2"], "added since the session's set")
    eq([k["kid"] for k in change["removed"]], ["k1"], "removed since the session's set")
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify: %s %s" % (out, err))


@case
def redirect_caching_headers_do_not_count(env):
    """the Cache-Control of a redirect on the way is not the key set's: a set served after a
    302 saying max-age=86400, itself without one, is refetched every refresh_s"""
    with JwksServer({"keys": [env.k1]}) as srv:
        srv.redirect = {"Cache-Control": "max-age=86400"}
        folder = env.folder("redirect")
        db = os.path.join(folder, "t.db")
        with NatsServer(folder) as nats:
            pol = env.pol(srv.url, allow_http=True, refetch_min_s=1, refresh_s=1)
            rec = record(env, nats.url, pol, db, folder)
            try:
                rec.wait_for("recording")
                wait_until(lambda: srv.count() >= 6, 15, "refetches every refresh_s: %d requests"
                           % srv.count())
            finally:
                eq(rec.stop(), 0, "recorder exit")


@case
def https_url_is_never_redirected_to_http(env):
    """allow_http lets an http:// URL be used, but an https:// one that redirects to plain
    http is refused (anyone on the path could serve keys); an http:// URL may redirect"""
    folder = env.folder("downgrade")
    ca, crt, key = env.make_tls(folder)
    with JwksServer({"keys": [env.k1]}) as plain, \
            JwksServer({"keys": [env.k1]}, tls=(crt, key)) as tls:
        tls.redirect = {"Location": plain.url}
        rc, v, err = env.verify(env.pol(tls.url, ca_file=ca, allow_http=True), env.tok1)
        eq(rc, 2, "an https set redirected to http is not fetched (%s)" % err)
        check("cannot fetch keys" in err and "keys.idp" in err, err)
        eq(plain.count(), 0, "the plain http server was never asked")
        check(tls.count() >= 1, "the https server was asked")
        plain.redirect = {}
        rc, v, err = env.verify(env.pol(plain.url, allow_http=True), env.tok1)
        eq(rc, 0, "an http URL with allow_http may redirect within http (%s)" % err)


@case
def forged_kids_do_not_cut_the_backoff(env):
    """while the JWKS server fails, tries wait refetch_min_s and double: a flood of forged
    kids meanwhile does not bring one try per refetch_min_s"""
    folder = env.folder("backoff")
    db = os.path.join(folder, "t.db")
    with NatsServer(folder) as nats, JwksServer({"keys": [env.k1]}) as srv:
        srv.serve(headers={"Cache-Control": "max-age=1"})
        pol = env.pol(srv.url, allow_http=True, refetch_min_s=1, refresh_s=300)
        rec = record(env, nats.url, pol, db, folder)
        try:
            rec.wait_for("recording")
            srv.serve(status=503, headers={})
            before, start = srv.count(), time.time()
            cap = env.capture(folder, "forged.jsonl", [forged("f%d" % i) for i in range(50)])
            while time.time() - start < 7:
                ztpub(nats.url, cap)
                time.sleep(0.2)
            fetches = srv.count() - before
        finally:
            eq(rec.stop(), 0, "recorder exit")
    # Tries 1, 2, 4 s apart after the first failure: 4 in 7 s at most, not 7.
    check(1 <= fetches <= 4, "%d fetches in 7 s of failures" % fetches)


if __name__ == "__main__":
    run(JwksEnv)
