// regularization: the train/test gap on 500 training digits, with and without BN (NUMERICS.md 6).
#include <memory>

#include "experiments/common.h"

namespace bnlab {

namespace {

// The first 500 training digits, trained on until they are fitted (800 steps of 32 are 51 epochs;
// both networks, with and without BN, classify all 500 correctly by step 700), for the MLP and
// the reference CNN; train and test accuracy in eval mode.
constexpr int kSmallTrainSize = 500;

ExperimentResult run_regularization(const ExperimentOptions& options) {
  const int steps = steps_or(options, 800);
  const int record_every = std::max(1, steps / 4);
  const char* networks[2] = {"mlp", "ref-cnn"};
  Table accuracy({"network", "variant", "step", "train_accuracy", "test_accuracy", "gap"});
  ExperimentResult result;
  std::shared_ptr<const DataSplit> data;
  for (int n = 0; n < 2; ++n) {
    std::vector<std::unique_ptr<Trainer>> runs;
    for (NormKind kind : kPair) {
      Config c = experiment_config(networks[n], kind, options);
      c.train_size = kSmallTrainSize;
      if (!data) data = load_data(c, options.data_dir);
      runs.push_back(std::make_unique<Trainer>(c, data));
    }
    float train[2] = {0, 0}, test[2] = {0, 0};
    for (int s = 1; s <= steps; ++s) {
      for (int r = 0; r < 2; ++r) {
        Trainer& t = *runs[size_t(r)];
        t.step();
        if (s % record_every != 0 && s != steps) continue;
        train[r] = t.diverged() ? 0.f : eval_accuracy(t.model(), t.data().train);
        test[r] = test_accuracy(t);
        accuracy.add({networks[n], label(kPair[r]), fmt(s), fmt(train[r]), fmt(test[r]),
                      fmt(train[r] - test[r])});
      }
      if (s % 100 == 0) options.progress((n + double(s) / steps) / 2);
    }
    Json summary = Json::object();
    for (int r = 0; r < 2; ++r) {
      const std::string k = label(kPair[r]);
      summary.set("train_accuracy_" + k, double(train[r]));
      summary.set("test_accuracy_" + k, double(test[r]));
      summary.set("gap_" + k, double(train[r]) - double(test[r]));
    }
    result.summary.set(networks[n], summary);
  }
  result.summary.set("train_size", kSmallTrainSize);
  result.tables.emplace_back("accuracy", std::move(accuracy));
  return result;
}

}  // namespace

ExperimentInfo regularization_experiment() {
  return {
      "regularization", "Does BN regularize? Train/test gap on 500 digits",
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
      800, run_regularization};
}

}  // namespace bnlab
