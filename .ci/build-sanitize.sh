#!/usr/bin/env bash
# Configures and builds the hardening build into build/sanitize with clang 14: the core, CLI and
# doctest suite under AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets
# of tests/fuzz (README.md, "Hostile input"). -O1: the sanitizers' reports stay readable.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Release -DBNLAB_SANITIZE=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" >/dev/null
cmake --build build/sanitize -j "$(nproc)"
