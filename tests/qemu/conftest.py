import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import subprocess
import uuid

import pytest


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@pytest.fixture
def netns():
    """A network namespace with a tap device `tap0` holding 192.0.2.1/24 and
    2001:db8::1/64 (documentation prefixes, only inside the namespace). The
    guest gets .10 / ::10. Removed afterwards."""
    name = "um" + uuid.uuid4().hex[:8]
    _ip("netns", "add", name)
    try:
        ex = ["netns", "exec", name, "ip"]
        _ip(*ex, "link", "set", "lo", "up")
        _ip(*ex, "tuntap", "add", "dev", "tap0", "mode", "tap")
        _ip(*ex, "addr", "add", "192.0.2.1/24", "dev", "tap0")
        _ip(*ex, "-6", "addr", "add", "2001:db8::1/64", "dev", "tap0", "nodad")
        _ip(*ex, "link", "set", "tap0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "pids", name], capture_output=True)
        for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
            subprocess.run(["kill", "-9", pid])
        _ip("netns", "del", name, check=False)


def in_ns(ns, *args, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *args], capture_output=True, text=True, **kw)
