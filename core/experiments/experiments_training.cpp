// The training experiments of SCIENCE.md section 6: what BN does to training itself.
//   ioffe-mnist      Ioffe & Szegedy's Figure 1: test accuracy and a sigmoid input's percentiles
//   lr-sweep         the largest learning rate that still trains
//   init-sweep       accuracy across initialization scales
//   grad-init        per-layer gradient norms at initialization
//   convergence      steps to a target accuracy
//   regularization   train/test gap on 500 training digits
//   covariate-shift  accuracy on a brightness/contrast-shifted test set, and batch statistics
//                    of the shifted data as a remedy (AdaBN)
// Runs compared side by side share the seed, so they start from the same conv/fc weights and see
// the same batches (trainer.h); everything is a function of the seed.
#include <algorithm>
#include <cmath>
#include <memory>

#include "base/error.h"
#include "experiments/experiments_list.h"
#include "measure/measure.h"
#include "train/trainer.h"

namespace bnlab {

namespace {

// ---- Shared helpers ------------------------------------------------------------------------

int steps_or(const ExperimentOptions& options, int default_steps) {
  if (options.steps < 0) throw Error("experiment steps must not be negative, got " + std::to_string(options.steps));
  return options.steps > 0 ? options.steps : default_steps;
}

// The label of a variant in tables and summary keys: "bn", "none", "instance".
std::string label(NormKind kind) { return kind == NormKind::Batch ? "bn" : norm_kind_name(kind); }

Config mnist_config(const std::string& model, NormKind norm, uint32_t seed) {
  Config c;
  c.model = model;
  c.dataset = "mnist";
  c.norm.kind = norm;
  c.seed = seed;
  return c;
}

// The fraction of all of `data` that the model classifies correctly in eval mode, in chunks of
// up to 256 examples. Trainer::evaluate scores the trainer's own test set only; these
// experiments also score the training set and a second test set. Eval mode changes no state.
float eval_accuracy(Model& model, const Dataset& data) {
  const Shape img = data.image_shape();
  const int64_t per = img.per_sample();
  SoftmaxCrossEntropy loss;
  Tensor x;  // (B, C, H, W) one chunk
  int correct = 0;
  for (int begin = 0; begin < data.size(); begin += 256) {
    const int end = std::min(data.size(), begin + 256);
    x.resize(Shape{end - begin, img.c, img.h, img.w});
    std::copy(data.images.begin() + begin * per, data.images.begin() + end * per, x.data());
    loss.forward(model.forward(x, Mode::Eval), data.labels.data() + begin);
    correct += loss.correct();
  }
  return float(correct) / float(data.size());
}

// Test accuracy (eval mode) of a run; 0 once it has diverged: the forward of the diverging batch
// may have left non-finite running statistics behind.
float test_accuracy(Trainer& t) { return t.diverged() ? 0.f : t.evaluate(Mode::Eval).accuracy; }

// Summary values that may not exist (a rate that never trained, a target never reached): null.
Json or_null(bool exists, double value) { return exists ? Json(value) : Json(); }

// The two variants of most comparisons, in the order of their tables.
constexpr NormKind kPair[2] = {NormKind::Batch, NormKind::None};

// ---- ioffe-mnist ---------------------------------------------------------------------------

// Ioffe & Szegedy (2015), Figure 1: the 784-100-100-100-10 sigmoid network on MNIST with and
// without BN, in lockstep, with plain SGD on mini-batches of 60 as in the paper. Followed: test
// accuracy, and the 15/50/85th percentiles of the input of units of the last hidden sigmoid
// (after BN where there is one) on a fixed probe batch of test digits, in training mode.
constexpr int kBandUnits = 10;   // units followed (the paper plots one typical unit)
constexpr int kProbeSize = 256;  // the 15th percentile of 256 values lies near the 39th

ExperimentResult run_ioffe(const ExperimentOptions& options) {
  const int steps = steps_or(options, 2000);
  std::shared_ptr<const DataSplit> data;
  std::vector<std::unique_ptr<Trainer>> runs;
  std::vector<std::unique_ptr<Instrument>> instruments;  // (run * kBandUnits + unit)
  for (NormKind kind : kPair) {
    Config c = mnist_config("mlp", kind, options.seed);
    c.batch_size = 60;
    c.lr = 0.1f;
    c.momentum = 0.f;
    if (!data) data = load_data(c, options.data_dir);
    runs.push_back(std::make_unique<Trainer>(c, data));
    // An Instrument follows one unit of every activation: one instrument per followed unit.
    for (int u = 0; u < kBandUnits; ++u) {
      MeasureConfig mc;
      mc.probe_size = kProbeSize;
      mc.probe_unit = u;
      mc.band_every = 1;  // bands whenever measure_step is called (this loop picks the steps)
      instruments.push_back(std::make_unique<Instrument>(*runs.back(), mc));
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
  for (int s = 0; s <= steps; ++s) {
    for (int r = 0; r < 2; ++r) {
      Trainer& t = *runs[size_t(r)];
      if (s > 0) t.step();
      if (s % eval_every == 0 || s == early_step || s == steps) {
        last[r] = test_accuracy(t);
        accuracy.add({label(kPair[r]), fmt(s), fmt(last[r])});
        if (s == early_step) early[r] = last[r];
      }
      if (s == 0 || s % band_every != 0 || t.diverged()) continue;
      for (int u = 0; u < kBandUnits; ++u) {
        const size_t k = size_t(r * kBandUnits + u);
        instruments[k]->measure_step(m);
        const UnitBand& b = m.bands.back();  // the input of the last hidden sigmoid
        bands.add({label(kPair[r]), fmt(s), fmt(u), fmt(b.q[1]), fmt(b.q[2]), fmt(b.q[3])});
        if (s < drift_from) continue;
        medians[k].push_back(b.q[2]);
        spreads[k].push_back(b.q[3] - b.q[1]);
      }
    }
    if (s % 50 == 0) options.progress(double(s) / steps);
  }

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

// ---- lr-sweep and init-sweep ---------------------------------------------------------------

// "Trains": the run did not diverge and ends at this test accuracy (eval mode) or above. For the
// sigmoid MLP on MNIST, runs that learn end at 83-93% after 500 steps and runs that fail end
// near chance (10%) or at most 53% (measured on seeds 1 and 2): 80% separates them with room.
constexpr float kTrainsAccuracy = 0.8f;

struct PairResult {
  float accuracy[2] = {0, 0};           // final test accuracy (0 if diverged), in kPair order
  int64_t diverged_at[2] = {-1, -1};
  bool trains(int r) const { return diverged_at[r] < 0 && accuracy[r] >= kTrainsAccuracy; }
};

// BN and no-BN versions of `base` trained in lockstep for `steps` steps. Rows added: the loss
// every steps/50 steps to curves (variant, value, step, loss) and one row per variant to runs
// (variant, value, test_accuracy, diverged, diverged_at, trains).
PairResult train_pair(const Config& base, const std::shared_ptr<const DataSplit>& data, int steps,
                      const std::string& value, Table& runs, Table& curves) {
  std::vector<std::unique_ptr<Trainer>> t;
  for (NormKind kind : kPair) {
    Config c = base;
    c.norm.kind = kind;
    t.push_back(std::make_unique<Trainer>(c, data));
  }
  const int curve_every = std::max(1, steps / 50);
  for (int s = 1; s <= steps; ++s)
    for (int r = 0; r < 2; ++r) {
      if (t[size_t(r)]->diverged()) continue;
      const StepMetrics m = t[size_t(r)]->step();
      if (s % curve_every == 0 || m.diverged) curves.add({label(kPair[r]), value, fmt(s), fmt(m.loss)});
    }
  PairResult p;
  for (int r = 0; r < 2; ++r) {
    p.accuracy[r] = test_accuracy(*t[size_t(r)]);
    p.diverged_at[r] = t[size_t(r)]->diverged_at();
    const bool diverged = p.diverged_at[r] >= 0;
    runs.add({label(kPair[r]), value, fmt(p.accuracy[r]), diverged ? "true" : "false",
              diverged ? fmt(double(p.diverged_at[r])) : "", p.trains(r) ? "true" : "false"});
  }
  return p;
}

ExperimentResult run_lr_sweep(const ExperimentOptions& options) {
  const int steps = steps_or(options, 500);
  const std::vector<float> rates = {0.01f, 0.03f, 0.1f, 0.3f, 1.f, 3.f, 10.f};
  Table runs({"variant", "lr", "test_accuracy", "diverged", "diverged_at", "trains"});
  Table curves({"variant", "lr", "step", "loss"});
  const Config base = mnist_config("mlp", NormKind::Batch, options.seed);
  const auto data = load_data(base, options.data_dir);
  float largest[2] = {0, 0};  // 0: no rate trains
  for (size_t i = 0; i < rates.size(); ++i) {
    Config c = base;
    c.lr = rates[i];
    const PairResult p = train_pair(c, data, steps, fmt(rates[i]), runs, curves);
    for (int r = 0; r < 2; ++r)
      if (p.trains(r)) largest[r] = rates[i];
    options.progress(double(i + 1) / double(rates.size()));
  }
  ExperimentResult result;
  Json& j = result.summary;
  j.set("largest_lr_bn", or_null(largest[0] > 0, largest[0]));
  j.set("largest_lr_none", or_null(largest[1] > 0, largest[1]));
  j.set("ratio", or_null(largest[0] > 0 && largest[1] > 0, double(largest[0]) / double(largest[1])));
  j.set("threshold_accuracy", double(kTrainsAccuracy));
  result.tables.emplace_back("runs", std::move(runs));
  result.tables.emplace_back("curves", std::move(curves));
  return result;
}

ExperimentResult run_init_sweep(const ExperimentOptions& options) {
  const int steps = steps_or(options, 500);
  const std::vector<float> scales = {0.01f, 0.03f, 0.1f, 0.3f, 1.f, 3.f, 10.f, 30.f, 100.f};
  Table runs({"variant", "init_scale", "test_accuracy", "diverged", "diverged_at", "trains"});
  Table curves({"variant", "init_scale", "step", "loss"});
  const Config base = mnist_config("mlp", NormKind::Batch, options.seed);
  const auto data = load_data(base, options.data_dir);
  int trained[2] = {0, 0};
  float worst[2] = {1, 1}, smallest[2] = {0, 0}, largest[2] = {0, 0};  // 0: no scale trains
  for (size_t i = 0; i < scales.size(); ++i) {
    Config c = base;
    c.init_scale = scales[i];
    const PairResult p = train_pair(c, data, steps, fmt(scales[i]), runs, curves);
    for (int r = 0; r < 2; ++r) {
      worst[r] = std::min(worst[r], p.accuracy[r]);
      if (!p.trains(r)) continue;
      ++trained[r];
      if (smallest[r] == 0) smallest[r] = scales[i];
      largest[r] = scales[i];
    }
    options.progress(double(i + 1) / double(scales.size()));
  }
  ExperimentResult result;
  Json& j = result.summary;
  for (int r = 0; r < 2; ++r) {
    const std::string k = label(kPair[r]);
    j.set("scales_trained_" + k, trained[r]);
    j.set("smallest_scale_trained_" + k, or_null(trained[r] > 0, smallest[r]));
    j.set("largest_scale_trained_" + k, or_null(trained[r] > 0, largest[r]));
    j.set("worst_accuracy_" + k, double(worst[r]));
  }
  j.set("scales", int(scales.size()));
  j.set("threshold_accuracy", double(kTrainsAccuracy));
  result.tables.emplace_back("runs", std::move(runs));
  result.tables.emplace_back("curves", std::move(curves));
  return result;
}

// ---- grad-init -----------------------------------------------------------------------------

std::string repeat(const std::string& block, int times) {
  std::string s;
  for (int i = 0; i < times; ++i) s += block + " ";
  return s;
}

// The weight (not the bias) of a conv or fc layer.
Param weight_of(Layer& layer) {
  for (const Param& p : layer.params())
    if (p.name == "weight") return p;
  throw Error("layer " + layer.kind() + " has no weight");
}

// Networks whose gradients are compared at initialization (He init, scale 1): Ioffe &
// Szegedy's MLP, two deeper MLPs (eight hidden layers of 100, sigmoid or ReLU) and deep-cnn.
struct NamedNetwork {
  std::string name, spec;
};
std::vector<NamedNetwork> grad_networks() {
  return {{"mlp", "mlp"},
          {"sigmoid-mlp-8", repeat("fc100-bn-sigmoid", 8) + "fc"},
          {"relu-mlp-8", repeat("fc100-bn-relu", 8) + "fc"},
          {"deep-cnn", "deep-cnn"}};
}

// The gradient of the loss with respect to each conv/fc weight, at the initial weights, on
// `batches` training batches of 32 (the batches a run would start with). Nothing is updated.
ExperimentResult run_grad_init(const ExperimentOptions& options) {
  const int batches = steps_or(options, 16);
  Table per_batch({"network", "variant", "batch", "layer", "grad_norm", "weight_norm"});
  Table layers({"network", "variant", "layer", "depth", "mean_grad_norm"});
  ExperimentResult result;
  std::shared_ptr<const DataSplit> data;
  const std::vector<NamedNetwork> networks = grad_networks();
  for (size_t n = 0; n < networks.size(); ++n) {
    Json summary = Json::object();
    for (int r = 0; r < 2; ++r) {
      const Config c = mnist_config(networks[n].spec, kPair[r], options.seed);
      if (!data) data = load_data(c, options.data_dir);
      Trainer t(c, data);
      Model& model = t.model();
      BatchSampler sampler = t.sampler();  // a copy: the trainer's own stream is not advanced
      Tensor x;                            // (32, 1, 28, 28)
      std::vector<int> labels;             // (32)
      SoftmaxCrossEntropy loss;
      std::vector<int> weighted;           // model indices of the conv/fc layers
      for (int i = 0; i < model.num_layers(); ++i)
        if (model.layer(i).kind() == "conv" || model.layer(i).kind() == "fc") weighted.push_back(i);
      std::vector<double> mean(weighted.size(), 0.0);
      for (int b = 0; b < batches; ++b) {
        sampler.next(c.batch_size, x, labels);
        loss.forward(model.forward(x, Mode::Train), labels.data());
        model.zero_grad();
        model.backward(loss.backward());
        for (size_t k = 0; k < weighted.size(); ++k) {
          const Param w = weight_of(model.layer(weighted[k]));
          const double g = w.grad->vec().norm();
          mean[k] += g / batches;
          per_batch.add({networks[n].name, label(kPair[r]), fmt(b), model.layer_name(weighted[k]), fmt(g),
                         fmt(w.value->vec().norm())});
        }
      }
      for (size_t k = 0; k < weighted.size(); ++k)
        layers.add({networks[n].name, label(kPair[r]), model.layer_name(weighted[k]), fmt(double(k + 1)), fmt(mean[k])});
      // spread: how far apart the layers' gradient magnitudes are (1: all equal);
      // first_over_last: below 1 the gradient shrinks toward the input, above 1 it grows.
      const auto mm = std::minmax_element(mean.begin(), mean.end());
      summary.set("spread_" + label(kPair[r]), *mm.second / *mm.first);
      summary.set("first_over_last_" + label(kPair[r]), mean.front() / mean.back());
    }
    result.summary.set(networks[n].name, summary);
    options.progress(double(n + 1) / double(networks.size()));
  }
  result.summary.set("batches", batches);
  result.tables.emplace_back("gradients", std::move(per_batch));
  result.tables.emplace_back("layers", std::move(layers));
  return result;
}

// ---- convergence ---------------------------------------------------------------------------

// Ioffe & Szegedy's MLP on MNIST at the default optimizer (SGD lr 0.05, momentum 0.9, batch 32):
// without BN, with BN at the same rate, and with BN at 5x the rate (the paper's "BN-x5").
struct ConvergenceRun {
  const char* name;
  NormKind kind;
  float lr;
};
constexpr ConvergenceRun kConvergenceRuns[3] = {
    {"none", NormKind::None, 0.05f}, {"bn", NormKind::Batch, 0.05f}, {"bn-x5", NormKind::Batch, 0.25f}};
constexpr float kTargets[2] = {0.85f, 0.9f};  // the MLP ends near 92% on this split

ExperimentResult run_convergence(const ExperimentOptions& options) {
  const int steps = steps_or(options, 1500);
  const int eval_every = std::clamp(steps / 50, 1, 20);
  std::shared_ptr<const DataSplit> data;
  std::vector<std::unique_ptr<Trainer>> runs;
  for (const ConvergenceRun& run : kConvergenceRuns) {
    Config c = mnist_config("mlp", run.kind, options.seed);
    c.lr = run.lr;
    if (!data) data = load_data(c, options.data_dir);
    runs.push_back(std::make_unique<Trainer>(c, data));
  }
  Table accuracy({"run", "lr", "step", "test_accuracy"});
  int reached[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};  // first evaluated step at each target
  for (int s = 1; s <= steps; ++s) {
    for (size_t r = 0; r < runs.size(); ++r) {
      runs[r]->step();
      if (s % eval_every != 0) continue;
      const float a = test_accuracy(*runs[r]);
      accuracy.add({kConvergenceRuns[r].name, fmt(kConvergenceRuns[r].lr), fmt(s), fmt(a)});
      for (int k = 0; k < 2; ++k)
        if (reached[r][k] < 0 && a >= kTargets[k]) reached[r][k] = s;
    }
    if (s % 100 == 0) options.progress(double(s) / steps);
  }
  ExperimentResult result;
  Json& j = result.summary;
  for (int k = 0; k < 2; ++k) {
    const std::string target = fmt(std::lround(kTargets[k] * 100));
    for (size_t r = 0; r < runs.size(); ++r)
      j.set("steps_to_" + target + "_" + kConvergenceRuns[r].name, or_null(reached[r][k] >= 0, reached[r][k]));
    j.set("speedup_" + target, or_null(reached[0][k] >= 0 && reached[1][k] >= 0,
                                       double(reached[0][k]) / double(reached[1][k])));
  }
  j.set("eval_every", eval_every);
  result.tables.emplace_back("accuracy", std::move(accuracy));
  return result;
}

// ---- regularization ------------------------------------------------------------------------

// The first 500 training digits, trained on until they are fitted (800 steps of 32 are 51 epochs;
// both networks, with and without BN, classify all 500 correctly by step 700), for the MLP and
// the reference CNN; train and test accuracy in eval mode.
constexpr int kSmallTrainSize = 500;

ExperimentResult run_regularization(const ExperimentOptions& options) {
  const int steps = steps_or(options, 800);
  const int record_every = std::max(1, steps / 4);
  const char* networks[2] = {"mlp", "ref-cnn"};
  Table accuracy({"network", "variant", "step", "train_accuracy", "test_accuracy", "gap"});
  ExperimentResult result;
  std::shared_ptr<const DataSplit> data;
  for (int n = 0; n < 2; ++n) {
    std::vector<std::unique_ptr<Trainer>> runs;
    for (NormKind kind : kPair) {
      Config c = mnist_config(networks[n], kind, options.seed);
      c.train_size = kSmallTrainSize;
      if (!data) data = load_data(c, options.data_dir);
      runs.push_back(std::make_unique<Trainer>(c, data));
    }
    float train[2] = {0, 0}, test[2] = {0, 0};
    for (int s = 1; s <= steps; ++s) {
      for (int r = 0; r < 2; ++r) {
        Trainer& t = *runs[size_t(r)];
        t.step();
        if (s % record_every != 0 && s != steps) continue;
        train[r] = t.diverged() ? 0.f : eval_accuracy(t.model(), t.data().train);
        test[r] = test_accuracy(t);
        accuracy.add({networks[n], label(kPair[r]), fmt(s), fmt(train[r]), fmt(test[r]), fmt(train[r] - test[r])});
      }
      if (s % 100 == 0) options.progress((n + double(s) / steps) / 2);
    }
    Json summary = Json::object();
    for (int r = 0; r < 2; ++r) {
      const std::string k = label(kPair[r]);
      summary.set("train_accuracy_" + k, double(train[r]));
      summary.set("test_accuracy_" + k, double(test[r]));
      summary.set("gap_" + k, double(train[r]) - double(test[r]));
    }
    result.summary.set(networks[n], summary);
  }
  result.summary.set("train_size", kSmallTrainSize);
  result.tables.emplace_back("accuracy", std::move(accuracy));
  return result;
}

// ---- covariate-shift -----------------------------------------------------------------------

// The reference CNN with normalizers after its two convolutions only: InstanceNorm needs a
// spatial extent to normalize over, which the fc layer's (N, 64, 1, 1) output lacks.
constexpr const char* kShiftModel = "conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-relu fc";
constexpr NormKind kShiftVariants[3] = {NormKind::None, NormKind::Batch, NormKind::Instance};

ExperimentResult run_covariate_shift(const ExperimentOptions& options) {
  const int steps = steps_or(options, 500);
  Config base;
  base.model = kShiftModel;
  base.dataset = "shift";
  base.seed = options.seed;
  const auto shift = load_data(base, options.data_dir);
  Config plain = base;
  plain.dataset = "shapes";  // the same training set; its test set is in the training style
  const auto shapes = load_data(plain, options.data_dir);
  std::vector<std::unique_ptr<Trainer>> runs;
  for (NormKind kind : kShiftVariants) {
    Config c = base;
    c.norm.kind = kind;
    runs.push_back(std::make_unique<Trainer>(c, shift));
  }
  for (int s = 1; s <= steps; ++s) {
    for (auto& t : runs) t->step();
    if (s % 50 == 0) options.progress(double(s) / steps);
  }
  Table accuracy({"variant", "test_set", "mode", "accuracy"});
  ExperimentResult result;
  Json& j = result.summary;
  for (size_t r = 0; r < runs.size(); ++r) {
    Trainer& t = *runs[r];
    const std::string k = label(kShiftVariants[r]);
    // Train mode: each chunk of 32 test images is normalized with its own statistics, those of
    // the shifted data, as AdaBN's re-estimated statistics would be. The same for no BN and IN.
    const bool ok = !t.diverged();
    const float same = ok ? eval_accuracy(t.model(), shapes->test) : 0.f;
    const float shifted = ok ? t.evaluate(Mode::Eval).accuracy : 0.f;
    const float shifted_batch = ok ? t.evaluate(Mode::Train).accuracy : 0.f;
    accuracy.add({k, "shapes", "eval", fmt(same)});
    accuracy.add({k, "shift", "eval", fmt(shifted)});
    accuracy.add({k, "shift", "train", fmt(shifted_batch)});
    j.set("shapes_" + k, double(same));
    j.set("shift_" + k, double(shifted));
    j.set("shift_train_mode_" + k, double(shifted_batch));
  }
  result.tables.emplace_back("accuracy", std::move(accuracy));
  return result;
}

}  // namespace

std::vector<ExperimentInfo> training_experiments() {
  return {
      {"ioffe-mnist", "Ioffe & Szegedy's MNIST figure: accuracy and a sigmoid input over training",
       "Ioffe & Szegedy's Figure 1. Their 784-100-100-100-10 sigmoid network (preset mlp) learns MNIST "
       "with and without BN in lockstep: same initial weights, same batches, plain SGD at lr 0.1 on "
       "batches of 60 as in the paper, 2,000 steps (the paper ran 50,000). Measured: test accuracy every "
       "50 steps, and for ten units of the last hidden layer the 15th, 50th and 85th percentiles of the "
       "sigmoid's input on a fixed probe batch of 256 test digits (training mode). Drift: the range "
       "(max - min) from step 200 on of a unit's median and of its 85-15 spread, averaged over the ten "
       "units. The paper: BN trains faster and higher, and without BN the distribution drifts in median "
       "and spread while with BN it stays stable. BN Lab reproduces both (seeds 1 and 2): at step 500 "
       "BN is at 91% test accuracy and the plain network at 42-50%; at step 2,000, 93% against 87-88%. "
       "The median drifts by 0.18 with BN against 0.71-1.03 without, the spread by 0.61 against 1.9-2.2. "
       "With BN the band is not perfectly flat: it widens as gamma grows (85-15 spread about 2.7, where "
       "a unit normal has 2.07). At the default optimizer (lr 0.05, momentum 0.9, batches of 32) the "
       "effect is the same but weaker: median drift 0.34-0.36 against 0.89-1.12, spread 0.94-0.96 "
       "against 1.37-1.66.",
       2000, run_ioffe},
      {"lr-sweep", "BN allows higher learning rates",
       "Learning-rate sweep. The sigmoid MLP (preset mlp) on MNIST, with and without BN, trains for 500 "
       "steps (SGD, momentum 0.9, batches of 32) at each rate of 0.01, 0.03, 0.1, 0.3, 1, 3 and 10; both "
       "variants of a rate start from the same weights and see the same batches. A run trains if it "
       "does not diverge (NaN or infinite loss) and ends at 80% test accuracy or more: runs that learn "
       "end at 83-93%, the others near chance or at most 53%. The claim (Ioffe & Szegedy): BN allows "
       "much higher learning rates. BN Lab reproduces it: the largest rate that trains is 1 with BN and "
       "0.3 without (seeds 1 and 2), one step of the grid, a factor of 3.3. Without BN, rates of 1 and "
       "more do not produce NaN: the sigmoids saturate and the network stays at chance. With BN, lr 3 "
       "still learns partly (21-53%). At lr 0.01 the plain network reaches only 44-49% in 500 steps: "
       "slow, not broken. (The reference CNN shows the same: tests/test_learning.cpp checks that at lr "
       "0.2 it learns with BN and stays at chance without.)",
       500, run_lr_sweep},
      {"init-sweep", "BN reduces the need for careful initialization",
       "Initialization-scale sweep. The sigmoid MLP on MNIST starts from He-normal weights multiplied by "
       "0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30 or 100, with and without BN (same weights and batches for both "
       "variants of a scale), and trains for 500 steps at the default optimizer (lr 0.05, momentum 0.9). "
       "Measured: final test accuracy; a run trains as in lr-sweep (no divergence, 80% or more). The "
       "claim (Ioffe & Szegedy): with BN, training is far less sensitive to the initial scale, since a "
       "layer followed by BN gives the same output whatever the scale of its weights. BN Lab reproduces "
       "it (seeds 1 and 2): with BN 8 of the 9 scales train (0.01 to 30; at 100 it reaches 71-73%, the "
       "final layer, which has no BN after it, starting from huge logits); without BN only 3 do (1 to "
       "10): at 0.3 and below the network stays at chance for all 500 steps, at 30 and 100 its sigmoids "
       "saturate. Without BN the best scale is 3, not 1: He's gain is made for ReLU, not sigmoid.",
       500, run_init_sweep},
      {"grad-init", "Gradient magnitudes per layer at initialization",
       "Gradients at initialization. Four networks on MNIST, with and without BN, He-initialized: the "
       "sigmoid MLP (3 hidden layers), deeper MLPs of 8 hidden layers of 100 units with sigmoid or with "
       "ReLU, and deep-cnn (ReLU). Measured: the norm of the loss gradient with respect to each conv/fc "
       "weight at the initial weights, on each of 16 training batches of 32 (nothing is updated; --steps "
       "sets the number of batches), and its mean per layer. Summary per network: spread = largest / "
       "smallest layer mean (1: all alike) and first_over_last = first layer / classifier (below 1: the "
       "gradient shrinks toward the input). The claim: BN keeps gradient magnitudes in a healthier range "
       "at initialization. BN Lab finds that it depends on the activation (seeds 1 and 2). Sigmoid: "
       "without BN the gradient shrinks about 3x per layer toward the input (8 hidden layers: "
       "first_over_last 2e-4, spread 3,800-6,200; the 3-layer MLP: spread 15-19); with BN every hidden "
       "layer gets a similar gradient (spread 2.8-3.4). ReLU with He init: without BN the gradients are "
       "already even (spread 3.2-3.7), and BN makes them grow toward the input (first_over_last 10-12, "
       "spread 12-13): the gradient explosion at initialization that Yang et al. (2019, A mean field "
       "theory of batch normalization) predict for deep BN networks without skip connections. deep-cnn: "
       "about the same with and without BN (spread 3.8-5.3 against 5.7-6.3).",
       16, run_grad_init},
      {"convergence", "BN speeds convergence",
       "Steps to a target accuracy. The sigmoid MLP on MNIST at one optimizer for all (SGD lr 0.05, "
       "momentum 0.9, batches of 32): without BN, with BN, and with BN at five times the rate (0.25, the "
       "paper's BN-x5); same weights and batches; test accuracy every 20 steps for 1,500 steps. "
       "steps_to_T is the first evaluation at or above T (null if never). The claim (Ioffe & Szegedy, "
       "whose BN-x5 reached Inception's accuracy in 14 times fewer steps): BN converges in fewer steps. "
       "BN Lab reproduces it at the same rate (seeds 1 and 2): 85% after 60 steps with BN against 460 "
       "without (7.7x), 90% after 180-300 against 760-920 (3-4x). The higher rate does not help further "
       "here: BN-x5 needs 120 steps for 85% and 360-440 for 90%, faster than no BN but slower than BN at "
       "the same rate. With momentum 0.9 the default step is already large for this small network, so "
       "the paper's extra gain from higher rates does not reproduce on this problem.",
       1500, run_convergence},
      {"regularization", "Does BN regularize? Train/test gap on 500 digits",
       "Train/test gap on a small training set. The first 500 MNIST training digits, trained on for 800 "
       "steps of 32 (51 epochs), by the MLP and the reference CNN, with and without BN (same weights and "
       "batches). Measured in eval mode: accuracy on the 500 training digits, on the 2,000 test digits, "
       "and the gap between them. The claim (Ioffe & Szegedy): the noise of mini-batch statistics "
       "regularizes, so BN reduces overfitting; later work found the effect weak and dependent on the "
       "setting. BN Lab does not reproduce it (seeds 1 and 2): all four runs fit the 500 digits (100%); "
       "the reference CNN's gap is the same with and without BN (6.3-6.7 points against 6.8), and the "
       "MLP's is larger with BN (17.4-17.8 points against 15.4-16.4): with BN it fits the set within 200 "
       "steps, and its test accuracy then declines a little (from 83-84% to 82-83%).",
       800, run_regularization},
      {"covariate-shift", "A shifted test set: BN's statistics, batch statistics and InstanceNorm",
       "Covariate shift between datasets ('white dogs, then other dogs'). A CNN (the reference CNN with "
       "normalizers after its two convolutions only, since InstanceNorm needs a spatial extent) trains "
       "for 500 steps on the shift dataset's training set, bright shapes on dark (6 classes), with no "
       "normalizer, BN or InstanceNorm. It is tested on the training-style test set (shapes) and on the "
       "shifted one (dim, low-contrast shapes on mid-grey, a quarter of them inverted), in eval mode, and "
       "in train mode, where each chunk of 32 shifted images is normalized with its own statistics: the "
       "statistics of the new domain, as AdaBN (Li et al. 2016) re-estimates them. Found (seeds 1 to 6): "
       "all three reach 93-99% on training-style images. On the shifted ones BN with its running "
       "statistics falls to chance (16-18%, chance is 1 in 6) on every seed, and no normalizer does "
       "about as badly (15-30%). BN with the shifted data's own statistics recovers part of it, by an "
       "amount that varies much with the seed (27-62%, 10 to 45 points above its running statistics), "
       "and InstanceNorm, which normalizes each image, recovers part too (29-44%). None comes near the "
       "training-style accuracy: normalizing undoes the change of brightness and contrast, not the "
       "inverted quarter, the noise that is three times stronger relative to a third of the contrast, "
       "nor (probably) the zero padding of the convolutions, which matches a dark background but not a "
       "grey one.",
       500, run_covariate_shift},
  };
}

}  // namespace bnlab
