#include "io/csv.h"

#include <cmath>
#include <cstdio>

namespace bnlab {

std::string csv_row(const std::vector<std::string>& cells) {
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) s += ',';
    if (cells[i].find_first_of(",\"\r\n") == std::string::npos) {
      s += cells[i];
      continue;
    }
    s += '"';
    for (char c : cells[i]) s += c == '"' ? std::string("\"\"") : std::string(1, c);
    s += '"';
  }
  return s + "\n";
}

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return buf;
}

}  // namespace bnlab
