// noisy-bn: Santurkar et al.'s noisy BN and the gradient measure of internal covariate shift
// (NUMERICS.md 4b, 4c).
#include <cmath>
#include <functional>
#include <memory>

#include "experiments/common.h"
#include "measure/measure.h"

namespace bnlab {

namespace {

constexpr int kNoisySteps = 400;

// The gradient measure of ICS on both kinds of network at two rates: the reference CNN (ReLU)
// and Ioffe & Szegedy's sigmoid MLP, each at 0.05 (the reference rate, NUMERICS.md 7) and 0.1
// (twice it, the rate of the three runs above, where the plain CNN trains visibly worse). The
// two networks disagree at one rate (issue 14: CNN at 0.1 less ICS with BN, MLP at 0.05 more),
// so each is measured at both rates to tell the network from the rate.
const char* const kIcsModels[2] = {"ref-cnn", "mlp"};
const float kIcsRates[2] = {0.05f, 0.1f};

// ||G - G'|| / ||G|| and cos(G, G') of every layer measured in `hm`, after the step that
// computed G (the gradient at W^t on this batch, with the same noise draws measure_heavy used),
// appended to the run's lists and as rows (prefix..., step, layer, l2, cosine, relative).
void record_ics(Trainer& trainer, const HeavyMeasurements& hm,
                const std::vector<std::string>& prefix, Table& table, std::vector<double>& cosines,
                std::vector<double>& relatives, std::vector<double>* l2s = nullptr) {
  for (const IcsLayer& layer : hm.ics) {
    double g = 0;
    for (const NamedParam& p : trainer.model().params())
      if (p.name == layer.name + ".weight") g = p.param.grad->vec().norm();
    const double relative = g > 0 ? layer.l2 / g : std::nan("");
    std::vector<std::string> row = prefix;
    for (const std::string& cell :
         {std::to_string(hm.step), layer.name, fmt(layer.l2), fmt(layer.cosine), fmt(relative)})
      row.push_back(cell);
    table.add(row);
    if (l2s) l2s->push_back(layer.l2);
    cosines.push_back(layer.cosine);
    relatives.push_back(relative);
  }
}

// BN and no-BN copies of `model` at rate `lr` trained in lockstep (same initial weights, same
// batches), the gradient ICS measured 16 times over the run. Sets out[label][figure] medians.
void ics_at_rate(const std::string& model, float lr, const ExperimentOptions& options, int steps,
                 Table& table, Json& relative_out, Json& cosine_out,
                 const std::function<void(double)>& progress) {
  RunSchedule schedule = fixed_steps(steps);
  schedule.heavy_every = (steps + 15) / 16;
  Run run(schedule);
  std::vector<std::unique_ptr<Instrument>> instruments;
  std::vector<std::vector<double>> cosines(2), relatives(2);
  MeasureConfig mc;
  mc.probe_size = 0;  // no percentile bands: only the gradient measure
  std::shared_ptr<const DataSplit> data;
  for (NormKind kind : kPair) {
    Config c = experiment_config(model, kind, options);
    c.lr = lr;
    if (!data) data = load_data(c, options.data_dir);
    instruments.push_back(std::make_unique<Instrument>(run.add(c, data), mc));
  }
  HeavyMeasurements hm;
  RunHooks hooks;
  const auto on_heavy = [&](int k, Trainer&) { instruments[size_t(k)]->measure_heavy(hm); };
  const auto on_stepped = [&](const SideStep& st, Trainer& t) {
    const size_t k = size_t(st.side);
    if (st.heavy && !st.metrics.diverged)
      record_ics(t, hm, {model, fmt(lr), label(kPair[k])}, table, cosines[k], relatives[k]);
  };
  const auto on_lockstep = [&](int64_t s) { progress(double(s) / steps); };
  hooks.heavy = on_heavy;
  hooks.stepped = on_stepped;
  hooks.lockstep = on_lockstep;
  run.train(steps, hooks);
  Json rel = Json::object(), cos = Json::object();
  for (size_t k = 0; k < 2; ++k) {
    rel.set(label(kPair[k]), number(median(relatives[k])));
    cos.set(label(kPair[k]), number(median(cosines[k])));
  }
  relative_out.set(fmt(lr), rel);
  cosine_out.set(fmt(lr), cos);
}

// One of the three networks of Santurkar et al.'s noisy-BN experiment (a side of the run), with
// its instrument and the figures gathered along the run.
struct NoisyRun {
  std::string name;
  Trainer* trainer = nullptr;  // the run's side
  std::unique_ptr<Instrument> instrument;
  std::vector<UnitBand> last_bands;  // of the previous step, for the step-to-step change
  std::vector<double> band_changes;  // relative changes, one per (step, activation layer)
  std::vector<double> ics_l2, ics_cosine, ics_relative;  // one per (measurement, layer)
};

ExperimentResult run_noisy_bn(const ExperimentOptions& options) {
  const int steps = steps_or(options, kNoisySteps);
  const int every = (steps + 15) / 16;  // ICS measurements: 16 over the run (fewer if steps < 16)
  Config base = experiment_config("ref-cnn", NormKind::Batch, options);
  // Twice the reference rate: high enough that the plain network trains visibly worse than BN
  // (as in Santurkar et al.'s VGG runs), low enough that it still trains.
  base.lr = 0.1f;
  auto data = load_data(base, options.data_dir);

  MeasureConfig mc;
  mc.probe_size = 32;  // percentile bands of each ReLU's input on 32 fixed test images
  mc.band_every = 1;   // at every step
  RunSchedule schedule = fixed_steps(steps);
  schedule.heavy_every = every;
  Run run(schedule);  // the three in lockstep
  std::vector<NoisyRun> runs(3);
  runs[0].name = "none";
  runs[1].name = "bn";
  runs[2].name = "noisy-bn";
  for (NoisyRun& r : runs) {
    Config c = base;
    if (r.name == "none") c.norm.kind = NormKind::None;
    c.noisy = r.name == "noisy-bn";
    r.trainer = &run.add(c, data);
    r.instrument = std::make_unique<Instrument>(*r.trainer, mc);
  }

  Table curves({"run", "step", "loss", "accuracy"});
  Table bands({"run", "step", "layer", "q15", "q50", "q85"});
  Table ics({"run", "step", "layer", "l2", "cosine", "relative"});
  std::vector<TailLoss> tails(runs.size(), TailLoss(steps));
  StepMeasurements sm;
  HeavyMeasurements hm;
  RunHooks hooks;
  const auto on_heavy = [&](int k, Trainer&) { runs[size_t(k)].instrument->measure_heavy(hm); };
  const auto on_stepped = [&](const SideStep& st, Trainer&) {
    const size_t k = size_t(st.side);
    NoisyRun& r = runs[k];
    const StepMetrics& m = st.metrics;
    curves.add({r.name, std::to_string(m.step), fmt(m.loss), fmt(m.accuracy)});
    tails[k].add(m.step, m.loss);
    if (m.diverged) return;
    if (st.heavy)
      record_ics(*r.trainer, hm, {r.name}, ics, r.ics_cosine, r.ics_relative, &r.ics_l2);
    r.instrument->measure_step(sm);
    for (size_t b = 0; b < sm.bands.size(); ++b) {
      const UnitBand& now = sm.bands[b];
      bands.add(
          {r.name, std::to_string(m.step), now.layer, fmt(now.q[1]), fmt(now.q[2]), fmt(now.q[3])});
      if (b >= r.last_bands.size()) continue;
      // How far the distribution moved in one step, in units of its own spread: the shift of
      // the median plus the change of the 15-85 spread, over the previous spread.
      const UnitBand& before = r.last_bands[b];
      const double spread = before.q[3] - before.q[1];
      if (spread > 0)
        r.band_changes.push_back(
            (std::fabs(now.q[2] - before.q[2]) + std::fabs((now.q[3] - now.q[1]) - spread)) /
            spread);
    }
    r.last_bands = sm.bands;
  };
  const auto on_lockstep = [&](int64_t s) { options.progress(0.4 * double(s) / steps); };
  hooks.heavy = on_heavy;
  hooks.stepped = on_stepped;
  hooks.lockstep = on_lockstep;
  run.train(steps, hooks);

  // The gradient ICS by network and rate. The reference CNN at 0.1 is the none/bn pair above.
  Table ics_by_rate({"network", "lr", "run", "step", "layer", "l2", "cosine", "relative"});
  Json relative_by_rate = Json::object(), cosine_by_rate = Json::object();
  int pair = 0;
  for (const char* model : kIcsModels) {
    Json rel = Json::object(), cos = Json::object();
    for (float lr : kIcsRates) {
      if (model == std::string("ref-cnn") && lr == base.lr) {
        Json r = Json::object(), c = Json::object();
        for (size_t k = 0; k < 2; ++k) {  // runs[1] is bn, runs[0] none
          const NoisyRun& run = runs[k == 0 ? 1 : 0];
          r.set(run.name, number(median(run.ics_relative)));
          c.set(run.name, number(median(run.ics_cosine)));
        }
        rel.set(fmt(lr), r);
        cos.set(fmt(lr), c);
        continue;
      }
      ics_at_rate(model, lr, options, steps, ics_by_rate, rel, cos,
                  [&](double f) { options.progress(0.4 + 0.2 * (pair + f)); });
      ++pair;
    }
    relative_by_rate.set(model, rel);
    cosine_by_rate.set(model, cos);
  }

  Json test_accuracy = Json::object(), train_loss = Json::object(), instability = Json::object();
  Json l2 = Json::object(), cosine = Json::object(), relative = Json::object();
  for (size_t k = 0; k < runs.size(); ++k) {
    NoisyRun& r = runs[k];
    test_accuracy.set(r.name, r.trainer->diverged()
                                  ? Json()
                                  : Json(double(r.trainer->evaluate(Mode::Eval).accuracy)));
    train_loss.set(r.name, number(tails[k].value()));
    instability.set(r.name, number(mean(r.band_changes)));
    l2.set(r.name, number(median(r.ics_l2)));
    cosine.set(r.name, number(median(r.ics_cosine)));
    relative.set(r.name, number(median(r.ics_relative)));
  }
  ExperimentResult result;
  result.summary.set("lr", double(base.lr));
  result.summary.set("test_accuracy", test_accuracy);
  result.summary.set("final_train_loss", train_loss);
  result.summary.set("instability", instability);
  result.summary.set("ics_l2_median", l2);
  result.summary.set("ics_cosine_median", cosine);
  result.summary.set("ics_relative_median", relative);
  result.summary.set("ics_relative_by_rate", relative_by_rate);
  result.summary.set("ics_cosine_by_rate", cosine_by_rate);
  result.tables.emplace_back("curves", std::move(curves));
  result.tables.emplace_back("bands", std::move(bands));
  result.tables.emplace_back("ics", std::move(ics));
  result.tables.emplace_back("ics_by_rate", std::move(ics_by_rate));
  return result;
}

}  // namespace

ExperimentInfo noisy_bn_experiment() {
  return {
      "noisy-bn", "Noisy BN: stable layer inputs are not why BN works",
      "Santurkar et al. 2018 (NUMERICS.md 4b, 4c). Three copies of the reference CNN (ref-cnn) "
      "train in lockstep on MNIST (same initial weights, same batches; SGD lr 0.1, twice the usual "
      "rate, momentum 0.9, batch 32): without normalization, with BN, and with noisy BN (after "
      "every BN a random shift and scale, new at every step, per sample and channel). Measured: "
      "the training loss and accuracy per step; the 15th/50th/85th percentiles of each ReLU's "
      "input (channel 0) on 32 fixed test images in training mode at every step, and their "
      "instability: the step-to-step move of the median plus the change of the 15-85 spread, over "
      "that spread, averaged over steps and layers; and 16 times over the run the gradient measure "
      "of internal covariate shift (ICS) per layer: ||G - G'||, cos(G, G') and ||G - G'|| / ||G||, "
      "where G' is the layer's gradient after the layers below it took their step (medians over "
      "layers and measurements). The gradient measure is also taken on both kinds of network at "
      "two rates: the reference CNN and Ioffe & Szegedy's sigmoid MLP (preset mlp), each with and "
      "without BN in lockstep at lr 0.05 (the reference rate) and 0.1 (the rate above), for the "
      "same number of steps (ics_relative_by_rate, ics_cosine_by_rate; table ics_by_rate; the CNN "
      "at 0.1 is the pair above). Literature: noisy BN trains about as well as BN and better than "
      "no normalization, although its layer inputs are less stable than the plain network's; and "
      "BN networks do not show less ICS by the gradient measure (often more). BN Lab finds (seed "
      "1, 400 steps) test accuracy none 0.904, BN 0.969, noisy BN 0.934 (final training loss "
      "0.53, 0.106, 0.137), with instability none 0.075, BN 0.014, noisy BN 0.353: noisy BN's "
      "inputs move more per step than the plain network's (claim noisy-unstable). Over 10 seeds "
      "noisy BN's test accuracy is higher than no normalization's on every seed (by 1 to 42 "
      "points), but the gain varies so widely (the plain network fails on one seed) that its "
      "interval reaches below the one-point margin: inconclusive at 10 seeds (claim "
      "noisy-trains). The "
      "gradient measure depends on the network and the rate. On the reference CNN, BN shows "
      "less ICS at both rates (||G - G'|| / ||G|| over 10 seeds, means 0.11 against 0.20 at lr "
      "0.05, 0.14 against 0.41 at 0.1): Santurkar et al.'s claim does not reproduce there "
      "(claims ics-cnn-0.05, ics-cnn-0.1). On the sigmoid MLP at lr 0.05, BN shows more (0.065 "
      "against 0.046): it reproduces (claim ics-mlp-0.05). At lr 0.1 the plain MLP's shift grows "
      "(0.100) past BN's (0.078), which hardly moves; the interval of that difference reaches "
      "just into the margin of no difference, so the claim is inconclusive at 10 seeds there, "
      "leaning the other way (claim ics-mlp-0.1). Santurkar et al. measured deep VGG networks "
      "and deep linear "
      "networks; BN Lab's networks are small.",
      kNoisySteps, run_noisy_bn};
}

}  // namespace bnlab
