// Everything the page remembers of a run, per side, built from the worker's snapshots: the
// per-step series (loss, accuracy, lr), the test evaluations, and each measurement's values over
// time (one row per snapshot), which the views plot. Plain data, no DOM.

import { FEATURE_IMAGE, MISCLASSIFIED, isFeature } from './views/measures.js';
import { Replay } from './replay.js';

const MAX_KEPT = 512;   // values of one measurement entry kept per row
const MAX_ROWS = 4000;  // rows kept; past it every other row is dropped

class Series {
  constructor() {
    this.length = 0;
    this.data = new Float64Array(1024);
  }
  push(v) {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  view() {
    return this.data.subarray(0, this.length);
  }
}

export class SideHistory {
  constructor() {
    this.step = new Series();
    this.loss = new Series();
    this.accuracy = new Series();
    this.lr = new Series();
    this.evals = [];  // {step, eval: {loss, accuracy, count}, train: {...}}
    this.measureSteps = [];  // the step of each row of measureRows
    this.measureRows = [];   // {name: {shape, data, ...}} as the snapshot carried them
    this.last = null;        // the newest SideSnapshot
    this.features = null;    // {name: entry} the newest feature maps (features.image, <layer>.features_*)
    this.misclassified = null;  // the newest test.misclassified entry (sent after each evaluation)
    this.replay = new Replay();  // every step's measurements, within a budget (replay.js)
  }

  add(snap) {
    const h = snap.history;
    if (h && h.loss) {
      for (let i = 0; i < h.loss.length; i++) {
        this.step.push(h.first_step + i);
        this.loss.push(h.loss[i]);
        this.accuracy.push(h.accuracy[i]);
        this.lr.push(h.lr ? h.lr[i] : NaN);
      }
    }
    for (const e of snap.evals ?? []) this.evals.push(e);
    // The heavy measurements (probes taken every few steps) arrive apart, each at its own step.
    for (const heavy of snap.heavy ?? []) this.addRow(Object.values(heavy)[0]?.step ?? snap.step, heavy);
    const measure = snap.measure ?? {};
    if (measure[FEATURE_IMAGE]) {
      this.features = Object.fromEntries(Object.entries(measure).filter(([n]) => isFeature(n)));
      this.replay.addPictures(snap.step, this.features);
    }
    if (measure[MISCLASSIFIED]) this.misclassified = measure[MISCLASSIFIED];
    this.addRow(snap.step, measure);
    // Every step's record when the worker sends them; else (a loaded state, a worker without
    // replay) the snapshot's own measurements stand for its step.
    const small = (m) => Object.fromEntries(Object.entries(m).filter(([n]) => !isFeature(n) && n !== MISCLASSIFIED));
    if (snap.steps) for (const r of snap.steps) this.replay.add(r.step, r.measure);
    else if (snap.step > 0) this.replay.add(snap.step, small(measure));
    if (snap.trace) this.replay.addTrace(snap.step, snap.trace);
    this.last = snap;
  }

  // Over time, only small entries are kept (per-channel statistics, norms, percentiles); the
  // pictures (feature maps, misclassified images) only as the newest of their kind.
  addRow(step, measure) {
    const row = {};
    for (const [name, m] of Object.entries(measure)) if (m.data.length <= MAX_KEPT && !isFeature(name) && name !== MISCLASSIFIED) row[name] = m;
    if (!Object.keys(row).length) return;
    const lastStep = this.measureSteps[this.measureSteps.length - 1];
    if (lastStep === step) Object.assign(this.measureRows[this.measureRows.length - 1], row);
    else {
      this.measureSteps.push(step);
      this.measureRows.push(row);
    }
    if (this.measureRows.length > MAX_ROWS) {
      this.measureSteps = this.measureSteps.filter((_, i) => i % 2 === 0);
      this.measureRows = this.measureRows.filter((_, i) => i % 2 === 0);
    }
  }

  // The newest entry of a measurement, also one that only some snapshots carry (the probes).
  latest(name) {
    const full = (m) => m?.data.length > 0;
    if (full(this.last?.measure?.[name])) return this.last.measure[name];
    for (let i = this.measureRows.length - 1; i >= 0; i--) if (full(this.measureRows[i][name])) return this.measureRows[i][name];
    return undefined;
  }

  // One scalar of a measurement over time: pick(entry) -> number.
  measureSeries(name, pick = (m) => m.data[0]) {
    const xs = [], ys = [];
    for (let i = 0; i < this.measureRows.length; i++) {
      const m = this.measureRows[i][name];
      // Entries can be empty between two measurements (the percentile bands are taken every
      // few steps): those are no point, not a gap.
      const v = m && m.data.length ? pick(m) : undefined;
      if (v === undefined) continue;
      // An entry's own step (the probes are measured before the step they name) over the row's.
      xs.push(m.step ?? this.measureSteps[i]);
      ys.push(v);
    }
    return [xs, ys];
  }
}

export class History {
  constructor() {
    this.reset();
  }
  reset() {
    this.sides = {};
  }
  add(snapshot) {
    for (const [name, snap] of Object.entries(snapshot.sides)) {
      (this.sides[name] ??= new SideHistory()).add(snap);
    }
  }
}

// Downsamples (x, y) to at most `points` buckets (mean of each), so that charts stay fast over
// long runs; NaN and infinite values (a diverged step) are kept as gaps.
export function bucketMean(xs, ys, points) {
  const n = xs.length;
  if (n <= points) return [Array.from(xs), Array.from(ys, (v) => (Number.isFinite(v) ? v : null))];
  const size = n / points;
  const bx = [], by = [];
  for (let b = 0; b < points; b++) {
    const lo = Math.floor(b * size), hi = Math.floor((b + 1) * size);
    let sum = 0, count = 0;
    for (let i = lo; i < hi; i++) if (Number.isFinite(ys[i])) { sum += ys[i]; count++; }
    bx.push(xs[hi - 1]);
    by.push(count ? sum / count : null);
  }
  return [bx, by];
}

// Exponential moving average that restarts after a gap (a diverged step), the smoothing of the
// training curves.
export function smooth(ys, alpha) {
  const out = new Float64Array(ys.length);
  let s = null;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v == null || !Number.isFinite(v)) { out[i] = NaN; s = null; continue; }
    s = s == null ? v : s + alpha * (v - s);
    out[i] = s;
  }
  return out;
}
