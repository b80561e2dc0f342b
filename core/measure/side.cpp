#include "measure/side.h"

#include <algorithm>
#include <utility>

#include "base/error.h"

namespace bnlab {

Side::Side(const Config& config, std::shared_ptr<const DataSplit> data)
    : trainer_(config, std::move(data)) {}

const StepRecord& Side::step(int n) {
  Run run;
  run.attach(trainer_);
  begin_steps();
  const auto before = [this](int, Trainer&) { before_step(); };
  const auto stepped = [this](const SideStep& s, Trainer&) { record(s); };
  RunHooks hooks;
  hooks.before = before, hooks.stepped = stepped;
  run.train(n, hooks);
  return steps_;
}

void Side::begin_steps() {
  steps_.loss.clear(), steps_.accuracy.clear(), steps_.lr.clear();
  steps_.first_step = trainer_.step_count() + 1;
}

void Side::before_step() {
  if (tracing_) tracer_.remember(trainer_);  // the running statistics before the update
}

void Side::record(const SideStep& s) {
  if (s.stopped) return;
  steps_.loss.push_back(s.metrics.loss), steps_.accuracy.push_back(s.metrics.accuracy);
  steps_.lr.push_back(s.metrics.lr);
}

EvalMetrics Side::evaluate(const std::string& mode, int max_examples) {
  if (mode != "eval" && mode != "train")
    throw Error("evaluate: mode must be 'eval' or 'train', got '" + mode + "'");
  const bool eval = mode == "eval";
  const EvalMetrics m = trainer_.evaluate(eval ? Mode::Eval : Mode::Train, max_examples,
                                          eval ? &predictions_ : nullptr);
  if (eval) predictions_step_ = trainer_.step_count();
  return m;
}

double Side::epoch() const {
  const BatchSampler& s = trainer_.sampler();
  return double(s.epoch()) + double(s.position()) / trainer_.data().train.size();
}

std::vector<NamedTensor> Side::tensors() const {
  const auto shape = [](const Tensor& t, int dims) {
    const Shape s = t.shape();
    std::vector<int> all{s.n, s.c, s.h, s.w};
    all.resize(size_t(std::clamp(dims, 0, 4)));
    return all;
  };
  std::vector<NamedTensor> out;
  for (const NamedParam& p : trainer_.model().params()) {
    out.push_back({p.name, shape(*p.param.value, p.param.dims), "param", p.param.value});
    out.push_back({p.name + ".grad", shape(*p.param.grad, p.param.dims), "grad", p.param.grad});
  }
  for (const NamedBuffer& b : trainer_.model().buffers())
    out.push_back({b.name, shape(*b.buffer.value, b.buffer.dims), "buffer", b.buffer.value});
  return out;
}

NamedTensor Side::tensor(const std::string& name) const {
  for (NamedTensor& t : tensors())
    if (t.name == name) return t;
  throw Error("no tensor named '" + name + "' (see tensorNames())");
}

void Side::set_measure_config(const MeasureConfig& config) {
  instrument_ = std::make_unique<Instrument>(trainer_, config);
}

Instrument& Side::instrument() {
  if (!instrument_) instrument_ = std::make_unique<Instrument>(trainer_, MeasureConfig());
  return *instrument_;
}

std::vector<Entry> Side::measure_step(bool capture) {
  if (tracing_ && capture) tracer_.capture(trainer_);
  instrument().measure_step(step_m_);
  return step_entries(step_m_, instrument().config().probe_unit);
}

std::vector<Entry> Side::measure_heavy() {
  instrument().measure_heavy(heavy_m_);
  return heavy_entries(heavy_m_);
}

std::vector<Entry> Side::measure_features(int image) {
  instrument().measure_features(image, features_);
  return feature_entries(features_, trainer_.step_count());
}

Entry Side::misclassified(int max_images) {
  collect_misclassified(trainer_.data().test, predictions_, max_images, misclassified_);
  return misclassified_entry(misclassified_, predictions_step_);
}

void Side::set_trace(bool on) {
  tracing_ = on;
  if (!on) tracer_.clear();
}

Json Side::trace_unit(const std::string& layer, int n, int c, int h, int w) const {
  return unit_trace_json(tracer_.trace(layer, n, c, h, w));
}

WhatIfDraws Side::what_if(int image, int batch_size, int draws, const std::string& layer, int c,
                          int h, int w) {
  if (batch_size < 2)
    throw Error(
        "batch-mates: the batch size must be at least 2 (the image and one companion), got " +
        std::to_string(batch_size));
  if (draws < 1 || draws > 64)
    throw Error("batch-mates: draws must be 1 to 64, got " + std::to_string(draws));
  if (!what_if_) what_if_ = std::make_unique<WhatIf>(trainer_, 0x5EEDBA7Cu);
  const WhatIfUnit unit{layer, c, h, w};
  WhatIfDraws out;
  out.eval = what_if_->run(image, {}, Mode::Eval, unit);  // checks the image and the unit
  for (int i = 0; i < draws; ++i) {
    const WhatIfSample s =
        what_if_->run(image, what_if_->draw_companions(batch_size - 1), Mode::Train, unit);
    out.y.push_back(s.y), out.mean.push_back(s.mean), out.var.push_back(s.var);
    out.predictions.push_back(s.prediction);
    out.probs.insert(out.probs.end(), s.probs.begin(), s.probs.end());
  }
  out.image = image, out.label = trainer_.data().test.labels[size_t(image)];
  out.batch_size = batch_size, out.layer = layer, out.c = c, out.h = h, out.w = w;
  out.step = trainer_.step_count(), out.classes = int(out.eval.probs.size());
  return out;
}

int64_t train_sides(Run& run, const std::vector<Side*>& sides, int64_t n,
                    HookRef<void(int side)> heavy,
                    HookRef<void(int side, bool eval_due, bool last)> stepped) {
  for (Side* side : sides) side->begin_steps();
  const int64_t last = run.step_count() + n;
  const auto on_heavy = [&](int side, Trainer&) {
    if (heavy) heavy(side);
  };
  const auto on_before = [&](int side, Trainer&) { sides[size_t(side)]->before_step(); };
  const auto on_stepped = [&](const SideStep& s, Trainer&) {
    sides[size_t(s.side)]->record(s);
    if (!s.stopped && stepped) stepped(s.side, s.eval_due, s.step == last);
  };
  RunHooks hooks;
  hooks.heavy = on_heavy, hooks.before = on_before, hooks.stepped = on_stepped;
  return run.train_each(n, hooks);
}

}  // namespace bnlab
