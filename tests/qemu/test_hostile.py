"""Issue 10 item 3, short version (scripts/hostile-clients runs the full
campaign): thousands of held connections, slowloris, an oversized DATA, a
1 MB line, a 2 GB IMAP literal, TLS garbage, abandoned handshakes and failed
logins, all at once from one address, while a well-behaved client on
another address sends and reads mail throughout. The image must not panic
or run out of memory; its heap high-water mark is printed."""
import json
import os
import re
import subprocess
import sys
import tempfile

from conftest import in_ns
from smtp_util import mail_disk
from vm import VM

HERE = os.path.dirname(__file__)
GUEST = "ip=192.0.2.10/24 gw=192.0.2.1"


def run_campaign(netns, args, mem="128M", timeout=1800):
    for host in range(2, 9):
        in_ns(netns, "ip", "addr", "add", f"192.0.2.{host}/24", "dev", "tap0")
    with tempfile.TemporaryDirectory() as d:
        img = mail_disk(d, size=256)
        with VM("q35", GUEST, net="tap:tap0", netns=netns, mem=mem, disks=[(img, "mail", False)]) as vm:
            vm.wait_ready(timeout=120)
            r = subprocess.run(["ip", "netns", "exec", netns, sys.executable, os.path.join(HERE, "hostile.py"),
                                "--guest", "192.0.2.10", "--good-src", "192.0.2.2", *args],
                               capture_output=True, text=True, timeout=timeout)
            print(r.stderr[-3000:])
            assert r.returncode == 0, r.stdout + r.stderr
            counts = json.loads(r.stdout.strip().splitlines()[-1])
            log = vm.log()
            assert vm.proc.poll() is None, "the guest stopped:\n" + log[-3000:]
        highs = re.findall(r"heap: (\d+) KiB in use, high-water (\d+) KiB of (\d+) KiB", log)
        counts["heap_high_water_kib"] = int(highs[-1][1]) if highs else None
        counts["heap_size_kib"] = int(highs[-1][2]) if highs else None
        print(json.dumps(counts, sort_keys=True, indent=1))
        assert "fatal:" not in log and "panicked" not in log, log[-3000:]
        return counts, log


def test_hostile_clients_while_good_client_works(netns):
    counts, log = run_campaign(netns, ["--conns", "2000", "--slow", "10", "--big-mb", "30",
                                       "--tls-garbage", "20", "--failed-logins", "40"])
    assert counts.get("good_sent", 0) >= 2
    assert counts.get("good_send_failed", 0) == 0
    assert counts.get("good_read_failed", 0) == 0
    assert counts.get("big_data_reply_552") == 1, counts
    assert counts.get("long_line_reply_500") == 1, counts
    assert counts.get("failed_logins_wrongly_accepted", 0) == 0
    assert counts.get("failed_logins_refused", 0) + sum(v for k, v in counts.items()
                                                        if k.startswith("failed_logins_conn_")) == 40
    assert not any(k.startswith("imap_2gb_literal_OK") for k in counts), counts
    assert counts.get("held_opened", 0) + counts.get("held_refused_or_reset", 0) == 2000, counts
