// What a GEMM can reach on this CPU, natively and in WebAssembly: the arithmetic ceiling of the
// build's vectors (independent chains of vector multiply-adds, nothing loaded or stored), the
// eight products of one reference training step (core/NUMERICS.md 7) through core/kernels/gemm.h
// as the layers called them over im2col columns (Eigen natively, BN Lab's simd4 kernels in wasm),
// and the products the stride-1 convs call natively now, reading the padded input in place
// (gemm_nx, gemm_xn at the build's kLanes: 8 with AVX2 + FMA; 4 in wasm, which keeps im2col). The reasoning these
// figures feed is in wasm/README.md, "Speed".
//
// Natively it is built with the project (CMake target gemm_ceiling, build/native/gemm_ceiling:
// -march=native like the core), and CTest runs `gemm_ceiling --check` (each product once against
// the definition in double; no timing) so that it cannot rot. For figures:
//
//   build/native/gemm_ceiling                     (the build's -march=native)
//   g++ -O3 -march=haswell -std=gnu++17 -Icore -isystem /usr/include/eigen3
//       -DEIGEN_DONT_PARALLELIZE tests/bench/gemm_ceiling.cpp core/kernels/gemm.cpp
//       -o build/gemm_ceiling_haswell
//   NODE_PATH=/usr/share/nodejs em++ -O3 -msimd128 -std=gnu++17 -Icore -DBNLAB_OWN_GEMM
//       -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0
//       tests/bench/gemm_ceiling.cpp core/kernels/gemm.cpp -o build/gemm_ceiling.cjs
//   build/gemm_ceiling_haswell;  node --no-liftoff build/gemm_ceiling.cjs
//
// (--no-liftoff: V8 does not replace a running function, so code that a loop in main calls early
// may still be its baseline tier; this way every function is optimized from the start.)
// Times are wall clock, best of many repeats, so that a busy neighbour shows as noise above the
// best, not in it. GFLOP/s count the useful flops (a conv's 2 Cout K Ho Wo per sample), also for
// the products over the padded width, which compute Wp - Wo more columns per output row.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/gemm.h"

using namespace bnlab;

namespace {

#if defined(__AVX__)
constexpr int kCeilingLanes = 8;  // one AVX register of floats (the ceiling's)
#else
constexpr int kCeilingLanes = 4;  // SSE / wasm SIMD f32x4
#endif
using vec = float __attribute__((vector_size(4 * kCeilingLanes)));

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The arithmetic ceiling: Chains independent chains acc = acc * m + c, each a multiply and an
// add (2 flops per lane), fused into one FMA where the build has FMA (-march=haswell: GCC
// contracts them), two dependent instructions in wasm, which has no FMA. The best of several
// chain counts is the ceiling (enough chains to cover the latency, few enough for the registers).
volatile float g_multiplier = 0.999999f, g_result = 0.f;
template <int Chains>
__attribute__((noinline)) float ceiling_loop(int64_t iterations, float m, float c) {
  vec acc[Chains];
  for (int j = 0; j < Chains; ++j) acc[j] = vec{} + float(j);
  const vec mv = vec{} + m, cv = vec{} + c;
  for (int64_t i = 0; i < iterations; ++i)
    for (int j = 0; j < Chains; ++j) acc[j] = acc[j] * mv + cv;
  vec s = {};
  for (int j = 0; j < Chains; ++j) s += acc[j];
  float total = 0.f;
  for (int l = 0; l < kCeilingLanes; ++l) total += s[l];
  return total;
}

// GFLOP/s of ceiling_loop<Chains>, best of 15 (arguments read from a volatile and the result
// stored to one inside the timed region: the compiler may neither hoist the call, which has no
// side effects, nor drop it).
template <int Chains>
double ceiling() {
  const int64_t iterations = 24000000 / Chains;
  double best = 1e30;
  for (int r = 0; r < 15; ++r) {
    const float m = g_multiplier;
    const double t0 = now();
    g_result = ceiling_loop<Chains>(iterations, m, 1e-7f);
    best = std::min(best, now() - t0);
  }
  const double gflops = double(iterations) * Chains * kCeilingLanes * 2 / best / 1e9;
  std::printf("  %2d chains of multiply-add on %d lanes: %.1f GFLOP/s\n", Chains, kCeilingLanes,
              gflops);
  return gflops;
}

struct Product {
  const char* name;
  char form;  // 'n' nn, 't' nt, 'a' tn (the build's gemm_*); 'x' nx, 'y' xn (at kLanes)
  int m, n, k, times;
  int image = 0;  // x, y: the side of the image read in place (3x3, padding 1); its channels k/9
                  // (x) or m/9 (y)
};

// The products of one step of ref-cnn at batch 32: first as conv2d.cpp called them over im2col
// columns (and linear.cpp, whose products are unchanged), then the stride-1 conv products as
// conv2d.cpp calls them natively now, over the padded width (conv1: 28x28 -> span 838 of 30-wide
// rows; conv2: 14x14 -> span 222 of 16-wide rows; its input gradient over dy padded by 1, 16
// channels of 16x16, into dx's 8 channels).
const Product kProducts[] = {
    {"conv1 forward, nn 8x784x9, x32", 'n', 8, 784, 9, 32},
    {"conv1 weight grad, nt 8x9x784, x32", 't', 8, 9, 784, 32},
    {"conv2 forward, nn 16x196x72, x32", 'n', 16, 196, 72, 32},
    {"conv2 weight grad, nt 16x72x196, x32", 't', 16, 72, 196, 32},
    {"conv2 input grad, tn 72x196x16, x32", 'a', 72, 196, 16, 32},
    {"fc1 forward, nt 32x64x784", 't', 32, 64, 784, 1},
    {"fc1 weight grad, tn 64x784x32", 'a', 64, 784, 32, 1},
    {"fc1 input grad, nn 32x784x64", 'n', 32, 784, 64, 1},
    {"conv1 forward, nx 8x838x9, x32", 'x', 8, 838, 9, 32, 28},
    {"conv1 weight grad^T, xn 9x8x838, x32", 'y', 9, 8, 838, 32, 28},
    {"conv2 forward, nx 16x222x72, x32", 'x', 16, 222, 72, 32, 14},
    {"conv2 weight grad^T, xn 72x16x222, x32", 'y', 72, 16, 222, 32, 14},
    {"conv2 input grad, nx 8x222x144, x32", 'x', 8, 222, 144, 32, 14},
};

// One product's operands and how to run it: A, B dense or the padded input with row offsets.
struct Operands {
  Product p;
  std::vector<float> a, b, c, x;
  std::vector<int64_t> offsets;
  int64_t lda = 0, ldb = 0;
  int wp = 0;  // padded width (x, y, z)

  explicit Operands(const Product& q) : p(q) {
    if (p.form == 'x' || p.form == 'y') {
      // The padded input (Cin, H+2, W+2) with a zero border; offsets of rows (ci, kh, kw).
      const int kdim = p.form == 'x' ? p.k : p.m, cin = kdim / 9;
      wp = p.image + 2;
      x.assign(size_t(cin) * wp * wp, 0.f);
      for (int ci = 0; ci < cin; ++ci)
        for (int r = 1; r <= p.image; ++r)
          for (int q2 = 1; q2 <= p.image; ++q2)
            x[size_t((ci * wp + r) * wp + q2)] = float((ci * 7 + r * 3 + q2) % 11) * 0.01f - 0.05f;
      for (int ci = 0; ci < cin; ++ci)
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw) offsets.push_back(int64_t(ci) * wp * wp + kh * wp + kw);
    }
    const int a_rows = p.form == 'a' ? p.k : p.m;
    const int a_cols = p.form == 'a' ? p.m : p.k;
    const int b_rows = p.form == 't' ? p.n : p.k, b_cols = p.form == 't' ? p.k : p.n;
    lda = a_cols, ldb = b_cols;
    if (p.form != 'y') a.resize(size_t(a_rows) * a_cols);
    if (p.form != 'x') b.resize(size_t(b_rows) * b_cols);
    c.assign(size_t(p.m) * p.n, 0.f);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7) * 0.01f - 0.03f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) * 0.02f - 0.04f;
    if (p.form == 'y')  // dy^T [span, Cout] over the padded width: zero in the wasted columns
      for (int r = 0; r < b_rows; ++r)
        for (int q = 0; q < b_cols; ++q)
          if (r % wp >= p.image) b[size_t(r) * b_cols + q] = 0.f;
  }

  // A(i, p) and B(p, j) of the product's definition.
  double A(int i, int q) const {
    switch (p.form) {
      case 'a':
        return a[size_t(q) * lda + i];
      case 'y':
        return x[size_t(offsets[size_t(i)] + q)];
      default:
        return a[size_t(i) * lda + q];
    }
  }
  double B(int q, int j) const {
    switch (p.form) {
      case 't':
        return b[size_t(j) * ldb + q];
      case 'x':
        return x[size_t(offsets[size_t(q)] + j)];
      default:
        return b[size_t(q) * ldb + j];
    }
  }

  void run_once() {
    const Accumulate acc = p.form == 't' || p.form == 'y' ? Accumulate::Yes : Accumulate::No;
    switch (p.form) {
      case 'n':
        gemm_nn(p.m, p.n, p.k, a.data(), lda, b.data(), ldb, c.data(), p.n, acc);
        break;
      case 't':
        gemm_nt(p.m, p.n, p.k, a.data(), lda, b.data(), ldb, c.data(), p.n, acc);
        break;
      case 'a':
        gemm_tn(p.m, p.n, p.k, a.data(), lda, b.data(), ldb, c.data(), p.n, acc);
        break;
      case 'x':
        gemm_nx<kLanes>(p.m, p.n, p.k, a.data(), lda, x.data(), offsets.data(), c.data(), p.n, acc);
        break;
      default:
        gemm_xn<kLanes>(p.m, p.n, p.k, x.data(), offsets.data(), b.data(), ldb, c.data(), p.n, acc,
                        p.image, wp);
    }
  }
  void run() {
    for (int t = 0; t < p.times; ++t) run_once();
  }

  // The useful flops: over the padded width only Wo of every Wp columns (x: of n; y: of k)
  // count.
  double flop() const {
    double f = 2.0 * p.m * p.n * p.k * p.times;
    if (p.form == 'x' || p.form == 'y') {
      const int span = p.form == 'y' ? p.k : p.n;
      f *= double(p.image) * p.image / span;
    }
    return f;
  }
};

// --check: each product once from C = 0 (accumulating ones add to 0) against the definition in
// double, |C - exact| <= 1e-4 * sum |terms| + 1e-30; returns the number of products that differ.
int check() {
  int failed = 0;
  for (const Product& q : kProducts) {
    Operands o(q);
    o.run_once();
    double worst = 0;
    for (int i = 0; i < q.m; ++i)
      for (int j = 0; j < q.n; ++j) {
        double exact = 0, scale = 0;
        for (int t = 0; t < q.k; ++t) {
          exact += o.A(i, t) * o.B(t, j);
          scale += std::fabs(o.A(i, t) * o.B(t, j));
        }
        const double err = std::fabs(o.c[size_t(i) * q.n + j] - exact) / (scale + 1e-30);
        worst = std::isnan(err) ? INFINITY : std::max(worst, err);
      }
    const bool ok = worst <= 1e-4;
    failed += !ok;
    std::printf("%-44s largest relative error %.2g %s\n", q.name, worst, ok ? "ok" : "WRONG");
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--check") == 0) return check() == 0 ? 0 : 1;
  if (argc > 1) {
    std::fprintf(stderr, "usage: gemm_ceiling [--check]\n");
    return 2;
  }
  std::printf("build: %d-float vectors, %s; conv products at %d lanes\n", kCeilingLanes,
#if defined(__FMA__)
              "FMA",
#else
              "no FMA",
#endif
              kLanes);
  const double ceiling = std::max({::ceiling<4>(), ::ceiling<6>(), ::ceiling<8>(), ::ceiling<10>(),
                                   ::ceiling<12>(), ::ceiling<14>()});
  std::printf("ceiling: %.1f GFLOP/s\n", ceiling);
  float sink = 0.f;

  // Totals: the step's products over im2col columns (as before), and now (the stride-1 conv
  // products over the padded width, fc1's unchanged).
  double old_ms = 0, old_flop = 0, new_ms = 0, new_flop = 0;
  for (const Product& q : kProducts) {
    Operands o(q);
    double t = 1e30;
    for (int r = 0; r < 40; ++r) {
      const double t0 = now();
      o.run();
      t = std::min(t, now() - t0);
    }
    sink += o.c[0];
    const double flop = o.flop();
    const bool implicit = q.form == 'x' || q.form == 'y';
    const bool fc = std::strncmp(q.name, "fc", 2) == 0;
    if (!implicit) old_ms += t * 1e3, old_flop += flop;
    if (implicit || fc) new_ms += t * 1e3, new_flop += flop;
    std::printf("%-44s %7.4f ms  %6.1f GFLOP/s  %5.1f%% of the ceiling\n", q.name, t * 1e3,
                flop / t / 1e9, 100 * flop / t / 1e9 / ceiling);
  }
  for (auto [name, ms, flop] :
       {std::tuple{"all GEMMs of a step, over im2col", old_ms, old_flop},
        std::tuple{"all GEMMs of a step, stride 1 in place", new_ms, new_flop}})
    std::printf("%-44s %7.4f ms  %6.1f GFLOP/s  %5.1f%% of the ceiling   (%.2f MFLOP)\n", name, ms,
                flop / ms / 1e6, 100 * flop / ms / 1e6 / ceiling, flop / 1e6);
  std::printf("(sink %g)\n", double(sink));
  return 0;
}
