// Batch Normalization as torch.nn.BatchNorm1d / BatchNorm2d compute it (NUMERICS.md 1-2), plus the
// two batch-statistics variants of NUMERICS.md 3: Batch Renormalization and Ghost BN.
//
// One class serves BatchNorm1d and BatchNorm2d: the input is (N, C, H, W) and the statistics of
// channel c are taken over its m = N*H*W values; a dense activation is (N, C, 1, 1), so m = N.
//
//   kind()  NormKind   statistics used in Train mode
//   "bn"    Batch      the whole batch
//   "brn"   Renorm     the whole batch, corrected by r and d towards the running estimates
//   "gbn"   Ghost      each sub-batch of config.ghost_batch consecutive samples on its own
//
// Eval mode normalizes with running_mean and running_var; without track_running_stats there are
// none and batch statistics are used in both modes (as in PyTorch). Normalizing with batch
// statistics one value per channel (m = 1) throws PyTorch's "Expected more than 1 value per
// channel when training"; BatchNorm2d with N = 1 and H*W > 1 is fine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "layers/normalizer.h"

namespace bnlab {

class BatchNorm : public Layer {
 public:
  // Throws Error for an invalid config (validate_norm_config) or a kind that is not Batch,
  // Renorm or Ghost.
  BatchNorm(int channels, const NormConfig& config);

  std::string kind() const override;
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  std::vector<Param> params() override;
  std::vector<Buffer> buffers() override;
  std::vector<Counter> counters() override;

  // Instrumentation, filled by every forward at no extra cost.
  // Mean and biased variance {C, 1, 1, 1} of the last Train-mode forward, or in Eval mode the
  // statistics actually used (the running ones, or the batch's without tracking). For Ghost BN:
  // the sub-batch statistics averaged with weights proportional to sub-batch size.
  const Tensor& batch_mean() const { return batch_mean_; }
  const Tensor& batch_var() const { return batch_var_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  int64_t num_batches_tracked() const { return num_batches_tracked_; }
  Tensor& gamma() { return gamma_; }
  Tensor& beta() { return beta_; }
  // Batch Renorm's r and d {C, 1, 1, 1} used by the last forward (1 and 0 when it normalized
  // with running statistics, and always for the kinds Batch and Ghost).
  const Tensor& renorm_r() const { return r_; }
  const Tensor& renorm_d() const { return d_; }

  // What the last forward and backward really used and made, for measure/trace.h (one unit's
  // arithmetic). Kept by every forward at the cost of a few per-channel copies.
  // Statistics {S, C, 1, 1} per (sub-)batch s and channel: the mean and biased variance as the
  // layer centred and scaled with them (S = 1 unless Ghost; the running ones when the forward
  // normalized with running statistics), and inv_std = 1 / sqrt(var + eps) computed in double.
  const Tensor& sub_mean() const { return sub_mean_; }
  const Tensor& sub_var() const { return sub_var_; }
  const Tensor& inv_std() const { return inv_std_; }
  int sub_batch() const { return sub_batch_; }
  bool used_batch_stats() const { return used_batch_stats_; }
  bool tracks_running_stats() const { return track_running_stats_; }
  float eps() const { return eps_; }
  NormKind norm_kind() const { return kind_; }
  // gamma and beta {C, 1, 1, 1} as the last forward used them (the optimizer moves gamma() and
  // beta() after the backward).
  const Tensor& forward_gamma() const { return forward_gamma_; }
  const Tensor& forward_beta() const { return forward_beta_; }
  // (N, C, H, W) before r and d, formed again from the last forward's input as forward and
  // backward form it (not stored: that saved a pass of stores per forward).
  Tensor xhat() const;
  const Tensor& output() const { return y_; }       // (N, C, H, W)
  const Tensor& input_grad() const { return dx_; }  // (N, C, H, W) of the last backward
  const Tensor& dgamma() const { return dgamma_; }  // accumulated since zero_grad()
  const Tensor& dbeta() const { return dbeta_; }

 private:
  // Throws PyTorch's error when some (sub-)batch would give one value per channel.
  void check_batch_size(const Shape& in, int sub_batch) const;
  // Folds one batch statistic into the running estimates (PyTorch's update, NUMERICS.md 2).
  void update_running(int c, double mean, double var, int64_t m, double factor);

  int channels_;
  NormKind kind_;
  float eps_;
  float momentum_;
  bool cumulative_;
  bool affine_;
  bool track_running_stats_;
  float r_max_, d_max_;
  int ghost_batch_;

  Tensor gamma_, beta_;                 // {C, 1, 1, 1}: "weight" and "bias" (1 and 0 without affine)
  Tensor dgamma_, dbeta_;               // {C, 1, 1, 1}
  Tensor running_mean_, running_var_;   // {C, 1, 1, 1}: start at 0 and 1
  int64_t num_batches_tracked_ = 0;

  // Forward cache. xhat = (x - mean) * inv_std (for Renorm before r and d) is formed from the
  // input again where needed, so the input must outlive the backward unchanged (the model's
  // inputs are the previous layers' outputs, which do; Layer's contract).
  const Tensor* input_ = nullptr;  // the last forward's input x
  Tensor inv_std_;    // {S, C, 1, 1}: 1 / sqrt(var + eps) of sub-batch s (S = 1 unless Ghost)
  Tensor r_, d_;      // {C, 1, 1, 1}: Renorm's corrections, constants in backward
  Tensor sub_mean_, sub_var_;  // {S, C, 1, 1}: the statistics used (see sub_mean())
  Tensor forward_gamma_, forward_beta_;  // {C, 1, 1, 1}: gamma and beta the forward used
  int sub_batch_ = 0; // samples per sub-batch of the last forward (N unless Ghost)
  bool used_batch_stats_ = true;  // last forward normalized with batch (not running) statistics

  Tensor batch_mean_, batch_var_;  // {C, 1, 1, 1}: see batch_mean()
  // Scratch of forward, kept so that a step allocates nothing after the first: a sub-batch's
  // statistics in double (mean, var) and each channel's mean in float (the center).
  std::vector<double> stat_mean_, stat_var_;
  std::vector<float> stat_center_;
  std::vector<double> sum_g_, sum_gx_;  // backward's scratch: each channel's sums of g, g * xhat
  std::vector<float> dx_coef_;          //   and its factors of dx (k, mean g, mean g * xhat)
  Tensor y_;   // (N, C, H, W)
  Tensor dx_;  // (N, C, H, W)
};

}  // namespace bnlab
