// NoisyShift, the noisy-BN perturbation of NUMERICS.md 4c: its distributions, its draw order,
// determinism from a seed and from a saved state, eval identity and gradients.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "layers/noise.h"

using namespace bnlab;
using bnlab::test::check_close;
using bnlab::test::check_gradients;
using bnlab::test::GradCheckOptions;
using bnlab::test::random_tensor;

TEST_CASE("noise applies y = s * x + m with one draw per sample and channel") {
  Shape shape;
  SUBCASE("a conv activation: one (s, m) per feature map") { shape = {3, 4, 2, 5}; }
  SUBCASE("a dense activation: one (s, m) per feature") { shape = {6, 7, 1, 1}; }
  NoisyShift noise(shape.c, 123);
  CHECK(noise.kind() == "noise");
  CHECK(noise.params().empty());
  const Tensor x = random_tensor(shape, 1);
  const Tensor& y = noise.forward(x, Mode::Train);
  REQUIRE(noise.scale().shape() == Shape{shape.n, shape.c, 1, 1});
  Tensor y_ref(shape);
  for (int n = 0; n < shape.n; ++n)
    for (int c = 0; c < shape.c; ++c)
      for (int h = 0; h < shape.h; ++h)
        for (int w = 0; w < shape.w; ++w)
          y_ref.at(n, c, h, w) =
              noise.scale().at(n, c) * x.at(n, c, h, w) + noise.shift().at(n, c);
  check_close(y, y_ref, 1e-6, 1e-6, "y = s * x + m");
  // s and m differ across units (they are not one shared draw).
  CHECK(noise.scale()[0] != noise.scale()[1]);
  CHECK(noise.shift()[0] != noise.shift()[shape.c]);
}

TEST_CASE("noise draws mu_t, sigma_t, then m and s per unit, from BN Lab's Rng") {
  // The documented order, replayed with an independent generator: this is what makes a seed
  // give the same noise natively and in WebAssembly.
  const uint32_t seed = 777;
  NoisyShift noise(3, seed);
  noise.forward(random_tensor(Shape{2, 3, 2, 2}, 2), Mode::Train);
  Rng rng(seed);
  const double mu_t = -0.5 + rng.uniform(), sigma_t = 1.0 + 0.25 * rng.uniform();
  CHECK(noise.mu_t() == doctest::Approx(mu_t).epsilon(1e-12));
  CHECK(noise.sigma_t() == doctest::Approx(sigma_t).epsilon(1e-12));
  for (int u = 0; u < 6; ++u) {
    CAPTURE(u);
    const double m = mu_t - 0.1 + 0.2 * rng.uniform();
    const double s = sigma_t + 0.1 * rng.normal();
    CHECK(noise.shift()[u] == doctest::Approx(m).epsilon(1e-6));
    CHECK(noise.scale()[u] == doctest::Approx(s).epsilon(1e-6));
  }
  CHECK(noise.rng_state() == rng.state());
}

TEST_CASE("noise draws follow the distributions of Santurkar et al.") {
  NoisyShift noise(16, 2024);
  const Tensor x(Shape{32, 16, 1, 1}, 1.f);
  const int steps = 2000;
  double mu_sum = 0.0, mu_min = 1.0, mu_max = -1.0, sigma_min = 2.0, sigma_max = 0.0;
  double dm_sum = 0.0, dm_sq = 0.0, dm_max = 0.0, ds_sum = 0.0, ds_sq = 0.0;
  int64_t units = 0;
  for (int step = 0; step < steps; ++step) {
    noise.forward(x, Mode::Train);
    const double mu_t = noise.mu_t(), sigma_t = noise.sigma_t();
    mu_sum += mu_t;
    mu_min = std::min(mu_min, mu_t);
    mu_max = std::max(mu_max, mu_t);
    sigma_min = std::min(sigma_min, sigma_t);
    sigma_max = std::max(sigma_max, sigma_t);
    for (int64_t u = 0; u < noise.shift().size(); ++u, ++units) {
      const double dm = noise.shift()[u] - mu_t, ds = noise.scale()[u] - sigma_t;
      dm_max = std::max(dm_max, std::fabs(dm));
      dm_sum += dm;
      dm_sq += dm * dm;
      ds_sum += ds;
      ds_sq += ds * ds;
    }
  }
  // mu_t ~ U(-0.5, 0.5): mean 0 (standard error 0.29 / sqrt(2000) = 0.0065), range near +-0.5.
  CHECK(std::fabs(mu_sum / steps) < 0.03);
  CHECK(mu_min >= -0.5);
  CHECK(mu_min < -0.49);
  CHECK(mu_max < 0.5);
  CHECK(mu_max > 0.49);
  // sigma_t ~ U(1, 1.25).
  CHECK(sigma_min >= 1.0);
  CHECK(sigma_min < 1.01);
  CHECK(sigma_max < 1.25);
  CHECK(sigma_max > 1.24);
  // m - mu_t ~ U(-0.1, 0.1): mean 0, variance 0.2^2 / 12; s - sigma_t ~ N(0, 0.1^2).
  const double n = double(units);
  CHECK(dm_max <= 0.1 + 1e-6);
  CHECK(dm_max > 0.099);
  CHECK(std::fabs(dm_sum / n) < 1e-3);
  CHECK(dm_sq / n == doctest::Approx(0.04 / 12.0).epsilon(0.02));
  CHECK(std::fabs(ds_sum / n) < 1e-3);
  CHECK(std::sqrt(ds_sq / n) == doctest::Approx(0.1).epsilon(0.01));
}

TEST_CASE("noise is deterministic from a seed and continues from a saved state") {
  const Shape shape{4, 3, 2, 2};
  const Tensor x = random_tensor(shape, 5);
  NoisyShift a(3, 99), b(3, 99), other(3, 100);
  const Tensor ya = a.forward(x, Mode::Train);
  check_close(b.forward(x, Mode::Train), ya, 0.0, 0.0, "same seed, same noise");
  CHECK(other.forward(x, Mode::Train)[0] != ya[0]);
  // Save after one step, run two more, restore into a fresh layer: the same two steps follow.
  const uint32_t saved = a.rng_state();
  const Tensor y2 = a.forward(x, Mode::Train);
  const Tensor y3 = a.forward(x, Mode::Train);
  NoisyShift restored(3, 1);
  restored.set_rng_state(saved);
  check_close(restored.forward(x, Mode::Train), y2, 0.0, 0.0, "step 2 after restore");
  check_close(restored.forward(x, Mode::Train), y3, 0.0, 0.0, "step 3 after restore");
  CHECK(y2[0] != y3[0]);
  // Eval forwards draw nothing.
  const uint32_t before = restored.rng_state();
  restored.forward(x, Mode::Eval);
  CHECK(restored.rng_state() == before);
}

TEST_CASE("noise is the identity in eval mode") {
  NoisyShift noise(3, 7);
  const Tensor x = random_tensor(Shape{4, 3, 2, 2}, 6);
  const Tensor dy = random_tensor(Shape{4, 3, 2, 2}, 8);
  check_close(noise.forward(x, Mode::Eval), x, 0.0, 0.0, "eval y = x");
  check_close(noise.backward(dy), dy, 0.0, 0.0, "eval dx = dy");
}

TEST_CASE("noise backward is dx = s * dy and matches finite differences") {
  Shape shape;
  SUBCASE("conv activation") { shape = {3, 2, 3, 2}; }
  SUBCASE("dense activation") { shape = {5, 4, 1, 1}; }
  NoisyShift noise(shape.c, 31);
  const uint32_t start = noise.rng_state();
  const Tensor x = random_tensor(shape, 9);
  const Tensor dy = random_tensor(shape, 10);
  noise.forward(x, Mode::Train);
  const Tensor& dx = noise.backward(dy);
  for (int n = 0; n < shape.n; ++n)
    for (int c = 0; c < shape.c; ++c)
      for (int h = 0; h < shape.h; ++h)
        for (int w = 0; w < shape.w; ++w)
          CHECK(dx.at(n, c, h, w) ==
                doctest::Approx(noise.scale().at(n, c) * dy.at(n, c, h, w)).epsilon(1e-6));
  // Every probe forward replays the same draws.
  GradCheckOptions options;
  options.before_forward = [&] { noise.set_rng_state(start); };
  check_gradients(noise, x, 11, options);
}

TEST_CASE("noise refuses a wrong input") {
  NoisyShift noise(3, 1);
  CHECK_THROWS_AS(noise.forward(Tensor(Shape{2, 4, 1, 1}), Mode::Train), Error);
  CHECK_THROWS_AS(noise.backward(Tensor(Shape{2, 3, 1, 1})), Error);
  CHECK_THROWS_AS(NoisyShift(0, 1), Error);
}
