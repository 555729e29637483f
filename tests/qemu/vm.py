"""Boot the unimail image under QEMU and talk to its console.

Every test goes through `VM`: it builds the QEMU command line the same way
scripts/run does (PVH `-kernel`, `-no-reboot`, isa-debug-exit for fatal exit
codes, virtio-rng, TCG since this machine's /dev/kvm is unusable), captures
the serial console to a file and lets tests wait for lines such as `ready:`.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL = os.environ.get(
    "UNIMAIL_KERNEL",
    os.path.join(ROOT, "target", "x86_64-unknown-none", "release", "unimail-kernel"),
)
ACCEL = os.environ.get("UNIMAIL_ACCEL", "tcg")
QEMU = shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"


def machine_args(machine):
    if machine == "microvm":
        return ["-machine", "microvm,acpi=off", "-global", "virtio-mmio.force-legacy=false"], "device"
    return ["-machine", "q35"], "pci"


class VM:
    def __init__(self, machine="q35", cmdline="", net=None, disks=(), mem="128M",
                 netns=None, extra=(), kernel=None):
        self.machine = machine
        margs, bus = machine_args(machine)
        self.tmp = tempfile.mkdtemp(prefix="unimail-vm-")
        self.console = os.path.join(self.tmp, "console.log")
        args = [QEMU, *margs, "-accel", ACCEL, "-cpu", "max", "-m", mem,
                "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                "-serial", f"file:{self.console}", "-monitor", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", kernel or KERNEL, "-append", cmdline]
        args += ["-device", f"virtio-rng-{bus}"]
        if net == "user" or (isinstance(net, str) and net.startswith("user,")):
            opts = net[len("user,"):] if "," in net else ""
            args += ["-netdev", "user,id=n0" + ("," + opts if opts else ""),
                     "-device", f"virtio-net-{bus},netdev=n0" + (",romfile=" if bus == "pci" else "")]
        elif isinstance(net, str) and net.startswith("tap:"):
            ifname = net[4:]
            args += ["-netdev", f"tap,id=n0,ifname={ifname},script=no,downscript=no",
                     "-device", f"virtio-net-{bus},netdev=n0" + (",romfile=" if bus == "pci" else "")]
        for i, d in enumerate(disks):
            path, serial, ro = d
            args += ["-drive", f"if=none,id=d{i},file={path},format=raw,cache=writeback" + (",readonly=on" if ro else ""),
                     "-device", f"virtio-blk-{bus},drive=d{i},serial={serial}"]
        args += list(extra)
        if netns:
            args = ["ip", "netns", "exec", netns] + args
        self.args = args
        self.proc = None

    def start(self):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def log(self):
        try:
            with open(self.console, "rb") as f:
                return f.read().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern, timeout=60):
        """Waits for a console line matching `pattern`; returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Only complete lines: the console is written byte by byte.
            text = self.log()
            m = rx.search(text[:text.rfind("\n") + 1])
            if m:
                return m
            if self.proc.poll() is not None:
                m = rx.search(self.log())
                if m:
                    return m
                raise AssertionError(f"QEMU exited ({self.proc.returncode}) before /{pattern}/:\n"
                                     + self.log()[-4000:] + self.qemu_output())
            time.sleep(0.02)
        raise AssertionError(f"timeout waiting for /{pattern}/:\n" + self.log()[-4000:])

    def qemu_output(self):
        if self.proc and self.proc.poll() is not None and self.proc.stdout:
            return self.proc.stdout.read().decode("utf-8", "replace")
        return ""

    def wait_ready(self, timeout=60):
        return self.wait_for(r"^ready:.*$", timeout).group(0)

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("QEMU did not exit:\n" + self.log()[-4000:])

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
