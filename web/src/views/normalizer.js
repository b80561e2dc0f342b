// Panels looking inside one normalizer layer (view.layer) and one of its channels (view.channel):
// batch vs running statistics, the distribution before and after, gamma and beta, and the
// Ioffe-Szegedy percentile bands.
import { COLORS, Panel } from './panel.js';
import { fmt } from './line-chart.js';
import { alignX } from './metrics.js';
import { BANDS, HIST_IN, HIST_OUT, normStat } from './measures.js';

const NOT_YET = 'This snapshot does not carry it yet (it comes with the core\'s instrumentation).';
const NOT_YET_NORM = 'none yet: they need a network with a normalizer, and appear after the first step.';

// NUMERICS.md 2: each training step normalizes with the batch's own mean and (biased) variance,
// and moves the running averages toward them; eval mode uses the running averages.
export class BnStatsPanel extends Panel {
  constructor(parent) {
    super(parent, 'bnstats', 'Batch vs running statistics, per channel',
      'Dots: mean and variance of the last training batch. Diamonds: the running averages that eval mode uses.');
  }
  reset(view) {
    const series = (what) => view.sides.flatMap((s) => [
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
    const cols = (b, r) => view.sides.flatMap((s) => [get(s, normStat(L, b)), get(s, normStat(L, r))].map((e) => (e ? [[...e.data.keys()], Array.from(e.data)] : [[], []])));
    const mean = alignX(cols('batch_mean', 'running_mean'));
    const vars = alignX(cols('batch_var', 'running_var'));
    this.charts[0].update(mean.x, mean.ys);
    this.charts[1].update(vars.x, vars.ys);
    const any = view.sides.some((s) => get(s, normStat(L, 'running_mean')));
    const batch = view.sides.some((s) => get(s, normStat(L, 'batch_mean')));
    this.missing(!any ? `No running statistics for "${L}" in this run: choose a batch-norm layer (bn1, bn2, ...) of a network with norm "batch".`
      : !batch ? `Batch statistics: ${NOT_YET}` : '');
    const c = view.channel;
    this.summary(view.sides.map((s) => {
      const at = (stat) => get(s, normStat(L, stat))?.data[c];
      const rm = at('running_mean'), rv = at('running_var'), bm = at('batch_mean'), bv = at('batch_var');
      if (rm === undefined) return `${view.labels[s]}: no ${L}`;
      return `${view.labels[s]}, ${L} channel ${c}: running mean ${fmt(rm)}, running variance ${fmt(rv)}` +
        (bm !== undefined ? `; batch mean ${fmt(bm)}, batch variance ${fmt(bv)}` : '');
    }).join('. '));
  }
}

// The chosen channel's values before and after the normalizer, as histograms.
export class HistogramPanel extends Panel {
  constructor(parent) {
    super(parent, 'histogram', 'Distribution before and after the normalizer',
      'Histogram (density) of one channel over the last training batch: its input (outline) and output (filled).');
  }
  reset(view) {
    this.body.replaceChildren();
    this.canvases = {};
    for (const s of view.sides) {
      const c = document.createElement('canvas');
      c.width = Math.max(320, this.body.clientWidth || 320);
      c.height = 150;
      c.className = 'hist';
      c.dataset.side = s;
      this.body.append(c);
      this.canvases[s] = c;
    }
    this.summary('No steps yet.');
  }
  // The core follows one channel of one normalizer (its choice is in the entries' layer and
  // channel fields), which may differ from the layer and channel chosen above.
  update(history, view) {
    const words = [];
    let followed = null;
    for (const s of view.sides) {
      const hin = history.sides[s]?.latest(HIST_IN), hout = history.sides[s]?.latest(HIST_OUT);
      this.canvases[s].hidden = !(hin || hout);
      drawHistograms(this.canvases[s], [hin, hout], COLORS[s], view.labels[s]);
      if (hin || hout) {
        followed = `${(hin ?? hout).layer} channel ${(hin ?? hout).channel}`;
        words.push(`${view.labels[s]}: input ${describeHist(hin)}; output ${describeHist(hout)}`);
      }
    }
    this.missing(!followed ? `Histograms: ${NOT_YET_NORM}` : '');
    this.summary(followed ? `Following ${followed}. ${words.join('. ')}` : 'No histogram yet.');
  }
}

function describeHist(h) {
  if (!h) return 'none';
  const bins = h.data.length, lo = h.lo ?? 0, hi = h.hi ?? bins;
  let total = 0, sum = 0;
  for (let i = 0; i < bins; i++) { total += h.data[i]; sum += h.data[i] * (lo + (i + 0.5) * (hi - lo) / bins); }
  return `range ${fmt(lo)} to ${fmt(hi)}, mean about ${fmt(total ? sum / total : NaN)}`;
}

function drawHistograms(canvas, [hin, hout], color, label) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, pad = 18;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = '#222';
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillText(label, 4, 12);
  const hs = [hin, hout].filter(Boolean);
  if (!hs.length) return;
  const lo = Math.min(...hs.map((h) => h.lo ?? 0)), hi = Math.max(...hs.map((h) => h.hi ?? h.data.length));
  // Heights are densities (fraction per unit of x), so that histograms of different ranges
  // compare: each encloses an area of 1.
  const width = (h) => ((h.hi ?? h.data.length) - (h.lo ?? 0)) / h.data.length || 1;
  const peak = Math.max(...hs.map((h) => Math.max(...h.data) / width(h)), 1e-9);
  const xOf = (v) => pad + ((v - lo) / (hi - lo || 1)) * (W - 2 * pad);
  for (const [h, filled] of [[hout, true], [hin, false]]) {
    if (!h) continue;
    const n = h.data.length, hlo = h.lo ?? 0, hhi = h.hi ?? n;
    ctx.beginPath();
    ctx.moveTo(xOf(hlo), H - pad);
    for (let i = 0; i < n; i++) {
      const y = H - pad - (h.data[i] / width(h) / peak) * (H - 2 * pad - 6);
      ctx.lineTo(xOf(hlo + (i * (hhi - hlo)) / n), y);
      ctx.lineTo(xOf(hlo + ((i + 1) * (hhi - hlo)) / n), y);
    }
    ctx.lineTo(xOf(hhi), H - pad);
    if (filled) {
      ctx.globalAlpha = 0.35;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
    } else {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
  }
  ctx.fillStyle = '#444';
  const key = 'outline: input   filled: output';
  ctx.fillText(key, W - ctx.measureText(key).width - 4, 12);
  ctx.fillText(fmt(lo), pad, H - 4);
  const t = fmt(hi);
  ctx.fillText(t, W - pad - ctx.measureText(t).width, H - 4);
  if (lo < 0 && hi > 0) {
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    ctx.moveTo(xOf(0), pad);
    ctx.lineTo(xOf(0), H - pad);
    ctx.stroke();
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
      series: view.sides.flatMap((s) => [
        { label: `gamma ${view.labels[s]}`, color: COLORS[s] },
        { label: `beta ${view.labels[s]}`, color: COLORS[s], dash: [6, 4] },
      ]),
    });
    this.summary('No steps yet.');
  }
  update(history, view) {
    const c = view.channel;
    const pick = (m) => m.data[c] ?? null;
    const cols = view.sides.flatMap((s) => {
      const h = history.sides[s];
      return h ? [h.measureSeries(normStat(view.layer, 'gamma'), pick), h.measureSeries(normStat(view.layer, 'beta'), pick)] : [[[], []], [[], []]];
    });
    const { x, ys } = alignX(cols);
    this.chart.update(x, ys);
    this.missing(x.length ? '' : `gamma and beta of ${view.layer}: ${NOT_YET_NORM}`);
    this.summary(view.sides.map((s, i) => `${view.labels[s]}: gamma ${fmt(lastOf(ys[2 * i]))}, beta ${fmt(lastOf(ys[2 * i + 1]))}`).join('. '));
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
