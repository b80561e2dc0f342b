// The one controller: it wires the DOM, the state and the training worker(s). Views never see the
// worker; the worker never sees the DOM. Follow a Play press: play() -> client.post('play') ->
// worker trains -> onSnapshot -> history.add -> render() -> each panel's update().
import { PROP, diffLine, fromQuery, toQuery, sideConfig, sideLabel } from './state.js';
import { RunClient } from './run-client.js';
import { PairRunClient } from './pair-client.js';
import { History } from './history.js';
import { SettingsForm } from './form.js';
import { PANELS } from './views/index.js';
import { MISCLASSIFIED_SHOWN } from './views/images.js';
import { builtBytes, fileBytes } from './data.js';
import { IdxFiles } from './idx-files.js';
import { Takeaway } from './takeaway.js';
import { Experiments, experimentDataset } from './experiments.js';
import { runEmbedded } from './embed.js';
import { NetworkStrip, isNormalizer } from './views/strip.js';
import { Lessons, startResult } from './lessons.js';
import { Inspect } from './inspect.js';
import { Timeline, historyAt } from './timeline.js';

const $ = (id) => document.getElementById(id);
// The panels that show one step's values, which the replay timeline can take back in time
// (the network strip too); the others are over steps and mark the chosen one.
const REPLAYED = ['bnstats', 'histogram', 'features', 'inspector'];
const SPEED = { 1: 1, 5: 5, 20: 20, 100: 100, max: null };
// The panels of the first screen, first in the grid, when no lesson is chosen.
const START_PANELS = ['accuracy', 'loss', 'histogram'];
const START_STEPS = 300;  // the first screen states its result from this step on

// A link that names a lesson and no run setting (?lesson=high-lr) opens the lesson's experiment.
function lessonLink(state, query) {
  const el = state.lesson && document.getElementById(`lesson-${state.lesson}`);
  const names = [...new URLSearchParams(query).keys()];
  if (!el || names.some((n) => PROP[n.replace(/^b\./, '')]?.scope !== 'ui')) return state;
  return { ...fromQuery(el.dataset.preset).state, ...Object.fromEntries(names.map((n) => [n, state[n]])) };
}

export class Controller {
  constructor(buildInfo) {
    this.buildInfo = buildInfo;
    const { state, errors } = fromQuery(location.search);
    this.state = lessonLink(state, location.search);
    this.history = new History();
    this.playing = false;
    this.info = {};        // SideInfo per side, from the worker's `ready`
    this.dataKey = null;   // the core's data key of what the worker holds ("mnist", "shapes seed 1", ...)
    this.form = new SettingsForm($('settings-form'), (name, value, side) => this.setOption(name, value, side));
    this.panels = PANELS.map((P) => new P($('panel-grid')));
    // The BN inspector and batch-mates: their unit, trace setting and what-if requests.
    this.inspect = new Inspect(this);
    // Replay: a past step chosen on the timeline, shown by the snapshot panels (REPLAYED).
    // Under the charts, sticky at the bottom of the window while they are on screen.
    const line = document.createElement('div');
    $('panel-grid').after(line);
    this.timeline = new Timeline(line, () => this.render());
    line.replaceWith(this.timeline.el);  // a child of the panels' section, so that it can stick
    // Only panels on screen are drawn (drawing all twelve ten times a second would make long
    // tasks); one that scrolls into view is brought up to date at once.
    const seen = new IntersectionObserver((entries) => {
      for (const e of entries) this.panels.find((p) => p.el === e.target).onScreen = e.isIntersecting;
      this.scheduleRender();
    }, { rootMargin: '100px' });
    for (const p of this.panels) seen.observe(p.el);
    this.strip = new NetworkStrip($('strip'), (layer) => this.select({ layer }));
    // Another view (an inspector, a feature map) may choose the layer, channel or image the same way.
    document.addEventListener('bnlab-select', (e) => this.select(e.detail));
    this.wireToolbar();
    this.wireSettingsDrawer();
    this.wireViewControls();
    this.lessons = new Lessons((n) => this.runFromZero(n));
    this.wireLessons();
    this.takeaway = new Takeaway(this);
    this.experiments = new Experiments((name, onProgress, onPart) => this.runExperiment(name, onProgress, 0, onPart));
    this.idx = new IdxFiles({
      onDrop: () => {
        if (this.state.dataset === 'idx') return;
        this.form.show(Object.assign(this.state, { dataset: 'idx' }));
        this.saveUrl();
      },
      onComplete: () => {
        if (this.state.dataset !== 'idx') return;
        this.dataKey = null;
        this.init();
      },
    });
    this.idx.show(this.state.dataset === 'idx');
    this.form.show(this.state);
    // Your own files are picked in the settings drawer.
    if (this.state.dataset === 'idx' && !this.idx.complete()) this.openSettings();
    this.showViewControls();
    this.showUrlErrors(errors);
    this.fillLayers();
    this.resetViews();
    // After the panels are chosen, so that the first height reported is theirs.
    if (this.state.embed) this.embed();
    this.start();
  }

  // --- The run -------------------------------------------------------------------------------

  sides() {
    const sides = { a: sideConfig(this.state, 'a') };
    if (this.state.compare) sides.b = sideConfig(this.state, 'b');
    for (const c of Object.values(sides)) if (c.dataset === 'idx') Object.assign(c, this.idx.names());
    return sides;
  }

  // Worker settings: evaluation and probe rates, and which normalizer channel the histograms
  // follow (the chosen layer's index among the normalizers of network A).
  settings() {
    // Before the first `ready` the layers are unknown: normalizers are numbered in order (bn2 is
    // the second), which ready() then checks against the model.
    const known = this.normLayers().indexOf(this.state.layer);
    const hist_norm = known >= 0 ? known : Math.max(0, Number(/\d+$/.exec(this.state.layer)?.[0] ?? 1) - 1);
    return {
      eval_every: this.state.eval_every, eval_examples: 1000, snapshot_ms: 200, heavy_every: this.state.probe_every,
      measure_config: { hist_norm, hist_channel: this.state.channel },
      // The feature maps cost one forward pass of one image per snapshot: only for a page that shows them.
      features_image: this.panelChosen('features') ? this.state.image : -1, misclassified_max: MISCLASSIFIED_SHOWN,
      trace: this.inspect.traceSetting(),
      replay: true,  // every step's measurements, for the replay timeline (src/replay.js)
    };
  }

  sendMeasureConfig() {
    const { measure_config, features_image, trace } = this.settings();
    if (this.live()) this.client.request('settings', { settings: { measure_config, features_image, trace } }).catch((e) => this.coreError(e));
  }

  normLayers() {
    return (this.info.a?.model?.layers ?? []).filter(isNormalizer).map((l) => l.name);
  }

  async start() {
    if (!this.buildInfo.wasm) {
      this.banner('The simulation module is missing from this build (build/wasm was not built), so nothing can train. ' +
        'Run `npm start`, which builds it with Emscripten; the rest of the page works.');
      this.setStatus('No simulation module.');
      return;
    }
    const callbacks = {
      onSnapshot: (s) => this.onSnapshot(s),
      onError: (e) => this.coreError(e),
      onFatal: (m) => this.banner(`The simulation worker failed: ${m}`),
    };
    // The core is downloaded and compiled once, here, for every worker (off the main thread: a
    // streaming compile); the single-file build's worker has it inlined.
    this.wasmModule ??= document.getElementById('worker-src') ? Promise.resolve(undefined)
      : WebAssembly.compileStreaming(fetch(new URL('bnlab/bnlab_core.wasm', location.href))).catch(() => undefined);
    // One worker per network where the machine has the cores for it (pair-client.js); else both in one.
    this.client = this.workerCount() === 2 ? new PairRunClient(() => this.makeWorker(), callbacks) : new RunClient(this.makeWorker(), callbacks);
    await this.init();
  }

  // The workers setting ('auto': two where the browser reports at least two logical cores).
  workerCount() {
    if (this.state.workers !== 'auto') return Number(this.state.workers);
    return (navigator.hardwareConcurrency ?? 1) >= 2 ? 2 : 1;
  }

  // A new RunClient (another number of workers): the run starts over at step 0.
  restartClient() {
    this.pause();
    this.dropSpares();
    this.client?.terminate();
    this.client = null;
    this.dataKey = null;
    this.info = {};
    return this.start();
  }

  // The single-file build inlines the worker as one classic script; otherwise it is a module.
  makeWorker() {
    const inlined = document.getElementById('worker-src');
    if (inlined) return new Worker(URL.createObjectURL(new Blob([inlined.textContent], { type: 'text/javascript' })), { name: 'bnlab' });
    return new Worker(new URL('bnlab/worker.mjs', location.href), { type: 'module', name: 'bnlab' });
  }

  // A new run: (re)sends the data when the dataset changed, else resets the sides.
  async init() {
    if (!this.client) return;
    // A run playing when its settings change goes on playing from step 0.
    this.playWhenReady ||= this.playing;
    this.pause();
    const sides = this.sides();
    this.setStatus('Loading...');
    try {
      let reply;
      // Which data the sides need is the core's data key (train/config.h data_key), which the
      // worker answers once it holds the core: new bytes go only with a new key.
      const key = this.dataKey && (await this.client.request('data_key', { config: sides.a })).key;
      if (key !== this.dataKey || !key) {
        // Fashion-MNIST's subset is fetched only now (a lesson on it, or the dataset chosen): say
        // so, since it takes a moment on a slow line.
        if (this.state.dataset === 'fashion') this.setStatus('Loading Fashion-MNIST (about 4.4 MB)...');
        const data = this.state.dataset === 'idx' ? await fileBytes(this.idx.files) : await builtBytes(this.state.dataset);
        reply = await this.client.init(sides, data, this.settings(), await this.wasmModule);
        this.dataKey = reply.sides.a.data_key;
      } else {
        reply = await this.client.request('reset', { sides, settings: this.settings() });
      }
      this.ready(reply);
    } catch (e) {
      this.dataKey = null;
      this.info = {};
      this.coreError(e);
    }
  }

  ready(reply) {
    const sent = this.settings().measure_config.hist_norm;
    this.info = reply.sides;
    // A link that inspects B (net=b) with A's layer name.
    const moved = this.inspect.side() === 'b' && this.netLayer('a');
    if (moved) {
      this.state.layer = moved;
      this.saveUrl();
    }
    this.inspect.sendTrace();  // the unit clamped to the layers now known
    if (this.settings().measure_config.hist_norm !== sent) this.sendMeasureConfig();
    this.history.reset();
    this.fillLayers();
    this.resetViews();
    this.takeaway.modelReady();
    this.banner('');
    this.setStatus('Ready. Press Play (Space) or Step (s).');
    this.client.post('evaluate');
    if (this.playWhenReady) {
      this.playWhenReady = false;
      this.play();
    }
    this.warmSweep();
  }

  // The open lesson's experiment when the core runs it in units (a sweep), else null.
  lessonSweep() {
    const name = this.lessonEl(this.state.lesson)?.dataset.experiment;
    const info = name && this.experiments.list.find((e) => e.name === name);
    return info?.units > 1 ? info : null;
  }

  // A lesson with a sweep, its run ready and paused: the workers that will run the sweep's units
  // run a one-step part of it now, while the learner reads the lesson. A worker's first unit of a
  // sweep took 0.1-0.2 s longer than the next ones (mostly the dataset's gzipped files inflated
  // and written into the module's file system; its heap grown, the sweep's code run for the first
  // time; wasm/README.md, page13's subsection of "Speed"). Where the browser reports more than
  // two cores, the pool's workers beyond the page's own are started (and warmed) now too, instead
  // of when the sweep starts; on two cores the pool is the page's two workers and nothing is
  // started. Each worker is warmed once per dataset and experiment. this.warming settles when
  // the warm-up is done (the benchmark waits for it); a warm-up that fails is dropped (a sweep
  // run afterwards reports its own errors).
  warmSweep() {
    const info = this.lessonSweep();
    const dataset = experimentDataset(this.state.dataset);
    if (!info || this.spares?.dataset !== dataset) this.dropSpares();
    if (!info || !this.live() || this.playing) return;
    const fields = { name: info.name, seed: this.state.seed, steps: 1, dataset, begin: 0, end: 1 };
    const key = `${info.name} ${dataset} ${this.dataKey}`;
    const jobs = [];
    this.warmed ??= new WeakMap();
    // The page's own workers, when their run trains on the sweep's dataset (else the sweep sends
    // them its files, which a warm-up could not spare them).
    if (this.state.dataset === dataset && this.warmed.get(this.client) !== key) {
      this.warmed.set(this.client, key);
      jobs.push(this.client.each ? this.client.each('experiment_part', fields) : this.client.request('experiment_part', fields));
    }
    const size = Math.min(this.poolSize(), info.units);
    const own = this.client.idle ? this.client.idle().length : 0;
    if (size > 1 && (navigator.hardwareConcurrency ?? 1) > 2) {
      this.spares ??= { dataset, clients: [] };
      for (const c of this.spares.clients) {
        if (this.warmed.get(c) === key) continue;
        this.warmed.set(c, key);
        jobs.push(c.request('experiment_part', fields));
      }
      while (this.spares.clients.length < size - own) {
        const c = new RunClient(this.makeWorker(), { onSnapshot: () => {}, onError: () => {}, onFatal: () => {} });
        this.spares.clients.push(c);
        this.warmed.set(c, key);
        jobs.push((async () => {
          const data = await builtBytes(dataset);
          const module = await this.wasmModule;
          return c.request('experiment_part', { ...fields, data, ...(module ? { wasm_module: module } : {}) }, Object.values(data).map((a) => a.buffer));
        })());
      }
    }
    const t0 = performance.now();
    this.warming = Promise.allSettled(jobs).then(() => ({ ms: performance.now() - t0 }));
  }

  // The pool's workers started ahead (warmSweep), ended when the lesson no longer needs them.
  dropSpares() {
    for (const c of this.spares?.clients ?? []) c.terminate();
    this.spares = null;
  }

  // The core's message names the option it refuses: show it next to that field.
  coreError(e) {
    const message = e.message ?? String(e);
    const m = /option '?([a-z_]+)'?/.exec(message) ?? (/^model spec/.test(message) ? [, 'model'] : null);
    const key = m && PROP[m[1]] ? (e.side === 'b' ? `b.${m[1]}` : m[1]) : null;
    if (!(key && this.form.error(key, message))) this.banner(message);
    this.setStatus(`Not running: ${message}`);
  }

  onSnapshot(s) {
    this.history.add(s);
    this.playing = s.playing;
    this.rate = s.steps_per_s;
    this.scheduleRender();
  }

  // A lesson's run: back to step 0 with the lesson's settings, then n steps (evaluated where
  // eval_every says); resolves with what the result reads.
  async runFromZero(n) {
    if (!this.client) throw new Error('nothing can train: the simulation module is missing');
    await this.reset();
    if (!this.live()) throw new Error('the networks could not be built (see the message above)');
    this.setStatus(`Running ${n} steps...`);
    await this.client.request('step', { n });
    this.render();
    this.setStatus(`Ran ${n} steps. Paused.`);
    return { history: this.history, ...this.viewModel() };
  }

  scheduleRender() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  // Training requests need a run: none before `ready` or after a failed init.
  live() {
    return this.client && this.info.a;
  }

  play() {
    // Pressed before the networks are built: start as soon as they are.
    if (this.client && !this.live()) {
      this.playWhenReady = true;
      this.setStatus('Building the networks; training starts when they are ready...');
      return;
    }
    if (!this.live() || this.playing) return;
    // On a phone the guide (about 480 px) would keep the first chart below the fold: the first
    // Play folds it to its title (its button unfolds it; the run's result unfolds it again).
    if (!this.guideFolded && matchMedia('(max-width: 900px)').matches) {
      this.guideFolded = true;
      this.foldGuide(true);
    }
    this.playing = true;
    this.client.post('play', { steps_per_s: SPEED[this.state.speed] });
    this.showPlaying();
  }

  pause() {
    if (!this.client || !this.playing) {
      this.playWhenReady = false;
      return;
    }
    this.playing = false;
    // Settled once the client's reply (the snapshot at the step both sides stopped at) has come: the
    // steps in flight at the press (with two workers, up to a chunk) arrive before it.
    this.paused = this.client.request('pause').then(() => {}, (e) => e.stopped || this.coreError({ type: 'error', request: 'pause', side: e.side, message: e.message }));
    this.showPlaying();
  }

  step(n) {
    if (!this.live()) return;
    this.playing = false;
    this.client.post('step', { n });
    this.showPlaying();
  }

  // One of the core's experiments, run by the worker on the lesson's dataset: Fashion-MNIST when
  // the page trains on it, else MNIST (its files sent along unless the run already trains on
  // them); the networks pause meanwhile.
  // steps: 0 for the experiment's own length (the tests run shortened sweeps).
  // A sweep the core can split (its list entry has units) runs on a pool of workers, one per
  // core (pool.js), and onPart(tables so far) fills its chart in as each unit ends; with one
  // core (or workers=1) it runs in the run's worker.
  async runExperiment(name, onProgress, steps = 0, onPart = () => {}) {
    if (!this.client) throw new Error('Nothing can run: the simulation module is missing.');
    this.pause();
    const units = this.experiments.list.find((e) => e.name === name)?.units ?? 0;
    const size = Math.min(this.poolSize(), units);
    const dataset = experimentDataset(this.state.dataset);
    const onData = this.state.dataset === dataset && this.live();
    // What the status says until the experiment ends (a snapshot of the paused networks, such as
    // the pause's, would say "Paused." meanwhile).
    this.experimentStatus = `Running the experiment "${name}"${dataset === 'fashion' ? ' on Fashion-MNIST' : ''}${size > 1 ? ` in ${size} workers` : ''}...`;
    this.setStatus(this.experimentStatus);
    let finished = false;
    try {
      if (size > 1) {
        // The page's own workers take parts too (PairRunClient.idle: the pair's workers), once no chunk
        // of the pair is in flight (a step request is stopped too, or the sides would part).
        const client = this.client;
        await this.paused;
        if (client.idle) await client.request('pause').catch(() => {});
        // A new simulation started meanwhile (its workers are not the ones just paused; a warm-up
        // of the sweep queued ahead of the pause makes this wait long enough to see it).
        if (this.client !== client) throw new Error('the training worker was ended (a new run started)');
        // pool.js is a chunk fetched when a sweep first runs (not part of the page's first load).
        const { runSweep } = await (this.poolCode ??= import('./pool.js'));
        const data = await builtBytes(dataset);
        const wasmModule = await this.wasmModule;
        // Again after the waits: the page's workers, ended meanwhile, would never answer a part.
        if (this.client !== client) throw new Error('the training worker was ended (a new run started)');
        // Workers started ahead for this lesson's sweep (warmSweep) take parts before new ones.
        const spare = this.spares?.dataset === dataset ? this.spares.clients : [];
        if (this.spares?.dataset !== dataset) this.dropSpares();
        this.spares = null;
        const result = await runSweep({ idle: client.idle?.() ?? [], idleHasData: onData, spare,
          makeClient: (callbacks) => new RunClient(this.makeWorker(), callbacks), size, name, units, seed: this.state.seed,
          steps, dataset, data, wasmModule, onProgress, onPart });
        finished = true;
        return result;
      }
      const data = onData ? undefined : await builtBytes(dataset);
      const result = await this.client.request('experiment', { name, seed: this.state.seed, steps, dataset, data }, [], onProgress);
      finished = true;
      return result;
    } finally {
      this.experimentStatus = null;
      // A failed experiment says so (its message goes to the caller: the experiment's box).
      this.setStatus(finished ? `Experiment "${name}" done. Paused.` : `Experiment "${name}" did not finish. Paused.`);
    }
  }

  // The page's API for an experiment over many seeds: window.bnlab.experiment('landscape',
  // {seeds: '1-3'}) runs the seeds one after another in the run's worker and resolves to
  // the core's summary over them (per figure mean, sd and 95% t-interval, per claim its verdict)
  // and each seed's result (wasm/PROTOCOL.md, `experiment` with `seeds`). dataset: 'mnist' or
  // 'fashion' (the page's subset of Fashion-MNIST, fetched if the page does not train on it).
  async experiment(name, { seeds, steps = 0, dataset = 'mnist', onProgress = () => {} } = {}) {
    if (!this.client) throw new Error('Nothing can run: the simulation module is missing.');
    // The core refuses a dataset the experiments do not train on (builtBytes has none to send).
    this.pause();
    this.setStatus(`Running the experiment "${name}" over seeds ${seeds}${dataset === 'fashion' ? ' on Fashion-MNIST' : ''}...`);
    try {
      const data = this.state.dataset === dataset && this.live() ? undefined : await builtBytes(dataset);
      return await this.client.request('experiment', { name, seeds, steps, dataset, data }, [], onProgress);
    } finally {
      this.setStatus(`Experiment "${name}" done. Paused.`);
    }
  }

  // Workers for a sweep: one per logical core the browser reports (the page itself is idle
  // meanwhile); one when the workers setting says 1.
  poolSize() {
    return this.state.workers === '1' ? 1 : Math.max(1, navigator.hardwareConcurrency ?? 1);
  }

  // Back to step 0, paused.
  reset() {
    this.pause();
    this.playWhenReady = false;
    return this.init();
  }

  // --- State changes ---------------------------------------------------------------------------

  setOption(name, value, side) {
    const prop = PROP[name];
    if (side === 'b') {
      if (value === undefined || value === this.state[name]) delete this.state.b[name];
      else this.state.b[name] = value;
    } else this.state[name] = value;
    this.saveUrl();
    if (prop.scope === 'ui') {
      if (name === 'compare') {
        this.form.show(this.state);
        this.resetViews();
        this.init();
      }
      // How often to test and probe: the worker's settings, taking effect without a restart.
      if ((name === 'eval_every' || name === 'probe_every') && this.live()) {
        const { eval_every, heavy_every } = this.settings();
        this.client.request('settings', { settings: { eval_every, heavy_every } }).catch((e) => this.coreError(e));
      }
      if (name === 'speed' && this.playing) this.client.post('play', { steps_per_s: SPEED[value] });
      if (name === 'workers' && this.client) this.restartClient();
      this.showViewControls();
      this.render();
      return;
    }
    this.idx.show(this.state.dataset === 'idx');
    this.resetViews();
    if (this.state.dataset === 'idx' && !this.idx.complete()) {
      this.openSettings();
      this.setStatus('Choose your four IDX files (in Settings) to train on them.');
      return;
    }
    this.init();
  }

  applyState(state) {
    this.state = state;
    this.form.show(state);
    this.showViewControls();
    this.saveUrl();
    this.idx.show(state.dataset === 'idx');
    this.resetViews();
    return this.init();
  }

  saveUrl() {
    const q = toQuery(this.state);
    history.replaceState(null, '', q ? `?${q}` : location.pathname);
  }

  // Each refused value of the link is shown next to its field, and all of them in the banner.
  showUrlErrors(errors) {
    for (const [key, message] of Object.entries(errors)) if (key && !this.form.error(key, message)) this.viewError(key, message);
    if (Object.keys(errors).some((k) => k && PROP[k.replace(/^b\./, '')]?.scope !== 'ui')) this.openSettings();
    if (Object.keys(errors).length) {
      this.banner(`Some settings of the link were refused and left at their defaults: ${Object.values(errors).join('; ')}.`, 'url');
    }
  }

  viewError(key, message) {
    if (!['layer', 'channel', 'image', 'net', 'speed', 'lesson', 'panels', 'embed'].includes(key)) return false;
    $('err-view').textContent = message;
    return true;
  }

  // --- Rendering -------------------------------------------------------------------------------

  labels() {
    return { a: this.state.compare ? `A (${sideLabel(this.state, 'a')})` : 'A', b: `B (${sideLabel(this.state, 'b')})` };
  }

  viewModel() {
    const classes = Object.fromEntries(Object.entries(this.info).map(([s, i]) => [s, i.dataset?.class_names]));
    const sides = this.state.compare ? ['a', 'b'] : ['a'];
    // The sides that have the chosen layer as a normalizer (before the model is known: those
    // whose norm is not "none"); panels of one normalizer show only these.
    const normSides = sides.filter((s) => (this.info[s]?.model
      ? this.info[s].model.layers.some((l) => l.name === this.state.layer && isNormalizer(l))
      : sideConfig(this.state, s).norm !== 'none'));
    return { sides, normSides, labels: this.labels(), layer: this.state.layer, channel: this.state.channel, classes,
      dataset: this.state.dataset, ...this.inspect.view() };
  }

  resetViews() {
    const view = this.viewModel();
    for (const p of this.panels) p.reset(view);
    if (!this.history.sides.a) this.timeline.reset();
    this.strip.reset(view, this.info);
    $('diff-line').textContent = diffLine(this.state);
    $('start-setting').textContent = startSetting(this.state);
    $('start-result').hidden = true;
    this.showPanels();
  }

  // The single selection every panel reads: layer, channel, image (any of them).
  select(patch) {
    for (const [name, id] of [['net', 'f-net'], ['layer', 'f-layer'], ['channel', 'f-channel'], ['image', 'f-image']]) {
      if (patch[name] === undefined || patch[name] === this.state[name]) continue;
      $(id).value = patch[name];
      $(id).dispatchEvent(new Event('change'));
    }
  }

  render() {
    this.frame = null;
    if (this.panels.some((p) => p.el.hidden !== !this.shouldShow(p))) this.showPanels();
    // The test image is the feature maps' and the batch-mates' (web/src/inspect.js).
    $('image-control').hidden = ['features', 'batchmates'].every((id) => this.panels.find((p) => p.id === id).el.hidden);
    // The network choice: with two networks, for the inspector and the batch-mates.
    $('net-control').hidden = !this.state.compare || ['inspector', 'batchmates'].every((id) => this.panels.find((p) => p.id === id).el.hidden);
    const view = this.viewModel();
    this.timeline.update(this.history);
    const past = this.timeline.step === null ? this.history : historyAt(this.history, this.timeline.step);
    for (const p of this.panels) if (p.onScreen && !p.el.hidden) p.update(REPLAYED.includes(p.id) ? past : this.history, view);
    this.strip.update(past);
    this.showStartResult(view);
    this.showCounters();
  }

  // The first screen's result, once both networks were evaluated at step 300 or later.
  showStartResult(view) {
    const el = $('start-result');
    if (this.state.lesson || view.sides.length < 2) return;
    const evaluated = view.sides.map((s) => this.history.sides[s]?.evals.at(-1)?.step ?? 0);
    if (Math.min(...evaluated) < START_STEPS || evaluated[0] === Number(el.dataset.step)) return;
    el.dataset.step = String(evaluated[0]);
    el.replaceChildren(...startResult(this.history, view));
    el.hidden = false;
    this.foldGuide(false);
  }

  showCounters() {
    const sides = this.viewModel().sides.filter((s) => this.history.sides[s]?.last);
    if (!sides.length) return;
    const last = (s) => this.history.sides[s].last;
    const per = (f) => {
      const vals = sides.map((s) => f(s));
      return vals.every((v) => v === vals[0]) ? vals[0] : sides.map((s, i) => `${s.toUpperCase()} ${vals[i]}`).join(' / ');
    };
    $('c-step').textContent = per((s) => last(s).step);
    $('c-epoch').textContent = per((s) => last(s).epoch.toFixed(2));
    $('c-examples').textContent = per((s) => (last(s).step * (this.info[s]?.config?.batch_size ?? sideConfig(this.state, s).batch_size)).toLocaleString('en'));
    $('c-rate').textContent = this.playing && this.rate ? this.rate.toFixed(0) : '-';
    const words = sides.map((s) => {
      const d = last(s).diverged_at;
      return d >= 0 ? `${this.labels()[s]}: ${last(s).status}.${sides.length > 1 ? ' The other network keeps training.' : ''}` : '';
    }).filter(Boolean);
    const workers = this.client?.workers === 2 ? 'two workers, one per network' : 'one worker';
    this.setStatus(words.join(' ') || this.experimentStatus || (this.playing ? `Training (${workers})...` : 'Paused.'));
    this.showPlaying();
  }

  showPlaying() {
    const b = $('play');
    b.textContent = this.playing ? 'Pause' : 'Play';
    b.setAttribute('aria-pressed', String(this.playing));
  }

  setStatus(text) {
    if ($('status').textContent !== text) $('status').textContent = text;
  }

  // Messages are text, never HTML: a URL cannot inject markup. One line per topic ('url',
  // 'sim'); an empty text removes that topic's line.
  banner(text, topic = 'sim') {
    (this.messages ??= {})[topic] = text;
    const lines = Object.values(this.messages).filter(Boolean);
    $('banner').textContent = lines.join('\n');
    $('banner').hidden = !lines.length;
  }

  // Chosen for the embed (if embedded) and, for the panels of measurements the core may not take
  // yet, carried by a snapshot.
  shouldShow(p) {
    return this.panelChosen(p.id) && p.available(this.history);
  }

  // Whether the page shows panel `id` once it has data (an embed shows only the panels it names).
  panelChosen(id) {
    const chosen = this.state.panels ? this.state.panels.split(',') : null;
    return !(this.state.embed && chosen) || chosen.includes(id);
  }

  showPanels() {
    const chosen = this.state.panels ? this.state.panels.split(',') : null;
    const lesson = this.lessonEl(this.state.lesson);
    const hot = lesson?.dataset.panels.split(',') ?? [];
    const first = this.state.embed && chosen ? chosen : lesson ? hot : START_PANELS;
    // The layer/channel/image choice matters only to some panels; embedded without them, it hides.
    $('panels').querySelector('.view-controls').hidden = Boolean(this.state.embed && chosen &&
      !chosen.some((id) => ['bnstats', 'histogram', 'gammabeta', 'ics', 'features', 'inspector', 'batchmates'].includes(id)));
    for (const p of this.panels) {
      p.el.hidden = !this.shouldShow(p);
      p.el.classList.toggle('highlight', hot.includes(p.id));
      // A lesson's panels (or the first screen's) come first, in their order.
      p.el.style.order = first.includes(p.id) ? String(first.indexOf(p.id)) : String(first.length + 1);
    }
  }

  fillLayers() {
    const sel = $('f-layer');
    const layers = Object.values(this.info).flatMap((info) => info.model?.layers ?? []);
    const norms = [...new Set(layers.filter(isNormalizer).map((l) => l.name))];
    const all = norms.length ? norms : [...new Set(layers.map((l) => l.name))];
    if (!all.includes(this.state.layer)) all.unshift(this.state.layer);
    sel.replaceChildren(...all.map((n) => new Option(n, n, false, n === this.state.layer)));
  }

  showViewControls() {
    $('f-layer').value = this.state.layer;
    $('f-channel').value = this.state.channel;
    $('f-image').value = this.state.image;
    $('f-net').value = this.state.net;
    $('f-speed').value = this.state.speed;
  }

  // --- Wiring ----------------------------------------------------------------------------------

  wireToolbar() {
    // The guide and the drawer sit below the sticky toolbar, whatever its height (it wraps on a phone).
    const bar = document.querySelector('.toolbar');
    new ResizeObserver(() => document.documentElement.style.setProperty('--toolbar-h', `${bar.offsetHeight}px`)).observe(bar);
    $('play').onclick = () => (this.playing ? this.pause() : this.play());
    $('step1').onclick = () => this.step(1);
    $('step10').onclick = () => this.step(10);
    $('reset').onclick = () => this.reset();
    const speed = $('f-speed');
    for (const c of PROP.speed.choices) speed.append(new Option(c === 'max' ? 'fastest' : `${c} steps/s`, c));
    speed.onchange = () => this.setOption('speed', speed.value, 'a');
    document.addEventListener('keydown', (e) => {
      // Typing in a field is not a shortcut; neither is Space on a button (it presses it).
      if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest('input, select, textarea, dialog, [contenteditable]')) return;
      if (e.key === ' ' && e.target.closest('button, summary, a')) return;
      const action = { ' ': () => $('play').click(), s: () => this.step(1), t: () => this.step(10), r: () => this.reset(),
        c: () => { this.setOption('compare', !this.state.compare, 'a'); } }[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    });
  }

  // The inspected network may name its normalizers otherwise (brn1 for bn1): the layer at the
  // chosen one's place among the normalizers of network `from`, when it has none of that name.
  netLayer(from) {
    const norms = (s) => (this.info[s]?.model?.layers ?? []).filter(isNormalizer).map((l) => l.name);
    const to = norms(this.inspect.side()), at = norms(from).indexOf(this.state.layer);
    return to.length && !to.includes(this.state.layer) ? to[Math.max(0, Math.min(at, to.length - 1))] : null;
  }

  // The channels of a layer of the network the inspector follows, else of A (Infinity while unknown).
  channelsOf(layer) {
    const find = (s) => (this.info[s]?.model?.layers ?? []).find((l) => l.name === layer);
    return (find(this.inspect.side()) ?? find('a'))?.output_shape[1] ?? Infinity;
  }

  wireViewControls() {
    const bind = (id, name) => {
      $(id).onchange = () => {
        const r = PROP[name].type === 'int' ? fromQuery(`${name}=${encodeURIComponent($(id).value)}`) : { state: { [name]: $(id).value }, errors: {} };
        const channels = this.channelsOf(name === 'layer' ? r.state.layer : this.state.layer);
        if (name === 'channel' && !r.errors.channel && r.state.channel >= channels) {
          r.errors.channel = `channel: ${this.state.layer} has ${channels} channels, 0 to ${channels - 1}`;
        }
        const tests = this.info.a?.dataset?.test_size ?? Infinity;
        if (name === 'image' && !r.errors.image && r.state.image >= tests) {
          r.errors.image = `test image: the test set has ${tests} images, 0 to ${tests - 1}`;
        }
        $('err-view').textContent = r.errors[name] ?? '';
        $(id).setAttribute('aria-invalid', String(Boolean(r.errors[name])));
        if (r.errors[name]) return;
        this.state[name] = r.state[name];
        if (name === 'layer' && this.state.channel >= channels) $('f-channel').value = this.state.channel = 0;
        this.saveUrl();
        this.sendMeasureConfig();
        this.resetViews();
        this.render();
      };
    };
    bind('f-layer', 'layer');
    $('f-layer').addEventListener('change', () => this.strip.select(this.state.layer));
    bind('f-channel', 'channel');
    bind('f-image', 'image');
    // Which network the inspector and the batch-mates follow (inspect.js).
    $('f-net').onchange = () => {
      const from = this.inspect.side();
      this.state.net = $('f-net').value === 'b' ? 'b' : 'a';
      this.saveUrl();
      const layer = this.netLayer(from);
      if (layer) this.select({ layer });
      this.inspect.choose({});
      this.resetViews();
      this.render();
    };
    // A misclassified image chosen in its panel becomes the feature maps' image.
    $('panel-grid').addEventListener('bnlab-image', (e) => {
      $('f-image').value = e.detail.image;
      $('f-image').dispatchEvent(new Event('change'));
      this.panels.find((p) => p.id === 'features').el.scrollIntoView({ block: 'nearest' });
    });
  }

  lessonEl(id) {
    return id ? document.getElementById(`lesson-${id}`) : null;
  }

  wireLessons() {
    const sel = $('lesson-select');
    sel.append(new Option('Choose a lesson...', ''));
    for (const a of document.querySelectorAll('article.lesson')) sel.append(new Option(a.dataset.title, a.id.slice('lesson-'.length)));
    sel.value = this.lessonEl(this.state.lesson) ? this.state.lesson : '';
    // The chosen lesson docks beside its panels in place of the "start here" text.
    const show = () => {
      const id = this.lessonEl(this.state.lesson) ? this.state.lesson : '';
      for (const a of document.querySelectorAll('article.lesson')) a.hidden = a.id !== `lesson-${id}`;
      $('lesson-dock').hidden = !id;
      $('start-here').hidden = Boolean(id);
    };
    $('start-toggle').onclick = () => this.foldGuide(!$('start-body').hidden);
    $('start-small-lr').onclick = () => {
      sel.value = 'convergence';
      sel.dispatchEvent(new Event('change'));
    };
    show();
    // A lesson sets up its experiment; leaving the lessons keeps the current run.
    sel.onchange = () => {
      if (!sel.value) {
        this.state.lesson = '';
        this.saveUrl();
        this.showPanels();
      } else {
        const { state } = fromQuery(this.lessonEl(sel.value).dataset.preset);
        Object.assign(state, { lesson: sel.value, embed: this.state.embed, panels: this.state.panels, speed: this.state.speed });
        this.applyState(state);
      }
      show();
    };
  }

  foldGuide(fold) {
    $('start-body').hidden = fold;
    $('start-toggle').textContent = fold ? 'Show' : 'Hide';
    $('start-toggle').setAttribute('aria-expanded', String(!fold));
  }

  embed() {
    runEmbedded({ isPlaying: () => this.playing, pause: () => this.pause(), play: () => this.play() }, this.state.background);
  }

  // Settings live in a drawer, closed until asked for (or until a value of the link is refused).
  wireSettingsDrawer() {
    const toggle = $('settings-toggle');
    const open = (yes) => {
      $('settings').hidden = !yes;
      toggle.setAttribute('aria-expanded', String(yes));
      document.body.classList.toggle('drawer-open', yes);
    };
    toggle.onclick = () => {
      open($('settings').hidden);
      if (!$('settings').hidden) $('settings-title').scrollIntoView({ block: 'nearest' });
    };
    $('settings-close').onclick = () => {
      open(false);
      toggle.focus();
    };
    this.openSettings = () => open(true);
  }
}


// What the first screen runs, in words: the setting that makes the point, stated as such.
function startSetting(state) {
  const a = sideConfig(state, 'a'), b = sideConfig(state, 'b');
  if (!state.compare) return `One network (${a.norm === 'none' ? 'no normalization' : `${a.norm} norm`}) at learning rate ${a.lr}.`;
  if (a.norm !== 'none' && b.norm === 'none' && a.lr === b.lr) {
    return `Network A (blue) has Batch Normalization after each convolution and after the hidden fully connected layer; B (vermillion) is the same network without it. ` +
      `Both start from the same weights and see the same batches, at learning rate ${a.lr}${a.lr >= 0.1 && a.lr < 0.2 ? ': a rate at which the network without BN learns more slowly and less steadily (at 0.05 both train alike)' : a.lr >= 0.2 ? ': a rate at which the network without BN does not train' : ''}.`;
  }
  return `A (blue) and B (vermillion) start from the same weights and see the same batches; they differ in: ${diffLine(state).split(' - ').slice(1).join('; ')}.`;
}
