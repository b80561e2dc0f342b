// libFuzzer target: the state loader (io/state.h, Trainer::load_state) on a tiny model. A state
// is loaded whole or refused with bnlab::Error and changes nothing; one that loads trains on
// (its next step runs, NaN being a run's possible fate, not a crash).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "data/synthetic.h"
#include "io/state.h"
#include "train/trainer.h"

namespace {

bnlab::Config tiny_config() {
  bnlab::Config c;
  c.dataset = "shapes";
  c.model = "conv2-bn-relu-pool4 fc4-bn-relu fc";
  c.batch_size = 4;
  return c;
}

// 64 training and 8 test images of the shapes dataset, made once (the full set takes seconds
// under the sanitizers, and every input gets a fresh trainer on it).
std::shared_ptr<const bnlab::DataSplit> tiny_data() {
  auto d = std::make_shared<bnlab::DataSplit>();
  d->train = bnlab::make_shapes(64, 1, bnlab::ShapeStyle());
  d->test = bnlab::make_shapes(8, 2, bnlab::ShapeStyle());
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto split = tiny_data();
  static const std::string initial = bnlab::Trainer(tiny_config(), split).save_state();
  const std::string text(reinterpret_cast<const char*>(data), size);
  bnlab::Trainer t(tiny_config(), split);
  try {
    bnlab::config_from_state(text);
  } catch (const bnlab::Error&) {
  }
  try {
    t.load_state(text);
  } catch (const bnlab::Error&) {
    if (t.save_state() != initial) __builtin_trap();  // a refused state changed the run
    return 0;
  }
  t.step();
  t.evaluate(bnlab::Mode::Eval);
  return 0;
}
