"""Shared pieces of the SMTP QEMU tests: a guest with a mail disk (and an
optional config disk), and reading delivered messages with debugfs."""
import os
import re
import subprocess
import tempfile

from test_config import config_disk, default_conf
from vm import ROOT, VM, free_port

TOOL = os.path.join(ROOT, "target", "release", "unimail")
MAILDIR = "/mail/example.test/demo/Maildir"


def mail_disk(d, size=64):
    img = os.path.join(d, "mail.img")
    subprocess.run([TOOL, "mail-disk", "--out", img, "--size-mib", str(size)], check=True, capture_output=True)
    return img


def debugfs(img, cmd):
    return subprocess.run(["debugfs", "-R", cmd, img], check=True, capture_output=True).stdout


def messages(img, folder=MAILDIR + "/new"):
    """{name: bytes} of every file in a Maildir directory."""
    out = {}
    listing = debugfs(img, f"ls -p {folder}").decode()
    for m in re.finditer(r"^/\d+/\d+/\d+/\d+/([^/]+)/", listing, re.M):
        name = m.group(1)
        if name in (".", ".."):
            continue
        out[name] = debugfs(img, f"cat {folder}/{name}")
    return out


def fsck_clean(img):
    r = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def strip_trace(msg):
    """The message as sent: without our Return-Path/Delivered-To/Received."""
    assert msg.startswith(b"Return-Path: "), msg[:200]
    lines = msg.split(b"\r\n")
    i = 0
    while lines[i].startswith((b"Return-Path:", b"Delivered-To:", b"Received:", b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[i:])


def make_tls_files(cdir, cn="mail.example.test"):
    tls = os.path.join(cdir, "tls")
    os.makedirs(tls, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(tls, "mail.key"), "-out", os.path.join(tls, "mail.crt"),
                    "-days", "30", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True)


def conf_with(tls=True, extra=""):
    text = default_conf()
    if tls:
        start, end = text.index("[tls]"), text.index("[dkim")
        text = text[:start] + "[tls]\ncert = tls/mail.crt\nkey = tls/mail.key\n\n" + text[end:]
    return text + "\n" + extra


def guest(d, conf=None, machine="q35", extra_cmd=""):
    """Starts a guest forwarding a host port to 25; returns (vm, port, mail image)."""
    img = mail_disk(d)
    disks = [(img, "mail", False)]
    if conf is not None:
        cdir = os.path.join(d, "cfg")
        os.makedirs(cdir, exist_ok=True)
        make_tls_files(cdir)
        disks.append((config_disk(d, conf), "config", True))
    port = free_port()
    vm = VM(machine, "ip=10.0.2.15/24 gw=10.0.2.2 " + extra_cmd,
            net=f"user,hostfwd=tcp:127.0.0.1:{port}-:25", disks=disks)
    return vm, port, img
