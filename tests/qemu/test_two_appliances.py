"""Issue 8: two appliances on one network (two QEMU guests on a bridge in a
network namespace the test creates), each with its own domain, keys and DNS
records (made by `unimail init` and `unimail dns`, served by dnsmasq): mail
submitted at A for a user of B arrives in B's Maildir with SPF, DKIM and
DMARC pass in B's Authentication-Results."""
import os
import re
import subprocess
import tempfile
import time
import uuid

from smtp_util import MAILDIR, messages, mail_disk
from test_config import config_disk
from vm import ROOT, VM

TOOL = os.path.join(ROOT, "target", "release", "unimail")


def ip(*a, check=True):
    return subprocess.run(["ip", *a], check=check, capture_output=True, text=True)


def init(d, domain, user, addr, replace="", append=""):
    out = os.path.join(d, domain)
    subprocess.run([TOOL, "init", "--domain", domain, "--hostname", f"mail.{domain}", "--out", out, "--user", user],
                   input="secret-pw\nsecret-pw\n", check=True, capture_output=True, text=True)
    conf = os.path.join(out, "unimail.conf")
    text = open(conf).read()
    for line in replace.strip().splitlines():
        # `key = value` lines replace init's own value for the key.
        key = line.split("=")[0].strip()
        text = re.sub(rf"(?m)^{key} = .*$", line, text)
    open(conf, "w").write(text + append)
    zone = subprocess.run([TOOL, "dns", out, "--ip4", addr], check=True, capture_output=True, text=True).stdout
    img = os.path.join(d, f"{domain}.img")
    subprocess.run([TOOL, "config-disk", "--dir", out, "--out", img], check=True, capture_output=True)
    return img, zone


def dnsmasq_args(zone):
    """Zone-file lines from `unimail dns` as dnsmasq options (A, MX, TXT)."""
    args = []
    for line in zone.splitlines():
        if not line or line.startswith(";"):
            continue
        m = re.match(r"^(\S+)\.\s+\d+\s+IN\s+(A|MX|TXT)\s+(.*)$", line)
        if not m:
            continue
        name, t, data = m.groups()
        if t == "A":
            args.append(f"--host-record={name},{data.strip()}")
        elif t == "MX":
            pref, target = data.split()
            args.append(f"--mx-host={name},{target.rstrip('.')},{pref}")
        else:
            strings = re.findall(r'"([^"]*)"', data)
            args.append(f"--txt-record={name}," + ",".join(strings))
    return args


SUBMIT = r"""
import smtplib, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('192.0.2.10', 587, timeout=60)
s.starttls(context=c); s.login('alice@a.test', 'secret-pw')
s.sendmail('alice@a.test', ['bob@b.test'], b'From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: across appliances\r\n\r\nhello Bob\r\n')
s.quit()
"""


def test_mail_from_a_to_b():
    ns = "um" + uuid.uuid4().hex[:8]
    ip("netns", "add", ns)
    procs = []
    try:
        ex = ["netns", "exec", ns, "ip"]
        ip(*ex, "link", "set", "lo", "up")
        ip(*ex, "link", "add", "br0", "type", "bridge")
        ip(*ex, "addr", "add", "192.0.2.1/24", "dev", "br0")
        for t in ("tapa", "tapb"):
            ip(*ex, "tuntap", "add", "dev", t, "mode", "tap")
            ip(*ex, "link", "set", t, "master", "br0")
            ip(*ex, "link", "set", t, "up")
        ip(*ex, "link", "set", "br0", "up")
        with tempfile.TemporaryDirectory() as d:
            # B greylists A's first attempt (450); A's queue retries after 3 s
            # and B accepts the retry: RFC 6647 between two real MTAs.
            cfg_a, zone_a = init(d, "a.test", "alice", "192.0.2.10", "pregreet_wait = 1s\n",
                                 "\n[queue]\nretry_initial = 3s\nretry_max = 5s\n")
            cfg_b, zone_b = init(d, "b.test", "bob", "192.0.2.20",
                                 "delay = 2s\npregreet_wait = 1s\n")
            dns = subprocess.Popen(["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--no-resolv",
                                    "--no-hosts", "--conf-file=/dev/null", "--bind-interfaces",
                                    "--listen-address=192.0.2.1", "--port=53", "--user=root", "--pid-file=",
                                    "--local=/a.test/", "--local=/b.test/",
                                    *dnsmasq_args(zone_a), *dnsmasq_args(zone_b)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            procs.append(dns)
            time.sleep(0.5)
            mail_a, mail_b = mail_disk(os.path.join(d), size=64), None
            os.rename(mail_a, os.path.join(d, "mail-a.img"))
            mail_a = os.path.join(d, "mail-a.img")
            mail_b = mail_disk(d, size=64)
            a = VM("q35", "ip=192.0.2.10/24 gw=192.0.2.1 dns=192.0.2.1", net="tap:tapa", netns=ns,
                   disks=[(mail_a, "mail", False), (cfg_a, "config", True)])
            b = VM("q35", "ip=192.0.2.20/24 gw=192.0.2.1 dns=192.0.2.1", net="tap:tapb", netns=ns,
                   disks=[(mail_b, "mail", False), (cfg_b, "config", True)],
                   extra=["-global", "virtio-net-pci.mac=52:54:00:12:34:57"])
            with a, b:
                a.wait_ready()
                b.wait_ready()
                r = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", SUBMIT],
                                   capture_output=True, text=True, timeout=120)
                assert r.returncode == 0, r.stdout + r.stderr
                b.wait_for(r"greylist: 192.0.2.10 from <alice@a.test> to <bob@b.test>: greylisted", timeout=120)
                b.wait_for(r"delivered to 1 mailboxes", timeout=120)
                m = a.wait_for(r"outbound: .*mail.b.test \[192.0.2.20\]: \[\(0, Delivered.*$", timeout=60)
                assert "(tls: true)" in m.group(0), m.group(0)  # opportunistic STARTTLS, recorded
            got = list(messages(mail_b, "/mail/b.test/bob/Maildir/new").values())
            assert len(got) == 1, got
            m = got[0]
            ar = re.search(rb"Authentication-Results: [^\r\n]*(\r\n[ \t][^\r\n]*)*", m).group(0)
            assert b"spf=pass" in ar and b"smtp.mailfrom=alice@a.test" in ar, ar
            assert b"dkim=pass" in ar and b"header.d=a.test" in ar, ar
            assert b"dmarc=pass" in ar and b"header.from=a.test" in ar, ar
            assert b"Subject: across appliances" in m and b"with ESMTPS" in m
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for pid in ip("netns", "pids", ns, check=False).stdout.split():
            subprocess.run(["kill", "-9", pid])
        ip("netns", "del", ns, check=False)
