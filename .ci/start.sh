#!/usr/bin/env bash
# `npm start`: set up, build, and (once the page exists) serve it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
bash .ci/build-native.sh
bash .ci/build-wasm.sh
echo "BN Lab native build ready: build/native/bnlab --help"
echo "BN Lab WebAssembly build ready in build/wasm (API: wasm/README.md, worker: wasm/PROTOCOL.md)"
