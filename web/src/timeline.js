// Replay: a timeline of the steps the page kept, under the panels (sticky at the window's bottom). Choosing a past step marks it
// on every chart over steps (gamma and beta included) and makes the snapshot panels (batch vs
// running statistics, the histograms before and after the normalizer) show that step's values. What is kept is what History keeps:
// one row of the small per-step measurements per snapshot (every step when stepping, about every
// 200 ms of training while playing; at most 4,000 rows, then every other row is dropped), so a
// past step is one of those; the pictures (feature maps, misclassified digits) are kept only as
// the newest and are not replayed. The slider is an <input type="range">: arrows, Page Up/Down,
// Home and End move it.
import { LineChart } from './views/line-chart.js';

// The history as it stood at `step`: each side's latest(name) is the entry of the last row at or
// before that step; everything else (the series, the newest pictures) is the side's own.
export function historyAt(history, step) {
  const sides = {};
  for (const [name, h] of Object.entries(history.sides)) {
    const past = Object.create(h);
    past.latest = (entry) => {
      for (let i = h.measureSteps.length - 1; i >= 0; i--) {
        if (h.measureSteps[i] > step) continue;
        const m = h.measureRows[i][entry];
        if (m?.data.length) return m;
      }
      return undefined;
    };
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
    this.input.addEventListener('input', () => this.choose(this.steps[Number(this.input.value)] ?? null));
    this.latest.addEventListener('click', () => this.choose(null));
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

  // The steps of network A whose rows carry a step's measurements (not only the heavy probes,
  // which arrive on rows of their own); while following the latest, the slider stays at the end.
  update(history) {
    const h = history.sides.a;
    const heavy = (name) => name.startsWith('ics.') || name.startsWith('landscape.');
    const steps = (h?.measureSteps ?? []).filter((_, i) => Object.keys(h.measureRows[i]).some((n) => !heavy(n)));
    if (steps.length === this.steps.length && steps.at(-1) === this.steps.at(-1)) return;
    this.steps = steps.slice();
    this.show();
  }

  show() {
    const n = this.steps.length;
    this.input.max = Math.max(0, n - 1);
    this.input.disabled = n < 2;
    const i = this.step === null ? n - 1 : Math.max(0, this.steps.indexOf(this.step));
    this.input.value = Math.max(0, i);
    const text = n ? `${this.steps[Math.max(0, i)]}${this.step === null ? ' (latest)' : ` of ${this.steps.at(-1)}: the statistics and histograms show this step`}` : '-';
    this.output.textContent = text;
    this.input.setAttribute('aria-valuetext', `step ${text}`);
    this.latest.disabled = this.step === null;
  }
}
