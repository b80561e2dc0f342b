// Learning for real: the reference CNN on the real MNIST digits, and the learning-rate claim.
#include <doctest/doctest.h>

#include "train/trainer.h"

using namespace bnlab;

static Config mnist_config() {
  Config c;  // ref-cnn, BN, SGD lr 0.05 momentum 0.9, batch 32: the defaults
  c.dataset = "mnist";
  c.seed = 1;
  return c;
}

static float train_and_test(const Config& c, std::shared_ptr<const DataSplit> data, int steps) {
  Trainer t(c, data);
  for (int i = 0; i < steps && !t.diverged(); ++i) t.step();
  if (t.diverged()) return 0.f;
  return t.evaluate(Mode::Eval).accuracy;
}

TEST_CASE("learning.the reference CNN with BN reaches 95% on the MNIST test split") {
  auto data = load_data(mnist_config(), BNLAB_DATA_DIR);
  REQUIRE(data->train.size() == 8000);
  REQUIRE(data->test.size() == 2000);
  // 750 steps of 32 = 3 epochs of the 8,000 training digits.
  const float accuracy = train_and_test(mnist_config(), data, 750);
  MESSAGE("ref-cnn + BN, 750 steps: test accuracy " << accuracy);
  CHECK(accuracy >= 0.95f);
}

TEST_CASE("learning.at a learning rate where the plain network fails, BN still learns") {
  // Measured on this split (300 steps, batch 32): without BN, lr 0.05 reaches 94-96% but lr 0.2
  // stays at chance (~10%, its ReLUs die); with BN, lr 0.2 reaches ~96%. The thresholds leave a
  // wide margin on both sides: 90% for "learns", 20% for "fails".
  auto data = load_data(mnist_config(), BNLAB_DATA_DIR);
  for (uint32_t seed : {1u, 2u}) {
    CAPTURE(seed);
    Config bn = mnist_config(), none = mnist_config();
    bn.seed = none.seed = seed;
    none.norm.kind = NormKind::None;
    const float none_usual = train_and_test(none, data, 300);
    bn.lr = none.lr = 0.2f;
    const float with_bn = train_and_test(bn, data, 300);
    const float without = train_and_test(none, data, 300);
    MESSAGE("seed " << seed << ": no BN at lr 0.05 " << none_usual << "; at lr 0.2: BN " << with_bn
                    << ", no BN " << without);
    CHECK(none_usual >= 0.90f);  // the plain network is fine at the usual rate...
    CHECK(without <= 0.20f);     // ...and fails at the high one
    CHECK(with_bn >= 0.90f);     // where BN still learns
  }
}
