#include "layers/conv2d.h"

#include "base/error.h"
#include "kernels/gemm.h"
#include "kernels/simd4.h"

namespace bnlab {

Conv2d::Conv2d(int in_channels, int out_channels, int kernel_size, int stride, int padding,
               bool bias)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel_size),
      stride_(stride),
      padding_(padding),
      has_bias_(bias) {
  if (in_channels < 1 || out_channels < 1 || kernel_size < 1 || stride < 1 || padding < 0)
    throw Error("conv: channels " + std::to_string(in_channels) + " -> " +
                std::to_string(out_channels) + ", kernel " + std::to_string(kernel_size) +
                ", stride " + std::to_string(stride) + ", padding " + std::to_string(padding) +
                " is impossible (channels, kernel and stride must be >= 1, padding >= 0)");
  weight_ = Tensor(Shape{out_channels, in_channels, kernel_size, kernel_size});
  dweight_ = Tensor(weight_.shape());
  if (has_bias_) {
    bias_ = Tensor(Shape{out_channels, 1, 1, 1});
    dbias_ = Tensor(bias_.shape());
  }
}

Shape Conv2d::output_shape(const Shape& in) const {
  if (in.c != in_channels_)
    throw Error("conv: expects " + std::to_string(in_channels_) + " input channels, got input " +
                in.str());
  const int hp = in.h + 2 * padding_, wp = in.w + 2 * padding_;
  if (hp < kernel_ || wp < kernel_)
    throw Error("conv: input " + in.str() + " with padding " + std::to_string(padding_) +
                " is smaller than the " + std::to_string(kernel_) + "x" + std::to_string(kernel_) +
                " kernel");
  return Shape{in.n, out_channels_, (hp - kernel_) / stride_ + 1, (wp - kernel_) / stride_ + 1};
}

std::vector<Param> Conv2d::params() {
  std::vector<Param> p{{"weight", &weight_, &dweight_, 4}};
  if (has_bias_) p.push_back({"bias", &bias_, &dbias_, 1});
  return p;
}

// cols[(ci*k + kh)*k + kw, oh*Wo + ow] = xpad[n, ci, oh*s + kh, ow*s + kw]
void Conv2d::im2col(int n, float* cols) const {
  const Shape& pad = xpad_.shape();
  const int ho = y_.shape().h, wo = y_.shape().w, k = kernel_, s = stride_;
  for (int ci = 0; ci < pad.c; ++ci)
    for (int kh = 0; kh < k; ++kh)
      for (int kw = 0; kw < k; ++kw) {
        const float* src = xpad_.data() + ((int64_t(n) * pad.c + ci) * pad.h + kh) * pad.w + kw;
        for (int oh = 0; oh < ho; ++oh, cols += wo, src += s * pad.w)
          if (s == 1)  // the common case: rows of contiguous values
            simd4::copy(cols, src, wo);
          else
            for (int ow = 0; ow < wo; ++ow) cols[ow] = src[ow * s];
      }
}

// y_n = W * cols_n + b for every sample n (see the header).
const Tensor& Conv2d::forward(const Tensor& x, Mode) {
  const Shape in = x.shape(), out = output_shape(in);
  const int64_t kdim = int64_t(in_channels_) * kernel_ * kernel_, p = out.spatial();
  const int pd = padding_;
  y_.resize(out);
  // The border of xpad_ is written (zeroed) only when the shape changes; forward rewrites the
  // interior only.
  const Shape pad{in.n, in.c, in.h + 2 * pd, in.w + 2 * pd};
  if (xpad_.shape() != pad) {
    xpad_.resize(pad);
    xpad_.setZero();
  }
  const float* src = x.data();
  for (int plane = 0; plane < in.n * in.c; ++plane)
    for (int r = pd; r < pad.h - pd; ++r, src += in.w)
      simd4::copy(xpad_.data() + (int64_t(plane) * pad.h + r) * pad.w + pd, src, in.w);

  cols_.resize(Shape{in.n, int(kdim), int(p), 1});
  for (int n = 0; n < in.n; ++n) {
    float* cols = &cols_.at(n, 0);
    im2col(n, cols);
    float* y_n = &y_.at(n, 0);
    gemm_nn(out_channels_, int(p), int(kdim), weight_.data(), kdim, cols, p, y_n, p,
            Accumulate::No);
    if (has_bias_) MatMap(y_n, out_channels_, p).colwise() += bias_.vec();
  }
  return y_;
}

// dxpad_n += col2im(dcols): the adjoint of im2col, each entry added back to the padded input
// pixel it was copied from (windows overlap when s < k, hence +=).
void Conv2d::col2im(int n, const float* dcols) {
  const Shape& pad = dxpad_.shape();
  const int ho = y_.shape().h, wo = y_.shape().w, k = kernel_, s = stride_;
  for (int ci = 0; ci < pad.c; ++ci)
    for (int kh = 0; kh < k; ++kh)
      for (int kw = 0; kw < k; ++kw) {
        float* dst = dxpad_.data() + ((int64_t(n) * pad.c + ci) * pad.h + kh) * pad.w + kw;
        for (int oh = 0; oh < ho; ++oh, dcols += wo, dst += s * pad.w)
          if (s == 1)
            simd4::add_to(dst, dcols, wo);
          else
            for (int ow = 0; ow < wo; ++ow) dst[ow * s] += dcols[ow];
      }
}

// For each sample n, with dy_n [Cout, P] (sample n of dy):
//   db [Cout]       += sum over P of dy_n
//   dW [Cout, K]    += dy_n * cols_n^T
//   dcols_n [K, P]   = W^T * dy_n,   dxpad_n = col2im(dcols_n),   dx = interior of dxpad
// The last line is skipped when needs_input_grad() is false (the first layer's input is data).
const Tensor& Conv2d::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("conv: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  const Shape& out = y_.shape();
  const int64_t kdim = int64_t(in_channels_) * kernel_ * kernel_, p = out.spatial();
  if (needs_input_grad_) {
    dcols_.resize(Shape{1, int(kdim), int(p), 1});
    dxpad_.resize(xpad_.shape());
    dxpad_.setZero();
  }
  for (int n = 0; n < out.n; ++n) {
    const float* dy_n = dy.data() + n * out_channels_ * p;
    if (has_bias_) dbias_.vec() += ConstMatMap(dy_n, out_channels_, p).rowwise().sum();
    gemm_nt(out_channels_, int(kdim), int(p), dy_n, p, &cols_.at(n, 0), p, dweight_.data(), kdim,
            Accumulate::Yes);
    if (needs_input_grad_) {
      gemm_tn(int(kdim), int(p), out_channels_, weight_.data(), kdim, dy_n, p, dcols_.data(), p,
              Accumulate::No);
      col2im(n, dcols_.data());
    }
  }
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }

  const Shape& pad = xpad_.shape();
  const int pd = padding_;
  dx_.resize(Shape{pad.n, pad.c, pad.h - 2 * pd, pad.w - 2 * pd});
  const int w = pad.w - 2 * pd;
  float* dst = dx_.data();
  for (int plane = 0; plane < pad.n * pad.c; ++plane)
    for (int r = pd; r < pad.h - pd; ++r, dst += w)
      simd4::copy(dst, dxpad_.data() + (int64_t(plane) * pad.h + r) * pad.w + pd, w);
  return dx_;
}

}  // namespace bnlab
