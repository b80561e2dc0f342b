#include "measure/entries.h"

namespace bnlab {
namespace {

// An entry of values at `step`, of shape {values.size()} unless given.
Entry entry(std::string name, std::vector<float> values, int64_t step,
            std::vector<int> shape = {}) {
  Entry e;
  e.name = std::move(name);
  e.shape = shape.empty() ? std::vector<int>{int(values.size())} : std::move(shape);
  e.data = std::move(values);
  e.step = step;
  return e;
}

template <class T>
Json array(const std::vector<T>& values) {
  Json out = Json::array();
  for (const T& v : values) out.push(Json(v));
  return out;
}

}  // namespace

std::vector<Entry> step_entries(const StepMeasurements& m, int probe_unit) {
  std::vector<Entry> out;
  for (const NormLayerStats& n : m.norms) {
    const std::pair<const char*, const std::vector<float>*> fields[] = {
        {"batch_mean", &n.batch_mean},
        {"batch_var", &n.batch_var},
        {"running_mean", &n.running_mean},
        {"running_var", &n.running_var},
        {"gamma", &n.gamma},
        {"beta", &n.beta}};
    for (const auto& [field, values] : fields)
      if (!values->empty()) out.push_back(entry(n.name + "." + field, *values, m.step));
  }
  if (!m.hist_layer.empty())
    for (const auto& [name, h] :
         {std::pair{"hist.input", &m.input}, std::pair{"hist.output", &m.output}}) {
      Entry e = entry(name, h->counts, m.step);
      e.fields.set("lo", double(h->lo));
      e.fields.set("hi", double(h->hi));
      e.fields.set("layer", m.hist_layer);
      e.fields.set("channel", m.hist_channel);
      out.push_back(std::move(e));
    }
  std::vector<float> q;
  std::vector<std::string> band_layers;
  for (const UnitBand& b : m.bands) q.insert(q.end(), b.q, b.q + 5), band_layers.push_back(b.layer);
  Entry bands = entry("bands", std::move(q), m.step, {int(m.bands.size()), 5});
  bands.fields.set("layers", array(band_layers));
  bands.fields.set("unit", probe_unit);
  bands.fields.set("percentiles", array(std::vector<int>{1, 15, 50, 85, 99}));
  out.push_back(std::move(bands));
  std::vector<std::string> names;
  std::vector<float> grad, weight, ratio;
  for (const ParamLayerStats& p : m.layers)
    names.push_back(p.name), grad.push_back(p.grad_norm), weight.push_back(p.weight_norm),
        ratio.push_back(p.update_ratio);
  for (auto& [name, values] : {std::pair{"grad_norm", &grad}, std::pair{"weight_norm", &weight},
                               std::pair{"update_ratio", &ratio}}) {
    Entry e = entry(name, std::move(*values), m.step);
    e.fields.set("layers", array(names));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Entry> heavy_entries(const HeavyMeasurements& h) {
  std::vector<Entry> out;
  if (h.ics.empty()) return out;  // a diverged run has nothing to measure
  std::vector<std::string> names;
  std::vector<float> l2, cosine;
  for (const IcsLayer& l : h.ics)
    names.push_back(l.name), l2.push_back(l.l2), cosine.push_back(l.cosine);
  for (auto& [name, values] : {std::pair{"ics.l2", &l2}, std::pair{"ics.cosine", &cosine}}) {
    Entry e = entry(name, std::move(*values), h.step);
    e.fields.set("layers", array(names));
    out.push_back(std::move(e));
  }
  const Landscape& l = h.landscape;
  for (const auto& [name, values] : {std::pair{"landscape.loss", &l.losses},
                                     std::pair{"landscape.grad_change", &l.grad_changes}}) {
    Entry e = entry(name, *values, h.step);
    e.fields.set("etas", array(l.etas));
    e.fields.set("loss_min", double(l.loss_min));
    e.fields.set("loss_max", double(l.loss_max));
    e.fields.set("predictiveness", double(l.predictiveness));
    e.fields.set("beta_smoothness", double(l.beta_smoothness));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Entry> feature_entries(const FeatureMaps& f, int64_t step) {
  std::vector<Entry> out;
  const Shape& is = f.image_shape;
  Entry image = entry("features.image", f.pixels, step, {is.c, is.h, is.w});
  image.fields.set("index", f.image);
  image.fields.set("label", f.label);
  if (f.error.empty()) {
    image.fields.set("prediction", f.prediction);
    image.fields.set("confidence", double(f.confidence));
  } else {
    image.fields.set("error", f.error);
  }
  out.push_back(std::move(image));
  for (const FeatureMap& m : f.maps) {
    const std::vector<int> shape{m.shape.c, m.shape.h, m.shape.w};
    const bool normalized = !m.after.empty();
    Entry before =
        entry(m.layer + (normalized ? ".features_in" : ".features_out"), m.before, step, shape);
    before.fields.set("block", m.block);
    before.fields.set("role", normalized ? "before" : "output");
    out.push_back(std::move(before));
    if (!normalized) continue;
    Entry after = entry(m.layer + ".features_out", m.after, step, shape);
    after.fields.set("block", m.block);
    after.fields.set("role", "after");
    out.push_back(std::move(after));
  }
  return out;
}

Entry misclassified_entry(const Misclassified& m, int64_t step) {
  const Shape& is = m.image_shape;
  Entry e = entry("test.misclassified", m.pixels, step, {int(m.indices.size()), is.c, is.h, is.w});
  e.fields.set("indices", array(m.indices));
  e.fields.set("predictions", array(m.predictions));
  e.fields.set("labels", array(m.labels));
  e.fields.set("wrong", m.wrong);
  e.fields.set("examined", m.examined);
  return e;
}

}  // namespace bnlab
