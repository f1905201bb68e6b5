#!/usr/bin/env bash
# Reproducible end-to-end benchmark of `depdash check`: synthetic environments (default 200 and
# 10,000 distributions), a loopback PyPI + OSV server with fixed latency per request, then a cold
# run (empty cache) and a warm run (everything cached) of the whole process. Prints a Markdown
# table: wall time, peak RSS, HTTP requests, cache hit rate, exit code.
#
#   scripts/bench.sh                       # 200 and 10000 packages, 50 ms latency
#   SIZES="180" LATENCY_MS=50 scripts/bench.sh
#   ENV_DIR=/path/to/site-packages scripts/bench.sh   # a real environment instead
set -euo pipefail
cd "$(dirname "$0")/.."

LATENCY_MS=${LATENCY_MS:-50}
SIZES=${SIZES:-"200 10000"}
CONCURRENCY=${CONCURRENCY:-32}
command -v jq >/dev/null || { echo "bench: needs jq (apt-get install -y jq)" >&2; exit 2; }

cargo build --release --quiet --bin depdash --example loopback_registry
BIN=target/release/depdash
SERVER=target/release/examples/loopback_registry
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

now_ms() { date +%s%3N; }

printf '| packages | run | wall ms | peak RSS MiB | HTTP requests | KiB read (decoded) | cache hit rate | exit |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|\n'
run_case() {
  local label=$1 env=$2 cache=$3 url=$4 extra=$5
  local start end code=0
  start=$(now_ms)
  /usr/bin/time -f '%M' -o "$work/rss" "$BIN" check "$env" --pypi-url "$url" --osv-url "$url" \
    --cache-dir "$cache" --no-history --concurrency "$CONCURRENCY" --progress never \
    --format json -o "$work/report.json" $extra 2>"$work/stderr" || code=$?
  end=$(now_ms)
  local packages requests hit rss
  packages=$(jq '.summary.packages' "$work/report.json")
  requests=$(jq '.metrics.network.requests // 0' "$work/report.json")
  kib=$(jq '(.metrics.network.bytes // 0) / 1024 | floor' "$work/report.json")
  hit=$(jq '.metrics.cache.hit_rate * 100 | floor' "$work/report.json")
  rss=$(tail -n1 "$work/rss" | awk '{printf "%.1f", $1/1024}')
  printf '| %s | %s | %s | %s | %s | %s | %s%% | %s |\n' "$packages" "$label" "$((end - start))" "$rss" "$requests" "$kib" "$hit" "$code"
}

for n in $SIZES; do
  if [ -n "${ENV_DIR:-}" ]; then env=$ENV_DIR; else
    env="$work/env-$n"; "$BIN" synth-env "$env" --count "$n" --seed 42 2>/dev/null
  fi
  "$SERVER" "$env" --latency-ms "$LATENCY_MS" --gzip >"$work/url" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
  url=$(head -n1 "$work/url")
  cache="$work/cache-$n"
  run_case cold "$env" "$cache" "$url" ""
  run_case warm "$env" "$cache" "$url" ""
  run_case "warm, no vuln/registry" "$env" "$cache" "$url" "--no-vulnerabilities --no-registry"
  kill -INT "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""
  echo "server ($n): $(tail -n1 "$work/server.log")" >&2
  [ -n "${ENV_DIR:-}" ] && break
done
echo
echo "latency ${LATENCY_MS} ms per request, concurrency ${CONCURRENCY}, $(nproc) cores; wall = whole process"
