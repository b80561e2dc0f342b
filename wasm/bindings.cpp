// The Embind adapter between BN Lab's core and JavaScript: no maths, no training logic.
//
// JavaScript sees (wasm/bnlab.mjs wraps them in the documented API):
//   Data        one train/test split in the wasm heap, shared by the simulations made from it
//   Simulation  one training run: a Trainer on shared Data, and its Instrument (measure.h)
//   Run         the core's run loop (train/run.h) over one simulation or a lockstep pair
//   functions   the option table, presets, the config of a state file, the reference benchmark,
//               the experiments, heap statistics
// Every entry point catches the core's exceptions and hands their message to JavaScript, which
// throws it as an Error (the module never aborts on bad input). The throw happens in JavaScript,
// after the call has returned: a JavaScript exception thrown from inside a C++ call unwinds
// through the wasm frames without running their destructors, leaking the exception object and
// every argument the call was given (a 100 KB state string per failed loadState). So a failing
// entry point stores its message (pending_error), returns an empty value, and bnlab.mjs's
// wrapper of every bound function and method calls takeError() and throws. Bulk results are typed arrays copied
// out of the heap: a view into it would dangle as soon as the heap grows.
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
#include "measure/trace.h"
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

// The first `dims` of (n, c, h, w): the shape as PyTorch gives it.
val torch_shape(const Shape& s, int dims) {
  return array_of(std::vector<int>{s.n, s.c, s.h, s.w}).call<val>("slice", 0, dims);
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

class Simulation {
 public:
  Simulation(const Config& config, const Data& data) : trainer_(config, data.split()) {}

  // Takes up to n steps through a one-side run of the core's run loop (train/run.h), fewer when
  // the run diverges (the diverging step is the last one reported), and returns their metrics:
  // {first_step, loss, accuracy, lr}, typed arrays.
  val step(int n) {
    return rethrow_as_js([&] {
      Run run;
      run.attach(trainer_);
      begin_steps();
      const auto before = [this](int, Trainer&) { before_step(); };
      const auto stepped = [this](const SideStep& s, Trainer&) { record(s); };
      RunHooks hooks;
      hooks.before = before, hooks.stepped = stepped;
      run.train(n, hooks);
      return steps();
    });
  }

  // This simulation's part in the steps of a run (step() above, or RunJs below over both sides):
  // begin_steps() forgets the last call's metrics, before_step() and record(step) are the run's
  // hooks, steps() returns what was recorded as step() does.
  void begin_steps() {
    loss_.clear(), accuracy_.clear(), lr_.clear();
    first_step_ = double(trainer_.step_count() + 1);
  }
  void before_step() {
    if (tracing_) tracer_.remember(trainer_);  // the running statistics before the update
  }
  void record(const SideStep& s) {
    if (s.stopped) return;
    loss_.push_back(s.metrics.loss), accuracy_.push_back(s.metrics.accuracy);
    lr_.push_back(s.metrics.lr);
  }
  val steps() const {
    return object({{"first_step", val(first_step_)},
                   {"loss", copy_out(loss_.data(), loss_.size())},
                   {"accuracy", copy_out(accuracy_.data(), accuracy_.size())},
                   {"lr", copy_out(lr_.data(), lr_.size())}});
  }
  Trainer& trainer() { return trainer_; }

  // mode "eval" (running statistics) or "train" (statistics of each test batch).
  val evaluate(const std::string& mode, int max_examples) {
    return rethrow_as_js([&] {
      if (mode != "eval" && mode != "train") throw Error("evaluate: mode must be 'eval' or 'train', got '" + mode + "'");
      // An eval-mode evaluation keeps its predictions for misclassified().
      const bool eval = mode == "eval";
      const EvalMetrics m = trainer_.evaluate(eval ? Mode::Eval : Mode::Train, max_examples,
                                              eval ? &predictions_ : nullptr);
      if (eval) predictions_step_ = trainer_.step_count();
      return object({{"loss", val(m.loss)}, {"accuracy", val(m.accuracy)}, {"count", val(m.count)}});
    });
  }

  double step_count() const { return double(trainer_.step_count()); }
  double diverged_at() const { return double(trainer_.diverged_at()); }
  std::string status() const { return trainer_.status(); }
  // Epochs completed plus the fraction of the current one.
  double epoch() const {
    const BatchSampler& s = trainer_.sampler();
    return double(s.epoch()) + double(s.position()) / trainer_.data().train.size();
  }
  val config() const { return options_of(trainer_.config()); }

  std::string save_state() const {
    return rethrow_as_js([&] { return trainer_.save_state(); });
  }
  void load_state(const std::string& json) {
    rethrow_as_js([&] { trainer_.load_state(json); });
  }

  // Options changed between two steps (Trainer::set_options), and the names of those among them
  // that it refuses because they need a new run.
  void set_options(val options) {
    rethrow_as_js([&] { trainer_.set_options(option_values(options)); });
  }
  val options_needing_reset(val options) const {
    return rethrow_as_js([&] { return array_of(trainer_.options_needing_reset(option_values(options))); });
  }

  // The core's model description (io/describe.h) as JSON text; bnlab.mjs parses it.
  std::string model_info() const { return describe_model(trainer_.model()).dump(); }

  // [{name, shape, kind}] of every tensor tensor() copies: parameters ("conv1.weight"), their
  // gradients ("conv1.weight.grad") and buffers ("bn1.running_mean").
  val tensor_names() const {
    val out = val::array();
    for_each_tensor([&](const std::string& name, const Tensor& t, int dims, const char* kind) {
      out.call<void>("push", object({{"name", val(name)}, {"shape", torch_shape(t.shape(), dims)}, {"kind", val(kind)}}));
    });
    return out;
  }

  // A copy of one tensor named as in tensor_names(): {shape, data: Float32Array}.
  val tensor(const std::string& wanted) const {
    val out = val::undefined();
    for_each_tensor([&](const std::string& name, const Tensor& t, int dims, const char*) {
      if (name == wanted)
        out = object({{"shape", torch_shape(t.shape(), dims)}, {"data", copy_out(t.data(), size_t(t.size()))}});
    });
    if (out.isUndefined()) pending_error() = "no tensor named '" + wanted + "' (see tensorNames())";
    return out;
  }

  // What the instrument follows (measure.h MeasureConfig); takes effect at the next measurement.
  void set_measure_config(int hist_norm, int hist_channel, int bins, int probe_size, int probe_unit) {
    rethrow_as_js([&] {
      MeasureConfig c;
      c.hist_norm = hist_norm, c.hist_channel = hist_channel, c.bins = bins;
      c.probe_size = probe_size, c.probe_unit = probe_unit;
      instrument_ = std::make_unique<Instrument>(trainer_, c);
    });
  }

  // The cheap measurements of the last step, as PROTOCOL.md's named entries (measure/entries.h).
  // With tracing on and `capture`, first a copy of what the normalizers used in that step
  // (measure/trace.h), for trace_unit(): like the measurements it must be taken before anything
  // else runs the network.
  val measure_step(bool capture) {
    return rethrow_as_js([&] {
      if (tracing_ && capture) tracer_.capture(trainer_);
      instrument().measure_step(step_m_);
      return entries_to_js(step_entries(step_m_, instrument().config().probe_unit));
    });
  }

  // Feature maps of test image `image` in eval mode (measure.h FeatureMaps), as entries
  // (measure/entries.h feature_entries).
  val measure_features(int image) {
    return rethrow_as_js([&] {
      instrument().measure_features(image, features_);
      return entries_to_js(feature_entries(features_, trainer_.step_count()));
    });
  }

  // The first max_images test images the last eval-mode evaluate() got wrong, as the entry
  // test.misclassified (measure/entries.h; step -1 and no images before any evaluation).
  val misclassified(int max_images) {
    return rethrow_as_js([&] {
      collect_misclassified(trainer_.data().test, predictions_, max_images, misclassified_);
      return entry_to_js(misclassified_entry(misclassified_, predictions_step_));
    });
  }

  // --- The BN inspector and batch-mates (measure/trace.h) ---------------------------------------

  // Whether measure_step() also captures the normalizers for trace_unit() (a copy of each
  // normalizer's input, xhat, output and gradients: a few MB for ref-cnn, so only on request).
  void set_trace(bool on) {
    tracing_ = on;
    if (!on) tracer_.clear();
  }

  // One unit (n, c, h, w) of normalization layer `layer` in the step of the last measure_step()
  // with tracing on: every field of UnitTrace, as numbers (see trace.h).
  val trace_unit(const std::string& layer, int n, int c, int h, int w) {
    return rethrow_as_js([&] {
      return to_js(unit_trace_json(tracer_.trace(layer, n, c, h, w)));
    });
  }

  // Batch-mates: `draws` train-mode forwards of test image `image` among batch_size - 1 companions
  // drawn at random from the training set, and one eval-mode forward, following unit (c, h, w)
  // of normalization layer `layer`; the run is left byte-identical (trace.h WhatIf).
  //   {image, label, batch_size, layer, c, h, w, step, classes,
  //    eval: {y, probs: Float32Array(K), prediction},
  //    y, mean, var: Float32Array(draws), probs: Float32Array(draws * K), predictions: Int32Array(draws)}
  val what_if(int image, int batch_size, int draws, const std::string& layer, int c, int h, int w) {
    return rethrow_as_js([&] {
      if (batch_size < 2) throw Error("batch-mates: the batch size must be at least 2 (the image and one companion), got " + std::to_string(batch_size));
      if (draws < 1 || draws > 64) throw Error("batch-mates: draws must be 1 to 64, got " + std::to_string(draws));
      if (!what_if_) what_if_ = std::make_unique<WhatIf>(trainer_, 0x5EEDBA7Cu);
      const WhatIfUnit unit{layer, c, h, w};
      const WhatIfSample ev = what_if_->run(image, {}, Mode::Eval, unit);
      std::vector<float> y, mean, var, probs;
      std::vector<int> predictions;
      for (int i = 0; i < draws; ++i) {
        const WhatIfSample s = what_if_->run(image, what_if_->draw_companions(batch_size - 1), Mode::Train, unit);
        y.push_back(s.y), mean.push_back(s.mean), var.push_back(s.var), predictions.push_back(s.prediction);
        probs.insert(probs.end(), s.probs.begin(), s.probs.end());
      }
      return object({{"image", val(image)}, {"label", val(trainer_.data().test.labels[size_t(image)])},
                     {"batch_size", val(batch_size)}, {"layer", val(layer)}, {"c", val(c)}, {"h", val(h)}, {"w", val(w)},
                     {"step", val(double(trainer_.step_count()))}, {"classes", val(int(ev.probs.size()))},
                     {"eval", object({{"y", val(ev.y)}, {"probs", copy_out(ev.probs.data(), ev.probs.size())},
                                      {"prediction", val(ev.prediction)}})},
                     {"y", copy_out(y.data(), y.size())}, {"mean", copy_out(mean.data(), mean.size())},
                     {"var", copy_out(var.data(), var.size())}, {"probs", copy_out(probs.data(), probs.size())},
                     {"predictions", copy_out(predictions.data(), predictions.size())}});
    });
  }

  // Internal covariate shift and the loss landscape on the batch the next step will use, as
  // entries (measure/entries.h heavy_entries: none for a diverged run).
  val measure_heavy() {
    return rethrow_as_js([&] {
      instrument().measure_heavy(heavy_m_);
      return entries_to_js(heavy_entries(heavy_m_));
    });
  }

 private:
  Instrument& instrument() {
    if (!instrument_) instrument_ = std::make_unique<Instrument>(trainer_, MeasureConfig());
    return *instrument_;
  }

  template <class F>
  void for_each_tensor(F&& f) const {
    for (const NamedParam& p : trainer_.model().params()) {
      f(p.name, *p.param.value, p.param.dims, "param");
      f(p.name + ".grad", *p.param.grad, p.param.dims, "grad");
    }
    for (const NamedBuffer& b : trainer_.model().buffers()) f(b.name, *b.buffer.value, b.buffer.dims, "buffer");
  }

  Trainer trainer_;
  std::unique_ptr<Instrument> instrument_;  // made at the first measurement
  bool tracing_ = false;
  TraceRecorder tracer_;
  std::unique_ptr<WhatIf> what_if_;  // made at the first what_if(); its generator is its own
  StepMeasurements step_m_;
  HeavyMeasurements heavy_m_;
  FeatureMaps features_;
  Misclassified misclassified_;
  std::vector<int> predictions_;    // of the last eval-mode evaluate(), from the first test image
  int64_t predictions_step_ = -1;   // the step it was taken at
  std::vector<float> loss_, accuracy_, lr_;  // (steps since begin_steps())
  double first_step_ = 1;
};

// The core's run loop (train/run.h) over simulations JavaScript owns: the page's worker trains
// its side, or both sides in lockstep, through it (bnlab.mjs Session.train). A simulation must
// outlive its place here: Session makes a new RunJs whenever it replaces a side.
class RunJs {
 public:
  void add(Simulation& sim) {
    run_.attach(sim.trainer());
    sims_.push_back(&sim);
  }
  // What is due on the way (RunSchedule): evaluations after a side's every eval_every-th step,
  // heavy measurements before its step after every heavy_every-th (0: never).
  void set_schedule(double eval_every, double heavy_every) {
    RunSchedule s;
    s.eval_every = int64_t(eval_every), s.heavy_every = int64_t(heavy_every);
    run_.set_schedule(s);
  }
  // Up to n lockstep steps, fewer once every side has diverged, taken side by side
  // (Run::train_each: the lockstep numbers, each network in the cache for its steps). JavaScript is called back
  // (functions that must not throw: bnlab.mjs catches for them): heavy(side) when the heavy
  // measurements are due before a side's step, stepped(side, eval_due, last) after each step a
  // side took (last: the call's last lockstep step). Returns each side's Simulation.step result.
  val train(int n, val heavy, val stepped) {
    return rethrow_as_js([&] {
      for (Simulation* sim : sims_) sim->begin_steps();
      const int64_t last = run_.step_count() + n;
      const auto on_heavy = [&](int side, Trainer&) { heavy(side); };
      const auto on_before = [this](int side, Trainer&) { sims_[size_t(side)]->before_step(); };
      const auto on_stepped = [&](const SideStep& s, Trainer&) {
        sims_[size_t(s.side)]->record(s);
        if (!s.stopped) stepped(s.side, s.eval_due, s.step == last);
      };
      RunHooks hooks;
      hooks.heavy = on_heavy, hooks.before = on_before, hooks.stepped = on_stepped;
      run_.train_each(n, hooks);
      val out = val::array();
      for (Simulation* sim : sims_) out.call<void>("push", sim->steps());
      return out;
    });
  }

 private:
  Run run_;
  std::vector<Simulation*> sims_;
};

Simulation* make_simulation(val options, const Data& data) {
  return rethrow_as_js([&] { return new Simulation(config_from(options), data); });
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
      .function("info", &Data::info);
  class_<Simulation>("Simulation")
      .constructor(&make_simulation, allow_raw_pointers())
      .function("step", &Simulation::step)
      .function("evaluate", &Simulation::evaluate)
      .function("stepCount", &Simulation::step_count)
      .function("epoch", &Simulation::epoch)
      .function("divergedAt", &Simulation::diverged_at)
      .function("status", &Simulation::status)
      .function("config", &Simulation::config)
      .function("saveState", &Simulation::save_state)
      .function("loadState", &Simulation::load_state)
      .function("setOptions", &Simulation::set_options)
      .function("optionsNeedingReset", &Simulation::options_needing_reset)
      .function("modelInfo", &Simulation::model_info)
      .function("tensorNames", &Simulation::tensor_names)
      .function("tensor", &Simulation::tensor)
      .function("setMeasureConfig", &Simulation::set_measure_config)
      .function("measureStep", &Simulation::measure_step)
      .function("measureHeavy", &Simulation::measure_heavy)
      .function("measureFeatures", &Simulation::measure_features)
      .function("misclassified", &Simulation::misclassified)
      .function("setTrace", &Simulation::set_trace)
      .function("traceUnit", &Simulation::trace_unit)
      .function("whatIf", &Simulation::what_if);
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
