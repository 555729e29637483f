#!/bin/sh
# Installs the independent reference for tests/clamscan.rs: Debian's ClamAV
# command-line scanner. Safe to run repeatedly.
set -e
if command -v clamscan >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show clamav >/dev/null 2>&1; then
    apt-get update -q
fi
apt-get install -y -q --no-install-recommends clamav
