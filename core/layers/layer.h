// The interface every layer of BN Lab implements.
//
// A layer owns its parameters, their gradients, its output y_ and input gradient dx_, and exactly
// the forward cache its backward needs. forward() returns a reference to y_ and backward() one to
// dx_; both stay valid until the next call of the same method. Members are resized to the same
// shapes every step, so after the first step a training step allocates nothing. The input x of a
// forward must outlive the backward that follows it, unchanged: BatchNorm reads it again rather
// than keep a copy of its size (in a Model each input is the previous layer's output, as
// Model::layer_input() relies on too).
//
// Gradients of parameters accumulate (+=) in backward(); zero_grad() clears them. The 1/N of the
// mean loss is applied once, in the loss gradient, never in a layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/tensor.h"

namespace bnlab {

enum class Mode { Train, Eval };

// A learned tensor and its gradient, named as PyTorch names it inside the module
// ("weight", "bias"; for normalizers gamma is "weight" and beta is "bias").
// dims is the number of dimensions PyTorch gives it (4 for a conv weight [out, in, kh, kw] stored
// as Shape{out, in, kh, kw}; 2 for a linear weight [out, in] stored as Shape{out, in, 1, 1};
// 1 for a bias or gamma [C] stored as Shape{C, 1, 1, 1}), so that saved states carry torch shapes.
struct Param {
  std::string name;
  Tensor* value;
  Tensor* grad;
  int dims;
};

// A tensor that is state but not learned ("running_mean", "running_var").
struct Buffer {
  std::string name;
  Tensor* value;
  int dims;
};

// An integer state ("num_batches_tracked").
struct Counter {
  std::string name;
  int64_t* value;
};

class Layer {
 public:
  virtual ~Layer() = default;

  // What the layer is, as it appears in state names before the model's running number:
  // one of layer_kinds() (model.h): "conv", "fc", "bn", "gn", "relu", "maxpool", ...
  virtual std::string kind() const = 0;
  // The output shape for an input shape; throws Error naming the layer when x does not fit.
  virtual Shape output_shape(const Shape& in) const = 0;

  // x: the input, shape in; returns y (shape output_shape(in)).
  virtual const Tensor& forward(const Tensor& x, Mode mode) = 0;
  // dy: dL/dy of the last forward (same shape as y); accumulates parameter gradients and
  // returns dL/dx (shape of x). With needs_input_grad() false it may skip dL/dx and return
  // an empty tensor.
  virtual const Tensor& backward(const Tensor& dy) = 0;

  virtual std::vector<Param> params() { return {}; }
  virtual std::vector<Buffer> buffers() { return {}; }
  virtual std::vector<Counter> counters() { return {}; }

  void zero_grad() {
    for (auto& p : params()) p.grad->setZero();
  }
  // The model clears this on its first layer, whose input is the data: no dL/dx is needed.
  void set_needs_input_grad(bool needed) { needs_input_grad_ = needed; }
  bool needs_input_grad() const { return needs_input_grad_; }

 protected:
  bool needs_input_grad_ = true;
};

}  // namespace bnlab
