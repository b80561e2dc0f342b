// Tensors of BN Lab.
//
// Shape legend, used in every shape comment of core/ and tests/:
//   N  batch size (samples)
//   C  channels (feature maps; for dense layers, features)
//   H  height, W width (1 and 1 for dense activations)
// Storage is float32, row-major NCHW: element (n, c, h, w) sits at ((n*C + c)*H + h)*W + w.
// A dense activation (N, F) is the tensor (N, F, 1, 1), so Flatten is a change of shape only.
#pragma once

#include <cstdint>
#include <string>
#include <algorithm>
#include <utility>
#include <vector>

#include <Eigen/Core>

namespace bnlab {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<MatrixRM>;
using ConstMatMap = Eigen::Map<const MatrixRM>;
using VecMap = Eigen::Map<Eigen::VectorXf>;
using ConstVecMap = Eigen::Map<const Eigen::VectorXf>;

struct Shape {
  int n = 0, c = 0, h = 1, w = 1;

  int64_t size() const { return int64_t(n) * c * h * w; }
  int64_t per_sample() const { return int64_t(c) * h * w; }
  int64_t spatial() const { return int64_t(h) * w; }
  bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "(N, C, H, W)" for messages
};

// A shaped float buffer. resize() keeps the allocation when it is large enough, so a layer that
// resizes its members every step allocates only on its first step; and it does not clear what
// is kept (a layer that alternates between a training batch and a smaller probe batch must not
// pay for zero-filling its caches). Fresh allocations start at zero; after a shrink and regrowth
// the contents are unspecified: layers clear what they accumulate into.
// The storage is aligned for Eigen's widest packets: Eigen picks its vectorized paths (and so
// its summation order) by address, and identical runs must give identical bits.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.f) { resize(shape); setConstant(fill); }
  Tensor(const Tensor& other) { *this = other; }
  Tensor(Tensor&& other) noexcept { swap(other); }
  Tensor& operator=(const Tensor& other) {
    if (this != &other) {
      resize(other.shape_);
      std::copy(other.data(), other.data() + other.size_, data());
    }
    return *this;
  }
  Tensor& operator=(Tensor&& other) noexcept {
    swap(other);
    return *this;
  }
  ~Tensor() { Eigen::internal::aligned_free(data_); }

  // Throws Error for a negative dimension, and for a size beyond what this machine can address
  // (size_t is 32 bits in WebAssembly: the 64-bit count is checked before it is narrowed) or
  // allocate, naming the shape.
  void resize(Shape shape) {
    const int64_t n = checked_size(shape);
    if (size_t(n) > capacity_) {
      float* fresh = allocate(shape, n);
      std::fill(fresh, fresh + n, 0.f);
      Eigen::internal::aligned_free(data_);
      data_ = fresh;
      capacity_ = size_t(n);
    }
    shape_ = shape;
    size_ = size_t(n);
  }
  void setConstant(float v) { std::fill(data_, data_ + size_, v); }
  void setZero() { setConstant(0.f); }

  const Shape& shape() const { return shape_; }
  int64_t size() const { return int64_t(size_); }
  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }
  float& at(int n, int c, int h = 0, int w = 0) { return data_[index(n, c, h, w)]; }
  float at(int n, int c, int h = 0, int w = 0) const { return data_[index(n, c, h, w)]; }

  // The same storage seen as a vector, or as a rows x cols row-major matrix.
  VecMap vec() { return VecMap(data(), size()); }
  ConstVecMap vec() const { return ConstVecMap(data(), size()); }
  MatMap mat(int64_t rows, int64_t cols) { return MatMap(data(), rows, cols); }
  ConstMatMap mat(int64_t rows, int64_t cols) const { return ConstMatMap(data(), rows, cols); }

  // Change the shape without touching the data (same element count required).
  void reshape(Shape shape);

 private:
  // The element count of shape, without overflow; throws Error for a negative dimension or a
  // count of more floats than size_t can hold in bytes.
  static int64_t checked_size(const Shape& shape);
  static float* allocate(const Shape& shape, int64_t n);  // throws Error if memory runs out
  void swap(Tensor& o) noexcept {
    std::swap(shape_, o.shape_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }
  size_t index(int n, int c, int h, int w) const {
    return size_t(((int64_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w);
  }
  Shape shape_;
  float* data_ = nullptr;  // aligned_malloc'ed, capacity_ floats
  size_t size_ = 0, capacity_ = 0;
};

}  // namespace bnlab
