"""Issue 8 (first part): mail in the outbound queue leaves the guest. A
Sieve redirect is queued, the guest looks up the MX with a real DNS server
(dnsmasq) and hands the message to a real SMTP server (aiosmtpd) from its
own address; a redirect to a domain that does not exist bounces with an
RFC 3464 report to the original sender."""
import mailbox
import os
import re
import subprocess
import tempfile
import time

from conftest import in_ns
from smtp_util import mail_disk
from test_sieve import mkdirs, put, queue_files
from vm import VM

SCRIPT = b"""require ["copy"];
if header :contains "Subject" "to archive" { redirect :copy "keeper@elsewhere.example"; }
if header :contains "Subject" "to nowhere" { redirect :copy "ghost@nowhere.example"; }
"""

SEND = r"""
import smtplib, sys
s = smtplib.SMTP('192.0.2.10', 25, timeout=60)
s.sendmail(sys.argv[1], ['demo@example.test'], sys.argv[2].encode().decode('unicode_escape').encode())
s.quit()
"""


def test_redirect_is_delivered_and_failures_bounce(netns):
    with tempfile.TemporaryDirectory() as d:
        mbox = os.path.join(d, "received")  # aiosmtpd's Mailbox handler writes a Maildir
        sink = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-m", "aiosmtpd", "-n",
                                 "-l", "192.0.2.1:25", "-c", "aiosmtpd.handlers.Mailbox", mbox],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        dns = subprocess.Popen(["ip", "netns", "exec", netns, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                                "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
                                "--listen-address=192.0.2.1", "--port=53", "--user=root", "--pid-file=",
                                "--local=/elsewhere.example/", "--local=/nowhere.example/", "--local=/example.org/",
                                "--host-record=mx.elsewhere.example,192.0.2.1",
                                "--mx-host=elsewhere.example,mx.elsewhere.example,10",
                                "--mx-host=example.org,mx.elsewhere.example,10"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            assert sink.poll() is None and dns.poll() is None
            img = mail_disk(d)
            mkdirs(img, "/mail/example.test/demo/sieve")
            put(img, "/mail/example.test/demo/sieve/r.sieve", SCRIPT, d)
            put(img, "/mail/example.test/demo/sieve/.active", b"r", d)
            cmd = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
            with VM("q35", cmd, net="tap:tap0", netns=netns, disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                for frm, subj in [("carol@example.org", "please send to archive"),
                                  ("dave@example.org", "this goes to nowhere")]:
                    r = in_ns(netns, "python3", "-c", SEND, frm,
                              f"From: {frm}\\r\\nTo: demo@example.test\\r\\nSubject: {subj}\\r\\n\\r\\nbody\\r\\n",
                              timeout=60)
                    assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"outbound: .*: done, removed from the queue", timeout=60)
                vm.wait_for(r"delivery status notification to dave@example.org queued", timeout=60)
                # The bounce itself is then delivered to example.org's MX (the sink).
                deadline = time.time() + 60
                while time.time() < deadline:
                    if os.path.isdir(mbox) and len(mailbox.Maildir(mbox, create=False)) >= 2:
                        break
                    time.sleep(0.5)
                log = vm.log()
            msgs = list(mailbox.Maildir(mbox, create=False))
            archived = [m for m in msgs if "send to archive" in (m["Subject"] or "")]
            assert len(archived) == 1, [m["Subject"] for m in msgs]
            assert archived[0]["X-MailFrom"] == "carol@example.org"  # envelope sender kept (RFC 5228 4.2)
            assert "keeper@elsewhere.example" in archived[0]["X-RcptTo"]
            assert "Received: from" in archived[0].as_string()
            bounces = [m for m in msgs if m.get_content_type() == "multipart/report"]
            assert len(bounces) == 1, log[-3000:]
            b = bounces[0]
            assert b["X-MailFrom"] in ("", "<>") and "dave@example.org" in b["X-RcptTo"]
            status = [p for p in b.walk() if p.get_content_type() == "message/delivery-status"]
            assert status and "ghost@nowhere.example" in status[0].as_string()
            assert re.search(r"Status: 5\.\d\.\d+", status[0].as_string())
        finally:
            for p in (sink, dns):
                p.kill()
                p.wait()
