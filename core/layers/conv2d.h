// 2-D convolution: PyTorch's torch.nn.Conv2d with a square kernel, stride and zero padding
// (dilation 1, groups 1). Each sample is lowered to one matrix product (im2col):
//
//   xpad    (N, Cin, H + 2p, W + 2p)  x inside a border of p zeros
//   cols_n  [K, P]    K = Cin*k*k rows (ci, kh, kw), P = Ho*Wo columns (oh, ow):
//                     cols_n[(ci*k + kh)*k + kw, oh*Wo + ow] = xpad[n, ci, oh*s + kh, ow*s + kw]
//   y_n     [Cout, P] = W [Cout, K] * cols_n + b        (y_n is sample n of y, in place)
//
// One product per sample writes straight into y's NCHW storage (no reordering copies), and
// each cols_n is still warm in cache when its product reads it.
//
// Natively (implicit(): 8-lane kernels with FMA), stride 1 (every conv of the presets) needs no
// cols_n: over the padded width Wp, row p = (ci, kh, kw) of cols_n is contiguous in xpad_n,
// X(p, j) = xpad_n[(ci*Hp + kh)*Wp + kw + j] for j = oh*Wp + ow, so the products read xpad in
// place (gemm.h gemm_nx, gemm_xn) over the span = (Ho-1)*Wp + Wo columns of that grid, and drop
// the Wp - Wo wasted columns of each output row (conv2 of ref-cnn: 222 columns for 196). The
// weight gradient sums the same products in the same blocks as over cols_n (dy is zero in the
// wasted columns). The input gradient is the convolution of dy_n, padded by k-1-p, with the
// kernel flipped, read in place the same way (padding <= k-1; otherwise im2col).
#pragma once

#include <vector>

#include "kernels/gemm.h"
#include "layers/layer.h"

namespace bnlab {

class Conv2d : public Layer {
 public:
  // Weights and bias start at zero: the model initializes them (from its seeded stream).
  // Throws Error unless channels and kernel_size are >= 1, stride >= 1 and padding >= 0.
  Conv2d(int in_channels, int out_channels, int kernel_size, int stride = 1, int padding = 0,
         bool bias = true);

  std::string kind() const override { return "conv"; }
  // (N, Cin, H, W) -> (N, Cout, (H + 2p - k)/s + 1, (W + 2p - k)/s + 1); throws Error when the
  // channels differ or the padded input is smaller than the kernel.
  Shape output_shape(const Shape& in) const override;

  const Tensor& forward(const Tensor& x, Mode mode) override;
  const Tensor& backward(const Tensor& dy) override;

  std::vector<Param> params() override;

  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }

 private:
  void im2col(int n, float* cols) const;   // cols: [K, P] for sample n of xpad_
  void col2im(int n, const float* dcols);  // dcols: [K, P], added into sample n of dxpad_
  // The stride-1 path (above): forward into y_, backward into dweight_, dbias_ and dxpad_.
  void forward_implicit(const Shape& out);
  const Tensor& backward_implicit(const Tensor& dy);
  int64_t span() const;  // (Ho-1)*Wp + Wo
  // Whether this conv reads xpad in place: stride 1, at 8 lanes. At wasm's 4 lanes without FMA
  // the products are what costs, and the wasted columns (13% more in conv2) and dy's transposed
  // copies cost more than im2col saved: node, CPU ms per step, conv2 backward 1.06 -> 1.25,
  // forward 0.51 -> 0.55, conv1 0.19 -> 0.22 and 0.18 -> 0.21 (wasm/README.md, "conv14").
  // And padding <= k-1, for the input gradient's padding k-1-p (backward_implicit).
  bool implicit() const { return stride_ == 1 && kLanes > 4 && padding_ <= kernel_ - 1; }

  int in_channels_, out_channels_, kernel_, stride_, padding_;
  bool has_bias_;
  Tensor weight_, dweight_;  // (Cout, Cin, k, k), seen as W [Cout, K]
  Tensor bias_, dbias_;      // (Cout, 1, 1, 1); empty without bias
  Tensor xpad_;              // (N, Cin, H + 2p, W + 2p): the last input, padded
  Tensor cols_;              // (N, K, P, 1): cols_n of every sample of the last input, for dW
                             // (not implicit() only)
  // implicit() only:
  std::vector<int64_t> offsets_;  // (ci*Hp + kh)*Wp + kw for row p = (ci, kh, kw)
  Tensor wide_;                   // y_n [Cout, span] (forward), dx_n over dypad_'s width (backward)
  Tensor wide_t_;                 // dy_n^T [span, Cout]
  Tensor dweight_t_;              // dW^T [K, Cout] while backward sums it
  Tensor dypad_;                  // dy_n padded by k-1-p: (1, Cout, Ho + 2(k-1-p), ...)
  Tensor wflip_;                  // [Cin, Cout*k*k]: W flipped, channels swapped
  std::vector<int64_t> offsets_t_;  // rows (co, kh, kw) of dypad_ over its width
  Tensor y_;                 // (N, Cout, Ho, Wo)
  Tensor dcols_;             // (1, K, P, 1): W^T * dy_n of the sample being scattered back
  Tensor dxpad_;             // (N, Cin, H + 2p, W + 2p): dL/dxpad, whose interior is dx
  Tensor dx_;                // (N, Cin, H, W); empty when needs_input_grad() is false
};

}  // namespace bnlab
