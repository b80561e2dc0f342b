#include "experiments_list.h"

namespace bnlab {

std::vector<ExperimentInfo> normalization_experiments() { return {}; }

}  // namespace bnlab
