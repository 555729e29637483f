#!/bin/sh
# Host tools the selfsigned interop tests use (tests/interop.rs): openssl.
set -e
if ! command -v openssl >/dev/null 2>&1; then
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi
openssl version
