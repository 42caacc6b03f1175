"""t0310-audit.py -- ztwatch audit verify: the hash chain catches edits.

Trails are made by `ztwatch import`; then they are tampered with directly,
with Python's sqlite3 module on the database file (table `trail`, the
`sessions` table), as someone with write access to the file would.  Any
triggers are dropped first: such a person can do that too.

Contract (README, "The audit trail"): exit 0 and the head hash printed when
intact; exit 1 naming the first bad row when a row was edited, deleted,
inserted or replaced, or when rows at the end were deleted; exit 2 when the
database cannot be read.  What is NOT detected, by design: a rewrite that
recomputes every hash after the edit and updates the sessions table -- the
test for that asserts exit 0 and shows that the head hash printed before
(kept elsewhere) no longer matches.
"""

import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (Env, Failure, batch_line, case, check, eq, hs_token, read_csv_rows,  # noqa: E402
                run, us_rfc3339, zt)

SESSION_SIZES = (150, 150)
EDITED = ["edit", "modif", "chang"]
DELETED = ["delet", "missing", "removed"]
INSERTED = ["insert", "replac"]


class AuditEnv(Env):
    def __init__(self):
        super().__init__()
        self.pol = self.policy({
            "keys": {"hs": {"secret_file": "hs.secret"}},
            "rules": [{"name": "bulk", "subjects": ["bulk.>"],
                       "token": {"header": "Authorization", "scheme": "Bearer"},
                       "keys": ["hs"], "require": []}]})
        self.ncopy = 0
        self._dbs = {}
        self._enc = None

    def pristine(self, name, extra=0):
        """A trail of two imports (tag name), built once; returns its path."""
        if name in self._dbs:
            return self._dbs[name]
        db = self.path("pristine-%s.db" % name)
        now = int(time.time())
        tok = hs_token(self.secrets["hs"], {"sub": name, "exp": now + 3600})
        for s, size in enumerate(SESSION_SIZES):
            size += extra if s == len(SESSION_SIZES) - 1 else 0
            text = "".join(json.dumps(batch_line(
                "bulk.%s.%d" % (name, s), b'{"n":%d,"who":"%s","pad":"%s"}' % (i, name.encode(),
                                                                             b"x" * (i % 7)),
                {"Authorization": "Bearer " + tok})) + "\n" for i in range(size))
            cap = self.write("cap-%s-%d.jsonl" % (name, s), text)
            rc, out, err = zt(["-p", self.pol, "-d", db, "import", cap])
            eq(rc, 0, "import %s (stderr: %s)" % (cap, err.strip()[-300:]))
        self._dbs[name] = db
        return db

    def copy(self, name="a", src=None):
        """A fresh copy of a pristine trail, or of the trail at src (with its -wal, if any)."""
        src = src or self.pristine(name)
        self.ncopy += 1
        dst = self.path("copy%d.db" % self.ncopy)
        for suffix in ("", "-wal"):
            if os.path.exists(src + suffix):
                shutil.copyfile(src + suffix, dst + suffix)
        return dst


def connect(db):
    con = sqlite3.connect(db, isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute('DROP TRIGGER "%s"' % name)
    return con


def tamper(db, *sql):
    """Run SQL statements (text, or (text, params)) on the database file, as an attacker."""
    con = connect(db)
    try:
        con.execute("BEGIN")
        for st in sql:
            if isinstance(st, tuple):
                con.execute(*st)
            else:
                con.execute(st)
        con.execute("COMMIT")
    finally:
        con.close()


def audit(db):
    rc, out, err = zt(["-d", db, "audit", "verify"])
    return rc, out.decode(errors="replace") + err


def names(text, row_id):
    return re.search(r"(?<![0-9A-Za-z])%d(?![0-9A-Za-z])" % row_id, text) is not None


def expect_bad(db, row_ids, words, what):
    """Exit 1, a message naming one of row_ids and containing one of words."""
    rc, text = audit(db)
    eq(rc, 1, "%s: exit code (output: %s)" % (what, text.strip()[-400:]))
    check(any(names(text, i) for i in row_ids),
          "%s: the message names row %s: %r" % (what, " or ".join(map(str, row_ids)),
                                                 text.strip()[-400:]))
    if words:
        check(any(w in text.lower() for w in words),
              "%s: the message says %s: %r" % (what, " or ".join(words), text.strip()[-400:]))
    return text


def ids(db):
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT id FROM trail ORDER BY id")]
    finally:
        con.close()


def columns(con, table):
    return [r[1] for r in con.execute('PRAGMA table_info("%s")' % table)]


def hexhash(v):
    if isinstance(v, bytes) and len(v) == 32:
        return v.hex()
    if isinstance(v, bytes):
        return v.decode().lower()
    return str(v).lower()


def event_ids(db):
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT id FROM trail WHERE kind = 'event' ORDER BY id")]
    finally:
        con.close()


# ---- an independent implementation of the README's row hash ------------------
#
# The README gives the scheme but not every detail (the column order, the
# type byte values, whether a null or an integer carries a length).  The
# plausible readings are tried against rows ztwatch wrote; the one that
# reproduces them is used to rewrite a chain.

TYPEMAPS = [
    {"null": 0, "integer": 1, "real": 2, "text": 3, "blob": 4},
    {"null": 5, "integer": 1, "real": 2, "text": 3, "blob": 4},
    {"null": 1, "integer": 2, "real": 3, "text": 4, "blob": 5},
    {"null": ord("n"), "integer": ord("i"), "real": ord("r"), "text": ord("t"), "blob": ord("b")},
    {"null": ord("N"), "integer": ord("I"), "real": ord("R"), "text": ord("T"), "blob": ord("B")},
]


class Encoding:
    def __init__(self, prefix, types, null_len, int_len, exclude, prev_raw):
        self.prefix, self.types, self.null_len, self.int_len = prefix, types, null_len, int_len
        self.exclude, self.prev_raw = exclude, prev_raw

    def value(self, typ, v):
        t = bytes([self.types[typ]])
        if typ == "null":
            return t + (struct.pack(">Q", 0) if self.null_len else b"")
        if typ == "integer":
            return t + (struct.pack(">Q", 8) if self.int_len else b"") + struct.pack(">q", v)
        if typ == "real":
            return t + (struct.pack(">Q", 8) if self.int_len else b"") + struct.pack(">d", v)
        data = v if isinstance(v, bytes) else str(v).encode()
        return t + struct.pack(">Q", len(data)) + data

    def row_hash(self, cols, typed_row, prev_stored):
        """typed_row: {column: (sqlite type, value)}; prev_stored as stored (or None)."""
        if isinstance(prev_stored, str):
            prev_stored = prev_stored.encode()
        if prev_stored is None:
            prev = b"\0" * 32
        elif self.prev_raw:
            prev = prev_stored if len(prev_stored) == 32 else bytes.fromhex(prev_stored.decode())
        else:
            prev = prev_stored
        h = hashlib.sha256(self.prefix + prev)
        for c in cols:
            if c not in self.exclude:
                h.update(self.value(*typed_row[c]))
        return h.digest()


def typed_rows(con, where=""):
    cols = columns(con, "trail")
    con.text_factory = bytes
    sel = ", ".join('typeof("%s"), "%s"' % (c, c) for c in cols)
    out = []
    for r in con.execute('SELECT %s FROM trail %s ORDER BY id' % (sel, where)):
        out.append({c: (r[2 * i].decode() if isinstance(r[2 * i], bytes) else r[2 * i],
                        r[2 * i + 1]) for i, c in enumerate(cols)})
    con.text_factory = str
    return cols, out


def stored(digest, like, typ=None):
    """A digest in the representation the database uses (like: a stored hash of type typ)."""
    if typ == "text" or isinstance(like, str):
        text = like.decode() if isinstance(like, bytes) else like
        return digest.hex().upper() if text.isupper() else digest.hex()
    if len(like) == 32:
        return digest
    return digest.hex().encode()


def same(digest, like):
    if isinstance(like, bytes) and len(like) == 32:
        return digest == like
    text = like.decode() if isinstance(like, bytes) else str(like)
    return digest.hex() == text.lower()


def discover_encoding(env):
    if env._enc is not None:
        return env._enc
    con = sqlite3.connect(env.pristine("a"))
    try:
        cols, rows = typed_rows(con)
    finally:
        con.close()
    sample = [0, 1, 2, len(rows) // 2, len(rows) - 1]
    for prefix in (b"ztwatch-trail-v1", b"ztwatch-trail-v1\0"):
        for types in TYPEMAPS:
            for null_len in (False, True):
                for int_len in (False, True):
                    for exclude in (("hash",), ("hash", "prev_hash"), ("hash", "id"),
                                    ("hash", "prev_hash", "id")):
                        for prev_raw in (True, False):
                            enc = Encoding(prefix, types, null_len, int_len, exclude, prev_raw)
                            ok = True
                            for i in sample:
                                prev = rows[i - 1]["hash"][1] if i else None
                                want = rows[i]["hash"][1]
                                got = enc.row_hash(cols, rows[i], prev)
                                if not same(got, want):
                                    ok = False
                                    break
                            if ok:
                                env._enc = enc
                                return enc
    raise Failure("could not reproduce a row hash from the README's description "
                  "(column order, type bytes, lengths); columns: %s" % ", ".join(cols))


def rehash_from(db, enc, first_id):
    """Recompute prev_hash and hash of every row from first_id on; map old -> new."""
    con = connect(db)
    try:
        cols, rows = typed_rows(con)
        con.execute("BEGIN")
        mapping = {}
        prev = None
        for r in rows:
            old = r["hash"][1]
            if r["id"][1] >= first_id:
                newprev = prev
                if newprev is not None:
                    r["prev_hash"] = (r["prev_hash"][0], newprev)
                else:
                    newprev = r["prev_hash"][1]
                digest = enc.row_hash(cols, r, newprev)
                new = stored(digest, old, r["hash"][0])
                if not same(digest, old):
                    mapping[old] = new
                pt, pv = r["prev_hash"]
                if pt == "text" and isinstance(pv, bytes):
                    pv = pv.decode()
                con.execute('UPDATE trail SET prev_hash = ?, hash = ? WHERE id = ?',
                            (pv, new, r["id"][1]))
                prev = new
            else:
                prev = old
        scols = columns(con, "sessions")
        con.text_factory = bytes
        srows = con.execute('SELECT rowid, %s FROM sessions' %
                            ", ".join('"%s"' % c for c in scols)).fetchall()
        con.text_factory = str
        for sr in srows:
            for c, v in zip(scols, sr[1:]):
                if v in mapping:
                    con.execute('UPDATE sessions SET "%s" = ? WHERE rowid = ?' % c,
                                (mapping[v], sr[0]))
        con.execute("COMMIT")
        return mapping
    finally:
        con.close()


def head_of(db):
    con = sqlite3.connect(db)
    try:
        return hexhash(con.execute("SELECT hash FROM trail ORDER BY id DESC LIMIT 1").fetchone()[0])
    finally:
        con.close()


# ---- intact -------------------------------------------------------------------

@case
def intact_trail_verifies(env):
    """intact: exit 0, prints the row count and the head hash"""
    db = env.copy()
    rc, text = audit(db)
    eq(rc, 0, "exit code (output: %s)" % text.strip()[-300:])
    n = len(ids(db))
    eq(n, sum(SESSION_SIZES) + len(SESSION_SIZES), "rows in the trail")
    check(names(text, n), "the row count %d is printed: %r" % (n, text))
    check(head_of(db) in text.lower(), "the head hash %s is printed: %r" % (head_of(db), text))


@case
def result_to_a_full_disk_is_exit_2(env):
    """intact: a result line that cannot be written (a full disk) is exit 2 and one
    message, not a silent exit 0; a tampered trail keeps its exit 1"""
    from zt import ZTWATCH
    for db, want in ((env.copy(), 2), (env.copy(), 1)):
        if want == 1:
            tamper(db, "UPDATE trail SET reason = 'replay' WHERE id = 5")
        with open("/dev/full", "wb") as full:
            p = subprocess.run([ZTWATCH, "-d", db, "audit", "verify"], stdout=full,
                               stderr=subprocess.PIPE)
        err = p.stderr.decode()
        eq(p.returncode, want, "exit: " + err)
        if want == 2:
            eq(err.strip(), "ztwatch: audit: cannot write the output: No space left on device",
               "the message")


@case
def verify_is_read_only(env):
    """intact: audit verify changes nothing in the database"""
    db = env.copy()
    con = sqlite3.connect(db)
    before = con.execute("SELECT group_concat(hex(hash), '') FROM trail").fetchone()
    before_s = con.execute("SELECT * FROM sessions ORDER BY 1").fetchall()
    con.close()
    for _ in range(2):
        eq(audit(db)[0], 0, "exit code")
    con = sqlite3.connect(db)
    eq(con.execute("SELECT group_concat(hex(hash), '') FROM trail").fetchone(), before, "trail")
    eq(con.execute("SELECT * FROM sessions ORDER BY 1").fetchall(), before_s, "sessions")
    con.close()


@case
def schema_has_the_readme_columns(env):
    """schema: table trail has the README's columns (received_at in microseconds) and sessions"""
    con = sqlite3.connect(env.pristine("a"))
    try:
        cols = columns(con, "trail")
        check(columns(con, "sessions"), "a sessions table")
        want = ["id", "kind", "received_at", "session", "prev_hash", "hash", "subject", "stream",
                "stream_seq", "rule", "verdict", "reason", "alg", "kid", "iss", "sub", "aud",
                "scope", "jti", "event_id", "exp", "iat", "headers", "body", "token", "checks",
                "claims", "warnings", "gap_count", "detail"]
        eq([c for c in want if c not in cols], [], "README columns missing from trail %r" % cols)
        t = con.execute("SELECT typeof(received_at), received_at FROM trail LIMIT 1").fetchone()
        eq(t[0], "integer", "received_at type")
        check(abs(t[1] / 1e6 - time.time()) < 3600, "received_at in microseconds: %r" % t[1])
    finally:
        con.close()


# ---- edited -------------------------------------------------------------------

@case
def edited_reason_is_named(env):
    """edited: a changed reason is caught and the row named"""
    db = env.copy()
    target = event_ids(db)[100]
    con = sqlite3.connect(db)
    eq(con.execute("SELECT reason FROM trail WHERE id = ?", (target,)).fetchone()[0], "ok",
       "reason before")
    con.close()
    tamper(db, ("UPDATE trail SET reason = 'replay', verdict = 'fail' WHERE id = ?", (target,)))
    expect_bad(db, [target], EDITED, "edited reason")


@case
def edited_body_byte_is_named(env):
    """edited: one byte of a body changed is caught and the row named"""
    db = env.copy()
    target = event_ids(db)[222]
    con = connect(db)
    body = con.execute("SELECT body FROM trail WHERE id = ?", (target,)).fetchone()[0]
    check(body, "row %d has a body" % target)
    if isinstance(body, bytes):
        new = body[:5] + bytes([body[5] ^ 0x01]) + body[6:]
    else:
        new = body[:5] + chr(ord(body[5]) ^ 0x01) + body[6:]
    con.execute("UPDATE trail SET body = ? WHERE id = ?", (new, target))
    con.close()
    expect_bad(db, [target], EDITED, "edited body")


@case
def edited_time_and_session_detail(env):
    """edited: a changed received_at, and a changed session detail, are each named"""
    db = env.copy()
    target = event_ids(db)[7]
    con = sqlite3.connect(db)
    col = "received_at" if "received_at" in columns(con, "trail") else "received_us"
    con.close()
    tamper(db, ('UPDATE trail SET "%s" = "%s" + 1 WHERE id = ?' % (col, col), (target,)))
    expect_bad(db, [target], EDITED, "edited received_at")
    db = env.copy()
    con = sqlite3.connect(db)
    sid = con.execute("SELECT id FROM trail WHERE kind = 'session' ORDER BY id DESC").fetchone()[0]
    con.close()
    tamper(db, ("UPDATE trail SET detail = replace(detail, 'import', 'imp0rt') WHERE id = ?",
                (sid,)))
    expect_bad(db, [sid], EDITED, "edited session detail")


@case
def first_bad_row_is_named(env):
    """edited: of two edits, the earlier row is the one named"""
    db = env.copy()
    ev = event_ids(db)
    early, late = ev[40], ev[260]
    tamper(db, ("UPDATE trail SET subject = 'bulk.evil' WHERE id = ?", (late,)),
           ("UPDATE trail SET subject = 'bulk.evil' WHERE id = ?", (early,)))
    text = expect_bad(db, [early], EDITED, "two edits")
    check(not names(text, late), "names the first bad row only: %r" % text)


# ---- deleted ------------------------------------------------------------------

@case
def deleted_rows_in_the_middle_are_named(env):
    """deleted: rows deleted in the middle are caught and the missing ids named"""
    db = env.copy()
    ev = event_ids(db)
    a = ev[120]
    tamper(db, ("DELETE FROM trail WHERE id IN (?, ?)", (a, a + 1)))
    expect_bad(db, [a, a + 1], DELETED, "two rows deleted")
    db = env.copy()
    one = ev[77]
    tamper(db, ("DELETE FROM trail WHERE id = ?", (one,)))
    expect_bad(db, [one], DELETED, "one row deleted")


@case
def deleted_session_row_is_named(env):
    """deleted: the second session's session row deleted is caught"""
    db = env.copy()
    con = sqlite3.connect(db)
    sid = con.execute("SELECT id FROM trail WHERE kind = 'session' ORDER BY id DESC").fetchone()[0]
    con.close()
    tamper(db, ("DELETE FROM trail WHERE id = ?", (sid,)))
    expect_bad(db, [sid], DELETED, "session row deleted")


# ---- inserted or replaced -----------------------------------------------------

@case
def inserted_row_shifting_ids_is_named(env):
    """inserted: a foreign row slipped in between two others (ids shifted) is named"""
    db = env.copy()
    other = env.pristine("b", extra=10)
    ev = event_ids(db)
    k = ev[150]                    # the new row goes in at id k + 1
    con = sqlite3.connect(other)
    cols = columns(con, "trail")
    row = con.execute('SELECT %s FROM trail WHERE id = ?' % ", ".join('"%s"' % c for c in cols),
                      (k + 1,)).fetchone()
    con.close()
    check(row is not None, "the other trail has row %d" % (k + 1))
    tamper(db, ("UPDATE trail SET id = id + 1000000 WHERE id > ?", (k,)),
           "UPDATE trail SET id = id - 999999 WHERE id > 1000000",
           ('INSERT INTO trail (%s) VALUES (%s)' % (", ".join('"%s"' % c for c in cols),
                                                    ", ".join("?" * len(cols))), row))
    eq(ids(db), list(range(ids(db)[0], ids(db)[0] + len(ids(db)))), "no jump in ids")
    expect_bad(db, [k + 1], INSERTED, "inserted row")


@case
def replaced_row_is_named(env):
    """replaced: a row swapped for another trail's row at the same id is named"""
    db = env.copy()
    other = env.pristine("b", extra=10)
    k = event_ids(db)[180]
    con = sqlite3.connect(other)
    cols = columns(con, "trail")
    row = con.execute('SELECT %s FROM trail WHERE id = ?' % ", ".join('"%s"' % c for c in cols),
                      (k,)).fetchone()
    con.close()
    tamper(db, ("DELETE FROM trail WHERE id = ?", (k,)),
           ('INSERT INTO trail (%s) VALUES (%s)' % (", ".join('"%s"' % c for c in cols),
                                                    ", ".join("?" * len(cols))), row))
    expect_bad(db, [k], INSERTED, "replaced row")


@case
def replaced_with_own_hash_recomputed(env):
    """replaced: content changed and its own hash recomputed; the broken link is named"""
    enc = discover_encoding(env)
    db = env.copy()
    k = event_ids(db)[90]
    con = connect(db)
    cols, rows = typed_rows(con, "WHERE id = %d" % k)
    r = rows[0]
    r["reason"] = ("text", b"replay")
    r["subject"] = ("text", b"bulk.replaced")
    digest = enc.row_hash(cols, r, r["prev_hash"][1])
    con.execute("UPDATE trail SET reason = 'replay', subject = 'bulk.replaced', hash = ? "
                "WHERE id = ?",
                (stored(digest, r["hash"][1], r["hash"][0]), k))
    con.close()
    expect_bad(db, [k, k + 1], INSERTED, "own hash recomputed")


@case
def rows_added_after_the_head_are_named(env):
    """inserted: a row appended after the newest session's head, outside the writer"""
    db = env.copy()
    other = env.pristine("b", extra=10)
    last = ids(db)[-1]
    con = sqlite3.connect(other)
    cols = columns(con, "trail")
    row = con.execute('SELECT %s FROM trail WHERE id = ?' % ", ".join('"%s"' % c for c in cols),
                      (last + 1,)).fetchone()
    con.close()
    tamper(db, ('INSERT INTO trail (%s) VALUES (%s)' % (", ".join('"%s"' % c for c in cols),
                                                        ", ".join("?" * len(cols))), row))
    expect_bad(db, [last + 1], None, "row appended outside the writer")


@case
def well_chained_row_added_after_the_head_is_named(env):
    """inserted: a row appended with a correct prev_hash and hash, outside the writer"""
    enc = discover_encoding(env)
    db = env.copy()
    con = connect(db)
    cols, rows = typed_rows(con)
    last = rows[-1]
    new = dict(last)
    new_id = last["id"][1] + 1
    new["id"] = ("integer", new_id)
    new["subject"] = ("text", b"bulk.appended")
    new["prev_hash"] = last["hash"]
    digest = enc.row_hash(cols, new, last["hash"][1])
    new["hash"] = (last["hash"][0], stored(digest, last["hash"][1], last["hash"][0]))
    vals = []
    for c in cols:
        typ, v = new[c]
        vals.append(v.decode() if typ == "text" and isinstance(v, bytes) else v)
    con.execute('INSERT INTO trail (%s) VALUES (%s)' % (", ".join('"%s"' % c for c in cols),
                                                        ", ".join("?" * len(cols))), vals)
    con.close()
    expect_bad(db, [new_id], ["outside", "after", "added"], "well-chained row appended")


# ---- truncated ----------------------------------------------------------------

@case
def truncated_newest_rows_are_caught(env):
    """truncated: the newest rows deleted; says rows at the end were deleted, names the id"""
    db = env.copy()
    all_ids = ids(db)
    gone = all_ids[-3:]
    tamper(db, ("DELETE FROM trail WHERE id >= ?", (gone[0],)))
    expect_bad(db, gone + [all_ids[-4]], ["end", "truncat"], "newest 3 rows deleted")


@case
def truncated_whole_newest_session_is_caught(env):
    """truncated: the whole newest session (its session row too) deleted is caught"""
    db = env.copy()
    con = sqlite3.connect(db)
    sid = con.execute("SELECT id FROM trail WHERE kind = 'session' ORDER BY id DESC").fetchone()[0]
    last = con.execute("SELECT max(id) FROM trail").fetchone()[0]
    con.close()
    tamper(db, ("DELETE FROM trail WHERE id >= ?", (sid,)))
    expect_bad(db, [sid, last, sid - 1], ["end", "truncat", "delet", "missing"],
               "newest session deleted")


@case
def changed_head_in_sessions_is_caught(env):
    """truncated: a session's recorded head hash changed is caught and the row named"""
    db = env.copy()
    last = ids(db)[-1]
    con = connect(db)
    last_hash = con.execute("SELECT hash FROM trail WHERE id = ?", (last,)).fetchone()[0]
    scols = columns(con, "sessions")
    hit = 0
    for c in scols:
        cur = con.execute('UPDATE sessions SET "%s" = ? WHERE "%s" = ?' % (c, c),
                          (stored(b"\x11" * 32, last_hash), last_hash))
        hit += cur.rowcount
    con.close()
    eq(hit, 1, "the sessions table holds the newest row's hash once")
    expect_bad(db, [last], None, "head hash changed in sessions")


# ---- not detected, by design --------------------------------------------------

@case
def full_rewrite_is_not_detected_but_changes_the_head(env):
    """not detected (README): an edit with every later hash and the sessions table recomputed
    verifies (exit 0); only the head hash kept elsewhere shows it"""
    enc = discover_encoding(env)
    db = env.copy()
    rc, text = audit(db)
    eq(rc, 0, "intact first")
    pinned = head_of(db)
    check(pinned in text.lower(), "head printed")
    k = event_ids(db)[50]
    tamper(db, ("UPDATE trail SET reason = 'replay', verdict = 'fail', subject = 'bulk.rewritten' "
                "WHERE id = ?", (k,)))
    expect_bad(db, [k], EDITED, "edit before the rewrite")
    mapping = rehash_from(db, enc, k)
    check(len(mapping) >= len(ids(db)) - k, "every later hash changed")
    expect_bad(db, [k], ["tag"], "the rewrite before the subject tags follow it")
    retag(db)
    rc, text = audit(db)
    eq(rc, 0, "a full rewrite verifies -- by design, README 'What it cannot detect' (%s)" %
       text.strip()[-300:])
    check(pinned not in text.lower(), "the pinned head hash no longer matches")
    check(head_of(db) in text.lower(), "the new head is printed")


# ---- schema 1 ----------------------------------------------------------------

def export_lines(db, fmt="jsonl", args=()):
    rc, out, err = zt(["-d", db, "export", "--format", fmt] + list(args))
    eq(rc, 0, "export %s (%s)" % (db, err.strip()[-300:]))
    return out


def without_hashes(jsonl):
    rows = []
    for line in jsonl.decode().splitlines():
        r = json.loads(line)
        r.pop("hash")
        r.pop("prev_hash")
        rows.append(r)
    return rows


def user_version(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


def index_names(db):
    con = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trail'"
            " AND name NOT LIKE 'sqlite_%'"))
    finally:
        con.close()


def make_schema_1(env, db):
    """Rewrite a trail as schema 1 wrote it: claims, token, headers and checks as text,
    the chain recomputed over them, the plain event id index, user_version 1."""
    enc = discover_encoding(env)
    head, rows = read_csv_rows(export_lines(db, "csv"))
    con = connect(db)
    try:
        con.execute("BEGIN")
        for r in rows:
            if r["kind"] == "event":
                con.execute("UPDATE trail SET claims = ?, token = ?, headers = ?, checks = ?"
                            " WHERE id = ?", (r["claims"] or None, r["token"] or None,
                                              r["headers"], r["checks"], int(r["id"])))
        con.execute("COMMIT")
    finally:
        con.close()
    rehash_from(db, enc, 1)
    con = connect(db)
    try:
        con.execute("DROP INDEX trail_event_block")
        con.execute("CREATE INDEX trail_event_id ON trail(event_id)")
        # Schema 4's tags, schema 3's time spans and failure indexes out, schema 1's
        # indexes back.
        con.execute("DROP TABLE trail_tags")
        for col in ("subject", "iss", "kid"):
            con.execute("CREATE INDEX trail_%s ON trail(%s, id)" % (col, col))
        con.execute("DROP TABLE trail_spans")
        con.execute("DROP INDEX trail_fail_reason")
        con.execute("DROP INDEX trail_fail_id")
        con.execute("CREATE INDEX trail_time ON trail(received_at)")
        con.execute("CREATE INDEX trail_verdict ON trail(verdict, reason, id)")
        con.execute("PRAGMA user_version = 1")
    finally:
        con.close()


def window_of(db):
    """--since/--until cutting a trail's times in three (and the ids inside)."""
    con = sqlite3.connect(db)
    try:
        times = [r[0] for r in con.execute("SELECT received_at FROM trail ORDER BY id")]
        a, b = times[len(times) // 3] + 1, times[2 * len(times) // 3] + 1
        inside = [r[0] for r in con.execute("SELECT id FROM trail WHERE received_at >= ?"
                                            " AND received_at < ? ORDER BY id", (a, b))]
    finally:
        con.close()
    return ["--since", us_rfc3339(a), "--until", us_rfc3339(b)], inside


def exported_ids(db, args=()):
    return [json.loads(line)["id"] for line in export_lines(db, "jsonl", args).decode().splitlines()]


@case
def schema_1_trail_is_read_then_migrated(env):
    """schema 1: an all-text trail verifies and exports the same; a writer migrates it
    to schema 4 without touching its rows"""
    db = env.copy()
    want = without_hashes(export_lines(db))
    make_schema_1(env, db)
    window, inside = window_of(db)
    check(0 < len(inside) < len(ids(db)), "the window holds some rows: %d" % len(inside))
    eq(exported_ids(db, window), inside, "schema 1: a time window exports its rows")
    con = sqlite3.connect(db)
    kinds = con.execute("SELECT DISTINCT typeof(claims) || typeof(token) || typeof(headers)"
                        " || typeof(checks) FROM trail WHERE kind = 'event'").fetchall()
    con.close()
    eq(kinds, [("texttexttexttext",)], "schema 1 columns are text")
    eq(user_version(db), 1, "user_version before")
    rc, text = audit(db)
    eq(rc, 0, "audit verify of schema 1 (%s)" % text.strip()[-300:])
    v1 = export_lines(db)
    eq(without_hashes(v1), want, "schema 1 exports what schema 2 exported")
    eq(user_version(db), 1, "readers leave the schema alone")
    # A writer migrates: the index changes, the rows do not.
    now = int(time.time())
    tok = hs_token(env.secrets["hs"], {"sub": "after", "exp": now + 3600})
    cap = env.write("cap-after-v1.jsonl", "".join(json.dumps(batch_line(
        "bulk.after", b'{"n":%d}' % i, {"Authorization": "Bearer " + tok})) + "\n"
        for i in range(20)))
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap])
    eq(rc, 0, "import into schema 1 (stderr: %s)" % err.strip()[-300:])
    eq(user_version(db), 4, "user_version after")
    eq(index_names(db), ["trail_event_block", "trail_fail_id", "trail_fail_reason",
                         "trail_stream_seq"],
       "indexes after the migration")
    eq(exported_ids(db, window), inside, "schema 4: the same window exports the same rows")
    spans_cover(db)
    check(tags_cover(db) > 0, "the migration tagged the rows")
    for subject in ("bulk.a.0", "bulk.a.1", "bulk.after"):
        eq(exported_ids(db, ["--subject", subject]), scanned_ids(db, where="subject = ?",
                                                                 args=(subject,)),
           "schema 4: --subject %s exports its rows" % subject)
    rc, text = audit(db)
    eq(rc, 0, "audit verify after the migration (%s)" % text.strip()[-300:])
    after = export_lines(db).splitlines()
    old = v1.splitlines()
    eq(after[:len(old)], old, "old rows export byte for byte as before, hashes too")
    eq(len(after), len(old) + 21, "the import's session and events appended")
    con = sqlite3.connect(db)
    new = con.execute("SELECT typeof(checks) FROM trail WHERE subject = 'bulk.after'"
                      " LIMIT 1").fetchone()[0]
    con.close()
    eq(new, "blob", "new rows are compact")


# ---- time spans (schema 3) ----------------------------------------------------

def spans_cover(db):
    """Check the spans: consecutive, covering every row, each row's time in its span's
    bounds; returns them."""
    con = sqlite3.connect(db)
    try:
        spans = con.execute("SELECT first_id, last_id, min_at, max_at FROM trail_spans"
                            " ORDER BY first_id").fetchall()
        rows = con.execute("SELECT id, received_at FROM trail ORDER BY id").fetchall()
    finally:
        con.close()
    check(spans and spans[0][0] == 1 and spans[-1][1] == rows[-1][0],
          "spans run from row 1 to the last row: %r" % spans[:3])
    for prev, nxt in zip(spans, spans[1:]):
        eq(nxt[0], prev[1] + 1, "span after %r starts where it ends" % (prev,))
    k = 0
    for rid, at in rows:
        while spans[k][1] < rid:
            k += 1
        first, last, lo, hi = spans[k]
        check(first <= rid <= last and lo <= at <= hi,
              "row %d (received %d) lies in span %r" % (rid, at, spans[k]))
    return spans


SPAN_PARTS, SPAN_EVENTS = 3, 9000
# Event times start a minute ahead, so that each import's session row (received
# now) is one more early outlier in its first span.
SPAN_BASE = (int(time.time()) + 60) * 1000000


def span_trail(env):
    """A trail of three imports, 27,000 events, their received_at out of order: rising
    by a millisecond with jitter; in the second import, every 997th far in the past and
    every 1,499th far ahead (so some spans are wide, others narrow)."""
    db = env.path("spans.db")
    if os.path.exists(db):
        return db
    rnd = random.Random(7)
    tok = hs_token(env.secrets["hs"], {"sub": "spans", "exp": int(time.time()) + 3600})
    for part in range(SPAN_PARTS):
        lines = []
        for i in range(SPAN_EVENTS):
            k = part * SPAN_EVENTS + i
            us = SPAN_BASE + k * 1000 + rnd.randint(-5000, 5000)
            if part == 1 and i % 997 == 0:
                us = SPAN_BASE - rnd.randint(1, 10 ** 9)
            if part == 1 and i % 1499 == 0:
                us = SPAN_BASE + 10 ** 10 + rnd.randint(0, 10 ** 6)
            line = batch_line("bulk.span.%d" % (k % 3), b'{"k":%d}' % k,
                              {"Authorization": "Bearer " + tok})
            line["received_at"] = us_rfc3339(us)
            lines.append(json.dumps(line) + "\n")
        cap = env.write("cap-spans-%d.jsonl" % part, "".join(lines))
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap])
        eq(rc, 0, "import %s (stderr: %s)" % (cap, err.strip()[-300:]))
    return db


def scanned_ids(db, since=None, until=None, where="1", args=()):
    """The ids SQLite finds by reading every row's received_at (and testing where)."""
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute(
            "SELECT id FROM trail NOT INDEXED WHERE received_at >= ? AND received_at < ?"
            " AND " + where + " ORDER BY id", (since if since is not None else -2 ** 62,
                                              until if until is not None else 2 ** 62) + args)]
    finally:
        con.close()


@case
def time_filters_find_every_row_through_the_spans(env):
    """time spans: over 27,000 events in several spans, received out of order, every
    --since/--until window exports exactly the rows a scan of received_at finds"""
    db = span_trail(env)
    spans = spans_cover(db)
    check(len(spans) >= 3, "several spans: %d" % len(spans))
    check(all(last - first < 4096 + 1000 for first, last, _, _ in spans),
          "spans stay small: %r" % [(f, l) for f, l, _, _ in spans])
    rnd = random.Random(11)
    end = SPAN_BASE + SPAN_PARTS * SPAN_EVENTS * 1000
    windows = [(SPAN_BASE - 10 ** 9 - 1, SPAN_BASE),          # the far past, sessions
               (SPAN_BASE + 10 ** 10, None),                   # only the far future
               (None, SPAN_BASE + 4096 * 1000),                # until, no since
               (end - 2000000, None),                          # since, no until
               (end + 10 ** 9, end + 2 * 10 ** 9)]             # nothing at all
    for _ in range(8):
        a = rnd.randint(SPAN_BASE, end)
        windows.append((a, a + rnd.choice((3000, 250000, 5000000))))
    for since, until in windows:
        args = (["--since", us_rfc3339(since)] if since is not None else []) + \
            (["--until", us_rfc3339(until)] if until is not None else [])
        want = scanned_ids(db, since, until)
        eq(exported_ids(db, args), want, "ids for %s" % " ".join(args))
    rc, text = audit(db)
    eq(rc, 0, "audit verify of the spans' trail (%s)" % text.strip()[-300:])


@case
def narrowed_time_span_is_named(env):
    """audit: a time span narrowed so that time filters would miss rows is named"""
    db = env.copy()
    con = sqlite3.connect(db)
    first, lo = con.execute("SELECT first_id, min_at FROM trail_spans ORDER BY first_id"
                            " LIMIT 1").fetchone()
    row = con.execute("SELECT min(id) FROM trail WHERE id >= ? AND received_at > ?",
                      (first, lo)).fetchone()[0]
    con.close()
    tamper(db, ("UPDATE trail_spans SET max_at = min_at WHERE first_id = ?", (first,)))
    expect_bad(db, [row], ["span"], "narrowed span")


@case
def deleted_time_span_is_named(env):
    """audit: a deleted time span (its rows hidden from time filters) is named"""
    db = env.copy()
    tamper(db, "DELETE FROM trail_spans")
    expect_bad(db, [1], ["span"], "deleted spans")


# ---- tags (schema 4) -------------------------------------------------------------

TAG_ROWS = 1024
TAG_SUBJECTS = ("bulk.tag.a", "bulk.tag.b", "bulk.tag.b.x", "bulk.other", "bulk.tag.\u00e9")
TAG_ISSUERS = ("https://one.example", "https://two.example/x", "three")
TAG_KIDS = ("hs", "k2")


def tag_trail(env):
    """A trail of two imports, 5,000 events over several blocks of ids (the second
    import starting mid-block): five subjects, three issuers and none, two kids and
    none, each in a pattern of its own that does not line up with the blocks."""
    db = env.path("tags.db")
    if os.path.exists(db):
        return db
    now = int(time.time())
    toks = {}
    for part, (lo, hi) in enumerate(((0, 3001), (3001, 5000))):
        lines = []
        for k in range(lo, hi):
            iss = TAG_ISSUERS[k % 4] if k % 4 < 3 else None
            kid = TAG_KIDS[k % 3] if k % 3 < 2 else None
            if (iss, kid) not in toks:
                claims = {"sub": "tags", "exp": now + 3600}
                if iss:
                    claims["iss"] = iss
                toks[(iss, kid)] = hs_token(env.secrets["hs"], claims,
                                            {"kid": kid} if kid else None)
            lines.append(json.dumps(batch_line(TAG_SUBJECTS[(k * 7 // 5) % 5], b'{"k":%d}' % k,
                                               {"Authorization": "Bearer " + toks[(iss, kid)]}))
                         + "\n")
        cap = env.write("cap-tags-%d.jsonl" % part, "".join(lines))
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap])
        eq(rc, 0, "import %s (stderr: %s)" % (cap, err.strip()[-300:]))
    return db


def tags_of_rows(con):
    """What trail_tags should hold, from the rows, independently of ztwatch: each text
    subject, iss and kid of row id in tag (column, id // 1024, value) at offset
    id % 1024, offsets ascending."""
    want = {}
    for rid, *vals in con.execute("SELECT id, subject, iss, kid FROM trail ORDER BY id"):
        for field, v in enumerate(vals):
            if isinstance(v, str):
                want.setdefault((field, rid // TAG_ROWS, v), []).append(rid % TAG_ROWS)
    return want


def retag(db):
    """Rewrite trail_tags from the rows, as someone rewriting the trail would."""
    con = connect(db)
    try:
        con.execute("BEGIN")
        con.execute("DELETE FROM trail_tags")
        for (f, b, v), offs in tags_of_rows(con).items():
            con.execute("INSERT INTO trail_tags VALUES (?, ?, ?, ?)",
                        (f, b, v, struct.pack("<%dH" % len(offs), *offs)))
        con.execute("COMMIT")
    finally:
        con.close()


def tags_cover(db):
    """Check trail_tags against tags_of_rows: nothing missing, nothing else listed;
    returns the tag count."""
    con = sqlite3.connect(db)
    try:
        want = tags_of_rows(con)
        tags = con.execute("SELECT tag_field, tag_block, tag_value, tag_offsets"
                           " FROM trail_tags").fetchall()
    finally:
        con.close()
    got = {(f, b, v): list(struct.unpack("<%dH" % (len(o) // 2), o)) for f, b, v, o in tags}
    wrong = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    check(not wrong, "tags list exactly the rows of each value: %d of %d differ, first %r"
          % (len(wrong), len(want), [(k, got.get(k, [])[:8], want.get(k, [])[:8])
                                     for k in wrong[:1]]))
    return len(got)


@case
def tag_filters_find_every_row(env):
    """tags: 5,000 events over several blocks, two imports: the tags list exactly the
    rows; --subject (literal, patterns), --iss, --kid, combined and with a time window
    export exactly the rows a scan finds, oldest first"""
    db = tag_trail(env)
    check(tags_cover(db) >= 3 * 5, "tags for every block and column")
    con = sqlite3.connect(db)
    times = [r[0] for r in con.execute("SELECT received_at FROM trail WHERE kind = 'event'"
                                       " ORDER BY id")]
    con.close()
    a, b = times[1500], times[3500]
    window = ["--since", us_rfc3339(a), "--until", us_rfc3339(b)]
    cases = [(["--subject", s], "subject = ?", (s,)) for s in TAG_SUBJECTS]
    cases += [(["--subject", "bulk.tag.*"], "subject IN (?, ?, ?)", TAG_SUBJECTS[:2] +
               (TAG_SUBJECTS[4],)),
              (["--subject", "bulk.tag.>"], "subject LIKE 'bulk.tag.%'", ()),
              (["--subject", "*.other"], "subject = 'bulk.other'", ()),
              (["--subject", "bulk.none.>"], "0", ())]
    cases += [(["--iss", i], "iss = ? AND kind = 'event'", (i,)) for i in TAG_ISSUERS]
    cases += [(["--kid", k], "kid = ? AND kind = 'event'", (k,)) for k in TAG_KIDS + ("k3",)]
    cases += [(["--kid", "k2", "--subject", "bulk.tag.b"],
               "kid = 'k2' AND subject = 'bulk.tag.b' AND kind = 'event'", ()),
              (["--iss", "three", "--kid", "hs"], "iss = 'three' AND kid = 'hs'", ())]
    found = 0
    for args, where, params in cases:
        want = scanned_ids(db, where=where, args=params)
        found += len(want)
        if len(args) == 2 and args[1] in TAG_SUBJECTS + TAG_ISSUERS + TAG_KIDS:
            check(len(want) > 100, "rows hold %s: %d" % (args[1], len(want)))
        eq(exported_ids(db, args), want, "ids for %s" % " ".join(args))
        eq(exported_ids(db, args + window), scanned_ids(db, a, b, where, params),
           "ids for %s in a window" % " ".join(args))
    check(found > 10000, "the filters found rows: %d" % found)
    rc, text = audit(db)
    eq(rc, 0, "audit verify of the tags' trail (%s)" % text.strip()[-300:])


def tagged_row(db, field, where):
    """(id, block, value) of the first row matching where, value being its column field."""
    con = sqlite3.connect(db)
    try:
        rid, value = con.execute("SELECT id, %s FROM trail WHERE %s ORDER BY id LIMIT 1"
                                 % (("subject", "iss", "kid")[field], where)).fetchone()
    finally:
        con.close()
    return rid, rid // TAG_ROWS, value


@case
def edited_tag_is_named(env):
    """audit: a row taken out of its issuer's tag (iss filters would miss it) is named"""
    db = env.copy(src=tag_trail(env))
    rid, block, value = tagged_row(db, 1, "id > 2000 AND iss = 'three'")
    tamper(db, ("UPDATE trail_tags SET tag_offsets = substr(tag_offsets, 1, 4) ||"
                " substr(tag_offsets, 7) WHERE tag_field = 1 AND tag_block = ? AND tag_value = ?",
                (block, value)))
    con = sqlite3.connect(db)
    third = con.execute("SELECT id FROM trail WHERE id >= ? AND iss = 'three' ORDER BY id"
                        " LIMIT 1 OFFSET 2", (block * TAG_ROWS,)).fetchone()[0]
    con.close()
    check(third not in exported_ids(db, ["--iss", "three"]), "the filter misses the row")
    expect_bad(db, [third], ["tag"], "edited iss tag")


@case
def deleted_tag_is_named(env):
    """audit: a deleted subject tag (its rows hidden from subject filters) is named"""
    db = env.copy(src=tag_trail(env))
    rid, block, value = tagged_row(db, 0, "id > 4200")
    con = sqlite3.connect(db)
    first = con.execute("SELECT min(id) FROM trail WHERE id >= ? AND subject = ?",
                        (block * TAG_ROWS, value)).fetchone()[0]
    con.close()
    tamper(db, ("DELETE FROM trail_tags WHERE tag_field = 0 AND tag_block = ? AND tag_value = ?",
                (block, value)))
    expect_bad(db, [first], ["tag"], "deleted subject tag")


@case
def tag_value_made_blob_is_named(env):
    """audit: a kid tag whose value was rewritten as a BLOB (which no filter matches) is
    named, and so is a dropped tags table"""
    db = env.copy(src=tag_trail(env))
    rid, block, value = tagged_row(db, 2, "id > 1500 AND kid = 'k2'")
    con = sqlite3.connect(db)
    first = con.execute("SELECT min(id) FROM trail WHERE id >= ? AND kid = 'k2'",
                        (block * TAG_ROWS,)).fetchone()[0]
    con.close()
    tamper(db, ("UPDATE trail_tags SET tag_value = CAST(tag_value AS BLOB)"
                " WHERE tag_field = 2 AND tag_block = ? AND tag_value = 'k2'", (block,)))
    check(first not in exported_ids(db, ["--kid", "k2"]), "the filter misses the row")
    expect_bad(db, [first], ["tag"], "kid tag as a blob")
    db = env.copy(src=tag_trail(env))
    tamper(db, "DROP TABLE trail_tags")
    con = sqlite3.connect(db)
    first = con.execute("SELECT min(id) FROM trail WHERE subject IS NOT NULL").fetchone()[0]
    con.close()
    expect_bad(db, [first], ["tag"], "tags table dropped")


def damage_root_page(db, table):
    """Overwrite the b-tree header of table's first page, as a failing disk would (the
    rows stay in place; SQLite can no longer read them)."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                           (table,)).fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    check(root > 1, "%s has a page of its own" % table)
    with open(db, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xff" * 64)


@case
def damaged_pages_are_read_errors(env):
    """audit: a trail with a damaged page (of the rows, the tags, the time spans or the
    sessions) exits 2 with SQLite's reason, and names no edit it cannot know of"""
    for table in ("trail", "trail_tags", "trail_spans", "sessions"):
        db = env.copy(src=tag_trail(env))
        damage_root_page(db, table)
        rc, text = audit(db)
        eq(rc, 2, "%s damaged: exit code (output: %s)" % (table, text.strip()[-300:]))
        check("cannot read trail '%s': database disk image is malformed" % db in text,
              "%s damaged: SQLite's reason is given: %r" % (table, text.strip()[-300:]))
        for word in ("not an error", "TAMPERED", "edited", "added", "deleted"):
            check(word not in text, "%s damaged: no %r in %r" % (table, word,
                                                                 text.strip()[-300:]))


@case
def row_listed_by_another_tag_is_read_once(env):
    """tags: a row's offset added to the tag of another subject (an edited trail) does not
    make a subject pattern find the row twice, nor the other subject find it"""
    db = env.copy(src=tag_trail(env))
    con = sqlite3.connect(db)
    rid = con.execute("SELECT id FROM trail WHERE id > 2100 AND subject = ? ORDER BY id"
                      " LIMIT 1", (TAG_SUBJECTS[0],)).fetchone()[0]
    offs = con.execute("SELECT tag_offsets FROM trail_tags WHERE tag_field = 0"
                       " AND tag_block = ? AND tag_value = ?",
                       (rid // TAG_ROWS, TAG_SUBJECTS[1])).fetchone()[0]
    con.close()
    listed = sorted(set(struct.unpack("<%dH" % (len(offs) // 2), offs)) | {rid % TAG_ROWS})
    tamper(db, ("UPDATE trail_tags SET tag_offsets = ? WHERE tag_field = 0 AND tag_block = ?"
                " AND tag_value = ?", (struct.pack("<%dH" % len(listed), *listed),
                                       rid // TAG_ROWS, TAG_SUBJECTS[1])))
    eq(exported_ids(db, ["--subject", "bulk.tag.*"]),
       scanned_ids(db, where="subject IN (?, ?, ?)", args=TAG_SUBJECTS[:2] + (TAG_SUBJECTS[4],)),
       "a pattern finds each row once")
    check(rid not in exported_ids(db, ["--subject", TAG_SUBJECTS[1]]),
          "the other subject does not find the row")


@case
def newer_schema_is_refused(env):
    """schema: a trail from a newer ztwatch is refused by writers and readers, and left alone"""
    db = env.copy()
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 5")
    con.commit()
    con.close()
    cap = env.write("cap-newer.jsonl", json.dumps(batch_line("bulk.n", b"{}")) + "\n")
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap])
    check(rc != 0 and "newer" in err and "5" in err, "import refused: %d %r" % (rc, err))
    rc, out, err = zt(["-d", db, "export", "--format", "jsonl"])
    check(rc != 0 and "newer" in err, "export refused: %d %r" % (rc, err))
    eq(user_version(db), 5, "left as it was")


# ---- cannot read ----------------------------------------------------------------

RAW_UNSAFE = (b"\x1b", b"\x07", "\u202e".encode(), "\u200b".encode())


def audit_text(db):
    rc, text = audit(db)
    return rc, text.strip()[-500:]


@case
def hashes_are_exact_32_byte_blobs(env):
    """tampered: bytes added to a row's link, or a hash stored as TEXT, are named (the
    audit used to compare only the first 32 bytes, and export showed only those)"""
    for sql in ("UPDATE trail SET prev_hash = prev_hash || CAST('a note' AS BLOB) WHERE id = 5",
                "UPDATE trail SET hash = CAST(hash AS TEXT) WHERE id = 5",
                "UPDATE trail SET prev_hash = CAST(prev_hash AS TEXT) WHERE id = 5"):
        db = env.copy()
        tamper(db, sql)
        expect_bad(db, [5], ["32-byte blob"], sql)


@case
def failures_hidden_by_an_index_are_found(env):
    """tampered: an index redefined, dropped, or rebuilt behind its own definition to
    leave a failing row out (so --verdict fail and --reason would not show it)"""
    tok = hs_token(env.secrets["hs"], {"sub": "f", "exp": int(time.time()) + 3600})
    text = "".join(json.dumps(batch_line("bulk.f.%d" % i, b'{"n":%d}' % i, {
        "Authorization": "Bearer " + (tok if i % 5 else tok[:-2] + "AA")})) + "\n"
        for i in range(30))
    src = env.path("fails.db")
    rc, out, err = zt(["-p", env.pol, "-d", src, "import", env.write("fails.jsonl", text)])
    eq(rc, 0, "import with failures (%s)" % err.strip()[-200:])
    db = env.copy(src=src)
    con = sqlite3.connect(db)
    fail_id, reason = con.execute("SELECT id, reason FROM trail WHERE verdict = 'fail'"
                                  " ORDER BY id LIMIT 1").fetchone()
    con.close()
    check(fail_id in exported_ids(db, ["--reason", reason]), "the failing row is exported")
    redefine = ("DROP INDEX trail_fail_reason",
                "CREATE INDEX trail_fail_reason ON trail(reason, id) WHERE verdict = 'fail'"
                " AND id <> %d" % fail_id)
    tamper(db, *redefine)
    rc, text = audit_text(db)
    check(rc == 1 and "index was redefined" in text and "trail_fail_reason" in text, text)
    db = env.copy(src=src)
    tamper(db, "DROP INDEX trail_fail_id")
    rc, text = audit_text(db)
    check(rc == 1 and "index was dropped" in text and "trail_fail_id" in text, text)
    # Rebuilt to leave the row out, then the definition's text put back.
    db = env.copy(src=src)
    tamper(db, *redefine)
    con = connect(db)
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'trail_fail_reason'",
                ("CREATE INDEX trail_fail_reason ON trail(reason, id) WHERE verdict = 'fail'",))
    con.execute("PRAGMA writable_schema = OFF")
    con.close()
    check(fail_id not in exported_ids(db, ["--reason", reason]),
          "still hidden, with the definition as the schema has it")
    rc, text = audit_text(db)
    check(rc == 1 and "does not hold exactly the rows" in text, text)


@case
def sessions_edited_to_hide_a_cut_are_found(env):
    """tampered: the newest rows deleted and the session's head moved back onto the chain
    (its row count left as it was) is named; so is a session moved off its start"""
    db = env.copy()
    con = sqlite3.connect(db)
    sid, first, head, rows = con.execute("SELECT id, first_id, head_id, rows FROM sessions"
                                         " ORDER BY id DESC LIMIT 1").fetchone()
    new_head = head - 3
    new_hash = con.execute("SELECT hash FROM trail WHERE id = ?", (new_head,)).fetchone()[0]
    con.close()
    check(new_head >= first, "the newest session has rows to cut")
    tamper(db, ("DELETE FROM trail WHERE id > ?", (new_head,)),
           ("UPDATE sessions SET head_id = ?, head_hash = ? WHERE id = ?",
            (new_head, new_hash, sid)))
    rc, text = audit_text(db)
    check(rc == 1 and "sessions were edited" in text and str(rows) in text, text)
    db = env.copy()
    tamper(db, ("UPDATE sessions SET first_id = first_id + 1 WHERE id = ?", (sid,)))
    rc, text = audit_text(db)
    check(rc == 1 and "sessions were edited" in text, text)


@case
def tampered_text_reaches_no_terminal_raw(env):
    """a trail edited to hold ESC and bidi controls: export and audit print them escaped"""
    db = env.copy()
    con = sqlite3.connect(db)
    target = con.execute("SELECT id FROM trail WHERE kind = 'event' LIMIT 1").fetchone()[0]
    con.close()
    tamper(db, ("UPDATE trail SET claims = ?, warnings = ?, subject = ? WHERE id = ?",
                ('{"iss":"\x1b]0;PWNED\x07\x1b[2J"}', '["\x1b[31mred\u202e\u200b"]',
                 "bulk.\u202eevil", target)))
    out = export_lines(db)
    for b in RAW_UNSAFE:
        check(b not in out, "export: %r escaped" % b)
    rows = [json.loads(line) for line in out.decode().splitlines()]
    row = [r for r in rows if r["id"] == target][0]
    eq(row["subject"], "bulk.\u202eevil", "the subject reads back")
    check("PWNED" in json.dumps(row["claims"]), "the edited claims are shown, as text")
    # A trail's name may come from a folder someone else fills.
    evil = env.path("x\x1b]0;PWNED\x07\u202e.db")
    shutil.copyfile(env.pristine("a"), evil)
    rc, out, err = zt(["audit", "verify", "-d", evil, "-d", env.copy()])
    eq(rc, 0, "two intact trails (%s)" % err.strip()[-300:])
    for b in RAW_UNSAFE:
        check(b not in out and b not in err.encode(), "audit: %r escaped: %r" % (b, out))
    check(b"PWNED" in out, "the trail is still named")


@case
def missing_database_is_exit_2(env):
    """cannot read: a missing database is exit 2, names the path, creates nothing"""
    db = env.path("no-such.db")
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 2, "exit code (%s)" % err.strip())
    check(db in err or "no-such.db" in err, "names the path: %r" % err)
    check(not os.path.exists(db), "the database was not created")
    rc, out, err = zt(["-d", env.path("no-such-dir/x.db"), "audit", "verify"])
    eq(rc, 2, "missing folder: exit code (%s)" % err.strip())


@case
def not_a_trail_is_exit_2(env):
    """cannot read: an SQLite file without a trail, or random bytes, is exit 2"""
    other = env.path("other.db")
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    rc, out, err = zt(["-d", other, "audit", "verify"])
    eq(rc, 2, "an unrelated SQLite file: exit (%s)" % err.strip())
    junk = env.write("junk.db", os.urandom(8192))
    rc, out, err = zt(["-d", junk, "audit", "verify"])
    eq(rc, 2, "random bytes: exit (%s)" % err.strip())
    check("junk.db" in err, "names the path: %r" % err)


if __name__ == "__main__":
    run(AuditEnv)
