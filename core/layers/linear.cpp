#include "layers/linear.h"

#include "base/error.h"
#include "kernels/gemm.h"

namespace bnlab {

Linear::Linear(int in_features, int out_features, bool bias)
    : in_features_(in_features), out_features_(out_features), has_bias_(bias) {
  if (in_features < 1 || out_features < 1)
    throw Error("fc: " + std::to_string(in_features) + " -> " + std::to_string(out_features) +
                " features is impossible (both must be >= 1)");
  weight_ = Tensor(Shape{out_features, in_features, 1, 1});
  dweight_ = Tensor(weight_.shape());
  if (has_bias_) {
    bias_ = Tensor(Shape{out_features, 1, 1, 1});
    dbias_ = Tensor(bias_.shape());
  }
}

Shape Linear::output_shape(const Shape& in) const {
  if (in.per_sample() != in_features_)
    throw Error("fc: expects " + std::to_string(in_features_) +
                " input features per sample, got input " + in.str() + " with " +
                std::to_string(in.per_sample()));
  return Shape{in.n, out_features_, 1, 1};
}

std::vector<Param> Linear::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, 2}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, 1});
  return p;
}

// Y [N, out] = X [N, in] * W^T [in, out] + b
const Tensor& Linear::forward(const Tensor& x, Mode) {
  const Shape out = output_shape(x.shape());
  input_ = &x;  // read again by backward, not copied (Layer's contract)
  y_.resize(out);
  gemm_nt(out.n, out_features_, in_features_, x.data(), in_features_, weight_.data(), in_features_,
          y_.data(), out_features_, Accumulate::No);
  if (has_bias_) y_.mat(out.n, out_features_).rowwise() += bias_.vec().transpose();
  return y_;
}

// With dY [N, out]:
//   db [out]     += sum over N of dY
//   dW [out, in] += dY^T * X
//   dX [N, in]    = dY * W          (reshaped to x's shape; skipped without needs_input_grad)
const Tensor& Linear::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("fc: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  const int n = y_.shape().n;
  if (!input_) throw Error("fc: backward before any forward");
  if (input_->shape().n != n || input_->shape().per_sample() != in_features_)
    throw Error("fc: the input of the last forward changed shape before backward");
  const auto dy_mat = dy.mat(n, out_features_);
  if (has_bias_) dbias_.vec() += dy_mat.colwise().sum().transpose();
  gemm_tn(out_features_, in_features_, n, dy.data(), out_features_, input_->data(), in_features_,
          dweight_.data(), in_features_, Accumulate::Yes);
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(input_->shape());
  gemm_nn(n, in_features_, out_features_, dy.data(), out_features_, weight_.data(), in_features_,
          dx_.data(), in_features_, Accumulate::No);
  return dx_;
}

}  // namespace bnlab
