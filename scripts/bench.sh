#!/usr/bin/env bash
# Reproducible end-to-end benchmark of `depdash check`: synthetic environments (default 200 and
# 10,000 distributions), a loopback PyPI + OSV server with fixed latency per request, then a cold
# run (empty cache) and a warm run (everything cached) of the whole process. Prints Markdown
# tables: wall time against the ideal ⌈requests / in-flight⌉ × latency, peak RSS, requests, bytes
# on the wire (the server's count of body bytes sent, gzip-encoded) and decoded, cache hit rate.
#
#   scripts/bench.sh                          # 200 and 10000 packages, 50 ms latency
#   SIZES="180" LATENCY_MS=50 scripts/bench.sh
#   ENV_DIR=/path/to/venv scripts/bench.sh    # a real environment (venv or site-packages)
#   TLS=1 scripts/bench.sh                    # HTTPS with a test CA, ALPN h2 + http/1.1
#   TLS=http1 scripts/bench.sh                # HTTPS, HTTP/1.1 only
#   BANDWIDTH_MBIT=100 scripts/bench.sh       # every byte through one 100 Mbit/s link
#   COLD_RUNS=1 scripts/bench.sh              # one cold run per size instead of the median of 3
#   SEED=1 scripts/bench.sh                   # + the seed's design (scripts/seed_design.py), cold,
#                                             #   at LATENCY_MS and at LATENCY_MS + SEED_MBIT (100)
#   SWEEP="16 32 64 100" SIZES=200 scripts/bench.sh   # only: HTTPS cold runs, HTTP/2 vs
#                                             #   HTTP/1.1, at each in-flight bound (median of 3)
#   BIN=/tmp/old/depdash scripts/bench.sh     # another build of depdash (nothing is built), to
#                                             #   compare two builds in one session
set -euo pipefail
cd "$(dirname "$0")/.."

LATENCY_MS=${LATENCY_MS:-50}
SIZES=${SIZES:-"200 10000"}
CONCURRENCY=${CONCURRENCY:-}
TLS=${TLS:-}
BANDWIDTH_MBIT=${BANDWIDTH_MBIT:-}
SEED=${SEED:-}
SEED_MBIT=${SEED_MBIT:-100}
SWEEP=${SWEEP:-}
COLD_RUNS=${COLD_RUNS:-3}   # cold runs per size (fresh cache each); the median is shown
command -v jq >/dev/null || { echo "bench: needs jq (apt-get install -y jq)" >&2; exit 2; }

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin depdash --example loopback_registry --example timed
  BIN=target/release/depdash
fi
SERVER=target/release/examples/loopback_registry
TIMER=target/release/examples/timed
for tool in "$SERVER" "$TIMER"; do
  [ -x "$tool" ] || { echo "bench: $tool is missing: cargo build --release --example $(basename "$tool")" >&2; exit 2; }
done
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# timed OUT CMD...: CMD's wall ms and peak RSS KiB into OUT (examples/timed.rs: no other
# process inside the measured interval).
# OUT is removed first: a run that could not be timed fails the benchmark instead of leaving
# the previous run's figures to be read.
timed() {
  rm -f "$1"
  "$TIMER" "$@"
}
# depdash's own default in-flight bounds (HTTP/1.1, HTTP/2), from its help text: the ideal's
# divisor is the one of the protocol the server offers.
defaults=$("$BIN" check --help | sed -n '/--concurrency/,/default:/p' | tr -d '\n' | grep -o 'default: [0-9]* on HTTP/1.1, [0-9]* on HTTP/2')
DEFAULT_HTTP1=$(awk '{print $2}' <<<"$defaults")
DEFAULT_HTTP2=$(awk '{print $5}' <<<"$defaults")

# start_server ENV TLS_MODE MBIT: a fresh loopback registry; sets $url and $cert_args.
start_server() {
  local env=$1 tls=$2 mbit=$3 args=()
  args+=(--latency-ms "$LATENCY_MS" --gzip)
  [ -n "$mbit" ] && args+=(--bandwidth-mbit "$mbit")
  cert_args=()
  if [ -n "$tls" ]; then
    mkdir -p "$work/tls"; args+=(--tls-dir "$work/tls")
    [ "$tls" = http1 ] && args+=(--http1-only)
    cert_args=(--cert "$work/tls/ca.pem")
  fi
  rm -f "$work/url"
  "$SERVER" "$env" "${args[@]}" >"$work/url" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 400); do [ -s "$work/url" ] && break; sleep 0.05; done
  url=$(head -n1 "$work/url")
}

stop_server() {
  kill -INT "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

# served: what the server sent since the last call (SIGUSR1 makes it print and reset); sets
# $served_requests, $served_bytes, $served_connections.
served() {
  local before; before=$(grep -c '^requests served' "$work/server.log" || true)
  kill -USR1 "$server_pid"
  for _ in $(seq 200); do
    [ "$(grep -c '^requests served' "$work/server.log" || true)" -gt "$before" ] && break; sleep 0.01
  done
  local line; line=$(grep '^requests served' "$work/server.log" | tail -n1)
  served_requests=$(sed -n 's/^requests served: \([0-9]*\).*/\1/p' <<<"$line")
  served_connections=$(sed -n 's/.*connections \([0-9]*\).*/\1/p' <<<"$line")
  served_bytes=$(sed -n 's/.*body bytes sent: \([0-9]*\).*/\1/p' <<<"$line")
}

# depdash ENV CACHE EXTRA...: one whole-process run; sets $wall, $code, $rss.
depdash_run() {
  local env=$1 cache=$2; shift 2
  local start concurrency=()
  [ -n "$CONCURRENCY" ] && concurrency=(--concurrency "$CONCURRENCY")
  code=0
  timed "$work/timed" "$BIN" check "$env" --pypi-url "$url" --osv-url "$url" \
    --cache-dir "$cache" --no-history "${concurrency[@]}" "${cert_args[@]}" --progress never \
    --format json -o "$work/report.json" "$@" 2>"$work/stderr" || code=$?
  [ -s "$work/timed" ] || { echo "bench: the run was not timed: $(head -c 300 "$work/stderr")" >&2; exit 2; }
  wall=$(awk '{print $1}' "$work/timed")
  rss=$(awk '{printf "%.1f", $2/1024}' "$work/timed")
}

env_for() {
  local n=$1
  if [ -n "${ENV_DIR:-}" ]; then echo "$ENV_DIR"; else
    local env="$work/env-$n"
    [ -d "$env" ] || "$BIN" synth-env "$env" --count "$n" --seed 42 >/dev/null 2>&1
    echo "$env"
  fi
}

if [ -n "$TLS" ] && [ "$TLS" != http1 ]; then inflight=${CONCURRENCY:-$DEFAULT_HTTP2}; else inflight=${CONCURRENCY:-$DEFAULT_HTTP1}; fi

if [ -n "$SWEEP" ]; then
  printf '| packages | protocol | in-flight | wall ms (median of 3) | ideal ms | × ideal | requests | connections |\n'
  printf '|---:|---|---:|---:|---:|---:|---:|---:|\n'
  for n in $SIZES; do
    env=$(env_for "$n")
    for proto in h2 http1; do
      start_server "$env" "$proto" "$BANDWIDTH_MBIT"
      for c in $SWEEP; do
        walls=()
        for rep in 1 2 3; do
          CONCURRENCY=$c depdash_run "$env" "$work/sweep-$proto-$c-$rep"
          served
          walls+=("$wall")
        done
        median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
        ideal=$(( (served_requests + c - 1) / c * LATENCY_MS ))
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$proto" "$c" "$median" "$ideal" \
          "$(awk -v w="$median" -v i="$ideal" 'BEGIN{printf "%.2f", w/i}')" "$served_requests" "$served_connections"
      done
      stop_server
    done
    [ -n "${ENV_DIR:-}" ] && break
  done
  echo
  echo "latency ${LATENCY_MS} ms per request, bandwidth ${BANDWIDTH_MBIT:-unlimited}, $(nproc) cores; HTTPS with a test CA; wall = whole process"
  exit 0
fi

printf '| packages | run | wall ms | ideal ms | × ideal | peak RSS MiB | HTTP requests | KiB on the wire | KiB decoded | cache hit rate | exit | timeline ms |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
# run_case LABEL ENV CACHE RUNS EXTRA...: RUNS runs (each cold one with a fresh cache), median.
run_case() {
  local label=$1 env=$2 cache=$3 runs=$4 walls=() r; shift 4
  for r in $(seq "$runs"); do
    [ "$runs" -gt 1 ] && rm -rf "$cache"
    depdash_run "$env" "$cache" "$@"
    served
    walls+=("$wall")
  done
  wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  local packages requests kib hit ideal ratio
  packages=$(jq '.summary.packages' "$work/report.json")
  requests=$(jq '.metrics.network.requests // 0' "$work/report.json")
  kib=$(jq '(.metrics.network.bytes // 0) / 1024 | floor' "$work/report.json")
  hit=$(jq '.metrics.cache.hit_rate * 100 | floor' "$work/report.json")
  ideal=$(( (requests + inflight - 1) / inflight * LATENCY_MS ))
  ratio="—"; [ "$ideal" -gt 0 ] && ratio=$(awk -v w="$wall" -v i="$ideal" 'BEGIN{printf "%.2f", w/i}')
  # The last run's milestones (metrics.milestones): where its wall time went.
  timeline=$(jq -r '.metrics.milestones // {} | [
      (if ."first-request" then "request \(."first-request" | floor)" else empty end),
      (if ."first-connection" then "connected \(."first-connection" | floor)" else empty end),
      (if ."first-answer" then "answers \(."first-answer" | floor)–\(."last-answer" | floor)" else empty end),
      (if .evaluated then "judged \(.evaluated | floor)" else empty end)
    ] | join(" · ")' "$work/report.json")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% | %s | %s |\n' "$packages" "$label" "$wall" "$ideal" \
    "$ratio" "$rss" "$requests" "$((served_bytes / 1024))" "$kib" "$hit" "$code" "${timeline:-—}"
}

seed_rows=()
for n in $SIZES; do
  env=$(env_for "$n")
  cache="$work/cache-$n"
  start_server "$env" "$TLS" "$BANDWIDTH_MBIT"
  run_case cold "$env" "$cache" "$COLD_RUNS"
  run_case warm "$env" "$cache" 1
  run_case "warm, no vuln/registry" "$env" "$cache" 1 --no-vulnerabilities --no-registry
  stop_server
  if [ -n "$SEED" ]; then
    if [ -x "$env/bin/python" ]; then where=(--venv "$env"); else where=(--site-packages "$env"); fi
    for mbit in "" "$SEED_MBIT"; do
      link="${LATENCY_MS} ms${mbit:+ + $mbit Mbit/s}"
      start_server "$env" "$TLS" "$mbit"
      d_walls=() s_walls=()
      seed_cert=(); [ -n "$TLS" ] && seed_cert=(--cert "$work/tls/ca.pem")
      for r in $(seq "$COLD_RUNS"); do
        rm -rf "$work/seed-cache"
        depdash_run "$env" "$work/seed-cache"
        served; d_walls+=("$wall"); d_req=$served_requests d_bytes=$served_bytes
        packages=$(jq '.summary.packages' "$work/report.json")
        timed "$work/timed" python3 scripts/seed_design.py --index "$url" "${where[@]}" \
          "${seed_cert[@]}" >"$work/seed.json"
        [ -s "$work/timed" ] || { echo "bench: the seed design's run was not timed" >&2; exit 2; }
        s_walls+=("$(awk '{print $1}' "$work/timed")")
        served
      done
      d_wall=$(printf '%s\n' "${d_walls[@]}" | sort -n | sed -n "$(( (COLD_RUNS + 1) / 2 ))p")
      s_wall=$(printf '%s\n' "${s_walls[@]}" | sort -n | sed -n "$(( (COLD_RUNS + 1) / 2 ))p")
      stop_server
      seed_rows+=("| $packages | $link | seed design (pip list + per-release JSON, 10 in flight) | $s_wall | $served_requests | $((served_bytes / 1024)) | 1.0× |")
      seed_rows+=("| $packages | $link | depdash check, cold | $d_wall | $d_req | $((d_bytes / 1024)) | $(awk -v s="$s_wall" -v d="$d_wall" 'BEGIN{printf "%.1f", s/d}')× |")
    done
  fi
  [ -n "${ENV_DIR:-}" ] && break
done
echo
echo "latency ${LATENCY_MS} ms per request, bandwidth ${BANDWIDTH_MBIT:-unlimited}, in-flight ${inflight}${TLS:+, HTTPS ($TLS)}, $(nproc) cores; wall = whole process, spawn to exit (examples/timed.rs); ideal = ⌈requests / in-flight⌉ × latency"
if [ -n "$SEED" ]; then
  echo
  printf '| packages | link | design | wall ms | requests | KiB on the wire | speed-up |\n'
  printf '|---:|---|---|---:|---:|---:|---:|\n'
  printf '%s\n' "${seed_rows[@]}"
fi
