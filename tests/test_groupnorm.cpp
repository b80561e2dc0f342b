// GroupNorm, LayerNorm and InstanceNorm (NUMERICS.md 3): PyTorch's numbers, hand-computed
// statistics, finite differences, the G = 1 / G = C identities and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "layers/groupnorm.h"

using namespace bnlab;
using bnlab::test::check_close;
using bnlab::test::check_gradients;
using bnlab::test::GradCheckOptions;
using bnlab::test::random_tensor;
using bnlab::test::tensor_of;

namespace {

// The normalization of x over blocks of `per_group` consecutive channels of each sample, in
// double with plain loops (no affine): the definition of NUMERICS.md 3, independent of the layer.
Tensor reference_normalize(const Tensor& x, int per_group, double eps) {
  const Shape s = x.shape();
  Tensor out(s);
  for (int n = 0; n < s.n; ++n)
    for (int c0 = 0; c0 < s.c; c0 += per_group) {
      double mean = 0.0, var = 0.0;
      const double m = double(per_group) * s.h * s.w;
      for (int c = c0; c < c0 + per_group; ++c)
        for (int h = 0; h < s.h; ++h)
          for (int w = 0; w < s.w; ++w) mean += x.at(n, c, h, w) / m;
      for (int c = c0; c < c0 + per_group; ++c)
        for (int h = 0; h < s.h; ++h)
          for (int w = 0; w < s.w; ++w) var += std::pow(x.at(n, c, h, w) - mean, 2) / m;
      for (int c = c0; c < c0 + per_group; ++c)
        for (int h = 0; h < s.h; ++h)
          for (int w = 0; w < s.w; ++w)
            out.at(n, c, h, w) = float((x.at(n, c, h, w) - mean) / std::sqrt(var + eps));
    }
  return out;
}

}  // namespace

TEST_CASE("groupnorm matches PyTorch 1.13's nn.GroupNorm") {
  // Numbers from torch.nn.GroupNorm(2, 4) (eps 1e-5), PyTorch 1.13.1 CPU:
  //   import math, torch
  //   def fmt(t): return ", ".join("%.8g" % v for v in t.detach().reshape(-1).tolist())
  //   N, C, H, W = 2, 4, 2, 3; n = N * C * H * W
  //   xg = torch.tensor([1.5 * math.sin(0.37 * i * i + 0.5) + 0.05 * i for i in range(n)],
  //                     dtype=torch.float32).reshape(N, C, H, W).requires_grad_(True)
  //   dyg = torch.tensor([math.cos(1.3 * i) for i in range(n)], dtype=torch.float32).reshape(N, C, H, W)
  //   gn = torch.nn.GroupNorm(2, C)
  //   with torch.no_grad():
  //       gn.weight.copy_(torch.tensor([0.5, 1.5, -0.75, 2.0]))
  //       gn.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
  //   y = gn(xg); y.backward(dyg)
  //   print(fmt(y), fmt(xg.grad), fmt(gn.weight.grad), fmt(gn.bias.grad))
  const Shape shape{2, 4, 2, 3};
  Tensor x(shape), dy(shape);
  for (int64_t i = 0; i < x.size(); ++i) {
    x[i] = float(1.5 * std::sin(0.37 * double(i) * double(i) + 0.5) + 0.05 * double(i));
    dy[i] = float(std::cos(1.3 * double(i)));
  }
  GroupNorm gn(4, 2, NormConfig(), "gn");
  gn.gamma() = tensor_of(Shape{4, 1, 1, 1}, {0.5f, 1.5f, -0.75f, 2.0f});
  gn.beta() = tensor_of(Shape{4, 1, 1, 1}, {0.1f, -0.2f, 0.3f, 0.0f});
  gn.zero_grad();
  Mode mode = Mode::Train;
  SUBCASE("in train mode") {}
  SUBCASE("in eval mode (the same: no running statistics)") { mode = Mode::Eval; }
  const Tensor y = gn.forward(x, mode);
  const Tensor dx = gn.backward(dy);
  check_close(y, tensor_of(shape, {
      0.25251383, 0.50123566, 0.64695203, -0.54056382, 0.088617101, -0.24165097, 1.8301169,
      -0.83013183, -2.1522481, -2.0647888, -0.54877537, 2.2445164, 1.2143742, 0.54515558,
      1.5074347, -0.29732546, -0.27575213, -0.033568803, 1.7806283, 1.911074, -2.7897084,
      0.46344179, -1.8074402, 2.736187, -0.14075086, -0.54432213, -0.51278454, -0.03636485,
      0.5979321, -0.42035455, 0.39781675, -2.1561546, 0.93872488, 1.5500562, 1.335121,
      1.7043688, 0.015690373, 1.5812044, -0.10639146, 1.3617121, -0.48759252, 0.028517388,
      -1.0883368, -0.90506828, 1.2500625, 2.3799231, -2.5168877, 2.4620147}),
      1e-5, 1e-5, "y");
  check_close(dx, tensor_of(shape, {
      0.48537207, 0.11240526, -0.46835238, -0.44164127, 0.20271631, 0.45589429, 0.06699837,
      -1.529754, -0.94064492, 0.94953686, 1.3733852, -0.26591587, 0.81490779, 0.25135148,
      -0.48714828, -0.74290544, 0.13545428, 0.63770765, -0.4783597, 1.6540133, 1.3821235,
      -1.2096637, -1.8606641, -0.096817046, 0.46737474, 0.4259657, -0.10319036, -0.36959544,
      -0.16442636, 0.60085547, 0.19678091, -0.88202941, -1.1666842, 0.28947592, 0.97741973,
      -0.27194628, 0.56343085, 0.70367968, -0.57135248, -0.36739889, -0.11019608, 0.59874439,
      -0.59085321, 1.5393237, 1.3256407, -0.93451333, -1.6028466, -0.5536586}),
      1e-5, 1e-5, "dx");
  auto params = gn.params();
  REQUIRE(params.size() == 2);
  CHECK(params[0].name == "weight");
  CHECK(params[1].name == "bias");
  check_close(*params[0].grad,
              tensor_of(Shape{4, 1, 1, 1}, {-0.88814676, 2.2088699, -0.90810174, 1.5713453}),
              1e-5, 1e-5, "dgamma");
  check_close(*params[1].grad,
              tensor_of(Shape{4, 1, 1, 1}, {2.2596729, 0.1209196, -2.2466245, -0.36335483}),
              1e-5, 1e-5, "dbeta");
}

TEST_CASE("instancenorm normalizes each channel of each sample, by hand") {
  // Sample 0: channel 0 = {1, 3}: mean 2, var 1; channel 1 = {2, 6}: mean 4, var 4.
  // Sample 1: channel 0 = {-1, -1}: var 0, output 0; channel 1 = {0, 10}: mean 5, var 25.
  GroupNorm in(2, 2, NormConfig(), "in");
  const Tensor x = tensor_of(Shape{2, 2, 1, 2}, {1, 3, 2, 6, -1, -1, 0, 10});
  const Tensor& y = in.forward(x, Mode::Train);
  const double e = 1e-5;
  const std::vector<double> expected = {-1 / std::sqrt(1 + e), 1 / std::sqrt(1 + e),
                                        -2 / std::sqrt(4 + e), 2 / std::sqrt(4 + e),
                                        0, 0, -5 / std::sqrt(25 + e), 5 / std::sqrt(25 + e)};
  for (int64_t i = 0; i < y.size(); ++i)
    CHECK(y[i] == doctest::Approx(expected[size_t(i)]).epsilon(1e-6).scale(1.0));
}

TEST_CASE("groupnorm pools the values NUMERICS.md 3 says: G = 1 is LayerNorm, G = C is InstanceNorm") {
  const Shape shape{3, 6, 4, 5};
  const Tensor x = random_tensor(shape, 81, 2.0);
  NormConfig config;
  config.affine = false;  // compare the normalization itself
  SUBCASE("LayerNorm over (C, H, W)") {
    GroupNorm ln(6, 1, config, "ln"), gn1(6, 1, config, "gn");
    check_close(ln.forward(x, Mode::Train), reference_normalize(x, 6, 1e-5), 1e-5, 1e-5, "ln");
    check_close(gn1.forward(x, Mode::Train), ln.forward(x, Mode::Train), 0.0, 0.0, "gn(1) = ln");
  }
  SUBCASE("InstanceNorm over (H, W)") {
    GroupNorm in(6, 6, config, "in"), gn6(6, 6, config, "gn");
    check_close(in.forward(x, Mode::Train), reference_normalize(x, 1, 1e-5), 1e-5, 1e-5, "in");
    check_close(gn6.forward(x, Mode::Train), in.forward(x, Mode::Train), 0.0, 0.0, "gn(C) = in");
  }
  SUBCASE("GroupNorm(3) over (2, H, W)") {
    GroupNorm gn(6, 3, config, "gn");
    check_close(gn.forward(x, Mode::Train), reference_normalize(x, 2, 1e-5), 1e-5, 1e-5, "gn");
  }
  SUBCASE("LayerNorm of a dense activation (N, F)") {
    const Tensor dense = random_tensor(Shape{5, 7, 1, 1}, 82);
    GroupNorm ln(7, 1, config, "ln");
    check_close(ln.forward(dense, Mode::Train), reference_normalize(dense, 7, 1e-5), 1e-5, 1e-5,
                "dense ln");
  }
}

TEST_CASE("groupnorm backward matches finite differences and sums to zero per group") {
  NormConfig config;
  GradCheckOptions options;
  SUBCASE("affine, train") {}
  SUBCASE("affine, eval") { options.mode = Mode::Eval; }
  SUBCASE("no affine") { config.affine = false; }
  struct Variant {
    Shape shape;
    int groups;
    std::string kind;
  };
  // A loop over the normalizers (doctest runs one SUBCASE path at a time).
  for (const Variant& v : {Variant{{4, 6, 3, 3}, 3, "gn"}, Variant{{4, 6, 3, 3}, 1, "ln"},
                           Variant{{4, 6, 3, 3}, 6, "in"}, Variant{{6, 8, 1, 1}, 1, "ln"},
                           Variant{{6, 8, 1, 1}, 2, "gn"}}) {
    CAPTURE(v.kind);
    CAPTURE(v.shape.str());
    GroupNorm gn(v.shape.c, v.groups, config, v.kind);
    Rng rng(83);
    for (int c = 0; c < v.shape.c; ++c) {
      gn.gamma()[c] = float(rng.uniform(-2.0, 2.0));
      gn.beta()[c] = float(rng.uniform(-1.0, 1.0));
    }
    const Tensor x = random_tensor(v.shape, 84, 1.5);
    check_gradients(gn, x, 85, options);
    // dx sums to zero over each sample's group (its mean was subtracted).
    const Tensor dx = gn.backward(random_tensor(v.shape, 86));
    const int64_t block = v.shape.per_sample() / v.groups;
    for (int64_t b = 0; b < dx.size() / block; ++b) {
      double sum = 0.0, scale = 0.0;
      for (int64_t i = b * block; i < (b + 1) * block; ++i) {
        sum += dx[i];
        scale += std::fabs(dx[i]);
      }
      CHECK(std::fabs(sum) < 1e-5 * scale);
    }
  }
}

TEST_CASE("groupnorm refuses impossible groupings") {
  SUBCASE("groups that do not divide the channels") {
    std::string message;
    try {
      GroupNorm(6, 4, NormConfig(), "gn");
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.find("groups (4) must divide channels (6)") != std::string::npos);
  }
  SUBCASE("a single value per group") {
    GroupNorm in(4, 4, NormConfig(), "in");
    CHECK_THROWS_AS(in.forward(Tensor(Shape{8, 4, 1, 1}), Mode::Train), Error);
    CHECK_THROWS_AS(in.output_shape(Shape{8, 4, 1, 1}), Error);
    CHECK(in.output_shape(Shape{8, 4, 1, 2}) == Shape{8, 4, 1, 2});
    GroupNorm ln(1, 1, NormConfig(), "ln");
    CHECK_THROWS_AS(ln.forward(Tensor(Shape{8, 1, 1, 1}), Mode::Eval), Error);
  }
  SUBCASE("a kind that contradicts the groups") {
    CHECK_THROWS_AS(GroupNorm(6, 2, NormConfig(), "ln"), Error);
    CHECK_THROWS_AS(GroupNorm(6, 3, NormConfig(), "in"), Error);
    CHECK_THROWS_AS(GroupNorm(6, 3, NormConfig(), "bn"), Error);
  }
  SUBCASE("a wrong input") {
    GroupNorm gn(6, 3, NormConfig(), "gn");
    CHECK_THROWS_AS(gn.forward(Tensor(Shape{2, 4, 3, 3}), Mode::Train), Error);
    CHECK_THROWS_AS(gn.backward(Tensor(Shape{2, 6, 3, 3})), Error);
  }
  SUBCASE("an invalid config") {
    NormConfig config;
    config.eps = -1.f;
    CHECK_THROWS_AS(GroupNorm(6, 3, config, "gn"), Error);
  }
}
