#!/usr/bin/env bash
# `npm run bench [-- --json] [-- --quick]`: the benchmark of REFERENCE_CNN.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash .ci/setup.sh native >&2
bash .ci/build-native.sh >&2
build/native/bnlab bench "$@"
