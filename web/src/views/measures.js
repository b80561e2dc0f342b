// The names under which a snapshot's `measure` carries the core's measurements (core/measure/measure.h,
// as wasm/bindings.cpp names them), in one place. A panel whose entries are absent says so.
//   bn1.batch_mean, .batch_var, .running_mean, .running_var, .gamma, .beta    (C) per normalizer
//   hist.input, hist.output     (bins) fractions, {lo, hi, layer, channel}
//   bands                       (L, 5) 1/15/50/85/99th percentiles of one unit of each
//                               activation's input on a fixed probe batch, {layers, unit}
//   grad_norm, weight_norm, update_ratio      (L) per conv/fc layer, {layers}
//   ics.l2, ics.cosine          (L) per layer, {layers}            (every few steps)
//   landscape.loss, landscape.grad_change     (etas) {etas, loss_min, loss_max, predictiveness,
//                                              beta_smoothness}    (every few steps)

export const normStat = (layer, stat) => `${layer}.${stat}`;  // stat: batch_mean, running_var, gamma, ...
export const HIST_IN = 'hist.input';
export const HIST_OUT = 'hist.output';
export const BANDS = 'bands';
export const GRAD_NORM = 'grad_norm';
export const UPDATE_RATIO = 'update_ratio';
export const ICS_L2 = 'ics.l2';
export const ICS_COS = 'ics.cosine';
export const LANDSCAPE_LOSS = 'landscape.loss';
export const LANDSCAPE_GRAD = 'landscape.grad_change';
// Pictures, sent when asked for (settings.features_image) and after evaluations:
//   features.image              (C, H, W) the chosen test image, {index, label, prediction, confidence | error}
//   <norm>.features_in, _out    (C, H, W) a normalizer's input and output for it, {block, role}
//   <layer>.features_out        (C, H, W) a conv/fc output with no normalizer after it, role 'output'
//   test.misclassified          (K, C, H, W) {indices, predictions, labels, wrong, examined}
export const FEATURE_IMAGE = 'features.image';
export const MISCLASSIFIED = 'test.misclassified';
export const isFeature = (name) => name === FEATURE_IMAGE || /\.features_(in|out)$/.test(name);
// The feature-map entries of a side's history, in block order, before before after:
// [{name, layer, entry}].
export function featureEntries(h) {
  const order = { before: 0, output: 0, after: 1 };
  return Object.entries(h?.features ?? {})
    .filter(([name]) => name !== FEATURE_IMAGE)
    .map(([name, entry]) => ({ name, layer: name.slice(0, name.lastIndexOf('.')), entry }))
    .sort((x, y) => x.entry.block - y.entry.block || order[x.entry.role] - order[y.entry.role]);
}

// The value of a per-layer entry ({layers: [...]}, data (L) or (L, k)) for one layer.
export function perLayer(entry, layer, k = 0, width = 1) {
  const i = entry?.layers?.indexOf(layer) ?? -1;
  return i < 0 ? undefined : entry.data[i * width + k];
}
