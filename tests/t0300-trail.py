"""t0300-trail.py -- ztwatch import and export: the audit trail round trip.

A capture of a few hundred messages in all three wire formats -- passing
and failing, headers with repeated values, bodies that are binary, full of
commas, quotes, CR/LF, NULs and unicode -- is imported, then exported as
JSON lines and as CSV (read back with Python's csv module, an RFC 4180
reader).  Every field must come back byte for byte, with the verdicts that
`verify --batch` gives for the same capture, in the same order, and the
capture's received_at kept.  Filters are checked alone and combined
against sets computed here from the capture.

The contract is the README's "The audit trail" and "Commands for the
trail".
"""

import base64
import hashlib
import json
import os
import select
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTWATCH, Env, Failure, batch_line, case, check, eq,  # noqa: E402
                hs_token, nats_match, read_csv_rows, rfc3339_us, run, seed_event,
                us_rfc3339, zt)

ISS = "http://localhost:8443/oauth/v2/oauth-anonymous"
OTHER_ISS = "https://other.example"
AUD = "jobs.example.com"
BEARER = {"header": "Authorization", "scheme": "Bearer"}
LITERAL_SECRET = "literal-policy-secret-Zq8mW3xR7tK1vN5pL2"
ENV_SECRET = "env-secret-from-the-environment-Hj4Kd9Lq2Wz7"
ENV_NAME = "ZT_T0300_ENV_SECRET"

EVENT_COLUMNS = ["id", "kind", "received_at", "session", "prev_hash", "hash", "subject",
                 "stream", "stream_seq", "rule", "verdict", "reason", "alg", "kid", "iss",
                 "sub", "aud", "scope", "jti", "event_id", "exp", "iat", "headers", "token",
                 "checks", "claims", "warnings"]

# Bodies that a CSV writer or a text column can get wrong.
NASTY_JSON = (b'{"eventID":"%s",\r\n "note":"a,b,,c \\"quoted\\", \\"\\" \\u0001 caf\xc3\xa9 '
              b'\xe2\x82\xac \xf0\x9f\x98\x80",\n\t"lines":"x\\r\\ny",\r\n"csv":"\\",\\"\\n\\r"}')
BINARY = bytes(range(256))[::-1] + b"\x00\x00\xff\xfe\r\n,\"" + bytes(range(128, 256))
RAW_NUL = b'{"eventID":"x\x00y","q":"\\"",\r\n"c":","}\x00'
CSV_TEXT = b'"a","b"\r\n"c,d"\n\r,,,"""\r\n' + "\u00fc\u4e2d\U0001f600".encode()
NON_UTF8_JSON = b'{"eventID":"\xff\xfe","latin1":"caf\xe9"}'


class TrailEnv(Env):
    def __init__(self):
        super().__init__()
        os.environ[ENV_NAME] = ENV_SECRET
        keys = {"rsa": {"pem_file": "rsa.pub.pem"},
                "hs": {"secret_file": "hs.secret"},
                "lit": {"secret": LITERAL_SECRET, "alg": "HS256"},
                "envk": {"secret_env": ENV_NAME, "alg": "HS512"},
                "seedjwt": {"secret_file": "seedjwt.secret", "alg": "HS256"},
                "seedevt": {"secret_file": "seedevt.secret"}}
        rules = [
            {"name": "invoicing", "subjects": ["orders.>"], "token": BEARER, "keys": ["rsa"],
             "algorithms": ["RS256"], "issuer": ISS, "audience": AUD,
             "scopes": ["trigger_invoicing"],
             "bind": [{"claim": "event_id", "equals": "/eventID"}],
             "replay": {"claim": "jti", "window_s": 86400}},
            {"name": "payments", "subjects": ["payments.*"],
             "token": {"json": "/accessToken"}, "payload": {"json": "/payload"},
             "keys": ["rsa"], "algorithms": ["RS256"], "scopes": ["resume_payments"],
             "bind": [{"claim": "event_payload_hash", "hash": "sha256", "encoding": "hex"}]},
            {"name": "seed", "subjects": ["events", "chats"], "profile": "nats_pubsub",
             "keys": ["seedjwt"], "event_key": "seedevt", "bind_publisher": True},
            {"name": "lit", "subjects": ["lit.>"], "token": BEARER, "keys": ["lit"],
             "issuer": OTHER_ISS},
            {"name": "envk", "subjects": ["envk.*"], "token": BEARER, "keys": ["envk"]},
            {"name": "raw", "subjects": ["raw.>"], "token": BEARER, "keys": ["hs"],
             "require": []},
        ]
        self.pol = self.policy({"keys": keys, "rules": rules})
        self.now = int(time.time())
        self._trail = None

    # ---- the capture -------------------------------------------------------

    def build_capture(self, rounds=14):
        """Lines (dicts or raw text) and, per line, what we know of it."""
        now = self.now
        lines, meta = [], []
        # received_at: 4 hours ago up to ~16 minutes ago, one minute apart.
        base_us = (int(time.time()) - 4 * 3600 + 30) * 1000000

        def add(line, token=None, body=None, headers=None, stamp=True):
            i = len(lines)
            us = base_us + i * 60000000 + (i * 7919) % 1000000
            fmt = i % 5
            if fmt == 0:
                text = us_rfc3339(us, offset_minutes=330)
            elif fmt == 1:
                text = us_rfc3339(us, digits=3)
            elif fmt == 2:
                text = us_rfc3339(us, offset_minutes=-420, digits=0)
            else:
                text = us_rfc3339(us)
            if isinstance(line, dict):
                if stamp:
                    line["received_at"] = text
                lines.append(line)
            else:
                lines.append(line)
            meta.append({"token": token, "body": body, "headers": headers,
                         "received_us": rfc3339_us(text) if stamp and isinstance(line, dict)
                         else None,
                         "subject": line.get("subject") if isinstance(line, dict) else None,
                         "message": isinstance(line, dict),
                         "raw": None if isinstance(line, dict) else line.rstrip("\n").encode()})

        def bearer_line(subject, token, body, extra=None, textbody=False):
            headers = {"Authorization": "Bearer " + token}
            headers.update(extra or {})
            if textbody:
                line = {"subject": subject, "headers": headers, "body": body.decode()}
            else:
                line = batch_line(subject, body, headers)
            return line, headers

        for r in range(rounds):
            evid = "e%d" % r
            jti = "jti-%d-%s" % (r, os.urandom(3).hex())
            claims = {"iss": ISS, "aud": AUD, "scope": "openid trigger_invoicing",
                      "event_id": evid, "jti": jti, "sub": "user-%d" % r}
            tok = self.mint("RS256", "rsa", claims, kid="rsa")
            body = NASTY_JSON % evid.encode()
            rep = {"X-Tag": ["a,b", 'c "d"', "\u00fc,\u00e9"], "Nats-Msg-Id": "m-%d" % r}
            line, h = bearer_line("orders.created" if r % 2 else "orders.eu.created", tok,
                                  body, rep)
            add(line, tok, body, h)                                       # pass
            line, h = bearer_line("orders.created", tok, b'{"eventID":"other"}')
            add(line, tok, b'{"eventID":"other"}', h)                     # event_id_mismatch
            line, h = bearer_line("orders.eu.created", tok, body, rep)
            add(line, tok, body, h)                                       # replay
            bad = tok[:-4] + ("AAAA" if tok[-4:] != "AAAA" else "BBBB")
            line, h = bearer_line("orders.updated", bad, body)
            add(line, bad, body, h)                                       # bad_signature
            # Token in the body, payload hashed over its exact bytes.
            payload = (b'{ "orderId" : %d,\r\n "memo": "\\"q\\", ,\\n" , "u":"\xc3\xbc"}' % r)
            ptok = self.mint("RS256", "rsa", {
                "scope": "resume_payments",
                "event_payload_hash": hashlib.sha256(payload).hexdigest()}, kid="rsa")
            pbody = b'{"accessToken":"' + ptok.encode() + b'","payload":' + payload + b"}"
            add(batch_line("payments.eu", pbody, {"X-Rep": ["1", "1", "2"]}), ptok, pbody,
                {"X-Rep": ["1", "1", "2"]})                               # pass
            tbody = pbody.replace(b'"orderId" : %d' % r, b'"orderId" : %d' % (r + 1000))
            add(batch_line("payments.us", tbody), ptok, tbody, {})        # payload_hash_mismatch
            # The Go seed's envelope.
            sbody = seed_event(self.secrets["seedjwt"], self.secrets["seedevt"],
                               {"msg": "hi <b>%d</b> & \"friends\", a,b" % r,
                                "u": "\u00e9\u2028\U0001f600"}, event_id="evt-%d" % r,
                               now=now)
            stok = json.loads(sbody)["jwt"]
            add(batch_line("events" if r % 2 else "chats", sbody), stok, sbody, {})  # pass
            wbody = seed_event(self.secrets["seedjwt"], b"not-the-event-secret",
                               {"msg": "x"}, event_id="evt-w%d" % r, now=now)
            add(batch_line("events", wbody), json.loads(wbody)["jwt"], wbody, {})  # invalid
            # Bodies no rule parses.
            add(batch_line("misc.bin.%d" % r, BINARY, {"K": "v"}), None, BINARY,
                {"K": "v"})                                               # no_policy
            htok = hs_token(self.secrets["hs"], {"sub": "raw", "exp": now + 600})
            for b in (RAW_NUL, CSV_TEXT, NON_UTF8_JSON, b""):
                line, h = bearer_line("raw.r%d" % r, htok, b)
                add(line, htok, b, h)                                     # malformed
            # Literal-secret and env-secret keys, another issuer, kid lookups.
            ltok = hs_token(LITERAL_SECRET.encode(), {
                "iss": OTHER_ISS, "sub": "lit-%d" % r, "exp": now + 600, "iat": now},
                header={"alg": "HS256", "typ": "JWT", "kid": "lit"})
            lbody = ('{"eventID":"l%d","t":"\u4e2d\u6587, \\"x\\"\\r\\n"}' % r).encode()
            line, h = bearer_line("lit.a.%d" % r, ltok, lbody, textbody=(r % 2 == 0))
            add(line, ltok, lbody, h)                                     # pass
            xtok = hs_token(LITERAL_SECRET.encode(), {
                "iss": OTHER_ISS, "sub": "old", "exp": now - 100, "iat": now - 700},
                header={"alg": "HS256", "typ": "JWT", "kid": "lit"})
            line, h = bearer_line("lit.b", xtok, b'{"a":1}')
            add(line, xtok, b'{"a":1}', h)                                # expired
            etok = hs_token(ENV_SECRET.encode(), {"sub": "env", "exp": now + 600,
                                                  "iss": ISS}, alg="HS512")
            line, h = bearer_line("envk.%d" % r, etok, b'{"e":[1,2,3]}')
            add(line, etok, b'{"e":[1,2,3]}', h)                          # pass
            add(batch_line("envk.x", b'{"e":1}', {"X-Other": "y"}), None, b'{"e":1}',
                {"X-Other": "y"})                                         # missing_token
            if r == 3:
                two = {"Authorization": ["Bearer " + etok, "Bearer " + etok]}
                add(batch_line("envk.two", b'{"e":2}', two), None, b'{"e":2}', two)
                add("not json at all\n")                                  # not a message
                add('{"headers":{"a":"b"}}\n')                            # not a message
                line, h = bearer_line("envk.nostamp", etok, b'{"e":4}')
                add(line, etok, b'{"e":4}', h, stamp=False)               # no received_at
        return lines, meta

    def trail(self):
        """Import the capture once; the batch verdicts and the unfiltered export."""
        if self._trail is not None:
            if isinstance(self._trail, Exception):
                raise self._trail
            return self._trail
        try:
            self._trail = self._build_trail()
        except Exception as e:  # every case depending on it fails the same way
            self._trail = e
            raise
        return self._trail

    def _build_trail(self):
        lines, meta = self.build_capture()
        text = "".join(json.dumps(m) + "\n" if isinstance(m, dict) else m for m in lines)
        cap = self.write("capture.jsonl", text)
        rc, out, err = zt(["-p", self.pol, "verify", "--batch", cap, "--now", str(self.now)])
        verdicts = [json.loads(x) for x in out.decode().splitlines()]
        eq(len(verdicts), len(lines), "verify --batch: one verdict per line (%s)" % err)
        db = self.path("trail.db")
        t0 = time.time()
        rc, out, err = zt(["-p", self.pol, "-d", db, "import", cap, "--now", str(self.now)])
        t1 = time.time()
        eq(rc, 0, "import exit code (stderr: %s)" % err.strip()[-400:])
        rows = export_jsonl(db)
        return {"lines": lines, "meta": meta, "verdicts": verdicts, "db": db, "cap": cap,
                "rows": rows, "t0": t0, "t1": t1}


# ---- helpers ----------------------------------------------------------------

def export_raw(db, args, fmt="jsonl"):
    rc, out, err = zt(["-d", db, "export", "--format", fmt] + list(args))
    eq(rc, 0, "export %s %s exit code (stderr: %s)" % (fmt, " ".join(args), err.strip()[-300:]))
    return out


def export_jsonl(db, args=()):
    out = export_raw(db, args)
    rows = []
    for n, line in enumerate(out.split(b"\n")):
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as e:
            raise Failure("export line %d is not JSON (%s): %r" % (n + 1, e, line[:200]))
    check(out == b"" or out.endswith(b"\n"), "export ends with a newline")
    return rows


def row_body(row):
    """The body bytes of an exported JSON-lines row (body or body_b64)."""
    if row.get("body") is not None:
        check(row.get("body_b64") is None, "row %s has both body and body_b64" % row.get("id"))
        return row["body"].encode("utf-8")
    if row.get("body_b64") is not None:
        return base64.b64decode(row["body_b64"], validate=True)
    return None


def norm_headers(h):
    if h is None:
        return None
    check(isinstance(h, dict), "headers are a JSON object: %r" % (h,))
    return {k: (v if isinstance(v, list) else [v]) for k, v in h.items()}


def events(rows):
    return [r for r in rows if r.get("kind") == "event"]


def sessions(rows):
    return [r for r in rows if r.get("kind") == "session"]


def as_json(v, what):
    """JSON columns: in JSON lines they are JSON values; accept text only for detail."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            raise Failure("%s is neither JSON nor JSON text: %r" % (what, v[:200]))
    return v


def expected_event(meta, verdict):
    """The columns an event row must have, from the capture and the batch verdict."""
    claims = verdict.get("claims")
    c = claims if isinstance(claims, dict) else {}
    aud = c.get("aud")
    want = {"kind": "event", "rule": verdict.get("rule"), "verdict": verdict["verdict"],
            "reason": verdict["reason"], "alg": verdict.get("alg"), "kid": verdict.get("kid"),
            "event_id": verdict.get("event_id"), "claims": claims,
            "checks": verdict["checks"], "iss": c.get("iss"), "sub": c.get("sub"),
            "scope": c.get("scope"), "jti": c.get("jti"), "exp": c.get("exp"),
            "iat": c.get("iat"), "stream": None, "stream_seq": None}
    if isinstance(aud, str) or aud is None:
        want["aud"] = aud
    if meta["message"]:
        want["subject"] = meta["subject"]
        want["headers"] = norm_headers(meta["headers"])
        want["body"] = meta["body"]
    else:
        want["body"] = meta["raw"]      # not a message: the line itself is kept
    token_found = any(ch["check"] == "token" and ch["ok"] is True for ch in verdict["checks"])
    if token_found or verdict.get("rule") == "seed" and verdict.get("claims"):
        want["token"] = meta["token"]
    return want


def compare_event(row, want, where):
    for k, v in want.items():
        if k == "body":
            got = row_body(row)
        elif k == "headers":
            got = norm_headers(as_json(row.get("headers"), where + " headers"))
        elif k in ("claims", "checks"):
            got = row.get(k)
            check(not isinstance(got, str), "%s: %s is JSON, not JSON text" % (where, k))
        else:
            got = row.get(k)
        eq(got, v, "%s: %s" % (where, k))
    warn = row.get("warnings")
    check(not isinstance(warn, str), "%s: warnings is JSON, not JSON text" % where)


# ---- the round trip ------------------------------------------------------------

@case
def import_records_every_line_in_order(env):
    """import: a session row first, then one event row per capture line, in order"""
    t = env.trail()
    rows = t["rows"]
    eq(len(rows), 1 + len(t["lines"]), "row count")
    eq([r.get("kind") for r in rows], ["session"] + ["event"] * len(t["lines"]), "kinds")
    ids = [r.get("id") for r in rows]
    check(all(isinstance(i, int) for i in ids), "ids are integers: %r" % ids[:5])
    eq(ids, list(range(ids[0], ids[0] + len(rows))), "ids consecutive in chain order")
    sess = {r.get("session") for r in rows}
    eq(len(sess), 1, "one session value on every row of one import")
    check(None not in sess, "session is set")


@case
def jsonl_every_event_field_matches_capture_and_batch(env):
    """export jsonl: every event field byte for byte, verdicts as verify --batch says"""
    t = env.trail()
    ev = events(t["rows"])
    eq(len(ev), len(t["lines"]), "one event per line")
    eq([(r["verdict"], r["reason"]) for r in ev],
       [(v["verdict"], v["reason"]) for v in t["verdicts"]], "verdicts in input order")
    for i, (row, meta, verdict) in enumerate(zip(ev, t["meta"], t["verdicts"])):
        compare_event(row, expected_event(meta, verdict), "line %d (id %s)" % (i + 1, row["id"]))
        eq(sorted(w for w in (row.get("warnings") or [])), sorted(verdict.get("warnings") or []),
           "line %d warnings" % (i + 1))
    # The capture covers what it claims to cover.
    reasons = {v["reason"] for v in t["verdicts"]}
    for r in ("ok", "event_id_mismatch", "replay", "bad_signature", "payload_hash_mismatch",
              "event_token_invalid", "no_policy", "malformed_message", "expired",
              "missing_token"):
        check(r in reasons, "capture has a %s event" % r)


@case
def jsonl_rows_carry_every_column(env):
    """export jsonl: every row carries every column of its kind, null or not (README)"""
    t = env.trail()
    missing = {}
    for row in t["rows"]:
        want = EVENT_COLUMNS if row.get("kind") == "event" else \
            ["id", "kind", "received_at", "session", "prev_hash", "hash", "detail"]
        for col in want:
            if col not in row:
                missing.setdefault(col, row.get("id"))
    eq(missing, {}, "columns absent (column: first row id)")


@case
def non_utf8_bodies_use_body_b64(env):
    """export jsonl: body when UTF-8 without NULs (CR/LF, quotes kept), body_b64 otherwise
    (a NUL would be \\u0000, which import, strict as jansson, refuses)"""
    t = env.trail()
    seen = {"bin": 0, "nul": 0, "text": 0}
    for row, meta in zip(events(t["rows"]), t["meta"]):
        b = meta["body"]
        if b is None:
            continue
        try:
            b.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
        if utf8 and b"\x00" not in b:
            eq(row.get("body"), b.decode(), "id %s: body is the text" % row["id"])
            check(row.get("body_b64") is None, "id %s: no body_b64 for a UTF-8 body" % row["id"])
            seen["text"] += 1
        else:
            check(row.get("body") is None, "id %s: no text body for a binary one" % row["id"])
            eq(base64.b64decode(row.get("body_b64") or "!"), b, "id %s: body_b64" % row["id"])
            seen["nul" if utf8 else "bin"] += 1
    check(all(seen.values()), "capture has binary, NUL and text bodies: %r" % seen)


@case
def exported_events_import_again_body_for_body(env):
    """export then import: every event's body (NULs, binary, CR/LF, unicode) comes back
    byte for byte, and no line of the export is refused as not a message"""
    t = env.trail()
    exported = env.write("re.jsonl", "".join(json.dumps(r) + "\n" for r in events(t["rows"])))
    db = env.path("re.db")
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", exported, "--now", str(env.now)])
    check(rc in (0, 1) and "line" not in err, "import of the export: %s" % err.strip()[-300:])
    again = events(export_jsonl(db))
    eq(len(again), len(events(t["rows"])), "one event per exported line")
    body = lambda r: r.get("body").encode() if r.get("body") is not None else \
        (base64.b64decode(r["body_b64"]) if r.get("body_b64") else None)  # noqa: E731
    differ = [r["subject"] for r, o in zip(again, events(t["rows"])) if body(r) != body(o)]
    eq(differ, [], "subjects of the events whose body came back otherwise")
    check(not any((r.get("detail") or "").startswith("line ") for r in again),
          "no exported line was refused")


@case
def one_writer_at_a_time(env):
    """import: while another import holds the trail (here one waiting on stdin), a second
    is refused at once with one clear line, exit 1, and the first goes on unharmed"""
    from zt import ZTWATCH
    db = env.path("one-writer.db")
    first = subprocess.Popen([ZTWATCH, "-p", env.pol, "-d", db, "import", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while not os.path.exists(db + "-wal") and time.time() < deadline:
            time.sleep(0.05)
        line = json.dumps({"subject": "nowhere.x", "body_b64": ""}) + "\n"
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.write("w2.jsonl", line)])
        eq(rc, 1, "second writer: %s" % err)
        eq(err.strip(), "ztwatch: import: trail '%s' is being written by another ztwatch"
           " (record, import or the console): one writer at a time" % db, "one line")
        _, ferr = first.communicate(line.encode(), timeout=60)
        eq(first.returncode, 0, "the first import: %s" % ferr.decode()[-300:])
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    eq(len(events(export_jsonl(db))), 1, "the first import's event, once")


@case
def received_at_is_kept_to_the_microsecond_in_any_year(env):
    """import then export: a capture time after 2255 (past a double's microseconds) and
    the last microsecond of 9999 come back as written"""
    times = ["2300-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999999Z",
             "2026-11-24T01:02:03.1234565Z"]
    text = "".join(json.dumps({"subject": "nowhere.t%d" % i, "body_b64": "",
                               "received_at": when}) + "\n" for i, when in enumerate(times))
    db = env.path("years.db")
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.write("years.jsonl", text)])
    check(rc in (0, 1), "import: %s" % err.strip()[-300:])
    eq([r["received_at"] for r in events(export_jsonl(db))],
       ["2300-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999999Z",
        "2026-11-24T01:02:03.123457Z"], "received_at")


@case
def received_at_is_kept(env):
    """export: received_at from the capture line is kept (offsets, fractions), RFC 3339"""
    t = env.trail()
    for i, (row, meta) in enumerate(zip(events(t["rows"]), t["meta"])):
        got = rfc3339_us(row.get("received_at"))
        if meta["received_us"] is not None:
            eq(got, meta["received_us"], "line %d received_at %r" % (i + 1, row["received_at"]))
        elif meta["message"]:
            lo, hi = int(t["t0"] - 2) * 1000000, int(t["t1"] + 2) * 1000000
            check(lo <= got <= hi or got == env.now * 1000000,
                  "line %d without received_at: recorded at import time, got %r" %
                  (i + 1, row["received_at"]))


@case
def chain_links_in_export(env):
    """export: each row's prev_hash is the hash of the row before it"""
    rows = env.trail()["rows"]
    for a, b in zip(rows, rows[1:]):
        check(b.get("prev_hash") is not None and b["prev_hash"] == a.get("hash"),
              "id %s prev_hash %r, hash of id %s %r" % (b.get("id"), b.get("prev_hash"),
                                                       a.get("id"), a.get("hash")))
    hashes = [r.get("hash") for r in rows]
    eq(len(set(hashes)), len(hashes), "hashes distinct")


@case
def session_row_detail(env):
    """session row: version, command, policy_hash = sha256 of the policy file, key fingerprints"""
    t = env.trail()
    s = t["rows"][0]
    eq(s.get("kind"), "session", "first row kind")
    d = as_json(s.get("detail"), "session detail")
    check(isinstance(d, dict), "detail is a JSON object: %r" % (d,))
    with open(env.pol, "rb") as f:
        ph = hashlib.sha256(f.read()).hexdigest()
    check(d.get("policy_hash") in (ph, "sha256:" + ph),
          "policy_hash %r, want sha256 of the policy file %s" % (d.get("policy_hash"), ph))
    eq(d.get("command"), "import", "command")
    rc, out, err = zt(["--version"])
    check(d.get("version") and str(d.get("version")) in out.decode() + err,
          "version %r in --version output %r" % (d.get("version"), out))
    rc, out, err = zt(["-p", env.pol, "keys"])
    eq(rc, 0, "keys: " + err)
    fps = {}
    for line in out.decode().splitlines():
        if line.strip() and not line.startswith("    "):
            parts = line.split()
            fps[parts[0]] = parts[-1]
    keys = d.get("keys")
    check(isinstance(keys, list), "detail.keys is a list: %r" % (keys,))
    got = {k.get("name"): k.get("fingerprint") for k in keys}
    eq(got, fps, "key names and fingerprints as `ztwatch keys` shows them")
    for k in keys:
        for field in ("name", "kid", "type", "fingerprint"):
            check(field in k, "key %r has %s" % (k.get("name"), field))
    check("source" in d, "detail has source")


@case
def no_secret_anywhere(env):
    """secrets: no key secret (file, literal, env) in the database files or the exports"""
    t = env.trail()
    blobs = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = t["db"] + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                blobs[os.path.basename(p)] = f.read()
    blobs["jsonl"] = export_raw(t["db"], [])
    blobs["csv"] = export_raw(t["db"], [], fmt="csv")
    secrets = [LITERAL_SECRET.encode(), ENV_SECRET.encode()] + list(env.secrets.values())
    for s in secrets:
        forms = [s, s.hex().encode(), base64.b64encode(s).rstrip(b"="),
                 base64.urlsafe_b64encode(s).rstrip(b"=")]
        for name, data in blobs.items():
            for form in forms:
                check(form not in data, "secret %r (as %r) found in %s" % (s[:8], form[:12], name))


@case
def csv_round_trip_through_a_real_reader(env):
    """export csv: RFC 4180 read back by Python's csv module, every field as in JSON lines"""
    t = env.trail()
    head, recs = read_csv_rows(export_raw(t["db"], [], fmt="csv"))
    for col in EVENT_COLUMNS + ["detail", "gap_count", "body", "body_b64"]:
        check(col in head, "CSV column %s (header: %r)" % (col, head))
    rows = t["rows"]
    eq(len(recs), len(rows), "CSV records = JSON lines rows")
    json_cols = ("claims", "checks", "headers", "warnings", "detail")
    for rec, row in zip(recs, rows):
        where = "CSV id %s" % rec.get("id")
        for k, v in row.items():
            if k in ("body", "body_b64"):
                continue
            got = rec.get(k)
            if k in json_cols:
                if v is None or v == [] and got == "":
                    check(got in ("", "null", "[]"), "%s: %s empty, got %r" % (where, k, got))
                    continue
                try:
                    parsed = json.loads(got)
                except ValueError:
                    raise Failure("%s: %s is not JSON text: %r" % (where, k, got[:200]))
                eq(parsed, as_json(v, k), "%s: %s" % (where, k))
            elif v is None:
                eq(got, "", "%s: %s (null)" % (where, k))
            elif isinstance(v, bool):
                raise Failure("%s: unexpected boolean column %s" % (where, k))
            elif isinstance(v, int):
                eq(got, str(v), "%s: %s" % (where, k))
            else:
                eq(got, v, "%s: %s" % (where, k))
    for rec, meta in zip(recs[1:], t["meta"]):
        b = meta["body"]
        if b is None:
            continue
        got = rec["body"].encode("utf-8") if rec["body"] else \
            base64.b64decode(rec["body_b64"], validate=True)
        check(not (rec["body"] and rec["body_b64"]), "CSV id %s: body or body_b64" % rec["id"])
        eq(got, b, "CSV id %s body bytes" % rec["id"])
        if meta["subject"] is not None:
            eq(rec["subject"], meta["subject"], "CSV id %s subject" % rec["id"])
            eq(norm_headers(json.loads(rec["headers"])), norm_headers(meta["headers"]),
               "CSV id %s headers" % rec["id"])


# ---- filters ------------------------------------------------------------------

def model(t):
    """Per exported row: what the filters see, from the capture (events) or the row."""
    out = []
    rows = t["rows"]
    ev = iter(zip(t["meta"], t["verdicts"]))
    for row in rows:
        if row["kind"] == "event":
            meta, v = next(ev)
            c = v.get("claims") if isinstance(v.get("claims"), dict) else {}
            us = meta["received_us"] if meta["received_us"] is not None else \
                rfc3339_us(row["received_at"])
            out.append({"id": row["id"], "kind": "event", "subject": meta["subject"],
                        "verdict": v["verdict"], "reason": v["reason"], "iss": c.get("iss"),
                        "kid": v.get("kid"), "us": us})
        else:
            out.append({"id": row["id"], "kind": row["kind"], "subject": row.get("subject"),
                        "us": rfc3339_us(row["received_at"])})
    return out


def pred(since=None, until=None, subject=None, verdict=None, reason=None, iss=None, kid=None):
    def f(m):
        if since is not None and m["us"] < since:
            return False
        if until is not None and m["us"] > until:
            return False
        if subject is not None:
            if m["kind"] == "session" or m["subject"] is None or \
                    not nats_match(subject, m["subject"]):
                return False
        for name, val in (("verdict", verdict), ("reason", reason), ("iss", iss), ("kid", kid)):
            if val is not None and (m["kind"] != "event" or m.get(name) != val):
                return False
        return True
    return f


def check_filter(env, args, p, fmt="jsonl", rel=None):
    """Export with args; the ids must be those p selects.  With rel (a function
    of now in microseconds giving p), relative times are judged as of the
    moment of the export: if a row crosses a bound meanwhile, try again."""
    t = env.trail()
    for attempt in range(3):
        before = int(time.time() * 1000000)
        if fmt == "jsonl":
            got = [r["id"] for r in export_jsonl(t["db"], args)]
        else:
            got = [int(r["id"]) for r in read_csv_rows(export_raw(t["db"], args, fmt="csv"))[1]]
        after = int(time.time() * 1000000)
        if rel is None:
            want = [m["id"] for m in model(t) if p(m)]
            break
        want = [m["id"] for m in model(t) if rel(before)(m)]
        if want == [m["id"] for m in model(t) if rel(after)(m)]:
            break
    eq(got, want, "%s ids for %s" % (fmt, " ".join(args)))
    return want


def mid_us(t, a, b):
    """A time halfway between the received_at of event lines a and b."""
    return (t["meta"][a]["received_us"] + t["meta"][b]["received_us"]) // 2


@case
def filter_verdict_reason(env):
    """filters: --verdict and --reason alone (event filters leave out session rows)"""
    for v in ("pass", "fail"):
        check(check_filter(env, ["--verdict", v], pred(verdict=v)), "some %s" % v)
    for r in ("ok", "event_id_mismatch", "malformed_message", "replay", "no_policy"):
        check(check_filter(env, ["--reason", r], pred(reason=r)), "some %s" % r)
    eq(check_filter(env, ["--reason", "alg_not_allowed"], pred(reason="alg_not_allowed")), [],
       "no such reason: empty")


@case
def filter_iss_kid(env):
    """filters: --iss and --kid alone"""
    for iss in (ISS, OTHER_ISS, "publisher-1"):
        check(check_filter(env, ["--iss", iss], pred(iss=iss)), "some events from %s" % iss)
    kids = sorted({v.get("kid") for v in env.trail()["verdicts"] if v.get("kid")})
    check(len(kids) >= 2, "the capture has at least two kids: %r" % kids)
    for kid in kids:
        check_filter(env, ["--kid", kid], pred(kid=kid))


@case
def filter_event_id(env):
    """filters: --event-id finds exactly the events with that id (through its index)"""
    t = env.trail()
    rows = export_jsonl(t["db"], [])
    ids = sorted({r["event_id"] for r in rows if r.get("event_id")})
    check(len(ids) >= 3, "the capture has event ids: %r" % ids[:5])
    for eid in ids[:3] + ids[-3:] + ["no-such-event-id"]:
        want = [r["id"] for r in rows if r["kind"] == "event" and r.get("event_id") == eid]
        got = [r["id"] for r in export_jsonl(t["db"], ["--event-id", eid])]
        eq(got, want, "ids for --event-id %s" % eid)
    dup = [e for e in ids if sum(1 for r in rows if r.get("event_id") == e) > 1]
    if dup:
        check(len(export_jsonl(t["db"], ["--event-id", dup[0]])) > 1,
              "an id seen twice (a replay) gives both rows")


@case
def filter_subject_wildcards(env):
    """filters: --subject with literal subjects and NATS wildcards * and >"""
    for pat in ("orders.>", "orders.*", "orders.*.created", "*.created", "events", "lit.>",
                "raw.*", "misc.bin.*", ">", "*", "nothing.here"):
        check_filter(env, ["--subject", pat], pred(subject=pat))


@case
def filter_absolute_times(env):
    """filters: --since/--until as RFC 3339 (Z and offsets) and epoch seconds"""
    t = env.trail()
    a, b = mid_us(t, 40, 41), mid_us(t, 150, 151)
    check_filter(env, ["--since", us_rfc3339(a)], pred(since=a))
    check_filter(env, ["--until", us_rfc3339(b, offset_minutes=120)], pred(until=b))
    check_filter(env, ["--since", us_rfc3339(a, offset_minutes=-300), "--until", us_rfc3339(b)],
                 pred(since=a, until=b))
    secs = a // 1000000 + 1
    check_filter(env, ["--since", str(secs)], pred(since=secs * 1000000))
    check_filter(env, ["--until", str(secs)], pred(until=secs * 1000000))
    # A bound at or before the epoch would read as no bound at all: refused.
    for when in ("0", "1970-01-01T00:00:00Z", "1969-12-31T23:00:00Z", "-200000000d"):
        for opt in ("--until", "--since"):
            rc, out, err = zt(["-d", t["db"], "export", opt, when])
            eq(rc, 2, "%s %s: exit code (%s)" % (opt, when, err.strip()))
            want = "%s '%s' is not a time after 1970-01-01 and before 10000" % (opt, when)
            check(want in err and out == b"", "%s %s: %r" % (opt, when, err))
    # Past the end of 9999, or an offset of a day or more: refused, not every row
    # (microseconds of 18446744073710 s overflow an int64_t and wrapped).
    for when in ("18446744073710", "1795495130760421", "253402300800", "+%d" % secs,
                 "9999-12-31T23:59:59-00:01", "2026-01-01T00:00:00+25:00",
                 "2026-01-01T00:00:00-23:60"):
        for opt in ("--until", "--since"):
            rc, out, err = zt(["-d", t["db"], "export", "--format", "jsonl", opt, when])
            eq(rc, 2, "%s %s: exit code (%s)" % (opt, when, err.strip()))
            check("'%s'" % when in err and out == b"", "%s %s: %r" % (opt, when, err))
    check_filter(env, ["--until", "253402300799"], pred(until=253402300799 * 1000000))
    check_filter(env, ["--since", "9999-12-31T23:59:59.999999Z"],
                 pred(since=253402300799 * 1000000 + 999999))


@case
def filter_relative_times(env):
    """filters: --since/--until relative (-2h, -90m, -1h, -7d, -30s) on recent received_at"""
    H, M = 3600 * 1000000, 60 * 1000000
    for args, rel in (
            (["--since", "-2h"], lambda n: pred(since=n - 2 * H)),
            (["--since", "-90m"], lambda n: pred(since=n - 90 * M)),
            (["--until", "-1h"], lambda n: pred(until=n - H)),
            (["--since", "-3h", "--until", "-1h"], lambda n: pred(since=n - 3 * H, until=n - H)),
            (["--since", "-7d"], lambda n: pred(since=n - 7 * 24 * H)),
            (["--since", "-30s", "--subject", ">"],
             lambda n: pred(since=n - 30 * 1000000, subject=">"))):
        want = check_filter(env, args, None, rel=rel)
        if args[:2] == ["--since", "-2h"]:
            check(10 < len(want) < len(env.trail()["rows"]) - 10, "-2h selects some, not all")


@case
def filters_combined(env):
    """filters: combined with AND, in JSON lines and CSV"""
    t = env.trail()
    a, b = mid_us(t, 30, 31), mid_us(t, 180, 181)
    kid = "rsa" if any(v.get("kid") == "rsa" for v in t["verdicts"]) else \
        next(v["kid"] for v in t["verdicts"] if v.get("kid"))
    combos = [
        (["--verdict", "fail", "--subject", "orders.>", "--since", us_rfc3339(a)],
         pred(verdict="fail", subject="orders.>", since=a)),
        (["--reason", "ok", "--kid", kid, "--until", us_rfc3339(b)],
         pred(reason="ok", kid=kid, until=b)),
        (["--iss", ISS, "--verdict", "pass", "--subject", "orders.*"],
         pred(iss=ISS, verdict="pass", subject="orders.*")),
        (["--subject", "*.eu.created", "--reason", "replay", "--since", us_rfc3339(a),
          "--until", us_rfc3339(b), "--iss", ISS, "--kid", kid, "--verdict", "fail"],
         pred(subject="*.eu.created", reason="replay", since=a, until=b, iss=ISS, kid=kid,
              verdict="fail")),
    ]
    for args, p in combos:
        check(check_filter(env, args, p), "combination selects something: %s" % args)
        check_filter(env, args, p, fmt="csv")
    args = ["--since", "-2h", "--verdict", "fail", "--subject", "raw.>"]
    for fmt in ("jsonl", "csv"):
        check(check_filter(env, args, None, fmt=fmt, rel=lambda n: pred(
            since=n - 7200 * 1000000, verdict="fail", subject="raw.>")), "relative combination")
    eq(check_filter(env, ["--verdict", "pass", "--reason", "replay"],
                    pred(verdict="pass", reason="replay")), [], "contradiction: empty")
    head, recs = read_csv_rows(export_raw(t["db"], ["--subject", "nothing.>"], fmt="csv"))
    eq(recs, [], "empty CSV export has only the header")


@case
def output_file_same_as_stdout(env):
    """export: -o FILE writes exactly what stdout gets, and nothing to stdout"""
    t = env.trail()
    for fmt in ("jsonl", "csv"):
        args = ["--verdict", "fail", "--subject", "orders.>"]
        out = export_raw(t["db"], args, fmt=fmt)
        f = env.path("out." + fmt)
        rc, so, err = zt(["-d", t["db"], "export", "--format", fmt] + args + ["-o", f])
        eq(rc, 0, "export -o exit: " + err)
        eq(so, b"", "nothing on stdout with -o")
        eq(err, "", "no progress on stderr when it is not a terminal")
        with open(f, "rb") as fh:
            eq(fh.read(), out, "%s file content = stdout" % fmt)
        check(len(out) > 100, "non-trivial export")


def drain_fifo(fd, proc, timeout=120):
    """What the reader of a FIFO (fd, opened O_NONBLOCK before proc writes)
    gets until the writer closes it; None when proc ends without opening it."""
    got, deadline = b"", time.time() + timeout
    po = select.poll()
    po.register(fd, select.POLLIN)
    while time.time() < deadline:
        if po.poll(200):
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                return got
            got += chunk
        elif proc.poll() is not None:
            return got or None
    raise Failure("the FIFO's writer did not finish in %d s" % timeout)


def leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".partial"))


@case
def output_into_a_fifo(env):
    """export -o FIFO: the rows go into the FIFO, to its reader; the FIFO stays a FIFO"""
    t = env.trail()
    folder = env.folder("fifo")
    fifo = os.path.join(folder, "rows.fifo")
    os.mkfifo(fifo)
    for fmt in ("jsonl", "csv"):
        args = ["--verdict", "fail", "--format", fmt]
        want = export_raw(t["db"], args[:2], fmt=fmt)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            p = subprocess.Popen([ZTWATCH, "-d", t["db"], "export"] + args + ["-o", fifo],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            got = drain_fifo(fd, p)
            so, err = p.communicate(timeout=120)
        finally:
            os.close(fd)
        err = err.decode(errors="replace")
        eq(p.returncode, 0, "%s: exit (stderr: %s)" % (fmt, err.strip()))
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "%s: the FIFO is still a FIFO" % fmt)
        check(got is not None, "%s: the FIFO's reader got nothing" % fmt)
        eq(got, want, "%s: what the FIFO's reader got = stdout" % fmt)
        eq(leftovers(folder), [], "%s: partial files left" % fmt)


@case
def output_through_a_symlink(env):
    """export -o LINK: the file it names gets the rows (made if missing), the link stays"""
    t = env.trail()
    folder = env.folder("symlink")
    want = export_raw(t["db"], ["--verdict", "fail"])
    os.mkdir(os.path.join(folder, "real"))
    with open(os.path.join(folder, "real", "rows.jsonl"), "w") as f:
        f.write("old rows\n" * 100000)
    for name, target in (("link.jsonl", "real/rows.jsonl"), ("dangling.jsonl", "real/new.jsonl")):
        link = os.path.join(folder, name)
        os.symlink(target, link)
        rc, so, err = zt(["-d", t["db"], "export", "--format", "jsonl", "--verdict", "fail",
                          "-o", link])
        eq(rc, 0, "%s: exit (stderr: %s)" % (name, err.strip()))
        check(os.path.islink(link), "%s: still a symlink" % name)
        eq(os.readlink(link), target, "%s: the link's target" % name)
        with open(os.path.join(folder, target), "rb") as f:
            eq(f.read(), want, "%s: the file it names = stdout" % name)
        eq(leftovers(folder) + leftovers(os.path.join(folder, "real")), [],
           "%s: partial files left" % name)


def private_device(folder, name, minor):
    """A character device of the memory driver (1, minor: 3 null, 7 full) made in
    folder, so that no test can replace the system's; None (and why) when it cannot
    be made or opened (no root, a nodev mount)."""
    path = os.path.join(folder, name)
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        os.close(os.open(path, os.O_WRONLY))
    except OSError as e:
        return None, str(e)
    return path, None


@case
def output_into_a_device(env):
    """export -o DEVICE: written into, not replaced; a full one: one message, exit 2"""
    t = env.trail()
    folder = env.folder("device")
    null, why = private_device(folder, "null", 3)
    full, why = private_device(folder, "full", 7) if null else (None, why)
    if full is None:
        print("skip - export into a device: %s" % why)
        return
    rc, so, err = zt(["-d", t["db"], "export", "--format", "jsonl", "-o", null])
    eq(rc, 0, "null: exit (stderr: %s)" % err.strip())
    eq((so, err), (b"", ""), "null: nothing on stdout or stderr")
    check(stat.S_ISCHR(os.lstat(null).st_mode), "null: still a character device")
    for args in (["--format", "jsonl"], ["--format", "csv"],
                 ["-d", t["db"], "-d", t["db"], "--format", "jsonl"]):
        rc, so, err = zt(["-d", t["db"], "export"] + args + ["-o", full])
        eq(rc, 2, "%s: exit (stderr: %s)" % (args, err.strip()))
        eq(err, "ztwatch: export: cannot write '%s': No space left on device\n" % full,
           "%s: one message" % args)
        check(stat.S_ISCHR(os.lstat(full).st_mode), "%s: still a character device" % args)
        eq(leftovers(folder), [], "%s: partial files left" % args)


@case
def stdout_to_a_full_disk_is_exit_2(env):
    """export > a full disk: one message and exit 2 (README), one trail or merged"""
    t = env.trail()
    for args in (["--format", "jsonl"], ["--format", "csv"],
                 ["-d", t["db"], "-d", t["db"], "--format", "jsonl"]):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([ZTWATCH, "-d", t["db"], "export"] + args, stdout=full,
                               stderr=subprocess.PIPE)
        err = p.stderr.decode(errors="replace")
        eq(p.returncode, 2, "%s: exit (stderr: %s)" % (args, err.strip()))
        eq(err, "ztwatch: export: cannot write the output: No space left on device\n",
           "%s: one message" % args)


@case
def export_usage_errors(env):
    """export: an unknown format or a bad filter value is a usage error (exit 2)"""
    t = env.trail()
    for args in (["--format", "xml"], ["--format", "jsonl", "--since", "yesterday"],
                 ["--format", "jsonl", "--verdict", "maybe"]):
        rc, out, err = zt(["-d", t["db"], "export"] + args)
        eq(rc, 2, "exit for %s (stderr %s)" % (args, err.strip()))
        check(err.strip(), "a message on stderr for %s" % args)


@case
def two_imports_append(env):
    """import twice into one database: two session rows, ids continue, chain intact"""
    db = env.path("two.db")
    now = int(time.time())
    tok = hs_token(env.secrets["hs"], {"sub": "t", "exp": now + 600})
    caps = []
    for n, count in ((1, 5), (2, 4)):
        text = "".join(json.dumps(batch_line("raw.two%d" % n, b"{\"n\":%d}" % i,
                                             {"Authorization": "Bearer " + tok})) + "\n"
                       for i in range(count))
        caps.append(env.write("two%d.jsonl" % n, text))
    for cap in caps:
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap])
        eq(rc, 0, "import %s: %s" % (cap, err))
    rows = export_jsonl(db)
    eq([r["kind"] for r in rows], ["session"] + ["event"] * 5 + ["session"] + ["event"] * 4,
       "kinds")
    ids = [r["id"] for r in rows]
    eq(ids, list(range(ids[0], ids[0] + 11)), "ids continue")
    s1, s2 = rows[0]["session"], rows[6]["session"]
    check(s1 != s2, "two sessions differ")
    eq([r["session"] for r in rows], [s1] * 6 + [s2] * 5, "session of each row")
    eq(rows[6]["prev_hash"], rows[5]["hash"], "second session chains onto the first")
    eq([r["subject"] for r in rows if r["kind"] == "event"],
       ["raw.two1"] * 5 + ["raw.two2"] * 4, "subjects")
    eq([row_body(r) for r in rows if r["kind"] == "event"],
       [b'{"n":%d}' % i for i in range(5)] + [b'{"n":%d}' % i for i in range(4)], "bodies")
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 0, "audit verify: %s %s" % (out, err))
    # The database itself: the sessions table has both sessions.
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        eq(n, 2, "sessions table rows")
        eq(con.execute("SELECT count(*) FROM trail").fetchone()[0], 11, "trail rows")
    finally:
        con.close()


@case
def import_from_stdin(env):
    """import -: the capture read from stdin records the same events"""
    t = env.trail()
    db = env.path("stdin.db")
    with open(t["cap"], "rb") as f:
        data = f.read()
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", "-", "--now", str(env.now)], input=data)
    eq(rc, 0, "import - exit (stderr %s)" % err.strip()[-300:])
    rows = export_jsonl(db)
    keep = ("kind", "subject", "verdict", "reason", "received_at", "headers", "body", "body_b64",
            "token", "claims", "checks", "event_id", "kid", "iss")
    got, want = events(rows), events(t["rows"])
    eq(len(got), len(want), "event count")
    for i, (a, b, meta) in enumerate(zip(got, want, t["meta"])):
        for k in keep:
            if k == "received_at" and meta["received_us"] is None:
                continue        # stamped at import time
            eq(a.get(k), b.get(k), "line %d: %s as from the file" % (i + 1, k))


def trail_rows(db):
    """Rows in the trail table of db (0 when there is no database or no table)."""
    if not os.path.exists(db):
        return 0
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
        return con.execute("SELECT count(*) FROM trail").fetchone()[0] if "trail" in tables \
            else 0
    finally:
        con.close()


@case
def import_usage_errors(env):
    """import: a missing capture or a bad policy is exit 2 and records nothing"""
    db = env.path("usage.db")
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.path("no-such.jsonl")])
    eq(rc, 2, "missing capture: exit (stderr %s)" % err.strip())
    check("no-such.jsonl" in err, "names the capture: " + err)
    eq(trail_rows(db), 0, "rows recorded when the capture is missing")
    bad = env.policy('{"keys": {}, "rules": [{"name": "x"}]}')
    cap = env.write("one.jsonl", json.dumps(batch_line("raw.x", b"{}")) + "\n")
    db2 = env.path("usage2.db")
    rc, out, err = zt(["-p", bad, "-d", db2, "import", cap])
    eq(rc, 2, "bad policy: exit (stderr %s)" % err.strip())
    eq(trail_rows(db2), 0, "rows recorded when the policy is bad")


@case
def export_to_a_terminal_is_safe(env):
    """export on a terminal: CSV refused (raw bytes), JSON lines escape every control byte"""
    import pty
    db = env.path("tty.db")
    pol = env.policy({"keys": {"hs": {"secret_file": "hs.secret"}},
                      "rules": [{"name": "r", "subjects": ["t.>"], "token": {"header": "A"},
                                 "keys": ["hs"], "require": []}]})
    cap = env.write("tty.jsonl", json.dumps(batch_line(
        "t.x", b'{"evil":"\x1b]2;pwned\x07\x1b[2J\xc2\x9b31m"}', {})) + "\n")
    subprocess.run([ZTWATCH, "-p", pol, "-d", db, "import", cap], check=True,
                   capture_output=True)
    for fmt, want_rc in (("csv", 2), ("jsonl", 0)):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(ZTWATCH, [ZTWATCH, "-d", db, "export", "--format", fmt])
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        eq(os.waitstatus_to_exitcode(status), want_rc, "exit code for %s" % fmt)
        check(b"\x1b" not in out and b"\xc2\x9b" not in out, "raw escapes on the tty: %r" % out[:200])


if __name__ == "__main__":
    run(TrailEnv)
