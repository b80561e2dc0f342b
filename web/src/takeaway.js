// The "Take it with you" section: metrics CSV, chart PNG, state JSON out and in, the code of the
// network, the embed snippet and the link. It asks the controller for data and never draws.
import { PROPS, fromQuery, sideConfig, toQuery } from './state.js';
import { download, metricsCsv, panelPng } from './export.js';
import { snippets } from './embed.js';

const $ = (id) => document.getElementById(id);

export class Takeaway {
  constructor(controller) {
    this.c = controller;
    this.codeTab = 'pytorch';
    const msg = (t) => ($('takeaway-msg').textContent = t);
    $('export-csv').onclick = () => download(`bnlab-metrics-seed${this.c.state.seed}.csv`, metricsCsv(this.c.history, this.c.labels()), 'text/csv');
    $('export-png').onclick = () => this.png('loss', msg);
    $('panel-grid').addEventListener('click', (e) => {
      const id = e.target.closest('[data-png]')?.dataset.png;
      if (id) this.png(id, msg);
    });
    for (const side of ['a', 'b']) $(`export-state-${side}`).onclick = () => this.saveState(side, msg);
    $('load-state').onchange = async (e) => {
      const file = e.target.files[0];
      e.target.value = '';
      if (file) await this.loadState(file, msg);
    };
    $('show-code').onclick = () => this.showCode('pytorch');
    $('tab-pytorch').onclick = () => this.showCode('pytorch');
    $('tab-keras').onclick = () => this.showCode('keras');
    $('code-side').onchange = () => this.showCode(this.codeTab);
    $('code-copy').onclick = () => navigator.clipboard?.writeText($('code-text').textContent);
    $('code-close').onclick = () => $('code-dialog').close();
    $('embed-code').onclick = () => {
      $('embed-panels').value = this.c.state.panels || 'loss,accuracy';
      this.showSnippet();
      $('embed-dialog').showModal();
    };
    $('embed-panels').oninput = () => this.showSnippet();
    $('embed-copy').onclick = () => navigator.clipboard?.writeText($('embed-text').value);
    $('embed-close').onclick = () => $('embed-dialog').close();
    $('copy-link').onclick = () => navigator.clipboard?.writeText(location.href)
      .then(() => msg('Link copied: it reproduces this run (settings and seed).'), () => msg(location.href));
  }

  png(id, msg) {
    const canvas = panelPng(this.c.panels.find((p) => p.id === id));
    if (!canvas) return msg('That panel has no chart yet.');
    canvas.toBlob((b) => download(`bnlab-${id}-step${this.c.history.sides.a?.last?.step ?? 0}.png`, b));
  }

  async saveState(side, msg) {
    if (!this.c.live()) return msg('Nothing is running.');
    if (side === 'b' && !this.c.state.compare) return msg('Network B is off (Compare two networks).');
    try {
      const r = await this.c.client.request('save', { side });
      download(`bnlab-state-${side}-step${this.c.history.sides[side]?.last?.step ?? 0}.json`, r.json, 'application/json');
      msg(`Saved network ${side.toUpperCase()} (load it here or with the CLI).`);
    } catch (e) {
      msg(e.message);
    }
  }

  // A saved state carries its config: the page takes it over (so that the link describes the
  // run), rebuilds network A from it, then the worker replaces A's weights, optimizer and data
  // position with the saved ones.
  async loadState(file, msg) {
    let parsed;
    try {
      parsed = JSON.parse(await file.text());
    } catch {
      return msg(`${file.name} is not JSON.`);
    }
    const config = parsed?.config;
    if (!config || typeof config !== 'object') return msg(`${file.name} has no "config": is it a BN Lab state file?`);
    if (!this.c.client) return msg('Nothing can run: the simulation module is missing.');
    const query = new URLSearchParams();
    for (const p of PROPS) {
      const v = config[p.name];
      if (p.scope !== 'ui' && v !== undefined) query.set(p.name, p.type === 'float' && typeof v === 'number' ? shortestFloat32(v) : String(v));
    }
    const { state, errors } = fromQuery(query.toString(), { ...this.c.state, b: {} });
    if (Object.keys(errors).length) return msg(`${file.name}: ${Object.values(errors).join('; ')}`);
    state.compare = false;
    await this.c.applyState(state);
    try {
      const r = await this.c.client.request('load', { side: 'a', json: JSON.stringify(parsed) });
      msg(`Loaded ${file.name} into network A at step ${r.step}.`);
    } catch (e) {
      msg(e.message);
    }
  }

  // "Show code" writes the model the core built (its description arrives with the worker's
  // reply): an open dialog is written again when a new model is ready.
  modelReady() {
    if ($('code-dialog').open) this.showCode(this.codeTab);
  }

  // The code writers load with the first "Show code" (a chunk of their own on the served page,
  // kept out of the first load's budget).
  async showCode(tab) {
    this.codeTab = tab;
    const side = this.c.state.compare ? $('code-side').value : 'a';
    let text;
    try {
      const { kerasCode, pytorchCode } = await (this.code ??= import('./code.js'));
      text = (tab === 'keras' ? kerasCode : pytorchCode)(sideConfig(this.c.state, side), this.c.info[side]);
    } catch (e) {
      text = `# ${e.message}`;
    }
    $('code-text').textContent = text;
    $('tab-pytorch').setAttribute('aria-selected', String(tab === 'pytorch'));
    $('tab-keras').setAttribute('aria-selected', String(tab === 'keras'));
    if (!$('code-dialog').open) $('code-dialog').showModal();
  }

  showSnippet() {
    const q = new URLSearchParams(toQuery({ ...this.c.state, embed: false, panels: '' }));
    const panels = $('embed-panels').value.replace(/[^a-z,]/g, '');
    if (panels) q.set('panels', panels);
    const s = snippets(location.href, q.toString());
    $('embed-text').value = s.element;
    $('embed-iframe').value = s.iframe;
  }
}

// The core keeps options as float32 and writes them with nine digits (0.0700000003): the
// shortest decimal that is the same float32 (0.07) is what a learner typed.
export function shortestFloat32(v) {
  for (let digits = 1; digits < 10; digits++) {
    const text = String(Number(v.toPrecision(digits)));
    if (Math.fround(Number(text)) === Math.fround(v)) return text;
  }
  return String(v);
}
