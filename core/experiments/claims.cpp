// The claims of the literature that each experiment tests, as comparisons of two headline
// figures of one seed's summary.json (experiments/seeds.h says how a verdict is reached).
// Margins are the smallest difference that matters for a learner: one point of accuracy, a
// factor of 10^0.05 = 1.12 on a log scale.
#include <map>

#include "experiments/experiments.h"
#include "experiments/seeds.h"
#include "experiments/targets.h"

namespace bnlab {

namespace {

const double kPoint = 0.01;     // one point of accuracy
const double kLogSmall = 0.05;  // a factor of 1.12

// The claims on `dataset`: the same on both, except that convergence's figures are the steps to
// the dataset's higher target (targets.h: 90% on MNIST).
std::map<std::string, std::vector<Claim>> make_claims(const std::string& dataset) {
  std::map<std::string, std::vector<Claim>> c;
  c["ioffe-mnist"] = {
      {"faster", "BN trains faster (Ioffe & Szegedy, Fig. 1a): test accuracy at the early step, BN vs none",
       "accuracy_early_bn", "accuracy_early_none", "greater", kPoint, false},
      {"higher", "BN ends higher (Fig. 1a): final test accuracy, BN vs none", "accuracy_final_bn",
       "accuracy_final_none", "greater", kPoint, false},
      {"stable-median", "With BN a sigmoid's input drifts less (Fig. 1b, c): drift of the median", "median_drift_bn",
       "median_drift_none", "less", 0.0, false},
      {"stable-spread", "With BN a sigmoid's input drifts less (Fig. 1b, c): drift of the 15-85 spread",
       "spread_drift_bn", "spread_drift_none", "less", 0.0, false},
  };
  c["lr-sweep"] = {
      {"higher-lr", "BN allows higher learning rates (Ioffe & Szegedy): the largest rate that trains, BN vs none",
       "largest_lr_bn", "largest_lr_none", "greater", kLogSmall, true},
  };
  c["init-sweep"] = {
      {"init", "BN reduces the need for careful initialization (Ioffe & Szegedy): initial scales that train, BN vs none",
       "scales_trained_bn", "scales_trained_none", "greater", 0.5, false},
  };
  c["grad-init"] = {
      {"sigmoid", "BN keeps gradient magnitudes even across layers at initialization: sigmoid, 8 hidden layers (spread, BN vs none)",
       "sigmoid-mlp-8.spread_bn", "sigmoid-mlp-8.spread_none", "less", kLogSmall, true},
      {"relu", "BN keeps gradient magnitudes even across layers at initialization: ReLU, 8 hidden layers (spread, BN vs none)",
       "relu-mlp-8.spread_bn", "relu-mlp-8.spread_none", "less", kLogSmall, true},
      {"cnn", "BN keeps gradient magnitudes even across layers at initialization: deep-cnn (spread, BN vs none)",
       "deep-cnn.spread_bn", "deep-cnn.spread_none", "less", kLogSmall, true},
  };
  const std::string high = target_name(convergence_targets(dataset)[1]);
  const std::string steps_to = "steps_to_" + high + "_";
  c["convergence"] = {
      {"fewer-steps", "BN converges in fewer steps (Ioffe & Szegedy): steps to " + high +
       "% test accuracy, BN vs none", steps_to + "bn", steps_to + "none", "less", kLogSmall, true},
      {"bn-x5", "A higher rate adds to BN's speed (BN-x5): steps to " + high + "%, BN at 5x the rate vs BN",
       steps_to + "bn-x5", steps_to + "bn", "less", kLogSmall, true},
  };
  c["regularization"] = {
      {"cnn-gap", "BN regularizes (Ioffe & Szegedy): train/test gap on 500 training images, reference CNN, BN vs none",
       "ref-cnn.gap_bn", "ref-cnn.gap_none", "less", kPoint, false},
      {"mlp-gap", "BN regularizes (Ioffe & Szegedy): train/test gap on 500 training images, sigmoid MLP, BN vs none",
       "mlp.gap_bn", "mlp.gap_none", "less", kPoint, false},
  };
  c["covariate-shift"] = {
      {"adabn", "Batch statistics of the new domain recover accuracy (AdaBN, Li et al.): BN on shifted data, own statistics vs running",
       "shift_train_mode_bn", "shift_bn", "greater", kPoint, false},
      {"instance", "InstanceNorm is robust to a change of brightness and contrast: shifted accuracy, InstanceNorm vs none",
       "shift_instance", "shift_none", "greater", kPoint, false},
  };
  c["noisy-bn"] = {
      {"noisy-trains", "Noisy BN trains about as well as BN and better than none (Santurkar et al.): test accuracy, noisy BN vs none",
       "test_accuracy.noisy-bn", "test_accuracy.none", "greater", kPoint, false},
      {"noisy-unstable", "Noisy BN's layer inputs are less stable than the plain network's (Santurkar et al.): instability",
       "instability.noisy-bn", "instability.none", "greater", 0.0, false},
      // Santurkar et al.'s direction, on both kinds of network at both rates (noisy_bn.cpp).
      {"ics-cnn-0.05", "BN does not reduce internal covariate shift by the gradient measure, often increases it (Santurkar et al.): ||G - G'|| / ||G||, reference CNN at lr 0.05, BN vs none",
       "ics_relative_by_rate.ref-cnn.0.05.bn", "ics_relative_by_rate.ref-cnn.0.05.none", "greater", kLogSmall, true},
      {"ics-cnn-0.1", "BN does not reduce internal covariate shift by the gradient measure, often increases it (Santurkar et al.): ||G - G'|| / ||G||, reference CNN at lr 0.1, BN vs none",
       "ics_relative_by_rate.ref-cnn.0.1.bn", "ics_relative_by_rate.ref-cnn.0.1.none", "greater", kLogSmall, true},
      {"ics-mlp-0.05", "BN does not reduce internal covariate shift by the gradient measure, often increases it (Santurkar et al.): ||G - G'|| / ||G||, sigmoid MLP at lr 0.05, BN vs none",
       "ics_relative_by_rate.mlp.0.05.bn", "ics_relative_by_rate.mlp.0.05.none", "greater", kLogSmall, true},
      {"ics-mlp-0.1", "BN does not reduce internal covariate shift by the gradient measure, often increases it (Santurkar et al.): ||G - G'|| / ||G||, sigmoid MLP at lr 0.1, BN vs none",
       "ics_relative_by_rate.mlp.0.1.bn", "ics_relative_by_rate.mlp.0.1.none", "greater", kLogSmall, true},
  };
  c["landscape"] = {
      {"loss-range", "BN smooths the loss landscape (Santurkar et al.): loss range along the gradient, BN vs none",
       "median_loss_range.bn", "median_loss_range.none", "less", kLogSmall, true},
      {"predictiveness", "BN makes gradients more predictive (Santurkar et al.): gradient change relative to ||g||, BN vs none",
       "median_relative_predictiveness.bn", "median_relative_predictiveness.none", "less", kLogSmall, true},
      {"beta-smoothness", "BN lowers the effective beta-smoothness (Santurkar et al.), BN vs none",
       "median_beta_smoothness.bn", "median_beta_smoothness.none", "less", kLogSmall, true},
  };
  c["batch-size"] = {
      {"group-at-2", "GroupNorm does not suffer at small batches where BN does (Wu & He): batch 2, dense-bn, GN vs BN",
       "test_accuracy.dense-bn.group.2", "test_accuracy.dense-bn.batch.2", "greater", kPoint, false},
      {"gradual", "BN degrades gradually as the batch shrinks (Wu & He): dense-bn, batch 16 vs batch 4",
       "test_accuracy.dense-bn.batch.16", "test_accuracy.dense-bn.batch.4", "greater", kPoint, false},
      {"conv-bn", "BN degrades at small batches (Wu & He): small-cnn (BN after convolutions only), batch 16 vs batch 2",
       "test_accuracy.small-cnn.batch.16", "test_accuracy.small-cnn.batch.2", "greater", kPoint, false},
  };
  c["placement"] = {
      {"after", "BN after the activation works better than before (some practitioners' reports): late test accuracy, after vs before",
       "late_test_accuracy.after", "late_test_accuracy.before", "greater", kPoint, false},
  };
  c["train-eval"] = {
      {"chain", "Eval output / train output after 20 BN layers is (63/64)^10 (the unbiased running variance)",
       "chain_ratio_layer20", "chain_expected_layer20", "near", 1e-3, false},
      {"population", "Inference needs population statistics: eval-mode accuracy (momentum 0.1) vs train mode on batches of 2",
       "eval_accuracy_final.0.1", "train_mode_accuracy_final.2", "greater", kPoint, false},
  };
  return c;
}

// A table cell: '|' (in ||G||) would end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

}  // namespace

const std::vector<Claim>& claims_of(const std::string& experiment, const std::string& dataset) {
  static const std::map<std::string, std::vector<Claim>> mnist = make_claims("mnist");
  static const std::map<std::string, std::vector<Claim>> fashion = make_claims("fashion");
  static const std::vector<Claim> none;
  const auto& all = dataset == "fashion" ? fashion : mnist;
  const auto it = all.find(experiment);
  return it == all.end() ? none : it->second;
}

std::string claims_table() {
  std::string out =
      "| claim | the literature claims, and what BN Lab compares | a | b | expected of a - b |\n"
      "| --- | --- | --- | --- | --- |\n";
  auto row = [&](const std::string& id, const Claim& c) {
    std::string expected = c.relation == "near" ? "within " + fmt(c.margin) : c.relation;
    if (c.relation != "near" && c.margin > 0) expected += ", beyond " + fmt(c.margin);
    if (c.log_scale) expected += " (log10)";
    out += "| " + id + " | " + cell(c.literature) + " | `" + c.a + "` | `" + c.b + "` | " +
           expected + " |\n";
  };
  for (const ExperimentInfo& e : experiments()) {
    const std::vector<Claim>& mnist = claims_of(e.name, "mnist");
    const std::vector<Claim>& fashion = claims_of(e.name, "fashion");
    for (size_t i = 0; i < mnist.size(); ++i) {
      const Claim& c = mnist[i];
      row("`" + e.name + "/" + c.id + "`", c);
      // A claim whose figures depend on the dataset (targets.h) gets its Fashion-MNIST row too.
      const Claim* f = i < fashion.size() ? &fashion[i] : nullptr;
      if (f && (f->literature != c.literature || f->a != c.a || f->b != c.b ||
                f->relation != c.relation || f->margin != c.margin || f->log_scale != c.log_scale))
        row("`" + e.name + "/" + f->id + "` on Fashion-MNIST", *f);
    }
  }
  return out;
}

}  // namespace bnlab
