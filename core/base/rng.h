// BN Lab's own random numbers: xorshift32 (Marsaglia 2003, shifts 13, 17, 5) and the two
// distributions of NUMERICS.md 7, written out so that a seed draws the same numbers natively
// (libstdc++) and in WebAssembly (libc++), whose std:: distributions differ.
//
//   uniform = (next >> 8) * 2^-24                                  in [0, 1), 24 random bits
//   normal  = sqrt(-2 ln u1) * cos(2 pi u2),  u1 = ((next >> 8) + 1) * 2^-24 in (0, 1],
//             u2 = uniform; computed in double (one Box-Muller draw per call, no caching)
#pragma once

#include <cmath>
#include <cstdint>

namespace bnlab {

class Rng {
 public:
  // A zero state would stay zero forever; seed 0 is mapped to a fixed non-zero state.
  explicit Rng(uint32_t seed = 1) : state_(seed ? seed : 0x9E3779B9u) {}

  uint32_t next() {
    uint32_t s = state_;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return state_ = s;
  }
  double uniform() { return double(next() >> 8) * (1.0 / 16777216.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    const double u1 = double((next() >> 8) + 1) * (1.0 / 16777216.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }
  double normal(double mean, double std) { return mean + std * normal(); }
  // An integer in [0, n) by multiply-shift (no division, same result on every platform).
  uint32_t below(uint32_t n) { return uint32_t((uint64_t(next()) * n) >> 32); }

  uint32_t state() const { return state_; }
  void set_state(uint32_t s) { state_ = s ? s : 0x9E3779B9u; }

 private:
  uint32_t state_;
};

// Independent streams derived from one user seed, so that changing how many numbers one part
// draws (say, noisy BN) never shifts another part (the data order, the initial weights).
enum class Stream : uint32_t { Init = 1, Data = 2, Noise = 3, Probe = 4, Synth = 5 };

inline uint32_t stream_seed(uint32_t seed, Stream stream) {
  // splitmix32-style finalizer of (seed, stream): well-spread, never zero in practice.
  uint32_t z = seed * 0x9E3779B9u + uint32_t(stream) * 0x85EBCA6Bu + 0x7F4A7C15u;
  z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
  z = (z ^ (z >> 13)) * 0xC2B2AE35u;
  z ^= z >> 16;
  return z ? z : 1u;
}

}  // namespace bnlab
