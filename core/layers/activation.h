// Element-wise activations: ReLU, sigmoid and tanh (torch.nn.ReLU, Sigmoid, Tanh).
// Each derivative is written in terms of the output y, so y_ is the whole forward cache.
#pragma once

#include "layers/layer.h"
#include "layers/pool.h"

namespace bnlab {

enum class ActKind { ReLU, Sigmoid, Tanh };

class Activation : public Layer {
 public:
  explicit Activation(ActKind kind) : kind_(kind) {}

  std::string kind() const override;  // "relu", "sigmoid" or "tanh"
  Shape output_shape(const Shape& in) const override { return in; }

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;
  // backward() of a ReLU followed by `pool`, from the pool's dy in one pass (Model's backward;
  // MaxPool2d::relu_input_grad); nullptr where that does not apply (not a ReLU, or windows that
  // overlap): then the pool's backward and this one's.
  const Tensor* backward_through(const MaxPool2d& pool, const Tensor& pool_dy);

 private:
  ActKind kind_;
  Tensor y_;   // shape of x
  Tensor dx_;  // shape of x; empty when needs_input_grad() is false
};

}  // namespace bnlab
