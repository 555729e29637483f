"""Issue 10 item 4: the open-relay battery. From outside, without AUTH, every
classic relay trick is refused at RCPT (and nothing reaches the outbound
queue); with AUTH on submission, only the user's own sender addresses are
accepted, envelope and header alike."""
import smtplib
import tempfile

from crash_util import CTX
from smtp_util import debugfs, mail_disk
from vm import VM, free_port

# Recipients that would make an open relay forward mail off the machine.
# Each must get a 5xx at RCPT TO (RFC 5321 3.6.2 / RFC 2505 2.6-2.10).
RELAY_TRICKS = [
    "victim@remote.example",                     # plain relay
    "VICTIM@REMOTE.EXAMPLE",                     # case variant
    "victim@remote.example.",                    # trailing dot
    "victim%remote.example@example.test",        # percent hack
    "victim%remote.example@EXAMPLE.TEST",
    '"victim@remote.example"@example.test',     # quoted local part holding an address
    '"victim%remote.example"@example.test',
    "@example.test:victim@remote.example",       # source route via us
    "@a.example,@example.test:victim@remote.example",
    "remote.example!victim@example.test",        # bang path
    "remote.example!victim",                     # unqualified bang path
    "victim%remote.example",                     # unqualified percent hack
    "victim@remote.example@example.test",        # nested @
    "victim@example.test@remote.example",
    "victim@[192.0.2.99]",                       # address literal, not ours
    "victim@[IPv6:2001:db8::99]",
    "victim@[127.0.0.1]",
    "victim@localhost",
    "victim@example.test.remote.example",        # our domain as a prefix
    "victim@remote-example.test",                # lookalike
    "victim@sub.example.test",                   # subdomain is not ours
    "victim@xn--bcher-kva.example",              # IDN (A-label) elsewhere
    "victim@example.test:25",
    "<victim@remote.example>",                   # doubled brackets
]


def test_open_relay_battery():
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        ports = {25: free_port(), 587: free_port()}
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            accepted = []
            for addr in RELAY_TRICKS:
                # A fresh session each: the server hangs up after its error
                # limit (like Postfix's smtpd_hard_error_limit).
                s = smtplib.SMTP("127.0.0.1", ports[25], timeout=60)
                s.ehlo("relay-tester.example")
                code, msg = s.docmd("MAIL FROM:<spammer@remote.example>")
                assert code == 250, (code, msg)
                code, msg = s.docmd(f"RCPT TO:<{addr}>")
                print(f"RCPT TO:<{addr}> -> {code} {msg.decode(errors='replace')}")
                if code < 500:
                    accepted.append((addr, code, msg))
                s.quit()
            s = smtplib.SMTP("127.0.0.1", ports[25], timeout=60)
            s.ehlo("relay-tester.example")
            # The IDN in UTF-8 needs SMTPUTF8 and is refused like the rest.
            s.docmd("MAIL FROM:<spammer@remote.example> SMTPUTF8")
            s.send("RCPT TO:<victim@bücher.example>\r\n".encode())
            code, msg = s.getreply()
            print(f"RCPT TO:<victim@bücher.example> -> {code} {msg!r}")
            if code < 500:
                accepted.append(("victim@bücher.example", code, msg))
            s.rset()
            # A local recipient still works in the same session.
            code, _ = s.docmd("MAIL FROM:<friend@remote.example>")
            code, msg = s.docmd("RCPT TO:<demo@example.test>")
            assert code == 250, msg
            s.quit()
            assert not accepted, accepted

            # With AUTH: only owned senders.
            t = smtplib.SMTP("127.0.0.1", ports[587], timeout=60)
            t.starttls(context=CTX)
            t.login("demo@example.test", "demo")
            for sender, ok in [
                ("demo@example.test", True),
                ("DEMO@EXAMPLE.TEST", True),
                ("demo+tag@example.test", True),
                ("postmaster@example.test", True),    # an alias that delivers to demo
                ("someone@example.test", False),
                ("demo@example.test.evil.example", False),
                ("demo%evil.example@example.test", False),
                ('"demo@example.test"@evil.example', False),
                ("demo@evil.example", False),
                ("", False),  # the null sender is for bounces, not users
            ]:
                code, msg = t.docmd(f"MAIL FROM:<{sender}>")
                print(f"AUTH MAIL FROM:<{sender}> -> {code} {msg!r}")
                assert (code == 250) == ok, (sender, code, msg)
                t.rset()
            code, _ = t.docmd("MAIL FROM:<demo@example.test>")
            assert code == 250
            t.rset()
            t.quit()
        queue = debugfs(img, "ls -p /queue").decode()
        assert ".msg/" not in queue, queue
