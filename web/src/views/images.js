// Panels of pictures: a test image's feature maps before and after each normalizer, and the test
// images the network gets wrong. Both show every network side by side and redraw only when a
// snapshot brings new values.
import { Panel } from './panel.js';
import { FEATURE_IMAGE, featureEntries } from './measures.js';

const TILE_PX = 42;  // on-screen size of one feature map (pixelated, whatever its H x W)
export const MISCLASSIFIED_SHOWN = 24;  // misclassified images shown per network

// Blue - white - orange (colour-blind safe: no red/green), white at 0, full colour at +-span;
// magenta for a value that is not finite. Writes the RGBA of v at px[at..at+3].
const NEG = [33, 102, 172], POS = [230, 97, 1];
function diverging(px, at, v, span) {
  if (!Number.isFinite(v)) {
    px[at] = 255, px[at + 1] = 0, px[at + 2] = 255, px[at + 3] = 255;
    return;
  }
  const t = Math.max(-1, Math.min(1, v / span));
  const end = t < 0 ? NEG : POS, a = Math.abs(t);
  px[at] = 255 + (end[0] - 255) * a;  // Uint8ClampedArray rounds
  px[at + 1] = 255 + (end[1] - 255) * a;
  px[at + 2] = 255 + (end[2] - 255) * a;
  px[at + 3] = 255;
}

// Draws the (h, w) values at data[offset..] into canvas c as grey levels over [0, span], shown
// cssW x cssH pixels (an image: of a multi-channel one, its first channel); magenta where not finite.
function greyTile(data, offset, h, w, span, cssW, cssH, c) {
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
  }
  c.style.width = `${cssW}px`;
  c.style.height = `${cssH}px`;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(w, h), px = img.data, scale = 255 / (span || 1);
  for (let i = 0; i < h * w; i++) {
    const v = data[offset + i];
    if (!Number.isFinite(v)) px[4 * i] = 255, px[4 * i + 2] = 255, px[4 * i + 3] = 255;
    else px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = v * scale, px[4 * i + 3] = 255;  // clamped to 0..255
  }
  ctx.putImageData(img, 0, 0);
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

// One row of feature maps in one canvas (creating a canvas per channel on every snapshot made
// 60-130 ms tasks): channels as tiles, PER_LINE to a line, GAP pixels apart; the chosen channel
// is ringed in black in the gap. After an fc layer (1 x 1 "maps") the row is one strip of units.
const PER_LINE = 8, GAP = 2;
function drawRow(canvas, entry, chosen) {
  const [C, h, w] = entry.shape, span = maxAbs(entry.data) || 1;
  const strip = h * w === 1;
  const cols = strip ? C : Math.min(C, PER_LINE), lines = strip ? 1 : Math.ceil(C / PER_LINE);
  const W = strip ? C : cols * (w + GAP) + GAP, H = strip ? 1 : lines * (h + GAP) + GAP;
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W;
    canvas.height = H;
    canvas.style.width = strip ? `${Math.min(100, 6 * C)}%` : '100%';
    canvas.style.maxWidth = strip ? '' : `${Math.round((W * TILE_PX) / (w + GAP))}px`;
    canvas.style.height = strip ? '14px' : 'auto';
  }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(W, H), px = img.data;
  px.fill(255);
  const black = (x, y) => px.fill(0, 4 * (y * W + x), 4 * (y * W + x) + 3);
  for (let k = 0; k < C; k++) {
    const x0 = strip ? k : GAP + (k % cols) * (w + GAP), y0 = strip ? 0 : GAP + Math.floor(k / cols) * (h + GAP);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) diverging(px, 4 * ((y0 + y) * W + x0 + x), entry.data[(k * h + y) * w + x], span);
    if (k === chosen && !strip)
      for (let i = -1; i <= Math.max(w, h); i++) {
        if (i <= w) black(x0 + i, y0 - 1), black(x0 + i, y0 + h);
        if (i <= h) black(x0 - 1, y0 + i), black(x0 + w, y0 + i);
      }
  }
  ctx.putImageData(img, 0, 0);
  return span;
}

export class FeatureMapsPanel extends Panel {
  available(history) {
    return Object.values(history.sides).some((h) => h.features);
  }

  constructor(parent) {
    super(parent, 'features', 'Feature maps of a test image, before and after the normalizer',
      'The chosen test image through each network in eval mode: every channel of each layer, before and after its normalizer. ' +
      'Blue is negative, orange positive, white zero; each row has its own scale (±the number shown). The chosen channel is ringed.');
  }
  reset() {
    this.body.replaceChildren();
    this.summary('');
    this.shown = {};
    this.columns = {};  // side -> {layout, column, image, caption, rows: {name: {canvas, label}}}
  }
  canvas() {
    return composite(this);
  }

  update(history, view) {
    const images = Object.fromEntries(view.sides.map((s) => [s, history.sides[s]?.features?.[FEATURE_IMAGE]]));
    this.missing(Object.values(images).some(Boolean) ? '' : 'The feature maps appear with the first snapshot.');
    const key = `${view.layer}/${view.channel}/${view.sides}`;
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
    // The elements are kept while the layers stay the same; only the pixels and words change.
    if (columns.length !== this.body.children.length || columns.some((c, i) => this.body.children[i] !== c)) {
      this.body.replaceChildren(...columns);
      this.body.className = `panel-body feature-sides${columns.length > 1 ? ' two' : ''}`;
    }
    this.summary(words.join(' '));
  }

  // One network's column: the image with its answer, then a row per layer.
  side(h, image, view, side) {
    const classes = view.classes?.[side];
    const entries = featureEntries(h);
    const layout = [image.shape, image.error, ...entries.map((e) => `${e.name}:${e.entry.shape}`)].join('|');
    let col = this.columns[side];
    if (col?.layout !== layout) {
      col = this.columns[side] = { layout, column: el('div', 'feature-side'), rows: {} };
      col.column.dataset.side = side;  // a click on a pixel chooses this network (src/inspect.js)
      col.title = el('div', 'label side-title');
      col.column.append(col.title);
      if (image.data.length) {
        const head = el('div', 'feature-image');
        col.image = document.createElement('canvas');
        col.caption = el('span', 'label');
        head.append(col.image, col.caption);
        col.column.append(head);
      } else col.column.append((col.caption = el('p', 'label error')));
      for (const { name } of entries) {
        const row = el('div', 'maps');
        row.dataset.entry = name;
        const label = el('span', 'label'), canvas = document.createElement('canvas');
        row.append(label, canvas);
        col.rows[name] = { label, canvas };
        col.column.append(row);
      }
    }
    col.title.textContent = view.labels[side];
    if (!image.data.length) {
      col.caption.textContent = image.error;
      return { column: col.column, text: `${view.labels[side]}: ${image.error}` };
    }
    const [, H, W] = image.shape;
    const said = image.error ? `no answer: ${image.error}`
      : `says ${className(classes, image.prediction)} (${Math.round(100 * image.confidence)}%)${image.prediction === image.label ? '' : ', wrong'}`;
    greyTile(image.data, 0, H, W, Math.max(1, maxAbs(image.data)), 2 * TILE_PX * (W / Math.max(H, W)), 2 * TILE_PX * (H / Math.max(H, W)), col.image);
    col.caption.textContent = `Test image ${image.index}, a ${className(classes, image.label)}: ${said}`;
    let text = `${view.labels[side]}, test image ${image.index} (a ${className(classes, image.label)}): ${said}.`;
    for (const { name, layer, entry } of entries) {
      const span = drawRow(col.rows[name].canvas, entry, layer === view.layer ? view.channel : -1);
      const label = entry.role === 'before' ? `${layer}: before` : entry.role === 'after' ? `${layer}: after` : `${layer} output (no normalizer)`;
      col.rows[name].label.textContent = `${label}, ±${fmt(span)}`;
      text += ` ${label}: values within ±${fmt(span)}.`;
    }
    return { column: col.column, text };
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
    this.groups = {};  // side -> {group, title, list, none, slots: [{button, canvas, caption}]}
    // Making 48 buttons with canvases at once took a 90 ms task when the first list came:
    // they are made beforehand, a few per idle moment.
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 50));
    const groups = this.groups;
    const more = () => {
      if (groups !== this.groups) return;  // reset again meanwhile
      const g = ['a', 'b'].map((s) => this.group(s)).find((x) => x.slots.length < MISCLASSIFIED_SHOWN);
      if (!g) return;
      for (let i = 0; i < 4 && g.slots.length < MISCLASSIFIED_SHOWN; i++) this.addSlot(g);
      idle(more);
    };
    idle(more);
  }
  canvas() {
    return composite(this);
  }

  // A side's group of buttons, kept from one evaluation to the next (only pixels and words change).
  group(side) {
    if (this.groups[side]) return this.groups[side];
    const g = { group: el('div', 'misclassified-side'), title: el('div', 'label side-title'), list: el('div', 'misclassified-list'),
                none: el('p', 'label', 'None: every evaluated test image is right.'), slots: [] };
    g.group.append(g.title, g.list, g.none);
    return (this.groups[side] = g);
  }

  addSlot(g) {
    const slot = { button: el('button', 'misclassified-image'), canvas: document.createElement('canvas'), caption: el('span', 'label') };
    slot.button.type = 'button';
    slot.button.hidden = true;
    slot.button.append(slot.canvas, slot.caption);
    slot.canvas.getContext('2d');  // made now, in idle time, not when the first list comes
    slot.button.onclick = () => this.el.dispatchEvent(new CustomEvent('bnlab-image', { bubbles: true, detail: { image: Number(slot.button.dataset.image) } }));
    g.slots.push(slot);
    g.list.append(slot.button);
  }

  update(history, view) {
    const lists = Object.fromEntries(view.sides.map((s) => [s, history.sides[s]?.misclassified]));
    this.missing(Object.values(lists).some(Boolean) ? '' : 'Appears after the first test evaluation.');
    if (view.sides.every((s) => this.shown[s] === lists[s])) return;
    const groups = [], words = [];
    for (const side of view.sides) {
      const e = (this.shown[side] = lists[side]);
      if (!e) continue;
      const g = this.group(side);
      const classes = view.classes?.[side];
      const K = e.shape[0], [C, H, W] = e.shape.slice(1);
      const count = `${e.wrong} of ${e.examined} test images wrong at step ${e.step}` +
        (e.wrong > K ? ` (the first ${K} shown)` : '');
      g.title.textContent = `${view.labels[side]}: ${count}`;
      while (g.slots.length < K) this.addSlot(g);
      g.slots.forEach((slot, k) => {
        slot.button.hidden = k >= K;
        if (k >= K) return;
        const said = className(classes, e.predictions[k]), is = className(classes, e.labels[k]);
        slot.button.dataset.image = String(e.indices[k]);
        slot.button.setAttribute('aria-label', `Test image ${e.indices[k]}: said ${said}, is ${is}. Show its feature maps.`);
        slot.caption.textContent = `said ${said}, is ${is}`;
        const pixels = e.data.subarray(k * C * H * W, (k + 1) * C * H * W);
        greyTile(pixels, 0, H, W, Math.max(1, maxAbs(pixels)), 2 * W, 2 * H, slot.canvas);
      });
      g.none.hidden = K > 0;
      groups.push(g.group);
      words.push(`${view.labels[side]}: ${count}.`);
    }
    if (groups.length !== this.body.children.length || groups.some((x, i) => this.body.children[i] !== x)) this.body.replaceChildren(...groups);
    this.summary(words.join(' '));
  }
}
