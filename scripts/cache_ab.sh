#!/usr/bin/env bash
# Two builds of depdash, alternately, cold run by cold run (fresh file cache each) on a synthetic
# 180-package environment against the loopback registry over HTTPS (test CA, 50 ms per request):
# whole-process wall time, `cache.drain` (ms the run waited for its cache writes after its last
# answer) and files / distinct inodes left in the cache directory.
#
#   scripts/cache_ab.sh N BIN_A BIN_B            # N pairs
#   python3 scripts/file_churn.py 100 & scripts/cache_ab.sh 6 A B   # during a file churn
set -euo pipefail
cd "$(dirname "$0")/.."
N=$1; A=$2; B=$3
SERVER=target/release/examples/loopback_registry
[ -x "$SERVER" ] || nice -n 10 cargo build --release --quiet --example loopback_registry
work=$(mktemp -d)
"$A" synth-env "$work/env" --count 180 --seed 42 >/dev/null 2>&1
mkdir -p "$work/tls"
"$SERVER" "$work/env" --latency-ms 50 --gzip --tls-dir "$work/tls" >"$work/url" 2>"$work/server.log" &
spid=$!
trap 'kill -INT $spid 2>/dev/null; wait; rm -rf "$work"' EXIT
for _ in $(seq 400); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(head -n1 "$work/url")
run() {
  local bin=$1 label=$2 start wall drain files inodes
  rm -rf "$work/cache"
  start=$(date +%s%3N)
  "$bin" check "$work/env" --pypi-url "$url" --osv-url "$url" --cache-dir "$work/cache" \
    --no-history --cert "$work/tls/ca.pem" --progress never --format json -o "$work/r.json" \
    2>/dev/null || true
  wall=$(( $(date +%s%3N) - start ))
  drain=$(jq -r '.metrics.operations["cache.drain"].total_ms // "—"' "$work/r.json")
  files=$(find "$work/cache" -maxdepth 1 -type f | wc -l)
  inodes=$(find "$work/cache" -maxdepth 1 -type f -printf '%i\n' | sort -u | wc -l)
  printf '%s wall=%sms drain=%sms files=%s inodes=%s\n' "$label" "$wall" "$drain" "$files" "$inodes"
}
for _ in $(seq "$N"); do
  run "$A" A
  run "$B" B
done
