// A sweep run in parts (the page's worker pool) and combined is the sequential run, byte for
// byte: the same CSV tables and summary.json (core/experiments/experiments.h, ExperimentParts).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "experiments/experiments.h"

using namespace bnlab;

namespace {

ExperimentOptions short_options(uint32_t seed) {
  ExperimentOptions options;
  options.seed = seed;
  options.steps = 40;  // short runs: the point is the combination, not what the sweep finds
  options.data_dir = BNLAB_DATA_DIR;
  return options;
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Every file write_experiment writes, by name.
std::map<std::string, std::string> written(const ExperimentInfo& info,
                                           const ExperimentOptions& options,
                                           const ExperimentResult& result, const std::string& dir) {
  std::filesystem::remove_all(dir);
  write_experiment(info, options, result, dir);
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    files[entry.path().filename().string()] = file_text(entry.path());
  std::filesystem::remove_all(dir);
  return files;
}

}  // namespace

TEST_CASE(
    "experiment parts: lr-sweep in parts, combined, writes the sequential run's files byte for "
    "byte") {
  const ExperimentInfo& info = find_experiment("lr-sweep");
  REQUIRE(info.parts.units == 7);
  const ExperimentOptions options = short_options(2);
  const ExperimentResult sequential = info.run(options);
  const auto base = std::filesystem::temp_directory_path() / "bnlab-test-parts";
  const auto expected = written(info, options, sequential, (base / "sequential").string());
  REQUIRE(expected.count("summary.json") == 1);
  REQUIRE(expected.count("runs.csv") == 1);
  REQUIRE(expected.count("curves.csv") == 1);

  // Uneven parts, and one part per unit (as the pool runs them), run in reverse order: each unit
  // depends on the options only, not on the units run before it in the same process.
  const std::vector<std::vector<std::pair<int, int>>> splits = {
      {{0, 3}, {3, 4}, {4, 7}}, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}};
  for (const auto& split : splits) {
    CAPTURE(split.size());
    std::vector<Tables> parts(split.size());
    for (size_t i = split.size(); i-- > 0;)
      parts[i] = run_experiment_part(info, options, split[i].first, split[i].second);
    // A part holds its units' rows only: two runs (BN and none) per rate.
    CHECK(parts[0][0].second.rows() == size_t(2 * (split[0].second - split[0].first)));
    const ExperimentResult combined = combine_experiment_parts(info, options, parts);
    CHECK(combined.summary.dump() == sequential.summary.dump());
    CHECK(written(info, options, combined, (base / "combined").string()) == expected);
  }
}

TEST_CASE("experiment parts: bad requests fail with a message and run nothing") {
  const ExperimentInfo& info = find_experiment("lr-sweep");
  const ExperimentOptions options = short_options(1);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, 3, 3),
                       doctest::Contains("not a part of its 7 units"), Error);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, -1, 2), doctest::Contains("not a part"),
                       Error);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, 5, 8), doctest::Contains("not a part"),
                       Error);
  CHECK_THROWS_WITH_AS(combine_experiment_parts(info, options, {}), doctest::Contains("no parts"),
                       Error);
  // Parts whose tables do not line up (another experiment's, or a table missing).
  Tables one;
  one.emplace_back("runs", Table({"variant", "lr"}));
  Tables other;
  other.emplace_back("runs", Table({"variant", "init_scale"}));
  CHECK_THROWS_WITH_AS(combine_experiment_parts(info, options, {one, other}),
                       doctest::Contains("does not match"), Error);
  CHECK_THROWS_WITH_AS(combine_experiment_parts(info, options, {one, {}}),
                       doctest::Contains("has 0 tables"), Error);
  // An experiment that runs in one piece only.
  const ExperimentInfo& whole = find_experiment("landscape");
  CHECK(whole.parts.units == 0);
  CHECK_THROWS_WITH_AS(run_experiment_part(whole, options, 0, 1),
                       doctest::Contains("does not run in parts"), Error);
}
