"""Issue 2: the guest resolves A/AAAA/MX/TXT/PTR/TLSA records served by a
real DNS server (dnsmasq) in the test's network namespace, including a TXT
answer too big for UDP (TCP fallback) and a name that does not exist."""
import re
import subprocess
import time

from vm import VM

BIG = ",".join(["x" * 200] * 4)  # 4 strings, ~800 bytes: truncated over UDP


def dnsmasq(ns):
    args = ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
            "--conf-file=/dev/null", "--bind-interfaces", "--listen-address=192.0.2.1",
            "--listen-address=2001:db8::1", "--port=53", "--user=root", "--pid-file=",
            "--local=/example.test/", "--local=/2.0.192.in-addr.arpa/",
            "--edns-packet-max=512",
            "--host-record=mx1.example.test,192.0.2.25,2001:db8::25",
            "--mx-host=example.test,mx1.example.test,10",
            "--mx-host=example.test,mx2.example.test,20",
            "--txt-record=example.test,v=spf1 ip4:192.0.2.10 -all",
            f"--txt-record=big.example.test,{BIG}",
            "--ptr-record=10.2.0.192.in-addr.arpa,mx.example.test",
            "--cname=www.example.test,mx1.example.test",
            # TLSA 3 1 1 <sha256> as raw RR data (type 52)
            "--dns-rr=_25._tcp.mx1.example.test,52,030101" + "ab" * 32]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_resolver_against_dnsmasq(netns):
    d = dnsmasq(netns)
    try:
        time.sleep(0.5)
        assert d.poll() is None, d.stdout.read()
        queries = ["MX:example.test", "TXT:example.test", "A:mx1.example.test", "AAAA:mx1.example.test",
                   "PTR:10.2.0.192.in-addr.arpa", "TLSA:_25._tcp.mx1.example.test", "TXT:big.example.test",
                   "A:nonexistent.example.test", "A:www.example.test"]
        cmd = ("ip=192.0.2.10/24 gw=192.0.2.1 ip6=2001:db8::10/64 dns=192.0.2.1 diag.resolve=" + ",".join(queries))
        with VM("q35", cmd, net="tap:tap0", netns=netns) as vm:
            vm.wait_ready()
            vm.wait_for(r"diag: resolve A www.example.test:", timeout=60)
            for q in queries:
                t, n = q.split(":")
                vm.wait_for(rf"diag: resolve {t} {re.escape(n)}:", timeout=60)
            log = vm.log()
            line = lambda t, n: re.search(rf"diag: resolve {t} {re.escape(n)}: (.*)", log).group(1)
            mx = line("MX", "example.test")
            assert 'preference: 10, exchange: "mx1.example.test"' in mx and "mx2.example.test" in mx
            assert "v=spf1 ip4:192.0.2.10 -all" in bytes_text(line("TXT", "example.test"))
            assert "A(192.0.2.25)" in line("A", "mx1.example.test")
            assert "Aaaa(2001:db8::25)" in line("AAAA", "mx1.example.test")
            assert 'Ptr("mx.example.test")' in line("PTR", "10.2.0.192.in-addr.arpa")
            tlsa = line("TLSA", "_25._tcp.mx1.example.test")
            assert "usage: 3, selector: 1, matching: 1" in tlsa and "171, 171" in tlsa
            big = line("TXT", "big.example.test")
            assert big.startswith("Records") and big.count("120, 120, 120") > 100  # 'x' bytes arrived
            assert line("A", "nonexistent.example.test") == "NxDomain"
            www = line("A", "www.example.test")
            assert "A(192.0.2.25)" in www and 'canonical: "mx1.example.test"' in www
    finally:
        d.kill()
        d.wait()


def bytes_text(debug):
    """Turns a Debug list of byte vectors back into text."""
    out = []
    for inner in re.findall(r"\[([0-9, ]+)\]", debug):
        out.append(bytes(int(x) for x in inner.split(",") if x.strip()).decode("latin-1"))
    return " ".join(out)
