#!/bin/sh
# Tools the mail-screen host tests compare against: postgrey (Debian; the
# greylist differential test, tests/postgrey.rs), postfix + dnsmasq
# (Debian; the postscreen differential test, tests/postscreen.rs, which
# also needs root for unshare), python3 (its standard
# library's ipaddress module gives the reverse-DNS names RFC 5782 builds
# on) and prometheus_client (PyPI; its text-format parser reads our
# metrics) for tests/reference.rs.
set -e
need=""
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -x /usr/sbin/postgrey ] || need="$need postgrey"
[ -x /usr/lib/postfix/sbin/postscreen ] || need="$need postfix"
[ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v script >/dev/null 2>&1 || need="$need bsdutils"
if [ -n "$need" ]; then
    # Postfix is only run by the test, in its own namespace.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi
python3 --version
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install prometheus-client \
        || python3 -m pip install --break-system-packages prometheus-client \
        || { apt-get update && apt-get install -y --no-install-recommends python3-prometheus-client; }
fi
python3 -c 'import prometheus_client.parser; print("prometheus_client ok")'
