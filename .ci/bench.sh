#!/usr/bin/env bash
# `npm run bench [-- --json] [-- --quick]`: the benchmark of NUMERICS.md 8, natively, in node
# (WebAssembly) and in headless Chromium (WebAssembly in a Worker); see tests/bench/bench.mjs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh >&2
bash .ci/build-native.sh >&2
bash .ci/build-wasm.sh >&2
node tests/bench/bench.mjs "$@"
