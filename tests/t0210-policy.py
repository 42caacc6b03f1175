"""t0210-policy.py -- the policy file: every bad case gives one clear line and exit 2.

A message names the file, the JSON path and the problem.  The keyring
listing shows fingerprints and never a secret.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from zt import ZTWATCH, Env, case, check, eq, run  # noqa: E402

BEARER = {"header": "Authorization", "scheme": "Bearer"}


def base(**rule_over):
    rule = {"name": "r", "subjects": ["orders.>"], "token": BEARER, "keys": ["rsa"]}
    rule.update(rule_over)
    rule = {k: v for k, v in rule.items() if v is not None}
    return {"keys": {"rsa": {"pem_file": "rsa.pub.pem"}, "hs": {"secret": "s3cr3t-literal-value"}},
            "rules": [rule]}


def policy_run(env, pol, args=("policy",)):
    path = env.policy(pol)
    p = subprocess.run([ZTWATCH, "-p", path] + list(args), capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr, os.path.basename(path)


def expect_error(env, pol, *needles, args=("policy",)):
    rc, out, err, name = policy_run(env, pol, args)
    eq(rc, 2, "exit code (stderr: %s)" % err.strip())
    lines = err.strip().splitlines()
    eq(len(lines), 1, "one line: %r" % err)
    check(name in lines[0], "file named: %s" % lines[0])
    for n in needles:
        check(n in lines[0], "%r in %r" % (n, lines[0]))
    check("Sanitizer" not in err, "no sanitizer report")
    return lines[0]


@case
def valid_policy_lists_rules_and_keys(env):
    """a valid policy: exit 0, rules and keys with fingerprints, no secret"""
    rc, out, err, _ = policy_run(env, base())
    eq(rc, 0, "exit code: " + err)
    check("1. r" in out and "SHA256:" in out and "PBKDF2:" in out, out)
    check("s3cr3t" not in out + err, "secret printed")


@case
def keys_command_never_prints_secrets(env):
    """ztwatch keys: every source of secret, none printed"""
    env.write("file.secret", b"file-secret-value-123\n")
    pol = {"keys": {"lit": {"secret": "literal-secret-value"},
                    "file": {"secret_file": "file.secret"},
                    "envk": {"secret_env": "ZT_TEST_SECRET"},
                    "rsa": {"pem_file": "rsa.pub.pem", "kid": "k1"}},
           "rules": [{"name": "r", "subjects": ["a"], "token": BEARER,
                      "keys": ["lit", "file", "envk", "rsa"]}]}
    path = env.policy(pol)
    e = dict(os.environ, ZT_TEST_SECRET="env-secret-value-456")
    p = subprocess.run([ZTWATCH, "-p", path, "keys"], capture_output=True, text=True, env=e)
    eq(p.returncode, 0, "exit: " + p.stderr)
    for s in ("literal-secret-value", "file-secret-value", "env-secret-value"):
        check(s not in p.stdout + p.stderr, "secret %s printed" % s)
    eq(p.stdout.count("PBKDF2:"), 3, "secret fingerprints")
    check("secret_env ZT_TEST_SECRET" in p.stdout, "source shown")
    fp_file = [l for l in p.stdout.splitlines() if l.strip().startswith("file")][0].split()[-1]
    # The same secret from another source has the same fingerprint.
    env.write("same.secret", b"env-secret-value-456")
    pol["keys"]["file"] = {"secret_file": "same.secret"}
    p2 = subprocess.run([ZTWATCH, "-p", env.policy(pol), "keys"], capture_output=True, text=True, env=e)
    fps = [l.split()[-1] for l in p2.stdout.splitlines() if "PBKDF2:" in l]
    check(fps.count(fps[1]) == 2 and fp_file not in fps[1:], "fingerprints identify the secret")
    # An unset variable is an error naming it.
    p3 = subprocess.run([ZTWATCH, "-p", path, "keys"], capture_output=True, text=True,
                        env={k: v for k, v in os.environ.items() if k != "ZT_TEST_SECRET"})
    eq(p3.returncode, 2, "unset env exit")
    check("ZT_TEST_SECRET" in p3.stderr and "keys.envk" in p3.stderr, p3.stderr)


@case
def fingerprint_matches_openssl(env):
    """fingerprint: SHA-256 of the SPKI DER, as openssl computes it"""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", env.path("rsa.pub.pem"),
                          "-outform", "DER"], capture_output=True, check=True).stdout
    import base64
    import hashlib
    want = "SHA256:" + base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    rc, out, err, _ = policy_run(env, base(), ("keys",))
    check(want in out, "%s in %s" % (want, out))


@case
def error_lines_escape_hostile_text(env):
    """an error naming hostile text (a field name, a file name) shows its control bytes
    escaped: the terminal never gets them raw"""
    hostile = "x\u001b]2;pwned\u0007\u001b[2J\u009b"
    for pol, needle in ((base(**{hostile: 1}), "x\\x1b]2;pwned\\x07"),
                        ({"keys": {"k": {"pem_file": hostile + ".pem"}},
                          "rules": base()["rules"]}, "x\\x1b]2;pwned")):
        line = expect_error(env, pol, needle)
        check("\x1b" not in line and "\x07" not in line and "\u009b" not in line, repr(line))


@case
def error_lines_escape_bidi_and_invisible_text(env):
    """an error naming text with a bidi override, an isolate or an invisible character
    shows them as \\uXXXX, as the console does: the line is never reordered or hidden"""
    hostile = "admin\u202egpj.exe\u2066x\u200by\ufeff"
    for pol in (base(**{hostile: 1}),
                {"keys": {"k": {"pem_file": hostile + ".pem"}}, "rules": base()["rules"]}):
        line = expect_error(env, pol, "admin\\u202egpj.exe\\u2066x\\u200by\\ufeff")
        for raw in ("\u202e", "\u2066", "\u200b", "\ufeff"):
            check(raw not in line, "raw %r in %r" % (raw, line))
    # Printable text beyond ASCII is left as it is.
    expect_error(env, base(**{"clé_日本": 1}), "clé_日本")


@case
def keys_listing_escapes_hostile_kids(env):
    """keys: a JWKS kid carrying terminal escapes is shown escaped, never raw"""
    jwk = env.jwk("rsa", kid="k\u001b]2;pwned\u0007\u001b[2J\u009b")
    env.write("hostile.jwks.json", json.dumps({"keys": [jwk]}))
    pol = {"keys": {"idsvr": {"jwks_file": "hostile.jwks.json"}},
           "rules": [{"name": "r", "subjects": ["a"], "token": BEARER, "keys": ["idsvr"]}]}
    for cmd in ("keys", "policy"):
        rc, out, err, _ = policy_run(env, pol, (cmd,))
        eq(rc, 0, "exit: " + err)
        check("\x1b" not in out and "\x07" not in out and "\u009b" not in out, repr(out))
        check("\\x1b]2;pwned" in out, "shown escaped: " + out)


@case
def missing_policy_file(env):
    """bad policy: the file does not exist"""
    p = subprocess.run([ZTWATCH, "-p", env.path("nope.json"), "policy"], capture_output=True,
                       text=True)
    eq(p.returncode, 2, "exit")
    check("nope.json" in p.stderr and "No such file" in p.stderr, p.stderr)


@case
def not_json(env):
    """bad policy: not JSON (line and column), no secret echoed"""
    line = expect_error(env, '{"keys": {"hs": {"secret": "s3cr3t-abc"}} "rules": []}',
                        "line 1", "not valid JSON")
    check("s3cr3t" not in line, "secret echoed: " + line)


@case
def not_json_keeps_janssons_words(env):
    """bad policy: not JSON says what is wrong, without the file's text near the error"""
    for text, want in (
            ('{"keys": {"hs": {"secret": hunterpass}}}', "invalid token"),
            ('{"keys": {"hs": {"secret": "s3cr3t-abc", ]}}}', "string or '}' expected"),
            ("", "'[' or '{' expected near end of file"),
            ('{"keys": {}} hunterpass', "end of file expected"),
            ('{"keys": {"hs": {"secret": "s3cr3t-abc\nx"}}}', "unexpected newline"),
            ('{"keys": {"hs": {"secret": "s3cr3t-\u0001x"}}}', "control character"),
            ('{"keys": {"hs": {"secret": "s3cr3t\\ud800"}}}', "invalid Unicode")):
        line = expect_error(env, text, "not valid JSON")
        check(line.endswith("not valid JSON: " + want), "%r: %r" % (want, line))
        for shown in ("hunter", "s3cr3t", "0x", "\\u", " near '"):
            check(shown not in line, "file text shown: %r" % line)


@case
def unknown_fields(env):
    """bad policy: unknown field at the top, in a rule, in a key, in a binding"""
    pol = base()
    pol["extra"] = 1
    expect_error(env, pol, "unknown field 'extra'")
    expect_error(env, base(issuers="x"), "rules[0]", "unknown field 'issuers'")
    pol = base()
    pol["keys"]["rsa"]["pem"] = "x"
    expect_error(env, pol, "keys.rsa", "unknown field 'pem'")
    expect_error(env, base(bind=[{"claim": "a", "equals": "/a", "hashh": "x"}]),
                 "rules[0].bind[0]", "unknown field 'hashh'")


@case
def missing_key_file(env):
    """bad policy: a key file that does not exist (resolved against the policy's folder)"""
    pol = base()
    pol["keys"]["rsa"] = {"pem_file": "keys/missing.pem"}
    line = expect_error(env, pol, "keys.rsa.pem_file", "missing.pem")
    check(env.dir in line, "path resolved against the policy's folder: " + line)


@case
def key_file_that_does_not_parse(env):
    """bad policy: key files that do not parse (PEM, JWK, JWKS), a private key"""
    env.write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    env.write("bad.jwks.json", '{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}')
    env.write("bad.jwk.json", '{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}')
    for src, where in (({"pem_file": "garbage.pem"}, "keys.rsa.pem_file"),
                       ({"jwks_file": "bad.jwks.json"}, "keys.rsa.jwks_file"),
                       ({"jwk_file": "bad.jwk.json"}, "keys.rsa.jwk_file"),
                       ({"pem_file": "rsa.pem"}, "private key")):
        pol = base()
        pol["keys"]["rsa"] = src
        expect_error(env, pol, where)


@case
def secret_that_is_a_key_text_is_refused(env):
    """bad policy: an HMAC secret that is a public key's PEM or JWK text (key confusion
    set up by the policy) is refused, and the message shows none of it"""
    pem = open(env.path("rsa.pub.pem")).read()
    jwk = json.dumps(env.jwk("rsa", kid="k1"))
    os.environ["ZT_TEST_PEM_SECRET"] = pem
    try:
        for src, kind in (({"secret_file": "rsa.pub.pem"}, "PEM"), ({"secret": jwk}, "JWK"),
                          ({"secret_env": "ZT_TEST_PEM_SECRET"}, "PEM")):
            pol = base(keys=["hs"])
            pol["keys"]["hs"] = src
            line = expect_error(env, pol, "keys.hs", "the secret is %s key text" % kind)
            check(pem.splitlines()[1][:20] not in line and jwk[10:30] not in line,
                  "no secret bytes in: " + line)
    finally:
        del os.environ["ZT_TEST_PEM_SECRET"]


@case
def rule_naming_a_missing_key(env):
    """bad policy: a rule naming a missing key"""
    expect_error(env, base(keys=["rsa", "idsvr9"]), "rules[0].keys[1]", "no key named 'idsvr9'")


@case
def unknown_algorithm(env):
    """bad policy: unknown algorithm names, none, in a rule and on a key"""
    expect_error(env, base(algorithms=["RS256", "RS257"]), "rules[0]", "algorithms[1]",
                 "unknown algorithm 'RS257'")
    expect_error(env, base(algorithms=["none"]), "'none' is never accepted")
    expect_error(env, base(algorithms=["rs256"]), "unknown algorithm 'rs256'")
    pol = base()
    pol["keys"]["rsa"]["alg"] = "XS256"
    expect_error(env, pol, "keys.rsa", "XS256")


@case
def key_contradicting_the_rule(env):
    """bad policy: a key whose alg or use contradicts the rule; no key for an alg"""
    env.write("enc.jwks.json", json.dumps({"keys": [env.jwk("rsa", kid="e1", use="enc")]}))
    env.write("es.jwks.json", json.dumps({"keys": [env.jwk("p256", kid="e2", alg="ES256")]}))
    pol = base(keys=["enc"])
    pol["keys"]["enc"] = {"jwks_file": "enc.jwks.json"}
    expect_error(env, pol, "rules[0]", "use 'enc'")
    pol = base(keys=["es"], algorithms=["RS256"])
    pol["keys"]["es"] = {"jwks_file": "es.jwks.json"}
    expect_error(env, pol, "rules[0]", "ES256")
    expect_error(env, base(algorithms=["ES256"]), "rules[0]", "no key of this rule can verify ES256")
    pol = base()
    pol["keys"]["rsa"]["alg"] = "ES256"
    expect_error(env, pol, "keys.rsa", "ES256")


@case
def rule_with_no_keys(env):
    """bad policy: a rule with no keys"""
    expect_error(env, base(keys=[]), "rules[0]", "keys")
    expect_error(env, base(keys=None), "rules[0]", "keys")


@case
def other_rule_errors(env):
    """bad policy: subjects, pointers, bindings, scopes, profile, duplicates"""
    expect_error(env, base(subjects=["orders.>.x"]), "rules[0]", "not a valid subject")
    expect_error(env, base(subjects=["a..b"]), "not a valid subject")
    expect_error(env, base(subjects=[]), "rules[0]")
    expect_error(env, base(token={"json": "accessToken"}), "rules[0].token", "must start with '/'")
    expect_error(env, base(token={"header": "A", "json": "/a"}), "exactly one of")
    expect_error(env, base(bind=[{"claim": "h", "hash": "md5"}]), "rules[0].bind[0]", "md5")
    expect_error(env, base(bind=[{"claim": "h", "hash": "sha256", "equals": "/a"}]),
                 "exactly one of 'equals' or 'hash'")
    expect_error(env, base(scopes=["resume_orders"]), "resume_orders", "bind")
    expect_error(env, base(profile="kafka"), "unknown profile 'kafka'")
    expect_error(env, base(profile="nats_pubsub", token=None, keys=["hs"]), "event_key")
    expect_error(env, base(profile="nats_pubsub", token=None, keys=["hs"], event_key="rsa"),
                 "must be one HMAC secret")
    expect_error(env, base(leeway_s=-5), "leeway_s")
    expect_error(env, base(replay={"claim": "jti", "window_s": 0}), "window_s")
    pol = base()
    pol["rules"].append(dict(pol["rules"][0]))
    expect_error(env, pol, "rules[1]", "a rule named 'r' comes earlier")
    expect_error(env, '{"keys":{"a":{"secret":"x"}},"keys":{}}', "not valid JSON")
    expect_error(env, {"keys": {}, "rules": []}, "keys")
    pol = base()
    pol["keys"]["x"] = {"jwks_url": "http://127.0.0.1:9/jwks"}
    expect_error(env, pol, "keys.x", "allow_http")


@case
def empty_checks_are_refused_not_skipped(env):
    """bad policy: an empty issuer, audience or scopes list (or empty string) would turn
    the check off without a word, so it is an error; require [] still means none"""
    for member in ("issuer", "audience", "scopes"):
        expect_error(env, base(**{member: []}), "rules[0]", "'%s' is an empty list" % member)
        expect_error(env, base(**{member: ""}), "rules[0]", "'%s' must be a non-empty string"
                     % member)
    rc, out, err, name = policy_run(env, base(require=[]))
    eq(rc, 0, "require [] is valid: " + err)


@case
def verify_with_bad_policy_exits_2(env):
    """verify with a bad policy: exit 2, no verdict"""
    path = env.policy(base(keys=["nokey"]))
    p = subprocess.run([ZTWATCH, "-p", path, "verify", "--subject", "orders.a"], input=b"{}",
                       capture_output=True)
    eq(p.returncode, 2, "exit")
    eq(p.stdout, b"", "no verdict")


@case
def integer_ranges_are_stated_whole(env):
    """bad policy: an integer out of range names its member and the real range, the
    minimum included (refresh_s 0 once said 'from 0 to 604800' and was refused)"""
    pol = base()
    pol["limits"] = {"max_depth": 0}
    expect_error(env, pol, "limits", "'max_depth' must be an integer from 1 to 1000")
    pol["limits"] = {"max_token_bytes": 8}
    expect_error(env, pol, "'max_token_bytes' must be an integer from 16 to 1048576")
    pol = base()
    pol["keys"]["x"] = {"jwks_url": "https://127.0.0.1:9/jwks", "refresh_s": 0}
    expect_error(env, pol, "keys.x", "'refresh_s' must be an integer from 1 to 604800")
    expect_error(env, base(replay={"claim": "jti", "window_s": 0}),
                 "'window_s' must be an integer from 1 to 31622400")


@case
def policy_and_keys_take_no_arguments(env):
    """usage: 'keys -p OTHER' and 'policy x' are refused with a hint, never answered from
    ./ztwatch.json"""
    path = env.policy(base())
    for args in (["keys", "-p", path], ["keys", "--bogus"], ["policy", "extra"]):
        p = subprocess.run([ZTWATCH, "-p", path] + args, capture_output=True, text=True)
        eq(p.returncode, 2, "exit for %r (%s)" % (args, p.stderr))
        check("takes no arguments" in p.stderr and "ztwatch -p POLICY %s" % args[0] in p.stderr,
              p.stderr)
        eq(p.stdout, "", "nothing listed for %r" % args)


@case
def usage_errors_exit_2(env):
    """usage errors: unknown command, bad option, bad header, bad --now: exit 2"""
    path = env.policy(base())
    for args in (["frobnicate"], ["verify", "--bogus"], ["verify", "-H", "NoColon"],
                 ["verify", "--now", "yesterday"], ["verify", "--batch", "x", "--subject", "a"],
                 ["verify", "--batch", env.path("missing.jsonl")], []):
        p = subprocess.run([ZTWATCH, "-p", path] + args, capture_output=True, text=True,
                           input="")
        eq(p.returncode, 2, "exit for %r (%s)" % (args, p.stderr))
        check(p.stderr.strip() != "", "a message for %r" % args)
    p = subprocess.run([ZTWATCH, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "verify" in p.stdout, "help")
    p = subprocess.run([ZTWATCH, "verify", "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "--batch" in p.stdout, "verify help")


if __name__ == "__main__":
    run(Env)
