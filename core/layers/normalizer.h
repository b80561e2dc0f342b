// Which normalizer a model puts where its spec says "bn", with every setting NUMERICS.md names.
// Defaults are PyTorch's (torch.nn.BatchNorm2d): eps 1e-5, momentum 0.1, affine, tracking.
#pragma once

#include <memory>
#include <string>

#include "base/rng.h"
#include "layers/layer.h"

namespace bnlab {

enum class NormKind {
  None,      // no normalization: the "bn" positions of the spec are dropped
  Batch,     // BatchNorm1d over (N) / BatchNorm2d over (N, H, W)
  Layer,     // per sample over (C, H, W)
  Group,     // per sample and group of C/G channels over (C/G, H, W)
  Instance,  // per sample and channel over (H, W)
  Renorm,    // Batch Renormalization (Ioffe 2017)
  Ghost,     // BatchNorm over sub-batches of ghost_batch samples
};

struct NormConfig {
  NormKind kind = NormKind::Batch;
  float eps = 1e-5f;
  float momentum = 0.1f;      // PyTorch convention: weight of the new batch statistic
  bool cumulative = false;    // PyTorch's momentum=None: factor 1 / num_batches_tracked
  bool affine = true;         // learn gamma (weight) and beta (bias)
  bool track_running_stats = true;
  int groups = 4;             // GroupNorm: number of groups G (must divide C)
  float r_max = 3.f;          // Batch Renorm clip of r to [1/r_max, r_max]
  float d_max = 5.f;          // Batch Renorm clip of d to [-d_max, d_max]
  int ghost_batch = 8;        // Ghost BN: samples per sub-batch
};

// Names used in specs, configs, URLs and state files: none, batch, layer, group, instance,
// renorm, ghost. Throws Error listing the valid names.
NormKind parse_norm_kind(const std::string& name);
std::string norm_kind_name(NormKind kind);

// Throws Error naming the first invalid field: eps must be finite and > 0, momentum in [0, 1],
// groups >= 1, ghost_batch >= 2, r_max >= 1, d_max >= 0 (every field is checked whatever the
// kind, so a config is valid or not on its own), and Renorm needs track_running_stats (its r
// and d come from the running estimates). The layers' constructors call it too.
void validate_norm_config(const NormConfig& config);

// The normalizer layer for `channels` channels (kind None is not a layer: returns nullptr).
// Throws Error for an impossible setting (groups not dividing channels, eps <= 0, ...).
std::unique_ptr<Layer> make_normalizer(const NormConfig& config, int channels);

}  // namespace bnlab
