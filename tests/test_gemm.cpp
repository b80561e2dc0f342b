#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "kernels/gemm.h"
#include "kernels/simd4.h"

using namespace bnlab;

namespace {

// The three forms of core/kernels/gemm.h: which operand is stored transposed.
enum class Form { NN, NT, TN };

using Gemm = void (*)(int, int, int, const float*, int64_t, const float*, int64_t, float*, int64_t,
                      Accumulate);

struct Impl {
  const char* name;
  Gemm nn, nt, tn;
};

const Impl kSimd4{"simd4", simd4::gemm_nn, simd4::gemm_nt, simd4::gemm_tn};
const Impl kBuild{"build", gemm_nn, gemm_nt, gemm_tn};

const char* form_name(Form f) { return f == Form::NN ? "nn" : f == Form::NT ? "nt" : "tn"; }
Gemm gemm_of(const Impl& impl, Form f) {
  return f == Form::NN ? impl.nn : f == Form::NT ? impl.nt : impl.tn;
}

// A [m, k] and B [k, n] stored as the form says, rows padded so that each ld exceeds its row
// length (a kernel that confuses rows and strides reads the padding, which holds NaN).
struct Operands {
  int m, n, k;
  Form form;
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c;

  Operands(Form f, int m_, int n_, int k_, uint32_t seed) : m(m_), n(n_), k(k_), form(f) {
    const int a_rows = f == Form::TN ? k : m, a_cols = f == Form::TN ? m : k;
    const int b_rows = f == Form::NT ? n : k, b_cols = f == Form::NT ? k : n;
    lda = a_cols + 3, ldb = b_cols + 2, ldc = n + 1;
    a.assign(size_t(a_rows * lda), NAN);
    b.assign(size_t(b_rows * ldb), NAN);
    c.assign(size_t(m * ldc), 777.f);  // the padding column of C must keep this value
    Rng rng(seed);
    for (int r = 0; r < a_rows; ++r)
      for (int q = 0; q < a_cols; ++q) a[r * lda + q] = float(rng.normal());
    for (int r = 0; r < b_rows; ++r)
      for (int q = 0; q < b_cols; ++q) b[r * ldb + q] = float(rng.normal());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[i * ldc + j] = float(rng.normal());
  }
  double A(int i, int p) const { return form == Form::TN ? a[p * lda + i] : a[i * lda + p]; }
  double B(int p, int j) const { return form == Form::NT ? b[j * ldb + p] : b[p * ldb + j]; }
};

// Runs one product and compares every element of C with the definition computed in double:
// |C - exact| <= 1e-5 * (|C0| + sum_p |A(i, p) B(p, j)|), the scale of its rounding errors.
// Also checks that the padding of C is untouched.
void check_product(const Impl& impl, Form form, int m, int n, int k, Accumulate acc,
                   uint32_t seed) {
  Operands o(form, m, n, k, seed);
  const std::vector<float> c0 = o.c;
  gemm_of(impl, form)(m, n, k, o.a.data(), o.lda, o.b.data(), o.ldb, o.c.data(), o.ldc, acc);
  double worst = 0.0;
  bool padding_kept = true;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double exact = acc == Accumulate::Yes ? c0[i * o.ldc + j] : 0.0;
      double scale = std::fabs(exact);
      for (int p = 0; p < k; ++p) {
        exact += o.A(i, p) * o.B(p, j);
        scale += std::fabs(o.A(i, p) * o.B(p, j));
      }
      const double err = std::fabs(o.c[i * o.ldc + j] - exact) / (scale + 1e-30);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
    }
    padding_kept = padding_kept && o.c[i * o.ldc + n] == 777.f;
  }
  std::ostringstream what;
  what << impl.name << " gemm_" << form_name(form) << " M " << m << " N " << n << " K " << k
       << (acc == Accumulate::Yes ? " +=" : " =") << ": largest relative error " << worst;
  CHECK_MESSAGE(worst <= 1e-5, what.str());
  CHECK_MESSAGE(padding_kept, what.str() << ", padding of C overwritten");
}

// Sizes around the kernels' blocks: tiles of 2, 4, 8 rows and 16, 8, 4 columns, fewer than 4
// trailing columns, and k across the 256-deep packed panels of gemm_nt (and k = 0).
const int kRows[] = {1, 2, 3, 7, 8, 9, 17};
const int kCols[] = {1, 2, 3, 4, 5, 8, 12, 16, 19, 36};
const int kDepths[] = {0, 1, 4, 7, 256, 300};

void check_all_sizes(const Impl& impl) {
  uint32_t seed = 1;
  for (Form form : {Form::NN, Form::NT, Form::TN})
    for (int m : kRows)
      for (int n : kCols)
        for (int k : kDepths)
          for (Accumulate acc : {Accumulate::No, Accumulate::Yes})
            check_product(impl, form, m, n, k, acc, seed++);
}

}  // namespace

TEST_CASE("gemm.simd4 matches the definition for every form, edge size and accumulate mode") {
  check_all_sizes(kSimd4);
}

TEST_CASE("gemm of the build (Eigen natively) matches the definition") { check_all_sizes(kBuild); }

TEST_CASE("gemm.simd4 sums 256 k at a time from 0, in order of k, and adds each sum to C") {
  // B is all ones, so the products are exact and only the order of the additions matters. A's
  // rows are 2^24, 300 ones, -2^24 (k = 302). In float, 2^24 + 1 rounds back to 2^24 (ties to
  // even), so the first block (k 0 .. 255) sums to 2^24 and the second (45 ones, then -2^24) to
  // 45 - 2^24. Then C = (C0 + 2^24) + (45 - 2^24): 45 for C0 = 0 (Accumulate::No), 49 for
  // C0 = 4 (4 + 2^24 is exact). The exact result would be 300 or 304, a running sum started from
  // C0 gives C0 (every one lost). 9 x 19 and 19 x 9 reach every tile and the narrow columns, and
  // gemm_nt's packing of B (m >= n) and of A (m < n).
  const int k = 302;
  const float big = 16777216.f;  // 2^24
  for (const auto& size : {std::pair{9, 19}, std::pair{19, 9}}) {
    // Plain ints, not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
    const int m = size.first, n = size.second;
    for (Form form : {Form::NN, Form::NT, Form::TN})
      for (Accumulate acc : {Accumulate::No, Accumulate::Yes}) {
        CAPTURE(m);
        CAPTURE(form_name(form));
        Operands o(form, m, n, k, 1);
        for (int i = 0; i < m; ++i)
          for (int p = 0; p < k; ++p) {
            const float v = p == 0 ? big : p == k - 1 ? -big : 1.f;
            (form == Form::TN ? o.a[p * o.lda + i] : o.a[i * o.lda + p]) = v;
          }
        for (int p = 0; p < k; ++p)
          for (int j = 0; j < n; ++j)
            (form == Form::NT ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]) = 1.f;
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) o.c[i * o.ldc + j] = 4.f;
        gemm_of(kSimd4, form)(m, n, k, o.a.data(), o.lda, o.b.data(), o.ldb, o.c.data(), o.ldc,
                              acc);
        const float expected = acc == Accumulate::Yes ? 49.f : 45.f;
        int wrong = 0;
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) wrong += o.c[i * o.ldc + j] != expected;
        CHECK(wrong == 0);
      }
  }
}

TEST_CASE("gemm rejects negative sizes and row strides shorter than a row with bnlab::Error") {
  std::vector<float> a(64), b(64), c(64);
  for (const Impl* impl : {&kSimd4, &kBuild}) {
    CAPTURE(impl->name);
    CHECK_THROWS_AS(impl->nn(-1, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2, Accumulate::No),
                    Error);
    CHECK_THROWS_AS(impl->nn(2, 2, 3, a.data(), 2, b.data(), 2, c.data(), 2, Accumulate::No),
                    Error);
    CHECK_THROWS_AS(impl->nt(2, 3, 2, a.data(), 2, b.data(), 2, c.data(), 2, Accumulate::No),
                    Error);
    CHECK_THROWS_AS(impl->tn(3, 2, 2, a.data(), 2, b.data(), 2, c.data(), 2, Accumulate::No),
                    Error);
    CHECK_THROWS_WITH(impl->nt(2, 2, 4, a.data(), 4, b.data(), 3, c.data(), 2, Accumulate::Yes),
                      doctest::Contains("gemm_nt"));
  }
}

TEST_CASE("gemm.simd4 all_finite is false exactly when some value is infinite or NaN, wherever it is") {
  const float kBad[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN()};
  for (int n = 0; n <= 40; ++n) {
    // Finite values of every size, the largest included (v - v is 0 for them, not an overflow).
    std::vector<float> v(size_t(n) + 1, 0.f);
    for (int i = 0; i < n; ++i) v[size_t(i)] = (i % 3 == 0) ? std::numeric_limits<float>::max() : -1.5f * float(i);
    v[size_t(n)] = kBad[0];  // just past the end: must not be read
    CHECK(simd4::all_finite(v.data(), n));
    for (int at = 0; at < n; ++at)  // a bad value in the vector body or in the tail
      for (float bad : kBad) {
        const float keep = v[size_t(at)];
        v[size_t(at)] = bad;
        CHECK_MESSAGE(!simd4::all_finite(v.data(), n), "n " << n << ", at " << at << ", " << bad);
        v[size_t(at)] = keep;
      }
  }
}

namespace {

// simd4::lane_sums' definition, one value at a time: eight partial sums in double, term i in sum
// i % 8 and the last n % 8 terms in sum 0, then ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
double lane_sum_definition(const float* p, int64_t n) {
  double s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += double(p[i + k]);
  for (; i < n; ++i) s[0] += double(p[i]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <int P>
void check_lane_sums(const std::vector<float>& v, int64_t n) {
  // Row j starts j * (n + 3) floats in (rows apart and not vector-aligned to each other).
  double out[P];
  const int64_t stride = n + 3;
  simd4::lane_sums<P>(
      n, [&](int j, int64_t i) { return simd4::load(v.data() + j * stride + i); },
      [&](int j, int64_t i) { return v[size_t(j * stride + i)]; }, out);
  for (int j = 0; j < P; ++j) {
    const double want = lane_sum_definition(v.data() + j * stride, n);
    // Bit for bit: the order of the sums is the definition's, not merely close to it.
    CHECK_MESSAGE(std::memcmp(&out[j], &want, sizeof want) == 0,
                  "P " << P << ", row " << j << ", n " << n << ": " << out[j] << " vs " << want);
  }
}

}  // namespace

TEST_CASE("gemm.simd4 lane_sums sums each row in its fixed order, to the bit, for any n, P") {
  // Values of either sign and magnitudes 1 to 2^40: their sums need more than a double's 53 bits,
  // so they round, and no few terms dominate, so another order of the additions gives other bits
  // (checked below: the plain sequential sum differs from the definition somewhere; floats
  // within a few decades of each other would sum exactly in double, whatever the order).
  Rng rng(7);
  std::vector<float> v(4 * 1100);
  for (float& x : v)
    x = float((rng.uniform() < 0.5 ? -1 : 1) * (1 + rng.uniform()) *
              std::exp2(std::floor(40 * rng.uniform())));
  bool order_matters = false;
  for (int64_t n :
       {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33, 49, 196, 784, 1093}) {
    check_lane_sums<1>(v, n);
    check_lane_sums<2>(v, n);
    check_lane_sums<3>(v, n);
    check_lane_sums<4>(v, n);
    double sequential = 0.0;
    for (int64_t i = 0; i < n; ++i) sequential += double(v[size_t(i)]);
    order_matters |= sequential != lane_sum_definition(v.data(), n);
  }
  CHECK(order_matters);
  // Terms computed from two rows (BatchNorm's g * xhat): the vector and one-value terms agree.
  const int64_t n = 61;
  double out[2];
  simd4::lane_sums<2>(
      n,
      [&](int j, int64_t i) {
        return simd4::load(v.data() + j * 100 + i) * simd4::load(v.data() + 2000 + j * 100 + i);
      },
      [&](int j, int64_t i) { return v[size_t(j * 100 + i)] * v[size_t(2000 + j * 100 + i)]; },
      out);
  for (int j = 0; j < 2; ++j) {
    std::vector<float> prod(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      prod[size_t(i)] = v[size_t(j * 100 + i)] * v[size_t(2000 + j * 100 + i)];
    CHECK(out[j] == lane_sum_definition(prod.data(), n));
  }
}

namespace {

// An implicit im2col matrix X [rows, cols]: row r at x[offsets[r]], rows 3 floats apart and so
// overlapping as a convolution's do (row r's column j is row r+1's column j-3), NaN after the
// last row's end (a kernel that reads past a row shows as NaN).
struct Implicit {
  std::vector<float> x;
  std::vector<int64_t> offsets;
  Implicit(int rows, int cols, uint32_t seed) {
    offsets.resize(size_t(rows));
    for (int r = 0; r < rows; ++r) offsets[size_t(r)] = 3 * r;
    const int64_t end = rows > 0 ? 3 * int64_t(rows - 1) + cols : 0;
    x.assign(size_t(end + 16), NAN);
    Rng rng(seed);
    for (int64_t i = 0; i < end; ++i) x[size_t(i)] = float(rng.normal());
  }
  double at(int r, int j) const { return x[size_t(offsets[size_t(r)] + j)]; }
};

// A dense matrix [rows, cols] with rows ld = cols + 2 apart, NaN in the padding.
struct Dense {
  int64_t ld;
  std::vector<float> v;
  Dense(int rows, int cols, uint32_t seed) : ld(cols + 2) {
    v.assign(size_t(rows * ld + 1), NAN);
    Rng rng(seed);
    for (int r = 0; r < rows; ++r)
      for (int q = 0; q < cols; ++q) v[size_t(r * ld + q)] = float(rng.normal());
  }
  double at(int r, int q) const { return v[size_t(r * ld + q)]; }
};

// C [m, n] with rows n + 1 apart: random values, 777 in the padding column.
std::vector<float> random_c(int m, int n, uint32_t seed) {
  std::vector<float> c(size_t(m * (n + 1)), 777.f);
  Rng rng(seed);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[size_t(i * (n + 1) + j)] = float(rng.normal());
  return c;
}

// Compares C after a product with the definition in double, as check_product does;
// term(i, j, p) is the product's term p of C(i, j).
template <class Term>
void check_against_definition(const std::string& what, int m, int n, int k,
                              const std::vector<float>& c0, const std::vector<float>& c,
                              Accumulate acc, Term term) {
  double worst = 0.0;
  bool padding_kept = true;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double exact = acc == Accumulate::Yes ? c0[size_t(i * (n + 1) + j)] : 0.0;
      double scale = std::fabs(exact);
      for (int p = 0; p < k; ++p) {
        exact += term(i, j, p);
        scale += std::fabs(term(i, j, p));
      }
      const double err = std::fabs(c[size_t(i * (n + 1) + j)] - exact) / (scale + 1e-30);
      worst = std::isnan(err) ? INFINITY : std::max(worst, err);
    }
    padding_kept = padding_kept && c[size_t(i * (n + 1) + n)] == 777.f;
  }
  CHECK_MESSAGE(worst <= 1e-5, what << ": largest relative error " << worst);
  CHECK_MESSAGE(padding_kept, what << ": padding of C overwritten");
}

// Sizes around the 8-lane tiles as well: 12 accumulators in tiles of 3, 6, 12 rows and 32, 16, 8
// columns, the rows left in one tile, fewer than 8 (or 4) trailing columns.
const int kLaneRows[] = {1, 2, 3, 5, 7, 9, 13, 25};
const int kLaneCols[] = {1, 3, 4, 7, 8, 9, 17, 33, 45};
const int kLaneDepths[] = {0, 1, 9, 72, 300};

template <int L>
void check_lanes() {
  uint32_t seed = 100;
  for (int m : kLaneRows)
    for (int n : kLaneCols)
      for (int k : kLaneDepths)
        for (Accumulate acc : {Accumulate::No, Accumulate::Yes}) {
          const std::string size = std::to_string(L) + " lanes M " + std::to_string(m) + " N " +
                                   std::to_string(n) + " K " + std::to_string(k) +
                                   (acc == Accumulate::Yes ? " +=" : " =");
          {  // gemm_nx: C (+)= A [m, k] * X [k, n]
            const Dense a(m, k, seed++);
            const Implicit x(k, n, seed++);
            const std::vector<float> c0 = random_c(m, n, seed++);
            std::vector<float> c = c0;
            gemm_nx<L>(m, n, k, a.v.data(), a.ld, x.x.data(), x.offsets.data(), c.data(), n + 1,
                       acc);
            check_against_definition("gemm_nx " + size, m, n, k, c0, c, acc,
                                     [&](int i, int j, int p) { return a.at(i, p) * x.at(p, j); });
          }
          {  // gemm_xn: C (+)= X [m, k] * B [k, n]
            const Implicit x(m, k, seed++);
            const Dense b(k, n, seed++);
            const std::vector<float> c0 = random_c(m, n, seed++);
            std::vector<float> c = c0;
            gemm_xn<L>(m, n, k, x.x.data(), x.offsets.data(), b.v.data(), b.ld, c.data(), n + 1,
                       acc, 1, 1);
            check_against_definition("gemm_xn " + size, m, n, k, c0, c, acc,
                                     [&](int i, int j, int p) { return x.at(i, p) * b.at(p, j); });
          }
        }
}

// gemm_xn over a grid (k_used of every k_width columns counted, B zero in the others) against the
// compact matrix: the same bits. rows x used is the compact k.
template <int L>
void check_grid_blocks(int m, int n, int rows, int used, int width, Accumulate acc) {
  const int kc = rows * used, kw = (rows - 1) * width + used;
  Dense compact(m, kc, 7), bc(kc, n, 8);
  // The wide X: compact values in the counted columns, finite junk in the others.
  Dense wide(m, kw, 9);
  Dense bw(kw, n, 10);
  for (int i = 0; i < m; ++i)
    for (int q = 0; q < kc; ++q)
      wide.v[size_t(i * wide.ld + q / used * width + q % used)] =
          compact.v[size_t(i * compact.ld + q)];
  for (int q = 0; q < kw; ++q)
    for (int j = 0; j < n; ++j)
      bw.v[size_t(q * bw.ld + j)] =
          q % width < used ? bc.v[size_t((q / width * used + q % width) * bc.ld + j)] : 0.f;
  std::vector<int64_t> off_c(static_cast<size_t>(m)), off_w(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) off_c[size_t(i)] = i * compact.ld, off_w[size_t(i)] = i * wide.ld;
  std::vector<float> c_compact = random_c(m, n, 11), c_wide = c_compact;
  gemm_xn<L>(m, n, kc, compact.v.data(), off_c.data(), bc.v.data(), bc.ld, c_compact.data(), n + 1,
             acc, kc, kc);
  gemm_xn<L>(m, n, kw, wide.v.data(), off_w.data(), bw.v.data(), bw.ld, c_wide.data(), n + 1, acc,
             used, width);
  CHECK(std::memcmp(c_compact.data(), c_wide.data(), c_wide.size() * sizeof(float)) == 0);
  if (L == 4) {
    // ... and simd4's gemm_nt (the weight gradient over cols_n, as before stride 1 read xpad in
    // place): C = X * (B^T)^T, B^T stored [n, kc].
    std::vector<float> bt(size_t(n * kc));
    for (int q = 0; q < kc; ++q)
      for (int j = 0; j < n; ++j) bt[size_t(j * kc + q)] = bc.v[size_t(q * bc.ld + j)];
    std::vector<float> c_nt = random_c(m, n, 11);
    simd4::gemm_nt(m, n, kc, compact.v.data(), compact.ld, bt.data(), kc, c_nt.data(), n + 1, acc);
    CHECK(std::memcmp(c_nt.data(), c_wide.data(), c_wide.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE(
    "gemm implicit-im2col products (nx, xn) and tn_lanes match the definition at 4 and 8 lanes") {
  check_lanes<4>();
  check_lanes<8>();
}

TEST_CASE("gemm_xn over a grid of rows sums the compact matrix's blocks of 256, to the bit") {
  // conv1 of ref-cnn (28 of every 30 columns, k = 838 for 784), a grid whose blocks end inside a
  // row and at a row's end (used 16: 256 = 16 rows), one column per row.
  for (Accumulate acc : {Accumulate::No, Accumulate::Yes}) {
    for (auto grid : {std::tuple{28, 28, 30}, std::tuple{20, 16, 19}, std::tuple{300, 1, 3},
                      std::tuple{3, 5, 5}}) {
      // Plain variables: CAPTURE's lambda cannot capture structured bindings before C++20
      // (clang 14, the sanitizer build, refuses them).
      const int rows = std::get<0>(grid), used = std::get<1>(grid), width = std::get<2>(grid);
      CAPTURE(rows);
      CAPTURE(used);
      CAPTURE(width);
      check_grid_blocks<4>(9, 8, rows, used, width, acc);
      check_grid_blocks<4>(72, 16, rows, used, width, acc);
      check_grid_blocks<4>(9, 7, rows, used, width, acc);
      check_grid_blocks<8>(9, 8, rows, used, width, acc);
      check_grid_blocks<8>(13, 19, rows, used, width, acc);
    }
  }
}

TEST_CASE("gemm_nx at 4 lanes gives simd4's gemm_nn to the bit (wasm's conv forward unchanged)") {
  const Dense a(16, 72, 1), b(72, 222, 2);
  std::vector<int64_t> off(72);
  for (int p = 0; p < 72; ++p) off[size_t(p)] = p * b.ld;
  std::vector<float> c1 = random_c(16, 222, 3), c2 = c1;
  gemm_nx<4>(16, 222, 72, a.v.data(), a.ld, b.v.data(), off.data(), c1.data(), 223, Accumulate::No);
  simd4::gemm_nn(16, 222, 72, a.v.data(), a.ld, b.v.data(), b.ld, c2.data(), 223, Accumulate::No);
  CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
}

TEST_CASE("gemm_xn rejects a grid whose counted columns are impossible with bnlab::Error") {
  std::vector<float> x(64), b(64), c(64);
  std::vector<int64_t> off(4, 0);
  CHECK_THROWS_WITH(gemm_xn<kLanes>(2, 2, 4, x.data(), off.data(), b.data(), 2, c.data(), 2,
                                    Accumulate::No, 0, 3),
                    doctest::Contains("gemm_xn: k counts 0 of every 3 columns"));
  CHECK_THROWS_WITH(gemm_xn<kLanes>(2, 2, 4, x.data(), off.data(), b.data(), 2, c.data(), 2,
                                    Accumulate::No, 4, 3),
                    doctest::Contains("impossible"));
  CHECK_THROWS_AS(
      gemm_nx<kLanes>(2, 2, 4, x.data(), 3, x.data(), off.data(), c.data(), 2, Accumulate::No),
      Error);
}
