#include "layers/activation.h"

#include <cmath>

#include "base/error.h"

namespace bnlab {

std::string Activation::kind() const {
  switch (kind_) {
    case ActKind::ReLU:
      return "relu";
    case ActKind::Sigmoid:
      return "sigmoid";
    case ActKind::Tanh:
      return "tanh";
  }
  return "";
}

// relu(x) = max(x, 0), sigmoid(x) = 1 / (1 + e^-x), tanh(x). A NaN input gives a NaN output
// (as in PyTorch), so that divergence stays visible to the trainer.
const Tensor& Activation::forward(const Tensor& x, Mode) {
  y_.resize(x.shape());
  const float* in = x.data();
  float* out = y_.data();
  const int64_t size = x.size();
  switch (kind_) {
    case ActKind::ReLU:
      for (int64_t i = 0; i < size; ++i) out[i] = in[i] < 0.f ? 0.f : in[i];
      break;
    case ActKind::Sigmoid:
      // Stable for every finite x: e^-x overflows to +inf for x < -88, giving exactly 0.
      for (int64_t i = 0; i < size; ++i) out[i] = 1.f / (1.f + std::exp(-in[i]));
      break;
    case ActKind::Tanh:
      for (int64_t i = 0; i < size; ++i) out[i] = std::tanh(in[i]);
      break;
  }
  return y_;
}

const Tensor* Activation::backward_through(const MaxPool2d& pool, const Tensor& pool_dy) {
  if (kind_ != ActKind::ReLU) return nullptr;
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return &dx_;
  }
  return pool.relu_input_grad(pool_dy, dx_) ? &dx_ : nullptr;
}

// dx = dy * f'(x), with f' from the output y:
//   relu:    f' = 1 if y > 0 else 0   (0 at x = 0, like PyTorch)
//   sigmoid: f' = y (1 - y)
//   tanh:    f' = 1 - y^2
const Tensor& Activation::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error(kind() + ": backward got dy " + dy.shape().str() + ", expected " +
                y_.shape().str());
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(y_.shape());
  const float* g = dy.data();
  const float* y = y_.data();
  float* out = dx_.data();
  const int64_t size = y_.size();
  switch (kind_) {
    case ActKind::ReLU:
      // g[i] is read whatever y[i] is, so that this is a select the compiler can vectorize
      // (a conditional read becomes a branch in WebAssembly).
      for (int64_t i = 0; i < size; ++i) {
        const float gi = g[i];
        out[i] = y[i] > 0.f ? gi : 0.f;
      }
      break;
    case ActKind::Sigmoid:
      for (int64_t i = 0; i < size; ++i) out[i] = g[i] * y[i] * (1.f - y[i]);
      break;
    case ActKind::Tanh:
      for (int64_t i = 0; i < size; ++i) out[i] = g[i] * (1.f - y[i] * y[i]);
      break;
  }
  return dx_;
}

}  // namespace bnlab
