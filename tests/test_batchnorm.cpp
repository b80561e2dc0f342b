// BatchNorm (kinds Batch, Renorm, Ghost) and the normalizer factory, against NUMERICS.md 1-3:
// hand-computed values, closed-form identities, finite differences and PyTorch 1.13's numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "layers/batchnorm.h"

using namespace bnlab;
using bnlab::test::check_close;
using bnlab::test::check_gradients;
using bnlab::test::GradCheckOptions;
using bnlab::test::random_tensor;
using bnlab::test::tensor_of;

namespace {

NormConfig config_of(NormKind kind) {
  NormConfig config;
  config.kind = kind;
  return config;
}

// A tensor whose flat element i is f(i), computed in double and stored as float32 (the same
// construction as the Python scripts that produced the PyTorch numbers below).
Tensor formula_tensor(Shape shape, const std::function<double(int)>& f) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = float(f(int(i)));
  return t;
}

// Per-channel mean and biased variance of t over (N, H, W), in double, computed independently of
// the layer (plain loops over at()).
struct ChannelStats {
  std::vector<double> mean, var;
};
ChannelStats channel_stats(const Tensor& t, int n0 = 0, int n1 = -1) {
  const Shape s = t.shape();
  if (n1 < 0) n1 = s.n;
  ChannelStats out{std::vector<double>(size_t(s.c), 0.0), std::vector<double>(size_t(s.c), 0.0)};
  const double m = double(n1 - n0) * s.h * s.w;
  for (int c = 0; c < s.c; ++c) {
    for (int n = n0; n < n1; ++n)
      for (int h = 0; h < s.h; ++h)
        for (int w = 0; w < s.w; ++w) out.mean[size_t(c)] += t.at(n, c, h, w) / m;
    for (int n = n0; n < n1; ++n)
      for (int h = 0; h < s.h; ++h)
        for (int w = 0; w < s.w; ++w) {
          const double d = t.at(n, c, h, w) - out.mean[size_t(c)];
          out.var[size_t(c)] += d * d / m;
        }
  }
  return out;
}

void set_values(Tensor& t, const std::vector<float>& values) {
  REQUIRE(int64_t(values.size()) == t.size());
  for (int64_t i = 0; i < t.size(); ++i) t[i] = values[size_t(i)];
}

// Samples [n0, n1) of t as their own tensor.
Tensor slice(const Tensor& t, int n0, int n1) {
  const Shape s = t.shape();
  Tensor out(Shape{n1 - n0, s.c, s.h, s.w});
  std::copy(t.data() + n0 * s.per_sample(), t.data() + n1 * s.per_sample(), out.data());
  return out;
}

void check_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  check_close(a, b, 0.0, 0.0, what);
}

}  // namespace

TEST_CASE("batchnorm reproduces the worked check of NUMERICS.md 2") {
  // One channel of 16 values 1,2,3,4, 2,3,4,5, 3,4,5,6, 4,5,6,7, eps 1e-5, momentum 0.1.
  // By hand: mean 4, biased var 40/16 = 2.5, unbiased 40/15; first output (1 - 4)/sqrt(2.50001);
  // running_mean = 0.1 * 4 = 0.4, running_var = 0.9 * 1 + 0.1 * 40/15 = 1.1666667.
  const std::vector<float> values = {1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7};
  Shape shape;
  SUBCASE("BatchNorm2d, one sample of 4x4 (N = 1 is fine when H*W > 1)") { shape = {1, 1, 4, 4}; }
  SUBCASE("BatchNorm2d, four samples of 2x2") { shape = {4, 1, 2, 2}; }
  SUBCASE("BatchNorm1d, sixteen samples") { shape = {16, 1, 1, 1}; }
  BatchNorm bn(1, NormConfig());
  const Tensor x = tensor_of(shape, values);
  const Tensor& y = bn.forward(x, Mode::Train);
  CHECK(bn.batch_mean()[0] == doctest::Approx(4.0).epsilon(1e-7));
  CHECK(bn.batch_var()[0] == doctest::Approx(2.5).epsilon(1e-7));
  CHECK(y[0] == doctest::Approx(-3.0 / std::sqrt(2.50001)).epsilon(1e-6));
  CHECK(y[0] == doctest::Approx(-1.8974).epsilon(1e-4));
  CHECK(bn.running_mean()[0] == doctest::Approx(0.4).epsilon(1e-6));
  CHECK(bn.running_var()[0] == doctest::Approx(0.9 + 0.1 * 40.0 / 15.0).epsilon(1e-6));
  CHECK(bn.running_var()[0] == doctest::Approx(1.1667).epsilon(1e-4));
  CHECK(bn.num_batches_tracked() == 1);
  // Every output, by hand: (x - 4) / sqrt(2.50001).
  for (int64_t i = 0; i < y.size(); ++i)
    CHECK(y[i] == doctest::Approx((values[size_t(i)] - 4.0) / std::sqrt(2.50001)).epsilon(1e-6));
}

TEST_CASE("batchnorm train mode satisfies the identities of NUMERICS.md 1") {
  float eps = 1e-5f;
  Shape shape;
  SUBCASE("BatchNorm2d, default eps") { shape = {6, 3, 5, 4}; }
  SUBCASE("BatchNorm2d, eps 0.5 so that var / (var + eps) is far from 1") {
    shape = {6, 3, 5, 4};
    eps = 0.5f;
  }
  SUBCASE("BatchNorm1d") { shape = {32, 5, 1, 1}; }
  NormConfig config;
  config.eps = eps;
  BatchNorm bn(shape.c, config);
  Rng rng(5);
  for (int c = 0; c < shape.c; ++c) {
    bn.gamma()[c] = float(rng.uniform(0.5, 2.0));
    bn.beta()[c] = float(rng.uniform(-1.0, 1.0));
  }
  const Tensor x = random_tensor(shape, 1, 3.0);
  const Tensor dy = random_tensor(shape, 2);
  const ChannelStats in = channel_stats(x);
  const Tensor y = bn.forward(x, Mode::Train);
  bn.zero_grad();
  const Tensor dx = bn.backward(dy);
  const ChannelStats out = channel_stats(y);
  for (int c = 0; c < shape.c; ++c) {
    CAPTURE(c);
    const double var = in.var[size_t(c)], gamma = bn.gamma()[c];
    CHECK(out.mean[size_t(c)] == doctest::Approx(bn.beta()[c]).epsilon(1e-5).scale(1.0));
    CHECK(out.var[size_t(c)] == doctest::Approx(gamma * gamma * var / (var + eps)).epsilon(1e-5));
    // sum dx = 0, and sum dx * xhat = 0 up to eps: since sum xhat^2 = m * var / (var + eps),
    //   sum dx * xhat = gamma / sqrt(var + eps) * eps / (var + eps) * sum g * xhat,
    // which NUMERICS.md's "= 0" rounds away for eps << var (the eps 0.5 subcase needs it).
    // Checked relative to the size of the terms summed.
    double sum_dx = 0.0, sum_dx_xhat = 0.0, sum_g_xhat = 0.0, scale = 0.0;
    for (int n = 0; n < shape.n; ++n)
      for (int h = 0; h < shape.h; ++h)
        for (int w = 0; w < shape.w; ++w) {
          const double xhat = (x.at(n, c, h, w) - in.mean[size_t(c)]) / std::sqrt(var + eps);
          sum_dx += dx.at(n, c, h, w);
          sum_dx_xhat += dx.at(n, c, h, w) * xhat;
          sum_g_xhat += dy.at(n, c, h, w) * xhat;
          scale += std::fabs(dx.at(n, c, h, w));
        }
    const double expected = gamma / std::sqrt(var + eps) * eps / (var + eps) * sum_g_xhat;
    CHECK(std::fabs(sum_dx) < 1e-5 * scale);
    CHECK(std::fabs(sum_dx_xhat - expected) < 1e-5 * scale);
    if (eps < 1e-3f) CHECK(std::fabs(sum_dx_xhat) < 1e-5 * scale);
  }
}

TEST_CASE("batchnorm eval mode is the affine map of the running statistics") {
  Shape shape;
  SUBCASE("BatchNorm2d") { shape = {3, 4, 3, 5}; }
  SUBCASE("BatchNorm1d with one sample (no batch statistics needed)") { shape = {1, 4, 1, 1}; }
  BatchNorm bn(4, NormConfig());
  set_values(bn.gamma(), {0.5f, 2.0f, -1.0f, 1.5f});
  set_values(bn.beta(), {0.0f, 0.3f, -0.2f, 1.0f});
  set_values(bn.running_mean(), {0.1f, -0.5f, 2.0f, 0.0f});
  set_values(bn.running_var(), {0.25f, 4.0f, 1.0f, 0.01f});
  const Tensor x = random_tensor(shape, 3);
  const Tensor dy = random_tensor(shape, 4);
  const Tensor y = bn.forward(x, Mode::Eval);
  bn.zero_grad();
  const Tensor dx = bn.backward(dy);
  CHECK(bn.num_batches_tracked() == 0);
  CHECK(bn.running_mean()[2] == 2.0f);
  Tensor y_ref(shape), dx_ref(shape);
  std::vector<double> dgamma(4, 0.0), dbeta(4, 0.0);
  for (int n = 0; n < shape.n; ++n)
    for (int c = 0; c < 4; ++c)
      for (int h = 0; h < shape.h; ++h)
        for (int w = 0; w < shape.w; ++w) {
          const double inv_std = 1.0 / std::sqrt(double(bn.running_var()[c]) + 1e-5);
          const double xhat = (x.at(n, c, h, w) - bn.running_mean()[c]) * inv_std;
          y_ref.at(n, c, h, w) = float(bn.gamma()[c] * xhat + bn.beta()[c]);
          dx_ref.at(n, c, h, w) = float(dy.at(n, c, h, w) * bn.gamma()[c] * inv_std);
          dgamma[size_t(c)] += dy.at(n, c, h, w) * xhat;
          dbeta[size_t(c)] += dy.at(n, c, h, w);
        }
  check_close(y, y_ref, 1e-6, 1e-6, "eval y");
  check_close(dx, dx_ref, 1e-6, 1e-6, "eval dx = g * gamma / sqrt(running_var + eps)");
  for (int c = 0; c < 4; ++c) {
    CHECK(bn.batch_mean()[c] == bn.running_mean()[c]);
    CHECK(bn.batch_var()[c] == bn.running_var()[c]);
    CHECK(bn.gamma()[c] != 0.f);
  }
  auto params = bn.params();
  REQUIRE(params.size() == 2);
  for (int c = 0; c < 4; ++c) {
    CHECK((*params[0].grad)[c] == doctest::Approx(dgamma[size_t(c)]).epsilon(1e-5));
    CHECK((*params[1].grad)[c] == doctest::Approx(dbeta[size_t(c)]).epsilon(1e-5));
  }
}

TEST_CASE("batchnorm backward matches finite differences") {
  NormConfig config;
  GradCheckOptions options;
  SUBCASE("affine, train") { options.mode = Mode::Train; }
  SUBCASE("affine, eval") { options.mode = Mode::Eval; }
  SUBCASE("no affine, train") { config.affine = false; }
  SUBCASE("no affine, eval") {
    config.affine = false;
    options.mode = Mode::Eval;
  }
  SUBCASE("no tracking, eval (batch statistics)") {
    config.track_running_stats = false;
    options.mode = Mode::Eval;
  }
  // BatchNorm1d and BatchNorm2d shapes (a loop: doctest runs one SUBCASE path at a time).
  for (const Shape shape : {Shape{8, 5, 1, 1}, Shape{4, 3, 3, 3}}) {
    CAPTURE(shape.str());
    BatchNorm bn(shape.c, config);
    Rng rng(9);
    for (int c = 0; c < shape.c; ++c) {
      bn.gamma()[c] = float(rng.uniform(0.5, 2.0));
      bn.beta()[c] = float(rng.uniform(-1.0, 1.0));
      bn.running_mean()[c] = float(rng.uniform(-1.0, 1.0));
      bn.running_var()[c] = float(rng.uniform(0.5, 3.0));
    }
    CHECK(bn.params().size() == (config.affine ? 2u : 0u));
    check_gradients(bn, random_tensor(shape, 10, 2.0), 11, options);
  }
}

TEST_CASE("batchnorm matches PyTorch 1.13 on a small BatchNorm2d") {
  // Numbers from torch.nn.BatchNorm2d(3) (eps 1e-5, momentum 0.1), PyTorch 1.13.1 CPU:
  //   import math, torch
  //   def fmt(t): return ", ".join("%.8g" % v for v in t.detach().reshape(-1).tolist())
  //   N, C, H, W = 2, 3, 2, 3; n = N * C * H * W
  //   x1 = torch.tensor([1.5 * math.sin(0.37 * i * i + 0.5) + 0.05 * i for i in range(n)],
  //                     dtype=torch.float32).reshape(N, C, H, W)
  //   x2 = torch.tensor([0.8 * math.cos(0.23 * i * i) - 0.5 for i in range(n)],
  //                     dtype=torch.float32).reshape(N, C, H, W)
  //   dy = torch.tensor([math.cos(1.3 * i) for i in range(n)],
  //                     dtype=torch.float32).reshape(N, C, H, W)
  //   bn = torch.nn.BatchNorm2d(C)
  //   with torch.no_grad():
  //       bn.weight.copy_(torch.tensor([0.5, 1.5, -0.75])); bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
  //   bn.train(); xa = x1.clone().requires_grad_(True); y = bn(xa); y.backward(dy)
  //   print(fmt(y), fmt(xa.grad), fmt(bn.weight.grad), fmt(bn.bias.grad),
  //         fmt(bn.running_mean), fmt(bn.running_var))            # y_train ... rv1
  //   bn(x2); print(fmt(bn.running_mean), fmt(bn.running_var))    # rm2, rv2
  //   bn.eval(); bn.weight.grad = None; bn.bias.grad = None
  //   xb = x1.clone().requires_grad_(True); y = bn(xb); y.backward(dy)
  //   print(fmt(y), fmt(xb.grad), fmt(bn.weight.grad))           # y_eval, dx_eval, dgamma_eval
  const Shape shape{2, 3, 2, 3};
  const Tensor x1 = formula_tensor(shape, [](int i) { return 1.5 * std::sin(0.37 * i * i + 0.5) + 0.05 * i; });
  const Tensor x2 = formula_tensor(shape, [](int i) { return 0.8 * std::cos(0.23 * i * i) - 0.5; });
  const Tensor dy = formula_tensor(shape, [](int i) { return std::cos(1.3 * i); });
  const Shape per_channel{3, 1, 1, 1};
  BatchNorm bn(3, NormConfig());
  set_values(bn.gamma(), {0.5f, 1.5f, -0.75f});
  set_values(bn.beta(), {0.1f, -0.2f, 0.3f});

  const Tensor y = bn.forward(x1, Mode::Train);
  bn.zero_grad();
  const Tensor dx = bn.backward(dy);
  check_close(y, tensor_of(shape, {
      -0.017068174, 0.21316101, 0.34804323, -0.75117981, -0.16877905, -0.47449139, 1.1638052,
      -1.2135642, -2.3950925, -2.3169332, -0.96212596, 1.5341393, 1.3678445, 0.80092138,
      1.6161083, 0.08722043, 0.10549609, 0.31065974, 0.67872244, 0.71016186, -0.4227995,
      0.36126009, -0.18605764, 0.90902692, 0.41277844, -0.89396787, -0.79185057, 0.75077575,
      2.8046017, -0.4925662, -0.0014880323, 1.2529782, -0.26717266, -0.56744796, -0.46187553,
      -0.64324361}), 1e-5, 1e-5, "train y");
  check_close(dx, tensor_of(shape, {
      0.43788159, 0.087459147, -0.45315698, -0.40367118, 0.17965893, 0.42089924, -0.071919382,
      -1.4311521, -0.87102646, 0.81593502, 1.1561167, -0.37998328, 0.38098329, 0.090486728,
      -0.80389583, -0.5164814, 0.22158834, 0.57942533, -0.11352959, 0.40246984, 0.26254272,
      -0.31063178, -0.50347328, -0.0064486363, 1.2298225, 0.54072762, -1.1292846, -1.3366932,
      0.19995674, 1.2775003, -0.16342323, 0.31556568, 0.51706803, -0.18598783, -0.5281778,
      0.092848606}), 1e-5, 1e-5, "train dx");
  auto params = bn.params();
  check_close(*params[0].grad, tensor_of(per_channel, {-0.15476273, 0.21690613, 2.6582623}),
              1e-5, 1e-5, "dgamma");
  check_close(*params[1].grad, tensor_of(per_channel, {1.0689682, 1.0680691, -0.95371211}),
              1e-5, 1e-5, "dbeta");
  check_close(bn.running_mean(), tensor_of(per_channel, {0.096186638, 0.074888207, 0.17332467}),
              1e-6, 1e-6, "running_mean after one step");
  check_close(bn.running_var(), tensor_of(per_channel, {1.017243, 1.0257857, 1.0518397}),
              1e-6, 1e-6, "running_var after one step");

  bn.forward(x2, Mode::Train);
  check_close(bn.running_mean(), tensor_of(per_channel, {0.050533164, 0.016816456, 0.10872181}),
              1e-6, 1e-6, "running_mean after two steps");
  check_close(bn.running_var(), tensor_of(per_channel, {0.94675565, 0.94744962, 0.9732697}),
              1e-6, 1e-6, "running_var after two steps");
  CHECK(bn.num_batches_tracked() == 2);

  const Tensor y_eval = bn.forward(x1, Mode::Eval);
  bn.zero_grad();
  const Tensor dx_eval = bn.backward(dy);
  check_close(y_eval, tensor_of(shape, {
      0.44357258, 0.68886852, 0.83257771, -0.33858106, 0.2819334, -0.043785483, 2.4326451,
      -0.18999995, -1.4934275, -1.4072046, 0.087379411, 2.8411868, 0.34198958, -0.33597231,
      0.63887888, -1.1894603, -1.167605, -0.92225766, 1.1848973, 1.2183943, 0.011289244,
      0.84665954, 0.26352406, 1.4302735, 1.6041341, 0.16256948, 0.27522233, 1.9770029,
      4.2427239, 0.60538411, -1.2955433, 0.20462537, -1.6132656, -1.9723535, -1.8461034,
      -2.0629947}), 1e-5, 1e-5, "eval y");
  check_close(dx_eval, tensor_of(shape, {
      0.5138647, 0.13745821, -0.4403249, -0.37303099, 0.24075419, 0.50183392, 0.083146885,
      -1.4604669, -0.86449325, 0.99796504, 1.3984022, -0.24982312, 0.75579917, 0.28110725,
      -0.60540742, -0.60499883, 0.2817345, 0.75572616, -0.082854502, 0.46649644, 0.33242899,
      -0.28864771, -0.48685485, 0.028181503, 1.505244, 0.72078848, -1.1196239, -1.3197846,
      0.41354218, 1.5410287, -0.20270875, 0.65177643, 0.55140764, -0.35677469, -0.74228126,
      -0.040344052}), 1e-5, 1e-5, "eval dx");
  check_close(*params[0].grad, tensor_of(per_channel, {0.83630943, 1.0425682, 1.6084633}),
              1e-5, 1e-5, "eval dgamma");
}

TEST_CASE("batchnorm running statistics follow PyTorch's momentum and counting") {
  const Shape shape{5, 2, 2, 3};
  std::vector<Tensor> batches;
  for (int k = 0; k < 6; ++k) {
    Tensor x = random_tensor(shape, 100 + k, 0.5 + 0.3 * k);
    for (int64_t i = 0; i < x.size(); ++i) x[i] += float(k - 2);  // means drift batch to batch
    batches.push_back(x);
  }
  // The batch statistics by an independent computation: mean and unbiased variance.
  const double m = double(shape.n) * shape.h * shape.w;
  std::vector<ChannelStats> stats;
  for (const Tensor& x : batches) stats.push_back(channel_stats(x));

  SUBCASE("cumulative momentum gives the exact average of the batch statistics") {
    NormConfig config;
    config.cumulative = true;
    BatchNorm bn(2, config);
    for (size_t k = 0; k < batches.size(); ++k) {
      bn.forward(batches[k], Mode::Train);
      bn.forward(batches[k], Mode::Eval);  // eval forwards neither update nor count
      CHECK(bn.num_batches_tracked() == int64_t(k + 1));
      for (int c = 0; c < 2; ++c) {
        double mean = 0.0, var = 0.0;
        for (size_t j = 0; j <= k; ++j) {
          mean += stats[j].mean[size_t(c)] / double(k + 1);
          var += stats[j].var[size_t(c)] * m / (m - 1) / double(k + 1);
        }
        CHECK(bn.running_mean()[c] == doctest::Approx(mean).epsilon(1e-5).scale(1.0));
        CHECK(bn.running_var()[c] == doctest::Approx(var).epsilon(1e-5));
      }
    }
  }
  SUBCASE("a fixed momentum weights the new batch statistic by momentum") {
    NormConfig config;
    config.momentum = 0.3f;
    BatchNorm bn(2, config);
    std::vector<double> mean(2, 0.0), var(2, 1.0);
    for (size_t k = 0; k < batches.size(); ++k) {
      bn.forward(batches[k], Mode::Train);
      for (int c = 0; c < 2; ++c) {
        mean[size_t(c)] = 0.7 * mean[size_t(c)] + 0.3 * stats[k].mean[size_t(c)];
        var[size_t(c)] = 0.7 * var[size_t(c)] + 0.3 * stats[k].var[size_t(c)] * m / (m - 1);
        CHECK(bn.running_mean()[c] == doctest::Approx(mean[size_t(c)]).epsilon(1e-5).scale(1.0));
        CHECK(bn.running_var()[c] == doctest::Approx(var[size_t(c)]).epsilon(1e-5));
      }
    }
    CHECK(bn.num_batches_tracked() == int64_t(batches.size()));
  }
  SUBCASE("state names and ranks are PyTorch's") {
    BatchNorm bn(2, NormConfig());
    auto params = bn.params();
    auto buffers = bn.buffers();
    auto counters = bn.counters();
    REQUIRE(params.size() == 2);
    REQUIRE(buffers.size() == 2);
    REQUIRE(counters.size() == 1);
    CHECK(params[0].name == "weight");
    CHECK(params[1].name == "bias");
    CHECK(buffers[0].name == "running_mean");
    CHECK(buffers[1].name == "running_var");
    CHECK(counters[0].name == "num_batches_tracked");
    CHECK(params[0].dims == 1);
    CHECK(buffers[1].dims == 1);
    CHECK(params[0].value->shape() == Shape{2, 1, 1, 1});
    bn.forward(batches[0], Mode::Train);
    CHECK(*counters[0].value == 1);
    CHECK(bn.kind() == "bn");
  }
}

TEST_CASE("batchnorm state copied through params, buffers and counters reproduces the layer") {
  NormConfig config;
  SUBCASE("momentum 0.1") {}
  SUBCASE("cumulative, where num_batches_tracked sets the next factor") { config.cumulative = true; }
  const Shape shape{6, 3, 2, 2};
  BatchNorm trained(3, config), restored(3, config);
  set_values(trained.gamma(), {0.5f, 1.5f, -0.75f});
  set_values(trained.beta(), {0.1f, -0.2f, 0.3f});
  for (int step = 0; step < 3; ++step) trained.forward(random_tensor(shape, 90 + step), Mode::Train);
  auto from_p = trained.params(), to_p = restored.params();
  auto from_b = trained.buffers(), to_b = restored.buffers();
  auto from_c = trained.counters(), to_c = restored.counters();
  REQUIRE(from_p.size() == to_p.size());
  REQUIRE(from_b.size() == to_b.size());
  REQUIRE(from_c.size() == to_c.size());
  for (size_t i = 0; i < from_p.size(); ++i) *to_p[i].value = *from_p[i].value;
  for (size_t i = 0; i < from_b.size(); ++i) *to_b[i].value = *from_b[i].value;
  for (size_t i = 0; i < from_c.size(); ++i) *to_c[i].value = *from_c[i].value;
  const Tensor x = random_tensor(shape, 99);
  check_equal(restored.forward(x, Mode::Eval), trained.forward(x, Mode::Eval), "eval y");
  check_equal(restored.forward(x, Mode::Train), trained.forward(x, Mode::Train), "train y");
  check_equal(restored.running_var(), trained.running_var(), "running_var after one more step");
  CHECK(restored.num_batches_tracked() == 4);
}

TEST_CASE("batchnorm without running statistics uses batch statistics in both modes") {
  NormConfig config;
  config.track_running_stats = false;
  BatchNorm bn(3, config);
  CHECK(bn.buffers().empty());
  CHECK(bn.counters().empty());
  const Shape shape{4, 3, 2, 2};
  const Tensor x = random_tensor(shape, 21, 2.0);
  const Tensor dy = random_tensor(shape, 22);
  const Tensor y_train = bn.forward(x, Mode::Train);
  const Tensor dx_train = bn.backward(dy);
  const Tensor y_eval = bn.forward(x, Mode::Eval);
  const Tensor dx_eval = bn.backward(dy);
  check_equal(y_eval, y_train, "eval y equals train y");
  check_equal(dx_eval, dx_train, "eval dx equals train dx");
  CHECK(bn.num_batches_tracked() == 0);
  CHECK(bn.running_mean()[0] == 0.f);
  CHECK(bn.running_var()[0] == 1.f);
  const ChannelStats s = channel_stats(x);
  CHECK(bn.batch_mean()[1] == doctest::Approx(s.mean[1]).epsilon(1e-5).scale(1.0));
  CHECK(bn.batch_var()[1] == doctest::Approx(s.var[1]).epsilon(1e-5));
  // PyTorch refuses one value per channel here even in eval mode (it uses batch statistics).
  CHECK_THROWS_AS(bn.forward(Tensor(Shape{1, 3, 1, 1}), Mode::Eval), Error);
}

TEST_CASE("batchnorm refuses one value per channel in train mode, as PyTorch does") {
  BatchNorm bn(4, NormConfig());
  SUBCASE("BatchNorm1d with one sample") {
    const Tensor x = random_tensor(Shape{1, 4, 1, 1}, 3);
    std::string message;
    try {
      bn.forward(x, Mode::Train);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.find("Expected more than 1 value per channel when training") !=
          std::string::npos);
    CHECK(message.find("(1, 4, 1, 1)") != std::string::npos);
    CHECK(bn.num_batches_tracked() == 0);  // the failed call changed nothing
    CHECK(bn.running_mean()[0] == 0.f);
    CHECK_NOTHROW(bn.forward(x, Mode::Eval));
  }
  SUBCASE("BatchNorm2d with one sample of 2x2 is fine") {
    const Tensor x = random_tensor(Shape{1, 4, 2, 2}, 3);
    const Tensor& y = bn.forward(x, Mode::Train);
    const ChannelStats s = channel_stats(y);
    CHECK(s.mean[2] == doctest::Approx(0.0).scale(1.0).epsilon(1e-5));
    CHECK(s.var[2] == doctest::Approx(1.0).epsilon(1e-3));
  }
  SUBCASE("wrong channel count") {
    CHECK_THROWS_AS(bn.forward(Tensor(Shape{2, 3, 1, 1}), Mode::Train), Error);
  }
  SUBCASE("backward before forward") {
    CHECK_THROWS_AS(bn.backward(Tensor(Shape{2, 4, 1, 1})), Error);
  }
}

TEST_CASE("batchnorm in a chain of 20 shrinks eval outputs by (63/64)^10, as NUMERICS.md 2 says") {
  // 20 BatchNorm1d, affine off, one fixed batch of 64. eps 0 is rejected by the config check
  // (a constant feature would divide by zero), so eps is 1e-12, negligible against var ~ 1.
  // After enough train forwards with momentum 0.01 (0.99^3000 ~ 1e-13), each running_var is the
  // unbiased variance 64/63 of its input, so each eval layer scales by sqrt(63/64) more than the
  // train layer: after layer k the eval output is (63/64)^(k/2) of the train output.
  NormConfig config;
  config.affine = false;
  config.eps = 1e-12f;
  config.momentum = 0.01f;
  std::vector<BatchNorm> chain(20, BatchNorm(4, config));
  const Tensor x = random_tensor(Shape{64, 4, 1, 1}, 31, 3.0);
  auto run = [&](Mode mode, std::vector<Tensor>& outputs) {
    outputs.clear();
    const Tensor* a = &x;
    for (BatchNorm& bn : chain) outputs.push_back(*(a = &bn.forward(*a, mode)));
  };
  std::vector<Tensor> train, eval;
  for (int step = 0; step < 3000; ++step) run(Mode::Train, train);
  run(Mode::Eval, eval);
  for (int k = 0; k < 20; ++k) {
    CAPTURE(k);
    const ChannelStats t = channel_stats(train[size_t(k)]), e = channel_stats(eval[size_t(k)]);
    for (int c = 0; c < 4; ++c) {
      const double ratio = std::sqrt(e.var[size_t(c)] / t.var[size_t(c)]);
      CHECK(ratio == doctest::Approx(std::pow(63.0 / 64.0, (k + 1) / 2.0)).epsilon(2e-4));
    }
  }
  const ChannelStats t = channel_stats(train.back()), e = channel_stats(eval.back());
  CHECK(std::sqrt(e.var[0] / t.var[0]) == doctest::Approx(0.854).epsilon(1e-3));
}

TEST_CASE("batch renorm with r_max 1 and d_max 0 is plain BN, bit for bit") {
  NormConfig brn_config = config_of(NormKind::Renorm);
  brn_config.r_max = 1.f;
  brn_config.d_max = 0.f;
  BatchNorm bn(3, NormConfig()), brn(3, brn_config);
  CHECK(brn.kind() == "brn");
  for (BatchNorm* layer : {&bn, &brn}) {
    set_values(layer->gamma(), {0.5f, 1.5f, -0.75f});
    set_values(layer->beta(), {0.1f, -0.2f, 0.3f});
  }
  const Shape shape{6, 3, 2, 2};
  // Several steps on batches with shifted statistics, so that unclipped r and d would not be
  // 1 and 0: the clip alone must make renorm equal to BN.
  for (int step = 0; step < 4; ++step) {
    CAPTURE(step);
    Tensor x = random_tensor(shape, 40 + step, 1.0 + step);
    for (int64_t i = 0; i < x.size(); ++i) x[i] += float(step);
    const Tensor dy = random_tensor(shape, 50 + step);
    const Mode mode = step == 3 ? Mode::Eval : Mode::Train;
    check_equal(brn.forward(x, mode), bn.forward(x, mode), "y");
    check_equal(brn.backward(dy), bn.backward(dy), "dx");
    check_equal(*brn.params()[0].grad, *bn.params()[0].grad, "dgamma");
    check_equal(*brn.params()[1].grad, *bn.params()[1].grad, "dbeta");
    check_equal(brn.running_mean(), bn.running_mean(), "running_mean");
    check_equal(brn.running_var(), bn.running_var(), "running_var");
    for (int c = 0; c < 3; ++c) {
      CHECK(brn.renorm_r()[c] == 1.f);
      CHECK(brn.renorm_d()[c] == 0.f);
    }
  }
  CHECK(brn.num_batches_tracked() == bn.num_batches_tracked());
}

TEST_CASE("batch renorm corrects the batch statistics towards the running ones") {
  NormConfig config = config_of(NormKind::Renorm);
  config.r_max = 3.f;
  config.d_max = 2.f;
  config.eps = 0.25f;  // large, so that a missing eps in sigma or sigma_B would show
  const double eps = 0.25;
  NormConfig bn_config;
  bn_config.eps = config.eps;
  BatchNorm brn(2, config);
  set_values(brn.gamma(), {1.5f, -0.5f});
  set_values(brn.beta(), {0.2f, 0.4f});
  const Shape shape{8, 2, 2, 2};
  const Tensor x = random_tensor(shape, 61, 1.5);
  const Tensor dy = random_tensor(shape, 62);
  const ChannelStats s = channel_stats(x);

  SUBCASE("forward: r and d by hand, clipped or not, and the running update of BN") {
    std::vector<float> rm, rv;
    bool clipped = false;
    SUBCASE("inside the clip") {
      rm = {float(s.mean[0]) + 0.3f, float(s.mean[1]) - 0.2f};
      rv = {float(s.var[0]) * 1.7f, float(s.var[1]) * 0.6f};
    }
    SUBCASE("clipped at r_max and d_max") {
      rm = {float(s.mean[0]) - 40.f, float(s.mean[1]) + 40.f};
      rv = {float(s.var[0]) / 1000.f, float(s.var[1]) * 100.f};
      clipped = true;
    }
    set_values(brn.running_mean(), rm);
    set_values(brn.running_var(), rv);
    const Tensor y = brn.forward(x, Mode::Train);
    Tensor y_ref(shape);
    for (int c = 0; c < 2; ++c) {
      const double sigma = std::sqrt(rv[size_t(c)] + eps);
      const double sigma_b = std::sqrt(s.var[size_t(c)] + eps);
      const double r = std::min(3.0, std::max(1.0 / 3.0, sigma_b / sigma));
      const double d = std::min(2.0, std::max(-2.0, (s.mean[size_t(c)] - rm[size_t(c)]) / sigma));
      CHECK(brn.renorm_r()[c] == doctest::Approx(r).epsilon(1e-5));
      CHECK(brn.renorm_d()[c] == doctest::Approx(d).epsilon(1e-5).scale(1.0));
      for (int n = 0; n < shape.n; ++n)
        for (int h = 0; h < 2; ++h)
          for (int w = 0; w < 2; ++w) {
            const double xhat = (x.at(n, c, h, w) - s.mean[size_t(c)]) / sigma_b * r + d;
            y_ref.at(n, c, h, w) = float(brn.gamma()[c] * xhat + brn.beta()[c]);
          }
      const double m = shape.n * 4.0;
      CHECK(brn.running_mean()[c] ==
            doctest::Approx(0.9 * rm[size_t(c)] + 0.1 * s.mean[size_t(c)]).epsilon(1e-6));
      CHECK(brn.running_var()[c] ==
            doctest::Approx(0.9 * rv[size_t(c)] + 0.1 * s.var[size_t(c)] * m / (m - 1))
                .epsilon(1e-6));
    }
    check_close(y, y_ref, 1e-5, 1e-5, "renorm y");
    if (clipped) {
      CHECK(brn.renorm_r()[0] == 3.f);
      CHECK(brn.renorm_r()[1] == doctest::Approx(1.0 / 3.0));
      CHECK(brn.renorm_d()[0] == 2.f);
      CHECK(brn.renorm_d()[1] == -2.f);
    } else {
      for (int c = 0; c < 2; ++c) {
        CHECK(std::fabs(brn.renorm_r()[c] - 1.f) > 0.05f);
        CHECK(std::fabs(brn.renorm_r()[c]) < 3.f);
        CHECK(std::fabs(brn.renorm_d()[c]) > 0.05f);
        CHECK(std::fabs(brn.renorm_d()[c]) < 2.f);
      }
    }
  }
  SUBCASE("backward treats r and d as constants: BN's backward with gamma * r and gamma * d + beta") {
    set_values(brn.running_mean(), {float(s.mean[0]) + 0.3f, float(s.mean[1]) - 0.2f});
    set_values(brn.running_var(), {float(s.var[0]) * 1.7f, float(s.var[1]) * 0.6f});
    brn.zero_grad();
    const Tensor y = brn.forward(x, Mode::Train);
    const Tensor dx = brn.backward(dy);
    BatchNorm bn(2, bn_config);
    for (int c = 0; c < 2; ++c) {
      REQUIRE(brn.renorm_r()[c] != 1.f);
      REQUIRE(brn.renorm_d()[c] != 0.f);
      bn.gamma()[c] = brn.gamma()[c] * brn.renorm_r()[c];
      bn.beta()[c] = brn.gamma()[c] * brn.renorm_d()[c] + brn.beta()[c];
    }
    bn.zero_grad();
    check_close(bn.forward(x, Mode::Train), y, 1e-5, 1e-5, "y as BN with folded r, d");
    check_close(bn.backward(dy), dx, 1e-5, 1e-5, "dx as BN with folded r, d");
    // dgamma = sum g * (r * xhat + d) and dbeta = sum g, with xhat of the batch statistics.
    for (int c = 0; c < 2; ++c) {
      double dgamma = 0.0, dbeta = 0.0;
      for (int n = 0; n < shape.n; ++n)
        for (int h = 0; h < 2; ++h)
          for (int w = 0; w < 2; ++w) {
            const double xhat =
                (x.at(n, c, h, w) - s.mean[size_t(c)]) / std::sqrt(s.var[size_t(c)] + eps);
            dgamma += dy.at(n, c, h, w) * (brn.renorm_r()[c] * xhat + brn.renorm_d()[c]);
            dbeta += dy.at(n, c, h, w);
          }
      CHECK((*brn.params()[0].grad)[c] == doctest::Approx(dgamma).epsilon(1e-5));
      CHECK((*brn.params()[1].grad)[c] == doctest::Approx(dbeta).epsilon(1e-5));
    }
  }
  SUBCASE("backward matches finite differences where r and d are clipped (locally constant)") {
    Shape grad_shape;
    SUBCASE("BatchNorm1d") { grad_shape = {8, 2, 1, 1}; }
    SUBCASE("BatchNorm2d") { grad_shape = {3, 2, 3, 2}; }
    GradCheckOptions options;
    // Running estimates far from any batch's: r = 1/3 and d = +-2 for every probe; reset before
    // each forward because a train forward updates them.
    options.before_forward = [&] {
      set_values(brn.running_mean(), {-50.f, 50.f});
      set_values(brn.running_var(), {100.f, 100.f});
    };
    check_gradients(brn, random_tensor(grad_shape, 63), 64, options);
    CHECK(brn.renorm_r()[0] == doctest::Approx(1.0 / 3.0));
    CHECK(brn.renorm_d()[1] == doctest::Approx(-2.0));
  }
  SUBCASE("backward matches finite differences in eval mode") {
    GradCheckOptions options;
    options.mode = Mode::Eval;
    set_values(brn.running_mean(), {0.5f, -0.3f});
    set_values(brn.running_var(), {2.f, 0.7f});
    check_gradients(brn, random_tensor(Shape{4, 2, 2, 3}, 65), 66, options);
  }
  SUBCASE("eval mode is BN's eval mode") {
    BatchNorm bn(2, bn_config);
    for (BatchNorm* layer : {&bn, &brn}) {
      set_values(layer->gamma(), {1.5f, -0.5f});
      set_values(layer->beta(), {0.2f, 0.4f});
      set_values(layer->running_mean(), {0.5f, -0.3f});
      set_values(layer->running_var(), {2.f, 0.7f});
    }
    check_equal(brn.forward(x, Mode::Eval), bn.forward(x, Mode::Eval), "eval y");
    check_equal(brn.backward(dy), bn.backward(dy), "eval dx");
  }
}

TEST_CASE("ghost batchnorm normalizes each sub-batch on its own") {
  const Shape shape{10, 3, 2, 2};
  const Tensor x = random_tensor(shape, 71, 2.0);
  const Tensor dy = random_tensor(shape, 72);

  SUBCASE("a ghost batch of N or more is plain BN, bit for bit") {
    NormConfig config = config_of(NormKind::Ghost);
    SUBCASE("ghost_batch = N") { config.ghost_batch = 10; }
    SUBCASE("ghost_batch > N") { config.ghost_batch = 64; }
    BatchNorm gbn(3, config), bn(3, NormConfig());
    CHECK(gbn.kind() == "gbn");
    for (int step = 0; step < 3; ++step) {
      const Mode mode = step == 2 ? Mode::Eval : Mode::Train;
      check_equal(gbn.forward(x, mode), bn.forward(x, mode), "y");
      check_equal(gbn.backward(dy), bn.backward(dy), "dx");
      check_equal(*gbn.params()[0].grad, *bn.params()[0].grad, "dgamma");
      check_equal(gbn.running_var(), bn.running_var(), "running_var");
      check_equal(gbn.batch_mean(), bn.batch_mean(), "batch_mean");
    }
    CHECK(gbn.num_batches_tracked() == 2);
  }
  SUBCASE("sub-batches of 4, 4, 2 act as three batches seen by one BN") {
    NormConfig config = config_of(NormKind::Ghost);
    config.ghost_batch = 4;
    BatchNorm gbn(3, config), bn(3, NormConfig());
    for (BatchNorm* layer : {&gbn, &bn}) {
      set_values(layer->gamma(), {0.5f, 1.5f, -0.75f});
      set_values(layer->beta(), {0.1f, -0.2f, 0.3f});
    }
    const Tensor y = gbn.forward(x, Mode::Train);
    const Tensor dx = gbn.backward(dy);
    Tensor mean_ref(Shape{3, 1, 1, 1}, 0.f);
    for (int n0 : {0, 4, 8}) {
      const int n1 = std::min(10, n0 + 4);
      CAPTURE(n0);
      const Tensor x_sub = slice(x, n0, n1);  // kept: backward reads the forward's input again
      check_equal(slice(y, n0, n1), bn.forward(x_sub, Mode::Train), "sub-batch y");
      check_equal(slice(dx, n0, n1), bn.backward(slice(dy, n0, n1)), "sub-batch dx");
      for (int c = 0; c < 3; ++c) mean_ref[c] += bn.batch_mean()[c] * float(n1 - n0) / 10.f;
    }
    check_close(*gbn.params()[0].grad, *bn.params()[0].grad, 1e-6, 1e-6, "dgamma over sub-batches");
    check_close(*gbn.params()[1].grad, *bn.params()[1].grad, 1e-6, 1e-6, "dbeta over sub-batches");
    check_equal(gbn.running_mean(), bn.running_mean(), "running_mean");
    check_equal(gbn.running_var(), bn.running_var(), "running_var");
    CHECK(gbn.num_batches_tracked() == 3);
    // batch_mean() is the size-weighted average of the sub-batch means: the whole batch's mean.
    const ChannelStats s = channel_stats(x);
    for (int c = 0; c < 3; ++c) {
      CHECK(gbn.batch_mean()[c] == doctest::Approx(mean_ref[c]).epsilon(1e-6).scale(1.0));
      CHECK(gbn.batch_mean()[c] == doctest::Approx(s.mean[size_t(c)]).epsilon(1e-5).scale(1.0));
    }
    // Eval mode normalizes the whole batch with the running statistics, like BN.
    check_equal(gbn.forward(x, Mode::Eval), bn.forward(x, Mode::Eval), "eval y");
  }
  SUBCASE("a last sub-batch of one value per channel is PyTorch's error") {
    NormConfig config = config_of(NormKind::Ghost);
    config.ghost_batch = 8;
    BatchNorm gbn(3, config);
    std::string message;
    try {
      gbn.forward(random_tensor(Shape{9, 3, 1, 1}, 73), Mode::Train);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.find("Expected more than 1 value per channel when training") !=
          std::string::npos);
    CHECK(message.find("ghost") != std::string::npos);
    CHECK(gbn.num_batches_tracked() == 0);
    CHECK_NOTHROW(gbn.forward(random_tensor(Shape{9, 3, 2, 1}, 73), Mode::Train));
    CHECK(gbn.num_batches_tracked() == 2);
  }
  SUBCASE("backward matches finite differences") {
    NormConfig config = config_of(NormKind::Ghost);
    config.ghost_batch = 3;
    GradCheckOptions options;
    Shape grad_shape;
    SUBCASE("BatchNorm1d, train") { grad_shape = {8, 2, 1, 1}; }
    SUBCASE("BatchNorm2d, train") { grad_shape = {5, 2, 2, 2}; }
    SUBCASE("BatchNorm2d, eval") {
      grad_shape = {5, 2, 2, 2};
      options.mode = Mode::Eval;
    }
    SUBCASE("BatchNorm2d, no affine") {
      grad_shape = {5, 2, 2, 2};
      config.affine = false;
    }
    BatchNorm gbn(2, config);
    set_values(gbn.gamma(), {1.3f, -0.6f});
    set_values(gbn.beta(), {0.2f, 0.1f});
    set_values(gbn.running_mean(), {0.4f, -0.1f});
    set_values(gbn.running_var(), {1.5f, 0.8f});
    check_gradients(gbn, random_tensor(grad_shape, 74, 1.5), 75, options);
  }
}

TEST_CASE("normalizer names parse both ways and unknown ones are refused") {
  for (NormKind kind : {NormKind::None, NormKind::Batch, NormKind::Layer, NormKind::Group,
                        NormKind::Instance, NormKind::Renorm, NormKind::Ghost})
    CHECK(parse_norm_kind(norm_kind_name(kind)) == kind);
  CHECK(norm_kind_name(NormKind::Instance) == "instance");
  CHECK(parse_norm_kind("renorm") == NormKind::Renorm);
  std::string message;
  try {
    parse_norm_kind("batchnorm");
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("\"batchnorm\"") != std::string::npos);
  CHECK(message.find("none, batch, layer, group, instance, renorm, ghost") != std::string::npos);
  CHECK_THROWS_AS(parse_norm_kind("Batch"), Error);
  CHECK_THROWS_AS(parse_norm_kind(""), Error);
}

TEST_CASE("make_normalizer builds the right layer and validates the config") {
  SUBCASE("one layer per kind") {
    CHECK(make_normalizer(config_of(NormKind::None), 8) == nullptr);
    const std::vector<std::pair<NormKind, std::string>> kinds = {
        {NormKind::Batch, "bn"},    {NormKind::Renorm, "brn"}, {NormKind::Ghost, "gbn"},
        {NormKind::Layer, "ln"},    {NormKind::Group, "gn"},   {NormKind::Instance, "in"}};
    for (const auto& [kind, name] : kinds) {
      const auto layer = make_normalizer(config_of(kind), 8);
      REQUIRE(layer != nullptr);
      CHECK(layer->kind() == name);
      CHECK(layer->params().size() == 2);
    }
    NormConfig config = config_of(NormKind::Layer);
    config.affine = false;
    CHECK(make_normalizer(config, 8)->params().empty());
  }
  SUBCASE("each invalid field is named") {
    NormConfig config;
    std::string field;
    SUBCASE("eps 0") { config.eps = 0.f; field = "eps"; }
    SUBCASE("eps negative") { config.eps = -1e-5f; field = "eps"; }
    SUBCASE("eps NaN") { config.eps = NAN; field = "eps"; }
    SUBCASE("momentum above 1") { config.momentum = 1.5f; field = "momentum"; }
    SUBCASE("momentum negative") { config.momentum = -0.1f; field = "momentum"; }
    SUBCASE("momentum NaN") { config.momentum = NAN; field = "momentum"; }
    SUBCASE("groups 0") { config.groups = 0; field = "groups"; }
    SUBCASE("ghost_batch 1") { config.ghost_batch = 1; field = "ghost_batch"; }
    SUBCASE("r_max below 1") { config.r_max = 0.5f; field = "r_max"; }
    SUBCASE("d_max negative") { config.d_max = -1.f; field = "d_max"; }
    SUBCASE("renorm without running statistics") {
      config.kind = NormKind::Renorm;
      config.track_running_stats = false;
      field = "track_running_stats";
    }
    std::string message;
    try {
      make_normalizer(config, 8);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK_MESSAGE(message.find(field) != std::string::npos, message);
    CHECK_THROWS_AS(validate_norm_config(config), Error);
    CHECK_THROWS_AS(BatchNorm(8, config), Error);
  }
  SUBCASE("boundary values are accepted") {
    NormConfig config;
    config.momentum = 0.f;
    config.ghost_batch = 2;
    config.r_max = 1.f;
    config.d_max = 0.f;
    CHECK_NOTHROW(validate_norm_config(config));
    config.momentum = 1.f;
    CHECK_NOTHROW(validate_norm_config(config));
  }
  SUBCASE("groups must divide the channels") {
    NormConfig config = config_of(NormKind::Group);
    config.groups = 3;
    std::string message;
    try {
      make_normalizer(config, 8);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.find("groups (3) must divide channels (8)") != std::string::npos);
  }
  SUBCASE("BatchNorm refuses the kinds of GroupNorm") {
    CHECK_THROWS_AS(BatchNorm(4, config_of(NormKind::Layer)), Error);
  }
}
