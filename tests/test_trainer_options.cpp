// Trainer::set_options: options changed between two steps, without a new trainer.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "check.h"
#include "io/state.h"
#include "train/trainer.h"

using namespace bnlab;

namespace {

// A small run whose epoch (100 examples, batches of 16) ends inside the steps below.
Config options_config() {
  Config c = test::shapes_config("small-cnn", 3, 16);
  c.train_size = 100;
  return c;
}

// The error message `body` throws ("" if none).
template <class Body>
std::string message_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// k steps, then the options changed in place, then m steps; against the same k steps, a state
// file, a new trainer made with the changed config and the state loaded into it, then m steps.
// Every loss and the final states must be identical. Returns the losses of the m steps.
std::vector<float> check_same_as_round_trip(const Config& c, const OptionValues& options, int k, int m) {
  auto data = load_data(c, "");
  Trainer in_place(c, data);
  for (int i = 0; i < k; ++i) in_place.step();
  const std::string saved = in_place.save_state();
  in_place.set_options(options);

  Config changed = config_from_state(saved);
  for (const auto& [name, value] : options) set_option(changed, name, value);
  Trainer round_trip(changed, data);
  round_trip.load_state(saved);

  std::vector<float> losses;
  for (int i = 0; i < m; ++i) {
    const StepMetrics a = in_place.step(), b = round_trip.step();
    CHECK(a.loss == b.loss);
    CHECK(a.lr == b.lr);
    losses.push_back(a.loss);
  }
  const EvalMetrics ea = in_place.evaluate(Mode::Eval), eb = round_trip.evaluate(Mode::Eval);
  CHECK(ea.loss == eb.loss);
  CHECK(ea.count == eb.count);
  CHECK_MESSAGE(in_place.save_state() == round_trip.save_state(), "the states differ after the change");
  return losses;
}

// The losses of m steps after k steps without any change.
std::vector<float> unchanged_losses(const Config& c, int k, int m) {
  Trainer t(c, load_data(c, ""));
  for (int i = 0; i < k; ++i) t.step();
  std::vector<float> losses;
  for (int i = 0; i < m; ++i) losses.push_back(t.step().loss);
  return losses;
}

}  // namespace

TEST_CASE("trainer.set_options continues exactly as a state round trip with the changed config") {
  const int k = 9, m = 8;  // the change falls inside the second epoch
  Config c = options_config();
  OptionValues options;
  SUBCASE("learning rate and momentum") { options = {{"lr", "0.01"}, {"momentum", "0.5"}}; }
  SUBCASE("weight decay and a step schedule") {
    options = {{"weight_decay", "0.01"}, {"schedule", "step"}, {"step_size", "12"}, {"step_gamma", "0.5"}};
  }
  SUBCASE("a cosine schedule and its length") { options = {{"schedule", "cosine"}, {"steps", "20"}}; }
  SUBCASE("BN eps and momentum (the normalizers are made again)") {
    options = {{"bn_eps", "0.001"}, {"bn_momentum", "0.5"}};
  }
  SUBCASE("cumulative running statistics") { options = {{"bn_momentum", "cumulative"}, {"lr", "0.02"}}; }
  SUBCASE("Batch Renorm's clips") {
    c.norm.kind = NormKind::Renorm;
    options = {{"r_max", "1.5"}, {"d_max", "0.5"}};
  }
  SUBCASE("Ghost BN's sub-batch") {
    c.norm.kind = NormKind::Ghost;
    options = {{"ghost_batch", "4"}};
  }
  SUBCASE("noisy BN keeps its noise stream through a remade model") {
    c.noisy = true;
    options = {{"bn_eps", "0.01"}, {"lr", "0.1"}};
  }
  SUBCASE("the test-set size") { options = {{"test_size", "50"}}; }
  CAPTURE(options.front().first);
  const std::vector<float> changed = check_same_as_round_trip(c, options, k, m);
  if (options.front().first != "test_size") {
    // The change took effect: the run left the unchanged one's path.
    CHECK(changed != unchanged_losses(c, k, m));
  }
}

TEST_CASE("trainer.set_options takes effect at the next step and shows in the config") {
  Config c = options_config();
  Trainer t(c, load_data(c, ""));
  t.step();
  t.set_options({{"lr", "0.2"}, {"schedule", "step"}, {"step_size", "2"}, {"step_gamma", "0.5"}, {"test_size", "30"}});
  CHECK(t.config().lr == 0.2f);
  // Step 2 is 0-based step 1 of the schedule (0.2 * 0.5^0), step 3 is 0-based step 2 (0.2 * 0.5^1).
  CHECK(t.step().lr == 0.2f);
  CHECK(t.step().lr == 0.1f);
  CHECK(t.evaluate(Mode::Eval).count == 30);
  CHECK(t.step_count() == 3);
}

TEST_CASE("trainer.set_options refuses invalid values with the option table's messages, changing nothing") {
  Config c = options_config();
  Trainer t(c, load_data(c, ""));
  for (int i = 0; i < 3; ++i) t.step();
  const std::string before = t.save_state();
  // The message set_option gives for the same text on a fresh Config.
  auto config_message = [](const std::string& name, const std::string& value) {
    Config fresh;
    return message_of([&] { set_option(fresh, name, value); });
  };
  for (const auto& option : std::vector<std::pair<std::string, std::string>>{
           {"lr", "-1"}, {"momentum", "7"}, {"bn_eps", "0"}, {"weight_decay", "x"}, {"schedule", "linear"},
           {"step_size", "0.5"}, {"bn_momentum", "2"}, {"no_such_option", "1"}}) {
    // Plain names, not a structured binding: clang 14 cannot capture one in a lambda.
    const std::string &name = option.first, &value = option.second;
    CAPTURE(name);
    const std::string expected = config_message(name, value);
    REQUIRE(!expected.empty());
    // A valid change listed before the invalid one is not applied either.
    CHECK(message_of([&] { t.set_options({{"lr", "0.3"}, {name, value}}); }) == expected);
    CHECK(message_of([&] { t.options_needing_reset({{name, value}}); }) == expected);
  }
  CHECK(message_of([&] { t.set_options({{"lr", "-1"}}); }) == "option lr: '-1' is out of range [0, 10000]");
  // A combination validate() refuses.
  Config ghost = c;
  ghost.norm.kind = NormKind::Ghost;
  Trainer g(ghost, load_data(ghost, ""));
  Config too_big = ghost;
  too_big.norm.ghost_batch = 32;
  const std::string expected = message_of([&] { validate(too_big); });
  REQUIRE(!expected.empty());
  CHECK(message_of([&] { g.set_options({{"ghost_batch", "32"}}); }) == expected);
  CHECK(g.config().norm.ghost_batch == 8);

  CHECK(t.config().lr == c.lr);
  CHECK_MESSAGE(t.save_state() == before, "a refused change changed the trainer");
}

TEST_CASE("trainer.set_options takes or refuses every option of the table as decided") {
  // A different valid value for every option; a new option must be added here (and decided on
  // in trainer.cpp), or this test fails.
  const std::map<std::string, std::string> other = {
      {"model", "mlp"}, {"norm", "group"}, {"placement", "after"}, {"bn_eps", "0.001"},
      {"bn_momentum", "cumulative"}, {"affine", "false"}, {"track_running_stats", "false"}, {"groups", "2"},
      {"ghost_batch", "4"}, {"r_max", "2"}, {"d_max", "1"}, {"noisy", "true"}, {"init", "xavier"},
      {"init_scale", "2"}, {"init_std", "0.1"}, {"dataset", "shift"}, {"train_images", "a.idx"},
      {"train_labels", "b.idx"}, {"test_images", "c.idx"}, {"test_labels", "d.idx"}, {"train_size", "50"},
      {"test_size", "40"}, {"shuffle", "false"}, {"batch_size", "8"}, {"lr", "0.01"}, {"momentum", "0.5"},
      {"weight_decay", "0.001"}, {"schedule", "cosine"}, {"step_size", "10"}, {"step_gamma", "0.5"},
      {"steps", "100"}, {"seed", "99"}};
  // The decision: what neither changes the model's structure nor the data changes in place.
  const std::set<std::string> in_place = {"bn_eps", "bn_momentum", "ghost_batch", "r_max", "d_max",
                                          "test_size", "lr", "momentum", "weight_decay", "schedule",
                                          "step_size", "step_gamma", "steps"};
  Config c = options_config();
  auto data = load_data(c, "");
  for (const OptionInfo& o : option_table()) {
    CAPTURE(o.name);
    REQUIRE_MESSAGE(other.count(o.name) == 1, "no test value for option " << o.name);
    const std::string value = other.at(o.name);
    Trainer t(c, data);
    t.step();
    const std::string before = t.save_state();
    REQUIRE(get_option(t.config(), o.name) != value);
    // The current value is no change at all.
    CHECK(t.options_needing_reset({{o.name, get_option(t.config(), o.name)}}).empty());
    t.set_options({{o.name, get_option(t.config(), o.name)}});
    if (in_place.count(o.name)) {
      CHECK(t.options_needing_reset({{o.name, value}}).empty());
      t.set_options({{o.name, value}});
      CHECK(get_option(t.config(), o.name) == value);
      CHECK(t.step().step == 2);
    } else {
      CHECK(t.options_needing_reset({{o.name, value}}) == std::vector<std::string>{o.name});
      const std::string message = message_of([&] { t.set_options({{"lr", "0.01"}, {o.name, value}}); });
      CHECK_MESSAGE(message.rfind("option " + o.name + " cannot change during a run (", 0) == 0, message);
      CHECK_MESSAGE(message.find("): it needs a reset") != std::string::npos, message);
      CHECK_MESSAGE(t.save_state() == before, "a refused change changed the trainer");
    }
  }
}
