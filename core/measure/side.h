// One side of a comparison: a Trainer with its instruments (the Instrument of measure.h, the BN
// inspector's TraceRecorder and the batch-mates' WhatIf of trace.h), the predictions of its last
// eval-mode evaluation, and the metrics of the steps it took in its last call. What the page's
// worker holds per network (wasm/bindings.cpp binds it as `Side`, wasm/bnlab.mjs wraps it as
// `Side`); it returns plain structs, the core's Json and measurement entries (entries.h), which
// the bindings only convert.
//
// A Side trains on its own (step()) or as one of several sides of a Run (train/run.h) through
// train_sides() below, which is how the worker trains one side or a lockstep pair.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/json.h"
#include "measure/entries.h"
#include "measure/measure.h"
#include "measure/trace.h"
#include "train/run.h"
#include "train/trainer.h"

namespace bnlab {

// The metrics of the steps a side took in one call (step() or train_sides()); element i is step
// first_step + i. A call stopped by a divergence ends with the diverging step.
struct StepRecord {
  int64_t first_step = 1;
  std::vector<float> loss, accuracy, lr;
};

// A tensor of the model by its PyTorch name: a parameter ("conv1.weight"), its gradient
// ("conv1.weight.grad") or a buffer ("bn1.running_mean").
struct NamedTensor {
  std::string name;
  std::vector<int> shape;  // the first `dims` of (N, C, H, W): the shape as PyTorch gives it
  const char* kind = "";   // "param", "grad", "buffer"
  const Tensor* tensor = nullptr;
};

// Batch-mates (Side::what_if): one eval-mode forward of the image alone and `draws` train-mode
// forwards among companions, following one unit.
struct WhatIfDraws {
  int image = 0, label = 0, batch_size = 0;
  std::string layer;
  int c = 0, h = 0, w = 0;
  int64_t step = 0;
  int classes = 0;
  WhatIfSample eval;                // alone, running statistics
  std::vector<float> y, mean, var;  // (draws)
  std::vector<float> probs;         // (draws * classes)
  std::vector<int> predictions;     // (draws)
};

class Side {
 public:
  // Throws Error for a bad config or a model that does not fit the data (Trainer's).
  Side(const Config& config, std::shared_ptr<const DataSplit> data);

  Trainer& trainer() { return trainer_; }
  const Trainer& trainer() const { return trainer_; }

  // Up to n steps through a one-side Run, fewer when the run diverges (the diverging step is the
  // last one recorded).
  const StepRecord& step(int n);
  // The side's part in a Run's steps (step() above, train_sides() below): begin_steps() forgets
  // the last call's metrics, before_step() and record() are the run's hooks, steps() is what was
  // recorded.
  void begin_steps();
  void before_step();
  void record(const SideStep& s);
  const StepRecord& steps() const { return steps_; }

  // mode "eval" (running statistics) or "train" (statistics of each test batch); anything else
  // throws Error. An eval-mode evaluation keeps its predictions for misclassified().
  EvalMetrics evaluate(const std::string& mode, int max_examples);
  // Epochs completed plus the fraction of the current one.
  double epoch() const;

  // Every tensor tensor() finds: parameters, their gradients, buffers, in the model's order.
  std::vector<NamedTensor> tensors() const;
  // One of them; throws Error for a name that is none.
  NamedTensor tensor(const std::string& name) const;

  // What the instrument follows; takes effect at the next measurement.
  void set_measure_config(const MeasureConfig& config);
  // The cheap measurements of the last step as entries (entries.h step_entries). With tracing on
  // and `capture`, first the inspector's copy of what the normalizers used in that step: like the
  // measurements it must be taken before anything else runs the network.
  std::vector<Entry> measure_step(bool capture);
  // ICS and the landscape on the batch the next step uses (heavy_entries; none once diverged).
  std::vector<Entry> measure_heavy();
  // Feature maps of test image `image` in eval mode (feature_entries).
  std::vector<Entry> measure_features(int image);
  // The first max_images test images the last eval-mode evaluate() got wrong (step -1 and no
  // images before any evaluation).
  Entry misclassified(int max_images);

  // Whether measure_step() also captures the normalizers for trace_unit() (a copy of each
  // normalizer's input, xhat, output and gradients: a few MB for ref-cnn, so only on request).
  void set_trace(bool on);
  // One unit of normalization layer `layer` in the step of the last capturing measure_step():
  // every field of UnitTrace (trace.h unit_trace_json). Throws Error as TraceRecorder::trace.
  Json trace_unit(const std::string& layer, int n, int c, int h, int w) const;
  // Batch-mates: `draws` (1 to 64) train-mode forwards of test image `image` among
  // batch_size - 1 (at least 1) companions drawn from the training set by WhatIf's own
  // generator, and one eval-mode forward; the run is left byte-identical. Throws Error for
  // arguments out of range (before anything runs) and as WhatIf::run.
  WhatIfDraws what_if(int image, int batch_size, int draws, const std::string& layer, int c, int h,
                      int w);

 private:
  Instrument& instrument();

  Trainer trainer_;
  std::unique_ptr<Instrument> instrument_;  // made at the first measurement
  bool tracing_ = false;
  TraceRecorder tracer_;
  std::unique_ptr<WhatIf> what_if_;  // made at the first what_if(); its generator is its own
  StepMeasurements step_m_;
  HeavyMeasurements heavy_m_;
  FeatureMaps features_;
  Misclassified misclassified_;
  std::vector<int> predictions_;   // of the last eval-mode evaluate(), from the first test image
  int64_t predictions_step_ = -1;  // the step it was taken at
  StepRecord steps_;
};

// Up to n lockstep steps of the sides in `run` (each attached to it, in this order), taken side
// by side (Run::train_each: the lockstep numbers, each network in the cache for its steps), every
// side recording its steps. heavy(side) is called when the heavy measurements are due before a
// side's step, stepped(side, eval_due, last) after each step a side took (last: the call's last
// lockstep step). Returns the lockstep steps taken.
int64_t train_sides(Run& run, const std::vector<Side*>& sides, int64_t n,
                    HookRef<void(int side)> heavy,
                    HookRef<void(int side, bool eval_due, bool last)> stepped);

}  // namespace bnlab
