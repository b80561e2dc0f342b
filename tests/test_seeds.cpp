// Experiments over many seeds (core/experiments/seeds.h): seed lists, Student's t interval,
// verdicts, the summary over seeds, every claim's figures, and the same summary from GNU parallel.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "base/error.h"
#include "experiments/common.h"
#include "experiments/experiments.h"
#include "experiments/seeds.h"
#include "experiments/targets.h"

using namespace bnlab;

namespace {

// The CDF of Student's t at q, by Simpson's rule on the density (independent of the table).
double t_cdf(double q, int df) {
  const double nu = df;
  const double c = std::exp(std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2)) / std::sqrt(nu * M_PI);
  const int n = 200000;
  const double h = q / n;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double x = i * h;
    const double f = c * std::pow(1 + x * x / nu, -(nu + 1) / 2);
    sum += f * (i == 0 || i == n ? 1 : i % 2 ? 4 : 2);
  }
  return 0.5 + sum * h / 3;
}

Json seed_summary(int seed, double a, double b, const std::string& experiment = "placement") {
  Json s = Json::object();
  s.set("experiment", experiment);
  s.set("title", "t");
  s.set("seed", seed);
  s.set("steps", 10);
  Json acc = Json::object();
  acc.set("none", 0.5);
  acc.set("before", b);
  acc.set("after", a);
  s.set("late_test_accuracy", acc);
  return s;
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("seeds.lists and ranges parse, and nonsense is refused") {
  CHECK(parse_seeds("1-10").size() == 10);
  CHECK(parse_seeds("7") == std::vector<uint32_t>{7});
  CHECK(parse_seeds("1,4,9") == std::vector<uint32_t>{1, 4, 9});
  CHECK(parse_seeds("1-3,8") == std::vector<uint32_t>{1, 2, 3, 8});
  CHECK(parse_seeds("4294967295") == std::vector<uint32_t>{4294967295u});
  for (const char* bad : {"", "3-1", "1,1", "1-3,2", "a", "1-", "-4", "1,,2", "4294967296", "0x10", " 1", "1-20000"})
    CHECK_THROWS_AS(parse_seeds(bad), Error);
}

TEST_CASE("seeds.the t quantile agrees with the integrated t density") {
  for (int df : {1, 2, 3, 4, 5, 9, 10, 20, 30, 31, 35, 45, 60, 90, 120, 500, 100000}) {
    CAPTURE(df);
    CHECK(t_cdf(t_quantile_95(df), df) == doctest::Approx(0.975).epsilon(3e-5));
  }
  CHECK_THROWS_AS(t_quantile_95(0), Error);
}

TEST_CASE("seeds.the interval of a small sample, by hand") {
  // {1, 2, 3, 4}: mean 2.5, sd sqrt(5/3), half-width t(3) * sd / 2 = 3.1824 * 1.290994 / 2.
  const Interval r = t_interval({1, 2, 3, 4, std::nan("")});
  CHECK(r.n == 4);
  CHECK(r.mean == doctest::Approx(2.5));
  CHECK(r.sd == doctest::Approx(std::sqrt(5.0 / 3)));
  CHECK(r.hi - r.mean == doctest::Approx(3.1824 * std::sqrt(5.0 / 3) / 2));
  CHECK(r.mean - r.lo == doctest::Approx(r.hi - r.mean));
  const Interval one = t_interval({0.25});
  CHECK((one.n == 1 && one.lo == 0.25 && one.hi == 0.25));
}

TEST_CASE("seeds.verdicts follow the interval") {
  Claim greater{"g", "a is larger", "a", "b", "greater", 0.01, false};
  Claim less = greater;
  less.relation = "less";
  Claim near = greater;
  near.relation = "near";
  auto iv = [](double lo, double hi, int n = 10) {
    Interval r;
    r.n = n, r.lo = lo, r.hi = hi, r.mean = (lo + hi) / 2;
    return r;
  };
  CHECK(verdict(greater, iv(0.02, 0.05)) == "reproduces");
  CHECK(verdict(greater, iv(-0.05, -0.02)) == "does not reproduce: the opposite");
  CHECK(verdict(greater, iv(-0.005, 0.008)) == "does not reproduce: no difference");
  CHECK(verdict(greater, iv(-0.05, 0.05)) == "inconclusive at 10 seeds");
  CHECK(verdict(greater, iv(0.005, 0.05)) == "inconclusive at 10 seeds");  // not beyond the margin
  CHECK(verdict(greater, iv(0.02, 0.05, 2)) == "inconclusive at 2 seeds");
  CHECK(verdict(less, iv(-0.05, -0.02)) == "reproduces");
  CHECK(verdict(less, iv(0.02, 0.05)) == "does not reproduce: the opposite");
  CHECK(verdict(near, iv(-0.005, 0.008)) == "reproduces");
  CHECK(verdict(near, iv(0.02, 0.05)) == "does not reproduce: they differ");
  CHECK(verdict(near, iv(-0.005, 0.05)) == "inconclusive at 10 seeds");
}

TEST_CASE("seeds.the summary over seeds: figures, paired claims, missing values and mixed inputs") {
  // placement's claim: after - before > one point. Seeds given out of order.
  std::vector<Json> runs = {seed_summary(3, 0.91, 0.95), seed_summary(1, 0.92, 0.96), seed_summary(2, 0.90, 0.95)};
  const Json s = summarize_seeds(runs);
  CHECK(s.get("seeds").items().size() == 3);
  CHECK(s.get("seeds").items()[0].integer() == 1);
  const Json& after = s.get("figures").get("late_test_accuracy.after");
  CHECK(after.get("mean").number() == doctest::Approx((0.91 + 0.92 + 0.90) / 3));
  CHECK(after.get("values").items()[0].number() == doctest::Approx(0.92));  // seed 1 first
  CHECK(s.get("figures").find("seed") == nullptr);
  const Json& claim = s.get("claims").items().at(0);
  CHECK(claim.get("id").string() == "after");
  const Json& d = claim.get("difference");
  CHECK(d.get("mean").number() == doctest::Approx(-0.13 / 3));
  // Differences -0.04, -0.05, -0.04: sd 0.005774, half-width 4.3027 * 0.005774 / sqrt(3) = 0.01434,
  // so the interval [-0.0577, -0.0290] lies beyond the margin of one point on the other side.
  CHECK(d.get("ci95").items()[1].number() == doctest::Approx(-0.13 / 3 + 0.014343).epsilon(1e-3));
  CHECK(claim.get("verdict").string() == "does not reproduce: the opposite");
  CHECK(claim.get("text").string().find("3 seeds") != std::string::npos);

  // A null figure leaves its seed out of the claim and counts as missing.
  runs.push_back(seed_summary(4, 0.9, 0.9));
  Json acc = Json::object();
  acc.set("none", 0.5);
  acc.set("before", Json());
  acc.set("after", 0.9);
  runs.back().set("late_test_accuracy", acc);
  const Json m = summarize_seeds(runs);
  CHECK(m.get("figures").get("late_test_accuracy.before").get("missing").integer() == 1);
  CHECK(m.get("claims").items()[0].get("difference").get("n").integer() == 3);

  CHECK_THROWS_AS(summarize_seeds({seed_summary(1, 1, 1), seed_summary(1, 1, 1)}), Error);
  CHECK_THROWS_AS(summarize_seeds({seed_summary(1, 1, 1), seed_summary(2, 1, 1, "landscape")}), Error);
  Json other_steps = seed_summary(2, 1, 1);
  other_steps.set("steps", 11);
  CHECK_THROWS_AS(summarize_seeds({seed_summary(1, 1, 1), other_steps}), Error);
  CHECK_THROWS_AS(summarize_seeds({}), Error);
}

TEST_CASE("seeds.the committed MNIST findings hold every experiment with exactly its claims") {
  // core/experiments/findings/mnist.json (made by .ci/findings.sh; the tests run in the source
  // directory): a claim added, removed or renamed in claims.cpp makes it stale.
  std::ifstream f("core/experiments/findings/mnist.json");
  REQUIRE_MESSAGE(f, "core/experiments/findings/mnist.json is missing: run .ci/findings.sh mnist");
  std::stringstream text;
  text << f.rdbuf();
  const Json findings = Json::parse(text.str());
  const Json& committed = findings.get("experiments");
  for (const ExperimentInfo& e : experiments()) {
    CAPTURE(e.name);
    const Json* entry = committed.find(e.name);
    REQUIRE_MESSAGE(entry, "not in the committed findings");
    std::vector<std::string> ids, expected;
    for (const Json& c : entry->get("claims").items()) ids.push_back(c.get("id").string());
    for (const Claim& c : claims_of(e.name)) expected.push_back(c.id);
    CHECK(ids == expected);
  }
  CHECK(committed.members().size() == experiments().size());
}

TEST_CASE("seeds.every claim names figures its experiment reports") {
  // Each experiment once, at 2 steps (too short to mean anything, long enough to report every
  // figure): summarize_seeds throws if a claim names a figure the summary lacks.
  for (const ExperimentInfo& e : experiments()) {
    CAPTURE(e.name);
    CHECK_FALSE(claims_of(e.name).empty());
    ExperimentOptions o;
    o.seed = 1;
    o.steps = 2;
    o.data_dir = BNLAB_DATA_DIR;
    const std::string dir = "/tmp/bnlab_test_seeds_claims/" + e.name;
    CHECK_NOTHROW(run_seeds(e, o, {1}, 1, dir));
  }
}

TEST_CASE("seeds.the accuracy targets follow the dataset") {
  // targets.h: MNIST's targets as they were set; Fashion-MNIST's by the stated rule (lower: the
  // MLP learns less of the clothes in the same steps).
  CHECK(trains_accuracy("mnist") == 0.8f);
  CHECK(convergence_targets("mnist") == std::array<float, 2>{0.85f, 0.9f});
  const float trains = trains_accuracy("fashion");
  const std::array<float, 2> targets = convergence_targets("fashion");
  CHECK(trains < 0.8f);
  CHECK(targets[0] < targets[1]);
  CHECK(targets[1] < 0.9f);

  // A run between the two datasets' "trains" targets trains on Fashion-MNIST, not on MNIST.
  const float between = (trains + 0.8f) / 2;
  CHECK_FALSE(sweep_run_trains(between, -1, "mnist"));
  CHECK(sweep_run_trains(between, -1, "fashion"));
  CHECK_FALSE(sweep_run_trains(between, 3, "fashion"));

  // The sweeps report the dataset's target and mark their runs by it (2 steps: no run trains, but
  // every row's "trains" is its accuracy against the reported target).
  for (const char* dataset : {"mnist", "fashion"}) {
    CAPTURE(dataset);
    ExperimentOptions o;
    o.steps = 2;
    o.data_dir = BNLAB_DATA_DIR;
    o.dataset = dataset;
    for (const char* name : {"lr-sweep", "init-sweep"}) {
      CAPTURE(name);
      const ExperimentResult r = find_experiment(name).run(o);
      CHECK(r.summary.get("threshold_accuracy").number() == double(trains_accuracy(dataset)));
    }
    // convergence names its figures by the dataset's targets, and so do its claims.
    const std::array<float, 2> t = convergence_targets(dataset);
    const std::string dir = std::string("/tmp/bnlab_test_seeds_targets/") + dataset;
    const Json s = run_seeds(find_experiment("convergence"), o, {1, 2}, 1, dir);
    for (float target : t) {
      const std::string key = "steps_to_" + target_name(target) + "_bn";
      CAPTURE(key);
      CHECK(s.get("figures").find(key));
    }
    const std::string high = target_name(t[1]);
    for (const Json& c : s.get("claims").items()) {
      CHECK(c.get("a").string().find("steps_to_" + high + "_") == 0);
      CHECK(c.get("literature").string().find(high + "%") != std::string::npos);
    }
    CHECK(claims_of("convergence", dataset).at(0).a == "steps_to_" + high + "_bn");
  }
  CHECK(target_name(0.9f) == "90");
  CHECK(claims_of("convergence").at(0).a == "steps_to_90_bn");
}

TEST_CASE("seeds.GNU parallel runs the printed jobs and merge gives the in-process summary") {
  REQUIRE_MESSAGE(shell("command -v parallel >/dev/null") == 0,
                  "GNU parallel is missing: `bash .ci/setup.sh native` installs it (Debian package parallel)");
  const std::string cli = BNLAB_CLI, base = "/tmp/bnlab_test_seeds_parallel";
  REQUIRE(shell("rm -rf " + base) == 0);
  // grad-init runs in parts (4 networks): one job per (unit, seed), 16 in all.
  REQUIRE(find_experiment("grad-init").parts.units == 4);
  const std::string args = " experiment grad-init --seeds 1-4 --steps 2 --data-dir " BNLAB_DATA_DIR;
  REQUIRE(shell(cli + args + " --threads 2 --out " + base + "/local >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli + args + " --out " + base + "/jobs --jobs 2>/dev/null >" + base + "-jobs.txt") == 0);
  const std::string jobs = read(base + "-jobs.txt");
  CHECK(std::count(jobs.begin(), jobs.end(), '\n') == 16);
  CHECK(jobs.find("--seed 3 --steps 2 --dataset mnist --data-dir") != std::string::npos);
  CHECK(jobs.find("--unit 3 --out") != std::string::npos);
  REQUIRE(shell("parallel --will-cite -j2 <" + base + "-jobs.txt >/dev/null 2>&1") == 0);
  // A job writes its unit's part only; merge combines each seed's parts, then the seeds.
  CHECK(read(base + "/jobs/seed-2/part-1.json").find("\"unit\":1") != std::string::npos);
  REQUIRE(shell(cli + " experiment merge " + base + "/jobs/seed-* --out " + base + "/jobs >/dev/null") == 0);
  const std::string local = read(base + "/local/summary.json"), merged = read(base + "/jobs/summary.json");
  CHECK(local.size() > 100);
  CHECK(local == merged);
  // Each seed's tables and summary.json as the in-process run wrote them, byte for byte.
  for (const char* file : {"summary.json", "gradients.csv", "layers.csv"})
    for (int seed = 1; seed <= 4; ++seed) {
      CAPTURE(file);
      CAPTURE(seed);
      const std::string sub = "/seed-" + std::to_string(seed) + "/" + file;
      CHECK(read(base + "/local" + sub).size() > 50);
      CHECK(read(base + "/local" + sub) == read(base + "/jobs" + sub));
    }
  // One thread or two: the same summary.
  REQUIRE(shell(cli + args + " --threads 1 --out " + base + "/one >/dev/null 2>&1") == 0);
  CHECK(read(base + "/one/summary.json") == local);

  // An experiment in one piece: one job per seed.
  const std::string whole = " experiment train-eval --seeds 1-3 --steps 3 --data-dir " BNLAB_DATA_DIR;
  REQUIRE(find_experiment("train-eval").parts.units == 0);
  REQUIRE(shell(cli + whole + " --out " + base + "/whole-local >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli + whole + " --out " + base + "/whole --jobs 2>/dev/null >" + base + "-whole.txt") == 0);
  const std::string whole_jobs = read(base + "-whole.txt");
  CHECK(std::count(whole_jobs.begin(), whole_jobs.end(), '\n') == 3);
  CHECK(whole_jobs.find("--unit") == std::string::npos);
  REQUIRE(shell("parallel --will-cite -j2 <" + base + "-whole.txt >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli + " experiment merge " + base + "/whole/seed-* --out " + base + "/whole >/dev/null") == 0);
  CHECK(read(base + "/whole/summary.json") == read(base + "/whole-local/summary.json"));

  // merge refuses a multi-seed summary, a missing directory, a seed with a unit missing and a
  // part of another run, with the reason.
  CHECK(shell(cli + " experiment merge " + base + "/local --out " + base + "/x >/dev/null 2>&1") == 1);
  CHECK(shell(cli + " experiment merge " + base + "/nope --out " + base + "/x >/dev/null 2>&1") == 1);
  REQUIRE(shell("rm " + base + "/jobs/seed-4/part-2.json") == 0);
  CHECK(shell(cli + " experiment merge " + base + "/jobs/seed-* --out " + base + "/x 2>" + base + "-err.txt >/dev/null") == 1);
  CHECK(read(base + "-err.txt").find("unit(s) 2 of grad-init are missing") != std::string::npos);
  REQUIRE(shell("cp " + base + "/jobs/seed-3/part-2.json " + base + "/jobs/seed-4/part-2.json") == 0);
  CHECK(shell(cli + " experiment merge " + base + "/jobs/seed-4 --out " + base + "/x 2>" + base + "-err.txt >/dev/null") == 1);
  CHECK(read(base + "-err.txt").find("is a part of another run") != std::string::npos);
  CHECK(shell(cli + " experiment grad-init --jobs --out " + base + "/x >/dev/null 2>&1") == 2);
  CHECK(shell(cli + " experiment grad-init --unit 4 --out " + base + "/x >/dev/null 2>&1") == 1);
  CHECK(shell(cli + " experiment train-eval --unit 0 --out " + base + "/x >/dev/null 2>&1") == 2);
}

TEST_CASE("seeds.NUMERICS.md 6 holds the table of claims.cpp, which the CLI prints") {
  // claims.cpp is the claims' one home; the table in NUMERICS.md is generated from it. A claim
  // added, reworded or removed in claims.cpp without regenerating the table fails here.
  const std::string table = claims_table();
  for (const ExperimentInfo& e : experiments())
    for (const Claim& c : claims_of(e.name))
      CHECK(table.find("| `" + e.name + "/" + c.id + "` |") != std::string::npos);
  std::ifstream f("core/NUMERICS.md");
  REQUIRE_MESSAGE(f, "core/NUMERICS.md is missing (tests run from the source directory)");
  std::stringstream text;
  text << f.rdbuf();
  const std::string doc = text.str(), begin = "<!-- claims.cpp: begin -->\n",
                    end = "<!-- claims.cpp: end -->";
  const size_t from = doc.find(begin), to = doc.find(end);
  REQUIRE_MESSAGE(from != std::string::npos, "NUMERICS.md has no line " << begin);
  REQUIRE_MESSAGE(to != std::string::npos, "NUMERICS.md has no line " << end);
  REQUIRE(from < to);
  const std::string committed = doc.substr(from + begin.size(), to - from - begin.size());
  CHECK_MESSAGE(committed == table,
                "NUMERICS.md 6 is stale: replace the lines between its claims.cpp markers with "
                "the output of `build/native/bnlab experiment --claims`:\n"
                    << table);

  // The CLI prints the same table (what one pastes).
  FILE* p = popen((std::string(BNLAB_CLI) + " experiment --claims").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  CHECK(pclose(p) == 0);
  CHECK(out == table);
}
