#include "measure/trace.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "layers/batchnorm.h"
#include "layers/groupnorm.h"
#include "layers/kinds.h"
#include "layers/noise.h"

namespace bnlab {

namespace {

void copy_into(const Tensor& t, std::vector<float>& out) {
  out.assign(t.data(), t.data() + t.size());
}

std::string range(const char* what, int lo, int hi) {
  return std::string(what) + " " + std::to_string(lo) +
         (hi - lo > 1 ? " to " + std::to_string(hi - 1) : "");
}

// The normalization layer named `name`, or an Error listing the ones there are.
const NormCapture& find_layer(const std::vector<NormCapture>& layers, const std::string& name) {
  std::string names;
  for (const NormCapture& l : layers) {
    if (l.name == name) return l;
    names += (names.empty() ? "" : ", ") + l.name;
  }
  throw Error("trace: no normalization layer \"" + name + "\" (" +
              (names.empty() ? std::string("this network has none") : "there are " + names) + ")");
}

void check_unit(const char* who, const Shape& s, int n, int c, int h, int w) {
  auto bad = [&](const char* what, int v, int size) {
    if (v >= 0 && v < size) return;
    throw Error(std::string(who) + ": " + what + " " + std::to_string(v) + " is outside 0 to " +
                std::to_string(size - 1) + " (the layer's input is " + s.str() + ")");
  };
  bad("sample", n, s.n);
  bad("channel", c, s.c);
  bad("row", h, s.h);
  bad("column", w, s.w);
}

}  // namespace

void TraceRecorder::remember(const Trainer& trainer) {
  auto& m = const_cast<Model&>(trainer.model());  // layer() is not const; nothing is changed
  before_.resize(size_t(m.num_layers()));
  for (int i = 0; i < m.num_layers(); ++i) {
    auto* bn = dynamic_cast<BatchNorm*>(&m.layer(i));
    auto& [mean, var] = before_[size_t(i)];
    if (bn && bn->tracks_running_stats()) {
      copy_into(bn->running_mean(), mean);
      copy_into(bn->running_var(), var);
    } else {
      mean.clear();
      var.clear();
    }
  }
  remembered_step_ = trainer.step_count();
}

void TraceRecorder::clear() {
  remembered_step_ = -1;
  layers_.clear();
  step_ = 0;
  error_ = "no training step has been captured yet (take a step)";
}

void TraceRecorder::capture(const Trainer& trainer) {
  const Model& model = trainer.model();
  step_ = trainer.step_count();
  size_t k = 0;
  error_.clear();
  if (!model.has_run() || step_ == 0) {
    clear();
    return;
  }
  if (trainer.diverged()) {
    layers_.clear();
    error_ = "the run has diverged (" + trainer.status() + ")";
    return;
  }
  auto& m = const_cast<Model&>(model);  // layer() is not const; nothing is changed
  for (int i = 0; i < model.num_layers(); ++i) {
    Layer& layer = m.layer(i);
    const auto* bn = dynamic_cast<const BatchNorm*>(&layer);
    const auto* gn = dynamic_cast<const GroupNorm*>(&layer);
    if (!bn && !gn) continue;
    if (layers_.size() <= k) layers_.emplace_back();
    NormCapture& cap = layers_[k++];
    cap.name = model.layer_name(i);
    cap.kind = layer.kind();
    cap.layer = i;
    const Tensor& x = model.layer_input(i);
    cap.shape = x.shape();
    copy_into(x, cap.x);
    copy_into(model.layer_output_grad(i), cap.dy);
    if (bn) {
      cap.eps = bn->eps();
      cap.batch_stats = bn->used_batch_stats();
      cap.sub_batch = bn->sub_batch();
      cap.groups = 0;
      copy_into(bn->xhat(), cap.xhat);
      copy_into(bn->output(), cap.y);
      copy_into(bn->input_grad(), cap.dx);
      copy_into(bn->sub_mean(), cap.mean);
      copy_into(bn->sub_var(), cap.var);
      copy_into(bn->inv_std(), cap.inv_std);
      copy_into(bn->forward_gamma(), cap.gamma);
      copy_into(bn->forward_beta(), cap.beta);
      copy_into(bn->dgamma(), cap.dgamma);
      copy_into(bn->dbeta(), cap.dbeta);
      copy_into(bn->renorm_r(), cap.r);
      copy_into(bn->renorm_d(), cap.d);
      auto* b = const_cast<BatchNorm*>(bn);
      if (bn->tracks_running_stats()) {
        copy_into(b->running_mean(), cap.running_mean);
        copy_into(b->running_var(), cap.running_var);
      } else {
        cap.running_mean.clear();
        cap.running_var.clear();
      }
      // Only what was remembered right before this very step.
      const bool known = remembered_step_ == step_ - 1 && size_t(i) < before_.size();
      cap.running_mean_before = known ? before_[size_t(i)].first : std::vector<float>{};
      cap.running_var_before = known ? before_[size_t(i)].second : std::vector<float>{};
    } else {
      cap.eps = gn->eps();
      cap.batch_stats = true;
      cap.sub_batch = 0;
      cap.groups = gn->groups();
      copy_into(gn->xhat(), cap.xhat);
      copy_into(gn->output(), cap.y);
      copy_into(gn->input_grad(), cap.dx);
      copy_into(gn->group_mean(), cap.mean);
      copy_into(gn->group_var(), cap.var);
      copy_into(gn->inv_std(), cap.inv_std);
      copy_into(gn->forward_gamma(), cap.gamma);
      copy_into(gn->forward_beta(), cap.beta);
      copy_into(gn->dgamma(), cap.dgamma);
      copy_into(gn->dbeta(), cap.dbeta);
      cap.r.assign(size_t(cap.shape.c), 1.f);
      cap.d.assign(size_t(cap.shape.c), 0.f);
      cap.running_mean.clear();
      cap.running_var.clear();
      cap.running_mean_before.clear();
      cap.running_var_before.clear();
    }
    cap.noise_scale.clear();
    cap.noise_shift.clear();
    if (i + 1 < model.num_layers())
      if (const auto* noise = dynamic_cast<const NoisyShift*>(&m.layer(i + 1))) {
        copy_into(noise->scale(), cap.noise_scale);
        copy_into(noise->shift(), cap.noise_shift);
      }
  }
  layers_.resize(k);
}

UnitTrace TraceRecorder::trace(const std::string& name, int n, int c, int h, int w) const {
  if (!error_.empty()) throw Error("trace: " + error_);
  const NormCapture& cap = find_layer(layers_, name);
  const Shape& s = cap.shape;
  check_unit(("trace " + name).c_str(), s, n, c, h, w);
  const int C = s.c;
  const int64_t hw = s.spatial(), chw = s.per_sample();
  const int64_t i = n * chw + c * hw + int64_t(h) * s.w + w;

  UnitTrace t;
  t.layer = cap.name;
  t.kind = cap.kind;
  t.step = step_;
  t.shape = s;
  t.n = n, t.c = c, t.h = h, t.w = w;
  t.batch_stats = cap.batch_stats;
  t.eps = cap.eps;
  t.x = cap.x[size_t(i)];
  t.gamma = cap.gamma[size_t(c)];
  t.beta = cap.beta[size_t(c)];
  t.r = cap.r[size_t(c)];
  t.d = cap.d[size_t(c)];
  t.xhat_layer = cap.xhat[size_t(i)];
  t.y_layer = cap.y[size_t(i)];
  t.dy = cap.dy[size_t(i)];
  t.dx_layer = cap.dx.empty() ? 0.f : cap.dx[size_t(i)];
  t.dgamma = cap.dgamma[size_t(c)];
  t.dbeta = cap.dbeta[size_t(c)];

  // Which values shared the unit's statistics, and the sums of the backward over them.
  double sum_g = 0, sum_gx = 0;
  if (cap.groups == 0) {
    const int sub = cap.sub_batch;
    t.group = n / sub;
    t.sample_begin = t.group * sub;
    t.sample_end = std::min(s.n, t.sample_begin + sub);
    t.channel_begin = c, t.channel_end = c + 1;
    const size_t k = size_t(t.group) * C + c;
    t.mean = cap.mean[k], t.var = cap.var[k], t.inv_std = cap.inv_std[k];
    for (int j = t.sample_begin; j < t.sample_end; ++j)
      for (int64_t p = j * chw + c * hw; p < j * chw + (c + 1) * hw; ++p) {
        sum_g += cap.dy[size_t(p)];
        sum_gx += double(cap.dy[size_t(p)]) * cap.xhat[size_t(p)];
      }
    const std::string where = hw > 1 ? ", every position" : "";
    if (!cap.batch_stats)
      t.over = "running statistics of channel " + std::to_string(c);
    else if (cap.kind == "gbn" && t.sample_end - t.sample_begin < s.n)
      t.over = "channel " + std::to_string(c) + " over ghost sub-batch " + std::to_string(t.group) +
               " (" + range("samples", t.sample_begin, t.sample_end) + where + ")";
    else
      t.over = "channel " + std::to_string(c) + " over the batch (" + range("samples", 0, s.n) +
               where + ")";
  } else {
    const int per_group = C / cap.groups;
    t.group = c / per_group;
    t.sample_begin = n, t.sample_end = n + 1;
    t.channel_begin = t.group * per_group, t.channel_end = t.channel_begin + per_group;
    const size_t k = size_t(n) * cap.groups + t.group;
    t.mean = cap.mean[k], t.var = cap.var[k], t.inv_std = cap.inv_std[k];
    for (int cc = t.channel_begin; cc < t.channel_end; ++cc)
      for (int64_t p = n * chw + cc * hw; p < n * chw + (cc + 1) * hw; ++p) {
        sum_g += double(cap.gamma[size_t(cc)]) * cap.dy[size_t(p)];
        sum_gx += double(cap.gamma[size_t(cc)]) * cap.dy[size_t(p)] * cap.xhat[size_t(p)];
      }
    const std::string where = hw > 1 ? ", every position" : "";
    if (cap.kind == "ln")
      t.over = "sample " + std::to_string(n) + " over all its channels (" +
               range("channels", 0, C) + where + ")";
    else if (cap.kind == "in")
      t.over = "sample " + std::to_string(n) + ", channel " + std::to_string(c) +
               " alone (every position)";
    else
      t.over = "sample " + std::to_string(n) + " over group " + std::to_string(t.group) + " (" +
               range("channels", t.channel_begin, t.channel_end) + where + ")";
  }
  t.m = int64_t(t.sample_end - t.sample_begin) * (t.channel_end - t.channel_begin) * hw;

  // Forward in the layer's arithmetic (float, centred with the float mean, scaled by inv_std).
  t.xhat = (t.x - t.mean) * t.inv_std;
  if (cap.groups == 0)
    t.y = (t.gamma * t.r) * t.xhat + (t.gamma * t.d + t.beta);
  else
    t.y = t.gamma * t.xhat + t.beta;

  if (!cap.running_mean.empty()) {
    t.has_eval = true;
    t.running_mean = cap.running_mean[size_t(c)];
    t.running_var = cap.running_var[size_t(c)];
    t.eval_inv_std = float(1.0 / std::sqrt(double(t.running_var) + cap.eps));
    t.xhat_eval = (t.x - t.running_mean) * t.eval_inv_std;
    t.y_eval = t.gamma * t.xhat_eval + t.beta;
  }
  if (!cap.running_mean_before.empty()) {
    t.has_before = true;
    t.running_mean_before = cap.running_mean_before[size_t(c)];
    t.running_var_before = cap.running_var_before[size_t(c)];
  }
  if (!cap.noise_scale.empty()) {
    t.noisy = true;
    t.noise_scale = cap.noise_scale[size_t(n) * C + c];
    t.noise_shift = cap.noise_shift[size_t(n) * C + c];
    t.y_noisy = t.noise_scale * t.y_layer + t.noise_shift;
  }

  // Backward (layers/batchnorm.cpp, groupnorm.cpp): the three terms of dx.
  const bool batch = cap.batch_stats;
  t.mean_g = batch ? float(sum_g / double(t.m)) : 0.f;
  t.mean_gx = batch ? float(sum_gx / double(t.m)) : 0.f;
  if (cap.groups == 0) {
    const float k = t.gamma * t.r * t.inv_std;
    t.term_g = k * t.dy;
    t.term_mean = -k * t.mean_g;
    t.term_xhat = -k * (t.xhat_layer * t.mean_gx);
  } else {
    t.term_g = t.inv_std * (t.gamma * t.dy);
    t.term_mean = -t.inv_std * t.mean_g;
    t.term_xhat = -t.inv_std * (t.xhat_layer * t.mean_gx);
  }
  t.dx = t.term_g + t.term_mean + t.term_xhat;
  return t;
}

WhatIf::WhatIf(Trainer& trainer, uint32_t seed) : trainer_(trainer), rng_(seed) {}

std::vector<int> WhatIf::draw_companions(int count) {
  const int size = trainer_.data().train.size();
  if (count < 0 || count > size)
    throw Error("batch-mates: cannot draw " + std::to_string(count) + " companions from " +
                std::to_string(size) + " training examples");
  // A partial Fisher-Yates shuffle of the indices: distinct companions.
  std::vector<int> all(size_t(size), 0);
  std::iota(all.begin(), all.end(), 0);
  for (int i = 0; i < count; ++i)
    std::swap(all[size_t(i)], all[size_t(i) + rng_.below(uint32_t(size - i))]);
  all.resize(size_t(count));
  return all;
}

WhatIfSample WhatIf::run(int image, const std::vector<int>& companions, Mode mode,
                         const WhatIfUnit& unit) {
  const Dataset& test = trainer_.data().test;
  const Dataset& train = trainer_.data().train;
  if (image < 0 || image >= test.size())
    throw Error("batch-mates: test image " + std::to_string(image) + " does not exist (0 to " +
                std::to_string(test.size() - 1) + ")");
  for (int j : companions)
    if (j < 0 || j >= train.size())
      throw Error("batch-mates: training example " + std::to_string(j) + " does not exist (0 to " +
                  std::to_string(train.size() - 1) + ")");
  if (trainer_.diverged())
    throw Error("batch-mates: the run has diverged (" + trainer_.status() + ")");
  Model& model = trainer_.model();
  int layer = -1;
  std::string names;
  for (int i = 0; i < model.num_layers(); ++i) {
    if (layer_role(model.layer(i).kind()) != LayerRole::Normalizer) continue;
    if (model.layer_name(i) == unit.layer) layer = i;
    names += (names.empty() ? "" : ", ") + model.layer_name(i);
  }
  if (layer < 0)
    throw Error("batch-mates: no normalization layer \"" + unit.layer + "\" (" +
                (names.empty() ? std::string("this network has none") : "there are " + names) +
                ")");

  const Shape img = test.image_shape();
  const int64_t per = img.per_sample();
  batch_.resize(Shape{1 + int(companions.size()), img.c, img.h, img.w});
  std::copy(test.images.begin() + image * per, test.images.begin() + (image + 1) * per,
            batch_.data());
  for (size_t j = 0; j < companions.size(); ++j)
    std::copy(train.images.begin() + companions[j] * per,
              train.images.begin() + (companions[j] + 1) * per,
              batch_.data() + int64_t(j + 1) * per);

  const ForwardState saved = model.save_forward_state();
  WhatIfSample out;
  out.companions = companions;
  try {
    const Tensor& logits = model.forward(batch_, mode);
    const Tensor& y =
        model.layer_input(layer + 1);  // the normalizer's output (never the last layer)
    check_unit("batch-mates", y.shape(), 0, unit.c, unit.h, unit.w);
    const Shape& s = y.shape();
    out.y = y.data()[unit.c * s.spatial() + int64_t(unit.h) * s.w + unit.w];
    Layer& norm = model.layer(layer);
    if (const auto* bn = dynamic_cast<const BatchNorm*>(&norm)) {
      out.mean = bn->sub_mean()[unit.c];  // sample 0 is in the first sub-batch
      out.var = bn->sub_var()[unit.c];
    } else if (const auto* gn = dynamic_cast<const GroupNorm*>(&norm)) {
      const int g = unit.c / (s.c / gn->groups());
      out.mean = gn->group_mean()[g];
      out.var = gn->group_var()[g];
    }
    // Softmax of the image's logits, in double; the answer is the first of equal maxima.
    const int k = logits.shape().c;
    const float* z = logits.data();
    int best = 0;
    for (int j = 1; j < k; ++j)
      if (z[j] > z[best]) best = j;
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(double(z[j]) - double(z[best]));
    out.probs.resize(size_t(k));
    for (int j = 0; j < k; ++j)
      out.probs[size_t(j)] = float(std::exp(double(z[j]) - double(z[best])) / sum);
    out.prediction = best;
  } catch (...) {
    model.restore_forward_state(saved);
    throw;
  }
  model.restore_forward_state(saved);
  return out;
}

Json unit_trace_json(const UnitTrace& t) {
  Json out = Json::object();
  out.set("layer", t.layer);
  out.set("kind", t.kind);
  out.set("step", t.step);
  Json shape = Json::array();
  for (int d : {t.shape.n, t.shape.c, t.shape.h, t.shape.w}) shape.push(d);
  out.set("shape", std::move(shape));
  const std::pair<const char*, int64_t> counts[] = {{"n", t.n},
                                                    {"c", t.c},
                                                    {"h", t.h},
                                                    {"w", t.w},
                                                    {"sample_begin", t.sample_begin},
                                                    {"sample_end", t.sample_end},
                                                    {"channel_begin", t.channel_begin},
                                                    {"channel_end", t.channel_end},
                                                    {"group", t.group},
                                                    {"m", t.m}};
  for (const auto& [name, v] : counts) out.set(name, v);
  const std::pair<const char*, bool> flags[] = {{"batch_stats", t.batch_stats},
                                                {"has_eval", t.has_eval},
                                                {"noisy", t.noisy},
                                                {"has_before", t.has_before}};
  out.set("over", t.over);
  for (const auto& [name, v] : flags) out.set(name, v);
  const std::pair<const char*, float> numbers[] = {{"x", t.x},
                                                   {"mean", t.mean},
                                                   {"var", t.var},
                                                   {"eps", t.eps},
                                                   {"inv_std", t.inv_std},
                                                   {"xhat", t.xhat},
                                                   {"xhat_layer", t.xhat_layer},
                                                   {"gamma", t.gamma},
                                                   {"beta", t.beta},
                                                   {"r", t.r},
                                                   {"d", t.d},
                                                   {"y", t.y},
                                                   {"y_layer", t.y_layer},
                                                   {"running_mean", t.running_mean},
                                                   {"running_var", t.running_var},
                                                   {"eval_inv_std", t.eval_inv_std},
                                                   {"running_mean_before", t.running_mean_before},
                                                   {"running_var_before", t.running_var_before},
                                                   {"xhat_eval", t.xhat_eval},
                                                   {"y_eval", t.y_eval},
                                                   {"noise_scale", t.noise_scale},
                                                   {"noise_shift", t.noise_shift},
                                                   {"y_noisy", t.y_noisy},
                                                   {"dy", t.dy},
                                                   {"dgamma", t.dgamma},
                                                   {"dbeta", t.dbeta},
                                                   {"mean_g", t.mean_g},
                                                   {"mean_gx", t.mean_gx},
                                                   {"term_g", t.term_g},
                                                   {"term_mean", t.term_mean},
                                                   {"term_xhat", t.term_xhat},
                                                   {"dx", t.dx},
                                                   {"dx_layer", t.dx_layer}};
  for (const auto& [name, v] : numbers) out.set(name, double(v));
  return out;
}

}  // namespace bnlab
