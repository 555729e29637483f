#!/bin/sh
# Installs what the disk crate's host tests compare against:
#   e2fsprogs     mke2fs, e2fsck, debugfs (the ext2 images)
#   dovecot-core  doveadm (reads and writes the Maildir we share with it)
set -e
need=""
command -v debugfs >/dev/null 2>&1 || [ -x /usr/sbin/debugfs ] || need="$need e2fsprogs"
command -v doveadm >/dev/null 2>&1 || [ -x /usr/bin/doveadm ] || need="$need dovecot-core"
if [ -n "$need" ]; then
    apt-get update
    # Do not start the Dovecot service: the tests run doveadm on their own config.
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi
