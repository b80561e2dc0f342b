#include "base/tensor.h"

#include "base/error.h"

namespace bnlab {

std::string Shape::str() const {
  return "(" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " +
         std::to_string(w) + ")";
}

void Tensor::throw_bad_shape(const Shape& shape) {
  throw Error("invalid tensor shape " + shape.str());
}

void Tensor::reshape(Shape shape) {
  if (shape.size() != shape_.size())
    throw Error("cannot reshape " + shape_.str() + " to " + shape.str() + ": sizes differ");
  shape_ = shape;
}

}  // namespace bnlab
