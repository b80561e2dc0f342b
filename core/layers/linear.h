// Fully connected layer: PyTorch's torch.nn.Linear, y = x W^T + b.
//
// Any input whose per-sample size is in_features is accepted: an (N, C, H, W) activation is read
// as the matrix X [N, C*H*W] in NCHW order (feature index c*H*W + h*W + w, like torch.flatten),
// so no Flatten layer is needed in front of it.
#pragma once

#include "layers/layer.h"

namespace bnlab {

class Linear : public Layer {
 public:
  // Weights and bias start at zero: the model initializes them (from its seeded stream).
  // Throws Error unless both sizes are >= 1.
  Linear(int in_features, int out_features, bool bias = true);

  std::string kind() const override { return "fc"; }
  // (N, C, H, W) with C*H*W = in_features -> (N, out_features, 1, 1)
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  std::vector<Param> params() override;

  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  int in_features() const { return in_features_; }
  int out_features() const { return out_features_; }

 private:
  int in_features_, out_features_;
  bool has_bias_;
  Tensor weight_, dweight_;        // (out, in, 1, 1), seen as W [out, in]
  Tensor bias_, dbias_;            // (out, 1, 1, 1); empty without bias
  const Tensor* input_ = nullptr;  // the last input, any shape with per_sample() = in, seen as
                                   //   X [N, in]; read again by backward, not copied
  Tensor y_;                       // (N, out, 1, 1), seen as Y [N, out]
  Tensor dx_;                      // shape of the input; empty when needs_input_grad() is false
};

}  // namespace bnlab
