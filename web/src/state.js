// The page's whole state: one plain object described by one property table (PROPS), mirrored in
// the URL so that a link reproduces a run (the seed is part of it).
//
// Run options use the names of the core's option table (core/train/config.h, `bnlab train --help`):
// the same object is sent to the worker as a side's config and saved in state files.
// Network B of a comparison is network A plus overrides, written "b.NAME" in the URL
// (?norm=batch&b.norm=none): change A's learning rate and B follows unless B overrides it.

import { OPTIONS, PRESETS } from './core-facts.js';

// A run option as the page shows it: the core's kind, default, range, choices and help
// (core-facts.js, generated from the core's option table), with the page's presentation.
// scope: 'net' (may differ between A and B) or 'data' (shared by both sides, sent to the core);
// group: the form section the control sits in; label: the form's words; words: texts a number
// option also takes (the core's choices of a number option: bn_momentum's 'cumulative');
// pattern: what the page accepts in a URL for a free-text option.
const CORE_OPTION = Object.fromEntries(OPTIONS.map((o) => [o.name, o]));
function option(name, scope, group, label, page = {}) {
  const o = CORE_OPTION[name];
  if (!o) throw new Error(`state.js: the core has no option ${name}`);
  const p = { name, scope, group, type: o.type, def: o.default, label, help: o.help, ...page };
  if (o.type === 'int' || o.type === 'float') Object.assign(p, { min: o.min, max: o.max }, o.choices.length ? { words: o.choices } : {});
  if (o.type === 'choice') p.choices = o.choices;
  return p;
}

// Page-only properties ('ui' scope) are described here in full.
export const PROPS = [
  // Model.
  option('model', 'net', 'model', 'Model (preset or spec)', {
    // Only the characters the core's spec grammar is written in (core/train/spec.cpp parse_spec:
    // letters in either case, digits, separators '-', ' ', ','), and a length a URL keeps
    // readable: the grammar itself is the core's, whose message says what is wrong with a spec.
    pattern: /^[A-Za-z0-9 ,\-]{1,200}$/, patternHelp: 'a preset name or a spec such as "conv8-bn-relu-pool2 fc"',
    suggest: PRESETS.map((p) => p.name) }),
  option('norm', 'net', 'model', 'Normalizer'),
  option('placement', 'net', 'model', 'Placement (vs activation)'),
  option('noisy', 'net', 'model', 'Noisy BN (Santurkar et al.)'),
  option('bn_momentum', 'net', 'norm', 'BN momentum (PyTorch convention, or "cumulative")'),
  option('bn_eps', 'net', 'norm', 'BN eps'),
  option('affine', 'net', 'norm', 'Learn gamma and beta (affine)'),
  option('track_running_stats', 'net', 'norm', 'Keep running statistics'),
  option('groups', 'net', 'norm', 'GroupNorm groups'),
  option('ghost_batch', 'net', 'norm', 'Ghost BN sub-batch'),
  option('r_max', 'net', 'norm', 'Batch Renorm r_max'),
  option('d_max', 'net', 'norm', 'Batch Renorm d_max'),
  option('init', 'net', 'model', 'Initialization'),
  option('init_scale', 'net', 'model', 'Init scale (x He/Xavier std)'),
  option('init_std', 'net', 'model', 'Std of init "gaussian"'),
  // Optimizer.
  option('lr', 'net', 'optim', 'Learning rate'),
  option('batch_size', 'net', 'optim', 'Batch size'),
  option('momentum', 'net', 'optim', 'SGD momentum'),
  option('weight_decay', 'net', 'optim', 'Weight decay (L2)'),
  option('schedule', 'net', 'optim', 'LR schedule'),
  option('step_size', 'net', 'optim', 'Step schedule: every N steps'),
  option('step_gamma', 'net', 'optim', 'Step schedule: factor'),
  option('steps', 'net', 'optim', 'Cosine schedule length (steps)'),
  // Data, shared by both sides so that they see the same examples.
  option('dataset', 'data', 'data', 'Dataset'),
  option('train_size', 'data', 'data', 'Training examples (0: all)'),
  option('test_size', 'data', 'data', 'Test examples (0: all)'),
  option('shuffle', 'data', 'data', 'Reshuffle every epoch'),
  option('seed', 'data', 'data', 'Seed'),
  // The page.
  { name: 'compare', scope: 'ui', group: 'run', type: 'bool', def: true, label: 'Compare two networks' },
  { name: 'speed', scope: 'ui', group: 'run', type: 'choice', def: 'max', label: 'Speed (steps/s)',
    choices: ['1', '5', '20', '100', 'max'] },
  { name: 'workers', scope: 'ui', group: 'run', type: 'choice', def: 'auto', label: 'Workers (auto: one per network on two or more cores)',
    choices: ['auto', '1', '2'] },
  { name: 'eval_every', scope: 'ui', group: 'run', type: 'int', def: 100, min: 10, max: 100000, label: 'Test every N steps' },
  { name: 'probe_every', scope: 'ui', group: 'run', type: 'int', def: 50, min: 0, max: 100000,
    label: 'ICS and landscape probes every N steps (0: off)' },
  { name: 'layer', scope: 'ui', group: 'view', type: 'string', def: 'bn1', label: 'Layer to inspect', pattern: /^[a-z]+[0-9]*$/,
    patternHelp: 'a layer name such as bn1' },
  { name: 'channel', scope: 'ui', group: 'view', type: 'int', def: 0, min: 0, max: 4095, label: 'Channel' },
  { name: 'net', scope: 'ui', group: 'view', type: 'choice', def: 'a', label: 'Network the inspector and batch-mates follow', choices: ['a', 'b'] },
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
