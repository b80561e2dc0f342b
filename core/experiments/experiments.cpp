#include "experiments/experiments.h"

#include <cmath>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>

#include "base/error.h"
#include "experiments/experiments_list.h"

namespace bnlab {

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return buf;
}

void Table::add(const std::vector<std::string>& row) {
  if (row.size() != columns_.size())
    throw Error("table row has " + std::to_string(row.size()) + " values for " + std::to_string(columns_.size()) +
                " columns");
  rows_.push_back(row);
}

std::string Table::csv() const {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) s += ',';
      const bool quote = cells[i].find_first_of(",\"\n") != std::string::npos;
      if (!quote) {
        s += cells[i];
        continue;
      }
      s += '"';
      for (char c : cells[i]) s += c == '"' ? std::string("\"\"") : std::string(1, c);
      s += '"';
    }
    return s + "\n";
  };
  std::string out = line(columns_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::vector<ExperimentInfo> all_experiments() {
  std::vector<ExperimentInfo> list = training_experiments();
  for (ExperimentInfo& e : normalization_experiments()) list.push_back(std::move(e));
  return list;
}

const std::vector<ExperimentInfo>& experiments() {
  static const std::vector<ExperimentInfo> list = all_experiments();
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
  // mkdir -p: every prefix that ends at a '/', then the whole path.
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) throw Error("cannot create directory " + part);
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) throw Error(dir + " is not a directory");
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
