#include "train/config.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <cstdio>

#include "base/error.h"

namespace bnlab {

namespace {

// One option: its description plus how to read and write it in a Config.
struct OptionDef {
  OptionInfo info;
  std::function<void(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

[[noreturn]] void bad_value(const OptionInfo& o, const std::string& value, const std::string& why) {
  throw Error("option " + o.name + ": '" + value + "' " + why);
}

double read_number(const OptionInfo& o, const std::string& value) {
  // One grammar (config.h): no hex, inf, nan or spaces, whatever strtod would take.
  if (!is_number_text(value, false)) bad_value(o, value, "is not a number");
  if (o.type == "int" && !is_number_text(value, true)) bad_value(o, value, "is not a whole number");
  errno = 0;
  const double v = std::strtod(value.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v)) bad_value(o, value, "is not a number");
  if (v < o.min || v > o.max)
    bad_value(o, value, "is out of range [" + format_float(o.min) + ", " + format_float(o.max) + "]");
  if (o.type == "int" && v != std::floor(v)) bad_value(o, value, "is not a whole number");
  return v;
}

bool read_bool(const OptionInfo& o, const std::string& value) {
  if (value == "true" || value == "1" || value == "on" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "off" || value == "no") return false;
  bad_value(o, value, "is not a boolean (true or false)");
}

size_t read_choice(const OptionInfo& o, const std::string& value) {
  for (size_t i = 0; i < o.choices.size(); ++i)
    if (o.choices[i] == value) return i;
  std::string list;
  for (const auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
  bad_value(o, value, "is not one of: " + list);
}

// Builders for the four kinds of option, bound to a member of Config.
template <class T>
OptionDef number_option(std::string name, std::string help, double min, double max,
                        T Config::*member, bool integer = false) {
  OptionDef d;
  d.info = {name, integer ? "int" : "float", help, {}, min, max};
  const OptionInfo info = d.info;
  d.set = [info, member](Config& c, const std::string& v) { c.*member = T(read_number(info, v)); };
  d.get = [member, integer](const Config& c) {
    return integer ? std::to_string(int64_t(c.*member)) : format_float(double(c.*member));
  };
  return d;
}

template <class T>
OptionDef norm_number_option(std::string name, std::string help, double min, double max,
                             T NormConfig::*member, bool integer = false) {
  OptionDef d;
  d.info = {name, integer ? "int" : "float", help, {}, min, max};
  const OptionInfo info = d.info;
  d.set = [info, member](Config& c, const std::string& v) { c.norm.*member = T(read_number(info, v)); };
  d.get = [member, integer](const Config& c) {
    return integer ? std::to_string(int64_t(c.norm.*member)) : format_float(double(c.norm.*member));
  };
  return d;
}

OptionDef bool_option(std::string name, std::string help, std::function<bool&(Config&)> ref) {
  OptionDef d;
  d.info = {name, "bool", help, {"true", "false"}, 0, 1};
  const OptionInfo info = d.info;
  d.set = [info, ref](Config& c, const std::string& v) { ref(c) = read_bool(info, v); };
  d.get = [ref](const Config& c) { return ref(const_cast<Config&>(c)) ? "true" : "false"; };
  return d;
}

OptionDef string_option(std::string name, std::string help, std::string Config::*member) {
  OptionDef d;
  d.info = {name, "string", help, {}, 0, 0};
  const OptionInfo info = d.info;
  d.set = [info, member](Config& c, const std::string& v) {
    if (v.size() > 4096) bad_value(info, v.substr(0, 40) + "...", "is too long");
    c.*member = v;
  };
  d.get = [member](const Config& c) { return c.*member; };
  return d;
}

// A choice between enum values, listed in the order of `names`.
template <class E>
OptionDef choice_option(std::string name, std::string help, std::vector<std::string> names,
                        std::function<E&(Config&)> ref) {
  OptionDef d;
  d.info = {name, "choice", help, names, 0, 0};
  const OptionInfo info = d.info;
  d.set = [info, ref](Config& c, const std::string& v) { ref(c) = E(read_choice(info, v)); };
  d.get = [info, ref](const Config& c) { return info.choices[size_t(ref(const_cast<Config&>(c)))]; };
  return d;
}

const std::vector<OptionDef>& definitions() {
  static const std::vector<OptionDef> defs = [] {
    const double big = 1e9;
    std::vector<OptionDef> v;
    v.push_back(string_option("model", "preset name (ref-cnn, mlp, ...) or model spec", &Config::model));
    {
      OptionDef d;
      d.info = {"norm", "choice", "normalizer at the spec's bn positions", norm_kind_names(), 0, 0};
      const OptionInfo info = d.info;
      d.set = [info](Config& c, const std::string& s) {
        read_choice(info, s);
        c.norm.kind = parse_norm_kind(s);
      };
      d.get = [](const Config& c) { return norm_kind_name(c.norm.kind); };
      v.push_back(d);
    }
    v.push_back(choice_option<Placement>("placement", "normalizer before or after the activation",
                                         {"before", "after"}, [](Config& c) -> Placement& { return c.placement; }));
    v.push_back(norm_number_option("bn_eps", "epsilon added to the variance", 1e-12, 1.0, &NormConfig::eps));
    {
      // A number (PyTorch's momentum) or "cumulative" (PyTorch's momentum=None).
      OptionDef d;
      // Its word is the option's `choices` (config.h): the CLI's `options` and the page's form
      // (web/src/state.js, through web/src/core-facts.js) read it here.
      d.info = {"bn_momentum", "float", "running-statistics momentum, PyTorch convention, or 'cumulative'",
                {"cumulative"}, 0, 1};
      const OptionInfo info = d.info;
      d.set = [info](Config& c, const std::string& s) {
        if (s == info.choices[0] || s == "none" || s == "None") {
          c.norm.cumulative = true;
        } else {
          c.norm.momentum = float(read_number(info, s));
          c.norm.cumulative = false;
        }
      };
      d.get = [info](const Config& c) {
        return c.norm.cumulative ? info.choices[0] : format_float(c.norm.momentum);
      };
      v.push_back(d);
    }
    v.push_back(bool_option("affine", "learn a per-channel scale gamma and shift beta",
                            [](Config& c) -> bool& { return c.norm.affine; }));
    v.push_back(bool_option("track_running_stats", "keep running mean and variance for eval mode",
                            [](Config& c) -> bool& { return c.norm.track_running_stats; }));
    v.push_back(norm_number_option("groups", "GroupNorm: number of groups", 1, 4096, &NormConfig::groups, true));
    v.push_back(norm_number_option("ghost_batch", "Ghost BN: samples per sub-batch", 2, 4096, &NormConfig::ghost_batch, true));
    v.push_back(norm_number_option("r_max", "Batch Renorm: clip of r", 1, 1e6, &NormConfig::r_max));
    v.push_back(norm_number_option("d_max", "Batch Renorm: clip of d", 0, 1e6, &NormConfig::d_max));
    v.push_back(bool_option("noisy", "Santurkar et al.'s noise after every normalizer",
                            [](Config& c) -> bool& { return c.noisy; }));
    v.push_back(choice_option<InitKind>("init", "weight initialization", {"he", "xavier", "gaussian", "torch"},
                                        [](Config& c) -> InitKind& { return c.init; }));
    v.push_back(number_option("init_scale", "multiplier of the He/Xavier standard deviation", 1e-6, 1e3, &Config::init_scale));
    v.push_back(number_option("init_std", "standard deviation of init=gaussian", 0, 1e3, &Config::init_std));
    {
      // The datasets load_data knows (data/dataset.h); validate() checks a config set in code.
      OptionDef d;
      d.info = {"dataset", "choice",
                "real MNIST digits, real Fashion-MNIST clothes, synthetic shapes, shifted shapes, "
                "or IDX files",
                {"mnist", "fashion", "shapes", "shift", "idx"}, 0, 0};
      const OptionInfo info = d.info;
      d.set = [info](Config& c, const std::string& s) {
        read_choice(info, s);
        c.dataset = s;
      };
      d.get = [](const Config& c) { return c.dataset; };
      v.push_back(d);
    }
    v.push_back(string_option("train_images", "dataset=idx: training images (IDX file)", &Config::train_images));
    v.push_back(string_option("train_labels", "dataset=idx: training labels (IDX file)", &Config::train_labels));
    v.push_back(string_option("test_images", "dataset=idx: test images (IDX file)", &Config::test_images));
    v.push_back(string_option("test_labels", "dataset=idx: test labels (IDX file)", &Config::test_labels));
    v.push_back(number_option("train_size", "use only the first N training examples (0: all)", 0, big, &Config::train_size, true));
    v.push_back(number_option("test_size", "evaluate on the first N test examples (0: all)", 0, big, &Config::test_size, true));
    v.push_back(bool_option("shuffle", "reshuffle the training set every epoch",
                            [](Config& c) -> bool& { return c.shuffle; }));
    v.push_back(number_option("batch_size", "examples per mini-batch", 1, 4096, &Config::batch_size, true));
    v.push_back(number_option("lr", "learning rate", 0, 1e4, &Config::lr));
    v.push_back(number_option("momentum", "SGD momentum", 0, 0.999999, &Config::momentum));
    v.push_back(number_option("weight_decay", "L2 weight decay", 0, 10, &Config::weight_decay));
    v.push_back(choice_option<Schedule>("schedule", "learning-rate schedule", {"constant", "step", "cosine"},
                                        [](Config& c) -> Schedule& { return c.schedule; }));
    v.push_back(number_option("step_size", "schedule=step: steps between decays", 1, big, &Config::step_size, true));
    v.push_back(number_option("step_gamma", "schedule=step: decay factor", 0, 1, &Config::step_gamma));
    v.push_back(number_option("steps", "training steps of a run, counted from its start (cosine anneals over them; 0: none)", 0, big, &Config::steps, true));
    v.push_back(number_option("seed", "seed of weights, data order and noise", 0, 4294967295.0, &Config::seed, true));
    return v;
  }();
  return defs;
}

const OptionDef& find_option(const std::string& raw_name) {
  std::string name = raw_name;
  for (char& ch : name)
    if (ch == '-') ch = '_';
  for (const auto& d : definitions())
    if (d.info.name == name) return d;
  std::string list;
  for (const auto& d : definitions()) list += (list.empty() ? "" : ", ") + d.info.name;
  throw Error("unknown option '" + raw_name + "' (options: " + list + ")");
}

}  // namespace

bool is_number_text(const std::string& t, bool whole) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i - from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  const size_t before = digits();
  if (whole) return before > 0 && i == t.size();
  size_t after = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    after = digits();
  }
  if (before == 0 && after == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == t.size();
}

int64_t parse_whole_number(const std::string& text, int64_t min, int64_t max, const std::string& what) {
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!is_number_text(text, true) || text.size() > 19)
    throw Error(what + " must be a whole number" + range + ", not '" + text.substr(0, 40) + "'");
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (v < min || v > max) throw Error(what + " must be" + range + ", not " + text);
  return v;
}

std::string data_key(const Config& c) {
  // Each part with its length before it, so that no two different configs give the same key.
  const auto part = [](const std::string& s) { return " " + std::to_string(s.size()) + ":" + s; };
  if (c.dataset == "idx")
    return "idx" + part(c.train_images) + part(c.train_labels) + part(c.test_images) + part(c.test_labels);
  if (c.dataset == "mnist" || c.dataset == "fashion") return c.dataset;  // fixed files
  return c.dataset + " seed " + std::to_string(c.seed);
}

const std::vector<OptionInfo>& option_table() {
  static const std::vector<OptionInfo> table = [] {
    std::vector<OptionInfo> t;
    for (const auto& d : definitions()) t.push_back(d.info);
    return t;
  }();
  return table;
}

void set_option(Config& config, const std::string& name, const std::string& value) {
  find_option(name).set(config, value);
}

std::string format_float(double v) {
  char buf[32];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (float(std::strtod(buf, nullptr)) == float(v)) break;
  }
  return buf;
}

std::string get_option(const Config& config, const std::string& name) {
  return find_option(name).get(config);
}

void validate(const Config& c) {
  if (c.dataset == "idx") {
    if (c.train_images.empty() || c.train_labels.empty() || c.test_images.empty() || c.test_labels.empty())
      throw Error("dataset=idx needs train_images, train_labels, test_images and test_labels");
  } else {
    read_choice(find_option("dataset").info, c.dataset);
  }
  if (c.norm.kind == NormKind::Ghost && c.norm.ghost_batch > c.batch_size)
    throw Error("ghost_batch (" + std::to_string(c.norm.ghost_batch) + ") is larger than batch_size (" +
                std::to_string(c.batch_size) + ")");
}

float learning_rate_at(const Config& c, int64_t step) {
  switch (c.schedule) {
    case Schedule::Constant: return c.lr;
    case Schedule::Step:
      return float(c.lr * std::pow(double(c.step_gamma), double(step / c.step_size)));
    case Schedule::Cosine: {
      // torch.optim.lr_scheduler.CosineAnnealingLR with T_max = steps, eta_min = 0, held at 0
      // after T_max (PyTorch would rise again; a learner's run simply ends there).
      if (c.steps == 0) return 0.f;  // annealed over no step: already at the end
      const double t = std::min<double>(double(step), double(c.steps));
      return float(0.5 * c.lr * (1.0 + std::cos(3.14159265358979323846 * t / double(c.steps))));
    }
  }
  return c.lr;
}

}  // namespace bnlab
