// A labelled image dataset held in memory, and a train/test pair of them.
//
// Images are stored as one float vector of shape (n, C, H, W) in the row-major NCHW order of
// tensor.h, so a batch is a plain copy of consecutive images.
#pragma once

#include <string>
#include <vector>

#include "base/tensor.h"

namespace bnlab {

struct Dataset {
  std::string name;  // "mnist", "fashion", "shapes", "shift", or the file name of an IDX image file
  int channels = 1, height = 28, width = 28;
  int num_classes = 10;
  // (n, C, H, W). Values in [0, 1] for every built-in dataset and for uint8 IDX files (byte/255);
  // float32 IDX files are taken as they are.
  std::vector<float> images;
  std::vector<int> labels;                // (n), each in [0, num_classes)
  std::vector<std::string> class_names;  // (num_classes), "0".."9" for digits

  int size() const { return int(labels.size()); }
  int64_t image_size() const { return int64_t(channels) * height * width; }  // C*H*W
  Shape image_shape() const { return Shape{1, channels, height, width}; }
  // Throws Error, naming the dataset, unless it is non-empty and its members agree in size
  // (images has size() * C*H*W values, labels are in range, one name per class).
  void check() const;
};

struct DataSplit {
  Dataset train, test;
};

}  // namespace bnlab
