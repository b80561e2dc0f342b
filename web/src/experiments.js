// The core's experiments (core/experiments/experiments.h), offered inside the lessons they belong to: a lesson
// with data-experiment="lr-sweep" gets a box that runs the whole sweep in the worker and shows
// its headline figures and tables. The list (names, titles, descriptions) comes from the build,
// which asks the wasm module for it.
import { select } from 'd3-selection';
import { csvText, download } from './export.js';
import { COLORS, EXTRA } from './views/panel.js';

const MAX_ROWS = 12;  // rows of a table shown on the page; the CSV has them all

// The dataset the page's experiments run on, for the page's dataset: Fashion-MNIST when the page
// (a lesson's preset) trains on it, else MNIST (the synthetic datasets' experiments are MNIST's
// entries: covariate-shift makes its own shifted shapes).
export const experimentDataset = (dataset) => (dataset === 'fashion' ? 'fashion' : 'mnist');

// The experiments' descriptions: in the list inlined in the single-file page; on the served page
// (which keeps them out of its first load, web/build.mjs) fetched from experiments.json when a
// learner first opens one.
let descriptions = null;
function loadDescriptions() {
  descriptions ??= fetch('experiments.json').then((r) => (r.ok ? r.json() : [])).catch(() => [])
    .then((list) => Object.fromEntries(list.map((e) => [e.name, e.description])));
  return descriptions;
}

export class Experiments {
  // run(name, onProgress, onPart) -> Promise<{summary, tables}>: the controller sends the
  // request; onPart(tables) brings the rows of the runs done so far (a sweep run by a pool).
  constructor(run) {
    this.run = run;
    this.list = JSON.parse(document.getElementById('experiments')?.textContent ?? '[]');
    for (const article of document.querySelectorAll('article.lesson[data-experiment]')) {
      const info = this.list.find((e) => e.name === article.dataset.experiment);
      if (info) article.append(this.box(info, new URLSearchParams(article.dataset.preset).get('dataset') ?? 'mnist'));
    }
  }

  // Shows an experiment's result in its box (also a shortened run's, from the tests).
  show(name, result) {
    document.querySelector(`section.experiment[data-experiment="${name}"] .experiment-result`).replaceChildren(...render(name, result));
  }

  // The sweep's chart with the runs done so far, while the rest run.
  showPart(name, tables) {
    const charts = tables.map(sweepChart).filter(Boolean);
    const note = document.createElement('p');
    note.textContent = 'Runs done so far (the headline figures and tables follow when the sweep ends):';
    document.querySelector(`section.experiment[data-experiment="${name}"] .experiment-result`).replaceChildren(note, ...charts);
  }

  // dataset: the lesson's. Its experiment trains on it: Fashion-MNIST, MNIST, or for a lesson on a
  // synthetic dataset (lesson 14's "shift") the core's synthetic data (covariate-shift's mnist entry).
  box(info, dataset) {
    const box = document.createElement('section');
    box.className = 'experiment';
    box.dataset.experiment = info.name;
    const h = document.createElement('h4');
    h.textContent = `The full experiment: ${info.title}`;
    const p = document.createElement('p');
    const where = info.units > 1 ? 'on a pool of workers, one per core of your machine' : 'in the worker';
    p.textContent = `"${info.name}" trains several networks on ${{ fashion: 'Fashion-MNIST', mnist: 'MNIST', idx: 'MNIST' }[dataset] ?? `the synthetic "${dataset}" dataset`} (about ${info.default_steps} steps each) ${where}: seconds to minutes, during which the networks above pause.`;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Run the experiment';
    const progress = document.createElement('progress');
    progress.max = 1;
    progress.value = 0;
    progress.hidden = true;
    progress.setAttribute('aria-label', `Progress of ${info.name}`);
    const out = document.createElement('div');
    out.className = 'experiment-result';
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'What it runs and what BN Lab found (spoilers)';
    const text = document.createElement('p');
    text.textContent = info.description ?? 'Loading...';
    if (info.description === undefined) {
      details.addEventListener('toggle', async () => {
        text.textContent = (await loadDescriptions())[info.name] ?? 'The description could not be loaded.';
      }, { once: true });
    }
    details.append(summary, text);
    button.onclick = async () => {
      button.disabled = true;
      progress.hidden = false;
      progress.value = 0;
      out.textContent = 'Running...';
      try {
        const result = await this.run(info.name, (f) => { progress.value = f; }, (tables) => this.showPart(info.name, tables));
        this.show(info.name, result);
      } catch (e) {
        out.textContent = e.message;
      } finally {
        button.disabled = false;
        progress.hidden = true;
      }
    };
    box.append(h, p, button, progress, out, details);
    return box;
  }
}

// The headline figures as a table of words and values, then a chart of each sweep, then each
// table (with its CSV).
function render(name, { summary, tables }) {
  return [figures(summary), ...tables.map(sweepChart).filter(Boolean), ...tables.map((t) => table(name, t))];
}

// summary.json's keys in words: "largest_lr_bn" -> "largest learning rate, with BN".
const WORDS = { lr: 'learning rate', bn: 'with BN', none: 'without normalization', init: 'initialization', ics: 'ICS',
  accuracy: 'accuracy', steps: 'steps', mlp: 'MLP (sigmoid)', cnn: 'CNN', gn: 'GroupNorm', ln: 'LayerNorm', in: 'InstanceNorm' };
const words = (key) => key.split(/[._]/).map((w) => WORDS[w] ?? w).join(' ').replace(/ (with BN|without normalization)(.*)$/, '$2, $1');
function value(key, v) {
  if (v === null) return 'none (no run reached the threshold)';
  if (typeof v !== 'number') return String(v);
  if (/accuracy/.test(key) && v >= 0 && v <= 1) return `${(100 * v).toFixed(1)}%`;
  return String(+v.toPrecision(4)) + (/(^|_)steps?(_|$)/.test(key) ? ' steps' : '');
}

function figures(summary) {
  const t = document.createElement('table');
  t.className = 'figures';
  const cap = t.createCaption();
  cap.textContent = 'Headline figures';
  const body = t.createTBody();
  for (const [key, v] of flatten(summary)) {
    if (['experiment', 'title'].includes(key)) continue;
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = words(key);
    th.title = key;  // the name in summary.json
    tr.append(th);
    tr.insertCell().textContent = value(key, v);
  }
  return t;
}

function flatten(value, prefix = '') {
  if (value === null || typeof value !== 'object') return [[prefix, value]];
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return [[prefix, value.join(', ')]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

// A sweep (a table with a swept setting, a group and test_accuracy) as final test accuracy
// against the swept value on a log axis, one line per group (BN blue, none vermillion).
const SWEPT = ['lr', 'init_scale', 'batch_size'];
const GROUP_COLORS = { bn: COLORS.a, batch: COLORS.a, none: COLORS.b };
function sweepChart({ name, columns, rows }) {
  const xCol = columns.findIndex((c) => SWEPT.includes(c)), yCol = columns.indexOf('test_accuracy');
  const groupCols = ['model', 'variant', 'normalizer'].map((c) => columns.indexOf(c)).filter((i) => i >= 0);
  if (xCol < 0 || yCol < 0 || !groupCols.length) return null;
  const groups = new Map();
  for (const r of rows) {
    const g = groupCols.map((i) => r[i]).join(' ');
    (groups.get(g) ?? groups.set(g, []).get(g)).push([Number(r[xCol]), Number(r[yCol])]);
  }
  const xs = rows.map((r) => Number(r[xCol])).filter((v) => v > 0);
  const W = 420, H = 220, M = { l: 44, r: 10, t: 10, b: 34 };
  const lx0 = Math.log10(Math.min(...xs)), lx1 = Math.log10(Math.max(...xs));
  const x = (v) => M.l + ((Math.log10(v) - lx0) / (lx1 - lx0 || 1)) * (W - M.l - M.r);
  const y = (v) => H - M.b - v * (H - M.t - M.b);
  const fig = document.createElement('figure');
  fig.className = 'sweep';
  const cap = document.createElement('figcaption');
  cap.textContent = `${name}: final test accuracy against ${columns[xCol].replace('_', ' ')} (log scale), one line per ${groupCols.map((i) => columns[i]).join(' and ')}`;
  const svg = select(fig).append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('role', 'img')
    .attr('aria-label', `${cap.textContent}; the values are in the table ${name} below`);
  const grid = svg.append('g').attr('class', 'axis');
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    grid.append('line').attr('x1', M.l).attr('x2', W - M.r).attr('y1', y(v)).attr('y2', y(v)).attr('stroke', '#e4e4e4');
    grid.append('text').attr('x', M.l - 4).attr('y', y(v) + 3).attr('text-anchor', 'end').text(`${v * 100}%`);
  }
  for (const v of [...new Set(xs)].sort((p, q) => p - q)) {
    grid.append('text').attr('x', x(v)).attr('y', H - M.b + 14).attr('text-anchor', 'middle').text(String(v));
  }
  grid.append('text').attr('x', (W + M.l) / 2).attr('y', H - 4).attr('text-anchor', 'middle').text(columns[xCol].replace('_', ' '));
  const legend = document.createElement('ul');
  legend.className = 'legend';
  const models = [...new Set([...groups.keys()].map((g) => g.split(' ')[0]))];
  [...groups].forEach(([g, pts], i) => {
    const key = g.split(' ').at(-1);
    const color = GROUP_COLORS[key] ?? EXTRA[i % EXTRA.length];
    // With two grouping columns (model and normalizer), the model is the line's dash.
    const dash = groupCols.length > 1 && models.indexOf(g.split(' ')[0]) > 0 ? '5 3' : null;
    pts.sort((p, q) => p[0] - q[0]);
    svg.append('path').attr('fill', 'none').attr('stroke', color).attr('stroke-width', 1.8).attr('stroke-dasharray', dash)
      .attr('d', 'M' + pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('L'));
    svg.append('g').selectAll('circle').data(pts).join('circle').attr('cx', ([a]) => x(a)).attr('cy', ([, b]) => y(b)).attr('r', 3).attr('fill', color);
    const li = document.createElement('li');
    const sw = select(li).append('svg').attr('width', 26).attr('height', 10).attr('aria-hidden', 'true');
    sw.append('line').attr('x1', 1).attr('x2', 25).attr('y1', 5).attr('y2', 5).attr('stroke', color).attr('stroke-width', 1.8).attr('stroke-dasharray', dash);
    sw.append('circle').attr('cx', 13).attr('cy', 5).attr('r', 3).attr('fill', color);
    li.append(document.createTextNode(g));
    legend.append(li);
  });
  fig.append(cap, legend);
  return fig;
}

function table(name, { name: stem, columns, rows }) {
  const wrap = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = `${stem}: ${rows.length} rows${rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} shown)` : ''} `;
  const csv = document.createElement('button');
  csv.type = 'button';
  csv.textContent = 'CSV';
  csv.setAttribute('aria-label', `Download ${stem} as CSV`);
  csv.onclick = () => download(`bnlab-${name}-${stem}.csv`, csvText([columns, ...rows]), 'text/csv');
  cap.append(csv);
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = c;
    head.append(th);
  }
  const body = t.createTBody();
  for (const r of rows.slice(0, MAX_ROWS)) {
    const tr = body.insertRow();
    for (const cell of r) tr.insertCell().textContent = cell;
  }
  const scroll = document.createElement('div');
  scroll.className = 'table-scroll';
  scroll.tabIndex = 0;
  scroll.setAttribute('role', 'region');
  scroll.setAttribute('aria-label', `Table ${stem}`);
  scroll.append(t);
  wrap.append(cap, scroll);
  return wrap;
}
