#include <doctest/doctest.h>

#include "measure/refbench.h"

using namespace bnlab;

// NUMERICS.md 7: losses of PyTorch 1.13 and TensorFlow.js 4.22 on the same data and weights.
// Step 1 agrees to 1e-6 in every harness; after 20 steps the BN network agrees to the printed
// precision, while without BN float summation order shows (PyTorch 1.1547, TF.js 1.1551).
TEST_CASE("refbench.losses match PyTorch on the reference data and weights") {
  const BenchProtocol warmup_only{20, 0, 0, 0.0, false};
  double t = 0;
  const auto clock = [&t] { return t += 1e-3; };
  SUBCASE("ref-cnn with BN") {
    ReferenceBench bench(true);
    const BenchResult r = bench.run(warmup_only, clock);
    CHECK(r.loss_step1 == doctest::Approx(2.551322).epsilon(2e-6));
    CHECK(r.loss_after_warmup == doctest::Approx(0.01682).epsilon(0.01));
  }
  SUBCASE("ref-cnn without BN") {
    ReferenceBench bench(false);
    const BenchResult r = bench.run(warmup_only, clock);
    CHECK(r.loss_step1 == doctest::Approx(2.317987).epsilon(2e-6));
    CHECK(r.loss_after_warmup == doctest::Approx(1.155).epsilon(0.01));
  }
}
