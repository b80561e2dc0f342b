// The Embind adapter between BN Lab's core and JavaScript: no maths, no training logic.
//
// JavaScript sees (wasm/bnlab.mjs wraps them in the documented API):
//   Data        one train/test split in the wasm heap, shared by the simulations made from it
//   Simulation  one training run: a Trainer reading shared Data
//   functions   the option table, the presets, heap statistics
// Every entry point catches the core's exceptions and rethrows them as JavaScript Errors carrying
// the core's message (the module never aborts on bad input). Bulk results are typed arrays copied
// out of the heap: a view into it would dangle as soon as the heap grows.
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "dataset.h"
#include "error.h"
#include "idx.h"
#include "synthetic.h"
#include "trainer.h"

namespace bnlab {
namespace {

using emscripten::val;

// Runs body; a C++ exception becomes a JavaScript Error with the exception's message.
template <class Body>
auto rethrow_as_js(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    val::global("Error").new_(std::string(e.what())).throw_();
  }
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

val array_of(const std::vector<int>& values) {
  val out = val::array();
  for (int v : values) out.call<void>("push", v);
  return out;
}

// The first `dims` of (n, c, h, w): the tensor's shape as PyTorch gives it.
val torch_shape(const Shape& s, int dims) {
  return array_of(std::vector<int>{s.n, s.c, s.h, s.w}).call<val>("slice", 0, dims);
}

// {name: value} from JavaScript, each value set through the core's option table in its text
// form (String(0.05) is "0.05", as the CLI would read it), then the combination checked.
Config config_from(const val& options) {
  Config config;
  const val names = val::global("Object").call<val>("keys", options);
  const int count = names["length"].as<int>();
  for (int i = 0; i < count; ++i) {
    const std::string name = names[i].as<std::string>();
    set_option(config, name, val::global("String")(options[name]).as<std::string>());
  }
  validate(config);
  return config;
}

class Data {
 public:
  explicit Data(DataSplit split) : split_(std::make_shared<const DataSplit>(std::move(split))) {}

  const std::shared_ptr<const DataSplit>& split() const { return split_; }

  // {name, train_size, test_size, num_classes, class_names, image_shape: [C, H, W]}
  val info() const {
    const Dataset& train = split_->train;
    val out = val::object();
    out.set("name", train.name);
    out.set("train_size", train.size());
    out.set("test_size", split_->test.size());
    out.set("num_classes", train.num_classes);
    val names = val::array();
    for (const auto& n : train.class_names) names.call<void>("push", n);
    out.set("class_names", names);
    out.set("image_shape", array_of({train.channels, train.height, train.width}));
    return out;
  }

 private:
  std::shared_ptr<const DataSplit> split_;
};

// The four IDX files of a train/test split, as uncompressed bytes.
Data* data_from_idx(val train_images, val train_labels, val test_images, val test_labels,
                    std::string name) {
  return rethrow_as_js([&] {
    DataSplit split;
    {
      const auto images = copy_in(train_images), labels = copy_in(train_labels);
      split.train = parse_idx(images.data(), images.size(), labels.data(), labels.size(), name);
    }
    const auto images = copy_in(test_images), labels = copy_in(test_labels);
    split.test = parse_idx(images.data(), images.size(), labels.data(), labels.size(), name);
    return new Data(std::move(split));
  });
}

// A dataset the core generates (shapes, shift) from a seed.
Data* synthetic_data(std::string name, uint32_t seed) {
  return rethrow_as_js([&] { return new Data(make_dataset(name, seed, "")); });
}

class Simulation {
 public:
  Simulation(const Config& config, const Data& data)
      : data_(data.split()), trainer_(std::make_unique<Trainer>(config, data_)) {}

  // Takes up to n steps, fewer when the run diverges (the diverging step is the last one
  // reported), and returns their metrics: {first_step, loss, accuracy, lr}, typed arrays.
  val step(int n) {
    return rethrow_as_js([&] {
      loss_.clear();
      accuracy_.clear();
      lr_.clear();
      const double first_step = double(trainer_->step_count() + 1);
      for (int i = 0; i < n && !trainer_->diverged(); ++i) {
        const StepMetrics m = trainer_->step();
        loss_.push_back(m.loss);
        accuracy_.push_back(m.accuracy);
        lr_.push_back(m.lr);
      }
      val out = val::object();
      out.set("first_step", first_step);
      out.set("loss", copy_out(loss_.data(), loss_.size()));
      out.set("accuracy", copy_out(accuracy_.data(), accuracy_.size()));
      out.set("lr", copy_out(lr_.data(), lr_.size()));
      return out;
    });
  }

  // mode "eval" (running statistics) or "train" (statistics of each test batch).
  val evaluate(const std::string& mode, int max_examples) {
    return rethrow_as_js([&] {
      if (mode != "eval" && mode != "train")
        throw Error("evaluate: mode must be 'eval' or 'train', got '" + mode + "'");
      const EvalMetrics m = trainer_->evaluate(mode == "eval" ? Mode::Eval : Mode::Train,
                                               max_examples);
      val out = val::object();
      out.set("loss", m.loss);
      out.set("accuracy", m.accuracy);
      out.set("count", m.count);
      return out;
    });
  }

  double step_count() const { return double(trainer_->step_count()); }
  // Epochs completed plus the fraction of the current one.
  double epoch() const {
    const BatchSampler& sampler = trainer_->sampler();
    const int n = trainer_->config().train_size > 0
                      ? std::min(trainer_->config().train_size, data_->train.size())
                      : data_->train.size();
    return double(sampler.epoch()) + double(sampler.position()) / n;
  }
  double diverged_at() const { return double(trainer_->diverged_at()); }
  std::string status() const { return trainer_->status(); }

  // Every option by name, in its text form (bnlab.mjs types them with the option table).
  val config() const {
    val out = val::object();
    for (const OptionInfo& option : option_table())
      out.set(option.name, get_option(trainer_->config(), option.name));
    return out;
  }

  std::string save_state() const {
    return rethrow_as_js([&] { return trainer_->save_state(); });
  }
  void load_state(const std::string& json) {
    rethrow_as_js([&] { trainer_->load_state(json); });
  }

  // {description, num_params, layers: [{name, kind, output_shape: [1, C, H, W]}]}
  val model_info() const {
    const Model& model = trainer_->model();
    val layers = val::array();
    Shape shape = model.input_shape();
    for (int i = 0; i < model.num_layers(); ++i) {
      Layer& layer = const_cast<Model&>(model).layer(i);
      shape = layer.output_shape(shape);
      val entry = val::object();
      entry.set("name", model.layer_name(i));
      entry.set("kind", layer.kind());
      entry.set("output_shape", torch_shape(shape, 4));
      layers.call<void>("push", entry);
    }
    val out = val::object();
    out.set("description", model.describe());
    out.set("num_params", double(model.num_params()));
    out.set("layers", layers);
    return out;
  }

  // [{name, shape, kind}] of every tensor tensor() can copy: parameters ("conv1.weight"), their
  // gradients ("conv1.weight.grad") and buffers ("bn1.running_mean").
  val tensor_names() const {
    val out = val::array();
    auto add = [&](const std::string& name, const Tensor& t, int dims, const char* kind) {
      val entry = val::object();
      entry.set("name", name);
      entry.set("shape", torch_shape(t.shape(), dims));
      entry.set("kind", std::string(kind));
      out.call<void>("push", entry);
    };
    for (const NamedParam& p : trainer_->model().params()) {
      add(p.name, *p.param.value, p.param.dims, "param");
      add(p.name + ".grad", *p.param.grad, p.param.dims, "grad");
    }
    for (const NamedBuffer& b : trainer_->model().buffers())
      add(b.name, *b.buffer.value, b.buffer.dims, "buffer");
    return out;
  }

  // A copy of one tensor named as in tensor_names(): {shape, data: Float32Array}.
  val tensor(const std::string& name) const {
    return rethrow_as_js([&] {
      const Model& model = trainer_->model();
      for (const NamedParam& p : model.params()) {
        if (p.name == name) return tensor_value(*p.param.value, p.param.dims);
        if (p.name + ".grad" == name) return tensor_value(*p.param.grad, p.param.dims);
      }
      for (const NamedBuffer& b : model.buffers())
        if (b.name == name) return tensor_value(*b.buffer.value, b.buffer.dims);
      throw Error("no tensor named '" + name + "' (see tensor_names())");
    });
  }

 private:
  static val tensor_value(const Tensor& t, int dims) {
    val out = val::object();
    out.set("shape", torch_shape(t.shape(), dims));
    out.set("data", copy_out(t.data(), size_t(t.size())));
    return out;
  }

  std::shared_ptr<const DataSplit> data_;
  std::unique_ptr<Trainer> trainer_;
  std::vector<float> loss_, accuracy_, lr_;  // (steps of the last step() call)
};

Simulation* make_simulation(val options, const Data& data) {
  return rethrow_as_js([&] { return new Simulation(config_from(options), data); });
}

// [{name, type, help, choices, min, max, default}] of the core's option table.
val options() {
  const Config defaults;
  val out = val::array();
  for (const OptionInfo& option : option_table()) {
    val entry = val::object();
    entry.set("name", option.name);
    entry.set("type", option.type);
    entry.set("help", option.help);
    val choices = val::array();
    for (const auto& c : option.choices) choices.call<void>("push", c);
    entry.set("choices", choices);
    entry.set("min", option.min);
    entry.set("max", option.max);
    entry.set("default", get_option(defaults, option.name));
    out.call<void>("push", entry);
  }
  return out;
}

val preset_list() {
  val out = val::array();
  for (const PresetInfo& p : presets()) {
    val entry = val::object();
    entry.set("name", p.name);
    entry.set("spec", p.spec);
    entry.set("description", p.description);
    out.call<void>("push", entry);
  }
  return out;
}

// Bytes malloc has handed out and not taken back (the heap itself only ever grows).
double heap_in_use() { return double(mallinfo().uordblks); }

}  // namespace
}  // namespace bnlab

EMSCRIPTEN_BINDINGS(bnlab) {
  using namespace emscripten;
  using namespace bnlab;
  class_<Data>("Data")
      .class_function("fromIdx", &data_from_idx, allow_raw_pointers())
      .class_function("synthetic", &synthetic_data, allow_raw_pointers())
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
      .function("modelInfo", &Simulation::model_info)
      .function("tensorNames", &Simulation::tensor_names)
      .function("tensor", &Simulation::tensor);
  function("options", &options);
  function("presets", &preset_list);
  function("heapInUse", &heap_in_use);
}
