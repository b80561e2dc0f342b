// Panels looking inside one normalizer layer (view.layer) and one of its channels (view.channel):
// batch vs running statistics, the distribution before and after, gamma and beta, and the
// Ioffe-Szegedy percentile bands.
import { COLORS, Panel } from './panel.js';
import { fmt } from './line-chart.js';
import { alignX } from './metrics.js';
import { BANDS, normStat } from './measures.js';

const NOT_YET = 'This snapshot does not carry it yet (it comes with the core\'s instrumentation).';
const NOT_YET_NORM = 'none yet: they need a network with a normalizer, and appear after the first step.';

// NUMERICS.md 2: each training step normalizes with the batch's own mean and (biased) variance,
// and moves the running averages toward them; eval mode uses the running averages.
export class BnStatsPanel extends Panel {
  constructor(parent) {
    super(parent, 'bnstats', 'Batch vs running statistics, per channel',
      'Filled dots: mean and variance of each channel over the last training batch. Open dots: the running averages that eval mode uses.');
  }
  reset(view) {
    const series = (what) => view.normSides.flatMap((s) => [
      { label: `batch ${what} ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 7 },
      { label: `running ${what} ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 9, fill: '#fff' },
    ]);
    const chart = (what) => ({ series: series(what), xLabel: `channel of ${view.layer}`, yLabel: what, height: 160 });
    this.setCharts(chart('mean'), chart('variance'));
    this.summary('No steps yet.');
  }
  update(history, view) {
    const get = (s, name) => history.sides[s]?.latest(name);
    const L = view.layer;
    const cols = (b, r) => view.normSides.flatMap((s) => [get(s, normStat(L, b)), get(s, normStat(L, r))].map((e) => (e ? [[...e.data.keys()], Array.from(e.data)] : [[], []])));
    const mean = alignX(cols('batch_mean', 'running_mean'));
    const vars = alignX(cols('batch_var', 'running_var'));
    this.charts[0].update(mean.x, mean.ys);
    this.charts[1].update(vars.x, vars.ys);
    const any = view.normSides.some((s) => get(s, normStat(L, 'running_mean')));
    const stepped = view.normSides.some((s) => history.sides[s]?.last?.step > 0);
    // At step 0 a BN layer exists but no step has measured it yet.
    this.missing(!view.normSides.length ? `No network here has a layer "${L}" with running statistics: choose a batch-norm layer (bn1, bn2, ...) of a network with norm "batch".`
      : !stepped ? `${L}: running statistics start at mean 0, variance 1; press Step to see the first batch move them.`
        : !any ? `No running statistics for "${L}": its normalizer keeps none (only batch norm does, with "Keep running statistics" on).` : '');
    const c = view.channel;
    this.summary(view.sides.map((s) => {
      const at = (stat) => get(s, normStat(L, stat))?.data[c];
      const rm = at('running_mean'), rv = at('running_var'), bm = at('batch_mean'), bv = at('batch_var');
      if (!view.normSides.includes(s)) return `${view.labels[s]}: no ${L}`;
      if (rm === undefined) return `${view.labels[s]}, ${L} channel ${c}: running mean 0, running variance 1 (not trained yet)`;
      return `${view.labels[s]}, ${L} channel ${c}: running mean ${fmt(rm)}, running variance ${fmt(rv)}` +
        (bm !== undefined ? `; batch mean ${fmt(bm)}, batch variance ${fmt(bv)}` : '');
    }).join('. '));
  }
}

// gamma and beta of the chosen channel over training.
export class GammaBetaPanel extends Panel {
  constructor(parent) {
    super(parent, 'gammabeta', 'Gamma and beta over time',
      'The learned scale (gamma, solid) and shift (beta, dashed) of the chosen channel: BN can undo its own normalization if that helps.');
  }
  reset(view) {
    this.setCharts({
      yLabel: 'value',
      series: view.normSides.flatMap((s) => [
        { label: `gamma ${view.labels[s]}`, color: COLORS[s] },
        { label: `beta ${view.labels[s]}`, color: COLORS[s], dash: [6, 4] },
      ]),
    });
    this.summary('No steps yet.');
  }
  update(history, view) {
    const c = view.channel;
    const pick = (m) => m.data[c] ?? null;
    const cols = view.normSides.flatMap((s) => {
      const h = history.sides[s];
      return h ? [h.measureSeries(normStat(view.layer, 'gamma'), pick), h.measureSeries(normStat(view.layer, 'beta'), pick)] : [[[], []], [[], []]];
    });
    const { x, ys } = alignX(cols);
    this.chart.update(x, ys);
    this.missing(x.length ? '' : `gamma and beta of ${view.layer}: ${NOT_YET_NORM}`);
    this.summary(view.normSides.map((s, i) => `${view.labels[s]}: gamma ${fmt(lastOf(ys[2 * i]))}, beta ${fmt(lastOf(ys[2 * i + 1]))}`).join('. '));
  }
}

// NUMERICS.md 4a (Ioffe & Szegedy, Figure 1): 15th, 50th, 85th percentiles of a unit's input on a
// fixed probe batch, over training. Without BN the band drifts; with BN it stays nearly flat.
export class PercentilePanel extends Panel {
  constructor(parent) {
    super(parent, 'percentiles', 'Internal covariate shift: percentile bands',
      '15th, 50th and 85th percentiles of a last-hidden-layer unit\'s input on a fixed probe batch (Ioffe & Szegedy, Figure 1).');
  }
  reset(view) {
    const series = view.sides.flatMap((s) => [
      { label: `85th ${view.labels[s]}`, color: COLORS[s], width: 1 },
      { label: `median ${view.labels[s]}`, color: COLORS[s], width: 2 },
      { label: `15th ${view.labels[s]}`, color: COLORS[s], width: 1 },
    ]);
    const bands = view.sides.map((s, i) => [3 * i + 1, 3 * i + 3, COLORS[s] + '33']);
    this.setCharts({ yLabel: 'unit input', series, bands });
    this.summary('No steps yet.');
  }
  // The unit followed is in the input of the last activation layer (the last hidden layer),
  // as in the paper's figure.
  update(history, view) {
    let layer = '';
    const cols = view.sides.flatMap((s) => {
      const h = history.sides[s];
      layer = h?.latest(BANDS)?.layers.at(-1) ?? layer;
      // Columns 1, 2, 3 of a row are the 15th, 50th and 85th percentiles.
      const pick = (k) => (m) => m.data[(m.layers.length - 1) * 5 + k];
      return [3, 2, 1].map((k) => (h ? h.measureSeries(BANDS, pick(k)) : [[], []]));
    });
    const { x, ys } = alignX(cols);
    this.chart.update(x, ys);
    this.missing(x.length ? '' : `Percentiles: ${NOT_YET}`);
    this.summary((layer ? `Input of ${layer}, one unit. ` : '') + view.sides.map((s, i) => `${view.labels[s]}: 15th ${fmt(lastOf(ys[3 * i + 2]))}, median ${fmt(lastOf(ys[3 * i + 1]))}, 85th ${fmt(lastOf(ys[3 * i]))}`).join('. '));
  }
}

export function lastOf(ys) {
  for (let i = ys.length - 1; i >= 0; i--) if (ys[i] != null) return ys[i];
  return null;
}
