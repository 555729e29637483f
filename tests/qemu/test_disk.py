"""Issue 2: the image writes files into an ext2 mail disk made on the host,
powers off cleanly, the host reads them back with debugfs (same bytes),
e2fsck -fn stays clean, and a second boot reads them back."""
import os
import re
import subprocess
import tempfile

import pytest

from vm import VM


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def debugfs(img, cmd):
    return subprocess.run(["debugfs", "-R", cmd, img], check=True, capture_output=True).stdout


@pytest.mark.parametrize("machine,block", [("q35", 4096), ("microvm", 1024)])
def test_disk_roundtrip(machine, block):
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "mail.img")
        sh("mke2fs", "-q", "-t", "ext2", "-b", str(block), "-F", img, "64M")
        host = os.path.join(d, "host.txt")
        with open(host, "w") as f:
            f.write("written by the host\n")
        sh("debugfs", "-w", "-R", f"write {host} host.txt", img)

        cmd = "ip=10.0.2.15/24 diag=disk-write,disk-read,poweroff"
        with VM(machine, cmd, net="user", disks=[(img, "mail", False)]) as vm:
            vm.wait_for(r"diag: disk-write wrote")
            assert vm.wait_exit() == 0, vm.log()
            log = vm.log()
            boot = re.search(r"boot ([0-9a-f]{16})", log).group(1)
            assert "diag: disk-read /host.txt: written by the host" in log

        # The host sees exactly the bytes the guest wrote.
        assert debugfs(img, "cat /diag/hello.txt") == f"hello from unimail, boot {boot}\n".encode()
        assert debugfs(img, "cat /diag/renamed.txt") == b"renamed\n"
        assert debugfs(img, "cat /diag/pattern.bin") == bytes(i % 251 for i in range(300_000))
        ls = debugfs(img, "ls -p /diag/many").decode()
        assert ls.count("/f0") == 2000
        assert debugfs(img, "cat /diag/many/f01999") == b"/diag/many/f01999"
        assert b"tmp-renamed" not in debugfs(img, "ls /diag")
        fsck = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr

        # A second boot reads back what the first wrote.
        with VM(machine, "ip=10.0.2.15/24 diag=disk-read,poweroff", net="user",
                disks=[(img, "mail", False)]) as vm:
            assert vm.wait_exit() == 0
            log = vm.log()
            assert f"diag: disk-read /diag/hello.txt: hello from unimail, boot {boot}" in log
            assert "diag: disk-read /diag/many has 2000 entries" in log


def test_unformatted_mail_disk_is_fatal():
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "mail.img")
        with open(img, "wb") as f:
            f.truncate(16 << 20)
        with VM("q35", "ip=10.0.2.15/24", net="user", disks=[(img, "mail", False)]) as vm:
            m = vm.wait_for(r"^fatal: .*$")
            assert "mail disk" in m.group(0)
            assert vm.wait_exit() != 0
