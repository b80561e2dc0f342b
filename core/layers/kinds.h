// Every kind of layer a model can hold, in one list: the kind() strings of the layer classes and
// what each kind is for. Code that treats layers by what they do (the weight initialization, the
// measurements, the page's layer strip and "Show code") asks layer_role() instead of listing
// kinds again; the page receives layer_kinds() through the WebAssembly module.
#pragma once

#include <string>
#include <vector>

namespace bnlab {

enum class LayerRole {
  Weighted,    // conv, fc: weights and biases that SGD trains
  Normalizer,  // bn, brn, gbn, ln, gn, in: what the spec's "bn" positions become
  Noise,       // noisy BN's perturbation after a normalizer
  Activation,  // relu, sigmoid, tanh
  Pool,        // maxpool, avgpool
  Reshape,     // flatten
};

struct LayerKindInfo {
  std::string kind;  // Layer::kind(), the prefix of the layer's name ("bn" in "bn1")
  LayerRole role;
  std::string what;  // one line for people
};

const std::vector<LayerKindInfo>& layer_kinds();
// The role of a kind; throws Error for a kind not in layer_kinds().
LayerRole layer_role(const std::string& kind);
// "weighted", "normalizer", "noise", "activation", "pool", "reshape".
std::string layer_role_name(LayerRole role);

}  // namespace bnlab
