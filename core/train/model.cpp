#include "train/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "base/error.h"
#include "layers/activation.h"
#include "layers/conv2d.h"
#include "layers/flatten.h"
#include "layers/kinds.h"
#include "layers/linear.h"
#include "layers/noise.h"
#include "layers/normalizer.h"
#include "layers/pool.h"

namespace bnlab {

namespace {

bool is_activation(ItemKind k) {
  return k == ItemKind::ReLU || k == ItemKind::Sigmoid || k == ItemKind::Tanh;
}

// The spec's items in the order of the layers (placement "after": every normalizer that directly
// precedes an activation moves behind it).
std::vector<SpecItem> layer_items(const Config& config) {
  std::vector<SpecItem> items = parse_spec(config.model);
  if (config.placement == Placement::After) {
    for (size_t i = 0; i + 1 < items.size(); ++i)
      if (items[i].kind == ItemKind::Norm && is_activation(items[i + 1].kind)) {
        std::swap(items[i], items[i + 1]);
        ++i;
      }
  }
  return items;
}

// The evaluation chunk of Trainer::evaluate (eval mode): forward passes of up to 256 examples.
constexpr int kEvalChunk = 256;

int64_t g_memory_budget = kDefaultMemoryBudget;

}  // namespace

int64_t memory_budget() { return g_memory_budget; }

void set_memory_budget(int64_t bytes) {
  if (bytes < (int64_t(1) << 20)) throw Error("the memory budget must be at least 1 MiB");
  g_memory_budget = bytes;
}

std::string format_bytes(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t(1) << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(int64_t(1) << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1 << 20));
  return buf;
}

// Counted per layer, for a batch of N, with a and b the input and output floats per example
// (the tensors of layers/*.h):
//   conv:   y (N b), the padded input and its gradient (2 N Cin Hp Wp), im2col's columns
//           (N K P) and one sample's column gradient (K P), dx (N a); K = Cin k k, P = Ho Wo
//   others: at most 3 N a + 2 N b + 2 a: BN's x_hat, y, dx and its per-element sums, fc's input
//           copy, y and dx, pooling's y, argmax and dx, activations' y and dx
//   parameters: value, gradient, momentum, and the two copies load_state reads into (5 P).
// All in doubles of floats, so that no product can overflow (a spec's sizes are bounded, the
// total is far below 2^53); rounded up to bytes at the end.
Footprint estimate_footprint(const Config& config, Shape input, int num_classes) {
  const std::vector<SpecItem> items = layer_items(config);
  Footprint f;
  f.batch = std::max(config.batch_size, kEvalChunk);
  const double n = f.batch;
  double params = 0, floats = 0;
  const auto finish = [&] {
    f.params = int64_t(std::min(params, 9e15));
    f.bytes = int64_t(std::min(4.0 * (floats + 5.0 * params), 9e18));
    return f;
  };
  Shape in = input;
  in.n = 1;
  for (size_t i = 0; i < items.size(); ++i) {
    const SpecItem& it = items[i];
    const double a = double(in.per_sample());
    Shape out = in;
    switch (it.kind) {
      case ItemKind::Conv: {
        const int hp = in.h + 2 * it.padding, wp = in.w + 2 * it.padding;
        if (hp < it.kernel || wp < it.kernel) return finish();  // the constructor says why
        out = Shape{1, it.out, (hp - it.kernel) / it.stride + 1, (wp - it.kernel) / it.stride + 1};
        const double k = double(in.c) * it.kernel * it.kernel, p = double(out.spatial());
        params += double(it.out) * k + it.out;
        floats += n * (a + double(out.per_sample()) + 2.0 * in.c * hp * wp + k * p) + k * p;
        break;
      }
      case ItemKind::Fc: {
        const int width = it.out ? it.out : num_classes;
        out = Shape{1, width, 1, 1};
        params += a * width + width;
        break;
      }
      case ItemKind::Norm:
        if (config.norm.kind == NormKind::None) continue;  // no layer
        params += 2.0 * in.c;
        if (config.noisy) floats += 3 * n * a + 2 * a;  // the noise layer behind it
        break;
      case ItemKind::MaxPool:
      case ItemKind::AvgPool:
        if (in.h < it.kernel || in.w < it.kernel) return finish();
        out = Shape{1, in.c, (in.h - it.kernel) / it.kernel + 1, (in.w - it.kernel) / it.kernel + 1};
        break;
      case ItemKind::Flatten:
        out = Shape{1, int(std::min<int64_t>(in.per_sample(), 1 << 30)), 1, 1};
        break;
      default:
        break;
    }
    if (it.kind != ItemKind::Conv) floats += 3 * n * a + 2 * n * double(out.per_sample()) + 2 * a;
    in = out;
  }
  return finish();
}

Model::Model(const Config& config, Shape input, int num_classes)
    : config_(config), input_(input), num_classes_(num_classes) {
  if (num_classes < 2) throw Error("a classifier needs at least 2 classes, the data has " + std::to_string(num_classes));
  const std::vector<SpecItem> items = layer_items(config);
  const Footprint footprint = estimate_footprint(config, input, num_classes);
  if (footprint.bytes > memory_budget())
    throw Error("model '" + config.model + "' is too large: " + std::to_string(footprint.params) +
                " parameters, and activations and gradients for batches of " +
                std::to_string(footprint.batch) + ", need about " + format_bytes(footprint.bytes) +
                ", more than the limit of " + format_bytes(memory_budget()));

  std::map<std::string, int> counts;
  int noise_index = 0;
  Shape shape = input;
  shape.n = 1;
  spec_ = preset_spec(config.model).empty() ? config.model : preset_spec(config.model);
  auto add = [&](std::unique_ptr<Layer> layer, const std::string& token,
                 std::vector<LayerSetting> settings = {}) {
    const std::string kind = layer->kind();
    const std::string name = kind + std::to_string(++counts[kind]);
    try {
      shape = layer->output_shape(shape);
    } catch (const Error& e) {
      throw Error("model spec: layer " + name + " ('" + token + "') does not fit its input " +
                  shape.str() + ": " + e.what());
    }
    names_.push_back(name);
    layers_.push_back(std::move(layer));
    settings_.push_back(std::move(settings));
  };
  // What a normalizer of this config is built with (make_normalizer), for the description.
  auto norm_settings = [&](int channels) {
    const NormConfig& n = config.norm;
    std::vector<LayerSetting> s = {{"eps", n.eps}};
    const bool batch_statistics =
        n.kind == NormKind::Batch || n.kind == NormKind::Renorm || n.kind == NormKind::Ghost;
    if (batch_statistics) {
      s.push_back({"momentum", n.momentum});
      s.push_back({"cumulative", double(n.cumulative), true});
      s.push_back({"track_running_stats", double(n.track_running_stats), true});
    }
    s.push_back({"affine", double(n.affine), true});
    // GroupNorm's G; LayerNorm is G = 1 and InstanceNorm G = C (NUMERICS.md 3).
    if (n.kind == NormKind::Layer) s.push_back({"groups", 1.0});
    if (n.kind == NormKind::Group) s.push_back({"groups", double(n.groups)});
    if (n.kind == NormKind::Instance) s.push_back({"groups", double(channels)});
    if (n.kind == NormKind::Renorm) {
      s.push_back({"r_max", n.r_max});
      s.push_back({"d_max", n.d_max});
    }
    if (n.kind == NormKind::Ghost) s.push_back({"ghost_batch", double(n.ghost_batch)});
    return s;
  };

  for (size_t i = 0; i < items.size(); ++i) {
    const SpecItem& it = items[i];
    switch (it.kind) {
      case ItemKind::Conv:
        add(std::make_unique<Conv2d>(shape.c, it.out, it.kernel, it.stride, it.padding), it.token,
            {{"in_channels", double(shape.c)},
             {"out_channels", double(it.out)},
             {"kernel", double(it.kernel)},
             {"stride", double(it.stride)},
             {"padding", double(it.padding)}});
        break;
      case ItemKind::Fc: {
        const int out = it.out ? it.out : num_classes;
        if (i + 1 == items.size() && out != num_classes)
          throw Error("model spec: the last layer '" + it.token + "' has " + std::to_string(out) +
                      " outputs but the data has " + std::to_string(num_classes) +
                      " classes (write a bare 'fc' to match the data)");
        add(std::make_unique<Linear>(int(shape.per_sample()), out), it.token,
            {{"in_features", double(shape.per_sample())}, {"out_features", double(out)}});
        break;
      }
      case ItemKind::Norm: {
        std::unique_ptr<Layer> norm = make_normalizer(config.norm, shape.c);
        if (!norm) break;
        const int channels = shape.c;
        add(std::move(norm), it.token, norm_settings(channels));
        if (config.noisy)
          add(std::make_unique<NoisyShift>(channels, stream_seed(config.seed, Stream::Noise) + uint32_t(++noise_index)),
              "noise");
        break;
      }
      case ItemKind::ReLU: add(std::make_unique<Activation>(ActKind::ReLU), it.token); break;
      case ItemKind::Sigmoid: add(std::make_unique<Activation>(ActKind::Sigmoid), it.token); break;
      case ItemKind::Tanh: add(std::make_unique<Activation>(ActKind::Tanh), it.token); break;
      case ItemKind::MaxPool:
        add(std::make_unique<MaxPool2d>(it.kernel, it.stride), it.token,
            {{"kernel", double(it.kernel)}, {"stride", double(it.stride)}});
        break;
      case ItemKind::AvgPool:
        add(std::make_unique<AvgPool2d>(it.kernel, it.stride), it.token,
            {{"kernel", double(it.kernel)}, {"stride", double(it.stride)}});
        break;
      case ItemKind::Flatten: add(std::make_unique<Flatten>(), it.token); break;
    }
  }
  layers_.front()->set_needs_input_grad(false);
  inputs_.assign(layers_.size(), nullptr);
  output_grads_.assign(layers_.size(), nullptr);
  relu_pool_.assign(layers_.size(), nullptr);
  for (size_t i = 1; i < layers_.size(); ++i)
    if (auto* pool = dynamic_cast<MaxPool2d*>(layers_[i].get()))
      if (dynamic_cast<Activation*>(layers_[i - 1].get())) relu_pool_[i] = pool;

  for (size_t i = 0; i < layers_.size(); ++i) {
    for (const Param& p : layers_[i]->params()) params_.push_back({names_[i] + "." + p.name, p});
    for (const Buffer& b : layers_[i]->buffers()) buffers_.push_back({names_[i] + "." + b.name, b});
    for (const Counter& c : layers_[i]->counters()) counters_.push_back({names_[i] + "." + c.name, c});
  }
}

void Model::init_weights(uint32_t seed) {
  Rng rng(stream_seed(seed, Stream::Init));
  init_weights(rng);
}

void Model::init_weights(Rng& rng) {
  for (auto& layer : layers_) {
    if (layer_role(layer->kind()) != LayerRole::Weighted) continue;
    for (const Param& p : layer->params()) {
      Tensor& w = *p.value;
      // Weights are (out, in, kh, kw) or (out, in, 1, 1); the bias shares the weight's fans.
      const Shape ws = layer->params().front().value->shape();
      const double fan_in = double(ws.c) * ws.h * ws.w;
      const double fan_out = double(ws.n) * ws.h * ws.w;
      const bool is_bias = p.name == "bias";
      switch (config_.init) {
        case InitKind::Torch: {
          // PyTorch's default: kaiming_uniform(a = sqrt(5)) for weights and U(+-1/sqrt(fan_in))
          // for biases, i.e. both U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
          const double bound = 1.0 / std::sqrt(fan_in);
          for (int64_t i = 0; i < w.size(); ++i)
            w[i] = float(config_.init_scale * (2.0 * rng.uniform() - 1.0) * bound);
          break;
        }
        case InitKind::He:
        case InitKind::Xavier:
        case InitKind::Gaussian: {
          if (is_bias) {
            w.setZero();
            break;
          }
          double std = config_.init_std;
          if (config_.init == InitKind::He) std = config_.init_scale * std::sqrt(2.0 / fan_in);
          if (config_.init == InitKind::Xavier) std = config_.init_scale * std::sqrt(2.0 / (fan_in + fan_out));
          for (int64_t i = 0; i < w.size(); ++i) w[i] = float(std * rng.normal());
          break;
        }
      }
    }
  }
}

const Tensor& Model::forward(const Tensor& x, Mode mode) {
  if (x.shape().c != input_.c || x.shape().h != input_.h || x.shape().w != input_.w)
    throw Error("model input " + x.shape().str() + " does not match the model's " + input_.str());
  const Tensor* cur = &x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    inputs_[i] = cur;
    cur = &layers_[i]->forward(*cur, mode);
  }
  return *cur;
}

void Model::backward(const Tensor& dlogits) {
  const Tensor* grad = &dlogits;
  for (int i = num_layers(); i-- > 0;) grad = &backward_from(i, *grad);
}

// A ReLU followed by max pooling is taken in one pass where the pooling can (MaxPool2d::
// relu_input_grad: the same bits, and the pass over the pooling's dx and the ReLU's read of it
// saved); the pooling's dx, the ReLU's output gradient, is then not formed.
const Tensor& Model::backward_from(int& i, const Tensor& dy) {
  backward_ran_ = true;
  output_grads_[size_t(i)] = &dy;
  if (MaxPool2d* pool = relu_pool_[size_t(i)]) {
    auto& activation = static_cast<Activation&>(*layers_[size_t(i) - 1]);
    if (const Tensor* dz = activation.backward_through(*pool, dy)) {
      output_grads_[size_t(--i)] = nullptr;
      return *dz;
    }
  }
  return layers_[size_t(i)]->backward(dy);
}

const Tensor& Model::layer_output_grad(int i) const {
  if (i < 0 || i >= num_layers()) throw Error("layer_output_grad: no layer " + std::to_string(i));
  if (!output_grads_[size_t(i)]) {
    if (!backward_ran_) throw Error("layer_output_grad: no backward has run yet");
    throw Error("layer_output_grad: " + names_[size_t(i)] + "'s output gradient is not formed " +
                "(its gradient is taken through the max pooling after it in one pass)");
  }
  return *output_grads_[size_t(i)];
}

void Model::zero_grad() {
  for (const NamedParam& p : params_) p.param.grad->setZero();
}

int64_t Model::num_params() const {
  int64_t n = 0;
  for (const NamedParam& p : params_) n += p.param.value->size();
  return n;
}

ForwardState Model::save_forward_state() const {
  ForwardState s;
  for (const NamedBuffer& b : buffers_) s.buffers.push_back(*b.buffer.value);
  for (const NamedCounter& c : counters_) s.counters.push_back(*c.counter.value);
  s.noise = noise_states();
  return s;
}

void Model::restore_forward_state(const ForwardState& s) {
  for (size_t i = 0; i < buffers_.size(); ++i) *buffers_[i].buffer.value = s.buffers[i];
  for (size_t i = 0; i < counters_.size(); ++i) *counters_[i].counter.value = s.counters[i];
  set_noise_states(s.noise);
}

std::vector<uint32_t> Model::noise_states() const {
  std::vector<uint32_t> states;
  for (const auto& layer : layers_)
    if (const auto* n = dynamic_cast<const NoisyShift*>(layer.get())) states.push_back(n->rng_state());
  return states;
}

void Model::set_noise_states(const std::vector<uint32_t>& states) {
  size_t k = 0;
  for (auto& layer : layers_)
    if (auto* n = dynamic_cast<NoisyShift*>(layer.get())) {
      if (k >= states.size()) throw Error("wrong number of noise generator states");
      n->set_rng_state(states[k++]);
    }
  if (k != states.size()) throw Error("wrong number of noise generator states");
}

std::string Model::describe() const {
  std::ostringstream out;
  Shape shape = input_;
  shape.n = 1;
  out << "input  " << shape.str() << "\n";
  for (size_t i = 0; i < layers_.size(); ++i) {
    shape = layers_[i]->output_shape(shape);
    int64_t n = 0;
    for (const Param& p : layers_[i]->params()) n += p.value->size();
    out << names_[i] << "  " << shape.str();
    if (n) out << "  " << n << " parameters";
    out << "\n";
  }
  out << "total " << num_params() << " parameters\n";
  return out.str();
}

}  // namespace bnlab
