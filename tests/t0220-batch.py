"""t0220-batch.py -- verify --batch, and the differential test against libjwt.

Batch: one verdict line per input line, in input order, whatever the
number of threads; a summary with the rate on stderr; bad input lines
become failing verdicts that name the line.

Differential: the same HS/RS/ES tokens judged by libjwt's plain
jwt_decode (through `ztmint libjwt-verify`) and by ztwatch agree, except
where libjwt is fooled; each such case is listed below with the reason,
and the test asserts that libjwt is fooled there and ztwatch is not.
"""

import base64
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import (ZTMINT, Env, b64url, b64url_json, batch_line, case, check, eq,  # noqa: E402
                hs_token, run)

BEARER = {"header": "Authorization", "scheme": "Bearer"}
FAMILY = {"HS256": "hs", "HS384": "hs", "HS512": "hs", "RS256": "rsa", "RS384": "rsa",
          "RS512": "rsa", "ES256": "p256", "ES384": "p384", "ES512": "p521"}


class BatchEnv(Env):
    def __init__(self):
        super().__init__()
        keys = {k: {"pem_file": k + ".pub.pem"} for k in ("rsa", "p256", "p384", "p521")}
        keys["hs"] = {"secret_file": "hs.secret"}
        # Signature-only rules (no claims required) so libjwt, which checks
        # nothing but the signature, is compared like for like.
        rules = [{"name": "sig-" + alg, "subjects": ["sig." + alg], "token": BEARER,
                  "keys": [key], "algorithms": [alg], "require": []}
                 for alg, key in FAMILY.items()]
        rules.append({"name": "rsa-open", "subjects": ["open.>"], "token": BEARER,
                      "keys": ["rsa"], "require": []})
        rules.append({"name": "ordered", "subjects": ["ord.>"], "token": BEARER,
                      "keys": ["hs"], "bind": [{"claim": "event_id", "equals": "/id"}],
                      "replay": {"claim": "jti", "window_s": 3600}})
        self.pol = self.policy({"keys": keys, "rules": rules})


def msg(subject, token, body=b'{"id":"x"}'):
    return batch_line(subject, body, {"Authorization": "Bearer " + token})


@case
def input_order_kept_across_threads(env):
    """batch: 5000 mixed lines come out in input order with 1, 2 and 4 threads"""
    good = env.mint("HS256", "hs", {"sub": "x", "event_id": "0", "jti": "j"})
    lines, want = [], []
    for i in range(5000):
        kind = i % 4
        if kind == 0:
            tok = env.mint("HS256", "hs", {"event_id": str(i), "jti": "j%d" % i}) if i < 40 else \
                hs_token(env.secrets["hs"], {"event_id": str(i), "jti": "j%d" % i,
                                             "exp": int(time.time()) + 600})
            lines.append(msg("ord.%d" % i, tok, b'{"id":"%d"}' % i))
            want.append(("pass", "ok", "ord.%d" % i))
        elif kind == 1:
            lines.append(msg("ord.%d" % i, good, b'{"id":"%d"}' % i))
            want.append(("fail", "event_id_mismatch", "ord.%d" % i))
        elif kind == 2:
            lines.append(msg("nowhere.%d" % i, good))
            want.append(("fail", "no_policy", "nowhere.%d" % i))
        else:
            lines.append(msg("ord.%d" % i, good[:-3] + "AAA", b'{"id":"0"}'))
            want.append(("fail", "bad_signature", "ord.%d" % i))
    for jobs in (1, 2, 4):
        rc, out, err = env.batch(env.pol, lines, jobs=jobs)
        eq(len(out), len(lines), "one verdict per line (jobs %d)" % jobs)
        eq([(v["verdict"], v["reason"], v["subject"]) for v in out], want,
           "verdicts in order (jobs %d)" % jobs)
        eq(rc, 1, "exit code")
        check("5000 events" in err and "/s" in err and "per CPU-second" in err,
              "summary: " + err)
        check("1250 pass, 3750 fail" in err, "counts: " + err)
        # Failures are final when judged (formatted at once), passes wait
        # for the replay step: both are counted.
        for reason in ("event_id_mismatch", "no_policy", "bad_signature"):
            check("%s 1250" % reason in err, "reason counts: " + err)


@case
def replay_is_decided_in_input_order(env):
    """batch: of duplicates, the first in input order passes, whatever the threads"""
    tok = hs_token(env.secrets["hs"], {"event_id": "d", "jti": "dup",
                                       "exp": int(time.time()) + 600})
    filler = [msg("ord.f%d" % i, hs_token(env.secrets["hs"], {
        "event_id": "f", "jti": "f%d" % i, "exp": int(time.time()) + 600}), b'{"id":"f"}')
        for i in range(3000)]
    lines = filler[:1500] + [msg("ord.d", tok, b'{"id":"d"}')] + filler[1500:] + \
        [msg("ord.d", tok, b'{"id":"d"}')]
    for jobs in (2, 4):
        rc, out, err = env.batch(env.pol, lines, jobs=jobs)
        eq((out[1500]["verdict"], out[-1]["reason"]), ("pass", "replay"), "jobs %d" % jobs)
        eq(sum(1 for v in out if v["reason"] == "replay"), 1, "exactly one replay")


@case
def all_pass_exits_0(env):
    """batch: exit 0 when every line passes, blank lines ignored"""
    tok = env.mint("RS256", "rsa", {"sub": "a"})
    rc, out, err = env.batch(env.pol, [msg("sig.RS256", tok), "\n", msg("sig.RS256", tok)])
    eq((rc, len(out)), (0, 2), "exit code and count: " + err)


@case
def summary_counts_in_words(env):
    """batch: the summary says '1 event' and '1 thread', '2 events' and '2 threads'"""
    tok = env.mint("RS256", "rsa", {"sub": "a"})
    rc, out, err = env.batch(env.pol, [msg("sig.RS256", tok)], jobs=1)
    check(re.search(r"verified 1 event in [\d.]+ s with 1 thread: ", err), "summary: " + err)
    rc, out, err = env.batch(env.pol, [msg("sig.RS256", tok)] * 2, jobs=2)
    check(re.search(r"verified 2 events in [\d.]+ s with 2 threads: ", err), "summary: " + err)


@case
def bad_input_lines_become_verdicts(env):
    """batch: lines that are not messages become failing verdicts naming the line"""
    tok = env.mint("RS256", "rsa", {"sub": "a"})
    lines = [msg("sig.RS256", tok), "not json\n", '{"subject":"a"}\n',
             '{"subject":"a","body_b64":"***"}\n', '{"subject":"a","headers":[1],"body_b64":""}\n',
             '{"subject":"sig.RS256","headers":{"Authorization":["Bearer %s"]},"body":"{}"}\n' % tok]
    rc, out, err = env.batch(env.pol, lines)
    eq(len(out), 6, "one line each")
    eq([v["reason"] for v in out], ["ok"] + ["malformed_message"] * 4 + ["ok"], "reasons")
    eq(out[1]["checks"][0]["detail"], "line 2: input line is not JSON: invalid literal at byte 0",
       "detail says why")
    check("line 4" in out[3]["checks"][0]["detail"] and "base64" in out[3]["checks"][0]["detail"],
          "names the line and problem")
    eq(rc, 1, "exit code")


@case
def unreadable_lines_say_why(env):
    """batch: a line that is JSON but not an object, and one the strict parser refuses
    (a \u0000 escape), each get their own reason rather than one catch-all"""
    rc, out, err = env.batch(env.pol, ["[1]\n", '{"subject":"a","body":"x\\u0000y"}\n'])
    eq([v["checks"][0]["detail"] for v in out],
       ["line 1: input line is not a JSON object",
        "line 2: input line is not JSON: \\u0000 not allowed at byte 24"], "details")


@case
def lines_of_any_length_and_ending(env):
    """batch: long lines, CRLF, blank lines and no final newline; lines counted right"""
    secret = env.secrets["hs"]
    exp = int(time.time()) + 600
    text, want, physical, bad_at = [], [], 0, None
    for i in range(2400):
        line = msg("ord.%d" % i, hs_token(secret, {"event_id": str(i), "jti": "l%d" % i,
                                                  "exp": exp}), b'{"id":"%d"}' % i)
        if i % 400 == 7:
            # Longer than one read of the capture, some longer than several.
            line["note"] = "x" * (300000 + i * 300)
        end = "\r\n" if i % 3 == 0 else "\n"
        if i == 2399:
            end = ""                            # the last line has no newline
        text.append(json.dumps(line) + end)
        physical += 1
        want.append(("pass", "ord.%d" % i))
        if i % 50 == 49:
            text.append("\r\n" if i % 100 == 49 else "\n")     # blank: not a message
            physical += 1
        if i == 1210:
            text.append("not json\r\n")
            physical += 1
            bad_at = physical
            want.append(("fail", ""))
    for jobs in (1, 2, 4):
        rc, out, err = env.batch(env.pol, ["".join(text)], jobs=jobs)
        eq(len(out), len(want), "one verdict per message line (jobs %d): %s" % (jobs, err))
        eq([(v["verdict"], v["subject"]) for v in out], want, "in order (jobs %d)" % jobs)
        bad = [v for v in out if v["verdict"] == "fail"]
        eq(bad[0]["checks"][0]["detail"], "line %d: input line is not JSON: invalid literal"
           " at byte 0" % bad_at,
           "the bad line is named by its number, blank lines counted (jobs %d)" % jobs)


@case
def unreadable_batch_is_exit_2(env):
    """batch: a capture that cannot be read (a folder) is one message and exit 2"""
    from zt import ZTWATCH
    p = subprocess.run([ZTWATCH, "-p", env.pol, "verify", "--batch", env.dir],
                       capture_output=True)
    err = p.stderr.decode()
    eq(p.returncode, 2, "exit: " + err)
    check("cannot read '%s'" % env.dir in err and "Is a directory" in err, "message: " + err)
    eq(len(err.splitlines()), 1, "one line, no summary to confuse: " + err)
    eq(p.stdout, b"", "no verdicts")


@case
def verdicts_to_a_full_disk_are_exit_2(env):
    """batch: verdicts that cannot be written (a full disk) are one message and exit 2"""
    from zt import ZTWATCH
    tok = env.mint("HS256", "hs", {"sub": "a"})
    cap = env.write("full.jsonl", "".join(json.dumps(msg("sig.HS256", tok)) + "\n"
                                          for _ in range(600)))
    with open("/dev/full", "wb") as full:
        p = subprocess.run([ZTWATCH, "-p", env.pol, "verify", "--batch", cap],
                           stdout=full, stderr=subprocess.PIPE)
    err = p.stderr.decode()
    eq(p.returncode, 2, "exit: " + err)
    check("cannot write the verdicts: No space left on device" in err, "message: " + err)
    eq(len(err.splitlines()), 1, "one line, no summary to confuse: " + err)


@case
def single_verdict_to_a_full_disk_is_exit_2(env):
    """verify: one verdict that cannot be written is one message and exit 2, whether
    it passes or fails (a bare exit 1 would say 'fail' with the reason lost)"""
    from zt import ZTWATCH
    good = env.mint("HS256", "hs", {"sub": "a"})
    for tok, verdict_rc in ((good, 0), (good[:-2] + "AA", 1)):
        args = [ZTWATCH, "-p", env.pol, "verify", "--subject", "sig.HS256",
                "-H", "Authorization: Bearer " + tok]
        p = subprocess.run(args, input=b"{}", capture_output=True)
        eq(p.returncode, verdict_rc, "to a pipe: " + p.stderr.decode())
        with open("/dev/full", "wb") as full:
            p = subprocess.run(args, input=b"{}", stdout=full, stderr=subprocess.PIPE)
        err = p.stderr.decode()
        eq(p.returncode, 2, "exit: " + err)
        eq(err.strip(), "ztwatch: verify: cannot write the verdict: No space left on device",
           "one message")


@case
def batch_from_stdin(env):
    """batch: '-' reads the batch from stdin"""
    tok = env.mint("ES256", "p256", {"sub": "a"})
    from zt import ZTWATCH
    p = subprocess.run([ZTWATCH, "-p", env.pol, "verify", "--batch", "-"],
                       input=(json.dumps(msg("sig.ES256", tok)) + "\n").encode(),
                       capture_output=True)
    eq(p.returncode, 0, "exit: %s" % p.stderr)
    eq(json.loads(p.stdout)["verdict"], "pass", "verdict")


# ---- differential -------------------------------------------------------------

def libjwt(env, key, tokens):
    keyfile = env.path(key + (".secret" if key in env.secrets else ".pub.pem"))
    p = subprocess.run([ZTMINT, "libjwt-verify", "--key", keyfile],
                       input="".join(t + "\n" for t in tokens), capture_output=True,
                       text=True, timeout=120)
    check(p.returncode in (0, 1), "libjwt-verify ran: %s" % p.stderr)
    return p.stdout.split()


def tamper_claims(tok):
    h, c, s = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(c + "=="))
    claims["sub"] = "mallory"
    return h + "." + b64url_json(claims) + "." + s


@case
def differential_agreement(env):
    """differential: libjwt's jwt_decode and ztwatch agree on ordinary tokens"""
    other = {"hs": None, "rsa": "rsa2", "p256": "p256b", "p384": "p256b", "p521": "p256b"}
    for alg, key in FAMILY.items():
        toks, want = [], []
        for i in range(20):
            t = env.mint(alg, key, {"sub": "u%d" % i, "n": i}, exp_in=None)
            toks += [t, tamper_claims(t), t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB")]
            want += ["pass", "fail", "fail"]
        if other[key]:
            toks.append(env.mint(alg, other[key], {"sub": "x"}, exp_in=None))
            want.append("fail")
        else:
            toks.append(hs_token(b"some-other-secret-0123456789abcdef", {"sub": "x"}, alg=alg))
            want.append("fail")
        lj = libjwt(env, key, toks)
        rc, out, err = env.batch(env.pol, [msg("sig." + alg, t) for t in toks])
        zt = [v["verdict"] for v in out]
        eq(lj, want, "libjwt on %s" % alg)
        eq(zt, want, "ztwatch on %s" % alg)


# Where libjwt 1.10.2's plain jwt_decode(token, key) is fooled, and why
# ztwatch is not.  Each entry: (name, subject, token builder, libjwt key).
FOOLED = [
    ("alg confusion: HS256 signed with the RSA public key PEM as secret",
     "sig.RS256", lambda env: hs_token(open(env.path("rsa.pub.pem"), "rb").read(), {"sub": "x"}),
     "rsa"),
    ("duplicate claim names (jansson keeps the last)",
     "sig.HS256", lambda env: env.sign_raw("HS256", "hs", '{"alg":"HS256"}',
                                           '{"sub":"alice","sub":"admin"}'), "hs"),
    ("duplicate alg in the header",
     "sig.HS256", lambda env: env.sign_raw("HS256", "hs", '{"alg":"none","alg":"HS256"}',
                                           '{"sub":"x"}'), "hs"),
    ("unknown critical header extension",
     "sig.HS256", lambda env: env.sign_raw("HS256", "hs", '{"alg":"HS256","crit":["zz"],"zz":1}',
                                           '{"sub":"x"}'), "hs"),
]


@case
def differential_where_libjwt_is_fooled(env):
    """differential: libjwt is fooled by alg confusion, duplicate names and crit; ztwatch is not"""
    for name, subject, build, key in FOOLED:
        tok = build(env)
        lj = libjwt(env, key, [tok])
        rc, out, err = env.batch(env.pol, [msg(subject, tok)])
        eq(lj, ["pass"], "libjwt fooled by: " + name)
        eq(out[0]["verdict"], "fail", "ztwatch refuses: " + name)


@case
def differential_both_refuse_attacks(env):
    """differential: both refuse none, a stripped signature and ECDSA r = s = 0"""
    none = b64url_json({"alg": "none"}) + "." + b64url_json({"sub": "x"}) + "."
    rs = env.mint("RS256", "rsa", {"sub": "x"}, exp_in=None)
    es = env.mint("ES256", "p256", {"sub": "x"}, exp_in=None)
    cases = [("rsa", "sig.RS256", none), ("rsa", "sig.RS256", rs.rsplit(".", 1)[0] + "."),
             ("p256", "sig.ES256", es.rsplit(".", 1)[0] + "." + b64url(b"\0" * 64))]
    for key, subject, tok in cases:
        eq(libjwt(env, key, [tok]), ["fail"], "libjwt on %s" % tok[:30])
        eq(env.batch(env.pol, [msg(subject, tok)])[1][0]["verdict"], "fail", "ztwatch")


if __name__ == "__main__":
    run(BatchEnv)
