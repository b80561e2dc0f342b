#include "layers/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "kernels/simd4.h"

namespace bnlab {

namespace {

using simd4::f4;

// The sums in double over the planes n = n0 .. n1-1 of every channel c, out[c] = sum over n in
// order of plane (n, c)'s sum of its hw terms (simd4::lane_sums' order), taken in memory order:
// sample by sample, four channels' planes at a time (eight independent chains of adds), so that
// the pass streams through x instead of visiting N separate runs per channel; each channel's
// order of additions is the same as summing its planes one channel at a time. vec(c, p, i) gives
// terms i .. i+3 of the plane of channel c that starts at float p of x, one(c, p, i) term i (c
// picks the channel's center in the second pass).
template <class Vec, class One>
void channel_sums(int n0, int n1, int C, int64_t hw, int64_t chw, Vec vec, One one, double* out) {
  for (int c = 0; c < C; ++c) out[c] = 0.0;
  double part[4];
  for (int n = n0; n < n1; ++n) {
    const int64_t p0 = n * chw;
    int c = 0;
    if (hw == 1) {  // a dense layer: each plane's sum is its one term, exactly
      for (; c < C; ++c) out[c] += double(one(c, p0 + c, 0));
      continue;
    }
    for (; c + 4 <= C; c += 4) {
      simd4::lane_sums<4>(
          hw, [&](int j, int64_t i) { return vec(c + j, p0 + (c + j) * hw, i); },
          [&](int j, int64_t i) { return one(c + j, p0 + (c + j) * hw, i); }, part);
      for (int j = 0; j < 4; ++j) out[c + j] += part[j];
    }
    for (; c < C; ++c) {
      simd4::lane_sums<1>(
          hw, [&](int, int64_t i) { return vec(c, p0 + c * hw, i); },
          [&](int, int64_t i) { return one(c, p0 + c * hw, i); }, part);
      out[c] += part[0];
    }
  }
}

// Two passes in double over sub-batch n0 .. n1-1, the mean of each channel and then the squared
// deviations from it (each deviation and its square in float, as PyTorch's CPU kernel forms
// them), over its N planes of H*W values.
void batch_statistics(const Tensor& x, int n0, int n1, double* mean, double* var, float* center) {
  const int C = x.shape().c;
  const int64_t hw = x.shape().spatial(), chw = x.shape().per_sample();
  const float* data = x.data();
  const double m = double(int64_t(n1 - n0) * hw);
  channel_sums(
      n0, n1, C, hw, chw, [&](int, int64_t p, int64_t i) { return simd4::load(data + p + i); },
      [&](int, int64_t p, int64_t i) { return data[p + i]; }, mean);
  for (int c = 0; c < C; ++c) {
    mean[c] /= m;
    center[c] = float(mean[c]);
  }
  channel_sums(
      n0, n1, C, hw, chw,
      [&](int c, int64_t p, int64_t i) {
        const f4 dev = simd4::load(data + p + i) - simd4::broadcast(center[c]);
        return dev * dev;
      },
      [&](int c, int64_t p, int64_t i) {
        const float dev = data[p + i] - center[c];
        return dev * dev;
      },
      var);
  for (int c = 0; c < C; ++c) var[c] /= m;
}

}  // namespace

BatchNorm::BatchNorm(int channels, const NormConfig& config)
    : channels_(channels),
      kind_(config.kind),
      eps_(config.eps),
      momentum_(config.momentum),
      cumulative_(config.cumulative),
      affine_(config.affine),
      track_running_stats_(config.track_running_stats),
      r_max_(config.r_max),
      d_max_(config.d_max),
      ghost_batch_(config.ghost_batch) {
  validate_norm_config(config);
  if (kind_ != NormKind::Batch && kind_ != NormKind::Renorm && kind_ != NormKind::Ghost)
    throw Error("BatchNorm: the kind must be batch, renorm or ghost, not " +
                norm_kind_name(kind_));
  if (channels < 1) throw Error("BatchNorm: channels must be >= 1, got " + std::to_string(channels));
  const Shape per_channel{channels, 1, 1, 1};
  gamma_ = Tensor(per_channel, 1.f);
  beta_ = Tensor(per_channel, 0.f);
  dgamma_ = Tensor(per_channel, 0.f);
  dbeta_ = Tensor(per_channel, 0.f);
  running_mean_ = Tensor(per_channel, 0.f);
  running_var_ = Tensor(per_channel, 1.f);
  r_ = Tensor(per_channel, 1.f);
  d_ = Tensor(per_channel, 0.f);
  batch_mean_ = Tensor(per_channel, 0.f);
  batch_var_ = Tensor(per_channel, 0.f);
}

std::string BatchNorm::kind() const {
  switch (kind_) {
    case NormKind::Renorm: return "brn";
    case NormKind::Ghost: return "gbn";
    default: return "bn";
  }
}

Shape BatchNorm::output_shape(const Shape& in) const {
  if (in.c != channels_ || in.n < 1 || in.h < 1 || in.w < 1)
    throw Error(kind() + ": expected an input (N, " + std::to_string(channels_) +
                ", H, W) with N, H, W >= 1, got " + in.str());
  return in;
}

void BatchNorm::check_batch_size(const Shape& in, int sub_batch) const {
  // Sub-batches are full except perhaps the last, so the last one is the smallest.
  const int last = in.n - (in.n - 1) / sub_batch * sub_batch;
  if (int64_t(last) * in.spatial() > 1) return;
  std::string message = "BatchNorm (" + kind() +
                        "): Expected more than 1 value per channel when training, got input size " +
                        in.str();
  if (last != in.n)
    message += ", whose last ghost sub-batch (ghost_batch " + std::to_string(sub_batch) +
               ") holds a single sample";
  if (!track_running_stats_)
    message += " (without running statistics, batch statistics are used in eval mode too)";
  throw Error(message);
}

// PyTorch (torch.nn.modules.batchnorm, F.batch_norm): with factor = momentum, or
// 1 / num_batches_tracked for cumulative averaging,
//   running_mean = (1 - factor) * running_mean + factor * mean
//   running_var  = (1 - factor) * running_var  + factor * var * m / (m - 1)   (unbiased)
void BatchNorm::update_running(int c, double mean, double var, int64_t m, double factor) {
  running_mean_[c] = float((1.0 - factor) * running_mean_[c] + factor * mean);
  running_var_[c] =
      float((1.0 - factor) * running_var_[c] + factor * var * double(m) / double(m - 1));
}

// Per channel c, over the m values of the batch (or of one Ghost sub-batch):
//   mean = sum x / m,  var = sum (x - mean)^2 / m   (biased),  xhat = (x - mean) / sqrt(var + eps)
//   y = gamma * (r * xhat + d) + beta
// with r = 1, d = 0 except for Batch Renorm in Train mode (NUMERICS.md 3):
//   sigma = sqrt(running_var + eps),  r = clip(sqrt(var + eps) / sigma, 1/r_max, r_max),
//   d = clip((mean - running_mean) / sigma, -d_max, d_max)
// taken from the running estimates before this batch is folded into them.
// Ghost BN treats each sub-batch exactly as PyTorch treats a batch: its own statistics, and one
// running update (and one num_batches_tracked increment) per sub-batch, in order; this is what
// the usual implementation (chunk the batch, call the same nn.BatchNorm on each chunk) does.
const Tensor& BatchNorm::forward(const Tensor& x, Mode mode) {
  const Shape shape = output_shape(x.shape());  // (N, C, H, W)
  const int C = channels_;
  const int64_t hw = shape.spatial(), chw = shape.per_sample();
  const bool batch_stats = mode == Mode::Train || !track_running_stats_;
  const int sub_batch =
      kind_ == NormKind::Ghost && batch_stats ? std::min(ghost_batch_, shape.n) : shape.n;
  if (batch_stats) check_batch_size(shape, sub_batch);  // before any state changes
  used_batch_stats_ = batch_stats;
  sub_batch_ = sub_batch;
  const bool update = mode == Mode::Train && track_running_stats_;
  const bool renorm = kind_ == NormKind::Renorm && used_batch_stats_;
  const int subs = (shape.n + sub_batch_ - 1) / sub_batch_;

  input_ = &x;
  y_.resize(shape);
  inv_std_.resize(Shape{subs, C, 1, 1});
  sub_mean_.resize(Shape{subs, C, 1, 1});
  sub_var_.resize(Shape{subs, C, 1, 1});
  forward_gamma_ = gamma_;
  forward_beta_ = beta_;
  r_.setConstant(1.f);
  d_.setConstant(0.f);
  batch_mean_.setZero();
  batch_var_.setZero();

  stat_mean_.resize(size_t(C));
  stat_var_.resize(size_t(C));
  stat_center_.resize(size_t(C));
  std::vector<double>& mean = stat_mean_;
  std::vector<double>& var = stat_var_;
  for (int s = 0; s < subs; ++s) {
    const int n0 = s * sub_batch_, n1 = std::min(shape.n, n0 + sub_batch_);
    const int64_t m = int64_t(n1 - n0) * hw;
    const double weight = double(n1 - n0) / shape.n;  // of this sub-batch in batch_mean()
    double factor = momentum_;
    if (update) {
      ++num_batches_tracked_;
      if (cumulative_) factor = 1.0 / double(num_batches_tracked_);
    }
    if (used_batch_stats_)
      batch_statistics(x, n0, n1, mean.data(), var.data(), stat_center_.data());
    for (int c = 0; c < C; ++c) {
      if (!used_batch_stats_) mean[size_t(c)] = running_mean_[c], var[size_t(c)] = running_var_[c];
      const double inv_std = 1.0 / std::sqrt(var[size_t(c)] + eps_);
      if (renorm) {
        const double sigma = std::sqrt(double(running_var_[c]) + eps_);
        r_[c] = float(std::clamp(1.0 / (inv_std * sigma), 1.0 / r_max_, double(r_max_)));
        d_[c] = float(std::clamp((mean[size_t(c)] - running_mean_[c]) / sigma, -double(d_max_),
                                 double(d_max_)));
      }
      if (update) update_running(c, mean[size_t(c)], var[size_t(c)], m, factor);
      inv_std_[int64_t(s) * C + c] = float(inv_std);
      sub_mean_[int64_t(s) * C + c] = float(mean[size_t(c)]);
      sub_var_[int64_t(s) * C + c] = float(var[size_t(c)]);
      batch_mean_[c] += float(weight * mean[size_t(c)]);
      batch_var_[c] += float(weight * var[size_t(c)]);
    }
    // The output in memory order too (sample by sample). xhat is not stored: backward and
    // xhat() form it again from x, with the same float operations (one pass of stores fewer).
    for (int n = n0; n < n1; ++n)
      for (int c = 0; c < C; ++c) {
        const float center = sub_mean_[int64_t(s) * C + c], inv = inv_std_[int64_t(s) * C + c];
        const float scale = gamma_[c] * r_[c], shift = gamma_[c] * d_[c] + beta_[c];
        const int64_t plane = n * chw + c * hw;  // the H*W values of (n, c)
        const float* xp = x.data() + plane;
        float* y = y_.data() + plane;
        for (int64_t i = 0; i < hw; ++i) {
          const float xhat = (xp[i] - center) * inv;
          y[i] = scale * xhat + shift;
        }
      }
  }
  return y_;
}

// With g = dL/dy and, per channel c (and Ghost sub-batch), the m values that shared statistics:
//   dbeta  = sum g
//   dgamma = sum g * (r * xhat + d) = r * sum(g * xhat) + d * sum(g)
// Batch statistics (Algorithm 1 differentiated through mean and var; Renorm's r and d are
// constants):
//   dx_i = gamma * r / sqrt(var + eps) * (g_i - mean(g) - xhat_i * mean(g * xhat))
// Running statistics (Eval mode): mean and var are constants and the layer is affine:
//   dx_i = gamma / sqrt(running_var + eps) * g_i
// The first form gives, per channel, sum dx = 0 and sum dx * xhat = 0 (up to a factor
// eps / (var + eps), since sum xhat^2 = m * var / (var + eps)).
const Tensor& BatchNorm::backward(const Tensor& dy) {
  const Shape shape = y_.shape();  // (N, C, H, W) of the last forward
  if (dy.shape() != shape)
    throw Error(kind() + ": backward got dy " + dy.shape().str() + " for an output " +
                shape.str() + " (call forward first)");
  if (!input_) throw Error(kind() + ": backward before any forward");
  if (input_->shape() != shape)
    throw Error(kind() + ": the input of the last forward changed shape before backward");
  const int C = channels_;
  const int64_t hw = shape.spatial(), chw = shape.per_sample();
  const int subs = (shape.n + sub_batch_ - 1) / sub_batch_;
  dx_.resize(needs_input_grad_ ? shape : Shape{});
  sum_g_.resize(size_t(C));
  sum_gx_.resize(size_t(C));
  dx_coef_.resize(3 * size_t(C));

  for (int s = 0; s < subs; ++s) {
    const int n0 = s * sub_batch_, n1 = std::min(shape.n, n0 + sub_batch_);
    const double m = double(int64_t(n1 - n0) * hw);
    // The sums of g and g * xhat of every channel (in double, as in forward), in memory order:
    // sample by sample, two channels' planes at a time, each with its sum of g (rows 0, 1) and
    // of g * xhat (rows 2, 3); each channel's order of additions is that of summing its planes
    // one channel at a time.
    // xhat as forward formed it, (x - mean) * inv_std in float, of channel c.
    const float* g0 = dy.data();
    const float* x0 = input_->data();
    const float* center = sub_mean_.data() + int64_t(s) * C;
    const float* inv = inv_std_.data() + int64_t(s) * C;
    // p: the first float of channel c's plane; row j & 1 is channel c + (j & 1).
    const auto vec = [&](int64_t p, int c, int j, int64_t i) {
      const int64_t at = p + (j & 1) * hw + i;
      const f4 g = simd4::load(g0 + at);
      if (j < 2) return g;
      const int cj = c + (j & 1);
      return g * ((simd4::load(x0 + at) - simd4::broadcast(center[cj])) *
                  simd4::broadcast(inv[cj]));
    };
    const auto one = [&](int64_t p, int c, int j, int64_t i) {
      const int64_t at = p + (j & 1) * hw + i;
      if (j < 2) return g0[at];
      const int cj = c + (j & 1);
      return g0[at] * ((x0[at] - center[cj]) * inv[cj]);
    };
    double* sum_g = sum_g_.data();
    double* sum_gx = sum_gx_.data();
    for (int c = 0; c < C; ++c) sum_g[c] = sum_gx[c] = 0.0;
    double part[4];
    for (int n = n0; n < n1; ++n) {
      int c = 0;
      if (hw == 1)  // a dense layer: each plane's sums are its one term, exactly
        for (; c < C; ++c) {
          sum_g[c] += double(one(n * chw + c, c, 0, 0));
          sum_gx[c] += double(one(n * chw + c, c, 2, 0));
        }
      for (; c + 2 <= C; c += 2) {
        const int64_t p = n * chw + c * hw;
        simd4::lane_sums<4>(
            hw, [&](int j, int64_t i) { return vec(p, c, j, i); },
            [&](int j, int64_t i) { return one(p, c, j, i); }, part);
        sum_g[c] += part[0];
        sum_g[c + 1] += part[1];
        sum_gx[c] += part[2];
        sum_gx[c + 1] += part[3];
      }
      if (c < C) {  // the last channel of an odd count: rows 0 and 2 only
        const int64_t p = n * chw + c * hw;
        simd4::lane_sums<4>(
            hw, [&](int j, int64_t i) { return vec(p, c, j & 2, i); },
            [&](int j, int64_t i) { return one(p, c, j & 2, i); }, part);
        sum_g[c] += part[0];
        sum_gx[c] += part[2];
      }
    }
    if (affine_)
      for (int c = 0; c < C; ++c) {
        dgamma_[c] += float(r_[c] * sum_gx[c] + d_[c] * sum_g[c]);
        dbeta_[c] += float(sum_g[c]);
      }
    if (!needs_input_grad_) continue;
    // Then dx, in memory order too, with each channel's factors computed once.
    float* coef = dx_coef_.data();  // k, mean(g), mean(g * xhat) of channel c at 3c .. 3c+2
    for (int c = 0; c < C; ++c) {
      coef[3 * c] = gamma_[c] * r_[c] * inv_std_[int64_t(s) * C + c];
      coef[3 * c + 1] = used_batch_stats_ ? float(sum_g[c] / m) : 0.f;
      coef[3 * c + 2] = used_batch_stats_ ? float(sum_gx[c] / m) : 0.f;
    }
    for (int n = n0; n < n1; ++n)
      for (int c = 0; c < C; ++c) {
        const float k = coef[3 * c], mean_g = coef[3 * c + 1], mean_gx = coef[3 * c + 2];
        const float mu = center[c], is = inv[c];
        const int64_t plane = n * chw + c * hw;  // the H*W values of (n, c)
        const float* g = dy.data() + plane;
        const float* xp = x0 + plane;
        float* dx = dx_.data() + plane;
        for (int64_t i = 0; i < hw; ++i) {
          const float xhat = (xp[i] - mu) * is;
          dx[i] = k * (g[i] - mean_g - xhat * mean_gx);
        }
      }
  }
  return dx_;
}

Tensor BatchNorm::xhat() const {
  Tensor out(y_.shape());
  if (!input_ || out.size() == 0) return out;
  const Shape shape = y_.shape();
  // The input is read in place (Layer's contract); a forward of the layer before this one that
  // failed after resizing its output would leave it another shape: an error, not a wrong read.
  if (input_->shape() != shape)
    throw Error(kind() + ": the input of the last forward changed shape; xhat cannot be formed");
  const int C = channels_;
  const int64_t hw = shape.spatial(), chw = shape.per_sample();
  for (int n = 0; n < shape.n; ++n)
    for (int c = 0; c < C; ++c) {
      const int64_t sc = int64_t(n / sub_batch_) * C + c;
      const float center = sub_mean_[sc], inv = inv_std_[sc];
      const int64_t plane = n * chw + c * hw;
      for (int64_t i = 0; i < hw; ++i) out[plane + i] = (input_->data()[plane + i] - center) * inv;
    }
  return out;
}

std::vector<Param> BatchNorm::params() {
  if (!affine_) return {};
  return {{"weight", &gamma_, &dgamma_, 1}, {"bias", &beta_, &dbeta_, 1}};
}

std::vector<Buffer> BatchNorm::buffers() {
  if (!track_running_stats_) return {};
  return {{"running_mean", &running_mean_, 1}, {"running_var", &running_var_, 1}};
}

std::vector<Counter> BatchNorm::counters() {
  if (!track_running_stats_) return {};
  return {{"num_batches_tracked", &num_batches_tracked_}};
}

}  // namespace bnlab
