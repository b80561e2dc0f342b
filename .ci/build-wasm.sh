#!/usr/bin/env bash
# Configures and builds the WebAssembly core, its JavaScript API and worker into build/wasm
# (incremental: a second run rebuilds only what changed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Debian's Emscripten runs its JavaScript optimizer with Debian's acorn, found through NODE_PATH.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
if [ ! -f build/wasm/CMakeCache.txt ]; then
  # Eigen is header-only: the host copy serves the wasm build too (the toolchain file would
  # otherwise look for packages inside the Emscripten sysroot only).
  emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release -DEigen3_DIR=/usr/share/eigen3/cmake >/dev/null
fi
cmake --build build/wasm -j "$(nproc)"
