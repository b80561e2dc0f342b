#include <doctest/doctest.h>

#include "base/error.h"
#include "train/spec.h"

using namespace bnlab;

static std::string spec_error(const std::string& text) {
  try {
    parse_spec(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("spec.the reference CNN preset parses to its layers") {
  const auto items = parse_spec("ref-cnn");
  REQUIRE(items.size() == 12);
  CHECK(items[0].kind == ItemKind::Conv);
  CHECK(items[0].out == 8);
  CHECK(items[0].kernel == 3);
  CHECK(items[0].padding == 1);
  CHECK(items[1].kind == ItemKind::Norm);
  CHECK(items[2].kind == ItemKind::ReLU);
  CHECK(items[3].kind == ItemKind::MaxPool);
  CHECK(items[3].kernel == 2);
  CHECK(items[8].kind == ItemKind::Fc);
  CHECK(items[8].out == 64);
  CHECK(items.back().kind == ItemKind::Fc);
  CHECK(items.back().out == 0);
}

TEST_CASE("spec.conv options, pooling kinds and case are read") {
  const auto items = parse_spec("Conv16k5s2p0-BN-tanh-avgpool2 conv4k1 fc32-sigmoid fc10");
  CHECK(items[0].out == 16);
  CHECK(items[0].kernel == 5);
  CHECK(items[0].stride == 2);
  CHECK(items[0].padding == 0);
  CHECK(items[2].kind == ItemKind::Tanh);
  CHECK(items[3].kind == ItemKind::AvgPool);
  CHECK(items[4].kernel == 1);
  CHECK(items[4].padding == 0);
  CHECK(items.back().out == 10);
}

TEST_CASE("spec.errors name the offending token") {
  CHECK(spec_error("conv8-bn-relu-pool2 conv-relu fc") ==
        "model spec: 'conv' needs a channel count from 1 to 4096 (e.g. conv8)");
  CHECK(spec_error("conv8-bn-rleu fc").find("'rleu' is not a layer") != std::string::npos);
  CHECK(spec_error("conv8k0 fc").find("'conv8k0' kernel k must be from 1 to 15") != std::string::npos);
  CHECK(spec_error("conv8x2 fc").find("unknown part 'x'") != std::string::npos);
  CHECK(spec_error("conv8-relu").find("the last layer must be fc") != std::string::npos);
  CHECK(spec_error("fc fc").find("only the last fc may leave it out") != std::string::npos);
  CHECK(spec_error("pool0 fc").find("'pool0' needs a kernel size") != std::string::npos);
  CHECK(spec_error("").find("empty") != std::string::npos);
  CHECK(spec_error("fc99999999999 fc").find("needs a width") != std::string::npos);
}

TEST_CASE("spec.every preset parses") {
  for (const PresetInfo& p : presets()) {
    CAPTURE(p.name);
    CHECK_NOTHROW(parse_spec(p.name));
    CHECK(preset_spec(p.name) == p.spec);
  }
  CHECK(preset_spec("nope").empty());
}
