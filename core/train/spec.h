// The compact model description and its presets.
//
//   spec  := block { " " block }          blocks only group items for the reader
//   block := item { "-" item }
//   item  := "conv" C ["k" K] ["s" S] ["p" P]  conv, C output channels, kernel K (default 3),
//                                              stride S (default 1), padding P (default K/2)
//          | "fc" [N]                          linear layer with N outputs; a bare "fc" as the
//                                              last item has one output per class
//          | "bn" | "norm"                     the model's normalizer (config norm=...)
//          | "relu" | "sigmoid" | "tanh"
//          | "pool" K | "maxpool" K | "avgpool" K    pooling with kernel and stride K
//          | "flatten"                         optional: fc flattens its input itself
// Example (the preset ref-cnn):  conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc
// The last item must be an fc layer; softmax cross-entropy follows it.
#pragma once

#include <string>
#include <vector>

namespace bnlab {

enum class ItemKind { Conv, Fc, Norm, ReLU, Sigmoid, Tanh, MaxPool, AvgPool, Flatten };

struct SpecItem {
  ItemKind kind;
  int out = 0;        // conv channels or fc outputs (0: a bare final fc = number of classes)
  int kernel = 0;     // conv or pool kernel
  int stride = 1;
  int padding = 0;
  std::string token;  // the text it came from, for messages
};

// A preset name (ref-cnn, mlp, ...) or spec text. Throws Error naming the offending token and
// what was expected there.
std::vector<SpecItem> parse_spec(const std::string& text);
// The spec text of a preset, or "" if the name is not a preset.
std::string preset_spec(const std::string& name);
struct PresetInfo {
  std::string name, spec, description;
};
const std::vector<PresetInfo>& presets();

}  // namespace bnlab
