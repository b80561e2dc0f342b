// Shared test helpers: one tolerance check that reports the largest difference, and a
// central-difference gradient check for any Layer.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.h"
#include "layers/layer.h"
#include "train/config.h"

namespace bnlab::test {

// Checks |a_i - b_i| <= atol + rtol * |b_i| for every i and, on failure, names the worst index
// with both values and the largest difference.
inline void check_close(const float* a, const float* b, int64_t n, double atol, double rtol,
                        const std::string& what) {
  double worst_excess = -1.0, worst_diff = 0.0;
  int64_t worst = -1;
  for (int64_t i = 0; i < n; ++i) {
    const double diff = std::fabs(double(a[i]) - double(b[i]));
    const double allowed = atol + rtol * std::fabs(double(b[i]));
    const double excess = std::isfinite(diff) ? diff - allowed : 1e300;
    if (excess > worst_excess) worst_excess = excess, worst_diff = diff, worst = i;
  }
  std::ostringstream msg;
  msg << what << ": largest difference " << worst_diff;
  if (worst >= 0) msg << " at index " << worst << " (" << a[worst] << " vs " << b[worst] << ")";
  CHECK_MESSAGE(worst_excess <= 0.0, msg.str());
}

inline void check_close(const std::vector<float>& a, const std::vector<float>& b, double atol,
                        double rtol, const std::string& what) {
  REQUIRE_MESSAGE(a.size() == b.size(), what << ": sizes differ");
  check_close(a.data(), b.data(), int64_t(a.size()), atol, rtol, what);
}

inline void check_close(const Tensor& a, const Tensor& b, double atol, double rtol,
                        const std::string& what) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), what << ": shapes " << a.shape().str() << " vs "
                                                << b.shape().str());
  check_close(a.data(), b.data(), a.size(), atol, rtol, what);
}

// A small run on the synthetic shapes (fast, and independent of the MNIST files).
inline Config shapes_config(const std::string& model, uint32_t seed, int batch_size) {
  Config c;
  c.model = model;
  c.dataset = "shapes";
  c.batch_size = batch_size;
  c.seed = seed;
  return c;
}

// A tensor holding the given values (row-major NCHW).
inline Tensor tensor_of(Shape shape, const std::vector<float>& values) {
  REQUIRE(values.size() == size_t(shape.size()));
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

// A tensor of standard normals from the project's RNG.
inline Tensor random_tensor(Shape shape, uint32_t seed, double scale = 1.0) {
  Tensor t(shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = float(scale * rng.normal());
  return t;
}

// Central-difference check of dL/dx and of every parameter gradient of `layer` for the scalar
// L = sum_i y_i * r_i with fixed random r, i.e. backward(r) must give dL/dx and dL/dparam.
// `forward` is called before each evaluation (a hook for layers whose forward has state, e.g.
// reseeding a noise generator); up to `max_checks` entries per tensor are probed, spread evenly.
// Differences are computed in double from float32 forwards, so h is large-ish (1e-2) and the
// tolerance is relative to the gradient's scale.
struct GradCheckOptions {
  Mode mode = Mode::Train;
  double h = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-2;
  int max_checks = 60;
  std::function<void()> before_forward = [] {};
};

inline double probe_loss(Layer& layer, const Tensor& x, const Tensor& r,
                         const GradCheckOptions& o) {
  o.before_forward();
  const Tensor& y = layer.forward(x, o.mode);
  double l = 0.0;
  for (int64_t i = 0; i < y.size(); ++i) l += double(y[i]) * double(r[i]);
  return l;
}

inline void check_gradients(Layer& layer, Tensor x, uint32_t seed,
                            const GradCheckOptions& o = GradCheckOptions()) {
  o.before_forward();
  const Shape out = layer.forward(x, o.mode).shape();
  const Tensor r = random_tensor(out, seed);
  // Analytic gradients.
  layer.zero_grad();
  o.before_forward();
  layer.forward(x, o.mode);
  const Tensor dx = layer.backward(r);
  std::vector<Tensor> dparams;
  for (auto& p : layer.params()) dparams.push_back(*p.grad);

  auto probe = [&](Tensor& target, const Tensor& analytic, const std::string& what) {
    const int64_t n = target.size();
    const int64_t stride = std::max<int64_t>(1, n / o.max_checks);
    std::vector<float> num, ana;
    for (int64_t i = 0; i < n; i += stride) {
      const float saved = target[i];
      target[i] = float(saved + o.h);
      const double lp = probe_loss(layer, x, r, o);
      target[i] = float(saved - o.h);
      const double lm = probe_loss(layer, x, r, o);
      target[i] = saved;
      num.push_back(float((lp - lm) / (2.0 * o.h)));
      ana.push_back(analytic[i]);
    }
    double scale = 0.0;
    for (float v : num) scale = std::max(scale, double(std::fabs(v)));
    check_close(ana, num, o.atol + o.rtol * scale, o.rtol, what);
  };

  if (layer.needs_input_grad()) probe(x, dx, layer.kind() + " dL/dx");
  auto params = layer.params();
  for (size_t k = 0; k < params.size(); ++k)
    probe(*params[k].value, dparams[k], layer.kind() + " dL/d" + params[k].name);
}

}  // namespace bnlab::test
