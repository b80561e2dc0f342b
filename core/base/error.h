// The one error type of BN Lab: every bad configuration, bad file or bad call throws it with a
// message meant for the person who caused it (a learner, a teacher, an engineer).
#pragma once

#include <stdexcept>
#include <string>

namespace bnlab {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace bnlab
