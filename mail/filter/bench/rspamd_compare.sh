#!/bin/sh
# Bayes against rspamd on the same corpus (figures for docs/BENCHMARKS.md,
# no asserts). Generates the corpus of mail/bayes (gen_corpus example), runs
# our filter over it (filter_bench example: learn the first 66% of each
# class, check the rest), then a standalone rspamd (Debian package, Bayes on
# sqlite3, only the Bayes symbols enabled per request) learns and checks the
# same split. Prints both classifiers' precision/recall, throughput, and how
# often they agree.
#
# Usage: mail/filter/bench/rspamd_compare.sh [PER_CLASS]   (default 600)
# Env:   RSPAMD_PORT_BASE (default 21332: proxy, +1 normal, +2 controller)
set -eu
N=${1:-600}
BASE=${RSPAMD_PORT_BASE:-21332}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
T=$(mktemp -d /tmp/unimail-rspamd.XXXXXX)
RSPAMD_PID=
cleanup() {
    if [ -n "$RSPAMD_PID" ]; then
        kill "$RSPAMD_PID" 2>/dev/null || true
        wait "$RSPAMD_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

if ! command -v rspamd >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show rspamd >/dev/null 2>&1 || apt-get update -q
    apt-get install -y -q --no-install-recommends rspamd >/dev/null
fi

cd "$ROOT"
cargo run -q --release -p mail-bayes --example gen_corpus -- "$T/corpus" "$N"
cargo run -q --release -p mail-filter --example filter_bench -- \
    --spam "$T/corpus/spam" --ham "$T/corpus/ham" --per-message >"$T/ours.txt"
grep -v '^/' "$T/ours.txt" | sed -n '1,3p'

# A private rspamd: Debian's config, our local/override files, own ports and
# directories, sqlite3 Bayes, every message learned (no learn condition).
mkdir -p "$T/local/override.d" "$T/db" "$T/run" "$T/log"
O="$T/local/override.d"
echo "bind_socket = \"127.0.0.1:$BASE\";" >"$O/worker-proxy.inc"
echo "bind_socket = \"127.0.0.1:$((BASE + 1))\";" >"$O/worker-normal.inc"
printf 'bind_socket = "127.0.0.1:%s";\npassword = "";\nsecure_ip = "127.0.0.1";\n' "$((BASE + 2))" >"$O/worker-controller.inc"
echo 'level = "warning";' >"$O/logging.inc"
cat >"$O/classifier-bayes.conf" <<CONF
backend = "sqlite3";
min_learns = 200;
statfile { symbol = "BAYES_HAM"; path = "$T/db/bayes.ham.sqlite"; spam = false; }
statfile { symbol = "BAYES_SPAM"; path = "$T/db/bayes.spam.sqlite"; spam = true; }
cache { path = "$T/db/learn_cache.sqlite"; }
learn_condition = 'return function(task, is_spam, is_unlearn) return true end';
CONF
rspamd -f -u root -g root -i -c /etc/rspamd/rspamd.conf --var=LOCAL_CONFDIR="$T/local" \
    --var=DBDIR="$T/db" --var=RUNDIR="$T/run" --var=LOGDIR="$T/log" >"$T/rspamd.out" 2>&1 &
RSPAMD_PID=$!
i=0
until rspamc -h "127.0.0.1:$((BASE + 2))" stat >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 180 ] || ! kill -0 "$RSPAMD_PID" 2>/dev/null; then
        echo "rspamd did not start:" >&2
        tail -20 "$T/rspamd.out" "$T/log/rspamd.log" >&2 || true
        exit 1
    fi
    sleep 1
done

python3 - "$T" "$BASE" <<'PY'
import json, os, subprocess, sys, time
t, base = sys.argv[1], int(sys.argv[2])
ctl, normal = f"127.0.0.1:{base + 2}", f"127.0.0.1:{base + 1}"
split = {}
for cls in ("spam", "ham"):
    files = sorted(os.path.join(t, "corpus", cls, f) for f in os.listdir(os.path.join(t, "corpus", cls)))
    n = int(len(files) * 0.66)  # the same split as filter_bench
    split[cls] = (files[:n], files[n:])
t0 = time.time()
for cls in ("spam", "ham"):
    train = split[cls][0]
    for i in range(0, len(train), 200):
        subprocess.run(["rspamc", "-h", ctl, f"learn_{cls}", *train[i:i + 200]], check=True, stdout=subprocess.DEVNULL)
learn_s = time.time() - t0
test = [(f, cls) for cls in ("spam", "ham") for f in split[cls][1]]
settings = 'Settings: {symbols_enabled = ["BAYES_SPAM", "BAYES_HAM"]}'
t0 = time.time()
out = ""
for i in range(0, len(test), 200):
    chunk = [f for f, _ in test[i:i + 200]]
    out += subprocess.run(["rspamc", "-h", normal, "-j", "--header", settings, "symbols", *chunk],
                          check=True, capture_output=True, text=True).stdout
check_s = time.time() - t0
dec, pos, theirs = json.JSONDecoder(), 0, {}
while True:
    while pos < len(out) and out[pos].isspace():
        pos += 1
    if pos >= len(out):
        break
    obj, pos = dec.raw_decode(out, pos)
    syms = obj.get("symbols", {})
    if "BAYES_SPAM" in syms:
        theirs[obj["filename"]] = "spam"
    elif "BAYES_HAM" in syms:
        theirs[obj["filename"]] = "ham"
    else:
        theirs[obj["filename"]] = None
ours = {}
for line in open(os.path.join(t, "ours.txt")):
    if line.startswith("/"):
        path, cls, prob, action, score = line.split()
        ours[path] = None if prob == "-" else ("spam" if float(prob) > 0.5 else "ham")
def pr(verdicts):
    tp = sum(1 for f, c in test if c == "spam" and verdicts.get(f) == "spam")
    fp = sum(1 for f, c in test if c == "ham" and verdicts.get(f) == "spam")
    fn = sum(1 for f, c in test if c == "spam" and verdicts.get(f) != "spam")
    nv = sum(1 for f, _ in test if verdicts.get(f) is None)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), nv
for name, v in (("unimail", ours), ("rspamd", theirs)):
    p, r, nv = pr(v)
    print(f"{name:8} precision {p:.4f} recall {r:.4f} no-vote {nv} (of {len(test)})")
both = [f for f, _ in test if ours.get(f) and theirs.get(f)]
agree = sum(1 for f in both if ours[f] == theirs[f])
print(f"agreement where both voted: {agree}/{len(both)} = {agree / max(len(both), 1):.4f}")
print(f"rspamd: learned {sum(len(s[0]) for s in split.values())} in {learn_s:.2f} s; "
      f"checked {len(test)} in {check_s:.2f} s = {len(test) / check_s:.0f} msg/s (rspamc, Bayes only)")
PY
