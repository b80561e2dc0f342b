// The BN inspector: one activation followed through a normalization layer with the numbers of
// the last training step, as the core traced them (core/measure/trace.h; the worker puts the
// trace of the chosen unit into each snapshot as side.trace). Tables whose row headers are the
// symbols, each row with its formula (MathML, rendered by the build from the TeX in index.html's
// <template id="inspector-formulas">) and the numbers substituted into it; a picture of the
// values the statistics were taken over. No maths happens here: every number is the core's.
import './inspector.css';
import { Panel } from './panel.js';

// Six significant digits on screen; the cell's data-value keeps the float32 exactly.
export const num = (v) => {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-4 ? v.toExponential(4) : String(Number(v.toPrecision(6)));
};
const paren = (v) => (v < 0 ? `(${num(v)})` : num(v));

const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};

// The formula of row `key` as the build rendered it (a MathML clone), or its plain-text form.
function formula(key, plain) {
  const t = document.getElementById('inspector-formulas')?.content?.querySelector(`[data-f="${key}"]`);
  return t ? t.cloneNode(true) : document.createTextNode(plain);
}

// The served page fetches the formulas (build/web/inspector-formulas.html) when the inspector
// first shows a unit; the single file has them inline. Resolves true once they are in the page.
let formulasLoading = null;
function loadFormulas() {
  if (document.getElementById('inspector-formulas')) return Promise.resolve(false);
  formulasLoading ??= fetch(new URL('inspector-formulas.html', location.href))
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .then((html) => {
      document.body.insertAdjacentHTML('beforeend', html);
      return true;
    })
    .catch(() => false);  // the rows keep their plain-text formulas
  return formulasLoading;
}

// What the kinds are called, and over which values each takes its statistics.
const KIND_NAMES = {
  bn: 'BatchNorm', brn: 'Batch Renorm', gbn: 'Ghost BatchNorm', ln: 'LayerNorm', gn: 'GroupNorm', in: 'InstanceNorm',
};
const isBatchKind = (k) => k === 'bn' || k === 'brn' || k === 'gbn';

// Which values of the batch a statistic pooled: a grid of samples (across) by channels (down);
// the pooled cells filled, the unit's cell black. "channel over the batch" is a row, "sample over
// channels" a column.
export class PoolPicture {
  constructor(parent) {
    this.figure = el('figure', 'pool-picture');
    this.canvas = document.createElement('canvas');
    this.caption = el('figcaption');
    this.figure.append(this.canvas, this.caption);
    parent.append(this.figure);
  }
  reset() {
    this.key = '';
    this.caption.textContent = '';
  }
  update(t) {
    const [N, C, H, W] = t.shape;
    const key = [t.shape, t.n, t.c, t.sample_begin, t.sample_end, t.channel_begin, t.channel_end].join('/');
    this.caption.textContent = `The ${t.m.toLocaleString('en')} values the mean and variance were taken over: ${t.over}. ` +
      `Across: the ${N} samples of the batch; down: the ${C} channels${H * W > 1 ? `; each cell stands for all ${H}x${W} positions` : ''}.`;
    if (key === this.key) return;
    this.key = key;
    const cell = Math.max(3, Math.min(12, Math.floor(360 / N))), rowH = Math.max(4, Math.min(12, Math.floor(120 / C)));
    const c = this.canvas;
    c.width = N * cell + 1;
    c.height = C * rowH + 1;
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', `Grid of ${N} samples by ${C} channels; highlighted: ${t.over}`);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, c.width, c.height);
    for (let ch = 0; ch < C; ch++)
      for (let n = 0; n < N; n++) {
        const pooled = n >= t.sample_begin && n < t.sample_end && ch >= t.channel_begin && ch < t.channel_end;
        ctx.fillStyle = n === t.n && ch === t.c ? '#000' : pooled ? '#0072B2' : '#e4e4e4';
        ctx.fillRect(n * cell + 1, ch * rowH + 1, cell - 1, rowH - 1);
      }
  }
}

// One table: caption, then rows [symbol, formula key, plain formula, substituted numbers, value].
function table(caption, rows) {
  const t = el('table', 'inspector-table');
  t.append(el('caption', '', caption));
  const head = el('thead');
  const hr = el('tr');
  for (const h of ['symbol', 'formula', 'with the numbers', 'value']) hr.append(Object.assign(el('th', '', h), { scope: 'col' }));
  head.append(hr);
  const body = el('tbody');
  for (const [symbol, key, plain, numbers, value] of rows) {
    const tr = el('tr');
    tr.dataset.symbol = key;
    const th = el('th', 'symbol', symbol);
    th.scope = 'row';
    const f = el('td', 'formula');
    f.append(formula(key, plain));
    const v = el('td', 'value', num(value));
    v.dataset.value = String(value);
    tr.append(th, f, el('td', 'numbers', numbers), v);
    body.append(tr);
  }
  t.append(head, body);
  return t;
}

export class InspectorPanel extends Panel {
  constructor(parent) {
    super(parent, 'inspector', 'BN inspector: one activation through the normalizer',
      'One value entering the chosen normalizer in the last training step, followed through its arithmetic with the core\'s own numbers; ' +
      'then the eval-mode path for the same input, and the backward. Click a pixel of a feature map to choose it, or set sample, row and column here.');
    this.controls = el('div', 'inspector-controls');
    this.controls.setAttribute('role', 'group');
    this.controls.setAttribute('aria-label', 'Which activation the inspector follows');
    this.inputs = {};
    for (const [key, label] of [['n', 'Sample in the batch'], ['h', 'Row'], ['w', 'Column']]) {
      const id = `inspector-${key}`;
      const l = el('label', '', label);
      l.htmlFor = id;
      const input = Object.assign(document.createElement('input'), { id, type: 'number', min: 0, step: 1, value: 0 });
      input.addEventListener('change', () => this.choose());
      this.inputs[key] = input;
      this.controls.append(l, input);
    }
    // A described-by message, not a live region (the page keeps one: the status line).
    this.error = el('span', 'field-error');
    this.error.id = 'inspector-error';
    for (const input of Object.values(this.inputs)) input.setAttribute('aria-describedby', this.error.id);
    this.controls.append(this.error);
    this.el.insertBefore(this.controls, this.body);
    this.body.removeAttribute('role');
    this.body.removeAttribute('aria-label');
    this.source = el('p', 'inspector-source');
    this.tables = el('div', 'inspector-tables');
    this.body.append(this.source);
    this.picture = new PoolPicture(this.body);
    this.body.append(this.tables);
  }

  // The learner's choice of sample, row and column goes to the controller, which asks the worker.
  choose() {
    const unit = {};
    for (const [key, input] of Object.entries(this.inputs)) {
      const v = Number(input.value);
      const max = Number(input.max);
      if (!Number.isInteger(v) || v < 0 || (input.max !== '' && v > max)) {
        this.error.textContent = `${input.labels[0].textContent}: a whole number from 0 to ${input.max || 'the size'}, got "${input.value}"`;
        input.setAttribute('aria-invalid', 'true');
        return;
      }
      input.removeAttribute('aria-invalid');
      unit[key] = v;
    }
    this.error.textContent = '';
    this.el.dispatchEvent(new CustomEvent('bnlab-unit', { bubbles: true, detail: unit }));
  }

  reset(view) {
    this.shown = null;
    this.tables.replaceChildren();
    this.source.textContent = '';
    this.picture.reset();
    this.picture.figure.hidden = true;
    const u = view.unit ?? { n: 0, h: 0, w: 0 };
    for (const k of ['n', 'h', 'w']) this.inputs[k].value = u[k];
    this.missing('The inspector shows the first training step once it is taken (Step or Play).');
    this.summary('');
  }

  update(history, view) {
    const side = view.net ?? 'a';
    const t = history.sides[side]?.last?.trace;
    if (t === this.shown) return;
    this.shown = t;
    if (!t || t.error) {
      this.tables.replaceChildren();
      this.picture.figure.hidden = true;
      this.source.textContent = '';
      this.missing(t?.error ? `Nothing to inspect: ${t.error}.` : 'The inspector shows the first training step once it is taken (Step or Play).');
      this.summary('');
      return;
    }
    this.missing('');
    // Once the formulas arrive, the same trace is drawn again with them.
    loadFormulas().then((loaded) => {
      if (loaded && this.shown === t) {
        this.shown = null;
        this.update(history, view);
      }
    });
    const [N, , H, W] = t.shape;
    for (const [k, size] of [['n', N], ['h', H], ['w', W]]) {
      this.inputs[k].max = size - 1;
      if (document.activeElement !== this.inputs[k]) this.inputs[k].value = t[k];  // the unit traced
    }
    const pos = H * W > 1 ? `, row ${t.h}, column ${t.w}` : '';
    this.source.textContent = `${view.labels?.[side] ?? 'A'}, ${t.layer} (${KIND_NAMES[t.kind] ?? t.kind}), step ${t.step}: the value of sample ${t.n}, channel ${t.c}${pos}. ` +
      'The formulas are those of the numerics reference (core/NUMERICS.md, section 1).';
    this.picture.figure.hidden = false;
    this.picture.update(t);
    this.tables.replaceChildren(...this.forward(t), this.backward(t));
    const bits = [`${t.layer} sample ${t.n} channel ${t.c}${pos}, step ${t.step}: x ${num(t.x)}, mean ${num(t.mean)} and variance ${num(t.var)} over ${t.m} values, ` +
      `xhat ${num(t.xhat)}, y ${num(t.y)}`];
    if (t.has_eval) bits.push(`in eval mode y would be ${num(t.y_eval)} (difference ${num(t.y - t.y_eval)})`);
    bits.push(`dL/dx ${num(t.dx)}`);
    this.summary(`${bits.join('; ')}.`);
  }

  forward(t) {
    const batch = isBatchKind(t.kind);
    const stat = batch ? (t.kind === 'gbn' ? 'its ghost sub-batch' : 'the batch') : 'its own values';
    const rows = [
      ['x', 'x', 'x', `input of ${t.layer}, sample ${t.n}, channel ${t.c}`, t.x],
      ['m', 'm', 'm', t.over, t.m],
      ['μ_B', 'mu', 'mu_B = (1/m) sum x_i', `mean of the ${t.m} values of ${stat}`, t.mean],
      ['σ²_B', 'var', 'sigma^2_B = (1/m) sum (x_i - mu_B)^2', `biased variance of the same ${t.m} values`, t.var],
      ['ε', 'eps', 'epsilon', 'eps, added for stability', t.eps],
      ['x̂', 'xhat', 'xhat = (x - mu_B) / sqrt(sigma^2_B + eps)', `(${num(t.x)} − ${paren(t.mean)}) / √(${num(t.var)} + ${num(t.eps)})`, t.xhat],
    ];
    if (t.kind === 'brn' && t.has_before) {
      // r and d are computed from the running statistics as they stood before this step's update.
      const sigma = Math.sqrt(t.running_var_before + t.eps);
      rows.push(['μ_run (before)', 'running_mean_before', 'mu: running mean before this step\'s update',
        `running mean of channel ${t.c} before this step's update (after it: ${num(t.running_mean)})`, t.running_mean_before]);
      rows.push(['σ²_run (before)', 'running_var_before', 'sigma = sqrt(running variance before the update + eps)',
        `running variance before the update (after it: ${num(t.running_var)}); σ = √(${num(t.running_var_before)} + ${num(t.eps)}) = ${num(sigma)}`, t.running_var_before]);
      rows.push(['r', 'r', 'r = clip(sigma_B / sigma, 1/r_max, r_max)',
        `clip(√(${num(t.var)} + ${num(t.eps)}) / ${num(sigma)}, …): batch spread over running spread (a constant in backward)`, t.r]);
      rows.push(['d', 'd', 'd = clip((mu_B - mu) / sigma, -d_max, d_max)',
        `clip((${num(t.mean)} − ${paren(t.running_mean_before)}) / ${num(sigma)}, …): batch mean minus running mean, in running spreads`, t.d]);
    } else if (t.kind === 'brn') {
      rows.push(['r', 'r', 'r = clip(sigma_B / sigma, 1/r_max, r_max)', 'batch spread over running spread, clipped (a constant in backward)', t.r]);
      rows.push(['d', 'd', 'd = clip((mu_B - mu) / sigma, -d_max, d_max)', 'batch mean minus running mean, in running spreads, clipped', t.d]);
    }
    rows.push(['γ', 'gamma', 'gamma', `learned scale of channel ${t.c} (as this step's forward used it)`, t.gamma]);
    rows.push(['β', 'beta', 'beta', `learned shift of channel ${t.c}`, t.beta]);
    if (t.kind === 'brn') {
      rows.push(['y', 'y_renorm', 'y = gamma (xhat r + d) + beta',
        `${num(t.gamma)} × (${num(t.xhat)} × ${num(t.r)} + ${paren(t.d)}) + ${paren(t.beta)}`, t.y]);
    } else {
      rows.push(['y', 'y', 'y = gamma xhat + beta', `${num(t.gamma)} × ${paren(t.xhat)} + ${paren(t.beta)}`, t.y]);
    }
    rows.push(['y (layer)', 'y_layer', 'the layer\'s output', `what ${t.layer} output for this value`, t.y_layer]);
    if (t.noisy) {
      rows.push(['s', 'noise_s', 's ~ N(sigma_t, 0.1)', `noisy BN's scale drawn for sample ${t.n}, channel ${t.c}`, t.noise_scale]);
      rows.push(['m (drawn)', 'noise_m', 'm ~ U(mu_t - 0.1, mu_t + 0.1)', 'its drawn shift', t.noise_shift]);
      rows.push(['y′', 'y_noisy', "y' = s y + m", `${num(t.noise_scale)} × ${paren(t.y_layer)} + ${paren(t.noise_shift)}`, t.y_noisy]);
    }
    const out = [table(`Training mode, step ${t.step}: ${KIND_NAMES[t.kind] ?? t.kind} normalizes with the statistics of ${stat}`, rows)];
    if (t.has_eval) {
      out.push(table('Eval mode, the same input: running statistics (after this step\'s update), the same γ and β', [
        ['μ_run', 'running_mean', 'running mean', 'running mean of the channel, what eval mode uses now', t.running_mean],
        ['σ²_run', 'running_var', 'running variance (unbiased)', 'running variance of the channel', t.running_var],
        ['x̂_eval', 'xhat_eval', 'xhat_eval = (x - mu_run) / sqrt(sigma^2_run + eps)',
          `(${num(t.x)} − ${paren(t.running_mean)}) / √(${num(t.running_var)} + ${num(t.eps)})`, t.xhat_eval],
        ['y_eval', 'y_eval', 'y_eval = gamma xhat_eval + beta', `${num(t.gamma)} × ${paren(t.xhat_eval)} + ${paren(t.beta)}`, t.y_eval],
        ['y − y_eval', 'y_diff', 'y - y_eval', `${num(t.y)} − ${paren(t.y_eval)}: what the batch's statistics add in training`, t.y - t.y_eval],
      ]));
    } else {
      const why = batch ? 'this BatchNorm keeps no running statistics, so eval mode uses the batch\'s statistics too'
        : `${KIND_NAMES[t.kind]} takes its statistics from each sample alone and keeps no running statistics: eval mode computes exactly the same y`;
      out.push(el('p', 'inspector-note', `Eval mode: ${why}.`));
    }
    return out;
  }

  backward(t) {
    const batch = isBatchKind(t.kind);
    const k = batch ? (t.kind === 'brn' ? 'γ r / √(σ²_B + ε)' : 'γ / √(σ²_B + ε)') : '1 / √(σ²_B + ε)';
    const kv = batch ? t.gamma * t.r * t.inv_std : t.inv_std;
    const g = batch ? 'g' : 'γ g';
    // LN/GN/IN: their formula (γ inside the means); Batch Renorm: r in the factor.
    const f = (key) => (!batch ? `${key}_group` : t.kind === 'brn' && key.startsWith('term') ? `${key}_renorm` : key);
    const rows = [
      ['g = ∂L/∂y', 'g', 'g = dL/dy', `gradient arriving at ${t.layer}'s output for this value` +
        (t.dy === 0 ? ' (0: the loss does not depend on this output, as when a ReLU after it gets a negative input)' : ''), t.dy],
      ['∂L/∂β', 'dbeta', 'dL/dbeta = sum g', `sum of g over channel ${t.c} (every sample and position)`, t.dbeta],
      ['∂L/∂γ', 'dgamma', 'dL/dgamma = sum g xhat', `sum of g × x̂ over channel ${t.c}`, t.dgamma],
      [`mean(${g})`, f('mean_g'), 'mean(g)', `over the same ${t.m} values as μ_B`, t.mean_g],
      [`mean(${g} x̂)`, f('mean_gx'), 'mean(g xhat)', `over the same ${t.m} values`, t.mean_gx],
      ['term 1', f('term_g'), `${k} * ${g}`, `${num(kv)} × ${batch ? num(t.dy) : `${num(t.gamma)} × ${paren(t.dy)}`}`, t.term_g],
      ['term 2', f('term_mean'), `-${k} * mean(${g})`, `−${num(kv)} × ${paren(t.mean_g)}: the pull of the shared mean`, t.term_mean],
      ['term 3', f('term_xhat'), `-${k} * xhat * mean(${g} xhat)`, `−${num(kv)} × ${paren(t.xhat_layer)} × ${paren(t.mean_gx)}: the pull of the shared variance`, t.term_xhat],
      ['∂L/∂x', 'dx', 'dL/dx = term 1 + term 2 + term 3', `${num(t.term_g)} + ${paren(t.term_mean)} + ${paren(t.term_xhat)}`, t.dx],
      ['∂L/∂x (layer)', 'dx_layer', 'the layer\'s dL/dx', `what ${t.layer}'s backward computed`, t.dx_layer],
    ];
    return table(`Backward, step ${t.step}: the gradient of this value depends on every value of its statistics`, rows);
  }
}
