// The Embind adapter between BN Lab's core and JavaScript: no maths, no training logic.
//
// JavaScript sees (wasm/bnlab.mjs wraps them in the documented API):
//   Data        one train/test split in the wasm heap, shared by the sides made from it
//   Side        one side (measure/side.h): a Trainer on shared Data with its instruments
//   Run         the core's run loop (train/run.h) over one side or a lockstep pair
//   functions   the option table, presets, the config of a state file, the reference benchmark,
//               the experiments, heap statistics
// Every entry point catches the core's exceptions and hands their message to JavaScript, which
// throws it as an Error (the module never aborts on bad input). The throw happens in JavaScript,
// after the call has returned: a JavaScript exception thrown from inside a C++ call unwinds
// through the wasm frames without running their destructors, leaking the exception object and
// every argument the call was given (a 100 KB state string per failed loadState). So a failing
// entry point stores its message (pending_error), returns an empty value, and bnlab.mjs's
// wrapper of every bound function and method calls takeError() and throws. Bulk results are typed arrays copied
// out of the heap: a view into it would dangle as soon as the heap grows. Results are built as
// plain objects (object(), to_js) rather than registered with value_object: returning EvalMetrics
// through a value_object cost 140 bytes of gzipped .wasm and 560 of gzipped glue (bnlab_core.mjs)
// against the object built here, bytes the page's first load has not got to spare.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.h"
#include "data/idx.h"
#include "experiments/experiments.h"
#include "experiments/seeds.h"
#include "experiments/targets.h"
#include "io/describe.h"
#include "io/state.h"
#include "measure/entries.h"
#include "measure/measure.h"
#include "measure/refbench.h"
#include "measure/side.h"
#include "train/config.h"
#include "train/run.h"
#include "train/trainer.h"

namespace bnlab {
namespace {

using emscripten::val;

// The message of the last failed call, until takeError() takes it.
std::string& pending_error() {
  static std::string message;
  return message;
}

std::string take_error() {
  std::string message;
  message.swap(pending_error());
  return message;
}

// What a failed call returns (JavaScript throws before anyone looks at it).
template <class R>
R failed_value() {
  if constexpr (std::is_same_v<R, val>) return val::undefined();
  else return R{};
}

// Runs body; a C++ exception's message becomes the pending error (JavaScript throws it as an
// Error once the call has returned, see above) and an empty value is returned. The name stays
// from when it threw in place.
template <class Body>
auto rethrow_as_js(Body&& body) -> decltype(body()) {
  using R = decltype(body());
  try {
    return body();
  } catch (const std::exception& e) {
    pending_error() = e.what();
  } catch (...) {
    pending_error() = "unexpected error in the core";
  }
  if constexpr (!std::is_void_v<R>) return failed_value<R>();
}

// {key: value, ...}
val object(std::initializer_list<std::pair<const char*, val>> fields) {
  val out = val::object();
  for (const auto& [key, value] : fields) out.set(key, value);
  return out;
}

template <class T>
val array_of(const std::vector<T>& values) {
  val out = val::array();
  for (const T& v : values) out.call<void>("push", v);
  return out;
}

// A JavaScript copy (Float32Array for float) of n values in the heap.
template <class T>
val copy_out(const T* data, size_t n) {
  return val(emscripten::typed_memory_view(n, data)).call<val>("slice");
}

// The bytes of a Uint8Array copied into the heap.
std::vector<uint8_t> copy_in(const val& bytes) {
  std::vector<uint8_t> out(bytes["length"].as<size_t>());
  val(emscripten::typed_memory_view(out.size(), out.data())).call<void>("set", bytes);
  return out;
}

// A JSON value of the core (io/json.h) as the same JavaScript value, for small descriptive
// objects; a number stays the double it is (NaN and infinities too, which JSON text cannot hold).
val to_js(const Json& j) {
  switch (j.type()) {
    case Json::Type::Bool: return val(j.boolean());
    case Json::Type::Number: return val(j.number());
    case Json::Type::String: return val(j.string());
    case Json::Type::Array: {
      val out = val::array();
      for (const Json& v : j.items()) out.call<void>("push", to_js(v));
      return out;
    }
    case Json::Type::Object: {
      val out = val::object();
      for (const auto& [key, v] : j.members()) out.set(key, to_js(v));
      return out;
    }
    default: return val::null();
  }
}

// A measurement entry (measure/entries.h) as PROTOCOL.md's object: {shape, data, step, ...its
// descriptive fields}, data a Float32Array copy.
val entry_to_js(const Entry& e) {
  val out = object({{"shape", array_of(e.shape)},
                    {"data", copy_out(e.data.data(), e.data.size())},
                    {"step", val(double(e.step))}});
  for (const auto& [key, v] : e.fields.members()) out.set(key, to_js(v));
  return out;
}

// {name: entry} of entries in order.
val entries_to_js(const std::vector<Entry>& entries) {
  val out = val::object();
  for (const Entry& e : entries) out.set(e.name, entry_to_js(e));
  return out;
}

// {name: value} from JavaScript in the text form of the core's option table (String(0.05) is
// "0.05", as the CLI reads it).
OptionValues option_values(const val& options) {
  OptionValues out;
  const val names = val::global("Object").call<val>("keys", options);
  for (int i = 0, n = names["length"].as<int>(); i < n; ++i) {
    const std::string name = names[i].as<std::string>();
    out.emplace_back(name, val::global("String")(options[name]).as<std::string>());
  }
  return out;
}

// {name: value} onto a default config, each value set through the option table; then the
// combination is checked.
Config config_from(const val& options) {
  Config config;
  for (const auto& [name, value] : option_values(options)) set_option(config, name, value);
  validate(config);
  return config;
}

// Every option of a config in its text form (bnlab.mjs types them with the option table).
val options_of(const Config& config) {
  val out = val::object();
  for (const OptionInfo& option : option_table()) out.set(option.name, get_option(config, option.name));
  return out;
}

class Data {
 public:
  explicit Data(std::shared_ptr<const DataSplit> split) : split_(std::move(split)) {}

  // The four IDX files of a train/test split, uncompressed.
  static Data* from_idx(val train_images, val train_labels, val test_images, val test_labels, std::string name) {
    return rethrow_as_js([&] {
      auto split = std::make_shared<DataSplit>();
      {
        const auto images = copy_in(train_images), labels = copy_in(train_labels);
        split->train = parse_idx(images.data(), images.size(), labels.data(), labels.size(), name);
      }
      const auto images = copy_in(test_images), labels = copy_in(test_labels);
      split->test = parse_idx(images.data(), images.size(), labels.data(), labels.size(), name);
      if (name == "fashion") name_fashion_classes(*split);
      return new Data(split);
    });
  }
  // The data a config names when the core makes it itself (shapes, shift: from the config's seed).
  static Data* generated(val options) {
    return rethrow_as_js([&] { return new Data(load_data(config_from(options), "")); });
  }

  const std::shared_ptr<const DataSplit>& split() const { return split_; }

  // This data is what the built dataset's files in data_dir hold (train/trainer.h keep_data):
  // an experiment reading them uses it instead of parsing them again.
  void keep_as(const std::string& dataset, const std::string& data_dir) const {
    rethrow_as_js([&] { keep_data(dataset, data_dir, split_); });
  }

  val info() const {
    const Dataset& train = split_->train;
    return object({{"name", val(train.name)}, {"train_size", val(train.size())},
                   {"test_size", val(split_->test.size())}, {"num_classes", val(train.num_classes)},
                   {"class_names", array_of(train.class_names)},
                   {"image_shape", array_of(std::vector<int>{train.channels, train.height, train.width})}});
  }

 private:
  std::shared_ptr<const DataSplit> split_;
};

// A Side (measure/side.h) for JavaScript: each method calls the core and converts its result.
class SideJs {
 public:
  SideJs(const Config& config, const Data& data) : side_(config, data.split()) {}
  Side& side() { return side_; }

  // {first_step, loss, accuracy, lr} of Side::step's record, typed arrays.
  val step(int n) {
    return rethrow_as_js([&] { return steps(side_.step(n)); });
  }
  static val steps(const StepRecord& r) {
    return object({{"first_step", val(double(r.first_step))},
                   {"loss", copy_out(r.loss.data(), r.loss.size())},
                   {"accuracy", copy_out(r.accuracy.data(), r.accuracy.size())},
                   {"lr", copy_out(r.lr.data(), r.lr.size())}});
  }
  val evaluate(const std::string& mode, int max_examples) {
    return rethrow_as_js([&] {
      const EvalMetrics m = side_.evaluate(mode, max_examples);
      return object({{"loss", val(m.loss)}, {"accuracy", val(m.accuracy)}, {"count", val(m.count)}});
    });
  }

  double step_count() const { return double(side_.trainer().step_count()); }
  double diverged_at() const { return double(side_.trainer().diverged_at()); }
  std::string status() const { return side_.trainer().status(); }
  double epoch() const { return side_.epoch(); }
  val config() const { return options_of(side_.trainer().config()); }
  std::string save_state() const {
    return rethrow_as_js([&] { return side_.trainer().save_state(); });
  }
  void load_state(const std::string& json) {
    rethrow_as_js([&] { side_.trainer().load_state(json); });
  }
  void set_options(val options) {
    rethrow_as_js([&] { side_.trainer().set_options(option_values(options)); });
  }
  val options_needing_reset(val options) const {
    return rethrow_as_js(
        [&] { return array_of(side_.trainer().options_needing_reset(option_values(options))); });
  }
  // The core's model description (io/describe.h) as JSON text; bnlab.mjs parses it.
  std::string model_info() const { return describe_model(side_.trainer().model()).dump(); }

  val tensor_names() const {
    val out = val::array();
    for (const NamedTensor& t : side_.tensors())
      out.call<void>("push", object({{"name", val(t.name)}, {"shape", array_of(t.shape)}, {"kind", val(t.kind)}}));
    return out;
  }
  val tensor(const std::string& name) const {
    return rethrow_as_js([&] {
      const NamedTensor t = side_.tensor(name);
      return object({{"shape", array_of(t.shape)}, {"data", copy_out(t.tensor->data(), size_t(t.tensor->size()))}});
    });
  }

  void set_measure_config(int hist_norm, int hist_channel, int bins, int probe_size, int probe_unit) {
    rethrow_as_js([&] {
      MeasureConfig c;
      c.hist_norm = hist_norm, c.hist_channel = hist_channel, c.bins = bins;
      c.probe_size = probe_size, c.probe_unit = probe_unit;
      side_.set_measure_config(c);
    });
  }
  val measure_step(bool capture) {
    return rethrow_as_js([&] { return entries_to_js(side_.measure_step(capture)); });
  }
  val measure_heavy() {
    return rethrow_as_js([&] { return entries_to_js(side_.measure_heavy()); });
  }
  val measure_features(int image) {
    return rethrow_as_js([&] { return entries_to_js(side_.measure_features(image)); });
  }
  val misclassified(int max_images) {
    return rethrow_as_js([&] { return entry_to_js(side_.misclassified(max_images)); });
  }

  void set_trace(bool on) { side_.set_trace(on); }
  val trace_unit(const std::string& layer, int n, int c, int h, int w) const {
    return rethrow_as_js([&] { return to_js(side_.trace_unit(layer, n, c, h, w)); });
  }
  // {image, label, batch_size, layer, c, h, w, step, classes, eval: {y, probs, prediction},
  //  y, mean, var: Float32Array(draws), probs: Float32Array(draws * K), predictions: Int32Array(draws)}
  val what_if(int image, int batch_size, int draws, const std::string& layer, int c, int h, int w) {
    return rethrow_as_js([&] {
      const WhatIfDraws d = side_.what_if(image, batch_size, draws, layer, c, h, w);
      return object({{"image", val(d.image)}, {"label", val(d.label)}, {"batch_size", val(d.batch_size)},
                     {"layer", val(d.layer)}, {"c", val(d.c)}, {"h", val(d.h)}, {"w", val(d.w)},
                     {"step", val(double(d.step))}, {"classes", val(d.classes)},
                     {"eval", object({{"y", val(d.eval.y)}, {"probs", copy_out(d.eval.probs.data(), d.eval.probs.size())},
                                      {"prediction", val(d.eval.prediction)}})},
                     {"y", copy_out(d.y.data(), d.y.size())}, {"mean", copy_out(d.mean.data(), d.mean.size())},
                     {"var", copy_out(d.var.data(), d.var.size())}, {"probs", copy_out(d.probs.data(), d.probs.size())},
                     {"predictions", copy_out(d.predictions.data(), d.predictions.size())}});
    });
  }

 private:
  Side side_;
};

// The core's Run (train/run.h) over sides JavaScript owns, trained by measure/side.h
// train_sides: the worker's one side or lockstep pair (bnlab.mjs Run.train). A side must outlive
// its place here: bnlab.mjs's Run makes a new one whenever it replaces a side.
class RunJs {
 public:
  void add(SideJs& side) {
    run_.attach(side.side().trainer());
    sides_.push_back(&side.side());
  }
  // Evaluations after a side's every eval_every-th step, heavy measurements before its step after
  // every heavy_every-th (0: never).
  void set_schedule(double eval_every, double heavy_every) {
    RunSchedule s;
    s.eval_every = int64_t(eval_every), s.heavy_every = int64_t(heavy_every);
    run_.set_schedule(s);
  }
  // Up to n lockstep steps; heavy(side) and stepped(side, eval_due, last) are JavaScript functions
  // that must not throw (bnlab.mjs catches for them). Returns each side's step record.
  val train(int n, val heavy, val stepped) {
    return rethrow_as_js([&] {
      const auto on_heavy = [&](int side) { heavy(side); };
      const auto on_stepped = [&](int side, bool eval_due, bool last) { stepped(side, eval_due, last); };
      train_sides(run_, sides_, n, on_heavy, on_stepped);
      val out = val::array();
      for (const Side* side : sides_) out.call<void>("push", SideJs::steps(side->steps()));
      return out;
    });
  }

 private:
  Run run_;
  std::vector<Side*> sides_;
};

SideJs* make_side(val options, const Data& data) {
  return rethrow_as_js([&] { return new SideJs(config_from(options), data); });
}

// [{name, type, help, choices, min, max, default}] of the core's option table.
val options() {
  const Config defaults;
  val out = val::array();
  for (const OptionInfo& o : option_table())
    out.call<void>("push", object({{"name", val(o.name)}, {"type", val(o.type)}, {"help", val(o.help)},
                                   {"choices", array_of(o.choices)}, {"min", val(o.min)}, {"max", val(o.max)},
                                   {"default", val(get_option(defaults, o.name))}}));
  return out;
}

val preset_list() {
  val out = val::array();
  for (const PresetInfo& p : presets())
    out.call<void>("push", object({{"name", val(p.name)}, {"spec", val(p.spec)}, {"description", val(p.description)}}));
  return out;
}

// The description of the model a config builds for examples of shape [C, H, W] with `classes`
// classes, without data or training (io/describe.h), as JSON text.
std::string describe(val options, int c, int h, int w, int classes) {
  return rethrow_as_js([&] { return describe_model(config_from(options), Shape{1, c, h, w}, classes).dump(); });
}

std::string layer_kinds_text() { return layer_kinds_json().dump(); }

// Which data a config trains on (train/config.h): configs with the same key share one Data.
std::string data_key_of(val options) {
  return rethrow_as_js([&] { return data_key(config_from(options)); });
}

// The config a state file was saved with, every option in its text form.
val state_config(const std::string& json) {
  return rethrow_as_js([&] { return options_of(config_from_state(json)); });
}

// The benchmark of NUMERICS.md 8 through the core's refbench.h, timed by performance.now();
// cpu_clock, a JavaScript function returning the process's CPU seconds (node's
// process.cpuUsage; browsers have none) or undefined, times the CPU per step too.
val reference_bench(bool with_bn, bool quick, val cpu_clock) {
  return rethrow_as_js([&] {
    const BenchProtocol p = quick ? BenchProtocol::quick() : BenchProtocol();
    ReferenceBench bench(with_bn);
    std::function<double()> cpu_now;
    if (cpu_clock.typeOf().as<std::string>() == "function")
      cpu_now = [&cpu_clock] { return cpu_clock().as<double>(); };
    const BenchResult r = bench.run(p, [] { return emscripten_get_now() / 1000.0; }, cpu_now);
    return object({{"variant", val(r.variant)}, {"warmup_steps", val(p.warmup)}, {"timed_steps", val(p.steps)},
                   {"repeats", val(p.repeats)}, {"train_steps_per_s", val(r.train_steps_per_s)},
                   {"train_steps_per_s_runs", array_of(r.train_steps_per_s_runs)},
                   {"train_gflops", val(r.train_gflops)},
                   {"train_cpu_ms_per_step", cpu_now ? val(r.train_cpu_ms_per_step) : val::null()},
                   {"train_cpu_ms_per_step_runs", array_of(r.train_cpu_ms_per_step_runs)},
                   {"eval_images_per_s", val(r.eval_images_per_s)}, {"loss_step1", val(r.loss_step1)},
                   {"loss_after_warmup", val(r.loss_after_warmup)}, {"loss_final", val(r.loss_final)},
                   {"eval_logit_sum", val(r.eval_logit_sum)}});
  });
}

// The reference step taken apart (ReferenceBench::profile): {step_ms, trainer_step_ms,
// parts: [{part, kind, ms}]}, timed with performance.now(), or with cpu_clock (a JavaScript
// function returning CPU seconds, node's process.cpuUsage) when it is one.
val reference_profile(bool with_bn, int steps, val cpu_clock) {
  return rethrow_as_js([&] {
    ReferenceBench bench(with_bn);
    const bool cpu = cpu_clock.typeOf().as<std::string>() == "function";
    const StepProfile prof = bench.profile(steps, [&]() -> double {
      return cpu ? cpu_clock().as<double>() : emscripten_get_now() / 1000.0;
    });
    val parts = val::array();
    for (const ProfileRow& r : prof.rows)
      parts.call<void>(
          "push",
          object({{"part", val(r.part)}, {"kind", val(r.kind)}, {"ms", val(1000 * r.seconds)}}));
    return object({{"variant", val(with_bn ? "bn" : "nobn")}, {"clock", val(cpu ? "cpu" : "wall")},
                   {"step_ms", val(1000 * prof.step_seconds)},
                   {"trainer_step_ms", val(1000 * prof.trainer_seconds)},
                   {"parts", parts}});
  });
}

// [{name, title, description, default_steps}] of the core's experiments.
val experiment_list() {
  val out = val::array();
  for (const ExperimentInfo& e : experiments())
    out.call<void>("push", object({{"name", val(e.name)},
                                   {"title", val(e.title)},
                                   {"description", val(e.description)},
                                   {"default_steps", val(e.default_steps)},
                                   {"units", val(e.parts.units)}}));
  return out;
}

// {dataset: the page's accuracy target on it} for each dataset the experiments train on
// (experiments/targets.h page_target; experiment_datasets()).
val accuracy_targets() {
  val out = val::object();
  for (const std::string& d : experiment_datasets()) out.set(d, val(std::lround(page_target(d) * 100) / 100.0));  // 0.9, not 0.899999976
  return out;
}

void check_dataset(const std::string& dataset) {
  rethrow_as_js([&] { check_experiment_dataset(dataset); });
}

// An experiment's tables as [{name, columns, rows}], every cell text (as in its CSV).
val tables_to_js(const Tables& tables) {
  val out = val::array();
  for (const auto& [stem, table] : tables) {
    val rows = val::array();
    for (const auto& row : table.data()) rows.call<void>("push", array_of(row));
    out.call<void>(
        "push",
        object({{"name", val(stem)}, {"columns", array_of(table.columns())}, {"rows", rows}}));
  }
  return out;
}

// The options of a bound experiment call (progress is the caller's).
ExperimentOptions experiment_options(uint32_t seed, int steps, const std::string& data_dir,
                                     const std::string& dataset = "mnist") {
  ExperimentOptions options;
  options.seed = seed, options.steps = steps, options.data_dir = data_dir,
  options.dataset = dataset;
  return options;
}

// Runs an experiment to the end (it blocks; progress(fraction) is called now and then):
// {summary: JSON text, record: the JSON text `bnlab experiment` writes as summary.json (the
// summary after name, title, seed, steps, dataset: what the core summarizes over seeds), tables:
// [{name, columns, rows}]}. data_dir: where MNIST (or, for dataset
// fashion, Fashion-MNIST) is in the module's file system (bnlab.mjs writes the page's files there).
val run_experiment(const std::string& name, uint32_t seed, int steps, const std::string& data_dir,
                   const std::string& dataset, val progress) {
  return rethrow_as_js([&] {
    ExperimentOptions options = experiment_options(seed, steps, data_dir, dataset);
    options.progress = [&](double fraction) { progress(fraction); };
    const ExperimentInfo& info = find_experiment(name);
    const ExperimentResult result = info.run(options);
    return object({{"summary", val(result.summary.dump())},
                   {"record", val(run_record(info, options, result).dump())},
                   {"tables", tables_to_js(result.tables)}});
  });
}

// --- Seeds (core/experiments/seeds.h): an experiment over many seeds runs each seed as its own
// run (bnlab.mjs), and the core summarizes them: the same code as `bnlab experiment --seeds`. ---

// "1-10", "1,4,9", "1-3,8" -> [seeds]; throws the core's message for anything else.
val parse_seeds_js(const std::string& text) {
  return rethrow_as_js([&] {
    val out = val::array();
    for (uint32_t s : parse_seeds(text)) out.call<void>("push", val(s));
    return out;
  });
}

// The summary over seeds (means, sd, 95% t-intervals, a verdict per claim) of per-seed summaries
// as `bnlab experiment NAME --seed S` writes them (with experiment, title, seed and steps), given
// as the JSON text of an array. Returns JSON text.
std::string summarize_seeds_js(const std::string& per_seed) {
  return rethrow_as_js([&] {
    const Json list = Json::parse(per_seed);
    if (!list.is_array()) throw Error("summarizeSeeds takes a JSON array of per-seed summaries");
    return summarize_seeds(list.items()).dump();
  });
}

// --- Sweeps in parts (the page's worker pool; core/experiments/experiments.h ExperimentParts) ---

// Units [begin, end) of a sweep: [{name, columns, rows}] with those units' rows.
val run_experiment_part_js(const std::string& name, uint32_t seed, int steps,
                           const std::string& data_dir, const std::string& dataset, int begin,
                           int end, val progress) {
  return rethrow_as_js([&] {
    ExperimentOptions options = experiment_options(seed, steps, data_dir, dataset);
    options.progress = [&](double fraction) { progress(fraction); };
    return tables_to_js(run_experiment_part(find_experiment(name), options, begin, end));
  });
}

// The parts (JSON text of an array of parts, each [{name, columns, rows}], in unit order) combined:
// {summary: JSON text, tables}, what runExperiment returns for the whole sweep. The parts come as
// text, read and checked by the core's JSON parser and tables_from_json: less code in the module
// than reading them value by value through embind.
val combine_experiment_js(const std::string& name, uint32_t seed, int steps,
                          const std::string& dataset, const std::string& parts_json) {
  return rethrow_as_js([&] {
    const Json parts = Json::parse(parts_json);
    if (!parts.is_array()) throw Error("combine: parts must be an array");
    std::vector<Tables> all;
    for (const Json& p : parts.items()) all.push_back(tables_from_json(p));
    const ExperimentResult r =
        combine_experiment_parts(find_experiment(name), experiment_options(seed, steps, "", dataset), all);
    return object({{"summary", val(r.summary.dump())}, {"tables", tables_to_js(r.tables)}});
  });
}

// Bytes malloc has handed out and not taken back (the heap itself only ever grows).
double heap_in_use() { return double(mallinfo().uordblks); }

}  // namespace
}  // namespace bnlab

EMSCRIPTEN_BINDINGS(bnlab) {
  using namespace emscripten;
  using namespace bnlab;
  class_<Data>("Data")
      .class_function("fromIdx", &Data::from_idx, allow_raw_pointers())
      .class_function("generated", &Data::generated, allow_raw_pointers())
      .function("info", &Data::info)
      .function("keepAs", &Data::keep_as);
  class_<SideJs>("Side")
      .constructor(&make_side, allow_raw_pointers())
      .function("step", &SideJs::step)
      .function("evaluate", &SideJs::evaluate)
      .function("stepCount", &SideJs::step_count)
      .function("epoch", &SideJs::epoch)
      .function("divergedAt", &SideJs::diverged_at)
      .function("status", &SideJs::status)
      .function("config", &SideJs::config)
      .function("saveState", &SideJs::save_state)
      .function("loadState", &SideJs::load_state)
      .function("setOptions", &SideJs::set_options)
      .function("optionsNeedingReset", &SideJs::options_needing_reset)
      .function("modelInfo", &SideJs::model_info)
      .function("tensorNames", &SideJs::tensor_names)
      .function("tensor", &SideJs::tensor)
      .function("setMeasureConfig", &SideJs::set_measure_config)
      .function("measureStep", &SideJs::measure_step)
      .function("measureHeavy", &SideJs::measure_heavy)
      .function("measureFeatures", &SideJs::measure_features)
      .function("misclassified", &SideJs::misclassified)
      .function("setTrace", &SideJs::set_trace)
      .function("traceUnit", &SideJs::trace_unit)
      .function("whatIf", &SideJs::what_if);
  class_<RunJs>("Run")
      .constructor<>()
      .function("add", &RunJs::add)
      .function("setSchedule", &RunJs::set_schedule)
      .function("train", &RunJs::train);
  function("options", &options);
  function("presets", &preset_list);
  function("describeModel", &describe);
  function("layerKinds", &layer_kinds_text);
  function("dataKey", &data_key_of);
  function("stateConfig", &state_config);
  function("referenceBench", &reference_bench);
  function("referenceProfile", &reference_profile);
  function("experiments", &experiment_list);
  function("accuracyTargets", &accuracy_targets);
  function("checkExperimentDataset", &check_dataset);
  function("runExperiment", &run_experiment);
  function("runExperimentPart", &run_experiment_part_js);
  function("combineExperiment", &combine_experiment_js);
  function("parseSeeds", &parse_seeds_js);
  function("summarizeSeeds", &summarize_seeds_js);
  function("heapInUse", &heap_in_use);
  function("takeError", &take_error);
}
