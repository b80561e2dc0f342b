// The measurements as named entries (wasm/PROTOCOL.md, "SideSnapshot"): what the page's
// worker sends and the JavaScript API returns. Each entry is a float array with its shape and
// step, plus a few descriptive fields; the bindings (wasm/bindings.cpp) only convert an Entry to
// a JavaScript object, field by field, so what an entry holds is decided here, next to the
// structs it flattens (measure.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"
#include "measure/measure.h"

namespace bnlab {

struct Entry {
  std::string name;        // "bn1.batch_mean", "hist.input", "grad_norm", "ics.l2", ...
  std::vector<int> shape;  // of data
  std::vector<float> data;
  int64_t step = 0;              // the step measured (heavy: the step measured before)
  Json fields = Json::object();  // descriptive: {"lo": ..., "layer": "bn1", "layers": [...], ...}
};

// The cheap measurements of one step: <norm>.batch_mean, batch_var, running_mean, running_var,
// gamma, beta (those the layer has); hist.input and hist.output (when a normalizer is followed);
// bands ((layers, 5) percentiles of unit probe_unit); grad_norm, weight_norm, update_ratio.
std::vector<Entry> step_entries(const StepMeasurements& m, int probe_unit);
// ics.l2, ics.cosine, landscape.loss, landscape.grad_change; none for a diverged run.
std::vector<Entry> heavy_entries(const HeavyMeasurements& h);
// features.image, and per block <norm>.features_in and .features_out (or <layer>.features_out).
std::vector<Entry> feature_entries(const FeatureMaps& f, int64_t step);
// test.misclassified: (K, C, H, W) images with their indices, predictions and labels.
Entry misclassified_entry(const Misclassified& m, int64_t step);

}  // namespace bnlab
