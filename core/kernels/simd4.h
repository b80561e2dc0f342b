// 4-wide vectors for the loops that compilers do not vectorize well for WebAssembly's SIMD
// (f32x4): the GEMM kernels (gemm.cpp), 2x2 max pooling, im2col. GCC/Clang vector extensions,
// so that the same code compiles natively (SSE/AVX), where the tests run it.
#pragma once

#include <cstdint>
#include <cstring>

namespace bnlab::simd4 {

using f4 = float __attribute__((vector_size(16)));
using i4 = int32_t __attribute__((vector_size(16)));  // also the type of f4 comparisons
using d4 = double __attribute__((vector_size(32)));   // four sums in double (two f64x2 in wasm)

// Unaligned loads and stores (memcpy compiles to one v128.load / v128.store).
inline f4 load(const float* p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline i4 load(const int32_t* p) {
  i4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, f4 v) { std::memcpy(p, &v, sizeof v); }
inline void store(int32_t* p, i4 v) { std::memcpy(p, &v, sizeof v); }

inline f4 broadcast(float x) { return f4{x, x, x, x}; }

// Lane by lane, mask ? a : b, for a mask from a comparison (all bits set or none).
inline f4 select(i4 mask, f4 a, f4 b) { return f4((mask & i4(a)) | (~mask & i4(b))); }
inline i4 select(i4 mask, i4 a, i4 b) { return (mask & a) | (~mask & b); }

// Transposes the 4x4 matrix whose rows are r0 .. r3 in place.
inline void transpose(f4& r0, f4& r1, f4& r2, f4& r3) {
  const f4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);  // r0[0] r1[0] r0[1] r1[1]
  const f4 t1 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
  const f4 t2 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);  // r0[2] r1[2] r0[3] r1[3]
  const f4 t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
  r0 = __builtin_shufflevector(t0, t1, 0, 1, 4, 5);  // r0[0] r1[0] r2[0] r3[0]
  r1 = __builtin_shufflevector(t0, t1, 2, 3, 6, 7);
  r2 = __builtin_shufflevector(t2, t3, 0, 1, 4, 5);
  r3 = __builtin_shufflevector(t2, t3, 2, 3, 6, 7);
}

// dst[0 .. n) = f(src[0 .. n)) (not overlapping, f lane by lane) for short rows, where a call of
// memcpy would cost more than the copy: whole vectors, the last one overlapping the one before
// when n is not a multiple of 4 (rewriting some values, which = allows and += would not).
template <class F>
inline void copy_mapped(float* dst, const float* src, int n, F f) {
  if (n < 4) {
    for (int i = 0; i < n; ++i) dst[i] = f(broadcast(src[i]))[0];
    return;
  }
  int i = 0;
  for (; i + 4 <= n; i += 4) store(dst + i, f(load(src + i)));
  if (i < n) store(dst + n - 4, f(load(src + n - 4)));
}
inline void copy(float* dst, const float* src, int n) {
  copy_mapped(dst, src, n, [](f4 v) { return v; });
}
// dst[0 .. n) = src[0 .. n) + b (a conv's output row and its bias).
inline void copy_plus(float* dst, const float* src, int n, float b) {
  const f4 bv = broadcast(b);
  copy_mapped(dst, src, n, [bv](f4 v) { return v + bv; });
}

// dst[0 .. n) += src[0 .. n) for any n: whole vectors, then one value at a time.
inline void add_to(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) store(dst + i, load(dst + i) + load(src + i));
  for (; i < n; ++i) dst[i] += src[i];
}

// Whether every p[0 .. n) is finite (neither infinite nor NaN): v - v is 0 for a finite v and NaN
// otherwise, and a sum of those is 0 exactly unless one is NaN. Four vector sums, no branch per
// value. (Eigen's allFinite() took 1.0 ms of a 5.6 ms ref-cnn step in wasm, 44x its native time,
// for the step's 55k gradients; wasm/README.md, "Speed".)
inline bool all_finite(const float* p, int64_t n) {
  f4 s0 = {}, s1 = {}, s2 = {}, s3 = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const f4 a = load(p + i), b = load(p + i + 4), c = load(p + i + 8), d = load(p + i + 12);
    s0 += a - a, s1 += b - b, s2 += c - c, s3 += d - d;
  }
  const f4 s = (s0 + s1) + (s2 + s3);
  float tail = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; ++i) tail += p[i] - p[i];
  return tail == 0.f;
}

// Sums in double of P rows of n float terms at once, out[j] = the sum of term j, i for i = 0 ..
// n-1, each in BatchNorm's fixed order (layers/batchnorm.cpp): eight partial sums, term i in sum
// i % 8 and the last n % 8 terms in sum 0, combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) +
// (s6 + s7)). Every row's result is the same to the bit whatever P is; taking P rows at once only
// gives the CPU 2P independent chains of vector adds instead of two, each add waiting on the
// last of its own chain only. vec(j, i) gives terms i .. i+3 of row j as a vector, one(j, i) term
// i alone, by the same float operations.
template <int P, class Vec, class One>
void lane_sums(int64_t n, Vec vec, One one, double* out) {
  d4 lo[P], hi[P];  // partial sums 0-3 and 4-7 of each row
  for (int j = 0; j < P; ++j) lo[j] = hi[j] = d4{};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < P; ++j) {
      lo[j] += __builtin_convertvector(vec(j, i), d4);
      hi[j] += __builtin_convertvector(vec(j, i + 4), d4);
    }
  for (int j = 0; j < P; ++j) {
    double s0 = lo[j][0];
    for (int64_t t = i; t < n; ++t) s0 += double(one(j, t));
    out[j] =
        ((s0 + lo[j][1]) + (lo[j][2] + lo[j][3])) + ((hi[j][0] + hi[j][1]) + (hi[j][2] + hi[j][3]));
  }
}

}  // namespace bnlab::simd4
