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
// resizes its members to the same shape every step allocates only on its first step.
// The storage is aligned for Eigen's widest packets: Eigen picks its vectorized paths (and so
// its summation order) by address, and identical runs must give identical bits.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, float fill = 0.f) { resize(shape); setConstant(fill); }

  void resize(Shape shape) {
    shape_ = shape;
    data_.resize(size_t(shape.size()));
  }
  void setConstant(float v) { std::fill(data_.begin(), data_.end(), v); }
  void setZero() { setConstant(0.f); }

  const Shape& shape() const { return shape_; }
  int64_t size() const { return int64_t(data_.size()); }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[size_t(i)]; }
  float operator[](int64_t i) const { return data_[size_t(i)]; }
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
  size_t index(int n, int c, int h, int w) const {
    return size_t(((int64_t(n) * shape_.c + c) * shape_.h + h) * shape_.w + w);
  }
  Shape shape_;
  std::vector<float, Eigen::aligned_allocator<float>> data_;
};

}  // namespace bnlab
