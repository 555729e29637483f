#!/bin/sh
# Tools the mail-smtp host tests use: python3 (smtplib is in its standard
# library) for tests/interop.rs.
set -e
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends python3
fi
python3 --version
