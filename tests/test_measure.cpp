#include <doctest/doctest.h>

#include <cmath>

#include "check.h"
#include "measure/measure.h"

using namespace bnlab;

static Config shapes_config(const std::string& model = "small-cnn") {
  return test::shapes_config(model, 3, 16);
}

TEST_CASE("measure.measuring never changes the run") {
  for (bool noisy : {false, true}) {
    CAPTURE(noisy);
    Config c = shapes_config();
    c.noisy = noisy;
    auto data = load_data(c, "");
    Trainer plain(c, data), measured(c, data);
    Instrument inst(measured, MeasureConfig());
    StepMeasurements m;
    HeavyMeasurements h;
    for (int i = 0; i < 8; ++i) {
      if (i % 3 == 0) inst.measure_heavy(h);
      const float a = plain.step().loss, b = measured.step().loss;
      CHECK(a == b);
      inst.measure_step(m);
    }
    CHECK_MESSAGE(plain.save_state() == measured.save_state(), "measuring changed the run's state");
  }
}

TEST_CASE("measure.normalizer statistics are those of the layer's batch") {
  Config c = shapes_config();
  auto data = load_data(c, "");
  Trainer t(c, data);
  Instrument inst(t, MeasureConfig());
  StepMeasurements m;
  t.step();
  inst.measure_step(m);
  REQUIRE(m.norms.size() == 2);
  CHECK(m.norms[0].name == "bn1");
  REQUIRE(m.norms[0].batch_mean.size() == 4);
  // After one step with momentum 0.1 from (0, 1): running = 0.1 * batch (unbiased for the var).
  const double count = 16.0 * 28 * 28;
  for (size_t ch = 0; ch < 4; ++ch) {
    CHECK(m.norms[0].running_mean[ch] == doctest::Approx(0.1 * m.norms[0].batch_mean[ch]).epsilon(1e-4));
    CHECK(m.norms[0].running_var[ch] ==
          doctest::Approx(0.9 + 0.1 * m.norms[0].batch_var[ch] * count / (count - 1)).epsilon(1e-4));
  }
  CHECK(m.hist_layer == "bn1");
  double in_sum = 0, out_sum = 0;
  for (float v : m.input.counts) in_sum += v;
  for (float v : m.output.counts) out_sum += v;
  CHECK(in_sum == doctest::Approx(1.0));
  CHECK(out_sum == doctest::Approx(1.0));
  // BN's output of one channel has mean ~beta (~0 after one step) and spread ~gamma (~1).
  CHECK(m.output.lo < -1.0f);
  CHECK(m.output.hi > 1.0f);
  REQUIRE(m.layers.size() == 3);
  CHECK(m.layers[0].name == "conv1");
  CHECK(m.layers[0].grad_norm > 0);
  CHECK(m.layers[0].update_ratio > 0);
}

TEST_CASE("measure.percentile bands of a BN-normalized sigmoid input are those of a unit normal at init") {
  Config c = shapes_config("mlp");
  c.lr = 0;  // nothing moves: gamma 1, beta 0
  auto data = load_data(c, "");
  Trainer t(c, data);
  MeasureConfig mc;
  mc.probe_size = 500;
  mc.band_every = 1;
  Instrument inst(t, mc);
  StepMeasurements m;
  t.step();
  inst.measure_step(m);
  REQUIRE(m.bands.size() == 3);
  // BN output over the 500 probe examples has mean 0 and variance ~1: its percentiles are
  // about those of N(0, 1): 15th -1.036, 50th ~0 (not exactly: not symmetric), 85th 1.036.
  const UnitBand& b = m.bands[0];
  CHECK(b.q[1] == doctest::Approx(-1.036).epsilon(0.25));
  CHECK(b.q[3] == doctest::Approx(1.036).epsilon(0.25));
  CHECK(b.q[0] < b.q[1]);
  CHECK(b.q[1] < b.q[2]);
  CHECK(b.q[2] < b.q[3]);
  CHECK(b.q[3] < b.q[4]);
}

TEST_CASE("measure.ICS is zero with a zero learning rate and the landscape follows the gradient") {
  Config c = shapes_config();
  auto data = load_data(c, "");
  SUBCASE("lr 0: the layers below do not move, G' = G") {
    c.lr = 0;
    Trainer t(c, data);
    Instrument inst(t, MeasureConfig());
    HeavyMeasurements h;
    t.step();
    inst.measure_heavy(h);
    REQUIRE(h.ics.size() == 2);  // conv2 and fc1 (conv1 has nothing below it)
    for (const IcsLayer& l : h.ics) {
      CHECK(l.l2 == doctest::Approx(0.0));
      CHECK(l.cosine == doctest::Approx(1.0));
    }
  }
  SUBCASE("tiny steps: L(w - eta g) = L(w) - eta ||g||^2 to first order") {
    c.lr = 1e-4f;
    Trainer t(c, data);
    t.step();
    MeasureConfig mc;
    mc.etas = {1.f, 2.f};
    Instrument inst(t, mc);
    HeavyMeasurements h;
    inst.measure_heavy(h);
    // Recompute L(w) and ||g||^2 on the same batch by hand through a second trainer state.
    Trainer probe(c, data);
    probe.load_state(t.save_state());
    const double drop1 = double(h.landscape.loss_max) - h.landscape.losses[0];
    const double drop2 = double(h.landscape.loss_max) - h.landscape.losses[1];
    CHECK(h.landscape.losses[1] < h.landscape.losses[0]);  // moving downhill
    CHECK(drop2 == doctest::Approx(2 * drop1).epsilon(0.05));  // linear in eta at this scale
    CHECK(h.landscape.beta_smoothness > 0);
    CHECK(h.ics.size() == 2);
    for (const IcsLayer& l : h.ics) CHECK(l.cosine > 0.99f);
  }
}

TEST_CASE("measure.feature maps are a test image's layer outputs in eval mode, before and after BN") {
  Config c = shapes_config();  // conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc
  auto data = load_data(c, "");
  Trainer t(c, data);
  for (int i = 0; i < 5; ++i) t.step();
  const std::string before_state = t.save_state();
  Instrument inst(t, MeasureConfig());
  FeatureMaps f;
  const int image = 7;
  inst.measure_features(image, f);
  CHECK(t.save_state() == before_state);
  CHECK(f.error.empty());
  CHECK(f.image == image);
  CHECK(f.label == data->test.labels[image]);
  REQUIRE(f.pixels.size() == size_t(28 * 28));
  CHECK(f.pixels[300] == data->test.images[size_t(image) * 784 + 300]);
  REQUIRE(f.maps.size() == 2);  // two blocks before the classifier
  CHECK(f.maps[0].layer == "bn1");
  CHECK(f.maps[0].block == 1);
  CHECK(f.maps[0].shape == Shape{1, 4, 28, 28});
  CHECK(f.maps[1].layer == "bn2");
  CHECK(f.maps[1].shape == Shape{1, 8, 14, 14});

  // Independent truth for "before": conv1 applied by hand to the image (3x3, padding 1).
  Model& m = t.model();
  const Tensor& w = *m.params()[0].param.value;  // conv1.weight (4, 1, 3, 3)
  const Tensor& b = *m.params()[1].param.value;  // conv1.bias (4)
  REQUIRE(m.params()[0].name == "conv1.weight");
  for (int ch : {0, 3})
    for (int y : {0, 13, 27})
      for (int x : {0, 5, 27}) {
        double sum = b[ch];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = y + ky - 1, ix = x + kx - 1;
            if (iy < 0 || iy >= 28 || ix < 0 || ix >= 28) continue;
            sum += double(w[(ch * 3 + ky) * 3 + kx]) * f.pixels[size_t(iy * 28 + ix)];
          }
        CHECK(f.maps[0].before[size_t((ch * 28 + y) * 28 + x)] == doctest::Approx(sum).epsilon(1e-5));
      }
  // "after" is eval-mode BN: (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
  StepMeasurements sm;
  inst.measure_step(sm);
  const NormLayerStats& bn = sm.norms[1];
  for (int ch = 0; ch < 8; ++ch)
    for (int i : {0, 77, 195}) {
      const size_t at = size_t(ch * 196 + i);
      const double x = f.maps[1].before[at];
      const double want = (x - bn.running_mean[ch]) / std::sqrt(double(bn.running_var[ch]) + 1e-5) * bn.gamma[ch] + bn.beta[ch];
      CHECK(f.maps[1].after[at] == doctest::Approx(want).epsilon(1e-5));
    }
  // The answer is the eval-mode answer of Trainer::evaluate for the same image (eval-mode BN
  // treats every example alone, so the batch it sits in does not matter).
  std::vector<int> predictions;
  t.evaluate(Mode::Eval, 0, &predictions);
  CHECK(f.prediction == predictions[image]);
  CHECK(f.confidence > 0.1f);  // at least 1/K of the mass for the argmax of K = 10 classes
  CHECK(f.confidence <= 1.0f);
}

TEST_CASE("measure.feature maps of a network without normalizers are the conv and fc outputs") {
  Config c = test::shapes_config("conv4-relu-pool2 fc12-relu fc", 3, 16);
  auto data = load_data(c, "");
  Trainer t(c, data);
  t.step();
  Instrument inst(t, MeasureConfig());
  FeatureMaps f;
  inst.measure_features(0, f);
  REQUIRE(f.maps.size() == 2);
  CHECK(f.maps[0].layer == "conv1");
  CHECK(f.maps[0].shape == Shape{1, 4, 28, 28});
  CHECK(f.maps[0].after.empty());
  CHECK(f.maps[1].layer == "fc1");
  CHECK(f.maps[1].shape == Shape{1, 12, 1, 1});
  CHECK(f.maps[1].before.size() == 12);
}

TEST_CASE("measure.feature maps refuse a missing image and report a network that cannot take one") {
  Config c = shapes_config();
  auto data = load_data(c, "");
  Trainer t(c, data);
  Instrument inst(t, MeasureConfig());
  FeatureMaps f;
  CHECK_THROWS_WITH(inst.measure_features(-1, f), doctest::Contains("test image -1 does not exist"));
  CHECK_THROWS_WITH(inst.measure_features(data->test.size(), f), doctest::Contains("0 to"));

  // BatchNorm without running statistics normalizes with the batch even in eval mode; after an
  // fc layer, one example is a batch of m = 1.
  Config d = test::shapes_config("fc16-bn-relu fc", 3, 16);
  d.norm.track_running_stats = false;
  auto data2 = load_data(d, "");
  Trainer u(d, data2);
  u.step();
  const std::string state = u.save_state();
  Instrument inst2(u, MeasureConfig());
  inst2.measure_features(2, f);
  CHECK(f.maps.empty());
  CHECK_MESSAGE(!f.error.empty(), "no reason given");
  CHECK(u.save_state() == state);
  CHECK(std::isfinite(u.step().loss));  // and it still trains
}

TEST_CASE("measure.misclassified lists the first wrong test images with their answers") {
  Dataset test;
  test.name = "tiny";
  test.channels = 1, test.height = 2, test.width = 2, test.num_classes = 3;
  test.labels = {0, 1, 2, 1, 0};
  for (int i = 0; i < 5; ++i)
    for (int p = 0; p < 4; ++p) test.images.push_back(float(10 * i + p));
  test.class_names = {"a", "b", "c"};
  Misclassified m;
  collect_misclassified(test, {0, 2, 2, 0, 1}, 10, m);
  CHECK(m.examined == 5);
  CHECK(m.wrong == 3);
  CHECK(m.indices == std::vector<int>{1, 3, 4});
  CHECK(m.predictions == std::vector<int>{2, 0, 1});
  CHECK(m.labels == std::vector<int>{1, 1, 0});
  CHECK(m.pixels == std::vector<float>{10, 11, 12, 13, 30, 31, 32, 33, 40, 41, 42, 43});
  // A cap keeps the first ones but still counts them all; fewer predictions look at fewer images.
  collect_misclassified(test, {0, 2, 2, 0, 1}, 1, m);
  CHECK(m.wrong == 3);
  CHECK(m.indices == std::vector<int>{1});
  CHECK(m.pixels.size() == 4);
  collect_misclassified(test, {0, 1}, 5, m);
  CHECK(m.examined == 2);
  CHECK(m.wrong == 0);
  CHECK(m.indices.empty());
  CHECK_THROWS_WITH(collect_misclassified(test, {0, 0, 0, 0, 0, 0}, 5, m), doctest::Contains("6 predictions"));
  CHECK_THROWS_WITH(collect_misclassified(test, {0}, -1, m), doctest::Contains("must not be negative"));
}

TEST_CASE("measure.a model that has not run yet has nothing to measure, and says so by empty lists") {
  Config c = shapes_config();
  auto data = load_data(c, "");
  Trainer t(c, data);
  Instrument inst(t, MeasureConfig());
  StepMeasurements m;
  inst.measure_step(m);
  CHECK(m.step == 0);
  CHECK(m.norms.empty());
  CHECK(m.layers.empty());
  CHECK(m.hist_layer.empty());
  // set_options rebuilds the model for a new BN eps: again nothing until the next step.
  t.step();
  inst.measure_step(m);
  CHECK(m.norms.size() == 2);
  t.set_options({{"bn_eps", "0.001"}});
  inst.measure_step(m);
  CHECK(m.norms.empty());
  t.step();
  inst.measure_step(m);
  CHECK(m.norms.size() == 2);
}
