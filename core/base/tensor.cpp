#include "base/tensor.h"

#include <limits>
#include <new>

#include "base/error.h"

namespace bnlab {

std::string Shape::str() const {
  return "(" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " +
         std::to_string(w) + ")";
}

int64_t Tensor::checked_size(const Shape& shape) {
  if (shape.n < 0 || shape.c < 0 || shape.h < 0 || shape.w < 0)
    throw Error("invalid tensor shape " + shape.str());
  // Each dimension is below 2^31, so any two multiply in int64 without overflow; the running
  // product is checked against the limit before each further factor.
  const uint64_t limit = std::numeric_limits<size_t>::max() / sizeof(float);
  uint64_t n = 1;
  for (const int d : {shape.n, shape.c, shape.h, shape.w}) {
    if (d == 0) return 0;
    if (n > limit / uint64_t(d))
      throw Error("tensor shape " + shape.str() + " holds more floats than this machine can address");
    n *= uint64_t(d);
  }
  return int64_t(n);
}

float* Tensor::allocate(const Shape& shape, int64_t n) {
  try {
    return static_cast<float*>(Eigen::internal::aligned_malloc(size_t(n) * sizeof(float)));
  } catch (const std::bad_alloc&) {
    throw Error("out of memory: a tensor of shape " + shape.str() + " needs " +
                std::to_string(n / 262144) + " MiB");
  }
}

void Tensor::reshape(Shape shape) {
  if (shape.size() != shape_.size())
    throw Error("cannot reshape " + shape_.str() + " to " + shape.str() + ": sizes differ");
  shape_ = shape;
}

}  // namespace bnlab
