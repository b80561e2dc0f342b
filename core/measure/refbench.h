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
  double train_gflops = 0;  // train_steps_per_s times the 60.33 MFLOP of a step (NUMERICS.md 7)
  // CPU time per training step (the median repeat's), when run() was given a CPU clock: unlike
  // wall time it does not count the time the process waits for a core on a shared machine.
  // 0 without a CPU clock (a browser has none).
  double train_cpu_ms_per_step = 0;
  std::vector<double> train_cpu_ms_per_step_runs;
  double eval_images_per_s = 0;
  float loss_step1 = 0, loss_after_warmup = 0, loss_final = 0;
  double eval_logit_sum = 0;
  // Training steps/s with the every-step measurements (Instrument::measure_step) taken after
  // each step, and the fraction they add to a step: steps_per_s / measured_steps_per_s - 1.
  double measured_steps_per_s = 0;
  double measure_overhead = 0;
};

// The peak arithmetic rate of one core that `bnlab bench` compares its GFLOP/s with:
//   ghz x lanes (floats per vector of the build: 16 AVX-512, 8 AVX/AVX2, 4 SSE or wasm SIMD, 1)
//       x 4 flops per lane per cycle (two FMA pipes of 2 flops each, or, without FMA, as on
//         wasm SIMD, two multiply and two add pipes; what AMD Zen 4/5 and Intel since Haswell
//         issue per cycle)
// The clock is the caller's (the CLI measures it with a chain of dependent adds, or takes
// --ghz): a VM's /proc/cpuinfo gives its nominal clock, which a boosting core exceeds.
struct MachinePeak {
  double ghz = 0;
  int lanes = 0;               // of the build that runs (compile-time)
  int flops_per_lane_cycle = 4;
  double gflops = 0;           // ghz * lanes * flops_per_lane_cycle
  std::string isa;             // "avx512", "avx2", "sse", "wasm-simd128", "scalar"
};
MachinePeak build_peak(double ghz);

// Where a training step's time goes: one row per part of the step, in the order the step runs
// them (the batch, each layer's forward, the loss, zeroing the gradients, each layer's backward
// in reverse, the finiteness check of the gradients, the optimizer), with the mean seconds per
// step over the profiled steps. A conv layer's backward holds both its weight and its input
// gradient (one call).
struct ProfileRow {
  std::string part;    // "conv1 forward", "bn1 backward", "optimizer", ...
  std::string kind;    // the layer's kind ("conv", "bn", ...) or the part's own name
  double seconds = 0;  // mean per step
};
struct StepProfile {
  std::vector<ProfileRow> rows;
  double step_seconds = 0;     // sum of the rows
  double trainer_seconds = 0;  // mean of Trainer::step() timed whole, over as many steps
};

// The reference run: a trainer on the 32 fixed examples, shuffle off (so every step sees the
// same batch), SGD lr 0.05 momentum 0.9, weights from the reference stream; plus the eval batch.
class ReferenceBench {
 public:
  explicit ReferenceBench(bool with_bn);

  // Runs the whole protocol. now() returns seconds (the caller's clock: std::chrono natively,
  // performance.now() in the browser).
  // cpu_now, if given, returns the process's CPU seconds (train_cpu_ms_per_step).
  BenchResult run(const BenchProtocol& protocol, const std::function<double()>& now,
                  const std::function<double()>& cpu_now = {});
  // The step taken apart (the same arithmetic as Trainer::step, each part timed with now()),
  // over `steps` steps after a few untimed ones; then as many whole Trainer::step() calls.
  StepProfile profile(int steps, const std::function<double()>& now);

 private:
  bool with_bn_;
  std::unique_ptr<Trainer> trainer_;
  Tensor eval_x_;  // (256, 1, 28, 28)
  Tensor train_x_;  // the 32 training examples (the batch every step sees)
  std::vector<int> train_labels_;
};

}  // namespace bnlab
