// Writing an experiment's results to a directory (the CLI's `bnlab experiment NAME --out DIR`).
// A file of its own: the WebAssembly module returns results instead of writing them, so it does
// not link this file.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "experiments/experiments.h"

namespace bnlab {

void check_experiment_dataset(const std::string& dataset) {
  const auto& names = experiment_datasets();
  if (std::find(names.begin(), names.end(), dataset) != names.end()) return;
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : " or ") + n;
  throw Error("experiments train on dataset " + list + ", not '" + dataset + "'");
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
    throw Error("cannot create directory " + part.string() +
                (error ? " (" + error.message() + ")" : ""));
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error("cannot write " + path);
  f << text;
  f.close();
  if (!f) throw Error("cannot write " + path + " (disk full or write error)");
}

void write_experiment(const ExperimentInfo& info, const ExperimentOptions& options,
                      const ExperimentResult& result, const std::string& dir) {
  make_output_dir(dir);
  auto write = [&](const std::string& file, const std::string& text) {
    write_text_file(dir + "/" + file, text);
  };
  for (const auto& [stem, table] : result.tables) write(stem + ".csv", table.csv());
  write("summary.json", run_record(info, options, result).dump() + "\n");
}

Json run_record(const ExperimentInfo& info, const ExperimentOptions& options,
                const ExperimentResult& result) {
  Json summary = Json::object();
  summary.set("experiment", info.name);
  summary.set("title", info.title);
  summary.set("seed", int64_t(options.seed));
  summary.set("steps", options.steps ? options.steps : info.default_steps);
  summary.set("dataset", options.dataset);
  for (const auto& [key, value] : result.summary.members()) summary.set(key, value);
  return summary;
}

}  // namespace bnlab
