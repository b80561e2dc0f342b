// The normalization experiments (SCIENCE.md 2, 4b, 4c, 5 and the table of section 6): what BN
// does to the distributions a layer sees, to the gradient and to the loss landscape, how it
// depends on the batch, where it sits, and why inference needs population statistics.
//
// Every comparison runs its networks in lockstep: trainers made from one seed start from the same
// conv/fc weights and see the same batches (trainer.h), so the runs differ only in what is being
// compared. Descriptions state what BN Lab finds on its own data, including where it does not
// reproduce the literature; the figures quoted there come from `bnlab experiment NAME` at the
// default steps, seed 1 unless stated (tests/test_experiments_normalization.cpp checks the
// qualitative results on two seeds).
#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "experiments/experiments_list.h"
#include "layers/batchnorm.h"
#include "measure/measure.h"
#include "train/loss.h"
#include "train/trainer.h"

namespace bnlab {

namespace {

// ---- shared helpers -------------------------------------------------------------------------

int steps_of(const ExperimentOptions& options, int default_steps) {
  return options.steps > 0 ? options.steps : default_steps;
}

// NaN for an empty list, so that a missing figure shows as NaN rather than as a number.
double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// A JSON number that is null when not finite (a diverged run has no final loss).
Json number(double v) { return std::isfinite(v) ? Json(v) : Json(); }

Config base_config(const ExperimentOptions& options, const std::string& model) {
  Config c;
  c.model = model;
  c.dataset = "mnist";
  c.seed = options.seed;
  return c;
}

// The mean batch loss over the last tenth of a run's steps (at least one step): a training
// curve's end, smoothed over batch noise.
class TailLoss {
 public:
  explicit TailLoss(int steps) : from_(steps - std::max(1, steps / 10)) {}
  void add(int64_t step, float loss) {
    if (step > from_) losses_.push_back(loss);
  }
  double value() const { return mean(losses_); }

 private:
  int64_t from_;
  std::vector<double> losses_;
};

// The accuracy on the first `count` test examples with the normalizers in Train mode on chunks of
// `chunk` examples: each prediction uses the statistics of its chunk (as a training step does),
// not the running ones. The run's state is left as it was.
double train_mode_accuracy(Trainer& trainer, int chunk, int count) {
  const Dataset& test = trainer.data().test;
  count = std::min(count, test.size());
  Model& model = trainer.model();
  const ForwardState saved = model.save_forward_state();
  const Shape img = test.image_shape();
  const int64_t per = img.per_sample();
  SoftmaxCrossEntropy loss;
  Tensor x;  // (chunk, C, H, W)
  int correct = 0, done = 0;
  for (int begin = 0; begin + chunk <= count; begin += chunk) {
    x.resize(Shape{chunk, img.c, img.h, img.w});
    std::copy(test.images.begin() + begin * per, test.images.begin() + (begin + chunk) * per, x.data());
    loss.forward(model.forward(x, Mode::Train), test.labels.data() + begin);
    correct += loss.correct();
    done += chunk;
  }
  model.restore_forward_state(saved);
  return done ? double(correct) / done : std::nan("");
}

// ---- noisy-bn (SCIENCE.md 4b, 4c) -----------------------------------------------------------

constexpr int kNoisySteps = 400;

// One of the three networks of Santurkar et al.'s noisy-BN experiment, with its instrument and
// the figures gathered along the run.
struct NoisyRun {
  std::string name;
  std::unique_ptr<Trainer> trainer;
  std::unique_ptr<Instrument> instrument;
  std::vector<UnitBand> last_bands;  // of the previous step, for the step-to-step change
  std::vector<double> band_changes;  // relative changes, one per (step, activation layer)
  std::vector<double> ics_l2, ics_cosine, ics_relative;  // one per (measurement, layer)
};

ExperimentResult run_noisy_bn(const ExperimentOptions& options) {
  const int steps = steps_of(options, kNoisySteps);
  const int every = (steps + 15) / 16;  // ICS measurements: 16 over the run (fewer if steps < 16)
  Config base = base_config(options, "ref-cnn");
  // Twice the reference rate: high enough that the plain network trains visibly worse than BN
  // (as in Santurkar et al.'s VGG runs), low enough that it still trains.
  base.lr = 0.1f;
  auto data = load_data(base, options.data_dir);

  MeasureConfig mc;
  mc.probe_size = 32;  // percentile bands of each ReLU's input on 32 fixed test images
  mc.band_every = 1;   // at every step
  std::vector<NoisyRun> runs(3);
  runs[0].name = "none";
  runs[1].name = "bn";
  runs[2].name = "noisy-bn";
  for (NoisyRun& r : runs) {
    Config c = base;
    if (r.name == "none") c.norm.kind = NormKind::None;
    c.noisy = r.name == "noisy-bn";
    r.trainer = std::make_unique<Trainer>(c, data);
    r.instrument = std::make_unique<Instrument>(*r.trainer, mc);
  }

  Table curves({"run", "step", "loss", "accuracy"});
  Table bands({"run", "step", "layer", "q15", "q50", "q85"});
  Table ics({"run", "step", "layer", "l2", "cosine", "relative"});
  std::vector<TailLoss> tails(runs.size(), TailLoss(steps));
  StepMeasurements sm;
  HeavyMeasurements hm;
  for (int s = 0; s < steps; ++s) {
    const bool heavy = s % every == 0;
    for (size_t k = 0; k < runs.size(); ++k) {
      NoisyRun& r = runs[k];
      if (heavy) r.instrument->measure_heavy(hm);
      const StepMetrics m = r.trainer->step();
      curves.add({r.name, std::to_string(m.step), fmt(m.loss), fmt(m.accuracy)});
      tails[k].add(m.step, m.loss);
      if (m.diverged) continue;
      if (heavy) {
        // The step just taken computed G (the gradient at W^t on this batch, with the same noise
        // draws measure_heavy used), so ||G|| makes ||G - G'|| relative.
        for (const IcsLayer& layer : hm.ics) {
          double g = 0;
          for (const NamedParam& p : r.trainer->model().params())
            if (p.name == layer.name + ".weight") g = p.param.grad->vec().norm();
          const double relative = g > 0 ? layer.l2 / g : std::nan("");
          ics.add({r.name, std::to_string(hm.step), layer.name, fmt(layer.l2), fmt(layer.cosine), fmt(relative)});
          r.ics_l2.push_back(layer.l2);
          r.ics_cosine.push_back(layer.cosine);
          r.ics_relative.push_back(relative);
        }
      }
      r.instrument->measure_step(sm);
      for (size_t b = 0; b < sm.bands.size(); ++b) {
        const UnitBand& now = sm.bands[b];
        bands.add({r.name, std::to_string(m.step), now.layer, fmt(now.q[1]), fmt(now.q[2]), fmt(now.q[3])});
        if (b >= r.last_bands.size()) continue;
        // How far the distribution moved in one step, in units of its own spread: the shift of
        // the median plus the change of the 15-85 spread, over the previous spread.
        const UnitBand& before = r.last_bands[b];
        const double spread = before.q[3] - before.q[1];
        if (spread > 0)
          r.band_changes.push_back((std::fabs(now.q[2] - before.q[2]) +
                                    std::fabs((now.q[3] - now.q[1]) - spread)) / spread);
      }
      r.last_bands = sm.bands;
    }
    options.progress(double(s + 1) / steps);
  }

  Json test_accuracy = Json::object(), train_loss = Json::object(), instability = Json::object();
  Json l2 = Json::object(), cosine = Json::object(), relative = Json::object();
  for (size_t k = 0; k < runs.size(); ++k) {
    NoisyRun& r = runs[k];
    test_accuracy.set(r.name, r.trainer->diverged() ? Json() : Json(double(r.trainer->evaluate(Mode::Eval).accuracy)));
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
  result.tables.emplace_back("curves", std::move(curves));
  result.tables.emplace_back("bands", std::move(bands));
  result.tables.emplace_back("ics", std::move(ics));
  return result;
}

// ---- landscape (SCIENCE.md 5) ---------------------------------------------------------------

constexpr int kLandscapeSteps = 400;

ExperimentResult run_landscape(const ExperimentOptions& options) {
  const int steps = steps_of(options, kLandscapeSteps);
  const int every = (steps + 19) / 20;  // 20 probes over the run (fewer if steps < 20)
  const Config base = base_config(options, "ref-cnn");  // lr 0.05 for both networks
  auto data = load_data(base, options.data_dir);
  const std::vector<std::string> names = {"none", "bn"};
  std::vector<std::unique_ptr<Trainer>> trainers;
  std::vector<std::unique_ptr<Instrument>> instruments;
  MeasureConfig mc;
  mc.probe_size = 0;  // no percentile bands: only the probes of measure_heavy
  for (const std::string& name : names) {
    Config c = base;
    if (name == "none") c.norm.kind = NormKind::None;
    trainers.push_back(std::make_unique<Trainer>(c, data));
    instruments.push_back(std::make_unique<Instrument>(*trainers.back(), mc));
  }

  Table curves({"run", "step", "loss", "accuracy"});
  Table probes({"run", "step", "loss", "grad_norm", "loss_min", "loss_max", "loss_range", "predictiveness",
                "beta_smoothness"});
  Table etas({"run", "step", "eta", "loss", "grad_change"});
  const size_t n = names.size();
  std::vector<std::vector<double>> range(n), pred(n), relative_pred(n), beta(n), gnorm(n);
  HeavyMeasurements hm;
  for (int s = 0; s < steps; ++s) {
    const bool probe = s % every == 0;
    for (size_t k = 0; k < names.size(); ++k) {
      if (probe) instruments[k]->measure_heavy(hm);
      const StepMetrics m = trainers[k]->step();
      curves.add({names[k], std::to_string(m.step), fmt(m.loss), fmt(m.accuracy)});
      if (!probe || m.diverged) continue;
      // The step's gradient is g of the probe (same weights, same batch): its norm gives the
      // scale of the step sizes eta * ||g|| along which the probe moved.
      double g2 = 0;
      for (const NamedParam& p : trainers[k]->model().params()) g2 += double(p.param.grad->vec().squaredNorm());
      const Landscape& ls = hm.landscape;
      const double loss_range = ls.loss_max - ls.loss_min;
      probes.add({names[k], std::to_string(hm.step), fmt(m.loss), fmt(std::sqrt(g2)), fmt(ls.loss_min),
                  fmt(ls.loss_max), fmt(loss_range), fmt(ls.predictiveness), fmt(ls.beta_smoothness)});
      for (size_t e = 0; e < ls.etas.size(); ++e)
        etas.add({names[k], std::to_string(hm.step), fmt(ls.etas[e]), fmt(ls.losses[e]), fmt(ls.grad_changes[e])});
      range[k].push_back(loss_range);
      pred[k].push_back(ls.predictiveness);
      relative_pred[k].push_back(ls.predictiveness / std::sqrt(g2));
      beta[k].push_back(ls.beta_smoothness);
      gnorm[k].push_back(std::sqrt(g2));
    }
    options.progress(double(s + 1) / steps);
  }

  ExperimentResult result;
  Json med_range = Json::object(), med_pred = Json::object(), med_rel = Json::object(), med_beta = Json::object();
  Json med_gnorm = Json::object(), test_accuracy = Json::object();
  for (size_t k = 0; k < n; ++k) {
    med_range.set(names[k], number(median(range[k])));
    med_pred.set(names[k], number(median(pred[k])));
    med_rel.set(names[k], number(median(relative_pred[k])));
    med_beta.set(names[k], number(median(beta[k])));
    med_gnorm.set(names[k], number(median(gnorm[k])));
    test_accuracy.set(names[k],
                      trainers[k]->diverged() ? Json() : Json(double(trainers[k]->evaluate(Mode::Eval).accuracy)));
  }
  Json ratio = Json::object();
  ratio.set("loss_range", number(median(range[1]) / median(range[0])));
  ratio.set("predictiveness", number(median(pred[1]) / median(pred[0])));
  ratio.set("relative_predictiveness", number(median(relative_pred[1]) / median(relative_pred[0])));
  ratio.set("beta_smoothness", number(median(beta[1]) / median(beta[0])));
  result.summary.set("lr", double(base.lr));
  Json eta_list = Json::array();
  for (float e : mc.etas) eta_list.push(double(e));
  result.summary.set("etas_in_lr", eta_list);
  result.summary.set("median_loss_range", med_range);
  result.summary.set("median_predictiveness", med_pred);
  result.summary.set("median_relative_predictiveness", med_rel);
  result.summary.set("median_beta_smoothness", med_beta);
  result.summary.set("median_grad_norm", med_gnorm);
  result.summary.set("ratio_bn_to_none", ratio);
  result.summary.set("test_accuracy", test_accuracy);
  result.tables.emplace_back("curves", std::move(curves));
  result.tables.emplace_back("landscape", std::move(probes));
  result.tables.emplace_back("landscape_etas", std::move(etas));
  return result;
}

// ---- batch-size (Wu & He 2018; SCIENCE.md 3, 6) ----------------------------------------------

constexpr int kBatchSteps = 400;  // steps at batch 32; every run sees 32 * steps examples
constexpr int kBatchSizes[] = {2, 4, 8, 16, 32, 64};
// The two models of the sweep, small so that 36 runs take seconds. "dense-bn" has a BN after its
// 32-unit dense layer, where a batch of N gives BN only m = N values per channel; InstanceNorm
// cannot stand there (one value per sample and channel), so "small-cnn" (the preset) has its
// normalizers after the two conv layers only, where m = N*H*W is at least 2*14*14 = 392.
constexpr const char* kDenseBnSpec = "conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc32-bn-relu fc";

ExperimentResult run_batch_size(const ExperimentOptions& options) {
  const int steps = steps_of(options, kBatchSteps);
  const int64_t examples = int64_t(steps) * 32;
  struct Series {
    std::string model, spec;
    NormKind kind;
  };
  const std::vector<Series> series = {
      {"dense-bn", kDenseBnSpec, NormKind::Batch},   {"dense-bn", kDenseBnSpec, NormKind::Renorm},
      {"dense-bn", kDenseBnSpec, NormKind::Group},   {"dense-bn", kDenseBnSpec, NormKind::Layer},
      {"small-cnn", "small-cnn", NormKind::Batch}, {"small-cnn", "small-cnn", NormKind::Instance},
  };
  auto data = load_data(base_config(options, "small-cnn"), options.data_dir);

  Table table({"model", "normalizer", "batch_size", "lr", "steps", "examples", "test_accuracy",
               "test_accuracy_train_mode", "final_train_loss", "diverged"});
  Json accuracy = Json::object();              // accuracy[model][normalizer][batch] for the summary
  std::vector<std::vector<double>> acc(series.size());  // the same per series, for its differences
  const double total = double(series.size()) * double(std::size(kBatchSizes));
  int done = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    Json by_batch = Json::object();
    for (int b : kBatchSizes) {
      Config c = base_config(options, se.spec);
      c.norm.kind = se.kind;
      c.norm.groups = 2;  // GroupNorm: 2, 4 and 16 channels per group in the 4-, 8- and 32-channel layers
      c.batch_size = b;
      c.lr = 0.05f * float(b) / 32.f;  // the linear scaling rule (Goyal et al.), as Wu & He
      const int run_steps = int(examples / b);
      Trainer t(c, data);
      TailLoss tail(run_steps);
      for (int s = 0; s < run_steps && !t.diverged(); ++s) {
        const StepMetrics m = t.step();
        tail.add(m.step, m.loss);
      }
      double eval = std::nan(""), train_mode = std::nan("");
      if (!t.diverged()) {
        eval = t.evaluate(Mode::Eval).accuracy;
        // Only BN and Batch Renorm keep running statistics; the others compute the same thing in
        // both modes.
        const bool running = se.kind == NormKind::Batch || se.kind == NormKind::Renorm;
        train_mode = running ? t.evaluate(Mode::Train).accuracy : eval;
      }
      acc[i].push_back(eval);
      by_batch.set(std::to_string(b), number(eval));
      table.add({se.model, norm_kind_name(se.kind), std::to_string(b), fmt(c.lr), std::to_string(run_steps),
                 std::to_string(examples), fmt(eval), fmt(train_mode), fmt(tail.value()),
                 t.diverged() ? "true" : "false"});
      options.progress(++done / total);
    }
    Json by_norm = accuracy.find(se.model) ? accuracy.get(se.model) : Json::object();
    by_norm.set(norm_kind_name(se.kind), by_batch);
    accuracy.set(se.model, by_norm);
  }

  // Headline differences: BN's accuracy at batch 32 minus at batch 2, and each normalizer's
  // spread (max - min) over Wu & He's range 2..32.
  auto spread = [&](size_t i) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < 5; ++j) {  // batch 2..32; a diverged run (NaN) makes the spread NaN
      if (std::isnan(acc[i][j])) return acc[i][j];
      lo = std::min(lo, acc[i][j]);
      hi = std::max(hi, acc[i][j]);
    }
    return hi - lo;
  };
  Json bn_drop = Json::object(), spreads = Json::object();
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].kind == NormKind::Batch) bn_drop.set(series[i].model, number(acc[i][4] - acc[i][0]));
    spreads.set(series[i].model + "/" + norm_kind_name(series[i].kind), number(spread(i)));
  }
  Json published = Json::object();
  Json sizes = Json::array(), bn_error = Json::array();
  for (int b : {32, 16, 8, 4, 2}) sizes.push(b);
  for (double e : {23.6, 23.7, 24.8, 27.3, 34.7}) bn_error.push(e);
  published.set("batch_sizes", sizes);
  published.set("bn_top1_error", bn_error);
  published.set("gn_top1_error", 24.1);
  published.set("setting", "ResNet-50 on ImageNet, Wu & He 2018 (GN about 24.1 at every batch size)");

  ExperimentResult result;
  result.summary.set("examples_per_run", int64_t(examples));
  result.summary.set("lr_rule", "0.05 * batch_size / 32");
  result.summary.set("test_accuracy", accuracy);
  result.summary.set("bn_accuracy_drop_32_to_2", bn_drop);
  result.summary.set("accuracy_spread_2_to_32", spreads);
  result.summary.set("published_wu_he", published);
  result.tables.emplace_back("batch_size", std::move(table));
  return result;
}

// ---- placement ------------------------------------------------------------------------------

constexpr int kPlacementSteps = 600;

ExperimentResult run_placement(const ExperimentOptions& options) {
  const int steps = steps_of(options, kPlacementSteps);
  const Config base = base_config(options, "ref-cnn");
  auto data = load_data(base, options.data_dir);
  const std::vector<std::string> names = {"none", "before", "after"};
  std::vector<std::unique_ptr<Trainer>> trainers;
  for (const std::string& name : names) {
    Config c = base;
    if (name == "none") c.norm.kind = NormKind::None;
    c.placement = name == "after" ? Placement::After : Placement::Before;
    trainers.push_back(std::make_unique<Trainer>(c, data));
  }

  Table curves({"run", "step", "loss", "accuracy"});
  Table tests({"run", "step", "test_accuracy"});
  std::vector<TailLoss> tails(names.size(), TailLoss(steps));
  // Six test-set evaluations, at the steps where s * 6 / steps reaches 1, 2, ... 6. The last two
  // (at 5/6 of the run and at its end) are averaged: one evaluation moves by about a point from
  // one to the next.
  std::vector<std::vector<double>> late(names.size());
  for (int s = 1; s <= steps; ++s) {
    const int sixth = int(int64_t(s) * 6 / steps);
    const bool evaluate = sixth != int(int64_t(s - 1) * 6 / steps);
    for (size_t k = 0; k < names.size(); ++k) {
      const StepMetrics m = trainers[k]->step();
      curves.add({names[k], std::to_string(m.step), fmt(m.loss), fmt(m.accuracy)});
      tails[k].add(m.step, m.loss);
      if (!evaluate) continue;
      const double a = trainers[k]->diverged() ? std::nan("") : trainers[k]->evaluate(Mode::Eval).accuracy;
      tests.add({names[k], std::to_string(s), fmt(a)});
      if (sixth >= 5) late[k].push_back(a);
    }
    options.progress(double(s) / steps);
  }

  Json accuracy = Json::object(), loss = Json::object();
  for (size_t k = 0; k < names.size(); ++k) {
    accuracy.set(names[k], number(mean(late[k])));
    loss.set(names[k], number(tails[k].value()));
  }
  ExperimentResult result;
  result.summary.set("lr", double(base.lr));
  result.summary.set("late_test_accuracy", accuracy);
  result.summary.set("final_train_loss", loss);
  result.tables.emplace_back("curves", std::move(curves));
  result.tables.emplace_back("test_accuracy", std::move(tests));
  return result;
}

// ---- train-eval (SCIENCE.md 2, 6) -----------------------------------------------------------

constexpr int kTrainEvalSteps = 300;
constexpr int kChainLayers = 20;
constexpr int kChainBatch = 64;
constexpr int kChainFeatures = 16;
constexpr int kChainForwards = 3000;  // with momentum 0.01 the running values are then exact:
                                      // the start's weight is 0.99^3000 ~ 1e-13

// (a) SCIENCE.md 2: 20 BatchNorm1d layers (affine off, eps 1e-12) in a chain, trained on one fixed
// batch of 64. Each layer's training output has biased variance 1, its running variance converges
// to the unbiased 64/63, so in eval mode layer k scales its input by sqrt(63/64) more than in
// training: eval output = (63/64)^(k/2) * training output, exactly.
void chain_ratios(uint32_t seed, Table& table, Json& summary) {
  NormConfig nc;
  nc.affine = false;
  nc.eps = 1e-12f;
  nc.momentum = 0.01f;
  std::vector<std::unique_ptr<BatchNorm>> chain;
  for (int k = 0; k < kChainLayers; ++k) chain.push_back(std::make_unique<BatchNorm>(kChainFeatures, nc));
  // The fixed batch (64, 16): feature c has mean c - 8 and standard deviation 1 + c / 4.
  Tensor x(Shape{kChainBatch, kChainFeatures, 1, 1});
  Rng rng(stream_seed(seed, Stream::Probe));
  for (int n = 0; n < kChainBatch; ++n)
    for (int c = 0; c < kChainFeatures; ++c) x.at(n, c) = float(c - 8 + (1 + c / 4.0) * rng.normal());

  std::vector<Tensor> train(kChainLayers);  // (64, 16) each: the last training-mode outputs
  for (int t = 0; t < kChainForwards; ++t) {
    const Tensor* h = &x;
    for (int k = 0; k < kChainLayers; ++k) {
      h = &chain[size_t(k)]->forward(*h, Mode::Train);
      if (t + 1 == kChainForwards) train[size_t(k)] = *h;
    }
  }
  const Tensor* h = &x;
  double worst = 0;
  for (int k = 0; k < kChainLayers; ++k) {
    h = &chain[size_t(k)]->forward(*h, Mode::Eval);
    // Least-squares ratio of the eval output to the training output, and the largest deviation
    // of any element from the exact relation (relative to the layer's largest value).
    const auto e = h->vec().cast<double>();
    const auto tr = train[size_t(k)].vec().cast<double>();
    const double ratio = e.dot(tr) / tr.squaredNorm();
    const double expected = std::pow(63.0 / 64.0, (k + 1) / 2.0);
    const double deviation = (e - expected * tr).cwiseAbs().maxCoeff() / tr.cwiseAbs().maxCoeff();
    worst = std::max(worst, std::fabs(ratio - expected) / expected);
    table.add({std::to_string(k + 1), fmt(ratio), fmt(expected), fmt(deviation)});
    if (k + 1 == kChainLayers) {
      summary.set("chain_ratio_layer20", ratio);
      summary.set("chain_expected_layer20", expected);
    }
  }
  summary.set("chain_worst_relative_error", worst);
}

ExperimentResult run_train_eval(const ExperimentOptions& options) {
  const int steps = steps_of(options, kTrainEvalSteps);
  const int every = std::max(1, steps / 5);  // besides steps 1, 2, 3, 5, 10 and 20
  ExperimentResult result;
  Table chain({"layer", "eval_over_train", "expected", "max_deviation"});
  chain_ratios(options.seed, chain, result.summary);

  // (b) The reference CNN trained four times in lockstep, differing only in BN's momentum. A
  // training step normalizes with batch statistics, so the four runs are the same run (checked
  // below) and differ only in their running estimates.
  const Config base = base_config(options, "ref-cnn");
  auto data = load_data(base, options.data_dir);
  struct Momentum {
    std::string name;
    float value;      // PyTorch's momentum (unused when cumulative)
    bool cumulative;  // PyTorch's momentum=None
  };
  const std::vector<Momentum> momenta = {{"0.01", 0.01f, false}, {"0.1", 0.1f, false}, {"0.5", 0.5f, false},
                                         {"cumulative", 0.f, true}};
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Trainer>> trainers;
  for (const Momentum& mo : momenta) {
    Config c = base;
    c.norm.momentum = mo.value;
    c.norm.cumulative = mo.cumulative;
    names.push_back(mo.name);
    trainers.push_back(std::make_unique<Trainer>(c, data));
  }
  // The population statistics of the current weights: those of 512 fixed training images.
  constexpr int kPopulation = 512;
  const Shape img = data->train.image_shape();
  Tensor population(Shape{kPopulation, img.c, img.h, img.w});
  std::copy(data->train.images.begin(), data->train.images.begin() + kPopulation * img.per_sample(),
            population.data());
  std::vector<int> bn_layers;
  for (int i = 0; i < trainers[0]->model().num_layers(); ++i)
    if (dynamic_cast<BatchNorm*>(&trainers[0]->model().layer(i))) bn_layers.push_back(i);
  auto bn = [&](size_t k, int i) -> BatchNorm& { return dynamic_cast<BatchNorm&>(trainers[k]->model().layer(i)); };

  Table channels({"momentum", "step", "layer", "channel", "batch_mean", "running_mean", "batch_var", "running_var"});
  Table batch_gaps({"momentum", "step", "layer", "mean_gap"});
  Table population_gaps({"momentum", "step", "layer", "mean_gap", "var_gap"});
  Table accuracy({"step", "statistics", "test_accuracy"});
  const int early = std::min(5, steps);  // running estimates still lag: 0.9^5 = 0.59 of the start remains
  const std::vector<int> chunks = {2, 8, 32};
  constexpr int kTestCount = 1024;  // a multiple of every chunk size
  constexpr int kChannelsShown = 4;  // channels per layer in the running_vs_batch table
  const size_t n = names.size();
  std::vector<std::vector<double>> batch_gap(n);  // per step, mean over layers and channels
  std::vector<double> pop_gap_early(n), pop_gap_final(n), eval_early(n), eval_final(n);
  std::vector<double> train_mode_early(chunks.size()), train_mode_final(chunks.size());
  bool identical = true;
  // Gaps are in units of the channel's standard deviation, averaged over its channels (and, for
  // the headline figures, over the layers).
  for (int s = 1; s <= steps; ++s) {
    float loss0 = 0;
    for (size_t k = 0; k < n; ++k) {
      const float loss = trainers[k]->step().loss;
      if (k == 0) loss0 = loss;
      identical = identical && loss == loss0;
    }
    // Running against batch statistics, from the step just taken.
    for (size_t k = 0; k < n; ++k) {
      double over_layers = 0;
      for (int i : bn_layers) {
        BatchNorm& layer = bn(k, i);
        const int nc = int(layer.batch_mean().size());
        double gap = 0;
        for (int c = 0; c < nc; ++c) {
          const double rm = layer.running_mean()[c], bm = layer.batch_mean()[c], bv = layer.batch_var()[c];
          gap += std::fabs(rm - bm) / std::sqrt(bv + 1e-5);
          if (c < kChannelsShown)
            channels.add({names[k], std::to_string(s), trainers[k]->model().layer_name(i), std::to_string(c), fmt(bm),
                          fmt(rm), fmt(bv), fmt(layer.running_var()[c])});
        }
        batch_gaps.add({names[k], std::to_string(s), trainers[k]->model().layer_name(i), fmt(gap / nc)});
        over_layers += gap / nc / double(bn_layers.size());
      }
      batch_gap[k].push_back(over_layers);
    }
    if (!(s <= 3 || s == 5 || s == 10 || s == 20 || s % every == 0 || s == steps)) {
      options.progress(double(s) / steps);
      continue;
    }
    // Running against population statistics. The runs share their weights, so one forward of
    // the population batch (in train mode: its own statistics) serves all four.
    Model& model = trainers[0]->model();
    const ForwardState saved = model.save_forward_state();
    model.forward(population, Mode::Train);
    std::vector<Tensor> pop_mean, pop_var;  // per BN layer: {C, 1, 1, 1}
    for (int i : bn_layers) {
      pop_mean.push_back(bn(0, i).batch_mean());
      pop_var.push_back(bn(0, i).batch_var());
    }
    model.restore_forward_state(saved);
    for (size_t k = 0; k < n; ++k) {
      double over_layers = 0;
      for (size_t l = 0; l < bn_layers.size(); ++l) {
        BatchNorm& layer = bn(k, bn_layers[l]);
        const int nc = int(layer.running_mean().size());
        double gap = 0, var_gap = 0;
        for (int c = 0; c < nc; ++c) {
          const double pm = pop_mean[l][c], pv = pop_var[l][c];
          gap += std::fabs(layer.running_mean()[c] - pm) / std::sqrt(pv + 1e-5);
          var_gap += std::fabs(std::log((layer.running_var()[c] + 1e-5) / (pv + 1e-5)));
        }
        population_gaps.add({names[k], std::to_string(s), trainers[k]->model().layer_name(bn_layers[l]),
                             fmt(gap / nc), fmt(var_gap / nc)});
        over_layers += gap / nc / double(bn_layers.size());
      }
      if (s == early) pop_gap_early[k] = over_layers;
      if (s == steps) pop_gap_final[k] = over_layers;
    }
    // (c) Test accuracy with the running statistics of each momentum, and with the statistics of
    // each test chunk (train mode: the same for all four runs).
    for (size_t k = 0; k < n; ++k) {
      const double a = trainers[k]->evaluate(Mode::Eval, kTestCount).accuracy;
      accuracy.add({std::to_string(s), "running, momentum " + names[k], fmt(a)});
      if (s == early) eval_early[k] = a;
      if (s == steps) eval_final[k] = a;
    }
    for (size_t j = 0; j < chunks.size(); ++j) {
      const double a = train_mode_accuracy(*trainers[0], chunks[j], kTestCount);
      accuracy.add({std::to_string(s), "batch of " + std::to_string(chunks[j]), fmt(a)});
      if (s == early) train_mode_early[j] = a;
      if (s == steps) train_mode_final[j] = a;
    }
    options.progress(double(s) / steps);
  }

  auto by_name = [&](const std::vector<double>& v) {
    Json o = Json::object();
    for (size_t k = 0; k < names.size(); ++k) o.set(names[k], number(v[k]));
    return o;
  };
  auto by_chunk = [&](const std::vector<double>& v) {
    Json o = Json::object();
    for (size_t j = 0; j < chunks.size(); ++j) o.set(std::to_string(chunks[j]), number(v[j]));
    return o;
  };
  std::vector<double> mean_batch_gap(n);
  for (size_t k = 0; k < n; ++k) mean_batch_gap[k] = mean(batch_gap[k]);
  result.summary.set("identical_training", identical);
  result.summary.set("early_step", early);
  result.summary.set("mean_batch_gap", by_name(mean_batch_gap));
  result.summary.set("population_gap_early", by_name(pop_gap_early));
  result.summary.set("population_gap_final", by_name(pop_gap_final));
  result.summary.set("eval_accuracy_early", by_name(eval_early));
  result.summary.set("train_mode_accuracy_early", by_chunk(train_mode_early));
  result.summary.set("eval_accuracy_final", by_name(eval_final));
  result.summary.set("train_mode_accuracy_final", by_chunk(train_mode_final));
  result.tables.emplace_back("chain", std::move(chain));
  result.tables.emplace_back("running_vs_batch", std::move(channels));
  result.tables.emplace_back("batch_gaps", std::move(batch_gaps));
  result.tables.emplace_back("population_gaps", std::move(population_gaps));
  result.tables.emplace_back("accuracy", std::move(accuracy));
  return result;
}

}  // namespace

std::vector<ExperimentInfo> normalization_experiments() {
  return {
      {"noisy-bn", "Noisy BN: stable layer inputs are not why BN works",
       "Santurkar et al. 2018 (SCIENCE.md 4b, 4c). Three copies of the reference CNN (ref-cnn) train in "
       "lockstep on MNIST (same initial weights, same batches; SGD lr 0.1, twice the usual rate, momentum "
       "0.9, batch 32): without normalization, with BN, and with noisy BN (after every BN a random shift and "
       "scale, new at every step, per sample and channel). Measured: the training loss and accuracy per step; "
       "the 15th/50th/85th percentiles of each ReLU's input (channel 0) on 32 fixed test images in training "
       "mode at every step, and their instability: the step-to-step move of the median plus the change of "
       "the 15-85 spread, over that spread, averaged over steps and layers; and 16 times over the run the "
       "gradient measure of internal covariate shift (ICS) per layer: ||G - G'||, cos(G, G') and "
       "||G - G'|| / ||G||, where G' is the layer's gradient after the layers below it took their step "
       "(medians over layers and measurements). Literature: noisy BN trains about as well as BN and better "
       "than no normalization, although its layer inputs are less stable than the plain network's; and BN "
       "networks do not show less ICS by the gradient measure (often more). "
       "BN Lab finds (seed 1, 400 steps) the first result: test accuracy none 0.872, BN 0.961, noisy BN "
       "0.946 (final training loss 0.56, 0.108, 0.137), with instability none 0.095, BN 0.014, noisy BN "
       "0.349 (noisy BN's inputs move 2 to 4 times more per step than the plain network's on every seed "
       "tried). It does NOT reproduce the second: here the BN networks show much less ICS by the gradient "
       "measure, cos(G, G') 0.994 with BN and noisy BN against 0.940 without, ||G - G'|| / ||G|| 0.15 "
       "against 0.37, on every seed tried (a trial at lr 0.05 showed the same). Santurkar et al. measured "
       "deep VGG networks and deep linear networks; BN Lab's networks are small.",
       kNoisySteps, run_noisy_bn},
      {"landscape", "BN smooths the loss landscape",
       "Santurkar et al. 2018 (SCIENCE.md 5). The reference CNN with and without BN trains in lockstep on "
       "MNIST at the same learning rate (0.05, momentum 0.9, batch 32). Twenty times over the run, before a "
       "step, the landscape is probed along the gradient g of the batch that step will use, at step sizes "
       "eta = 0.5, 1, 2 and 4 times the learning rate: the loss range max - min of L(w - eta g) (with L(w)), "
       "the gradient predictiveness max ||g - grad L(w - eta g)||, and the effective beta-smoothness "
       "max ||g - grad L(w - eta g)|| / ||eta g||. How the networks are compared: at the same learning rate "
       "and the same step sizes (Santurkar et al.'s protocol), each by the median of each figure over its "
       "probes, BN by the ratio of its median to the plain network's. The scales differ between the "
       "networks: BN makes the weights before it scale-invariant, so one learning rate is a different "
       "effective step, and the gradients have different norms (median_grad_norm); the beta-smoothness is "
       "already divided by the step length, and the summary adds the predictiveness divided by ||g||. "
       "Literature: with BN all three are smaller. BN Lab finds the same (seed 1, 400 steps): BN / none "
       "ratios of the medians loss range 0.72, predictiveness 0.44 (0.67 relative to ||g||), "
       "beta-smoothness 0.48; on seeds 2 and 3 0.52 and 0.53, 0.41 and 0.41, 0.51 and 0.42.",
       kLandscapeSteps, run_landscape},
      {"batch-size", "Small batches hurt BN, not GroupNorm",
       "Wu & He 2018 (SCIENCE.md 3, 6). Batch sizes 2, 4, 8, 16, 32 and 64, each trained on the same number "
       "of examples (32 x steps: 12,800 by default, so batch 2 takes 16 times as many steps as batch 32) "
       "with the learning rate scaled linearly, 0.05 x batch / 32 (momentum 0.9), as Wu & He did. Two small "
       "models on MNIST: dense-bn (conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc32-bn-relu fc) with BN, Batch "
       "Renorm (r_max 3, d_max 5), GroupNorm (2 groups) and LayerNorm, whose BN after the 32-unit dense "
       "layer sees only m = batch values per channel; and small-cnn (conv4-bn-relu-pool2 "
       "conv8-bn-relu-pool2 fc: normalizers after the convolutions only, m = batch x H x W, at least 392) "
       "with BN and InstanceNorm, which cannot normalize a dense layer (one value per sample and channel). "
       "Measured per (model, normalizer, batch): test accuracy in eval mode, test accuracy with the "
       "statistics of chunks of the training batch size (train mode), and the final training loss. "
       "Published (ResNet-50, ImageNet, top-1 error at batch 32/16/8/4/2): BN 23.6, 23.7, 24.8, 27.3, "
       "34.7; GN about 24.1 at every size. "
       "BN Lab finds (seed 1) a cliff rather than a slope. In dense-bn, BN reaches 0.94-0.96 from batch 4 "
       "to 64 but 0.55 at batch 2 (0.49 and 0.10 on seeds 2 and 3): BN of two values outputs +-1, only the "
       "sign of their difference, so the network learns badly even in train mode (train-mode accuracy "
       "0.35, final loss 1.86), not only at inference. GroupNorm stays at 0.945-0.956 and LayerNorm at "
       "0.93-0.958 over all sizes; Batch Renorm recovers part of BN's loss at batch 2 (0.70; 0.66 and 0.75 "
       "on seeds 2 and 3, but not reliably with fewer steps). Where BN sees many values per channel "
       "(small-cnn), batch 2 does not hurt it: 0.946-0.949 from batch 2 to 32, InstanceNorm 0.944-0.953. "
       "So Wu & He's gradual degradation from batch 16 down is not seen in BN Lab's small networks, only "
       "the collapse when a BN layer gets two values per channel. At batch 64 the scaled rate 0.1 is too "
       "high for small-cnn with BN on some seeds (training fails, 0.10, on seed 1; 0.85 and 0.89 on seeds "
       "2 and 3): a learning-rate effect, not a batch-statistics one.",
       kBatchSteps, run_batch_size},
      {"placement", "BN before or after the activation",
       "The original paper puts BN before the nonlinearity (x -> conv -> BN -> ReLU); many practitioners "
       "report that after it (conv -> ReLU -> BN) works as well or better; the literature is mixed. The "
       "reference CNN trains in lockstep on MNIST with BN before every ReLU, after every ReLU, and without "
       "BN as a reference (same initial weights and batches, lr 0.05, momentum 0.9, batch 32). Measured: "
       "training curves, test accuracy in eval mode six times over the run, the mean of the last two "
       "evaluations, and the final training loss. BN Lab finds both placements train well and close "
       "together: late test accuracy before 0.971, after 0.965, none 0.958 (seed 1, 600 steps); seeds 2 "
       "and 3: before 0.972 and 0.972, after 0.963 and 0.962, none 0.958 and 0.956. Before is ahead of after "
       "by under a point on these seeds, about the size of the evaluation noise, and the final training "
       "losses order them differently from seed to seed, so no winner is claimed.",
       kPlacementSteps, run_placement},
      {"train-eval", "Inference needs population statistics",
       "SCIENCE.md 2 and 6, in three parts. (a) 20 BatchNorm layers in a chain (affine off, eps 1e-12, "
       "momentum 0.01), 3,000 training-mode forwards of one fixed batch of 64 x 16, then one eval-mode "
       "forward: each layer's training output has biased variance 1 while its running variance converges "
       "to the unbiased 64/63, so eval output / training output at layer k is (63/64)^(k/2), 0.854 at layer "
       "20. (b) The reference CNN trains on MNIST four times in lockstep with BN momentum 0.01, 0.1, 0.5 and "
       "cumulative (the exact average of all batch statistics); the momentum changes only the running "
       "estimates, so the four runs are one run. Measured per step: |running mean - batch mean| per channel "
       "(in units of the batch standard deviation); at chosen steps the gap to the population statistics of "
       "the current weights (512 fixed training images). (c) Test accuracy (first 1,024 test images) in "
       "eval mode for each momentum and in train mode on chunks of 2, 8 and 32 images, over training. "
       "BN Lab finds (seed 1, 300 steps): (a) 0.85434 against (63/64)^10 = 0.85429 at layer 20, every layer "
       "within 6e-5 of the formula (float32 running estimates stop moving once the update is below half "
       "an ulp); (b) after 5 steps the running means of momentum 0.01, 0.1 and 0.5 are 0.62, 0.41 and 0.11 "
       "standard deviations from the population's (a small momentum lags), and at the end the cumulative "
       "average is the furthest (0.11 against 0.06 for 0.1): it still remembers the first steps' weights; "
       "(c) after 5 steps eval mode (momentum 0.1) scores 0.55 while train mode on chunks of 32 scores "
       "0.64; at the end they agree (0.949 and 0.953), but predicting with the statistics of 2 images "
       "gives 0.62 and of 8 images 0.92: a prediction must not depend on the other images of its batch.",
       kTrainEvalSteps, run_train_eval},
  };
}

}  // namespace bnlab
