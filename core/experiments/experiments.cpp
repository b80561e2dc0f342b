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

Json tables_to_json(const Tables& tables) {
  Json out = Json::array();
  for (const auto& [stem, table] : tables) {
    Json columns = Json::array(), rows = Json::array();
    for (const std::string& c : table.columns()) columns.push(c);
    for (const auto& row : table.data()) {
      Json cells = Json::array();
      for (const std::string& cell : row) cells.push(cell);
      rows.push(std::move(cells));
    }
    Json t = Json::object();
    t.set("name", stem);
    t.set("columns", std::move(columns));
    t.set("rows", std::move(rows));
    out.push(std::move(t));
  }
  return out;
}

Tables tables_from_json(const Json& json) {
  if (!json.is_array()) throw Error("a part must be an array of tables {name, columns, rows}");
  Tables tables;
  for (const Json& t : json.items()) {
    if (!t.is_object() || !t.find("name") || !t.find("columns") || !t.find("rows"))
      throw Error("a table must be {name, columns, rows}");
    std::vector<std::string> columns;
    for (const Json& c : t.get("columns").items("columns")) columns.push_back(c.string("column"));
    Table table(std::move(columns));
    for (const Json& row : t.get("rows").items("rows")) {
      std::vector<std::string> cells;
      for (const Json& cell : row.items("row")) cells.push_back(cell.string("cell"));
      table.add(cells);  // throws when the row does not fit the columns
    }
    tables.emplace_back(t.get("name").string("name"), std::move(table));
  }
  return tables;
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

ExperimentInfo sweep_experiment(std::string name, std::string title, std::string description,
                                int default_steps, ExperimentParts parts) {
  ExperimentInfo info{std::move(name), std::move(title), std::move(description),
                      default_steps,   nullptr,          std::move(parts)};
  // The sequential run is one part of every unit, combined: the same code as the parts' run.
  const ExperimentParts p = info.parts;
  info.run = [p, n = info.name](const ExperimentOptions& options) {
    ExperimentInfo self;
    self.name = n;
    self.parts = p;
    return combine_experiment_parts(self, options, {p.run(options, 0, p.units)});
  };
  return info;
}

Tables run_experiment_part(const ExperimentInfo& info, const ExperimentOptions& options, int begin,
                           int end) {
  if (info.parts.units <= 0) throw Error("experiment " + info.name + " does not run in parts");
  if (begin < 0 || end > info.parts.units || begin >= end)
    throw Error("experiment " + info.name + ": units " + std::to_string(begin) + " to " +
                std::to_string(end) + " are not a part of its " + std::to_string(info.parts.units) +
                " units (0 <= begin < end <= " + std::to_string(info.parts.units) + ")");
  return info.parts.run(options, begin, end);
}

ExperimentResult combine_experiment_parts(const ExperimentInfo& info,
                                          const ExperimentOptions& options,
                                          const std::vector<Tables>& parts) {
  if (info.parts.units <= 0) throw Error("experiment " + info.name + " does not run in parts");
  if (parts.empty()) throw Error("experiment " + info.name + ": no parts to combine");
  ExperimentResult result;
  result.tables = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].size() != result.tables.size())
      throw Error("experiment " + info.name + ": part " + std::to_string(i) + " has " +
                  std::to_string(parts[i].size()) + " tables, part 0 has " +
                  std::to_string(result.tables.size()));
    for (size_t t = 0; t < parts[i].size(); ++t) {
      auto& [stem, table] = result.tables[t];
      const auto& [other_stem, other] = parts[i][t];
      if (other_stem != stem || other.columns() != table.columns())
        throw Error("experiment " + info.name + ": table " + std::to_string(t) + " of part " +
                    std::to_string(i) + " (" + other_stem + ") does not match part 0's (" + stem +
                    ")");
      for (const auto& row : other.data()) table.add(row);
    }
  }
  result.summary = info.parts.summarize(options, result.tables);
  return result;
}

}  // namespace bnlab
