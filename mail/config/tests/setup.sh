#!/bin/sh
# Installs the independent reference tools the mail-config cross-check tests
# use: mkpasswd (Debian `whois`, libxcrypt) and doveadm (Debian `dovecot-core`).
# Run as root. Safe to run repeatedly.
set -eu
if command -v mkpasswd >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show dovecot-core >/dev/null 2>&1; then
    apt-get update
fi
apt-get install -y --no-install-recommends whois dovecot-core
