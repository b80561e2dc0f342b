#include "kernels/gemm.h"

#include <algorithm>
#include <cstring>
#include <string>

#ifndef BNLAB_OWN_GEMM
#include <Eigen/Core>
#endif

#include "base/error.h"
#include "kernels/simd4.h"

namespace bnlab {

namespace {

// Throws unless the sizes are >= 0 and every stored row fits its row stride: A is stored with
// a_cols columns, B with b_cols.
void check_args(const char* name, int m, int n, int k, int64_t lda, int64_t a_cols, int64_t ldb,
                int64_t b_cols, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0 || lda < a_cols || ldb < b_cols || ldc < n)
    throw Error(std::string(name) + ": M " + std::to_string(m) + ", N " + std::to_string(n) +
                ", K " + std::to_string(k) + " with row strides " + std::to_string(lda) + ", " +
                std::to_string(ldb) + ", " + std::to_string(ldc) +
                " is impossible (sizes >= 0, each stride at least its matrix's columns)");
}

// An empty product (k = 0): C = 0, or C unchanged when accumulating. Handled before the
// kernels, which would form pointers such as b + j into an operand that may be null (an empty
// tensor's storage), undefined behaviour even when nothing is read there.
bool empty_product(int m, int n, int k, float* c, int64_t ldc, Accumulate accumulate) {
  if (k > 0) return false;
  if (accumulate == Accumulate::No)
    for (int i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
  return true;
}

}  // namespace

namespace lanes {

namespace {

// Vectors of L floats (GCC ignores a vector_size that depends on a template parameter in an
// alias, hence the specializations): L = 4 is simd4's f4.
template <int L>
struct VecOf;
template <>
struct VecOf<4> {
  using type = simd4::f4;
};
template <>
struct VecOf<8> {
  using type = float __attribute__((vector_size(32)));
};
template <int L>
using vec = typename VecOf<L>::type;

template <int L>
vec<L> load(const float* p) {
  vec<L> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int L>
void store(float* p, vec<L> v) {
  std::memcpy(p, &v, sizeof v);
}
// (Written out: GCC builds a vector lane by lane from a loop, and vec{} + x would turn -0 into 0.)
template <int L>
vec<L> broadcast(float x) {
  if constexpr (L == 4)
    return vec<L>{x, x, x, x};
  else
    return vec<L>{x, x, x, x, x, x, x, x};
}

// Accumulators per register tile: 8 for 4-wide SIMD without FMA (wasm: V8 maps it to x86-64's
// 16 xmm registers, see gemm.h); 12 for 8 lanes with FMA, in tiles of 6 rows x 2 vectors or
// 12 x 1 (block_width: no 4-vector tiles at 8 lanes). 12 accumulators, 2 rows of B and a
// broadcast fit AVX2's 16 ymm registers; 3 x 4 spilled there (conv2's forward 47 GFLOP/s against
// 89), 16 accumulators spilled too, and 8 left the FMAs waiting (conv2's input gradient 56 against
// 80 GFLOP/s). Measured with the conv products of gemm_ceiling.cpp (core/README.md).
template <int L>
constexpr int kAccumulators = L == 4 ? 8 : 12;

// Where the kernels find C(i, j): c[i * ldc + j], or with Transposed c[j * ldc + i] (gemm_nt
// computing C^T into C, below; 4 lanes only).
template <bool Transposed>
float* element(float* c, int64_t ldc, int i, int j) {
  return Transposed ? c + j * ldc + i : c + i * ldc + j;
}

// The operand A of the kernels, row by row: A(i, p) = row(i)[p * step]. Its rows are strided
// (nn: lda apart, step 1; tn: 1 apart, step lda) or at offsets in one array (an implicit im2col
// matrix, step 1).
struct ARows {
  const float* base;
  int64_t stride, step;
  const int64_t* offsets;  // null: strided
  const float* row(int i) const { return base + (offsets ? offsets[i] : i * stride); }
  ARows rows_from(int i) const {  // rows i, i+1, ...
    return offsets ? ARows{base, stride, step, offsets + i}
                   : ARows{base + i * stride, stride, step, nullptr};
  }
  ARows cols_from(int p) const { return {base + p * step, stride, step, offsets}; }
};

// The operand B [k, n], row by row, each row contiguous in the column index: rows ld apart
// (DenseRows) or at offsets in one array (OffsetRows, an implicit im2col matrix). from(p, j):
// the same matrix from row p and column j on.
struct DenseRows {
  const float* base;
  int64_t ld;
  const float* row(int p) const { return base + p * ld; }
  DenseRows from(int p, int j) const { return {base + p * ld + j, ld}; }
};
struct OffsetRows {
  const float* base;
  const int64_t* offsets;
  const float* row(int p) const { return base + offsets[p]; }
  OffsetRows from(int p, int j) const { return {base + j, offsets + p}; }
};

// A tile's C in registers: t[i][v] = C(i, Lv .. Lv+L-1). Transposed (4 lanes), these are columns
// of C; a tile of 4 or 8 rows moves them as rows of C in 4x4 blocks transposed in registers, one
// row reads them value by value.
template <int L, int R, int V, bool Transposed>
void load_tile(vec<L> (&t)[R][V], const float* c, int64_t ldc) {
  static_assert(!Transposed || L == 4);
  for (int v = 0; v < V; ++v)
    if constexpr (!Transposed) {
      for (int i = 0; i < R; ++i) t[i][v] = load<L>(c + i * ldc + L * v);
    } else if constexpr (R % 4 == 0) {
      for (int i = 0; i < R; i += 4) {
        const float* block = c + 4 * v * ldc + i;
        simd4::f4& r0 = t[i][v];
        simd4::f4& r1 = t[i + 1][v];
        simd4::f4& r2 = t[i + 2][v];
        simd4::f4& r3 = t[i + 3][v];
        r0 = load<4>(block), r1 = load<4>(block + ldc), r2 = load<4>(block + 2 * ldc);
        r3 = load<4>(block + 3 * ldc);
        simd4::transpose(r0, r1, r2, r3);
      }
    } else {
      static_assert(R == 1);
      const float* col = c + 4 * v * ldc;
      t[0][v] = simd4::f4{col[0], col[ldc], col[2 * ldc], col[3 * ldc]};
    }
}
template <int L, int R, int V, bool Transposed>
void store_tile(vec<L> (&t)[R][V], float* c, int64_t ldc) {
  for (int v = 0; v < V; ++v)
    if constexpr (!Transposed) {
      for (int i = 0; i < R; ++i) store<L>(c + i * ldc + L * v, t[i][v]);
    } else if constexpr (R % 4 == 0) {
      for (int i = 0; i < R; i += 4) {
        simd4::f4 r0 = t[i][v], r1 = t[i + 1][v], r2 = t[i + 2][v], r3 = t[i + 3][v];
        simd4::transpose(r0, r1, r2, r3);
        float* block = c + 4 * v * ldc + i;
        store<4>(block, r0), store<4>(block + ldc, r1), store<4>(block + 2 * ldc, r2);
        store<4>(block + 3 * ldc, r3);
      }
    } else {
      static_assert(R == 1);
      for (int q = 0; q < 4; ++q) c[(4 * v + q) * ldc] = t[0][v][q];
    }
}

// The micro-kernel: C [R, LV] (+)= A [R, k] * B [k, LV], A's rows and B as above. The sum starts
// from 0 and is added to C at the end.
// Always inlined: called from several products, GCC kept one out-of-line copy and its loop then
// ran 20% slower in conv2's backward (each caller's ARows and B in registers, not on the stack).
template <int L, int R, int V, bool Transposed, class BRows>
__attribute__((always_inline)) inline void tile(int k, ARows a, BRows b, float* c, int64_t ldc,
                                                bool accumulate) {
  vec<L> sum[R][V] = {};
  const float* ai[R];
  for (int i = 0; i < R; ++i) ai[i] = a.row(i);
  const int64_t step = a.step;
  for (int p = 0; p < k; ++p) {
    const float* bp = b.row(p);
    vec<L> row[V];
    for (int v = 0; v < V; ++v) row[v] = load<L>(bp + L * v);
    for (int i = 0; i < R; ++i) {
      const vec<L> x = broadcast<L>(ai[i][p * step]);
      for (int v = 0; v < V; ++v) sum[i][v] += x * row[v];
    }
  }
  if (accumulate) {
    vec<L> prior[R][V];
    load_tile<L, R, V, Transposed>(prior, c, ldc);
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < V; ++v) sum[i][v] += prior[i][v];
  }
  store_tile<L, R, V, Transposed>(sum, c, ldc);
}

// One tile of the rows left, rows < R (R, V as in tile).
template <int L, int R, int V, class BRows>
void last_rows(int rows, int k, ARows a, BRows b, float* c, int64_t ldc, bool accumulate) {
  if constexpr (R > 1) {
    if (rows == R - 1)
      tile<L, R - 1, V, false>(k, a, b, c, ldc, accumulate);
    else
      last_rows<L, R - 1, V>(rows, k, a, b, c, ldc, accumulate);
  }
}

// Columns 0 .. LV-1 of C for all m rows: tiles of R = kAccumulators/V rows, then the rows left,
// one tile of them at 8 lanes (a tile of one row waits on each add for the last: conv1's weight
// gradient, 9 rows of k = 838, took 3.5x as long one row at a time), one row at a time at 4.
template <int L, int V, bool Transposed, class BRows>
void column_block(int m, int k, ARows a, BRows b, float* c, int64_t ldc, bool accumulate) {
  constexpr int R = kAccumulators<L> / V;
  int i = 0;
  for (; i + R <= m; i += R)
    tile<L, R, V, Transposed>(k, a.rows_from(i), b, element<Transposed>(c, ldc, i, 0), ldc,
                              accumulate);
  if (i < m && !Transposed && L > 4) {
    last_rows<L, R, V>(m - i, k, a.rows_from(i), b, element<Transposed>(c, ldc, i, 0), ldc,
                       accumulate);
    return;
  }
  for (; i < m; ++i)
    tile<L, 1, V, Transposed>(k, a.rows_from(i), b, element<Transposed>(c, ldc, i, 0), ldc,
                              accumulate);
}

// Columns 0 .. w-1 of C (w = 4L at 4 lanes, 2L or L) for all m rows. Transposed, 16 columns are
// done as two blocks of 8, whose 4-row tiles move C in 4x4 blocks.
template <int L, bool Transposed, class BRows>
void column_block(int w, int m, int k, ARows a, BRows b, float* c, int64_t ldc, bool accumulate) {
  if constexpr (L == 4) {
    if (w == 16 && Transposed) {
      column_block<4, 2, true>(m, k, a, b, c, ldc, accumulate);
      column_block<4, 2, true>(m, k, a, b.from(0, 8), c + 8 * ldc, ldc, accumulate);
      return;
    }
    if (w == 16) return column_block<4, 4, false>(m, k, a, b, c, ldc, accumulate);
  }
  if (w == 2 * L) {
    column_block<L, 2, Transposed>(m, k, a, b, c, ldc, accumulate);
  } else {
    column_block<L, 1, Transposed>(m, k, a, b, c, ldc, accumulate);
  }
}

// The widest column block that fits in n columns: 4L (4 lanes only), 2L, L, or 0 for fewer than
// L.
template <int L>
int block_width(int n) {
  constexpr int widest = L == 4 ? 4 : 2;  // vectors
  return n >= widest * L ? widest * L : n >= 2 * L ? 2 * L : n >= L ? L : 0;
}

// The last cols < L columns of C for all m rows, from B [k, L] whose columns cols .. L-1 are zero
// (a packed panel, or NarrowRows): kAccumulators rows at a time through a buffer, since C has no
// room for a whole vector there.
template <int L, bool Transposed, class BRows>
void narrow_block(int cols, int m, int k, ARows a, BRows b, float* c, int64_t ldc,
                  bool accumulate) {
  constexpr int R = kAccumulators<L>;
  for (int i = 0; i < m; i += R) {
    const int rows = std::min(R, m - i);
    float t[R * L] = {};
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols && accumulate; ++q)
        t[r * L + q] = *element<Transposed>(c, ldc, i + r, q);
    if (rows == R)
      tile<L, R, 1, false>(k, a.rows_from(i), b, t, L, accumulate);
    else
      for (int r = 0; r < rows; ++r)
        tile<L, 1, 1, false>(k, a.rows_from(i + r), b, t + r * L, L, accumulate);
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols; ++q) *element<Transposed>(c, ldc, i + r, q) = t[r * L + q];
  }
}

// The first cols < L columns of B's rows, each copied into a row of L floats whose others are
// zero as the kernel reads it: for a block of k too deep for a packed panel on the stack.
template <int L, class BRows>
struct NarrowRows {
  BRows b;
  int cols;
  float* row_buffer;  // L floats
  const float* row(int p) const {
    const float* r = b.row(p);
    for (int q = 0; q < cols; ++q) row_buffer[q] = r[q];
    return row_buffer;
  }
};

// k per block: each element of C gets the sum over at most kDepth k at a time (in order of k,
// from 0), added to C. Also the depth of the packed panels: at most 16 x 256 floats, 16 KB.
constexpr int kDepth = 256;

// Where the block of k that starts at k0 ends: kDepth later (or at k), or, over an implicit
// im2col matrix whose k runs over a grid of rows `width` wide of which the first `used` columns
// count (gemm_xn: a stride-1 convolution's weight gradient over the padded width), kDepth
// counted columns later, so that the sums are those of the compact matrix's blocks (GridBlocks,
// whose blocks can be deeper than kDepth).
struct PlainBlocks {
  static constexpr bool kMayBeDeep = false;
  int end(int k0, int k) const { return std::min(k0 + kDepth, k); }
};
struct GridBlocks {
  static constexpr bool kMayBeDeep = true;
  int used, width;
  int end(int k0, int k) const {
    const int64_t counted = int64_t(k0 / width) * used + std::min(k0 % width, used) + kDepth;
    const int64_t wide = counted / used * width + counted % used;
    return int(std::min<int64_t>(wide, k));
  }
};

// panel [kc, L] = columns 0 .. cols-1 of B [kc, cols], then zeros.
template <int L, class BRows>
void pack_columns(int cols, int kc, BRows b, float* panel) {
  for (int p = 0; p < kc; ++p)
    for (int q = 0; q < L; ++q) panel[p * L + q] = q < cols ? b.row(p)[q] : 0.f;
}

// C (+)= A * B, B [k, n] read in place: column block by column block, k in blocks (Blocks),
// except the last n % L columns, packed.
template <int L, class BRows, class Blocks = PlainBlocks>
void product(int m, int n, int k, ARows a, BRows b, float* c, int64_t ldc, bool accumulate,
             Blocks blocks = {}) {
  float panel[kDepth * L];
  for (int j = 0; j < n;) {
    const int w = block_width<L>(n - j);  // 0: the last n % L columns
    for (int k0 = 0; k0 < k;) {
      const int k1 = blocks.end(k0, k);
      const ARows a_k = a.cols_from(k0);
      const bool sum_into_c = accumulate || k0 > 0;
      if (w > 0) {
        column_block<L, false>(w, m, k1 - k0, a_k, b.from(k0, j), c + j, ldc, sum_into_c);
      } else if (!Blocks::kMayBeDeep || k1 - k0 <= kDepth) {
        pack_columns<L>(n - j, k1 - k0, b.from(k0, j), panel);
        narrow_block<L, false>(n - j, m, k1 - k0, a_k, DenseRows{panel, L}, c + j, ldc, sum_into_c);
      } else if constexpr (Blocks::kMayBeDeep) {  // a block over a grid, deeper than the panel
        float row[L] = {};
        narrow_block<L, false>(n - j, m, k1 - k0, a_k,
                               NarrowRows<L, BRows>{b.from(k0, j), n - j, row}, c + j, ldc,
                               sum_into_c);
      }
      k0 = k1;
    }
    j += w > 0 ? w : n - j;
  }
}

}  // namespace

}  // namespace lanes

namespace simd4 {

namespace {

using lanes::ARows;
using lanes::DenseRows;
using lanes::kDepth;

// panel [kc, w] = B [rows, kc]^T (B rows ldb apart), columns rows .. w-1 zero; w is a multiple
// of 4 and rows <= w. Whole groups of 4 rows are transposed 4x4 in registers.
void pack_transposed(int rows, int w, int kc, const float* b, int64_t ldb, float* panel) {
  int j = 0;
  for (; j + 4 <= rows; j += 4) {
    const float* r = b + j * ldb;
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
      f4 r0 = load(r + p), r1 = load(r + ldb + p), r2 = load(r + 2 * ldb + p),
         r3 = load(r + 3 * ldb + p);
      transpose(r0, r1, r2, r3);
      float* dst = panel + p * w + j;
      store(dst, r0), store(dst + w, r1), store(dst + 2 * w, r2), store(dst + 3 * w, r3);
    }
    for (; p < kc; ++p)
      for (int q = 0; q < 4; ++q) panel[p * w + j + q] = r[q * ldb + p];
  }
  for (; j < w; ++j)
    for (int p = 0; p < kc; ++p) panel[p * w + j] = j < rows ? b[j * ldb + p] : 0.f;
}

// C (+)= A [m, k] * B^T with B [n, k] rows ldb apart, C(i, j) where element<Transposed> says:
// column block by column block, k in blocks of kDepth, for each a panel of B^T packed.
template <bool Transposed>
void product_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
                float* c, int64_t ldc, bool accumulate) {
  float panel[kDepth * 16];
  for (int j = 0; j < n;) {
    const int cols = std::min(16, n - j), w = std::max(4, lanes::block_width<4>(cols));
    int k0 = 0;
    do {
      const int kc = std::min(kDepth, k - k0);
      pack_transposed(std::min(cols, w), w, kc, b + j * ldb + k0, ldb, panel);
      float* block = lanes::element<Transposed>(c, ldc, 0, j);
      const ARows a_k{a + k0, lda, 1, nullptr};
      if (cols >= 4)
        lanes::column_block<4, Transposed>(w, m, kc, a_k, DenseRows{panel, w}, block, ldc,
                                           accumulate || k0 > 0);
      else
        lanes::narrow_block<4, Transposed>(cols, m, kc, a_k, DenseRows{panel, 4}, block, ldc,
                                           accumulate || k0 > 0);
    } while ((k0 += kDepth) < k);
    j += std::min(cols, w);
  }
}

}  // namespace

void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nn", m, n, k, lda, k, ldb, n, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  lanes::product<4>(m, n, k, ARows{a, lda, 1, nullptr}, DenseRows{b, ldb}, c, ldc,
                    accumulate == Accumulate::Yes);
}

void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_tn", m, n, k, lda, m, ldb, n, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  lanes::product<4>(m, n, k, ARows{a, 1, lda, nullptr}, DenseRows{b, ldb}, c, ldc,
                    accumulate == Accumulate::Yes);
}

// Packing costs one pass over the packed operand, so the one with fewer rows is packed: B when
// n <= m, else A, computing C^T [n, m] = B * A^T into C's transpose. (A conv's weight gradient
// dy_n [Cout, P] * cols_n^T packs dy_n, 4.5x smaller than cols_n in conv2 of the reference CNN.)
void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nt", m, n, k, lda, k, ldb, k, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  if (n <= m)
    product_nt<false>(m, n, k, a, lda, b, ldb, c, ldc, accumulate == Accumulate::Yes);
  else
    product_nt<true>(n, m, k, b, ldb, a, lda, c, ldc, accumulate == Accumulate::Yes);
}

}  // namespace simd4

// The implicit-im2col products at L lanes (gemm.h).
template <int L>
void gemm_nx(int m, int n, int k, const float* a, int64_t lda, const float* x,
             const int64_t* offsets, float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nx", m, n, k, lda, k, n, n, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  lanes::product<L>(m, n, k, lanes::ARows{a, lda, 1, nullptr}, lanes::OffsetRows{x, offsets}, c,
                    ldc, accumulate == Accumulate::Yes);
}

template <int L>
void gemm_xn(int m, int n, int k, const float* x, const int64_t* offsets, const float* b,
             int64_t ldb, float* c, int64_t ldc, Accumulate accumulate, int k_used, int k_width) {
  check_args("gemm_xn", m, n, k, k, k, ldb, n, ldc);
  if (k_used < 1 || k_width < k_used)
    throw Error("gemm_xn: k counts " + std::to_string(k_used) + " of every " +
                std::to_string(k_width) + " columns, which is impossible (1 <= used <= width)");
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  lanes::product<L>(m, n, k, lanes::ARows{x, 0, 1, offsets}, lanes::DenseRows{b, ldb}, c, ldc,
                    accumulate == Accumulate::Yes, lanes::GridBlocks{k_used, k_width});
}

#define BNLAB_INSTANTIATE(L)                                                                   \
  template void gemm_nx<L>(int, int, int, const float*, int64_t, const float*, const int64_t*, \
                           float*, int64_t, Accumulate);                                       \
  template void gemm_xn<L>(int, int, int, const float*, const int64_t*, const float*, int64_t, \
                           float*, int64_t, Accumulate, int, int);
BNLAB_INSTANTIATE(4)
#ifndef __wasm__  // wasm uses 4 lanes only
BNLAB_INSTANTIATE(8)
#endif
#undef BNLAB_INSTANTIATE

#ifdef BNLAB_OWN_GEMM

void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  simd4::gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  simd4::gemm_nt(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  simd4::gemm_tn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

#else

namespace {

using Stride = Eigen::OuterStride<>;
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using In = Eigen::Map<const RowMajor, 0, Stride>;
using Out = Eigen::Map<RowMajor, 0, Stride>;

template <class Product>
void assign(Out c, const Product& product, Accumulate accumulate) {
  if (accumulate == Accumulate::Yes)
    c.noalias() += product;
  else
    c.noalias() = product;
}

}  // namespace

void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nn", m, n, k, lda, k, ldb, n, ldc);
  assign(Out(c, m, n, Stride(ldc)), In(a, m, k, Stride(lda)) * In(b, k, n, Stride(ldb)),
         accumulate);
}
void gemm_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nt", m, n, k, lda, k, ldb, k, ldc);
  assign(Out(c, m, n, Stride(ldc)), In(a, m, k, Stride(lda)) * In(b, n, k, Stride(ldb)).transpose(),
         accumulate);
}
void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_tn", m, n, k, lda, m, ldb, n, ldc);
  assign(Out(c, m, n, Stride(ldc)), In(a, k, m, Stride(lda)).transpose() * In(b, k, n, Stride(ldb)),
         accumulate);
}

#endif

}  // namespace bnlab
