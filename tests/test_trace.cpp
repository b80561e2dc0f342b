// The BN inspector's per-unit trace and the batch-mates' what-if forward (measure/trace.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "base/error.h"
#include "check.h"
#include "layers/batchnorm.h"
#include "layers/groupnorm.h"
#include "measure/trace.h"

using namespace bnlab;

namespace {

// A conv normalizer (bn1: (8, 4, 28, 28)) and a dense one (bn2: (8, 6, 1, 1)); InstanceNorm
// cannot normalize a dense activation (one value per group), so it gets a second conv instead
// (in2: (8, 6, 7, 7)).
Config trace_config(const std::string& norm, bool noisy = false) {
  const char* model = norm == "instance" ? "conv4-bn-relu-pool4 conv6-bn-relu fc"
                                         : "conv4-bn-relu-pool4 fc6-bn-relu fc";
  Config c = test::shapes_config(model, 5, 8);
  c.norm.kind = parse_norm_kind(norm);
  c.norm.ghost_batch = 3;  // 8 samples: sub-batches of 3, 3 and 2
  c.norm.groups = 2;
  c.noisy = noisy;
  c.lr = 0.1f;
  return c;
}

// |a - b| within a few float roundings of the larger magnitude involved.
bool near(double a, double b, double scale) {
  return std::fabs(a - b) <= 4e-6 * (std::fabs(scale) + 1e-3);
}

// The live output and input gradient of normalization layer i (what the capture must have copied).
const Tensor& live_output(Model& m, int i) { return m.layer_input(i + 1); }

}  // namespace

TEST_CASE(
    "trace.every normalizer kind: the trace satisfies the layer's formulas with its own numbers") {
  struct Case {
    const char* norm;
    bool noisy;
  };
  for (const Case& k :
       {Case{"batch", false}, Case{"renorm", false}, Case{"ghost", false}, Case{"layer", false},
        Case{"group", false}, Case{"instance", false}, Case{"batch", true}}) {
    const std::string norm_name = k.norm;
    CAPTURE(norm_name);
    CAPTURE(k.noisy);
    const Config c = trace_config(k.norm, k.noisy);
    Trainer t(c, load_data(c, ""));
    for (int s = 0; s < 4; ++s) t.step();
    TraceRecorder rec;
    rec.capture(t);
    REQUIRE(rec.error().empty());
    REQUIRE(rec.layers().size() == 2);
    CHECK(rec.step() == 4);
    bool renorm_moved = false;
    for (const NormCapture& cap : rec.layers()) {
      CAPTURE(cap.name);
      Model& model = t.model();
      const Tensor& y_live = live_output(model, cap.layer);
      REQUIRE(int64_t(cap.y.size()) == y_live.size());
      // The capture is the layer's last training step: its output equals the live tensor.
      for (int64_t i = 0; i < y_live.size(); i += 7) REQUIRE(cap.y[size_t(i)] == y_live[i]);
      const Shape s = cap.shape;
      for (int n : {0, 4, s.n - 1})
        for (int ch = 0; ch < s.c; ++ch) {
          const int h = (3 * ch + n) % s.h, w = (5 * ch + 2 * n) % s.w;
          const UnitTrace u = rec.trace(cap.name, n, ch, h, w);
          CAPTURE(n);
          CAPTURE(ch);
          // Forward: xhat and y recomputed from x, the statistics, gamma, beta (r, d) equal the
          // layer's stored xhat and its output element.
          CHECK(near(u.xhat, u.xhat_layer, u.xhat));
          CHECK(near(u.y, u.y_layer,
                     std::fabs(u.gamma * u.xhat) + std::fabs(u.beta) + std::fabs(u.gamma * u.d)));
          // The statistics are those of the values the trace says they were taken over,
          // recomputed here in double from the layer's input.
          double sum = 0, sum2 = 0;
          int64_t m = 0;
          for (int j = u.sample_begin; j < u.sample_end; ++j)
            for (int cc = u.channel_begin; cc < u.channel_end; ++cc)
              for (int64_t p = 0; p < s.spatial(); ++p) {
                const double v = cap.x[size_t((int64_t(j) * s.c + cc) * s.spatial() + p)];
                sum += v, sum2 += v * v, ++m;
              }
          REQUIRE(m == u.m);
          const double mean = sum / double(m), var = sum2 / double(m) - mean * mean;
          CHECK(u.mean == doctest::Approx(mean).epsilon(1e-4).scale(1.0));
          CHECK(u.var == doctest::Approx(var).epsilon(1e-3).scale(1e-3));
          CHECK(u.inv_std == doctest::Approx(1.0 / std::sqrt(double(u.var) + u.eps)).epsilon(1e-5));
          // Which values: BN kinds a channel over (a sub-batch of) the batch; LN/GN/IN one sample.
          const std::string kind = cap.kind;
          if (kind == "bn" || kind == "brn") {
            CHECK(u.sample_begin == 0);
            CHECK(u.sample_end == s.n);
            CHECK(u.channel_end - u.channel_begin == 1);
          } else if (kind == "gbn") {
            CHECK(u.sample_begin == n / 3 * 3);
            CHECK(u.group == n / 3);
          } else {
            CHECK(u.sample_end - u.sample_begin == 1);
            const int per_group = kind == "ln" ? s.c : kind == "in" ? 1 : s.c / 2;
            CHECK(u.channel_end - u.channel_begin == per_group);
          }
          if (kind == "brn") {
            CHECK(u.r >= 1 / 3.f - 1e-6f);
            CHECK(u.r <= 3.f + 1e-6f);
            if (std::fabs(u.r - 1) > 1e-3f) renorm_moved = true;
          } else {
            CHECK(u.r == 1.f);
            CHECK(u.d == 0.f);
          }
          // Backward: the three terms sum to the layer's dx element.
          const double terms =
              std::fabs(u.term_g) + std::fabs(u.term_mean) + std::fabs(u.term_xhat);
          CHECK(std::fabs(double(u.dx) - u.dx_layer) <= 1e-5 * terms + 1e-12);
          CHECK(u.dy ==
                model.layer_output_grad(cap.layer)[((int64_t(n) * s.c + ch) * s.h + h) * s.w + w]);
          // Eval path: only BN kinds that track running statistics; the running ones of the
          // layer after the step's update.
          CHECK(u.has_eval == (kind == "bn" || kind == "brn" || kind == "gbn"));
          if (u.has_eval) {
            auto& bn = dynamic_cast<BatchNorm&>(model.layer(cap.layer));
            CHECK(u.running_mean == bn.running_mean()[ch]);
            CHECK(u.running_var == bn.running_var()[ch]);
            const double y_eval =
                u.gamma * (u.x - u.running_mean) / std::sqrt(double(u.running_var) + u.eps) +
                u.beta;
            CHECK(u.y_eval == doctest::Approx(y_eval).epsilon(1e-5).scale(1e-3));
          }
          CHECK(u.noisy == k.noisy);
          if (u.noisy) {
            // The noise layer after BN: its output element is s * y + m.
            const Tensor& noisy_out = live_output(model, cap.layer + 1);
            const float expect = noisy_out[((int64_t(n) * s.c + ch) * s.h + h) * s.w + w];
            CHECK(near(u.y_noisy, expect,
                       std::fabs(u.noise_scale * u.y_layer) + std::fabs(u.noise_shift)));
            CHECK(u.noise_scale > 0.5f);
            CHECK(u.noise_scale < 1.75f);
          }
        }
      // dgamma and dbeta of a channel: the layer's gradients, equal to sums over the channel of
      // dy * xhat and dy (SCIENCE.md 1), recomputed here.
      for (int ch = 0; ch < s.c; ++ch) {
        double dg = 0, db = 0;
        for (int n = 0; n < s.n; ++n)
          for (int64_t p = 0; p < s.spatial(); ++p) {
            const size_t i = size_t((int64_t(n) * s.c + ch) * s.spatial() + p);
            // Renorm: dgamma = sum g * (r * xhat + d).
            dg += double(cap.dy[i]) * (cap.r[size_t(ch)] * cap.xhat[i] + cap.d[size_t(ch)]);
            db += cap.dy[i];
          }
        const UnitTrace u = rec.trace(cap.name, 0, ch, 0, 0);
        CHECK(u.dgamma == doctest::Approx(dg).epsilon(1e-4).scale(1e-4));
        CHECK(u.dbeta == doctest::Approx(db).epsilon(1e-4).scale(1e-4));
      }
    }
    if (std::string(k.norm) == "renorm")
      CHECK_MESSAGE(renorm_moved, "r stayed 1: the test would not see r");
  }
}

TEST_CASE("trace.gamma and beta are those the forward used, not the updated ones") {
  const Config c = trace_config("batch");
  Trainer t(c, load_data(c, ""));
  for (int s = 0; s < 3; ++s) t.step();
  TraceRecorder rec;
  rec.capture(t);
  auto& bn = dynamic_cast<BatchNorm&>(t.model().layer(rec.layers()[0].layer));
  const UnitTrace u = rec.trace("bn1", 1, 2, 3, 4);
  // The step's update moved gamma by -lr * dgamma (momentum 0 by default: no buffer before).
  CHECK(u.gamma != bn.gamma()[2]);
  CHECK(near(u.y, u.y_layer, std::fabs(u.gamma * u.xhat) + std::fabs(u.beta)));
}

TEST_CASE("trace.Batch Renorm: r and d come from the running statistics before the step's update") {
  const Config c = trace_config("renorm");
  Trainer t(c, load_data(c, ""));
  for (int s = 0; s < 3; ++s) t.step();
  TraceRecorder rec;
  auto& bn = dynamic_cast<BatchNorm&>(t.model().layer(1));
  // The truth: the layer's running statistics read directly before the step.
  const Tensor mean_before = bn.running_mean(), var_before = bn.running_var();
  rec.remember(t);
  t.step();
  rec.capture(t);
  REQUIRE(rec.error().empty());
  const float eps = rec.layers()[0].eps;
  bool moved = false;
  for (int ch = 0; ch < 4; ++ch) {
    CAPTURE(ch);
    const UnitTrace u = rec.trace("brn1", 0, ch, 0, 0);
    REQUIRE(u.has_before);
    CHECK(u.running_mean_before == mean_before[ch]);
    CHECK(u.running_var_before == var_before[ch]);
    CHECK(u.running_mean == bn.running_mean()[ch]);  // after the update
    if (u.running_mean != u.running_mean_before) moved = true;
    // r = clip(sqrt(var_B + eps) / sigma, 1/r_max, r_max), d = clip((mu_B - mu) / sigma, ...)
    // with sigma = sqrt(running_var_before + eps): r and d follow from the "before" values.
    const double sigma = std::sqrt(double(u.running_var_before) + eps);
    const double r = std::clamp(std::sqrt(double(u.var) + eps) / sigma, 1.0 / c.norm.r_max,
                                double(c.norm.r_max));
    const double d = std::clamp((double(u.mean) - u.running_mean_before) / sigma,
                                -double(c.norm.d_max), double(c.norm.d_max));
    CHECK(std::fabs(u.r - r) <= 1e-5 * std::fabs(r));
    CHECK(std::fabs(u.d - d) <= 1e-5 * (std::fabs(d) + 1e-3));
  }
  CHECK_MESSAGE(
      moved, "the update did not move the running mean: the test would not tell before from after");
  // A capture of a later step does not reuse an older remember().
  t.step();
  rec.capture(t);
  CHECK_FALSE(rec.trace("brn1", 0, 0, 0, 0).has_before);
}

TEST_CASE("trace.bad requests get clear errors") {
  const Config c = trace_config("batch");
  Trainer t(c, load_data(c, ""));
  TraceRecorder rec;
  rec.capture(t);
  CHECK_THROWS_WITH_AS(rec.trace("bn1", 0, 0, 0, 0), doctest::Contains("no training step"), Error);
  t.step();
  rec.capture(t);
  CHECK_THROWS_WITH_AS(rec.trace("bn9", 0, 0, 0, 0), doctest::Contains("there are bn1, bn2"),
                       Error);
  CHECK_THROWS_WITH_AS(rec.trace("bn1", 8, 0, 0, 0),
                       doctest::Contains("sample 8 is outside 0 to 7"), Error);
  CHECK_THROWS_WITH_AS(rec.trace("bn2", 0, 0, 1, 0), doctest::Contains("row 1 is outside 0 to 0"),
                       Error);
  CHECK_THROWS_WITH_AS(rec.trace("bn1", 0, -1, 0, 0), doctest::Contains("channel -1"), Error);

  Config none = trace_config("batch");
  none.norm.kind = NormKind::None;
  Trainer plain(none, load_data(none, ""));
  plain.step();
  rec.capture(plain);
  CHECK_THROWS_WITH_AS(rec.trace("bn1", 0, 0, 0, 0), doctest::Contains("this network has none"),
                       Error);
}

TEST_CASE(
    "trace.what-if: train mode depends on the companions, eval mode does not, the run is "
    "unchanged") {
  for (const std::string norm : {"batch", "ghost", "layer"}) {
    CAPTURE(norm);
    Config c = trace_config(norm, norm == "batch");
    Trainer t(c, load_data(c, ""));
    Trainer twin(c, load_data(c, ""));
    for (int s = 0; s < 5; ++s) t.step(), twin.step();
    const std::string before = t.save_state();
    const std::string prefix = norm == "batch" ? "bn" : norm == "ghost" ? "gbn" : "ln";
    WhatIf what(t, 99);
    std::set<float> train_y, eval_y, train_p;
    for (int draw = 0; draw < 4; ++draw) {
      const std::vector<int> mates = what.draw_companions(7);
      REQUIRE(std::set<int>(mates.begin(), mates.end()).size() == 7);
      for (const WhatIfUnit& unit :
           {WhatIfUnit{prefix + "1", 1, 10, 12}, WhatIfUnit{prefix + "2", 3, 0, 0}}) {
        const WhatIfSample tr = what.run(11, mates, Mode::Train, unit);
        const WhatIfSample ev = what.run(11, mates, Mode::Eval, unit);
        REQUIRE(int(tr.probs.size()) == t.data().test.num_classes);
        double total = 0;
        for (float p : tr.probs) total += p;
        CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
        if (unit.layer == prefix + "2") {
          train_y.insert(tr.y), eval_y.insert(ev.y), train_p.insert(tr.probs[0]);
        }
      }
    }
    CHECK_MESSAGE(t.save_state() == before, "a what-if forward changed the run's state");
    if (norm == "layer") {
      // LayerNorm normalizes each sample on its own: its companions change nothing.
      CHECK(train_y.size() == 1);
    } else {
      CHECK(train_y.size() == 4);
      CHECK(train_p.size() == 4);
    }
    CHECK(eval_y.size() == 1);
    // The run goes on exactly as its twin that never saw a what-if.
    CHECK(t.step().loss == twin.step().loss);
    CHECK(t.save_state() == twin.save_state());
  }
}

TEST_CASE("trace.what-if: bad requests fail with a message and change nothing") {
  const Config c = trace_config("batch");
  Trainer t(c, load_data(c, ""));
  t.step();
  const std::string before = t.save_state();
  WhatIf what(t, 1);
  const WhatIfUnit unit{"bn2", 0, 0, 0};
  CHECK_THROWS_WITH_AS(what.run(-1, {1, 2}, Mode::Train, unit), doctest::Contains("test image -1"),
                       Error);
  CHECK_THROWS_WITH_AS(what.run(0, {1, 99999}, Mode::Train, unit),
                       doctest::Contains("training example 99999"), Error);
  CHECK_THROWS_WITH_AS(what.run(0, {1}, Mode::Train, WhatIfUnit{"fc1", 0, 0, 0}),
                       doctest::Contains("no normalization layer"), Error);
  CHECK_THROWS_WITH_AS(what.run(0, {1}, Mode::Train, WhatIfUnit{"bn2", 6, 0, 0}),
                       doctest::Contains("channel 6"), Error);
  // Alone in its batch, the dense BN has one value per channel: PyTorch's error, state unchanged.
  CHECK_THROWS_WITH_AS(what.run(0, {}, Mode::Train, unit),
                       doctest::Contains("more than 1 value per channel"), Error);
  CHECK_THROWS_WITH_AS(what.draw_companions(-1), doctest::Contains("cannot draw"), Error);
  CHECK(t.save_state() == before);
  // Eval mode takes the image alone.
  CHECK_NOTHROW(what.run(0, {}, Mode::Eval, unit));
}
