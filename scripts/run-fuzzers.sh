#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded number of iterations from its seed corpus (copied to a
# scratch dir so the committed corpus does not change). Usage: scripts/run-fuzzers.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/fuzz}
runs=${FUZZ_RUNS:-500000}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for fuzzer in "$build"/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  mkdir -p "$scratch/$name"
  cp fuzz/corpus/"$name"/* "$scratch/$name"/ 2>/dev/null || true
  echo "fuzz: $name ($runs runs)"
  "$fuzzer" -runs="$runs" -max_total_time=120 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=0 "$scratch/$name" > "$scratch/$name.log" 2>&1 || { tail -50 "$scratch/$name.log"; exit 1; }
  grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs)" "$scratch/$name.log" | tail -1 || true
done
echo "fuzz: ok"
