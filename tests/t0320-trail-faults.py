"""t0320-trail-faults.py -- the audit trail under crashes and bad databases.

Crash safety: `ztwatch import` of a large capture is killed with SIGKILL
once rows are being committed; the database must open, its chain verify,
no event row be half-written (committed rows are a prefix of the capture,
each with its body), and a new import must append to it.

Bad input: a database path in a missing folder, a read-only database file
(run as an unprivileged user when we are root, since root ignores file
modes), a path that is a directory, a file that is not a database, and a
full disk (a 2 MB tmpfs; skipped with the reason when it cannot be
mounted).  Each gives one clear line on stderr naming the path and a
non-zero exit, and leaves an existing database intact.

Everything mounted or started here is unmounted or killed, even on failure.
"""

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTWATCH, Env, case, check, eq, hs_token, mount_tmpfs, run, unmount,  # noqa: E402
                zt)

BIG = 200000


class FaultEnv(Env):
    KEYS = {}  # no asymmetric keys needed: saves the key generation time

    def __init__(self):
        super().__init__()
        self.pol = self.policy({
            "keys": {"hs": {"secret_file": "hs.secret"}},
            "rules": [{"name": "bulk", "subjects": ["bulk.>"],
                       "token": {"header": "Authorization", "scheme": "Bearer"},
                       "keys": ["hs"], "require": []}]})
        self.tok = hs_token(self.secrets["hs"], {"sub": "bulk", "exp": int(time.time()) + 3600})
        self.ncap = 0
        self.procs = []
        self.mounts = []

    def capture(self, n, tag="c", body_pad=0):
        """n messages bulk.TAG.I with body {"n":I,...}; one token repeated (no replay rule)."""
        self.ncap += 1
        head = '{"subject":"bulk.%s.%%d","headers":{"Authorization":"Bearer %s"},"body":' % (
            tag, self.tok)
        pad = "p" * body_pad
        tmpl = head + '"{\\"n\\":%d,\\"pad\\":\\"' + pad + '\\"}"}\n'
        text = "".join(tmpl % (i, i) for i in range(n))
        return self.write("cap%d-%s.jsonl" % (self.ncap, tag), text)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for m in self.mounts:
            unmount(m)
        super().close()


def expected_body(i, pad=0):
    return ('{"n":%d,"pad":"%s"}' % (i, "p" * pad)).encode()


def rows_of(db):
    """(id, kind, subject, body as bytes) of every row, and the integrity check."""
    con = sqlite3.connect(db)
    try:
        con.text_factory = bytes
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        rows = con.execute("SELECT id, kind, subject, body FROM trail ORDER BY id").fetchall()
        return integrity, [(r[0], r[1].decode(), r[2].decode() if r[2] is not None else None,
                            r[3]) for r in rows]
    finally:
        con.close()


def events_are_prefix(rows, tag, pad=0, what="rows"):
    """The event rows of tag are capture lines 0..n-1, each with its whole body."""
    ev = [r for r in rows if r[1] == "event" and r[2] and r[2].startswith("bulk.%s." % tag)]
    for i, r in enumerate(ev):
        if r[2] != "bulk.%s.%d" % (tag, i) or r[3] != expected_body(i, pad):
            raise AssertionError("%s: event %d (id %d) is %r / %r, want line %d whole" %
                                 (what, i, r[0], r[2], (r[3] or b"")[:60], i))
    return len(ev)


def audit(db):
    rc, out, err = zt(["-d", db, "audit", "verify"])
    return rc, (out.decode(errors="replace") + err).strip()


def one_line_error(rc, err, path, what):
    """Non-zero exit and exactly one line on stderr, naming the path."""
    check(rc != 0, "%s: non-zero exit" % what)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    eq(len(lines), 1, "%s: lines on stderr (%r)" % (what, err[-500:]))
    check(path in lines[0], "%s: the message names %s: %r" % (what, path, lines[0]))
    return lines[0]


def good_trail(env, name, n=50, tag="g"):
    """A database with one import of n lines; returns (path, its rows)."""
    db = env.path(name)
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.capture(n, tag)])
    eq(rc, 0, "import into %s: %s" % (name, err))
    integrity, rows = rows_of(db)
    eq(len(rows), n + 1, "rows of %s" % name)
    return db, rows


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def intact(db, rows_before, what):
    rc, text = audit(db)
    eq(rc, 0, "%s: audit verify (%s)" % (what, text[-300:]))
    integrity, rows = rows_of(db)
    eq(integrity, b"ok", "%s: integrity check" % what)
    eq(rows[:len(rows_before)], rows_before, "%s: earlier rows unchanged" % what)
    return rows


# ---- crash safety ---------------------------------------------------------------

def count_rows(db):
    try:
        con = sqlite3.connect(db, timeout=0.05)
        try:
            return con.execute("SELECT count(*) FROM trail").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


def kill_import_midway(env, db, cap, new_rows):
    """Start an import, SIGKILL it once new_rows more rows are committed; rows seen."""
    base = count_rows(db) if os.path.exists(db) else 0
    base = base or 0
    log = open(env.path("crash.log"), "ab")
    p = subprocess.Popen([ZTWATCH, "-p", env.pol, "-d", db, "import", cap],
                         stdout=log, stderr=log)
    env.procs.append(p)
    seen = base
    deadline = time.time() + 30
    try:
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(db):
                seen = count_rows(db) or seen
            if seen >= base + new_rows:
                break
            time.sleep(0.005)
        check(p.poll() is None, "import still running when killed (it exited %r after %d rows;"
              " make the capture bigger)" % (p.poll(), seen))
        check(seen >= base + new_rows, "rows appeared within 30 s (saw %d)" % seen)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        log.close()
    eq(p.returncode, -signal.SIGKILL, "killed by SIGKILL")
    return seen


@case
def sigkill_mid_import_leaves_a_good_trail(env):
    """crash: import SIGKILLed mid-way, 3 times: opens, verifies, no half row, appends"""
    cap = env.capture(BIG, "big")
    db = env.path("crash.db")
    rows = []
    for round_, want in enumerate((2000, 5000, 1)):
        seen = kill_import_midway(env, db, cap, want)
        rc, text = audit(db)
        eq(rc, 0, "round %d: audit verify after the crash (%s)" % (round_, text[-300:]))
        integrity, rows2 = rows_of(db)
        eq(integrity, b"ok", "round %d: integrity check" % round_)
        eq(rows2[:len(rows)], rows, "round %d: earlier rows unchanged" % round_)
        check(len(rows2) >= seen, "round %d: rows seen before the kill are kept (%d < %d)" %
              (round_, len(rows2), seen))
        new = rows2[len(rows):]
        check(new and new[0][1] == "session", "round %d: the run's session row" % round_)
        sess = [r for r in new if r[1] == "session"]
        eq(len(sess), 1, "round %d: one session row per run" % round_)
        # Each run's events are the capture's first lines, whole.
        for i, r in enumerate(new[1:]):
            if r[1] != "event" or r[2] != "bulk.big.%d" % i or r[3] != expected_body(i):
                raise AssertionError("round %d: row %d is %r, want line %d whole" %
                                     (round_, r[0], r[:3], i))
        check(len(new) - 1 < BIG, "round %d: killed before the end" % round_)
        eq(sum(1 for r in rows2 if r[1] == "event" and r[3] is None), 0, "no event without body")
        rows = rows2
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.capture(300, "after")])
    eq(rc, 0, "a new import appends: %s" % err)
    rc, text = audit(db)
    eq(rc, 0, "audit verify after appending (%s)" % text[-300:])
    integrity, rows2 = rows_of(db)
    eq(rows2[:len(rows)], rows, "earlier rows unchanged")
    eq([r[1] for r in rows2[len(rows):]], ["session"] + ["event"] * 300, "appended rows")
    eq(events_are_prefix(rows2, "after", what="appended"), 300, "appended events")
    ids = [r[0] for r in rows2]
    eq(ids, sorted(set(ids)), "ids increase")


# ---- bad databases --------------------------------------------------------------

@case
def database_in_a_missing_folder(env):
    """bad path: a database in a missing folder -- one line naming it, nothing created"""
    db = env.path("no-such-folder/sub/t.db")
    rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.capture(5, "m")])
    one_line_error(rc, err, db, "import")
    check(not os.path.exists(env.path("no-such-folder")), "no folder created")
    rc, out, err = zt(["-d", db, "export", "--format", "jsonl"])
    one_line_error(rc, err, db, "export")
    rc, out, err = zt(["-d", db, "audit", "verify"])
    eq(rc, 2, "audit verify exit")
    one_line_error(rc, err, db, "audit verify")


@case
def database_path_is_a_directory(env):
    """bad path: the database path is a directory -- one line naming it, left as it was"""
    d = env.path("a-directory")
    os.mkdir(d)
    rc, out, err = zt(["-p", env.pol, "-d", d, "import", env.capture(5, "d")])
    one_line_error(rc, err, d, "import")
    eq(os.listdir(d), [], "the directory is left empty")
    rc, out, err = zt(["-d", d, "audit", "verify"])
    eq(rc, 2, "audit verify exit")
    one_line_error(rc, err, d, "audit verify")


@case
def file_that_is_not_a_database(env):
    """bad file: random bytes -- one line naming it; the file is not changed"""
    junk = env.write("junk.db", os.urandom(65536))
    before = file_digest(junk)
    rc, out, err = zt(["-p", env.pol, "-d", junk, "import", env.capture(5, "j")])
    one_line_error(rc, err, junk, "import")
    rc, out, err = zt(["-d", junk, "export", "--format", "csv"])
    one_line_error(rc, err, junk, "export")
    rc, out, err = zt(["-d", junk, "audit", "verify"])
    eq(rc, 2, "audit verify exit")
    one_line_error(rc, err, junk, "audit verify")
    eq(file_digest(junk), before, "file unchanged")
    # A text file too (a capture given as the database by mistake).
    cap = env.capture(3, "t")
    before = file_digest(cap)
    rc, out, err = zt(["-p", env.pol, "-d", cap, "import", cap])
    one_line_error(rc, err, cap, "import into a text file")
    eq(file_digest(cap), before, "text file unchanged")


def as_nobody():
    """A command prefix running as nobody, or None when we cannot."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return None


@case
def read_only_database_file(env):
    """bad file: a read-only database file -- one line naming it; the trail is intact"""
    prefix = as_nobody()
    if prefix is None:
        print("skip - read-only database: running as root without setpriv")
        return
    d = env.path("ro")
    os.mkdir(d)
    db, rows = good_trail(env, "ro/t.db", tag="ro")
    for p in (env.dir, d):
        os.chmod(p, 0o777 if p == d else 0o755)
    for name in os.listdir(env.dir):
        full = env.path(name)
        if os.path.isfile(full):
            os.chmod(full, 0o644)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.chmod(db + suffix, 0o444)
    before = file_digest(db)
    cap = env.capture(20, "ro2")
    os.chmod(cap, 0o644)
    cmd = prefix + [os.path.abspath(ZTWATCH), "-p", env.pol, "-d", db, "import", cap]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    check("Sanitizer" not in err, "no sanitizer report: %s" % err[-400:])
    one_line_error(p.returncode, err, db, "import into a read-only file")
    eq(file_digest(db), before, "file unchanged")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.chmod(db + suffix, 0o644)
    intact(db, rows, "after the read-only attempt")
    # Read-only is enough for reading: export and audit verify work as nobody.
    os.chmod(db, 0o444)
    p = subprocess.run(prefix + [os.path.abspath(ZTWATCH), "-d", db, "audit", "verify"],
                       capture_output=True, timeout=60)
    eq(p.returncode, 0, "audit verify of a read-only file as nobody: %s" % p.stderr[-300:])


@case
def disk_full(env):
    """disk full (2 MB tmpfs): one line naming the database; the trail intact, appendable"""
    mnt = env.path("tmpfs")
    why = mount_tmpfs(mnt)
    if why is not None:
        print("skip - disk full: mount failed: %s" % why)
        return
    env.mounts.append(mnt)
    try:
        db = os.path.join(mnt, "full.db")
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.capture(50, "f1")])
        eq(rc, 0, "first import fits: %s" % err)
        integrity, rows = rows_of(db)
        eq(len(rows), 51, "first import rows")
        ballast = os.path.join(mnt, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"\0" * 256 * 1024)
        cap = env.capture(3000, "f2", body_pad=4000)      # ~12 MB of bodies
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", cap], timeout=120)
        eq(rc, 1, "exit code on a full disk (stderr %r)" % err[-300:])
        full_err = err
        os.unlink(ballast)
        rows_after = intact(db, rows, "after the disk filled")
        events_are_prefix(rows_after, "f2", pad=4000, what="rows committed before the disk filled")
        rc, out, err = zt(["-p", env.pol, "-d", db, "import", env.capture(10, "f3")])
        eq(rc, 0, "an import after space returns appends: %s" % err)
        intact(db, rows_after, "after appending")
        # Checked last, so that the trail's state is checked whatever the message.
        one_line_error(1, full_err, db, "import on a full disk")
    finally:
        if unmount(mnt):
            env.mounts.remove(mnt)


if __name__ == "__main__":
    run(FaultEnv)
