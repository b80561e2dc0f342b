// Panels about gradients: per-layer norms and update/weight ratios, the gradient measure of
// internal covariate shift (SCIENCE.md 4b) and the loss-landscape probes (SCIENCE.md 5).
import { COLORS, Panel } from './panel.js';
import { LineChart, fmt } from './line-chart.js';
import { alignX } from './metrics.js';
import { lastOf } from './normalizer.js';
import { entriesEnding, measureName } from './measures.js';

const NOT_YET = 'This snapshot does not carry it yet (it comes with the core\'s instrumentation).';

// A table is its own text alternative: one row per parameter, a bar per side on a log scale.
export class GradNormPanel extends Panel {
  constructor(parent) {
    super(parent, 'gradnorm', 'Gradient norms per layer',
      'The L2 norm of each weight\'s gradient in the last step, and the size of its update relative to the weight (about 1e-3 is healthy). Bars are on a log scale.');
    this.body.removeAttribute('role');
    this.body.removeAttribute('aria-label');
  }
  reset(view) {
    this.body.replaceChildren();
    this.table = document.createElement('table');
    this.table.className = 'bars';
    const head = this.table.createTHead().insertRow();
    for (const t of ['parameter', ...view.sides.flatMap((s) => [`gradient norm, ${view.labels[s]}`, `update / weight, ${view.labels[s]}`])]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = t;
      head.append(th);
    }
    this.tbody = this.table.createTBody();
    this.body.append(this.table);
    this.summary('');
  }
  update(history, view) {
    const params = new Set();
    const m = {};
    for (const s of view.sides) {
      m[s] = history.sides[s]?.last?.measure ?? {};
      for (const [p] of entriesEnding(m[s], '.grad_norm')) params.add(p);
    }
    const rows = [...params];
    const all = rows.flatMap((p) => view.sides.map((s) => m[s][measureName.gradNorm(p)]?.data[0])).filter((v) => v > 0);
    const top = Math.log10(Math.max(...all, 1e-12)), bottom = top - 6;
    const bar = (v, color) => {
      const td = document.createElement('td');
      if (v === undefined) { td.textContent = '-'; return td; }
      const b = document.createElement('span');
      b.className = 'bar';
      b.style.width = `${Math.max(1, (100 * (Math.log10(Math.max(v, 1e-30)) - bottom)) / (top - bottom))}%`;
      b.style.background = color;
      const t = document.createElement('span');
      t.textContent = fmt(v);
      td.append(b, t);
      return td;
    };
    this.tbody.replaceChildren(...rows.map((p) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = p;
      tr.append(th);
      for (const s of view.sides) {
        tr.append(bar(m[s][measureName.gradNorm(p)]?.data[0], COLORS[s]));
        const r = m[s][measureName.updateRatio(p)]?.data[0];
        const td = document.createElement('td');
        td.textContent = r === undefined ? '-' : fmt(r);
        tr.append(td);
      }
      return tr;
    }));
    this.missing(rows.length ? '' : `Gradient norms: ${NOT_YET}`);
  }
}

// ||G - G'|| and cos(G, G') of the chosen layer's weight gradient (Santurkar et al.).
export class IcsPanel extends Panel {
  constructor(parent) {
    super(parent, 'ics', 'Internal covariate shift: gradient change',
      'How much a layer\'s gradient changes when the layers below it take their update (Santurkar et al.): ||G - G\'|| (solid, ideal 0) and cos(G, G\') (dashed, ideal 1, right scale).');
  }
  reset(view) {
    this.chart?.plot.destroy();
    this.chart?.resizer.disconnect();
    this.body.replaceChildren();
    this.chart = new LineChart(this.body, {
      yLabel: '||G - G\'||', logY: true,
      series: view.sides.map((s) => ({ label: `||G-G'|| ${view.labels[s]}`, color: COLORS[s] })),
    });
    this.cosEl = document.createElement('div');
    this.body.append(this.cosEl);
    this.cosChart = new LineChart(this.cosEl, {
      yLabel: 'cos(G, G\')', yRange: [-1, 1], height: 140,
      series: view.sides.map((s) => ({ label: `cos ${view.labels[s]}`, color: COLORS[s], dash: [6, 4] })),
    });
    this.summary('No steps yet.');
  }
  update(history, view) {
    const layer = icsLayer(history, view);
    const l2 = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(measureName.icsL2(layer)) ?? [[], []]));
    const cos = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(measureName.icsCos(layer)) ?? [[], []]));
    this.chart.update(l2.x, l2.ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.cosChart.update(cos.x, cos.ys);
    this.missing(l2.x.length ? '' : `Gradient ICS: ${NOT_YET}`);
    this.summary(l2.x.length ? `${layer}: ` + view.sides.map((s, i) => `${view.labels[s]} ||G-G'|| ${fmt(lastOf(l2.ys[i]))}, cos ${fmt(lastOf(cos.ys[i]))}`).join('. ') : '');
  }
}

// The layer whose ICS is shown: the chosen one if measured, else the first measured.
function icsLayer(history, view) {
  for (const s of view.sides) {
    const m = history.sides[s]?.last?.measure ?? {};
    if (m[measureName.icsL2(view.layer)]) return view.layer;
    const any = Object.keys(m).find((n) => n.startsWith('ics.') && n.endsWith('.l2'));
    if (any) return any.slice(4, -3);
  }
  return view.layer;
}

export class LandscapePanel extends Panel {
  constructor(parent) {
    super(parent, 'landscape', 'Loss landscape probes',
      'Along the gradient, for steps of 0.5x to 4x the learning rate (Santurkar et al.): the range of the loss, how much the gradient changes, and the effective beta-smoothness. Smaller is smoother.');
  }
  reset(view) {
    this.chart?.plot.destroy();
    this.chart?.resizer.disconnect();
    this.body.replaceChildren();
    const names = ['loss min', 'loss max', 'gradient change', 'beta-smoothness'];
    this.chart = new LineChart(this.body, {
      yLabel: 'value', logY: true,
      series: view.sides.flatMap((s) => names.map((n, k) => ({ label: `${n} ${view.labels[s]}`, color: COLORS[s], dash: [[], [2, 2], [6, 3], [10, 3, 2, 3]][k], width: k === 3 ? 2.5 : 1.5 }))),
    });
    this.summary('No steps yet.');
  }
  update(history, view) {
    const cols = view.sides.flatMap((s) => measureName.landscape.map((n) => history.sides[s]?.measureSeries(n) ?? [[], []]));
    const { x, ys } = alignX(cols);
    this.chart.update(x, ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.missing(x.length ? '' : `Landscape probes: ${NOT_YET}`);
    const k = measureName.landscape.length;
    this.summary(x.length ? view.sides.map((s, i) => `${view.labels[s]}: loss ${fmt(lastOf(ys[k * i]))} to ${fmt(lastOf(ys[k * i + 1]))}, gradient change ${fmt(lastOf(ys[k * i + 2]))}, beta ${fmt(lastOf(ys[k * i + 3]))}`).join('. ') : '');
  }
}

