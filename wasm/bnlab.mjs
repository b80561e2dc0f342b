// BN Lab's core in JavaScript (node and browsers): documented in wasm/README.md.
//
//   const lab = await loadBnlab();
//   const data = await lab.loadData({ dataset: 'mnist' }, mnistFiles);
//   const side = lab.createSide({ norm: 'batch', lr: 0.05, seed: 1 }, data);
//   const { loss } = side.step(100);
//   side.dispose(); data.dispose();
//
// Everything here adapts the Embind classes of wasm/bindings.cpp: typed option values, gzip,
// object lifetimes, and the sides of a comparison with their data (Run). The maths, one side's
// instruments (core/measure/side.h) and the run loop (core/train/run.h) are in the core.
//
// One name per concept, as in the core: a Side is one network with its instruments, a Run one
// or two sides trained in lockstep on shared data. The names before them stay as aliases for
// code written against them: createSimulation, restoreSimulation, Simulation (= Side) and
// Session (= Run).
import createBnlabCore from './bnlab_core.mjs';

const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

// Loads the WebAssembly core. In node the .wasm beside bnlab_core.mjs is read from disk (the
// Emscripten 3.1.6 loader would try to fetch() a path); browsers fetch it next to the module.
// wasmModule: a WebAssembly.Module of bnlab_core.wasm compiled elsewhere (the page compiles it
// once for all its workers, which then neither download nor compile it again).
export async function loadBnlab({ wasmBinary, wasmModule } = {}) {
  if (wasmModule) {
    const instantiateWasm = (imports, receive) => {
      WebAssembly.instantiate(wasmModule, imports).then((instance) => receive(instance, wasmModule));
      return {};
    };
    return new Bnlab(checkErrors(await createBnlabCore({ instantiateWasm })));
  }
  if (!wasmBinary && isNode) {
    const { readFile } = await import('node:fs/promises');
    wasmBinary = await readFile(new URL('./bnlab_core.wasm', import.meta.url));
  }
  return new Bnlab(checkErrors(await createBnlabCore(wasmBinary ? { wasmBinary } : {})));
}

// The core's bound functions report a failure by leaving a message for takeError() and
// returning (bindings.cpp says why they do not throw themselves): every function, class function
// and method is wrapped here to throw it, so callers see an Error with the core's message.
// New classes and free functions of bindings.cpp are listed here too; methods are found.
const CORE_CLASSES = ['Data', 'Side', 'Run'];
const CORE_FUNCTIONS = ['options', 'presets', 'layerKinds', 'describeModel', 'dataKey', 'stateConfig', 'referenceBench',
  'referenceProfile', 'experiments', 'runExperiment', 'runExperimentPart', 'combineExperiment',
  'parseSeeds', 'summarizeSeeds', 'accuracyTargets', 'checkExperimentDataset'];

function checkErrors(core) {
  const thrower = (fn) => function checked(...args) {
    const result = fn.apply(this, args);
    const message = core.takeError();
    if (message) throw new Error(message);
    return result;
  };
  const wrapAll = (target, names) => {
    for (const name of names) if (typeof target[name] === 'function') target[name] = thrower(target[name]);
  };
  wrapAll(core, CORE_FUNCTIONS);
  for (const name of CORE_CLASSES) {
    const cls = core[name];
    const own = (o, skip) => Object.getOwnPropertyNames(o).filter((k) => !skip.includes(k) && typeof o[k] === 'function');
    wrapAll(cls.prototype, own(cls.prototype, ['constructor', 'delete', 'clone', 'isAliasOf', 'isDeleted', 'deleteLater']));
    wrapAll(cls, own(cls, ['prototype', 'length', 'name']));
  }
  core.checkConstructed = (handle) => {
    const message = core.takeError();
    if (message) throw new Error(message);  // the handle holds no object: nothing to delete
    return handle;
  };
  return core;
}

// An option's text form (as the core's get_option writes it) as a JavaScript value. The core
// writes a float32 as the shortest text that reads back to it ("0.05"), so Number() of it is the
// value a learner typed, and String() hands it back to the core unchanged.
function typed(option, text) {
  if (option.type === 'float' || option.type === 'int') {
    // A number option may also take a word (bn_momentum: 'cumulative'), which the core hands back
    // as that word: it stays one (Number() made it NaN, and the page then refused its own config).
    const n = Number(text);
    return Number.isNaN(n) ? text : n;
  }
  if (option.type === 'bool') return text === 'true';
  return text;
}

// The datasets whose data comes as IDX files (the others the core generates), and where
// experiments find MNIST or Fashion-MNIST in the module's file system.
const FILE_DATASETS = ['mnist', 'fashion', 'idx'];
const DATA_DIR = '/data';

const GZIP_MAGIC = [0x1f, 0x8b];

// A file's bytes, inflated when they start as gzip does. A damaged .gz says so (browsers report
// a failed inflate as "Failed to fetch", which sent people looking for a network problem).
async function bytesOf(file, part) {
  const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) return bytes;
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`the ${part.replace('_', ' ')} file is not valid gzip: it starts like a .gz file but cannot ` +
                    `be decompressed (${e?.message ?? e}); decompress it yourself or choose the original file`);
  }
}

export class Bnlab {
  constructor(core) {
    this.core = core;
    this.optionTable = core.options().map((o) => ({ ...o, default: typed(o, o.default) }));
    this.optionByName = new Map(this.optionTable.map((o) => [o.name, o]));
  }

  // [{name, type, help, choices, min, max, default}]: the CLI's options.
  options() { return this.optionTable; }
  // [{name, spec, description}]: the model presets.
  presets() { return this.core.presets(); }
  // [{kind, role, what}]: every kind of layer a model can hold (core/layers/kinds.h).
  layerKinds() { return JSON.parse(this.core.layerKinds()); }
  // Which data a config trains on (the core's data_key): configs with the same key share one
  // loaded Data.
  dataKey(config) { return this.core.dataKey(config); }
  // The model a config builds for examples of shape [C, H, W] with `classes` classes, described
  // without data or training: the same object as side.model (core/io/describe.h).
  describeModel(config, imageShape = [1, 28, 28], classes = 10) {
    const [c, h, w] = imageShape;
    return JSON.parse(this.core.describeModel(config, c, h, w, classes));
  }
  // Every option at its default value.
  defaults() { return Object.fromEntries(this.optionTable.map((o) => [o.name, o.default])); }

  // The train/test data a config needs. dataset 'mnist', 'fashion' or 'idx' reads files =
  // {train_images, train_labels, test_images, test_labels} (IDX bytes, raw or gzip, as
  // ArrayBuffer or Uint8Array; for 'fashion' the core names the ten classes); synthetic datasets
  // are generated by the core from config.seed.
  async loadData(config, files) {
    const dataset = config.dataset ?? this.optionByName.get('dataset').default;
    if (!FILE_DATASETS.includes(dataset)) return new Data(this.core.Data.generated(config));
    const names = ['train_images', 'train_labels', 'test_images', 'test_labels'];
    const missing = names.filter((n) => !files?.[n]);
    if (missing.length) throw new Error(`dataset '${dataset}' needs the IDX files ${missing.join(', ')}`);
    const [a, b, c, d] = await Promise.all(names.map((n) => bytesOf(files[n], n)));
    return new Data(this.core.Data.fromIdx(a, b, c, d, dataset));
  }

  // One side, a network training on data (from loadData) with its instruments. Throws an Error
  // with the core's message, naming the option, when the config is invalid.
  createSide(config, data) {
    return new Side(this, this.core.checkConstructed(new this.core.Side(config, data.handle)));
  }
  // The name before Side (kept for code written against it).
  createSimulation(config, data) { return this.createSide(config, data); }

  // The config a state file (saveState(), the CLI's --save) was saved with, typed.
  stateConfig(json) { return this.typedConfig(this.core.stateConfig(json)); }
  typedConfig(text) {
    return Object.fromEntries(this.optionTable.map((o) => [o.name, typed(o, text[o.name])]));
  }

  // NUMERICS.md 8's benchmark of variant 'bn' or 'nobn' (blocks for ~10 s; quick: ~1 s):
  // {variant, train_steps_per_s, train_steps_per_s_runs, eval_images_per_s, loss_step1,
  //  loss_after_warmup, loss_final, eval_logit_sum, warmup_steps, timed_steps, repeats,
  //  train_cpu_ms_per_step}; cpuClock() returns CPU seconds (node: process.cpuUsage), without
  //  it (a browser has no CPU clock) train_cpu_ms_per_step is null.
  referenceBench(variant, { quick = false, cpuClock } = {}) {
    if (variant !== 'bn' && variant !== 'nobn') throw new Error(`variant must be 'bn' or 'nobn', got '${variant}'`);
    if (cpuClock !== undefined && typeof cpuClock !== 'function') throw new Error('cpuClock must be a function returning CPU seconds');
    return this.core.referenceBench(variant === 'bn', quick, cpuClock);
  }

  // The same step taken apart, each part timed (core/measure/refbench.h StepProfile):
  // {variant, step_ms, trainer_step_ms, parts: [{part, kind, ms}]}, the mean over `steps` steps.
  // cpuClock: as in referenceBench, times the parts by CPU time (clock: 'cpu') instead of wall.
  referenceProfile(variant, { steps = 200, cpuClock } = {}) {
    if (variant !== 'bn' && variant !== 'nobn') throw new Error(`variant must be 'bn' or 'nobn', got '${variant}'`);
    if (cpuClock !== undefined && typeof cpuClock !== 'function') throw new Error('cpuClock must be a function returning CPU seconds');
    return this.core.referenceProfile(variant === 'bn', steps, cpuClock);
  }

  // The run a state file describes, continuing exactly where it stopped (its config, weights,
  // optimizer and position in the data); data must be the data of that config.
  restoreSide(json, data) {
    const side = this.createSide(this.stateConfig(json), data);
    try {
      side.loadState(json);
    } catch (e) {
      side.dispose();
      throw e;
    }
    return side;
  }
  // The name before Side (kept for code written against it).
  restoreSimulation(json, data) { return this.restoreSide(json, data); }

  // [{name, title, description, default_steps}]: the experiments of NUMERICS.md.
  experiments() { return this.core.experiments(); }

  // {mnist: 0.9, fashion: 0.81}: the datasets the experiments train on, each with the accuracy a
  // run on the page aims at (core/experiments/targets.h page_target).
  accuracyTargets() { return this.core.accuracyTargets(); }

  // Runs an experiment to the end (it blocks: seconds to minutes; in the page, the worker runs
  // it). files: the IDX files of dataset ('mnist', or 'fashion' as `--dataset fashion` does),
  // which most experiments train on. onProgress(fraction) is called now and then. Returns
  // {summary: {...}, tables: [{name, columns, rows}]}, the figures and tables that
  // `bnlab experiment NAME` writes as summary.json and NAME.csv.
  //
  // seeds: '1-10' (or '1,4,9', '1-3,8') runs every seed in turn instead of `seed`, each a full
  // run, and returns {summary, seeds: [{seed, summary, tables}]}: the summary over the seeds
  // that `bnlab experiment NAME --seeds 1-10` writes (per figure mean, sd and 95% t-interval;
  // per claim of the literature the interval of the difference and the verdict), made by the
  // same core code from the same per-seed summaries.
  async runExperiment(name, { seed = 1, seeds, steps = 0, files, parsed, dataset = 'mnist', onProgress = () => {} } = {}) {
    await this.writeData(files, dataset, parsed);
    if (seeds !== undefined) return this.runSeeds(name, String(seeds), steps, dataset, onProgress);
    const r = this.core.runExperiment(name, seed, steps, DATA_DIR, dataset, onProgress);
    return { summary: JSON.parse(r.summary), tables: r.tables };
  }

  runSeeds(name, seedsText, steps, dataset, onProgress) {
    const list = this.core.parseSeeds(seedsText);
    const runs = [];
    list.forEach((seed, i) => {
      const r = this.core.runExperiment(name, seed, steps, DATA_DIR, dataset, (f) => onProgress((i + f) / list.length));
      // r.record: what `bnlab experiment NAME --seed S` writes as summary.json (output.cpp run_record).
      runs.push({ seed, summary: JSON.parse(r.record), tables: r.tables });
    });
    return { summary: JSON.parse(this.core.summarizeSeeds(JSON.stringify(runs.map((r) => r.summary)))), seeds: runs };
  }

  // Units [begin, end) of a sweep (experiments()[i].units > 0: its swept values), for a pool of
  // workers that runs a sweep in parts: [{name, columns, rows}] with those units' rows only.
  async runExperimentPart(name, { seed = 1, steps = 0, files, parsed, dataset = 'mnist', begin, end, onProgress = () => {} } = {}) {
    await this.writeData(files, dataset, parsed);
    return this.core.runExperimentPart(name, seed, steps, DATA_DIR, dataset, begin, end, onProgress);
  }

  // The parts' tables (in unit order) combined by the core, with the sweep's summary: what
  // runExperiment returns for the whole sweep, byte for byte.
  combineExperiment(name, { seed = 1, steps = 0, dataset = 'mnist', parts }) {
    const r = this.core.combineExperiment(name, seed, steps, dataset, JSON.stringify(parts ?? null));
    return { summary: JSON.parse(r.summary), tables: r.tables };
  }

  // The page's MNIST or Fashion-MNIST files into the module's file system, where the
  // experiments read them (under the names the build gives them, core/data/idx.h). The same files
  // object again (a worker's run files, for each part of a sweep) is not inflated and written
  // again.
  // parsed: a Data made from these very files (a worker's run's), which the experiment then
  // uses instead of parsing the files again (the core's keep_data; about 0.2 s of CPU in a
  // worker's first part of a sweep).
  async writeData(files, dataset, parsed) {
    if (!files) return;
    this.core.checkExperimentDataset(dataset);  // before anything is written
    if (this.written?.files !== files || this.written.dataset !== dataset) {
      this.written = null;
      if (!this.core.FS.analyzePath(DATA_DIR).exists) this.core.FS.mkdir(DATA_DIR);
      for (const part of ['train_images', 'train_labels', 'test_images', 'test_labels'])
        this.core.FS.writeFile(`${DATA_DIR}/${dataset}-${part.replace('_', '-')}.idx`, await bytesOf(files[part]));
      this.written = { files, dataset };
    }
    parsed?.handle.keepAs(dataset, DATA_DIR);
  }

  // {size: bytes of wasm memory (only grows), in_use: bytes allocated by the core}
  heap() { return { size: this.core.HEAP8.length, in_use: this.core.heapInUse() }; }
}

export class Data {
  constructor(handle) {
    this.handle = handle;
    this.info = handle.info();  // {name, train_size, test_size, num_classes, class_names, image_shape}
  }
  dispose() { this.handle.delete(); }
}

// One side (core/measure/side.h): a network training on its data, with its instruments.
export class Side {
  constructor(lab, handle) {
    this.lab = lab;
    this.handle = handle;
  }

  // Takes n steps (fewer if the run diverges): {first_step, loss, accuracy, lr} with one
  // Float32Array element per step taken; element i is step first_step + i.
  step(n = 1) { return this.handle.step(n); }
  // Test-set {loss, accuracy, count}; mode 'eval' (running statistics) or 'train' (each batch's
  // own statistics); maxExamples 0 is the whole test set.
  evaluate(mode = 'eval', maxExamples = 0) { return this.handle.evaluate(mode, maxExamples); }

  get stepCount() { return this.handle.stepCount(); }
  get epoch() { return this.handle.epoch(); }
  get status() { return this.handle.status(); }
  get divergedAt() { return this.handle.divergedAt(); }
  get diverged() { return this.handle.divergedAt() >= 0; }
  // Every option, typed.
  get config() { return this.lab.typedConfig(this.handle.config()); }
  // The core's model description (core/io/describe.h): {spec, input_shape, num_classes,
  // num_params, norm, placement, noisy, layers: [{name, kind, role, input_shape, output_shape,
  // params, settings}], description}
  get model() { return JSON.parse(this.handle.modelInfo()); }

  // The CLI's state JSON. loadState takes a state's weights, optimizer, running statistics and
  // position in the data, but keeps this side's config (lr, seed, ...); to continue a saved run
  // exactly, use lab.restoreSide(json, data), which takes its config too.
  saveState() { return this.handle.saveState(); }
  loadState(json) { this.handle.loadState(json); }

  // Changes options between two steps, keeping the weights, optimizer state, running statistics
  // and position in the data: the run goes on exactly as after saveState(), a new side
  // with the changed config and loadState() (lr, momentum, weight_decay, the schedule's options,
  // test_size, and the normalizers' bn_eps, bn_momentum, ghost_batch, r_max, d_max). Options
  // that change the model or the data throw ("option seed cannot change during a run (...): it
  // needs a reset"), and so do invalid values; then nothing has changed.
  setOptions(options) { this.handle.setOptions(options); }
  // The options of `options` with a new value that setOptions refuses ([]: it takes them all).
  optionsNeedingReset(options) { return this.handle.optionsNeedingReset(options); }

  // [{name, shape, kind: 'param' | 'grad' | 'buffer'}], and a copy of one: {shape, data}.
  tensorNames() { return this.handle.tensorNames(); }
  tensor(name) { return this.handle.tensor(name); }

  // The measurements of the last step (measure.h), as named entries {shape, data, step, ...}:
  //   <norm>.batch_mean, .batch_var, .running_mean, .running_var, .gamma, .beta   (C)
  //   hist.input, hist.output   (bins) fractions; lo, hi, layer, channel
  //   bands                     (activations, 5) percentiles 1/15/50/85/99; layers, unit
  //   grad_norm, weight_norm, update_ratio   (conv/fc layers); layers
  // capture: false skips the inspector's copy of the normalizers (setTrace) for this step.
  measure(capture = true) { return this.handle.measureStep(Boolean(capture)); }
  // Before the next step, on the batch it will use (a few steps' worth of work):
  //   ics.l2, ics.cosine                       (layers); layers
  //   landscape.loss, landscape.grad_change    (step sizes); etas, loss_min, loss_max,
  //                                            predictiveness, beta_smoothness
  measureHeavy() { return this.handle.measureHeavy(); }
  // Test image `image` through the network in eval mode (the running statistics, as at
  // inference), alone in its batch; entries {shape, data, step, ...}:
  //   features.image        (C, H, W) the image; index, label, prediction, confidence, or error
  //                          (why there are no maps: a diverged run, or BN without running
  //                          statistics after an fc layer, which cannot normalize one example)
  //   <norm>.features_in    (C, H, W) each normalizer's input, role 'before', block (1, 2, ...)
  //   <norm>.features_out   (C, H, W) its output, role 'after'
  //   <layer>.features_out  (C, H, W) a conv/fc layer's output where no normalizer follows it
  //                          (role 'output'); H = W = 1 after an fc layer
  // Blocks run from one conv/fc layer to the next; the last (the logits) has no maps.
  features(image = 0) { return this.handle.measureFeatures(image); }
  // The first maxImages test images the last evaluate('eval') got wrong, as one entry:
  // {shape: [K, C, H, W], data, step (of that evaluation, -1 before any), indices, predictions,
  // labels (K), wrong, examined}.
  misclassified(maxImages = 32) { return this.handle.misclassified(maxImages); }
  // Which channel the histograms follow, and so on (measure.h MeasureConfig).
  setMeasureConfig({ hist_norm = 0, hist_channel = 0, bins = 32, probe_size = 16, probe_unit = 0 } = {}) {
    this.handle.setMeasureConfig(hist_norm, hist_channel, bins, probe_size, probe_unit);
  }

  // The BN inspector (core/measure/trace.h). With setTrace(true), every measure() first copies
  // what each normalization layer used and made in the last step (input, xhat, output,
  // statistics, gamma and beta as the forward used them, running statistics after the update,
  // dy, dx, dgamma, dbeta; Renorm's r and d; noisy BN's draws). trace(layer, {n, c, h, w}) then
  // follows one unit of it through the layer's formulas: {layer, kind, step, shape, n, c, h, w,
  // over (in words), sample_begin/end, channel_begin/end, group, m, x, mean, var, eps, inv_std,
  // xhat, xhat_layer, gamma, beta, r, d, y, y_layer, has_eval, running_mean, running_var,
  // xhat_eval, y_eval, noisy, noise_scale, noise_shift, y_noisy, dy, dgamma, dbeta, mean_g,
  // mean_gx, term_g, term_mean, term_xhat, dx, dx_layer}. *_layer are the layer's own values.
  setTrace(on) { this.handle.setTrace(Boolean(on)); }
  trace(layer, { n = 0, c = 0, h = 0, w = 0 } = {}) { return this.handle.traceUnit(layer, n, c, h, w); }
  // Batch-mates: test image `image` among batchSize - 1 companions drawn at random from the
  // training set, `draws` times, in train mode, and once alone in eval mode, following unit
  // (c, h, w) of normalization layer `layer`. Changes nothing in the run (not even its
  // generators). {image, label, batch_size, layer, c, h, w, step, classes, eval: {y, probs,
  // prediction}, y, mean, var (Float32Array(draws)), probs (Float32Array(draws * classes)),
  // predictions (Int32Array(draws))}.
  whatIf({ image = 0, batchSize = 64, draws = 1, layer, c = 0, h = 0, w = 0 } = {}) {
    return this.handle.whatIf(image, batchSize, draws, String(layer ?? ''), c, h, w);
  }

  dispose() { this.handle.delete(); }
}

// One or two sides trained in lockstep on shared data by the core's run loop (core/train/run.h):
// the model of a side-by-side comparison, what a worker holds. Sides with the same dataset (and,
// for synthetic data, the same seed) share one copy.
export class Run {
  // configs: {a: config, b?: config}; files: the IDX files if a side uses MNIST.
  static async create(lab, configs, files) {
    const run = new Run(lab, files);
    try {
      await run.reset(configs);
    } catch (e) {
      run.dispose();
      throw e;
    }
    return run;
  }

  constructor(lab, files) {
    this.lab = lab;
    this.files = files;
    this.data = new Map();  // data key -> Data
    this.sides = {};        // 'a' | 'b' -> Side
    this.coreRun = null;    // the bound core Run over the sides, in the order of this.sides
  }

  // A new core Run over the current sides, whenever a side is replaced (it points at them). It
  // keeps nothing a live side needs: its schedule is set at each train(), and a heavy measurement
  // it made due at a side's step count is followed by that side's step (or the side diverged).
  attach() {
    this.coreRun?.delete();
    this.coreRun = new this.lab.core.Run();
    for (const side of Object.values(this.sides)) this.coreRun.add(side.handle);
  }

  dataKey(config) { return this.lab.dataKey(config); }

  // Rebuilds every side at step 0 from configs (keeping the data that is still used). Nothing
  // changes if a config is invalid.
  async reset(configs) {
    const fresh = {};
    try {
      for (const [side, config] of Object.entries(configs)) {
        const key = this.dataKey(config);
        if (!this.data.has(key)) this.data.set(key, await this.lab.loadData(config, this.files));
        fresh[side] = this.lab.createSide(config, this.data.get(key));
      }
    } catch (e) {
      for (const s of Object.values(fresh)) s.dispose();
      this.dropUnusedData(Object.values(this.sides));
      throw e;
    }
    for (const s of Object.values(this.sides)) s.dispose();
    this.sides = fresh;
    this.configs = configs;
    this.attach();
    this.dropUnusedData(Object.values(fresh));
  }

  // The Data a side trains on.
  dataOf(side) { return this.data.get(this.dataKey(this.sides[side].config)); }

  // Changes options of a side between two steps, keeping its weights, optimizer state and
  // position in the data: in place (Side.setOptions) when the core can; for the options it
  // refuses, the side is rebuilt from the changed config and given its saved state.
  reconfigure(side, options) {
    const old = this.sides[side];
    const config = { ...this.configs[side], ...options };
    if (old.optionsNeedingReset(options).length === 0) {
      old.setOptions(options);
      this.configs = { ...this.configs, [side]: config };
      return;
    }
    if (this.dataKey(config) !== this.dataKey(old.config))
      throw new Error(`set: the dataset of side '${side}' cannot change in place (use reset)`);
    const fresh = this.lab.createSide(config, this.dataOf(side));
    try {
      fresh.loadState(old.saveState());
    } catch (e) {
      fresh.dispose();
      throw new Error(`set: ${e.message} (an option that changes the model needs a reset)`);
    }
    old.dispose();
    this.sides[side] = fresh;
    this.configs = { ...this.configs, [side]: config };
    this.attach();
  }

  // Replaces a side by the run a state file describes (its config, weights, optimizer and
  // position in the data): the side continues exactly where the saved run stopped.
  async load(side, json) {
    const config = this.lab.stateConfig(json);
    const key = this.dataKey(config);
    if (!this.data.has(key)) this.data.set(key, await this.lab.loadData(config, this.files));
    let restored;
    try {
      restored = this.lab.restoreSide(json, this.data.get(key));
    } catch (e) {
      this.dropUnusedData(Object.values(this.sides));
      throw e;
    }
    this.sides[side]?.dispose();
    this.sides[side] = restored;
    this.configs = { ...this.configs, [side]: config };
    this.attach();
    this.dropUnusedData(Object.values(this.sides));
  }

  dropUnusedData(sides) {
    const used = new Set(sides.map((s) => this.dataKey(s.config)));
    for (const [key, data] of this.data)
      if (!used.has(key)) { data.dispose(); this.data.delete(key); }
  }

  // n lockstep steps of every side by the core's run loop (fewer once all have diverged; a side
  // that diverged stays where it stopped). What the core's schedule makes due on the way is
  // handed back: onHeavy(side) before a side's step after every heavyEvery-th (and before its
  // first), onStepped(side, evalDue, last) after each step a side took (evalDue: after its every
  // evalEvery-th; last: the call's last step). Returns {side: step result} (Side.step's).
  train(n, { evalEvery = 0, heavyEvery = 0, onHeavy = null, onStepped = null } = {}) {
    const names = Object.keys(this.sides);
    // A callback's exception must not unwind through the core's frames (bindings.cpp): the first
    // is kept, the later callbacks are skipped, and it is thrown once the core has returned.
    let failure = null;
    const call = (f) => (k, ...args) => {
      if (failure || !f) return;
      try { f(names[k], ...args); } catch (e) { failure = e; }
    };
    this.coreRun.setSchedule(evalEvery, heavyEvery);
    const results = this.coreRun.train(n, call(onHeavy), call(onStepped));
    if (failure) throw failure;
    return Object.fromEntries(names.map((s, k) => [s, results[k]]));
  }

  // n steps of every side, nothing else due on the way.
  step(n = 1) { return this.train(n); }

  dispose() {
    this.coreRun?.delete();
    this.coreRun = null;
    for (const s of Object.values(this.sides)) s.dispose();
    for (const data of this.data.values()) data.dispose();
    this.sides = {};
    this.data.clear();
  }
}

// The names before Side and Run (kept for code written against them).
export { Side as Simulation, Run as Session };
