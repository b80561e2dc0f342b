// Before and after the normalizer, as small multiples: the followed channel's input histogram
// (left) and output histogram (right), each on its own x axis, the output's with ticks at 0 and
// +-1 and the N(beta, gamma^2) it should follow drawn over it. Heights are densities on a square-
// root scale, so that one spike (MNIST's background, a ReLU's zeros) cannot flatten the rest.
import { select } from 'd3-selection';
import { COLORS, Panel } from './panel.js';
import { fmt } from './line-chart.js';
import { HIST_IN, HIST_OUT, normStat } from './measures.js';

const W = 250, H = 150, M = { top: 18, right: 8, bottom: 30, left: 38 };
// One bin far taller than the rest (MNIST's background: every blank pixel gives conv1 the same
// value, so bn1's input has a spike holding most of the batch) would flatten the rest even on a
// square-root scale. A bin over SPIKE times the next tallest is cut at the top of the plot, with a
// zigzag and its share of the values written above the plot.
const SPIKE = 5;

// The index of the spike bin of densities `dens`, or -1.
export function spikeOf(dens) {
  let i0 = -1, top = 0, second = 0;
  dens.forEach((d, i) => {
    if (d > top) second = top, top = d, i0 = i;
    else if (d > second) second = d;
  });
  return second > 0 && top > SPIKE * second ? i0 : -1;
}

export class HistogramPanel extends Panel {
  constructor(parent) {
    super(parent, 'histogram', 'Distribution before and after the normalizer',
      'One channel over the last training batch. Left: its input, with the batch mean (line) and ±1 standard deviation (shaded). ' +
      'Right: the output, with the normal curve N(β, γ²) that standardization then γ and β give (dashed). Heights on a square-root scale; a bin far taller than the rest is cut at the top (zigzag), with its share written above.');
    this.body.removeAttribute('role');
    this.body.removeAttribute('aria-label');
  }
  reset(view) {
    this.body.replaceChildren();
    this.body.className = 'panel-body hist-grid';
    this.figs = {};
    for (const s of view.normSides) {
      const row = document.createElement('div');
      row.className = 'hist-side';
      const title = document.createElement('p');
      title.className = 'side-title';
      title.style.color = COLORS[s];
      title.textContent = view.labels[s];
      row.append(title);
      this.figs[s] = ['input', 'output'].map((what) => {
        const svg = select(row).append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('class', 'hist')
          .attr('role', 'img').attr('aria-label', `${what} histogram, ${view.labels[s]}; values in the text below`);
        svg.append('text').attr('class', 'hist-title').attr('x', M.left).attr('y', 12).text(what === 'input' ? 'before (input)' : 'after (output)');
        return frame(svg);
      });
      this.body.append(row);
    }
    const without = view.sides.filter((s) => !view.normSides.includes(s));
    if (without.length) {
      const p = document.createElement('p');
      p.className = 'help';
      p.textContent = `${without.map((s) => view.labels[s]).join(', ')}: no ${view.layer} (no normalizer), so nothing is standardized there.`;
      this.body.append(p);
    }
    this.summary('No steps yet.');
  }

  // The core follows one channel of one normalizer (the entries' layer and channel fields).
  update(history, view) {
    const words = [];
    let followed = '';
    for (const s of view.normSides) {
      const h = history.sides[s];
      const hin = h?.latest(HIST_IN), hout = h?.latest(HIST_OUT);
      if (!hin || !hout) continue;
      followed = `Following ${hin.layer} channel ${hin.channel}. `;
      const c = hin.channel, at = (stat) => h.latest(normStat(hin.layer, stat))?.data[c];
      const mean = at('batch_mean'), sd = Math.sqrt(at('batch_var'));
      const gamma = at('gamma') ?? 1, beta = at('beta') ?? 0;
      draw(this.figs[s][0], hin, COLORS[s], { mean, sd });
      draw(this.figs[s][1], hout, COLORS[s], { gamma, beta, unitTicks: true });
      const cut = [hin, hout].map((h) => spikeWords(h)).filter(Boolean);
      words.push(`${view.labels[s]}, ${hin.layer} channel ${c}: input mean ${fmt(mean)}, standard deviation ${fmt(sd)} ` +
        `(range ${fmt(hin.lo)} to ${fmt(hin.hi)}); output range ${fmt(hout.lo)} to ${fmt(hout.hi)}, expected N(${fmt(beta)}, ${fmt(gamma)}²)` +
        (cut.length ? ` (cut at the top: ${cut.join('; ')})` : ''));
    }
    this.missing(words.length || !view.normSides.length ? '' : 'The histograms appear after the first step.');
    this.summary(words.length ? followed + words.join('. ') : view.normSides.length ? 'No histogram yet.' : `No network here has ${view.layer}.`);
  }
}

// The spike of histogram entry h in words: its share of the values and where it lies.
function spikeWords(h) {
  const n = h.data.length, width = (h.hi - h.lo) / n || 1;
  const i = spikeOf(Array.from(h.data, (v) => v / width));
  return i < 0 ? '' : `${Math.round(100 * h.data[i])}% of the values lie in one bin, ${fmt(h.lo + i * width)} to ${fmt(h.lo + (i + 1) * width)}`;
}

// Round tick values covering [lo, hi], about n of them (1, 2 or 5 times a power of ten apart).
function ticks(lo, hi, n) {
  const raw = (hi - lo) / n, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

// A linear map from [d0, d1] to [r0, r1], optionally through a square root (heights).
const scale = ([d0, d1], [r0, r1], sqrt = false) => {
  const f = sqrt ? Math.sqrt : (v) => v;
  return (v) => r0 + ((f(v) - f(d0)) / (f(d1) - f(d0) || 1)) * (r1 - r0);
};

// An axis of tick lines and labels, bottom (x) or left (y), in group g; redrawn only when its
// ticks or their positions change (a redraw of every element each snapshot makes long frames).
function axis(g, where, values, pos, label) {
  const key = values.map((v) => `${v}@${pos(v).toFixed(1)}`).join(',');
  if (g.attr('data-key') === key) return;
  g.attr('data-key', key).selectAll('*').remove();
  const x0 = M.left, y0 = H - M.bottom;
  if (where === 'bottom') g.append('line').attr('x1', x0).attr('x2', W - M.right).attr('y1', y0).attr('y2', y0);
  else g.append('line').attr('x1', x0).attr('x2', x0).attr('y1', M.top).attr('y2', y0);
  const t = g.selectAll('g.tick').data(values).join('g').attr('class', 'tick');
  if (where === 'bottom') {
    t.append('line').attr('x1', pos).attr('x2', pos).attr('y1', y0).attr('y2', y0 + 4);
    t.append('text').attr('x', pos).attr('y', y0 + 14).attr('text-anchor', 'middle').text(label);
  } else {
    t.append('line').attr('x1', x0 - 4).attr('x2', x0).attr('y1', pos).attr('y2', pos);
    t.append('text').attr('x', x0 - 6).attr('y', (v) => pos(v) + 3).attr('text-anchor', 'end').text(label);
  }
}

// The elements of one histogram, made once (reset) and updated in place (draw).
function frame(svg) {
  return {
    svg,
    sd: svg.append('rect').attr('class', 'sd').attr('fill', '#000').attr('opacity', 0.06).attr('y', M.top).attr('height', H - M.bottom - M.top),
    bars: svg.append('g').attr('class', 'bars').attr('fill-opacity', 0.55),
    mean: svg.append('line').attr('class', 'mean').attr('stroke', '#222').attr('y1', M.top).attr('y2', H - M.bottom),
    spike: svg.append('text').attr('class', 'spike').attr('font-size', 10).attr('fill', '#222'),
    zigzag: svg.append('path').attr('class', 'zigzag').attr('fill', 'none').attr('stroke', '#fff').attr('stroke-width', 2),
    curve: svg.append('path').attr('class', 'curve').attr('fill', 'none').attr('stroke', '#222').attr('stroke-width', 1.5).attr('stroke-dasharray', '4 3'),
    xAxis: svg.append('g').attr('class', 'axis'),
    yAxis: svg.append('g').attr('class', 'axis'),
  };
}

// One histogram: bars of density (fraction / bin width) on a sqrt scale, its axes, and either the
// input's mean and +-1 sd or the output's expected normal curve.
function draw(f, h, color, { mean, sd, gamma, beta, unitTicks }) {
  const n = h.data.length, width = (h.hi - h.lo) / n || 1;
  let lo = h.lo, hi = h.hi;
  if (unitTicks) lo = Math.min(lo, beta - 3 * Math.abs(gamma), -1.2), hi = Math.max(hi, beta + 3 * Math.abs(gamma), 1.2);
  const x = scale([lo, hi], [M.left, W - M.right]);
  const dens = Array.from(h.data, (v) => v / width);
  const curve = unitTicks ? (v) => Math.exp(-0.5 * ((v - beta) / gamma) ** 2) / (Math.abs(gamma) * Math.sqrt(2 * Math.PI)) : null;
  const spike = spikeOf(dens);
  const tallest = spike >= 0 ? Math.max(...dens.filter((_, i) => i !== spike)) * 1.3 : Math.max(...dens);
  const top = Math.max(tallest, curve ? curve(beta) : 0, 1e-9);
  const y = scale([0, top], [H - M.bottom, M.top], true);
  const xt = ticks(lo, hi, 5);
  if (unitTicks) for (const t of [-1, 0, 1]) if (!xt.includes(t)) xt.push(t);
  const spread = sd > 0 && Number.isFinite(mean);
  f.sd.attr('display', spread ? null : 'none');
  if (spread) f.sd.attr('x', x(mean - sd)).attr('width', Math.max(0, x(mean + sd) - x(mean - sd)));
  f.bars.attr('fill', color).selectAll('rect').data(dens).join('rect')
    .attr('x', (d, i) => x(h.lo + i * width)).attr('width', (d, i) => Math.max(0.5, x(h.lo + (i + 1) * width) - x(h.lo + i * width) - 0.5))
    .attr('y', (d) => y(Math.min(d, top))).attr('height', (d) => y(0) - y(Math.min(d, top)));
  f.spike.attr('display', spike >= 0 ? null : 'none');
  f.zigzag.attr('display', spike >= 0 ? null : 'none');
  if (spike >= 0) {
    const x0 = x(h.lo + spike * width), x1 = x(h.lo + (spike + 1) * width);
    // On the title's line, at the right: clear of the bars.
    f.spike.attr('x', W - M.right).attr('y', 12).attr('text-anchor', 'end').text(`cut bar: ${Math.round(100 * h.data[spike])}% of values`);
    const yz = M.top + 6;
    f.zigzag.attr('d', `M${x0},${yz}L${(x0 + x1) / 2},${yz - 3}L${x1},${yz}`);
  }
  f.mean.attr('display', Number.isFinite(mean) ? null : 'none');
  if (Number.isFinite(mean)) f.mean.attr('x1', x(mean)).attr('x2', x(mean));
  f.curve.attr('display', curve ? null : 'none');
  if (curve) {
    const pts = Array.from({ length: 81 }, (_, i) => lo + ((hi - lo) * i) / 80);
    f.curve.attr('d', 'M' + pts.map((v) => `${x(v).toFixed(1)},${y(curve(v)).toFixed(1)}`).join('L'));
  }
  axis(f.xAxis, 'bottom', xt.sort((p, q) => p - q), x, (v) => +v.toPrecision(3));
  // Density ticks: on a square-root scale they spread out toward 0.
  axis(f.yAxis, 'left', ticks(0, top, 3), y, (v) => +v.toPrecision(2));
}
