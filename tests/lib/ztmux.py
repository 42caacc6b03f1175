"""ztmux.py -- a console under test: ztwatch in a detached tmux session."""

import os
import subprocess
import time

from zt import Failure, sanitizer_summary


class Tmux:
    """A detached tmux session on a socket of its own."""

    def __init__(self, folder, cmd, cols=200, rows=50):
        self.sock = "zt-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
        self.rc_file = os.path.join(folder, "console.rc")
        self.err_file = os.path.join(folder, "console.err")
        if os.path.exists(self.rc_file):
            os.unlink(self.rc_file)
        shell = "LANG=C.UTF-8 TZ=UTC %s 2>%s; echo $? > %s; echo CONSOLE-EXITED; sleep 60" % (
            " ".join("'%s'" % a for a in cmd), self.err_file, self.rc_file)
        self.tmux("new-session", "-d", "-s", "zt", "-x", str(cols), "-y", str(rows), shell)
        self.tmux("select-pane", "-t", "zt", "-T", "zt-console-title")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              text=True, timeout=20)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "zt").stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "zt", *keys)
        time.sleep(0.3)

    def wait_for(self, text, timeout=30):
        """The screen once it shows text (a string, or a compiled regex)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if (text.search(s) if hasattr(text, "search") else text in s):
                return s
            time.sleep(0.2)
        raise Failure("screen never showed %r:\n%s\nstderr: %s" % (
            text, self.screen(), self.stderr()))

    def stderr(self):
        try:
            with open(self.err_file, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def title(self):
        return self.tmux("display-message", "-p", "-t", "zt", "#{pane_title}").stdout.strip()

    def fmt(self, f):
        return self.tmux("display-message", "-p", "-t", "zt", f).stdout.strip()

    def exit_code(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.rc_file):
                with open(self.rc_file) as f:
                    text = f.read().strip()
                if text:
                    err = self.stderr()
                    if "Sanitizer" in err or "runtime error" in err:
                        raise Failure("sanitizer report:\n" + sanitizer_summary(err))
                    return int(text)
            time.sleep(0.2)
        raise Failure("console did not exit; screen:\n" + self.screen())

    def close(self):
        self.tmux("kill-server")
