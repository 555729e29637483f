"""Issue 5: a message sent into the guest gets an Authentication-Results
header with the right SPF, DKIM and DMARC results, computed against zone
data served by a real DNS server (dnsmasq) in the test's namespace. The
message is signed by an independent implementation (dkimpy)."""
import base64
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import in_ns
from smtp_util import MAILDIR, messages, mail_disk
from vm import VM

dkim = pytest.importorskip("dkim") if os.environ.get("CI") != "true" else __import__("dkim")


def keypair(d):
    key = os.path.join(d, "dkim.key")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                   check=True, capture_output=True)
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return open(key, "rb").read(), base64.b64encode(pub).decode()


def txt_arg(name, value):
    chunks = [value[i:i + 200] for i in range(0, len(value), 200)]
    return f"--txt-record={name}," + ",".join(chunks)


def server(ns, p):
    args = ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
            "--conf-file=/dev/null", "--bind-interfaces", "--listen-address=192.0.2.1", "--port=53",
            "--user=root", "--pid-file=", "--local=/sender.test/", "--local=/forged.test/",
            txt_arg("sender.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt_arg("_dmarc.sender.test", "v=DMARC1; p=reject"),
            txt_arg("sel._domainkey.sender.test", f"v=DKIM1; k=rsa; p={p}"),
            txt_arg("forged.test", "v=spf1 ip4:198.51.100.7 -all"),
            txt_arg("_dmarc.forged.test", "v=DMARC1; p=quarantine")]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


SEND = r"""
import smtplib, sys
msg = open(sys.argv[3], 'rb').read()
s = smtplib.SMTP('192.0.2.10', 25, timeout=60)
s.sendmail(sys.argv[1], [sys.argv[2]], msg)
s.quit()
"""


def test_authentication_results(netns):
    with tempfile.TemporaryDirectory() as d:
        priv, pub = keypair(d)
        dns = server(netns, pub)
        try:
            time.sleep(0.5)
            img = mail_disk(d)
            good = (b"From: Alice <alice@sender.test>\r\nTo: demo@example.test\r\nSubject: signed\r\n"
                    b"Date: Sun, 22 Nov 2026 07:00:00 +0000\r\nMessage-ID: <1@sender.test>\r\n\r\nhello, signed\r\n")
            sig = dkim.sign(good, b"sel", b"sender.test", priv, include_headers=[b"from", b"to", b"subject", b"date"])
            signed = os.path.join(d, "signed.eml")
            with open(signed, "wb") as f:
                f.write(sig + good)
            forged = os.path.join(d, "forged.eml")
            with open(forged, "wb") as f:
                f.write(b"From: Bank <ceo@forged.test>\r\nTo: demo@example.test\r\nSubject: forged\r\n\r\nsend money\r\n")
            cmd = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
            with VM("q35", cmd, net="tap:tap0", netns=netns, disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                for frm, path in [("bounce@sender.test", signed), ("ceo@forged.test", forged)]:
                    r = in_ns(netns, "python3", "-c", SEND, frm, "demo@example.test", path, timeout=120)
                    assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}", timeout=120)
            msgs = {**messages(img), **messages(img, MAILDIR + "/cur")}
            ok = next(v for v in msgs.values() if b"Subject: signed" in v)
            bad = next(v for v in msgs.values() if b"Subject: forged" in v)
            ar_ok = re.search(rb"Authentication-Results: [^\r\n]*(\r\n[ \t][^\r\n]*)*", ok).group(0)
            ar_bad = re.search(rb"Authentication-Results: [^\r\n]*(\r\n[ \t][^\r\n]*)*", bad).group(0)
            assert ar_ok.startswith(b"Authentication-Results: mail.example.test")
            assert b"spf=pass" in ar_ok and b"smtp.mailfrom=bounce@sender.test" in ar_ok, ar_ok
            assert b"dkim=pass" in ar_ok and b"header.d=sender.test" in ar_ok, ar_ok
            assert b"dmarc=pass" in ar_ok and b"header.from=sender.test" in ar_ok, ar_ok
            assert b"spf=fail" in ar_bad and b"dkim=none" in ar_bad and b"dmarc=fail" in ar_bad, ar_bad
            # The signed message itself reached the disk unchanged: dkimpy still verifies it.
            body_start = ok.index(sig[:20])
            assert dkim.verify(ok[body_start:], dnsfunc=lambda name, timeout=5: f"v=DKIM1; k=rsa; p={pub}".encode())
        finally:
            dns.kill()
            dns.wait()
