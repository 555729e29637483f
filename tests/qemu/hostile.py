#!/usr/bin/env python3
"""Hostile clients against a booted image (issue 10 item 3), while a
well-behaved client keeps sending and reading mail.

Run inside the network namespace that reaches the guest, e.g.
    ip netns exec NS python3 tests/qemu/hostile.py --guest 192.0.2.10 \
        --good-src 192.0.2.2 --conns 10000
Prints one JSON object with the counts of every attack and of the good
client's successes and failures. scripts/hostile-clients runs the full
campaign; tests/qemu/test_hostile.py a shorter one.
"""
import argparse
import imaplib
import json
import os
import random
import resource
import select
import smtplib
import socket
import ssl
import sys
import threading
import time

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


class IMAPFrom(imaplib.IMAP4_SSL):
    """IMAP over TLS from a chosen source address (the good client's)."""

    def __init__(self, host, port, src, **kw):
        self.src = src
        super().__init__(host, port, ssl_context=CTX, **kw)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.src, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.d = {}

    def add(self, key, n=1):
        with self.lock:
            self.d[key] = self.d.get(key, 0) + n


# Each attack comes from its own address (host part after --prefix), so that
# the per-address limits that stop one attack do not hide the others.
SRC = {"hold": 1, "slow": 3, "big": 4, "line": 5, "literal": 6, "tls": 7, "logins": 8}
PREFIX = ["192.0.2."]


def src(kind):
    return PREFIX[0] + str(SRC[kind])


def connect(host, port, src=None, timeout=30):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def recv_line(s, limit=65536):
    buf = b""
    while not buf.endswith(b"\n") and len(buf) < limit:
        c = s.recv(4096)
        if not c:
            break
        buf += c
    return buf


def hold_connections(a, c, stop):
    """Opens `a.conns` connections (non-blocking) and holds them until stop."""
    ports = [25, 143, 993, 587, 465, 4190]
    socks = []
    opened = refused = 0
    for i in range(a.conns):
        if stop.is_set():
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src("hold"), 0))
        try:
            s.connect_ex((a.guest, ports[i % len(ports)]))
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
        if len(socks) % 500 == 0:
            time.sleep(0.05)
    # Count those the guest accepted (writable without error).
    deadline = time.time() + 20
    pending = {s.fileno(): s for s in socks}
    poller = select.poll()  # select() cannot take fds above 1024
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    while pending and time.time() < deadline:
        for fd, _ in poller.poll(1000):
            s = pending.pop(fd, None)
            if s is None:
                continue
            poller.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                opened += 1
            else:
                refused += 1
    c.add("held_opened", opened)
    c.add("held_refused_or_reset", refused + len(pending))
    stop.wait()
    for s in socks:
        s.close()


def slowloris(a, c, stop, n=20):
    """One byte every few seconds on SMTP and IMAP connections."""
    socks = []
    for i in range(n):
        try:
            socks.append(connect(a.guest, 25 if i % 2 == 0 else 143, src=src("slow"), timeout=5))
        except OSError:
            c.add("slowloris_connect_failed")
    msg = b"EHLO slow.example\r\nMAIL FROM:<slow@example.org>\r\n"
    i = 0
    closed = 0
    while not stop.is_set() and socks:
        for s in list(socks):
            try:
                s.send(msg[i % len(msg):i % len(msg) + 1])
            except OSError:
                socks.remove(s)
                closed += 1
        i += 1
        stop.wait(a.slow_interval)
    c.add("slowloris_bytes_per_conn", i)
    c.add("slowloris_closed_by_server", closed)
    for s in socks:
        s.close()


def big_data(a, c):
    """A DATA far over the size limit: the answer must be 552, not a crash."""
    try:
        s = smtplib.SMTP(timeout=600, source_address=(src("big"), 0))
        s.connect(a.guest, 25)
        s.ehlo("big.example")
        s.mail("big@example.org")
        s.rcpt("demo@example.test")
        code, _ = s.docmd("DATA")
        assert code == 354
        chunk = (b"X" * 998 + b"\r\n") * 1024  # 1 MiB
        for _ in range(a.big_mb):
            s.sock.sendall(chunk)
        s.sock.sendall(b".\r\n")
        code, msg = s.getreply()
        c.add(f"big_data_reply_{code}")
        s.close()
    except (OSError, smtplib.SMTPException) as e:
        c.add(f"big_data_error_{type(e).__name__}")


def long_line(a, c):
    """A 1 MB command line: 500 5.5.6 (RFC 5321 4.5.3.1.4), and the session lives on or closes cleanly."""
    try:
        s = connect(a.guest, 25, src=src("line"), timeout=120)
        while not recv_line(s).startswith(b"220 "):
            pass
        s.sendall(b"EHLO " + b"a" * (1 << 20) + b"\r\n")
        r = recv_line(s)
        c.add(f"long_line_reply_{r[:3].decode(errors='replace')}")
        s.close()
    except OSError as e:
        c.add(f"long_line_error_{type(e).__name__}")


def imap_literal(a, c):
    """A 2 GB literal announced: refused before any memory is taken."""
    for plus in (False, True):
        try:
            s = CTX.wrap_socket(connect(a.guest, 993, src=src("literal"), timeout=60))
            recv_line(s)
            s.sendall(b"a1 LOGIN {2147483648%s}\r\n" % (b"+" if plus else b""))
            if plus:
                s.sendall(b"x" * 65536)
            r = recv_line(s)
            c.add("imap_2gb_literal_" + (r.split(b" ")[1].decode(errors="replace") if b" " in r else "closed"))
            s.close()
        except (OSError, ssl.SSLError) as e:
            c.add(f"imap_2gb_literal_error_{type(e).__name__}")


def tls_garbage(a, c, n):
    for i in range(n):
        port = [993, 465][i % 2]
        try:
            s = connect(a.guest, port, src=src("tls"), timeout=10)
            if i % 3 == 0:
                s.sendall(os.urandom(random.randint(1, 4000)))
            elif i % 3 == 1:
                # A ClientHello-looking record header that never completes.
                s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(40))
            else:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.settimeout(15)
            try:
                data = s.recv(100)
                c.add("tls_garbage_closed" if not data else "tls_garbage_alert_or_data")
            except socket.timeout:
                c.add("tls_garbage_still_open")
            s.close()
        except OSError:
            c.add("tls_garbage_connect_failed")
    # Abandoned handshakes: connect and say nothing.
    idle = []
    for i in range(n):
        try:
            idle.append(connect(a.guest, 993, src=src("tls"), timeout=10))
        except OSError:
            c.add("abandoned_connect_failed")
    c.add("abandoned_handshakes", len(idle))
    time.sleep(2)
    for s in idle:
        s.close()


def failed_logins(a, c, n, workers=8):
    left = [n]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                m = IMAPFrom(a.guest, 993, src("logins"), timeout=60)
                try:
                    m.login("demo@example.test", "wrong-%d" % random.randint(0, 1 << 30))
                    c.add("failed_logins_wrongly_accepted")
                except imaplib.IMAP4.error:
                    c.add("failed_logins_refused")
                m.shutdown()
            except (OSError, ssl.SSLError, imaplib.IMAP4.abort) as e:
                c.add(f"failed_logins_conn_{type(e).__name__}")

    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def good_client(a, c, stop):
    """Sends a tagged message over SMTP, then finds it over IMAP; repeats."""
    i = 0
    while not stop.is_set():
        i += 1
        tag = f"good-{os.getpid()}-{i}"
        t0 = time.time()
        try:
            s = smtplib.SMTP(timeout=120, source_address=(a.good_src, 0))
            s.connect(a.guest, 25)
            s.sendmail("friend@good.example", ["demo@example.test"],
                       f"From: friend@good.example\r\nSubject: {tag}\r\n\r\nhello {tag}\r\n".encode())
            s.quit()
            c.add("good_sent")
        except (OSError, smtplib.SMTPException) as e:
            c.add("good_send_failed")
            print(f"good client: send {tag}: {e!r}", file=sys.stderr)
            stop.wait(1)
            continue
        found = False
        for _ in range(10):
            try:
                m = IMAPFrom(a.guest, 993, a.good_src, timeout=120)
                m.login("demo@example.test", "demo")
                m.select("INBOX", readonly=True)
                typ, data = m.search(None, "SUBJECT", tag)
                if data[0].split():
                    typ, body = m.fetch(data[0].split()[-1], "(BODY.PEEK[TEXT])")
                    found = f"hello {tag}".encode() in body[0][1]
                m.logout()
            except (OSError, ssl.SSLError, imaplib.IMAP4.error, imaplib.IMAP4.abort) as e:
                print(f"good client: read {tag}: {e!r}", file=sys.stderr)
                c.add("good_read_errors")
            if found:
                break
            stop.wait(0.5)
        c.add("good_read" if found else "good_read_failed")
        c.add("good_round_ms_total", int((time.time() - t0) * 1000))
        stop.wait(a.good_interval)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--guest", default="192.0.2.10")
    p.add_argument("--good-src", default="192.0.2.2")
    p.add_argument("--prefix", default="192.0.2.", help="attack sources are PREFIX1, PREFIX3..PREFIX8")
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--slow", type=int, default=20)
    p.add_argument("--slow-interval", type=float, default=3.0)
    p.add_argument("--big-mb", type=int, default=100)
    p.add_argument("--tls-garbage", type=int, default=50)
    p.add_argument("--failed-logins", type=int, default=1000)
    p.add_argument("--good-interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=0, help="extra seconds to keep the load after the attacks")
    a = p.parse_args()
    PREFIX[0] = a.prefix
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.conns + 2000)), hard))

    c = Counts()
    stop = threading.Event()
    background = [
        threading.Thread(target=hold_connections, args=(a, c, stop)),
        threading.Thread(target=slowloris, args=(a, c, stop, a.slow)),
        threading.Thread(target=good_client, args=(a, c, stop)),
    ]
    for t in background:
        t.start()
    time.sleep(2)
    attacks = [
        threading.Thread(target=big_data, args=(a, c)),
        threading.Thread(target=long_line, args=(a, c)),
        threading.Thread(target=imap_literal, args=(a, c)),
        threading.Thread(target=tls_garbage, args=(a, c, a.tls_garbage)),
        threading.Thread(target=failed_logins, args=(a, c, a.failed_logins)),
    ]
    t0 = time.time()
    for t in attacks:
        t.start()
    for t in attacks:
        t.join()
    time.sleep(a.duration)
    # One more good round after everything, then stop.
    sent = c.d.get("good_sent", 0)
    deadline = time.time() + 300
    while c.d.get("good_sent", 0) < sent + 1 and time.time() < deadline:
        time.sleep(0.5)
    stop.set()
    for t in background:
        t.join()
    c.d["attack_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(c.d, sort_keys=True))


if __name__ == "__main__":
    main()
