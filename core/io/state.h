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

// The largest state file BN Lab reads or writes: 64 MiB of text, about 2.5 million parameters
// (each written twice, weight and momentum, about 12 characters each). Parsing takes about ten
// times the text's size in memory, which WebAssembly's 2 GiB heap must hold beside the models.
inline constexpr size_t kMaxStateBytes = size_t(64) << 20;

// What load_state checks besides the shapes (a file that passes loads and trains sensibly):
//   step >= 0; diverged_at -1, or step + 1 (the step that diverged; the run stopped there);
//   every tensor value finite, every running_var >= 0; every counter (num_batches_tracked)
//   from 0 to 2^53; noise_rng states from 1 to 2^32 - 1 (xorshift32 stays at 0 forever);
//   the sampler's epoch and position within the training set; the config's options each in
//   their range and the combination valid (train/config.h), and its model within the budget.

// The config stored in a state file (options missing from the file keep their defaults).
// Throws Error if the text is not a BN Lab state.
Config config_from_state(const std::string& json);

}  // namespace bnlab
