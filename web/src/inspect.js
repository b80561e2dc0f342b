// The controller's part for the BN inspector and batch-mates (views/inspector.js,
// views/batchmates.js): which unit they follow, the worker settings that ask for its trace, a
// click on a feature-map pixel choosing it, and the batch-mates' what-if requests. Kept apart
// from controller.js, which creates one Inspect and asks it for its settings and view fields.
import { isNormalizer } from './views/strip.js';

const BATCH_DRAWS = 2;   // what-if forwards per request while playing (each ~3 ms for ref-cnn in node)
const MAX_DRAWS = 400;   // draws kept for the plot

export class Inspect {
  constructor(controller) {
    this.c = controller;
    // The middle of a 28x28 map (clamped to smaller maps): on MNIST the corner is background.
    this.unit = { n: 0, h: 13, w: 13 };
    this.mates = { playing: false, batchSize: 0, result: null, error: '' };
    const grid = document.getElementById('panel-grid');
    grid.addEventListener('bnlab-unit', (e) => this.choose(e.detail));
    grid.addEventListener('bnlab-batchmates', (e) => this.act(e.detail));
    grid.addEventListener('click', (e) => this.pixelClick(e));
  }

  // The network followed: 'a', or 'b' when the page compares two and the learner chose B.
  side() {
    return this.c.state.compare && this.c.state.net === 'b' ? 'b' : 'a';
  }

  // The layer's output shape [1, C, H, W] in the network followed (undefined while unknown).
  shapeOf(layer) {
    return (this.c.info[this.side()]?.model?.layers ?? []).find((l) => l.name === layer)?.output_shape;
  }

  // The unit the inspector follows, clamped to the chosen layer's size.
  where() {
    const s = this.shapeOf(this.c.state.layer);
    const clamp = (v, size) => (size ? Math.min(v, size - 1) : v);
    return { layer: this.c.state.layer, n: this.unit.n, c: this.c.state.channel, h: clamp(this.unit.h, s?.[2]), w: clamp(this.unit.w, s?.[3]) };
  }

  // settings.trace for the worker (null: no capture, when the page does not show the inspector).
  traceSetting() {
    return this.c.panelChosen('inspector') ? this.where() : null;
  }

  sendTrace() {
    if (this.c.live()) this.c.client.request('settings', { settings: { trace: this.traceSetting() } }).catch((e) => this.c.coreError(e));
  }

  // Fields of the view model.
  view() {
    const net = this.side();
    if (!this.mates.batchSize) this.mates.batchSize = this.c.info[net]?.config?.batch_size ?? 64;
    return { unit: this.unit, batchmates: this.mates, net };
  }

  choose(unit) {
    Object.assign(this.unit, unit);
    this.sendTrace();
    this.clearMates();
  }

  // A click on a feature-map pixel of a normalizer's input or output chooses that activation:
  // its network (the column clicked), layer and channel (the page's controls), row and column.
  pixelClick(e) {
    const canvas = e.target.closest?.('[data-panel="features"] .maps canvas');
    if (!canvas) return;
    const name = canvas.parentElement.dataset.entry ?? '';
    const layer = name.slice(0, name.lastIndexOf('.'));
    const side = canvas.closest('[data-side]')?.dataset.side === 'b' ? 'b' : 'a';
    const entry = this.c.history.sides[side]?.features?.[name];
    const norms = (this.c.info[side]?.model?.layers ?? []).filter(isNormalizer).map((l) => l.name);
    if (!entry || !norms.includes(layer)) {
      this.c.setStatus(`${layer || 'This row'} is not a normalizer's input or output: the inspector follows values entering a normalizer.`);
      return;
    }
    const [C, H, W] = entry.shape;
    const r = canvas.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * canvas.width, py = ((e.clientY - r.top) / r.height) * canvas.height;
    let c, h = 0, w = 0;
    if (H * W === 1) {
      c = Math.floor(px);  // one strip of units after an fc layer
    } else {
      // Tiles of W x H, p to a line, with a gap of g pixels around each (views/images.js draws
      // them so): the one (p, g) that fits the canvas's width and height.
      let p = 0, g = 0;
      for (let k = 1; k <= C && !p; k++) {
        const gk = (canvas.width - k * W) / (k + 1), lines = Math.ceil(C / k);
        if (Number.isInteger(gk) && gk >= 0 && canvas.height === lines * H + (lines + 1) * gk) p = k, g = gk;
      }
      if (!p) return;
      const col = Math.floor((px - g) / (W + g)), line = Math.floor((py - g) / (H + g));
      c = line * p + col;
      w = Math.floor(px - g - col * (W + g));
      h = Math.floor(py - g - line * (H + g));
      if (w < 0 || w >= W || h < 0 || h >= H) return;  // the gap between two tiles
    }
    if (!(c >= 0 && c < C)) return;
    Object.assign(this.unit, { h, w });
    this.c.select({ net: side, layer, channel: c });  // the page's choice, for every panel
    this.sendTrace();
    this.clearMates();
    this.c.panels.find((p) => p.id === 'inspector')?.el.scrollIntoView({ block: 'nearest' });
  }

  // --- Batch-mates ---------------------------------------------------------------------------

  clearMates() {
    this.mates.result = null;
    this.mates.error = '';
    this.renderMates();
  }

  // Redraws the batch-mates panel alone, once per frame: its replies come every few
  // milliseconds while playing, and redrawing every panel as often would fill the main thread.
  renderMates() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      const p = this.c.panels.find((x) => x.id === 'batchmates');
      if (p?.onScreen && !p.el.hidden) p.update(this.c.history, this.c.viewModel());
    });
  }

  act({ action, batch_size }) {
    if (batch_size !== this.mates.batchSize) {
      this.mates.batchSize = batch_size;
      this.clearMates();
    }
    if (action === 'clear') this.clearMates();
    if (action === 'stop') this.mates.playing = false;
    if (action === 'play') {
      this.mates.playing = true;
      this.draw(BATCH_DRAWS);
    }
    if (action === 'draw') this.draw(1);
    this.renderMates();
  }

  // Asks the worker for `draws` batches; while playing, the next request goes out when this one
  // is answered, so the worker (not the page) does the work and requests never pile up.
  async draw(draws) {
    if (this.busy || !this.c.live()) return;
    this.busy = true;
    const u = this.where();
    const ask = { side: this.side(), image: this.c.state.image, batch_size: this.mates.batchSize, draws, layer: u.layer, c: u.c, h: u.h, w: u.w };
    try {
      const r = await this.c.client.request('whatif', ask);
      this.add(r);
    } catch (e) {
      this.mates.error = e.message ?? String(e);
      this.mates.playing = false;
    } finally {
      this.busy = false;
    }
    this.renderMates();
    if (this.mates.playing) setTimeout(() => this.draw(BATCH_DRAWS), 0);
  }

  // Draws of the same question (image, unit, batch size, network at the same step) add up;
  // anything else starts over.
  add(r) {
    const key = [r.side, r.image, r.layer, r.c, r.h, r.w, r.batch_size, r.step].join('/');
    const old = this.mates.result;
    const same = old?.key === key;
    const K = r.classes;
    const keep = (a, b, per = 1) => {
      const all = same ? [...a, ...b] : [...b];
      return all.slice(Math.max(0, all.length - MAX_DRAWS * per));
    };
    this.mates.error = '';
    this.mates.result = {
      key, side: r.side, image: r.image, label: r.label, layer: r.layer, c: r.c, h: r.h, w: r.w, step: r.step, batch_size: r.batch_size, classes: K,
      eval: r.eval,
      // Every eval-mode value the replies carried (one, since eval mode ignores the companions).
      evals: [...new Set([...(same ? old.evals : []), r.eval.y])],
      draws: {
        y: keep(old?.draws.y ?? [], r.y),
        mean: keep(old?.draws.mean ?? [], r.mean),
        var: keep(old?.draws.var ?? [], r.var),
        predictions: keep(old?.draws.predictions ?? [], r.predictions),
        probs: keep(old?.draws.probs ?? [], r.probs, K),
      },
    };
  }
}
