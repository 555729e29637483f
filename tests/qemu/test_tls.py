"""Issue 2: a TLS handshake from openssl s_client and Python ssl to the guest
succeeds with the configured certificate, chosen by SNI among two."""
import os
import ssl
import subprocess
import tempfile

import pytest

from test_config import config_disk, default_conf
from vm import VM

CONF_TLS = """
[tls]
cert = tls/default.crt
key = tls/default.key

[tls mail.one.test]
cert = tls/one.crt
key = tls/one.key

[tls mail.two.test]
cert = tls/two.crt
key = tls/two.key
"""


def make_cert(d, name, cn, kind):
    key = os.path.join(d, f"{name}.key")
    crt = os.path.join(d, f"{name}.crt")
    alg = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509", *alg, "-nodes", "-keyout", key, "-out", crt,
                    "-days", "30", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_vm_disk():
    d = tempfile.mkdtemp()
    tlsdir = os.path.join(d, "cfg", "tls")
    os.makedirs(tlsdir)
    make_cert(tlsdir, "default", "mail.example.test", "ec")
    make_cert(tlsdir, "one", "mail.one.test", "rsa")
    make_cert(tlsdir, "two", "mail.two.test", "ec")
    text = default_conf()
    start = text.index("[tls]")
    end = text.index("[dkim")
    text = text[:start] + CONF_TLS.strip() + "\n\n" + text[end:]
    return config_disk(d, text)


def s_client(port_host, sni):
    r = subprocess.run(["openssl", "s_client", "-connect", port_host, "-servername", sni, "-brief"],
                       input="hello tls\n", capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


@pytest.mark.parametrize("machine", ["q35"])
def test_sni_and_echo(netns, tls_vm_disk, machine):
    from conftest import in_ns
    cmd = "ip=192.0.2.10/24 ip6=2001:db8::10/64 diag=tls-echo"
    with VM(machine, cmd, net="tap:tap0", netns=netns, disks=[(tls_vm_disk, "config", True)]) as vm:
        ready = vm.wait_ready()
        assert "tls-echo=192.0.2.10:7443" in ready
        for sni, cn in [("mail.one.test", "mail.one.test"), ("mail.two.test", "mail.two.test"),
                        ("other.test", "mail.example.test")]:
            r = in_ns(netns, "openssl", "s_client", "-connect", "192.0.2.10:7443", "-servername", sni,
                      "-brief", input="hello tls\n", timeout=60)
            out = r.stdout + r.stderr
            assert f"CN = {cn}" in out or f"CN={cn}" in out, out
            assert "CONNECTION ESTABLISHED" in out, out
        # Python's ssl over IPv6, TLS 1.2 and 1.3.
        script = r"""
import socket, ssl, sys
for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
    c.minimum_version = c.maximum_version = v
    with socket.create_connection(('2001:db8::10', 7443), timeout=30) as s:
        with c.wrap_socket(s, server_hostname='mail.two.test') as t:
            t.sendall(b'x' * 5000)
            got = b''
            while len(got) < 5000:
                got += t.recv(65536)
            assert got == b'x' * 5000
            print(t.version(), t.cipher()[0])
"""
        r = in_ns(netns, "python3", "-c", script, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "TLSv1.2" in r.stdout and "TLSv1.3" in r.stdout
        # Garbage instead of a ClientHello: the connection ends, the guest lives.
        r = in_ns(netns, "python3", "-c",
                  "import socket;s=socket.create_connection(('192.0.2.10',7443),timeout=10);"
                  "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'*10);print(s.recv(100))", timeout=30)
        r = in_ns(netns, "python3", "-c", script, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
