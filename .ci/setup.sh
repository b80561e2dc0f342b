#!/usr/bin/env bash
# Installs what BN Lab needs and is missing, idempotently; `npm start`, `npm test` and
# `npm run bench` call it first, so a fresh Debian machine needs nothing installed by hand.
#   .ci/setup.sh [native] [wasm] [browser]     (no argument: all three)
# native: cmake, g++, Eigen, doctest      wasm: Emscripten (Debian's 3.1.6)
# browser: Chromium (driven by playwright-core from npm) and PyTorch (python3-torch, for
#          /usr/bin/python3: the "Show code" test runs the page's PyTorch code in it)
# and, always, the npm packages of package-lock.json (node_modules/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(native wasm browser)
pkgs=()
# node and npm may come from Debian or elsewhere (nodesource ships npm inside nodejs).
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
for w in "${want[@]}"; do
  case "$w" in
    native) pkgs+=(cmake g++ make libeigen3-dev doctest-dev) ;;
    wasm) pkgs+=(emscripten) ;;
    browser) pkgs+=(chromium python3-torch) ;;
    *) echo "setup: unknown part '$w' (native, wasm, browser)" >&2; exit 2 ;;
  esac
done

missing=()
for p in ${pkgs[@]+"${pkgs[@]}"}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to run apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Other apt users on the machine hold the dpkg lock for a while: wait for it, not fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >&2
fi

# npm packages: reinstall when the lockfile is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
