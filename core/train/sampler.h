// Deterministic mini-batches from a Dataset.
//
// The examples form one endless stream, epoch after epoch; every batch takes the next B examples
// of it, so batches are always full and the last batch of an epoch may straddle into the next.
// With shuffle on, epoch e visits the examples in a permutation drawn (Fisher-Yates) from
//   Rng(stream_seed(stream_seed(seed, Stream::Data) + e, Stream::Data))
// so the whole state is (epoch, position) and any point of the stream can be restored; with
// shuffle off, every epoch is the file order.
#pragma once

#include <cstdint>
#include <vector>

#include "base/tensor.h"
#include "data/dataset.h"

namespace bnlab {

class BatchSampler {
 public:
  // data must outlive the sampler and keep its contents (the sampler reads it at every batch).
  // Throws Error if data is empty or inconsistent (Dataset::check).
  BatchSampler(const Dataset& data, uint32_t seed, bool shuffle);

  // The next batch_size examples: x is resized to (B, C, H, W), labels to (B). After the first
  // call with a given batch_size, it allocates nothing. batch_size must be 1 to data.size().
  void next(int batch_size, Tensor& x, std::vector<int>& labels);

  int64_t epoch() const { return epoch_; }        // epochs completed
  int64_t position() const { return position_; }  // examples taken from the current epoch
  int64_t examples_seen() const { return epoch_ * int64_t(order_.size()) + position_; }

  // Restores a state given by epoch() and position() (epoch >= 0, 0 <= position < data.size());
  // throws Error otherwise.
  void set_state(int64_t epoch, int64_t position);

 private:
  void build_order();  // order_ for epoch_

  const Dataset* data_;
  uint32_t seed_;
  bool shuffle_;
  int64_t epoch_ = 0;
  int64_t position_ = 0;     // in [0, n): an epoch rolls over as soon as it is used up
  std::vector<int> order_;   // (n) the examples of epoch_ in visiting order
};

}  // namespace bnlab
