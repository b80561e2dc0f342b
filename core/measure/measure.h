// What BN does, measured: plain structs filled from a Trainer, no printing (NUMERICS.md 4-5).
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
//   - internal covariate shift as a change of gradient (Santurkar et al., NUMERICS.md 4b),
//   - loss-landscape probes along the gradient (NUMERICS.md 5).
// On request (the page asks at display rate):
//   - feature maps of one test image in eval mode, at each layer before and after its normalizer
//     (FeatureMaps, measure_features);
//   - the test images an evaluation got wrong (collect_misclassified, from Trainer::evaluate's
//     predictions).
// Measuring never changes the run: running statistics, noise generators, weights and the data
// stream are put back exactly as they were.
#pragma once

#include <string>
#include <vector>

#include "train/trainer.h"

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

// One block of the network: a conv or fc layer and what follows it up to the next conv/fc layer.
// With a normalizer in the block, before/after are its input and output; without one, before is
// the conv/fc layer's output and after is empty.
struct FeatureMap {
  std::string layer;               // the normalizer ("bn1"), or the conv/fc layer without one ("conv1")
  int block = 0;                   // 1 for the first conv/fc layer's block, 2 for the second, ...
  Shape shape;                     // (1, C, H, W); H = W = 1 after an fc layer
  std::vector<float> before, after;  // (C*H*W) each; after empty without a normalizer
};

struct FeatureMaps {
  int image = 0;                   // index in the test set
  int label = 0, prediction = 0;   // the truth and the network's answer (argmax of the logits)
  float confidence = 0;            // softmax probability of the prediction
  Shape image_shape;               // (1, C, H, W)
  std::vector<float> pixels;       // (C*H*W) the image
  std::vector<FeatureMap> maps;    // one per block but the last (whose output is the logits)
  std::string error;               // why there are no maps ("" when there are)
};

struct Misclassified {
  int examined = 0, wrong = 0;     // examples evaluated, and how many of them were wrong
  std::vector<int> indices;        // (K) test-set index of the first K wrong examples, in order
  std::vector<int> predictions, labels;  // (K) the network's answer and the truth
  Shape image_shape;               // (1, C, H, W)
  std::vector<float> pixels;       // (K*C*H*W) the K images
};

// The first max_images test examples that predictions (from Trainer::evaluate, one per example
// from the start of the test set) gets wrong. Throws Error when there are more predictions than
// test examples or max_images is negative.
void collect_misclassified(const Dataset& test, const std::vector<int>& predictions, int max_images,
                           Misclassified& out);

class Instrument {
 public:
  // The probe batch is the first probe_size test examples (fixed for the whole run).
  Instrument(Trainer& trainer, const MeasureConfig& config);

  // After trainer.step(): the cheap measurements of that step. They read what the step left in
  // the layers (their inputs, BN's batch statistics), so they must come before anything else runs
  // the network (evaluate, measure_features, measure_heavy, or measure_step's own probe pass:
  // call it once per step). A model that has not run since it was built gives empty lists.
  void measure_step(StepMeasurements& out);
  // Before the next trainer.step(): ICS and landscape on the batch that step will use.
  void measure_heavy(HeavyMeasurements& out);

  // Feature maps of test image `image` in eval mode (the running statistics, as at inference),
  // alone in its batch. Throws Error for an image outside the test set. A network that cannot
  // take one example (BatchNorm without running statistics after an fc layer: m = 1) gets no
  // maps and the reason in out.error.
  void measure_features(int image, FeatureMaps& out);

  const MeasureConfig& config() const { return config_; }

 private:
  Trainer& trainer_;
  MeasureConfig config_;
  Tensor probe_x_;                 // (P, C, H, W)
  std::vector<float> scratch_;     // values of one unit, for percentiles
  Tensor image_x_;                 // (1, C, H, W) the image of measure_features
};

}  // namespace bnlab
