// A chart of lines over training steps (uPlot), the building block of most panels.
// update(x, ys) takes one x array and one y array per series (null: a gap).
import uPlot from 'uplot';

// Tick steps for x axes that count steps or channels: whole numbers only.
const WHOLE = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => m * p)).sort((a, b) => a - b);
const SVG = 'http://www.w3.org/2000/svg';

// Whether ys holds exactly one value (not null), stopping at the second.
function single(ys) {
  let n = 0;
  for (let i = 0; i < (ys?.length ?? 0) && n < 2; i++) if (ys[i] != null && Number.isFinite(ys[i])) n++;
  return n === 1;
}

export class LineChart {
  // series: [{label, color, dash?, width?, points?, line?}]; bands: [[upperIndex, lowerIndex, fill]]
  // (1-based series indices, as uPlot counts them); logY: log scale for values that span decades;
  // rules: horizontal reference lines [{y, label}] (a target accuracy, chance level).
  constructor(container, { series, yLabel = '', xLabel = 'step', logY = false, bands = [], height = 200, yRange, xRange, rules = [] }) {
    this.container = container;
    this.series = series;
    this.rules = rules;
    const opts = {
      width: Math.max(200, container.clientWidth || 320),
      height,
      // uPlot's legend shows a colour only; ours (below) shows each series' dash and marker.
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: xRange ? { time: false, range: xRange } : { time: false },
        y: logY ? { distr: 3 } : yRange ? { range: yRange } : {},
      },
      axes: [
        { label: xLabel, size: 36, labelSize: 18, stroke: '#444', grid: { stroke: '#e4e4e4' }, incrs: WHOLE },
        { label: yLabel, size: 52, labelSize: 18, stroke: '#444', grid: { stroke: '#e4e4e4' } },
      ],
      series: [
        { label: xLabel },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          dash: s.dash,
          // A line through a single value draws nothing: that one value gets a dot.
          points: { show: s.points ?? ((u, i) => single(u.data[i])), size: s.size ?? 5, fill: s.fill ?? s.color },
          ...(s.line === false ? { paths: () => null } : {}),
          spanGaps: false,
          value: (u, v) => (v == null ? '-' : fmt(v)),
        })),
      ],
      bands: bands.map(([hi, lo, fill]) => ({ series: [hi, lo], fill })),
      hooks: { draw: [(u) => this.drawRules(u)] },
    };
    this.xLabel = xLabel;
    this.plot = new uPlot(opts, this.empty(), container);
    LineChart.charts.add(this);
    container.append(legend(series, rules));
    this.resizer = new ResizeObserver(() => {
      const w = container.clientWidth;
      if (w > 0 && Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height });
    });
    this.resizer.observe(container);
  }

  // The step the replay timeline chose (web/src/timeline.js), marked on every chart over steps;
  // null: none.
  static marked = null;
  static charts = new Set();
  static mark(step) {
    LineChart.marked = step;
    // Only charts that have drawn data (uPlot cannot redraw one that never laid out its axes).
    for (const c of LineChart.charts) if (c.xLabel === 'step' && c.plot.data?.[0]?.length) c.plot.redraw(false);
  }

  // Dotted grey reference lines with their label at the right end; the replayed step as a
  // solid black vertical line.
  drawRules(u) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    const m = LineChart.marked;
    const x = m === null || this.xLabel !== 'step' ? NaN : u.valToPos(m, 'x', true);
    if (x >= left && x <= left + width) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    ctx.strokeStyle = '#666';
    ctx.fillStyle = '#444';
    ctx.lineWidth = 1;
    ctx.setLineDash([2, 3]);
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    for (const r of this.rules) {
      const y = u.valToPos(r.y, 'y', true);
      if (!(y >= top && y <= top + height)) continue;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      const w = ctx.measureText(r.label).width;
      ctx.fillText(r.label, left + width - w - 4, y - 3);
    }
    ctx.restore();
  }

  empty() {
    return [[], ...this.series.map(() => [])];
  }

  reset() {
    this.plot.setData(this.empty());
  }

  update(x, ys) {
    this.plot.setData([x, ...ys]);
  }

  canvas() {
    return this.plot.ctx.canvas;
  }

  destroy() {
    LineChart.charts.delete(this);
    this.plot.destroy();
    this.resizer.disconnect();
  }
}

// The legend: per series a small drawing of its line (colour, dash, width) and marker, then its
// label; reference lines as a dotted grey swatch.
function legend(series, rules) {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  const item = (draw, label) => {
    const li = document.createElement('li');
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', '26');
    svg.setAttribute('height', '10');
    svg.setAttribute('aria-hidden', 'true');
    draw(svg);
    li.append(svg, document.createTextNode(label));
    ul.append(li);
  };
  const line = (svg, color, dash, width) => {
    const l = document.createElementNS(SVG, 'line');
    for (const [k, v] of Object.entries({ x1: 1, y1: 5, x2: 25, y2: 5, stroke: color, 'stroke-width': width })) l.setAttribute(k, v);
    if (dash) l.setAttribute('stroke-dasharray', dash.join(' '));
    svg.append(l);
  };
  for (const s of series) {
    item((svg) => {
      if (s.line !== false) line(svg, s.color, s.dash, s.width ?? 1.5);
      if (s.points) {
        const c = document.createElementNS(SVG, 'circle');
        for (const [k, v] of Object.entries({ cx: 13, cy: 5, r: Math.min(4, (s.size ?? 5) / 2), fill: s.fill ?? s.color, stroke: s.color, 'stroke-width': 1.5 })) c.setAttribute(k, v);
        svg.append(c);
      }
    }, s.label);
  }
  for (const r of rules) item((svg) => line(svg, '#666', [2, 3], 1), r.label);
  return ul;
}

export function fmt(v) {
  if (v == null || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
}
