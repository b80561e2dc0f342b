// The normalization experiments reproduce (or, where stated, fail to reproduce) their published
// results on BN Lab's own data, on two seeds each. Every threshold is justified by the values
// measured on seeds 1 and 2 (and seed 3 as a check) at the steps used here, quoted next to it.
// Where BN Lab does not reproduce a claim, the test asserts what BN Lab finds instead and says so.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "experiments/experiments.h"

using namespace bnlab;

namespace {

ExperimentResult run(const std::string& name, uint32_t seed, int steps,
                     std::function<void(double)> progress = [](double) {}) {
  ExperimentOptions options;
  options.seed = seed;
  options.steps = steps;
  options.data_dir = BNLAB_DATA_DIR;
  options.progress = std::move(progress);
  return find_experiment(name).run(options);
}

// summary[a][b] (or summary[a] when b is empty) as a number; fails the test if missing or null.
double figure(const ExperimentResult& r, const std::string& a, const std::string& b = "") {
  const Json& outer = r.summary.get(a);
  const Json& v = b.empty() ? outer : outer.get(b);
  REQUIRE_MESSAGE(v.is_number(), a << "/" << b << " is not a number: " << v.dump());
  return v.number();
}

const Table& table(const ExperimentResult& r, const std::string& stem) {
  const Table* found = nullptr;
  for (const auto& [name, t] : r.tables)
    if (name == stem) found = &t;
  REQUIRE_MESSAGE(found != nullptr, "no table " << stem);
  return *found;
}

}  // namespace

TEST_CASE("experiments.normalization: the five experiments are listed with a description") {
  std::set<std::string> names;
  for (const ExperimentInfo& e : experiments()) names.insert(e.name);
  for (const char* name : {"noisy-bn", "landscape", "batch-size", "placement", "train-eval"}) {
    CAPTURE(name);
    REQUIRE(names.count(name) == 1);
    const ExperimentInfo& e = find_experiment(name);
    CHECK(!e.title.empty());
    CHECK(e.default_steps > 0);
    // Each description states what BN Lab found, not only what the literature claims.
    CHECK(e.description.find("BN Lab finds") != std::string::npos);
  }
}

TEST_CASE("experiments.normalization: a run is a pure function of its seed") {
  // Short runs: the same seed gives the same summary and tables to the last digit; another seed
  // (other batches and weights) gives other figures.
  std::vector<double> fractions;
  const ExperimentResult a = run("landscape", 7, 10, [&](double f) { fractions.push_back(f); });
  const ExperimentResult b = run("landscape", 7, 10), c = run("landscape", 8, 10);
  // Progress is reported as it goes, never backwards, and ends at 1.
  REQUIRE(fractions.size() >= 2);
  CHECK(std::is_sorted(fractions.begin(), fractions.end()));
  CHECK(fractions.back() == 1.0);
  CHECK(a.summary.dump() == b.summary.dump());
  CHECK(table(a, "landscape_etas").csv() == table(b, "landscape_etas").csv());
  CHECK(a.summary.dump() != c.summary.dump());
  // Tidy: one row per run and step; with 10 steps every step is probed.
  CHECK(table(a, "curves").rows() == 2 * 10);
  CHECK(table(a, "landscape").rows() == 2 * 10);
}

TEST_CASE("experiments.noisy-bn: noisy BN trains about as well as BN, better than none, with less stable inputs") {
  // ref-cnn, lr 0.1, 300 steps. Measured (seeds 1 / 2 / 3):
  //   test accuracy   none 0.795 / 0.888 / 0.914, BN 0.967 / 0.966 / 0.962, noisy 0.961 / 0.944 / 0.958
  //   final loss      none 0.76 / 0.37 / 0.32,    BN 0.082 / 0.106 / 0.098, noisy 0.130 / 0.141 / 0.124
  //   instability     none 0.105 / 0.116 / 0.085, BN 0.015 / 0.010 / 0.060, noisy 0.337 / 0.252 / 0.388
  //   ICS cos median  none 0.912 / 0.931 / 0.927, BN 0.995 / 0.994 / 0.994
  //   ICS ||G-G'||/||G|| median  none 0.45 / 0.38 / 0.41, BN 0.147 / 0.145 / 0.154
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("noisy-bn", seed, 300);
    MESSAGE(r.summary.dump());
    // About as well as BN: within 4 points of test accuracy (measured gaps 0.4 to 2.2 points).
    CHECK(figure(r, "test_accuracy", "noisy-bn") >= figure(r, "test_accuracy", "bn") - 0.04);
    // Better than none: higher accuracy (by 4.5 to 16 points) and at most 0.6 of its final
    // training loss (measured 0.17 to 0.39).
    CHECK(figure(r, "test_accuracy", "noisy-bn") >= figure(r, "test_accuracy", "none") + 0.02);
    CHECK(figure(r, "final_train_loss", "noisy-bn") <= 0.6 * figure(r, "final_train_loss", "none"));
    // Although its layer inputs move more from step to step than the plain network's: measured
    // 2.2x to 4.6x; asserted 1.5x.
    CHECK(figure(r, "instability", "noisy-bn") >= 1.5 * figure(r, "instability", "none"));
    // NUMERICS.md 4b NOT reproduced: Santurkar et al. find BN networks show no less ICS by the
    // gradient measure (often more); here BN shows clearly less, by both measures. The test
    // asserts what BN Lab finds (measured cos 0.99+ vs 0.91-0.93; relative change about a third).
    CHECK(figure(r, "ics_cosine_median", "bn") > figure(r, "ics_cosine_median", "none"));
    CHECK(figure(r, "ics_relative_median", "bn") <= 0.6 * figure(r, "ics_relative_median", "none"));
    // The tables: 3 runs x 300 steps of curves; 16 ICS measurements x 3 layers x 3 runs.
    CHECK(table(r, "curves").rows() == 900);
    CHECK(table(r, "ics").rows() == 16 * 3 * 3);
    // Gradient ICS by network and rate (issue 14): the reference CNN at 0.1 is the pair above,
    // the other three pairs (CNN at 0.05, sigmoid MLP at 0.05 and 0.1) are trained for it; each
    // network has 3 layers with layers below them, measured 16 times, BN and none.
    const Json& by_rate = r.summary.get("ics_relative_by_rate");
    CHECK(by_rate.get("ref-cnn").get("0.1").get("bn").number() ==
          figure(r, "ics_relative_median", "bn"));
    CHECK(by_rate.get("ref-cnn").get("0.1").get("none").number() ==
          figure(r, "ics_relative_median", "none"));
    CHECK(table(r, "ics_by_rate").rows() == 16 * 3 * 2 * 3);
    // ||G - G'|| / ||G||, BN / none, measured at 300 steps (seeds 1 / 2): CNN at 0.05 0.55 / 0.47,
    // at 0.1 0.28 / 0.29; sigmoid MLP at 0.05 1.78 / 1.56 (Santurkar et al.'s direction), at 0.1
    // 0.93 / 1.02 (the plain MLP's shift grows with the rate, BN's hardly). Asserted with room.
    auto ratio = [&](const char* net, const char* lr) {
      return by_rate.get(net).get(lr).get("bn").number() /
             by_rate.get(net).get(lr).get("none").number();
    };
    CHECK(ratio("ref-cnn", "0.05") <= 0.75);
    CHECK(ratio("ref-cnn", "0.1") <= 0.6);
    CHECK(ratio("mlp", "0.05") >= 1.25);
    CHECK(ratio("mlp", "0.1") >= 0.67);
    CHECK(ratio("mlp", "0.1") <= 1.5);
  }
}

TEST_CASE("experiments.landscape: with BN the loss range, gradient change and beta-smoothness are smaller") {
  // ref-cnn, lr 0.05, 400 steps (the default), median over 20 probes. Ratios BN / none measured
  // (seeds 1 / 2 / 3): loss range 0.72 / 0.52 / 0.53, predictiveness 0.44 / 0.41 / 0.41,
  // beta-smoothness 0.48 / 0.51 / 0.42, predictiveness relative to ||g|| 0.67 / 0.69 / 0.65.
  // Asserted: every ratio below 0.9 (the loss range has the least margin), the others below 0.8.
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("landscape", seed, 400);
    MESSAGE(r.summary.dump());
    CHECK(figure(r, "ratio_bn_to_none", "loss_range") < 0.9);
    CHECK(figure(r, "ratio_bn_to_none", "predictiveness") < 0.8);
    CHECK(figure(r, "ratio_bn_to_none", "relative_predictiveness") < 0.8);
    CHECK(figure(r, "ratio_bn_to_none", "beta_smoothness") < 0.8);
    CHECK(table(r, "landscape").rows() == 2 * 20);
    CHECK(table(r, "landscape_etas").rows() == 2 * 20 * 4);
  }
}

TEST_CASE("experiments.batch-size: BN fails at batch 2 where a layer sees 2 values, GroupNorm does not") {
  // 150 steps at batch 32, i.e. 4,800 examples per run, lr 0.05 * B / 32. Measured (seeds 1 / 2 / 3):
  //   dense-bn BN   accuracy at batch 32 minus at batch 2: 0.43 / 0.38 / 0.39
  //   dense-bn GN   spread (max - min) over batch 2..32: 0.016 / 0.027 / 0.020; LN 0.017 / 0.023 /
  //                 0.011; GN(2) - BN(2): 0.42 / 0.35 / 0.38
  //   small-cnn BN  (normalizers after the convs only, m = 2*H*W >= 392) accuracy at 32 minus at 2:
  //                 -0.021 / -0.031 / 0.016; InstanceNorm spread 0.020 / 0.012 / 0.020
  //   Batch Renorm at batch 2: 0.55 / 0.58 / 0.17, no better than BN on seed 3: not asserted.
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("batch-size", seed, 150);
    MESSAGE(r.summary.dump());
    const Json& acc = r.summary.get("test_accuracy");
    auto a = [&](const char* model, const char* norm, const char* batch) {
      return acc.get(model).get(norm).get(batch).number();
    };
    // Wu & He's result, as a cliff: BN degrades at the smallest batch (asserted: 25 points) ...
    CHECK(figure(r, "bn_accuracy_drop_32_to_2", "dense-bn") >= 0.25);
    // ... while GroupNorm and LayerNorm stay within 5 points from batch 2 to 32, and GroupNorm
    // beats BN at batch 2 by 25 points.
    CHECK(figure(r, "accuracy_spread_2_to_32", "dense-bn/group") <= 0.05);
    CHECK(figure(r, "accuracy_spread_2_to_32", "dense-bn/layer") <= 0.05);
    CHECK(a("dense-bn", "group", "2") >= a("dense-bn", "batch", "2") + 0.25);
    // Where BN sees many values per channel, batch 2 does not hurt it (asserted: it loses at most
    // 4 points to batch 32); InstanceNorm is flat too. Wu & He's gradual degradation is not seen.
    CHECK(figure(r, "bn_accuracy_drop_32_to_2", "small-cnn") <= 0.04);
    CHECK(figure(r, "accuracy_spread_2_to_32", "small-cnn/instance") <= 0.05);
    CHECK(table(r, "batch_size").rows() == 6 * 6);
  }
}

TEST_CASE("experiments.placement: BN before and after the activation both train, within evaluation noise") {
  // ref-cnn, lr 0.05, 400 steps; mean test accuracy of the last two evaluations. Measured
  // (seeds 1 / 2 / 3): before 0.967 / 0.962 / 0.964, after 0.957 / 0.962 / 0.958, none 0.952 /
  // 0.958 / 0.954. Before is ahead by 0 to 1 point; the final training loss orders them
  // differently from seed to seed, so only this is asserted: both reach 94% (a point of margin
  // below the lowest value measured, for other floating-point paths), within 2 points.
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("placement", seed, 400);
    MESSAGE(r.summary.dump());
    const double before = figure(r, "late_test_accuracy", "before"), after = figure(r, "late_test_accuracy", "after");
    CHECK(before >= 0.94);
    CHECK(after >= 0.94);
    CHECK(std::fabs(before - after) <= 0.02);
  }
}

TEST_CASE("experiments.train-eval: the 20-layer chain, running statistics and train-mode accuracy") {
  // 200 steps of ref-cnn. Measured (seeds 1 / 2 / 3):
  //   chain: eval/train at layer k = (63/64)^(k/2) within 5.7e-5 relative at worst (layer 20:
  //          0.854340 vs 0.854291); float32 running variances stop moving once momentum * gap
  //          is below half an ulp, about 6e-6 from the target, which gives ~3e-6 per layer
  //   population gap at step 5: momentum 0.01 0.62 / 0.49 / 0.51 > 0.1 0.41 / 0.35 / 0.37 >
  //          0.5 0.11 / 0.13 / 0.16; at the end cumulative 0.152 / 0.149 / 0.138 vs 0.1
  //          0.051 / 0.059 / 0.068
  //   accuracy (first 1,024 test images) at step 5: eval (momentum 0.1) 0.549 / 0.525 / 0.471 vs
  //          train mode on chunks of 32 0.636 / 0.659 / 0.655; at the end eval 0.938 / 0.938 /
  //          0.949, chunks of 32 0.939 / 0.943 / 0.945, chunks of 2 0.601 / 0.608 / 0.574
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("train-eval", seed, 200);
    MESSAGE(r.summary.dump());
    // (a) Exact maths: every layer within 2e-4 relative of (63/64)^(k/2).
    const Table& chain = table(r, "chain");
    REQUIRE(chain.rows() == 20);
    for (const auto& row : chain.data()) {
      const int k = std::stoi(row[0]);
      CAPTURE(k);
      CHECK(std::stod(row[1]) == doctest::Approx(std::pow(63.0 / 64.0, k / 2.0)).epsilon(2e-4));
    }
    CHECK(figure(r, "chain_ratio_layer20") == doctest::Approx(0.8542908).epsilon(2e-4));
    // (b) The momentum changes only the running estimates, never the training itself.
    CHECK(r.summary.get("identical_training").boolean());
    // Early on a small momentum lags: the running means are further from the population's.
    CHECK(figure(r, "population_gap_early", "0.01") > figure(r, "population_gap_early", "0.1"));
    CHECK(figure(r, "population_gap_early", "0.1") > figure(r, "population_gap_early", "0.5"));
    // Late, the cumulative average still carries the statistics of long-gone weights: measured
    // 2.0x to 3.0x the gap of momentum 0.1; asserted 1.5x.
    CHECK(figure(r, "population_gap_final", "cumulative") >= 1.5 * figure(r, "population_gap_final", "0.1"));
    // (c) Early, running statistics lag and eval mode is worse than train mode (measured by 9 to
    // 19 points; asserted 5) ...
    CHECK(figure(r, "eval_accuracy_early", "0.1") <= figure(r, "train_mode_accuracy_early", "32") - 0.05);
    // ... at the end they agree for chunks of the training batch (measured within 0.6 point;
    // asserted 2), while predicting with the statistics of 2 examples costs 30+ points.
    CHECK(std::fabs(figure(r, "eval_accuracy_final", "0.1") - figure(r, "train_mode_accuracy_final", "32")) <= 0.02);
    CHECK(figure(r, "train_mode_accuracy_final", "2") <= figure(r, "eval_accuracy_final", "0.1") - 0.2);
  }
}
