#include "experiments/common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "train/loss.h"

namespace bnlab {

int steps_or(const ExperimentOptions& options, int default_steps) {
  if (options.steps < 0)
    throw Error("experiment steps must not be negative, got " + std::to_string(options.steps));
  return options.steps > 0 ? options.steps : default_steps;
}

std::string label(NormKind kind) { return kind == NormKind::Batch ? "bn" : norm_kind_name(kind); }

Config experiment_config(const std::string& model, NormKind norm,
                         const ExperimentOptions& options) {
  check_experiment_dataset(options.dataset);
  Config c;
  c.model = model;
  c.dataset = options.dataset;
  c.norm.kind = norm;
  c.seed = options.seed;
  return c;
}

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

float test_accuracy(Trainer& t) { return t.diverged() ? 0.f : t.evaluate(Mode::Eval).accuracy; }

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
    std::copy(test.images.begin() + begin * per, test.images.begin() + (begin + chunk) * per,
              x.data());
    loss.forward(model.forward(x, Mode::Train), test.labels.data() + begin);
    correct += loss.correct();
    done += chunk;
  }
  model.restore_forward_state(saved);
  return done ? double(correct) / done : std::nan("");
}

Json or_null(bool exists, double value) { return exists ? Json(value) : Json(); }

Json number(double v) { return std::isfinite(v) ? Json(v) : Json(); }

RunSchedule fixed_steps(int64_t steps) {
  RunSchedule schedule;
  schedule.steps = steps;
  schedule.stop_when_diverged = false;
  return schedule;
}

bool sweep_run_trains(float accuracy, int64_t diverged_at, const std::string& dataset) {
  return diverged_at < 0 && accuracy >= trains_accuracy(dataset);
}

void train_sweep_run(const Config& config, const std::shared_ptr<const DataSplit>& data, int steps,
                     const std::string& value, Table& runs, Table& curves) {
  Run run(fixed_steps(steps));  // the sweep's runs all take their steps' rows
  run.add(config, data);
  const std::string variant = label(config.norm.kind);
  const int curve_every = std::max(1, steps / 50);
  RunHooks hooks;
  const auto on_stepped = [&](const SideStep& s, Trainer&) {
    if (s.stopped) return;
    if (s.step % curve_every == 0 || s.metrics.diverged)
      curves.add({variant, value, fmt(s.step), fmt(s.metrics.loss)});
  };
  hooks.stepped = on_stepped;
  run.train(steps, hooks);
  const float accuracy = test_accuracy(run.side(0));
  const int64_t diverged_at = run.side(0).diverged_at();
  const bool diverged = diverged_at >= 0;
  const bool trains = sweep_run_trains(accuracy, diverged_at, config.dataset);
  runs.add({variant, value, fmt(accuracy), diverged ? "true" : "false",
            diverged ? fmt(double(diverged_at)) : "", trains ? "true" : "false"});
}

Tables pair_sweep_units(const ExperimentOptions& options, int default_steps,
                        const std::string& column, const std::vector<float>& values,
                        void (*set)(Config&, float), int begin, int end) {
  const int steps = steps_or(options, default_steps);
  Table runs({"variant", column, "test_accuracy", "diverged", "diverged_at", "trains"});
  Table curves({"variant", column, "step", "loss"});
  const Config base = experiment_config("mlp", NormKind::Batch, options);
  const auto data = load_data(base, options.data_dir);
  for (int u = begin; u < end; ++u) {
    const float value = values[size_t(u / 2)];
    Config c = base;
    set(c, value);
    c.norm.kind = kPair[u % 2];
    train_sweep_run(c, data, steps, fmt(value), runs, curves);
    options.progress(double(u - begin + 1) / double(end - begin));
  }
  return {{"runs", std::move(runs)}, {"curves", std::move(curves)}};
}

int pair_sweep_unit_count(const std::vector<float>& values) { return 2 * int(values.size()); }

size_t column(const Table& table, const std::string& name) {
  const auto& columns = table.columns();
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw Error("table has no column " + name);
  return size_t(it - columns.begin());
}

// strtod and strtof, not std::stod and std::stof: no exceptions to catch (the wasm module, which
// ships these summaries to the page, stays smaller), and the whole cell must be the number.
double cell_double(const std::string& cell) {
  if (cell.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  if (end != cell.c_str() + cell.size()) throw Error("table cell '" + cell + "' is not a number");
  return v;
}

float cell_float(const std::string& cell) {
  if (cell.empty()) return std::nanf("");
  char* end = nullptr;
  const float v = std::strtof(cell.c_str(), &end);
  if (end != cell.c_str() + cell.size()) throw Error("table cell '" + cell + "' is not a number");
  return v;
}

}  // namespace bnlab
