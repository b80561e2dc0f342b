// covariate-shift: accuracy on a brightness/contrast-shifted test set, and batch statistics of
// the shifted data as a remedy (AdaBN) (NUMERICS.md 6).
#include <cmath>
#include <memory>

#include "data/synthetic.h"
#include "experiments/common.h"

namespace bnlab {

namespace {

constexpr int kShiftSteps = 500;  // the default steps (--steps 0)

// The reference CNN with normalizers after its two convolutions only: InstanceNorm needs a
// spatial extent to normalize over, which the fc layer's (N, 64, 1, 1) output lacks.
constexpr const char* kShiftModel = "conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-relu fc";
constexpr NormKind kShiftVariants[3] = {NormKind::None, NormKind::Batch, NormKind::Instance};

// The training data with the shifted test set, and the test set in the training style: the
// synthetic "shift" and "shapes" (whose training sets are the same) for mnist, and for fashion
// Fashion-MNIST with its test images restyled as the "shift" test set draws its shapes.
struct ShiftData {
  std::shared_ptr<const DataSplit> shift, same;
};

ShiftData shift_data(const Config& base, const ExperimentOptions& options) {
  if (base.dataset == "fashion") {
    auto same = load_data(base, options.data_dir);
    auto shift = std::make_shared<DataSplit>(*same);
    shift->test = restyle(same->test, shift_test_style(), options.seed ^ 0x7E57DA7A);
    return {shift, same};
  }
  Config plain = base;
  plain.dataset = "shapes";  // the same training set; its test set is in the training style
  return {load_data(base, options.data_dir), load_data(plain, options.data_dir)};
}

// Units [begin, end): one variant each (kShiftVariants), trained on the shift dataset and tested
// on both test sets.
Tables covariate_shift_units(const ExperimentOptions& options, int begin, int end) {
  const int steps = steps_or(options, kShiftSteps);
  check_experiment_dataset(options.dataset);
  Config base;
  base.model = kShiftModel;
  base.dataset = options.dataset == "fashion" ? "fashion" : "shift";
  base.seed = options.seed;
  const auto [shift, shapes] = shift_data(base, options);
  Table accuracy({"variant", "test_set", "mode", "accuracy"});
  for (int r = begin; r < end; ++r) {
    Config c = base;
    c.norm.kind = kShiftVariants[r];
    Run run(fixed_steps(steps));
    Trainer& t = run.add(c, shift);
    RunHooks hooks;
    const auto on_stepped = [&](const SideStep& st, Trainer&) {
      if (st.step % 50 == 0)
        options.progress((r - begin + double(st.step) / steps) / (end - begin));
    };
    hooks.stepped = on_stepped;
    run.train(steps, hooks);
    const std::string k = label(kShiftVariants[r]);
    // Train mode: each chunk of 32 test images is normalized with its own statistics, those of
    // the shifted data, as AdaBN's re-estimated statistics would be. The same for no BN and IN.
    const bool ok = !t.diverged();
    const float same = ok ? eval_accuracy(t.model(), shapes->test) : 0.f;
    const float shifted = ok ? t.evaluate(Mode::Eval).accuracy : 0.f;
    const float shifted_batch = ok ? t.evaluate(Mode::Train).accuracy : 0.f;
    // The test sets keep their names ("shapes": the training style) on either dataset, so
    // that tables and figures compare across datasets.
    accuracy.add({k, "shapes", "eval", fmt(same)});
    accuracy.add({k, "shift", "eval", fmt(shifted)});
    accuracy.add({k, "shift", "train", fmt(shifted_batch)});
  }
  return {{"accuracy", std::move(accuracy)}};
}

// Each variant's three accuracies, from the table.
Json covariate_shift_summary(const ExperimentOptions& options, const Tables& tables) {
  const Table& accuracy = tables.at(0).second;
  Json j = Json::object();
  for (NormKind kind : kShiftVariants) {
    const std::string k = label(kind);
    auto find = [&](const char* set, const char* mode) {
      double a = std::nan("");  // none: a part left out, which combine_experiment_parts prevents
      for (const auto& row : accuracy.data())
        if (row[0] == k && row[1] == set && row[2] == mode) a = cell_float(row[3]);
      return a;
    };
    j.set("shapes_" + k, number(find("shapes", "eval")));
    j.set("shift_" + k, number(find("shift", "eval")));
    j.set("shift_train_mode_" + k, number(find("shift", "train")));
  }
  j.set("dataset", options.dataset == "fashion" ? "fashion" : "shapes");  // what it trained on
  return j;
}

}  // namespace

ExperimentInfo covariate_shift_experiment() {
  return sweep_experiment(
      "covariate-shift", "A shifted test set: BN's statistics, batch statistics and InstanceNorm",
      "Covariate shift between datasets ('white dogs, then other dogs'). A CNN (the reference CNN "
      "with normalizers after its two convolutions only, since InstanceNorm needs a spatial "
      "extent) trains for 500 steps on the shift dataset's training set, bright shapes on dark (6 "
      "classes), with no normalizer, BN or InstanceNorm. It is tested on the training-style test "
      "set (shapes) and on the shifted one (dim, low-contrast shapes on mid-grey, a quarter of "
      "them inverted), in eval mode, and in train mode, where each chunk of 32 shifted images is "
      "normalized with its own statistics: the statistics of the new domain, as AdaBN (Li et al. "
      "2016) re-estimates them. Found (seeds 1 to 6): all three reach 93-99% on training-style "
      "images. On the shifted ones, over seeds 1 to 10 (core/experiments/findings/mnist.json): BN "
      "with its running statistics falls to chance (16-18%, chance is 1 in 6) on every seed, and "
      "no normalizer scores little more (15-36%, mean 22%). BN with the shifted data's own "
      "statistics recovers part of it, by an amount that varies much with the seed (27-62%, mean "
      "39%, 10 to 45 points above its running statistics), and InstanceNorm, which normalizes "
      "each image, recovers part too (19-44%, mean 33%). None comes near the training-style "
      "accuracy: normalizing undoes the change of brightness and contrast, not the inverted "
      "quarter, the noise that is three times stronger relative to a third of the contrast, nor "
      "(probably) the zero padding of the convolutions, which matches a dark background but not a "
      "grey one.",
      kShiftSteps, {3, covariate_shift_units, covariate_shift_summary});
}

}  // namespace bnlab
