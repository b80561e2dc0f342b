#include "kernels/gemm.h"

#include <algorithm>
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

}  // namespace

namespace simd4 {

namespace {

// Where the kernels find C(i, j): c[i * ldc + j], or with Transposed c[j * ldc + i] (gemm_nt
// computing C^T into C, below).
template <bool Transposed>
float* element(float* c, int64_t ldc, int i, int j) {
  return Transposed ? c + j * ldc + i : c + i * ldc + j;
}

// A tile's C in registers: t[i][v] = C(i, 4v .. 4v+3). Transposed, these are columns of C; a
// tile of 4 or 8 rows moves them as rows of C in 4x4 blocks transposed in registers, one row
// reads them value by value.
template <int R, int V, bool Transposed>
void load_tile(f4 (&t)[R][V], const float* c, int64_t ldc) {
  for (int v = 0; v < V; ++v)
    if constexpr (!Transposed) {
      for (int i = 0; i < R; ++i) t[i][v] = load(c + i * ldc + 4 * v);
    } else if constexpr (R % 4 == 0) {
      for (int i = 0; i < R; i += 4) {
        const float* block = c + 4 * v * ldc + i;
        f4& r0 = t[i][v];
        f4& r1 = t[i + 1][v];
        f4& r2 = t[i + 2][v];
        f4& r3 = t[i + 3][v];
        r0 = load(block), r1 = load(block + ldc), r2 = load(block + 2 * ldc);
        r3 = load(block + 3 * ldc);
        transpose(r0, r1, r2, r3);
      }
    } else {
      static_assert(R == 1);
      const float* col = c + 4 * v * ldc;
      t[0][v] = f4{col[0], col[ldc], col[2 * ldc], col[3 * ldc]};
    }
}
template <int R, int V, bool Transposed>
void store_tile(f4 (&t)[R][V], float* c, int64_t ldc) {
  for (int v = 0; v < V; ++v)
    if constexpr (!Transposed) {
      for (int i = 0; i < R; ++i) store(c + i * ldc + 4 * v, t[i][v]);
    } else if constexpr (R % 4 == 0) {
      for (int i = 0; i < R; i += 4) {
        f4 r0 = t[i][v], r1 = t[i + 1][v], r2 = t[i + 2][v], r3 = t[i + 3][v];
        transpose(r0, r1, r2, r3);
        float* block = c + 4 * v * ldc + i;
        store(block, r0), store(block + ldc, r1), store(block + 2 * ldc, r2);
        store(block + 3 * ldc, r3);
      }
    } else {
      static_assert(R == 1);
      for (int q = 0; q < 4; ++q) c[(4 * v + q) * ldc] = t[0][v][q];
    }
}

// The micro-kernel: C [R, 4V] (+)= A [R, k] * B [k, 4V] with A(i, p) = a[i * a_row + p * a_col]
// (a_row, a_col = lda, 1 for A, 1, lda for A^T) and B rows ldb apart. The sum starts from 0 and
// is added to C at the end.
template <int R, int V, bool Transposed>
void tile(int k, const float* a, int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
          float* c, int64_t ldc, bool accumulate) {
  f4 sum[R][V] = {};
  for (int p = 0; p < k; ++p, a += a_col, b += ldb) {
    f4 row[V];
    for (int v = 0; v < V; ++v) row[v] = load(b + 4 * v);
    for (int i = 0; i < R; ++i) {
      const f4 ai = broadcast(a[i * a_row]);
      for (int v = 0; v < V; ++v) sum[i][v] += ai * row[v];
    }
  }
  if (accumulate) {
    f4 prior[R][V];
    load_tile<R, V, Transposed>(prior, c, ldc);
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < V; ++v) sum[i][v] += prior[i][v];
  }
  store_tile<R, V, Transposed>(sum, c, ldc);
}

// Columns 0 .. 4V-1 of C for all m rows: tiles of 8/V rows, then the rows left one at a time.
template <int V, bool Transposed>
void column_block(int m, int k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                  int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  constexpr int R = 8 / V;
  int i = 0;
  for (; i + R <= m; i += R)
    tile<R, V, Transposed>(k, a + i * a_row, a_row, a_col, b, ldb,
                           element<Transposed>(c, ldc, i, 0), ldc, accumulate);
  for (; i < m; ++i)
    tile<1, V, Transposed>(k, a + i * a_row, a_row, a_col, b, ldb,
                           element<Transposed>(c, ldc, i, 0), ldc, accumulate);
}

// Columns 0 .. w-1 of C (w = 16, 8 or 4) for all m rows. Transposed, 16 columns are done as two
// blocks of 8, whose 4-row tiles move C in 4x4 blocks.
template <bool Transposed>
void column_block(int w, int m, int k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                  int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (w == 16) {
    if constexpr (Transposed) {
      column_block<2, true>(m, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
      column_block<2, true>(m, k, a, a_row, a_col, b + 8, ldb, c + 8 * ldc, ldc, accumulate);
    } else {
      column_block<4, false>(m, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
    }
  } else if (w == 8) {
    column_block<2, Transposed>(m, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
  } else {
    column_block<1, Transposed>(m, k, a, a_row, a_col, b, ldb, c, ldc, accumulate);
  }
}

// The widest column block that fits in n columns: 16, 8, 4, or 0 for fewer than 4.
int block_width(int n) { return n >= 16 ? 16 : n >= 8 ? 8 : n >= 4 ? 4 : 0; }

// The last cols < 4 columns of C for all m rows, from a panel [k, 4] whose columns cols .. 3 are
// zero: 8 rows at a time through a buffer, since C has no room for a 4-wide store there.
template <bool Transposed>
void narrow_block(int cols, int m, int k, const float* a, int64_t a_row, int64_t a_col,
                  const float* panel, float* c, int64_t ldc, bool accumulate) {
  for (int i = 0; i < m; i += 8) {
    const int rows = std::min(8, m - i);
    float t[8 * 4] = {};
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols && accumulate; ++q)
        t[r * 4 + q] = *element<Transposed>(c, ldc, i + r, q);
    if (rows == 8)
      tile<8, 1, false>(k, a + i * a_row, a_row, a_col, panel, 4, t, 4, accumulate);
    else
      for (int r = 0; r < rows; ++r)
        tile<1, 1, false>(k, a + (i + r) * a_row, a_row, a_col, panel, 4, t + r * 4, 4, accumulate);
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols; ++q) *element<Transposed>(c, ldc, i + r, q) = t[r * 4 + q];
  }
}

// k per block: each element of C gets the sum over at most kDepth k at a time (in order of k,
// from 0), added to C. Also the depth of the packed panels: at most 16 x 256 floats, 16 KB.
constexpr int kDepth = 256;

// panel [kc, 4] = columns 0 .. cols-1 of B [kc, cols] (rows ldb apart), then zeros.
void pack_columns(int cols, int kc, const float* b, int64_t ldb, float* panel) {
  for (int p = 0; p < kc; ++p)
    for (int q = 0; q < 4; ++q) panel[p * 4 + q] = q < cols ? b[p * ldb + q] : 0.f;
}

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

// C (+)= A * B with A(i, p) = a[i * a_row + p * a_col] and B [k, n] rows ldb apart (nn, tn):
// column block by column block, k in blocks of kDepth; B is read in place, except for the last
// n % 4 columns.
void product(int m, int n, int k, const float* a, int64_t a_row, int64_t a_col, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  float panel[kDepth * 4];
  for (int j = 0; j < n;) {
    const int w = block_width(n - j);  // 0: the last n % 4 columns
    int k0 = 0;
    do {
      const int kc = std::min(kDepth, k - k0);
      const float* a_k = a + k0 * a_col;
      const bool sum_into_c = accumulate || k0 > 0;
      if (w > 0) {
        column_block<false>(w, m, kc, a_k, a_row, a_col, b + k0 * ldb + j, ldb, c + j, ldc,
                            sum_into_c);
      } else {
        pack_columns(n - j, kc, b + k0 * ldb + j, ldb, panel);
        narrow_block<false>(n - j, m, kc, a_k, a_row, a_col, panel, c + j, ldc, sum_into_c);
      }
    } while ((k0 += kDepth) < k);
    j += w > 0 ? w : n - j;
  }
}

// C (+)= A [m, k] * B^T with B [n, k] rows ldb apart, C(i, j) where element<Transposed> says:
// column block by column block, k in blocks of kDepth, for each a panel of B^T packed.
template <bool Transposed>
void product_nt(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
                float* c, int64_t ldc, bool accumulate) {
  float panel[kDepth * 16];
  for (int j = 0; j < n;) {
    const int cols = std::min(16, n - j), w = std::max(4, block_width(cols));
    int k0 = 0;
    do {
      const int kc = std::min(kDepth, k - k0);
      pack_transposed(std::min(cols, w), w, kc, b + j * ldb + k0, ldb, panel);
      float* block = element<Transposed>(c, ldc, 0, j);
      if (cols >= 4)
        column_block<Transposed>(w, m, kc, a + k0, lda, 1, panel, w, block, ldc,
                                 accumulate || k0 > 0);
      else
        narrow_block<Transposed>(cols, m, kc, a + k0, lda, 1, panel, block, ldc,
                                 accumulate || k0 > 0);
    } while ((k0 += kDepth) < k);
    j += std::min(cols, w);
  }
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

void gemm_nn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_nn", m, n, k, lda, k, ldb, n, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  product(m, n, k, a, lda, 1, b, ldb, c, ldc, accumulate == Accumulate::Yes);
}

void gemm_tn(int m, int n, int k, const float* a, int64_t lda, const float* b, int64_t ldb,
             float* c, int64_t ldc, Accumulate accumulate) {
  check_args("gemm_tn", m, n, k, lda, m, ldb, n, ldc);
  if (empty_product(m, n, k, c, ldc, accumulate)) return;
  product(m, n, k, a, 1, lda, b, ldb, c, ldc, accumulate == Accumulate::Yes);
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
