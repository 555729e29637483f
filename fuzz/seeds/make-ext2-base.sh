#!/bin/sh
# Re-creates seeds/ext2-base.img, the valid image the ext2_image target
# patches. The corpus of that target is a list of patches to THIS image:
# regenerate it only together with a new corpus.
set -e
out=$(cd "$(dirname "$0")" && pwd)/ext2-base.img
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cd "$t" && mkdir -p root && cd root
mkdir -p bob/Maildir/cur bob/Maildir/new bob/Maildir/tmp bob/Maildir/.Sent/cur bob/Maildir/.Sent/new \
    bob/Maildir/.Sent/tmp big deep/a/b/c
printf '3 V1700000000 N3\n1 :1700000000.M1R1.mx,S=40:2,S\n2 :1700000001.M2R2.mx,S=41\n' > bob/Maildir/dovecot-uidlist
printf 'Subject: hi\r\n\r\nhello\r\n' > 'bob/Maildir/cur/1700000000.M1R1.mx,S=40:2,S'
printf 'Subject: two\r\n\r\nworld\r\n' > 'bob/Maildir/new/1700000001.M2R2.mx,S=41'
echo Sent > bob/Maildir/subscriptions
# 90 names: a directory of several blocks, indexed (htree) by e2fsck -D below.
for i in $(seq 1 90); do echo $i > big/file-with-a-longish-name-$i; done
# 20 KB: uses the single-indirect block.
head -c 20000 /dev/zero | tr '\0' 'x' > deep/a/b/c/indirect
: > empty
ln -s bob/Maildir fastlink
ln -s "$(printf 'x%.0s' $(seq 1 100))/target" slowlink
ln empty hardlink
cd ..
mke2fs -q -t ext2 -F -b 1024 -N 200 -d root -E root_owner=0:0 -U 01234567-89ab-cdef-0123-456789abcdef \
    -E hash_seed=01234567-89ab-cdef-0123-456789abcdef base.img 320k
e2fsck -fyD base.img >/dev/null || [ $? -eq 1 ]
e2fsck -fn base.img
cp base.img "$out"
