#include "layers/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
  if (kernel_size > 16)  // the model spec's limit too (poolK, K <= 16)
    throw Error("maxpool: kernel " + std::to_string(kernel_size) + " is larger than 16");
}

Shape MaxPool2d::output_shape(const Shape& in) const {
  return pool_output_shape("maxpool", kernel_, stride_, in);
}

namespace {

using simd4::f4;
using simd4::i4;
using u8x16 = uint8_t __attribute__((vector_size(16)));

// Four windows' positions (0 .. 255, one per lane of an i4) to and from four bytes, by one byte
// shuffle each way (i8x16.shuffle in wasm, where a conversion to a 4-byte vector is scalarized).
inline void store_positions(uint8_t* p, i4 at) {
  const u8x16 b = u8x16(at);
  const i4 packed =
      i4(__builtin_shufflevector(b, b, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12));
  const int32_t word = packed[0];
  std::memcpy(p, &word, sizeof word);
}
inline i4 load_positions(const uint8_t* p) {
  int32_t word;
  std::memcpy(&word, p, sizeof word);
  const u8x16 b = u8x16(i4{word, 0, 0, 0}), zero = {};
  return i4(
      __builtin_shufflevector(b, zero, 0, 16, 16, 16, 1, 16, 16, 16, 2, 16, 16, 16, 3, 16, 16, 16));
}

// Max pooling of every (n, c) plane of x (shape in) into y and arg (shape out); arg holds the
// position kh*k + kw of each window's maximum in its window (a byte, as k <= 16: a quarter of
// the traffic of an int32 index). Selects instead of an if, and NaN noted on the side, so that
// the compiler emits no data-dependent branch (one would mispredict about once per window).
// K, S > 0 fix kernel and stride at compile time so that the compiler can unroll the window; 0
// takes the run-time k, s.
template <int K, int S>
void max_pool(const float* x, Shape in, Shape out, int k, int s, float* y, uint8_t* arg) {
  if (K > 0) k = K;
  if (S > 0) s = S;
  // Locals, not shape fields: stores through arg could alias those, forcing reloads.
  const int w = in.w, ho = out.h, wo = out.w;
  const int64_t planes = int64_t(out.n) * out.c, plane_size = in.spatial();
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* src = x + plane * plane_size;
    for (int oh = 0; oh < ho; ++oh)
      for (int ow = 0; ow < wo; ++ow, ++y, ++arg) {
        const float* win = src + int64_t(oh) * s * w + ow * s;  // the window's (0, 0)
        float best = -std::numeric_limits<float>::infinity();
        int best_at = 0;
        bool nan = false;
        for (int kh = 0; kh < k; ++kh)
          for (int kw = 0; kw < k; ++kw) {
            const float v = win[kh * w + kw];
            best_at = v > best ? kh * k + kw : best_at;
            best = v > best ? v : best;
            nan |= std::isnan(v);
          }
        if (nan)  // PyTorch's rule "v > best or v is NaN" leaves the window's last NaN
          for (int kh = 0; kh < k; ++kh)
            for (int kw = 0; kw < k; ++kw)
              if (std::isnan(win[kh * w + kw])) best = win[kh * w + kw], best_at = kh * k + kw;
        *y = best;
        *arg = uint8_t(best_at);
      }
  }
}

// max_pool<2, 2> for outputs at least 4 wide, four windows per step with vector compares and
// selects (WebAssembly's compiler leaves the scalar loop unvectorized): the same rule, "v > best
// or v is NaN" in row-major window order, on four windows at once. The last group of a row
// overlaps the one before when wo is not a multiple of 4.
void max_pool_2x2(const float* x, Shape in, Shape out, float* y, uint8_t* arg) {
  using simd4::load;
  const int w = in.w, ho = out.h, wo = out.w;
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
        i4 at = {};
        const auto visit = [&](f4 value, int32_t position) {
          const i4 take = (value > best) | (value != value);
          best = simd4::select(take, value, best);
          at = simd4::select(take, i4{} + position, at);
        };
        visit(__builtin_shufflevector(a, b, 1, 3, 5, 7), 1);  // (0, 1)
        visit(__builtin_shufflevector(c, d, 0, 2, 4, 6), 2);  // (1, 0)
        visit(__builtin_shufflevector(c, d, 1, 3, 5, 7), 3);  // (1, 1)
        const int64_t o = (plane * ho + oh) * wo + ow;
        simd4::store(y + o, best);
        store_positions(arg + o, at);
      }
  }
}

// The gradient of non-overlapping 2x2 windows (stride 2) with outputs at least 4 wide, written
// in one pass: each input gets its window's dy where the window's maximum was, 0 elsewhere, four
// windows (two rows of 8 inputs) per step, the last group of a row overlapping the one before
// (rewriting the same values). Inputs outside every window (the last row or column of an odd
// size) get 0. dy + 0 turns a -0 into +0, as 0 + dy did when the gradient was added to zeros.
// Relu: through the ReLU before the pooling too (MaxPool2d::relu_input_grad): 0 where the
// window's maximum y is not above 0.
template <bool Relu>
void max_pool_2x2_backward(const float* dy, const uint8_t* arg, const float* y, Shape in, Shape out,
                           float* dx) {
  const int w = in.w, ho = out.h, wo = out.w;
  const f4 zero = {};
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    float* dst = dx + plane * in.spatial();
    for (int oh = 0; oh < ho; ++oh) {
      float* row = dst + 2 * int64_t(oh) * w;
      for (int group = 0; group < wo; group += 4) {
        const int ow = std::min(group, wo - 4);
        const int64_t o = (plane * ho + oh) * wo + ow;
        f4 g = simd4::load(dy + o) + zero;
        if (Relu) g = simd4::select(simd4::load(y + o) > zero, g, zero);
        const i4 at = load_positions(arg + o);
        const f4 p0 = simd4::select(at == 0, g, zero), p1 = simd4::select(at == 1, g, zero);
        const f4 p2 = simd4::select(at == 2, g, zero), p3 = simd4::select(at == 3, g, zero);
        float* top = row + 2 * ow;
        simd4::store(top, __builtin_shufflevector(p0, p1, 0, 4, 1, 5));
        simd4::store(top + 4, __builtin_shufflevector(p0, p1, 2, 6, 3, 7));
        simd4::store(top + w, __builtin_shufflevector(p2, p3, 0, 4, 1, 5));
        simd4::store(top + w + 4, __builtin_shufflevector(p2, p3, 2, 6, 3, 7));
      }
      if (w > 2 * wo) row[2 * wo] = row[w + 2 * wo] = 0.f;  // odd width: the last column
    }
    if (in.h > 2 * ho) std::fill(dst + 2 * int64_t(ho) * w, dst + int64_t(in.h) * w, 0.f);
  }
}

// The gradient of non-overlapping k x k windows (stride k) in one pass, as above for any k:
// each window's k*k inputs written once, the inputs outside every window 0.
template <bool Relu>
void max_pool_backward_tiled(const float* dy, const uint8_t* arg, const float* y, Shape in,
                             Shape out, int k, float* dx) {
  const int w = in.w, ho = out.h, wo = out.w;
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    float* dst = dx + plane * in.spatial();
    for (int oh = 0; oh < ho; ++oh) {
      float* row = dst + int64_t(oh) * k * w;
      for (int ow = 0; ow < wo; ++ow, ++dy, ++arg, ++y) {
        const float g = Relu && !(*y > 0.f) ? 0.f : *dy + 0.f;
        for (int kh = 0; kh < k; ++kh)
          for (int kw = 0; kw < k; ++kw) row[kh * w + ow * k + kw] = kh * k + kw == *arg ? g : 0.f;
      }
      for (int kh = 0; kh < k; ++kh) std::fill(row + kh * w + wo * k, row + (kh + 1) * w, 0.f);
    }
    std::fill(dst + int64_t(ho) * k * w, dst + int64_t(in.h) * w, 0.f);
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

// dx[argmax of window] += dy[window]; every other input gets 0. Windows that do not overlap
// (stride = kernel: every model spec's poolK) write each input once, without clearing dx first;
// overlapping (s < k) ones may pick the same input, hence +=, and gapped ones (s > k) leave
// inputs between them: those clear dx and add.
const Tensor& MaxPool2d::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw Error("maxpool: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  if (!needs_input_grad_) {
    dx_.resize(Shape{});
    return dx_;
  }
  dx_.resize(in_shape_);
  const Shape& out = y_.shape();
  const int k = kernel_, s = stride_, w = in_shape_.w;
  if (k == 2 && s == 2 && out.w >= 4) {
    max_pool_2x2_backward<false>(dy.data(), argmax_.data(), nullptr, in_shape_, out, dx_.data());
    return dx_;
  }
  if (k == s) {
    max_pool_backward_tiled<false>(dy.data(), argmax_.data(), y_.data(), in_shape_, out, k,
                                   dx_.data());
    return dx_;
  }
  dx_.setZero();
  const float* g = dy.data();
  const uint8_t* arg = argmax_.data();
  for (int64_t plane = 0; plane < int64_t(out.n) * out.c; ++plane) {
    float* dst = dx_.data() + plane * in_shape_.spatial();
    for (int oh = 0; oh < out.h; ++oh)
      for (int ow = 0; ow < out.w; ++ow, ++g, ++arg)
        dst[(oh * s + *arg / k) * w + ow * s + *arg % k] += *g;
  }
  return dx_;
}

bool MaxPool2d::relu_input_grad(const Tensor& dy, Tensor& dz) const {
  if (kernel_ != stride_) return false;
  if (dy.shape() != y_.shape())
    throw Error("maxpool: backward got dy " + dy.shape().str() + ", expected " + y_.shape().str());
  dz.resize(in_shape_);
  const Shape& out = y_.shape();
  if (kernel_ == 2 && out.w >= 4)
    max_pool_2x2_backward<true>(dy.data(), argmax_.data(), y_.data(), in_shape_, out, dz.data());
  else
    max_pool_backward_tiled<true>(dy.data(), argmax_.data(), y_.data(), in_shape_, out, kernel_,
                                  dz.data());
  return true;
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
