// One side (core/measure/side.h): a Trainer with its instruments, as the page's worker holds it.
// Its step records are checked against a plain Trainer's steps, its misclassified images against
// predictions taken from the Trainer directly, its tensors against the model's own.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "measure/side.h"

using namespace bnlab;

namespace {

Config shapes_config(const std::string& model = "small-cnn") {
  return test::shapes_config(model, 13, 16);
}

std::shared_ptr<const DataSplit> shapes_data() { return load_data(shapes_config(), ""); }

// 100x He initialization without BN overflows within a few steps (the run loop's test of
// divergence).
Config diverging_config() {
  Config c = shapes_config("deep-cnn");
  c.init_scale = 100.f;
  c.norm.kind = NormKind::None;
  return c;
}

}  // namespace

TEST_CASE("side.step records each step as a Trainer takes it, and stops at a divergence") {
  auto data = shapes_data();
  Side side(shapes_config(), data);
  Trainer twin(shapes_config(), data);
  for (const int n : {3, 2}) {
    const StepRecord r = side.step(n);
    CHECK(r.first_step == twin.step_count() + 1);
    REQUIRE(r.loss.size() == size_t(n));
    REQUIRE(r.accuracy.size() == size_t(n));
    REQUIRE(r.lr.size() == size_t(n));
    for (int i = 0; i < n; ++i) {
      const StepMetrics m = twin.step();
      CHECK(r.loss[size_t(i)] == m.loss);  // the same run, bit for bit
      CHECK(r.accuracy[size_t(i)] == m.accuracy);
      CHECK(r.lr[size_t(i)] == m.lr);
    }
  }
  CHECK(side.trainer().step_count() == 5);

  Side wild(diverging_config(), data);
  const StepRecord r = wild.step(20);
  REQUIRE(wild.trainer().diverged());
  const int64_t at = wild.trainer().diverged_at();
  CHECK(r.first_step == 1);
  // Every step up to the diverging one, which is reported, and none after it: as a plain
  // Trainer takes them.
  REQUIRE(r.loss.size() == size_t(at));
  Trainer wild_twin(diverging_config(), data);
  for (size_t i = 0; i < r.loss.size(); ++i) {
    const StepMetrics m = wild_twin.step();
    CHECK(m.diverged == (i + 1 == r.loss.size()));
    if (std::isnan(m.loss))
      CHECK(std::isnan(r.loss[i]));
    else
      CHECK(r.loss[i] == m.loss);
  }
  // A diverged side takes no more steps: the next call records none.
  const StepRecord again = wild.step(5);
  CHECK(again.loss.empty());
  CHECK(again.first_step == wild.trainer().step_count() + 1);
}

TEST_CASE("side.train_sides trains a pair in lockstep, each side as alone, one diverging") {
  auto data = shapes_data();
  Config bn = shapes_config("deep-cnn");
  Side a(diverging_config(), data), b(bn, data);
  Side a_alone(diverging_config(), data), b_alone(bn, data);
  Run run;
  run.attach(a.trainer());
  run.attach(b.trainer());
  std::vector<int> stepped(2), lasts(2);
  const auto on_stepped = [&](int side, bool, bool last) {
    ++stepped[size_t(side)];
    lasts[size_t(side)] += last;
  };
  const auto on_heavy = [](int) {};
  CHECK(train_sides(run, {&a, &b}, 8, on_heavy, on_stepped) == 8);
  REQUIRE(a.trainer().diverged());
  CHECK_FALSE(b.trainer().diverged());
  const StepRecord ra = a_alone.step(8), rb = b_alone.step(8);
  CHECK(a.steps().loss == ra.loss);
  CHECK(b.steps().loss == rb.loss);
  CHECK(b.steps().loss.size() == 8);
  CHECK(stepped[0] == int(ra.loss.size()));
  CHECK(stepped[1] == 8);
  CHECK(lasts[0] == 0);  // side a never reached the call's last step
  CHECK(lasts[1] == 1);
}

TEST_CASE("side.evaluate keeps its eval-mode predictions for misclassified") {
  auto data = shapes_data();
  Side side(shapes_config(), data);
  // Before any evaluation: no images, step -1.
  Entry none = side.misclassified(8);
  CHECK(none.step == -1);
  CHECK(none.shape.at(0) == 0);

  side.step(4);
  CHECK_THROWS_WITH_AS(side.evaluate("test", 0),
                       "evaluate: mode must be 'eval' or 'train', got 'test'", Error);
  const EvalMetrics m = side.evaluate("eval", 0);
  // The same predictions from the Trainer directly (evaluation changes nothing in eval mode).
  std::vector<int> predictions;
  const EvalMetrics twin = side.trainer().evaluate(Mode::Eval, 0, &predictions);
  CHECK(m.accuracy == twin.accuracy);
  const Dataset& test = side.trainer().data().test;
  std::vector<int> wrong;
  for (size_t i = 0; i < predictions.size(); ++i)
    if (predictions[i] != test.labels[i]) wrong.push_back(int(i));
  REQUIRE_MESSAGE(!wrong.empty(), "4 steps should leave some test images wrong");

  // A train-mode evaluation afterwards leaves the eval-mode predictions as they were.
  side.step(1);
  side.evaluate("train", 0);
  const Entry e = side.misclassified(3);
  CHECK(e.step == 4);  // the step of the eval-mode evaluation
  const size_t k = std::min<size_t>(3, wrong.size());
  REQUIRE(e.shape.at(0) == int(k));
  CHECK(e.fields.get("wrong").integer() == int64_t(wrong.size()));
  const auto& indices = e.fields.get("indices").items();
  const auto& predicted = e.fields.get("predictions").items();
  const auto& labels = e.fields.get("labels").items();
  REQUIRE(indices.size() == k);
  for (size_t i = 0; i < k; ++i) {
    CHECK(indices[i].integer() == wrong[i]);
    CHECK(predicted[i].integer() == predictions[size_t(wrong[i])]);
    CHECK(labels[i].integer() == test.labels[size_t(wrong[i])]);
  }
}

TEST_CASE(
    "side.tensors names the model's parameters, gradients and buffers, and refuses an unknown name") {
  auto data = shapes_data();
  Side side(shapes_config(), data);
  side.step(1);
  const std::vector<NamedTensor> all = side.tensors();
  const Model& model = side.trainer().model();
  CHECK(all.size() == 2 * model.params().size() + model.buffers().size());
  for (const NamedParam& p : model.params()) {
    const NamedTensor t = side.tensor(p.name);
    CHECK(std::string(t.kind) == "param");
    CHECK(t.tensor == p.param.value);
    CHECK(int(t.shape.size()) == p.param.dims);
    CHECK(t.shape.at(0) == p.param.value->shape().n);
    const NamedTensor g = side.tensor(p.name + ".grad");
    CHECK(std::string(g.kind) == "grad");
    CHECK(g.tensor == p.param.grad);
  }
  for (const NamedBuffer& b : model.buffers()) {
    const NamedTensor t = side.tensor(b.name);
    CHECK(std::string(t.kind) == "buffer");
    CHECK(t.tensor == b.buffer.value);
  }
  REQUIRE_FALSE(model.buffers().empty());  // small-cnn has BatchNorm's running statistics
  const NamedBuffer& first = model.buffers().front();
  CHECK(side.tensor(first.name).shape.size() == size_t(first.buffer.dims));
  CHECK_THROWS_WITH_AS(side.tensor("no.such.tensor"),
                       "no tensor named 'no.such.tensor' (see tensorNames())", Error);
}

TEST_CASE("side.what_if refuses bad arguments and leaves the run byte-identical") {
  auto data = shapes_data();
  Side side(shapes_config(), data);
  side.step(2);
  const std::string before = side.trainer().save_state();
  CHECK_THROWS_WITH_AS(side.what_if(0, 1, 4, "bn1", 0, 0, 0),
                       "batch-mates: the batch size must be at least 2 (the image and one "
                       "companion), got 1",
                       Error);
  CHECK_THROWS_WITH_AS(side.what_if(0, 16, 0, "bn1", 0, 0, 0),
                       "batch-mates: draws must be 1 to 64, got 0", Error);
  CHECK_THROWS_WITH_AS(side.what_if(0, 16, 65, "bn1", 0, 0, 0),
                       "batch-mates: draws must be 1 to 64, got 65", Error);
  CHECK_THROWS_AS(side.what_if(0, 16, 2, "no-such-layer", 0, 0, 0), Error);
  CHECK_THROWS_AS(side.what_if(side.trainer().data().test.size(), 16, 2, "bn1", 0, 0, 0), Error);

  const WhatIfDraws d = side.what_if(5, 16, 6, "bn1", 1, 2, 3);
  CHECK(d.image == 5);
  CHECK(d.label == side.trainer().data().test.labels[5]);
  CHECK(d.step == 2);
  CHECK(d.classes == side.trainer().data().test.num_classes);
  CHECK(d.y.size() == 6);
  CHECK(d.mean.size() == 6);
  CHECK(d.var.size() == 6);
  CHECK(d.predictions.size() == 6);
  CHECK(d.probs.size() == size_t(6 * d.classes));
  // Companions drawn afresh each time: the train-mode outputs differ between draws.
  bool differ = false;
  for (float y : d.y) differ |= y != d.y.front();
  CHECK(differ);
  CHECK(side.trainer().save_state() == before);
  // And the run goes on as its twin that never asked.
  Side twin(shapes_config(), data);
  twin.step(2);
  CHECK(side.step(3).loss == twin.step(3).loss);
}

TEST_CASE("side.epoch counts the examples drawn as a fraction of the training set") {
  auto data = shapes_data();
  Config c = shapes_config();
  Side side(c, data);
  const int n = side.trainer().data().train.size();
  CHECK(side.epoch() == 0.0);
  side.step(3);
  REQUIRE(3 * c.batch_size < n);
  CHECK(side.epoch() == doctest::Approx(double(3 * c.batch_size) / n));
  const int per_epoch = (n + c.batch_size - 1) / c.batch_size;
  side.step(per_epoch);  // past the end of the first epoch
  CHECK(side.epoch() > 1.0);
  CHECK(side.epoch() < 2.0);
}
