#include "pool.h"

#include <cmath>
#include <limits>

#include "error.h"

namespace bnlab {

namespace {

void check_pool_config(const char* name, int kernel, int stride) {
  if (kernel < 1 || stride < 0)
    throw Error(std::string(name) + ": kernel " + std::to_string(kernel) + ", stride " +
                std::to_string(stride) + " is impossible (kernel >= 1, stride >= 0)");
}

Shape pool_output_shape(const char* name, int kernel, int stride, const Shape& in) {
  if (in.h < kernel || in.w < kernel)
    throw Error(std::string(name) + ": input " + in.str() + " is smaller than the " +
                std::to_string(kernel) + "x" + std::to_string(kernel) + " window");
  return Shape{in.n, in.c, (in.h - kernel) / stride + 1, (in.w - kernel) / stride + 1};
}

}  // namespace

MaxPool2d::MaxPool2d(int kernel_size, int stride)
    : kernel_(kernel_size), stride_(stride == 0 ? kernel_size : stride) {
  check_pool_config("maxpool", kernel_size, stride);
}

Shape MaxPool2d::output_shape(const Shape& in) const {
  return pool_output_shape("maxpool", kernel_, stride_, in);
}

namespace {

// Max pooling of every (n, c) plane of x (shape in) into y and arg (shape out); arg holds the
// index h*W + w of each window's maximum. Selects instead of an if, and NaN noted on the side,
// so that the compiler emits no data-dependent branch (one would mispredict about once per
// window). K, S > 0 fix kernel and stride at compile time so that the compiler can unroll the
// window; 0 takes the run-time k, s.
template <int K, int S>
void max_pool(const float* x, Shape in, Shape out, int k, int s, float* y, int32_t* arg) {
  if (K > 0) k = K;
  if (S > 0) s = S;
  // Locals, not shape fields: stores through arg could alias those, forcing reloads.
  const int w = in.w, ho = out.h, wo = out.w;
  const int64_t planes = int64_t(out.n) * out.c, plane_size = in.spatial();
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* src = x + plane * plane_size;
    for (int oh = 0; oh < ho; ++oh)
      for (int ow = 0; ow < wo; ++ow, ++y, ++arg) {
        float best = -std::numeric_limits<float>::infinity();
        int32_t best_at = oh * s * w + ow * s;
        bool nan = false;
        for (int kh = 0; kh < k; ++kh)
          for (int kw = 0; kw < k; ++kw) {
            const int32_t at = (oh * s + kh) * w + ow * s + kw;
            const float v = src[at];
            best_at = v > best ? at : best_at;
            best = v > best ? v : best;
            nan |= std::isnan(v);
          }
        if (nan)  // PyTorch's rule "v > best or v is NaN" leaves the window's last NaN
          for (int kh = 0; kh < k; ++kh)
            for (int kw = 0; kw < k; ++kw) {
              const int32_t at = (oh * s + kh) * w + ow * s + kw;
              if (std::isnan(src[at])) best = src[at], best_at = at;
            }
        *y = best;
        *arg = best_at;
      }
  }
}

}  // namespace

// y = the largest value of each window; argmax_ remembers where it was. As in PyTorch, the first
// maximum in row-major window order wins a tie, and a NaN wins over any number (so that
// divergence propagates instead of being pooled away).
const Tensor& MaxPool2d::forward(const Tensor& x, Mode) {
  const Shape out = output_shape(x.shape());
  in_shape_ = x.shape();
  y_.resize(out);
  argmax_.resize(size_t(out.size()));
  if (kernel_ == 2 && stride_ == 2)  // the reference CNN's pooling, several times faster unrolled
    max_pool<2, 2>(x.data(), in_shape_, out, 2, 2, y_.data(), argmax_.data());
  else
    max_pool<0, 0>(x.data(), in_shape_, out, kernel_, stride_, y_.data(), argmax_.data());
  return y_;
}

// dx[argmax of window] += dy[window]; every other input gets 0. (+= because overlapping windows,
// s < k, may pick the same input.)
const Tensor& MaxPool2d::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("maxpool: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(in_shape_);
  dx_.setZero();
  const Shape& out = y_.shape();
  const float* g = dy.data();
  const int32_t* arg = argmax_.data();
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    float* dst = dx_.data() + plane * in_shape_.spatial();
    for (int64_t i = 0; i < out.spatial(); ++i, ++g, ++arg) dst[*arg] += *g;
  }
  return dx_;
}

AvgPool2d::AvgPool2d(int kernel_size, int stride)
    : kernel_(kernel_size), stride_(stride == 0 ? kernel_size : stride) {
  check_pool_config("avgpool", kernel_size, stride);
}

Shape AvgPool2d::output_shape(const Shape& in) const {
  return pool_output_shape("avgpool", kernel_, stride_, in);
}

// y = (1 / k^2) * sum of the window (no padding, so every window has k^2 inputs).
const Tensor& AvgPool2d::forward(const Tensor& x, Mode) {
  const Shape out = output_shape(x.shape());
  in_shape_ = x.shape();
  y_.resize(out);
  const int w = in_shape_.w, k = kernel_, s = stride_;
  const float scale = 1.f / float(k * k);
  float* y = y_.data();
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    const float* src = x.data() + plane * in_shape_.spatial();
    for (int oh = 0; oh < out.h; ++oh)
      for (int ow = 0; ow < out.w; ++ow, ++y) {
        float sum = 0.f;
        for (int kh = 0; kh < k; ++kh)
          for (int kw = 0; kw < k; ++kw) sum += src[(oh * s + kh) * w + ow * s + kw];
        *y = sum * scale;
      }
  }
  return y_;
}

// dx[i] += dy[window] / k^2 for every input i of every window that contains it.
const Tensor& AvgPool2d::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("avgpool: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(in_shape_);
  dx_.setZero();
  const Shape& out = y_.shape();
  const int w = in_shape_.w, k = kernel_, s = stride_;
  const float scale = 1.f / float(k * k);
  const float* g = dy.data();
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    float* dst = dx_.data() + plane * in_shape_.spatial();
    for (int oh = 0; oh < out.h; ++oh)
      for (int ow = 0; ow < out.w; ++ow, ++g) {
        const float share = *g * scale;
        for (int kh = 0; kh < k; ++kh)
          for (int kw = 0; kw < k; ++kw) dst[(oh * s + kh) * w + ow * s + kw] += share;
      }
  }
  return dx_;
}

}  // namespace bnlab
