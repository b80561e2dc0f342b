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

// Every experiment that runs in parts, at few steps (the point is the combination, not what the
// sweep finds): one part per unit run in reverse order (as the pool may finish them; each unit
// depends on the options only, not on the units run before it in the same process), combined,
// writes the sequential run's files byte for byte.
TEST_CASE("experiment parts: every sweep in parts, combined, writes the sequential run's files") {
  // The experiments the lessons run and every other one whose runs share nothing; the others
  // (noisy-bn, train-eval) run in one piece.
  const std::map<std::string, int> expected_units = {
      {"ioffe-mnist", 2}, {"lr-sweep", 14},  {"init-sweep", 18},      {"grad-init", 4},       {"convergence", 3},
      {"regularization", 2}, {"covariate-shift", 3}, {"landscape", 2}, {"batch-size", 36},
      {"placement", 3}};
  // Steps for each: as few as still give every table rows (batch-size's batch 2 runs 16 times its
  // steps; grad-init's steps are batches). The whole test takes about 12 s of CPU.
  const std::map<std::string, int> steps = {{"ioffe-mnist", 20}, {"lr-sweep", 20},      {"init-sweep", 10},
                                            {"grad-init", 2},      {"convergence", 10},
                                            {"regularization", 4}, {"covariate-shift", 10},
                                            {"landscape", 4},      {"batch-size", 1},
                                            {"placement", 6}};
  std::map<std::string, int> units;
  for (const ExperimentInfo& e : experiments())
    if (e.parts.units > 0) units[e.name] = e.parts.units;
  CHECK(units == expected_units);
  const auto base = std::filesystem::temp_directory_path() / "bnlab-test-parts";
  for (const auto& unit : units) {
    // Named copies: clang 14 (the sanitizer build) cannot capture structured bindings (CAPTURE).
    const std::string name = unit.first;
    const int n = unit.second;
    CAPTURE(name);
    const ExperimentInfo& info = find_experiment(name);
    ExperimentOptions options = short_options(2);
    options.steps = steps.at(name);
    const ExperimentResult sequential = info.run(options);
    const auto expected = written(info, options, sequential, (base / "sequential").string());
    REQUIRE(expected.count("summary.json") == 1);
    REQUIRE(expected.size() == sequential.tables.size() + 1);
    for (const auto& stem_table : sequential.tables) {
      const std::string& stem = stem_table.first;
      CAPTURE(stem);
      CHECK(stem_table.second.rows() > 0);
    }

    // One part per unit, as the pool and the jobs run them; for two sweeps also two uneven parts
    // of several units each.
    std::vector<std::vector<std::pair<int, int>>> splits(1);
    for (int u = 0; u < n; ++u) splits[0].push_back({u, u + 1});
    if (name == "lr-sweep" || name == "init-sweep") splits.push_back({{0, n / 2}, {n / 2, n}});
    for (const auto& split : splits) {
      CAPTURE(split.size());
      std::vector<Tables> parts(split.size());
      for (size_t i = split.size(); i-- > 0;)
        parts[i] = run_experiment_part(info, options, split[i].first, split[i].second);
      const ExperimentResult combined = combine_experiment_parts(info, options, parts);
      CHECK(combined.summary.dump() == sequential.summary.dump());
      CHECK(written(info, options, combined, (base / "combined").string()) == expected);
    }
  }
}

TEST_CASE("experiment parts: a lr-sweep part holds its units' rows only") {
  const ExperimentInfo& info = find_experiment("lr-sweep");
  ExperimentOptions options = short_options(1);
  options.steps = 10;
  // Units 3-6: the run without BN at rate 0.03, both runs at 0.1, the one with BN at 0.3.
  const Tables part = run_experiment_part(info, options, 3, 7);
  REQUIRE(part[0].second.rows() == 4);
  const std::vector<std::vector<std::string>> expected = {
      {"none", "0.03"}, {"bn", "0.1"}, {"none", "0.1"}, {"bn", "0.3"}};
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(part[0].second.data()[i][0] == expected[i][0]);
    CHECK(part[0].second.data()[i][1] == expected[i][1]);
  }
}

TEST_CASE("experiment parts: bad requests fail with a message and run nothing") {
  const ExperimentInfo& info = find_experiment("lr-sweep");
  const ExperimentOptions options = short_options(1);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, 3, 3),
                       doctest::Contains("not a part of its 14 units"), Error);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, -1, 2), doctest::Contains("not a part"),
                       Error);
  CHECK_THROWS_WITH_AS(run_experiment_part(info, options, 12, 15), doctest::Contains("not a part"),
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
  const ExperimentInfo& whole = find_experiment("train-eval");
  CHECK(whole.parts.units == 0);
  CHECK_THROWS_WITH_AS(run_experiment_part(whole, options, 0, 1),
                       doctest::Contains("does not run in parts"), Error);
}
