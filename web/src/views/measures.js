// The names under which a snapshot's `measure` carries the core's measurements (PROTOCOL.md:
// SideSnapshot.measure), in one place. A panel whose entries are absent says so.

export const measureName = {
  runningMean: (layer) => `${layer}.running_mean`,  // (C)
  runningVar: (layer) => `${layer}.running_var`,    // (C)
  batchMean: (layer) => `${layer}.batch_mean`,      // (C) statistics of the last training batch
  batchVar: (layer) => `${layer}.batch_var`,        // (C) biased, the one that normalizes
  gamma: (layer) => `${layer}.weight`,              // (C)
  beta: (layer) => `${layer}.bias`,                 // (C)
  histIn: (layer) => `${layer}.hist_in`,            // (bins) {lo, hi, channel}
  histOut: (layer) => `${layer}.hist_out`,          // (bins) {lo, hi, channel}
  percentiles: 'ics.percentiles',                   // (3) 15th, 50th, 85th, {layer, unit}
  gradNorm: (param) => `${param}.grad_norm`,        // (1)
  updateRatio: (param) => `${param}.update_ratio`,  // (1) ||lr * update|| / ||w||
  icsL2: (layer) => `ics.${layer}.l2`,              // (1) ||G - G'||
  icsCos: (layer) => `ics.${layer}.cos`,            // (1) cos(G, G')
  landscape: ['landscape.loss_min', 'landscape.loss_max', 'landscape.grad_change', 'landscape.beta_smoothness'],
  featureIn: (layer) => `${layer}.features_in`,     // (C, H, W) of the chosen test image {image}
  featureOut: (layer) => `${layer}.features_out`,   // (C, H, W)
  misclassified: 'test.misclassified',              // (K, H, W) {labels, predictions, indices}
};

// Entries whose name ends with suffix, e.g. every ".grad_norm": [[prefix, entry], ...].
export function entriesEnding(measure, suffix) {
  return Object.entries(measure ?? {})
    .filter(([name]) => name.endsWith(suffix))
    .map(([name, m]) => [name.slice(0, -suffix.length), m]);
}

export function entriesStarting(measure, prefix) {
  return Object.entries(measure ?? {}).filter(([name]) => name.startsWith(prefix));
}
