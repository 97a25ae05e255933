#!/usr/bin/env python3
"""smtp_starttls_server.py - a tiny SMTP server for STARTTLS tests (stdlib only).

usage: smtp_starttls_server.py [ADDR:]PORT CERT KEY [MODE]

Listens on ADDR:PORT (ADDR defaults to 127.0.0.1).  Sends a 220 greeting,
answers EHLO/HELO, and on STARTTLS answers 220 and wraps the connection in
TLS with CERT (PEM, may hold the chain) and KEY.  MODE:
  normal       (default) EHLO advertises STARTTLS
  no-starttls  EHLO does not advertise STARTTLS; STARTTLS gets 502
  inject       the STARTTLS reply is followed by "250 injected" in the same
               send, as a response injection attack would leave it
"""
import socket
import ssl
import sys
import threading

MODES = ("normal", "no-starttls", "inject")


def lines(conn):
    buf = b""
    while True:
        while b"\n" not in buf:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r").decode("latin-1")


def serve_tls(conn, ctx):
    tls = ctx.wrap_socket(conn, server_side=True)
    try:
        for line in lines(tls):
            verb = line.split(" ", 1)[0].upper()
            if verb == "QUIT":
                tls.sendall(b"221 Bye\r\n")
                return
            if verb in ("EHLO", "HELO"):
                tls.sendall(b"250 smtp.corp.test\r\n")
            else:
                tls.sendall(b"250 OK\r\n")
    finally:
        tls.close()


def serve(conn, ctx, mode):
    try:
        conn.sendall(b"220 smtp.corp.test ESMTP test server\r\n")
        for line in lines(conn):
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                ext = b"" if mode == "no-starttls" else b"250-STARTTLS\r\n"
                conn.sendall(b"250-smtp.corp.test\r\n250-PIPELINING\r\n" + ext +
                             b"250 8BITMIME\r\n")
            elif verb == "HELO":
                conn.sendall(b"250 smtp.corp.test\r\n")
            elif verb == "STARTTLS" and mode == "inject":
                conn.sendall(b"220 Ready to start TLS\r\n250 injected\r\n")
            elif verb == "STARTTLS" and mode == "normal":
                conn.sendall(b"220 Ready to start TLS\r\n")
                serve_tls(conn, ctx)
                return
            elif verb == "STARTTLS":
                conn.sendall(b"502 Command not implemented\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) not in (4, 5) or (len(sys.argv) == 5 and sys.argv[4] not in MODES):
        sys.exit(__doc__)
    addr, _, port = sys.argv[1].rpartition(":")
    addr, port = addr or "127.0.0.1", int(port)
    cert, key = sys.argv[2], sys.argv[3]
    mode = sys.argv[4] if len(sys.argv) == 5 else "normal"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.num_tickets = 0  # like trustnet's servers (see check_endpoint.sh)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(20)
        threading.Thread(target=serve, args=(conn, ctx, mode), daemon=True).start()


if __name__ == "__main__":
    main()
