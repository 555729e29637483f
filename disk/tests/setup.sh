#!/bin/sh
# Installs what the disk crate's host tests compare against: e2fsprogs
# (mke2fs, e2fsck, debugfs).
set -e
if ! command -v debugfs >/dev/null 2>&1 && ! [ -x /usr/sbin/debugfs ]; then
    apt-get update
    apt-get install -y --no-install-recommends e2fsprogs
fi
