// The noisy-BN perturbation of Santurkar et al. 2018 (NUMERICS.md 4c), placed after a BN layer to
// make its output distribution deliberately unstable. In Train mode every forward draws
//   mu_t ~ U(-0.5, 0.5),  sigma_t ~ U(1, 1.25)            shared by the whole batch
//   m ~ U(mu_t - 0.1, mu_t + 0.1),  s ~ N(sigma_t, 0.1)    per sample n and unit
//   y = s * x + m,  and backward dx = s * dy (s and m are constants, not functions of x).
// A unit is a channel: one (s, m) per (n, c), applied to the whole H*W feature map, as a conv
// feature map is one unit of the network; for a dense activation (N, F, 1, 1) a unit is a
// feature. Eval mode is the identity.
// Draw order, fixed so that a seed gives the same numbers natively and in WebAssembly (BN Lab's
// own Rng): mu_t, sigma_t, then for n = 0..N-1, for c = 0..C-1: m, then s.
#pragma once

#include <cstdint>
#include <string>

#include "base/rng.h"
#include "layers/layer.h"

namespace bnlab {

class NoisyShift : public Layer {
 public:
  NoisyShift(int channels, uint32_t seed);

  std::string kind() const override { return "noise"; }
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  // The generator's state, to save a run and continue it bit-identically.
  uint32_t rng_state() const { return rng_.state(); }
  void set_rng_state(uint32_t state) { rng_.set_state(state); }

  // Instrumentation: the draws of the last forward (s = 1, m = 0 in Eval mode).
  double mu_t() const { return mu_t_; }
  double sigma_t() const { return sigma_t_; }
  const Tensor& scale() const { return scale_; }  // {N, C, 1, 1}: s per sample and unit
  const Tensor& shift() const { return shift_; }  // {N, C, 1, 1}: m per sample and unit

 private:
  int channels_;
  Rng rng_;
  double mu_t_ = 0.0, sigma_t_ = 1.0;
  Tensor scale_;  // {N, C, 1, 1}
  Tensor shift_;  // {N, C, 1, 1}
  Tensor y_;      // (N, C, H, W)
  Tensor dx_;     // (N, C, H, W)
};

}  // namespace bnlab
