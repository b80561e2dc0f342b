#include "io/json.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"

namespace bnlab {

// Clinger's fast path below needs each double operation rounded once, to double (not to x87's
// 80-bit registers first).
static_assert(FLT_EVAL_METHOD == 0, "json.cpp's number parsing needs double arithmetic in double precision");

namespace {

const char* type_name(Json::Type t) {
  switch (t) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "a boolean";
    case Json::Type::Number: return "a number";
    case Json::Type::String: return "a string";
    case Json::Type::Array: return "an array";
    case Json::Type::Object: return "an object";
  }
  return "?";
}

}  // namespace

// Recursive-descent parser over the whole text; pos_ is a byte offset.
class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : s_(text) {}

  Json parse_document() {
    Json v = parse_value(0);
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    throw Error("invalid JSON at line " + std::to_string(line) + ", column " +
                std::to_string(col) + ": " + what);
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool eat_word(const char* w) {
    const size_t n = std::char_traits<char>::length(w);
    if (s_.compare(pos_, n, w) == 0) { pos_ += n; return true; }
    return false;
  }

  Json parse_value(int depth) {
    if (depth > 64) fail("nested too deeply");
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end of text");
    const char c = s_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (eat_word("true")) return Json(true);
    if (eat_word("false")) return Json(false);
    if (eat_word("null")) return Json();
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    fail(std::string("unexpected character '") + c + "'");
  }
  Json parse_object(int depth) {
    Json obj = Json::object();
    expect('{');
    if (eat('}')) return obj;
    do {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a key in quotes");
      const size_t key_pos = pos_;
      std::string key = parse_string();
      if (obj.index_of(key) >= 0) {
        pos_ = key_pos;
        fail("the key \"" + key.substr(0, 60) + "\" appears twice in this object");
      }
      expect(':');
      obj.append(std::move(key), parse_value(depth + 1));
    } while (eat(','));
    expect('}');
    return obj;
  }
  Json parse_array(int depth) {
    Json arr = Json::array();
    expect('[');
    if (eat(']')) return arr;
    do {
      arr.push(parse_value(depth + 1));
    } while (eat(','));
    expect(']');
    return arr;
  }
  // A number of JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, as the double
  // nearest to its exact decimal value (what a correctly rounding strtod returns; both glibc's
  // and musl's do). State files hold hundreds of thousands of numbers, and musl's strtod (the
  // WebAssembly build's) takes microseconds for each, so the common case takes Clinger's fast
  // path (W. D. Clinger, "How to read floating point numbers accurately", PLDI 1990):
  //   the digits, without the decimal point and leading zeros, form an integer w <= 2^53, and
  //   the value is w * 10^e with |e| <= 22.
  // Then w and 10^|e| (5^22 < 2^53) are both exact doubles, and one IEEE multiplication or
  // division rounds their exact product or quotient to the nearest double: the correctly rounded
  // result, in a single rounding. Every other number (more than 15-16 digits, tiny or huge
  // exponents, denormals) goes to strtod. A float32 written with 9 significant digits, as state
  // files write them, takes the fast path unless it is below about 1e-14 or above 1e22.
  Json parse_number() {
    const size_t begin = pos_;
    const bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    uint64_t w = 0;         // the significant digits read so far, as an integer
    int kept = 0;           // digits in w, not counting leading zeros
    int exponent = 0;       // the value is w * 10^exponent
    bool truncated = false; // a non-zero digit did not fit in w
    auto digit_at = [&](size_t i) { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; };
    auto take_digit = [&](bool fraction) {
      const int d = s_[pos_++] - '0';
      if (kept < 19) {  // 10^19 - 1 < 2^64: w cannot overflow
        w = w * 10 + uint64_t(d);
        if (w != 0) ++kept;
        if (fraction) --exponent;
      } else {
        truncated |= d != 0;
        if (!fraction) ++exponent;
      }
    };
    if (!digit_at(pos_)) fail("malformed number (expected a digit)");
    if (s_[pos_] == '0') {
      ++pos_;
      if (digit_at(pos_)) fail("malformed number (a leading zero)");
    } else {
      while (digit_at(pos_)) take_digit(false);
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digit_at(pos_)) fail("malformed number (expected a digit after '.')");
      while (digit_at(pos_)) take_digit(true);
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      bool negative_exponent = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) negative_exponent = s_[pos_++] == '-';
      if (!digit_at(pos_)) fail("malformed number (expected a digit in the exponent)");
      int e = 0;
      while (digit_at(pos_)) e = std::min(e * 10 + (s_[pos_++] - '0'), 100000);  // saturates far out of range
      exponent += negative_exponent ? -e : e;
    }
    // 10^0 ... 10^22: exact doubles.
    static constexpr double kPowersOf10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double v;  // the magnitude
    if (w == 0) {
      v = 0.0;  // "-0" is negative zero
    } else if (!truncated && w <= (uint64_t(1) << 53) && exponent >= -22 && exponent <= 22) {
      v = exponent < 0 ? double(w) / kPowersOf10[-exponent] : double(w) * kPowersOf10[exponent];
    } else {
      // The text was checked above, so strtod reads exactly its digits (its own grammar is wider:
      // hex, "inf", ...; a copy of the number stops it at the number's end).
      const size_t first = begin + (negative ? 1 : 0);
      const std::string digits = s_.substr(first, pos_ - first);
      errno = 0;
      v = std::strtod(digits.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(v)) {
        const std::string text = s_.substr(begin, std::min<size_t>(pos_ - begin, 40));
        pos_ = begin;
        fail("number out of range: " + text);
      }
    }
    return Json(negative ? -v : v);
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  static std::string hex4(uint32_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04X", unsigned(v));
    return buf;
  }
  uint32_t parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') v |= uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= uint32_t(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }
  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') { out += c; continue; }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          // UTF-16 in escapes: a character beyond U+FFFF is a high surrogate (D800-DBFF)
          // followed by a low one (DC00-DFFF). Half a pair is no character: refused, not turned
          // into bytes that are not UTF-8.
          const size_t escape_pos = pos_ - 2;
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp < 0xE000) {
            pos_ = escape_pos;
            fail("unpaired surrogate \\u" + hex4(cp) + " (a low surrogate without a high one before it)");
          }
          if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo = 0;
            if (s_.compare(pos_, 2, "\\u") == 0) {
              pos_ += 2;
              lo = parse_hex4();
            }
            if (lo < 0xDC00 || lo >= 0xE000) {
              pos_ = escape_pos;
              fail("unpaired surrogate \\u" + hex4(cp) + " (a high surrogate must be followed by a \\u escape of a low one, DC00-DFFF)");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(std::string("unknown escape \\") + e);
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

namespace {

void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

Json Json::parse(const std::string& text) { return JsonParser(text).parse_document(); }

Json::Json(const Json& other)
    : type_(other.type_),
      bool_(other.bool_),
      number_(other.number_),
      string_(other.string_),
      items_(other.items_),
      members_(other.members_),
      index_(other.index_ ? std::make_unique<std::unordered_map<std::string, size_t>>(*other.index_)
                          : nullptr) {}

Json& Json::operator=(const Json& other) {
  if (this != &other) {
    Json copy(other);
    *this = std::move(copy);
  }
  return *this;
}

std::ptrdiff_t Json::index_of(const std::string& key) const {
  if (index_) {
    const auto it = index_->find(key);
    return it == index_->end() ? -1 : std::ptrdiff_t(it->second);
  }
  for (size_t i = 0; i < members_.size(); ++i)
    if (members_[i].first == key) return std::ptrdiff_t(i);
  return -1;
}

Json& Json::append(std::string key, Json value) {
  members_.emplace_back(std::move(key), std::move(value));
  if (!index_ && members_.size() > kIndexFrom) {
    index_ = std::make_unique<std::unordered_map<std::string, size_t>>();
    index_->reserve(members_.size() * 2);
    for (size_t i = 0; i < members_.size(); ++i) index_->emplace(members_[i].first, i);
  } else if (index_) {
    index_->emplace(members_.back().first, members_.size() - 1);
  }
  return members_.back().second;
}

double Json::number(const std::string& what) const {
  if (type_ != Type::Number) throw Error(what + " must be a number, not " + type_name(type_));
  return number_;
}
int64_t Json::integer(const std::string& what) const {
  const double v = number(what);
  if (v != std::floor(v) || std::fabs(v) > 9.007199254740992e15)
    throw Error(what + " must be a whole number");
  return int64_t(v);
}
const std::string& Json::string(const std::string& what) const {
  if (type_ != Type::String) throw Error(what + " must be a string, not " + type_name(type_));
  return string_;
}
bool Json::boolean(const std::string& what) const {
  if (type_ != Type::Bool) throw Error(what + " must be true or false, not " + type_name(type_));
  return bool_;
}
const std::vector<Json>& Json::items(const std::string& what) const {
  if (type_ != Type::Array) throw Error(what + " must be an array, not " + type_name(type_));
  return items_;
}
const std::vector<std::pair<std::string, Json>>& Json::members(const std::string& what) const {
  if (type_ != Type::Object) throw Error(what + " must be an object, not " + type_name(type_));
  return members_;
}
const Json* Json::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  const std::ptrdiff_t i = index_of(key);
  return i < 0 ? nullptr : &members_[size_t(i)].second;
}
const Json& Json::get(const std::string& key) const {
  if (type_ != Type::Object) throw Error("expected an object holding \"" + key + "\"");
  const Json* v = find(key);
  if (!v) throw Error("missing \"" + key + "\"");
  return *v;
}
Json& Json::set(const std::string& key, Json value) {
  if (type_ != Type::Object) throw Error("set(\"" + key + "\") on a JSON value that is not an object");
  const std::ptrdiff_t i = index_of(key);
  if (i >= 0) return members_[size_t(i)].second = std::move(value);
  return append(key, std::move(value));
}
Json& Json::push(Json value) {
  if (type_ != Type::Array) throw Error("push on a JSON value that is not an array");
  items_.push_back(std::move(value));
  return items_.back();
}

std::string Json::dump(bool float_precision) const {
  std::string out;
  dump_to(out, float_precision);
  return out;
}

void Json::dump_to(std::string& out, bool float_precision) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number: {
      if (!std::isfinite(number_)) {
        // JSON has no NaN or Inf; a state with them is written as null and refused on load.
        out += "null";
        break;
      }
      char buf[32];
      if (number_ == std::floor(number_) && std::fabs(number_) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", number_);
      else
        std::snprintf(buf, sizeof buf, float_precision ? "%.9g" : "%.17g", number_);
      out += buf;
      break;
    }
    case Type::String: dump_string(out, string_); break;
    case Type::Array: {
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        items_[i].dump_to(out, float_precision);
      }
      out += ']';
      break;
    }
    case Type::Object: {
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        dump_string(out, members_[i].first);
        out += ':';
        members_[i].second.dump_to(out, float_precision);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace bnlab
