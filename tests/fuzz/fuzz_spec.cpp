// libFuzzer target: the model spec parser (train/spec.h) and the models it describes. The first
// byte picks the normalizer, placement and noise; the rest is the spec. A spec that parses is
// built on 12x12 images of 3 classes under a 16 MiB budget and trained for a step and evaluated
// on a batch of 2: every spec is run or refused with bnlab::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/rng.h"
#include "train/loss.h"
#include "train/model.h"
#include "train/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 200) return 0;
  static const bool budget = (bnlab::set_memory_budget(int64_t(16) << 20), true);
  (void)budget;
  const uint8_t mode = data[0];
  bnlab::Config c;
  c.model.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  const bnlab::NormKind kinds[] = {bnlab::NormKind::None,     bnlab::NormKind::Batch,
                                   bnlab::NormKind::Layer,    bnlab::NormKind::Group,
                                   bnlab::NormKind::Instance, bnlab::NormKind::Renorm,
                                   bnlab::NormKind::Ghost};
  c.norm.kind = kinds[mode % 7];
  c.norm.groups = 1 + (mode >> 3) % 4;
  c.norm.ghost_batch = 2;
  c.placement = (mode & 0x40) ? bnlab::Placement::After : bnlab::Placement::Before;
  c.noisy = (mode & 0x80) != 0;
  c.batch_size = 2;
  try {
    bnlab::parse_spec(c.model);
    bnlab::Model model(c, bnlab::Shape{1, 1, 12, 12}, 3);
    model.init_weights(1);
    bnlab::Tensor x(bnlab::Shape{2, 1, 12, 12});
    bnlab::Rng rng(7);
    for (int64_t i = 0; i < x.size(); ++i) x[i] = float(rng.uniform());
    const int labels[2] = {0, 2};
    bnlab::SoftmaxCrossEntropy loss;
    loss.forward(model.forward(x, bnlab::Mode::Train), labels);
    model.zero_grad();
    model.backward(loss.backward());
    model.forward(x, bnlab::Mode::Eval);
  } catch (const bnlab::Error&) {
  }
  return 0;
}
