#include "experiments/experiments.h"

#include "base/error.h"
#include "experiments/registry.h"
#include "io/csv.h"

namespace bnlab {

void Table::add(const std::vector<std::string>& row) {
  if (row.size() != columns_.size())
    throw Error("table row has " + std::to_string(row.size()) + " values for " + std::to_string(columns_.size()) +
                " columns");
  rows_.push_back(row);
}

std::string Table::csv() const {
  std::string out = csv_row(columns_);
  for (const auto& r : rows_) out += csv_row(r);
  return out;
}

const std::vector<ExperimentInfo>& experiments() {
  // What BN does to training itself, then to the distributions, the gradient and the landscape.
  static const std::vector<ExperimentInfo> list = {
      ioffe_mnist_experiment(),    lr_sweep_experiment(),        init_sweep_experiment(),
      grad_init_experiment(),      convergence_experiment(),     regularization_experiment(),
      covariate_shift_experiment(), noisy_bn_experiment(),       landscape_experiment(),
      batch_size_experiment(),     placement_experiment(),       train_eval_experiment(),
  };
  return list;
}

const ExperimentInfo& find_experiment(const std::string& name) {
  std::string names;
  for (const ExperimentInfo& e : experiments()) {
    if (e.name == name) return e;
    names += (names.empty() ? "" : ", ") + e.name;
  }
  throw Error("no experiment named '" + name + "' (experiments: " + names + ")");
}

}  // namespace bnlab
