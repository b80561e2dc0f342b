// libFuzzer target: the IDX reader (data/idx.h) on any pair of files. The first two bytes give
// the length of the image file (modulo the input); the rest is the label file. Accepted or
// refused with bnlab::Error, never anything else.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = (size_t(data[0]) << 8 | data[1]) % (size - 1);
  const uint8_t* images = data + 2;
  try {
    const bnlab::Dataset d =
        bnlab::parse_idx(images, split, images + split, size - 2 - split, "fuzz");
    // What the trainer relies on: as many labels as images, each below num_classes.
    if (d.labels.size() * size_t(d.channels) * size_t(d.height) * size_t(d.width) !=
        d.images.size())
      __builtin_trap();
    for (int label : d.labels)
      if (label < 0 || label >= d.num_classes) __builtin_trap();
  } catch (const bnlab::Error&) {
  }
  return 0;
}
