// The experiments on Fashion-MNIST (ExperimentOptions::dataset, `--dataset fashion`): they train
// on the clothes, not the digits, and covariate-shift applies its shift to Fashion-MNIST's test
// images. What each experiment finds there is in the README (from the multi-seed runs), not here.
#include <doctest/doctest.h>

#include <string>

#include "base/error.h"
#include "experiments/common.h"
#include "experiments/experiments.h"

using namespace bnlab;

namespace {

ExperimentOptions options_on(const std::string& dataset, int steps) {
  ExperimentOptions options;
  options.seed = 1;
  options.steps = steps;
  options.data_dir = BNLAB_DATA_DIR;
  options.dataset = dataset;
  return options;
}

}  // namespace

TEST_CASE("experiments.fashion: the configs name the dataset, and only real data is accepted") {
  CHECK(experiment_config("mlp", NormKind::Batch, options_on("fashion", 1)).dataset == "fashion");
  CHECK(experiment_config("mlp", NormKind::Batch, options_on("mnist", 1)).dataset == "mnist");
  CHECK_THROWS_WITH_AS(experiment_config("mlp", NormKind::Batch, options_on("shapes", 1)),
                       doctest::Contains("mnist or fashion, not 'shapes'"), Error);
  CHECK_THROWS_WITH_AS(find_experiment("covariate-shift").run(options_on("idx", 1)),
                       doctest::Contains("mnist or fashion, not 'idx'"), Error);
}

TEST_CASE(
    "experiments.fashion: grad-init measures other gradients on the clothes than on the digits") {
  // The same seed, weights and batch positions; only the images differ, so every measured
  // gradient-norm figure differs (a run that ignored the option would give equal ones).
  const ExperimentInfo& info = find_experiment("grad-init");
  const ExperimentResult fashion = info.run(options_on("fashion", 4));
  const ExperimentResult mnist = info.run(options_on("mnist", 4));
  const Json& f = fashion.summary.get("deep-cnn");
  const Json& m = mnist.summary.get("deep-cnn");
  REQUIRE(f.get("spread_bn").is_number());
  CHECK(f.get("spread_bn").number() != m.get("spread_bn").number());
  CHECK(f.get("spread_none").number() != m.get("spread_none").number());
}

TEST_CASE(
    "experiments.fashion: covariate-shift trains on Fashion-MNIST and tests on its restyled "
    "images") {
  const ExperimentResult r = find_experiment("covariate-shift").run(options_on("fashion", 30));
  CHECK(r.summary.get("dataset").string() == "fashion");
  // After 30 steps of SGD on 60,000 clothes the networks classify the training-style test images
  // well above chance (1 in 10; 68-70% at 30 steps on seed 1, 72-76% at 100), and every figure is a
  // fraction.
  for (const char* k : {"none", "bn", "instance"}) {
    CAPTURE(k);
    const double same = r.summary.get(std::string("shapes_") + k).number();
    const double shifted = r.summary.get(std::string("shift_") + k).number();
    CHECK(same > 0.3);
    CHECK(same <= 1.0);
    CHECK(shifted >= 0.0);
    CHECK(shifted <= 1.0);
  }
  // Without the option, it is its synthetic shapes, as before.
  const ExperimentResult shapes = find_experiment("covariate-shift").run(options_on("mnist", 2));
  CHECK(shapes.summary.get("dataset").string() == "shapes");
}
