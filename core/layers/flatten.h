// Flatten: (N, C, H, W) -> (N, C*H*W, 1, 1) in NCHW order (torch.flatten(x, 1)). The storage
// order does not change, so forward and backward are copies under a new shape.
#pragma once

#include "layers/layer.h"

namespace bnlab {

class Flatten : public Layer {
 public:
  std::string kind() const override { return "flatten"; }
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

 private:
  Shape in_shape_;  // (N, C, H, W) of the last input
  Tensor y_;        // (N, C*H*W, 1, 1)
  Tensor dx_;       // (N, C, H, W); empty when needs_input_grad() is false
};

}  // namespace bnlab
