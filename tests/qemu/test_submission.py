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
