"""Issue 7 in the image, against a real DNS server (dnsmasq) serving test
DNSBL/DNSWL zones and SPF/DMARC records in the test's namespace: a listed
client is refused, an allow-listed one passes at once, a pre-greet talker
is dropped, a first delivery is greylisted (450) and swaks' retry after the
delay is accepted, EICAR is refused with 554, and a spammy message gets
`X-Spam: Yes` and lands in Junk through the system Sieve script."""
import re
import socket
import subprocess
import tempfile
import time

from conftest import in_ns
from smtp_util import MAILDIR, debugfs, mail_disk, messages
from test_config import config_disk, default_conf
from vm import VM

GUEST = "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

# .2 is listed in zen (weight 3: refused), .3 only in bl (weight 2: passes,
# then greylisted), .4 in the DNSWL (allow-listed), .5 on the access list,
# .6 talks before the greeting.
CLIENTS = range(2, 8)


def conf():
    text = default_conf()
    # The demo's own [screen], [access] and [greylist] give way to the test's.
    for name in ("screen", "access", "greylist"):
        text = re.sub(r"\n\[" + name + r"\][^\[]*", "\n", text)
    return text + """
[dnsbl]
sites = zen.dnsbl.test=127.0.0.[2..11]*3, bl.dnsbl.test*2
sites = wl.dnsbl.test=127.0.[0..255].[1..3]*-2
threshold = 3
allowlist_threshold = -1

[screen]
pregreet_wait = 2s
pregreet_action = drop
dnsbl_action = drop

[access]
allow = 192.0.2.5

[greylist]
enabled = yes
delay = 5s
retry_window = 1h

[filter]
add_header = 3
reject = 50

[stats]
listen = 192.0.2.10:9100
users = demo@example.test
dmarc_reports = postmaster@example.test
"""


def dns_server(ns):
    args = ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
            "--conf-file=/dev/null", "--bind-interfaces", "--listen-address=192.0.2.1", "--port=53",
            "--user=root", "--pid-file=", "--local=/dnsbl.test/", "--local=/spammer.test/",
            "--address=/2.2.0.192.zen.dnsbl.test/127.0.0.2",
            "--address=/3.2.0.192.bl.dnsbl.test/127.0.0.2",
            "--address=/4.2.0.192.wl.dnsbl.test/127.0.10.2",
            "--txt-record=spammer.test,v=spf1 -all",
            "--txt-record=_dmarc.spammer.test,v=DMARC1; p=reject"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


SMTP = r"""
import smtplib, socket, sys, json
src, frm, to, path = sys.argv[1:5]
msg = open(path, 'rb').read()
out = {}
try:
    s = smtplib.SMTP(timeout=60, source_address=(src, 0))
    code, banner = s.connect('192.0.2.10', 25)
    out['connect'] = code
    out['connect_text'] = banner.decode()
    s.ehlo('client.example')
    code, m = s.mail(frm)
    code, m = s.rcpt(to)
    out['rcpt'] = [code, m.decode()]
    if code == 250:
        code, m = s.data(msg)
        out['data'] = [code, m.decode()]
    s.quit()
except smtplib.SMTPConnectError as e:
    out['connect'] = e.smtp_code
    out['connect_text'] = e.smtp_error.decode()
except smtplib.SMTPDataError as e:
    out['data'] = [e.smtp_code, e.smtp_error.decode()]
except smtplib.SMTPServerDisconnected as e:
    out['disconnected'] = str(e)
print(json.dumps(out))
"""


def send(ns, src, frm, to, body, d):
    import json
    path = f"{d}/msg-{time.monotonic_ns()}.eml"
    with open(path, "wb") as f:
        f.write(body)
    r = in_ns(ns, "python3", "-c", SMTP, src, frm, to, path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def early_talker(ns, src):
    code = r"""
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.settimeout(30)
s.connect(('192.0.2.10', 25))
first = s.recv(1000)
s.sendall(b'EHLO early.example\r\n')
got = first
while True:
    c = s.recv(1000)
    if not c: break
    got += c
print(got.decode().replace('\r\n', '|'))
"""
    r = in_ns(ns, "python3", "-c", code, src, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def dmarc_report_message():
    import gzip
    import os
    import base64
    xml = open(os.path.join(os.path.dirname(__file__), "..", "..", "mail", "dmarcreport", "tests", "reports",
                            "google.xml"), "rb").read()
    gz = base64.encodebytes(gzip.compress(xml)).decode().replace("\n", "\r\n")
    return ("From: noreply-dmarc@google.example\r\nTo: postmaster@example.test\r\n"
            "Subject: Report domain: example.test\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/gzip; name=report.xml.gz\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + gz).encode()


def metrics_text(ns, userpass):
    """'CODE body' of GET /metrics with Basic credentials, via curl."""
    r = in_ns(ns, "curl", "-s", "-u", userpass, "-w", "\n%{http_code}", "http://192.0.2.10:9100/metrics",
              timeout=60)
    body, _, code = r.stdout.rpartition("\n")
    return f"{code} \n{body}"


def test_screen_greylist_antivirus_and_spam(netns):
    for h in CLIENTS:
        in_ns(netns, "ip", "addr", "add", f"192.0.2.{h}/24", "dev", "tap0")
    with tempfile.TemporaryDirectory() as d:
        dns = dns_server(netns)
        try:
            time.sleep(0.5)
            img = mail_disk(d)
            cfg = config_disk(d, conf())
            with VM("q35", GUEST, net="tap:tap0", netns=netns,
                    disks=[(img, "mail", False), (cfg, "config", True)]) as vm:
                vm.wait_ready()
                hello = b"From: friend@example.org\r\nSubject: hello\r\n\r\nhi\r\n"

                # A DNSBL-listed client: 521 naming the list, after the teaser.
                r = send(netns, "192.0.2.2", "a@example.org", "demo@example.test", hello, d)
                assert r.get("connect") == 521 and "zen.dnsbl.test" in r.get("connect_text", ""), r

                # A pre-greet talker is dropped.
                out = early_talker(netns, "192.0.2.6")
                assert out.startswith("220-") and "|521 5.7.1" in out, out

                # Allow-listed by the access list: no wait, no greylisting.
                r = send(netns, "192.0.2.5", "friend@example.org", "demo@example.test", hello, d)
                assert r["rcpt"][0] == 250 and r["data"][0] == 250, r

                # Allow-listed by the DNSWL: not greylisted either.
                r = send(netns, "192.0.2.4", "wl@example.org", "demo@example.test", hello, d)
                assert r["rcpt"][0] == 250, r

                # Greylisting: swaks' first try gets 450, the retry after the delay passes.
                swaks = ["swaks", "--server", "192.0.2.10", "--local-interface", "192.0.2.3",
                         "--from", "grey@example.org", "--to", "demo@example.test",
                         "--header", "Subject: greylisted first", "--timeout", "60"]
                r1 = in_ns(netns, *swaks, timeout=120)
                assert "<** 450 4.7.1" in r1.stdout, r1.stdout + r1.stderr + vm.log()[-3000:]
                time.sleep(6)
                r2 = in_ns(netns, *swaks, timeout=120)
                assert r2.returncode == 0 and "<-  250 2.0.0" in r2.stdout, r2.stdout

                # EICAR, as a base64 attachment: 554 5.7.1 naming the virus.
                import base64
                b64 = base64.b64encode(EICAR).decode()
                eicar = ("From: friend@example.org\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
                         "see attached\r\n--XX\r\nContent-Type: application/octet-stream; name=eicar.com\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n--XX--\r\n").encode()
                r = send(netns, "192.0.2.5", "friend@example.org", "demo@example.test", eicar, d)
                assert r["data"][0] == 554 and "5.7.1" in r["data"][1] and "virus" in r["data"][1].lower(), r

                # A spammy message (SPF fail, DMARC p=reject fail): X-Spam: Yes, filed into Junk.
                spam = (b"From: Prize <win@spammer.test>\r\nTo: demo@example.test\r\nSubject: You won\r\n\r\n"
                        b"Claim your prize now!\r\n")
                r = send(netns, "192.0.2.5", "win@spammer.test", "demo@example.test", spam, d)
                assert r["data"][0] == 250, r
                vm.wait_for(r"(?s)(delivered to 1 mailboxes.*){4}", timeout=60)

                # A DMARC aggregate report (gzip attachment) to the rua address is read and counted.
                r = send(netns, "192.0.2.5", "noreply-dmarc@google.example", "postmaster@example.test",
                         dmarc_report_message(), d)
                assert r["data"][0] == 250, r
                vm.wait_for(r"dmarc: \S+ \d+ messages from ", timeout=60)

                # Statistics: Prometheus text for the configured user only.
                metrics = metrics_text(netns, "demo@example.test:demo")
                assert metrics.startswith("200 "), metrics[:300]
                from prometheus_client.parser import text_string_to_metric_families
                fams = {f.name: f for f in text_string_to_metric_families(metrics.split("\n", 1)[1])}
                def value(name, **labels):
                    for smp in fams[name].samples:
                        if all(smp.labels.get(k) == v for k, v in labels.items()):
                            return smp.value
                    raise KeyError((name, labels, [x for x in fams[name].samples]))
                assert value("unimail_dmarc_reports") == 1, fams["unimail_dmarc_reports"].samples
                assert value("unimail_delivered") >= 4
                print(sorted(fams))
                assert any(n.startswith("unimail_screen_") for n in fams)
                assert any(n.startswith("unimail_filter_") for n in fams)
                assert metrics_text(netns, "demo@example.test:wrong").startswith("401 ")
                log = vm.log()
                assert "screen:" in log and "greylist:" in log and "filter:" in log
            inbox = {**messages(img), **messages(img, MAILDIR + "/cur")}
            junk = {**messages(img, MAILDIR + "/.Junk/new"), **messages(img, MAILDIR + "/.Junk/cur")}
            assert any(b"Subject: greylisted first" in m for m in inbox.values())
            assert not any(b"Subject: invoice" in m for m in list(inbox.values()) + list(junk.values()))
            won = [m for m in junk.values() if b"Subject: You won" in m]
            assert won, "the spammy message is not in Junk"
            assert b"X-Spam: Yes" in won[0] and b"X-Spam-Score: " in won[0], won[0][:800]
            assert not any(b"X-Spam: Yes" in m for m in inbox.values())
            # The greylist and pass cache are on the mail disk.
            listing = debugfs(img, "ls -p /screen").decode()
            assert "/greylist/" in listing and "/cache/" in listing, listing
        finally:
            dns.kill()
            dns.wait()


def test_pass_cache_survives_reboot():
    """A client that passed the pre-greet wait skips it after a reboot: the
    pass cache is on the mail disk, stamped with UNIX time."""
    import smtplib
    from vm import free_port
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        took = []
        for _ in range(2):
            port = free_port()
            with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25",
                    disks=[(img, "mail", False)]) as vm:
                vm.wait_ready()
                t0 = time.monotonic()
                smtplib.SMTP("127.0.0.1", port, timeout=30).quit()
                took.append(time.monotonic() - t0)
                vm.wait_for(r"screen: PASS (NEW|OLD) \[10\.0\.2\.2\]")
                time.sleep(0.5)  # the first pass is saved at once
                log = vm.log()
        assert "screen: PASS OLD [10.0.2.2] pregreet=skipped" in log, log[-2000:]
        assert "pass cache 1 clients" in log
        print("connect to greeting, first and second boot (s):", took)


def test_imap_moves_into_and_out_of_junk_teach_bayes():
    """Issue 7 item 5: a message moved into Junk over IMAP is learned as
    spam, moved back out as ham (RFC 6785 behaviour), and the token store
    is written to the mail disk."""
    import imaplib
    import smtplib
    from crash_util import CTX
    from vm import free_port
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d)
        ports = {25: free_port(), 143: free_port()}
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
        with VM("q35", "ip=10.0.2.15/24 gw=10.0.2.2", net="user," + fwd, disks=[(img, "mail", False)]) as vm:
            vm.wait_ready()
            s = smtplib.SMTP("127.0.0.1", ports[25], timeout=60)
            s.sendmail("shop@example.org", ["demo@example.test"],
                       b"From: shop@example.org\r\nSubject: cheap watches\r\nMessage-ID: <w1@example.org>\r\n\r\n"
                       b"Replica watches, best prices, click now\r\n")
            s.quit()
            m = imaplib.IMAP4("127.0.0.1", ports[143], timeout=60)
            m.starttls(ssl_context=CTX)
            m.login("demo@example.test", "demo")
            m.select("INBOX")
            typ, data = m.uid("MOVE", "1:*", "Junk")
            assert typ == "OK", data
            vm.wait_for(r"bayes: learned a message as Spam from an IMAP move")
            m.select("Junk")
            typ, data = m.uid("MOVE", "1:*", "INBOX")
            assert typ == "OK", data
            vm.wait_for(r"bayes: learned a message as Ham from an IMAP move")
            m.logout()
            vm.wait_for(r"bayes: token store saved")
        assert "/tokens/" in debugfs(img, "ls -p /bayes").decode()
