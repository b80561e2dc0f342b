#include "layers/flatten.h"

#include "base/error.h"

namespace bnlab {

Shape Flatten::output_shape(const Shape& in) const {
  return Shape{in.n, int(in.per_sample()), 1, 1};
}

const Tensor& Flatten::forward(const Tensor& x, Mode) {
  in_shape_ = x.shape();
  y_.resize(output_shape(in_shape_));
  y_.vec() = x.vec();
  return y_;
}

// dx is dy under x's shape.
const Tensor& Flatten::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("flatten: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(in_shape_);
  dx_.vec() = dy.vec();
  return dx_;
}

}  // namespace bnlab
