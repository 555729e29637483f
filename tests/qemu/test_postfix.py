"""Issue 3: a real MTA (a throwaway Postfix instance on the host) relays to
the guest with its own behaviour: EHLO, PIPELINING, 8BITMIME, STARTTLS when
offered; the messages land in the Maildir."""
import shutil
import tempfile

import pytest

from postfix_util import Postfix
from smtp_util import conf_with, guest, messages


@pytest.mark.skipif(shutil.which("postfix") is None and __import__("os").environ.get("CI") != "true",
                    reason="postfix not installed (scripts/setup installs it)")
def test_postfix_relays_to_guest():
    with tempfile.TemporaryDirectory() as d:
        vm, port, img = guest(d, conf=conf_with(tls=True))
        pf = Postfix(d, port)
        with vm:
            vm.wait_ready()
            pf.start()
            try:
                body = "Subject: via postfix\r\nFrom: carol@example.org\r\nTo: demo@example.test\r\n\r\n8-bit: gr\u00fc\u00dfe\r\n.dot line\r\n"
                pf.send("carol@example.org", ["demo@example.test"], body.encode())
                pf.send("dave@example.org", ["postmaster@example.test", "abuse@example.test"],
                        b"Subject: two aliases\r\n\r\none copy\r\n")
                pf.wait_log("status=sent", timeout=120)
                vm.wait_for(r"rcpts=2 .*delivered to 1 mailboxes", timeout=120)
                log = pf.log()
                assert "relay=127.0.0.1" in log
                assert "TLS connection established" in log, log[-2000:]
            finally:
                pf.stop()
        msgs = list(messages(img).values())
        assert len(msgs) == 2
        via = next(m for m in msgs if b"Subject: via postfix" in m)
        assert "gr\u00fc\u00dfe".encode() in via and b"\r\n.dot line\r\n" in via
        assert b"from relay.example.org" in via and b"with ESMTPS" in via
