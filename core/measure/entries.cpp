#include "measure/entries.h"

namespace bnlab {
namespace {

// An entry of values at `step`, of shape {values.size()} unless given.
Entry entry(std::string name, std::vector<float> values, int64_t step, std::vector<int> shape = {}) {
  Entry e;
  e.name = std::move(name);
  e.shape = shape.empty() ? std::vector<int>{int(values.size())} : std::move(shape);
  e.data = std::move(values);
  e.step = step;
  return e;
}

template <class T>
std::vector<double> doubles(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace

std::vector<Entry> step_entries(const StepMeasurements& m, int probe_unit) {
  std::vector<Entry> out;
  for (const NormLayerStats& n : m.norms) {
    const std::pair<const char*, const std::vector<float>*> fields[] = {
        {"batch_mean", &n.batch_mean},     {"batch_var", &n.batch_var}, {"running_mean", &n.running_mean},
        {"running_var", &n.running_var}, {"gamma", &n.gamma},         {"beta", &n.beta}};
    for (const auto& [field, values] : fields)
      if (!values->empty()) out.push_back(entry(n.name + "." + field, *values, m.step));
  }
  if (!m.hist_layer.empty())
    for (const auto& [name, h] : {std::pair{"hist.input", &m.input}, std::pair{"hist.output", &m.output}}) {
      Entry e = entry(name, h->counts, m.step);
      e.numbers = {{"lo", h->lo}, {"hi", h->hi}, {"channel", m.hist_channel}};
      e.texts = {{"layer", m.hist_layer}};
      out.push_back(std::move(e));
    }
  std::vector<float> q;
  std::vector<std::string> band_layers;
  for (const UnitBand& b : m.bands) q.insert(q.end(), b.q, b.q + 5), band_layers.push_back(b.layer);
  Entry bands = entry("bands", std::move(q), m.step, {int(m.bands.size()), 5});
  bands.names = {{"layers", std::move(band_layers)}};
  bands.numbers = {{"unit", probe_unit}};
  bands.lists = {{"percentiles", {1, 15, 50, 85, 99}}};
  out.push_back(std::move(bands));
  std::vector<std::string> names;
  std::vector<float> grad, weight, ratio;
  for (const ParamLayerStats& p : m.layers)
    names.push_back(p.name), grad.push_back(p.grad_norm), weight.push_back(p.weight_norm),
        ratio.push_back(p.update_ratio);
  for (auto& [name, values] : {std::pair{"grad_norm", &grad}, std::pair{"weight_norm", &weight},
                               std::pair{"update_ratio", &ratio}}) {
    Entry e = entry(name, std::move(*values), m.step);
    e.names = {{"layers", names}};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Entry> heavy_entries(const HeavyMeasurements& h) {
  std::vector<Entry> out;
  if (h.ics.empty()) return out;  // a diverged run has nothing to measure
  std::vector<std::string> names;
  std::vector<float> l2, cosine;
  for (const IcsLayer& l : h.ics) names.push_back(l.name), l2.push_back(l.l2), cosine.push_back(l.cosine);
  for (auto& [name, values] : {std::pair{"ics.l2", &l2}, std::pair{"ics.cosine", &cosine}}) {
    Entry e = entry(name, std::move(*values), h.step);
    e.names = {{"layers", names}};
    out.push_back(std::move(e));
  }
  const Landscape& l = h.landscape;
  for (const auto& [name, values] :
       {std::pair{"landscape.loss", &l.losses}, std::pair{"landscape.grad_change", &l.grad_changes}}) {
    Entry e = entry(name, *values, h.step);
    e.lists = {{"etas", doubles(l.etas)}};
    e.numbers = {{"loss_min", l.loss_min},
                 {"loss_max", l.loss_max},
                 {"predictiveness", l.predictiveness},
                 {"beta_smoothness", l.beta_smoothness}};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Entry> feature_entries(const FeatureMaps& f, int64_t step) {
  std::vector<Entry> out;
  const Shape& is = f.image_shape;
  Entry image = entry("features.image", f.pixels, step, {is.c, is.h, is.w});
  image.numbers = {{"index", f.image}, {"label", f.label}};
  if (f.error.empty())
    image.numbers.insert(image.numbers.end(), {{"prediction", f.prediction}, {"confidence", f.confidence}});
  else
    image.texts = {{"error", f.error}};
  out.push_back(std::move(image));
  for (const FeatureMap& m : f.maps) {
    const std::vector<int> shape{m.shape.c, m.shape.h, m.shape.w};
    const bool normalized = !m.after.empty();
    Entry before = entry(m.layer + (normalized ? ".features_in" : ".features_out"), m.before, step, shape);
    before.numbers = {{"block", m.block}};
    before.texts = {{"role", normalized ? "before" : "output"}};
    out.push_back(std::move(before));
    if (!normalized) continue;
    Entry after = entry(m.layer + ".features_out", m.after, step, shape);
    after.numbers = {{"block", m.block}};
    after.texts = {{"role", "after"}};
    out.push_back(std::move(after));
  }
  return out;
}

Entry misclassified_entry(const Misclassified& m, int64_t step) {
  const Shape& is = m.image_shape;
  Entry e = entry("test.misclassified", m.pixels, step, {int(m.indices.size()), is.c, is.h, is.w});
  e.lists = {{"indices", doubles(m.indices)}, {"predictions", doubles(m.predictions)}, {"labels", doubles(m.labels)}};
  e.numbers = {{"wrong", m.wrong}, {"examined", m.examined}};
  return e;
}

}  // namespace bnlab
