// The names under which a snapshot's `measure` carries the core's measurements (core/measure.h,
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
// Not measured by the core yet; the panels showing them say so.
export const FEATURES_IN = (layer) => `${layer}.features_in`;
export const FEATURES_OUT = (layer) => `${layer}.features_out`;
export const MISCLASSIFIED = 'test.misclassified';

// The value of a per-layer entry ({layers: [...]}, data (L) or (L, k)) for one layer.
export function perLayer(entry, layer, k = 0, width = 1) {
  const i = entry?.layers?.indexOf(layer) ?? -1;
  return i < 0 ? undefined : entry.data[i * width + k];
}
