// The accuracy targets of the experiments that ask "did it train?" (lr-sweep, init-sweep) and
// "how soon?" (convergence), per dataset. The sigmoid MLP these experiments train learns less of
// Fashion-MNIST than of MNIST in the same steps, so a target set for the digits would measure on
// the clothes whether a run reaches an accuracy the best network barely reaches, not whether it
// trains.
//
// The rule (core/experiments/findings/README.md): MNIST's targets were set first (80% "trains",
// 85% and 90% for convergence) and stay as they were. Another dataset's target is MNIST's target
// times (the best configuration's accuracy on that dataset / on MNIST), at the experiment's
// steps, rounded down to a whole point: "best configuration" is the run with the highest mean
// final test accuracy over seeds 1-10 (lr-sweep and init-sweep together for "trains": the MLP at
// 500 steps; the three convergence runs at 1,500 steps). The accuracies the values come from are
// in the README named above.
#pragma once

#include <array>
#include <cmath>
#include <string>

namespace bnlab {

// "Trains" (lr-sweep, init-sweep): the run did not diverge and ends at this test accuracy (eval
// mode) or above. MNIST: runs that learn end at 83-93% after 500 steps, runs that fail near
// chance (10%) or at most 53% (seeds 1 and 2): 80% separates them with room.
inline float trains_accuracy(const std::string& dataset) {
  // Fashion-MNIST: 80% x 0.8073 / 0.9148 = 70.6% -> 70% (best: BN at lr 0.01 in lr-sweep there, the
  // plain network at init scale 3 in init-sweep on MNIST).
  return dataset == "fashion" ? 0.7f : 0.8f;
}

// Convergence: steps to the lower and the higher target (MNIST: the MLP ends near 92%).
inline std::array<float, 2> convergence_targets(const std::string& dataset) {
  // Fashion-MNIST: 85% and 90% x 0.8368 / 0.9283 = 76.6% and 81.1% -> 76% and 81% (best: BN at 5x
  // the rate on both datasets).
  if (dataset == "fashion") return {0.76f, 0.81f};
  return {0.85f, 0.9f};
}

// The accuracy a run on the page aims at (the first screen's and the lessons' target line):
// convergence's higher target, on MNIST 90%, on Fashion-MNIST 81%.
inline float page_target(const std::string& dataset) { return convergence_targets(dataset)[1]; }

// A target as the whole percent that names its figures: 0.9 -> "90" (steps_to_90_bn).
inline std::string target_name(float target) { return std::to_string(std::lround(target * 100)); }

}  // namespace bnlab
