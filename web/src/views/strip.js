// The network strip: networks A and B layer by layer, drawn from the core's model description
// (the worker's `ready`: model.layers with name, kind, role, output_shape), one row per network, layers
// of the same name in the same column, so a BN layer that B lacks shows as a gap. Under each
// layer a small live number from the snapshot: a normalizer's input standard deviation (the mean
// of its channels' batch variances, square-rooted), an activation's 1st-99th percentile range of
// its input on the probe batch, a conv/fc layer's gradient norm. Normalizer nodes are buttons:
// choosing one selects that layer in every panel (onSelect).
import { select } from 'd3-selection';
import { COLORS } from './panel.js';
import { fmt } from './line-chart.js';
import { BANDS, GRAD_NORM, normStat, perLayer } from './measures.js';

// A normalizer, by the role the core gives its kind (core/layers/kinds.h).
export const isNormalizer = (l) => l.role === 'normalizer';
const NODE_W = 74, NODE_H = 50, GAP = 6, LABEL_W = 150, ROW_H = 64;
const KIND_WORD = { bn: 'BN', brn: 'BRN', gbn: 'ghost BN', ln: 'LN', gn: 'GN', in: 'IN', relu: 'ReLU', sigmoid: 'sigmoid', tanh: 'tanh' };

function title(l) {
  const c = l.output_shape[1];
  if (l.kind === 'conv') return `conv ${c}`;
  if (l.kind === 'fc' || l.kind === 'linear') return `fc ${c}`;
  return KIND_WORD[l.kind] ?? l.kind;
}
const shapeText = (s) => s.slice(1).join('×');

export class NetworkStrip {
  constructor(container, onSelect) {
    this.container = container;
    this.onSelect = onSelect;
  }

  // info: {a: SideInfo, b?: SideInfo}; view: the controller's view model.
  reset(view, info) {
    this.container.replaceChildren();
    const sides = view.sides.filter((s) => info[s]?.model);
    if (!sides.length) return;
    // Columns: the union of the layer names, in order (A's order, B's extra layers where they come).
    const columns = [];
    for (const s of sides) {
      let at = 0;
      for (const l of info[s].model.layers) {
        const i = columns.indexOf(l.name);
        if (i >= 0) at = i + 1;
        else columns.splice(at++, 0, l.name);
      }
    }
    const width = LABEL_W + columns.length * (NODE_W + GAP);
    const svg = select(this.container).append('svg').attr('viewBox', `0 0 ${width} ${sides.length * ROW_H + 4}`)
      .attr('width', width).attr('height', sides.length * ROW_H + 4).attr('role', 'group')
      .attr('aria-label', `Network ${sides.map((s) => s.toUpperCase()).join(' and ')}: ${sides.map((s) => view.labels[s]).join('; ')}`);
    this.nodes = {};
    sides.forEach((s, row) => {
      const y = 2 + row * ROW_H;
      const g = svg.append('g').attr('class', `strip-row side-${s}`);
      g.append('text').attr('class', 'strip-side').attr('x', 0).attr('y', y + 20).attr('fill', COLORS[s]).text(`Network ${s.toUpperCase()}`);
      g.append('text').attr('class', 'strip-sub').attr('x', 0).attr('y', y + 38).text(view.labels[s].replace(/^[AB] \((.*)\)$/, '$1'));
      const layers = info[s].model.layers.map((l) => ({ ...l, col: columns.indexOf(l.name) }));
      // The wire through the layers, behind the nodes.
      g.append('line').attr('x1', LABEL_W).attr('x2', LABEL_W + (layers.at(-1).col + 1) * (NODE_W + GAP) - GAP)
        .attr('y1', y + NODE_H / 2).attr('y2', y + NODE_H / 2).attr('stroke', '#bbb');
      const node = g.selectAll('g.node').data(layers).join('g')
        .attr('class', (l) => `node kind-${l.kind}${isNormalizer(l) ? ' norm' : ''}`)
        .attr('transform', (l) => `translate(${LABEL_W + l.col * (NODE_W + GAP)},${y})`)
        .attr('data-layer', (l) => l.name);
      node.append('rect').attr('width', NODE_W).attr('height', NODE_H).attr('rx', 5);
      node.append('text').attr('class', 'node-title').attr('x', NODE_W / 2).attr('y', 15).text(title);
      node.append('text').attr('class', 'node-shape').attr('x', NODE_W / 2).attr('y', 29).text((l) => shapeText(l.output_shape));
      node.append('text').attr('class', 'node-live').attr('x', NODE_W / 2).attr('y', 43);
      // The name a screen reader reads (the node's changing numbers are not part of it).
      node.append('title').text((l) => `${l.name} (${l.kind}), output ${l.output_shape.join('×')}` +
        (isNormalizer(l) ? `: inspect this layer in the panels (network ${s.toUpperCase()})` : ''));
      // Normalizers are buttons: they choose the layer the panels inspect.
      node.filter((l) => isNormalizer(l))
        .attr('role', 'button').attr('tabindex', 0)
        .on('click', (e, l) => this.onSelect(l.name))
        .on('keydown', (e, l) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            e.stopPropagation();
            this.onSelect(l.name);
          }
        });
      this.nodes[s] = node;
    });
    this.select(view.layer);
  }

  select(layer) {
    for (const node of Object.values(this.nodes ?? {})) node.classed('selected', (l) => l.name === layer).attr('aria-pressed', (l) => (isNormalizer(l) ? String(l.name === layer) : null));
  }

  // The live number under each layer, from the newest snapshot.
  update(history) {
    for (const [s, node] of Object.entries(this.nodes ?? {})) {
      const h = history.sides[s];
      if (!h) continue;
      const bands = h.latest(BANDS), grads = h.latest(GRAD_NORM);
      node.select('text.node-live').each(function (l) {
        // Only a changed number is written (each write is a layout of the SVG text).
        const t = live(l);
        if (this.textContent !== t) this.textContent = t;
      });
      function live(l) {
        if (isNormalizer(l)) {
          const v = h.latest(normStat(l.name, 'batch_var'))?.data;
          return v ? `in σ ${fmt(Math.sqrt(v.reduce((p, q) => p + q, 0) / v.length))}` : '';
        }
        if (bands?.layers.includes(l.name)) {
          const i = bands.layers.indexOf(l.name);
          return `in ${short(bands.data[i * 5])}..${short(bands.data[i * 5 + 4])}`;
        }
        const g = perLayer(grads, l.name);
        return g !== undefined ? `∇ ${short(g)}` : '';
      }
    }
  }
}

const short = (v) => (Math.abs(v) >= 100 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(0) : +v.toPrecision(2)).toString();
