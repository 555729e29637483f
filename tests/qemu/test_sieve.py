"""Issue 6: Sieve at delivery. The system "before" script of the default
config files spam into Junk; the user's active script (on the mail disk, as
ManageSieve stores it) files and flags; a broken script never loses mail."""
import os
import re
import smtplib
import subprocess
import tempfile

from smtp_util import MAILDIR, fsck_clean, mail_disk, messages
from vm import VM, free_port

USER_SCRIPT = b"""require ["fileinto", "imap4flags", "mailbox"];
if header :contains "List-Id" "announce" {
    addflag "\\\\Flagged";
    fileinto :create "Lists.Announce";
    stop;
}
if address :is "from" "boss@example.org" {
    setflag "\\\\Seen";
    keep;
}
"""


def put(img, path, data, d):
    src = os.path.join(d, "upload")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run(["debugfs", "-w", "-R", f"write {src} {path}", img], check=True, capture_output=True)


def mkdirs(img, path):
    cur = ""
    for part in path.strip("/").split("/"):
        cur += "/" + part
        subprocess.run(["debugfs", "-w", "-R", f"mkdir {cur}", img], capture_output=True)


def send(port, frm, headers, body=b"body\r\n"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.sendmail(frm, ["demo@example.test"], headers + b"\r\n" + body)
    s.quit()


def folder(img, name):
    base = MAILDIR + ("/." + name if name != "INBOX" else "")
    return {**messages(img, base + "/new"), **messages(img, base + "/cur")}


def test_system_and_user_scripts():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        mkdirs(img, "/mail/example.test/demo/sieve")
        put(img, "/mail/example.test/demo/sieve/main.sieve", USER_SCRIPT, d)
        put(img, "/mail/example.test/demo/sieve/.active", b"main\n", d)
        port = free_port()
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25",
                disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            send(port, "spammer@example.org", b"Subject: buy now\r\nX-Spam: Yes\r\n")
            send(port, "news@example.org", b"Subject: release\r\nList-Id: <announce.example.org>\r\n")
            send(port, "boss@example.org", b"From: Boss <boss@example.org>\r\nSubject: hi\r\n")
            send(port, "friend@example.org", b"Subject: plain\r\n")
            for _ in range(4):
                pass
            vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){4}", timeout=60)
        junk = folder(img, "Junk")
        assert len(junk) == 1 and b"Subject: buy now" in list(junk.values())[0]
        lists = folder(img, "Lists.Announce")
        assert len(lists) == 1
        (name,) = lists.keys()
        assert re.search(r":2,F$", name), name
        inbox = folder(img, "INBOX")
        subjects = sorted(re.search(rb"Subject: (\w+)", v).group(1) for v in inbox.values())
        assert subjects == [b"hi", b"plain"], subjects
        boss = next(n for n, v in inbox.items() if b"Subject: hi" in v)
        assert boss.endswith(":2,S"), boss
        fsck_clean(img)


def test_broken_user_script_keeps_mail():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        mkdirs(img, "/mail/example.test/demo/sieve")
        put(img, "/mail/example.test/demo/sieve/bad.sieve", b'fileinto "x";\n', d)  # no require
        put(img, "/mail/example.test/demo/sieve/.active", b"bad", d)
        port = free_port()
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25",
                disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            send(port, "a@example.org", b"Subject: still here\r\n")
            vm.wait_for("delivered to 1 mailboxes")
            assert "does not compile" in vm.log()
        assert len(folder(img, "INBOX")) == 1


def sieve_connect(port, *args, password="demo"):
    r, w = os.pipe()
    os.write(w, password.encode() + b"\n")
    os.close(w)
    try:
        return subprocess.run(["sieve-connect", "--server", "127.0.0.1", "--port", str(port), "--4",
                               "--user", "demo@example.test", "--passwordfd", str(r), "--notlsverify",
                               "--authmech", "PLAIN", *args],
                              capture_output=True, text=True, timeout=120, pass_fds=(r,))
    finally:
        os.close(r)


def test_managesieve_upload_then_delivery():
    """sieve-connect (STARTTLS, PLAIN) uploads and activates a script; a
    message sent over SMTP lands in the folder it names, with its flags."""
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        p25, p4190 = free_port(), free_port()
        script = os.path.join(d, "filter.sieve")
        with open(script, "w") as f:
            f.write('require ["fileinto", "imap4flags", "mailbox"];\n'
                    'if header :contains "Subject" "invoice" {\n'
                    '  fileinto :create :flags "\\\\Flagged" "Billing";\n}\n')
        bad = os.path.join(d, "bad.sieve")
        with open(bad, "w") as f:
            f.write('require "fileinto";\nif true {\n  frobnicate;\n}\n')
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2",
                net=f"user,hostfwd=tcp:127.0.0.1:{p25}-:25,hostfwd=tcp:127.0.0.1:{p4190}-:4190",
                disks=[(img, "mail", False)]) as vm:
            assert "managesieve=10.0.2.15:4190" in vm.wait_ready()
            r = sieve_connect(p4190, "--upload", "--localsieve", script, "--remotesieve", "billing")
            assert r.returncode == 0, r.stdout + r.stderr
            r = sieve_connect(p4190, "--activate", "--remotesieve", "billing")
            assert r.returncode == 0, r.stdout + r.stderr
            r = sieve_connect(p4190, "--list")
            assert "\"billing\" ACTIVE" in r.stdout, r.stdout + r.stderr
            # A script that does not compile is refused with its line number.
            r = sieve_connect(p4190, "--upload", "--localsieve", bad, "--remotesieve", "bad")
            assert r.returncode != 0 and "line 3" in (r.stdout + r.stderr), r.stdout + r.stderr
            r = sieve_connect(p4190, "--list", password="wrong")
            assert r.returncode != 0
            send(p25, "shop@example.org", b"Subject: your invoice 42\r\n")
            send(p25, "friend@example.org", b"Subject: lunch\r\n")
            vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}", timeout=60)
        billing = folder(img, "Billing")
        assert len(billing) == 1 and list(billing)[0].endswith(":2,F")
        assert len(folder(img, "INBOX")) == 1
        assert b"billing" in subprocess.run(["debugfs", "-R", "cat /mail/example.test/demo/sieve/.active", img],
                                           capture_output=True).stdout
        fsck_clean(img)


VACATION_SCRIPT = b"""require ["vacation", "copy"];
if header :contains "Subject" "forward me" {
    redirect :copy "archive@elsewhere.example";
}
vacation :days 7 :subject "Away" "I am away until Monday.";
"""


def queue_files(img):
    listing = subprocess.run(["debugfs", "-R", "ls -p /queue", img], capture_output=True, text=True).stdout
    return sorted(m.group(1) for m in re.finditer(r"^/\d+/\d+/\d+/\d+/([^/]+)/", listing, re.M)
                  if m.group(1) not in (".", ".."))


def test_redirect_and_vacation_are_queued_once():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        mkdirs(img, "/mail/example.test/demo/sieve")
        put(img, "/mail/example.test/demo/sieve/away.sieve", VACATION_SCRIPT, d)
        put(img, "/mail/example.test/demo/sieve/.active", b"away", d)
        port = free_port()
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25",
                disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            send(port, "carol@example.org", b"From: carol@example.org\r\nTo: demo@example.test\r\nSubject: please forward me\r\n")
            send(port, "carol@example.org", b"From: carol@example.org\r\nTo: demo@example.test\r\nSubject: second one\r\n")
            vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}", timeout=60)
            log = vm.log()
            assert "redirect to archive@elsewhere.example queued as" in log
            assert log.count("vacation reply to carol@example.org queued") == 1, log[-3000:]
        q = queue_files(img)
        envs = [f for f in q if f.endswith(".env")]
        assert len(envs) == 2 and len([f for f in q if f.endswith(".msg")]) == 2, q
        bodies = [subprocess.run(["debugfs", "-R", f"cat /queue/{f}", img], capture_output=True).stdout
                  for f in q if f.endswith(".msg")]
        reply = next(b for b in bodies if b"Subject: Away" in b)
        assert b"I am away until Monday." in reply and b"Auto-Submitted: auto-replied" in reply
        assert any(b"Subject: please forward me" in b for b in bodies)
        # Both messages were kept in INBOX (:copy, and vacation keeps).
        assert len(folder(img, "INBOX")) == 2
        fsck_clean(img)
