#include "data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/rng.h"
#include "data/idx.h"

namespace bnlab {
namespace {

enum Kind { kCircle, kSquare, kTriangle, kCross, kDiamond, kRing };
constexpr const char* kClassNames[kShapeClasses] = {"circle", "square",  "triangle",
                                                    "cross",  "diamond", "ring"};
constexpr int kSide = 28;
constexpr double kPi = 3.14159265358979323846;
constexpr double kDegree = kPi / 180.0;

// One shape in image coordinates, where pixel (i, j) has its centre at x = j + 0.5, y = i + 0.5.
// A polygon (square, triangle, diamond) is kept as its vertices around the origin and its edges'
// outward unit normals (nx, ny) with distances h from the origin: inside is {n_k . p <= h_k}.
struct Figure {
  int kind = kCircle;
  double cx = 0, cy = 0;        // centre
  double cos_a = 1, sin_a = 0;  // rotation
  double radius = 0;            // R: every part of the shape lies within R of the centre
  double thickness = 0;         // outline width, or bar width of a cross
  bool filled = true;
  int vertices = 0;
  double vx[4] = {}, vy[4] = {};
  double nx[4] = {}, ny[4] = {}, h[4] = {};
};

// Stores the convex polygon with `count` vertices (vx, vy), which must surround the origin.
void set_polygon(Figure& f, int count, const double* vx, const double* vy) {
  f.vertices = count;
  for (int k = 0; k < count; ++k) {
    const int next = (k + 1) % count;
    const double ex = vx[next] - vx[k], ey = vy[next] - vy[k];
    const double len = std::sqrt(ex * ex + ey * ey);
    double nx = ey / len, ny = -ex / len, h = nx * vx[k] + ny * vy[k];
    // The origin is inside, so the outward normal is the one with h > 0.
    if (h < 0) nx = -nx, ny = -ny, h = -h;
    f.vx[k] = vx[k], f.vy[k] = vy[k];
    f.nx[k] = nx, f.ny[k] = ny, f.h[k] = h;
  }
}

// Distance from p to the segment a-b.
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double ex = bx - ax, ey = by - ay;
  const double t = std::clamp(((px - ax) * ex + (py - ay) * ey) / (ex * ex + ey * ey), 0.0, 1.0);
  const double qx = px - ax - t * ex, qy = py - ay - t * ey;
  return std::sqrt(qx * qx + qy * qy);
}

// Exact signed distance to a box |u| <= a, |v| <= b (negative inside).
double box_distance(double u, double v, double a, double b) {
  const double qu = std::fabs(u) - a, qv = std::fabs(v) - b;
  const double ou = std::max(qu, 0.0), ov = std::max(qv, 0.0);
  return std::sqrt(ou * ou + ov * ov) + std::min(std::max(qu, qv), 0.0);
}

// Signed distance in pixels from (x, y) to the shape's boundary, negative inside: exact outside
// every shape, so the antialiased edge never reaches further than half a pixel beyond it.
double signed_distance(const Figure& f, double x, double y) {
  const double dx = x - f.cx, dy = y - f.cy;
  const double u = f.cos_a * dx + f.sin_a * dy, v = -f.sin_a * dx + f.cos_a * dy;
  const double half = 0.5 * f.thickness;
  switch (f.kind) {
    case kCircle:
      return std::sqrt(u * u + v * v) - f.radius;
    case kRing:
      // The stroke lies inside the radius: |r - (R - t/2)| <= t/2.
      return std::fabs(std::sqrt(u * u + v * v) - f.radius + half) - half;
    case kCross: {
      // Two bars whose corners touch the circle of radius R.
      const double arm = std::sqrt(f.radius * f.radius - half * half);
      return std::min(box_distance(u, v, arm, half), box_distance(u, v, half, arm));
    }
    default: {
      // Inside a convex polygon the nearest boundary point lies on the nearest edge line;
      // outside, on the nearest edge segment.
      double d = -1e30;
      for (int k = 0; k < f.vertices; ++k) d = std::max(d, f.nx[k] * u + f.ny[k] * v - f.h[k]);
      if (d > 0) {
        d = 1e30;
        for (int k = 0; k < f.vertices; ++k) {
          const int next = (k + 1) % f.vertices;
          d = std::min(d, segment_distance(u, v, f.vx[k], f.vy[k], f.vx[next], f.vy[next]));
        }
      }
      // An outline is the band of width t just inside the boundary.
      return f.filled ? d : std::fabs(d + half) - half;
    }
  }
}

// Draws the geometry of one shape of class `kind`. Every shape draws the same seven numbers,
// whichever it uses, so that the stream stays easy to follow.
Figure draw_figure(int kind, Rng& rng) {
  Figure f;
  f.kind = kind;
  f.radius = rng.uniform(6.0, 11.0);
  // Keep the shape and its antialiased edge inside the 28x28 image, with a pixel to spare.
  f.cx = rng.uniform(f.radius + 1.0, kSide - 1.0 - f.radius);
  f.cy = rng.uniform(f.radius + 1.0, kSide - 1.0 - f.radius);
  const double turn = rng.uniform();    // rotation, scaled per class below
  const double stroke = rng.uniform();  // thickness, scaled per class below
  f.filled = rng.uniform() < 0.5;
  const double aspect = rng.uniform(0.55, 0.8);  // the diamond's width / height

  double angle = 0.0;
  f.thickness = 1.5 + 2.0 * stroke;
  const double r = f.radius;
  switch (kind) {
    case kCircle:
      f.filled = true;
      break;
    case kRing:
      f.filled = false;
      break;
    case kSquare: {
      // Half side R / sqrt(2): the corners stay within R whatever the rotation.
      const double s = r / std::sqrt(2.0);
      const double vx[4] = {-s, s, s, -s}, vy[4] = {-s, -s, s, s};
      set_polygon(f, 4, vx, vy);
      angle = (2.0 * turn - 1.0) * 20.0 * kDegree;
      break;
    }
    case kTriangle: {
      double vx[3], vy[3];
      for (int k = 0; k < 3; ++k) {
        vx[k] = r * std::cos(kPi / 2 + k * 2 * kPi / 3);
        vy[k] = r * std::sin(kPi / 2 + k * 2 * kPi / 3);
      }
      set_polygon(f, 3, vx, vy);
      angle = turn * 2.0 * kPi;
      break;
    }
    case kCross:
      f.filled = true;
      f.thickness = 2.5 + 2.0 * stroke;
      angle = (2.0 * turn - 1.0) * 25.0 * kDegree;
      break;
    case kDiamond: {
      const double a = aspect * r;
      const double vx[4] = {0, a, 0, -a}, vy[4] = {-r, 0, r, 0};
      set_polygon(f, 4, vx, vy);
      angle = (2.0 * turn - 1.0) * 20.0 * kDegree;
      break;
    }
  }
  f.cos_a = std::cos(angle);
  f.sin_a = std::sin(angle);
  return f;
}

void check_style(const ShapeStyle& s) {
  const float values[] = {s.background, s.foreground, s.contrast, s.noise, s.jitter,
                          s.invert_fraction};
  for (float v : values)
    if (!std::isfinite(v)) throw Error("shape style: every value must be finite");
  if (s.contrast < 0 || s.noise < 0 || s.jitter < 0)
    throw Error("shape style: contrast, noise and jitter must be >= 0");
  if (s.invert_fraction < 0 || s.invert_fraction > 1)
    throw Error("shape style: invert_fraction must be in [0, 1], got " +
                std::to_string(s.invert_fraction));
}

}  // namespace

Dataset make_shapes(int count, uint32_t seed, const ShapeStyle& style) {
  if (count < 1 || count > kMaxSyntheticCount)
    throw Error("shapes: the number of images must be 1 to " +
                std::to_string(kMaxSyntheticCount) + ", got " + std::to_string(count));
  check_style(style);
  Dataset d;
  d.name = "shapes";
  d.channels = 1, d.height = kSide, d.width = kSide;
  d.num_classes = kShapeClasses;
  d.class_names.assign(kClassNames, kClassNames + kShapeClasses);

  Rng rng(stream_seed(seed, Stream::Synth));
  // Balanced labels 0,1,..,5,0,1,... in a shuffled order (Fisher-Yates).
  d.labels.resize(size_t(count));
  for (int i = 0; i < count; ++i) d.labels[size_t(i)] = i % kShapeClasses;
  for (int i = count - 1; i > 0; --i)
    std::swap(d.labels[size_t(i)], d.labels[rng.below(uint32_t(i + 1))]);

  d.images.resize(size_t(count) * kSide * kSide);
  for (int n = 0; n < count; ++n) {
    const Figure f = draw_figure(d.labels[size_t(n)], rng);
    const double bg = style.background + style.jitter * rng.uniform(-1.0, 1.0);
    const double fg = style.foreground + style.jitter * rng.uniform(-1.0, 1.0);
    const bool inverted = rng.uniform() < style.invert_fraction;
    float* image = d.images.data() + size_t(n) * kSide * kSide;
    for (int i = 0; i < kSide; ++i) {
      for (int j = 0; j < kSide; ++j) {
        const double coverage = std::clamp(0.5 - signed_distance(f, j + 0.5, i + 0.5), 0.0, 1.0);
        double p = bg + (fg - bg) * coverage;
        if (inverted) p = 1.0 - p;
        p = 0.5 + style.contrast * (p - 0.5);
        p += style.noise * rng.normal();
        image[i * kSide + j] = float(std::clamp(p, 0.0, 1.0));
      }
    }
  }
  return d;
}

ShapeStyle shift_test_style() {
  ShapeStyle s;
  s.background = 0.4f;
  s.foreground = 1.f;
  s.contrast = 0.5f;
  s.invert_fraction = 0.25f;
  return s;
}

Dataset restyle(const Dataset& data, const ShapeStyle& style, uint32_t seed) {
  check_style(style);
  Dataset d = data;
  Rng rng(stream_seed(seed, Stream::Synth));
  const int64_t per = d.image_size();
  for (int n = 0; n < d.size(); ++n) {
    const double bg = style.background + style.jitter * rng.uniform(-1.0, 1.0);
    const double fg = style.foreground + style.jitter * rng.uniform(-1.0, 1.0);
    const bool inverted = rng.uniform() < style.invert_fraction;
    float* image = d.images.data() + n * per;
    for (int64_t i = 0; i < per; ++i) {
      double p = bg + (fg - bg) * std::clamp(double(image[i]), 0.0, 1.0);
      if (inverted) p = 1.0 - p;
      p = 0.5 + style.contrast * (p - 0.5);
      p += style.noise * rng.normal();
      image[i] = float(std::clamp(p, 0.0, 1.0));
    }
  }
  return d;
}

DataSplit make_synthetic(const std::string& name, uint32_t seed, int train_count,
                         int test_count) {
  if (name != "shapes" && name != "shift")
    throw Error("unknown synthetic dataset '" + name + "'; valid names: shapes, shift");
  const uint32_t test_seed = seed ^ 0x7E57DA7Au;
  DataSplit split{make_shapes(train_count, seed, ShapeStyle()),
                  make_shapes(test_count, test_seed,
                              name == "shift" ? shift_test_style() : ShapeStyle())};
  split.train.name = split.test.name = name;
  return split;
}

DataSplit make_dataset(const std::string& name, uint32_t seed, const std::string& data_dir) {
  if (name == "mnist") return load_mnist(data_dir);
  if (name == "fashion") return load_fashion(data_dir);
  if (name == "shapes" || name == "shift") return make_synthetic(name, seed, 8000, 2000);
  throw Error("unknown dataset '" + name + "'; valid names: mnist, fashion, shapes, shift");
}

}  // namespace bnlab
