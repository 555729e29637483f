"""Issue 4: Python imaplib reads over 993 and STARTTLS what SMTP delivered,
byte-exact; flags, copy, move, expunge, append, search and IDLE work, and
the changes are visible in the Maildir file names on the disk."""
import imaplib
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

from smtp_util import MAILDIR, debugfs, fsck_clean, mail_disk, messages
from vm import VM, free_port


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def boot(d):
    img = mail_disk(d)
    ports = {25: free_port(), 143: free_port(), 993: free_port()}
    fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
    vm = VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)])
    return vm, ports, img


def send(port, subject, body=b"hello\r\n", frm="sender@example.org"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    msg = b"From: " + frm.encode() + b"\r\nTo: demo@example.test\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body
    s.sendmail(frm, ["demo@example.test"], msg)
    s.quit()
    return msg


def test_imaplib_session():
    with tempfile.TemporaryDirectory() as d:
        vm, ports, img = boot(d)
        with vm:
            ready = vm.wait_ready()
            assert "imap=10.0.2.15:143" in ready and "imaps=10.0.2.15:993" in ready
            sent = send(ports[25], "first message", b"line 1\r\n.dot\r\nline 3\r\n")
            vm.wait_for("delivered to 1 mailboxes")

            # Plaintext LOGIN is refused before STARTTLS.
            p = imaplib.IMAP4("127.0.0.1", ports[143], timeout=60)
            assert "LOGINDISABLED" in p.capabilities and "STARTTLS" in p.capabilities
            try:
                p.login("demo@example.test", "demo")
                raise AssertionError("plaintext login accepted")
            except imaplib.IMAP4.error:
                pass
            p.starttls(ssl_context=ctx())
            p.login("demo@example.test", "demo")
            typ, data = p.list()
            names = b"\n".join(data)
            for special in [b"\\Sent", b"\\Drafts", b"\\Junk", b"\\Trash", b"\\Archive"]:
                assert special in names, names
            p.logout()

            m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
            m.login("demo@example.test", "demo")
            typ, data = m.select("INBOX")
            assert typ == "OK" and data[0] == b"1"
            typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
            raw = data[0][1]
            assert raw.endswith(sent), raw[-300:]
            assert raw.startswith(b"Return-Path: <sender@example.org>")
            typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
            assert b"first message" in data[0]
            # Flags, search.
            m.store("1", "+FLAGS", "(\\Flagged \\Seen)")
            typ, data = m.search(None, "FLAGGED")
            assert data[0] == b"1"
            typ, data = m.search(None, 'SUBJECT "first"')
            assert data[0] == b"1"
            # Append, copy, move, expunge.
            typ, data = m.append("Drafts", "(\\Draft)", imaplib.Time2Internaldate(time.time()),
                                 b"Subject: draft\r\n\r\ndraft body\r\n")
            assert typ == "OK"
            assert m.copy("1", "Archive")[0] == "OK"
            typ, data = m.status("Archive", "(MESSAGES UIDNEXT UIDVALIDITY)")
            assert b"MESSAGES 1" in data[0]
            # IDLE is woken by a new SMTP delivery.
            tag = m._new_tag().decode()
            m.send(f"{tag} IDLE\r\n".encode())
            assert m.readline().startswith(b"+")
            send(ports[25], "second message")
            line = m.readline()
            assert re.match(rb"\* 2 EXISTS", line), line
            m.send(b"DONE\r\n")
            while not m.readline().startswith(tag.encode()):
                pass
            typ, data = m.capability()
            assert b"MOVE" in data[0] and b"UIDPLUS" in data[0] and b"IDLE" in data[0], data
            typ, data = m.uid("MOVE", "2", "Junk")
            assert typ == "OK", data
            m.store("1", "+FLAGS", "(\\Deleted)")
            m.expunge()
            typ, data = m.select("INBOX")
            assert data[0] == b"0"
            m.logout()
        # On the disk: flags in file names, folders, clean fsck.
        arch = messages(img, MAILDIR + "/.Archive/cur")
        assert len(arch) == 1 and re.search(r":2,[A-Z]*F[A-Z]*S", list(arch)[0]), arch.keys()
        drafts = messages(img, MAILDIR + "/.Drafts/cur") or messages(img, MAILDIR + "/.Drafts/new")
        assert len(drafts) == 1
        assert len(messages(img, MAILDIR + "/.Junk/cur")) + len(messages(img, MAILDIR + "/.Junk/new")) == 1
        assert messages(img, MAILDIR + "/cur") == {} and messages(img) == {}
        fsck_clean(img)


def test_failed_logins_are_refused_and_counted():
    with tempfile.TemporaryDirectory() as d:
        vm, ports, img = boot(d)
        with vm:
            vm.wait_ready()
            m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
            t0 = time.monotonic()
            try:
                m.login("demo@example.test", "not the password")
                raise AssertionError("bad password accepted")
            except imaplib.IMAP4.error as e:
                assert "AUTHENTICATIONFAILED" in str(e)
            assert time.monotonic() - t0 >= 1.5  # the brake, not a timing benchmark
            m.login("demo@example.test", "demo")
            m.logout()
            assert "failed login for `demo@example.test`" in vm.log()


MBSYNCRC = """IMAPAccount guest
Host 127.0.0.1
Port {port}
User demo@example.test
Pass demo
SSLType IMAPS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account guest

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
"""


def test_mbsync_both_ways_and_uids_survive_reboot():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        local = os.path.join(d, "local")
        os.makedirs(local)
        for attempt in range(2):
            ports = {25: free_port(), 993: free_port()}
            fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
            with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                cert = os.path.join(d, "cert.pem")
                pem = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports[993]}"],
                                     input="", capture_output=True, text=True, timeout=60).stdout
                with open(cert, "w") as f:
                    f.write(pem[pem.index("-----BEGIN CERTIFICATE-----"):pem.index("-----END CERTIFICATE-----") + 25] + "\n")
                rc = os.path.join(d, "mbsyncrc")
                with open(rc, "w") as f:
                    f.write(MBSYNCRC.format(port=ports[993], cert=cert, local=local))
                if attempt == 0:
                    send(ports[25], "one")
                    send(ports[25], "two")
                    vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}")
                    r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, text=True, timeout=180)
                    assert r.returncode == 0, r.stdout + r.stderr
                    got = [f for f in os.listdir(os.path.join(local, "INBOX", "cur")) + os.listdir(os.path.join(local, "INBOX", "new"))]
                    assert len(got) == 2, got
                    # Local changes go up: a new message in Archive, a flag on one.
                    os.makedirs(os.path.join(local, "Archive", "cur"), exist_ok=True)
                    for sub in ("new", "tmp"):
                        os.makedirs(os.path.join(local, "Archive", sub), exist_ok=True)
                    with open(os.path.join(local, "Archive", "cur", "1700000000.local1.host:2,S"), "wb") as f:
                        f.write(b"From: me@example.test\r\nSubject: archived locally\r\n\r\nkept\r\n")
                    r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, text=True, timeout=180)
                    assert r.returncode == 0, r.stdout + r.stderr
                    m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
                    m.login("demo@example.test", "demo")
                    typ, data = m.select("Archive")
                    assert data[0] == b"1"
                    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
                    assert b"\\Seen" in data[0]
                    typ, data = m.select("INBOX")
                    typ, uids_before = m.uid("SEARCH", None, "ALL")
                    typ, st = m.status("INBOX", "(UIDVALIDITY)")
                    m.logout()
                else:
                    # After a reboot: the same UIDs and UIDVALIDITY, and mbsync has nothing to do.
                    m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
                    m.login("demo@example.test", "demo")
                    m.select("INBOX")
                    typ, uids_after = m.uid("SEARCH", None, "ALL")
                    typ, st2 = m.status("INBOX", "(UIDVALIDITY)")
                    m.logout()
                    assert uids_after == uids_before and st2 == st, (uids_before, uids_after, st, st2)
                    r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, text=True, timeout=180)
                    assert r.returncode == 0, r.stdout + r.stderr
        arch = messages(img, MAILDIR + "/.Archive/cur")
        assert len(arch) == 1 and list(arch)[0].endswith(":2,S")
        fsck_clean(img)


def test_condstore_modseqs_survive_a_kill():
    """RFC 7162 over imaplib: HIGHESTMODSEQ, MODSEQ per message, CHANGEDSINCE,
    UNCHANGEDSINCE, another session told of the change with its MODSEQ; the
    VM is then killed (every OK was flushed) and the values are the same
    after the reboot."""
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)

        def modseqs(m):
            typ, data = m.fetch("1:*", "(MODSEQ)")
            return {int(x.split()[0]): int(re.search(rb"MODSEQ \((\d+)\)", x).group(1)) for x in data}

        for attempt in range(2):
            ports = {25: free_port(), 993: free_port()}
            fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
            with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                m = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
                m.login("demo@example.test", "demo")
                typ, caps = m.capability()
                assert b"CONDSTORE" in caps[0], caps
                m.enable("CONDSTORE")
                if attempt == 0:
                    send(ports[25], "one")
                    send(ports[25], "two")
                    vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){2}")
                    typ, data = m.select("INBOX")
                    h0 = int(m.response("HIGHESTMODSEQ")[1][0])
                    assert data[0] == b"2" and h0 >= 1
                    other = imaplib.IMAP4_SSL("127.0.0.1", ports[993], ssl_context=ctx(), timeout=60)
                    other.login("demo@example.test", "demo")
                    other.enable("CONDSTORE")
                    other.select("INBOX")
                    typ, data = m.store("2", "+FLAGS", "(\\Flagged)")
                    m2 = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
                    assert m2 > h0, data
                    # The other session hears of it, with the MODSEQ.
                    typ, data = other.noop()
                    fetches = other.response("FETCH")[1]
                    assert any(b"\\Flagged" in f and b"MODSEQ (%d)" % m2 in f for f in fetches if f), fetches
                    other.logout()
                    typ, data = m.fetch("1:*", f"(FLAGS) (CHANGEDSINCE {h0})")
                    assert len([x for x in data if x]) == 1 and data[0].startswith(b"2 "), data
                    typ, data = m.uid("SEARCH", None, f"MODSEQ {m2}")
                    assert data[0].split(b" (")[0] == b"2", data
                    typ, data = m._simple_command("STORE", "1:2", f"(UNCHANGEDSINCE {h0})", "+FLAGS", "(\\Seen)")
                    assert typ == "OK" and data[0].startswith(b"[MODIFIED 2]"), (typ, data)
                    before = modseqs(m)
                    typ, st = m.status("INBOX", "(HIGHESTMODSEQ)")
                    # No LOGOUT: the VM is killed with the session open.
                else:
                    typ, data = m.select("INBOX")
                    assert int(m.response("HIGHESTMODSEQ")[1][0]) == max(before.values())
                    assert modseqs(m) == before
                    typ, st2 = m.status("INBOX", "(HIGHESTMODSEQ)")
                    assert st2 == st, (st, st2)
                    m.logout()
        assert b"unimail-modseq" in debugfs(img, f"ls {MAILDIR}")
        fsck_clean(img)
