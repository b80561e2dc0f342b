// libFuzzer target: the option parser (train/config.h), as the CLI, the URL and state files
// use it. Each line "name=value" is set in turn; a value that is taken must come back from
// get_option as text that set_option takes again, giving the same config (what state files and
// URLs rely on). Also the whole-number parser of run options.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "base/error.h"
#include "train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string line;
  bnlab::Config c;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      try {
        bnlab::parse_whole_number(line, 0, 1000000000, "--eval-every");
      } catch (const bnlab::Error&) {
      }
      continue;
    }
    const std::string name = line.substr(0, eq), value = line.substr(eq + 1);
    try {
      bnlab::set_option(c, name, value);
    } catch (const bnlab::Error&) {
      continue;
    }
    const std::string text = bnlab::get_option(c, name);
    bnlab::Config again = c;
    bnlab::set_option(again, name, text);  // must not throw
    if (bnlab::get_option(again, name) != text) __builtin_trap();
  }
  try {
    bnlab::validate(c);
    bnlab::data_key(c);
    for (int64_t step : {int64_t(0), int64_t(1), int64_t(123456)})
      if (std::isnan(bnlab::learning_rate_at(c, step))) __builtin_trap();
  } catch (const bnlab::Error&) {
  }
  return 0;
}
