#include "layers/groupnorm.h"

#include <cmath>
#include <utility>

#include "base/error.h"

namespace bnlab {

namespace {

// The H*W plane of sample n and channel c (contiguous in NCHW), as an Eigen array.
Eigen::Map<const Eigen::ArrayXf> plane(const Tensor& t, int n, int c) {
  const Shape& s = t.shape();
  return Eigen::Map<const Eigen::ArrayXf>(t.data() + (int64_t(n) * s.c + c) * s.spatial(),
                                          s.spatial());
}
Eigen::Map<Eigen::ArrayXf> plane(Tensor& t, int n, int c) {
  const Shape& s = t.shape();
  return Eigen::Map<Eigen::ArrayXf>(t.data() + (int64_t(n) * s.c + c) * s.spatial(),
                                    s.spatial());
}

}  // namespace

GroupNorm::GroupNorm(int channels, int groups, const NormConfig& config, std::string kind)
    : channels_(channels),
      groups_(groups),
      kind_(std::move(kind)),
      eps_(config.eps),
      affine_(config.affine) {
  validate_norm_config(config);
  const std::string name = "GroupNorm (" + kind_ + ")";
  if (kind_ != "gn" && kind_ != "ln" && kind_ != "in")
    throw Error("GroupNorm: the kind must be gn, ln or in, not \"" + kind_ + "\"");
  if (channels < 1) throw Error(name + ": channels must be >= 1, got " + std::to_string(channels));
  if (groups < 1 || channels % groups != 0)
    throw Error(name + ": groups (" + std::to_string(groups) + ") must divide channels (" +
                std::to_string(channels) + ")");
  if (kind_ == "ln" && groups != 1)
    throw Error(name + ": LayerNorm is GroupNorm with 1 group, got " + std::to_string(groups));
  if (kind_ == "in" && groups != channels)
    throw Error(name + ": InstanceNorm is GroupNorm with one group per channel (" +
                std::to_string(channels) + "), got " + std::to_string(groups));
  const Shape per_channel{channels, 1, 1, 1};
  gamma_ = Tensor(per_channel, 1.f);
  beta_ = Tensor(per_channel, 0.f);
  dgamma_ = Tensor(per_channel, 0.f);
  dbeta_ = Tensor(per_channel, 0.f);
}

Shape GroupNorm::output_shape(const Shape& in) const {
  const std::string name = "GroupNorm (" + kind_ + ")";
  if (in.c != channels_ || in.n < 1 || in.h < 1 || in.w < 1)
    throw Error(name + ": expected an input (N, " + std::to_string(channels_) +
                ", H, W) with N, H, W >= 1, got " + in.str());
  if (int64_t(channels_ / groups_) * in.spatial() == 1)
    throw Error(name + ": each group of input " + in.str() +
                " holds a single value (channels / groups * H * W = 1), which normalizes to 0;"
                " use fewer groups or a spatial input");
  return in;
}

// Per sample n and group of channels [c0, c0 + C/G), over its m = (C/G)*H*W values:
//   mean = sum x / m,  var = sum (x - mean)^2 / m   (biased),  xhat = (x - mean) / sqrt(var + eps)
//   y = gamma_c * xhat + beta_c
// The mode does not matter: there are no running statistics.
const Tensor& GroupNorm::forward(const Tensor& x, Mode) {
  const Shape shape = output_shape(x.shape());  // (N, C, H, W)
  const int per_group = channels_ / groups_;
  const double m = double(int64_t(per_group) * shape.spatial());
  xhat_.resize(shape);
  y_.resize(shape);
  inv_std_.resize(Shape{shape.n, groups_, 1, 1});
  mean_.resize(Shape{shape.n, groups_, 1, 1});
  var_.resize(Shape{shape.n, groups_, 1, 1});
  forward_gamma_ = gamma_;
  forward_beta_ = beta_;

  for (int n = 0; n < shape.n; ++n) {
    for (int g = 0; g < groups_; ++g) {
      const int c0 = g * per_group, c1 = c0 + per_group;
      // Two passes (the mean, then squared deviations from it): each plane sums in float with
      // Eigen's vectorized reduction, and the planes add up in double.
      double sum = 0.0;
      for (int c = c0; c < c1; ++c) sum += plane(x, n, c).sum();
      const float mean = float(sum / m);
      double squares = 0.0;
      for (int c = c0; c < c1; ++c) squares += (plane(x, n, c) - mean).square().sum();
      const float inv_std = float(1.0 / std::sqrt(squares / m + eps_));
      inv_std_[int64_t(n) * groups_ + g] = inv_std;
      mean_[int64_t(n) * groups_ + g] = mean;
      var_[int64_t(n) * groups_ + g] = float(squares / m);
      for (int c = c0; c < c1; ++c) {
        auto xhat = plane(xhat_, n, c);
        xhat = (plane(x, n, c) - mean) * inv_std;
        plane(y_, n, c) = gamma_[c] * xhat + beta_[c];
      }
    }
  }
  return y_;
}

// With g = dL/dy and dxhat_i = gamma_c(i) * g_i, per sample and group of m values:
//   dbeta_c  = sum over n, h, w of g;   dgamma_c = sum over n, h, w of g * xhat
//   dx_i = 1 / sqrt(var + eps) * (dxhat_i - mean(dxhat) - xhat_i * mean(dxhat * xhat))
// (BatchNorm's formula with the group's values in place of the channel's; the means run over
// the whole group, so channels with different gamma share them.)
const Tensor& GroupNorm::backward(const Tensor& dy) {
  const Shape shape = xhat_.shape();  // (N, C, H, W) of the last forward
  if (dy.shape() != shape)
    throw Error("GroupNorm (" + kind_ + "): backward got dy " + dy.shape().str() +
                " for an output " + shape.str() + " (call forward first)");
  const int per_group = channels_ / groups_;
  const double m = double(int64_t(per_group) * shape.spatial());
  dx_.resize(needs_input_grad_ ? shape : Shape{});

  for (int n = 0; n < shape.n; ++n) {
    for (int g = 0; g < groups_; ++g) {
      const int c0 = g * per_group, c1 = c0 + per_group;
      double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
      for (int c = c0; c < c1; ++c) {
        const auto gy = plane(dy, n, c);
        const double sum_g = gy.sum(), sum_gx = (gy * plane(xhat_, n, c)).sum();
        if (affine_) {
          dgamma_[c] += float(sum_gx);
          dbeta_[c] += float(sum_g);
        }
        sum_dxhat += gamma_[c] * sum_g;
        sum_dxhat_xhat += gamma_[c] * sum_gx;
      }
      if (!needs_input_grad_) continue;
      const float inv_std = inv_std_[int64_t(n) * groups_ + g];
      const float mean_dxhat = float(sum_dxhat / m), mean_dxhat_xhat = float(sum_dxhat_xhat / m);
      for (int c = c0; c < c1; ++c)
        plane(dx_, n, c) = inv_std * (gamma_[c] * plane(dy, n, c) - mean_dxhat -
                                      plane(xhat_, n, c) * mean_dxhat_xhat);
    }
  }
  return dx_;
}

std::vector<Param> GroupNorm::params() {
  if (!affine_) return {};
  return {{"weight", &gamma_, &dgamma_, 1}, {"bias", &beta_, &dbeta_, 1}};
}

}  // namespace bnlab
