#include <doctest/doctest.h>

#include "base/error.h"
#include "check.h"
#include "layers/conv2d.h"

using namespace bnlab;
using namespace bnlab::test;

namespace {

// Fills a tensor with v(i) for its flat index i.
template <class F>
Tensor filled(Shape shape, F v) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = float(v(i));
  return t;
}


Conv2d random_conv(int cin, int cout, int k, int s, int p, bool bias, uint32_t seed) {
  Conv2d conv(cin, cout, k, s, p, bias);
  conv.weight() = random_tensor(conv.weight().shape(), seed, 0.5);
  if (bias) conv.bias() = random_tensor(conv.bias().shape(), seed + 1);
  return conv;
}

// The definition of a convolution, written out loop by loop, in double.
Tensor direct_conv(const Tensor& x, Conv2d& conv, int k, int s, int p, bool bias) {
  const Shape in = x.shape();
  const Shape out = conv.output_shape(in);
  Tensor y(out);
  for (int n = 0; n < out.n; ++n)
    for (int co = 0; co < out.c; ++co)
      for (int oh = 0; oh < out.h; ++oh)
        for (int ow = 0; ow < out.w; ++ow) {
          double sum = bias ? conv.bias()[co] : 0.0;
          for (int ci = 0; ci < in.c; ++ci)
            for (int kh = 0; kh < k; ++kh)
              for (int kw = 0; kw < k; ++kw) {
                const int ih = oh * s - p + kh, iw = ow * s - p + kw;
                if (ih >= 0 && ih < in.h && iw >= 0 && iw < in.w)
                  sum += double(conv.weight().at(co, ci, kh, kw)) * x.at(n, ci, ih, iw);
              }
          y.at(n, co, oh, ow) = float(sum);
        }
  return y;
}

struct ConvCase {
  int n, cin, cout, h, w, k, s, p;
  bool bias;
};

// Strides 1 and 2, paddings 0, 1, 2, kernels 1, 3, 5, non-square inputs, batches 1 and 3.
const ConvCase kCases[] = {
    {1, 1, 2, 5, 5, 3, 1, 1, true},
    {3, 2, 3, 7, 6, 3, 2, 0, true},
    {1, 2, 2, 6, 7, 5, 1, 2, true},
    {3, 3, 2, 4, 3, 1, 1, 0, true},
    {3, 2, 4, 5, 8, 3, 2, 2, false},
    {1, 1, 3, 9, 4, 5, 2, 1, true},
    {3, 2, 2, 2, 3, 3, 1, 1, true},
    {1, 3, 1, 3, 3, 3, 3, 0, true},
    // span (Ho-1)*Wp + Wo = 448 > 256: the weight gradient's blocks over the padded width
    {2, 1, 3, 20, 20, 3, 1, 1, true},
};

std::string name(const ConvCase& c) {
  return "N" + std::to_string(c.n) + " " + std::to_string(c.cin) + "->" + std::to_string(c.cout) +
         " " + std::to_string(c.h) + "x" + std::to_string(c.w) + " k" + std::to_string(c.k) + " s" +
         std::to_string(c.s) + " p" + std::to_string(c.p) + (c.bias ? "" : " nobias");
}

}  // namespace

TEST_CASE("conv2d.forward matches a hand-computed 2x2 example") {
  // x = 1..9 in a 3x3 image, W = [[1, 2], [3, 4]], b = 0.5.
  Conv2d conv(1, 1, 2, 1, 0);
  conv.weight() = filled(conv.weight().shape(), [](int64_t i) { return i + 1; });
  conv.bias()[0] = 0.5f;
  const Tensor x = filled(Shape{1, 1, 3, 3}, [](int64_t i) { return i + 1; });

  SUBCASE("stride 1, no padding") {
    // By hand: 1*1 + 2*2 + 3*4 + 4*5 = 37, 2 + 6 + 15 + 24 = 47, 4 + 10 + 21 + 32 = 67,
    // 5 + 12 + 24 + 36 = 77; plus 0.5 each.
    const Tensor& y = conv.forward(x, Mode::Train);
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    check_close(y, tensor_of(y.shape(), {37.5f, 47.5f, 67.5f, 77.5f}), 0, 0, "y");
  }
  SUBCASE("stride 2, padding 1") {
    // Padded to 5x5, windows at (0,0), (0,2), (2,0), (2,2):
    //   [[0,0],[0,1]] -> 4*1 = 4;  [[0,0],[2,3]] -> 3*2 + 4*3 = 18;
    //   [[0,4],[0,7]] -> 2*4 + 4*7 = 36;  [[5,6],[8,9]] -> 77; plus 0.5 each.
    Conv2d padded(1, 1, 2, 2, 1);
    padded.weight() = conv.weight();
    padded.bias() = conv.bias();
    const Tensor& y = padded.forward(x, Mode::Train);
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    check_close(y, tensor_of(y.shape(), {4.5f, 18.5f, 36.5f, 77.5f}), 0, 0, "y");
  }
}

TEST_CASE("conv2d.forward matches PyTorch on a multi-channel strided padded example") {
  // torch.nn.functional.conv2d(x, w, b, stride=2, padding=1) in float64 (PyTorch 1.13) with
  // x[i] = ((7i) % 11 - 5) / 4 shaped (1, 2, 5, 4), w[i] = ((5i) % 9 - 4) / 8 shaped
  // (3, 2, 3, 3), b = (0.1, -0.2, 0.3).
  Conv2d conv(2, 3, 3, 2, 1);
  conv.weight() = filled(conv.weight().shape(), [](int64_t i) { return ((i * 5) % 9 - 4) / 8.0; });
  conv.bias() = tensor_of(conv.bias().shape(), {0.1f, -0.2f, 0.3f});
  const Tensor x = filled(Shape{1, 2, 5, 4}, [](int64_t i) { return ((i * 7) % 11 - 5) / 4.0; });
  const Tensor torch_y =
      tensor_of(Shape{1, 3, 3, 2},
                {0.193750f, 1.818750f, 0.287500f, 1.693750f, 1.131250f, 1.787500f,    // channel 0
                 -0.106250f, 1.518750f, -0.012500f, 1.393750f, 0.831250f, 1.487500f,  // channel 1
                 0.393750f, 2.018750f, 0.487500f, 1.893750f, 1.331250f, 1.987500f});  // channel 2
  check_close(conv.forward(x, Mode::Train), torch_y, 1e-6, 1e-6, "y");
}

TEST_CASE("conv2d.forward matches a direct convolution for every stride, padding and kernel") {
  for (const ConvCase& c : kCases) {
    CAPTURE(name(c));
    Conv2d conv = random_conv(c.cin, c.cout, c.k, c.s, c.p, c.bias, 11);
    const Tensor x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, 12);
    const Tensor& y = conv.forward(x, Mode::Train);
    CHECK(y.shape() ==
          Shape{c.n, c.cout, (c.h + 2 * c.p - c.k) / c.s + 1, (c.w + 2 * c.p - c.k) / c.s + 1});
    check_close(y, direct_conv(x, conv, c.k, c.s, c.p, c.bias), 1e-5, 1e-5, name(c));
  }
}

TEST_CASE("conv2d.forward stays right when the input shape changes between calls") {
  // The zero border of the padded input is kept between calls of the same shape; a new shape
  // must not reuse stale values.
  Conv2d conv = random_conv(2, 3, 3, 1, 2, true, 21);
  const Tensor a = random_tensor(Shape{2, 2, 5, 5}, 22);
  const Tensor b = random_tensor(Shape{3, 2, 4, 7}, 23);
  for (const Tensor* x : {&a, &b, &a, &b}) {
    const Tensor y = conv.forward(*x, Mode::Train);
    check_close(y, direct_conv(*x, conv, 3, 1, 2, true), 1e-5, 1e-5, x->shape().str());
  }
}

TEST_CASE("conv2d.backward matches finite differences") {
  for (const ConvCase& c : kCases) {
    CAPTURE(name(c));
    Conv2d conv = random_conv(c.cin, c.cout, c.k, c.s, c.p, c.bias, 31);
    check_gradients(conv, random_tensor(Shape{c.n, c.cin, c.h, c.w}, 32), 33);
  }
}

TEST_CASE("conv2d without needs_input_grad gives the same parameter gradients and no dx") {
  for (const ConvCase& c : kCases) {
    CAPTURE(name(c));
    const Tensor x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, 41);
    Conv2d full = random_conv(c.cin, c.cout, c.k, c.s, c.p, c.bias, 42);
    Conv2d first = random_conv(c.cin, c.cout, c.k, c.s, c.p, c.bias, 42);
    first.set_needs_input_grad(false);
    const Tensor dy = random_tensor(full.forward(x, Mode::Train).shape(), 43);
    first.forward(x, Mode::Train);
    CHECK(full.backward(dy).shape() == x.shape());
    CHECK(first.backward(dy).size() == 0);
    auto pf = full.params(), p1 = first.params();
    REQUIRE(pf.size() == p1.size());
    for (size_t i = 0; i < pf.size(); ++i) check_close(*p1[i].grad, *pf[i].grad, 0, 0, pf[i].name);
  }
}

TEST_CASE("conv2d.backward accumulates parameter gradients until zero_grad") {
  // Stride 2 lowers through cols_n; stride 1 reads the padded input in place natively (its dW^T
  // starts from what dW held).
  for (int stride : {2, 1}) {
    CAPTURE(stride);
    Conv2d conv = random_conv(2, 3, 3, stride, 1, true, 51);
    const Tensor x = random_tensor(Shape{3, 2, 6, 5}, 52);
    const Tensor dy = random_tensor(conv.forward(x, Mode::Train).shape(), 53);
    const Tensor dx1 = conv.backward(dy);
    std::vector<Tensor> twice;
    for (auto& p : conv.params()) {
      twice.push_back(*p.grad);
      twice.back().vec() *= 2.f;
    }
    conv.backward(dy);
    auto params = conv.params();
    for (size_t i = 0; i < params.size(); ++i)
      check_close(*params[i].grad, twice[i], 1e-6, 1e-6, params[i].name + " after two calls");
    // dx is not accumulated: it is recomputed each call.
    check_close(conv.backward(dy), dx1, 0, 0, "dx of a third call");
    conv.zero_grad();
    for (auto& p : conv.params()) CHECK(p.grad->vec().cwiseAbs().maxCoeff() == 0.f);
  }
}

TEST_CASE("conv2d.params carry PyTorch names, shapes and ranks") {
  Conv2d conv(3, 5, 3);
  auto p = conv.params();
  REQUIRE(p.size() == 2);
  CHECK(p[0].name == "weight");
  CHECK(p[0].value->shape() == Shape{5, 3, 3, 3});
  CHECK(p[0].dims == 4);
  CHECK(p[1].name == "bias");
  CHECK(p[1].value->shape() == Shape{5, 1, 1, 1});
  CHECK(p[1].dims == 1);
  CHECK(conv.kind() == "conv");
  CHECK(conv.in_channels() == 3);
  CHECK(conv.out_channels() == 5);
  CHECK(Conv2d(3, 5, 3, 1, 0, false).params().size() == 1);
}

TEST_CASE("conv2d rejects shapes that do not fit with bnlab::Error") {
  CHECK_THROWS_AS(Conv2d(0, 2, 3), Error);
  CHECK_THROWS_AS(Conv2d(1, 2, 0), Error);
  CHECK_THROWS_AS(Conv2d(1, 2, 3, 0), Error);
  CHECK_THROWS_AS(Conv2d(1, 2, 3, 1, -1), Error);
  Conv2d conv(2, 3, 5, 1, 1);
  CHECK_THROWS_WITH_AS(conv.forward(Tensor(Shape{1, 3, 8, 8}), Mode::Train),
                       "conv: expects 2 input channels, got input (1, 3, 8, 8)", Error);
  // 2 + 2*1 = 4 < 5: the output would be empty.
  CHECK_THROWS_AS(conv.forward(Tensor(Shape{1, 2, 2, 9}), Mode::Train), Error);
  CHECK(conv.output_shape(Shape{1, 2, 3, 3}) == Shape{1, 3, 1, 1});
  conv.forward(Tensor(Shape{1, 2, 4, 4}), Mode::Train);
  CHECK_THROWS_AS(conv.backward(Tensor(Shape{1, 3, 3, 3})), Error);
}
