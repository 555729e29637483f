#!/bin/sh
# Tools the mail-smtp host tests use: python3 (smtplib is in its standard
# library) and swaks (a pipelining SMTP client) for tests/interop.rs.
set -e
need=""
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v swaks >/dev/null 2>&1 || need="$need swaks"
if [ -n "$need" ]; then
    apt-get update
    apt-get install -y --no-install-recommends $need
fi
python3 --version
swaks --version
