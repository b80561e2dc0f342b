#!/usr/bin/env bash
# Installs what BN Lab needs and is missing, idempotently; `npm start`, `npm test` and
# `npm run bench` call it first, so a fresh Debian machine needs nothing installed by hand.
#   .ci/setup.sh [native] [wasm] [browser] [hardening]     (no argument: all four)
# native: cmake, g++, Eigen, doctest      wasm: Emscripten (Debian's 3.1.6)
# browser: Chromium (driven by playwright-core from npm), Firefox ESR (puppeteer-core) and
#          PyTorch (python3-torch, for /usr/bin/python3: the "Show code" test runs the page's
#          PyTorch code in it)
# hardening: clang 14 and its runtime libraries (ASan, UBSan, libFuzzer) for build/sanitize
# and, always, the npm packages of package-lock.json (node_modules/).
# One line per step: apt's and npm's own output go to build/setup-apt.log and build/setup-npm.log,
# and the end of the log is shown when a step fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(native wasm browser hardening)
pkgs=()
# node and npm may come from Debian or elsewhere (nodesource ships npm inside nodejs).
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
for w in "${want[@]}"; do
  case "$w" in
    native) pkgs+=(cmake g++ make libeigen3-dev doctest-dev parallel) ;;
    wasm) pkgs+=(emscripten) ;;
    browser) pkgs+=(chromium firefox-esr python3-torch) ;;
    hardening) pkgs+=(cmake make libeigen3-dev doctest-dev clang-14 libclang-rt-14-dev) ;;
    *) echo "setup: unknown part '$w' (native, wasm, browser, hardening)" >&2; exit 2 ;;
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
  mkdir -p build
  log=build/setup-apt.log
  : >"$log"
  # Another apt (a parallel setup) may hold the dpkg lock: wait for it rather than fail.
  apt_quiet() {
    if ! apt-get -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1; then
      echo "setup: apt-get $1 failed; the end of $log:" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
  }
  echo "setup: apt-get update" >&2
  apt_quiet update -qq
  echo "setup: apt-get install (${#missing[@]} packages and their dependencies; log in $log)" >&2
  apt_quiet install -y -qq "${missing[@]}"
  echo "setup: apt-get done" >&2
fi

# npm packages: reinstall when the lockfile is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci (log in build/setup-npm.log)" >&2
  mkdir -p build
  if ! npm ci --no-audit --no-fund >build/setup-npm.log 2>&1; then
    echo "setup: npm ci failed; the end of build/setup-npm.log:" >&2
    tail -n 30 build/setup-npm.log >&2
    exit 1
  fi
fi
