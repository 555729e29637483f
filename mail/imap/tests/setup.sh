#!/bin/sh
# Installs what the mail-imap host tests need: python3 (imaplib is part of
# its standard library), isync (mbsync) and dovecot-imapd (differential
# tests; they also use setpriv and timeout from util-linux/coreutils).
# Idempotent.
set -e
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends python3
fi
# mbsync (isync) for tests/tcp_mbsync.rs.
if ! command -v mbsync >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends isync
fi
# Dovecot's imap binary for tests/dovecot_diff.rs (run over a pipe in
# PREAUTH mode; no daemon is started by the test).
if [ ! -x /usr/lib/dovecot/imap ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd
    # The package may start a system-wide Dovecot; the tests do not need
    # it (and it would hold ports 143/993), so stop what we just started.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
        systemctl disable --now dovecot || true
    fi
fi
