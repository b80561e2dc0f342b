// An experiment over many seeds: each seed is a full, independent run of the experiment (the
// seed draws the initial weights, the order of the batches and the noise); the summary gives, per
// headline figure, the mean, the standard deviation and a 95% confidence interval over the seeds,
// and for each claim of the literature the experiment tests, a verdict computed from the interval
// of the per-seed difference between the two figures the claim compares.
//
//   bnlab experiment NAME --seeds 1-10 --out DIR      seeds in parallel on this machine's cores
//   bnlab experiment NAME --seeds 1-10 --out DIR --jobs | parallel --will-cite -j8
//   bnlab experiment merge DIR/seed-* --out DIR        the same summary from the parts
//
// --jobs prints one command per seed, or, for an experiment that runs in parts
// (ExperimentInfo::parts), one per (unit, seed): `--unit U` runs one unit of one seed and writes
// DIR/seed-S/part-U.json, and merge first combines a seed's parts into that seed's own run
// (its CSV tables and summary.json, as the run in one piece writes them).
//
// The interval is Student's t on the per-seed values (two-sided, 95%): seeds are independent
// draws of the same random experiment, and the paired difference of a claim's two figures (both
// measured in one seed's lockstep run, from the same weights and batches) removes what the two
// share. It assumes roughly normal per-seed values; with few seeds it is wide, as it should be.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/experiments.h"
#include "io/json.h"

namespace bnlab {

// "1-10", "3", "1,4,9" or "1-3,8": the seeds in the order given, each once. Throws Error on
// anything else (a seed is a whole number from 0 to 4294967295; at most 10,000 seeds).
std::vector<uint32_t> parse_seeds(const std::string& text);

// The two-sided 95% quantile of Student's t with df degrees of freedom (df >= 1): exact to 4
// decimals for df <= 30 (a table), interpolated in 1/df above.
double t_quantile_95(int df);

struct Interval {
  int n = 0;             // values used (finite ones)
  double mean = 0, sd = 0;
  double lo = 0, hi = 0;  // mean -+ t * sd / sqrt(n); for n = 1, lo = hi = mean
};
Interval t_interval(const std::vector<double>& values);

// A claim of the literature as a comparison of two headline figures of one seed's summary
// (dotted paths into summary.json, "ratio_bn_to_none.loss_range"). `relation` says what the
// literature expects of a - b: "greater" (a > b), "less" (a < b), or "near" (|a - b| <= margin).
// On a log scale the difference is log10(a) - log10(b) (figures that span decades: ratios,
// spreads, learning rates). A figure that is null in a seed ("never reached 90%") leaves that
// seed out of the claim; the verdict says how many seeds it used.
struct Claim {
  std::string id;          // "faster"
  std::string literature;  // what is claimed, and by whom
  std::string a, b;
  std::string relation;    // greater | less | near
  double margin = 0;       // "near": the largest difference that counts as none;
                           // greater/less: differences within it count as no difference
  bool log_scale = false;
};

// The claims each experiment tests on a dataset (experiments/claims.cpp): the same ids on every
// dataset; a claim on a target accuracy names the dataset's figures (targets.h). Empty for an
// unknown name.
const std::vector<Claim>& claims_of(const std::string& experiment, const std::string& dataset = "mnist");

// Every claim of every experiment (in the order of experiments()) as a Markdown table: the
// table of NUMERICS.md 6, which is generated from claims.cpp, never typed
// (`bnlab experiment --claims` prints it; tests/test_seeds.cpp checks NUMERICS.md holds it).
std::string claims_table();

// The verdict of one claim from its interval, in words:
//   reproduces                       the interval lies on the claimed side of 0 (and, for
//                                    "near", within -margin..margin)
//   does not reproduce: the opposite the interval lies on the other side (beyond the margin)
//   does not reproduce: no difference  the interval lies within -margin..margin (greater/less)
//   inconclusive at N seeds          anything else, or fewer than 3 seeds
std::string verdict(const Claim& claim, const Interval& difference);

// The summary of an experiment over seeds, from each seed's summary.json (as write_experiment
// writes them; in any order: they are sorted by seed). Every numeric figure found in any seed
// becomes {n, missing, mean, sd, ci95: [lo, hi], values}; each claim gets its difference
// interval, verdict and a sentence. Throws Error when the summaries are of different
// experiments or step counts, or a seed appears twice.
Json summarize_seeds(std::vector<Json> per_seed);

// One job of a sweep in parts: unit `unit` of options.seed, written as DIR/part-U.json
// ({experiment, seed, steps, dataset, unit, units, tables}). Throws Error for an experiment that
// does not run in parts or a unit out of range.
void run_part_job(const ExperimentInfo& info, const ExperimentOptions& options, int unit,
                  const std::string& dir);
// When DIR holds part-*.json files: checks that they are every unit of one run once, combines
// them and writes that run's tables and summary.json to DIR (combine_experiment_parts,
// write_experiment); returns false when there are none. Throws Error naming the file otherwise.
bool combine_part_files(const std::string& dir);

// summarize_seeds of DIR/summary.json for each directory (what `bnlab experiment merge` does),
// after combine_part_files of each.
Json summarize_seed_dirs(const std::vector<std::string>& dirs);

// Runs info over the seeds, `threads` at a time (each seed alone in one thread, so the result is
// the same whatever the number of threads), writing DIR/seed-S/ for each and DIR/summary.json.
// Returns the summary.
Json run_seeds(const ExperimentInfo& info, const ExperimentOptions& options, const std::vector<uint32_t>& seeds,
               int threads, const std::string& dir);

}  // namespace bnlab
