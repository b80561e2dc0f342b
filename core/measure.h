// What BN does, measured: plain structs filled from a Trainer, no printing (SCIENCE.md 4-5).
//
// Every step (cheap: StepMeasurements):
//   - per normalization layer and channel: mean and biased variance of the layer's input over
//     the batch (N, H, W), running mean and variance, gamma, beta;
//   - a fixed-bin histogram of one selected channel's input and output ("before / after BN");
//   - per activation layer: the 1/15/50/85/99th percentiles of one chosen unit of its input
//     (the pre-activation) on a fixed probe batch in training mode (Ioffe & Szegedy, Figure 1),
//     every band_every steps: this one needs a forward pass of its own (on the reference CNN a
//     probe of 16 examples costs about 40% of a training step), so by default it is taken every
//     10th step, which keeps all the every-step measurements well under 20% of a step (bnlab
//     bench prints the figure; every 5th step measured 11-20%, too close on this shared VM);
//     band_every = 1 takes it every step;
//   - per conv/fc layer: gradient norm, weight norm, update-to-weight ratio lr*||buf|| / ||w||.
// Every K steps (heavy: HeavyMeasurements), on the batch the next step will use:
//   - internal covariate shift as a change of gradient (Santurkar et al., SCIENCE.md 4b),
//   - loss-landscape probes along the gradient (SCIENCE.md 5).
// Measuring never changes the run: running statistics, noise generators, weights and the data
// stream are put back exactly as they were.
#pragma once

#include <string>
#include <vector>

#include "trainer.h"

namespace bnlab {

struct MeasureConfig {
  int hist_norm = 0;        // which normalization layer (0: the first) the histograms follow
  int hist_channel = 0;     // which of its channels
  int bins = 32;            // histogram bins
  int probe_size = 16;      // examples in the fixed probe batch (0: no percentile bands)
  int probe_unit = 0;       // the unit (channel or feature) followed in each activation's input
  int band_every = 10;      // percentile bands every this many steps (steps divisible by it)
  std::vector<float> etas = {0.5f, 1.f, 2.f, 4.f};  // landscape step sizes, in units of lr
};

struct NormLayerStats {
  std::string name;          // "bn1"
  int layer = 0;             // index in the model
  std::vector<float> batch_mean, batch_var;       // (C) of this step's input
  std::vector<float> running_mean, running_var;   // (C), empty without running statistics
  std::vector<float> gamma, beta;                 // (C), empty without affine
};

struct Histogram {
  float lo = 0, hi = 0;            // range of the bins; values outside count in the end bins
  std::vector<float> counts;       // (bins) fraction of the values in each bin
};

struct UnitBand {
  std::string layer;               // the activation layer whose input is followed ("relu1")
  int unit = 0;
  float q[5] = {0, 0, 0, 0, 0};    // 1st, 15th, 50th, 85th, 99th percentiles
};

struct ParamLayerStats {
  std::string name;                // "conv1" (weight and bias together)
  float grad_norm = 0, weight_norm = 0, update_ratio = 0;
};

struct StepMeasurements {
  int64_t step = 0;
  std::vector<NormLayerStats> norms;
  std::string hist_layer;          // name of the layer the histograms follow ("" if none)
  int hist_channel = 0;
  Histogram input, output;
  std::vector<UnitBand> bands;     // empty on steps without bands (see band_every)
  std::vector<ParamLayerStats> layers;
};

struct IcsLayer {
  std::string name;                // "conv2": its weight gradient before/after the layers below move
  float l2 = 0;                    // ||G - G'||_2, ideal 0
  float cosine = 1;                // cos(G, G'), ideal 1
};

struct Landscape {
  std::vector<float> etas;         // absolute step sizes
  std::vector<float> losses;       // L(w - eta g)
  std::vector<float> grad_changes; // ||g - grad L(w - eta g)||
  float loss_min = 0, loss_max = 0;
  float predictiveness = 0;        // max of grad_changes
  float beta_smoothness = 0;       // max of grad_change / ||eta g||
};

struct HeavyMeasurements {
  int64_t step = 0;                // measured before this step (step_count() + 1) is taken
  std::vector<IcsLayer> ics;
  Landscape landscape;
};

class Instrument {
 public:
  // The probe batch is the first probe_size test examples (fixed for the whole run).
  Instrument(Trainer& trainer, const MeasureConfig& config);

  // After trainer.step(): the cheap measurements of that step.
  void measure_step(StepMeasurements& out);
  // Before the next trainer.step(): ICS and landscape on the batch that step will use.
  void measure_heavy(HeavyMeasurements& out);

  const MeasureConfig& config() const { return config_; }

 private:
  Trainer& trainer_;
  MeasureConfig config_;
  Tensor probe_x_;                 // (P, C, H, W)
  std::vector<float> scratch_;     // values of one unit, for percentiles
};

}  // namespace bnlab
