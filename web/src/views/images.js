// Panels of pictures: a test image's feature maps before and after each normalizer, and the test
// images the network gets wrong. Both show every network side by side and redraw only when a
// snapshot brings new values.
import { Panel } from './panel.js';
import { FEATURE_IMAGE, featureEntries } from './measures.js';

const TILE_PX = 42;  // on-screen size of one feature map (pixelated, whatever its H x W)

// Blue - white - orange (colour-blind safe: no red/green), white at 0, full colour at +-span.
const NEG = [33, 102, 172], POS = [230, 97, 1];
function diverging(v, span) {
  const t = Math.max(-1, Math.min(1, v / span));
  const end = t < 0 ? NEG : POS, a = Math.abs(t);
  return end.map((c) => Math.round(255 + (c - 255) * a));
}

// A canvas of the (h, w) values at data[offset..], drawn as grey levels over [0, hi] (an image) or
// diverging around 0 over [-span, span] (a feature map), shown size_w x size_h pixels.
function tile(data, offset, h, w, { grey = false, span = 1, cssW, cssH }) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  c.style.width = `${cssW}px`;
  c.style.height = `${cssH}px`;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = data[offset + i];
    const rgb = !Number.isFinite(v) ? [255, 0, 255]
      : grey ? Array(3).fill(Math.max(0, Math.min(255, Math.round((255 * v) / (span || 1)))))
        : diverging(v, span || 1);
    img.data.set([...rgb, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

function maxAbs(data) {
  let m = 0;
  for (const v of data) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
const className = (classes, k) => classes?.[k] ?? String(k);

// One PNG of everything drawn in a panel body: its canvases and its text, where they are on screen.
function composite(panel) {
  const body = panel.body, box = body.getBoundingClientRect();
  if (!body.querySelector('canvas') || !box.width) return null;
  const out = document.createElement('canvas');
  out.width = Math.ceil(box.width);
  out.height = Math.ceil(body.scrollHeight);
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = false;
  for (const c of body.querySelectorAll('canvas')) {
    const r = c.getBoundingClientRect();
    ctx.drawImage(c, r.left - box.left, r.top - box.top, r.width, r.height);
  }
  ctx.fillStyle = '#111';
  ctx.font = '12px system-ui, sans-serif';
  for (const t of body.querySelectorAll('.label')) {
    const r = t.getBoundingClientRect();
    ctx.fillText(t.textContent, r.left - box.left, r.top - box.top + 12, out.width);
  }
  return out;
}

export class FeatureMapsPanel extends Panel {
  available(history) {
    return Object.values(history.sides).some((h) => h.features);
  }

  constructor(parent) {
    super(parent, 'features', 'Feature maps of a test image, before and after the normalizer',
      'The chosen test image through each network in eval mode: every channel of each layer, before and after its normalizer. ' +
      'Blue is negative, orange positive, white zero; each row has its own scale (±the number shown). The chosen channel is outlined.');
  }
  reset() {
    this.body.replaceChildren();
    this.summary('');
    this.shown = {};
  }
  canvas() {
    return composite(this);
  }

  update(history, view) {
    const images = Object.fromEntries(view.sides.map((s) => [s, history.sides[s]?.features?.[FEATURE_IMAGE]]));
    this.missing(Object.values(images).some(Boolean) ? '' : 'The feature maps appear with the first snapshot.');
    const key = `${view.layer}/${view.channel}`;
    if (view.sides.every((s) => this.shown[s] === images[s]) && this.shownKey === key) return;
    this.shownKey = key;
    const columns = [], words = [];
    for (const side of view.sides) {
      this.shown[side] = images[side];
      if (!images[side]) continue;
      const { column, text } = this.side(history.sides[side], images[side], view, side);
      columns.push(column);
      words.push(text);
    }
    this.body.replaceChildren(...columns);
    this.body.className = `panel-body feature-sides${columns.length > 1 ? ' two' : ''}`;
    this.summary(words.join(' '));
  }

  // One network's column: the image with its answer, then a row per layer.
  side(h, image, view, side) {
    const column = el('div', 'feature-side');
    const classes = view.classes?.[side];
    const [C, H, W] = image.shape;
    const title = el('div', 'label side-title', view.labels[side]);
    const head = el('div', 'feature-image');
    let text;
    if (!image.data.length) {
      text = `${view.labels[side]}: ${image.error}`;
      column.append(title, el('p', 'label error', image.error));
      return { column, text };
    }
    const said = image.error ? `no answer: ${image.error}`
      : `says ${className(classes, image.prediction)} (${Math.round(100 * image.confidence)}%)${image.prediction === image.label ? '' : ', wrong'}`;
    head.append(tile(image.data, 0, H, W, { grey: true, span: Math.max(1, maxAbs(image.data)), cssW: 2 * TILE_PX * (W / Math.max(H, W)), cssH: 2 * TILE_PX * (H / Math.max(H, W)) }),
      el('span', 'label', `Test image ${image.index}, a ${className(classes, image.label)}: ${said}`));
    column.append(title, head);
    text = `${view.labels[side]}, test image ${image.index} (a ${className(classes, image.label)}): ${said}.`;
    const entries = featureEntries(h);
    const blocks = [...new Set(entries.map((e) => e.entry.block))].sort((a, b) => a - b);
    for (const block of blocks) {
      for (const { name, layer, entry } of entries.filter((e) => e.entry.block === block)) {
        const span = maxAbs(entry.data);
        const label = entry.role === 'before' ? `${layer}: before` : entry.role === 'after' ? `${layer}: after` : `${layer} output (no normalizer)`;
        const row = el('div', 'maps');
        row.dataset.entry = name;
        row.append(el('span', 'label', `${label}, ±${fmt(span)}`));
        const [c, hh, ww] = entry.shape;
        const chosen = layer === view.layer ? view.channel : -1;
        if (hh * ww === 1) {
          // After an fc layer: one strip of C units.
          const strip = tile(entry.data, 0, 1, c, { span, cssW: Math.min(6 * c, 8 * TILE_PX), cssH: 16 });
          row.append(strip);
        } else {
          for (let k = 0; k < c; k++) {
            const t = tile(entry.data, k * hh * ww, hh, ww, { span, cssW: TILE_PX * (ww / Math.max(hh, ww)), cssH: TILE_PX * (hh / Math.max(hh, ww)) });
            t.title = `${layer} channel ${k}`;
            if (k === chosen) t.classList.add('chosen');
            row.append(t);
          }
        }
        column.append(row);
        text += ` ${label}: values within ±${fmt(span)}.`;
      }
    }
    return { column, text };
  }
}

export class MisclassifiedPanel extends Panel {
  available(history) {
    return Object.values(history.sides).some((h) => h.misclassified);
  }

  constructor(parent) {
    super(parent, 'misclassified', 'Misclassified test images',
      'Test images each network got wrong at its last evaluation (eval mode), with its answer and the true label. Choose one to see its feature maps.');
    // The pictures are buttons, which an element of role img may not hold.
    this.body.removeAttribute('role');
    this.body.removeAttribute('aria-label');
  }
  reset() {
    this.body.replaceChildren();
    this.summary('');
    this.shown = {};
  }
  canvas() {
    return composite(this);
  }

  update(history, view) {
    const lists = Object.fromEntries(view.sides.map((s) => [s, history.sides[s]?.misclassified]));
    this.missing(Object.values(lists).some(Boolean) ? '' : 'Appears after the first test evaluation.');
    if (view.sides.every((s) => this.shown[s] === lists[s])) return;
    const groups = [], words = [];
    for (const side of view.sides) {
      const e = (this.shown[side] = lists[side]);
      if (!e) continue;
      const classes = view.classes?.[side];
      const K = e.shape[0], [C, H, W] = e.shape.slice(1);
      const count = `${e.wrong} of ${e.examined} test images wrong at step ${e.step}` +
        (e.wrong > K ? ` (the first ${K} shown)` : '');
      const group = el('div', 'misclassified-side');
      group.append(el('div', 'label side-title', `${view.labels[side]}: ${count}`));
      const figs = el('div', 'misclassified-list');
      for (let k = 0; k < K; k++) {
        const button = el('button', 'misclassified-image');
        button.type = 'button';
        button.dataset.image = String(e.indices[k]);
        const said = className(classes, e.predictions[k]), is = className(classes, e.labels[k]);
        button.setAttribute('aria-label', `Test image ${e.indices[k]}: said ${said}, is ${is}. Show its feature maps.`);
        button.append(tile(e.data, k * C * H * W, H, W, { grey: true, span: Math.max(1, maxAbs(e.data.subarray(k * C * H * W, (k + 1) * C * H * W))), cssW: 2 * W, cssH: 2 * H }),
          el('span', 'label', `said ${said}, is ${is}`));
        button.onclick = () => this.el.dispatchEvent(new CustomEvent('bnlab-image', { bubbles: true, detail: { image: e.indices[k] } }));
        figs.append(button);
      }
      if (!K) figs.append(el('p', 'label', 'None: every evaluated test image is right.'));
      group.append(figs);
      groups.push(group);
      words.push(`${view.labels[side]}: ${count}.`);
    }
    this.body.replaceChildren(...groups);
    this.summary(words.join(' '));
  }
}
