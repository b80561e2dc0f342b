// Linear (fully connected) and Flatten, whose NCHW feature order Linear also uses implicitly.
#include <doctest/doctest.h>

#include "base/error.h"
#include "check.h"
#include "layers/flatten.h"
#include "layers/linear.h"

using namespace bnlab;
using namespace bnlab::test;

namespace {


Linear random_linear(int in, int out, bool bias, uint32_t seed) {
  Linear fc(in, out, bias);
  fc.weight() = random_tensor(fc.weight().shape(), seed, 0.5);
  if (bias) fc.bias() = random_tensor(fc.bias().shape(), seed + 1);
  return fc;
}

}  // namespace

TEST_CASE("linear.forward matches a hand-computed example") {
  // x = [[1, 2, 3], [4, 5, 6]], W = [[1, 0, -1], [0.5, 0.5, 0.5]], b = [1, -1]:
  //   y[0] = [1 - 3 + 1, 0.5 * 6 - 1] = [-1, 2],  y[1] = [4 - 6 + 1, 0.5 * 15 - 1] = [-1, 6.5]
  Linear fc(3, 2);
  fc.weight() = tensor_of(fc.weight().shape(), {1, 0, -1, 0.5f, 0.5f, 0.5f});
  fc.bias() = tensor_of(fc.bias().shape(), {1, -1});
  const Tensor x = tensor_of(Shape{2, 3, 1, 1}, {1, 2, 3, 4, 5, 6});  // read again by backward
  const Tensor& y = fc.forward(x, Mode::Train);
  check_close(y, tensor_of(Shape{2, 2, 1, 1}, {-1, 2, -1, 6.5f}), 0, 0, "y");

  SUBCASE("and its backward matches the hand-computed gradients") {
    // dy = [[1, 0], [0, 2]]: db = [1, 2]; dW = dy^T x = [[1, 2, 3], [8, 10, 12]];
    // dx = dy W = [[1, 0, -1], [1, 1, 1]].
    const Tensor& dx = fc.backward(tensor_of(Shape{2, 2, 1, 1}, {1, 0, 0, 2}));
    check_close(dx, tensor_of(Shape{2, 3, 1, 1}, {1, 0, -1, 1, 1, 1}), 0, 0, "dx");
    check_close(*fc.params()[0].grad, tensor_of(Shape{2, 3, 1, 1}, {1, 2, 3, 8, 10, 12}), 0, 0,
                "dW");
    check_close(*fc.params()[1].grad, tensor_of(Shape{2, 1, 1, 1}, {1, 2}), 0, 0, "db");
  }
}

TEST_CASE("linear reads an (N, C, H, W) input in NCHW order like torch.flatten") {
  // With a one-hot weight row on feature f = c*H*W + h*W + w, y is that input element.
  const Shape in{2, 3, 2, 4};
  Linear fc(24, 2, false);
  fc.weight()[0 * 24 + (1 * 8 + 0 * 4 + 3)] = 1.f;  // (c, h, w) = (1, 0, 3)
  fc.weight()[1 * 24 + (2 * 8 + 1 * 4 + 2)] = 1.f;  // (c, h, w) = (2, 1, 2)
  const Tensor x = random_tensor(in, 61);
  const Tensor& y = fc.forward(x, Mode::Train);
  REQUIRE(y.shape() == Shape{2, 2, 1, 1});
  for (int n = 0; n < 2; ++n) {
    CHECK(y.at(n, 0) == x.at(n, 1, 0, 3));
    CHECK(y.at(n, 1) == x.at(n, 2, 1, 2));
  }
  SUBCASE("and gives dx in the input's shape, equal to Flatten then Linear") {
    Flatten flatten;
    Linear after_flatten = random_linear(24, 5, true, 62);
    Linear direct = after_flatten;
    const Tensor dy = random_tensor(Shape{2, 5, 1, 1}, 63);
    const Tensor y_direct = direct.forward(x, Mode::Train);
    check_close(after_flatten.forward(flatten.forward(x, Mode::Train), Mode::Train), y_direct, 0, 0,
                "y");
    const Tensor& dx = direct.backward(dy);
    CHECK(dx.shape() == in);
    check_close(flatten.backward(after_flatten.backward(dy)), dx, 0, 0, "dx");
  }
}

TEST_CASE("linear.backward matches finite differences") {
  SUBCASE("batch 1, dense input") {
    Linear fc = random_linear(5, 3, true, 71);
    check_gradients(fc, random_tensor(Shape{1, 5, 1, 1}, 72), 73);
  }
  SUBCASE("batch 3, convolutional input") {
    Linear fc = random_linear(12, 4, true, 74);
    check_gradients(fc, random_tensor(Shape{3, 3, 2, 2}, 75), 76);
  }
  SUBCASE("batch 3, no bias") {
    Linear fc = random_linear(7, 2, false, 77);
    check_gradients(fc, random_tensor(Shape{3, 7, 1, 1}, 78), 79);
  }
}

TEST_CASE("linear without needs_input_grad gives the same parameter gradients and no dx") {
  const Tensor x = random_tensor(Shape{3, 2, 3, 2}, 81);
  const Tensor dy = random_tensor(Shape{3, 4, 1, 1}, 82);
  Linear full = random_linear(12, 4, true, 83);
  Linear first = full;
  first.set_needs_input_grad(false);
  full.forward(x, Mode::Train);
  first.forward(x, Mode::Train);
  CHECK(full.backward(dy).shape() == x.shape());
  CHECK(first.backward(dy).size() == 0);
  auto pf = full.params(), p1 = first.params();
  for (size_t i = 0; i < pf.size(); ++i) check_close(*p1[i].grad, *pf[i].grad, 0, 0, pf[i].name);
}

TEST_CASE("linear.backward accumulates parameter gradients until zero_grad") {
  Linear fc = random_linear(6, 3, true, 91);
  const Tensor x = random_tensor(Shape{3, 6, 1, 1}, 92);
  const Tensor dy = random_tensor(Shape{3, 3, 1, 1}, 93);
  fc.forward(x, Mode::Train);
  fc.backward(dy);
  std::vector<Tensor> twice;
  for (auto& p : fc.params()) {
    twice.push_back(*p.grad);
    twice.back().vec() *= 2.f;
  }
  fc.backward(dy);
  auto params = fc.params();
  for (size_t i = 0; i < params.size(); ++i)
    check_close(*params[i].grad, twice[i], 1e-6, 1e-6, params[i].name + " after two calls");
  fc.zero_grad();
  for (auto& p : fc.params()) CHECK(p.grad->vec().cwiseAbs().maxCoeff() == 0.f);
}

TEST_CASE("linear.params carry PyTorch names, shapes and ranks") {
  Linear fc(784, 64);
  auto p = fc.params();
  REQUIRE(p.size() == 2);
  CHECK(p[0].name == "weight");
  CHECK(p[0].value->shape() == Shape{64, 784, 1, 1});
  CHECK(p[0].dims == 2);
  CHECK(p[1].name == "bias");
  CHECK(p[1].value->shape() == Shape{64, 1, 1, 1});
  CHECK(p[1].dims == 1);
  CHECK(fc.kind() == "fc");
  CHECK(fc.in_features() == 784);
  CHECK(fc.out_features() == 64);
  CHECK(Linear(3, 2, false).params().size() == 1);
}

TEST_CASE("linear rejects shapes that do not fit with bnlab::Error") {
  CHECK_THROWS_AS(Linear(0, 3), Error);
  CHECK_THROWS_AS(Linear(3, 0), Error);
  Linear fc(784, 64);
  CHECK(fc.output_shape(Shape{32, 16, 7, 7}) == Shape{32, 64, 1, 1});
  CHECK_THROWS_WITH_AS(fc.forward(Tensor(Shape{2, 8, 7, 7}), Mode::Train),
                       "fc: expects 784 input features per sample, got input (2, 8, 7, 7) with 392",
                       Error);
  fc.forward(Tensor(Shape{2, 784, 1, 1}), Mode::Train);
  CHECK_THROWS_AS(fc.backward(Tensor(Shape{3, 64, 1, 1})), Error);
}

TEST_CASE("flatten keeps NCHW order and restores the shape in backward") {
  Flatten flatten;
  CHECK(flatten.kind() == "flatten");
  const Tensor x = random_tensor(Shape{3, 4, 2, 5}, 101);
  const Tensor& y = flatten.forward(x, Mode::Train);
  REQUIRE(y.shape() == Shape{3, 40, 1, 1});
  CHECK(y.at(2, 1 * 10 + 1 * 5 + 3) == x.at(2, 1, 1, 3));
  check_close(y.data(), x.data(), x.size(), 0, 0, "y");
  const Tensor dy = random_tensor(y.shape(), 102);
  const Tensor& dx = flatten.backward(dy);
  REQUIRE(dx.shape() == x.shape());
  check_close(dx.data(), dy.data(), dy.size(), 0, 0, "dx");
  CHECK_THROWS_AS(flatten.backward(Tensor(Shape{3, 41, 1, 1})), Error);
}
