#!/usr/bin/env bash
# Builds the page into build/web and the single file build/web-single/bnlab.html from web/,
# taking the wasm module from build/wasm and MNIST from build/native/data when they exist.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node web/build.mjs
