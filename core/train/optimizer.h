// SGD with momentum and weight decay, PyTorch's formula (torch.optim.SGD, dampening 0,
// no Nesterov):
//   g   = grad + weight_decay * w
//   buf = momentum * buf + g          (buf starts at 0, so the first step sets buf = g)
//   w  -= lr * buf
// Weight decay applies to every parameter, normalizer gamma and beta included, as in PyTorch
// when all parameters are in one group.
#pragma once

#include <vector>

#include "train/model.h"

namespace bnlab {

class Sgd {
 public:
  Sgd(const std::vector<NamedParam>& params, float momentum, float weight_decay);
  void step(float lr);
  void set_momentum(float momentum) { momentum_ = momentum; }
  void set_weight_decay(float weight_decay) { weight_decay_ = weight_decay; }
  // One buffer per parameter, same order and shape ("conv1.weight" -> its momentum_buffer).
  std::vector<Tensor>& momentum_buffers() { return buffers_; }

 private:
  std::vector<NamedParam> params_;
  std::vector<Tensor> buffers_;
  float momentum_, weight_decay_;
};

}  // namespace bnlab
