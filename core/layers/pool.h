// 2-D pooling without padding, as torch.nn.MaxPool2d / AvgPool2d with padding 0, dilation 1 and
// floor output size: (N, C, H, W) -> (N, C, (H - k)/s + 1, (W - k)/s + 1). stride 0 means k.
// Each window covers input rows oh*s .. oh*s + k - 1 and columns ow*s .. ow*s + k - 1.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/layer.h"

namespace bnlab {

class MaxPool2d : public Layer {
 public:
  // Throws Error unless 1 <= kernel_size <= 16 (a window's position fits a byte) and stride >= 0.
  explicit MaxPool2d(int kernel_size, int stride = 0);

  std::string kind() const override { return "maxpool"; }
  // Throws Error when the input is smaller than the kernel.
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  // The input gradient of a ReLU whose output was this layer's input, from this layer's dy, in
  // one pass, without forming this layer's dx (Model's backward takes a ReLU and the pooling
  // after it so): an input gets dy where it was its window's maximum and that maximum is above
  // 0, else 0. The same bits as backward() and then the ReLU's backward (the maximum is the
  // ReLU's output there, which the ReLU's backward tests). Only for windows that neither overlap
  // nor leave gaps (stride = kernel); returns false, dz untouched, for the others.
  bool relu_input_grad(const Tensor& dy, Tensor& dz) const;

 private:
  int kernel_, stride_;
  Shape in_shape_;               // (N, C, H, W) of the last input
  std::vector<uint8_t> argmax_;  // (N, C, Ho, Wo): each window's maximum at kh*k + kw in it
  Tensor y_;                     // (N, C, Ho, Wo)
  Tensor dx_;                    // (N, C, H, W); empty when needs_input_grad() is false
};

class AvgPool2d : public Layer {
 public:
  // Throws Error unless kernel_size >= 1 and stride >= 0.
  explicit AvgPool2d(int kernel_size, int stride = 0);

  std::string kind() const override { return "avgpool"; }
  // Throws Error when the input is smaller than the kernel.
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

 private:
  int kernel_, stride_;
  Shape in_shape_;  // (N, C, H, W) of the last input
  Tensor y_;        // (N, C, Ho, Wo)
  Tensor dx_;       // (N, C, H, W); empty when needs_input_grad() is false
};

}  // namespace bnlab
