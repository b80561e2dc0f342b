// The page's whole state: one plain object described by one property table (PROPS), mirrored in
// the URL so that a link reproduces a run (the seed is part of it).
//
// Run options use the names of the core's option table (core/train/config.h, `bnlab train --help`):
// the same object is sent to the worker as a side's config and saved in state files.
// Network B of a comparison is network A plus overrides, written "b.NAME" in the URL
// (?norm=batch&b.norm=none): change A's learning rate and B follows unless B overrides it.

// scope: 'net' (may differ between A and B), 'data' (shared by both sides, sent to the core),
// 'ui' (the page only). group: the form section the control sits in.
export const PROPS = [
  // Model.
  { name: 'model', scope: 'net', group: 'model', type: 'string', def: 'ref-cnn', label: 'Model (preset or spec)',
    pattern: /^[a-z0-9 \-]{1,200}$/, patternHelp: 'a preset name or a spec such as "conv8-bn-relu-pool2 fc"',
    suggest: ['ref-cnn', 'ref-cnn-nobn', 'mlp', 'small-cnn', 'deep-cnn'] },
  { name: 'norm', scope: 'net', group: 'model', type: 'choice', def: 'batch', label: 'Normalizer',
    choices: ['none', 'batch', 'layer', 'group', 'instance', 'renorm', 'ghost'] },
  { name: 'placement', scope: 'net', group: 'model', type: 'choice', def: 'before', label: 'Placement (vs activation)',
    choices: ['before', 'after'] },
  { name: 'noisy', scope: 'net', group: 'model', type: 'bool', def: false, label: 'Noisy BN (Santurkar et al.)' },
  { name: 'bn_momentum', scope: 'net', group: 'norm', type: 'float', def: 0.1, min: 0, max: 1, words: ['cumulative'],
    label: 'BN momentum (PyTorch convention, or "cumulative")' },
  { name: 'bn_eps', scope: 'net', group: 'norm', type: 'float', def: 1e-5, min: 1e-12, max: 1, label: 'BN eps' },
  { name: 'affine', scope: 'net', group: 'norm', type: 'bool', def: true, label: 'Learn gamma and beta (affine)' },
  { name: 'track_running_stats', scope: 'net', group: 'norm', type: 'bool', def: true, label: 'Keep running statistics' },
  { name: 'groups', scope: 'net', group: 'norm', type: 'int', def: 4, min: 1, max: 4096, label: 'GroupNorm groups' },
  { name: 'ghost_batch', scope: 'net', group: 'norm', type: 'int', def: 8, min: 2, max: 4096, label: 'Ghost BN sub-batch' },
  { name: 'r_max', scope: 'net', group: 'norm', type: 'float', def: 3, min: 1, max: 1e6, label: 'Batch Renorm r_max' },
  { name: 'd_max', scope: 'net', group: 'norm', type: 'float', def: 5, min: 0, max: 1e6, label: 'Batch Renorm d_max' },
  { name: 'init', scope: 'net', group: 'model', type: 'choice', def: 'he', label: 'Initialization',
    choices: ['he', 'xavier', 'gaussian', 'torch'] },
  { name: 'init_scale', scope: 'net', group: 'model', type: 'float', def: 1, min: 1e-6, max: 1000, label: 'Init scale (x He/Xavier std)' },
  { name: 'init_std', scope: 'net', group: 'model', type: 'float', def: 0.01, min: 0, max: 1000, label: 'Std of init "gaussian"' },
  // Optimizer.
  { name: 'lr', scope: 'net', group: 'optim', type: 'float', def: 0.05, min: 0, max: 10000, label: 'Learning rate' },
  { name: 'batch_size', scope: 'net', group: 'optim', type: 'int', def: 32, min: 1, max: 4096, label: 'Batch size' },
  { name: 'momentum', scope: 'net', group: 'optim', type: 'float', def: 0.9, min: 0, max: 0.999999, label: 'SGD momentum' },
  { name: 'weight_decay', scope: 'net', group: 'optim', type: 'float', def: 0, min: 0, max: 10, label: 'Weight decay (L2)' },
  { name: 'schedule', scope: 'net', group: 'optim', type: 'choice', def: 'constant', label: 'LR schedule',
    choices: ['constant', 'step', 'cosine'] },
  { name: 'step_size', scope: 'net', group: 'optim', type: 'int', def: 1000, min: 1, max: 1e9, label: 'Step schedule: every N steps' },
  { name: 'step_gamma', scope: 'net', group: 'optim', type: 'float', def: 0.1, min: 0, max: 1, label: 'Step schedule: factor' },
  { name: 'steps', scope: 'net', group: 'optim', type: 'int', def: 1000, min: 1, max: 1e9, label: 'Cosine schedule length (steps)' },
  // Data, shared by both sides so that they see the same examples.
  { name: 'dataset', scope: 'data', group: 'data', type: 'choice', def: 'mnist', label: 'Dataset',
    choices: ['mnist', 'shapes', 'shift', 'idx'] },
  { name: 'train_size', scope: 'data', group: 'data', type: 'int', def: 0, min: 0, max: 1e9, label: 'Training examples (0: all)' },
  { name: 'test_size', scope: 'data', group: 'data', type: 'int', def: 0, min: 0, max: 1e9, label: 'Test examples (0: all)' },
  { name: 'shuffle', scope: 'data', group: 'data', type: 'bool', def: true, label: 'Reshuffle every epoch' },
  { name: 'seed', scope: 'data', group: 'data', type: 'int', def: 1, min: 0, max: 4294967295, label: 'Seed' },
  // The page.
  { name: 'compare', scope: 'ui', group: 'run', type: 'bool', def: true, label: 'Compare two networks' },
  { name: 'speed', scope: 'ui', group: 'run', type: 'choice', def: 'max', label: 'Speed (steps/s)',
    choices: ['1', '5', '20', '100', 'max'] },
  { name: 'eval_every', scope: 'ui', group: 'run', type: 'int', def: 100, min: 10, max: 100000, label: 'Test every N steps' },
  { name: 'probe_every', scope: 'ui', group: 'run', type: 'int', def: 50, min: 0, max: 100000,
    label: 'ICS and landscape probes every N steps (0: off)' },
  { name: 'layer', scope: 'ui', group: 'view', type: 'string', def: 'bn1', label: 'Layer to inspect', pattern: /^[a-z]+[0-9]*$/,
    patternHelp: 'a layer name such as bn1' },
  { name: 'channel', scope: 'ui', group: 'view', type: 'int', def: 0, min: 0, max: 4095, label: 'Channel' },
  { name: 'image', scope: 'ui', group: 'view', type: 'int', def: 0, min: 0, max: 1e6, label: 'Test image' },
  { name: 'lesson', scope: 'ui', group: 'view', type: 'string', def: '', label: 'Lesson', pattern: /^[a-z0-9-]{0,40}$/,
    patternHelp: 'a lesson id' },
  { name: 'embed', scope: 'ui', group: 'embed', type: 'bool', def: false, label: 'Embed mode' },
  { name: 'panels', scope: 'ui', group: 'embed', type: 'string', def: '', label: 'Panels shown when embedded',
    pattern: /^[a-z,-]{0,200}$/, patternHelp: 'comma-separated panel names' },
  { name: 'background', scope: 'ui', group: 'embed', type: 'choice', def: 'grey', label: 'Embedded page background',
    choices: ['grey', 'light', 'transparent'] },
];

export const PROP = Object.fromEntries(PROPS.map((p) => [p.name, p]));
export const B_PREFIX = 'b.';
// The default comparison: with BN (A) vs without (B). "b.norm=" (empty) in a URL means "B as A".
export const DEFAULT_B = { norm: 'none' };

// The page's first run differs from the core's defaults in the learning rate only: at 0.05
// (PyTorch's usual rate, the core's default) both networks train alike, and a first Play would
// say "BN does not matter"; at PAGE_DEFAULTS.lr the network without BN struggles (measured
// across seeds: web/README.md, "The first run"). Lessons set the rate they need.
export const PAGE_DEFAULTS = { lr: 0.1 };

export function defaults() {
  const state = { b: { ...DEFAULT_B } };
  for (const p of PROPS) state[p.name] = p.name in PAGE_DEFAULTS ? PAGE_DEFAULTS[p.name] : p.def;
  return state;
}

// One line that says what the two networks share and what differs: "lr 0.2, batch 32, mnist - B: no BN".
export function diffLine(state) {
  const a = sideConfig(state, 'a');
  const shared = `lr ${a.lr}, batch ${a.batch_size}, ${a.dataset}, seed ${a.seed}`;
  if (!state.compare) return `${shared}, ${a.norm === 'none' ? 'no normalization' : `${a.norm} norm`}`;
  const diff = differences(state);
  const words = diff.map((n) => (n === 'norm' ? (state.b.norm === 'none' ? 'no BN' : `${state.b.norm} norm`) : `${n} ${state.b[n]}`));
  return `${shared} - A: ${a.norm === 'none' ? 'no normalization' : `${a.norm} norm`}${diff.length ? ` - B: ${words.join(', ')}` : ' - B: the same'}`;
}

// Parses one text value against its property; returns { value } or { error } (plain text).
export function parseValue(prop, text) {
  const t = String(text).trim();
  switch (prop.type) {
    case 'bool':
      if (t === 'true' || t === '1') return { value: true };
      if (t === 'false' || t === '0') return { value: false };
      return { error: `${prop.name}: "${t}" is not true or false` };
    case 'int':
    case 'float': {
      if (prop.words?.includes(t)) return { value: t };
      const okSyntax = prop.type === 'int' ? /^-?\d+$/.test(t) : /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t);
      const v = Number(t);
      if (!okSyntax || !Number.isFinite(v)) {
        return { error: `${prop.name}: "${t}" is not ${prop.type === 'int' ? 'an integer' : 'a number'}${prop.words ? ` or ${prop.words.join(', ')}` : ''}` };
      }
      if (v < prop.min || v > prop.max) return { error: `${prop.name}: ${t} is outside ${prop.min} .. ${prop.max}` };
      return { value: v };
    }
    case 'choice':
      if (prop.choices.includes(t)) return { value: t };
      return { error: `${prop.name}: "${t}" is not one of ${prop.choices.join(', ')}` };
    default:
      if (prop.pattern && !prop.pattern.test(t)) return { error: `${prop.name}: "${t}" is not ${prop.patternHelp}` };
      return { value: t };
  }
}

// Reads a query string. Returns { state, errors } where errors maps a field key ("lr", "b.lr",
// or "" for unknown names) to a message; a rejected value leaves the default in place.
export function fromQuery(query, base = defaults()) {
  const state = structuredClone(base);
  const errors = {};
  const params = new URLSearchParams(query);
  for (const [key, text] of params) {
    const isB = key.startsWith(B_PREFIX);
    const name = isB ? key.slice(B_PREFIX.length) : key;
    const prop = PROP[name];
    if (!prop || (isB && prop.scope !== 'net')) {
      errors[''] = (errors[''] ? errors[''] + '; ' : '') + `unknown setting "${key}"`;
      continue;
    }
    if (isB && text === '') {
      delete state.b[name];
      continue;
    }
    const r = parseValue(prop, text);
    if (r.error) errors[key] = r.error;
    else if (isB) state.b[name] = r.value;
    else state[name] = r.value;
  }
  return { state, errors };
}

// Only values that differ from the defaults, so that links stay short and readable.
export function toQuery(state) {
  const params = new URLSearchParams();
  const def = defaults();
  for (const p of PROPS) if (state[p.name] !== def[p.name]) params.set(p.name, String(state[p.name]));
  for (const p of PROPS) {
    const has = p.name in state.b && state.b[p.name] !== state[p.name];
    if (has && state.b[p.name] !== DEFAULT_B[p.name]) params.set(B_PREFIX + p.name, String(state.b[p.name]));
    else if (!has && p.name in DEFAULT_B) params.set(B_PREFIX + p.name, '');
  }
  return params.toString();
}

// The config of one side as the worker and the CLI read it.
export function sideConfig(state, side) {
  const config = {};
  for (const p of PROPS) {
    if (p.scope === 'ui') continue;
    config[p.name] = side === 'b' && p.scope === 'net' && p.name in state.b ? state.b[p.name] : state[p.name];
  }
  return config;
}

// "norm batch vs none": what differs between the two sides, for labels.
export function differences(state) {
  return PROPS.filter((p) => p.scope === 'net' && p.name in state.b && state.b[p.name] !== state[p.name]).map((p) => p.name);
}

export function sideLabel(state, side) {
  const diff = differences(state);
  if (diff.length === 0) return side.toUpperCase();
  const c = sideConfig(state, side);
  const words = (n) => (n === 'norm' ? (c.norm === 'none' ? 'no norm' : `${c.norm} norm`)
    : PROP[n].type === 'bool' ? `${n} ${c[n] ? 'on' : 'off'}` : `${n} ${c[n]}`);
  return diff.map(words).join(', ');
}
