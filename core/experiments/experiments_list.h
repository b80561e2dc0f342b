// The registry of experiments (internal to core/experiments/experiments.cpp): each experiments_*.cpp file
// defines the ExperimentInfo of its experiments, and all_experiments() lists them in the order
// `bnlab experiment --list` shows.
#pragma once

#include <vector>

#include "experiments/experiments.h"

namespace bnlab {

std::vector<ExperimentInfo> all_experiments();
// experiments_training.cpp: ioffe-mnist, lr-sweep, init-sweep, grad-init, convergence,
// regularization, covariate-shift
std::vector<ExperimentInfo> training_experiments();
// experiments_normalization.cpp: noisy-bn, landscape, batch-size, placement, train-eval
std::vector<ExperimentInfo> normalization_experiments();

}  // namespace bnlab
