#include "train/sampler.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/rng.h"

namespace bnlab {

BatchSampler::BatchSampler(const Dataset& data, uint32_t seed, bool shuffle)
    : data_(&data), seed_(seed), shuffle_(shuffle) {
  data.check();
  order_.resize(size_t(data.size()));
  build_order();
}

void BatchSampler::build_order() {
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  // The epoch enters through its low 32 bits: the permutations repeat after 2^32 epochs.
  Rng rng(stream_seed(stream_seed(seed_, Stream::Data) + uint32_t(epoch_), Stream::Data));
  for (size_t i = order_.size() - 1; i > 0; --i)
    std::swap(order_[i], order_[rng.below(uint32_t(i + 1))]);
}

void BatchSampler::next(int batch_size, Tensor& x, std::vector<int>& labels) {
  const int n = int(order_.size());
  if (batch_size < 1 || batch_size > n)
    throw Error("batch size " + std::to_string(batch_size) + " is not possible with dataset '" +
                data_->name + "' of " + std::to_string(n) + " examples (1 to " +
                std::to_string(n) + ")");
  const int64_t per_image = data_->image_size();
  x.resize(Shape{batch_size, data_->channels, data_->height, data_->width});
  labels.resize(size_t(batch_size));
  for (int b = 0; b < batch_size; ++b) {
    const int k = order_[size_t(position_)];
    const float* image = data_->images.data() + k * per_image;
    std::copy(image, image + per_image, x.data() + b * per_image);
    labels[size_t(b)] = data_->labels[size_t(k)];
    if (++position_ == n) {
      ++epoch_;
      position_ = 0;
      build_order();
    }
  }
}

void BatchSampler::set_state(int64_t epoch, int64_t position) {
  if (epoch < 0 || position < 0 || position >= int64_t(order_.size()))
    throw Error("sampler state (epoch " + std::to_string(epoch) + ", position " +
                std::to_string(position) + ") is invalid for dataset '" + data_->name + "' of " +
                std::to_string(order_.size()) + " examples: epoch must be >= 0 and position 0 to " +
                std::to_string(order_.size() - 1));
  const bool new_epoch = epoch != epoch_;
  epoch_ = epoch;
  position_ = position;
  if (new_epoch) build_order();
}

}  // namespace bnlab
