#include "data/idx.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/error.h"

namespace bnlab {
namespace {

std::string hex(uint32_t v, int digits) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string s(size_t(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[size_t(i)] = kDigits[v & 15];
  return "0x" + s;
}

std::string type_name(uint8_t type) {
  switch (type) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

uint32_t read_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// The header of one IDX file, checked against what the caller accepts, and the file checked to
// hold exactly the data the header announces.
struct IdxHeader {
  uint8_t type = 0;
  std::vector<uint32_t> dims;
  size_t data_offset = 0;  // 4 + 4 * dims.size()
};

IdxHeader read_header(const uint8_t* bytes, size_t len, const std::string& what,
                      const std::vector<uint8_t>& types, const std::vector<size_t>& ranks,
                      const std::string& ranks_text) {
  if (len >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
    throw Error(what + " is gzip-compressed (starts with 1F 8B): decompress the .gz first "
                "(gunzip), BN Lab reads plain IDX files");
  if (len < 4)
    throw Error(what + " is truncated: an IDX header needs at least 4 bytes, found " +
                std::to_string(len));
  const uint32_t magic = read_be32(bytes);
  if (bytes[0] != 0 || bytes[1] != 0)
    throw Error(what + " has wrong magic number " + hex(magic, 8) +
                ": not an IDX file (IDX files start with 00 00, e.g. 0x00000803 for uint8 "
                "images, 0x00000801 for uint8 labels)");
  IdxHeader h;
  h.type = bytes[2];
  bool type_ok = false;
  std::string supported;
  for (uint8_t t : types) {
    type_ok = type_ok || t == h.type;
    supported += (supported.empty() ? "" : " or ") + hex(t, 2) + " (" + type_name(t) + ")";
  }
  if (!type_ok)
    throw Error(what + " has unsupported data type " + hex(h.type, 2) + " (" +
                type_name(h.type) + "); supported: " + supported);
  const size_t rank = bytes[3];
  bool rank_ok = false;
  for (size_t r : ranks) rank_ok = rank_ok || r == rank;
  if (!rank_ok)
    throw Error(what + " has " + std::to_string(rank) + " dimensions; expected " + ranks_text);
  h.data_offset = 4 + 4 * rank;
  if (len < h.data_offset)
    throw Error(what + " is truncated: its header needs " + std::to_string(h.data_offset) +
                " bytes, found " + std::to_string(len));
  for (size_t k = 0; k < rank; ++k) h.dims.push_back(read_be32(bytes + 4 + 4 * k));
  return h;
}

// Checks that the file holds exactly header + count * element_size bytes. count is computed by
// the caller from dims that are already capped, so it cannot overflow 64 bits.
void check_length(size_t len, const IdxHeader& h, uint64_t count, const std::string& what) {
  const uint64_t element = h.type == 0x0D ? 4 : 1;
  const uint64_t expected = h.data_offset + count * element;
  std::string dims;
  for (uint32_t d : h.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
  if (uint64_t(len) < expected)
    throw Error(what + " is truncated: its header announces " + dims + " " + type_name(h.type) +
                " values, so " + std::to_string(expected) + " bytes expected, found " +
                std::to_string(len));
  if (uint64_t(len) > expected)
    throw Error(what + " has " + std::to_string(uint64_t(len) - expected) +
                " bytes of trailing data after the " + std::to_string(expected) +
                " bytes its header announces (" + dims + " " + type_name(h.type) + " values)");
}

Dataset parse(const uint8_t* images, size_t images_len, const uint8_t* labels, size_t labels_len,
              const std::string& name, const std::string& images_what,
              const std::string& labels_what) {
  const IdxHeader ih = read_header(images, images_len, images_what, {0x08, 0x0D}, {3, 4},
                                   "3 (n, height, width) or 4 (n, channels, height, width)");
  const IdxHeader lh = read_header(labels, labels_len, labels_what, {0x08}, {1}, "1 (n)");

  // Shape (n, c, h, w); caps first, so that the size computations below stay small.
  const uint32_t n = ih.dims[0];
  const uint32_t c = ih.dims.size() == 4 ? ih.dims[1] : 1;
  const uint32_t height = ih.dims[ih.dims.size() - 2], width = ih.dims.back();
  if (c < 1 || c > uint32_t(kIdxMaxChannels))
    throw Error(images_what + " has " + std::to_string(c) + " channels; BN Lab accepts 1 to " +
                std::to_string(kIdxMaxChannels));
  if (height < 1 || width < 1 || height > uint32_t(kIdxMaxSide) || width > uint32_t(kIdxMaxSide))
    throw Error(images_what + " has images of " + std::to_string(height) + "x" +
                std::to_string(width) + " pixels; BN Lab accepts 1x1 to " +
                std::to_string(kIdxMaxSide) + "x" + std::to_string(kIdxMaxSide));
  const uint64_t per_image = uint64_t(c) * height * width;
  if (uint64_t(n) * per_image > kIdxMaxValues)
    throw Error(images_what + " announces " + std::to_string(n) + " images of " + std::to_string(per_image) +
                " values, more than BN Lab's limit of " + std::to_string(kIdxMaxValues) + " values per file");
  check_length(images_len, ih, uint64_t(n) * per_image, images_what);
  check_length(labels_len, lh, lh.dims[0], labels_what);
  if (n != lh.dims[0])
    throw Error(images_what + " has " + std::to_string(n) + " images but " + labels_what +
                " has " + std::to_string(lh.dims[0]) + " labels");
  if (n == 0) throw Error(images_what + " contains zero images");

  Dataset d;
  d.name = name;
  d.channels = int(c);
  d.height = int(height);
  d.width = int(width);
  d.labels.resize(n);
  int max_label = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const int label = labels[lh.data_offset + i];
    if (label >= kIdxMaxClasses)
      throw Error(labels_what + ": label " + std::to_string(label) + " of example " +
                  std::to_string(i) + " is too large; BN Lab accepts at most " +
                  std::to_string(kIdxMaxClasses) + " classes (labels 0 to " +
                  std::to_string(kIdxMaxClasses - 1) + ")");
    d.labels[i] = label;
    max_label = std::max(max_label, label);
  }
  d.num_classes = max_label + 1;
  for (int k = 0; k < d.num_classes; ++k) d.class_names.push_back(std::to_string(k));

  const uint64_t count = uint64_t(n) * per_image;
  d.images.resize(size_t(count));
  const uint8_t* data = images + ih.data_offset;
  if (ih.type == 0x08) {
    for (uint64_t i = 0; i < count; ++i) d.images[size_t(i)] = float(data[i]) / 255.f;
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      const uint32_t bits = read_be32(data + 4 * i);
      float v;
      std::memcpy(&v, &bits, sizeof v);
      if (!std::isfinite(v))
        throw Error(images_what + ": pixel " + std::to_string(i % per_image) + " of image " +
                    std::to_string(i / per_image) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                    "; float32 pixels must be finite");
      d.images[size_t(i)] = v;
    }
  }
  return d;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("IDX file '" + path + "' is missing (or is not a regular file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open IDX file '" + path + "' for reading");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read the size of IDX file '" + path + "': " + ec.message());
  if (size > 64 + 4 * kIdxMaxValues)
    throw Error("IDX file '" + path + "' is " + std::to_string(size) + " bytes, larger than an IDX file of " +
                std::to_string(kIdxMaxValues) + " values (BN Lab's limit) can be");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
  if (!in) throw Error("cannot read IDX file '" + path + "'");
  return bytes;
}

}  // namespace

Dataset parse_idx(const uint8_t* images, size_t images_len, const uint8_t* labels,
                  size_t labels_len, const std::string& name) {
  return parse(images, images_len, labels, labels_len, name, "'" + name + "' images",
               "'" + name + "' labels");
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  const std::vector<uint8_t> images = read_file(images_path);
  const std::vector<uint8_t> labels = read_file(labels_path);
  return parse(images.data(), images.size(), labels.data(), labels.size(),
               std::filesystem::path(images_path).stem().string(),
               "IDX file '" + images_path + "'", "IDX file '" + labels_path + "'");
}

namespace {

// Names a split and its classes; `what` names it in the error for a label beyond them.
void name_classes(DataSplit& split, const std::string& name, const std::string& what,
                  const std::vector<std::string>& class_names) {
  const int classes = std::max(split.train.num_classes, split.test.num_classes);
  if (classes > int(class_names.size()))
    throw Error(what + ": labels go up to " + std::to_string(classes - 1) + ", but it has " +
                std::to_string(class_names.size()) + " classes");
  for (Dataset* d : {&split.train, &split.test}) {
    d->name = name;
    d->num_classes = int(class_names.size());
    d->class_names = class_names;
  }
}

// The four files <prefix>-{train,test}-{images,labels}.idx that the build writes into dir (the
// converter `script`), named `name` with the given class names. `title` names the data in errors.
DataSplit load_built(const std::string& dir, const std::string& prefix, const std::string& name,
                     const std::string& title, const std::string& script,
                     const std::vector<std::string>& class_names) {
  const std::filesystem::path root(dir);
  const auto file = [&](const char* part) { return root / (prefix + "-" + part + ".idx"); };
  for (const char* part : {"train-images", "train-labels", "test-images", "test-labels"}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file(part), ec))
      throw Error(title + " file '" + file(part).string() + "' is missing. BN Lab converts " +
                  title + " at build time: run `npm ci` in the project root, then `cmake --build " +
                  "build/native` (or directly `node core/data/" + script + " " + dir + "`)");
  }
  DataSplit split{load_idx(file("train-images").string(), file("train-labels").string()),
                  load_idx(file("test-images").string(), file("test-labels").string())};
  if (split.train.image_shape() != split.test.image_shape())
    throw Error(title + " in '" + dir + "': training images are " +
                split.train.image_shape().str() + " but test images are " +
                split.test.image_shape().str());
  name_classes(split, name, title + " in '" + dir + "'", class_names);
  return split;
}

}  // namespace

DataSplit load_mnist(const std::string& dir) {
  std::vector<std::string> digits;
  for (int k = 0; k < 10; ++k) digits.push_back(std::to_string(k));
  return load_built(dir, "mnist", "mnist", "MNIST", "make_mnist.mjs", digits);
}

const std::vector<std::string>& fashion_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

DataSplit load_fashion(const std::string& dir) {
  return load_built(dir, "fashion", "fashion", "Fashion-MNIST", "make_fashion.mjs",
                    fashion_class_names());
}

void name_fashion_classes(DataSplit& split) {
  name_classes(split, "fashion", "Fashion-MNIST", fashion_class_names());
}

}  // namespace bnlab
