// Named experiments: each reproduces (or tests) one claim of the BN literature on BN Lab's own
// data (NUMERICS.md section 6) and returns tidy CSV tables plus a summary of headline figures.
// `bnlab experiment NAME --out DIR` writes them as DIR/*.csv and DIR/summary.json.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/csv.h"  // fmt(): a number for a table cell
#include "io/json.h"

namespace bnlab {

struct ExperimentOptions {
  uint32_t seed = 1;
  int steps = 0;             // 0: the experiment's own default
  std::string data_dir;      // where the MNIST IDX files are
  // Called now and then with a fraction done in [0, 1] (the CLI prints it, the page shows it).
  std::function<void(double)> progress = [](double) {};
};

// A tidy table: one header, one row per observation, written as CSV.
class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  // Values in column order; numbers are written with up to 7 significant digits.
  void add(const std::vector<std::string>& row);
  std::string csv() const;
  size_t rows() const { return rows_.size(); }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::vector<std::string>>& data() const { return rows_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};


struct ExperimentResult {
  Json summary = Json::object();                     // headline figures, see each experiment
  std::vector<std::pair<std::string, Table>> tables;  // file stem -> table
};

struct ExperimentInfo {
  std::string name;          // "lr-sweep"
  std::string title;         // "BN allows higher learning rates"
  std::string description;   // what is run, what is measured, what the literature says, and
                             // what BN Lab found (including where it does not reproduce)
  int default_steps;
  std::function<ExperimentResult(const ExperimentOptions&)> run;
};

const std::vector<ExperimentInfo>& experiments();
// Throws Error listing the names when there is no such experiment.
const ExperimentInfo& find_experiment(const std::string& name);
// Creates DIR and its parents if needed (before an experiment runs, so that a bad path fails at
// once); throws Error naming the part that cannot be created.
void make_output_dir(const std::string& dir);
// Writes DIR/<stem>.csv for every table and DIR/summary.json (the summary plus name, title,
// seed and steps). Creates DIR if needed.
void write_experiment(const ExperimentInfo& info, const ExperimentOptions& options,
                      const ExperimentResult& result, const std::string& dir);

}  // namespace bnlab
