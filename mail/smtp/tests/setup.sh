#!/bin/sh
# Tools the mail-smtp host tests use: python3 (smtplib is in its standard
# library), swaks (a pipelining SMTP client) and the aiosmtpd server
# (PyPI) for tests/interop.rs.
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
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip install aiosmtpd \
        || python3 -m pip install --break-system-packages aiosmtpd \
        || { apt-get update && apt-get install -y --no-install-recommends python3-aiosmtpd; }
fi
python3 -c 'import aiosmtpd; print("aiosmtpd", aiosmtpd.__version__)'
