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

  if (implicit()) {
    forward_implicit(out);
    return y_;
  }
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
  if (implicit()) return backward_implicit(dy);
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

int64_t Conv2d::span() const { return int64_t(y_.shape().h - 1) * xpad_.shape().w + y_.shape().w; }

// y_n = W * X_n + b, X_n read in place from xpad_ (the header), through wide_.
void Conv2d::forward_implicit(const Shape& out) {
  const Shape& pad = xpad_.shape();
  const int kdim = in_channels_ * kernel_ * kernel_, wp = pad.w;
  const int64_t plane = int64_t(pad.h) * wp, sample = plane * pad.c, cols = span();
  offsets_.resize(size_t(kdim));
  for (int ci = 0, p = 0; ci < pad.c; ++ci)
    for (int kh = 0; kh < kernel_; ++kh)
      for (int kw = 0; kw < kernel_; ++kw) offsets_[size_t(p++)] = ci * plane + kh * wp + kw;
  wide_.resize(Shape{1, out_channels_, int(cols), 1});
  for (int n = 0; n < out.n; ++n) {
    gemm_nx<kLanes>(out_channels_, int(cols), kdim, weight_.data(), kdim, xpad_.data() + n * sample,
                    offsets_.data(), wide_.data(), cols, Accumulate::No);
    // Each output row is the first Wo columns of a row Wp wide (plus the bias).
    float* y_n = &y_.at(n, 0);
    for (int co = 0; co < out_channels_; ++co) {
      const float* src = wide_.data() + co * cols;
      for (int oh = 0; oh < out.h; ++oh, y_n += out.w, src += wp)
        if (has_bias_)
          simd4::copy_plus(y_n, src, out.w, bias_[co]);
        else
          simd4::copy(y_n, src, out.w);
    }
  }
}

namespace {

// t [span, C]: t[oh*wp + ow, c] = d[c, oh, ow] for d (C, ho, wo), 4x4 blocks transposed in
// registers; the wasted columns ow >= wo of t are left as they are (zero).
void widen_transposed(const float* d, int ho, int wo, int channels, int wp, float* t) {
  const int64_t plane = int64_t(ho) * wo;
  int c = 0;
  for (; c + 4 <= channels; c += 4)
    for (int oh = 0; oh < ho; ++oh) {
      const float* src = d + c * plane + oh * wo;
      float* dst = t + int64_t(oh) * wp * channels + c;
      int ow = 0;
      for (; ow + 4 <= wo; ow += 4) {
        simd4::f4 r0 = simd4::load(src + ow), r1 = simd4::load(src + plane + ow),
                  r2 = simd4::load(src + 2 * plane + ow), r3 = simd4::load(src + 3 * plane + ow);
        simd4::transpose(r0, r1, r2, r3);
        float* block = dst + int64_t(ow) * channels;
        simd4::store(block, r0), simd4::store(block + channels, r1);
        simd4::store(block + 2 * channels, r2), simd4::store(block + 3 * channels, r3);
      }
      for (; ow < wo; ++ow)
        for (int q = 0; q < 4; ++q) dst[int64_t(ow) * channels + q] = src[q * plane + ow];
    }
  for (; c < channels; ++c)
    for (int oh = 0; oh < ho; ++oh)
      for (int ow = 0; ow < wo; ++ow)
        t[(int64_t(oh) * wp + ow) * channels + c] = d[c * plane + oh * wo + ow];
}

}  // namespace

// Per sample n:
//   db += sum of dy_n,  dW^T [K, Cout] += X_n * dy_n^T  (dy_n^T over the padded width, wide_t_)
//   dx_n = the convolution of dy_n, padded by q = k-1-p, with the kernel flipped and its
//          channels swapped: dx[ci, r, c] = sum over (co, kh, kw) of
//          W[co, ci, k-1-kh, k-1-kw] * dypad[co, r + kh, c + kw], read in place as in forward
//          (gemm_nx), straight into dx_ (no dcols, no col2im, no dxpad to clear).
const Tensor& Conv2d::backward_implicit(const Tensor& dy) {
  const Shape& out = y_.shape();
  const Shape& pad = xpad_.shape();
  const int kdim = in_channels_ * kernel_ * kernel_, wp = pad.w, cout = out_channels_;
  const int64_t sample = int64_t(pad.h) * wp * pad.c, cols = span(), p = out.spatial();
  wide_t_.resize(Shape{1, int(cols), cout, 1});
  wide_t_.setZero();
  // dW^T from dW: the sums are added to what dweight_ held, as before.
  dweight_t_.resize(Shape{1, kdim, cout, 1});
  for (int co = 0; co < cout; ++co)
    for (int q = 0; q < kdim; ++q) dweight_t_[q * cout + co] = dweight_[co * kdim + q];

  // The input gradient's operands: dy_n padded by q on each side, the flipped kernel.
  const int k = kernel_, q = k - 1 - padding_, hq = out.h + 2 * q, wq = out.w + 2 * q;
  const int h = pad.h - 2 * padding_, w = pad.w - 2 * padding_, tdim = cout * k * k;
  const int64_t tcols = int64_t(h - 1) * wq + w;
  if (needs_input_grad_) {
    dypad_.resize(Shape{1, cout, hq, wq});
    dypad_.setZero();  // the border stays zero
    wflip_.resize(Shape{1, in_channels_, tdim, 1});
    offsets_t_.resize(size_t(tdim));
    for (int co = 0, t = 0; co < cout; ++co)
      for (int kh = 0; kh < k; ++kh)
        for (int kw = 0; kw < k; ++kw, ++t) {
          offsets_t_[size_t(t)] = (int64_t(co) * hq + kh) * wq + kw;
          for (int ci = 0; ci < in_channels_; ++ci)
            wflip_[int64_t(ci) * tdim + t] = weight_.at(co, ci, k - 1 - kh, k - 1 - kw);
        }
    wide_.resize(Shape{1, in_channels_, int(tcols), 1});
    dx_.resize(Shape{pad.n, pad.c, h, w});
  } else {
    dx_.resize(Shape{});
  }

  for (int n = 0; n < out.n; ++n) {
    const float* dy_n = dy.data() + n * cout * p;
    if (has_bias_) dbias_.vec() += ConstMatMap(dy_n, cout, p).rowwise().sum();
    widen_transposed(dy_n, out.h, out.w, cout, wp, wide_t_.data());
    const float* x_n = xpad_.data() + n * sample;
    gemm_xn<kLanes>(kdim, cout, int(cols), x_n, offsets_.data(), wide_t_.data(), cout,
                    dweight_t_.data(), cout, Accumulate::Yes, out.w, wp);
    if (!needs_input_grad_) continue;
    for (int co = 0; co < cout; ++co)
      for (int oh = 0; oh < out.h; ++oh)
        simd4::copy(&dypad_[(int64_t(co) * hq + q + oh) * wq + q],
                    dy_n + (int64_t(co) * out.h + oh) * out.w, out.w);
    gemm_nx<kLanes>(in_channels_, int(tcols), tdim, wflip_.data(), tdim, dypad_.data(),
                    offsets_t_.data(), wide_.data(), tcols, Accumulate::No);
    float* dx_n = &dx_.at(n, 0);
    for (int ci = 0; ci < in_channels_; ++ci)
      for (int r = 0; r < h; ++r, dx_n += w) simd4::copy(dx_n, &wide_[ci * tcols + r * wq], w);
  }
  for (int co = 0; co < cout; ++co)
    for (int t = 0; t < kdim; ++t) dweight_[co * kdim + t] = dweight_t_[t * cout + co];
  return dx_;
}

}  // namespace bnlab
