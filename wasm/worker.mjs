// The training worker: wasm/PROTOCOL.md's messages over a Run of bnlab.mjs, whose sides the
// core's run loop trains (core/train/run.h: this worker says what to do when an evaluation or a
// measurement is due, the core says when).
//
// Training runs in chunks of about settings.chunk_ms; between chunks the worker yields to its
// event loop, so a pause or step request takes effect within one chunk. The yield is a
// MessageChannel message in browsers (setTimeout would be clamped to 4 ms) and setImmediate in
// node (whose MessagePort would run the next chunk before delivering the page's messages).
// Requests and chunks are serialized on one promise chain: a request is always handled between
// two steps, never inside one.
import { loadBnlab, Run } from './bnlab.mjs';

export const DEFAULT_SETTINGS = {
  snapshot_ms: 100, chunk_ms: 10, eval_every: 0, eval_examples: 1000, measure: true, heavy_every: 0, measure_config: {},
  features_image: -1, misclassified_max: 32, trace: null, replay: false,
};

// host: {post(message, transfer), listen(handler)}. In a browser Worker that is self; the node
// tests give worker_threads' parentPort.
export function serve(host) {
  let lab = null;
  let run = null;
  let settings = { ...DEFAULT_SETTINGS };
  // What the loop does: null (paused), {kind: 'play', rate: null | steps/s, start, taken} or
  // {kind: 'steps', remaining, id} (a step request in progress).
  let loop = null;
  let pending = {};            // side -> {parts: step results, evals, heavy: [], steps: []} since the last snapshot
  // side -> {sim, step, entries}: the cheap measurements of a side's last step. They read what
  // the step left in the layers, so they are taken once per step, before anything else runs the
  // network (an evaluation, the feature maps); a side that has not stepped since it was made or
  // loaded has none.
  let measured = {};
  let lastSnapshot = 0;
  let stepsSinceSnapshot = 0;
  let msPerStep = 1;           // measured, sizes the chunks
  let chain = Promise.resolve();

  const now = () => performance.now();
  const enqueue = (job) => { chain = chain.then(job).catch((e) => host.post({ type: 'error', message: String(e?.message ?? e) })); };

  const sideNames = () => Object.keys(run?.sides ?? {});
  const forSides = (which) => (which === undefined || which === 'both' ? sideNames() : [which]);
  const sideOf = (side) => {
    const sim = run?.sides[side];
    if (!sim) throw new Error(run ? `no side '${side}' (sides: ${sideNames().join(', ')})` : 'no run: send init first');
    return sim;
  };

  function sideInfo(side) {
    const sim = run.sides[side];
    return { config: sim.config, model: sim.model, dataset: run.dataOf(side).info, data_key: run.dataKey(sim.config),
             tensors: sim.tensorNames() };
  }

  const emptyPending = () => ({ parts: [], evals: [], heavy: [], steps: [] });

  function clearPending() {
    pending = Object.fromEntries(sideNames().map((s) => [s, emptyPending()]));
    stepsSinceSnapshot = 0;
    lastSnapshot = now();
  }

  // capture: whether the inspector's copy of the normalizers (settings.trace) is taken too.
  function measureOf(side, capture = true) {
    const sim = run.sides[side];
    const m = measured[side];
    if (m?.sim !== sim) return {};  // no step since it was made or loaded
    if (m.step === sim.stepCount) return m.entries;
    measured[side] = { sim, step: sim.stepCount, entries: sim.measure(capture) };
    return measured[side].entries;
  }

  // Copies of the entries, whose buffers the snapshot can give away.
  const copies = (entries) => Object.fromEntries(Object.entries(entries).map(([n, e]) => [n, { ...e, data: e.data.slice() }]));

  function evaluate(sides, examples) {
    for (const side of sides) {
      const sim = sideOf(side);
      if (settings.measure) measureOf(side);
      pending[side].evals.push({
        step: sim.stepCount,
        eval: sim.evaluate('eval', examples),
        train: sim.evaluate('train', examples),
      });
      if (settings.misclassified_max > 0) pending[side].misclassified = sim.misclassified(settings.misclassified_max);
    }
  }

  function snapshot(id) {
    const transfer = [];
    const sides = {};
    for (const side of sideNames()) {
      const sim = run.sides[side];
      const { parts, evals, heavy, steps } = pending[side];
      const history = { first_step: parts.length ? parts[0].first_step : sim.stepCount + 1 };
      for (const key of ['loss', 'accuracy', 'lr']) {
        history[key] = new Float32Array(parts.reduce((n, p) => n + p[key].length, 0));
        let at = 0;
        for (const p of parts) { history[key].set(p[key], at); at += p[key].length; }
        transfer.push(history[key].buffer);
      }
      const measure = settings.measure ? copies(measureOf(side)) : {};
      const trace = settings.measure && settings.trace ? traceOf(sim) : undefined;
      if (settings.measure && settings.features_image >= 0) Object.assign(measure, features(sim, settings.features_image));
      if (pending[side].misclassified) measure['test.misclassified'] = pending[side].misclassified;
      for (const m of [measure, ...heavy, ...steps.map((r) => r.measure)]) for (const e of Object.values(m)) transfer.push(e.data.buffer);
      sides[side] = {
        step: sim.stepCount, epoch: sim.epoch, status: sim.status, diverged_at: sim.divergedAt,
        history, evals, measure, heavy,
      };
      if (settings.replay) sides[side].steps = steps;
      if (trace) sides[side].trace = trace;
    }
    const elapsed = (now() - lastSnapshot) / 1000;
    const message = { type: 'snapshot', playing: loop?.kind === 'play',
                      steps_per_s: elapsed > 0 ? stepsSinceSnapshot / elapsed : 0, sides };
    if (id !== undefined) message.id = id;
    clearPending();
    host.post(message, transfer);
  }

  // Steps every live side n times in the core's run loop (Run.train), recording the results,
  // with the evaluations (after every eval_every-th step) and heavy measurements (before the step
  // after every heavy_every-th) it makes due on the way. With settings.replay every step is
  // measured; the inspector's copy of the normalizers (a few MB) only of the last step when a
  // snapshot follows (`snapshotDue`), as without replay, since copying it every step slowed
  // training by up to a third.
  function train(n, snapshotDue = true) {
    const t0 = now();
    const replay = settings.replay && settings.measure;
    const results = run.train(n, {
      evalEvery: settings.eval_every,
      heavyEvery: settings.heavy_every,
      onHeavy: (side) => {
        const heavy = run.sides[side].measureHeavy();  // {} for a diverged side
        if (Object.keys(heavy).length) pending[side].heavy.push(heavy);
      },
      // The step's measurements (replay's record, or measureOf in evaluate) come before the
      // evaluation: they read what the step left in the layers, which an evaluation overwrites.
      onStepped: (side, evalDue, last) => {
        const sim = run.sides[side];
        measured[side] = { sim, step: -1 };  // stepped: measure when asked
        if (replay && !sim.diverged) pending[side].steps.push({ step: sim.stepCount, measure: copies(measureOf(side, snapshotDue && last)) });
        if (evalDue) evaluate([side], settings.eval_examples);
      },
    });
    for (const [side, r] of Object.entries(results)) if (r.loss.length) pending[side].parts.push(r);
    stepsSinceSnapshot += n;
    return now() - t0;
  }

  // The feature-map entries of one test image; a bad index becomes the image entry's error (the
  // snapshot still goes out).
  function features(sim, image) {
    try {
      return sim.features(image);
    } catch (e) {
      return { 'features.image': { shape: [0], data: new Float32Array(0), step: sim.stepCount, index: image, error: String(e?.message ?? e) } };
    }
  }

  function applyMeasureConfig() {
    for (const side of sideNames()) configure(run.sides[side]);
  }

  // What a side measures: the measure config, and whether its measurements also capture
  // the normalizers for the BN inspector (settings.trace).
  function configure(sim) {
    sim.setMeasureConfig(settings.measure_config);
    sim.setTrace(Boolean(settings.trace));
  }

  // --- The BN inspector and batch-mates (core/measure/trace.h) --------------------------------
  // The unit settings.trace names, from the capture of the side's last measured step; what is
  // wrong with the request (no step yet, a layer this side does not have) becomes its error.
  function traceOf(sim) {
    const { layer, n = 0, c = 0, h = 0, w = 0 } = settings.trace;
    try {
      return sim.trace(layer, { n, c, h, w });
    } catch (e) {
      return { layer, n, c, h, w, error: String(e?.message ?? e) };
    }
  }

  const allDiverged = () => sideNames().every((s) => run.sides[s].diverged);

  // The IDX files an experiment (or a part of one) on dataset ('mnist' or 'fashion') reads: the
  // request's own, else the run's when every side trains on that dataset (else they are
  // another dataset's images, or none), then with the run's Data parsed from them (`parsed`).
  function filesFor(msg, dataset) {
    if (msg.data) return { files: msg.data };
    const own = run?.sides.a && Object.values(run.sides).every((side) => side.config.dataset === dataset);
    return own ? { files: run.files, parsed: run.dataOf('a') } : {};
  }

  // One chunk of the loop, then yield. Every start() begins a new generation of the loop, and
  // a chunk scheduled by an older one does nothing, so at most one loop ever runs.
  let generation = 0;
  const tick = typeof setImmediate === 'function' ? null : new MessageChannel();
  if (tick) tick.port1.onmessage = (e) => enqueue(() => chunk(e.data));
  function schedule(gen, delay_ms = 0) {
    if (delay_ms > 0) setTimeout(() => enqueue(() => chunk(gen)), delay_ms);
    else if (tick) tick.port2.postMessage(gen);
    else setImmediate(() => enqueue(() => chunk(gen)));
  }

  function chunk(gen) {
    if (gen !== generation || !loop || !run) return;
    let n = Math.max(1, Math.floor(settings.chunk_ms / msPerStep));
    if (loop.kind === 'steps') n = Math.min(n, loop.remaining);
    if (loop.rate) {
      const elapsed = now() - loop.start;
      const due = Math.floor((loop.rate * elapsed) / 1000) - loop.taken;
      if (due <= 0) {
        schedule(gen, ((loop.taken + 1) * 1000) / loop.rate - elapsed);
        return;
      }
      n = Math.min(n, due);
      loop.taken += n;
    }
    // A snapshot follows this chunk when it ends a step request, or (predicted) its interval is up.
    const due = (loop.kind === 'steps' && loop.remaining <= n) || now() - lastSnapshot + n * msPerStep >= settings.snapshot_ms;
    const ms = train(n, due);
    msPerStep = 0.7 * msPerStep + 0.3 * (ms / n);
    if (loop.kind === 'steps') loop.remaining -= n;
    if (loop.remaining === 0 || allDiverged()) {
      const id = loop.id;
      loop = null;
      snapshot(id);
      return;
    }
    if (now() - lastSnapshot >= settings.snapshot_ms) snapshot();
    schedule(gen);
  }

  function start(newRun) {
    loop = newRun;
    schedule(++generation);
  }

  // A new run (init, reset): measurements start over, the page gets its layers and step 0.
  function announce(id) {
    applyMeasureConfig();
    clearPending();
    host.post({ type: 'ready', id, sides: Object.fromEntries(sideNames().map((s) => [s, sideInfo(s)])) });
    snapshot();
  }

  const handlers = {
    async init(msg) {
      loop = null;
      run?.dispose();
      run = null;
      lab ??= await loadBnlab({ wasmModule: msg.wasm_module });
      settings = { ...DEFAULT_SETTINGS, ...msg.settings };
      run = await Run.create(lab, msg.sides, msg.data);
      announce(msg.id);
    },
    play(msg) {
      sideOf('a');
      start({ kind: 'play', rate: msg.steps_per_s > 0 ? msg.steps_per_s : null, start: now(), taken: 0 });
    },
    pause(msg) {
      loop = null;
      if (run) snapshot(msg.id);
    },
    step(msg) {
      sideOf('a');
      const n = msg.n ?? 1;
      if (!(Number.isInteger(n) && n >= 1)) throw new Error(`step: n must be a whole number >= 1, got ${n}`);
      start({ kind: 'steps', remaining: n, id: msg.id });
    },
    async reset(msg) {
      sideOf('a');
      loop = null;
      if (msg.settings) settings = { ...settings, ...msg.settings };
      await run.reset({ ...run.configs, ...msg.sides });
      announce(msg.id);
    },
    set(msg) {
      const options = msg.options ?? {};
      // Every side checks the values first, so that an invalid one changes no side.
      for (const side of forSides(msg.side)) sideOf(side).optionsNeedingReset(options);
      for (const side of forSides(msg.side)) {
        const before = run.sides[side];
        run.reconfigure(side, options);
        // A side rebuilt from its state (options the core cannot change in place) is a new
        // side, which needs the measure config.
        if (run.sides[side] !== before) configure(run.sides[side]);
      }
      const side = msg.side === 'both' ? undefined : msg.side;
      host.post({ type: 'configured', id: msg.id, side, config: side ? sideOf(side).config : undefined, settings });
    },
    settings(msg) {
      settings = { ...settings, ...msg.settings };
      if ((msg.settings?.measure_config || 'trace' in (msg.settings ?? {})) && run) applyMeasureConfig();
      host.post({ type: 'configured', id: msg.id, settings });
      // While paused, a newly chosen test image is shown at once (while playing, with the next snapshot).
      if (!loop && run && msg.settings && ('features_image' in msg.settings || 'trace' in msg.settings)) snapshot();
    },
    evaluate(msg) {
      evaluate(forSides(msg.side), msg.examples ?? settings.eval_examples);
      if (!loop) snapshot(msg.id);
    },
    // Batch-mates: the side's network on test image msg.image among random companions (see
    // Side.whatIf). The side's measurements of its last step are taken first: they read
    // what the step left in the layers, which a what-if forward overwrites.
    whatif(msg) {
      const side = msg.side ?? 'a';
      const sim = sideOf(side);
      if (settings.measure) measureOf(side);
      const r = sim.whatIf({ image: msg.image, batchSize: msg.batch_size, draws: msg.draws, layer: msg.layer, c: msg.c, h: msg.h, w: msg.w });
      host.post({ type: 'whatif', id: msg.id, side, ...r },
                [r.y, r.mean, r.var, r.probs, r.predictions, r.eval.probs].map((a) => a.buffer));
    },
    save(msg) {
      host.post({ type: 'state', id: msg.id, side: msg.side, json: sideOf(msg.side).saveState() });
    },
    async load(msg) {
      sideOf(msg.side);
      await run.load(msg.side, msg.json);
      const sim = run.sides[msg.side];
      configure(sim);
      pending[msg.side] = emptyPending();
      host.post({ type: 'loaded', id: msg.id, side: msg.side, step: sim.stepCount, config: sim.config });
      if (!loop) snapshot();
    },
    tensors(msg) {
      const sim = sideOf(msg.side);
      const tensors = Object.fromEntries((msg.names ?? []).map((n) => [n, sim.tensor(n)]));
      host.post({ type: 'tensors', id: msg.id, side: msg.side, step: sim.stepCount, tensors },
                Object.values(tensors).map((t) => t.data.buffer));
    },
    // Blocks the worker until the experiment is done (pause and other requests wait for it).
    async experiment(msg) {
      loop = null;
      lab ??= await loadBnlab();
      const dataset = msg.dataset ?? 'mnist';
      const result = await lab.runExperiment(msg.name, {
        seed: msg.seed, seeds: msg.seeds, steps: msg.steps, ...filesFor(msg, dataset), dataset,  // seeds: '1-3' runs each (bnlab.mjs)
        onProgress: (fraction) => host.post({ type: 'experiment_progress', id: msg.id, name: msg.name, fraction }),
      });
      host.post({ type: 'experiment', id: msg.id, name: msg.name, ...result });
    },
    // A part of a sweep (units [begin, end) of an experiment whose list entry has units > 0), for
    // the page's pool of workers: replies `experiment_part` with those units' tables and this
    // worker's heap. Blocks the worker like `experiment`.
    async experiment_part(msg) {
      loop = null;
      const t0 = now();
      lab ??= await loadBnlab({ wasmModule: msg.wasm_module });
      const dataset = msg.dataset ?? 'mnist';
      const files = filesFor(msg, dataset);
      const heapBefore = lab.heap().size;
      const t1 = now();
      await lab.writeData(files.files, dataset, files.parsed);
      const t2 = now();
      // The files are written (and the parsed data kept) above: the part only reads them.
      const tables = await lab.runExperimentPart(msg.name, {
        seed: msg.seed, steps: msg.steps, dataset, begin: msg.begin, end: msg.end,
        onProgress: (fraction) => host.post({ type: 'experiment_progress', id: msg.id, name: msg.name, fraction }),
      });
      // Where the part's time went (the bench's timeline): the module, the data, the runs.
      const timing = { load_ms: t1 - t0, data_ms: t2 - t1, run_ms: now() - t2, heap_before: heapBefore };
      host.post({ type: 'experiment_part', id: msg.id, name: msg.name, begin: msg.begin, end: msg.end, tables, heap: lab.heap(), timing });
    },
    // The parts' tables (in unit order) combined by the core: replies `experiment`, as the whole
    // sweep run in one worker would.
    async experiment_combine(msg) {
      lab ??= await loadBnlab();
      const result = lab.combineExperiment(msg.name, { seed: msg.seed, steps: msg.steps, dataset: msg.dataset ?? 'mnist', parts: msg.parts });
      host.post({ type: 'experiment', id: msg.id, name: msg.name, ...result });
    },
    // Which data a config trains on (the core's data_key): the page sends new bytes with a new key.
    data_key(msg) {
      if (!lab) throw new Error('data_key: no core yet: send init first');
      host.post({ type: 'data_key', id: msg.id, key: lab.dataKey(msg.config ?? {}) });
    },
    dispose(msg) {
      loop = null;
      run?.dispose();
      run = null;
      host.post({ type: 'disposed', id: msg.id });
    },
  };

  host.listen((msg) => enqueue(async () => {
    // Own properties only: 'constructor', 'toString' or '__proto__' name no handler (they would
    // find Object's, which answer nothing).
    const handler = typeof msg?.type === 'string' && Object.hasOwn(handlers, msg.type) ? handlers[msg.type] : undefined;
    try {
      if (!handler) throw new Error(`unknown request type '${msg?.type}' (${Object.keys(handlers).join(', ')})`);
      await handler(msg);
    } catch (e) {
      host.post({ type: 'error', id: msg?.id, request: msg?.type, side: msg?.side, message: String(e?.message ?? e) });
    }
  }));
}

// Started as a browser Worker: serve the page.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  serve({ post: (m, transfer) => self.postMessage(m, transfer ?? []), listen: (f) => self.addEventListener('message', (e) => f(e.data)) });
}
