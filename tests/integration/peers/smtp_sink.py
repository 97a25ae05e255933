#!/usr/bin/python3
"""smtp_sink.py - an SMTP sink on aiosmtpd for the delivery client tests.

usage: smtp_sink.py ADDR PORT DIR [--tls CERT KEY] [--client-ca CA] [--size N]
                    [--max-tls 1.1]

Listens on ADDR:PORT.  Every accepted message is written to DIR/msg-N.eml
as received (dot-stuffing undone, CRLF line ends), and every command is
logged on stdout: "CONNECT", "EHLO name", "STARTTLS", "TLS TLSv1.3 cipher
[client CN]", "MAIL <from> [params]", "RCPT <to>", "DATA n bytes".
Recipients whose local part starts with "reject" get 550 5.1.1, with
"defer" 451 4.3.0.  --tls offers STARTTLS with CERT/KEY (not required);
--client-ca asks for a client certificate and requires one from CA;
--size N advertises and enforces SIZE N; --max-tls 1.1 makes an outdated
server that speaks TLS 1.0 and 1.1 only.

Run with the distribution's python3 (/usr/bin/python3): aiosmtpd comes
from the Debian package python3-aiosmtpd.
"""
import argparse
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


def say(*words):
    print(*words, flush=True)


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        say("EHLO", hostname)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        say("MAIL", "<%s>" % address, *options)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        say("RCPT", "<%s>" % address)
        local = address.split("@", 1)[0]
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: no such user here" % address
        if local.startswith("defer"):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, "msg-%d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        say("DATA", len(envelope.original_content), "bytes", "to", *envelope.rcpt_tos)
        return "250 2.0.0 OK queued as msg-%d" % self.count

    def handle_STARTTLS(self, server, session, envelope):
        obj = server.transport.get_extra_info("ssl_object")
        peer = obj.getpeercert() if obj else None
        cn = ""
        if peer:
            for rdn in peer.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
        say("TLS", obj.version() if obj else "?", obj.cipher()[0] if obj else "?",
            "client=" + (cn or "none"))
        return True


class LoggingSMTP(SMTP):
    def connection_made(self, transport):
        if self._original_transport is None:
            say("CONNECT")
        super().connection_made(transport)

    async def smtp_STARTTLS(self, arg):
        say("STARTTLS")
        await super().smtp_STARTTLS(arg)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("dir")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--client-ca")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--max-tls", choices=("1.1",))
    a = p.parse_args()
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        if a.max_tls:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        if a.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.client_ca)
    handler = Sink(a.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return LoggingSMTP(handler, tls_context=ctx, data_size_limit=a.size or None,
                           hostname="sink.test", loop=loop)

    server = loop.run_until_complete(loop.create_server(factory, host=a.addr, port=a.port))
    say("LISTENING", a.addr, a.port)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
