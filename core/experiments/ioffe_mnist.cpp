// ioffe-mnist: Ioffe & Szegedy's Figure 1, test accuracy and a sigmoid input's percentiles
// over training, with and without BN (NUMERICS.md 4a, 6).
#include <algorithm>
#include <cmath>
#include <memory>

#include "experiments/common.h"
#include "measure/measure.h"

namespace bnlab {

namespace {

constexpr int kIoffeSteps = 2000;  // the default steps (--steps 0)

// Ioffe & Szegedy (2015), Figure 1: the 784-100-100-100-10 sigmoid network on MNIST with and
// without BN, in lockstep, with plain SGD on mini-batches of 60 as in the paper. Followed: test
// accuracy, and the 15/50/85th percentiles of the input of units of the last hidden sigmoid
// (after BN where there is one) on a fixed probe batch of test digits, in training mode.
constexpr int kBandUnits = 10;   // units followed (the paper plots one typical unit)
constexpr int kProbeSize = 256;  // the 15th percentile of 256 values lies near the 39th

ExperimentResult run_ioffe(const ExperimentOptions& options) {
  const int steps = steps_or(options, kIoffeSteps);
  std::shared_ptr<const DataSplit> data;
  RunSchedule schedule;
  schedule.steps = steps;
  schedule.stop_when_diverged = false;
  Run run(schedule);
  std::vector<std::unique_ptr<Instrument>> instruments;  // (run * kBandUnits + unit)
  for (NormKind kind : kPair) {
    Config c = experiment_config("mlp", kind, options);
    c.batch_size = 60;
    c.lr = 0.1f;
    c.momentum = 0.f;
    if (!data) data = load_data(c, options.data_dir);
    Trainer& t = run.add(c, data);
    // An Instrument follows one unit of every activation: one instrument per followed unit.
    for (int u = 0; u < kBandUnits; ++u) {
      MeasureConfig mc;
      mc.probe_size = kProbeSize;
      mc.probe_unit = u;
      mc.band_every = 1;  // bands whenever measure_step is called (this loop picks the steps)
      instruments.push_back(std::make_unique<Instrument>(t, mc));
    }
  }

  Table accuracy({"run", "step", "test_accuracy"});
  Table bands({"run", "step", "unit", "p15", "p50", "p85"});
  const int eval_every = std::max(1, steps / 40), band_every = std::max(1, steps / 50);
  const int early_step = std::max(1, steps / 4);
  // Drift is taken after the first tenth of training: every network leaves its initial state
  // quickly, and the claim is about the distribution while training goes on.
  const int drift_from = steps / 10;
  float early[2] = {0, 0}, last[2] = {0, 0};
  // Median and 85-15 spread of each followed unit from drift_from on: (run * kBandUnits + unit)[t].
  std::vector<std::vector<float>> medians(2 * kBandUnits), spreads(2 * kBandUnits);
  StepMeasurements m;
  // Side r after lockstep step s (s = 0: before the first).
  auto record = [&](int s, int r, Trainer& t) {
    if (s % eval_every == 0 || s == early_step || s == steps) {
      last[r] = test_accuracy(t);
      accuracy.add({label(kPair[r]), fmt(s), fmt(last[r])});
      if (s == early_step) early[r] = last[r];
    }
    if (s == 0 || s % band_every != 0 || t.diverged()) return;
    for (int u = 0; u < kBandUnits; ++u) {
      const size_t k = size_t(r * kBandUnits + u);
      instruments[k]->measure_step(m);
      const UnitBand& b = m.bands.back();  // the input of the last hidden sigmoid
      bands.add({label(kPair[r]), fmt(s), fmt(u), fmt(b.q[1]), fmt(b.q[2]), fmt(b.q[3])});
      if (s < drift_from) continue;
      medians[k].push_back(b.q[2]);
      spreads[k].push_back(b.q[3] - b.q[1]);
    }
  };
  auto progress = [&](int64_t s) {
    if (s % 50 == 0) options.progress(double(s) / steps);
  };
  for (int r = 0; r < 2; ++r) record(0, r, run.side(r));
  progress(0);
  RunHooks hooks;
  const auto on_stepped = [&](const SideStep& st, Trainer& t) { record(int(st.step), st.side, t); };
  hooks.stepped = on_stepped;
  hooks.lockstep = progress;
  run.train(steps, hooks);

  // The drift of a unit is the range (max - min) of its median, or of its spread, over the
  // measurements; the summary averages it over the followed units.
  auto mean_range = [](const std::vector<std::vector<float>>& series, int r) {
    double sum = 0;
    for (int u = 0; u < kBandUnits; ++u) {
      const std::vector<float>& v = series[size_t(r * kBandUnits + u)];
      if (v.empty()) return double(NAN);  // diverged before drift_from
      const auto mm = std::minmax_element(v.begin(), v.end());
      sum += double(*mm.second) - double(*mm.first);
    }
    return sum / kBandUnits;
  };
  ExperimentResult result;
  Json& j = result.summary;
  for (int r = 0; r < 2; ++r) j.set("median_drift_" + label(kPair[r]), mean_range(medians, r));
  for (int r = 0; r < 2; ++r) j.set("spread_drift_" + label(kPair[r]), mean_range(spreads, r));
  j.set("early_step", early_step);
  for (int r = 0; r < 2; ++r) j.set("accuracy_early_" + label(kPair[r]), double(early[r]));
  for (int r = 0; r < 2; ++r) j.set("accuracy_final_" + label(kPair[r]), double(last[r]));
  j.set("drift_from_step", drift_from);
  j.set("units", kBandUnits);
  result.tables.emplace_back("accuracy", std::move(accuracy));
  result.tables.emplace_back("bands", std::move(bands));
  return result;
}

}  // namespace

ExperimentInfo ioffe_mnist_experiment() {
  return {
      "ioffe-mnist", "Ioffe & Szegedy's MNIST figure: accuracy and a sigmoid input over training",
      "Ioffe & Szegedy's Figure 1. Their 784-100-100-100-10 sigmoid network (preset mlp) learns "
      "MNIST with and without BN in lockstep: same initial weights, same batches, plain SGD at lr "
      "0.1 on batches of 60 as in the paper, 2,000 steps (the paper ran 50,000). Measured: test "
      "accuracy every 50 steps, and for ten units of the last hidden layer the 15th, 50th and 85th "
      "percentiles of the sigmoid's input on a fixed probe batch of 256 test digits (training "
      "mode). Drift: the range (max - min) from step 200 on of a unit's median and of its 85-15 "
      "spread, averaged over the ten units. The paper: BN trains faster and higher, and without BN "
      "the distribution drifts in median and spread while with BN it stays stable. BN Lab "
      "reproduces both (claims faster, higher, stable-median, stable-spread; numbers of seeds 1 "
      "and 2): at step 500 BN is at 91% test accuracy and the plain "
      "network at 42-50%; at step 2,000, 93% against 87-88%. The median drifts by 0.18 with BN "
      "against 0.71-1.03 without, the spread by 0.61 against 1.9-2.2. With BN the band is not "
      "perfectly flat: it widens as gamma grows (85-15 spread about 2.7, where a unit normal has "
      "2.07). At the default optimizer (lr 0.05, momentum 0.9, batches of 32) the effect is the "
      "same but weaker: median drift 0.34-0.36 against 0.89-1.12, spread 0.94-0.96 against "
      "1.37-1.66.",
      kIoffeSteps, run_ioffe};
}

}  // namespace bnlab
