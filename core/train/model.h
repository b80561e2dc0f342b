// A network built from a spec: a flat list of layers, forward in order, backward reversed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "layers/layer.h"
#include "train/config.h"
#include "train/spec.h"

namespace bnlab {

class MaxPool2d;

// A parameter, buffer or counter under its full PyTorch-style name ("conv1.weight",
// "bn1.running_mean", "bn1.num_batches_tracked").
struct NamedParam {
  std::string name;
  Param param;
};
struct NamedBuffer {
  std::string name;
  Buffer buffer;
};
struct NamedCounter {
  std::string name;
  Counter counter;
};

// What a train-mode forward changes besides the layers' caches: running statistics, their
// counters and the noise generators. Saved and put back by evaluations and measurements, which
// must not alter the run.
struct ForwardState {
  std::vector<Tensor> buffers;
  std::vector<int64_t> counters;
  std::vector<uint32_t> noise;
};

// The memory a model may take: its parameters with their gradients and momentum buffers (and
// the copies a state load reads into), and the activations, caches and gradients of a batch
// (the larger of the training batch and the evaluation chunk of 256). A model whose estimate
// (estimate_footprint) is above the budget is refused before any layer is made, with an Error
// naming both. The default, 512 MiB, lets the page hold its two models (each of them actually
// using less than its estimate) inside WebAssembly's 2 GiB heap; the CLI raises it with
// --max-memory.
inline constexpr int64_t kDefaultMemoryBudget = int64_t(512) << 20;
int64_t memory_budget();
void set_memory_budget(int64_t bytes);  // bytes >= 1 MiB; throws Error otherwise

struct Footprint {
  int64_t params = 0;  // parameters (weights, biases, gamma, beta)
  int64_t bytes = 0;   // the estimate the budget is checked against
  int batch = 0;       // the batch size the activations were counted for
};
// An upper estimate, from the spec alone (no layer is made, no memory taken): the float32
// tensors the layers and the optimizer hold (model.cpp lists them). Stops counting at a layer
// whose input does not fit it (the model's constructor then names the problem).
Footprint estimate_footprint(const Config& config, Shape input, int num_classes);
// "1.5 GiB", "12.0 MiB": a size for messages.
std::string format_bytes(int64_t bytes);

// One hyper-parameter of a layer as the model description lists it ("kernel" 3, "affine" true):
// what a framework needs to build the same layer.
struct LayerSetting {
  std::string name;
  double value;
  bool is_bool = false;  // value is 0 or 1, meaning false or true
};

class Model {
 public:
  // input: the shape of one example (1, C, H, W); num_classes: outputs of the final fc.
  // Throws Error when the spec does not fit the input (naming the layer), the config is bad, or
  // the model's footprint is above memory_budget().
  Model(const Config& config, Shape input, int num_classes);

  // Draws the initial weights of conv and fc layers from stream_seed(seed, Stream::Init) under
  // config.init; normalizers start at gamma 1, beta 0, running mean 0, running var 1. Layers
  // are drawn in order and normalizers draw nothing, so a model with and without BN (or with
  // the other placement) starts from the same conv/fc weights.
  void init_weights(uint32_t seed);
  // The same, drawing from a given generator (the benchmark continues its data stream).
  void init_weights(Rng& rng);

  // x: (N, C, H, W); returns the logits (N, K, 1, 1).
  const Tensor& forward(const Tensor& x, Mode mode);
  // dlogits: dL/dlogits of the last forward; accumulates every parameter gradient.
  void backward(const Tensor& dlogits);
  // One part of backward: layer i's backward of dy, returning the gradient for the layer below;
  // a ReLU and the max pooling after it (at i) are taken together in one pass where the pooling
  // can, and i is then left at the ReLU's index (bnlab bench --profile times the parts so).
  const Tensor& backward_from(int& i, const Tensor& dy);
  void zero_grad();

  int num_layers() const { return int(layers_.size()); }
  Layer& layer(int i) { return *layers_[size_t(i)]; }
  const Layer& layer(int i) const { return *layers_[size_t(i)]; }
  // "conv1", "bn2", "fc1", or the kind plus index for parameterless layers ("relu3").
  const std::string& layer_name(int i) const { return names_[size_t(i)]; }
  // The input the layer saw in the last forward (the data for layer 0).
  const Tensor& layer_input(int i) const { return *inputs_[size_t(i)]; }
  // dL/dy the layer got in the last backward (dlogits for the last layer); valid until the
  // next backward. Throws Error before any backward, and for a ReLU whose gradient was taken
  // through the max pooling after it (backward_from), which does not form the pooling's dx.
  // Only the normalizers' are read (measure/trace), and a ReLU is never one.
  const Tensor& layer_output_grad(int i) const;
  // Whether forward has run since the model was built (before that layer_input has nothing).
  bool has_run() const { return !inputs_.empty() && inputs_[0] != nullptr; }
  Shape input_shape() const { return input_; }
  int num_classes() const { return num_classes_; }

  const std::vector<NamedParam>& params() const { return params_; }
  const std::vector<NamedBuffer>& buffers() const { return buffers_; }
  const std::vector<NamedCounter>& counters() const { return counters_; }
  int64_t num_params() const;
  ForwardState save_forward_state() const;
  void restore_forward_state(const ForwardState& state);
  // States of the noisy-BN generators, in layer order (empty without noisy BN).
  std::vector<uint32_t> noise_states() const;
  void set_noise_states(const std::vector<uint32_t>& states);
  // One line per layer: name, output shape, parameter count.
  std::string describe() const;
  // The hyper-parameters of layer i (conv: in_channels, out_channels, kernel, stride, padding;
  // fc: in_features, out_features; pools: kernel, stride; normalizers: their NormConfig fields
  // that apply), in that order; none for activations, noise and flatten.
  const std::vector<LayerSetting>& layer_settings(int i) const { return settings_[size_t(i)]; }
  // The spec the model was built from, a preset expanded ("conv8-bn-relu-pool2 ...").
  const std::string& spec() const { return spec_; }
  const Config& config() const { return config_; }

 private:
  Config config_;
  Shape input_;
  int num_classes_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::string> names_;
  std::vector<std::vector<LayerSetting>> settings_;  // per layer
  std::string spec_;
  std::vector<const Tensor*> inputs_;
  std::vector<const Tensor*> output_grads_;  // the dy each layer got in the last backward
  bool backward_ran_ = false;
  std::vector<MaxPool2d*> relu_pool_;  // at i: layer i, a MaxPool2d after an Activation
  std::vector<NamedParam> params_;
  std::vector<NamedBuffer> buffers_;
  std::vector<NamedCounter> counters_;
};

}  // namespace bnlab
