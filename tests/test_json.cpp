#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/error.h"
#include "base/rng.h"
#include "io/json.h"

using namespace bnlab;

TEST_CASE("json.parse reads every kind of value and keeps key order") {
  const Json j = Json::parse(R"( {"b": [1, 2.5, -3e2], "a": {"t": true, "f": false, "n": null}, "s": "x\"\\\n\u00e9"} )");
  REQUIRE(j.is_object());
  CHECK(j.members().front().first == "b");
  CHECK(j.get("b").items().size() == 3);
  CHECK(j.get("b").items()[2].number() == -300.0);
  CHECK(j.get("a").get("t").boolean());
  CHECK_FALSE(j.get("a").get("f").boolean());
  CHECK(j.get("a").get("n").is_null());
  CHECK(j.get("s").string() == "x\"\\\n\xc3\xa9");
}

TEST_CASE("json.dump round-trips, with float32 values exact at 9 digits") {
  Json arr = Json::array();
  const float values[] = {0.1f, -1.8974f, 3.4028235e38f, 1.17549435e-38f, 1e-45f, 123456789.f};
  for (float v : values) arr.push(double(v));
  const Json back = Json::parse(arr.dump(true));
  for (size_t i = 0; i < 6; ++i) {
    const float f = float(back.items()[i].number());
    CHECK(std::memcmp(&f, &values[i], sizeof f) == 0);
  }
  Json obj = Json::object();
  obj.set("k", "a\tb");
  obj.set("n", 42);
  CHECK(Json::parse(obj.dump()).get("k").string() == "a\tb");
  CHECK(obj.dump() == R"({"k":"a\tb","n":42})");
}

TEST_CASE("json.parse errors say where and what") {
  auto message = [](const std::string& text) {
    try {
      Json::parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("{\"a\": 1,\n \"b\" 2}").find("line 2") != std::string::npos);
  CHECK(message("[1, 2").find("expected ']'") != std::string::npos);
  CHECK(message("\"abc").find("unterminated string") != std::string::npos);
  CHECK(message("{} x").find("unexpected text") != std::string::npos);
  CHECK(message("nul").find("unexpected character") != std::string::npos);
  CHECK(message(std::string(100, '[')).find("nested too deeply") != std::string::npos);
}

TEST_CASE("json.typed access names the value when the type is wrong") {
  const Json j = Json::parse(R"({"x": "1", "y": 1.5})");
  CHECK_THROWS_WITH_AS(j.get("x").number("x"), "x must be a number, not a string", Error);
  CHECK_THROWS_WITH_AS(j.get("y").integer("y"), "y must be a whole number", Error);
  CHECK_THROWS_WITH_AS(j.get("z"), "missing \"z\"", Error);
  CHECK(j.find("z") == nullptr);
}

TEST_CASE("json.non-finite numbers are written as null") {
  Json arr = Json::array();
  arr.push(std::nan(""));
  arr.push(INFINITY);
  CHECK(arr.dump() == "[null,null]");
}

namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}
uint64_t bits_of(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
float float_of(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

// The one number in text, through Json::parse.
double parsed(const std::string& text) { return Json::parse(text).number(); }

}  // namespace

// State files write every float32 with Json::dump(true) and read it back with float(number()).
// The oracle is the C library's strtof, which rounds the same text straight to float32.
TEST_CASE("json.every float32 written as state files write it reads back bit-exactly, as strtof reads it") {
  Rng rng(2024);
  int checked = 0, failures = 0;
  auto check = [&](uint32_t bits) {
    const float f = float_of(bits);
    if (!std::isfinite(f)) return;
    Json arr = Json::array();
    arr.push(double(f));
    const std::string dumped = arr.dump(true);
    const std::string text = dumped.substr(1, dumped.size() - 2);
    const float back = float(Json::parse(dumped).items()[0].number());
    const float oracle = std::strtof(text.c_str(), nullptr);
    ++checked;
    if (bits_of(back) != bits || bits_of(oracle) != bits) {
      if (++failures <= 5)
        FAIL_CHECK("float bits " << bits << " written as " << text << " read back as bits " << bits_of(back)
                                 << " (strtof: " << bits_of(oracle) << ")");
    }
  };
  // Every binade of both signs (biased exponent 0 is zero and the denormals), its extreme
  // mantissas and random ones; then random bit patterns.
  for (uint32_t sign : {0u, 1u})
    for (uint32_t exponent = 0; exponent < 255; ++exponent)
      for (int k = 0; k < 40; ++k) {
        const uint32_t mantissa = k == 0 ? 0u : k == 1 ? 1u : k == 2 ? 0x7FFFFFu : rng.next() & 0x7FFFFFu;
        check(sign << 31 | exponent << 23 | mantissa);
      }
  for (int i = 0; i < 400000; ++i) check(rng.next());
  CHECK(failures == 0);
  CHECK(checked > 400000);
}

// Arbitrary decimal texts, as any JSON file may hold them: Json::parse must give the double that
// the C library's strtod gives (correctly rounded), bit for bit, on the fast path and off it.
TEST_CASE("json.numbers read as strtod reads them, on and off the fast path") {
  Rng rng(7);
  int failures = 0;
  auto check = [&](const std::string& text) {
    const double oracle = std::strtod(text.c_str(), nullptr);
    if (std::isinf(oracle)) {  // beyond the largest double: refused
      CHECK_THROWS_WITH_AS(parsed(text), doctest::Contains("number out of range"), Error);
      return;
    }
    const double got = parsed(text);
    if (bits_of(got) != bits_of(oracle) && ++failures <= 5)
      FAIL_CHECK(text << " read as the double of bits " << bits_of(got) << " but strtod reads bits " << bits_of(oracle));
  };
  for (int i = 0; i < 300000; ++i) {
    // 1 to 22 digits with the point anywhere (or none), an exponent that mostly keeps the value
    // near the fast path's limits of 10^+-22, sometimes far outside them.
    const int digits = 1 + int(rng.below(22));
    std::string mantissa;
    for (int d = 0; d < digits; ++d) mantissa += char('0' + (d == 0 && digits > 1 ? 1 + rng.below(9) : rng.below(10)));
    const int point = int(rng.below(uint32_t(digits + 1)));
    std::string text = rng.below(2) ? "-" : "";
    if (point == 0) text += "0." + mantissa;
    else if (point == digits) text += mantissa;
    else text += mantissa.substr(0, size_t(point)) + "." + mantissa.substr(size_t(point));
    const uint32_t kind = rng.below(4);
    if (kind > 0) {
      const int e = kind == 3 ? int(rng.below(661)) - 340 : int(rng.below(61)) - 30;
      text += (rng.below(2) ? "e" : "E") + std::to_string(e);
    }
    check(text);
  }
  // Float32 values as Python's json module writes a tensor's tolist(): 17 significant digits.
  for (int i = 0; i < 100000; ++i) {
    const float f = float_of(rng.next());
    if (!std::isfinite(f)) continue;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", double(f));
    check(buf);
    CHECK(float(parsed(buf)) == f);
  }
  // The edges: the fast path's bounds (2^53, 10^22), the largest, smallest and denormal doubles,
  // digits beyond what fits in 64 bits, zeros.
  for (const char* text :
       {"9007199254740992", "9007199254740993", "9007199254740992e22", "1e22", "1e23", "1e-22", "1e-23",
        "123456789e-22", "4.9406564584124654e-324", "2.2250738585072011e-308", "2.2250738585072014e-308",
        "1.7976931348623157e308", "12345678901234567890123456789", "0.30000000000000000000000000000001",
        "1000000000000000000000000000000e-30", "0.000000000000000000000000000001e30", "0e999", "-0.0e-999", "0",
        "2.4703282292062328e-324", "2.4703282292062327e-324", "1e-400", "17976931348623158e292"})
    check(text);
  CHECK(failures == 0);
  CHECK(std::signbit(parsed("-0")));
  CHECK(std::signbit(parsed("-0.0e5")));
  CHECK_FALSE(std::signbit(parsed("0")));
}

TEST_CASE("json.numbers outside JSON's grammar or double's range are refused") {
  for (const char* text : {"01", "-", "1.", ".5", "1e", "1e+", "-x", "+1", "0x10", "1.e3", "-inf", "NaN"})
    CHECK_THROWS_WITH_AS(Json::parse(text), doctest::Contains("invalid JSON at line 1"), Error);
  CHECK_THROWS_WITH_AS(Json::parse("01"), doctest::Contains("leading zero"), Error);
  CHECK_THROWS_WITH_AS(Json::parse("[1, 1e999]"), "invalid JSON at line 1, column 5: number out of range: 1e999", Error);
  CHECK_THROWS_WITH_AS(Json::parse("-1.8e308"), doctest::Contains("number out of range: -1.8e308"), Error);
}
