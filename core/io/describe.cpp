#include "io/describe.h"

#include <cstdlib>

#include "layers/kinds.h"

namespace bnlab {

namespace {

Json dims(std::initializer_list<int> values) {
  Json a = Json::array();
  for (int v : values) a.push(v);
  return a;
}

// A parameter's shape as PyTorch writes it: [out, in, kh, kw] for a conv weight, [out, in] for
// an fc weight, [C] for a bias or a normalizer's gamma and beta.
Json torch_shape(const Shape& s, int rank) {
  const int all[4] = {s.n, s.c, s.h, s.w};
  Json a = Json::array();
  for (int i = 0; i < rank; ++i) a.push(all[i]);
  return a;
}

}  // namespace

Json describe_model(const Model& model) {
  const Config& config = model.config();
  Shape shape = model.input_shape();
  shape.n = 1;
  Json out = Json::object();
  out.set("spec", model.spec());
  out.set("input_shape", dims({shape.c, shape.h, shape.w}));
  out.set("num_classes", model.num_classes());
  out.set("num_params", model.num_params());
  out.set("norm", norm_kind_name(config.norm.kind));
  out.set("placement", config.placement == Placement::After ? "after" : "before");
  out.set("noisy", config.noisy);
  Json layers = Json::array();
  for (int i = 0; i < model.num_layers(); ++i) {
    const Layer& layer = model.layer(i);
    Json l = Json::object();
    l.set("name", model.layer_name(i));
    l.set("kind", layer.kind());
    l.set("role", layer_role_name(layer_role(layer.kind())));
    l.set("input_shape", dims({1, shape.c, shape.h, shape.w}));
    shape = layer.output_shape(shape);
    l.set("output_shape", dims({1, shape.c, shape.h, shape.w}));
    Json params = Json::array();
    const std::string prefix = model.layer_name(i) + ".";
    for (const NamedParam& p : model.params()) {
      if (p.name.compare(0, prefix.size(), prefix) != 0) continue;
      Json jp = Json::object();
      jp.set("name", p.name.substr(prefix.size()));
      jp.set("shape", torch_shape(p.param.value->shape(), p.param.dims));
      jp.set("count", p.param.value->size());
      params.push(jp);
    }
    l.set("params", params);
    Json settings = Json::object();
    // A float32 setting (eps 1e-5f) as the double of its shortest decimal (1e-05), which is what
    // a framework's code should say.
    for (const LayerSetting& s : model.layer_settings(i)) {
      const double number = std::strtod(format_float(s.value).c_str(), nullptr);
      settings.set(s.name, s.is_bool ? Json(s.value != 0) : Json(number));
    }
    l.set("settings", settings);
    layers.push(l);
  }
  out.set("layers", layers);
  out.set("description", model.describe());
  return out;
}

Json describe_model(const Config& config, Shape example, int classes) {
  example.n = 1;
  return describe_model(Model(config, example, classes));
}

Json layer_kinds_json() {
  Json out = Json::array();
  for (const LayerKindInfo& k : layer_kinds()) {
    Json j = Json::object();
    j.set("kind", k.kind);
    j.set("role", layer_role_name(k.role));
    j.set("what", k.what);
    out.push(j);
  }
  return out;
}

}  // namespace bnlab
