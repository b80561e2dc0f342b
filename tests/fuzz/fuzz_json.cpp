// libFuzzer target: the JSON reader (io/json.h). Whatever it accepts, it writes back as text
// that reads as the same value (dump, parse, dump gives the same text).
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "io/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const bnlab::Json j = bnlab::Json::parse(text);
    const std::string once = j.dump();
    if (bnlab::Json::parse(once).dump() != once) __builtin_trap();
  } catch (const bnlab::Error&) {
  }
  return 0;
}
