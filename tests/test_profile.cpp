// bnlab bench --profile (ReferenceBench::profile): every part of a training step gets a row, in
// the order the step runs them, and the bookkeeping of the times is exact (a clock that ticks
// once per reading gives every part exactly one tick per step).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"
#include "measure/refbench.h"

using namespace bnlab;

TEST_CASE("profile: one row per part of the step, in the step's order, each timed once per step") {
  size_t layers[2] = {0, 0};  // per variant: without BN, with
  for (bool bn : {true, false}) {
    CAPTURE(bn);
    ReferenceBench bench(bn);
    double ticks = 0;
    const int steps = 4;
    const StepProfile prof = bench.profile(steps, [&] { return ticks += 1; });
    std::vector<std::string> parts;
    for (const ProfileRow& r : prof.rows) parts.push_back(r.part);
    // batch, n forwards, loss, zero_grad, n backwards, finite check, optimizer.
    REQUIRE(parts.size() % 2 == 1);
    const size_t n = (parts.size() - 5) / 2;
    layers[bn] = n;
    CHECK(parts.front() == "batch");
    CHECK(parts[n + 1] == "loss");
    CHECK(parts[n + 2] == "zero_grad");
    CHECK(parts[parts.size() - 2] == "finite check");
    CHECK(parts.back() == "optimizer");
    CHECK(parts[1] == "conv1 forward");
    CHECK((std::find(parts.begin(), parts.end(), "bn1 forward") != parts.end()) == bn);
    for (size_t i = 0; i < n; ++i) {
      const std::string& f = parts[1 + i];
      const std::string& b = parts[2 * n + 2 - i];  // backward runs the layers in reverse
      REQUIRE(f.size() > 8);
      CHECK(f.substr(f.size() - 8) == " forward");
      CHECK(b == f.substr(0, f.size() - 8) + " backward");
    }
    CHECK(prof.rows[1].kind == "conv");
    for (const ProfileRow& r : prof.rows) CHECK(r.seconds == 1.0);  // one tick per part per step
    CHECK(prof.step_seconds == double(prof.rows.size()));
    CHECK(prof.trainer_seconds ==
          doctest::Approx(1.0 / steps));  // two readings around `steps` steps
  }
  CHECK(layers[1] == layers[0] + 3);  // bn1, bn2, bn3
  ReferenceBench bench(true);
  CHECK_THROWS_AS(bench.profile(0, [] { return 0.0; }), Error);
}
