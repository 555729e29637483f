"""Issue 2: the bootable raw disk built by `unimail disk` (GRUB, multiboot2)
boots under SeaBIOS and OVMF, raw and converted to qcow2, and serves TCP."""
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from vm import KERNEL, QEMU, ROOT, VM, free_port

TOOL = os.path.join(ROOT, "target", "release", "unimail")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


@pytest.mark.parametrize("firmware,fmt", [("bios", "raw"), ("uefi", "raw"), ("bios", "qcow2")])
def test_boot_disk(firmware, fmt):
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "unimail.img")
        out = subprocess.run([TOOL, "disk", "--kernel", KERNEL, "--out", img,
                              "--cmdline", "ip=10.0.2.15/24 gw=10.0.2.2 diag=echo"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert "qemu-img convert" in out.stdout
        if fmt == "qcow2":
            q = os.path.join(d, "unimail.qcow2")
            subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", img, q], check=True)
            img = q
        extra = ["-drive", f"file={img},format={fmt},if=virtio"]
        if firmware == "uefi":
            vars_ = os.path.join(d, "vars.fd")
            shutil.copy(OVMF_VARS, vars_)
            extra += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                      "-drive", f"if=pflash,format=raw,file={vars_}"]
        port = free_port()
        vm = VM("q35", "", net=f"user,hostfwd=tcp:127.0.0.1:{port}-:7", extra=extra, mem="256M")
        vm.args = [a for a in vm.args]
        i = vm.args.index("-kernel")
        del vm.args[i:i + 4]  # no -kernel/-append: the disk boots
        with vm:
            vm.wait_ready(timeout=120)
            log = vm.log()
            assert "booted by multiboot2" in log
            assert "is the boot disk" in log
            with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
                s.sendall(b"from the disk\n")
                assert s.recv(100) == b"from the disk\n"


def test_disk_tool_errors():
    r = subprocess.run([TOOL, "disk", "--kernel", "/nonexistent", "--out", "/tmp/x.img"], capture_output=True, text=True)
    assert r.returncode != 0 and "/nonexistent" in r.stderr
    r = subprocess.run([TOOL, "disk", "--bogus", "1"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown option --bogus" in r.stderr
