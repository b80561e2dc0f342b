// regularization: the train/test gap on 500 training digits, with and without BN (NUMERICS.md 6).
#include <memory>

#include "experiments/common.h"

namespace bnlab {

namespace {

// The first 500 training digits, trained on until they are fitted (800 steps of 32 are 51 epochs;
// both networks, with and without BN, classify all 500 correctly by step 700), for the MLP and
// the reference CNN; train and test accuracy in eval mode.
constexpr int kSmallTrainSize = 500;

constexpr int kRegularizationSteps = 800;  // the default steps (--steps 0)

constexpr const char* kNetworks[2] = {"mlp", "ref-cnn"};

// Units [begin, end): one network each (kNetworks), with and without BN in lockstep.
Tables regularization_units(const ExperimentOptions& options, int begin, int end) {
  const int steps = steps_or(options, kRegularizationSteps);
  const int record_every = std::max(1, steps / 4);
  Table accuracy({"network", "variant", "step", "train_accuracy", "test_accuracy", "gap"});
  std::shared_ptr<const DataSplit> data;
  for (int n = begin; n < end; ++n) {
    Run run(fixed_steps(steps));  // with and without BN in lockstep
    for (NormKind kind : kPair) {
      Config c = experiment_config(kNetworks[n], kind, options);
      c.train_size = kSmallTrainSize;
      if (!data) data = load_data(c, options.data_dir);
      run.add(c, data);
    }
    RunHooks hooks;
    const auto on_stepped = [&](const SideStep& st, Trainer& t) {
      const int64_t s = st.step;
      if (s % record_every != 0 && s != steps) return;
      const float train = t.diverged() ? 0.f : eval_accuracy(t.model(), t.data().train);
      const float test = test_accuracy(t);
      accuracy.add(
          {kNetworks[n], label(kPair[st.side]), fmt(s), fmt(train), fmt(test), fmt(train - test)});
    };
    const auto on_lockstep = [&](int64_t s) {
      if (s % 100 == 0) options.progress((n - begin + double(s) / steps) / (end - begin));
    };
    hooks.stepped = on_stepped;
    hooks.lockstep = on_lockstep;
    run.train(steps, hooks);
  }
  return {{"accuracy", std::move(accuracy)}};
}

// Per network and variant, the accuracies of the last row (the run's end) and their gap.
Json regularization_summary(const ExperimentOptions&, const Tables& tables) {
  const Table& accuracy = tables.at(0).second;
  const size_t train_col = column(accuracy, "train_accuracy"),
               test_col = column(accuracy, "test_accuracy");
  Json j = Json::object();
  for (const char* network : kNetworks) {
    Json summary = Json::object();
    for (int r = 0; r < 2; ++r) {
      float train = 0, test = 0;
      for (const auto& row : accuracy.data())
        if (row[0] == network && row[1] == label(kPair[r])) {
          train = cell_float(row[train_col]);
          test = cell_float(row[test_col]);
        }
      const std::string k = label(kPair[r]);
      summary.set("train_accuracy_" + k, double(train));
      summary.set("test_accuracy_" + k, double(test));
      summary.set("gap_" + k, double(train) - double(test));
    }
    j.set(network, summary);
  }
  j.set("train_size", kSmallTrainSize);
  return j;
}

}  // namespace

ExperimentInfo regularization_experiment() {
  return sweep_experiment(
      "regularization", "Does BN regularize? Train/test gap on 500 training images",
      "Train/test gap on a small training set. The first 500 MNIST training digits, trained on for "
      "800 steps of 32 (51 epochs), by the MLP and the reference CNN, with and without BN (same "
      "weights and batches). Measured in eval mode: accuracy on the 500 training digits, on the "
      "2,000 test digits, and the gap between them. The claim (Ioffe & Szegedy): the noise of "
      "mini-batch statistics regularizes, so BN reduces overfitting; later work found the effect "
      "weak and dependent on the setting. BN Lab does not reproduce it (claims cnn-gap, mlp-gap; "
      "seeds 1 and 2): all four "
      "runs fit the 500 digits (100%); the reference CNN's gap is the same with and without BN "
      "(6.3-6.7 points against 6.8), and the MLP's is larger with BN (17.4-17.8 points against "
      "15.4-16.4): with BN it fits the set within 200 steps, and its test accuracy then declines a "
      "little (from 83-84% to 82-83%).",
      kRegularizationSteps, {2, regularization_units, regularization_summary});
}

}  // namespace bnlab
