// The state file of a run: everything needed to continue it bit-identically, as JSON with
// PyTorch's state_dict names. Written by Trainer::save_state, read by Trainer::load_state.
//
// {
//   "format": "bnlab-state", "version": 1,
//   "config": {"model": "ref-cnn", "norm": "batch", "lr": 0.05, ...},   every option (config.h)
//   "step": 120,                      SGD steps taken
//   "diverged_at": -1,                or the step whose loss or gradient was not finite
//   "sampler": {"epoch": 0, "position": 3840},
//   "noise_rng": [123456789],         states of the noisy-BN generators, in layer order
//   "tensors": {"conv1.weight": {"shape": [8, 1, 3, 3], "data": [...]}, ...,
//               "bn1.running_mean": {...}, "bn1.running_var": {...}},
//   "counters": {"bn1.num_batches_tracked": 120},
//   "optimizer": {"conv1.weight": {"momentum_buffer": {"shape": [...], "data": [...]}}, ...}
// }
// Tensors are row-major in PyTorch layouts (conv [out, in, kh, kw], linear [out, in]); floats are
// written with 9 significant digits, which reads back to the same float32.
#pragma once

#include <string>

#include "train/config.h"

namespace bnlab {

// The config stored in a state file (options missing from the file keep their defaults).
// Throws Error if the text is not a BN Lab state.
Config config_from_state(const std::string& json);

}  // namespace bnlab
