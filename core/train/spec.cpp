#include "train/spec.h"

#include <cctype>

#include "base/error.h"

namespace bnlab {

const std::vector<PresetInfo>& presets() {
  static const std::vector<PresetInfo> list = {
      {"ref-cnn", "conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc",
       "the reference CNN of core/NUMERICS.md 7 (with norm=none: ref-cnn-nobn)"},
      {"ref-cnn-nobn", "conv8-relu-pool2 conv16-relu-pool2 fc64-relu fc",
       "the reference CNN without any normalizer"},
      {"mlp", "fc100-bn-sigmoid fc100-bn-sigmoid fc100-bn-sigmoid fc",
       "Ioffe & Szegedy's MNIST network: 784-100-100-100-10, sigmoid"},
      {"small-cnn", "conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc",
       "a smaller CNN for quick lessons and tests"},
      {"deep-cnn", "conv8-bn-relu conv8-bn-relu-pool2 conv16-bn-relu conv16-bn-relu-pool2 fc64-bn-relu fc",
       "a deeper CNN, where initialization and learning rate matter more"},
  };
  return list;
}

std::string preset_spec(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return p.spec;
  return "";
}

namespace {

// Reads the digits at s[pos...]; returns -1 when there are none.
long read_int(const std::string& s, size_t& pos) {
  if (pos >= s.size() || !std::isdigit(static_cast<unsigned char>(s[pos]))) return -1;
  long v = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
    v = v * 10 + (s[pos++] - '0');
    if (v > 100000) return 100001;  // caught by the range checks below
  }
  return v;
}

[[noreturn]] void bad(const std::string& token, const std::string& why) {
  throw Error("model spec: '" + token + "' " + why);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

SpecItem parse_item(const std::string& tok) {
  SpecItem it{ItemKind::Flatten, 0, 0, 1, 0, tok};
  if (tok == "bn" || tok == "norm") return it.kind = ItemKind::Norm, it;
  if (tok == "relu") return it.kind = ItemKind::ReLU, it;
  if (tok == "sigmoid") return it.kind = ItemKind::Sigmoid, it;
  if (tok == "tanh") return it.kind = ItemKind::Tanh, it;
  if (tok == "flatten") return it;
  size_t pos = 0;
  if (starts_with(tok, "conv")) {
    it.kind = ItemKind::Conv;
    pos = 4;
    it.out = int(read_int(tok, pos));
    if (it.out < 1 || it.out > 4096) bad(tok, "needs a channel count from 1 to 4096 (e.g. conv8)");
    it.kernel = 3;
    bool padding_given = false;
    while (pos < tok.size()) {
      const char key = tok[pos++];
      const long v = read_int(tok, pos);
      if (key == 'k') {
        if (v < 1 || v > 15) bad(tok, "kernel k must be from 1 to 15");
        it.kernel = int(v);
      } else if (key == 's') {
        if (v < 1 || v > 15) bad(tok, "stride s must be from 1 to 15");
        it.stride = int(v);
      } else if (key == 'p') {
        if (v < 0 || v > 15) bad(tok, "padding p must be from 0 to 15");
        it.padding = int(v);
        padding_given = true;
      } else {
        bad(tok, std::string("has an unknown part '") + key + "' (conv takes k, s, p: conv8k5s2p2)");
      }
    }
    if (!padding_given) it.padding = it.kernel / 2;
    return it;
  }
  if (starts_with(tok, "fc")) {
    it.kind = ItemKind::Fc;
    pos = 2;
    if (pos == tok.size()) return it;  // bare fc: one output per class
    it.out = int(read_int(tok, pos));
    if (it.out < 1 || it.out > 65536 || pos != tok.size())
      bad(tok, "needs a width from 1 to 65536 (e.g. fc64), or nothing for the output layer");
    return it;
  }
  for (const char* p : {"maxpool", "avgpool", "pool"}) {
    if (!starts_with(tok, p)) continue;
    it.kind = std::string(p) == "avgpool" ? ItemKind::AvgPool : ItemKind::MaxPool;
    pos = std::char_traits<char>::length(p);
    const long k = read_int(tok, pos);
    if (k < 1 || k > 16 || pos != tok.size()) bad(tok, "needs a kernel size from 1 to 16 (e.g. pool2)");
    it.kernel = it.stride = int(k);
    return it;
  }
  bad(tok, "is not a layer (expected convN, fcN, bn, relu, sigmoid, tanh, poolK, avgpoolK, flatten)");
}

}  // namespace

std::vector<SpecItem> parse_spec(const std::string& text) {
  const std::string preset = preset_spec(text);
  const std::string& s = preset.empty() ? text : preset;
  std::vector<SpecItem> items;
  std::string tok;
  auto flush = [&] {
    if (!tok.empty()) items.push_back(parse_item(tok));
    tok.clear();
  };
  for (const char c : s) {
    if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == ',') {
      flush();
    } else {
      tok += char(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  flush();
  if (items.empty()) throw Error("model spec is empty (try ref-cnn or conv8-bn-relu-pool2 fc)");
  if (items.size() > 64) throw Error("model spec has more than 64 layers");
  if (items.back().kind != ItemKind::Fc)
    bad(items.back().token, "cannot end the model: the last layer must be fc (the classifier)");
  for (size_t i = 0; i + 1 < items.size(); ++i)
    if (items[i].kind == ItemKind::Fc && items[i].out == 0)
      bad(items[i].token, "needs a width: only the last fc may leave it out");
  return items;
}

}  // namespace bnlab
