#!/usr/bin/env bash
# `npm start`: set up, build everything, and serve the page on 127.0.0.1 (PORT, default 8080).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh
bash .ci/build-native.sh
bash .ci/build-wasm.sh
bash .ci/build-web.sh
echo "BN Lab native build ready: build/native/bnlab --help"
echo "BN Lab WebAssembly build ready in build/wasm (API: wasm/README.md, worker: wasm/PROTOCOL.md)"
echo "BN Lab single file: build/web-single/bnlab.html (opens from disk)"
exec node web/serve.mjs build/web
