// Panels about gradients: per-layer norms and update/weight ratios, the gradient measure of
// internal covariate shift (SCIENCE.md 4b) and the loss-landscape probes (SCIENCE.md 5).
import { COLORS, Panel } from './panel.js';
import { LineChart, fmt } from './line-chart.js';
import { alignX } from './metrics.js';
import { lastOf } from './normalizer.js';
import { GRAD_NORM, ICS_COS, ICS_L2, LANDSCAPE_GRAD, LANDSCAPE_LOSS, UPDATE_RATIO, perLayer } from './measures.js';

const NOT_YET = 'This snapshot does not carry it yet (it comes with the core\'s instrumentation).';

// A table is its own text alternative: one row per parameter, a bar per side on a log scale.
export class GradNormPanel extends Panel {
  constructor(parent) {
    super(parent, 'gradnorm', 'Gradient norms per layer',
      'The L2 norm of each layer\'s gradient (weight and bias) in the last step, and lr x ||update|| / ||weight|| (about 1e-3 is often called healthy). Bars: log scale over six decades.');
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
    const m = {};
    const layers = [];
    for (const s of view.sides) {
      m[s] = history.sides[s]?.last?.measure ?? {};
      for (const l of m[s][GRAD_NORM]?.layers ?? []) if (!layers.includes(l)) layers.push(l);
    }
    const rows = layers;
    const all = rows.flatMap((p) => view.sides.map((s) => perLayer(m[s][GRAD_NORM], p))).filter((v) => v > 0);
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
        tr.append(bar(perLayer(m[s][GRAD_NORM], p), COLORS[s]));
        const r = perLayer(m[s][UPDATE_RATIO], p);
        const td = document.createElement('td');
        td.textContent = r === undefined ? '-' : fmt(r);
        tr.append(td);
      }
      return tr;
    }));
    this.missing(rows.length ? '' : 'Gradient norms appear after the first step.');
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
    const l2 = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(ICS_L2, (m) => perLayer(m, layer) ?? null) ?? [[], []]));
    const cos = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(ICS_COS, (m) => perLayer(m, layer) ?? null) ?? [[], []]));
    this.chart.update(l2.x, l2.ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.cosChart.update(cos.x, cos.ys);
    this.missing(l2.x.length ? '' : `Gradient ICS: ${NOT_YET}`);
    this.summary(l2.x.length ? `${layer}: ` + view.sides.map((s, i) => `${view.labels[s]} ||G-G'|| ${fmt(lastOf(l2.ys[i]))}, cos ${fmt(lastOf(cos.ys[i]))}`).join('. ') : '');
  }
}

// The layer whose ICS is shown: the chosen one if measured, else the last measured (the one
// with the most layers below it).
function icsLayer(history, view) {
  for (const s of view.sides) {
    const layers = history.sides[s]?.last?.measure?.[ICS_L2]?.layers;
    if (layers?.length) return layers.includes(view.layer) ? view.layer : layers.at(-1);
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
    const picks = [[LANDSCAPE_LOSS, (m) => m.loss_min], [LANDSCAPE_LOSS, (m) => m.loss_max],
      [LANDSCAPE_GRAD, (m) => m.predictiveness], [LANDSCAPE_GRAD, (m) => m.beta_smoothness]];
    const cols = view.sides.flatMap((s) => picks.map(([n, pick]) => history.sides[s]?.measureSeries(n, pick) ?? [[], []]));
    const { x, ys } = alignX(cols);
    this.chart.update(x, ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.missing(x.length ? '' : `Landscape probes: ${NOT_YET}`);
    const k = picks.length;
    this.summary(x.length ? view.sides.map((s, i) => `${view.labels[s]}: loss ${fmt(lastOf(ys[k * i]))} to ${fmt(lastOf(ys[k * i + 1]))}, gradient change ${fmt(lastOf(ys[k * i + 2]))}, beta ${fmt(lastOf(ys[k * i + 3]))}`).join('. ') : '');
  }
}
