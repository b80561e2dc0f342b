// What a GEMM can reach on this CPU, natively and in WebAssembly: the arithmetic ceiling of the
// build's vectors (independent chains of vector multiply-adds, nothing loaded or stored) and the
// eight products of one reference training step (core/NUMERICS.md 7) through core/kernels/gemm.h,
// which is Eigen natively and BN Lab's simd4 kernels in wasm. The reasoning these figures feed is
// in wasm/README.md, "Speed" ("Why wasm stays near 0.6 of the AVX2 build"). Not part of the build:
//
//   g++ -O3 -march=haswell -std=gnu++17 -Icore -isystem /usr/include/eigen3 -DEIGEN_DONT_PARALLELIZE
//       tests/bench/gemm_ceiling.cpp core/kernels/gemm.cpp -o build/gemm_ceiling_haswell
//   NODE_PATH=/usr/share/nodejs em++ -O3 -msimd128 -std=gnu++17 -Icore -DBNLAB_OWN_GEMM
//       -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0
//       tests/bench/gemm_ceiling.cpp core/kernels/gemm.cpp
//       -o build/gemm_ceiling.cjs
//   build/gemm_ceiling_haswell;  node --no-liftoff build/gemm_ceiling.cjs
//
// (--no-liftoff: V8 does not replace a running function, so code that a loop in main calls early
// may still be its baseline tier; this way every function is optimized from the start.)
// Times are wall clock, best of many repeats, so that a busy neighbour shows as noise above the
// best, not in it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/gemm.h"

using namespace bnlab;

namespace {

#if defined(__AVX__)
constexpr int kLanes = 8;  // one AVX register of floats
#else
constexpr int kLanes = 4;  // SSE / wasm SIMD f32x4
#endif
using vec = float __attribute__((vector_size(4 * kLanes)));

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
  for (int l = 0; l < kLanes; ++l) total += s[l];
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
  const double gflops = double(iterations) * Chains * kLanes * 2 / best / 1e9;
  std::printf("  %2d chains of multiply-add on %d lanes: %.1f GFLOP/s\n", Chains, kLanes, gflops);
  return gflops;
}

struct Product {
  const char* name;
  char form;  // 'n' nn, 't' nt, 'a' tn
  int m, n, k, times;
};

// The products of one step of ref-cnn at batch 32, as conv2d.cpp and linear.cpp call them.
const Product kProducts[] = {
    {"conv1 forward, nn 8x784x9, x32", 'n', 8, 784, 9, 32},
    {"conv1 weight grad, nt 8x9x784, x32", 't', 8, 9, 784, 32},
    {"conv2 forward, nn 16x196x72, x32", 'n', 16, 196, 72, 32},
    {"conv2 weight grad, nt 16x72x196, x32", 't', 16, 72, 196, 32},
    {"conv2 input grad, tn 72x196x16, x32", 'a', 72, 196, 16, 32},
    {"fc1 forward, nt 32x64x784", 't', 32, 64, 784, 1},
    {"fc1 weight grad, tn 64x784x32", 'a', 64, 784, 32, 1},
    {"fc1 input grad, nn 32x784x64", 'n', 32, 784, 64, 1},
};

void run_product(const Product& p, std::vector<float>& a, std::vector<float>& b,
                 std::vector<float>& c) {
  for (int t = 0; t < p.times; ++t) switch (p.form) {
      case 'n':  // A [m, k], B [k, n]
        gemm_nn(p.m, p.n, p.k, a.data(), p.k, b.data(), p.n, c.data(), p.n, Accumulate::No);
        break;
      case 't':  // A [m, k], B stored [n, k]; the weight gradients accumulate
        gemm_nt(p.m, p.n, p.k, a.data(), p.k, b.data(), p.k, c.data(), p.n, Accumulate::Yes);
        break;
      default:  // A stored [k, m], B [k, n]
        gemm_tn(p.m, p.n, p.k, a.data(), p.m, b.data(), p.n, c.data(), p.n, Accumulate::No);
    }
}

}  // namespace

int main() {
  std::printf("build: %d-float vectors, %s\n", kLanes,
#if defined(__FMA__)
              "FMA"
#else
              "no FMA"
#endif
  );
  const double ceiling = std::max({::ceiling<4>(), ::ceiling<6>(), ::ceiling<8>(), ::ceiling<10>(),
                                    ::ceiling<12>(), ::ceiling<14>()});
  std::printf("ceiling: %.1f GFLOP/s\n", ceiling);
  float sink = 0.f;

  double total_ms = 0, total_flop = 0;
  for (const Product& p : kProducts) {
    std::vector<float> a(size_t(p.m) * p.k), b(size_t(p.k) * p.n), c(size_t(p.m) * p.n);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7) * 0.01f - 0.03f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) * 0.02f - 0.04f;
    double t = 1e30;
    for (int r = 0; r < 40; ++r) {
      const double t0 = now();
      run_product(p, a, b, c);
      t = std::min(t, now() - t0);
    }
    sink += c[0];
    const double flop = 2.0 * p.m * p.n * p.k * p.times;
    total_ms += t * 1e3;
    total_flop += flop;
    std::printf("%-40s %7.4f ms  %6.1f GFLOP/s  %5.1f%% of the ceiling\n", p.name, t * 1e3,
                flop / t / 1e9, 100 * flop / t / 1e9 / ceiling);
  }
  std::printf("%-40s %7.4f ms  %6.1f GFLOP/s  %5.1f%% of the ceiling   (%.2f MFLOP)\n",
              "all GEMMs of a step", total_ms, total_flop / total_ms / 1e6,
              100 * total_flop / total_ms / 1e6 / ceiling, total_flop / 1e6);
  std::printf("(sink %g)\n", double(sink));
  return 0;
}
