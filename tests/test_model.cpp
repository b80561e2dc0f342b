#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "base/error.h"
#include "check.h"
#include "io/describe.h"
#include "layers/kinds.h"
#include "train/loss.h"
#include "train/model.h"

using namespace bnlab;

static Config config_for(const std::string& model, NormKind norm = NormKind::Batch) {
  Config c;
  c.model = model;
  c.norm.kind = norm;
  return c;
}

static const Shape kMnist{1, 1, 28, 28};

TEST_CASE("model.the reference CNN has the layers and parameter count of NUMERICS.md 7") {
  Model bn(config_for("ref-cnn"), kMnist, 10);
  Model nobn(config_for("ref-cnn", NormKind::None), kMnist, 10);
  CHECK(bn.num_params() == 52314);
  CHECK(nobn.num_params() == 52138);
  std::vector<std::string> names;
  for (int i = 0; i < bn.num_layers(); ++i) names.push_back(bn.layer_name(i));
  CHECK(names == std::vector<std::string>{"conv1", "bn1", "relu1", "maxpool1", "conv2", "bn2", "relu2",
                                          "maxpool2", "fc1", "bn3", "relu3", "fc2"});
  CHECK(nobn.num_layers() == 9);
  std::vector<std::string> params;
  for (const auto& p : bn.params()) params.push_back(p.name);
  CHECK(params == std::vector<std::string>{"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight",
                                           "conv2.bias", "bn2.weight", "bn2.bias", "fc1.weight", "fc1.bias",
                                           "bn3.weight", "bn3.bias", "fc2.weight", "fc2.bias"});
  CHECK(bn.buffers().size() == 6);
  CHECK(bn.counters().size() == 3);
  CHECK(bn.counters()[0].name == "bn1.num_batches_tracked");
  CHECK(bn.describe().find("total 52314 parameters") != std::string::npos);
}

TEST_CASE("model.describe_model gives layers, shapes, parameters and settings as built") {
  SUBCASE("the reference CNN") {
    const Json d = describe_model(config_for("ref-cnn"), kMnist, 10);
    CHECK(d.get("spec").string() == "conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc");
    CHECK(d.get("num_params").number() == 52314);
    const auto& layers = d.get("layers").items();
    REQUIRE(layers.size() == 12);
    const Json& conv1 = layers[0];
    CHECK(conv1.get("name").string() == "conv1");
    CHECK(conv1.get("role").string() == "weighted");
    CHECK(conv1.get("settings").dump() ==
          R"({"in_channels":1,"out_channels":8,"kernel":3,"stride":1,"padding":1})");
    CHECK(conv1.get("params").dump() ==
          R"([{"name":"weight","shape":[8,1,3,3],"count":72},{"name":"bias","shape":[8],"count":8}])");
    CHECK(layers[1].get("kind").string() == "bn");
    CHECK(layers[1].get("settings").get("momentum").number() == 0.1);  // the shortest decimal
    CHECK(layers[1].get("settings").get("affine").boolean() == true);
    CHECK(layers[3].get("settings").dump() == R"({"kernel":2,"stride":2})");
    CHECK(layers[3].get("output_shape").dump() == "[1,8,14,14]");
    CHECK(layers[8].get("settings").dump() == R"({"in_features":784,"out_features":64})");
    CHECK(layers[11].get("output_shape").dump() == "[1,10,1,1]");
    double sum = 0;
    for (const Json& l : layers)
      for (const Json& p : l.get("params").items()) sum += p.get("count").number();
    CHECK(sum == 52314);
  }
  SUBCASE("options in any order, placement after, GroupNorm") {
    Config c = config_for("conv8p1k5-bn-relu-pool2 fc");
    c.norm.kind = NormKind::Group;
    c.norm.groups = 2;
    c.placement = Placement::After;
    const Json d = describe_model(c, kMnist, 10);
    const auto& layers = d.get("layers").items();
    REQUIRE(layers.size() == 5);
    CHECK(layers[0].get("settings").get("kernel").number() == 5);
    CHECK(layers[0].get("settings").get("padding").number() == 1);
    CHECK(layers[0].get("output_shape").dump() == "[1,8,26,26]");
    CHECK(layers[1].get("kind").string() == "relu");
    CHECK(layers[2].get("kind").string() == "gn");
    CHECK(layers[2].get("settings").get("groups").number() == 2);
    CHECK(layers[3].get("output_shape").dump() == "[1,8,13,13]");
    CHECK(layers[4].get("settings").get("in_features").number() == 8 * 13 * 13);
    CHECK(d.get("placement").string() == "after");
  }
  CHECK_THROWS_WITH_AS(describe_model(config_for("conv8k9p0 conv8k9p0 conv8k9p0 conv8k9p0 fc"), kMnist, 10),
                       doctest::Contains("does not fit"), Error);
}

TEST_CASE("model.every layer a model builds is one of layer_kinds()") {
  std::set<std::string> seen;
  for (NormKind norm : {NormKind::None, NormKind::Batch, NormKind::Layer, NormKind::Group,
                        NormKind::Instance, NormKind::Renorm, NormKind::Ghost}) {
    Config c = config_for("conv4-bn-relu-maxpool2 conv4-bn-tanh-avgpool2 flatten fc8-sigmoid fc", norm);
    c.norm.groups = 2;
    c.noisy = true;
    Model m(c, kMnist, 10);
    for (int i = 0; i < m.num_layers(); ++i) {
      CAPTURE(m.layer(i).kind());
      CHECK_NOTHROW(layer_role(m.layer(i).kind()));
      seen.insert(m.layer(i).kind());
    }
  }
  std::set<std::string> listed;
  for (const LayerKindInfo& k : layer_kinds()) listed.insert(k.kind);
  CHECK(seen == listed);  // and no kind is listed that no model builds
  CHECK_THROWS_AS(layer_role("pool"), Error);
}

TEST_CASE("model.placement after puts the normalizer behind the activation") {
  Config c = config_for("ref-cnn");
  c.placement = Placement::After;
  Model m(c, kMnist, 10);
  CHECK(m.layer_name(1) == "relu1");
  CHECK(m.layer_name(2) == "bn1");
  CHECK(m.layer_name(3) == "maxpool1");
}

TEST_CASE("model.normalizer choice and noisy BN change only the normalization layers") {
  SUBCASE("group norm") {
    Config c = config_for("ref-cnn", NormKind::Group);
    c.norm.groups = 4;
    Model m(c, kMnist, 10);
    CHECK(m.layer_name(1) == "gn1");
  }
  SUBCASE("noisy BN adds a noise layer after each BN") {
    Config c = config_for("ref-cnn");
    c.noisy = true;
    Model m(c, kMnist, 10);
    CHECK(m.layer_name(2) == "noise1");
    CHECK(m.num_params() == 52314);
  }
}

TEST_CASE("model.with and without BN start from the same conv and fc weights") {
  Model bn(config_for("ref-cnn"), kMnist, 10);
  Model nobn(config_for("ref-cnn", NormKind::None), kMnist, 10);
  Config after = config_for("ref-cnn");
  after.placement = Placement::After;
  Model bn_after(after, kMnist, 10);
  bn.init_weights(7);
  nobn.init_weights(7);
  bn_after.init_weights(7);
  auto find = [](Model& m, const std::string& name) -> const Tensor& {
    for (const auto& p : m.params())
      if (p.name == name) return *p.param.value;
    FAIL("no parameter " << name);
    throw;
  };
  for (const char* name : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}) {
    CAPTURE(name);
    test::check_close(find(bn, name), find(nobn, name), 0, 0, name);
    test::check_close(find(bn, name), find(bn_after, name), 0, 0, name);
  }
}

TEST_CASE("model.He init has standard deviation init_scale * sqrt(2 / fan_in)") {
  for (float scale : {1.f, 0.1f}) {
    Config c = config_for("ref-cnn");
    c.init_scale = scale;
    Model m(c, kMnist, 10);
    m.init_weights(3);
    const Tensor& w = *m.params()[8].param.value;  // fc1.weight, fan_in 784
    double sq = 0;
    for (int64_t i = 0; i < w.size(); ++i) sq += double(w[i]) * w[i];
    CHECK(std::sqrt(sq / double(w.size())) == doctest::Approx(scale * std::sqrt(2.0 / 784)).epsilon(0.02));
    CHECK(m.params()[9].param.value->vec().cwiseAbs().maxCoeff() == 0.f);  // fc1.bias
  }
}

TEST_CASE("model.specs that do not fit the data are refused, naming the layer") {
  CHECK_THROWS_WITH_AS(Model(config_for("conv8-pool2-pool2-pool2-pool2-pool2 fc"), kMnist, 10),
                       doctest::Contains("layer maxpool5 ('pool2') does not fit its input"), Error);
  CHECK_THROWS_WITH_AS(Model(config_for("conv8 fc7"), kMnist, 10),
                       doctest::Contains("has 7 outputs but the data has 10 classes"), Error);
  CHECK_THROWS_WITH_AS(Model(config_for("conv8 fc"), kMnist, 1), doctest::Contains("at least 2 classes"), Error);
}

TEST_CASE("model.backward matches finite differences of the whole network's loss") {
  // A small CNN on 8x8 inputs, every layer kind in the chain, BN in train mode.
  for (Placement placement : {Placement::Before, Placement::After}) {
    Config c = config_for("conv3-bn-relu-pool2 conv4k3-bn-tanh fc6-bn-sigmoid fc");
    c.placement = placement;
    Model m(c, Shape{1, 1, 8, 8}, 3);
    m.init_weights(5);
    const Tensor x = test::random_tensor(Shape{4, 1, 8, 8}, 9);
    const int labels[4] = {0, 2, 1, 2};
    SoftmaxCrossEntropy loss;
    auto eval = [&] { return double(loss.forward(m.forward(x, Mode::Train), labels)); };
    eval();
    m.zero_grad();
    m.backward(loss.backward());
    for (const auto& p : m.params()) {
      CAPTURE(p.name);
      Tensor& w = *p.param.value;
      const Tensor analytic = *p.param.grad;
      std::vector<float> num, ana;
      const int64_t stride = std::max<int64_t>(1, w.size() / 12);
      for (int64_t i = 0; i < w.size(); i += stride) {
        const float saved = w[i];
        const double h = 1e-3;
        w[i] = float(saved + h);
        const double lp = eval();
        w[i] = float(saved - h);
        const double lm = eval();
        w[i] = saved;
        num.push_back(float((lp - lm) / (2 * h)));
        ana.push_back(analytic[i]);
      }
      test::check_close(ana, num, 2e-3, 3e-2, p.name);
    }
  }
}

TEST_CASE("model.backward takes a ReLU and the max pooling after it in one pass, with the bits of "
          "the two layers' backward") {
  // Against the layers' own backward in reverse order (the pooling's dx formed, then the ReLU's):
  // every parameter gradient and every output gradient the fused backward forms, bit for bit.
  // ReLU then pool2 (four windows per vector, and fewer), pool3 (any k), tanh then pool (not
  // fused), BN after the ReLU (placement after: not adjacent).
  const auto bits_equal = [](const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * size_t(a.size())) == 0;
  };
  for (const char* spec : {"ref-cnn", "conv4-bn-relu-pool3 conv4-relu-pool2 fc",
                           "conv4-relu-pool2 conv4-tanh-pool2 fc8-relu fc"}) {
    for (const char* placement : {"before", "after"}) {
      CAPTURE(spec);
      CAPTURE(placement);
      Config config = config_for(spec);
      config.placement = std::string(placement) == "after" ? Placement::After : Placement::Before;
      Model fused(config, kMnist, 10), layered(config, kMnist, 10);
      fused.init_weights(7);
      layered.init_weights(7);
      const Tensor x = test::random_tensor(Shape{5, 1, 28, 28}, 8);
      const Tensor dlogits = test::random_tensor(Shape{5, 10, 1, 1}, 9);
      fused.forward(x, Mode::Train);
      layered.forward(x, Mode::Train);
      fused.zero_grad();
      layered.zero_grad();
      fused.backward(dlogits);
      std::vector<const Tensor*> dy(size_t(layered.num_layers()));
      const Tensor* grad = &dlogits;
      for (int i = layered.num_layers(); i-- > 0;) {
        dy[size_t(i)] = grad;
        grad = &layered.layer(i).backward(*grad);
      }
      int taken_together = 0;
      for (int i = 0; i < fused.num_layers(); ++i) {
        CAPTURE(fused.layer_name(i));
        const bool relu_before_pool = fused.layer(i).kind() == "relu" &&
                                      i + 1 < fused.num_layers() &&
                                      fused.layer(i + 1).kind() == "maxpool";
        if (relu_before_pool) {
          ++taken_together;
          CHECK_THROWS_WITH_AS(fused.layer_output_grad(i),
                               ("layer_output_grad: " + fused.layer_name(i) +
                                "'s output gradient is not formed (its gradient is taken through "
                                "the max pooling after it in one pass)")
                                   .c_str(),
                               Error);
        } else {
          CHECK(bits_equal(fused.layer_output_grad(i), *dy[size_t(i)]));
        }
      }
      // ReLU-pool pairs: ref-cnn 2 (none with BN after the ReLU), the pool3 spec 2 (1 after),
      // the tanh spec 1.
      const bool after = std::string(placement) == "after";
      int expected = after ? 1 : 2;
      if (std::string(spec) == "ref-cnn") expected = after ? 0 : 2;
      if (std::string(spec).find("tanh") != std::string::npos) expected = 1;
      CHECK(taken_together == expected);
      for (size_t k = 0; k < fused.params().size(); ++k) {
        CAPTURE(fused.params()[k].name);
        CHECK(bits_equal(*fused.params()[k].param.grad, *layered.params()[k].param.grad));
      }
    }
  }
}
