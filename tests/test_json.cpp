#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "../core/error.h"
#include "../core/json.h"

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
