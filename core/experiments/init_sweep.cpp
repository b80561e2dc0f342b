// init-sweep: accuracy across initialization scales, with and without BN (NUMERICS.md 6).
#include <algorithm>

#include "experiments/common.h"

namespace bnlab {

namespace {

constexpr int kInitSweepSteps = 500;  // the default steps (--steps 0)

const std::vector<float> kScales = {0.01f, 0.03f, 0.1f, 0.3f, 1.f,
                                    3.f,   10.f,  30.f, 100.f};  // two units each (BN, none)

// Units [begin, end): the run with BN, then the one without, at each of those scales.
Tables init_sweep_units(const ExperimentOptions& options, int begin, int end) {
  return pair_sweep_units(
      options, kInitSweepSteps, "init_scale", kScales,
      [](Config& c, float scale) { c.init_scale = scale; }, begin, end);
}

// Per variant, from the runs table (rows in scale order): how many scales train, the smallest and
// largest that do, and the worst accuracy.
Json init_sweep_summary(const ExperimentOptions& options, const Tables& tables) {
  const Table& runs = tables.at(0).second;
  const size_t accuracy = column(runs, "test_accuracy"), trains = column(runs, "trains");
  int trained[2] = {0, 0};
  float worst[2] = {1, 1}, smallest[2] = {0, 0}, largest[2] = {0, 0};  // 0: no scale trains
  for (const auto& row : runs.data())
    for (int r = 0; r < 2; ++r) {
      if (row[0] != label(kPair[r])) continue;
      worst[r] = std::min(worst[r], cell_float(row[accuracy]));
      if (row[trains] != "true") continue;
      const float scale = cell_float(row[1]);
      ++trained[r];
      if (smallest[r] == 0) smallest[r] = scale;
      largest[r] = scale;
    }
  Json j = Json::object();
  for (int r = 0; r < 2; ++r) {
    const std::string k = label(kPair[r]);
    j.set("scales_trained_" + k, trained[r]);
    j.set("smallest_scale_trained_" + k, or_null(trained[r] > 0, smallest[r]));
    j.set("largest_scale_trained_" + k, or_null(trained[r] > 0, largest[r]));
    j.set("worst_accuracy_" + k, double(worst[r]));
  }
  j.set("scales", int(kScales.size()));
  j.set("threshold_accuracy", double(trains_accuracy(options.dataset)));
  return j;
}

}  // namespace

ExperimentInfo init_sweep_experiment() {
  return sweep_experiment(
      "init-sweep", "BN reduces the need for careful initialization",
      "Initialization-scale sweep. The sigmoid MLP on MNIST starts from He-normal weights "
      "multiplied by 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30 or 100, with and without BN (same weights "
      "and batches for both variants of a scale), and trains for 500 steps at the default "
      "optimizer (lr 0.05, momentum 0.9). Measured: final test accuracy; a run trains as in "
      "lr-sweep (no divergence, 80% or more; 70% on Fashion-MNIST, targets.h). The claim (Ioffe & Szegedy): with BN, training is "
      "far less sensitive to the initial scale, since a layer followed by BN gives the same output "
      "whatever the scale of its weights. BN Lab reproduces it (claim init; seeds 1 and 2): with "
      "BN 8 of the 9 "
      "scales train (0.01 to 30; at 100 it reaches 71-73%, the final layer, which has no BN after "
      "it, starting from huge logits); without BN only 3 do (1 to 10): at 0.3 and below the "
      "network stays at chance for all 500 steps, at 30 and 100 its sigmoids saturate. Without BN "
      "the best scale is 3, not 1: He's gain is made for ReLU, not sigmoid.",
      kInitSweepSteps, {pair_sweep_unit_count(kScales), init_sweep_units, init_sweep_summary});
}

}  // namespace bnlab
