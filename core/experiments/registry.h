// The registry of experiments (internal to core/experiments/): each experiment lives in its own
// file, <name>.cpp, which defines its run and returns its ExperimentInfo from the function
// declared here; experiments.cpp lists them in the order `bnlab experiment --list` shows.
#pragma once

#include "experiments/experiments.h"

namespace bnlab {

ExperimentInfo ioffe_mnist_experiment();      // ioffe_mnist.cpp
ExperimentInfo lr_sweep_experiment();         // lr_sweep.cpp
ExperimentInfo init_sweep_experiment();       // init_sweep.cpp
ExperimentInfo grad_init_experiment();        // grad_init.cpp
ExperimentInfo convergence_experiment();      // convergence.cpp
ExperimentInfo regularization_experiment();   // regularization.cpp
ExperimentInfo covariate_shift_experiment();  // covariate_shift.cpp
ExperimentInfo noisy_bn_experiment();         // noisy_bn.cpp
ExperimentInfo landscape_experiment();        // landscape.cpp
ExperimentInfo batch_size_experiment();       // batch_size.cpp
ExperimentInfo placement_experiment();        // placement.cpp
ExperimentInfo train_eval_experiment();       // train_eval.cpp

}  // namespace bnlab
