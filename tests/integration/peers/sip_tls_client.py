#!/usr/bin/env python3
"""sip_tls_client.py - one scripted TLS (or plain TCP) connection to a SIP
server, for the SIP front-end tests.

    sip_tls_client.py --host H --port P [--ca CA --name NAME] [--plain]
                      [--cert PEM --key PEM] [--timeout S] STEP...

Steps, run in order on the same connection:
    send:TEXT        send TEXT; \\r \\n \\t and \\xHH escapes are decoded and
                     "{n}" becomes a per-run counter (fresh branch, Call-ID)
    sendfile:PATH    send the bytes of PATH
    expect:REGEX     read until REGEX (Python, DOTALL) matches the unread
                     data, then drop the data up to the match's end
    digest:ALG:USER:PASSWORD:METHOD:URI
                     answer the ALG (SHA-256 or MD5) challenge of the last
                     401/407 that expect: consumed; "{auth}" in later sends
                     becomes the Authorization or Proxy-Authorization line
    silence:SECS     nothing at all arrives for SECS seconds
    nosip:SECS       no SIP message arrives before the connection ends or
                     SECS seconds pass (TLS alerts and the like are fine)
    closed:SECS      the server closes the connection within SECS seconds
    sleep:SECS       wait
    kill:SIG:PID     send signal SIG (name or number) to PID
    waitfile:PATH    wait (at most --timeout) until PATH exists

Exit status 0 when every step passed; 1 with the failing step and the data
seen so far on standard output; 2 when the connection cannot be made.
"""
import argparse
import hashlib
import os
import re
import signal
import socket
import ssl
import sys
import time


def decode(text, counter, auth=""):
    text = text.replace("{n}", str(counter)).replace("{auth}", auth)
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def digest_header(consumed, alg, user, password, method, uri):
    """The credentials line answering the ALG challenge in consumed."""
    text = consumed.decode("latin-1")
    for m in re.finditer(r"^(WWW|Proxy)-Authenticate:[ \t]*Digest[ \t]+(.*?)\r?$",
                         text, re.M | re.I):
        params = dict((k.lower(), v1 or v2) for k, v1, v2 in
                      re.findall(r'([\w-]+)=(?:"([^"]*)"|([^,\s]+))', m.group(2)))
        if params.get("algorithm", "MD5").upper() != alg.upper():
            continue
        h = (lambda x: hashlib.sha256(x.encode()).hexdigest()) if alg.upper() == "SHA-256" \
            else (lambda x: hashlib.md5(x.encode()).hexdigest())
        realm, nonce = params["realm"], params["nonce"]
        cnonce, nc = "0a4f113b", "00000001"
        ha1 = h("%s:%s:%s" % (user, realm, password))
        ha2 = h("%s:%s" % (method, uri))
        resp = h("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
        name = "Authorization" if m.group(1).upper() == "WWW" else "Proxy-Authorization"
        return ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s'
                % (name, user, realm, nonce, uri, resp, alg, cnonce, nc))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--name")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--cert", help="client certificate (PEM chain) for mutual TLS")
    ap.add_argument("--key", help="its private key")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("steps", nargs="*")
    a = ap.parse_args()

    try:
        raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if a.plain:
            s = raw
        else:
            ctx = ssl.create_default_context(cafile=a.ca)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if a.cert:
                ctx.load_cert_chain(a.cert, a.key)
            s = ctx.wrap_socket(raw, server_hostname=a.name or a.host)
            print("# connected: %s %s" % (s.version(), s.cipher()[0]))
    except (OSError, ssl.SSLError) as e:
        print("cannot connect: %s" % e)
        return 2

    buf = b""
    consumed = b""
    auth = ""
    counter = int(time.time() * 1000) % 1000000

    def fail(step, why):
        print("step %r failed: %s" % (step, why))
        print("data not consumed:\n%s" % buf.decode("latin-1"))
        return 1

    def read_some(deadline):
        """More data, b"" at EOF, None at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            return s.recv(65536)
        except (socket.timeout, TimeoutError):
            return None
        except (ConnectionError, ssl.SSLError):
            return b""

    for step in a.steps:
        kind, _, arg = step.partition(":")
        counter += 1
        if kind == "send":
            s.sendall(decode(arg, counter, auth))
        elif kind == "sendfile":
            with open(arg, "rb") as f:
                s.sendall(f.read())
        elif kind == "expect":
            rx = re.compile(arg.encode("latin-1"), re.S)
            deadline = time.monotonic() + a.timeout
            while True:
                m = rx.search(buf)
                if m:
                    consumed = buf[:m.end()]
                    buf = buf[m.end():]
                    print("# matched: %r" % m.group(0)[:100])
                    break
                data = read_some(deadline)
                if data is None:
                    return fail(step, "timeout")
                if data == b"":
                    return fail(step, "connection closed")
                buf += data
        elif kind == "digest":
            alg, user, password, method, uri = arg.split(":", 4)
            auth = digest_header(consumed, alg, user, password, method, uri)
            if auth is None:
                return fail(step, "no %s challenge in:\n%s" % (alg, consumed.decode("latin-1")))
        elif kind == "nosip":
            deadline = time.monotonic() + float(arg)
            while True:
                data = read_some(deadline)
                if not data:
                    break
                buf += data
                if b"SIP/2.0" in buf:
                    return fail(step, "got a SIP answer")
        elif kind == "silence":
            deadline = time.monotonic() + float(arg)
            while True:
                data = read_some(deadline)
                if data is None:
                    break
                if data == b"":
                    break  # closed without a word: silent too
                buf += data
                return fail(step, "got data")
        elif kind == "closed":
            deadline = time.monotonic() + float(arg)
            while True:
                data = read_some(deadline)
                if data is None:
                    return fail(step, "still open")
                if data == b"":
                    break
                buf += data
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "kill":
            sig, _, pid = arg.partition(":")
            signum = int(sig) if sig.isdigit() else getattr(signal, "SIG" + sig)
            os.kill(int(pid), signum)
        elif kind == "waitfile":
            deadline = time.monotonic() + a.timeout
            while not os.path.exists(arg):
                if time.monotonic() > deadline:
                    return fail(step, "timeout")
                time.sleep(0.05)
        else:
            print("unknown step %r" % step)
            return 2
        print("# step ok: %s" % step[:60])
    try:
        s.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
