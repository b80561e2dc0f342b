// A small JSON reader and writer for state files and configs (the core depends on Eigen only).
// Objects keep their key order, so a saved state reads in the order it was written, and find
// their keys through a hash index once they have more than a few: reading an object of n keys
// takes time linear in n (a file with 200,000 keys must not take minutes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

namespace bnlab {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;
  Json(const Json& other);
  Json(Json&& other) noexcept = default;
  Json& operator=(const Json& other);
  Json& operator=(Json&& other) noexcept = default;
  ~Json() = default;
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double d) : type_(Type::Number), number_(d) {}
  Json(int i) : type_(Type::Number), number_(i) {}
  Json(int64_t i) : type_(Type::Number), number_(double(i)) {}
  Json(const char* s) : type_(Type::String), string_(s) {}
  Json(std::string s) : type_(Type::String), string_(std::move(s)) {}
  static Json array() { Json j; j.type_ = Type::Array; return j; }
  static Json object() { Json j; j.type_ = Type::Object; return j; }
  // Parses text; throws Error with the line and column of the first problem. Numbers follow
  // JSON's grammar strictly and read as the double nearest to their decimal value, as a
  // correctly rounding strtod reads them (json.cpp); one beyond the doubles' range is an error.
  // Refused as well: a key twice in one object (which value would count?), a \u escape of half
  // a surrogate pair (no character), nesting deeper than 64.
  static Json parse(const std::string& text);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed access; `what` names the value in the error thrown when the type is wrong.
  double number(const std::string& what = "value") const;
  int64_t integer(const std::string& what = "value") const;  // must be a whole number
  const std::string& string(const std::string& what = "value") const;
  bool boolean(const std::string& what = "value") const;
  const std::vector<Json>& items(const std::string& what = "value") const;
  const std::vector<std::pair<std::string, Json>>& members(const std::string& what = "value") const;

  // Object access: get() throws Error naming the missing key; find() returns nullptr.
  const Json& get(const std::string& key) const;
  const Json* find(const std::string& key) const;
  Json& set(const std::string& key, Json value);  // appends or replaces
  Json& push(Json value);                         // arrays

  // Compact text. Numbers print with 17 significant digits, or 9 when float_precision is set
  // (enough for a float32 to read back bit-identically).
  std::string dump(bool float_precision = false) const;

 private:
  void dump_to(std::string& out, bool float_precision) const;
  // Index of a key in members_, or -1.
  std::ptrdiff_t index_of(const std::string& key) const;
  // Appends a key known to be new (keeps the index up to date).
  Json& append(std::string key, Json value);
  friend class JsonParser;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
  // Key -> position in members_, made when an object grows past kIndexFrom keys (a linear
  // search is faster below that, and most objects of a state file are small).
  static constexpr size_t kIndexFrom = 16;
  std::unique_ptr<std::unordered_map<std::string, size_t>> index_;
};

}  // namespace bnlab
