#include "measure/refbench.h"

#include <algorithm>

#include "base/stats.h"
#include "measure/measure.h"

namespace bnlab {

namespace {

constexpr uint32_t kTrainSeed = 0x5EED1234u;
constexpr uint32_t kEvalSeed = 0x00C0FFEEu;
constexpr int kBatch = 32, kEvalBatch = 256, kClasses = 10;

}  // namespace

ReferenceBench::ReferenceBench(bool with_bn) : with_bn_(with_bn) {
  // Stream kTrainSeed, in order: x (32*784 normals), labels, then the weights (drawn below by
  // the model in layer order: conv1.w, conv1.b, conv2.w, ..., fc2.b, each (2u - 1)/sqrt(fan_in)).
  Rng rng(kTrainSeed);
  auto data = std::make_shared<DataSplit>();
  Dataset& train = data->train;
  train.name = "reference";
  for (int k = 0; k < kClasses; ++k) train.class_names.push_back(std::to_string(k));
  train.images.resize(size_t(kBatch) * 784);
  for (float& v : train.images) v = float(rng.normal());
  for (int i = 0; i < kBatch; ++i) train.labels.push_back(int(rng.uniform() * kClasses));
  data->test = train;  // evaluation is timed on eval_x_ directly; the test set is not used

  Config c;
  c.model = "ref-cnn";
  c.norm.kind = with_bn ? NormKind::Batch : NormKind::None;
  c.batch_size = kBatch;
  c.shuffle = false;
  c.lr = 0.05f;
  c.momentum = 0.9f;
  c.init = InitKind::Torch;
  trainer_ = std::make_unique<Trainer>(c, data);
  trainer_->model().init_weights(rng);

  Rng eval_rng(kEvalSeed);
  eval_x_.resize(Shape{kEvalBatch, 1, 28, 28});
  for (int64_t i = 0; i < eval_x_.size(); ++i) eval_x_[i] = float(eval_rng.normal());
}

BenchResult ReferenceBench::run(const BenchProtocol& p, const std::function<double()>& now) {
  BenchResult r;
  r.variant = with_bn_ ? "bn" : "nobn";
  Trainer& t = *trainer_;
  r.loss_step1 = t.step().loss;
  float loss = r.loss_step1;
  for (int i = 1; i < p.warmup; ++i) loss = t.step().loss;
  r.loss_after_warmup = loss;
  for (int k = 0; k < p.repeats; ++k) {
    const double t0 = now();
    for (int i = 0; i < p.steps; ++i) loss = t.step().loss;
    r.train_steps_per_s_runs.push_back(p.steps / std::max(now() - t0, 1e-9));
  }
  r.loss_final = loss;
  r.train_steps_per_s = median(r.train_steps_per_s_runs);

  if (p.measure && p.repeats > 0) {
    // The same steps with the every-step measurements. Measuring never changes the run, so the
    // losses above are unaffected; the timing runs on from where training stands.
    Instrument instrument(t, MeasureConfig());
    StepMeasurements m;
    std::vector<double> runs;
    for (int k = 0; k < p.repeats; ++k) {
      const double t0 = now();
      for (int i = 0; i < p.steps; ++i) {
        t.step();
        instrument.measure_step(m);
      }
      runs.push_back(p.steps / std::max(now() - t0, 1e-9));
    }
    r.measured_steps_per_s = median(runs);
    r.measure_overhead = r.train_steps_per_s / r.measured_steps_per_s - 1.0;
  }

  Model& m = t.model();
  m.forward(eval_x_, Mode::Eval);  // warm-up (sizes the eval buffers)
  const double t0 = now();
  m.forward(eval_x_, Mode::Eval);
  const double single = std::max(now() - t0, 1e-6);
  const int iters = std::max(3, std::min(50, int(p.eval_seconds / single) + 1));
  std::vector<double> runs;
  for (int k = 0; k < p.repeats; ++k) {
    const double s = now();
    for (int i = 0; i < iters; ++i) m.forward(eval_x_, Mode::Eval);
    runs.push_back(double(eval_x_.shape().n) * iters / std::max(now() - s, 1e-9));
  }
  r.eval_images_per_s = median(runs);
  const Tensor& logits = m.forward(eval_x_, Mode::Eval);
  for (int64_t i = 0; i < logits.size(); ++i) r.eval_logit_sum += logits[i];
  return r;
}

}  // namespace bnlab
