// Panels about gradients: per-layer norms and update/weight ratios, the gradient measure of
// internal covariate shift (NUMERICS.md 4b) and the loss-landscape probes (NUMERICS.md 5).
import { COLORS, Panel } from './panel.js';
import { fmt } from './line-chart.js';
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
    for (const t of ['layer', ...view.sides.flatMap((s) => [`gradient norm, ${view.labels[s]}`, `update / weight, ${view.labels[s]}`])]) {
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
      m[s] = { [GRAD_NORM]: history.sides[s]?.latest(GRAD_NORM), [UPDATE_RATIO]: history.sides[s]?.latest(UPDATE_RATIO) };
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
      'How much a layer\'s gradient changes when the layers below it take their update (Santurkar et al.): ||G - G\'|| (top, ideal 0) and cos(G, G\') (below, ideal 1), for the last layer with weights (the one with most layers below it).');
  }
  reset(view) {
    this.setCharts({
      yLabel: '||G - G\'||', logY: true, height: 150,
      series: view.sides.map((s) => ({ label: `||G-G'|| ${view.labels[s]}`, color: COLORS[s], points: true })),
    }, {
      yLabel: 'cos(G, G\')', yRange: [-1, 1], height: 110,
      series: view.sides.map((s) => ({ label: `cos ${view.labels[s]}`, color: COLORS[s], dash: [6, 4], points: true })),
    });
    this.summary('No steps yet.');
  }
  update(history, view) {
    const layer = icsLayer(history, view);
    const l2 = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(ICS_L2, (m) => perLayer(m, layer) ?? null) ?? [[], []]));
    const cos = alignX(view.sides.map((s) => history.sides[s]?.measureSeries(ICS_COS, (m) => perLayer(m, layer) ?? null) ?? [[], []]));
    this.charts[0].update(l2.x, l2.ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.charts[1].update(cos.x, cos.ys);
    this.missing(l2.x.length ? '' : `Gradient ICS: ${NOT_YET}`);
    this.summary(l2.x.length ? `${layer}: ` + view.sides.map((s, i) => `${view.labels[s]} ||G-G'|| ${fmt(lastOf(l2.ys[i]))}, cos ${fmt(lastOf(cos.ys[i]))}`).join('. ') : '');
  }
}

// The layer whose ICS is shown: the chosen one if measured (a URL may name conv2), else the last
// measured, the one with the most layers below it.
function icsLayer(history, view) {
  for (const s of view.sides) {
    const layers = history.sides[s]?.latest(ICS_L2)?.layers;
    if (layers?.length) return layers.includes(view.layer) ? view.layer : layers.at(-1);
  }
  return view.layer;
}

// NUMERICS.md 5, three small charts: the loss range along the gradient (a band per side), the
// gradient predictiveness and the effective beta-smoothness.
export class LandscapePanel extends Panel {
  constructor(parent) {
    super(parent, 'landscape', 'Loss landscape probes',
      'Along the gradient, for steps of 0.5x to 4x the learning rate (Santurkar et al.): the range of the loss, how much the gradient changes, and the effective beta-smoothness. Smaller is smoother.');
  }
  reset(view) {
    const chart = (yLabel, series, extra = {}) => ({ yLabel, series, height: 150, logY: true, ...extra });
    this.setCharts(
      chart('loss range', view.sides.flatMap((s) => [
        { label: `max ${view.labels[s]}`, color: COLORS[s], width: 1, points: true }, { label: `min ${view.labels[s]}`, color: COLORS[s], width: 1, points: true }]),
      { bands: view.sides.map((s, i) => [2 * i + 1, 2 * i + 2, COLORS[s] + '33']) }),
      chart('grad change', view.sides.map((s) => ({ label: `gradient predictiveness ${view.labels[s]}`, color: COLORS[s], points: true }))),
      chart('beta', view.sides.map((s) => ({ label: `beta-smoothness ${view.labels[s]}`, color: COLORS[s], points: true }))),
    );
    this.summary('No steps yet.');
  }
  update(history, view) {
    const series = (name, pick) => view.sides.map((s) => history.sides[s]?.measureSeries(name, pick) ?? [[], []]);
    const positive = ({ x, ys }) => [x, ys.map((y) => y.map((v) => (v > 0 ? v : null)))];
    const range = alignX(view.sides.flatMap((s, i) => [series(LANDSCAPE_LOSS, (m) => m.loss_max)[i], series(LANDSCAPE_LOSS, (m) => m.loss_min)[i]]));
    const grad = alignX(series(LANDSCAPE_GRAD, (m) => m.predictiveness));
    const beta = alignX(series(LANDSCAPE_GRAD, (m) => m.beta_smoothness));
    this.charts[0].update(...positive(range));
    this.charts[1].update(...positive(grad));
    this.charts[2].update(...positive(beta));
    this.missing(range.x.length ? '' : `Landscape probes: ${NOT_YET} They are taken every "probe" steps (Run settings).`);
    this.summary(range.x.length ? view.sides.map((s, i) => `${view.labels[s]}: loss ${fmt(lastOf(range.ys[2 * i + 1]))} to ${fmt(lastOf(range.ys[2 * i]))}, gradient change ${fmt(lastOf(grad.ys[i]))}, beta-smoothness ${fmt(lastOf(beta.ys[i]))}`).join('. ') : '');
  }
}
