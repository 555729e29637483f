#!/bin/sh
# Tools the mail-outbound tests use: python3 (its `email` package parses our
# DSNs; aiosmtpd, when present, is a reference SMTP peer).
set -e
command -v python3 >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends python3; }
python3 -c 'import aiosmtpd' 2>/dev/null || {
    apt-get install -y --no-install-recommends python3-aiosmtpd 2>/dev/null || pip install aiosmtpd || pip install --break-system-packages aiosmtpd
}
