#include "layers/kinds.h"

#include "base/error.h"

namespace bnlab {

const std::vector<LayerKindInfo>& layer_kinds() {
  static const std::vector<LayerKindInfo> kinds = {
      {"conv", LayerRole::Weighted, "2-D convolution (torch.nn.Conv2d)"},
      {"fc", LayerRole::Weighted, "fully connected layer (torch.nn.Linear)"},
      {"bn", LayerRole::Normalizer, "Batch Normalization (norm=batch)"},
      {"brn", LayerRole::Normalizer, "Batch Renormalization (norm=renorm)"},
      {"gbn", LayerRole::Normalizer, "Ghost Batch Normalization (norm=ghost)"},
      {"ln", LayerRole::Normalizer, "Layer Normalization (norm=layer)"},
      {"gn", LayerRole::Normalizer, "Group Normalization (norm=group)"},
      {"in", LayerRole::Normalizer, "Instance Normalization (norm=instance)"},
      {"noise", LayerRole::Noise, "noisy BN's random shift and scale (noisy=true)"},
      {"relu", LayerRole::Activation, "ReLU"},
      {"sigmoid", LayerRole::Activation, "logistic sigmoid"},
      {"tanh", LayerRole::Activation, "hyperbolic tangent"},
      {"maxpool", LayerRole::Pool, "max pooling"},
      {"avgpool", LayerRole::Pool, "average pooling"},
      {"flatten", LayerRole::Reshape, "flatten (N, C, H, W) to (N, C*H*W)"},
  };
  return kinds;
}

LayerRole layer_role(const std::string& kind) {
  for (const LayerKindInfo& k : layer_kinds())
    if (k.kind == kind) return k.role;
  throw Error("no layer kind '" + kind + "'");
}

std::string layer_role_name(LayerRole role) {
  switch (role) {
    case LayerRole::Weighted:
      return "weighted";
    case LayerRole::Normalizer:
      return "normalizer";
    case LayerRole::Noise:
      return "noise";
    case LayerRole::Activation:
      return "activation";
    case LayerRole::Pool:
      return "pool";
    case LayerRole::Reshape:
      return "reshape";
  }
  return "";
}

}  // namespace bnlab
