#include <doctest/doctest.h>

#include <cmath>

#include "../core/measure.h"
#include "check.h"

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
