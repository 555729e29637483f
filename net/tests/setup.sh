#!/bin/sh
# Tools the net crate's interop tests use (an independent TLS implementation).
set -e
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends openssl
fi
if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then
    apt-get update
    apt-get install -y --no-install-recommends dnsmasq-base
fi
