"""Issue 2: the guest answers ARP/NDP and ping on exactly its configured
IPv4 and IPv6 addresses and serves TCP on both, over a tap device in a
network namespace the test creates."""
import pytest

from conftest import in_ns
from vm import VM

GUEST = "ip=192.0.2.10/24 gw=192.0.2.1 ip6=2001:db8::10/64 gw6=2001:db8::1 diag=echo"

ECHO = r"""
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(20)
s.connect((sys.argv[1], 7))
for i in range(3):
    m = b'ping %d over %s\r\n' % (i, sys.argv[1].encode())
    s.sendall(m)
    got = b''
    while len(got) < len(m):
        got += s.recv(1000)
    assert got == m, got
print('echo ok')
"""


@pytest.mark.parametrize("machine", ["q35", "microvm"])
def test_ping_and_tcp_v4_v6(netns, machine):
    with VM(machine, GUEST, net="tap:tap0", netns=netns) as vm:
        ready = vm.wait_ready()
        assert "echo=192.0.2.10:7" in ready and "echo=[2001:db8::10]:7" in ready
        for addr in ["192.0.2.10", "2001:db8::10"]:
            r = in_ns(netns, "ping", "-c", "3", "-i", "0.2", "-W", "5", addr)
            assert r.returncode == 0, r.stdout + r.stderr
            r = in_ns(netns, "python3", "-c", ECHO, addr)
            assert r.returncode == 0 and "echo ok" in r.stdout, r.stdout + r.stderr
        # Nothing answers on an address the guest was not given.
        r = in_ns(netns, "ping", "-c", "1", "-W", "1", "192.0.2.11")
        assert r.returncode != 0
