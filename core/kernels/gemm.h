// The matrix products (GEMM) of the conv and linear layers. Matrices are row-major; ld* is the
// row stride of the stored matrix (at least its number of columns):
//
//   gemm_nn:  C [M, N] (+)= A [M, K] * B [K, N]
//   gemm_nt:  C [M, N] (+)= A [M, K] * B^T      B stored as [N, K]
//   gemm_tn:  C [M, N] (+)= A^T * B [K, N]      A stored as [K, M]
//
// Accumulate::No overwrites C, Accumulate::Yes adds the product to it. C must not overlap A or B.
//
// The build chooses the implementation. Natively it is Eigen (the linear layers, and convs of
// stride > 1). The WebAssembly build defines BNLAB_OWN_GEMM (wasm/CMakeLists.txt) and uses
// namespace simd4 below: on the reference CNN's products Eigen reaches 18-34 GFLOP/s there (its
// SSE kernels through Emscripten's SSE headers, repacking both operands of every small per-sample
// product), simd4 39-58 (the table in wasm/README.md, "Speed"). Natively (AVX2 + FMA), stride-1
// convs with padding <= k-1 call gemm_nx and gemm_xn (below): BN Lab's kernels at the build's
// vector width, reading the padded input in place, which Eigen cannot (it packs both operands
// itself).
#pragma once

#include <cstdint>

namespace bnlab {

enum class Accumulate { No, Yes };

void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);
void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);
void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);

// BN Lab's own GEMM for 4-wide SIMD (WebAssembly's f32x4), written with GCC/Clang vector
// extensions so that the same code compiles natively, where the tests check it against a naive
// product. Same arguments and semantics as above; compiled in every build.
//
// Register blocking: a tile of C, R rows by 4V columns, lives in R*V = 8 vector registers while
//   for p in 0 .. K-1:  tile[i][v] += broadcast(A(i, p)) * B[p, 4v .. 4v+3]
// V8 maps wasm SIMD to x86-64's 16 xmm registers; the 8 accumulators, V loads of B, a broadcast
// and the product (no FMA in wasm SIMD) fit. Tiles of 9 to 12 accumulators measured slower,
// fewer than 8 leave the adds waiting on each other. Tiles are 2x16, then 4x8 and 8x4 for the last
// columns; the last n % 4 columns go through a zero-padded 4-column copy of B.
// B is read in place when its rows are contiguous in the column index (nn, tn). gemm_nt packs
// one operand transposed, 16 rows by at most 256 k at a time, into a buffer on the stack (4x4
// blocks transposed in registers): B, or A when it has fewer rows, computing C^T = B * A^T.
//
// Summation order: k is taken in blocks of 256; each element of C gets the sum of its products
// over a block, formed from 0 in order of k, added to C (to the previous blocks' sums, and with
// Accumulate::Yes to what C held), block after block. As Eigen within its blocks, and unlike a
// running sum started from C, this keeps a weight gradient accumulated over a batch from adding
// every product to the growing total one at a time.
namespace simd4 {
void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);
void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);
void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate);
}  // namespace simd4

// Stride-1 convolutions without im2col (layers/conv2d.cpp): over the padded input's width, row
// p = (ci, kh, kw) of a sample's im2col matrix is contiguous in the padded input, so the kernels
// read it in place: X(p, j) = x[offsets[p] + j]. Computed at L lanes (4: simd4's kernels, the
// tiles and summation order above; 8: 8-wide vectors with the build's FMA, tiles of 12
// accumulators, 6 rows x 16 columns or 12 x 8); kLanes is the build's: 8 natively (AVX2 + FMA,
// also in an AVX-512 build, where Zen 4 runs 512-bit FMAs as two halves), 4 in wasm. Against
// Eigen on the same products over im2col columns (tests/bench/gemm_ceiling.cpp, useful GFLOP/s,
// best of 40 x 32 samples, AMD EPYC Zen 4 at 3.7 GHz, AVX-512 build; wasm/README.md "conv14"):
// conv1 forward 61 vs 57, weight gradient 93 vs 43; conv2 forward 90 vs 82, weight gradient 103
// vs 79, input gradient (over dy padded, 8 rows) 68 vs Eigen's tn 84; all the step's products
// 0.71 vs 0.78 ms, and no im2col copy, no Eigen packing of it, no col2im. In wasm (4 lanes, no
// FMA) the convs keep im2col and simd4 (layers/conv2d.h implicit()).
//
//   gemm_nx:  C [M, N] (+)= A [M, K] * X [K, N]   X's rows at offsets (the conv forward, and its
//                                                  input gradient over dy padded by k-1-p)
//   gemm_xn:  C [M, N] (+)= X [M, K] * B [K, N]   X's rows at offsets (its weight gradient)
//
// gemm_xn's k runs over rows k_width wide of which the first k_used columns count (X's columns
// beyond them are wasted and B's rows there are zero): its blocks of 256 are 256 counted columns,
// so that C gets the same sums as from the compact matrix (k_used = k_width: plain blocks).
#if defined(__AVX2__) && defined(__FMA__)
inline constexpr int kLanes = 8;
#else
inline constexpr int kLanes = 4;
#endif
template <int L>
void gemm_nx(int m, int n, int k, const float* a, int64_t lda, const float* x,
             const int64_t* offsets, float* c, int64_t ldc, Accumulate accumulate);
template <int L>
void gemm_xn(int m, int n, int k, const float* x, const int64_t* offsets, const float* b,
             int64_t ldb, float* c, int64_t ldc, Accumulate accumulate, int k_used, int k_width);

}  // namespace bnlab
