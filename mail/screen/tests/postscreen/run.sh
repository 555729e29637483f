#!/bin/bash
# Runs a real postscreen (Postfix 3.7, Debian) with a dnsmasq serving test
# DNSBL zones, inside a private network and mount namespace, and asks it
# about each client in a scenario file. Called by tests/postscreen.rs as
#   unshare --mount --net bash run.sh <workdir>
# <workdir> holds: dns.conf (dnsmasq records), main.cf.extra (postscreen
# settings), clients (one line per client: address, then "pregreet" or
# "quiet"), v6 (IPv6 addresses to put on lo). Writes <workdir>/results.
set -euo pipefail
work=$1
cd "$work"

ip link set lo up
while read -r a; do [ -n "$a" ] && ip -6 addr add "$a/128" dev lo nodad; done < v6

# Our own resolver for everything in this namespace (postscreen's dnsblog
# uses the system resolver).
echo "nameserver 127.0.0.1" > resolv.conf
mount --bind "$work/resolv.conf" /etc/resolv.conf
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --port=53 \
    --listen-address=127.0.0.1 --bind-interfaces --user=root \
    --conf-file="$work/dns.conf" --pid-file="$work/dnsmasq.pid" --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
# Whatever fails below, stop what this script started.
cleanup() {
    postfix stop >/dev/null 2>&1 || true
    kill "$dnsmasq_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# A private Postfix instance: config, queue and data directories here;
# the config is mounted over /etc/postfix (Postfix refuses other config
# directories unless the default one names them).
mkdir -p conf queue data
chown postfix data
cp -r /etc/postfix/. conf/
rm -f conf/main.cf conf/master.cf
cat > conf/main.cf <<CF
compatibility_level = 3.6
queue_directory = $work/queue
data_directory = $work/data
maillog_file = $work/maillog
maillog_file_prefixes = $work
myhostname = mx.example.org
mydomain = example.org
mydestination =
mynetworks =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = all
inet_protocols = all
smtpd_banner = \$myhostname ESMTP
postscreen_access_list =
postscreen_cache_map = btree:\$data_directory/postscreen_cache
CF
cat main.cf.extra >> conf/main.cf
cat > conf/master.cf <<'CF'
2525      inet  n       -       n       -       1       postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
anvil     unix  -       -       n       -       1       anvil
proxymap  unix  -       -       n       -       -       proxymap
postlog   unix-dgram n  -       n       -       1       postlogd
CF
mount --bind "$work/conf" /etc/postfix
script -eqc "postfix check" /dev/null
script -eqc "postfix start" /dev/null
python3 "$(dirname "$0")/client.py" "$work/clients" "$work/results"
