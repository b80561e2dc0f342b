#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "base/error.h"
#include "check.h"
#include "train/loss.h"

using namespace bnlab;
using namespace bnlab::test;

TEST_CASE("loss of uniform logits is ln K") {
  // p_j = 1/K for every class, so -log p_t = ln K whatever the labels.
  SoftmaxCrossEntropy loss;
  for (int k : {2, 10, 1000}) {
    CAPTURE(k);
    const std::vector<int> labels{0, k - 1, k / 2};
    const float value = loss.forward(Tensor(Shape{3, k, 1, 1}, 0.37f), labels.data());
    CHECK(value == doctest::Approx(std::log(double(k))).epsilon(1e-6));
    CHECK(loss.probabilities()[0] == doctest::Approx(1.0 / k).epsilon(1e-6));
  }
}

TEST_CASE("loss matches a hand-computed value and PyTorch") {
  SoftmaxCrossEntropy loss;
  SUBCASE("one sample") {
    // z = (1, 2, 3), t = 2: -log(e^3 / (e + e^2 + e^3)) = log(1 + e^-1 + e^-2) = 0.40760596.
    const int label = 2;
    CHECK(loss.forward(tensor_of(Shape{1, 3, 1, 1}, {1, 2, 3}), &label) ==
          doctest::Approx(0.40760596).epsilon(1e-6));
  }
  SUBCASE("a batch, value and gradient") {
    // torch.nn.functional.cross_entropy (PyTorch 1.13, float64) and the .grad of the logits.
    const Tensor z = tensor_of(Shape{3, 4, 1, 1}, {-1.5f, 1.0f, 0.0f, -1.0f, 1.5f, 0.5f, -0.5f,
                                                   -1.5f, 1.0f, 0.0f, -1.0f, 1.5f});
    const std::vector<int> labels{2, 0, 3};
    CHECK(loss.forward(z, labels.data()) == doctest::Approx(0.8496600).epsilon(1e-6));
    check_close(loss.backward(),
                tensor_of(z.shape(), {0.0172596f, 0.2102652f, -0.2559811f, 0.0284563f, -0.1186952f,
                                      0.0789609f, 0.0290481f, 0.0106862f, 0.1057551f, 0.0389051f,
                                      0.0143124f, -0.1589726f}),
                1e-7, 1e-5, "dL/dz");
  }
}

TEST_CASE("loss.backward matches finite differences and applies the batch mean") {
  SoftmaxCrossEntropy loss;
  Tensor z = random_tensor(Shape{5, 7, 1, 1}, 151, 2.0);
  const std::vector<int> labels{0, 6, 3, 3, 1};
  loss.forward(z, labels.data());
  const Tensor analytic = loss.backward();
  // Each sample's gradient sums to 0 over classes (softmax minus a one-hot, scaled by 1/N).
  for (int n = 0; n < 5; ++n) {
    double sum = 0.0;
    for (int j = 0; j < 7; ++j) sum += analytic.at(n, j);
    CHECK(sum == doctest::Approx(0.0).scale(1.0).epsilon(1e-6));
    CHECK(analytic.at(n, labels[size_t(n)]) < 0.f);
  }
  const double h = 1e-2;
  std::vector<float> numeric;
  for (int64_t i = 0; i < z.size(); ++i) {
    const float saved = z[i];
    z[i] = float(saved + h);
    const double lp = loss.forward(z, labels.data());
    z[i] = float(saved - h);
    const double lm = loss.forward(z, labels.data());
    z[i] = saved;
    numeric.push_back(float((lp - lm) / (2 * h)));
  }
  check_close(analytic.data(), numeric.data(), z.size(), 2e-4, 1e-2, "dL/dz");
}

TEST_CASE("loss stays finite with huge logits") {
  // m = 1e4 is subtracted before exp: z = (1e4, 0, -1e4) gives p = (1, 0, 0) and losses 0
  // (t = 0) and 1e4 (t = 1), never Inf or NaN.
  SoftmaxCrossEntropy loss;
  const Tensor z = tensor_of(Shape{2, 3, 1, 1}, {1e4f, 0.f, -1e4f, 1e4f, 0.f, -1e4f});
  const std::vector<int> labels{0, 1};
  CHECK(loss.forward(z, labels.data()) == doctest::Approx(5e3).epsilon(1e-7));
  CHECK(loss.probabilities()[0] == 1.f);
  CHECK(loss.probabilities()[1] == 0.f);
  const Tensor& dz = loss.backward();
  check_close(dz, tensor_of(z.shape(), {0, 0, 0, 0.5f, -0.5f, 0}), 0, 0, "dL/dz");
}

TEST_CASE("loss of a non-finite logit is NaN or Inf, not an error") {
  SoftmaxCrossEntropy loss;
  const std::vector<int> labels{0};
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_FALSE(std::isfinite(
      loss.forward(tensor_of(Shape{1, 3, 1, 1}, {std::nanf(""), 0, 1}), labels.data())));
  CHECK_FALSE(
      std::isfinite(loss.forward(tensor_of(Shape{1, 3, 1, 1}, {0, inf, 1}), labels.data())));
}

TEST_CASE("loss.correct counts argmax predictions equal to the labels") {
  SoftmaxCrossEntropy loss;
  // Predictions: 2, 0, 1, 1 (sample 3 ties between 1 and 2; the first maximum counts).
  const Tensor z = tensor_of(Shape{4, 3, 1, 1}, {0, 1, 2, 5, 1, 1, -1, 3, 0, 0, 4, 4});
  const std::vector<int> labels{2, 1, 1, 1};
  loss.forward(z, labels.data());
  CHECK(loss.correct() == 3);
  CHECK(loss.predictions() == std::vector<int>{2, 0, 1, 1});
  const std::vector<int> other{0, 0, 0, 2};
  loss.forward(z, other.data());
  CHECK(loss.correct() == 1);
}

TEST_CASE("loss rejects a bad label or shape with bnlab::Error") {
  SoftmaxCrossEntropy loss;
  CHECK_THROWS_AS(loss.backward(), Error);
  const Tensor z(Shape{2, 5, 1, 1});
  const std::vector<int> too_big{0, 5}, negative{-1, 0};
  CHECK_THROWS_WITH_AS(loss.forward(z, too_big.data()),
                       "loss: label 5 of sample 1 is outside [0, 5) for K = 5 classes", Error);
  CHECK_THROWS_AS(loss.forward(z, negative.data()), Error);
  CHECK_THROWS_AS(loss.forward(z, nullptr), Error);
  CHECK_THROWS_AS(loss.forward(Tensor(Shape{2, 5, 2, 1}), too_big.data()), Error);
}
