// The training experiments reproduce (or, where BN Lab's data does not, report failing to
// reproduce) the published results of NUMERICS.md section 6, on seeds 1 and 2, at their default
// sizes. Every threshold below is set from the values measured on both seeds (quoted in the
// comments as seed 1 / seed 2), with a margin, and on the side of the claim.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "base/error.h"
#include "experiments/experiments.h"

using namespace bnlab;

static ExperimentResult run(const std::string& name, uint32_t seed, int steps = 0) {
  ExperimentOptions options;
  options.seed = seed;
  options.steps = steps;
  options.data_dir = BNLAB_DATA_DIR;
  return find_experiment(name).run(options);
}

static double num(const Json& j, const std::string& key) { return j.get(key).number(key); }

static const Table& table(const ExperimentResult& r, const std::string& stem) {
  const Table* found = nullptr;
  for (const auto& [name, t] : r.tables)
    if (name == stem) found = &t;
  REQUIRE_MESSAGE(found != nullptr, "no table " << stem);
  return *found;
}

static size_t column(const Table& t, const std::string& name) {
  const auto& columns = t.columns();
  const size_t i = size_t(std::find(columns.begin(), columns.end(), name) - columns.begin());
  REQUIRE_MESSAGE(i < columns.size(), "no column " << name);
  return i;
}

TEST_CASE("experiments.the seven training experiments are registered with descriptions") {
  const std::set<std::string> expected = {"ioffe-mnist", "lr-sweep",       "init-sweep",     "grad-init",
                                          "convergence", "regularization", "covariate-shift"};
  std::set<std::string> registered;
  for (const ExperimentInfo& e : experiments()) registered.insert(e.name);
  CHECK(registered.size() == experiments().size());  // no name twice
  for (const std::string& name : expected) {
    CAPTURE(name);
    REQUIRE(registered.count(name) == 1);
    const ExperimentInfo& e = find_experiment(name);
    CHECK(e.name == name);
    CHECK(e.description.size() > 400);  // what is run, measured, claimed and found
    CHECK(e.default_steps > 0);
  }
  CHECK_THROWS_AS(run("grad-init", 1, -1), Error);
}

TEST_CASE("experiments.tables are RFC 4180 CSV and the output directory is made with its parents") {
  Table t({"name", "value"});
  t.add({"plain", fmt(0.5)});
  t.add({"a, b", "say \"hi\""});
  t.add({"two\nlines", fmt(std::nan(""))});
  CHECK(t.csv() == "name,value\nplain,0.5\n\"a, b\",\"say \"\"hi\"\"\"\n\"two\nlines\",nan\n");
  CHECK_THROWS_AS(t.add({"one cell"}), Error);

  const std::filesystem::path base = std::filesystem::temp_directory_path() / "bnlab_test_output_dir";
  std::filesystem::remove_all(base);
  const std::string nested = (base / "a" / "b").string();
  make_output_dir(nested);
  CHECK(std::filesystem::is_directory(nested));
  make_output_dir(nested);  // existing: fine
  std::ofstream(base / "file") << "x";
  const std::string message = "cannot create directory " + (base / "file").string();
  CHECK_THROWS_WITH_AS(make_output_dir((base / "file" / "sub").string()),
                       doctest::Contains(message.c_str()), Error);
  CHECK_THROWS_WITH_AS(make_output_dir(""), doctest::Contains("--out DIR"), Error);
  std::filesystem::remove_all(base);
}

TEST_CASE("experiments.grad-init is deterministic for a seed and differs across seeds") {
  const ExperimentResult a = run("grad-init", 1, 2), b = run("grad-init", 1, 2), c = run("grad-init", 2, 2);
  CHECK(a.summary.dump() == b.summary.dump());
  CHECK(table(a, "gradients").csv() == table(b, "gradients").csv());
  CHECK(a.summary.dump() != c.summary.dump());
  // 2 batches x (4 + 9 + 9 + 6 weighted layers) x 2 variants.
  CHECK(table(a, "gradients").rows() == 2 * 28 * 2);
  CHECK(num(a.summary, "batches") == 2);
}

TEST_CASE("experiments.ioffe-mnist: BN learns faster and its sigmoid input drifts less") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("ioffe-mnist", seed);
    const Json& s = r.summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    // Measured accuracy at step 500: BN 0.907 / 0.910, none 0.420 / 0.495; at step 2000: BN
    // 0.927 / 0.925, none 0.879 / 0.873.
    CHECK(num(s, "early_step") == 500);
    CHECK(num(s, "accuracy_early_bn") >= num(s, "accuracy_early_none") + 0.2);
    CHECK(num(s, "accuracy_final_bn") >= num(s, "accuracy_final_none") + 0.02);
    CHECK(num(s, "accuracy_early_bn") >= 0.85);
    // Drift of the median: BN 0.181 / 0.179, none 1.03 / 0.71 (ratio 5.7 / 4.0); of the 85-15
    // spread: BN 0.61 / 0.62, none 1.90 / 2.21 (ratio 3.1 / 3.5). Asserted: at least twice.
    CHECK(num(s, "median_drift_none") >= 2 * num(s, "median_drift_bn"));
    CHECK(num(s, "spread_drift_none") >= 2 * num(s, "spread_drift_bn"));
    // The bands follow the BN-normalized input: near a unit normal at the first measurement
    // (the 15th and 85th percentiles of N(0, 1) are -+1.04; after 40 steps of moving gamma and
    // beta, unit 0 measures -0.98 / -1.07 and 1.05 / 1.05).
    const Table& bands = table(r, "bands");
    CHECK(bands.rows() == 2 * 50 * 10);  // 2 runs x 50 measurements x 10 units
    const auto& first = bands.data().front();
    CHECK(first[column(bands, "run")] == "bn");
    CHECK(first[column(bands, "step")] == "40");
    const double p15 = std::stod(first[column(bands, "p15")]), p85 = std::stod(first[column(bands, "p85")]);
    CHECK(p15 >= -1.3);
    CHECK(p15 <= -0.8);
    CHECK(p85 >= 0.8);
    CHECK(p85 <= 1.3);
  }
}

TEST_CASE("experiments.lr-sweep: the largest learning rate that trains is higher with BN") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("lr-sweep", seed);
    const Json& s = r.summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    // Measured: BN 1 / 1, none 0.3 / 0.3. Asserted: both train at some rate, and BN's largest is
    // at least one grid step (x3.16) above the plain network's.
    REQUIRE(s.get("largest_lr_bn").is_number());
    REQUIRE(s.get("largest_lr_none").is_number());
    CHECK(num(s, "largest_lr_bn") >= 3 * num(s, "largest_lr_none"));
    // The "trains" column follows its definition, and every (variant, lr) pair has one row.
    const Table& runs = table(r, "runs");
    CHECK(runs.rows() == 14);
    for (const auto& row : runs.data()) {
      const bool trains = row[column(runs, "diverged")] == "false" &&
                          std::stod(row[column(runs, "test_accuracy")]) >= num(s, "threshold_accuracy");
      CHECK(row[column(runs, "trains")] == (trains ? "true" : "false"));
    }
  }
}

TEST_CASE("experiments.init-sweep: BN trains from a far wider range of initial scales") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("init-sweep", seed);
    const Json& s = r.summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    // Measured: BN trains at 8 / 8 of the 9 scales (0.01 to 30), none at 3 / 3 (1 to 10); the
    // worst BN run ends at 0.73 / 0.71 (scale 100), the worst plain one at chance, 0.10 / 0.10.
    CHECK(num(s, "scales_trained_bn") >= num(s, "scales_trained_none") + 3);
    CHECK(num(s, "scales_trained_none") <= 4);
    CHECK(num(s, "worst_accuracy_bn") >= 0.6);
    CHECK(num(s, "worst_accuracy_none") <= 0.2);
    // BN trains at every scale from 0.01 to 10 (four decades below He and one above).
    const Table& runs = table(r, "runs");
    for (const auto& row : runs.data()) {
      if (row[column(runs, "variant")] != "bn" || std::stod(row[column(runs, "init_scale")]) > 10.5) continue;
      CAPTURE(row[column(runs, "init_scale")]);
      CHECK(row[column(runs, "trains")] == "true");
    }
  }
}

TEST_CASE("experiments.grad-init: BN evens out sigmoid gradients, and makes deep ReLU gradients grow toward the input") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const Json s = run("grad-init", seed).summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    const Json &mlp = s.get("mlp"), &sig = s.get("sigmoid-mlp-8"), &relu = s.get("relu-mlp-8"), &cnn = s.get("deep-cnn");
    // Sigmoid, 8 hidden layers: spread none 6173 / 3827, BN 3.38 / 3.44; the first layer's
    // gradient is 1.6e-4 / 2.6e-4 of the classifier's without BN (vanishing), 1.24 / 0.95 with.
    CHECK(num(sig, "spread_none") >= 100 * num(sig, "spread_bn"));
    CHECK(num(sig, "first_over_last_none") <= 0.01);
    CHECK(num(sig, "first_over_last_bn") >= 0.5);
    CHECK(num(sig, "first_over_last_bn") <= 2);
    // Ioffe & Szegedy's 3-layer MLP: spread none 19.2 / 14.7, BN 3.15 / 2.84.
    CHECK(num(mlp, "spread_none") >= 3 * num(mlp, "spread_bn"));
    // ReLU, 8 hidden layers, He init: even without BN (spread 3.17 / 3.66); BN's gradients grow
    // toward the input (first_over_last 12.4 / 10.4, spread 12.6 / 11.7), as Yang et al. (2019)
    // predict. The claim "BN keeps gradients healthier" does not hold here, and the test says so.
    CHECK(num(relu, "spread_bn") >= 2 * num(relu, "spread_none"));
    CHECK(num(relu, "first_over_last_bn") >= 5);
    CHECK(num(relu, "spread_none") <= 5);
    // deep-cnn: no large difference (spread BN 5.31 / 3.84, none 6.29 / 5.66).
    const double ratio = num(cnn, "spread_none") / num(cnn, "spread_bn");
    CHECK(ratio >= 0.5);
    CHECK(ratio <= 2.0);
  }
}

TEST_CASE("experiments.convergence: BN reaches the target accuracies in fewer steps") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const Json s = run("convergence", seed).summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    for (const char* key : {"steps_to_85_none", "steps_to_85_bn", "steps_to_85_bn-x5", "steps_to_90_none",
                            "steps_to_90_bn", "steps_to_90_bn-x5"})
      REQUIRE_MESSAGE(s.get(key).is_number(), key << " was never reached");
    // 85%: BN 60 / 60 steps, none 460 / 460; 90%: BN 300 / 180, none 920 / 760.
    CHECK(3 * num(s, "steps_to_85_bn") <= num(s, "steps_to_85_none"));
    CHECK(2 * num(s, "steps_to_90_bn") <= num(s, "steps_to_90_none"));
    CHECK(num(s, "speedup_90") == doctest::Approx(num(s, "steps_to_90_none") / num(s, "steps_to_90_bn")));
    // BN at 5x the rate: faster than no BN (85%: 120 / 120; 90%: 360 / 440) but not faster than BN
    // at the same rate at 85% (120 against 60 on both seeds): the paper's BN-x5 gain does not
    // reproduce on this problem.
    CHECK(num(s, "steps_to_85_bn-x5") < num(s, "steps_to_85_none"));
    CHECK(num(s, "steps_to_90_bn-x5") < num(s, "steps_to_90_none"));
    CHECK(num(s, "steps_to_85_bn-x5") >= num(s, "steps_to_85_bn"));
  }
}

TEST_CASE("experiments.regularization: BN does not reduce the train/test gap on 500 digits") {
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const ExperimentResult r = run("regularization", seed);
    MESSAGE("seed " << seed << ": " << r.summary.dump());
    for (const char* network : {"mlp", "ref-cnn"}) {
      CAPTURE(network);
      const Json& s = r.summary.get(network);
      // Every run fits its 500 digits (measured: 100% for all eight runs).
      CHECK(num(s, "train_accuracy_bn") >= 0.99);
      CHECK(num(s, "train_accuracy_none") >= 0.99);
      CHECK(num(s, "gap_bn") == doctest::Approx(num(s, "train_accuracy_bn") - num(s, "test_accuracy_bn")));
      CHECK(num(s, "gap_none") == doctest::Approx(num(s, "train_accuracy_none") - num(s, "test_accuracy_none")));
      // The claim would be a clearly smaller gap with BN. Measured gaps, BN against none: mlp
      // 0.178 / 0.174 against 0.154 / 0.164 (larger with BN), ref-cnn 0.067 / 0.063 against
      // 0.068 / 0.068 (the same). Asserted: BN's gap is not smaller by more than 2 points. (The
      // MLP's larger gap with BN holds on both seeds but by 1 point on seed 2: not asserted.)
      CHECK(num(s, "gap_bn") >= num(s, "gap_none") - 0.02);
      // The summary is the table's last record of each run.
      const Table& t = table(r, "accuracy");
      for (const auto& row : t.data()) {
        if (row[column(t, "network")] != network || row[column(t, "step")] != "800") continue;
        const std::string k = row[column(t, "variant")];
        CHECK(std::stod(row[column(t, "train_accuracy")]) == doctest::Approx(num(s, "train_accuracy_" + k)));
        CHECK(std::stod(row[column(t, "test_accuracy")]) == doctest::Approx(num(s, "test_accuracy_" + k)));
      }
    }
  }
}

TEST_CASE("experiments.covariate-shift: BN on its running statistics falls to chance on shifted data, batch statistics and InstanceNorm recover part") {
  // Seeds 1-6 on an AVX-512 machine (the thresholds keep a margin for other summation orders):
  //   training-style test images: every variant 0.93-0.99
  //   shifted, eval mode: BN 0.16-0.18, no normalizer 0.15-0.30 (chance is 1/6)
  //   shifted, BN with the shifted batches' statistics: 0.27-0.62 (at least +0.10 over eval mode)
  //   shifted, InstanceNorm: 0.29-0.44
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    const Json s = run("covariate-shift", seed).summary;
    MESSAGE("seed " << seed << ": " << s.dump());
    for (const char* k : {"none", "bn", "instance"}) {
      CAPTURE(k);
      CHECK(num(s, std::string("shapes_") + k) >= 0.85);
    }
    CHECK(num(s, "shift_bn") <= 0.25);
    CHECK(num(s, "shift_none") <= 0.40);
    CHECK(num(s, "shift_train_mode_bn") >= num(s, "shift_bn") + 0.05);
    CHECK(num(s, "shift_instance") >= num(s, "shift_bn") + 0.05);
    // Neither comes near the training-style accuracy (gaps of 0.34 or more on seeds 1-6).
    CHECK(num(s, "shift_train_mode_bn") <= num(s, "shapes_bn") - 0.2);
    CHECK(num(s, "shift_instance") <= num(s, "shapes_instance") - 0.3);
    // Without running statistics, train and eval mode are the same computation.
    CHECK(num(s, "shift_train_mode_none") == num(s, "shift_none"));
    CHECK(num(s, "shift_train_mode_instance") == num(s, "shift_instance"));
  }
}
