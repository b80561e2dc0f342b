// Reading datasets in the IDX format of the original MNIST files (LeCun et al.).
//
// An IDX file is a big-endian header followed by the data, row-major:
//   bytes 0-1  zero
//   byte  2    data type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//   byte  3    number of dimensions d
//   then d uint32 sizes (big-endian), then the values (big-endian when wider than a byte).
// BN Lab reads image files of type uint8 (scaled by 1/255 into [0, 1]) or float32 (taken as
// they are, must be finite) with 3 dims (n, h, w) or 4 dims (n, c, h, w), and label files of type
// uint8 with 1 dim (n). Gzip-compressed files (.gz) are refused: decompress them first.
//
// Limits, so that a wrong file fails with a message instead of exhausting memory: at most 4
// channels, images at most 256x256, at most 100 classes (labels 0..99), at most kIdxMaxValues
// pixel values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace bnlab {

inline constexpr int kIdxMaxChannels = 4;
inline constexpr int kIdxMaxSide = 256;
inline constexpr int kIdxMaxClasses = 100;
// At most 2^27 pixel values per image file (134 million: 512 MiB as float32; MNIST's 60,000
// training digits are 47 million), checked from the header before anything is allocated; a file
// larger than such an image file can be is refused before it is read.
inline constexpr uint64_t kIdxMaxValues = uint64_t(1) << 27;

// Parses an image file and a label file held in memory (the WebAssembly build receives the bytes
// from JavaScript). num_classes = largest label + 1, class names "0", "1", ...
// Throws Error naming "<name> images" or "<name> labels" and the problem.
Dataset parse_idx(const uint8_t* images, size_t images_len, const uint8_t* labels,
                  size_t labels_len, const std::string& name);

// The same from two files; errors name the file. The dataset is named after the image file
// (its file name without the extension).
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// The four files written by core/data/make_mnist.mjs into dir: mnist-train-images.idx,
// mnist-train-labels.idx, mnist-test-images.idx, mnist-test-labels.idx. Both datasets are named
// "mnist" and have 10 classes "0".."9".
// A missing file throws Error saying how to build them; labels of 10 or more throw Error too.
DataSplit load_mnist(const std::string& dir);

// The ten Fashion-MNIST classes, label 0 to 9: T-shirt/top, Trouser, ..., Ankle boot.
const std::vector<std::string>& fashion_class_names();

// The four files written by core/data/make_fashion.mjs into dir: fashion-train-images.idx,
// fashion-train-labels.idx (60,000), fashion-test-images.idx, fashion-test-labels.idx (10,000).
// Both datasets are named "fashion" with the class names above; errors as load_mnist's.
DataSplit load_fashion(const std::string& dir);

// Gives a split parsed from Fashion-MNIST's bytes (parse_idx: classes "0".."9") the ten class
// names; throws Error when a label is 10 or more.
void name_fashion_classes(DataSplit& split);

}  // namespace bnlab
