#!/usr/bin/env bash
# The defences against hostile input (README.md, "Hostile input"), in build/sanitize (clang 14):
#   .ci/hardening.sh quick   (npm test)           the doctest suite under ASan + UBSan without its
#                            slow experiment, learning and benchmark tests (they run natively in
#                            npm test), every fuzz target for 20 s, the static server's tests
#   .ci/hardening.sh         (npm run hardening)  the whole doctest suite under ASan + UBSan, and
#                            every fuzz target for FUZZ_SECONDS (default 600) each
# Any sanitizer report or fuzzer crash fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-full}"
bash .ci/setup.sh native hardening
bash .ci/build-sanitize.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ "$mode" = quick ]; then
  echo "== hardening: doctest suite under ASan + UBSan (without experiments, learning, refbench)"
  ctest --test-dir build/sanitize -j "$(nproc)" --output-on-failure \
    -E '^(experiments\.| ?learning|refbench|trainer\.set_options continues exactly)'
  echo "== hardening: fuzz targets, 20 s each"
  bash .ci/fuzz.sh 20
  echo "== hardening: the static server (web/serve.mjs)"
  node --test tests/hardening/
else
  echo "== hardening: the whole doctest suite under ASan + UBSan"
  ctest --test-dir build/sanitize -j "$(nproc)" --output-on-failure
  echo "== hardening: fuzz targets, ${FUZZ_SECONDS:-600} s each"
  bash .ci/fuzz.sh "${FUZZ_SECONDS:-600}"
  node --test tests/hardening/
fi
