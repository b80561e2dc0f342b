// Summary statistics of a list of measurements, shared by the experiments and the benchmark.
// An empty list has no median or mean: both return NaN, so that a missing figure shows as NaN
// (null in JSON) rather than as a number.
#pragma once

#include <vector>

namespace bnlab {

double median(std::vector<double> v);
double mean(const std::vector<double>& v);

}  // namespace bnlab
