#!/bin/sh
# Installs what mail-store's host tests compare against:
#   e2fsprogs     mke2fs, e2fsck, debugfs (the ext2 image)
#   dovecot-core  doveadm (reads and changes the Maildir we write)
set -e
need=""
command -v debugfs >/dev/null 2>&1 || [ -x /usr/sbin/debugfs ] || need="$need e2fsprogs"
command -v doveadm >/dev/null 2>&1 || [ -x /usr/bin/doveadm ] || need="$need dovecot-core"
if [ -n "$need" ]; then
    apt-get update
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi
