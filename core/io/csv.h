// CSV as the core writes it (RFC 4180): the experiments' tables and the CLI's training metrics.
#pragma once

#include <string>
#include <vector>

namespace bnlab {

// One line: cells separated by commas, a cell with a comma, quote or line break quoted (quotes
// doubled), then "\n".
std::string csv_row(const std::vector<std::string>& cells);

// A number for a cell or a line of text: up to 7 significant digits, "nan" for NaN.
std::string fmt(double v);

}  // namespace bnlab
