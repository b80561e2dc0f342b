#include "data/dataset.h"

#include "base/error.h"

namespace bnlab {

void Dataset::check() const {
  const std::string what = "dataset '" + name + "'";
  if (labels.empty()) throw Error(what + " has no examples");
  if (channels < 1 || height < 1 || width < 1)
    throw Error(what + " has an empty image shape " + image_shape().str());
  if (int64_t(images.size()) != int64_t(labels.size()) * image_size())
    throw Error(what + " has " + std::to_string(images.size()) + " pixel values for " +
                std::to_string(labels.size()) + " images of shape " + image_shape().str());
  if (num_classes < 1 || int(class_names.size()) != num_classes)
    throw Error(what + " has " + std::to_string(class_names.size()) + " class names for " +
                std::to_string(num_classes) + " classes");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw Error(what + ": label " + std::to_string(labels[i]) + " of example " +
                  std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
}

}  // namespace bnlab
