#!/bin/sh
# Reference tools the image tool's tests compare against (tests/config_cmds.rs):
# dkimpy signs/verifies with the DKIM records `unimail dns` prints, pyspf
# evaluates its SPF records, named-checkzone (bind9-utils) parses its zone lines.
set -e
python3 -c 'import dkim' 2>/dev/null || pip install dkimpy
python3 -c 'import spf' 2>/dev/null || pip install pyspf dnspython
command -v named-checkzone >/dev/null || {
    apt-get install -y bind9-utils || { apt-get update && apt-get install -y bind9-utils; }
}
# tests/authn_cmds.rs: dkimpy verifies `unimail dkim-sign` output (Ed25519
# needs PyNaCl); openssl generates the RSA and Ed25519 keys.
python3 -c 'import dkim, nacl' 2>/dev/null || pip install dkimpy pynacl || {
    apt-get install -y python3-dkim python3-nacl || { apt-get update && apt-get install -y python3-dkim python3-nacl; }
}
command -v openssl >/dev/null || apt-get install -y openssl || { apt-get update && apt-get install -y openssl; }
# tests/ops_cmds.rs: dnsmasq serves the records `dns --verify` checks and
# the PTR names `dmarc-report --resolver` looks up.
command -v dnsmasq >/dev/null || apt-get install -y dnsmasq-base || { apt-get update && apt-get install -y dnsmasq-base; }
