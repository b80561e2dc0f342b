#include "experiments/experiments.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "io/csv.h"
#include "experiments/registry.h"

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

void make_output_dir(const std::string& dir) {
  if (dir.empty()) throw Error("experiment output needs a directory (--out DIR)");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  // create_directories fails (or, for an existing file, quietly does nothing) when some part of
  // the path is not a directory: name the first such part.
  if (error || !std::filesystem::is_directory(dir)) {
    std::filesystem::path part;
    for (const auto& name : std::filesystem::path(dir)) {
      part /= name;
      if (!std::filesystem::is_directory(part)) break;
    }
    throw Error("cannot create directory " + part.string() + (error ? " (" + error.message() + ")" : ""));
  }
}

void write_experiment(const ExperimentInfo& info, const ExperimentOptions& options, const ExperimentResult& result,
                      const std::string& dir) {
  make_output_dir(dir);
  auto write = [&](const std::string& file, const std::string& text) {
    std::ofstream f(dir + "/" + file, std::ios::binary);
    if (!f || !(f << text)) throw Error("cannot write " + dir + "/" + file);
  };
  for (const auto& [stem, table] : result.tables) write(stem + ".csv", table.csv());
  Json summary = Json::object();
  summary.set("experiment", info.name);
  summary.set("title", info.title);
  summary.set("seed", int64_t(options.seed));
  summary.set("steps", options.steps ? options.steps : info.default_steps);
  for (const auto& [key, value] : result.summary.members()) summary.set(key, value);
  write("summary.json", summary.dump() + "\n");
}

}  // namespace bnlab
