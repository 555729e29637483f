"""Issue 2: a config disk (ext2, read-only) is read at boot; without one the
embedded default boots; a bad config stops boot naming file and line."""
import os
import re
import subprocess
import tempfile

from vm import ROOT, VM

TOOL = os.path.join(ROOT, "target", "release", "unimail")


def default_conf():
    src = open(os.path.join(ROOT, "mail", "config", "src", "default.rs")).read()
    return re.search(r'DEFAULT_CONFIG: &str = r#"(.*?)"#', src, re.S).group(1)


def config_disk(d, text):
    cdir = os.path.join(d, "cfg")
    os.makedirs(cdir, exist_ok=True)
    with open(os.path.join(cdir, "unimail.conf"), "w") as f:
        f.write(text)
    img = os.path.join(d, "config.img")
    subprocess.run([TOOL, "config-disk", "--dir", cdir, "--out", img], check=True, capture_output=True)
    return img


def test_embedded_default():
    with VM("microvm", "ip=10.0.2.15/24", net="user") as vm:
        vm.wait_ready()
        assert "config: embedded default" in vm.log()
        assert "hostname mail.example.test" in vm.log()


def test_config_disk_is_read():
    text = default_conf().replace("mail.example.test", "mx.config-disk.test")
    with tempfile.TemporaryDirectory() as d:
        img = config_disk(d, text)
        with VM("q35", "ip=10.0.2.15/24", net="user", disks=[(img, "config", True)]) as vm:
            vm.wait_ready()
            assert "config: config disk" in vm.log()
            assert "hostname mx.config-disk.test" in vm.log()


def test_bad_config_stops_boot_with_file_and_line():
    lines = default_conf().split("\n")
    # An unknown key on a known line number.
    idx = next(i for i, l in enumerate(lines) if l.strip().startswith("hostname"))
    lines.insert(idx + 1, "frobnicate = yes")
    with tempfile.TemporaryDirectory() as d:
        img = config_disk(d, "\n".join(lines))
        with VM("q35", "ip=10.0.2.15/24", net="user", disks=[(img, "config", True)]) as vm:
            vm.wait_for(r"^fatal: unimail.conf:\d+:")
            assert vm.wait_exit() != 0
            assert f"fatal: unimail.conf:{idx + 2}:" in vm.log(), vm.log()
            assert "frobnicate" in vm.log()


def test_init_config_boots_and_a_broken_one_fails_as_check_says():
    """Issue 9: `unimail init` output boots; the same config broken gives the
    image's boot the very message `unimail check` prints."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "conf")
        subprocess.run([TOOL, "init", "--domain", "init.test", "--hostname", "mx.init.test", "--out", out,
                        "--user", "ann"], input="a long passphrase\na long passphrase\n", check=True,
                       capture_output=True, text=True)
        r = subprocess.run([TOOL, "check", out], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        img = os.path.join(d, "good.img")
        subprocess.run([TOOL, "config-disk", "--dir", out, "--out", img], check=True, capture_output=True)
        from smtp_util import mail_disk
        mimg = mail_disk(d)
        with VM("q35", "ip=10.0.2.15/24", net="user", disks=[(img, "config", True), (mimg, "mail", False)]) as vm:
            ready = vm.wait_ready()
            assert "smtp=10.0.2.15:25" in ready and "hostname mx.init.test" in vm.log()
        # Break it: a bad CIDR and an unknown key.
        conf = os.path.join(out, "unimail.conf")
        text = open(conf).read()
        assert "allow = 17.0.0.0/8" in text
        text = text.replace("allow = 17.0.0.0/8", "allow = 17.0.0.1/8")
        open(conf, "w").write(text + "\n[limits]\nmesage_size = 10M\n")
        r = subprocess.run([TOOL, "check", out], capture_output=True, text=True)
        assert r.returncode == 1
        problems = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("unimail.conf:")]
        assert len(problems) == 2, r.stdout + r.stderr
        img = os.path.join(d, "bad.img")
        subprocess.run([TOOL, "config-disk", "--dir", out, "--out", img], check=True, capture_output=True)
        with VM("q35", "ip=10.0.2.15/24", net="user", disks=[(img, "config", True)]) as vm:
            assert vm.wait_exit() != 0
            log = vm.log()
        for p in problems:
            assert f"fatal: {p}" in log, (p, log[-2000:])
