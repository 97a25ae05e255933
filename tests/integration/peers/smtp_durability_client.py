#!/usr/bin/env python3
"""Send numbered messages to an SMTP server that is being killed and
restarted, and record every message the server acknowledged with 250.

usage: smtp_durability_client.py --host H --port P --count N --conns K
           --acked FILE --to ADDR [--from ADDR] [--deadline SECONDS]

Message i carries "Subject: durability i" and is sent until a 250 after
DATA acknowledges it (a connection lost on the way is retried on a new
connection: at least once, as a real client does).  The number of each
acknowledged message is appended to FILE, one per line, only after the
250 arrived.  Exit 0 when all N were acknowledged before the deadline.
"""
import argparse
import smtplib
import socket
import sys
import threading
import time


def send_one(args, number):
    body = (
        f"From: <{args.sender}>\r\nTo: <{args.to}>\r\n"
        f"Subject: durability {number}\r\n"
        f"Message-ID: <{number}.durability@test>\r\n\r\n"
        f"message {number}\r\n"
    )
    with smtplib.SMTP(args.host, args.port, timeout=10) as smtp:
        smtp.ehlo("durability.test")
        smtp.sendmail(args.sender, [args.to], body.encode())


def worker(args, numbers, lock, acked_file, deadline):
    while time.monotonic() < deadline:
        with lock:
            if not numbers:
                return
            number = numbers.pop(0)
        while time.monotonic() < deadline:
            try:
                send_one(args, number)
            except (OSError, smtplib.SMTPException, socket.timeout):
                time.sleep(0.05)  # the server is down or went away: again
                continue
            with lock:
                acked_file.write(f"{number}\n")
                acked_file.flush()
            break


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--acked", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--from", dest="sender", default="load@durability.test")
    p.add_argument("--deadline", type=float, default=120)
    args = p.parse_args()
    numbers = list(range(1, args.count + 1))
    lock = threading.Lock()
    deadline = time.monotonic() + args.deadline
    with open(args.acked, "w") as acked_file:
        threads = [threading.Thread(target=worker,
                                    args=(args, numbers, lock, acked_file, deadline))
                   for _ in range(args.conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with open(args.acked) as f:
        done = len(f.readlines())
    print(f"{done} of {args.count} messages acknowledged")
    return 0 if done == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
