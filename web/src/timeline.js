// Replay: a timeline of the steps the page kept (src/replay.js: every step of the last 1,000,
// then every 10th, within a fixed budget), under the panels (sticky at the window's bottom).
// Choosing a past step marks it on every chart over steps (gamma and beta included) and makes
// the snapshot panels (batch vs running statistics, the histograms before and after the
// normalizer, the network strip's numbers) show that step's values, and the feature maps and
// the inspector the newest snapshot at or before it that carried them. The slider is an
// <input type="range"> over the kept steps: arrows move one kept step, Page Up/Down ten, Home
// and End to the first and the latest; its aria-valuetext says the step to a screen reader.
import { LineChart } from './views/line-chart.js';
import { Replay } from './replay.js';

const PAGE = 10;  // kept steps per Page Up / Page Down

// The history as it stood at `step`: each side's latest(name) is the entry of the newest record at
// or before that step, its features and trace those of the newest snapshot at or before it;
// everything else (the series, the evaluations) is the side's own.
export function historyAt(history, step) {
  const sides = {};
  for (const [name, h] of Object.entries(history.sides)) {
    const past = Object.create(h);
    past.latest = (entry) => h.replay.entryAt(entry, step);
    past.features = Replay.at(h.replay.pictures, step)?.entries ?? null;
    past.last = h.last && { ...h.last, step, trace: Replay.at(h.replay.traces, step)?.trace };
    sides[name] = past;
  }
  return { ...history, sides };
}

export class Timeline {
  // onChange(step | null): null is "the latest step".
  constructor(parent, onChange) {
    this.onChange = onChange;
    this.el = document.createElement('div');
    this.el.className = 'timeline';
    this.el.setAttribute('role', 'group');
    this.el.setAttribute('aria-label', 'Replay a past step');
    const label = document.createElement('label');
    label.htmlFor = 'timeline-step';
    label.textContent = 'Replay step';
    this.input = Object.assign(document.createElement('input'), { id: 'timeline-step', type: 'range', min: 0, max: 0, step: 1, value: 0 });
    // Not an <output>: the page keeps one live region, the status line; the slider's
    // aria-valuetext says the same to a screen reader.
    this.output = document.createElement('span');
    this.output.className = 'timeline-step';
    this.latest = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Latest' });
    this.el.append(label, this.input, this.output, this.latest);
    parent.append(this.el);
    this.steps = [];
    this.step = null;
    this.history = null;
    this.input.addEventListener('input', () => this.choose(this.steps[Number(this.input.value)] ?? null));
    this.input.addEventListener('keydown', (e) => this.key(e));
    this.latest.addEventListener('click', () => this.choose(null));
  }

  // Page Up/Down by PAGE kept steps (a range input's own would move a tenth of the run).
  key(e) {
    const by = { PageUp: PAGE, PageDown: -PAGE }[e.key];
    if (!by || this.input.disabled) return;
    e.preventDefault();
    const i = Math.max(0, Math.min(this.steps.length - 1, Number(this.input.value) + by));
    this.choose(this.steps[i] ?? null);
  }

  // A new run: back to following the latest step (the controller redraws anyway).
  reset() {
    this.steps = [];
    this.step = null;
    LineChart.mark(null);
    this.show();
  }

  choose(step) {
    const latest = step === null || step === this.steps.at(-1);
    this.step = latest ? null : step;
    LineChart.mark(this.step);
    this.show();
    this.onChange(this.step);
  }

  // The steps kept by the replay of the network that got furthest (A, unless A diverged and B
  // trained on); while following the latest, the slider stays at the end. A chosen step that the
  // budget has since thinned out moves to the nearest kept one before it.
  update(history) {
    this.history = history;
    const newest = (h) => h.replay.recent.at(-1)?.step ?? -1;
    const replay = Object.values(history.sides).reduce((best, h) => (!best || newest(h) > newest(best) ? h : best), null)?.replay;
    this.replay = replay;
    const n = replay?.count ?? 0;
    const lastStep = replay?.recent.at(-1)?.step;
    if (n === this.steps.length && lastStep === this.steps.at(-1) && replay?.old[0]?.step === this.first) return;
    this.steps = replay ? replay.records().map((r) => r.step) : [];
    this.first = replay?.old[0]?.step;
    if (this.step !== null && !this.steps.includes(this.step)) {
      const kept = replay.recordAt(this.step)?.step ?? this.steps[0] ?? null;
      this.choose(kept ?? null);
      return;
    }
    this.show();
  }

  show() {
    const n = this.steps.length;
    this.input.max = Math.max(0, n - 1);
    this.input.disabled = n < 2;
    const i = this.step === null ? n - 1 : Math.max(0, this.steps.indexOf(this.step));
    this.input.value = Math.max(0, i);
    let text = '-';
    if (n) {
      const s = this.steps[Math.max(0, i)];
      text = this.step === null ? `${s} (latest)` : `${s} of ${this.steps.at(-1)}: the statistics, histograms and strip show this step${this.pictureNote()}`;
    }
    this.output.textContent = text;
    this.input.setAttribute('aria-valuetext', `step ${text}`);
    this.latest.disabled = this.step === null;
  }

  // Which snapshot the feature maps and the inspector show (they come only with snapshots).
  pictureNote() {
    const r = this.replay;
    if (!r || this.step === null) return '';
    const maps = Replay.at(r.pictures, this.step)?.step, trace = Replay.at(r.traces, this.step)?.trace?.step;
    const bits = [];
    if (maps === undefined) bits.push('no feature maps kept this far back');
    else if (maps !== this.step) bits.push(`feature maps from step ${maps}`);
    if (trace === undefined) bits.push('no inspector trace kept this far back');
    else if (trace !== this.step) bits.push(`inspector from step ${trace}`);
    return bits.length ? ` (${bits.join(', ')})` : '';
  }
}
