// Synthetic datasets drawn by BN Lab itself: 28x28 grey images of six shapes, and a covariate-
// shift pair built from them. Every image is a pure function of the seed (bnlab::Rng only), so a
// run reproduces its data on every platform.
//
// Classes (label: name):
//   0 circle    filled disk
//   1 square    filled or outlined, rotated by up to +-20 degrees
//   2 triangle  equilateral, filled or outlined, any rotation
//   3 cross     a plus sign of two bars, rotated by up to +-25 degrees
//   4 diamond   a rhombus (width 0.55-0.8 of its height), filled or outlined, rotated up to +-20
//   5 ring      an annulus (outlined circle)
// Each shape fits a circle of radius R in [6, 11] pixels centred at a random position that keeps
// it inside the image; outlines are 1.5 to 3.5 pixels thick, the bars of a cross 2.5 to 4.5.
// Edges are antialiased: a pixel's coverage is clamp(0.5 - d, 0, 1) for the signed distance d
// (in pixels) from its centre to the shape's boundary. So the outermost row and column of every
// image show the background alone.
#pragma once

#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace bnlab {

// How coverage a in [0, 1] becomes a pixel value, per image:
//   bg, fg = background, foreground, each moved by U(-jitter, +jitter)
//   p = bg + (fg - bg) * a
//   p = 1 - p                  for a fraction invert_fraction of the images (drawn per image)
//   p = 0.5 + contrast * (p - 0.5)
//   p = clamp(p + noise * N(0, 1), 0, 1)
struct ShapeStyle {
  float background = 0.f;
  float foreground = 1.f;
  float contrast = 1.f;
  float noise = 0.05f;
  float jitter = 0.1f;
  float invert_fraction = 0.f;
};

inline constexpr int kShapeClasses = 6;
inline constexpr int kMaxSyntheticCount = 60000;

// count images (1 to kMaxSyntheticCount) of the six classes, balanced (class counts differ by at
// most one) and in a shuffled order. The dataset is named "shapes".
Dataset make_shapes(int count, uint32_t seed, const ShapeStyle& style);

// A training and a test set of the named synthetic dataset:
//   "shapes"  train and test both in the default style (bright shapes on a dark background);
//   "shift"   covariate shift ("white dogs, then dogs of other colours"): the same training set
//             as "shapes", but the test set shows the same kinds of shapes in another style:
//             background 0.4, foreground 1, contrast 0.5, a quarter of the images inverted.
//             So a test image has background about 0.45 and shape about 0.75 (a dim, low-contrast
//             shape on mid-grey), or, inverted, background 0.55 and shape 0.25; noise and jitter
//             are those of training. Its pixel mean is about 0.5 instead of about 0.2, its
//             standard deviation about a third of training's.
// The training images come from seed, the test images from seed ^ 0x7E57DA7A.
// Unknown names throw Error listing the valid ones.
DataSplit make_synthetic(const std::string& name, uint32_t seed, int train_count, int test_count);

// The style of the "shift" test set (the training sets use ShapeStyle's defaults).
ShapeStyle shift_test_style();

// Real images (values in [0, 1], 0 the background) drawn in a style as make_shapes draws its
// shapes, with each pixel value taken as the shape's coverage: per image a jittered background
// and foreground, inversion with probability invert_fraction, contrast about 0.5 and noise. With
// shift_test_style() it is the covariate shift of the "shift" test set applied to, say,
// Fashion-MNIST. The same labels; the random draws come from seed.
Dataset restyle(const Dataset& data, const ShapeStyle& style, uint32_t seed);

// Any dataset by name: "mnist" and "fashion" (load_mnist / load_fashion(data_dir); the seed is
// unused, the files are fixed), "shapes" and "shift" (8,000 training and 2,000 test images).
DataSplit make_dataset(const std::string& name, uint32_t seed, const std::string& data_dir);

}  // namespace bnlab
