// Hostile and careless input (issue 9): each case here failed before its fix. Sizes that wrap or
// exhaust memory, JSON that took quadratic time or held half a surrogate, state files with
// values out of range, options outside the one number grammar, divergence at a finite loss.
#include <doctest/doctest.h>
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <string>

#include "base/error.h"
#include "base/tensor.h"
#include "check.h"
#include "data/idx.h"
#include "io/json.h"
#include "io/state.h"
#include "train/config.h"
#include "train/model.h"
#include "train/trainer.h"

using namespace bnlab;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHeapMeasurable = false;  // ASan's allocator does not report to mallinfo2
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kHeapMeasurable = false;
#else
constexpr bool kHeapMeasurable = true;
#endif
#else
constexpr bool kHeapMeasurable = true;
#endif

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

Config small() { return test::shapes_config("small-cnn", 5, 8); }

}  // namespace

TEST_CASE("json.an object of 200,000 keys reads and looks up in linear time") {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i)
    text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  text += "}";
  const auto t0 = std::chrono::steady_clock::now();
  const Json j = Json::parse(text);
  int64_t sum = 0;
  for (int i = 0; i < 200000; i += 7) sum += j.get("k" + std::to_string(i)).integer();
  const Json copy = j;  // a copy keeps its own index
  CHECK(copy.get("k199999").integer() == 199999);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("200,000 keys parsed and 28572 looked up in " << seconds << " s");
  CHECK(sum == 2857157142LL);
  // Quadratic key search took 11.7 s for 40,000 keys; linear takes ~0.2 s here for 200,000.
  CHECK(seconds < 5.0);
  CHECK(j.members().front().first == "k0");  // key order kept
  CHECK(j.members().back().first == "k199999");
}

TEST_CASE("json.duplicate keys and unpaired surrogates are refused") {
  CHECK_THROWS_WITH_AS(Json::parse(R"({"a": 1, "b": 2, "a": 3})"),
                       doctest::Contains("\"a\" appears twice"), Error);
  CHECK_THROWS_WITH_AS(Json::parse(R"(["\ud800\u0041"])"),
                       doctest::Contains("unpaired surrogate \\uD800"), Error);
  CHECK_THROWS_WITH_AS(Json::parse(R"(["\ud800"])"), doctest::Contains("unpaired surrogate"),
                       Error);
  CHECK_THROWS_WITH_AS(Json::parse(R"(["x\udc00"])"),
                       doctest::Contains("unpaired surrogate \\uDC00"), Error);
  CHECK_THROWS_WITH_AS(Json::parse(R"(["\ud800\ud800"])"), doctest::Contains("unpaired surrogate"),
                       Error);
  // A pair is one character, U+1F600, four bytes of UTF-8.
  CHECK(Json::parse(R"(["\ud83d\ude00"])").items()[0].string() == "\xF0\x9F\x98\x80");
  // Objects built by set() keep replace semantics (writers), with and without the index.
  Json o = Json::object();
  for (int i = 0; i < 40; ++i) o.set("k" + std::to_string(i), i);
  o.set("k3", "three");
  o.set("k30", "thirty");
  CHECK(o.members().size() == 40);
  CHECK(o.get("k3").string() == "three");
  CHECK(o.get("k30").string() == "thirty");
}

TEST_CASE("tensor.sizes are counted in 64 bits and checked before they are narrowed") {
  Tensor t;
  CHECK_THROWS_WITH_AS(t.resize(Shape{65536, 65536, 65536, 65536}),
                       doctest::Contains("more floats than this machine can address"), Error);
  CHECK_THROWS_WITH_AS(t.resize(Shape{-1, -1, 1, 1}), doctest::Contains("invalid tensor shape"),
                       Error);
  CHECK(t.size() == 0);
}

TEST_CASE("model.a model above the memory budget is refused before anything is allocated") {
  Config c;
  c.dataset = "shapes";
  c.model = "fc65536-fc65536-fc";
  const Footprint f = estimate_footprint(c, Shape{1, 1, 28, 28}, 6);
  CHECK(f.params == int64_t(784) * 65536 + 65536 + int64_t(65536) * 65536 + 65536 + 65536 * 6 + 6);
  CHECK_THROWS_WITH_AS(
      Model(c, Shape{1, 1, 28, 28}, 6),
      doctest::Contains("model 'fc65536-fc65536-fc' is too large: 4346871814 parameters"), Error);
  CHECK_THROWS_WITH_AS(Model(c, Shape{1, 1, 28, 28}, 6),
                       doctest::Contains("more than the limit of 512.0 MiB"), Error);
  c.model = "conv4096-conv4096-fc";
  c.batch_size = 1;
  CHECK_THROWS_WITH_AS(Model(c, Shape{1, 1, 28, 28}, 6), doctest::Contains("is too large"), Error);
  // The budget can be raised (the CLI's --max-memory) and is checked again.
  c.model = "fc2048-fc";
  CHECK_NOTHROW(Model(c, Shape{1, 1, 28, 28}, 6));
  set_memory_budget(int64_t(8) << 20);
  CHECK_THROWS_WITH_AS(Model(c, Shape{1, 1, 28, 28}, 6),
                       doctest::Contains("more than the limit of 8.0 MiB"), Error);
  set_memory_budget(kDefaultMemoryBudget);
  CHECK_THROWS_AS(set_memory_budget(1000), Error);
}

TEST_CASE("model.the footprint estimate is above what a run allocates") {
  // Training steps, an eval-mode and a train-mode evaluation, a state saved and loaded: the
  // heap grows by less than the estimate (the data is made before the measurement starts).
  for (const std::string spec :
       {"small-cnn", "ref-cnn", "mlp", "conv16k5s2-bn-relu-avgpool2 fc128-bn-tanh fc"}) {
    CAPTURE(spec);
    Config c = small();
    c.model = spec;
    c.batch_size = 32;
    auto data = load_data(c, "");
    const Footprint f = estimate_footprint(c, data->train.image_shape(), 6);
    const size_t before = mallinfo2().uordblks;
    {
      Trainer t(c, data);
      for (int i = 0; i < 3; ++i) t.step();
      t.evaluate(Mode::Eval);
      t.evaluate(Mode::Train);
      t.load_state(t.save_state());
      const size_t used = mallinfo2().uordblks - before;
      MESSAGE(spec << ": estimate " << f.bytes << " bytes, heap grew by " << used);
      if (kHeapMeasurable) {
        CHECK(used > 0);
        CHECK(int64_t(used) <= f.bytes);
      } else {
        MESSAGE("sanitizer build: the heap is not measured, only the parameter count");
      }
      CHECK(f.params == t.model().num_params());
    }
  }
}

TEST_CASE("state.values out of range are refused on load and change nothing") {
  Config c = small();
  c.norm.cumulative = true;
  auto data = load_data(c, "");
  Trainer t(c, data);
  t.step();
  const std::string good = t.save_state();
  CHECK_NOTHROW(Trainer(c, data).load_state(good));
  const Json j = Json::parse(good);
  const std::string var = "\"bn1.running_var\":{\"shape\":[4],\"data\":[";
  const size_t at = good.find(var);
  REQUIRE(at != std::string::npos);
  const std::string negative_var =
      good.substr(0, at + var.size()) + "-0.5" + good.substr(good.find(',', at + var.size()));
  CHECK_THROWS_WITH_AS(t.load_state(negative_var), doctest::Contains("bn1.running_var[0] is -0.5"),
                       Error);
  CHECK_THROWS_WITH_AS(t.load_state(replace_once(good, "\"bn1.num_batches_tracked\":1",
                                                 "\"bn1.num_batches_tracked\":-1")),
                       doctest::Contains("bn1.num_batches_tracked is -1, it must not be negative"),
                       Error);
  CHECK_THROWS_WITH_AS(t.load_state(replace_once(good, "\"diverged_at\":-1", "\"diverged_at\":7")),
                       doctest::Contains("diverged_at is 7 but must be -1 (training) or 2"), Error);
  CHECK_THROWS_WITH_AS(t.load_state(replace_once(good, "\"step\":1,", "\"step\":-1,")),
                       doctest::Contains("step must not be negative"), Error);
  CHECK_THROWS_WITH_AS(t.load_state(replace_once(good, "\"batch_size\":8", "\"batch_size\":0")),
                       doctest::Contains("option batch_size: '0' is out of range"), Error);
  CHECK(t.save_state() == good);  // nothing changed
  // A loaded state trains on with finite numbers (the refused ones gave NaN test losses).
  Trainer u(c, data);
  u.load_state(good);
  CHECK(std::isfinite(u.step().loss));
  CHECK(std::isfinite(u.evaluate(Mode::Eval).loss));
  CHECK(j.get("step").integer() == 1);
}

TEST_CASE("state.a state naming a model above the budget is refused before it is built") {
  Config c = small();
  Trainer t(c, load_data(c, ""));
  const std::string huge =
      replace_once(t.save_state(), "\"model\":\"small-cnn\"", "\"model\":\"fc65536-fc65536-fc\"");
  const Config named = config_from_state(huge);  // the config itself is valid
  CHECK(named.model == "fc65536-fc65536-fc");
  CHECK_THROWS_WITH_AS(Trainer(named, load_data(named, "")), doctest::Contains("is too large"),
                       Error);
  // And text beyond the limit is refused before it is parsed.
  CHECK_THROWS_WITH_AS(config_from_state(std::string(kMaxStateBytes + 1, ' ')),
                       doctest::Contains("more than the limit of 64.0 MiB for state files"), Error);
}

TEST_CASE(
    "config.one number grammar (no hex, inf, nan, spaces or '+'), and whole numbers without "
    "wrapping") {
  Config c;
  for (const std::string bad :
       {"0x10", "inf", "nan", " 1", "1 ", "+1", "1e", ".", "-", "1.5.2", "0x1p3", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(set_option(c, "lr", bad), doctest::Contains("is not a number"), Error);
  }
  for (const std::string good : {"1", "0.5", ".5", "5.", "5e-2", "5E+1", "-0"}) {
    CAPTURE(good);
    CHECK_NOTHROW(set_option(c, "lr", good));
    CHECK(c.lr == float(std::stod(good)));
  }
  CHECK_THROWS_WITH_AS(set_option(c, "batch_size", "1e1"),
                       doctest::Contains("is not a whole number"), Error);
  CHECK(parse_whole_number("4294967295", 0, 4294967295LL, "--seed") == 4294967295LL);
  CHECK_THROWS_WITH_AS(parse_whole_number("4294967296", 0, 1000000000, "--eval-every"),
                       "--eval-every must be from 0 to 1000000000, not 4294967296", Error);
  CHECK_THROWS_WITH_AS(parse_whole_number("99999999999999999999999", 0, 10, "--x"),
                       doctest::Contains("must be a whole number"), Error);
  CHECK_THROWS_AS(parse_whole_number("-1", 0, 10, "--x"), Error);
}

TEST_CASE(
    "config.the data key names the dataset, every IDX path (labels too) and a synthetic set's "
    "seed") {
  Config a;
  a.dataset = "idx";
  a.train_images = "a", a.train_labels = "b", a.test_images = "c", a.test_labels = "d";
  Config b = a;
  CHECK(data_key(a) == data_key(b));
  b.train_labels = "other";
  CHECK(data_key(a) != data_key(b));
  b = a;
  b.test_labels = "other";
  CHECK(data_key(a) != data_key(b));
  b = a;  // parts cannot run into each other
  b.train_images = "a 1:b", b.train_labels = "";
  CHECK(data_key(a) != data_key(b));
  b = a;
  b.seed = 7, b.train_size = 100, b.lr = 1;  // none of these changes what is loaded
  CHECK(data_key(a) == data_key(b));
  Config s, t;
  s.dataset = t.dataset = "shapes";
  t.seed = 2;
  CHECK(data_key(s) != data_key(t));
  Config m, n;
  n.seed = 2;
  CHECK(data_key(m) == data_key(n));  // MNIST is the same whatever the seed
}

TEST_CASE("trainer.a finite loss above the bound is divergence, said with the loss") {
  // Without normalizers, weights 1000 times He's scale make logits about 1000^3 times larger
  // than usual at the first step: a finite loss far above the bound (NaN came only later).
  Config c = small();
  c.norm.kind = NormKind::None;
  c.init_scale = 1000;
  Trainer t(c, load_data(c, ""));
  const StepMetrics m = t.step();
  MESSAGE(t.status());
  REQUIRE(std::isfinite(m.loss));
  CHECK(m.loss > kDivergedLoss);
  CHECK(m.diverged);
  CHECK(t.diverged_at() == 1);
  CHECK(t.status().find("diverged at step 1: loss ") == 0);
  CHECK(t.status().find("e") != std::string::npos);
  CHECK(t.status().find("(above 1e6)") != std::string::npos);
  // The step that diverged changed nothing, and the next ones do not either.
  const std::string saved = t.save_state();
  t.step();
  CHECK(t.save_state() == saved);
}

TEST_CASE("idx.a header announcing more values than the limit is refused before allocating") {
  // 2^20 images of 16x16 = 2^28 values, twice the limit; the file holds only the header.
  const uint8_t images[] = {0, 0, 8, 3, 0, 16, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16};
  const uint8_t labels[] = {0, 0, 8, 1, 0, 16, 0, 0};
  CHECK_THROWS_WITH_AS(parse_idx(images, sizeof images, labels, sizeof labels, "big"),
                       doctest::Contains("more than BN Lab's limit of 134217728 values per file"),
                       Error);
}
