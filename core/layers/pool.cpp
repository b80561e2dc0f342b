#include "layers/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "kernels/simd4.h"

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

// max_pool<2, 2> for outputs at least 4 wide, four windows per step with vector compares and
// selects (WebAssembly's compiler leaves the scalar loop unvectorized): the same rule, "v > best
// or v is NaN" in row-major window order, on four windows at once. The last group of a row
// overlaps the one before when wo is not a multiple of 4.
void max_pool_2x2(const float* x, Shape in, Shape out, float* y, int32_t* arg) {
  using simd4::f4;
  using simd4::i4;
  using simd4::load;
  const int w = in.w, ho = out.h, wo = out.w;
  const i4 lanes = {0, 2, 4, 6};  // the windows' offsets in the input row
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    const float* src = x + plane * in.spatial();
    for (int oh = 0; oh < ho; ++oh)
      for (int group = 0; group < wo; group += 4) {
        const int ow = std::min(group, wo - 4);
        const int32_t corner = 2 * oh * w + 2 * ow;  // index of window ow's (0, 0)
        // Input columns 2*ow .. 2*ow + 7 of both rows, split into the four window positions.
        const f4 a = load(src + corner), b = load(src + corner + 4);
        const f4 c = load(src + corner + w), d = load(src + corner + w + 4);
        f4 best = __builtin_shufflevector(a, b, 0, 2, 4, 6);  // (0, 0)
        i4 offset = {};
        const auto visit = [&](f4 value, int32_t value_offset) {
          const i4 take = (value > best) | (value != value);
          best = simd4::select(take, value, best);
          offset = simd4::select(take, i4{} + value_offset, offset);
        };
        visit(__builtin_shufflevector(a, b, 1, 3, 5, 7), 1);      // (0, 1)
        visit(__builtin_shufflevector(c, d, 0, 2, 4, 6), w);      // (1, 0)
        visit(__builtin_shufflevector(c, d, 1, 3, 5, 7), w + 1);  // (1, 1)
        const int64_t o = (plane * ho + oh) * wo + ow;
        simd4::store(y + o, best);
        simd4::store(arg + o, offset + lanes + corner);
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
  if (kernel_ == 2 && stride_ == 2 && out.w >= 4)  // the reference CNN's pooling
    max_pool_2x2(x.data(), in_shape_, out, y_.data(), argmax_.data());
  else if (kernel_ == 2 && stride_ == 2)
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
