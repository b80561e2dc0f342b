#include <doctest/doctest.h>

#include <cmath>

#include "base/error.h"
#include "train/config.h"

using namespace bnlab;

static std::string error_of(Config& c, const std::string& name, const std::string& value) {
  try {
    set_option(c, name, value);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("config.defaults are PyTorch's and NUMERICS.md 7's") {
  const Config c;
  CHECK(get_option(c, "bn_eps") == "1e-05");
  CHECK(get_option(c, "bn_momentum") == "0.1");
  CHECK(get_option(c, "lr") == "0.05");
  CHECK(get_option(c, "momentum") == "0.9");
  CHECK(get_option(c, "norm") == "batch");
  CHECK(get_option(c, "affine") == "true");
  CHECK(get_option(c, "track_running_stats") == "true");
  CHECK(get_option(c, "model") == "ref-cnn");
}

TEST_CASE("config.every option reads back what was set") {
  Config c;
  for (const OptionInfo& o : option_table()) {
    CAPTURE(o.name);
    const std::string v = get_option(c, o.name);
    set_option(c, o.name, v);
    CHECK(get_option(c, o.name) == v);
  }
  set_option(c, "batch-size", "64");
  CHECK(c.batch_size == 64);
  set_option(c, "bn_momentum", "cumulative");
  CHECK(c.norm.cumulative);
  CHECK(get_option(c, "bn_momentum") == "cumulative");
  set_option(c, "bn_momentum", "0.01");
  CHECK_FALSE(c.norm.cumulative);
  CHECK(c.norm.momentum == doctest::Approx(0.01));
  set_option(c, "norm", "group");
  CHECK(c.norm.kind == NormKind::Group);
  set_option(c, "placement", "after");
  CHECK(c.placement == Placement::After);
  set_option(c, "seed", "4294967295");
  CHECK(c.seed == 4294967295u);
}

TEST_CASE("config.bad values are refused with the option's name and what is allowed") {
  Config c;
  CHECK(error_of(c, "lr", "fast") == "option lr: 'fast' is not a number");
  CHECK(error_of(c, "lr", "-1") == "option lr: '-1' is out of range [0, 10000]");
  CHECK(error_of(c, "batch_size", "0") == "option batch_size: '0' is out of range [1, 4096]");
  CHECK(error_of(c, "batch_size", "2.5") == "option batch_size: '2.5' is not a whole number");
  CHECK(error_of(c, "lr", "nan") == "option lr: 'nan' is not a number");
  CHECK(error_of(c, "shuffle", "maybe") == "option shuffle: 'maybe' is not a boolean (true or false)");
  CHECK(error_of(c, "placement", "middle") == "option placement: 'middle' is not one of: before, after");
  CHECK(error_of(c, "norm", "weird").find("is not one of: none, batch, layer") != std::string::npos);
  CHECK(error_of(c, "colour", "red").find("unknown option 'colour'") != std::string::npos);
  CHECK(c.lr == doctest::Approx(0.05));  // nothing changed by the failures
  c.dataset = "cifar";
  CHECK_THROWS_WITH_AS(validate(c), "option dataset: 'cifar' is not one of: mnist, fashion, shapes, shift, idx", Error);
  c.dataset = "idx";
  CHECK_THROWS_AS(validate(c), Error);
}

TEST_CASE("config.learning-rate schedules follow PyTorch's formulas") {
  Config c;
  c.lr = 0.1f;
  CHECK(learning_rate_at(c, 12345) == doctest::Approx(0.1));
  SUBCASE("step: lr * gamma^floor(t / step_size)") {
    c.schedule = Schedule::Step;
    c.step_size = 100;
    c.step_gamma = 0.5f;
    CHECK(learning_rate_at(c, 99) == doctest::Approx(0.1));
    CHECK(learning_rate_at(c, 100) == doctest::Approx(0.05));
    CHECK(learning_rate_at(c, 250) == doctest::Approx(0.025));
  }
  SUBCASE("cosine: lr/2 (1 + cos(pi t / T))") {
    c.schedule = Schedule::Cosine;
    c.steps = 1000;
    CHECK(learning_rate_at(c, 0) == doctest::Approx(0.1));
    CHECK(learning_rate_at(c, 500) == doctest::Approx(0.05));
    CHECK(learning_rate_at(c, 250) == doctest::Approx(0.05 * (1 + std::cos(M_PI / 4))));
    CHECK(learning_rate_at(c, 1000) == doctest::Approx(0.0));
    CHECK(learning_rate_at(c, 2000) == doctest::Approx(0.0));
  }
}
