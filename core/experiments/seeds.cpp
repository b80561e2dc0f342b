#include "experiments/seeds.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/error.h"

namespace bnlab {

std::vector<uint32_t> parse_seeds(const std::string& text) {
  const std::string usage = "seeds '" + text + "': write them as 1-10, 3, 1,4,9 or 1-3,8 (whole numbers from 0 to 4294967295)";
  auto number = [&](const std::string& s) {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) throw Error(usage);
    const unsigned long long v = std::stoull(s);
    if (v > 4294967295ull) throw Error(usage);
    return uint32_t(v);
  };
  std::vector<uint32_t> seeds;
  std::set<uint32_t> seen;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    const size_t dash = part.find('-');
    const uint32_t first = number(part.substr(0, dash));
    const uint32_t last = dash == std::string::npos ? first : number(part.substr(dash + 1));
    if (last < first) throw Error(usage + " (a range goes up: " + part + ")");
    if (uint64_t(last) - first + seeds.size() >= 10000) throw Error("seeds '" + text + "': at most 10,000 seeds");
    for (uint64_t s = first; s <= last; ++s) {
      if (!seen.insert(uint32_t(s)).second) throw Error("seeds '" + text + "': seed " + std::to_string(s) + " twice");
      seeds.push_back(uint32_t(s));
    }
    start = comma + 1;
  }
  return seeds;
}

double t_quantile_95(int df) {
  if (df < 1) throw Error("Student's t needs at least one degree of freedom");
  // The 0.975 quantiles for df = 1..30 (standard tables, 4 decimals).
  static const double kTable[30] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
                                    2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
                                    2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
                                    2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
  if (df <= 30) return kTable[df - 1];
  // Above 30 the quantile is nearly linear in 1/df: 30 -> 2.0423, 40 -> 2.0211, 60 -> 2.0003,
  // 120 -> 1.9799, infinity -> 1.9600.
  static const double kInvDf[5] = {1.0 / 30, 1.0 / 40, 1.0 / 60, 1.0 / 120, 0.0};
  static const double kQ[5] = {2.0423, 2.0211, 2.0003, 1.9799, 1.9600};
  const double x = 1.0 / df;
  for (int i = 0; i < 4; ++i)
    if (x >= kInvDf[i + 1]) return kQ[i + 1] + (kQ[i] - kQ[i + 1]) * (x - kInvDf[i + 1]) / (kInvDf[i] - kInvDf[i + 1]);
  return kQ[4];
}

Interval t_interval(const std::vector<double>& values) {
  Interval r;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++r.n;
  if (r.n == 0) return r;
  r.mean = sum / r.n;
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - r.mean) * (v - r.mean);
  r.sd = r.n > 1 ? std::sqrt(ss / (r.n - 1)) : 0.0;
  const double half = r.n > 1 ? t_quantile_95(r.n - 1) * r.sd / std::sqrt(double(r.n)) : 0.0;
  r.lo = r.mean - half;
  r.hi = r.mean + half;
  return r;
}

std::string verdict(const Claim& claim, const Interval& d) {
  if (d.n < 3) return "inconclusive at " + std::to_string(d.n) + (d.n == 1 ? " seed" : " seeds");
  const double m = claim.margin;
  if (claim.relation == "near") {
    if (d.lo >= -m && d.hi <= m) return "reproduces";
    if (d.lo > m || d.hi < -m) return "does not reproduce: they differ";
  } else {
    const bool greater = claim.relation == "greater";
    const double lo = greater ? d.lo : -d.hi, hi = greater ? d.hi : -d.lo;  // claimed side positive
    if (lo > m) return "reproduces";
    if (hi < -m) return "does not reproduce: the opposite";
    if (lo >= -m && hi <= m) return "does not reproduce: no difference";
  }
  return "inconclusive at " + std::to_string(d.n) + " seeds";
}

namespace {

// Every number of a summary by dotted path, in the order met ("ratio_bn_to_none.loss_range");
// null leaves are kept as NaN (a figure that does not exist in this seed). Arrays are skipped:
// they hold settings (the step sizes, the published figures), not measurements.
void flatten(const Json& j, const std::string& path, std::vector<std::pair<std::string, double>>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.members()) flatten(value, path.empty() ? key : path + "." + key, out);
  } else if (j.is_number()) {
    out.emplace_back(path, j.number());
  } else if (j.is_null()) {
    out.emplace_back(path, std::nan(""));
  }
}

const std::set<std::string> kSettings = {"seed", "steps"};

// The data a seed's run trained on (summaries written before the dataset option have none: MNIST).
std::string dataset_of(const Json& summary) {
  const Json* d = summary.find("dataset");
  return d ? d->string("dataset") : "mnist";
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw Error("cannot read " + path);
  return text;
}

std::string fixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

Json interval_json(const Interval& r, int missing, const std::vector<double>& values) {
  Json j = Json::object();
  j.set("n", r.n);
  j.set("missing", missing);
  if (r.n > 0) {
    j.set("mean", r.mean);
    j.set("sd", r.sd);
    Json ci = Json::array();
    ci.push(r.lo);
    ci.push(r.hi);
    j.set("ci95", ci);
  }
  Json all = Json::array();
  for (double v : values) all.push(std::isfinite(v) ? Json(v) : Json());
  j.set("values", all);
  return j;
}

}  // namespace

Json summarize_seeds(std::vector<Json> per_seed) {
  if (per_seed.empty()) throw Error("no seed summaries to combine");
  std::sort(per_seed.begin(), per_seed.end(),
            [](const Json& x, const Json& y) { return x.get("seed").integer("seed") < y.get("seed").integer("seed"); });
  const std::string name = per_seed[0].get("experiment").string("experiment");
  const int64_t steps = per_seed[0].get("steps").integer("steps");
  const std::string dataset = dataset_of(per_seed[0]);
  Json seeds = Json::array();
  std::vector<std::pair<std::string, std::vector<double>>> figures;  // in first-met order
  std::map<std::string, size_t> index;
  for (size_t s = 0; s < per_seed.size(); ++s) {
    const Json& summary = per_seed[s];
    const int64_t seed = summary.get("seed").integer("seed");
    if (summary.get("experiment").string("experiment") != name)
      throw Error("seed " + std::to_string(seed) + " is of experiment '" + summary.get("experiment").string() +
                  "', not '" + name + "'");
    if (summary.get("steps").integer("steps") != steps)
      throw Error("seed " + std::to_string(seed) + " ran " + std::to_string(summary.get("steps").integer()) +
                  " steps, the others " + std::to_string(steps));
    if (dataset_of(summary) != dataset)
      throw Error("seed " + std::to_string(seed) + " trained on " + dataset_of(summary) +
                  ", the others on " + dataset);
    if (s > 0 && per_seed[s - 1].get("seed").integer() == seed)
      throw Error("seed " + std::to_string(seed) + " appears twice");
    seeds.push(seed);
    std::vector<std::pair<std::string, double>> flat;
    flatten(summary, "", flat);
    for (const auto& [path, value] : flat) {
      if (kSettings.count(path)) continue;
      auto it = index.find(path);
      if (it == index.end()) {
        it = index.emplace(path, figures.size()).first;
        figures.push_back({path, std::vector<double>(per_seed.size(), std::nan(""))});
      }
      figures[it->second].second[s] = value;
    }
  }

  Json out = Json::object();
  out.set("experiment", name);
  out.set("title", per_seed[0].get("title").string("title"));
  out.set("steps", steps);
  out.set("dataset", dataset);
  out.set("seeds", seeds);
  out.set("interval", "95% Student t interval over seeds (claims: of the per-seed paired difference a - b)");
  Json figs = Json::object();
  for (const auto& [path, values] : figures) {
    int missing = 0;
    for (double v : values) missing += !std::isfinite(v);
    figs.set(path, interval_json(t_interval(values), missing, values));
  }
  out.set("figures", figs);

  Json claims = Json::array();
  for (const Claim& c : claims_of(name, dataset)) {
    const auto a = index.find(c.a), b = index.find(c.b);
    if (a == index.end() || b == index.end())
      throw Error("claim '" + c.id + "' of " + name + " names a figure the summaries lack: " +
                  (a == index.end() ? c.a : c.b));
    std::vector<double> diff;
    for (size_t s = 0; s < per_seed.size(); ++s) {
      const double x = figures[a->second].second[s], y = figures[b->second].second[s];
      const bool usable = std::isfinite(x) && std::isfinite(y) && (!c.log_scale || (x > 0 && y > 0));
      diff.push_back(!usable ? std::nan("") : c.log_scale ? std::log10(x) - std::log10(y) : x - y);
    }
    const Interval d = t_interval(diff);
    const std::string v = verdict(c, d);
    Json j = Json::object();
    j.set("id", c.id);
    j.set("literature", c.literature);
    j.set("a", c.a);
    j.set("b", c.b);
    j.set("relation", c.relation);
    j.set("margin", c.margin);
    j.set("scale", c.log_scale ? "log10" : "linear");
    j.set("difference", interval_json(d, int(per_seed.size()) - d.n, diff));
    j.set("verdict", v);
    const std::string what = c.log_scale ? "log10(" + c.a + " / " + c.b + ")" : c.a + " - " + c.b;
    j.set("text", c.literature + ": " + v + " (" + what + " = " + fixed(d.mean) + ", 95% CI [" + fixed(d.lo) +
                      ", " + fixed(d.hi) + "], " + std::to_string(d.n) + " seeds)");
    claims.push(j);
  }
  out.set("claims", claims);
  return out;
}

std::string part_file(const std::string& dir, int unit) {
  return dir + "/part-" + std::to_string(unit) + ".json";
}

void run_part_job(const ExperimentInfo& info, const ExperimentOptions& options, int unit,
                  const std::string& dir) {
  const Tables tables = run_experiment_part(info, options, unit, unit + 1);
  make_output_dir(dir);
  Json j = Json::object();
  j.set("experiment", info.name);
  j.set("seed", int64_t(options.seed));
  j.set("steps", options.steps ? options.steps : info.default_steps);
  j.set("dataset", options.dataset);
  j.set("unit", unit);
  j.set("units", info.parts.units);
  j.set("tables", tables_to_json(tables));
  write_text_file(part_file(dir, unit), j.dump() + "\n");
}

bool combine_part_files(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("part-", 0) == 0 && entry.path().extension() == ".json")
      files.push_back(entry.path());
  }
  if (error) throw Error("cannot read directory " + dir + " (" + error.message() + ")");
  if (files.empty()) return false;
  std::vector<Json> parts;
  for (const auto& f : files) {
    try {
      parts.push_back(Json::parse(read_text_file(f.string())));
      const Json& j = parts.back();
      for (const char* key : {"experiment", "seed", "steps", "dataset", "unit", "units", "tables"})
        if (!j.is_object() || !j.find(key)) throw Error(std::string("no ") + key);
    } catch (const Error& e) {
      throw Error(f.string() + " is not a part written by bnlab experiment NAME --unit U (" +
                  e.what() + ")");
    }
  }
  const Json& first = parts[0];
  const ExperimentInfo& info = find_experiment(first.get("experiment").string("experiment"));
  ExperimentOptions options;
  options.seed = uint32_t(first.get("seed").integer("seed"));
  options.steps = int(first.get("steps").integer("steps"));
  options.dataset = first.get("dataset").string("dataset");
  check_experiment_dataset(options.dataset);
  const int units = info.parts.units;
  std::vector<Tables> by_unit(size_t(std::max(units, 0)));
  std::vector<bool> seen(by_unit.size(), false);
  for (size_t i = 0; i < parts.size(); ++i) {
    const Json& j = parts[i];
    const std::string where = files[i].string();
    if (j.get("experiment").string() != info.name || j.get("seed").integer() != options.seed ||
        j.get("steps").integer() != options.steps || j.get("dataset").string() != options.dataset ||
        j.get("units").integer() != units)
      throw Error(where + " is a part of another run (experiment, seed, steps, dataset or units differ from " +
                  files[0].string() + ")");
    const int64_t u = j.get("unit").integer("unit");
    if (u < 0 || u >= units) throw Error(where + ": unit " + std::to_string(u) + " out of range");
    if (seen[size_t(u)]) throw Error(where + ": unit " + std::to_string(u) + " twice");
    seen[size_t(u)] = true;
    try {
      by_unit[size_t(u)] = tables_from_json(j.get("tables"));
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  std::string missing;
  for (int u = 0; u < units; ++u)
    if (!seen[size_t(u)]) missing += (missing.empty() ? "" : ", ") + std::to_string(u);
  if (!missing.empty())
    throw Error(dir + ": the parts of unit(s) " + missing + " of " + info.name + " are missing");
  const ExperimentResult result = combine_experiment_parts(info, options, by_unit);
  write_experiment(info, options, result, dir);
  return true;
}

Json summarize_seed_dirs(const std::vector<std::string>& dirs) {
  std::vector<Json> summaries;
  for (const std::string& d : dirs) {
    combine_part_files(d);
    const std::string path = d + "/summary.json";
    Json j;
    try {
      j = Json::parse(read_text_file(path));
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    if (!j.is_object() || !j.find("experiment") || !j.find("seed") || j.find("seeds"))
      throw Error(path + " is not the summary of one seed's run (bnlab experiment NAME --seed S --out DIR)");
    summaries.push_back(std::move(j));
  }
  return summarize_seeds(std::move(summaries));
}

Json run_seeds(const ExperimentInfo& info, const ExperimentOptions& options, const std::vector<uint32_t>& seeds,
               int threads, const std::string& dir) {
  if (seeds.empty()) throw Error("no seeds to run");
  make_output_dir(dir);
  std::vector<Json> summaries(seeds.size());
  std::vector<double> done(seeds.size(), 0.0);
  std::mutex progress_mutex;
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (size_t i; (i = next++) < seeds.size();) {
      try {
        ExperimentOptions o = options;
        o.seed = seeds[i];
        o.progress = [&, i](double f) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          done[i] = f;
          double total = 0;
          for (double x : done) total += x;
          options.progress(total / double(seeds.size()));
        };
        const ExperimentResult result = info.run(o);
        const std::string sub = dir + "/seed-" + std::to_string(seeds[i]);
        write_experiment(info, o, result, sub);
        // Read back what was written, so that this summary and `merge` of the same directories
        // start from the same text.
        summaries[i] = Json::parse(read_text_file(sub + "/summary.json"));
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = seeds.size();  // stop handing out seeds
      }
    }
  };
  const int n = std::max(1, std::min<int>(threads, int(seeds.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  const Json summary = summarize_seeds(summaries);
  write_text_file(dir + "/summary.json", summary.dump() + "\n");
  return summary;
}

}  // namespace bnlab
