// Panels of pictures: a test image's feature maps before and after the normalizer, and the test
// images the network gets wrong.
import { Panel } from './panel.js';
import { FEATURES_IN, FEATURES_OUT, MISCLASSIFIED } from './measures.js';

const NOT_YET = 'The core does not measure these yet.';

// Draws a (H, W) slice of data as grey levels scaled to [lo, hi] into a new canvas.
function tile(data, offset, h, w, lo, hi, scale) {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  c.style.width = `${w * scale}px`;
  c.style.height = `${h * scale}px`;
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(w, h);
  const span = hi - lo || 1;
  for (let i = 0; i < h * w; i++) {
    const g = Math.max(0, Math.min(255, Math.round((255 * (data[offset + i] - lo)) / span)));
    img.data.set([g, g, g, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function range(data) {
  let lo = Infinity, hi = -Infinity;
  for (const v of data) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return lo <= hi ? [lo, hi] : [0, 1];
}

// Whether any side's newest snapshot has an entry whose name passes the test.
const carried = (history, test) => Object.values(history.sides).some((h) => Object.keys(h.last?.measure ?? {}).some(test));

export class FeatureMapsPanel extends Panel {
  available(history) {
    return carried(history, (n) => n.endsWith('.features_in'));
  }

  constructor(parent) {
    super(parent, 'features', 'Feature maps before and after the normalizer',
      'Each channel of the chosen layer for the chosen test image, before (top) and after (bottom); each row shares one grey scale.');
  }
  reset(view) {
    this.body.replaceChildren();
    this.summary('');
    this.shown = null;
  }
  update(history, view) {
    const side = view.sides.find((s) => history.sides[s]?.last?.measure?.[FEATURES_IN(view.layer)]) ?? view.sides[0];
    const m = history.sides[side]?.last?.measure ?? {};
    const fin = m[FEATURES_IN(view.layer)], fout = m[FEATURES_OUT(view.layer)];
    this.missing(fin ? '' : `Feature maps of ${view.layer}: ${NOT_YET}`);
    if (!fin || (this.shown === fin && this.shownOut === fout)) return;
    this.shown = fin;
    this.shownOut = fout;
    const rows = [];
    for (const [label, f] of [['before', fin], ['after', fout]]) {
      if (!f) continue;
      const [C, H, W] = f.shape.length === 3 ? f.shape : f.shape.slice(-3);
      const [lo, hi] = range(f.data);
      const row = document.createElement('div');
      row.className = 'maps';
      const caption = document.createElement('span');
      caption.textContent = `${label} (${C} channels, ${lo.toFixed(2)} .. ${hi.toFixed(2)})`;
      row.append(caption);
      const scale = Math.max(1, Math.floor(56 / Math.max(H, W)));
      for (let c = 0; c < C; c++) row.append(tile(f.data, c * H * W, H, W, lo, hi, scale));
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
    this.summary(`${view.labels[side]}, ${view.layer}, test image ${fin.image ?? view.image}: ${rows.length === 2 ? 'input and output' : 'input'} maps shown.`);
  }
}

export class MisclassifiedPanel extends Panel {
  available(history) {
    return carried(history, (n) => n === MISCLASSIFIED);
  }

  constructor(parent) {
    super(parent, 'misclassified', 'Misclassified test images',
      'Test images the network got wrong at the last evaluation, with its answer and the true label.');
  }
  reset(view) {
    this.body.replaceChildren();
    this.summary('');
    this.shown = null;
  }
  update(history, view) {
    const side = view.sides[0];
    const e = history.sides[side]?.last?.measure?.[MISCLASSIFIED];
    this.missing(e ? '' : `Misclassified images: ${NOT_YET}`);
    if (!e || e === this.shown) return;
    this.shown = e;
    const [K, H, W] = e.shape.slice(-3);
    const [lo, hi] = range(e.data);
    const figs = [];
    for (let k = 0; k < K; k++) {
      const fig = document.createElement('figure');
      const cap = document.createElement('figcaption');
      cap.textContent = `said ${e.predictions?.[k] ?? '?'}, is ${e.labels?.[k] ?? '?'}`;
      fig.append(tile(e.data, k * H * W, H, W, lo, hi, 2), cap);
      figs.push(fig);
    }
    this.body.replaceChildren(...figs);
    this.summary(`${view.labels[side]}: ${K} misclassified images shown.`);
  }
}
