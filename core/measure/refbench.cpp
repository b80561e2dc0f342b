#include "measure/refbench.h"

#include <algorithm>

#include "base/error.h"
#include "base/stats.h"
#include "kernels/simd4.h"
#include "measure/measure.h"
#include "train/loss.h"

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

  train_x_.resize(Shape{kBatch, 1, 28, 28});
  std::copy(train.images.begin(), train.images.end(), train_x_.data());
  train_labels_ = train.labels;

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

MachinePeak build_peak(double ghz) {
  MachinePeak peak;
  peak.ghz = ghz;
#if defined(__AVX512F__)
  peak.lanes = 16, peak.isa = "avx512";
#elif defined(__AVX__)
  peak.lanes = 8, peak.isa = "avx2";
#elif defined(__wasm_simd128__)
  peak.lanes = 4, peak.isa = "wasm-simd128";
#elif defined(__SSE__)
  peak.lanes = 4, peak.isa = "sse";
#else
  peak.lanes = 1, peak.isa = "scalar";
#endif
  peak.gflops = ghz * peak.lanes * peak.flops_per_lane_cycle;
  return peak;
}

BenchResult ReferenceBench::run(const BenchProtocol& p, const std::function<double()>& now,
                                const std::function<double()>& cpu_now) {
  BenchResult r;
  r.variant = with_bn_ ? "bn" : "nobn";
  Trainer& t = *trainer_;
  r.loss_step1 = t.step().loss;
  float loss = r.loss_step1;
  for (int i = 1; i < p.warmup; ++i) loss = t.step().loss;
  r.loss_after_warmup = loss;
  for (int k = 0; k < p.repeats; ++k) {
    const double c0 = cpu_now ? cpu_now() : 0.0;
    const double t0 = now();
    for (int i = 0; i < p.steps; ++i) loss = t.step().loss;
    r.train_steps_per_s_runs.push_back(p.steps / std::max(now() - t0, 1e-9));
    if (cpu_now) r.train_cpu_ms_per_step_runs.push_back(1000.0 * (cpu_now() - c0) / p.steps);
  }
  r.loss_final = loss;
  r.train_steps_per_s = median(r.train_steps_per_s_runs);
  if (cpu_now) r.train_cpu_ms_per_step = median(r.train_cpu_ms_per_step_runs);
  // Conv and linear multiply-adds of a step, 2 FLOPs each; conv1 computes no input gradient.
  constexpr double kGflopPerStep = 0.06033408;
  r.train_gflops = r.train_steps_per_s * kGflopPerStep;

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

StepProfile ReferenceBench::profile(int steps, const std::function<double()>& now) {
  if (steps < 1) throw Error("profile: steps must be at least 1");
  Trainer& t = *trainer_;
  Model& model = t.model();
  SoftmaxCrossEntropy loss;
  const int n = model.num_layers();
  // Row indices: 0 batch, 1..n forward, n+1 loss, n+2 zero_grad, n+3..2n+2 backward (reversed),
  // 2n+3 finite check, 2n+4 optimizer.
  StepProfile prof;
  prof.rows.push_back({"batch", "batch"});
  for (int i = 0; i < n; ++i)
    prof.rows.push_back({model.layer_name(i) + " forward", model.layer(i).kind()});
  prof.rows.push_back({"loss", "loss"});
  prof.rows.push_back({"zero_grad", "zero_grad"});
  for (int i = n; i-- > 0;)
    prof.rows.push_back({model.layer_name(i) + " backward", model.layer(i).kind()});
  prof.rows.push_back({"finite check", "finite check"});
  prof.rows.push_back({"optimizer", "optimizer"});
  Tensor x;
  const int untimed = 3;
  for (int s = 0; s < untimed + steps; ++s) {
    const bool timed = s >= untimed;
    size_t row = 0;
    double t0 = now();
    auto lap = [&] {
      const double t1 = now();
      if (timed) prof.rows[row].seconds += t1 - t0;
      ++row;
      t0 = t1;
    };
    x = train_x_;  // what the sampler does: copy the batch
    lap();
    const Tensor* cur = &x;
    for (int i = 0; i < n; ++i) {
      cur = &model.layer(i).forward(*cur, Mode::Train);
      lap();
    }
    loss.forward(*cur, train_labels_.data());
    const Tensor& dlogits = loss.backward();
    lap();
    model.zero_grad();
    lap();
    const Tensor* grad = &dlogits;
    for (int i = n; i-- > 0;) {  // as Model::backward: a ReLU with the pooling after it
      const int top = i;
      grad = &model.backward_from(i, *grad);
      lap();
      if (i < top) lap();  // the ReLU's row: its part is in the pooling's
    }
    bool finite = true;
    for (const NamedParam& p : model.params())
      finite = finite && simd4::all_finite(p.param.grad->data(), p.param.grad->size());
    lap();
    if (!finite) throw Error("profile: the reference run's gradients are not finite");
    t.optimizer().step(0.05f);
    lap();
  }
  for (ProfileRow& r : prof.rows) {
    r.seconds /= steps;
    prof.step_seconds += r.seconds;
  }
  const double t0 = now();
  for (int s = 0; s < steps; ++s) t.step();
  prof.trainer_seconds = (now() - t0) / steps;
  return prof;
}

}  // namespace bnlab
