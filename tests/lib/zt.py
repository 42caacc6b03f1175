"""tests/lib/zt.py -- what the Python test scripts share.

Keys are made fresh for each run with the openssl command; tokens are
minted by ztmint (libjwt for HS/RS/ES, auth_sign for PS/EdDSA) or, where
a test must not trust our own code, built here with Python's hmac and
hashlib.  Messages in the three wire formats are assembled here byte by
byte, the Go seed's exactly as Go's encoding/json writes it.

Each test is a function registered with @case; run() calls them in
order and prints "ok - NAME" or "not ok - NAME" with the reason.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

# The sanitised build, as `make test` runs it (./ztwatch is the release one).
ZTWATCH = os.environ.get("ZTWATCH", "build/test/ztwatch")
ZTMINT = os.environ.get("ZTMINT", "build/test/ztmint")

_cases = []


def case(fn):
    """Register a test case."""
    _cases.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Failure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def run(env_factory):
    """Run every registered case (or, for a quick look, those whose function
    name holds $ZT_CASE); exit 1 if any failed."""
    env = env_factory()
    failed = 0
    only = os.environ.get("ZT_CASE", "")
    try:
        for fn in _cases:
            if only not in fn.__name__:
                continue
            name = fn.__name__.replace("_", " ")
            if fn.__doc__:
                name = fn.__doc__.strip().splitlines()[0]
            try:
                fn(env)
                print("ok - %s" % name)
            except Exception as e:  # report and go on
                failed += 1
                print("not ok - %s" % name)
                detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
                for line in detail.splitlines()[-12:]:
                    print("#   %s" % line)
            sys.stdout.flush()
    finally:
        env.close()
    sys.exit(1 if failed else 0)


# ---- encodings ------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def go_marshal(obj):
    """encoding/json.Marshal: compact, HTML-escaped, U+2028/9 escaped."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s.encode()


def go_rfc3339nano(t, offset_minutes=60):
    """time.Format(time.RFC3339Nano) in a zone offset_minutes east of UTC."""
    secs = int(t)
    nanos = int(round((t - secs) * 1e9))
    lt = time.gmtime(secs + offset_minutes * 60)
    frac = ("%09d" % nanos).rstrip("0")
    sign = "+" if offset_minutes >= 0 else "-"
    off = abs(offset_minutes)
    return "%s%s%s%02d:%02d" % (time.strftime("%Y-%m-%dT%H:%M:%S", lt),
                                "." + frac if frac else "", sign, off // 60, off % 60)


def hs_token(secret, claims, header=None, alg="HS256"):
    """An HMAC JWT built with Python alone (independent of our code)."""
    h = header if header is not None else {"alg": alg, "typ": "JWT"}
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}[alg]
    si = (b64url_json(h) + "." + b64url_json(claims)).encode()
    return si.decode() + "." + b64url(hmac.new(secret, si, digest).digest())


def seed_event(jwt_secret, event_secret, data_obj, publisher="publisher-1",
               event_type="hello", now=None, jwt_life=3600, event_life=86400,
               event_id="evt-1"):
    """The Go seed's Publisher.Publish: {"id","data","jwt","event_auth"}."""
    now = time.time() if now is None else now
    data = go_marshal(data_obj)
    jwt = hs_token(jwt_secret, {"exp": int(now) + jwt_life, "iat": int(now),
                                "iss": publisher})
    mac = base64.b64encode(hmac.new(event_secret, data, hashlib.sha256).digest()).decode()
    auth = {"publisher_id": publisher, "event_type": event_type,
            "expires_at": go_rfc3339nano(now + event_life), "hash": mac}
    # Field order of the Go struct; data is a RawMessage spliced in as is.
    return (b'{"id":' + go_marshal(event_id) + b',"data":' + data +
            b',"jwt":' + go_marshal(jwt) + b',"event_auth":' + go_marshal(auth) + b"}")


# ---- the environment --------------------------------------------------------

class Env:
    """A temporary folder with fresh keys of every kind."""

    KEYS = {
        "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "rsa2": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p256b": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "p521": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        "ed": ["-algorithm", "ED25519"],
    }

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="zt-test-")
        for name, args in self.KEYS.items():
            subprocess.run(["openssl", "genpkey"] + args + ["-out", self.path(name + ".pem")],
                           check=True, capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", self.path(name + ".pem"), "-pubout",
                            "-out", self.path(name + ".pub.pem")], check=True,
                           capture_output=True)
        self.secrets = {"hs": b"a-long-random-hmac-secret-for-tests-0123456789",
                        "hs2": b"another-hmac-secret-nobody-else-knows-9876543",
                        "seedjwt": b"random-asdfghjkl", "seedevt": b"event-random-asdfghjkl"}
        for name, val in self.secrets.items():
            with open(self.path(name + ".secret"), "wb") as f:
                f.write(val)
        self.npolicy = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def folder(self, name):
        """A new folder of its own for one case: NAME-N."""
        self.nfolders = getattr(self, "nfolders", 0) + 1
        p = self.path("%s-%d" % (name, self.nfolders))
        os.makedirs(p, exist_ok=True)
        return p

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return p

    def policy(self, pol):
        """Write a policy (dict or text) and return its path."""
        self.npolicy += 1
        text = pol if isinstance(pol, str) else json.dumps(pol, indent=1)
        return self.write("policy%d.json" % self.npolicy, text)

    def mint(self, alg, key, claims, header=None, kid=None, lib=None, exp_in=600):
        """A token from ztmint; key is a key name (rsa, p256, hs, ...)."""
        keyfile = self.path(key + (".secret" if key in self.secrets else ".pem"))
        cmd = [ZTMINT, "token", "--alg", alg, "--key", keyfile, "--claims", json.dumps(claims)]
        if exp_in is not None and "exp" not in claims:
            cmd += ["--exp-in", str(exp_in)]
        if header:
            cmd += ["--header", json.dumps(header)]
        if kid:
            cmd += ["--kid", kid]
        if lib:
            cmd += ["--lib", lib]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()

    def sign_raw(self, alg, key, header_text, claims_text):
        """header.claims.sig over exact bytes, signed by auth_sign."""
        keyfile = self.path(key + (".secret" if key in self.secrets else ".pem"))
        return subprocess.run([ZTMINT, "sign", "--alg", alg, "--key", keyfile,
                               "--header-raw", header_text, "--claims-raw", claims_text],
                              check=True, capture_output=True, text=True).stdout.strip()

    def jwk(self, key, kid=None, alg=None, use=None):
        cmd = [ZTMINT, "jwk"]
        cmd += ["--secret", self.path(key + ".secret")] if key in self.secrets else \
               ["--pub", self.path(key + ".pub.pem")]
        for opt, val in (("--kid", kid), ("--alg", alg), ("--use", use)):
            if val:
                cmd += [opt, val]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                         text=True).stdout)

    def verify(self, policy, subject, body, headers=None, now=None, extra=None):
        """Run ztwatch verify; returns (exit code, verdict or None, stderr)."""
        cmd = [ZTWATCH, "-p", policy, "verify", "--subject", subject]
        for k, v in (headers or {}).items():
            cmd += ["-H", "%s: %s" % (k, v)]
        if now is not None:
            cmd += ["--now", str(now)]
        cmd += extra or []
        body = body if isinstance(body, bytes) else body.encode()
        p = subprocess.run(cmd, input=body, capture_output=True, timeout=60)
        verdict = None
        err = p.stderr.decode(errors="replace")
        if "Sanitizer" in err or "runtime error" in err:
            raise Failure("sanitizer report:\n" + sanitizer_summary(err))
        if p.stdout.strip():
            verdict = json.loads(p.stdout)
        return p.returncode, verdict, err

    def batch(self, policy, lines, now=None, jobs=None):
        """Run verify --batch over message dicts; returns (rc, verdicts, stderr)."""
        text = "".join(json.dumps(m) + "\n" if isinstance(m, dict) else m for m in lines)
        f = self.write("batch.jsonl", text)
        cmd = [ZTWATCH, "-p", policy, "verify", "--batch", f]
        if now is not None:
            cmd += ["--now", str(now)]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        err = p.stderr.decode(errors="replace")
        if "Sanitizer" in err or "runtime error" in err:
            raise Failure("sanitizer report:\n" + sanitizer_summary(err))
        out = [json.loads(x) for x in p.stdout.decode().splitlines()]
        return p.returncode, out, err


def sanitizer_summary(err):
    """The first lines of an ASan/UBSan report."""
    lines = err.splitlines()
    start = next((i for i, l in enumerate(lines) if "ERROR" in l or "runtime error" in l), 0)
    return "\n".join(lines[start:start + 14])


def batch_line(subject, body, headers=None):
    """One line of the verify --batch / import format."""
    body = body if isinstance(body, bytes) else body.encode()
    return {"subject": subject, "headers": headers or {},
            "body_b64": base64.b64encode(body).decode()}


def expect(result, verdict, reason, check_name=None):
    """Assert exit code, verdict and reason (and the failing check's name)."""
    rc, v, err = result
    check(v is not None, "no verdict printed; stderr: %s" % err)
    want_rc = 0 if verdict == "pass" else 1
    eq((v["verdict"], v["reason"]), (verdict, reason), "verdict/reason (trace %s)" %
       json.dumps([c for c in v["checks"] if c["ok"] is not True])[:600])
    eq(rc, want_rc, "exit code")
    if check_name is not None:
        failing = [c["check"] for c in v["checks"] if c["ok"] is False]
        eq(failing[:1], [check_name], "failing check")
    return v


# ---- the audit trail (import, export, audit verify) -------------------------

def zt(args, input=None, timeout=120, extra_env=None):
    """Run ztwatch with args; returns (rc, stdout bytes, stderr text).

    A sanitizer report on stderr is a failure of its own."""
    envv = None
    if extra_env:
        envv = dict(os.environ)
        envv.update(extra_env)
    p = subprocess.run([ZTWATCH] + list(args), input=input, capture_output=True,
                       timeout=timeout, env=envv)
    err = p.stderr.decode(errors="replace")
    if "Sanitizer" in err or "runtime error" in err:
        raise Failure("sanitizer report:\n" + sanitizer_summary(err))
    return p.returncode, p.stdout, err


def rfc3339_us(text):
    """An RFC 3339 time (any fraction, Z or an offset) as microseconds since the epoch."""
    import calendar
    import re
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$",
                 text or "")
    if not m:
        raise Failure("not an RFC 3339 time: %r" % (text,))
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    frac = m.group(7)
    us = int((frac[1:] + "000000")[:6]) if frac else 0
    off = m.group(8)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        secs -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return secs * 1000000 + us


def us_rfc3339(us, offset_minutes=0, digits=6):
    """Microseconds since the epoch as RFC 3339 (digits of fraction, 0 for none)."""
    secs, frac = divmod(us, 1000000)
    lt = time.gmtime(secs + offset_minutes * 60)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", lt)
    if digits:
        text += "." + ("%06d" % frac)[:digits]
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    off = abs(offset_minutes)
    return text + "%s%02d:%02d" % (sign, off // 60, off % 60)


def nats_match(pattern, subject):
    """NATS subject matching: '*' is one token, '>' the rest (one or more)."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def read_csv_rows(data):
    """An export in CSV (bytes) as a list of dicts, through Python's csv module."""
    import csv
    import io
    text = data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    check(rows, "CSV has a header row")
    head = rows[0]
    eq(len(set(head)), len(head), "CSV column names are unique")
    for i, r in enumerate(rows[1:]):
        eq(len(r), len(head), "CSV record %d field count" % (i + 1))
    return head, [dict(zip(head, r)) for r in rows[1:]]


# ---- NATS: a real nats-server on a free loopback port ------------------------

ZTPUB = os.environ.get("ZTPUB", "build/test/ztpub")


NKEY_PREFIX = {"operator": 14 << 3, "account": 0, "user": 20 << 3}


def _nkey_crc16(data):
    """CRC-16/XMODEM, as the nkeys format uses."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def _nkey_text(raw):
    raw += _nkey_crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


def nkey_pair(folder, name, kind="user"):
    """An nkey pair made with openssl (no nk tool here): returns (seed text, public key
    text, path of the Ed25519 PEM private key) for kind operator, account or user."""
    pem = os.path.join(folder, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", pem], check=True,
                   capture_output=True)
    seed = subprocess.run(["openssl", "pkey", "-in", pem, "-outform", "DER"], check=True,
                          capture_output=True).stdout[-32:]
    pub = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout[-32:]
    prefix, seed_prefix = NKEY_PREFIX[kind], 18 << 3
    seed_text = _nkey_text(bytes([seed_prefix | prefix >> 5, (prefix & 31) << 3]) + seed)
    return seed_text, _nkey_text(bytes([prefix]) + pub), pem


def nkey_user(folder, name):
    """A NATS user nkey: writes NAME.nk with the seed and the public key, one per line,
    as `nk -gen user -pubout` prints them, and returns (path, public key)."""
    seed_text, pub_text, _ = nkey_pair(folder, name)
    path = os.path.join(folder, name + ".nk")
    with open(path, "w") as f:
        f.write(seed_text + "\n" + pub_text + "\n")
    return path, pub_text


def nats_jwt(claims, issuer_pem):
    """A NATS JWT (alg ed25519-nkey) of claims, signed with openssl by the issuer's key."""
    def part(obj):
        text = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    claims = dict(claims, iat=int(time.time()))
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims).encode())
                                     .digest()).decode().rstrip("=")
    signing_input = part({"typ": "JWT", "alg": "ed25519-nkey"}) + "." + part(claims)
    data = issuer_pem + ".in"           # openssl signs Ed25519 in one shot, from a file
    with open(data, "w") as f:
        f.write(signing_input)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", issuer_pem,
                          "-in", data], check=True, capture_output=True).stdout
    os.unlink(data)
    return signing_input + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")


def nats_operator(folder):
    """Decentralized NATS auth as nsc sets it up: an operator, one account and a user.
    Returns (server config text, path of the user's .creds file, path of a .creds file
    of a user the account never signed)."""
    _, op_pub, op_pem = nkey_pair(folder, "operator", "operator")
    _, acct_pub, acct_pem = nkey_pair(folder, "account", "account")
    op_jwt = nats_jwt({"iss": op_pub, "sub": op_pub, "name": "ztop",
                       "nats": {"type": "operator", "version": 2}}, op_pem)
    acct_jwt = nats_jwt({"iss": op_pub, "sub": acct_pub, "name": "ztacct",
                         "nats": {"limits": {"subs": -1, "data": -1, "payload": -1,
                                             "imports": -1, "exports": -1, "conn": -1,
                                             "leaf": -1, "wildcards": True},
                                  "type": "account", "version": 2}}, op_pem)
    conf = ('operator: "%s"\nresolver: MEMORY\nresolver_preload: { %s: "%s" }\n'
            % (op_jwt, acct_pub, acct_jwt))
    paths = []
    for name, signer in (("user", acct_pem), ("stranger", None)):
        seed, pub, pem = nkey_pair(folder, name)
        user_jwt = nats_jwt({"iss": acct_pub, "sub": pub, "name": name,
                             "nats": {"pub": {}, "sub": {}, "subs": -1, "data": -1,
                                      "payload": -1, "type": "user", "version": 2}},
                            signer or pem)
        path = os.path.join(folder, name + ".creds")
        with open(path, "w") as f:
            f.write("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                    "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n"
                    % (user_jwt, seed))
        paths.append(path)
    return conf, paths[0], paths[1]


class TestCA:
    """A certificate authority made with openssl for one test, in folder: issue()
    writes a certificate (for 127.0.0.1 by default) and its key, signed by it."""

    def __init__(self, folder, name="zt-test-ca"):
        self.folder = folder
        self.pem, self.key = os.path.join(folder, "ca.pem"), os.path.join(folder, "ca.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        self.key, "-out", self.pem, "-days", "2", "-subj", "/CN=" + name],
                       check=True, capture_output=True)

    def issue(self, name, cn="127.0.0.1", alt="IP:127.0.0.1,DNS:localhost"):
        """(certificate, key) paths for NAME.pem and NAME.key."""
        crt, key = (os.path.join(self.folder, name + ext) for ext in (".pem", ".key"))
        ext = os.path.join(self.folder, name + ".cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % alt)
        for cmd in (["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                     "-out", crt + ".csr", "-subj", "/CN=" + cn],
                    ["openssl", "x509", "-req", "-in", crt + ".csr", "-CA", self.pem, "-CAkey",
                     self.key, "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext]):
            subprocess.run(cmd, check=True, capture_output=True)
        return crt, key


def mount_tmpfs(path, size="2m"):
    """Mount a tmpfs of size at path (made here), for a full disk; None, or why it failed
    (the caller then skips: mounting needs root)."""
    os.mkdir(path)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path],
                       capture_output=True, text=True)
    return None if p.returncode == 0 else (p.stderr.strip() or str(p.returncode))


def unmount(path):
    """Unmount path, lazily if it stays busy; whether it is unmounted."""
    for _ in range(3):
        subprocess.run(["umount", path], capture_output=True)
        if not os.path.ismount(path):
            return True
        time.sleep(0.2)
    subprocess.run(["umount", "-l", path], capture_output=True)
    return not os.path.ismount(path)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CuttingProxy:
    """A TCP relay on 127.0.0.1 in front of a real server that cuts the line
    when the client sends marker, then refuses every new connection: a
    server lost at one exact step.  The test that starts one closes it."""

    def __init__(self, target_port, marker):
        import socket
        import threading
        self.target_port = target_port
        self.marker = marker
        self.cut = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, watch):
        seen = b""
        while not self.cut.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                break
            if not data:
                break
            seen = (seen + data)[-4096:]
            if watch and self.marker in seen:
                self.cut.set()
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        if self.cut.is_set():
            self.close_links()

    def close_links(self):
        import socket
        for sk in self.socks:
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sk.close()

    def close(self):
        self.cut.set()
        self.lsock.close()
        self.close_links()


class NatsServer:
    """nats-server with JetStream in a folder of its own, on 127.0.0.1 only.

    The test that starts one stops it (stop(), or the with-statement)."""

    def __init__(self, folder, port=None, config=None, monitor=False, js_flags=True):
        self.folder = folder
        self.js_flags = js_flags      # False: the config sets up JetStream
        os.makedirs(folder, exist_ok=True)
        self.port = port or free_port()
        self.mport = free_port() if monitor else None
        self.config = config
        self.proc = None
        self.start()

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self):
        cmd = ["nats-server", "-a", "127.0.0.1", "-p", str(self.port)]
        if self.js_flags:
            cmd += ["-js", "-sd", os.path.join(self.folder, "js")]
        if self.mport:
            cmd += ["-m", str(self.mport)]
        if self.config:
            path = os.path.join(self.folder, "server.conf")
            with open(path, "w") as f:
                f.write(self.config)
            cmd += ["-c", path]
        self.log = open(os.path.join(self.folder, "server.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            import socket
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise Failure("nats-server did not start on port %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def kill(self):
        """SIGKILL: the node dies as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop()

    def connz(self, state="all"):
        """The monitoring endpoint's connections (needs monitor=True)."""
        import urllib.request
        url = "http://127.0.0.1:%d/connz?state=%s&limit=1024" % (self.mport, state)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())["connections"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Recorder:
    """`ztwatch record` running in the background; stderr goes to a file."""

    def __init__(self, args, folder, name="rec"):
        self.err_path = os.path.join(folder, name + ".err")
        self.out_path = os.path.join(folder, name + ".out")
        self.err = open(self.err_path, "wb")
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([ZTWATCH] + list(args), stdout=self.out, stderr=self.err)

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read()

    def wait_for(self, text, timeout=30):
        """Wait until stderr shows text; fail if the process exits first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.stderr():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise Failure("recorder never said %r; stderr:\n%s" % (text, self.stderr()[-2000:]))

    def stop(self, sig=None, timeout=60):
        """Signal (SIGTERM by default) and wait; returns the exit code."""
        import signal as _signal
        if self.proc.poll() is None:
            self.proc.send_signal(sig or _signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("recorder did not exit within %d s; stderr:\n%s" %
                          (timeout, self.stderr()[-2000:]))
        self.err.close()
        self.out.close()
        err = self.stderr()
        if "Sanitizer" in err or "runtime error" in err:
            raise Failure("sanitizer report:\n" + sanitizer_summary(err))
        return rc

    def kill(self):
        """SIGKILL if still running (for a test's cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.out.close()

    def peak_rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0


_started = []


def recorder(args, folder, name="rec"):
    """A Recorder that a case wrapped in @cleaned stops even when the case fails."""
    r = Recorder(args, folder, name)
    _started.append(r)
    return r


def cleaned(fn):
    """Kill whatever recorders the case left running (after a failure)."""
    def wrapper(env):
        try:
            fn(env)
        finally:
            while _started:
                _started.pop().kill()
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def ztpub(url, capture, *args, timeout=300):
    """Publish a capture file with the plain nats.c publisher."""
    p = subprocess.run([ZTPUB, "-s", url] + list(args) + [capture], capture_output=True,
                       timeout=timeout)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 or "Sanitizer" in err:
        raise Failure("ztpub failed (%d): %s" % (p.returncode, err[-1500:]))
    return err


def create_stream(url, name, subjects, max_msgs=0):
    args = [ZTPUB, "-s", url, "--create-stream", name, "--subjects", subjects]
    if max_msgs:
        args += ["--max-msgs", str(max_msgs)]
    p = subprocess.run(args, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise Failure("cannot create stream %s: %s" % (name, p.stderr.decode()))


def trail_rows(db, where="1=1"):
    """Rows of a trail as dicts (read with Python's sqlite3)."""
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM trail WHERE %s ORDER BY id" % where)]
    con.close()
    return rows


def wait_until(fn, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Failure("timed out waiting for %s" % what)


def trail_count(db, where="kind = 'event'"):
    """Rows matching where, or 0 while the trail does not exist yet."""
    import sqlite3
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        n = con.execute("SELECT count(*) FROM trail WHERE %s" % where).fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


# ---- NATS clusters and the JetStream API (raw protocol, no client library) ---

def nats_request(url, subject, payload=b"", timeout=5.0):
    """One request over the NATS text protocol on a socket of its own.

    Returns the reply's body (bytes), or None when nobody answered in time
    (or the server said no responders).  Independent of nats.c."""
    import socket
    host, port = url.split("//", 1)[-1].rsplit(":", 1)
    payload = payload if isinstance(payload, bytes) else payload.encode()
    deadline = time.time() + timeout
    try:
        s = socket.create_connection((host, int(port)), timeout)
    except OSError:
        return None
    buf = b""

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            s.settimeout(max(0.01, deadline - time.time()))
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            buf += chunk
        text, buf = buf.split(b"\r\n", 1)
        return text

    def exact(n):
        nonlocal buf
        while len(buf) < n + 2:
            s.settimeout(max(0.01, deadline - time.time()))
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            buf += chunk
        data, buf = buf[:n], buf[n + 2:]
        return data

    try:
        line()                                   # INFO
        inbox = "_INBOX.zt%d" % os.getpid()
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,'
                  b'"no_responders":true,"protocol":1}\r\n' +
                  ("SUB %s 1\r\nPUB %s %s %d\r\n" % (inbox, subject, inbox,
                                                    len(payload))).encode() +
                  payload + b"\r\nPING\r\n")
        while time.time() < deadline:
            words = line().split()
            if not words:
                continue
            if words[0] == b"PING":
                s.sendall(b"PONG\r\n")
            elif words[0] == b"MSG":
                return exact(int(words[-1]))
            elif words[0] == b"HMSG":
                data = exact(int(words[-1]))
                hdr_len = int(words[-2])
                if b" 503" in data[:hdr_len].split(b"\r\n")[0]:
                    return None              # no responders
                return data[hdr_len:]
            elif words[0] == b"-ERR":
                return None
        return None
    except OSError:
        return None
    finally:
        s.close()


def js_api(url, what, req=None, timeout=5.0):
    """A JetStream API call ($JS.API.<what>): the reply as a dict, or None."""
    body = json.dumps(req).encode() if req is not None else b""
    out = nats_request(url, "$JS.API." + what, body, timeout)
    return json.loads(out) if out else None


class NatsCluster:
    """Three (or n) nats-servers clustered on loopback, JetStream on each.

    Each node has a name, a folder, a client port, a cluster port and a
    monitoring port; the routes list every other node.  The test stops it."""

    def __init__(self, folder, n=3, name="ztc"):
        self.nodes = []
        cports = [free_port() for _ in range(n)]
        try:
            for i in range(n):
                nf = os.path.join(folder, "n%d" % (i + 1))
                routes = ", ".join("nats://127.0.0.1:%d" % p for j, p in enumerate(cports)
                                   if j != i)
                conf = ("server_name: n%d\n"
                        "jetstream { store_dir: \"%s\" }\n"
                        "cluster {\n  name: %s\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n" %
                        (i + 1, os.path.join(nf, "js"), name, cports[i], routes))
                self.nodes.append(NatsServer(nf, config=conf, monitor=True, js_flags=False))
        except Exception:
            self.stop()
            raise

    @property
    def urls(self):
        return ",".join(s.url for s in self.nodes)

    def alive(self):
        return [s for s in self.nodes if s.proc is not None and s.proc.poll() is None]

    def node_of(self, conn_name):
        """The node a client (by connection name) is connected to, or None."""
        for s in self.alive():
            try:
                if any(c.get("name") == conn_name for c in s.connz("open")):
                    return s
            except OSError:
                pass
        return None

    def wait_stream(self, stream, subjects, replicas=3, timeout=40):
        """Create the stream (retrying while the cluster elects its leaders)."""
        req = {"name": stream, "subjects": subjects, "num_replicas": replicas,
               "storage": "file"}
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            for s in self.alive():
                last = js_api(s.url, "STREAM.CREATE." + stream, req)
                if last and "error" not in last:
                    return last
                if last and last["error"].get("err_code") == 10058:   # exists
                    return js_api(s.url, "STREAM.INFO." + stream)
            time.sleep(0.25)
        raise Failure("the cluster did not take stream %s: %r" % (stream, last))

    def stream_info(self, stream, timeout=30):
        """Stream info from any live node, once the stream has a leader."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            for s in self.alive():
                last = js_api(s.url, "STREAM.INFO." + stream)
                if last and "error" not in last and last.get("cluster", {}).get("leader"):
                    return last
            time.sleep(0.25)
        raise Failure("stream %s has no leader: %r" % (stream, last))

    def stop(self):
        for s in self.nodes:
            s.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
