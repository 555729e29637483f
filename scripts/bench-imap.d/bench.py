"""scripts/bench-imap's body (see the comment there): one IMAP workload
against the appliance, Dovecot in a Debian VM and Dovecot on the host, all
serving the same Maildir."""
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

MSGS = int(os.environ.get("MSGS", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BODIES, STORES = 100, 100
KERNEL = os.environ.get("UNIMAIL_KERNEL") or "target/x86_64-unknown-none/release/unimail-kernel"
TOOL = os.environ.get("UNIMAIL_TOOL") or "target/release/unimail"
CACHE = os.environ["CLASSIC_CACHE"]
USER, PASSWORD = "demo@example.test", "demo"
MAILDIR = "/mail/example.test/demo/Maildir"
QEMU_COMMON = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max",
               "-smp", "1", "-m", "512M", "-nodefaults", "-no-user-config", "-nographic",
               "-no-reboot", "-monitor", "none"]
SEARCHES = ["UNSEEN", "FLAGGED", 'FROM "sender17"', 'SUBJECT "invoice"', "SINCE 1-Jan-2020",
            "LARGER 20000", 'HEADER Message-ID "<bench-42@"', "OR ANSWERED DELETED",
            'BODY "needle"', 'TEXT "quarterly"']
tmp = tempfile.mkdtemp(prefix="bench-imap-")
procs = []


def cleanup(*_):
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
    shutil.rmtree(tmp, ignore_errors=True)


import atexit  # noqa: E402

atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def load():
    return "host load average " + " ".join(open("/proc/loadavg").read().split()[:3])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")
    except FileNotFoundError:
        return ""


def wait_console(log, pattern, proc, timeout):
    rx = re.compile(pattern, re.M)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = rx.search(read(log))
        if m:
            return m
        if proc.poll() is not None:
            raise RuntimeError(f"QEMU exited ({proc.returncode}) before /{pattern}/:\n" + read(log)[-3000:])
        time.sleep(0.05)
    raise RuntimeError(f"timeout ({timeout} s) waiting for /{pattern}/:\n" + read(log)[-3000:])


# --- the messages ------------------------------------------------------------
WORDS = ("the of and to in is that for on with as was by at from this report quarterly meeting invoice project "
         "budget review draft schedule travel notes update agenda release customer server backup mail "
         "weekend family photo garden holiday").split()


def message(i):
    """Deterministic, varied: text of 1-30 KB, every 5th with a base64
    attachment, every 50th containing the word `needle`."""
    r = random.Random(i)
    subj = " ".join(r.choice(WORDS) for _ in range(r.randint(2, 7)))
    hdr = (f"From: Sender {i % 40} <sender{i % 40}@example.org>\r\nTo: Demo <demo@example.test>\r\n"
           f"Subject: {subj}\r\nDate: Mon, {1 + i % 28} Jun 2025 10:{i % 60:02d}:00 +0000\r\n"
           f"Message-ID: <bench-{i}@example.org>\r\nMIME-Version: 1.0\r\n")
    lines = []
    for _ in range(r.randint(10, 400)):
        lines.append(" ".join(r.choice(WORDS) for _ in range(r.randint(5, 12))))
    if i % 50 == 7:
        lines.insert(len(lines) // 2, "the needle is here")
    text = "\r\n".join(lines) + "\r\n"
    if i % 5:
        return (hdr + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).encode()
    blob = bytes(r.getrandbits(8) for _ in range(r.randint(2000, 30000)))
    import base64
    b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
    return (hdr + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text +
            '--b1\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "--b1--\r\n").encode()


def deliver(port, n, threads=4):
    """Delivers messages 0..n-1 over SMTP, `threads` sessions in parallel."""
    errs = []

    def worker(k):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=120)
            for i in range(k, n, threads):
                s.sendmail(f"sender{i % 40}@example.org", [USER], message(i))
            s.quit()
        except Exception as e:  # noqa: BLE001
            errs.append(e)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise RuntimeError(f"SMTP delivery failed: {errs[0]}")


# --- a minimal IMAP client (the same for every server) -----------------------
class Imap:
    def __init__(self, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.s = ctx.wrap_socket(raw)
        self.buf = b""
        self.n = 0
        greeting = self.line()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError(f"greeting {greeting!r}")

    def fill(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise RuntimeError("connection closed")
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln, self.buf = self.buf[:i], self.buf[i + 2:]
                return ln
            self.fill()

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def cmd(self, text):
        """Runs one command; returns (untagged lines, literal byte count)."""
        self.n += 1
        tag = b"B%04d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged, lit = [], 0
        while True:
            ln = self.line()
            seg = ln
            while True:
                m = re.search(rb"\{(\d+)\}$", seg)
                if not m:
                    break
                k = int(m.group(1))
                lit += k
                self.take(k)
                seg = self.line()
                ln += b" " + seg
            if ln.startswith(tag + b" "):
                if not ln[len(tag) + 1:].startswith(b"OK"):
                    raise RuntimeError(f"{text[:60]!r}: {ln[:200]!r}")
                return untagged, lit
            untagged.append(ln)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:  # noqa: BLE001
            pass
        self.s.close()


def session(port, timed=True):
    """One workload session; returns {step: (seconds, operations)}."""
    r = {}
    t = time.monotonic()
    c = Imap(port)
    c.cmd(f'LOGIN "{USER}" "{PASSWORD}"')
    r["connect+TLS+LOGIN"] = (time.monotonic() - t, 1)
    t = time.monotonic()
    u, _ = c.cmd("SELECT INBOX")
    r["SELECT"] = (time.monotonic() - t, 1)
    exists = next(int(x.split()[1]) for x in u if x.endswith(b" EXISTS"))
    t = time.monotonic()
    u, lit = c.cmd("UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])")
    r["FETCH headers (msgs)"] = (time.monotonic() - t, exists)
    uids = [int(m.group(1)) for m in (re.search(rb"UID (\d+)", x) for x in u) if m]
    if len(uids) != exists or not timed:
        if len(uids) != exists:
            raise RuntimeError(f"header fetch returned {len(uids)} UIDs for {exists} messages")
        c.close()
        return r
    pick = random.Random(7).sample(uids, min(BODIES, len(uids)))
    t = time.monotonic()
    total = 0
    for uid in pick:
        _, lit = c.cmd(f"UID FETCH {uid} BODY.PEEK[]")
        total += lit
    r["FETCH bodies (cmds)"] = (time.monotonic() - t, len(pick))
    r["_body_bytes"] = (0, total)
    pick = random.Random(8).sample(uids, min(STORES, len(uids)))
    t = time.monotonic()
    for uid in pick:
        c.cmd(f"UID STORE {uid} +FLAGS (\\Flagged)")
    r["STORE flags (cmds)"] = (time.monotonic() - t, len(pick))
    c.cmd("UID STORE 1:* -FLAGS.SILENT (\\Flagged)")
    t = time.monotonic()
    for q in SEARCHES:
        c.cmd("UID SEARCH " + q)
    r["SEARCH (cmds)"] = (time.monotonic() - t, len(SEARCHES))
    t = time.monotonic()
    c.close()
    r["LOGOUT"] = (time.monotonic() - t, 1)
    return r


STEPS = ["connect+TLS+LOGIN", "SELECT", "FETCH headers (msgs)", "FETCH bodies (cmds)", "STORE flags (cmds)",
         "SEARCH (cmds)", "LOGOUT"]


def run_workload(port, label):
    """Warm-up, then ROUNDS timed sessions; returns {step: median ops/s} and the
    median session time."""
    t = time.monotonic()
    session(port, timed=False)
    print(f"  warm-up session (first SELECT): {time.monotonic() - t:.2f} s")
    rounds = []
    for k in range(ROUNDS):
        r = session(port)
        tot = sum(v[0] for s, v in r.items() if not s.startswith("_"))
        print(f"  round {k + 1}: " + ", ".join(f"{s} {r[s][0]:.3f} s" for s in STEPS) + f"; total {tot:.2f} s")
        rounds.append((r, tot))
    out = {s: statistics.median(r[s][1] / r[s][0] for r, _ in rounds) for s in STEPS}
    out["total"] = statistics.median(t for _, t in rounds)
    print(f"  body bytes per session: {rounds[0][0]['_body_bytes'][1]}; {load()}")
    return out


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


res = {}
print(f"unimail IMAP benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {MSGS} messages, "
      f"{ROUNDS} timed sessions per server (median); QEMU {' '.join(QEMU_COMMON[1:11])}")
maildir_copy = os.path.join(tmp, "maildir")

# --- 1. the appliance --------------------------------------------------------
print("\n[unimail appliance (VM)]")


def boot_appliance(img, log):
    ports = {25: free_port(), 993: free_port()}
    fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for g, h in ports.items())
    args = QEMU_COMMON + ["-serial", f"file:{log}", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                          "-kernel", KERNEL, "-append", "ip=10.0.2.15/24 gw=10.0.2.2",
                          "-device", "virtio-rng-pci",
                          "-netdev", f"user,id=n0,restrict=on,{fwd}",
                          "-device", "virtio-net-pci,netdev=n0,romfile=",
                          "-drive", f"if=none,id=d0,file={img},format=raw,cache=writeback",
                          "-device", "virtio-blk-pci,drive=d0,serial=mail"]
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    procs.append(p)
    wait_console(log, r"^ready:.*$", p, 120)
    return p, ports


try:
    img = os.path.join(tmp, "mail.img")
    subprocess.run([TOOL, "mail-disk", "--out", img, "--size-mib", "512"], check=True, capture_output=True)
    p, ports = boot_appliance(img, os.path.join(tmp, "appliance-fill.log"))
    t = time.monotonic()
    deliver(ports[25], MSGS)
    print(f"  {MSGS} messages delivered over SMTP in {time.monotonic() - t:.1f} s")
    p.kill()
    p.wait(10)
    # The same Maildir (files, names, dovecot-uidlist) for Dovecot.
    subprocess.run(["debugfs", "-R", f"rdump {MAILDIR} {tmp}", img], check=True, capture_output=True, timeout=600)
    os.rename(os.path.join(tmp, "Maildir"), maildir_copy)
    n = len(os.listdir(os.path.join(maildir_copy, "new")))
    size = sum(os.path.getsize(os.path.join(maildir_copy, "new", f)) for f in os.listdir(os.path.join(maildir_copy, "new")))
    print(f"  Maildir copied out with debugfs: {n} files in new/, {size / 1048576:.1f} MiB")
    log = os.path.join(tmp, "appliance.log")
    p, ports = boot_appliance(img, log)
    res["appliance"] = run_workload(ports[993], "appliance")
    res["appliance"]["rss"] = rss_kib(p.pid)
    p.kill()
    p.wait(10)
except Exception as e:  # noqa: BLE001
    print(f"  FAILED: {e}")

have_maildir = os.path.isdir(os.path.join(maildir_copy, "new"))


def maildir_for(dest, uid, gid):
    shutil.copytree(maildir_copy, dest)
    for d, _, fs in os.walk(dest):
        os.chown(d, uid, gid)
        for f in fs:
            os.chown(os.path.join(d, f), uid, gid)


# --- 2. Dovecot in the Debian VM ---------------------------------------------
print("\n[Dovecot imapd in a Debian VM (same QEMU settings)]")
if os.environ.get("SKIP_CLASSIC") or not have_maildir:
    print("  skipped")
else:
    try:
        stage = os.path.join(tmp, "vmail")
        os.makedirs(stage)
        os.chown(stage, 5000, 5000)
        maildir_for(os.path.join(stage, "demo", "Maildir"), 5000, 5000)
        os.chown(os.path.join(stage, "demo"), 5000, 5000)
        mdisk = os.path.join(tmp, "vmail.img")
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", stage, mdisk, "512M"], check=True, capture_output=True, timeout=300)
        root = os.path.join(tmp, "rootfs.img")
        subprocess.run(["cp", "--sparse=always", os.path.join(CACHE, "rootfs-imap.img"), root], check=True, timeout=300)
        port, log = free_port(), os.path.join(tmp, "classic.log")
        args = QEMU_COMMON + ["-serial", f"file:{log}",
                              "-kernel", os.path.join(CACHE, "vmlinuz"), "-initrd", os.path.join(CACHE, "initrd.img"),
                              "-append", "root=/dev/vda rw console=ttyS0 init=/sbin/bench-imap-init quiet",
                              "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:993",
                              "-device", "virtio-net-pci,netdev=n0,romfile=",
                              "-drive", f"if=none,id=d0,file={root},format=raw,cache=writeback",
                              "-device", "virtio-blk-pci,drive=d0",
                              "-drive", f"if=none,id=d1,file={mdisk},format=raw,cache=writeback",
                              "-device", "virtio-blk-pci,drive=d1"]
        t0 = time.monotonic()
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs.append(p)
        wait_console(log, r"classic: ready", p, 600)
        print(f"  qemu start -> ready: {time.monotonic() - t0:.1f} s")
        time.sleep(2)
        res["classic"] = run_workload(port, "classic")
        res["classic"]["rss"] = rss_kib(p.pid)
        p.kill()
        p.wait(10)
    except Exception as e:  # noqa: BLE001
        print(f"  FAILED: {e}")

# --- 3. Dovecot natively on the host -----------------------------------------
print("\n[Dovecot imapd natively on the host]")
if os.environ.get("SKIP_NATIVE") or not have_maildir:
    print("  skipped")
else:
    nat = os.path.join(tmp, "native")
    dconf = os.path.join(nat, "dovecot.conf")
    try:
        home = os.path.join(nat, "home", "demo")
        os.makedirs(home)
        for d in (tmp, nat, os.path.dirname(home)):
            os.chmod(d, 0o755)
        shutil.chown(home, "nobody", "nogroup")
        maildir_for(os.path.join(home, "Maildir"), 65534, 65534)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "30", "-keyout", f"{nat}/key.pem", "-out", f"{nat}/cert.pem",
                        "-subj", "/CN=native.example.test"], check=True, capture_output=True)
        port = free_port()
        with open(dconf, "w") as f:
            f.write(f"""protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{nat}/cert.pem
ssl_key = <{nat}/key.pem
base_dir = {nat}/dovecot-run
state_dir = {nat}/dovecot-state
log_path = {nat}/dovecot.log
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {nat}/users
}}
userdb {{
  driver = passwd-file
  args = {nat}/users
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        with open(os.path.join(nat, "users"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}{PASSWORD}:65534:65534::{home}::\n")
        errs = os.path.join(nat, "start.log")
        with open(errs, "a") as ef:
            r = subprocess.run(["dovecot", "-c", dconf], stdin=subprocess.DEVNULL, stdout=ef, stderr=ef, timeout=120)
        if r.returncode:
            raise RuntimeError("dovecot failed: " + read(errs)[-600:])
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        res["native"] = run_workload(port, "native")
    except Exception as e:  # noqa: BLE001
        print(f"  FAILED: {e}; log: " + read(os.path.join(nat, "dovecot.log"))[-600:])
    finally:
        subprocess.run(["dovecot", "-c", dconf, "stop"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

# --- table -------------------------------------------------------------------
names = {"appliance": "unimail appliance (VM)", "classic": "Dovecot imapd (Debian VM)",
         "native": "Dovecot imapd (host, native)"}
ap, cl, na = (res.get(k, {}) for k in ("appliance", "classic", "native"))


def ratio(x, b):
    return f"{x / b:.2f}x" if (x and b) else "-"


print("\n| step (ops/s, median) | " + " | ".join(names.values()) + " | unimail / Dovecot VM | unimail / Dovecot host |")
print("| --- | --- | --- | --- | --- | --- |")
for s in STEPS:
    vals = [res.get(k, {}).get(s) for k in names]
    print(f"| {s} | " + " | ".join("%.1f" % v if v else "-" for v in vals) +
          f" | {ratio(ap.get(s), cl.get(s))} | {ratio(ap.get(s), na.get(s))} |")
tots = [res.get(k, {}).get("total") for k in names]
print("| whole session, s (lower is better) | " + " | ".join("%.2f" % v if v else "-" for v in tots) +
      f" | {ratio(cl.get('total'), ap.get('total'))} | {ratio(na.get('total'), ap.get('total'))} |")
rss = [res.get(k, {}).get("rss") for k in names]
print("| QEMU VmRSS after the load | " + " | ".join(f"{v / 1024:.0f} MiB" if v else "-" for v in rss) + " | | |")
