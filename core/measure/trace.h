// One activation followed through a normalization layer with the numbers of the last training
// step (the page's BN inspector), and "what if" forwards of a chosen image among other
// batch-mates (the page's batch-mates view).
//
// A TraceRecorder copies, right after a training step and before anything else runs the
// network, what every normalization layer used and made in that step's forward and backward:
// its input x, xhat, output y, the statistics it normalized with (per batch, Ghost sub-batch or
// sample and group), gamma and beta as the forward used them (the optimizer has moved them since),
// the running statistics after the step's update, Batch Renorm's r and d, noisy BN's drawn scale
// and shift, and the backward's dy, dx, dgamma, dbeta. trace() then walks one unit through the
// layer's formulas (SCIENCE.md 1 and 3, the comments of layers/batchnorm.cpp and groupnorm.cpp)
// in the layer's own float arithmetic, next to the values the layer stored, so a test can check
// that they agree and a learner sees real numbers substituted into each formula.
//
// WhatIf runs the network forward on a batch made of one test image and companions from the
// training set, in train mode (the image's outputs depend on its companions) or eval mode (they
// do not), and puts back everything a train-mode forward changes (running statistics, their
// counters, the noise generators): the run's saved state is byte-identical afterwards. It draws
// the companions from a generator of its own, never from the run's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/rng.h"
#include "io/json.h"
#include "train/trainer.h"

namespace bnlab {

// What one normalization layer used and made in the last training step (see above).
struct NormCapture {
  std::string name;  // "bn1"
  std::string kind;  // "bn", "brn", "gbn", "ln", "gn", "in"
  int layer = 0;     // index in the model
  Shape shape;       // (N, C, H, W) of the layer's input and output
  float eps = 0;
  bool batch_stats = true;                // normalized with batch statistics (always for LN/GN/IN)
  int sub_batch = 0;                      // BN kinds: samples per (sub-)batch; N unless Ghost
  int groups = 0;                         // LN/GN/IN: number of groups G (1 for LN, C for IN)
  std::vector<float> x, xhat, y, dy, dx;  // (N*C*H*W) each
  std::vector<float> mean, var, inv_std;  // BN: (S*C); LN/GN/IN: (N*G)
  std::vector<float> gamma, beta, dgamma, dbeta;  // (C); gamma/beta as the forward used them
  std::vector<float> running_mean, running_var;   // (C) after the update; empty without
  // (C) before the update (what Batch Renorm's r and d were computed from); empty unless
  // remember() was called right before the step.
  std::vector<float> running_mean_before, running_var_before;
  std::vector<float> r, d;                      // (C) Batch Renorm's corrections
  std::vector<float> noise_scale, noise_shift;  // (N*C) noisy BN's draws; empty without
};

// One unit (n, c, h, w) of one normalization layer in the last training step. Values are the
// layer's own where the name says so (*_layer), else computed here from the layer's inputs in the
// layer's arithmetic (float, the statistics as floats, inv_std as the layer computed it).
struct UnitTrace {
  std::string layer, kind;
  int64_t step = 0;
  Shape shape;  // (N, C, H, W) of the layer's input
  int n = 0, c = 0, h = 0, w = 0;
  // Over which values the statistics were taken: samples [sample_begin, sample_end) of the batch,
  // channels [channel_begin, channel_end), every (h, w); m of them. group: the Ghost sub-batch
  // or the GroupNorm group the unit belongs to (0 for BN and LN). over: the same in words.
  int sample_begin = 0, sample_end = 0, channel_begin = 0, channel_end = 0, group = 0;
  int64_t m = 0;
  std::string over;
  bool batch_stats = true;
  // Forward: y = gamma * (xhat * r + d) + beta with r = 1, d = 0 except Batch Renorm.
  float x = 0, mean = 0, var = 0, eps = 0, inv_std = 0;
  float xhat = 0, xhat_layer = 0;  // (x - mean) * inv_std; the layer's stored xhat
  float gamma = 1, beta = 0, r = 1, d = 0;
  float y = 0, y_layer = 0;  // computed; the layer's output element
  // Eval path (tracking BN only): the same input with the running statistics after the update.
  bool has_eval = false;
  float running_mean = 0, running_var = 1, eval_inv_std = 0, xhat_eval = 0, y_eval = 0;
  // The running statistics before the step's update (has_before: remember() saw them): Batch
  // Renorm computes r and d from these, sigma = sqrt(running_var_before + eps).
  bool has_before = false;
  float running_mean_before = 0, running_var_before = 1;
  // Noisy BN (a noise layer after this one): the drawn s and m of (n, c) and s * y + m.
  bool noisy = false;
  float noise_scale = 1, noise_shift = 0, y_noisy = 0;
  // Backward. dy: dL/dy of the unit; dgamma, dbeta: the layer's gradients of channel c.
  // dx = term_g + term_mean + term_xhat, where for BN (k = gamma * r * inv_std)
  //   term_g = k * dy,  term_mean = -k * mean(g),  term_xhat = -k * xhat * mean(g * xhat)
  // over the m values of the statistics, and for LN/GN/IN (dxhat = gamma_c * g)
  //   term_g = inv_std * gamma * dy,  term_mean = -inv_std * mean(dxhat),
  //   term_xhat = -inv_std * xhat * mean(dxhat * xhat).
  float dy = 0, dgamma = 0, dbeta = 0;
  float mean_g = 0, mean_gx = 0;  // mean(g), mean(g * xhat) (LN/GN/IN: of dxhat)
  float term_g = 0, term_mean = 0, term_xhat = 0, dx = 0, dx_layer = 0;
};

class TraceRecorder {
 public:
  // Copies every normalization layer of trainer's model as the last training step left it. Call
  // right after Trainer::step(), before anything else runs the network (evaluate, measurements,
  // WhatIf). A run without a step yet (or whose last step diverged before its backward) leaves
  // the recorder empty, with the reason in error().
  void capture(const Trainer& trainer);
  // Right before Trainer::step(): copies every tracking normalizer's running statistics (C
  // floats each), which the step's update then overwrites; the next capture() of that step
  // carries them as running_*_before.
  void remember(const Trainer& trainer);
  void clear();

  int64_t step() const { return step_; }
  const std::string& error() const { return error_; }
  const std::vector<NormCapture>& layers() const { return layers_; }

  // The unit (n, c, h, w) of normalization layer `layer` ("bn1"). Throws Error naming the valid
  // layers or ranges when it does not exist, or error() when nothing was captured.
  UnitTrace trace(const std::string& layer, int n, int c, int h, int w) const;

 private:
  int64_t step_ = 0;
  std::string error_ = "no training step has been captured yet (take a step)";
  std::vector<NormCapture> layers_;
  // remember(): the step count then, and per model layer index its running mean and variance.
  int64_t remembered_step_ = -1;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> before_;
};

// A normalization layer's output unit followed through a what-if forward.
struct WhatIfUnit {
  std::string layer;  // "bn1"
  int c = 0, h = 0, w = 0;
};

// One what-if forward of test image `image` (sample 0 of the batch) and its companions.
struct WhatIfSample {
  std::vector<int> companions;  // training-set indices
  float y = 0;                  // the unit's normalizer output for the image
  float mean = 0, var = 0;      // the statistics the unit was normalized with (BN kinds: of
                                //   its channel; LN/GN/IN: of the image's group)
  std::vector<float> probs;     // (K) softmax of the image's logits
  int prediction = 0;           // argmax
};

class WhatIf {
 public:
  // seed: of WhatIf's own generator for companions (the run's generators are never used).
  WhatIf(Trainer& trainer, uint32_t seed);

  // Forward in `mode` of [image, companions...]; everything a train-mode forward changes is put
  // back. Throws Error for an image or companion out of range, an unknown layer or unit, or a
  // batch the network cannot take (BN with one value per channel).
  WhatIfSample run(int image, const std::vector<int>& companions, Mode mode,
                   const WhatIfUnit& unit);
  // count companions drawn uniformly from the training set without repetition.
  std::vector<int> draw_companions(int count);

 private:
  Trainer& trainer_;
  Rng rng_;
  Tensor batch_;  // kept: the model's layer_input(0) points at it after run()
};

// Every field of a UnitTrace under its own name (numbers, flags, shape as [N, C, H, W]): what the
// page's BN inspector gets (wasm/bindings.cpp converts it as it is).
Json unit_trace_json(const UnitTrace& t);

}  // namespace bnlab
