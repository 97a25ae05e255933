#!/usr/bin/env python3
"""testssl_judge.py - judge a testssl.sh 3.0.x flat JSON file (stdlib only).

usage: testssl_judge.py LABEL JSONFILE POLICY_H [--starttls] [--client-auth]

Reads the findings that `testssl --jsonfile FILE -p -P -S -U -E -f` wrote
(a list of {"id", "severity", "finding", ...}) and prints one TAP-style
line per check, "ok - LABEL: WHAT" or "not ok - LABEL: WHAT" followed by
"#   " lines with the findings that decided it.  POLICY_H is
src/tls/tls_policy.h: the offered suites and groups must be among the
policy's.

Every check needs its finding to be present and to say exactly what a
good result says (ids, severities and texts as testssl 3.0.8 writes them):
a missing id, a WARN ("test failed", "couldn't connect") or an unknown
text is a failure, never a pass.  The one WARN accepted is testssl saying
it cannot test client-initiated renegotiation on a listener that requires
a client certificate (--client-auth); the caller probes that itself.
"""
import argparse
import json
import re
import sys

OK_SEVERITIES = ("OK", "INFO")


class Judge:
    def __init__(self, label, findings):
        self.label = label
        self.findings = findings
        self.failed = 0

    def get(self, fid):
        """Every finding whose id is fid, or fid plus a "<cert#N>" postfix
        (testssl numbers the ids when a server has several certificates)."""
        return [f for f in self.findings
                if f["id"] == fid or f["id"].startswith(fid + " <")]

    def report(self, good, what, details=()):
        print(("ok" if good else "not ok") + " - %s: %s" % (self.label, what))
        if not good:
            self.failed += 1
            for d in details:
                print("#   " + d)

    def expect(self, fid, what, severities, finding_re):
        """ok when fid is present, and each of its findings has one of
        severities and a finding text that finding_re matches in full."""
        found = self.get(fid)
        bad = [f for f in found
               if f["severity"] not in severities
               or not re.fullmatch(finding_re, f["finding"].strip())]
        good = bool(found) and not bad
        details = ["%s: %s \"%s\"" % (f["id"], f["severity"], f["finding"])
                   for f in (bad or found)]
        if not found:
            details = ["testssl wrote no finding with id %s" % fid]
        self.report(good, what, details)


def policy_names(path):
    """The suite and group names of tls_policy.h's #defines."""
    text = open(path).read()

    def define(name):
        m = re.search(r"#define\s+%s[\s\\]+((?:\"[^\"]*\"\s*\\?\s*)+)" % name, text)
        if not m:
            sys.exit("testssl_judge: no %s in %s" % (name, path))
        return "".join(re.findall(r"\"([^\"]*)\"", m.group(1))).split(":")

    return (set(define("TLS_POLICY_CIPHERS_TLS12")),
            set(define("TLS_POLICY_SUITES_TLS13")),
            set(define("TLS_POLICY_GROUPS")))


# testssl's names for the policy's groups (OpenSSL names / NIST names).
GROUP_NAMES = {"X25519": "X25519", "P-256": "prime256v1", "P-384": "secp384r1",
               "X448": "X448", "P-521": "secp521r1"}


def offered_ciphers(findings):
    """(protocol, openssl name, kx, encryption, IANA name) of every suite
    that -E found the server to accept, over all protocols.  Its ids are
    cipher-<proto>_x<hex> and its finding the columns of the table:
    "TLS 1.2   xc02b   ECDHE-ECDSA-AES128-GCM-SHA256   ECDH 253   AESGCM   128
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"."""
    out = []
    for f in findings:
        if not re.match(r"cipher-(ssl2|ssl3|tls1|tls1_1|tls1_2|tls1_3)_x", f["id"]):
            continue
        m = re.match(r"(SSLv2|SSLv3|TLS 1(?:\.[123])?)\s+x[0-9a-f]+\s+(\S+)\s+"
                     r"(.+?)\s+(\S+)\s+(\d+)\s+(\S+)\s*$", f["finding"])
        if not m:
            out.append((f["id"], f["finding"], "?", "?", "?"))
            continue
        out.append((m.group(1), m.group(2), m.group(3), m.group(4), m.group(6)))
    return out


def forward_secret_aead(iana):
    """A suite name (IANA) that is forward secret and AEAD: a TLS 1.3 suite,
    or ECDHE/DHE with GCM, CCM or ChaCha20-Poly1305; never NULL, anon,
    EXPORT, RC4, 3DES, CBC or RSA key transport."""
    if re.search(r"NULL|anon|EXPORT|RC4|DES|IDEA|RC2|CBC|SEED", iana):
        return False
    if iana in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256"):
        return True
    return bool(re.match(r"TLS_(ECDHE|DHE)_(ECDSA|RSA)_WITH_", iana)
                and re.search(r"_GCM_|_CCM|CHACHA20_POLY1305", iana))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("label")
    ap.add_argument("json")
    ap.add_argument("policy_h")
    ap.add_argument("--starttls", action="store_true",
                    help="the scan ran with --starttls")
    ap.add_argument("--client-auth", action="store_true",
                    help="the listener requires a client certificate")
    args = ap.parse_args()
    label, path, policy_h = args.label, args.json, args.policy_h
    try:
        findings = json.load(open(path))
    except (OSError, ValueError) as e:
        print("not ok - %s: testssl.sh wrote its JSON findings" % label)
        print("#   %s" % e)
        return 1
    j = Judge(label, findings)

    # ---- the scan itself ran to its end ---------------------------------
    fatal = [f for f in findings
             if f["severity"] == "FATAL" or f["id"] in ("scanProblem", "scanTerminated")]
    j.report(bool(j.get("scanTime")) and not fatal,
             "testssl.sh ran to its end without a fatal scan problem",
             ["%s: %s \"%s\"" % (f["id"], f["severity"], f["finding"]) for f in fatal]
             or ["no scanTime finding: the scan did not finish"])

    # ---- protocols -------------------------------------------------------
    for fid, name in (("SSLv2", "SSLv2"), ("SSLv3", "SSLv3"),
                      ("TLS1", "TLS 1.0"), ("TLS1_1", "TLS 1.1")):
        j.expect(fid, "%s is not offered" % name, OK_SEVERITIES, r"not offered")
    j.expect("TLS1_2", "TLS 1.2 is offered", ("OK",), r"offered")
    j.expect("TLS1_3", "TLS 1.3 (final) is offered", ("OK",), r"offered with final")

    # ---- every suite of every protocol: forward secret and AEAD ----------
    ciphers = offered_ciphers(findings)
    tls12, tls13, groups = policy_names(policy_h)
    weak = [c for c in ciphers if not forward_secret_aead(c[4])]
    j.report(bool(ciphers) and not weak,
             "every offered suite (all protocols, %d found) is forward secret and AEAD "
             "(no CBC, RSA key transport, NULL, EXPORT, RC4, 3DES)" % len(ciphers),
             ["offered: %s %s (kx %s, %s) = %s" % c for c in weak]
             or ["testssl -E listed no suite at all"])
    protos = {c[0] for c in ciphers}
    j.report(protos == {"TLS 1.2", "TLS 1.3"},
             "suites are accepted in TLS 1.2 and TLS 1.3 and in no other protocol",
             ["protocols with an accepted suite: %s" % (sorted(protos) or "none")])
    outside = [c for c in ciphers
               if c[1] not in (tls13 if c[0] == "TLS 1.3" else tls12)]
    j.report(bool(ciphers) and not outside,
             "every offered suite is one of src/tls/tls_policy.h's",
             ["not in the policy: %s %s" % (c[0], c[1]) for c in outside]
             or ["no suite found"])
    j.expect("PFS", "forward secrecy is offered", ("OK",), r"offered")
    allowed = {GROUP_NAMES.get(g, g) for g in groups}
    curves = j.get("PFS_ECDHE_curves")
    got = set(curves[0]["finding"].split()) if curves else set()
    j.report(bool(got) and got <= allowed,
             "key exchange groups are among the policy's (%s)" % " ".join(sorted(allowed)),
             ["PFS_ECDHE_curves: %s" % (" ".join(sorted(got)) or "missing")])
    dh = j.get("DH_groups")
    j.report(not dh, "no finite-field DH group is offered",
             ["%s: %s \"%s\"" % (f["id"], f["severity"], f["finding"]) for f in dh])

    # ---- session resumption: off by policy (tls_policy.c), so a revoked
    # certificate is refused on its next connection; also rules out
    # Ticketbleed, which testssl does not test over STARTTLS.
    j.expect("sessionresumption_ticket", "no session resumption by ticket", ("INFO",),
             r"not supported")
    j.expect("sessionresumption_ID", "no session resumption by session ID", ("INFO",),
             r"No Session ID, no resumption|not supported")

    # ---- vulnerabilities (-U), ids as testssl 3.0.8 writes them ----------
    nv = r"not vulnerable.*"
    checks = [
        ("heartbleed", "not vulnerable to Heartbleed", ("OK",), nv),
        ("CCS", "not vulnerable to CCS injection", ("OK",), nv),
        ("ROBOT", "not vulnerable to ROBOT (no RSA key transport)", ("OK",), nv),
        ("secure_renego", "secure renegotiation (RFC 5746) supported", ("OK",), r"supported"),
        ("POODLE_SSL", "not vulnerable to POODLE", ("OK",), nv),
        ("fallback_SCSV", "no protocol downgrade (TLS_FALLBACK_SCSV)", ("OK",),
         r"no protocol below TLS 1\.2 offered|supported"),
        ("SWEET32", "not vulnerable to SWEET32", ("OK",), nv),
        ("FREAK", "not vulnerable to FREAK", ("OK",), nv),
        ("DROWN", "not vulnerable to DROWN", ("OK",), nv),
        ("LOGJAM", "not vulnerable to LOGJAM", ("OK",), nv),
        ("LOGJAM-common_primes", "no DH key (LOGJAM common primes)", ("OK",),
         r"no DH key with <= TLS 1\.2"),
        ("BEAST", "not vulnerable to BEAST", ("OK",), nv),
        ("LUCKY13", "not vulnerable to LUCKY13", ("OK",), nv),
        ("RC4", "not vulnerable to RC4 (no RC4 suite)", ("OK",), nv),
        ("CRIME_TLS", "TLS compression is off (CRIME)", ("OK",), nv),
    ]
    if args.client_auth:
        # testssl 3.0 cannot send a client certificate.  When it notices
        # that the server asks for one (not always: with TLS 1.3 the
        # server's "certificate required" alert may come after s_client
        # has finished), it says it cannot test; when it does not notice,
        # its handshake without a certificate fails, which it reads as a
        # refusal.  The caller probes renegotiation with a certificate.
        checks.append(("secure_client_renego",
                       "client-initiated renegotiation refused, or not testable without a "
                       "client certificate", ("OK", "WARN"),
                       r"not vulnerable|client x509-based authentication prevents this "
                       r"from being tested"))
    else:
        checks.append(("secure_client_renego", "client-initiated renegotiation refused",
                       ("OK",), r"not vulnerable"))
    # testssl runs Ticketbleed only without STARTTLS (and judges it only
    # over HTTP or with client authentication).
    if not args.starttls:
        checks.append(("ticketbleed", "not vulnerable to Ticketbleed", ("OK", "INFO"),
                       nv + r"|no session ticket extension|not applicable, not HTTP"))
    for fid, what, sev, text in checks:
        j.expect(fid, "%s (%s)" % (what, fid), sev, text)
    # Anything else with a CVE that is worse than INFO.  BREACH is HTTP
    # compression: testssl skips it on non-HTTP services.
    named = {c[0] for c in checks} | {"BREACH", "DROWN_hint"}
    other = [f for f in findings
             if f.get("cve") and f["id"] not in named
             and f["severity"] not in OK_SEVERITIES]
    j.report(not other, "no other vulnerability finding with a CVE above INFO",
             ["%s: %s \"%s\"" % (f["id"], f["severity"], f["finding"]) for f in other])

    # ---- certificate -----------------------------------------------------
    j.expect("cert_chain_of_trust", "the chain is trusted (test CA added with --add-ca)",
             ("OK",), r"passed\..*")
    j.expect("cert_trust", "the certificate names the host it was asked for (SNI)",
             ("OK",), r"Ok via SAN.*")
    j.expect("cert_expirationStatus", "the certificate is within its validity", ("OK",),
             r"\d+ >= \d+ days")
    j.expect("cert_signatureAlgorithm", "the certificate's signature is SHA-2 (ECDSA or RSA)",
             ("OK",), r"ECDSA with SHA(256|384|512)|SHA(256|384|512) with RSA|RSASSA-PSS.*")

    # ---- and nothing else in the whole scan is rated a problem -----------
    # (WARN is testssl about itself: "No engine or GOST support", or a
    # check it could not run, which the checks above already judge.)
    bad = [f for f in findings if f["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
    j.report(not bad, "no finding anywhere in the scan is rated LOW, MEDIUM, HIGH or CRITICAL",
             ["%s: %s \"%s\"" % (f["id"], f["severity"], f["finding"]) for f in bad])
    return 0


if __name__ == "__main__":
    sys.exit(main())
