#include "train/optimizer.h"

namespace bnlab {

Sgd::Sgd(const std::vector<NamedParam>& params, float momentum, float weight_decay)
    : params_(params), momentum_(momentum), weight_decay_(weight_decay) {
  for (const NamedParam& p : params_) buffers_.emplace_back(p.param.value->shape(), 0.f);
}

void Sgd::step(float lr) {
  for (size_t i = 0; i < params_.size(); ++i) {
    auto w = params_[i].param.value->vec();
    auto g = params_[i].param.grad->vec();
    auto buf = buffers_[i].vec();
    if (weight_decay_ != 0.f) {
      buf = momentum_ * buf + (g + weight_decay_ * w);  // PyTorch: d_p = g + wd * w first
    } else {
      buf = momentum_ * buf + g;
    }
    w -= lr * buf;
  }
}

}  // namespace bnlab
