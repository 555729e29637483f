"""Issue 10 (short version of the crash campaign, scripts/crash-campaign runs
100 rounds): SMTP load, IMAP flag changes and queued submissions, the VM
killed with SIGKILL at a random moment, then every acknowledged message is
in the Maildir exactly once, every acknowledged flag change is in its file
name, every acknowledged submission is still queued, e2fsck reports only
leaked blocks/inodes, and the image boots again (see crash_util.py)."""
import imaplib
import os
import re
import tempfile

from crash_util import CTX, disk_state, run_rounds
from smtp_util import mail_disk
from vm import VM, free_port


def test_kill_during_load_loses_nothing_acknowledged():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d, size=128)
        r = run_rounds(img, int(os.environ.get("CRASH_ROUNDS", "3")), seed=int(os.environ.get("CRASH_SEED", "1")))
        print(r)
        assert r["smtp_acked"] > 0 and r["flags_acked"] > 0 and r["submissions_acked"] > 0, r
        # The image still boots after the last kill, and IMAP shows every
        # message once (a file left under two names is repaired by the scan).
        found, _ = disk_state(img)
        tags = {t for t, _, _ in found}
        port = free_port()
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:143",
                disks=[(img, "mail", False)]) as vm:
            vm.wait_ready(timeout=120)
            m = imaplib.IMAP4("127.0.0.1", port, timeout=60)
            m.starttls(ssl_context=CTX)
            m.login("demo@example.test", "demo")
            m.select("INBOX", readonly=True)
            typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (X-Tag)])")
            seen = [re.search(rb"X-Tag: (\S+)", p[1]).group(1).decode() for p in data if isinstance(p, tuple)]
            m.logout()
        assert len(seen) == len(set(seen)), "a message shown twice over IMAP"
        assert set(seen) == tags
