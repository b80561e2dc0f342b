#include "experiments_list.h"

namespace bnlab {

std::vector<ExperimentInfo> training_experiments() { return {}; }

}  // namespace bnlab
