// The measurements flattened into named entries (core/measure/entries.h): every value of the
// structs lands in the entry PROTOCOL.md names, with its shape and step.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "check.h"
#include "measure/entries.h"

using namespace bnlab;

namespace {

std::map<std::string, const Entry*> by_name(const std::vector<Entry>& entries) {
  std::map<std::string, const Entry*> out;
  for (const Entry& e : entries) {
    CHECK_MESSAGE(out.count(e.name) == 0, "entry ", e.name, " twice");
    out[e.name] = &e;
  }
  return out;
}

int64_t product(const std::vector<int>& shape) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

double number(const Entry& e, const std::string& key) { return e.fields.get(key).number(); }
const std::string& text(const Entry& e, const std::string& key) {
  return e.fields.get(key).string();
}
size_t length(const Entry& e, const std::string& key) { return e.fields.get(key).items().size(); }

}  // namespace

TEST_CASE("entries.a step's measurements: each value of the structs under PROTOCOL.md's name") {
  Config c = test::shapes_config("small-cnn", 3, 16);
  auto data = load_data(c, "");
  Trainer t(c, data);
  MeasureConfig mc;
  mc.band_every = 1;
  mc.probe_unit = 1;
  Instrument inst(t, mc);
  t.step();
  t.step();
  StepMeasurements m;
  inst.measure_step(m);
  const std::vector<Entry> entries = step_entries(m, mc.probe_unit);
  const auto named = by_name(entries);
  for (const Entry& e : entries) {
    CAPTURE(e.name);
    CHECK(e.step == 2);
    CHECK(product(e.shape) == int64_t(e.data.size()));
  }
  REQUIRE(m.norms.size() == 2);
  for (const NormLayerStats& n : m.norms) {
    REQUIRE(named.count(n.name + ".batch_var"));
    CHECK(named.at(n.name + ".batch_mean")->data == n.batch_mean);
    CHECK(named.at(n.name + ".batch_var")->data == n.batch_var);
    CHECK(named.at(n.name + ".running_var")->data == n.running_var);
    CHECK(named.at(n.name + ".gamma")->data == n.gamma);
    CHECK(named.at(n.name + ".beta")->data == n.beta);
  }
  const Entry& hist = *named.at("hist.input");
  CHECK(hist.data == m.input.counts);
  CHECK(number(hist, "lo") == m.input.lo);
  CHECK(number(hist, "channel") == m.hist_channel);
  CHECK(text(hist, "layer") == m.hist_layer);
  CHECK(named.at("hist.output")->data == m.output.counts);
  const Entry& bands = *named.at("bands");
  REQUIRE_FALSE(m.bands.empty());
  CHECK(bands.shape == std::vector<int>{int(m.bands.size()), 5});
  CHECK(bands.data[5 * 1 + 2] == m.bands[1].q[2]);  // the second layer's median
  CHECK(bands.fields.get("layers").items().at(1).string() == m.bands[1].layer);
  CHECK(number(bands, "unit") == 1);
  REQUIRE(!m.layers.empty());
  for (const char* name : {"grad_norm", "weight_norm", "update_ratio"}) {
    const Entry& e = *named.at(name);
    REQUIRE(e.data.size() == m.layers.size());
    CHECK(e.fields.get("layers").items().back().string() == m.layers.back().name);
  }
  CHECK(named.at("grad_norm")->data.back() == m.layers.back().grad_norm);
  CHECK(named.at("update_ratio")->data.front() == m.layers.front().update_ratio);
}

TEST_CASE("entries.heavy measurements, feature maps and misclassified images") {
  Config c = test::shapes_config("small-cnn", 3, 16);
  auto data = load_data(c, "");
  Trainer t(c, data);
  Instrument inst(t, MeasureConfig());
  t.step();
  HeavyMeasurements h;
  inst.measure_heavy(h);
  const auto heavy = heavy_entries(h);
  const auto named = by_name(heavy);
  REQUIRE(named.count("ics.l2"));
  CHECK(named.at("ics.cosine")->data.size() == h.ics.size());
  CHECK(named.at("ics.l2")->fields.get("layers").items().front().string() == h.ics.front().name);
  const Entry& loss = *named.at("landscape.loss");
  CHECK(loss.data == h.landscape.losses);
  CHECK(loss.step == h.step);
  CHECK(length(loss, "etas") == h.landscape.etas.size());
  CHECK(number(*named.at("landscape.grad_change"), "predictiveness") == h.landscape.predictiveness);

  FeatureMaps f;
  inst.measure_features(2, f);
  const auto features = feature_entries(f, t.step_count());
  const auto maps = by_name(features);
  const Entry& image = *maps.at("features.image");
  CHECK(image.data == f.pixels);
  CHECK(number(image, "index") == 2);
  CHECK(number(image, "prediction") == f.prediction);
  REQUIRE(!f.maps.empty());
  const FeatureMap& first = f.maps.front();
  REQUIRE(!first.after.empty());  // small-cnn's first block has a normalizer
  CHECK(maps.at(first.layer + ".features_in")->data == first.before);
  CHECK(text(*maps.at(first.layer + ".features_out"), "role") == "after");
  for (const Entry& e : features) CHECK(product(e.shape) == int64_t(e.data.size()));

  std::vector<int> predictions;
  t.evaluate(Mode::Eval, 64, &predictions);
  Misclassified m;
  collect_misclassified(data->test, predictions, 4, m);
  const Entry e = misclassified_entry(m, 7);
  CHECK(e.name == "test.misclassified");
  CHECK(e.step == 7);
  CHECK(e.shape.front() == int(m.indices.size()));
  CHECK(product(e.shape) == int64_t(e.data.size()));
  CHECK(number(e, "wrong") == m.wrong);
  CHECK(length(e, "labels") == m.labels.size());
}
