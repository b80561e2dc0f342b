#!/usr/bin/env bash
# Records every experiment's output files at a few steps and seeds with one bnlab binary, so that
# a refactoring of the experiments' loops can be checked byte for byte against the code before it:
#   .ci/experiment-identity.sh BNLAB OUTDIR [STEPS] [SEEDS]      (default 24 steps, seeds "1 2")
#   diff -r BEFORE_DIR AFTER_DIR                                 (no output: identical)
# Not part of `npm test` (a few minutes of CPU); run by hand around a change to core/experiments.
set -euo pipefail
bnlab=$(realpath "$1")
out=$2
steps=${3:-24}
seeds=${4:-1 2}
# The IDX files: DATA_DIR, or those the native build converted.
data=$(realpath "${DATA_DIR:-$(dirname "${BASH_SOURCE[0]}")/../build/native/data}")
mkdir -p "$out"
failed=0
names=$("$bnlab" experiment --list | awk '/^[a-z]/ {print $1}')
for name in $names; do
  for seed in $seeds; do
    "$bnlab" experiment "$name" --steps "$steps" --seed "$seed" --data-dir "$data" \
      --out "$out/$name-s$seed" >/dev/null 2>&1 || { echo "FAILED: $name seed $seed" >&2; failed=1; }
  done
done
# The paths that only Fashion-MNIST takes (covariate-shift restyles its test set).
"$bnlab" experiment covariate-shift --dataset fashion --steps "$steps" --seed 1 \
  --data-dir "$data" --out "$out/covariate-shift-fashion-s1" >/dev/null 2>&1 ||
  { echo "FAILED: covariate-shift fashion" >&2; failed=1; }
echo "recorded $(find "$out" -type f | wc -l) files in $out"
exit $failed
