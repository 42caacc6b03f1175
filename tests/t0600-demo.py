"""t0600-demo.py -- ztwatch demo: its own nats-server, traffic of every kind, clean ends.

The headless demo (--no-console: the recorder instead of the console) runs
for a few seconds and must sum up a trail with passing events and every
reason the scenario's attacks are meant to give; the demo's folder (under a
TMPDIR of the test's own), its nats-server and its children must all be
gone afterwards -- after --duration, after SIGTERM, and (the processes,
through the kernel's parent-death signal) even after SIGKILL.  --keep
leaves a folder whose trail passes `audit verify` and whose policy loads.
A missing or failing nats-server and a broken scenario give one clear
line, a non-zero exit and nothing left behind.

Each case runs the demo with --assets pointing at a private copy of
assets/, so every process the demo starts (the forks carry the same
command line; nats-server names the demo folder) can be found by a unique
string in /proc/*/cmdline.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTWATCH, Failure, case, check, eq, run, sanitizer_summary,  # noqa: E402
                zt)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# The demo runs in a folder of its own: a relative binary path must not break.
DEMO_BIN = os.path.abspath(ZTWATCH) if os.sep in ZTWATCH else ZTWATCH
ASSETS = os.path.join(ROOT, "assets")


class DemoEnv:
    """A folder for the test: assets copies, TMPDIRs, logs."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="zt-demo-test-")
        self.n = 0
        with open(os.path.join(ASSETS, "demo-scenario.json")) as f:
            self.scenario = json.load(f)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_dir(self, name):
        """A fresh folder holding a copy of assets/ and an empty TMPDIR."""
        self.n += 1
        d = os.path.join(self.dir, "%s-%d" % (name, self.n))
        shutil.copytree(ASSETS, os.path.join(d, "assets"))
        os.makedirs(os.path.join(d, "tmp"))
        return d


class DemoPaths:
    """Where one run of the demo lives: its assets copy and its TMPDIR."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.assets = os.path.join(run_dir, "assets")
        self.tmp = os.path.join(run_dir, "tmp")
        self.proc = None

    def kill_all(self):
        """Last resort for a failing case: every process with our marker."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in processes_with(self.assets) + processes_with(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class Demo(DemoPaths):
    """`ztwatch demo` in the background; output to files."""

    def __init__(self, run_dir, args, extra_env=None):
        super().__init__(run_dir)
        env = dict(os.environ)
        env["TMPDIR"] = self.tmp
        env.update(extra_env or {})
        self.err_path = os.path.join(run_dir, "demo.err")
        self.out_path = os.path.join(run_dir, "demo.out")
        self.err = open(self.err_path, "wb")
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([DEMO_BIN, "demo", "--assets", self.assets] + list(args),
                                     stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     env=env, cwd=run_dir)
        self.rc = None

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def banner(self, timeout=60):
        """Wait for the start line; returns (port, folder)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r"nats-server on nats://127\.0\.0\.1:(\d+) .*; folder (\S+)",
                          self.stderr())
            if m:
                return int(m.group(1)), m.group(2)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise Failure("the demo never said it started; stderr:\n" + self.stderr()[-2000:])

    def wait(self, timeout=90):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            raise Failure("the demo did not end within %d s; stderr:\n%s" %
                          (timeout, self.stderr()[-2000:]))
        finally:
            self.err.close()
            self.out.close()
        err = self.stderr()
        if "Sanitizer" in err or "runtime error" in err:
            raise Failure("sanitizer report:\n" + sanitizer_summary(err))
        return self.rc


def processes_with(text):
    """Pids whose command line holds text."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(int(pid))
    return found


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def check_clean(demo, port, folder, keep=False):
    """Nothing of the demo is left: no process, no listener, no folder."""
    deadline = time.time() + 10
    while time.time() < deadline:
        left = processes_with(demo.assets) + processes_with(folder)
        if not left and not port_open(port):
            break
        time.sleep(0.1)
    left = processes_with(demo.assets) + processes_with(folder)
    if left:
        demo.kill_all()
        raise Failure("processes left behind: %s" % left)
    check(not port_open(port), "nats-server still listens on port %d" % port)
    if not keep:
        check(not os.path.exists(folder), "the demo folder %s is still there" % folder)
        eq(os.listdir(demo.tmp), [], "what the demo left in its TMPDIR")


def summary(text):
    """The demo's summary: totals and the reason table."""
    m = re.search(r"ztwatch demo: (\d+) events in the trail: (\d+) pass, (\d+) fail", text)
    check(m, "no summary in:\n" + text[-2000:])
    total, npass, nfail = (int(x) for x in m.groups())
    reasons = {}
    part = text.split("by reason:", 1)
    check(len(part) == 2, "no reason table in:\n" + text[-2000:])
    for line in part[1].splitlines():
        rm = re.match(r"^\s+([a-z_()]+)\s+(\d+)$", line)
        if rm:
            reasons[rm.group(1)] = int(rm.group(2))
    return total, npass, nfail, reasons


def published(err):
    """The publisher's counts: total messages and attacks by kind."""
    m = re.search(r"published (\d+) messages: (\d+) valid events, (\d+) attacks(?: \((.*)\))?",
                  err)
    check(m, "no publisher line in:\n" + err[-2000:])
    kinds = {}
    for part in (m.group(4) or "").split(", "):
        if part:
            k, n = part.rsplit(" ", 1)
            kinds[k] = int(n)
    return int(m.group(1)), kinds


@case
def headless_run_shows_every_kind_and_cleans_up(env):
    """--no-console --duration: passing events, every attack's reason, nothing left"""
    demo = Demo(env.run_dir("run"), ["--no-console", "--duration", "8", "--rate", "50"])
    port, folder = demo.banner()
    check(folder.startswith(demo.tmp + "/ztwatch-demo-"), "folder under TMPDIR: " + folder)
    check(port_open(port), "nats-server listens while the demo runs")
    eq(demo.wait(), 0, "exit code (stderr: %s)" % demo.stderr()[-1500:])
    check_clean(demo, port, folder)

    total, npass, nfail, reasons = summary(demo.stdout())
    eq(npass + nfail, total, "pass + fail")
    check(npass > 0 and nfail > 0, "passing and failing events: %d, %d" % (npass, nfail))
    eq(reasons.get("ok"), npass, "the reason table's ok row")
    check(0.6 < npass / total < 0.95, "mostly valid traffic: %d of %d pass" % (npass, total))
    want = sorted(set(a["expect"] for a in env.scenario["attacks"]))
    missing = [r for r in want if reasons.get(r, 0) == 0]
    eq(missing, [], "reasons the scenario expects but the trail lacks (%s)" % reasons)
    # ... and no other: every valid event passes, every attack fails as meant.
    eq(sorted(r for r in reasons if r not in want), ["ok"], "unexpected reasons")
    check(len([r for r in reasons if r != "ok"]) >= 8, "several distinct reasons")

    sent, kinds = published(demo.stderr())
    kinds_want = sorted(set(a["kind"] for a in env.scenario["attacks"]))
    eq(sorted(k for k in kinds if kinds[k] > 0), kinds_want, "attack kinds published")
    # The recorder had its head start: it saw (nearly) all that was sent.
    check(sent * 0.9 <= total <= sent, "trail %d events of %d published" % (total, sent))
    # Every subject of the scenario is in the summary.
    for s in set(x["subject"] for x in env.scenario["streams"]):
        check(re.search(r"^\s+%s\s+\d+" % re.escape(s), demo.stdout(), re.M),
              "subject %s in the summary" % s)
    check("random-asdfghjkl" not in demo.stdout() + demo.stderr(), "no secret printed")


@case
def sigterm_after_two_seconds_cleans_up(env):
    """SIGTERM after 2 s: exit 0, a summary, no process, no folder"""
    demo = Demo(env.run_dir("term"), ["--no-console"])
    port, folder = demo.banner()
    time.sleep(2)
    demo.proc.send_signal(signal.SIGTERM)
    eq(demo.wait(), 0, "exit code (stderr: %s)" % demo.stderr()[-1500:])
    check_clean(demo, port, folder)
    total, npass, nfail, _ = summary(demo.stdout())
    check(total > 0 and npass > 0, "events recorded before the signal: %d" % total)
    check("(final)" in demo.stderr(), "the recorder closed its session")


@case
def sigint_is_the_same(env):
    """SIGINT ends it the same way"""
    demo = Demo(env.run_dir("int"), ["--no-console", "--rate", "100"])
    port, folder = demo.banner()
    time.sleep(1.5)
    demo.proc.send_signal(signal.SIGINT)
    eq(demo.wait(), 0, "exit code (stderr: %s)" % demo.stderr()[-1500:])
    check_clean(demo, port, folder)


@case
def keep_leaves_a_trail_that_audits(env):
    """--keep: the folder stays, its trail is intact and its policy loads"""
    demo = Demo(env.run_dir("keep"), ["--no-console", "--duration", "3", "--keep"])
    port, folder = demo.banner()
    eq(demo.wait(), 0, "exit code (stderr: %s)" % demo.stderr()[-1500:])
    try:
        check_clean(demo, port, folder, keep=True)
        check(re.search(r"demo: kept %s$" % re.escape(folder), demo.stderr(), re.M),
              "the kept folder is named")
        db = os.path.join(folder, "ztwatch.db")
        check(os.path.exists(db), "the trail is kept")
        rc, out, err = zt(["-d", db, "audit", "verify"])
        eq(rc, 0, "audit verify exit code (%s %s)" % (out, err))
        rc, out, err = zt(["-p", os.path.join(folder, "policy.json"), "policy"])
        eq(rc, 0, "policy exit code (%s)" % err)
        for name in ("idsvr.pem", "idsvr.pub.pem", "nats-server.log", "seedjwt.secret"):
            check(os.path.exists(os.path.join(folder, name)), name + " kept")
        eq(os.stat(os.path.join(folder, "idsvr.pem")).st_mode & 0o077, 0,
           "private key readable by its owner only")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@case
def sigkill_leaves_no_process(env):
    """SIGKILL of the demo: its children and nats-server still go (parent-death signal)"""
    demo = Demo(env.run_dir("kill"), ["--no-console"])
    port, folder = demo.banner()
    time.sleep(1)
    demo.proc.send_signal(signal.SIGKILL)
    demo.proc.wait(30)
    demo.err.close()
    demo.out.close()
    try:
        check_clean(demo, port, folder, keep=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@case
def missing_nats_server(env):
    """no nats-server: one clear line, exit 1, nothing made"""
    demo = Demo(env.run_dir("missing"), ["--no-console"],
                {"ZTWATCH_NATS_SERVER": "/nonexistent/nats-server"})
    eq(demo.wait(30), 1, "exit code")
    eq(demo.stderr().strip(), "ztwatch: demo: nats-server not found; ./dev demo installs it",
       "stderr")
    eq(os.listdir(demo.tmp), [], "TMPDIR")


@case
def failing_nats_server(env):
    """a nats-server that exits at start: its log is shown, exit 1, nothing left"""
    d = env.run_dir("failing")
    fake = os.path.join(d, "fake-nats-server")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho '[FTL] cannot start: port trouble' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    demo = Demo(d, ["--no-console"], {"ZTWATCH_NATS_SERVER": fake})
    eq(demo.wait(60), 1, "exit code")
    err = demo.stderr()
    check("nats-server exited at start" in err, "says it exited: " + err)
    check("[FTL] cannot start: port trouble" in err, "shows its log: " + err)
    eq(os.listdir(demo.tmp), [], "TMPDIR")
    eq(processes_with(demo.assets), [], "processes left")


@case
def broken_scenario_is_named(env):
    """an attack its rule cannot show: the line is named, exit 2, nothing left"""
    d = env.run_dir("broken")
    path = os.path.join(d, "assets", "demo-scenario.json")
    sc = json.loads(json.dumps(env.scenario))
    sc["attacks"] = [{"kind": "scope", "stream": "payments.card"}]
    with open(path, "w") as f:
        json.dump(sc, f)
    demo = Demo(d, ["--no-console"])
    eq(demo.wait(60), 2, "exit code")
    err = demo.stderr()
    check("attacks[0]" in err and "scope" in err, "names the line: " + err)
    eq(os.listdir(demo.tmp), [], "TMPDIR")

    sc["attacks"] = [{"kind": "jump", "stream": "payments.card"}]
    with open(path, "w") as f:
        json.dump(sc, f)
    demo = Demo(d, ["--no-console"])
    eq(demo.wait(60), 2, "exit code")
    check("attacks[0]: kind" in demo.stderr(), "unknown kind: " + demo.stderr())
    eq(os.listdir(demo.tmp), [], "TMPDIR")


@case
def console_needs_a_terminal(env):
    """without a terminal the console refuses before starting anything"""
    demo = Demo(env.run_dir("notty"), [])
    eq(demo.wait(30), 2, "exit code")
    check("--no-console" in demo.stderr(), "suggests --no-console: " + demo.stderr())
    eq(os.listdir(demo.tmp), [], "TMPDIR")


def tmux(sock, *args):
    return subprocess.run(["tmux", "-L", sock] + list(args), capture_output=True, text=True,
                          timeout=20)


@case
def console_shows_verdicts_and_q_cleans_up(env):
    """the console (in tmux): passing and failing events within seconds; q leaves nothing"""
    if shutil.which("tmux") is None:
        print("skip - console demo: tmux is not installed")
        return
    d = env.run_dir("console")
    demo = DemoPaths(d)
    err, rc_file = os.path.join(d, "demo.err"), os.path.join(d, "demo.rc")
    sock = "zt-demo-%d" % os.getpid()
    # A script, so that the pane's shell does not carry the assets path in
    # its command line (processes_with() looks for it).
    script = os.path.join(d, "run.sh")
    with open(script, "w") as f:
        f.write("cd '%s' && TMPDIR='%s' LANG=C.UTF-8 TZ=UTC '%s' demo --assets '%s' 2>'%s'\n"
                "echo $? > '%s'\nsleep 60\n" % (d, demo.tmp, DEMO_BIN, demo.assets, err,
                                                rc_file))
    tmux(sock, "new-session", "-d", "-s", "zt", "-x", "160", "-y", "45", "sh " + script)
    try:
        deadline = time.time() + 30
        screen = ""
        while time.time() < deadline:
            screen = tmux(sock, "capture-pane", "-p", "-t", "zt").stdout
            if "\u2713" in screen and "\u2717" in screen and "bad_signature" in screen:
                break
            time.sleep(0.3)
        check("\u2713" in screen and "\u2717" in screen,
              "passing and failing events on screen:\n" + screen)
        with open(err, errors="replace") as f:
            m = re.search(r"nats-server on nats://127\.0\.0\.1:(\d+) .*; folder (\S+)", f.read())
        check(m, "the start line on stderr")
        port, folder = int(m.group(1)), m.group(2)
        tmux(sock, "send-keys", "-t", "zt", "q")
        wait_deadline = time.time() + 60
        while time.time() < wait_deadline and not os.path.exists(rc_file):
            time.sleep(0.2)
        check(os.path.exists(rc_file), "the demo ended after q; screen:\n" +
              tmux(sock, "capture-pane", "-p", "-t", "zt").stdout)
        time.sleep(0.2)
        with open(rc_file) as f:
            eq(f.read().strip(), "0", "exit code")
        screen = tmux(sock, "capture-pane", "-p", "-t", "zt").stdout
        check("events in the trail" in screen, "the summary after q:\n" + screen)
        with open(err, errors="replace") as f:
            text = f.read()
        check("Sanitizer" not in text and "runtime error" not in text,
              "sanitizer report:\n" + sanitizer_summary(text))
        check("published" in text, "what the publisher sent: " + text[-1000:])
        check_clean(demo, port, folder)
    finally:
        tmux(sock, "kill-server")
        demo.kill_all()


@case
def usage_errors(env):
    """bad options: exit 2"""
    for args in (["--rate", "0"], ["--duration", "x"], ["--frobnicate"], ["extra"]):
        rc, out, err = zt(["demo", "--no-console"] + args, timeout=30)
        eq(rc, 2, "exit code for %s (%s)" % (args, err))
    rc, out, err = zt(["demo", "--help"], timeout=30)
    eq(rc, 0, "--help exit code")
    check(b"--no-console" in out, "--help lists the options")


if __name__ == "__main__":
    run(DemoEnv)
