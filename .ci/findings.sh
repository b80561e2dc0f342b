#!/usr/bin/env bash
# `npm run findings`: the full multi-seed findings (issue 14) by one command. Every experiment over
# 10 seeds on each dataset, the seeds in parallel threads on this machine's cores, summarized
# into core/experiments/findings/DATASET.json (committed), then README's findings table and the
# page's web/findings.json regenerated from the summaries (.ci/findings.mjs says how).
#
#   bash .ci/findings.sh [DATASET...]          default: mnist fashion
#   SEEDS=1-10 THREADS=$(nproc) EXPERIMENTS="lr-sweep landscape" NICE=19 bash .ci/findings.sh mnist
#
# The runs go to build/findings/DATASET/NAME/ (each seed's tables and summary, and the summary
# over seeds); the committed file is rewritten after each experiment, so an interrupted run keeps
# what finished. Outside CI (core/experiments/findings/README.md has the measured times and an
# estimate for 2 cores); tests/findings/staleness.test.mjs reruns one seed in CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SEEDS="${SEEDS:-1-10}"
THREADS="${THREADS:-$(nproc)}"
NICE="${NICE:-0}"
datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(mnist fashion)
bash .ci/setup.sh >&2
# The commit the experiments are built from, taken now (commits made while they run do not count).
export FINDINGS_COMMIT="${FINDINGS_COMMIT:-$(git rev-parse HEAD)}"
export FINDINGS_DIRTY="${FINDINGS_DIRTY:-$([ -z "$(git status --porcelain --untracked-files=no -- core CMakeLists.txt)" ] && echo false || echo true)}"
# The CLI and the MNIST and Fashion-MNIST files only (the test suite is not needed to run experiments).
[ -f build/native/CMakeCache.txt ] || cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j "$(nproc)" --target bnlab bnlab_mnist_data bnlab_fashion_data >&2
# A copy of the CLI, so that rebuilding build/native meanwhile cannot change a run halfway.
mkdir -p build/findings
bnlab="build/findings/bnlab-$$"
cp build/native/bnlab "$bnlab"
trap 'rm -f "$bnlab"' EXIT
# The experiments' names: the unindented lines of `bnlab experiment --list`.
all_experiments=$($bnlab experiment --list | awk '/^[a-z]/ {print $1}')
experiments="${EXPERIMENTS:-$all_experiments}"
for dataset in "${datasets[@]}"; do
  dataset_args=(--data-dir build/native/data)
  [ "$dataset" = mnist ] || dataset_args+=(--dataset "$dataset")
  runs="build/findings/$dataset"
  mkdir -p "$runs"
  [ -f "$runs/times.json" ] || echo '{}' >"$runs/times.json"
  for name in $experiments; do
    echo "== $dataset: $name, seeds $SEEDS, $THREADS threads ($(date -u +%H:%M:%S) UTC)" >&2
    start=$(date +%s)
    nice -n "$NICE" "$bnlab" experiment "$name" --seeds "$SEEDS" --threads "$THREADS" \
      "${dataset_args[@]}" --out "$runs/$name"
    seconds=$(($(date +%s) - start))
    node -e 'const fs = require("fs"); const [f, n, s] = process.argv.slice(1);
      const t = JSON.parse(fs.readFileSync(f, "utf8")); t[n] = Number(s);
      fs.writeFileSync(f, JSON.stringify(t, null, 1) + "\n");' "$runs/times.json" "$name" "$seconds"
    node .ci/findings.mjs collect "$dataset" "$runs" "$SEEDS" \
      "SEEDS=$SEEDS NICE=$NICE${EXPERIMENTS:+ EXPERIMENTS=\"$EXPERIMENTS\"} bash .ci/findings.sh $dataset (threads $THREADS)"
  done
done
node .ci/findings.mjs generate
