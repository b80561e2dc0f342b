#!/usr/bin/env bash
# Runs every libFuzzer target of build/sanitize (.ci/build-sanitize.sh) for SECONDS each
# (default 20), starting from the seed corpus tests/fuzz/corpus/TARGET. New inputs go to a
# temporary folder, not into the repository; a crash leaves its input in build/sanitize/fuzz-*
# and fails the run.
#   .ci/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-20}"
status=0
for exe in build/sanitize/fuzz_*; do
  name="$(basename "$exe")"
  target="${name#fuzz_}"
  work="$(mktemp -d)"
  mkdir -p "build/sanitize/fuzz-$target"
  echo "fuzz $target: ${seconds} s from tests/fuzz/corpus/$target"
  if ! "$exe" "$work" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="build/sanitize/fuzz-$target/" \
       >"build/sanitize/fuzz-$target/log.txt" 2>&1; then
    echo "fuzz $target FAILED: see build/sanitize/fuzz-$target/log.txt" >&2
    tail -40 "build/sanitize/fuzz-$target/log.txt" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build/sanitize/fuzz-$target/log.txt" | tr '\n' ' '
    echo
  fi
  rm -rf "$work"
done
exit $status
