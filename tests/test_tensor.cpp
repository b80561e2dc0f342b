#include <doctest/doctest.h>

#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/tensor.h"

using namespace bnlab;

TEST_CASE("tensor.indexing is row-major NCHW") {
  Tensor t(Shape{2, 3, 4, 5});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = float(i);
  CHECK(t.at(1, 2, 3, 4) == float(((1 * 3 + 2) * 4 + 3) * 5 + 4));
  CHECK(t.at(0, 1, 0, 0) == 20.f);
}

TEST_CASE("tensor.reshape keeps data and refuses a different size") {
  Tensor t(Shape{2, 3, 4, 5}, 1.5f);
  t.reshape(Shape{2, 60, 1, 1});
  CHECK(t.shape() == Shape{2, 60, 1, 1});
  CHECK(t[119] == 1.5f);
  CHECK_THROWS_AS(t.reshape(Shape{2, 61, 1, 1}), Error);
}

TEST_CASE("rng.xorshift32 matches the reference stream of NUMERICS.md 7") {
  // Values printed by ../shared/bench/refcnn_data.py (XorShift32(0x5EED1234)), the generator
  // the PyTorch and TensorFlow.js harnesses draw their data and weights from.
  Rng rng(0x5EED1234u);
  CHECK(rng.next() == 1775657025u);
  CHECK(rng.next() == 505169774u);
  CHECK(rng.next() == 1221086934u);
  Rng g(0x5EED1234u);
  CHECK(g.normal() == 0.9823857968732238);
  CHECK(g.normal() == -1.2079980259262975);
  CHECK(g.uniform() == 0.444954514503479);
  SUBCASE("uniform is in [0, 1) with 24-bit resolution") {
    Rng u(7);
    for (int i = 0; i < 10000; ++i) {
      const double v = u.uniform();
      REQUIRE(v >= 0.0);
      REQUIRE(v < 1.0);
      CHECK(v * 16777216.0 == doctest::Approx(std::floor(v * 16777216.0)));
    }
  }
  SUBCASE("normal has mean 0 and variance 1") {
    Rng g(11);
    double sum = 0, sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const double v = g.normal();
      sum += v;
      sq += v * v;
    }
    CHECK(sum / n == doctest::Approx(0.0).epsilon(0.01).scale(1.0));
    CHECK(sq / n == doctest::Approx(1.0).epsilon(0.01));
  }
  SUBCASE("below(n) stays in range and covers it") {
    Rng b(3);
    std::vector<int> seen(10, 0);
    for (int i = 0; i < 10000; ++i) {
      const uint32_t v = b.below(10);
      REQUIRE(v < 10u);
      seen[v]++;
    }
    for (int c : seen) CHECK(c > 900);
  }
}

TEST_CASE("rng.stream seeds differ per stream and per seed") {
  CHECK(stream_seed(1, Stream::Init) != stream_seed(1, Stream::Data));
  CHECK(stream_seed(1, Stream::Init) != stream_seed(2, Stream::Init));
}

TEST_CASE("stats.median and mean: NaN for no measurement, the middle of an odd or even count") {
  // The one median of the core (base/stats.h): the experiments and the benchmark share it, so a
  // missing figure is NaN (null in JSON) everywhere, never 0.
  CHECK(std::isnan(median({})));
  CHECK(std::isnan(mean({})));
  CHECK(median({3, 1, 2}) == 2);
  CHECK(median({4, 1, 3, 2}) == 2.5);
  CHECK(mean({1, 2, 6}) == 3);
}
