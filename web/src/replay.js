// What the replay timeline can go back to, per network, within a fixed memory budget: the cheap
// measurements of every step (the worker's `side.steps` records with settings.replay), and the
// snapshot-only pictures and traces at the snapshots that carried them.
//
// Steps: the newest RECENT steps are kept every step; older ones every OLD_EVERY-th step (those
// divisible by it, which also carry the percentile bands), at most OLD_MAX of them; past that,
// every other old record is dropped (so the old part thins to every 20th, 40th, ... step and
// never grows). A record packs its entries' numbers into one Float32Array (the entry's data, then
// its per-step numeric fields such as a histogram's lo and hi); what the entries are (names,
// shapes, the descriptive fields) is a layout shared by every record with the same entries.
// Bytes per record: 4 per number (ref-cnn with BN: about 2.5 KB; web/README.md has the
// measured figures), so at most (RECENT + OLD_MAX) records per network.
//
// Pictures (feature maps) and the inspector's trace come only with snapshots (about 5 a second
// while playing, every step when stepping): the newest PICTURES feature-map sets and TRACES traces
// are kept, and a past step shows the newest one at or before it.
export const RECENT = 1000;
export const OLD_EVERY = 10;
export const OLD_MAX = 4000;
export const PICTURES = 40;
export const TRACES = 2000;

// Entry fields that change from step to step and are numbers: packed with the data.
const NUMERIC = ['lo', 'hi'];

export class Replay {
  constructor() {
    this.layouts = new Map();  // signature -> layout
    this.recent = [];          // {step, data, layout}, oldest first
    this.old = [];             // the same, every OLD_EVERY-th step or sparser
    this.oldEvery = OLD_EVERY; // the old part's current spacing
    this.pictures = [];        // {step, entries}
    this.traces = [];          // {step, trace}
  }

  // The records kept, oldest first.
  records() {
    return this.old.concat(this.recent);
  }

  get count() {
    return this.old.length + this.recent.length;
  }

  // Bytes of numbers held by the step records (the budget's measure).
  bytes() {
    let n = 0;
    for (const r of this.old) n += r.data.byteLength;
    for (const r of this.recent) n += r.data.byteLength;
    return n;
  }

  add(step, measure) {
    const names = Object.keys(measure).filter((n) => measure[n]?.data);
    if (!names.length) return;
    const layout = this.layout(names, measure);
    const data = new Float32Array(layout.size);
    for (const e of layout.entries) {
      const m = measure[e.name];
      data.set(m.data, e.offset);
      e.numeric.forEach((f, i) => { data[e.offset + e.length + i] = m[f]; });
    }
    const last = this.recent.at(-1);
    if (last && last.step >= step) this.dropFrom(step);  // a step taken again (after a load)
    this.recent.push({ step, data, layout });
    while (this.recent.length > RECENT) {
      const r = this.recent.shift();
      if (r.step % this.oldEvery === 0) this.old.push(r);
    }
    if (this.old.length > OLD_MAX) {
      this.oldEvery *= 2;
      this.old = this.old.filter((r) => r.step % this.oldEvery === 0);
    }
  }

  // Records at or after `step` are of another run's past: dropped.
  dropFrom(step) {
    this.recent = this.recent.filter((r) => r.step < step);
    this.old = this.old.filter((r) => r.step < step);
    this.pictures = this.pictures.filter((p) => p.step < step);
    this.traces = this.traces.filter((t) => t.step < step);
  }

  layout(names, measure) {
    const sig = names.map((n) => `${n}:${measure[n].data.length}:${measure[n].shape}:${JSON.stringify(describe(measure[n]))}`).join('|');
    let layout = this.layouts.get(sig);
    if (!layout) {
      let offset = 0;
      const entries = names.map((name) => {
        const m = measure[name];
        const numeric = NUMERIC.filter((f) => typeof m[f] === 'number');
        const e = { name, offset, length: m.data.length, shape: m.shape, meta: describe(m), numeric };
        offset += m.data.length + numeric.length;
        return e;
      });
      layout = { entries, byName: Object.fromEntries(entries.map((e) => [e.name, e])), size: offset };
      this.layouts.set(sig, layout);
    }
    return layout;
  }

  // The newest record at or before `step` (and, if given, has(record)): a binary search in each
  // part (both in step order, the old part before the recent one).
  recordAt(step, has = () => true) {
    for (const part of [this.recent, this.old]) {
      let lo = 0, hi = part.length - 1, at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (part[mid].step <= step) at = mid, lo = mid + 1;
        else hi = mid - 1;
      }
      for (let i = at; i >= 0; i--) if (has(part[i])) return part[i];
    }
    return undefined;
  }

  // Entry `name` as the snapshot carried it, from the newest record at or before `step` that has it.
  entryAt(name, step) {
    const r = this.recordAt(step, (rec) => rec.layout.byName[name]);
    if (!r) return undefined;
    const e = r.layout.byName[name];
    const out = { ...e.meta, shape: e.shape, step: r.step, data: r.data.subarray(e.offset, e.offset + e.length) };
    e.numeric.forEach((f, i) => { out[f] = r.data[e.offset + e.length + i]; });
    return out;
  }

  addPictures(step, entries) {
    this.pictures.push({ step, entries });
    if (this.pictures.length > PICTURES) this.pictures.shift();
  }

  addTrace(step, trace) {
    this.traces.push({ step, trace });
    if (this.traces.length > TRACES) this.traces.shift();
  }

  // The newest of `list` ({step, ...}) at or before step.
  static at(list, step) {
    for (let i = list.length - 1; i >= 0; i--) if (list[i].step <= step) return list[i];
    return undefined;
  }
}

// An entry's descriptive fields (layers, channel, ...), the same from step to step.
function describe(m) {
  const out = {};
  for (const [k, v] of Object.entries(m)) if (k !== 'data' && k !== 'shape' && k !== 'step' && !NUMERIC.includes(k)) out[k] = v;
  return out;
}
