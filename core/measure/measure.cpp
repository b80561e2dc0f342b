#include "measure/measure.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "layers/batchnorm.h"
#include "layers/kinds.h"

namespace bnlab {

namespace {

bool is_normalizer(const std::string& kind) { return layer_role(kind) == LayerRole::Normalizer; }
bool is_activation(const std::string& kind) { return layer_role(kind) == LayerRole::Activation; }
bool is_weighted(const std::string& kind) { return layer_role(kind) == LayerRole::Weighted; }

// Mean and biased variance of channel c of x (N, C, H, W) over (N, H, W): each plane is summed
// by Eigen (vectorized), the planes are added in double.
void channel_moments(const Tensor& x, int c, double& mean, double& var) {
  const Shape s = x.shape();
  const int64_t hw = s.spatial();
  double sum = 0, sq = 0;
  for (int n = 0; n < s.n; ++n) sum += ConstVecMap(x.data() + (int64_t(n) * s.c + c) * hw, hw).sum();
  const double m = double(s.n) * double(hw);
  mean = sum / m;
  for (int n = 0; n < s.n; ++n)
    sq += (ConstVecMap(x.data() + (int64_t(n) * s.c + c) * hw, hw).array() - float(mean)).square().sum();
  var = sq / m;
}

void copy_values(const Tensor* t, std::vector<float>& out) {
  if (!t) {
    out.clear();
    return;
  }
  out.assign(t->data(), t->data() + t->size());
}

// Fraction of channel c's values of x in each of `bins` bins over mean +- 4 std (clipped to the
// values' own range); values outside land in the end bins.
void channel_histogram(const Tensor& x, int c, int bins, Histogram& h) {
  const Shape s = x.shape();
  const int64_t hw = s.spatial();
  double mean, var;
  channel_moments(x, c, mean, var);
  float lo = INFINITY, hi = -INFINITY;
  for (int n = 0; n < s.n; ++n) {
    const float* p = x.data() + (int64_t(n) * s.c + c) * hw;
    for (int64_t i = 0; i < hw; ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  }
  const double sd = std::sqrt(var);
  h.lo = float(std::max<double>(lo, mean - 4 * sd));
  h.hi = float(std::min<double>(hi, mean + 4 * sd));
  if (!(h.hi > h.lo)) h.hi = h.lo + 1e-6f;
  h.counts.assign(size_t(bins), 0.f);
  const float scale = float(bins) / (h.hi - h.lo);
  const float weight = 1.f / float(double(s.n) * double(hw));
  for (int n = 0; n < s.n; ++n) {
    const float* p = x.data() + (int64_t(n) * s.c + c) * hw;
    for (int64_t i = 0; i < hw; ++i) {
      const int b = std::clamp(int((p[i] - h.lo) * scale), 0, bins - 1);
      h.counts[size_t(b)] += weight;
    }
  }
}

// Percentiles qs (ascending, in [0, 1]) of values, linear between neighbours (numpy's default),
// by selection instead of a full sort: each nth_element works on what the previous one left
// above its position. values is reordered.
void percentiles(std::vector<float>& values, const double (&qs)[5], float (&out)[5]) {
  auto begin = values.begin();
  const double last = double(values.size() - 1);
  for (int k = 0; k < 5; ++k) {
    const double pos = qs[k] * last;
    const auto i = values.begin() + std::ptrdiff_t(pos);
    std::nth_element(begin, i, values.end());
    const double f = pos - std::floor(pos);
    float v = *i;
    if (f > 0 && i + 1 != values.end()) v = float(v * (1 - f) + *std::min_element(i + 1, values.end()) * f);
    out[k] = v;
    begin = i;
  }
}

double squared_norm(const Tensor& t) { return double(t.vec().squaredNorm()); }

}  // namespace

Instrument::Instrument(Trainer& trainer, const MeasureConfig& config) : trainer_(trainer), config_(config) {
  if (config_.bins < 2 || config_.bins > 1024) throw Error("histogram bins must be from 2 to 1024");
  // Bounded: a probe batch is one forward pass. (The model's memory budget counts batches of 256;
  // a larger probe on a model near the budget can still run out, as an Error from Tensor.)
  if (config_.probe_size < 0 || config_.probe_size > 1024) throw Error("probe_size must be from 0 to 1024");
  if (config_.band_every < 1) throw Error("band_every must be at least 1");
  for (float e : config_.etas)
    if (!(e > 0)) throw Error("landscape step sizes must be positive");
  const Dataset& test = trainer.data().test;
  const int p = std::min(config_.probe_size, test.size());
  if (p == 1) throw Error("a probe batch of 1 example cannot be normalized with batch statistics");
  const Shape img = test.image_shape();
  if (p > 0) {
    probe_x_.resize(Shape{p, img.c, img.h, img.w});
    std::copy(test.images.begin(), test.images.begin() + p * img.per_sample(), probe_x_.data());
  }
}

void Instrument::measure_step(StepMeasurements& out) {
  Model& model = trainer_.model();
  out.step = trainer_.step_count();
  if (!model.has_run()) {
    // A model just built (or rebuilt by Trainer::set_options) holds no step to measure.
    out.norms.clear();
    out.hist_layer.clear();
    out.bands.clear();
    out.layers.clear();
    return;
  }
  // Normalization layers: statistics of this step's training batch, from the layers' inputs.
  size_t k = 0;
  int norm_index = 0;
  out.hist_layer.clear();
  for (int i = 0; i < model.num_layers(); ++i) {
    Layer& layer = model.layer(i);
    if (!is_normalizer(layer.kind())) continue;
    if (out.norms.size() <= k) out.norms.emplace_back();
    NormLayerStats& st = out.norms[k++];
    st.name = model.layer_name(i);
    st.layer = i;
    const Tensor& x = model.layer_input(i);
    const int channels = x.shape().c;
    if (const auto* bn = dynamic_cast<const BatchNorm*>(&layer)) {
      // BN computed these statistics already (for Ghost BN: the sub-batches' average).
      copy_values(&bn->batch_mean(), st.batch_mean);
      copy_values(&bn->batch_var(), st.batch_var);
    } else {
      st.batch_mean.resize(size_t(channels));
      st.batch_var.resize(size_t(channels));
      for (int c = 0; c < channels; ++c) {
        double mean, var;
        channel_moments(x, c, mean, var);
        st.batch_mean[size_t(c)] = float(mean);
        st.batch_var[size_t(c)] = float(var);
      }
    }
    const Tensor *rm = nullptr, *rv = nullptr, *gamma = nullptr, *beta = nullptr;
    for (const Buffer& b : layer.buffers()) {
      if (b.name == "running_mean") rm = b.value;
      if (b.name == "running_var") rv = b.value;
    }
    for (const Param& p : layer.params()) {
      if (p.name == "weight") gamma = p.value;
      if (p.name == "bias") beta = p.value;
    }
    copy_values(rm, st.running_mean);
    copy_values(rv, st.running_var);
    copy_values(gamma, st.gamma);
    copy_values(beta, st.beta);
    if (norm_index++ == config_.hist_norm && i + 1 < model.num_layers()) {
      out.hist_layer = st.name;
      out.hist_channel = std::clamp(config_.hist_channel, 0, channels - 1);
      channel_histogram(x, out.hist_channel, config_.bins, out.input);
      channel_histogram(model.layer_input(i + 1), out.hist_channel, config_.bins, out.output);
    }
  }
  out.norms.resize(k);

  // Conv and fc layers: gradients of this step, weights and the update just applied.
  const float lr = learning_rate_at(trainer_.config(), trainer_.step_count() - 1);
  const auto& params = model.params();
  auto& moms = trainer_.optimizer().momentum_buffers();
  k = 0;
  for (int i = 0; i < model.num_layers(); ++i) {
    if (!is_weighted(model.layer(i).kind())) continue;
    if (out.layers.size() <= k) out.layers.emplace_back();
    ParamLayerStats& st = out.layers[k++];
    st.name = model.layer_name(i);
    double g2 = 0, w2 = 0, u2 = 0;
    const std::string prefix = st.name + ".";
    for (size_t j = 0; j < params.size(); ++j) {
      if (params[j].name.compare(0, prefix.size(), prefix) != 0) continue;
      g2 += squared_norm(*params[j].param.grad);
      w2 += squared_norm(*params[j].param.value);
      u2 += squared_norm(moms[j]);
    }
    st.grad_norm = float(std::sqrt(g2));
    st.weight_norm = float(std::sqrt(w2));
    st.update_ratio = w2 > 0 ? float(lr * std::sqrt(u2) / std::sqrt(w2)) : 0.f;
  }
  out.layers.resize(k);

  // Percentile bands of each activation's input on the probe batch, in training mode. This
  // forward overwrites the layers' caches, so it comes after everything read from them above.
  out.bands.clear();
  if (probe_x_.size() == 0 || trainer_.diverged() || out.step % config_.band_every != 0) return;
  const ForwardState saved = model.save_forward_state();
  model.forward(probe_x_, Mode::Train);
  model.restore_forward_state(saved);
  for (int i = 0; i < model.num_layers(); ++i) {
    if (!is_activation(model.layer(i).kind())) continue;
    const Tensor& x = model.layer_input(i);
    const Shape s = x.shape();
    const int c = config_.probe_unit % s.c;
    scratch_.clear();
    for (int n = 0; n < s.n; ++n) {
      const float* p = x.data() + (int64_t(n) * s.c + c) * s.spatial();
      scratch_.insert(scratch_.end(), p, p + s.spatial());
    }
    UnitBand band;
    band.layer = model.layer_name(i);
    band.unit = c;
    const double qs[5] = {0.01, 0.15, 0.5, 0.85, 0.99};
    percentiles(scratch_, qs, band.q);
    out.bands.push_back(band);
  }
}

void Instrument::measure_features(int image, FeatureMaps& out) {
  const Dataset& test = trainer_.data().test;
  if (image < 0 || image >= test.size())
    throw Error("feature maps: test image " + std::to_string(image) + " does not exist (the test set has " +
                std::to_string(test.size()) + " images, 0 to " + std::to_string(test.size() - 1) + ")");
  Model& model = trainer_.model();
  const Shape img = test.image_shape();
  const int64_t per = img.per_sample();
  out.image = image;
  out.label = test.labels[size_t(image)];
  out.image_shape = img;
  out.pixels.assign(test.images.begin() + image * per, test.images.begin() + (image + 1) * per);
  out.maps.clear();
  out.error.clear();
  out.prediction = 0;
  out.confidence = 0;
  if (trainer_.diverged()) {
    out.error = "the network has diverged (" + trainer_.status() + ")";
    return;
  }
  image_x_.resize(img);
  std::copy(out.pixels.begin(), out.pixels.end(), image_x_.data());
  const ForwardState saved = model.save_forward_state();
  const Tensor* logits = nullptr;
  try {
    logits = &model.forward(image_x_, Mode::Eval);
  } catch (const Error& e) {
    model.restore_forward_state(saved);
    out.error = e.what();
    return;
  }
  // Softmax of the one row of logits, in double; the answer is the first of equal maxima.
  const int k = logits->shape().c;
  const float* z = logits->data();
  int best = 0;
  for (int j = 1; j < k; ++j)
    if (z[j] > z[best]) best = j;
  double sum = 0;
  for (int j = 0; j < k; ++j) sum += std::exp(double(z[j]) - double(z[best]));
  out.prediction = best;
  out.confidence = float(1 / sum);

  // Blocks: each conv/fc layer up to the next one; the last block's output is the logits.
  std::vector<int> weighted;
  for (int i = 0; i < model.num_layers(); ++i)
    if (is_weighted(model.layer(i).kind())) weighted.push_back(i);
  for (size_t b = 0; b + 1 < weighted.size(); ++b) {
    FeatureMap map;
    map.block = int(b) + 1;
    int norm = -1;
    for (int i = weighted[b] + 1; i < weighted[b + 1] && norm < 0; ++i)
      if (is_normalizer(model.layer(i).kind())) norm = i;
    // Without a normalizer: the conv/fc layer's output, which is the next layer's input.
    const int at = norm >= 0 ? norm : weighted[b] + 1;
    const Tensor& before = model.layer_input(at);
    map.layer = model.layer_name(norm >= 0 ? norm : weighted[b]);
    map.shape = Shape{1, before.shape().c, before.shape().h, before.shape().w};
    map.before.assign(before.data(), before.data() + before.size());
    if (norm >= 0) {
      const Tensor& after = model.layer_input(norm + 1);
      map.after.assign(after.data(), after.data() + after.size());
    }
    out.maps.push_back(std::move(map));
  }
  model.restore_forward_state(saved);
}

void collect_misclassified(const Dataset& test, const std::vector<int>& predictions, int max_images,
                           Misclassified& out) {
  if (max_images < 0) throw Error("misclassified: max_images must not be negative, got " + std::to_string(max_images));
  if (int64_t(predictions.size()) > int64_t(test.size()))
    throw Error("misclassified: " + std::to_string(predictions.size()) + " predictions for a test set of " +
                std::to_string(test.size()) + " images");
  const int64_t per = test.image_size();
  out.examined = int(predictions.size());
  out.wrong = 0;
  out.indices.clear();
  out.predictions.clear();
  out.labels.clear();
  out.pixels.clear();
  out.image_shape = test.image_shape();
  for (size_t i = 0; i < predictions.size(); ++i) {
    if (predictions[i] == test.labels[i]) continue;
    if (out.wrong++ >= max_images) continue;
    out.indices.push_back(int(i));
    out.predictions.push_back(predictions[i]);
    out.labels.push_back(test.labels[i]);
    out.pixels.insert(out.pixels.end(), test.images.begin() + int64_t(i) * per, test.images.begin() + int64_t(i + 1) * per);
  }
}

void Instrument::measure_heavy(HeavyMeasurements& out) {
  Model& model = trainer_.model();
  const Config& cfg = trainer_.config();
  out.step = trainer_.step_count() + 1;
  out.ics.clear();
  out.landscape = Landscape();
  if (trainer_.diverged()) return;

  // The batch the next step will use, from a copy of the sampler.
  BatchSampler peek = trainer_.sampler();
  Tensor x;
  std::vector<int> labels;
  peek.next(cfg.batch_size, x, labels);

  const auto& params = model.params();
  const ForwardState saved = model.save_forward_state();
  std::vector<Tensor> w0, grad0, w1;
  for (const auto& p : params) w0.push_back(*p.param.value);
  SoftmaxCrossEntropy loss;
  // Loss and gradients at the current weights, from the same starting state each time.
  auto loss_and_grad = [&]() {
    model.restore_forward_state(saved);
    const float l = loss.forward(model.forward(x, Mode::Train), labels.data());
    model.zero_grad();
    model.backward(loss.backward());
    return l;
  };
  auto set_weights = [&](const std::vector<Tensor>& w) {
    for (size_t j = 0; j < params.size(); ++j) *params[j].param.value = w[j];
  };

  const float l0 = loss_and_grad();
  for (const auto& p : params) grad0.push_back(*p.param.grad);
  // W^{t+1}: the SGD step the trainer would take (momentum, weight decay), without taking it.
  const float lr = learning_rate_at(cfg, trainer_.step_count());
  auto& moms = trainer_.optimizer().momentum_buffers();
  for (size_t j = 0; j < params.size(); ++j) {
    Tensor next = w0[j];
    next.vec() -= lr * (cfg.momentum * moms[j].vec() + (grad0[j].vec() + cfg.weight_decay * w0[j].vec()));
    w1.push_back(std::move(next));
  }

  // ICS (Santurkar et al.): for each conv/fc layer i with layers below it,
  // G = dL/dW_i at W^t; G' = dL/dW_i with the layers below i at W^{t+1}, the rest at W^t.
  bool below = false;
  for (int i = 0; i < model.num_layers(); ++i) {
    if (!is_weighted(model.layer(i).kind())) continue;
    const std::string name = model.layer_name(i);
    if (!below) {  // the first layer has nothing below it: G' = G by definition
      below = true;
      continue;
    }
    std::vector<Tensor> mixed = w0;
    size_t weight_index = params.size();
    for (size_t j = 0; j < params.size(); ++j) {
      // Parameters of layers before i (in model order) take their update.
      int owner = -1;
      for (int l = 0; l < model.num_layers(); ++l)
        if (params[j].name.compare(0, model.layer_name(l).size() + 1, model.layer_name(l) + ".") == 0) owner = l;
      if (owner < i) mixed[j] = w1[j];
      if (params[j].name == name + ".weight") weight_index = j;
    }
    set_weights(mixed);
    loss_and_grad();
    const auto g = grad0[weight_index].vec();
    const auto g2 = params[weight_index].param.grad->vec();
    IcsLayer r;
    r.name = name;
    r.l2 = float((g - g2).norm());
    const double denom = double(g.norm()) * double(g2.norm());
    r.cosine = denom > 0 ? float(double(g.dot(g2)) / denom) : 1.f;
    out.ics.push_back(r);
  }

  // Landscape along the gradient: L(w - eta g) and grad L(w - eta g), for eta = k * lr.
  Landscape& ls = out.landscape;
  double gnorm2 = 0;
  for (const Tensor& g : grad0) gnorm2 += squared_norm(g);
  const double gnorm = std::sqrt(gnorm2);
  ls.loss_min = ls.loss_max = l0;
  for (float k : config_.etas) {
    const float eta = k * lr;
    std::vector<Tensor> moved = w0;
    for (size_t j = 0; j < params.size(); ++j) moved[j].vec() -= eta * grad0[j].vec();
    set_weights(moved);
    const float l = loss_and_grad();
    double change2 = 0;
    for (size_t j = 0; j < params.size(); ++j) change2 += double((grad0[j].vec() - params[j].param.grad->vec()).squaredNorm());
    const float change = float(std::sqrt(change2));
    ls.etas.push_back(eta);
    ls.losses.push_back(l);
    ls.grad_changes.push_back(change);
    ls.loss_min = std::min(ls.loss_min, l);
    ls.loss_max = std::max(ls.loss_max, l);
    ls.predictiveness = std::max(ls.predictiveness, change);
    if (eta > 0 && gnorm > 0) ls.beta_smoothness = std::max(ls.beta_smoothness, float(change / (eta * gnorm)));
  }

  // Put everything back: weights, running statistics, noise; gradients are recomputed by the
  // next step, which zeroes them first.
  set_weights(w0);
  model.restore_forward_state(saved);
}

}  // namespace bnlab
