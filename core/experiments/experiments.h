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
  std::string data_dir;      // where the MNIST and Fashion-MNIST IDX files are
  // The real data the experiments train on: "mnist" or "fashion" (check_experiment_dataset);
  // covariate-shift trains on its synthetic shapes with mnist and on Fashion-MNIST with fashion.
  std::string dataset = "mnist";
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

using Tables = std::vector<std::pair<std::string, Table>>;

// A sweep whose units (each one training run, or a few) share nothing can be
// run in parts, in parallel (the page's worker pool): a part runs the units [begin, end) and
// returns their rows only; the parts' tables, concatenated in unit order, are the sequential
// run's, and the summary is computed from them (summarize). Every unit builds its runs from the
// options alone (the seed, not a generator left behind by an earlier unit), which is what makes
// the combined result equal the sequential one (tests/test_experiment_parts.cpp).
struct ExperimentParts {
  int units = 0;  // 0: the experiment runs in one piece only
  // The tables of units [begin, end) (progress: the fraction of those units done).
  std::function<Tables(const ExperimentOptions&, int begin, int end)> run;
  // The summary of the whole sweep from every unit's rows.
  std::function<Json(const ExperimentOptions&, const Tables&)> summarize;
};

struct ExperimentInfo {
  std::string name;          // "lr-sweep"
  std::string title;         // "BN allows higher learning rates"
  std::string description;   // what is run, what is measured, what the literature says, and
                             // what BN Lab found (including where it does not reproduce)
  int default_steps;
  std::function<ExperimentResult(const ExperimentOptions&)> run;
  ExperimentParts parts = {};  // set for the sweeps that can run in parts
};

// An experiment that runs in parts: its `run` is the combination of one part of every unit.
ExperimentInfo sweep_experiment(std::string name, std::string title, std::string description,
                                int default_steps, ExperimentParts parts);
// Runs units [begin, end) of a sweep (0 <= begin < end <= parts.units): tables only, no
// summary. Throws Error for an experiment that does not run in parts or a bad range.
Tables run_experiment_part(const ExperimentInfo& info, const ExperimentOptions& options, int begin,
                           int end);
// The parts' tables (in unit order, together every unit once) concatenated, with the summary:
// what info.run(options) returns. Throws Error when the parts' tables do not match (names,
// columns).
ExperimentResult combine_experiment_parts(const ExperimentInfo& info,
                                          const ExperimentOptions& options,
                                          const std::vector<Tables>& parts);

// Tables as JSON, [{name, columns, rows}] (rows: arrays of the cells' strings), and back: how a
// part's tables travel to whatever combines them (a job's part file, seeds.h). tables_from_json
// throws Error on anything else.
Json tables_to_json(const Tables& tables);
Tables tables_from_json(const Json& json);
// The real datasets the experiments train on (the page's accuracy target is given for each).
inline const std::vector<std::string>& experiment_datasets() {
  static const std::vector<std::string> names{"mnist", "fashion"};
  return names;
}
// Throws Error unless dataset is one of experiment_datasets().
void check_experiment_dataset(const std::string& dataset);

const std::vector<ExperimentInfo>& experiments();
// Throws Error listing the names when there is no such experiment.
const ExperimentInfo& find_experiment(const std::string& name);
// Creates DIR and its parents if needed (before an experiment runs, so that a bad path fails at
// once); throws Error naming the part that cannot be created.
void make_output_dir(const std::string& dir);
// Writes text to a file; throws Error unless every byte reached it (a full disk, /dev/full) once
// it is closed.
void write_text_file(const std::string& path, const std::string& text);
// One seed's summary.json: the run's summary after the experiment's name, title, seed, steps and
// dataset (what seeds.h summarizes over seeds; the JS API's runSeeds gets it from here too).
Json run_record(const ExperimentInfo& info, const ExperimentOptions& options,
                const ExperimentResult& result);
// Writes DIR/<stem>.csv for every table and DIR/summary.json (run_record). Creates DIR if needed.
void write_experiment(const ExperimentInfo& info, const ExperimentOptions& options,
                      const ExperimentResult& result, const std::string& dir);

}  // namespace bnlab
