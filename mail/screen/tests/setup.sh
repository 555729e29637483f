#!/bin/sh
# Tools the mail-screen host tests compare against: postgrey (Debian; the
# greylist differential test, tests/postgrey.rs), python3 (its standard
# library's ipaddress module gives the reverse-DNS names RFC 5782 builds
# on) and prometheus_client (PyPI; its text-format parser reads our
# metrics) for tests/reference.rs.
set -e
need=""
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -x /usr/sbin/postgrey ] || need="$need postgrey"
if [ -n "$need" ]; then
    apt-get update
    apt-get install -y --no-install-recommends $need
fi
python3 --version
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install prometheus-client \
        || python3 -m pip install --break-system-packages prometheus-client \
        || { apt-get update && apt-get install -y --no-install-recommends python3-prometheus-client; }
fi
python3 -c 'import prometheus_client.parser; print("prometheus_client ok")'
