// Group Normalization (Wu & He 2018) and its two extremes (NUMERICS.md 3), as
// torch.nn.GroupNorm computes it: per sample n and group of C/G consecutive channels, over the
// m = (C/G)*H*W values of that group, with the biased variance, then a per-channel affine.
//
//   kind()  groups   is
//   "gn"    G        GroupNorm(G)
//   "ln"    1        LayerNorm over (C, H, W)
//   "in"    C        InstanceNorm over (H, W)
//
// All three use the same per-channel gamma and beta ({C}, like nn.GroupNorm's), so that the
// normalizers differ only in the values they pool. This departs from torch.nn.LayerNorm([C, H, W])
// with elementwise_affine, whose weight has one entry per (c, h, w), and from
// torch.nn.InstanceNorm2d, whose default is affine=False; with gamma = 1 and beta = 0 the outputs
// are the same. No running statistics: Train and Eval modes compute the same thing.
#pragma once

#include <string>
#include <vector>

#include "layers/layer.h"
#include "layers/normalizer.h"

namespace bnlab {

class GroupNorm : public Layer {
 public:
  // kind: "gn", "ln" (groups must be 1) or "in" (groups must be channels). Uses config.eps and
  // config.affine (config.kind and config.groups are not read: channels and groups say it all).
  // Throws Error if groups does not divide channels or the config is invalid.
  GroupNorm(int channels, int groups, const NormConfig& config, std::string kind);

  std::string kind() const override { return kind_; }
  // Throws Error when a group would hold a single value ((C/G)*H*W == 1).
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  std::vector<Param> params() override;

  Tensor& gamma() { return gamma_; }
  Tensor& beta() { return beta_; }

  // What the last forward and backward really used and made, for measure/trace.h.
  int groups() const { return groups_; }
  float eps() const { return eps_; }
  // {N, G, 1, 1} per sample and group: the mean the layer centred with, the biased variance,
  // and inv_std = 1 / sqrt(var + eps) computed in double.
  const Tensor& group_mean() const { return mean_; }
  const Tensor& group_var() const { return var_; }
  const Tensor& inv_std() const { return inv_std_; }
  // gamma and beta as the last forward used them (the optimizer moves them after backward).
  const Tensor& forward_gamma() const { return forward_gamma_; }
  const Tensor& forward_beta() const { return forward_beta_; }
  const Tensor& xhat() const { return xhat_; }
  const Tensor& output() const { return y_; }
  const Tensor& input_grad() const { return dx_; }
  const Tensor& dgamma() const { return dgamma_; }
  const Tensor& dbeta() const { return dbeta_; }

 private:
  int channels_;
  int groups_;
  std::string kind_;
  float eps_;
  bool affine_;

  Tensor gamma_, beta_;    // {C, 1, 1, 1}: "weight" and "bias" (1 and 0 without affine)
  Tensor dgamma_, dbeta_;  // {C, 1, 1, 1}

  // Forward cache.
  Tensor xhat_;     // (N, C, H, W): (x - mean) / sqrt(var + eps) of its sample and group
  Tensor inv_std_;  // {N, G, 1, 1}: 1 / sqrt(var + eps) per sample and group
  Tensor mean_, var_;  // {N, G, 1, 1}: the statistics used (see group_mean())
  Tensor forward_gamma_, forward_beta_;  // {C, 1, 1, 1}

  Tensor y_;   // (N, C, H, W)
  Tensor dx_;  // (N, C, H, W)
};

}  // namespace bnlab
