// Batch-mates: one test image among random companions from the training set, run forward in
// train mode again and again (the core's what-if forward, which changes nothing in the run),
// against the eval-mode value that stays fixed. In training a sample's BN output depends on the
// other samples of its batch; in eval mode it does not. The controller (web/src/inspect.js)
// asks the worker; this view only draws view.batchmates and says what the learner asked for.
import './inspector.css';
import { COLORS, Panel } from './panel.js';
import { num } from './inspector.js';

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};
const button = (text) => Object.assign(el('button', '', text), { type: 'button' });
const SHOWN_DRAWS = 8;  // the newest draws listed in the table

function spread(values) {
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of values) min = Math.min(min, v), max = Math.max(max, v), sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { min, max, mean, sd: Math.sqrt(sq / values.length) };
}

export class BatchMatesPanel extends Panel {
  constructor(parent) {
    super(parent, 'batchmates', 'Batch-mates: the same image, other companions',
      'The chosen test image is put into new random batches of training images and run forward in train mode (nothing is learned); ' +
      'each dot is the chosen unit\'s normalizer output for the image in one batch. The black line is its eval-mode value, which never changes.');
    this.controls = el('div', 'batchmates-controls');
    this.controls.setAttribute('role', 'group');
    this.controls.setAttribute('aria-label', 'Batch-mates controls');
    const l = el('label', '', 'Batch size');
    l.htmlFor = 'batchmates-size';
    this.size = Object.assign(document.createElement('input'), { id: 'batchmates-size', type: 'number', min: 2, max: 512, step: 1 });
    this.size.addEventListener('change', () => this.ask('batch_size'));
    this.drawButton = button('Draw a batch');
    this.drawButton.addEventListener('click', () => this.ask('draw'));
    this.playButton = button('Play');
    this.playButton.setAttribute('aria-pressed', 'false');
    this.playButton.addEventListener('click', () => this.ask(this.playButton.getAttribute('aria-pressed') === 'true' ? 'stop' : 'play'));
    this.clearButton = button('Clear');
    this.clearButton.addEventListener('click', () => this.ask('clear'));
    // A described-by message, not a live region (the page keeps one: the status line).
    this.error = el('span', 'field-error');
    this.error.id = 'batchmates-error';
    this.size.setAttribute('aria-describedby', this.error.id);
    this.controls.append(l, this.size, this.drawButton, this.playButton, this.clearButton, this.error);
    this.el.insertBefore(this.controls, this.body);
    this.body.removeAttribute('role');
    this.body.removeAttribute('aria-label');
    this.what = el('p', 'inspector-source');
    this.plot = el('div', 'batchmates-plot');
    this.strip = document.createElement('canvas');
    this.strip.setAttribute('role', 'img');
    this.probs = document.createElement('canvas');
    this.probs.setAttribute('role', 'img');
    this.plot.append(this.strip, el('p', 'batchmates-legend', 'Above: the unit\'s output for the image, one dot per batch, and its eval-mode value (dashed). ' +
      'Below: the network\'s probability for each class, bars spanning the train-mode batches, dots for eval mode; the true class in brackets.'), this.probs);
    this.table = el('table', 'batchmates-table');
    this.body.append(this.what, this.plot, this.table);
  }

  // Tells the controller what the learner asked for (web/src/inspect.js acts on it).
  ask(action) {
    const size = Number(this.size.value);
    if (!Number.isInteger(size) || size < 2 || size > 512) {
      this.error.textContent = `Batch size: a whole number from 2 to 512, got "${this.size.value}"`;
      this.size.setAttribute('aria-invalid', 'true');
      return;
    }
    this.error.textContent = '';
    this.size.removeAttribute('aria-invalid');
    this.el.dispatchEvent(new CustomEvent('bnlab-batchmates', { bubbles: true, detail: { action, batch_size: size } }));
  }

  reset(view) {
    this.shown = null;
    const b = view.batchmates;
    if (b && document.activeElement !== this.size) this.size.value = b.batchSize;
    this.table.replaceChildren();
    this.what.textContent = '';
    this.plot.hidden = true;
    this.missing('Press "Draw a batch" or Play: the chosen test image (Test image) goes into random batches, following the unit the BN inspector follows.');
    this.summary('');
  }

  update(history, view) {
    const b = view.batchmates;
    if (!b) return;
    this.playButton.textContent = b.playing ? 'Stop' : 'Play';
    this.playButton.setAttribute('aria-pressed', String(b.playing));
    if (document.activeElement !== this.size && Number(this.size.value) !== b.batchSize) this.size.value = b.batchSize;
    if (b.error) this.error.textContent = b.error;
    const r = b.result;
    if (r === this.shown) return;
    this.shown = r;
    if (!r || !r.draws.y.length) {
      this.plot.hidden = true;
      this.table.replaceChildren();
      this.what.textContent = '';
      this.missing(b.error ? `Nothing drawn: ${b.error}` : 'Press "Draw a batch" or Play: the chosen test image (Test image) goes into random batches, following the unit the BN inspector follows.');
      this.summary('');
      return;
    }
    this.missing('');
    this.plot.hidden = false;
    const side = r.side ?? 'a';
    const cls = (k) => view.classes?.[side]?.[k] ?? String(k);
    const pos = r.h || r.w ? `, row ${r.h}, column ${r.w}` : '';
    this.what.textContent = `Network ${view.labels?.[side] ?? 'A'} at step ${r.step}: test image ${r.image} (a ${cls(r.label)}) as sample 0 of batches of ${r.batch_size}; ` +
      `${r.layer}, channel ${r.c}${pos}.`;
    this.color = COLORS[side];
    const ys = r.draws.y, s = spread(ys);
    this.drawStrip(ys, r.eval.y, s);
    this.drawProbs(r);
    this.fillTable(r, s, cls);
    const counts = {};
    for (const p of r.draws.predictions) counts[p] = (counts[p] ?? 0) + 1;
    const said = Object.entries(counts).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${cls(Number(k))} in ${n}`).join(', ');
    this.summary(`${ys.length} batches: the image's ${r.layer} output ranged from ${num(s.min)} to ${num(s.max)} (standard deviation ${num(s.sd)}); ` +
      `in eval mode it is ${num(r.eval.y)} whatever the companions. Predicted ${said}; eval mode predicts ${cls(r.eval.prediction)}.`);
  }

  width() {
    return Math.max(300, Math.min(720, Math.floor(this.plot.clientWidth || 720)));
  }

  // The draws' y as dots along one axis, stacked where they fall close; the eval value as a line.
  drawStrip(ys, yEval, s) {
    // Drawn at the width it is shown (a phone gets a narrower plot, not smaller letters).
    const c = this.strip, W = this.width(), H = 110, pad = 28;
    c.width = W;
    c.height = H;
    const lo0 = Math.min(s.min, yEval), hi0 = Math.max(s.max, yEval), margin = Math.max(1e-6, (hi0 - lo0) * 0.08);
    const lo = lo0 - margin, hi = hi0 + margin, x = (v) => pad + ((v - lo) / (hi - lo)) * (W - 2 * pad);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    ctx.strokeStyle = '#888';
    ctx.beginPath();
    ctx.moveTo(pad, H - 24);
    ctx.lineTo(W - pad, H - 24);
    ctx.stroke();
    ctx.fillStyle = '#333';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    const ticks = W < 500 ? 2 : 4;
    for (let i = 0; i <= ticks; i++) {
      const v = lo + ((hi - lo) * i) / ticks;
      ctx.textAlign = i === 0 ? 'left' : i === ticks ? 'right' : 'center';
      ctx.fillText(num(v), i === 0 ? 2 : i === ticks ? W - 2 : x(v), H - 8);
    }
    ctx.textAlign = 'center';
    // Dots stack upward in bins of 6 px.
    const stacks = new Map();
    ctx.fillStyle = this.color ?? COLORS.a;
    ctx.globalAlpha = 0.7;
    for (const v of ys) {
      const bin = Math.round(x(v) / 6);
      const k = stacks.get(bin) ?? 0;
      stacks.set(bin, k + 1);
      ctx.beginPath();
      ctx.arc(x(v), H - 31 - Math.min(k, 10) * 6, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = '#000';
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 3]);
    ctx.beginPath();
    ctx.moveTo(x(yEval), 14);
    ctx.lineTo(x(yEval), H - 24);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 1;
    ctx.fillStyle = '#000';
    ctx.fillText('eval mode', x(yEval), 11);
    c.setAttribute('aria-label', `Train-mode outputs of ${ys.length} batches from ${num(s.min)} to ${num(s.max)}; eval-mode output ${num(yEval)}`);
  }

  // Per class: the range of the draws' probabilities (bar) and the eval-mode probability (dot).
  drawProbs(r) {
    const K = r.classes, n = r.draws.y.length, c = this.probs, W = this.width(), H = 120, padL = 34, padB = 18;
    c.width = W;
    c.height = H;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    const col = (W - padL) / K, y = (p) => 6 + (1 - p) * (H - padB - 6);
    ctx.fillStyle = '#333';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'right';
    for (const p of [0, 0.5, 1]) ctx.fillText(String(p), padL - 4, y(p) + 4);
    ctx.textAlign = 'center';
    for (let k = 0; k < K; k++) {
      let lo = 1, hi = 0;
      for (let i = 0; i < n; i++) lo = Math.min(lo, r.draws.probs[i * K + k]), hi = Math.max(hi, r.draws.probs[i * K + k]);
      const cx = padL + (k + 0.5) * col;
      ctx.fillStyle = this.color ?? COLORS.a;
      ctx.globalAlpha = 0.5;
      ctx.fillRect(cx - col * 0.25, y(hi), col * 0.5, Math.max(2, y(lo) - y(hi)));
      ctx.globalAlpha = 1;
      ctx.fillStyle = '#000';
      ctx.beginPath();
      ctx.arc(cx, y(r.eval.probs[k]), 3.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = k === r.label ? '#000' : '#555';
      ctx.fillText(String(k === r.label ? `[${k}]` : k), cx, H - 4);
    }
    c.setAttribute('aria-label', `Output probabilities per class: bars span the ${n} train-mode batches, dots are eval mode; the true class in brackets`);
  }

  fillTable(r, s, cls) {
    const K = r.classes, n = r.draws.y.length;
    const head = el('thead'), tr = el('tr');
    for (const h of ['', 'y (unit output)', 'prediction', `p(${cls(r.label)})`]) tr.append(Object.assign(el('th', '', h), { scope: 'col' }));
    head.append(tr);
    const body = el('tbody');
    const row = (label, y, prediction, p, kind) => {
      const t = el('tr');
      t.dataset.mode = kind;
      const th = el('th', '', label);
      th.scope = 'row';
      const v = el('td', '', num(y));
      v.dataset.value = String(y);
      t.append(th, v, el('td', '', cls(prediction)), el('td', '', num(p)));
      body.append(t);
    };
    row('eval mode', r.eval.y, r.eval.prediction, r.eval.probs[r.label], 'eval');
    for (let i = n - 1; i >= Math.max(0, n - SHOWN_DRAWS); i--) row(`train, batch ${i + 1}`, r.draws.y[i], r.draws.predictions[i], r.draws.probs[i * K + r.label], 'train');
    const foot = el('tfoot'), f = el('tr');
    const th = el('th', '', `train, all ${n}`);
    th.scope = 'row';
    f.append(th, el('td', '', `${num(s.min)} to ${num(s.max)}`), el('td', '', ''), el('td', '', ''));
    foot.append(f);
    this.table.replaceChildren(el('caption', '', 'Eval mode, then the newest train-mode batches'), head, body, foot);
  }
}
