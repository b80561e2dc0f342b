import { LineChart } from './line-chart.js';

// What every panel shares: a titled section holding charts, a text alternative (the newest
// values, in words, for screen readers and for a quick read) and a note when the snapshot does
// not carry its measurement yet.

// Okabe & Ito's colour-blind-safe palette; network A blue, network B vermillion.
export const COLORS = { a: '#0072B2', b: '#D55E00' };
export const EXTRA = ['#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000'];

export class Panel {
  // id: the panel's name in ?panels=; title: its heading; help: one sentence on what it shows.
  constructor(parent, id, title, help) {
    this.id = id;
    this.el = document.createElement('section');
    this.el.className = 'panel';
    this.el.dataset.panel = id;
    this.el.setAttribute('aria-labelledby', `panel-${id}-title`);
    const head = document.createElement('div');
    head.className = 'panel-head';
    const h = document.createElement('h3');
    h.id = `panel-${id}-title`;
    h.textContent = title;
    const png = document.createElement('button');
    png.type = 'button';
    png.className = 'png';
    png.dataset.png = id;
    png.textContent = 'PNG';
    png.setAttribute('aria-label', `Download the chart "${title}" as PNG`);
    head.append(h, png);
    const p = document.createElement('p');
    p.className = 'help';
    p.textContent = help;
    this.body = document.createElement('div');
    this.body.className = 'panel-body';
    this.body.setAttribute('role', 'img');
    this.body.setAttribute('aria-label', `${title} chart; values below`);
    this.note = document.createElement('p');
    this.note.className = 'note';
    this.note.hidden = true;
    this.summaryEl = document.createElement('p');
    this.summaryEl.className = 'summary';
    this.el.append(head, p, this.body, this.note, this.summaryEl);
    parent.append(this.el);
  }

  // Whether the page has anything for this panel (see FeatureMapsPanel); most always do.
  available() {
    return true;
  }

  // Shown instead of a silent empty chart.
  missing(text) {
    this.note.hidden = !text;
    this.note.textContent = text || '';
  }

  summary(text) {
    if (this.summaryEl.textContent !== text) this.summaryEl.textContent = text;
  }

  // Replaces the panel's charts by new ones, stacked, one per options object (LineChart's).
  setCharts(...options) {
    for (const c of this.charts ?? []) c.destroy();
    this.body.replaceChildren();
    this.charts = options.map((o) => {
      const el = document.createElement('div');
      this.body.append(el);
      return new LineChart(el, o);
    });
  }

  get chart() {
    return this.charts?.[0];
  }

  // The canvas a PNG export draws (null for panels without one).
  canvas() {
    return this.chart?.canvas() ?? this.body.querySelector('canvas');
  }
}

export const sideNames = (history) => Object.keys(history.sides).sort();
