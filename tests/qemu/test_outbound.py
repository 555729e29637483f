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
from smtp_util import mail_disk, messages
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


def test_alias_forwarding_with_srs_and_bounce_back(netns):
    """An alias to an external address is forwarded through the queue with
    an SRS-rewritten sender; mail to that SRS address goes back to the
    original sender."""
    from test_config import config_disk, default_conf
    with tempfile.TemporaryDirectory() as d:
        mbox = os.path.join(d, "received")
        sink = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-m", "aiosmtpd", "-n",
                                 "-l", "192.0.2.1:25", "-c", "aiosmtpd.handlers.Mailbox", mbox],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        dns = subprocess.Popen(["ip", "netns", "exec", netns, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                                "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
                                "--listen-address=192.0.2.1", "--port=53", "--user=root", "--pid-file=",
                                "--local=/elsewhere.example/", "--local=/example.org/",
                                "--host-record=mx.elsewhere.example,192.0.2.1",
                                "--mx-host=elsewhere.example,mx.elsewhere.example,10",
                                "--mx-host=example.org,mx.elsewhere.example,10"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            os.makedirs(os.path.join(d, "cfg", "srs"))
            with open(os.path.join(d, "cfg", "srs", "secret"), "w") as f:
                f.write("a-test-secret-of-enough-length\n")
            conf = default_conf().replace("abuse@example.test = demo@example.test",
                                          "abuse@example.test = demo@example.test\n"
                                          "friends@example.test = demo@example.test, pal@elsewhere.example")
            conf += "\n[srs]\ndomain = example.test\nsecret = srs/secret\n"
            cfg_img = config_disk(d, conf)
            img = mail_disk(d)
            cmd = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
            with VM("q35", cmd, net="tap:tap0", netns=netns,
                    disks=[(img, "mail", False), (cfg_img, "config", True)]) as vm:
                vm.wait_ready()
                r = in_ns(netns, "python3", "-c", SEND.replace("'demo@example.test'", "'friends@example.test'"),
                          "carol@example.org", "From: carol@example.org\\r\\nSubject: to the list\\r\\n\\r\\nhi all\\r\\n",
                          timeout=60)
                assert r.returncode == 0, r.stdout + r.stderr
                vm.wait_for(r"forwarded to 1 recipients, queued as .* \(sender <SRS0=", timeout=60)
                deadline = time.time() + 60
                while time.time() < deadline and not (os.path.isdir(mbox) and len(mailbox.Maildir(mbox, create=False)) >= 1):
                    time.sleep(0.5)
                fwd = list(mailbox.Maildir(mbox, create=False))
                assert len(fwd) == 1 and "pal@elsewhere.example" in fwd[0]["X-RcptTo"]
                srs_addr = fwd[0]["X-MailFrom"]
                assert srs_addr.startswith("SRS0=") and srs_addr.endswith("@example.test"), srs_addr
                assert "Return-Path" not in fwd[0] and "Received" in fwd[0]
                # A bounce to the SRS address is sent back to carol.
                r = in_ns(netns, "python3", "-c", SEND.replace("'demo@example.test'", repr(srs_addr)),
                          "", "From: MAILER-DAEMON@elsewhere.example\\r\\nSubject: bounce\\r\\n\\r\\nnope\\r\\n",
                          timeout=60)
                assert r.returncode == 0, r.stdout + r.stderr
                deadline = time.time() + 60
                while time.time() < deadline and len(mailbox.Maildir(mbox, create=False)) < 2:
                    time.sleep(0.5)
                back = [m for m in mailbox.Maildir(mbox, create=False) if (m["Subject"] or "") == "bounce"]
                assert len(back) == 1 and "carol@example.org" in back[0]["X-RcptTo"], [(m["Subject"], m["X-RcptTo"]) for m in mailbox.Maildir(mbox, create=False)]
            # demo got the local copy too.
            assert len(messages(img)) == 1
        finally:
            for p in (sink, dns):
                p.kill()
                p.wait()
