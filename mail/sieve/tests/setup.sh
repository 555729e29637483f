#!/bin/sh
# Installs Pigeonhole's sieve-test (Debian package dovecot-sieve) for the
# differential test in tests/differential.rs.
set -e
if command -v sieve-test >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show dovecot-sieve >/dev/null 2>&1; then
    apt-get update
fi
apt-get install -y --no-install-recommends dovecot-sieve dovecot-core
command -v sieve-test
