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

// The schedule of an experiment's runs: `steps` lockstep steps, every side taking all of them
// (a side that diverged still gets its rows, as Trainer::step reports a diverged run), no
// evaluation or heavy measurement scheduled (the hooks pick their own steps).
RunSchedule fixed_steps(int64_t steps);

// One run of a sweep: `config` trained for `steps` steps, a run of its own. Rows added: the loss
// every steps/50 steps to curves (variant, value, step, loss) and one row to runs (variant,
// value, test_accuracy, diverged, diverged_at, trains). The BN and no-BN runs of one value start
// from the same weights and draw the same batches from the seed, so each is the side it would be
// in a lockstep pair (tests/test_experiment_parts.cpp), and the page's pool can train them apart.
// A sweep's run "trains" if it did not diverge (diverged_at < 0) and ends at the dataset's
// "trains" accuracy (targets.h trains_accuracy) or more.
bool sweep_run_trains(float accuracy, int64_t diverged_at, const std::string& dataset);

void train_sweep_run(const Config& config, const std::shared_ptr<const DataSplit>& data, int steps,
                     const std::string& value, Table& runs, Table& curves);

// Units [begin, end) of a sweep of the sigmoid MLP with and without BN over `values`: two units
// per value (unit u: values[u / 2], kPair[u % 2]; pair_sweep_unit_count), for
// `steps_or(options, default_steps)` steps. `set(config, value)` sets the swept option, and
// `column` names it in tables runs and curves (lr-sweep, init-sweep). One run per unit, not one
// pair, so that a pool of two workers splits a sweep of 7 values evenly (7 / 14 of it each, not
// 4 / 7 on one of them).
Tables pair_sweep_units(const ExperimentOptions& options, int default_steps,
                        const std::string& column, const std::vector<float>& values,
                        void (*set)(Config&, float), int begin, int end);
int pair_sweep_unit_count(const std::vector<float>& values);

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
