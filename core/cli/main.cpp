// bnlab: the native command line of BN Lab.
//   bnlab train [options]        train, printing per-step metrics as CSV or JSON lines
//   bnlab bench [--json] [--quick]   the benchmark of NUMERICS.md 8
//   bnlab options | presets      what can be set
// Usage errors print a message and the usage, and exit 2; bad files or configs exit 1.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "base/error.h"
#include "experiments/experiments.h"
#include "io/csv.h"
#include "experiments/seeds.h"
#include "io/state.h"
#include "measure/refbench.h"
#include "train/run.h"

using namespace bnlab;

namespace {

const char* kUsage = R"(usage:
  bnlab train [--OPTION VALUE ...] [run options]
      Trains a model and prints one line of metrics per step.
      OPTION: any of `bnlab options` (e.g. --model ref-cnn --norm batch --lr 0.05 --seed 1)
      run options:
        --format csv|jsonl      metrics format (default csv)
        --out FILE              write metrics to FILE instead of standard output
        --steps N               the run's length from its start, a loaded state's steps included
                                (0: no step, e.g. to --save the initial state)
        --eval-every N          evaluate on the test set every N steps (default 100; 0: at the end only)
        --compare "K=V K=V"     train a second model B in lockstep: same seed, data and initial
                                weights, with these options changed (e.g. "norm=none")
        --load FILE             continue from a saved state (its config, then your options)
        --save FILE             save the state at the end (B's goes to FILE with .b before .json)
        --data-dir DIR          where the MNIST and Fashion-MNIST IDX files are (default: data/
                                beside bnlab)
        --max-memory MB         refuse models needing more than MB MiB (default 512)
        --quiet                 no summary on standard error
  bnlab bench [--json] [--quick] [--variant bn|nobn] [--profile] [--ghz G] [--clock]
      The reference-CNN benchmark of NUMERICS.md 8 (one thread). --profile: the time of each
      part of a training step instead (each layer's forward and backward, loss, optimizer).
      GFLOP/s are compared with one core's peak: GHz x vector lanes of this build x 4 flops
      per lane and cycle (2 FMA pipes; 2 for AVX-512 on AMD Zen 4, whose pipes are 256 bits
      wide); GHz measured (a chain of dependent adds, one per cycle; a VM's /proc/cpuinfo
      gives its nominal clock, which a boosting core exceeds), or --ghz G. --clock: print the
      measured clock (and /proc/cpuinfo's) only.
  bnlab experiment NAME --out DIR [--seed S] [--steps N] [--dataset mnist|fashion] [--data-dir DIR]
      Runs a named experiment: DIR/*.csv (tidy tables) and DIR/summary.json (headline figures).
      --dataset fashion: on Fashion-MNIST instead of MNIST (covariate-shift: instead of its
                                  synthetic shapes, with the shift applied to Fashion-MNIST)
      --seeds 1-10 [--threads K]  every seed (in K threads, default: the cores) to DIR/seed-S/,
                                  and DIR/summary.json: mean, sd, 95% t-interval per figure and
                                  a verdict per claim of the literature (core/experiments/seeds.h)
      --seeds 1-10 --jobs         print one command per seed instead (per unit and seed for a
                                  sweep that runs in parts), for GNU parallel or a job array;
                                  then `bnlab experiment merge` the seeds' directories
      --unit U                    run unit U of the sweep only (what a job does): DIR/part-U.json
  bnlab experiment merge DIR... --out DIR
      The multi-seed summary of single-seed runs (each DIR holds one seed's summary.json).
  bnlab experiment --list      the experiments, with what each tests
  bnlab experiment --claims    the claims they test, as the table of core/NUMERICS.md 6
  bnlab options        every option with its type, range and default
  bnlab presets        the model presets
  bnlab help
)";

struct UsageError : Error {
  using Error::Error;
};

// Reads at most `limit` bytes: a longer file (or an endless one, /dev/zero) is refused with
// the limit, not read until memory runs out.
std::string read_file(const std::string& path, size_t limit) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read " + path);
  std::string text;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text.append(buf, size_t(f.gcount()));
    if (text.size() > limit)
      throw Error(path + " is larger than " + format_bytes(int64_t(limit)) + ", the limit for state files");
  }
  if (f.bad()) throw Error("cannot read " + path);
  return text;
}

// Fails unless every byte reached the file (a full disk, /dev/full) once it is closed.
void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error("cannot write " + path);
  f << text;
  f.close();
  if (!f) throw Error("cannot write " + path + " (disk full or write error)");
}

// A word for a POSIX shell: as it is when it holds only safe characters, else in single quotes.
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The path of this executable (argv[0] where /proc is not there).
std::string self_path(const char* argv0) {
  std::string exe = argv0;
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) exe.assign(buf, size_t(n));
  return exe;
}

std::string default_data_dir(const char* argv0) {
  const std::string exe = self_path(argv0);
  const size_t slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/data";
}

// Numbers for JSON lines, where a NaN or infinite loss is null (fmt, io/csv.h, for CSV and text).
std::string json_num(double v) { return std::isfinite(v) ? fmt(v) : "null"; }

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o + "\"";
}

// One row of metrics; eval fields are empty unless the row is an evaluation step.
struct Row {
  std::string run;
  StepMetrics m;
  bool evaluated = false;
  EvalMetrics eval, eval_train;
  std::string status;
};

void print_row(std::ostream& out, const Row& r, bool jsonl) {
  if (jsonl) {
    out << "{\"run\":" << json_str(r.run) << ",\"step\":" << r.m.step << ",\"loss\":" << json_num(r.m.loss)
        << ",\"accuracy\":" << json_num(r.m.accuracy) << ",\"lr\":" << json_num(r.m.lr);
    if (r.evaluated)
      out << ",\"test_loss\":" << json_num(r.eval.loss) << ",\"test_accuracy\":" << json_num(r.eval.accuracy)
          << ",\"test_loss_train_mode\":" << json_num(r.eval_train.loss)
          << ",\"test_accuracy_train_mode\":" << json_num(r.eval_train.accuracy);
    out << ",\"status\":" << json_str(r.status) << "}\n";
  } else {
    auto eval = [&](double v) { return r.evaluated ? fmt(v) : std::string(); };
    out << csv_row({r.run, std::to_string(r.m.step), fmt(r.m.loss), fmt(r.m.accuracy), fmt(r.m.lr),
                    eval(r.eval.loss), eval(r.eval.accuracy), eval(r.eval_train.loss),
                    eval(r.eval_train.accuracy), r.status});
  }
}

// "norm=none lr=0.1" or "norm=none,lr=0.1" applied to a config.
void apply_overrides(Config& c, const std::string& text) {
  std::string item;
  std::istringstream in(text);
  while (in >> item) {
    std::string part;
    std::istringstream parts(item);
    while (std::getline(parts, part, ',')) {
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      if (eq == std::string::npos) throw UsageError("--compare: '" + part + "' is not OPTION=VALUE");
      set_option(c, part.substr(0, eq), part.substr(eq + 1));
    }
  }
}

int cmd_train(const std::vector<std::string>& args, const char* argv0) {
  Config config;
  std::string format = "csv", out_path, load_path, save_path, compare, data_dir = default_data_dir(argv0);
  int64_t eval_every = 100;
  bool quiet = false;
  std::vector<std::pair<std::string, std::string>> options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + a + "'");
    const std::string name = a.substr(2);
    if (name == "quiet") {
      quiet = true;
      continue;
    }
    if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
    const std::string value = args[++i];
    if (name == "format") {
      if (value != "csv" && value != "jsonl") throw UsageError("--format must be csv or jsonl");
      format = value;
    } else if (name == "out") out_path = value;
    else if (name == "load") load_path = value;
    else if (name == "save") save_path = value;
    else if (name == "compare") compare = value;
    else if (name == "data-dir" || name == "data_dir") data_dir = value;
    else if (name == "eval-every" || name == "eval_every") {
      try {
        eval_every = parse_whole_number(value, 0, 1000000000, "--eval-every");
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    } else if (name == "max-memory" || name == "max_memory") {
      try {
        set_memory_budget(parse_whole_number(value, 1, 1 << 24, "--max-memory (MiB)") << 20);
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    } else {
      options.emplace_back(name, value);
    }
  }
  std::string state_text;
  if (!load_path.empty()) {
    state_text = read_file(load_path, kMaxStateBytes);
    config = config_from_state(state_text);
  }
  try {
    for (const auto& [name, value] : options) set_option(config, name, value);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  validate(config);
  Config config_b = config;
  if (!compare.empty()) apply_overrides(config_b, compare);

  auto data = load_data(config, data_dir);
  RunSchedule schedule;
  schedule.steps = config.steps;
  schedule.eval_every = eval_every;
  schedule.eval_at_end = true;
  Run run(schedule);
  {
    auto a = std::make_unique<Trainer>(config, data);
    if (!state_text.empty()) a->load_state(state_text);
    run.add(std::move(a));  // a loaded state sets the run's step count
  }
  if (!compare.empty()) {
    // B shares the data unless its options change which data it is.
    const bool same_data = data_key(config_b) == data_key(config);
    run.add(config_b, same_data ? data : load_data(config_b, data_dir));
  }
  const int64_t start = run.step_count();
  // --steps is the run's length from its start: a state at step S continues to step N. What
  // would do nothing is refused rather than silently re-saved.
  if (start > 0 && start >= config.steps)
    throw UsageError("the state is at step " + std::to_string(start) + " and --steps " + std::to_string(config.steps) +
                     " counts from the run's start: nothing to train (give --steps " + std::to_string(start + 1) +
                     " or more)");
  if (config.steps == 0 && save_path.empty())
    throw UsageError("--steps 0 takes no step: it only makes sense with --save (to save the initial state)");

  std::ofstream file;
  if (!out_path.empty()) {
    file.open(out_path, std::ios::binary);
    if (!file) throw Error("cannot write " + out_path);
  }
  std::ostream& out = out_path.empty() ? std::cout : file;
  const bool jsonl = format == "jsonl";
  if (!jsonl)
    out << "run,step,loss,accuracy,lr,test_loss,test_accuracy,test_loss_train_mode,test_accuracy_train_mode,status\n";
  RunHooks hooks;
  const auto on_stepped = [&](const SideStep& s, Trainer& t) {
    if (s.stopped) return;  // its last row already said so; the other run goes on
    Row r;
    r.run = s.side == 0 ? "A" : "B";
    r.m = s.metrics;
    if (s.eval_due) {
      r.evaluated = true;
      r.eval = t.evaluate(Mode::Eval);
      r.eval_train = t.evaluate(Mode::Train);
    }
    r.status = t.status();
    print_row(out, r, jsonl);
  };
  hooks.stepped = on_stepped;
  run.train(config.steps - start, hooks);
  out.flush();
  if (!out_path.empty()) file.close();  // the last bytes reach the file (or fail) here
  if (out_path.empty() ? !std::cout : file.fail())
    throw Error("cannot write the metrics to " + (out_path.empty() ? std::string("standard output") : out_path) +
                " (disk full or write error)");
  if (!save_path.empty()) {
    write_file(save_path, run.side(0).save_state());
    if (run.sides() > 1) {
      std::string b = save_path;
      const size_t dot = b.rfind(".json");
      b = dot == std::string::npos ? b + ".b" : b.substr(0, dot) + ".b.json";
      write_file(b, run.side(1).save_state());
    }
  }
  if (!quiet) {
    for (int k = 0; k < run.sides(); ++k) {
      Trainer& t = run.side(k);
      std::cerr << "run " << (k ? "B" : "A") << ": " << t.step_count() << " steps, " << t.status();
      if (!t.diverged()) {
        const EvalMetrics e = t.evaluate(Mode::Eval);
        std::cerr << ", test accuracy " << fmt(100.0 * e.accuracy) << "% (eval mode, " << e.count << " examples)";
      }
      std::cerr << "\n";
    }
  }
  return 0;
}

// bnlab bench --profile: where the reference CNN's step spends its time, part by part.
void print_profile(bool bn, const StepProfile& prof, bool json) {
  const std::string variant = bn ? "bn" : "nobn";
  if (json) {
    std::cout << "{\"framework\":\"bnlab\",\"bench\":\"profile\",\"variant\":\"" << variant
              << "\",\"runtime\":\"native\",\"clock\":\"cpu\",\"step_ms\":" << fmt(1000 * prof.step_seconds)
              << ",\"trainer_step_ms\":" << fmt(1000 * prof.trainer_seconds) << ",\"parts\":[";
    for (size_t i = 0; i < prof.rows.size(); ++i)
      std::cout << (i ? "," : "") << "{\"part\":\"" << prof.rows[i].part << "\",\"kind\":\""
                << prof.rows[i].kind << "\",\"ms\":" << fmt(1000 * prof.rows[i].seconds) << "}";
    std::cout << "]}" << std::endl;
    return;
  }
  std::printf("%s: %.3f ms of CPU per step taken apart (Trainer::step whole: %.3f ms)\n",
              bn ? "ref-cnn" : "ref-cnn-nobn", 1000 * prof.step_seconds,
              1000 * prof.trainer_seconds);
  for (const ProfileRow& r : prof.rows)
    std::printf("  %-22s %8.4f ms  %5.1f%%\n", r.part.c_str(), 1000 * r.seconds,
                100 * r.seconds / prof.step_seconds);
}

// What /proc/cpuinfo says about this CPU (all zero where there is no such file): the highest
// "cpu MHz" (a VM shows its nominal clock, which a boosting core exceeds: measured_ghz below) and
// whether it executes a 512-bit FMA as two 256-bit halves: AMD's Zen 4 (family 19h with AVX-512)
// has two 256-bit FMA pipes, so a 512-bit vector gives it no more flops per cycle than AVX2 does
// (AMD's Zen 4 optimization guide).
struct CpuInfo {
  double ghz = 0;
  bool fma_512_in_halves = false;
};
CpuInfo read_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double mhz = 0;
  bool amd = false;
  int family = -1;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (line.rfind("cpu MHz", 0) == 0) mhz = std::max(mhz, std::atof(line.c_str() + colon + 1));
    if (line.rfind("vendor_id", 0) == 0) amd = line.find("AuthenticAMD", colon) != std::string::npos;
    if (line.rfind("cpu family", 0) == 0) family = std::atoi(line.c_str() + colon + 1);
  }
  return {mhz / 1000.0, amd && family == 0x19};
}

// The clock the core runs at now, measured: a chain of dependent integer adds, one per cycle on
// every core this project meets (x86-64 since the 486, Arm cores alike), timed by this thread's
// CPU time, so that time spent descheduled does not count (timed by the wall clock, a busy
// machine read its clock low and the share of peak up to 60%); the best of 7 runs of 2^24 adds
// (about 5 ms each), since an interruption only makes a run slower. /proc/cpuinfo gives a VM's nominal clock (2.6 GHz on the EPYC this was written
// on, whose core ran at 3.7 GHz: a peak computed from it overstated the share of it a step
// reaches by 1.4x; wasm/README.md, step13's subsection). The empty asm keeps each add in a
// register and in the chain, so the compiler can neither fold nor reorder the sum.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double measured_ghz() {
  constexpr int64_t kAdds = int64_t(1) << 24;
  double best = 0;
  for (int run = 0; run < 7; ++run) {
    uint64_t x = uint64_t(run);
    const double t0 = thread_cpu_seconds();
    for (int64_t i = 0; i < kAdds; i += 8) {
#define BNLAB_CHAIN_ADD() x += 1; asm volatile("" : "+r"(x))
      BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD();
      BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD(); BNLAB_CHAIN_ADD();
#undef BNLAB_CHAIN_ADD
    }
    const double seconds = thread_cpu_seconds() - t0;
    if (x != uint64_t(run + kAdds)) return 0;  // cannot happen; keeps x live
    if (seconds > 0) best = std::max(best, double(kAdds) / seconds / 1e9);
  }
  return best;
}

// CPU seconds of this process (not the time it waited for a core).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int cmd_bench(const std::vector<std::string>& args) {
  bool json = false, quick = false, profile = false, clock_only = false;
  double ghz = 0;
  std::vector<bool> variants = {true, false};
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") json = true;
    else if (args[i] == "--quick") quick = true;
    else if (args[i] == "--profile")
      profile = true;
    else if (args[i] == "--clock")
      clock_only = true;
    else if (args[i] == "--variant" && i + 1 < args.size()) {
      const std::string v = args[++i];
      if (v != "bn" && v != "nobn") throw UsageError("--variant must be bn or nobn");
      variants = {v == "bn"};
    } else if (args[i] == "--ghz" && i + 1 < args.size()) {
      const std::string v = args[++i];
      char* end = nullptr;
      ghz = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(ghz > 0.1 && ghz < 20))
        throw UsageError("--ghz must be a clock in GHz between 0.1 and 20, got '" + v + "'");
    } else throw UsageError("unexpected argument '" + args[i] + "' for bench");
  }
  const bool ghz_given = ghz > 0;
  const CpuInfo cpu = read_cpuinfo();
  const double nominal_ghz = cpu.ghz;
  if (clock_only) {
    const double measured = measured_ghz();
    if (json)
      std::cout << "{\"framework\":\"bnlab\",\"bench\":\"clock\",\"measured_ghz\":" << json_num(measured)
                << ",\"cpuinfo_ghz\":" << json_num(nominal_ghz > 0 ? nominal_ghz : NAN) << "}" << std::endl;
    else
      std::printf("clock: %.2f GHz measured (a chain of dependent adds); /proc/cpuinfo: %.2f GHz\n",
                  measured, nominal_ghz);
    return 0;
  }
  // The clock: --ghz, else measured, else (a measurement that failed) /proc/cpuinfo's.
  const char* ghz_from = "--ghz";
  if (!ghz_given) {
    ghz = measured_ghz();
    ghz_from = "measured";
    if (!(ghz > 0)) ghz = nominal_ghz, ghz_from = "/proc/cpuinfo";
  }
  MachinePeak peak = build_peak(ghz);
  std::string peak_note;
  if (peak.lanes == 16 && cpu.fma_512_in_halves) {
    peak.flops_per_lane_cycle = 2;
    peak.gflops = peak.ghz * peak.lanes * peak.flops_per_lane_cycle;
    peak_note = "AMD Zen 4 runs a 512-bit FMA as two 256-bit halves";
  }
  const BenchProtocol protocol = quick ? BenchProtocol::quick() : BenchProtocol();
  const auto clock = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  for (bool bn : variants) {
    ReferenceBench bench(bn);
    if (profile) {
      // CPU time: on a shared machine the wall time of a part is mostly someone else's work.
      print_profile(bn, bench.profile(quick ? 20 : 300, process_cpu_seconds), json);
      continue;
    }
    const BenchResult r = bench.run(protocol, clock, process_cpu_seconds);
    const double share = peak.gflops > 0 ? r.train_gflops / peak.gflops : NAN;
    if (json) {
      std::cout << "{\"framework\":\"bnlab\",\"bench\":\"" << (bn ? "ref-cnn" : "ref-cnn-nobn")
                << "\",\"variant\":\"" << r.variant << "\",\"runtime\":\"native\",\"threads\":1"
                << ",\"batch\":32,\"warmup_steps\":" << protocol.warmup << ",\"timed_steps\":" << protocol.steps
                << ",\"repeats\":" << protocol.repeats << ",\"train_steps_per_s\":" << fmt(r.train_steps_per_s)
                << ",\"train_steps_per_s_runs\":[";
      for (size_t i = 0; i < r.train_steps_per_s_runs.size(); ++i)
        std::cout << (i ? "," : "") << fmt(r.train_steps_per_s_runs[i]);
      std::cout << "],\"train_ms_per_step\":" << fmt(1000.0 / r.train_steps_per_s)
                << ",\"train_gflops\":" << fmt(r.train_gflops)
                << ",\"train_cpu_ms_per_step\":" << fmt(r.train_cpu_ms_per_step)
                << ",\"train_cpu_ms_per_step_runs\":[";
      for (size_t i = 0; i < r.train_cpu_ms_per_step_runs.size(); ++i)
        std::cout << (i ? "," : "") << fmt(r.train_cpu_ms_per_step_runs[i]);
      std::cout << "],\"peak_gflops\":" << json_num(peak.gflops) << ",\"peak_ghz\":" << json_num(peak.ghz)
                << ",\"peak_ghz_from\":\"" << ghz_from << "\""
                << ",\"cpuinfo_ghz\":" << json_num(nominal_ghz > 0 ? nominal_ghz : NAN)
                << ",\"peak_lanes\":" << peak.lanes << ",\"peak_flops_per_lane_cycle\":" << peak.flops_per_lane_cycle
                << ",\"isa\":\"" << peak.isa << "\",\"peak_note\":\"" << peak_note << "\""
                << ",\"peak_share\":" << json_num(share)
                << ",\"eval_batch\":256,\"eval_images_per_s\":" << fmt(r.eval_images_per_s)
                << ",\"loss_step1\":" << fmt(r.loss_step1) << ",\"loss_after_warmup\":" << fmt(r.loss_after_warmup)
                << ",\"loss_final\":" << fmt(r.loss_final) << ",\"eval_logit_sum\":" << fmt(r.eval_logit_sum)
                << ",\"measured_steps_per_s\":" << fmt(r.measured_steps_per_s)
                << ",\"measure_overhead\":" << fmt(r.measure_overhead)
                << ",\"quick\":" << (quick ? "true" : "false") << "}" << std::endl;
    } else {
      std::printf("%-13s native, 1 thread: %8.1f train steps/s (%.2f ms/step, %.1f GFLOP/s), %8.0f eval images/s\n"
                  "              CPU time %.3f ms/step; %.1f%% of one core's peak %.0f GFLOP/s\n"
                  "              (= %.2f GHz, %s, x %d lanes (%s) x %d flops per lane and cycle%s%s)\n"
                  "              losses: step 1 %.6f, after warm-up %.6g, final %.6g\n"
                  "              with every-step measurements: %.1f steps/s (+%.1f%% per step)\n",
                  bn ? "ref-cnn" : "ref-cnn-nobn", r.train_steps_per_s, 1000.0 / r.train_steps_per_s,
                  r.train_gflops, r.eval_images_per_s, r.train_cpu_ms_per_step, 100.0 * share,
                  peak.gflops, peak.ghz, ghz_from, peak.lanes,
                  peak.isa.c_str(), peak.flops_per_lane_cycle, peak_note.empty() ? "" : "; ",
                  peak_note.c_str(), r.loss_step1, r.loss_after_warmup,
                  r.loss_final, r.measured_steps_per_s, 100.0 * r.measure_overhead);
    }
  }
  return 0;
}

// bnlab experiment merge DIR... --out DIR
int cmd_experiment_merge(const std::vector<std::string>& args) {
  std::vector<std::string> dirs;
  std::string out;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--out") {
      if (i + 1 >= args.size()) throw UsageError("--out needs a value");
      out = args[++i];
    } else if (args[i].rfind("--", 0) == 0) {
      throw UsageError("unexpected argument '" + args[i] + "' for experiment merge");
    } else {
      dirs.push_back(args[i]);
    }
  }
  if (dirs.empty()) throw UsageError("experiment merge needs the directories of single-seed runs");
  if (out.empty()) throw UsageError("experiment merge needs --out DIR");
  const Json summary = summarize_seed_dirs(dirs);
  make_output_dir(out);
  write_file(out + "/summary.json", summary.dump() + "\n");
  for (const Json& c : summary.get("claims").items()) std::printf("%s\n", c.get("text").string().c_str());
  return 0;
}

int cmd_experiment(const std::vector<std::string>& args, const char* argv0) {
  if (args.size() == 1 && args[0] == "--list") {
    for (const ExperimentInfo& e : experiments())
      std::printf("%-16s %s (default %d steps)\n%s\n\n", e.name.c_str(), e.title.c_str(), e.default_steps,
                  e.description.c_str());
    return 0;
  }
  if (args.size() == 1 && args[0] == "--claims") {
    std::fputs(claims_table().c_str(), stdout);
    return 0;
  }
  if (args.empty() || args[0].rfind("--", 0) == 0) throw UsageError("experiment needs a NAME (or --list)");
  if (args[0] == "merge") return cmd_experiment_merge(args);
  const ExperimentInfo& info = find_experiment(args[0]);
  ExperimentOptions options;
  options.data_dir = default_data_dir(argv0);
  std::string out, seeds_text;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  bool jobs = false;
  int unit = -1;  // --unit: one unit of a sweep in parts
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--jobs") {
      jobs = true;
      continue;
    }
    if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
    const std::string v = args[++i];
    if (a == "--out") out = v;
    else if (a == "--data-dir") options.data_dir = v;
    else if (a == "--dataset") {
      try {
        check_experiment_dataset(v);
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
      options.dataset = v;
    } else if (a == "--seed" || a == "--steps" || a == "--threads" || a == "--unit") {
      try {
        if (a == "--unit") unit = int(parse_whole_number(v, 0, 1000000, "--unit"));
        else if (a == "--seed") options.seed = uint32_t(parse_whole_number(v, 0, 4294967295LL, "--seed"));
        else if (a == "--steps") options.steps = int(parse_whole_number(v, 1, 10000000, "--steps"));
        else threads = int(parse_whole_number(v, 1, 256, "--threads"));
      } catch (const Error& e) {
        throw UsageError(e.what());
      }
    } else if (a == "--seeds") {
      seeds_text = v;
    } else throw UsageError("unexpected argument '" + a + "' for experiment");
  }
  if (out.empty()) throw UsageError("experiment needs --out DIR");
  if (jobs && seeds_text.empty()) throw UsageError("--jobs needs --seeds");
  if (unit >= 0 && (jobs || !seeds_text.empty())) throw UsageError("--unit runs one seed: use --seed, not --seeds");
  if (unit >= 0 && info.parts.units <= 0)
    throw UsageError("experiment " + info.name + " does not run in parts: it has no --unit");
  if (jobs) {
    // One independent command per seed, or per (unit, seed) for a sweep in parts (units first:
    // a seed's units end close together); absolute paths, so that they run from anywhere.
    const std::string exe = self_path(argv0), dir = std::filesystem::absolute(out).string();
    const int steps = options.steps ? options.steps : info.default_steps;
    std::string parts;
    for (uint32_t seed : parse_seeds(seeds_text)) {
      const std::string sub = dir + "/seed-" + std::to_string(seed);
      for (int u = 0; u < std::max(1, info.parts.units); ++u)
        std::printf("%s experiment %s --seed %u --steps %d --dataset %s --data-dir %s%s --out %s\n",
                    shell_quote(exe).c_str(), info.name.c_str(), seed, steps, options.dataset.c_str(),
                    shell_quote(options.data_dir).c_str(),
                    info.parts.units > 0 ? (" --unit " + std::to_string(u)).c_str() : "",
                    shell_quote(sub).c_str());
      parts += " " + shell_quote(sub);
    }
    std::fprintf(stderr, "then: %s experiment merge%s --out %s\n", shell_quote(exe).c_str(), parts.c_str(),
                 shell_quote(dir).c_str());
    return 0;
  }
  make_output_dir(out);
  int shown = -1;  // the percentage on screen: printed only when it changes
  options.progress = [&shown](double f) {
    const int pct = int(100 * f);
    if (pct != shown) std::fprintf(stderr, "\r%3d%%", shown = pct);
  };
  if (unit >= 0) {
    run_part_job(info, options, unit, out);
    std::fprintf(stderr, "\r");
    return 0;
  }
  if (!seeds_text.empty()) {
    const Json summary = run_seeds(info, options, parse_seeds(seeds_text), threads, out);
    std::fprintf(stderr, "\r");
    for (const Json& c : summary.get("claims").items()) std::printf("%s\n", c.get("text").string().c_str());
    return 0;
  }
  const ExperimentResult result = info.run(options);
  std::fprintf(stderr, "\r");
  write_experiment(info, options, result, out);
  std::printf("%s\n", result.summary.dump().c_str());
  return 0;
}

int cmd_options() {
  const Config defaults;
  std::printf("%-20s %-8s %-22s %s\n", "option", "type", "default", "meaning (range or choices)");
  for (const OptionInfo& o : option_table()) {
    std::string range;
    if (o.type == "int" || o.type == "float") {
      range = " [" + fmt(o.min) + ", " + fmt(o.max) + "]";
      for (const std::string& word : o.choices) range += " or " + word;  // bn_momentum's cumulative
    }
    if (!o.choices.empty() && o.type == "choice") {
      range = " (";
      for (size_t i = 0; i < o.choices.size(); ++i) range += (i ? ", " : "") + o.choices[i];
      range += ")";
    }
    std::printf("%-20s %-8s %-22s %s%s\n", o.name.c_str(), o.type.c_str(), get_option(defaults, o.name).c_str(),
                o.help.c_str(), range.c_str());
  }
  return 0;
}

int cmd_presets() {
  for (const PresetInfo& p : presets()) std::printf("%-13s %s\n              %s\n", p.name.c_str(), p.spec.c_str(), p.description.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "train") return cmd_train(args, argv[0]);
    if (cmd == "bench") return cmd_bench(args);
    if (cmd == "experiment") return cmd_experiment(args, argv[0]);
    if (cmd == "options") return cmd_options();
    if (cmd == "presets") return cmd_presets();
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::cout << kUsage;
      return 0;
    }
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::cerr << "bnlab: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bnlab: " << e.what() << "\n";
    return 1;
  }
}
