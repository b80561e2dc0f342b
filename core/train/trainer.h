// One training run: a model, its optimizer and its stream of batches, stepped one mini-batch at
// a time (the page drives it step by step). Two trainers made from configs that differ only in
// model settings (normalizer, placement, lr, ...) and share the seed start from the same conv/fc
// weights and see the same examples in the same order: the basis of every side-by-side run.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "train/config.h"
#include "train/loss.h"
#include "train/model.h"
#include "train/optimizer.h"
#include "train/sampler.h"

namespace bnlab {

// A run has diverged when its loss is not finite or beyond this bound, or a gradient is not
// finite. Cross-entropy starts near ln(classes) (2.3 for 10) and a run that learns stays below
// it; a loss of 1e6 needs logits a million apart, weights that no learning rate recovers from in
// float32 (the next steps overflow). Nothing is updated by the step that diverges.
inline constexpr float kDivergedLoss = 1e6f;

struct StepMetrics {
  int64_t step = 0;       // the step's number (1 for the first); if it diverged, diverged_at()
  float loss = 0;         // mean loss of the batch, before the update
  float accuracy = 0;     // fraction of the batch classified correctly, before the update
  float lr = 0;           // learning rate used
  bool diverged = false;  // the loss was not finite or above kDivergedLoss, or a gradient
                          // was not finite: nothing was updated
};

struct EvalMetrics {
  float loss = 0;
  float accuracy = 0;
  int count = 0;          // examples evaluated
};

// Options by name, in the text form set_option reads: {{"lr", "0.01"}, {"momentum", "0.5"}}.
using OptionValues = std::vector<std::pair<std::string, std::string>>;

// The data a config names: mnist, fashion (IDX files in data_dir, made by the build), shapes and
// shift (generated from the seed), idx (the config's four IDX paths). Throws Error with the reason.
std::shared_ptr<const DataSplit> load_data(const Config& config, const std::string& data_dir);
// Tells load_data that the built dataset's files in data_dir (mnist or fashion) hold `data`,
// parsed already from the same bytes (the page's worker parsed them for its networks before it
// wrote them there for an experiment): load_data returns it while the files are unchanged
// instead of parsing them again. Throws Error for another dataset or missing files.
void keep_data(const std::string& dataset, const std::string& data_dir,
               std::shared_ptr<const DataSplit> data);

class Trainer {
 public:
  // data is shared (two trainers of a comparison read one copy). Throws Error for a bad config
  // or a model that does not fit the data.
  Trainer(const Config& config, std::shared_ptr<const DataSplit> data);

  // One mini-batch: forward (train mode), loss, backward, SGD update. Once a run has diverged,
  // step() changes nothing and returns diverged = true.
  StepMetrics step();
  // Test-set loss and accuracy with the normalizers in the given mode (Eval: running statistics;
  // Train: statistics of each evaluation batch, running statistics left untouched). With
  // predictions, also each evaluated example's predicted class, in test-set order from the first.
  EvalMetrics evaluate(Mode mode, int max_examples = 0, std::vector<int>* predictions = nullptr);

  int64_t step_count() const { return step_; }
  bool diverged() const { return diverged_at_ >= 0; }
  int64_t diverged_at() const { return diverged_at_; }  // -1 while training is fine
  // "training", or "diverged at step N: loss is NaN", "... loss 3e19 (above 1e6)" (for the UI
  // and the CLI).
  std::string status() const;

  const Config& config() const { return config_; }
  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const BatchSampler& sampler() const { return sampler_; }
  const DataSplit& data() const { return *data_; }
  Sgd& optimizer() { return sgd_; }
  // The last training batch (the tests compare two runs' batches with them).
  const Tensor& batch_x() const { return x_; }
  const std::vector<int>& batch_labels() const { return labels_; }

  // Changes options of the run between two steps, keeping its weights, optimizer state, running
  // statistics, noise generators and place in the data: the run goes on exactly as it would
  // after save_state(), a new Trainer with the changed config and load_state() there (the
  // trainer.cpp table says how each option is taken). An option that changes the model's
  // structure or the data throws Error "option batch_size cannot change during a run (it
  // changes the batches): it needs a reset"; an invalid value throws set_option's or validate's
  // Error. After an Error nothing has changed.
  void set_options(const OptionValues& options);
  // The options among `options` whose new value set_options refuses because they need a new
  // run (empty: set_options takes them all). Throws Error for an invalid value.
  std::vector<std::string> options_needing_reset(const OptionValues& options) const;

  // Full state as JSON (state.h documents the format); load_state continues bit-identically.
  std::string save_state() const;
  void load_state(const std::string& json);

 private:
  // The current config with `options` applied and checked.
  Config with_options(const OptionValues& options) const;

  Config config_;
  std::shared_ptr<const DataSplit> data_;
  Model model_;
  Sgd sgd_;
  BatchSampler sampler_;
  SoftmaxCrossEntropy loss_;
  Tensor x_;                 // (B, C, H, W) the current batch
  std::vector<int> labels_;  // (B)
  Tensor eval_x_;
  std::vector<int> eval_labels_;
  int64_t step_ = 0;
  int64_t diverged_at_ = -1;
  std::string diverged_reason_;
};

}  // namespace bnlab
