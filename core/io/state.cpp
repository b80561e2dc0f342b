#include "io/state.h"

#include <cmath>

#include "base/error.h"
#include "io/json.h"
#include "train/trainer.h"

namespace bnlab {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Json tensor_json(const Tensor& t, int dims) {
  const Shape s = t.shape();
  const int all[4] = {s.n, s.c, s.h, s.w};
  Json shape = Json::array();
  for (int i = 0; i < dims; ++i) shape.push(all[i]);
  Json data = Json::array();
  for (int64_t i = 0; i < t.size(); ++i) data.push(double(t[i]));
  Json j = Json::object();
  j.set("shape", shape);
  j.set("data", data);
  return j;
}

// Reads a tensor of the expected shape into out (not into the model: loading is all or nothing).
void read_tensor(const Json& j, const std::string& name, const Tensor& like, int dims, Tensor& out) {
  const Shape s = like.shape();
  const int all[4] = {s.n, s.c, s.h, s.w};
  const auto& shape = j.get("shape").items(name + ".shape");
  std::string want = "[", got = "[";
  for (int i = 0; i < dims; ++i) want += (i ? ", " : "") + std::to_string(all[i]);
  for (size_t i = 0; i < shape.size(); ++i) got += (i ? ", " : "") + std::to_string(shape[i].integer(name + ".shape"));
  want += "]", got += "]";
  if (want != got) throw Error("state file: " + name + " has shape " + got + " but the model's is " + want);
  const auto& data = j.get("data").items(name + ".data");
  if (int64_t(data.size()) != like.size())
    throw Error("state file: " + name + " has " + std::to_string(data.size()) + " values, expected " +
                std::to_string(like.size()));
  out.resize(s);
  for (size_t i = 0; i < data.size(); ++i) {
    // Two roundings (text to double, double to float) give back the float32 that was written:
    // its 9 significant digits are within 5e-9 of it (relative), the midpoints to its neighbours
    // at least 2^-25 ~ 3e-8 away (further for denormals), so the double lies well inside the
    // float's rounding interval; whole numbers are written exactly. A number beyond float's
    // range (1e39) would become infinity here.
    const float v = data[i].is_number() ? float(data[i].number()) : NAN;
    if (!std::isfinite(v))
      throw Error("state file: " + name + "[" + std::to_string(i) + "] is not a finite float32 number");
    out[int64_t(i)] = v;
  }
}

Json config_json(const Config& c) {
  Json j = Json::object();
  for (const OptionInfo& o : option_table()) {
    const std::string v = get_option(c, o.name);
    if (o.type == "int" || (o.type == "float" && v != "cumulative")) j.set(o.name, std::stod(v));
    else if (o.type == "bool") j.set(o.name, v == "true");
    else j.set(o.name, v);
  }
  return j;
}

Json parse_state(const std::string& text) {
  if (text.size() > kMaxStateBytes)
    throw Error("state file is " + format_bytes(int64_t(text.size())) + ", more than the limit of " +
                format_bytes(int64_t(kMaxStateBytes)) + " for state files");
  Json j = Json::parse(text);
  const Json* format = j.find("format");
  if (!j.is_object() || !format || !format->is_string() || format->string() != "bnlab-state")
    throw Error("not a BN Lab state file (no \"format\": \"bnlab-state\")");
  if (j.get("version").integer("version") != 1)
    throw Error("state file version " + j.get("version").dump() + " is not supported (this BN Lab reads version 1)");
  return j;
}

// The config of a parsed state (config_from_state).
Config config_of(const Json& j) {
  Config c;
  for (const auto& [name, value] : j.get("config").members("config")) {
    std::string v;
    if (value.is_string()) v = value.string();
    else if (value.is_bool()) v = value.boolean() ? "true" : "false";
    else if (value.is_number()) v = Json(value.number()).dump();
    else throw Error("state file: config option " + name + " has an unusable value " + value.dump());
    set_option(c, name, v);
  }
  validate(c);
  return c;
}

}  // namespace

Config config_from_state(const std::string& text) { return config_of(parse_state(text)); }

std::string Trainer::save_state() const {
  // Every parameter is written twice (weight, momentum) in at most 16 characters ("-1.23456789e-05,").
  const int64_t estimate = 32 * model_.num_params();
  if (estimate > int64_t(kMaxStateBytes))
    throw Error("the state of this model (" + std::to_string(model_.num_params()) + " parameters) would take about " +
                format_bytes(estimate) + ", more than the limit of " + format_bytes(int64_t(kMaxStateBytes)) +
                " for state files");
  Json j = Json::object();
  j.set("format", "bnlab-state");
  j.set("version", 1);
  j.set("config", config_json(config_));
  j.set("step", step_);
  j.set("diverged_at", diverged_at_);
  Json sampler = Json::object();
  sampler.set("epoch", sampler_.epoch());
  sampler.set("position", sampler_.position());
  j.set("sampler", sampler);
  Json noise = Json::array();
  for (uint32_t s : model_.noise_states()) noise.push(int64_t(s));
  j.set("noise_rng", noise);
  Json tensors = Json::object();
  for (const NamedParam& p : model_.params()) tensors.set(p.name, tensor_json(*p.param.value, p.param.dims));
  for (const NamedBuffer& b : model_.buffers()) tensors.set(b.name, tensor_json(*b.buffer.value, b.buffer.dims));
  j.set("tensors", tensors);
  Json counters = Json::object();
  for (const NamedCounter& c : model_.counters()) counters.set(c.name, *c.counter.value);
  j.set("counters", counters);
  Json optimizer = Json::object();
  auto& buffers = const_cast<Sgd&>(sgd_).momentum_buffers();
  for (size_t i = 0; i < model_.params().size(); ++i) {
    Json entry = Json::object();
    entry.set("momentum_buffer", tensor_json(buffers[i], model_.params()[i].param.dims));
    optimizer.set(model_.params()[i].name, entry);
  }
  j.set("optimizer", optimizer);
  return j.dump(true);
}

void Trainer::load_state(const std::string& text) {
  const Json j = parse_state(text);
  // The state must describe this model: same options that shape it, same tensors.
  const Config file_config = config_of(j);
  for (const char* key : {"model", "norm", "placement", "noisy", "affine", "track_running_stats", "groups"}) {
    if (get_option(file_config, key) != get_option(config_, key))
      throw Error(std::string("state file was saved with ") + key + "=" + get_option(file_config, key) +
                  " but this run has " + key + "=" + get_option(config_, key));
  }
  // Read everything into temporaries first, so that a bad file changes nothing.
  const Json& tensors = j.get("tensors");
  const Json& optimizer = j.get("optimizer");
  std::vector<Tensor> params(model_.params().size()), moms(model_.params().size()),
      bufs(model_.buffers().size());
  for (size_t i = 0; i < params.size(); ++i) {
    const NamedParam& p = model_.params()[i];
    const Json* t = tensors.find(p.name);
    if (!t) throw Error("state file has no tensor " + p.name + " (it does not match this model)");
    read_tensor(*t, p.name, *p.param.value, p.param.dims, params[i]);
    const Json* o = optimizer.find(p.name);
    if (!o) throw Error("state file has no optimizer entry for " + p.name);
    read_tensor(o->get("momentum_buffer"), p.name + ".momentum_buffer", *p.param.value, p.param.dims, moms[i]);
  }
  for (size_t i = 0; i < bufs.size(); ++i) {
    const NamedBuffer& b = model_.buffers()[i];
    const Json* t = tensors.find(b.name);
    if (!t) throw Error("state file has no tensor " + b.name + " (it does not match this model)");
    read_tensor(*t, b.name, *b.buffer.value, b.buffer.dims, bufs[i]);
    // A variance is never negative (eval mode would take the square root of a negative number).
    if (ends_with(b.name, ".running_var"))
      for (int64_t k = 0; k < bufs[i].size(); ++k)
        if (bufs[i][k] < 0.f)
          throw Error("state file: " + b.name + "[" + std::to_string(k) + "] is " + std::to_string(bufs[i][k]) +
                      ", a variance must not be negative");
  }
  const size_t expected = params.size() + bufs.size();
  if (tensors.members("tensors").size() != expected)
    throw Error("state file has " + std::to_string(tensors.members("tensors").size()) + " tensors, this model has " +
                std::to_string(expected) + " (it does not match this model)");
  std::vector<int64_t> counts;
  for (const NamedCounter& c : model_.counters()) {
    const Json* v = j.get("counters").find(c.name);
    if (!v) throw Error("state file has no counter " + c.name);
    const int64_t count = v->integer(c.name);
    if (count < 0) throw Error("state file: " + c.name + " is " + std::to_string(count) + ", it must not be negative");
    counts.push_back(count);
  }
  std::vector<uint32_t> noise;
  for (const Json& v : j.get("noise_rng").items("noise_rng")) {
    const int64_t state = v.integer("noise_rng");
    if (state < 1 || state > 4294967295LL)
      throw Error("state file: noise_rng state " + std::to_string(state) + " is not from 1 to 4294967295");
    noise.push_back(uint32_t(state));
  }
  if (noise.size() != model_.noise_states().size()) throw Error("state file has the wrong number of noise generators");
  const int64_t step = j.get("step").integer("step");
  const int64_t diverged_at = j.get("diverged_at").integer("diverged_at");
  const Json& sampler = j.get("sampler");
  const int64_t epoch = sampler.get("epoch").integer("sampler.epoch");
  const int64_t position = sampler.get("position").integer("sampler.position");
  if (step < 0) throw Error("state file: step must not be negative");
  // A run that diverged at step N stopped after N - 1 steps and stays there.
  if (diverged_at != -1 && diverged_at != step + 1)
    throw Error("state file: diverged_at is " + std::to_string(diverged_at) + " but must be -1 (training) or " +
                std::to_string(step + 1) + " (the step after the " + std::to_string(step) + " taken)");
  BatchSampler check = sampler_;
  check.set_state(epoch, position);  // validates

  // All read and checked: commit.
  for (size_t i = 0; i < params.size(); ++i) {
    *model_.params()[i].param.value = params[i];
    sgd_.momentum_buffers()[i] = moms[i];
  }
  for (size_t i = 0; i < bufs.size(); ++i) *model_.buffers()[i].buffer.value = bufs[i];
  for (size_t i = 0; i < counts.size(); ++i) *model_.counters()[i].counter.value = counts[i];
  model_.set_noise_states(noise);
  sampler_.set_state(epoch, position);
  step_ = step;
  diverged_at_ = diverged_at;
  diverged_reason_ = diverged_at >= 0 ? "loaded from a diverged state" : "";
}

}  // namespace bnlab
