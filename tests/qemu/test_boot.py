"""Issue 2: the image boots on microvm and q35, logs its parsed command
line, refuses a bad value clearly, and serves TCP through user networking."""
import socket

import pytest

from vm import VM, free_port

CMD = "ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3 hostname=mx.example.test diag=echo"


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_boots_and_echoes(machine):
    port = free_port()
    with VM(machine, CMD, net=f"user,hostfwd=tcp:127.0.0.1:{port}-:7") as vm:
        ready = vm.wait_ready()
        assert "echo=10.0.2.15:7" in ready
        log = vm.log()
        assert "command line: ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3 hostname=mx.example.test log=info" in log
        assert "entropy:" in log
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            for i in range(5):
                msg = b"line %d\r\n" % i
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(100)
                assert got == msg


@pytest.mark.parametrize("bad,problem", [
    ("ip=192.0.2.300/24", "not an IPv4 address"),
    ("ip=192.0.2.10/40", "prefix length too large"),
    ("ip6=2001:db8::zz/64", "not an IPv6 address"),
    ("log=loud", "expected error, warn, info, debug or trace"),
])
def test_bad_command_line_is_fatal(bad, problem):
    with VM("microvm", bad, net="user") as vm:
        m = vm.wait_for(r"^fatal: .*$")
        assert f"`{bad}`" in m.group(0) and problem in m.group(0)
        assert vm.wait_exit() != 0


def test_no_address_is_fatal():
    with VM("microvm", "log=info", net="user") as vm:
        m = vm.wait_for(r"^fatal: .*$")
        assert "no address configured" in m.group(0)
        assert vm.wait_exit() != 0


def test_no_nic_is_fatal():
    with VM("q35", "ip=10.0.2.15/24") as vm:
        m = vm.wait_for(r"^fatal: .*$")
        assert "no virtio-net device" in m.group(0)
        assert vm.wait_exit() != 0


def test_panic_logs_and_exits_nonzero():
    with VM("microvm", "ip=10.0.2.15/24 diag=panic", net="user") as vm:
        m = vm.wait_for(r"^fatal: panic at .*$")
        assert "diag=panic asked for a panic" in m.group(0) and "main.rs" in m.group(0)
        assert vm.wait_exit() != 0


def test_many_concurrent_connections():
    """60 clients connected at once (more than the listen backlog), all
    served; then the same again."""
    port = free_port()
    with VM("q35", CMD, net=f"user,hostfwd=tcp:127.0.0.1:{port}-:7") as vm:
        vm.wait_ready()
        for round_ in range(2):
            socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(60)]
            for i, s in enumerate(socks):
                s.sendall(b"client %d round %d\r\n" % (i, round_))
            for i, s in enumerate(socks):
                want = b"client %d round %d\r\n" % (i, round_)
                got = b""
                while len(got) < len(want):
                    chunk = s.recv(100)
                    assert chunk, f"connection {i} closed early"
                    got += chunk
                assert got == want
            for s in socks:
                s.close()
