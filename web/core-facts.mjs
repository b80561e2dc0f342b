// The core's facts that the page needs on the main thread, where no wasm module is loaded: the
// option table (names, kinds, ranges, choices, defaults, one-line help), the model presets, and
// the accuracy target a run aims at on each dataset the experiments train on.
// (Layer kinds reach the page in each model's description, as every layer's role.)
// web/build.mjs writes them from the built module into web/src/core-facts.js, which state.js
// imports; tests/browser/options.test.mjs fails when that file is not what the current core
// says. Nothing here is typed by hand.
export function coreFactsSource(lab) {
  const json = (v) => JSON.stringify(v, null, 1).replace(/\n\s*/g, ' ');
  const lines = (list) => list.map((v) => `  ${json(v)},`).join('\n');
  return `// Generated from the WebAssembly core by web/build.mjs (web/core-facts.mjs): do not edit.
// The core's option table and model presets (core/train/config.cpp, core/train/spec.cpp), and
// the page's accuracy target per dataset the experiments train on (core/experiments/targets.h).
export const OPTIONS = [
${lines(lab.options())}
];

export const PRESETS = [
${lines(lab.presets())}
];

export const TARGETS = ${json(lab.accuracyTargets())};
`;
}
