#!/usr/bin/env bash
# How many licenses of a pinned requirements file stay unknown when only the index can tell them:
# the pins' wheels are downloaded once (pip, from the developer's configured index), a loopback
# registry serves what Warehouse would build from them (per-release documents from each wheel's
# METADATA, Simple pages offering the core metadata files, the wheels with range support), and
# `depdash check -r PINS` runs against it. Prints the unknown count and each unknown's reason.
#
#   scripts/pinned-licenses.sh PINS [WORK_DIR]        # e.g. PINS from `pip freeze`
#   REGISTRY_FLAGS="--simple-only --html-only" scripts/pinned-licenses.sh PINS
set -euo pipefail
PINS=$(realpath "$1")
WORK=${2:-/tmp/depdash-pinned-licenses}
cd "$(dirname "$0")/.."
mkdir -p "$WORK/files"
if [ ! -f "$WORK/.downloaded" ]; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$WORK/wheels" -r "$PINS"
    python3 - "$WORK" <<'PY'
import os, sys, zipfile
work = sys.argv[1]
for name in sorted(os.listdir(os.path.join(work, "wheels"))):
    wheel = os.path.join(work, "wheels", name)
    with zipfile.ZipFile(wheel) as z:
        meta = [n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(meta) == 1:
            with open(os.path.join(work, "files", name + ".metadata"), "wb") as out:
                out.write(z.read(meta[0]))
            link = os.path.join(work, "files", name)
            if not os.path.exists(link):
                os.symlink(wheel, link)
PY
    touch "$WORK/.downloaded"
fi
cargo build --quiet --bin depdash --example loopback_registry
# shellcheck disable=SC2086
target/debug/examples/loopback_registry "$WORK/files" --core-metadata --latency-ms 0 \
    ${REGISTRY_FLAGS:-} > "$WORK/url" 2> "$WORK/server.log" &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.1; done
URL=$(head -1 "$WORK/url")
CACHE=$(mktemp -d)
target/debug/depdash check -r "$PINS" --pypi-url "$URL" --osv-url "$URL" --cache-dir "$CACHE" \
    --format json --output "$WORK/report.json" --progress never || true
rm -rf "$CACHE"
kill -INT $SERVER; wait $SERVER 2>/dev/null || true
tail -1 "$WORK/server.log"
python3 - "$WORK/report.json" <<'PY'
import json, sys
packages = json.load(open(sys.argv[1]))["packages"]
unknown = [p for p in packages if not p["license"].get("expression")]
print(f"{len(unknown)} of {len(packages)} licenses unknown ({100 * len(unknown) / len(packages):.1f} %)")
for p in unknown:
    print(f"  {p['name']} {p['version']}: {p['license'].get('unknown_reason', '')}")
PY
