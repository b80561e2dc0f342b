#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "layers/activation.h"

using namespace bnlab;
using namespace bnlab::test;

namespace {


// Normals pushed at least 0.1 away from 0, so that a finite-difference step of 0.01 never
// crosses ReLU's kink.
Tensor away_from_zero(Shape shape, uint32_t seed) {
  Tensor t = random_tensor(shape, seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] += std::copysign(0.1f, t[i]);
  return t;
}

}  // namespace

TEST_CASE("activation.forward matches known values") {
  const Tensor x = tensor_of(Shape{1, 5, 1, 1}, {-2.f, -0.5f, 0.f, 0.5f, 2.f});
  SUBCASE("relu") {
    Activation relu(ActKind::ReLU);
    CHECK(relu.kind() == "relu");
    check_close(relu.forward(x, Mode::Train), tensor_of(x.shape(), {0, 0, 0, 0.5f, 2}), 0, 0, "y");
  }
  SUBCASE("sigmoid") {
    // 1 / (1 + e^-x) in double (PyTorch 1.13 torch.sigmoid agrees).
    Activation sigmoid(ActKind::Sigmoid);
    CHECK(sigmoid.kind() == "sigmoid");
    check_close(sigmoid.forward(x, Mode::Train),
                tensor_of(x.shape(), {0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.88079708f}),
                1e-7, 1e-6, "y");
  }
  SUBCASE("tanh") {
    // math.tanh in Python.
    Activation tanh(ActKind::Tanh);
    CHECK(tanh.kind() == "tanh");
    check_close(tanh.forward(x, Mode::Train),
                tensor_of(x.shape(), {-0.96402758f, -0.46211716f, 0.f, 0.46211716f, 0.96402758f}),
                1e-7, 1e-6, "y");
  }
}

TEST_CASE("activation.backward matches hand-computed derivatives") {
  const Tensor x = tensor_of(Shape{1, 4, 1, 1}, {-1.f, 0.f, 0.5f, 2.f});
  const Tensor dy = tensor_of(x.shape(), {1.f, 2.f, 3.f, 4.f});
  SUBCASE("relu passes dy where x > 0 and gives 0 at x = 0, like PyTorch") {
    Activation relu(ActKind::ReLU);
    relu.forward(x, Mode::Train);
    check_close(relu.backward(dy), tensor_of(x.shape(), {0, 0, 3, 4}), 0, 0, "dx");
  }
  SUBCASE("sigmoid: dy * s (1 - s)") {
    // s(0) = 0.5 -> 0.25 * 2 = 0.5; s(2) = 0.88079708 -> 0.10499359 * 4 = 0.41997434.
    Activation sigmoid(ActKind::Sigmoid);
    sigmoid.forward(x, Mode::Train);
    const Tensor& dx = sigmoid.backward(dy);
    CHECK(dx[1] == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(dx[3] == doctest::Approx(0.41997434).epsilon(1e-6));
  }
  SUBCASE("tanh: dy * (1 - tanh^2)") {
    // 1 - tanh(0.5)^2 = 0.78644773 -> * 3 = 2.35934318; at 0: 1 * 2 = 2.
    Activation tanh(ActKind::Tanh);
    tanh.forward(x, Mode::Train);
    const Tensor& dx = tanh.backward(dy);
    CHECK(dx[1] == doctest::Approx(2.0).epsilon(1e-6));
    CHECK(dx[2] == doctest::Approx(2.35934318).epsilon(1e-6));
  }
}

TEST_CASE("relu gives exactly x < 0 ? 0 : x and passes dy where y > 0") {
  // Signed zeros, NaN, infinities and denormals among them; 11 values, so that a vectorized
  // loop has a tail.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> values = {-2.f, -0.f, 0.f, 0.5f, nan, -inf,
                                     inf, 3.f, 1e-40f, -1e-40f, -7.f};
  const Tensor x = tensor_of(Shape{1, 11, 1, 1}, values);
  Tensor dy(x.shape());
  for (int i = 0; i < 11; ++i) dy[i] = float(i + 1);
  Activation relu(ActKind::ReLU);
  const Tensor& y = relu.forward(x, Mode::Train);
  const Tensor& dx = relu.backward(dy);
  for (int i = 0; i < 11; ++i) {
    CAPTURE(i);
    const float expected = values[i] < 0.f ? 0.f : values[i];
    CHECK(std::memcmp(y.data() + i, &expected, sizeof(float)) == 0);  // the same bits: -0 stays -0
    CHECK(dx[i] == (expected > 0.f ? dy[i] : 0.f));
  }
}

TEST_CASE("activation.backward matches finite differences") {
  for (ActKind kind : {ActKind::ReLU, ActKind::Sigmoid, ActKind::Tanh}) {
    Activation act(kind);
    CAPTURE(act.kind());
    check_gradients(act, away_from_zero(Shape{3, 2, 3, 4}, 111), 112);
    check_gradients(act, away_from_zero(Shape{1, 7, 1, 1}, 113), 114);
  }
}

TEST_CASE("activation keeps NaN visible and saturates without NaN") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = tensor_of(Shape{1, 4, 1, 1}, {nan, 100.f, -100.f, 1e4f});
  for (ActKind kind : {ActKind::ReLU, ActKind::Sigmoid, ActKind::Tanh}) {
    Activation act(kind);
    CAPTURE(act.kind());
    const Tensor& y = act.forward(x, Mode::Train);
    CHECK(std::isnan(y[0]));
    for (int i = 1; i < 4; ++i) CHECK(std::isfinite(y[i]));
  }
  // sigmoid(-100) = 3.7e-44 in double, 0 or a denormal in float; sigmoid(100) = 1.
  Activation sigmoid(ActKind::Sigmoid);
  const Tensor& y = sigmoid.forward(x, Mode::Train);
  CHECK(y[1] == 1.f);
  CHECK(y[2] == doctest::Approx(0.0).epsilon(1e-30));
}

TEST_CASE("activation without needs_input_grad skips dx and rejects a wrong dy") {
  Activation relu(ActKind::ReLU);
  CHECK(relu.params().empty());
  CHECK(relu.output_shape(Shape{2, 3, 4, 5}) == Shape{2, 3, 4, 5});
  relu.forward(random_tensor(Shape{2, 3, 4, 5}, 121), Mode::Train);
  CHECK_THROWS_AS(relu.backward(Tensor(Shape{2, 3, 4, 4})), Error);
  relu.set_needs_input_grad(false);
  CHECK(relu.backward(Tensor(Shape{2, 3, 4, 5})).size() == 0);
}
