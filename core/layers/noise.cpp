#include "layers/noise.h"

#include "base/error.h"

namespace bnlab {

NoisyShift::NoisyShift(int channels, uint32_t seed) : channels_(channels), rng_(seed) {
  if (channels < 1) throw Error("noise: channels must be >= 1, got " + std::to_string(channels));
}

Shape NoisyShift::output_shape(const Shape& in) const {
  if (in.c != channels_ || in.n < 1 || in.h < 1 || in.w < 1)
    throw Error("noise: expected an input (N, " + std::to_string(channels_) +
                ", H, W) with N, H, W >= 1, got " + in.str());
  return in;
}

const Tensor& NoisyShift::forward(const Tensor& x, Mode mode) {
  const Shape shape = output_shape(x.shape());  // (N, C, H, W)
  const Shape units{shape.n, shape.c, 1, 1};
  scale_.resize(units);
  shift_.resize(units);
  y_.resize(shape);
  if (mode == Mode::Eval) {
    mu_t_ = 0.0;
    sigma_t_ = 1.0;
    scale_.setConstant(1.f);
    shift_.setZero();
    y_.vec() = x.vec();
    return y_;
  }
  mu_t_ = rng_.uniform(-0.5, 0.5);
  sigma_t_ = rng_.uniform(1.0, 1.25);
  for (int64_t u = 0; u < units.size(); ++u) {
    shift_[u] = float(rng_.uniform(mu_t_ - 0.1, mu_t_ + 0.1));
    scale_[u] = float(rng_.normal(sigma_t_, 0.1));
  }
  // Unit u = n*C + c owns the contiguous H*W plane starting at u*H*W.
  const int64_t hw = shape.spatial();
  y_.mat(units.size(), hw) =
      (x.mat(units.size(), hw).array().colwise() * scale_.vec().array()).colwise() +
      shift_.vec().array();
  return y_;
}

// y = s * x + m with s and m drawn, not computed from x: dx = s * dy (identity in Eval mode,
// where s = 1). There are no parameters.
const Tensor& NoisyShift::backward(const Tensor& dy) {
  const Shape shape = y_.shape();
  if (dy.shape() != shape)
    throw Error("noise: backward got dy " + dy.shape().str() + " for an output " + shape.str() +
                " (call forward first)");
  dx_.resize(needs_input_grad_ ? shape : Shape{});
  if (!needs_input_grad_) return dx_;
  const int64_t units = scale_.size(), hw = shape.spatial();
  dx_.mat(units, hw) = dy.mat(units, hw).array().colwise() * scale_.vec().array();
  return dx_;
}

}  // namespace bnlab
