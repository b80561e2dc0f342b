// The core's experiments (core/experiments/experiments.h), offered inside the lessons they belong to: a lesson
// with data-experiment="lr-sweep" gets a box that runs the whole sweep in the worker and shows
// its headline figures and tables. The list (names, titles, descriptions) comes from the build,
// which asks the wasm module for it.
import { csvText, download } from './export.js';

const MAX_ROWS = 12;  // rows of a table shown on the page; the CSV has them all

export class Experiments {
  // run(name, onProgress) -> Promise<{summary, tables}>: the controller sends the request.
  constructor(run) {
    this.run = run;
    this.list = JSON.parse(document.getElementById('experiments')?.textContent ?? '[]');
    for (const article of document.querySelectorAll('article.lesson[data-experiment]')) {
      const info = this.list.find((e) => e.name === article.dataset.experiment);
      if (info) article.append(this.box(info));
    }
  }

  box(info) {
    const box = document.createElement('section');
    box.className = 'experiment';
    box.dataset.experiment = info.name;
    const h = document.createElement('h4');
    h.textContent = `The full experiment: ${info.title}`;
    const p = document.createElement('p');
    p.textContent = `"${info.name}" trains several networks on MNIST (about ${info.default_steps} steps each) in the worker: seconds to minutes, during which the networks above pause.`;
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
    out.setAttribute('aria-live', 'polite');
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'What it runs and what BN Lab found (spoilers)';
    const text = document.createElement('p');
    text.textContent = info.description;
    details.append(summary, text);
    button.onclick = async () => {
      button.disabled = true;
      progress.hidden = false;
      progress.value = 0;
      out.textContent = 'Running...';
      try {
        const result = await this.run(info.name, (f) => { progress.value = f; });
        out.replaceChildren(...render(info.name, result));
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

// The summary's figures as a list ("bn.largest_lr_that_trains: 1"), then each table.
function render(name, { summary, tables }) {
  const list = document.createElement('dl');
  for (const [key, value] of flatten(summary)) {
    const dt = document.createElement('dt');
    dt.textContent = key;
    const dd = document.createElement('dd');
    dd.textContent = typeof value === 'number' ? String(+value.toPrecision(4)) : String(value);
    list.append(dt, dd);
  }
  return [list, ...tables.map((t) => table(name, t))];
}

function flatten(value, prefix = '') {
  if (value === null || typeof value !== 'object') return [[prefix, value]];
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return [[prefix, value.join(', ')]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
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
