// The settings form, generated from the property table: one row per run setting with network A's
// control, network B's override (empty: same as A) and a message slot. Values are checked with
// the table's parseValue; a refused entry shows its message next to the field and changes nothing.
import { PROPS, parseValue } from './state.js';

// In display order; the normalizer's finer settings sit in a closed <details> until needed.
const GROUPS = { model: 'Model', optim: 'Optimizer', data: 'Data (shared)', norm: 'Normalizer details', run: 'Run' };
const FOLDED = ['norm'];

export class SettingsForm {
  // onChange(name, value, side): side 'a' or 'b'; value undefined clears B's override.
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    this.inputs = {};  // key ("lr", "b.lr") -> element
    for (const [group, title] of Object.entries(GROUPS)) {
      const props = PROPS.filter((p) => p.group === group && p.name !== 'speed');
      if (!props.length) continue;
      const fs = document.createElement('fieldset');
      const legend = document.createElement('legend');
      legend.textContent = title;
      fs.append(legend);
      if (props.some((p) => p.scope === 'net')) fs.append(headerRow());
      for (const p of props) fs.append(this.row(p));
      if (FOLDED.includes(group)) {
        const details = document.createElement('details');
        details.dataset.group = group;
        const summary = document.createElement('summary');
        summary.textContent = `${title} (BN momentum, eps, affine, GroupNorm groups, ...)`;
        legend.classList.add('visually-hidden');
        details.append(summary, fs);
        form.append(details);
      } else form.append(fs);
    }
    form.addEventListener('submit', (e) => e.preventDefault());
  }

  row(p) {
    const row = document.createElement('div');
    row.className = `row ${p.scope}`;
    row.dataset.name = p.name;
    const label = document.createElement('label');
    label.htmlFor = `f-${p.name}`;
    label.textContent = p.label;
    row.append(label, this.control(p, 'a'));
    if (p.scope === 'net') row.append(this.control(p, 'b'));
    // Not a live region (an <output> is one): forty of them would flood a screen reader; the
    // field points to its message with aria-describedby and aria-invalid.
    const err = document.createElement('span');
    err.className = 'field-error';
    err.id = `err-${p.name}`;
    row.append(err);
    return row;
  }

  control(p, side) {
    const key = side === 'b' ? `b.${p.name}` : p.name;
    let el;
    if (p.type === 'choice' || (p.type === 'bool' && side === 'b')) {
      el = document.createElement('select');
      if (side === 'b') el.append(new Option('same as A', ''));
      for (const c of p.type === 'bool' ? ['true', 'false'] : p.choices) el.append(new Option(p.type === 'bool' ? (c === 'true' ? 'on' : 'off') : c, c));
    } else if (p.type === 'bool') {
      el = document.createElement('input');
      el.type = 'checkbox';
    } else {
      el = document.createElement('input');
      el.type = 'text';
      el.inputMode = p.type === 'string' ? 'text' : 'decimal';
      el.autocomplete = 'off';
      el.spellcheck = false;
      if (side === 'b') el.placeholder = 'same as A';
      if (p.suggest) {
        el.setAttribute('list', `list-${p.name}`);
        if (!document.getElementById(`list-${p.name}`)) {
          const list = document.createElement('datalist');
          list.id = `list-${p.name}`;
          list.append(...p.suggest.map((v) => new Option(v, v)));
          this.form.append(list);
        }
      }
    }
    el.id = side === 'b' ? `f-b-${p.name}` : `f-${p.name}`;
    el.name = key;
    el.dataset.key = key;
    if (side === 'b') el.setAttribute('aria-label', `${p.label}, network B`);
    el.setAttribute('aria-describedby', `err-${p.name}`);
    el.addEventListener('change', () => this.changed(p, side, el));
    this.inputs[key] = el;
    return el;
  }

  changed(p, side, el) {
    const text = el.type === 'checkbox' ? String(el.checked) : el.value;
    const key = side === 'b' ? `b.${p.name}` : p.name;
    if (side === 'b' && text.trim() === '') {
      this.error(key, '');
      this.onChange(p.name, undefined, 'b');
      return;
    }
    const r = parseValue(p, text);
    this.error(key, r.error ?? '');
    if (!r.error) this.onChange(p.name, r.value, side);
  }

  // Writes the state into the controls (after a URL, a lesson or a loaded state).
  show(state) {
    for (const [key, el] of Object.entries(this.inputs)) {
      const isB = key.startsWith('b.');
      const name = isB ? key.slice(2) : key;
      const v = isB ? state.b[name] : state[name];
      if (el.type === 'checkbox') el.checked = v;
      else el.value = v === undefined ? '' : String(v);
      el.removeAttribute('aria-invalid');
    }
    for (const out of this.form.querySelectorAll('.field-error')) out.textContent = '';
    this.form.classList.toggle('compare', state.compare);
    for (const d of this.form.querySelectorAll('details')) {
      if (PROPS.some((p) => p.group === d.dataset.group && (state[p.name] !== p.def || p.name in state.b))) d.open = true;
    }
  }

  // A message next to the field; text only (never parsed as HTML).
  error(key, message) {
    const name = key.startsWith('b.') ? key.slice(2) : key;
    const out = document.getElementById(`err-${name}`);
    if (!out) return false;
    out.textContent = message ? (key.startsWith('b.') ? `B: ${message}` : message) : '';
    if (message) out.closest('details')?.setAttribute('open', '');
    this.inputs[key]?.setAttribute('aria-invalid', message ? 'true' : 'false');
    return true;
  }
}

function headerRow() {
  const row = document.createElement('div');
  row.className = 'row head';
  row.setAttribute('aria-hidden', 'true');
  for (const t of ['', 'A', 'B']) {
    const s = document.createElement('span');
    s.textContent = t;
    row.append(s);
  }
  return row;
}

