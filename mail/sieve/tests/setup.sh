#!/bin/sh
# Installs Pigeonhole's sieve-test (Debian package dovecot-sieve) for the
# differential test in tests/differential.rs, and sieve-connect (a real
# ManageSieve client) for tests/sieve_connect.rs.
set -e
if command -v sieve-test >/dev/null 2>&1 && command -v sieve-connect >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show dovecot-sieve >/dev/null 2>&1; then
    apt-get update
fi
apt-get install -y --no-install-recommends dovecot-sieve dovecot-core sieve-connect
command -v sieve-test && command -v sieve-connect
