#include <doctest/doctest.h>

#include "base/error.h"
#include "check.h"
#include "io/state.h"
#include "train/trainer.h"

using namespace bnlab;

static Config small_config() { return test::shapes_config("small-cnn", 5, 8); }

TEST_CASE("state.a loaded state continues bit-identically") {
  for (bool noisy : {false, true}) {
    CAPTURE(noisy);
    Config c = small_config();
    c.noisy = noisy;
    c.weight_decay = 1e-3f;
    c.train_size = 100;  // an epoch is 12.5 steps: the saved sampler sits inside the second one
    auto data = load_data(c, "");
    Trainer original(c, data);
    for (int i = 0; i < 20; ++i) original.step();
    const std::string saved = original.save_state();
    std::vector<float> expected;
    for (int i = 0; i < 10; ++i) expected.push_back(original.step().loss);

    Trainer restored(config_from_state(saved), data);
    restored.load_state(saved);
    CHECK(restored.step_count() == original.step_count() - 10);
    for (int i = 0; i < 10; ++i) CHECK(restored.step().loss == expected[size_t(i)]);
    CHECK_MESSAGE(restored.save_state() == original.save_state(), "the states differ after 10 more steps");
  }
}

TEST_CASE("state.the file uses PyTorch's names and shapes") {
  Config c = small_config();
  Trainer t(c, load_data(c, ""));
  t.step();
  const std::string s = t.save_state();
  for (const char* key : {"\"conv1.weight\":{\"shape\":[4,1,3,3]", "\"bn1.running_mean\":{\"shape\":[4]",
                          "\"bn1.num_batches_tracked\":1", "\"fc1.weight\":{\"shape\":[6,392]",
                          "\"momentum_buffer\"", "\"format\":\"bnlab-state\""})
    CHECK_MESSAGE(s.find(key) != std::string::npos, key);
}

TEST_CASE("state.a state that does not match is refused and changes nothing") {
  Config c = small_config();
  auto data = load_data(c, "");
  Trainer t(c, data);
  t.step();
  const std::string before = t.save_state();
  Config other = c;
  other.model = "ref-cnn";
  Trainer big(other, data);
  CHECK_THROWS_WITH_AS(t.load_state(big.save_state()), doctest::Contains("saved with model=ref-cnn"), Error);
  CHECK_THROWS_WITH_AS(t.load_state("{\"a\": 1}"), doctest::Contains("not a BN Lab state file"), Error);
  CHECK_THROWS_WITH_AS(t.load_state(before.substr(0, before.size() / 2)), doctest::Contains("invalid JSON"), Error);
  std::string bad_shape = before;
  const size_t at = bad_shape.find("[4,1,3,3]");
  REQUIRE(at != std::string::npos);
  bad_shape.replace(at, 9, "[4,1,3,4]");
  CHECK_THROWS_WITH_AS(t.load_state(bad_shape), doctest::Contains("conv1.weight has shape [4, 1, 3, 4]"), Error);
  std::string nan_value = before;
  const size_t data_at = nan_value.find("\"data\":[") + 8;
  nan_value.insert(data_at, "null,");
  CHECK_THROWS_AS(t.load_state(nan_value), Error);
  // 1e39 is a valid JSON number but no float32: it would load as infinity.
  std::string too_big = before;
  too_big.replace(data_at, too_big.find(',', data_at) - data_at, "1e39");
  CHECK_THROWS_WITH_AS(t.load_state(too_big), doctest::Contains("conv1.weight[0] is not a finite float32 number"), Error);
  CHECK_MESSAGE(t.save_state() == before, "a refused load changed the trainer");
}
