// What the experiments share (internal to core/experiments/): the step count, the configs and
// labels of their runs, accuracy on a whole dataset, JSON figures that may be missing, and the
// BN / no-BN pair that the sweeps train.
//
// Runs compared side by side share the seed, so they start from the same conv/fc weights and see
// the same batches (trainer.h): they differ only in what is being compared. Descriptions state
// what BN Lab finds on its own data, including where it does not reproduce the literature; the
// figures quoted there come from `bnlab experiment NAME` at the default steps, seed 1 unless
// stated (tests/test_experiments_*.cpp check the qualitative results on two seeds).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/stats.h"
#include "experiments/registry.h"
#include "experiments/targets.h"
#include "train/run.h"
#include "train/trainer.h"

namespace bnlab {

// The steps of a run: the option, or the experiment's default when it is 0. Throws Error when
// negative.
int steps_or(const ExperimentOptions& options, int default_steps);

// The label of a variant in tables and summary keys: "bn", "none", "instance".
std::string label(NormKind kind);

// The default config on the experiment's dataset (options.dataset: mnist or fashion) with this
// model, normalizer and options.seed. Every experiment builds its configs from it (there is no
// MNIST-only variant), so that `--dataset fashion` reaches every run.
Config experiment_config(const std::string& model, NormKind norm, const ExperimentOptions& options);

// The fraction of all of `data` that the model classifies correctly in eval mode, in chunks of
// up to 256 examples. Trainer::evaluate scores the trainer's own test set only; experiments also
// score the training set and a second test set. Eval mode changes no state.
float eval_accuracy(Model& model, const Dataset& data);

// Test accuracy (eval mode) of a run; 0 once it has diverged: the forward of the diverging batch
// may have left non-finite running statistics behind.
float test_accuracy(Trainer& t);

// The accuracy on the first `count` test examples with the normalizers in Train mode on chunks of
// `chunk` examples: each prediction uses the statistics of its chunk (as a training step does),
// not the running ones. The run's state is left as it was.
double train_mode_accuracy(Trainer& trainer, int chunk, int count);

// Summary values that may not exist (a rate that never trained, a target never reached): null.
Json or_null(bool exists, double value);
// A JSON number that is null when not finite (a diverged run has no final loss).
Json number(double v);

// The mean batch loss over the last tenth of a run's steps (at least one step): a training
// curve's end, smoothed over batch noise.
class TailLoss {
 public:
  explicit TailLoss(int steps) : from_(steps - std::max(1, steps / 10)) {}
  void add(int64_t step, float loss) {
    if (step > from_) losses_.push_back(loss);
  }
  double value() const { return mean(losses_); }

 private:
  int64_t from_;
  std::vector<double> losses_;
};

// The two variants of most comparisons, in the order of their tables.
constexpr NormKind kPair[2] = {NormKind::Batch, NormKind::None};

struct PairResult {
  float accuracy[2] = {0, 0};  // final test accuracy (0 if diverged), in kPair order
  int64_t diverged_at[2] = {-1, -1};
  float threshold = 0.8f;  // "trains" at this accuracy: trains_accuracy(dataset), targets.h
  bool trains(int r) const { return diverged_at[r] < 0 && accuracy[r] >= threshold; }
};

// The schedule of an experiment's runs: `steps` lockstep steps, every side taking all of them
// (a side that diverged still gets its rows, as Trainer::step reports a diverged run), no
// evaluation or heavy measurement scheduled (the hooks pick their own steps).
RunSchedule fixed_steps(int64_t steps);

// BN and no-BN versions of `base` trained in lockstep for `steps` steps. Rows added: the loss
// every steps/50 steps to curves (variant, value, step, loss) and one row per variant to runs
// (variant, value, test_accuracy, diverged, diverged_at, trains).
PairResult train_pair(const Config& base, const std::shared_ptr<const DataSplit>& data, int steps,
                      const std::string& value, Table& runs, Table& curves);

// Units [begin, end) of a sweep of the sigmoid MLP's BN / no-BN pair (train_pair) over `values`,
// one unit each, for `steps_or(options, default_steps)` steps: `set(config, value)` sets the swept
// option, and `column` names it in tables runs and curves (lr-sweep, init-sweep).
Tables pair_sweep_units(const ExperimentOptions& options, int default_steps,
                        const std::string& column, const std::vector<float>& values,
                        void (*set)(Config&, float), int begin, int end);

// --- Sweeps in parts (experiments.h ExperimentParts) ---
// A part returns tables only, so a sweep's summary is computed from the cells of its tables, the
// same way whether the units ran in one process or in many.

// The index of a table's column; throws Error when the table has no such column.
size_t column(const Table& table, const std::string& name);
// A cell as a number: NaN for an empty cell (a run that never diverged has no step) or "nan".
// cell_float parses straight to float: an accuracy k / n that fmt wrote with up to 7 digits comes
// back as the very float that was written (a threshold test on it gives the same answer).
double cell_double(const std::string& cell);
float cell_float(const std::string& cell);

}  // namespace bnlab
