#include "layers/normalizer.h"

#include <cmath>
#include <sstream>

#include "base/error.h"
#include "layers/batchnorm.h"
#include "layers/groupnorm.h"

namespace bnlab {

namespace {

struct KindName {
  NormKind kind;
  const char* name;
};
constexpr KindName kKindNames[] = {
    {NormKind::None, "none"},         {NormKind::Batch, "batch"},   {NormKind::Layer, "layer"},
    {NormKind::Group, "group"},       {NormKind::Instance, "instance"},
    {NormKind::Renorm, "renorm"},     {NormKind::Ghost, "ghost"},
};

// A number as a person would write it in a config (1e-05, 0.1, 3), for messages.
std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

NormKind parse_norm_kind(const std::string& name) {
  std::string valid;
  for (const auto& k : kKindNames) {
    if (name == k.name) return k.kind;
    valid += std::string(valid.empty() ? "" : ", ") + k.name;
  }
  throw Error("unknown normalizer \"" + name + "\": expected one of " + valid);
}

std::vector<std::string> norm_kind_names() {
  std::vector<std::string> names;
  for (const auto& k : kKindNames) names.push_back(k.name);
  return names;
}

std::string norm_kind_name(NormKind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  throw Error("norm_kind_name: not a NormKind (" + std::to_string(int(kind)) + ")");
}

void validate_norm_config(const NormConfig& config) {
  const std::string where = "normalizer config: ";
  // Written as !(valid) so that NaN fails every check.
  if (!(std::isfinite(config.eps) && config.eps > 0.f))
    throw Error(where + "eps must be a finite number > 0, got " + number(config.eps));
  if (!(config.momentum >= 0.f && config.momentum <= 1.f))
    throw Error(where + "momentum must be in [0, 1] (PyTorch's convention: the weight of the new "
                        "batch), got " + number(config.momentum));
  if (config.groups < 1)
    throw Error(where + "groups must be >= 1, got " + std::to_string(config.groups));
  if (config.ghost_batch < 2)
    throw Error(where + "ghost_batch must be >= 2 (a sub-batch of 1 sample has no variance), got " +
                std::to_string(config.ghost_batch));
  if (!(config.r_max >= 1.f && config.r_max < INFINITY))
    throw Error(where + "r_max must be a finite number >= 1, got " + number(config.r_max));
  if (!(config.d_max >= 0.f && config.d_max < INFINITY))
    throw Error(where + "d_max must be a finite number >= 0, got " + number(config.d_max));
  if (config.kind == NormKind::Renorm && !config.track_running_stats)
    throw Error(where + "renorm needs track_running_stats (its r and d come from the running "
                        "estimates)");
}

std::unique_ptr<Layer> make_normalizer(const NormConfig& config, int channels) {
  validate_norm_config(config);
  switch (config.kind) {
    case NormKind::None: return nullptr;
    case NormKind::Batch:
    case NormKind::Renorm:
    case NormKind::Ghost: return std::make_unique<BatchNorm>(channels, config);
    case NormKind::Layer: return std::make_unique<GroupNorm>(channels, 1, config, "ln");
    case NormKind::Group:
      return std::make_unique<GroupNorm>(channels, config.groups, config, "gn");
    case NormKind::Instance: return std::make_unique<GroupNorm>(channels, channels, config, "in");
  }
  throw Error("make_normalizer: not a NormKind (" + std::to_string(int(config.kind)) + ")");
}

}  // namespace bnlab
