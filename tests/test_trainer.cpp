#include <doctest/doctest.h>

#include <cmath>

#include "base/error.h"
#include "check.h"
#include "train/trainer.h"

using namespace bnlab;

// Small synthetic runs: fast, and independent of the MNIST files.
static Config shapes_config(const std::string& model = "small-cnn") {
  return test::shapes_config(model, 11, 16);
}

static std::shared_ptr<const DataSplit> shapes_data(uint32_t seed = 11) {
  Config c = shapes_config();
  c.seed = seed;
  return load_data(c, "");
}

TEST_CASE("trainer.the same config and seed give the same metrics, another seed does not") {
  auto data = shapes_data();
  Trainer a(shapes_config(), data), b(shapes_config(), data);
  Config other = shapes_config();
  other.seed = 12;
  Trainer c(other, data);
  bool any_difference = false;
  for (int i = 0; i < 15; ++i) {
    const StepMetrics ma = a.step(), mb = b.step(), mc = c.step();
    CHECK(ma.loss == mb.loss);
    CHECK(ma.accuracy == mb.accuracy);
    any_difference = any_difference || ma.loss != mc.loss;
  }
  CHECK(any_difference);
  CHECK(a.step_count() == 15);
}

TEST_CASE("trainer.lockstep runs see the same batches from the same initial weights") {
  auto data = shapes_data();
  Config bn = shapes_config(), none = shapes_config();
  none.norm.kind = NormKind::None;
  none.lr = 0.01f;
  Trainer a(bn, data), b(none, data);
  test::check_close(*a.model().params()[0].param.value, *b.model().params()[0].param.value, 0, 0, "conv1.weight");
  for (int i = 0; i < 5; ++i) {
    a.step();
    b.step();
    test::check_close(a.batch_x(), b.batch_x(), 0, 0, "batch");
    CHECK(a.batch_labels() == b.batch_labels());
  }
}

TEST_CASE("trainer.a diverging run stops in a reported state and never crashes") {
  // A careless initialization (100x He) without BN overflows within two steps; with BN the same
  // weights train (NUMERICS.md 6: BN reduces the need for careful initialization).
  auto data = shapes_data();
  Config c = shapes_config("deep-cnn");
  c.init_scale = 100.f;
  Config with_bn = c;
  c.norm.kind = NormKind::None;
  Trainer t(c, data), bn(with_bn, data);
  StepMetrics last;
  for (int i = 0; i < 20 && !t.diverged(); ++i) last = t.step();
  REQUIRE(t.diverged());
  CHECK(last.diverged);
  CHECK(last.step == t.diverged_at());
  CHECK(t.step_count() == t.diverged_at() - 1);
  CHECK(t.status().rfind("diverged at step " + std::to_string(t.diverged_at()) + ": loss ", 0) == 0);  // "loss is NaN" or "loss 3e19 (above 1e6)"
  const std::string before = t.save_state();
  const StepMetrics after = t.step();
  CHECK(after.diverged);
  CHECK(after.step == t.diverged_at());
  CHECK(t.step_count() == t.diverged_at() - 1);
  for (int i = 0; i < 20; ++i) bn.step();
  CHECK_FALSE(bn.diverged());
  CHECK(std::isfinite(bn.evaluate(Mode::Eval, 100).loss));
}

TEST_CASE("trainer.train-mode evaluation leaves the running statistics untouched") {
  auto data = shapes_data();
  Trainer t(shapes_config(), data);
  for (int i = 0; i < 3; ++i) t.step();
  const Tensor mean = *t.model().buffers()[0].buffer.value;
  const int64_t tracked = *t.model().counters()[0].counter.value;
  const EvalMetrics train_mode = t.evaluate(Mode::Train, 200);
  const EvalMetrics eval_mode = t.evaluate(Mode::Eval, 200);
  test::check_close(*t.model().buffers()[0].buffer.value, mean, 0, 0, "bn1.running_mean");
  CHECK(*t.model().counters()[0].counter.value == tracked);
  CHECK(train_mode.count == 200);
  CHECK(eval_mode.count == 200);
  CHECK(train_mode.loss != eval_mode.loss);  // running and batch statistics differ after 3 steps
}

TEST_CASE("trainer.evaluate can return each example's prediction") {
  auto data = shapes_data();
  Trainer t(shapes_config(), data);
  for (int i = 0; i < 20; ++i) t.step();
  std::vector<int> predictions{99};
  const EvalMetrics m = t.evaluate(Mode::Eval, 300, &predictions);
  REQUIRE(predictions.size() == 300);
  int right = 0;
  for (size_t i = 0; i < predictions.size(); ++i) right += predictions[i] == data->test.labels[i];
  CHECK(m.accuracy == doctest::Approx(right / 300.0));
  CHECK(right > 0);
  CHECK(right < 300);  // 20 steps do not make a perfect classifier: the check could fail either way
}

TEST_CASE("trainer.bad setups are clear errors") {
  auto data = shapes_data();
  Config c = shapes_config();
  c.batch_size = 100000;
  CHECK_THROWS_WITH_AS(Trainer(c, data), doctest::Contains("is larger than the training set"), Error);
  c = shapes_config();
  c.model = "conv8-bn-relu fc7";
  CHECK_THROWS_WITH_AS(Trainer(c, data), doctest::Contains("the data has 6 classes"), Error);
  c = shapes_config("mlp");
  c.batch_size = 1;
  Trainer t(c, data);
  CHECK_THROWS_WITH_AS(t.step(), doctest::Contains("Expected more than 1 value per channel when training"), Error);
}

TEST_CASE("trainer.train_size keeps only the first examples") {
  auto data = shapes_data();
  Config c = shapes_config();
  c.train_size = 64;
  Trainer t(c, data);
  CHECK(t.data().train.size() == 64);
  CHECK(data->train.size() > 64);
}
