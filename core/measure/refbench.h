// The benchmark of NUMERICS.md 8: the reference CNN (with or without BN) on one fixed batch,
// with data and initial weights drawn from xorshift32 exactly as PyTorch's and TensorFlow.js's
// harnesses draw them, so that the losses cross-check the arithmetic as well as the speed.
// The native CLI and the WebAssembly module both run it through this one file.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "train/trainer.h"

namespace bnlab {

struct BenchProtocol {
  int warmup = 20;       // steps before timing
  int repeats = 5;       // timed repeats; the median is reported
  int steps = 200;       // steps per timed repeat
  double eval_seconds = 1.0;  // length of one eval repeat
  bool measure = true;   // also time steps with the every-step measurements
  static BenchProtocol quick() { return {5, 3, 20, 0.1, true}; }
};

struct BenchResult {
  std::string variant;   // "bn" or "nobn"
  double train_steps_per_s = 0;
  std::vector<double> train_steps_per_s_runs;
  double eval_images_per_s = 0;
  float loss_step1 = 0, loss_after_warmup = 0, loss_final = 0;
  double eval_logit_sum = 0;
  // Training steps/s with the every-step measurements (Instrument::measure_step) taken after
  // each step, and the fraction they add to a step: steps_per_s / measured_steps_per_s - 1.
  double measured_steps_per_s = 0;
  double measure_overhead = 0;
};

// The reference run: a trainer on the 32 fixed examples, shuffle off (so every step sees the
// same batch), SGD lr 0.05 momentum 0.9, weights from the reference stream; plus the eval batch.
class ReferenceBench {
 public:
  explicit ReferenceBench(bool with_bn);

  // Runs the whole protocol. now() returns seconds (the caller's clock: std::chrono natively,
  // performance.now() in the browser).
  BenchResult run(const BenchProtocol& protocol, const std::function<double()>& now);

 private:
  bool with_bn_;
  std::unique_ptr<Trainer> trainer_;
  Tensor eval_x_;  // (256, 1, 28, 28)
};

}  // namespace bnlab
