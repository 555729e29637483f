"""Issue 8: authenticated submission on 587 (STARTTLS) and 465 (implicit
TLS): AUTH only after TLS, sender ownership (envelope and header From),
Date/Message-ID added, DKIM-signed (verified by dkimpy), local recipients
delivered, remote ones queued; failed logins refused."""
import re
import smtplib
import ssl
import tempfile
import time

import pytest

from smtp_util import MAILDIR, debugfs, mail_disk, messages
from vm import VM, free_port


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def test_submission():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        ports = {587: free_port(), 465: free_port()}
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)]) as vm:
            ready = vm.wait_ready()
            assert "submission=10.0.2.15:587" in ready and "submissions=10.0.2.15:465" in ready
            txt = re.search(r'dkim: demo\._domainkey\.example\.test TXT "([^"]+)"', vm.log()).group(1)

            s = smtplib.SMTP("127.0.0.1", ports[587], timeout=60)
            s.ehlo("laptop")
            assert not s.has_extn("auth")  # RFC 4954 4: not before TLS
            code, _ = s.docmd("MAIL FROM:<demo@example.test>")
            assert code == 530
            s.starttls(context=ctx())
            s.ehlo("laptop")
            assert s.has_extn("auth")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("demo@example.test", "wrong")
            s.login("demo@example.test", "demo")
            # Envelope sender not owned.
            code, msg = s.mail("ceo@bank.example")
            assert code == 553 and msg.startswith(b"5.7.1"), (code, msg)
            s.rset()
            # Header From not owned.
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail("demo@example.test", ["demo@example.test"], b"From: ceo@bank.example\r\nSubject: spoof\r\n\r\nx\r\n")
            assert e.value.smtp_code == 553
            # A real message: one local, one remote recipient; no Date/Message-ID given.
            msg = b"From: Demo <demo@example.test>\r\nTo: friend@elsewhere.example\r\nSubject: from the laptop\r\n\r\nhello world\r\n"
            s.sendmail("demo@example.test", ["demo@example.test", "friend@elsewhere.example"], msg)
            s.quit()
            vm.wait_for("remote recipients queued as")

            t = smtplib.SMTP_SSL("127.0.0.1", ports[465], context=ctx(), timeout=60)
            t.login("demo@example.test", "demo")
            t.sendmail("demo@example.test", ["postmaster@example.test"], b"From: demo@example.test\r\nSubject: implicit\r\n\r\nvia 465\r\n")
            t.quit()
            vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}")
            assert "failed login for `demo@example.test`" in vm.log()
        msgs = list(messages(img).values())
        laptop = next(m for m in msgs if b"Subject: from the laptop" in m)
        assert b"with ESMTPSA" in laptop and b"Message-ID: <" in laptop and b"\r\nDate: " in laptop
        assert b"DKIM-Signature: " in laptop
        assert any(b"Subject: implicit" in m for m in msgs)
        import dkim
        signed = laptop[laptop.index(b"DKIM-Signature: "):]
        assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: txt.encode()), "dkimpy rejects our signature"
        queued = debugfs(img, "ls -p /queue").decode()
        msg_name = re.search(r"/([^/]+\.msg)/", queued).group(1)
        remote_copy = debugfs(img, f"cat /queue/{msg_name}")
        assert b"Subject: from the laptop" in remote_copy and b"DKIM-Signature: " in remote_copy
        assert dkim.verify(remote_copy, dnsfunc=lambda name, timeout=5: txt.encode())


def test_submitted_mail_reaches_the_mx_signed_and_spf_pass_and_5xx_bounces(netns):
    """smtplib submits over STARTTLS; the guest finds the sink by MX lookup
    (dnsmasq) and delivers from its pinned address: dkimpy verifies the
    signature, pyspf says pass for that address; a recipient the sink
    refuses with 5xx produces a DSN in the sender's INBOX."""
    import os
    import subprocess
    import dkim
    from conftest import in_ns
    spf = pytest.importorskip("spf") if os.environ.get("CI") != "true" else __import__("spf")
    here = os.path.dirname(__file__)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "sink")
        sink = subprocess.Popen(["ip", "netns", "exec", netns, "python3", os.path.join(here, "sink.py"),
                                 "192.0.2.1", "25", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        dns = subprocess.Popen(["ip", "netns", "exec", netns, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                                "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
                                "--listen-address=192.0.2.1", "--port=53", "--user=root", "--pid-file=",
                                "--local=/far.example/", "--host-record=mx.far.example,192.0.2.1",
                                "--mx-host=far.example,mx.far.example,10"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            img = mail_disk(d)
            cmd = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
            with VM("q35", cmd, net="tap:tap0", netns=netns, disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                txt = re.search(r'dkim: demo\._domainkey\.example\.test TXT "([^"]+)"', vm.log()).group(1)
                script = r"""
import smtplib, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('192.0.2.10', 587, timeout=60)
s.starttls(context=c); s.login('demo@example.test', 'demo')
s.sendmail('demo@example.test', ['friend@far.example', 'reject-me@far.example'],
           b'From: Demo <demo@example.test>\r\nTo: friend@far.example\r\nSubject: over the wire\r\n\r\nhi\r\n')
s.quit()
"""
                r = in_ns(netns, "python3", "-c", script, timeout=120)
                assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"delivery status notification to demo@example.test queued", timeout=60)
                vm.wait_for(r"queue: .*: demo@example.test -> Delivered", timeout=60)  # the DSN, delivered locally
            files = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".eml")]
            assert len(files) == 1, files
            raw = open(files[0], "rb").read()
            assert b"X-Peer: 192.0.2.10" in raw and b"X-RcptTo: friend@far.example" in raw
            body = raw[raw.index(b"DKIM-Signature: "):]
            assert dkim.verify(body, dnsfunc=lambda name, timeout=5: txt.encode())
            # SPF as a receiver computes it for the address the sink saw, with
            # the record `unimail dns` prints for this guest's pinned address.
            result = spf.query(i="192.0.2.10", s="demo@example.test", h="mail.example.test").check(
                spf="v=spf1 ip4:192.0.2.10 -all")[0]
            assert result == "pass"
            dsn = [m for m in messages(img).values() if b"multipart/report" in m]
            assert len(dsn) == 1 and b"reject-me@far.example" in dsn[0] and b"5.1.1" in dsn[0]
        finally:
            for p in (sink, dns):
                p.kill()
                p.wait()


def _dnsmasq_far(netns):
    import subprocess
    return subprocess.Popen(["ip", "netns", "exec", netns, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                             "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
                             "--listen-address=192.0.2.1", "--port=53", "--user=root", "--pid-file=",
                             "--local=/far.example/", "--host-record=mx.far.example,192.0.2.1",
                             "--mx-host=far.example,mx.far.example,10"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


SUBMIT_465 = r"""
import smtplib, ssl, sys
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP_SSL('192.0.2.10', 465, context=c, timeout=60)
s.login('demo@example.test', 'demo')
s.sendmail('demo@example.test', [sys.argv[1]], ('From: demo@example.test\r\nSubject: ' + sys.argv[2] + '\r\n\r\nx\r\n').encode())
s.quit()
"""


def test_retry_after_4xx_and_queue_survives_a_kill(netns):
    """[queue] retry_initial = 2s: a 4xx is retried and delivered; a message
    queued while the MX is down survives a SIGKILL of the VM and is delivered
    after the next boot."""
    import os
    import subprocess
    from conftest import in_ns
    from test_config import config_disk, default_conf
    here = os.path.dirname(__file__)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "sink")
        dns = _dnsmasq_far(netns)
        sink = None
        try:
            cfg = config_disk(d, default_conf() + "\n[queue]\nretry_initial = 2s\nretry_max = 4s\n")
            img = mail_disk(d)
            cmd = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
            disks = [(img, "mail", False), (cfg, "config", True)]
            # 1. The MX is down: the message waits in the queue; then the VM dies.
            with VM("q35", cmd, net="tap:tap0", netns=netns, disks=disks) as vm:
                vm.wait_ready()
                r = in_ns(netns, "python3", "-c", SUBMIT_465, "friend@far.example", "survivor", timeout=120)
                assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"outbound: .*mx.far.example \[192.0.2.1\]: \[\(0, TempFail", timeout=60)
                vm.proc.kill()
            # 2. The MX is up (answering 4xx once for later@); the next boot delivers.
            sink = subprocess.Popen(["ip", "netns", "exec", netns, "python3", os.path.join(here, "sink.py"),
                                     "192.0.2.1", "25", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            time.sleep(1.0)
            with VM("q35", cmd, net="tap:tap0", netns=netns, disks=disks) as vm:
                vm.wait_ready()
                assert "queue: 1 messages waiting" in vm.log()
                r = in_ns(netns, "python3", "-c", SUBMIT_465, "later@far.example", "greylisted", timeout=120)
                assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"\[\(0, TempFail\(\"451", timeout=60)
                deadline = time.time() + 60
                while time.time() < deadline and len([f for f in os.listdir(out) if f.endswith(".eml")]) < 2:
                    time.sleep(0.5)
            got = [open(os.path.join(out, f), "rb").read() for f in os.listdir(out) if f.endswith(".eml")]
            assert any(b"Subject: survivor" in g for g in got), got
            assert any(b"Subject: greylisted" in g and b"X-RcptTo: later@far.example" in g for g in got), got
            assert len(got) == 2
        finally:
            for p in (dns, sink):
                if p:
                    p.kill()
                    p.wait()
