#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "check.h"
#include "layers/activation.h"
#include "layers/pool.h"

using namespace bnlab;
using namespace bnlab::test;

namespace {


// x[i] = ((7i) % 13 - 6) / 2 shaped (1, 1, 5, 6): the input of the PyTorch examples below.
Tensor pool_input() {
  Tensor x(Shape{1, 1, 5, 6});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = float((i * 7) % 13 - 6) / 2.f;
  return x;
}

// Distinct values at least 0.1 apart (a shuffled ramp), so that a finite-difference step of
// 0.01 never changes which input is a window's maximum.
Tensor distinct_values(Shape shape, uint32_t seed) {
  Tensor t(shape);
  const int64_t n = t.size();
  for (int64_t i = 0; i < n; ++i) t[i] = 0.1f * float(i) - 0.05f * float(n);
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(t[i], t[int64_t(rng.below(uint32_t(i + 1)))]);
  return t;
}

struct PoolCase {
  int n, c, h, w, k, s;
};

// Non-overlapping, overlapping (s < k) and gapped (s > k) windows, non-square inputs, batch 1
// and 3.
const PoolCase kCases[] = {
    {3, 2, 4, 6, 2, 2}, {1, 1, 5, 6, 3, 2}, {3, 2, 5, 4, 2, 1},
    {1, 3, 7, 5, 2, 3}, {3, 1, 3, 3, 3, 1},
};

}  // namespace

TEST_CASE("maxpool.forward matches PyTorch on a strided 3x3 example") {
  // torch.nn.functional.max_pool2d(x, 3, 2) (PyTorch 1.13) on pool_input(); the gradient of the
  // sum puts 1 at flat input indices 7, 9, 22 and 24.
  MaxPool2d pool(3, 2);
  CHECK(pool.kind() == "maxpool");
  const Tensor x = pool_input();
  const Tensor& y = pool.forward(x, Mode::Train);
  check_close(y, tensor_of(Shape{1, 1, 2, 2}, {2.0f, 2.5f, 3.0f, 2.5f}), 0, 0, "y");
  const Tensor& dx = pool.backward(Tensor(y.shape(), 1.f));
  Tensor expected(x.shape());
  for (int i : {7, 9, 22, 24}) expected[i] = 1.f;
  check_close(dx, expected, 0, 0, "dx");
}

TEST_CASE("maxpool gives a tie's gradient to the first maximum in row-major order") {
  // Window 0 is all equal; window 1 has its maximum 5 at (0, 3) and again at (1, 2).
  MaxPool2d pool(2);
  const Tensor x = tensor_of(Shape{1, 1, 2, 4}, {1, 1, 4, 5, 1, 1, 5, 2});
  check_close(pool.forward(x, Mode::Train), tensor_of(Shape{1, 1, 1, 2}, {1, 5}), 0, 0, "y");
  check_close(pool.backward(tensor_of(Shape{1, 1, 1, 2}, {10, 20})),
              tensor_of(x.shape(), {10, 0, 0, 20, 0, 0, 0, 0}), 0, 0, "dx");
}

TEST_CASE("maxpool adds the gradients of overlapping windows that share a maximum") {
  // 3x3 windows with stride 1 on a 4x4 input whose maximum 9 is at (1, 1): all four windows
  // pick it, so it receives the sum of the four output gradients.
  MaxPool2d pool(3, 1);
  Tensor x(Shape{1, 1, 4, 4});
  for (int64_t i = 0; i < 16; ++i) x[i] = -float(i);
  x.at(0, 0, 1, 1) = 9.f;
  check_close(pool.forward(x, Mode::Train), Tensor(Shape{1, 1, 2, 2}, 9.f), 0, 0, "y");
  const Tensor& dx = pool.backward(tensor_of(Shape{1, 1, 2, 2}, {1, 2, 3, 4}));
  Tensor expected(x.shape());
  expected.at(0, 0, 1, 1) = 10.f;
  check_close(dx, expected, 0, 0, "dx");
}

TEST_CASE("maxpool propagates NaN instead of pooling it away") {
  // PyTorch 1.13 max_pool2d(x, 2) on this input gives (nan, nan) and, for dy = (1, 2), puts the
  // gradient on the window's last NaN in row-major order: dx = [[0, 0, 0, 2], [1, 0, 0, 0]].
  const float nan = std::numeric_limits<float>::quiet_NaN();
  MaxPool2d pool(2);
  const Tensor& y =
      pool.forward(tensor_of(Shape{1, 1, 2, 4}, {1, nan, 2, nan, nan, 3, 5, 1}), Mode::Train);
  CHECK(std::isnan(y[0]));
  CHECK(std::isnan(y[1]));
  check_close(pool.backward(tensor_of(Shape{1, 1, 1, 2}, {1, 2})),
              tensor_of(Shape{1, 1, 2, 4}, {0, 0, 0, 2, 1, 0, 0, 0}), 0, 0, "dx");
}

TEST_CASE("maxpool 2x2 on rows of 4 or more windows follows PyTorch's rule with ties and NaN") {
  // The reference CNN's pooling takes four windows at a time (with overlapping groups when a row
  // has no multiple of 4 windows); here against PyTorch's rule written out, on values from
  // {-1, 0, 1, 2} (many ties) with some NaN, odd and even sizes.
  // One layer for all shapes, the largest first, and its dx overwritten with 99 after each use:
  // a smaller input reuses dx's storage, so the inputs outside every window (odd sizes) must be
  // cleared, not left as they were.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  MaxPool2d pool(2);
  for (Shape in : {Shape{2, 3, 8, 8}, Shape{1, 2, 9, 13}, Shape{3, 1, 5, 22}, Shape{1, 1, 2, 30}}) {
    CAPTURE(in.str());
    Tensor x(in);
    Rng rng(in.w);
    for (int64_t i = 0; i < x.size(); ++i)
      x[i] = rng.below(40) == 0 ? nan : float(int(rng.below(4)) - 1);
    const Tensor& y = pool.forward(x, Mode::Train);
    const Shape out = y.shape();
    REQUIRE(out == Shape{in.n, in.c, in.h / 2, in.w / 2});
    // dy = 1, 2, 3, ...: dx shows which input each window picked.
    Tensor dy(out), y_expected(out), dx_expected(in);
    for (int64_t i = 0; i < dy.size(); ++i) dy[i] = float(i + 1);
    for (int n = 0; n < out.n; ++n)
      for (int c = 0; c < out.c; ++c)
        for (int oh = 0; oh < out.h; ++oh)
          for (int ow = 0; ow < out.w; ++ow) {
            float best = -std::numeric_limits<float>::infinity();
            int bh = 2 * oh, bw = 2 * ow;
            for (int h = 2 * oh; h < 2 * oh + 2; ++h)
              for (int w = 2 * ow; w < 2 * ow + 2; ++w)
                if (x.at(n, c, h, w) > best || std::isnan(x.at(n, c, h, w)))
                  best = x.at(n, c, h, w), bh = h, bw = w;
            y_expected.at(n, c, oh, ow) = best;
            dx_expected.at(n, c, bh, bw) = dy.at(n, c, oh, ow);
          }
    int y_differ = 0;
    for (int64_t i = 0; i < y.size(); ++i)
      y_differ += std::isnan(y_expected[i]) ? !std::isnan(y[i]) : y[i] != y_expected[i];
    CHECK(y_differ == 0);
    const Tensor& dx = pool.backward(dy);
    check_close(dx, dx_expected, 0, 0, "dx");
    const_cast<Tensor&>(dx).setConstant(99.f);
  }
}

TEST_CASE("maxpool's every path gives the naive scatter's y and dx, bit for bit") {
  // Non-overlapping windows (s = k) write each input once instead of clearing dx and adding;
  // 2x2 takes four windows at a time from 4 windows per row. Against the definition written out
  // (PyTorch's rule forward; dx cleared, then dx[argmax] += dy), compared bit for bit (signed
  // zeros included: dy holds -0, which 0 + dy makes +0), on values from {-1, 0, 1, 2} (many
  // ties) with some NaN, for k = s = 1 .. 4, overlapping (3, 2), (2, 1) and gapped (2, 3)
  // windows, on sizes with and without inputs outside every window. One layer per (k, s), the
  // largest shape first and dx overwritten after each use, so that stale values would show.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  const int configs[][2] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {3, 2}, {2, 1}, {2, 3}};
  for (const auto& ks : configs) {
    const int k = ks[0], s = ks[1];
    MaxPool2d pool(k, s);
    for (Shape in : {Shape{2, 3, 17, 19}, Shape{3, 2, 8, 8}, Shape{1, 2, 9, 13}, Shape{2, 1, 5, 7},
                     Shape{1, 1, 4, 30}}) {
      CAPTURE(k);
      CAPTURE(s);
      CAPTURE(in.str());
      Tensor x(in);
      Rng rng(uint32_t(in.size() + k * 10 + s));
      for (int64_t i = 0; i < x.size(); ++i)
        x[i] = rng.below(40) == 0 ? nan : float(int(rng.below(4)) - 1);
      const Tensor& y = pool.forward(x, Mode::Train);
      const Shape out = y.shape();
      REQUIRE(out == Shape{in.n, in.c, (in.h - k) / s + 1, (in.w - k) / s + 1});
      Tensor dy(out), y_expected(out), dx_expected(in);  // dx_expected starts at 0
      for (int64_t i = 0; i < dy.size(); ++i)
        dy[i] = i % 5 == 0 ? -0.f : float(int(rng.below(200)) - 100) / 8.f;
      for (int n = 0; n < out.n; ++n)
        for (int c = 0; c < out.c; ++c)
          for (int oh = 0; oh < out.h; ++oh)
            for (int ow = 0; ow < out.w; ++ow) {
              float best = -std::numeric_limits<float>::infinity();
              int bh = oh * s, bw = ow * s;
              for (int h = oh * s; h < oh * s + k; ++h)
                for (int w = ow * s; w < ow * s + k; ++w)
                  if (x.at(n, c, h, w) > best || std::isnan(x.at(n, c, h, w)))
                    best = x.at(n, c, h, w), bh = h, bw = w;
              y_expected.at(n, c, oh, ow) = best;
              dx_expected.at(n, c, bh, bw) += dy.at(n, c, oh, ow);
            }
      int y_differ = 0, dx_differ = 0;
      for (int64_t i = 0; i < y.size(); ++i) y_differ += bits(y[i]) != bits(y_expected[i]);
      const Tensor& dx = pool.backward(dy);
      REQUIRE(dx.shape() == in);
      for (int64_t i = 0; i < dx.size(); ++i) dx_differ += bits(dx[i]) != bits(dx_expected[i]);
      CHECK(y_differ == 0);
      CHECK(dx_differ == 0);
      const_cast<Tensor&>(dx).setConstant(99.f);
    }
  }
}

TEST_CASE("maxpool refuses kernels above 16 with bnlab::Error") {
  CHECK_THROWS_WITH_AS(MaxPool2d(17), "maxpool: kernel 17 is larger than 16", Error);
  MaxPool2d pool(16);
  CHECK(pool.forward(Tensor(Shape{1, 1, 16, 16}, 1.f), Mode::Train).size() == 1);
}

TEST_CASE("maxpool.relu_input_grad gives backward() then the ReLU's backward, bit for bit") {
  // The ReLU's output is the pooling's input: values from {-1, 0, 1, 2} with some NaN and -0
  // through a ReLU (ties at 0 where a window has no positive value), dy with -0 and zeros; k = s
  // = 1 .. 4 on sizes with and without inputs outside every window; overlapping and gapped
  // windows are refused. One pair of layers, dz overwritten after each use.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto bits_equal = [](const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * size_t(a.size())) == 0;
  };
  for (int k = 1; k <= 4; ++k) {
    MaxPool2d pool(k);
    Activation relu(ActKind::ReLU);
    Tensor dz;
    for (Shape in :
         {Shape{2, 3, 17, 19}, Shape{3, 2, 8, 8}, Shape{1, 2, 9, 13}, Shape{1, 1, 4, 30}}) {
      CAPTURE(k);
      CAPTURE(in.str());
      Tensor z(in);
      Rng rng(uint32_t(in.size() + k));
      for (int64_t i = 0; i < z.size(); ++i) {
        const uint32_t r = rng.below(40);
        z[i] = r == 0 ? nan : r == 1 ? -0.f : float(int(rng.below(4)) - 1);
      }
      const Tensor& y = pool.forward(relu.forward(z, Mode::Train), Mode::Train);
      Tensor dy(y.shape());
      for (int64_t i = 0; i < dy.size(); ++i)
        dy[i] = i % 7 == 0 ? -0.f : i % 7 == 1 ? 0.f : float(int(rng.below(200)) - 100) / 8.f;
      REQUIRE(pool.relu_input_grad(dy, dz));
      const Tensor& expected = relu.backward(pool.backward(dy));
      CHECK(bits_equal(dz, expected));
      dz.setConstant(99.f);
    }
  }
  for (const auto& ks : {std::pair<int, int>{3, 2}, {2, 1}, {2, 3}}) {
    MaxPool2d pool(ks.first, ks.second);
    const Tensor& y = pool.forward(random_tensor(Shape{1, 1, 9, 9}, 5), Mode::Train);
    Tensor dz;
    CHECK_FALSE(pool.relu_input_grad(Tensor(y.shape(), 1.f), dz));
    CHECK(dz.size() == 0);
  }
}

TEST_CASE("avgpool.forward matches PyTorch on a strided 3x3 example") {
  // torch.nn.functional.avg_pool2d(x, 3, 2) (PyTorch 1.13) on pool_input(); by hand the first
  // window is (-3 + 0.5 - 2.5 - 1.5 + 2 - 1 + 0 - 3 + 0.5) / 9 = -8 / 9.
  AvgPool2d pool(3, 2);
  CHECK(pool.kind() == "avgpool");
  check_close(pool.forward(pool_input(), Mode::Train),
              tensor_of(Shape{1, 1, 2, 2}, {-0.8888889f, -0.3888889f, -0.0555556f, -0.2777778f}),
              1e-6, 1e-6, "y");
}

TEST_CASE("avgpool.backward spreads each gradient evenly over its window") {
  // 2x2 windows, stride 1, on a 2x3 input: the middle column is in both windows.
  AvgPool2d pool(2, 1);
  pool.forward(Tensor(Shape{1, 1, 2, 3}), Mode::Train);
  check_close(pool.backward(tensor_of(Shape{1, 1, 1, 2}, {4, 8})),
              tensor_of(Shape{1, 1, 2, 3}, {1, 3, 2, 1, 3, 2}), 0, 0, "dx");
}

TEST_CASE("pool.backward matches finite differences") {
  for (const PoolCase& c : kCases) {
    CAPTURE(c.n);
    CAPTURE(c.h);
    CAPTURE(c.w);
    CAPTURE(c.k);
    CAPTURE(c.s);
    const Tensor x = distinct_values(Shape{c.n, c.c, c.h, c.w}, 131);
    MaxPool2d max_pool(c.k, c.s);
    AvgPool2d avg_pool(c.k, c.s);
    const Shape out{c.n, c.c, (c.h - c.k) / c.s + 1, (c.w - c.k) / c.s + 1};
    CHECK(max_pool.output_shape(x.shape()) == out);
    CHECK(avg_pool.output_shape(x.shape()) == out);
    check_gradients(max_pool, x, 132);
    check_gradients(avg_pool, x, 133);
  }
}

TEST_CASE("pool without needs_input_grad skips dx") {
  MaxPool2d max_pool(2);
  AvgPool2d avg_pool(2);
  for (Layer* pool : {static_cast<Layer*>(&max_pool), static_cast<Layer*>(&avg_pool)}) {
    pool->set_needs_input_grad(false);
    const Tensor& y = pool->forward(random_tensor(Shape{2, 3, 4, 4}, 141), Mode::Train);
    CHECK(pool->backward(Tensor(y.shape(), 1.f)).size() == 0);
  }
}

TEST_CASE("pool rejects inputs smaller than the window with bnlab::Error") {
  CHECK_THROWS_AS(MaxPool2d(0), Error);
  CHECK_THROWS_AS(AvgPool2d(2, -1), Error);
  MaxPool2d max_pool(3);
  AvgPool2d avg_pool(3);
  CHECK_THROWS_WITH_AS(max_pool.forward(Tensor(Shape{1, 1, 2, 5}), Mode::Train),
                       "maxpool: input (1, 1, 2, 5) is smaller than the 3x3 window", Error);
  CHECK_THROWS_AS(avg_pool.forward(Tensor(Shape{1, 1, 5, 2}), Mode::Train), Error);
  // Stride 0 means stride = kernel, and the output size is floored: 7 -> 2.
  CHECK(max_pool.output_shape(Shape{2, 4, 7, 3}) == Shape{2, 4, 2, 1});
  max_pool.forward(Tensor(Shape{1, 1, 6, 6}), Mode::Train);
  CHECK_THROWS_AS(max_pool.backward(Tensor(Shape{1, 1, 3, 3})), Error);
}
