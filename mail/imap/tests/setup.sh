#!/bin/sh
# Installs what the mail-imap host tests need: python3 (imaplib is part of
# its standard library). Idempotent.
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
fi
