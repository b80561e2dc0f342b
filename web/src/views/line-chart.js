// A chart of lines over training steps (uPlot), the building block of most panels.
// update(x, ys) takes one x array and one y array per series (null: a gap).
import uPlot from 'uplot';

// Tick steps for x axes that count steps or channels: whole numbers only.
const WHOLE = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7].map((p) => m * p)).sort((a, b) => a - b);

export class LineChart {
  // series: [{label, color, dash?, width?}]; bands: [[upperIndex, lowerIndex, fill]] (1-based
  // series indices, as uPlot counts them); logY: log scale for values that span decades.
  constructor(container, { series, yLabel = '', xLabel = 'step', logY = false, bands = [], height = 200, yRange, xRange }) {
    this.container = container;
    this.series = series;
    const opts = {
      width: Math.max(200, container.clientWidth || 320),
      height,
      legend: { live: false },
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
          points: { show: s.points ?? false, size: s.size ?? 5, fill: s.fill ?? s.color },
          ...(s.line === false ? { paths: () => null } : {}),
          spanGaps: s.spanGaps ?? false,  // sparse series (test evaluations) join their points
          value: (u, v) => (v == null ? '-' : fmt(v)),
        })),
      ],
      bands: bands.map(([hi, lo, fill]) => ({ series: [hi, lo], fill })),
    };
    this.plot = new uPlot(opts, this.empty(), container);
    this.resizer = new ResizeObserver(() => {
      const w = container.clientWidth;
      if (w > 0 && Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height });
    });
    this.resizer.observe(container);
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
    this.plot.destroy();
    this.resizer.disconnect();
  }
}

export function fmt(v) {
  if (v == null || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
}
