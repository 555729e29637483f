#!/bin/sh
# Installs the independent reference implementations the mail-authn tests
# compare against, and fetches the pyspf RFC 7208 test suite (not kept in the
# repo) into the cache directory.
#   - pyspf sdist (PyPI) -> rfc7208-tests.yml, converted to JSON
#   - dkimpy + PyNaCl + authres (PyPI) for DKIM and ARC interop
#   - pysrs (PyPI package "pysrs", module SRS) for the SRS format check
#   - Debian postsrsd (1.x daemon, TCP lookup tables) for the SRS interop test
#   - Debian publicsuffix (build input of src/dmarc/psl_data.rs regeneration)
set -e
CACHE="${AUTHN_CACHE:-/work/.cache/mail-authn}"
mkdir -p "$CACHE"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import yaml' >/dev/null 2>&1; then
    "$PY" -m pip install -q pyyaml
fi
if ! "$PY" -c 'import dkim, nacl, authres' >/dev/null 2>&1; then
    "$PY" -m pip install -q dkimpy pynacl authres
fi
if ! "$PY" -c 'import SRS' >/dev/null 2>&1; then
    "$PY" -m pip install -q pysrs
fi

if [ ! -s "$CACHE/rfc7208-tests.json" ]; then
    tmp=$(mktemp -d)
    "$PY" -m pip download -q --no-deps --no-binary :all: pyspf -d "$tmp"
    tarball=$(ls "$tmp"/pyspf-*.tar.gz | head -n1)
    yml=$(tar -tzf "$tarball" | grep 'rfc7208-tests.yml$' | head -n1)
    tar -xzf "$tarball" -C "$tmp" "$yml"
    "$PY" - "$tmp/$yml" "$CACHE/rfc7208-tests.json" <<'PYEOF'
import sys, json, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
json.dump(docs, open(sys.argv[2], "w"), default=str)
PYEOF
    rm -rf "$tmp"
fi

if ! command -v postsrsd >/dev/null 2>&1 && [ ! -x /usr/sbin/postsrsd ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show postsrsd >/dev/null 2>&1 || apt-get update
    apt-get install -y --no-install-recommends postsrsd
fi

if [ ! -s /usr/share/publicsuffix/public_suffix_list.dat ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show publicsuffix >/dev/null 2>&1 || apt-get update
    apt-get install -y --no-install-recommends publicsuffix
fi
echo "setup.sh: ok ($CACHE)"
