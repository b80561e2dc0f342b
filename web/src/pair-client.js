// One worker per network: the same interface as RunClient (run-client.js), over two workers that each run ONE
// side of wasm/PROTOCOL.md. Network A is the first worker's side a; network B is the second
// worker's side a, renamed to b in and out. Both sides are built from their own config with the
// same seed, so they start from the same weights and draw the same batches as in one worker: the
// runs are bit-identical to the single-worker runs (tests/browser/workers.test.mjs).
//
// Lockstep: the workers never train on their own (no `play`). This client drives them with
// `step n` chunks of about one snapshot interval and waits for both before the next, so neither
// runs ahead of the other by more than a chunk, and every chunk's two replies become one
// snapshot of both sides, as the page expects. A pause, a setting or any other request is queued
// behind the chunk in flight, so it takes effect on both sides at the same step. The workers are
// told to send no snapshots of their own while stepping (snapshot_ms: QUIET_MS).
import { RunClient } from './run-client.js';

const QUIET_MS = 1e9;
const SIDES = ['a', 'b'];  // worker i runs side SIDES[i]

const copyBytes = (data) => data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new Uint8Array(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v.slice(0))]));
const buffers = (data) => (data ? Object.values(data).map((a) => a.buffer ?? a) : []);

export class PairRunClient {
  // makeWorker(): a new Worker running wasm/worker.mjs (called twice).
  constructor(makeWorker, { onSnapshot, onError, onFatal }) {
    this.onSnapshot = onSnapshot;
    this.onError = onError;
    // B's worker starts when a comparison first needs it, after A's is ready: it then loads the
    // module from the cache (not a second download) and does not compete with A's start-up.
    this.clients = [];
    this.client = (w) => (this.clients[w] ??= new RunClient(makeWorker(), {
      onSnapshot: (s) => this.unsolicited(w, s),
      onError: (e) => onError({ ...e, side: e.side ? SIDES[w] : undefined }),
      onFatal,
    }));
    this.client(0);
    this.used = [];           // the workers holding a side: [0] or [0, 1]
    this.diverged = [false, false];
    this.configs = {};        // side -> its full config (for undoing a half-done `set` on both)
    this.pageSettings = {};   // the worker settings the page asked for
    this.data = null;         // a copy of init's data, for a second worker started later
    this.chain = Promise.resolve();
    this.run = null;          // null (paused) or {remaining, rate, start, taken, done?}
    this.generation = 0;
    this.msPerStep = 20;      // wall time of one lockstep step, measured, sizes the chunks
    this.lastEmit = performance.now();
    this.rate = 0;            // lockstep steps per second, measured over the last chunk
    this.held = null;         // snapshots arriving while a new run is announced
    this.flight = null;       // the chunk in flight: {workers, replies, interrupt}
    // Where a lockstep pair's wall time goes (the benchmark reads it): chunks, steps, ms from a
    // chunk's start to its last reply (`busy`), from its first reply to its last (`spread`: the
    // faster side waiting), and from the last reply to the next chunk's start (`gap`: the snapshot,
    // the frame it waits for, the messages).
    this.stats = { chunks: 0, steps: 0, busy_ms: 0, spread_ms: 0, gap_ms: 0 };
    this.lastDone = null;
  }

  // How many workers train (the page's status line says so).
  get workers() {
    return this.used.length || 1;
  }

  // A snapshot no request of this client waits for (the step-0 snapshot after `ready`, one after
  // `load`, `evaluate` or a trace setting while paused): passed on with its side renamed.
  unsolicited(w, s) {
    if (s.id !== undefined && this.clients[w].pending.has(s.id)) return;  // a reply: see chunk() and ask()
    const out = { ...s, playing: Boolean(this.run), steps_per_s: this.rate, sides: { [SIDES[w]]: s.sides.a } };
    delete out.id;
    if (this.held) this.held.push(out);
    else this.onSnapshot(out);
  }

  // Jobs (chunks and requests) run one after the other, like the worker's own queue.
  enqueue(job) {
    const p = this.chain.then(job);
    this.chain = p.catch(() => {});
    return p;
  }

  // A request to the worker of one side, with errors naming the page's side.
  ask(w, type, fields = {}, transfer = [], onProgress = null) {
    return this.client(w).request(type, fields, transfer, onProgress).catch((e) => {
      if (e.side || ['init', 'reset', 'set', 'load'].includes(type)) e.side = SIDES[w];
      throw e;
    });
  }

  workerOf(side) {
    const w = SIDES.indexOf(side);
    if (w < 0 || !this.used.includes(w)) throw new Error(this.used.length ? `no side '${side}' (sides: ${this.used.map((i) => SIDES[i]).join(', ')})` : 'no run: send init first');
    return w;
  }

  workersFor(side) {
    return side === undefined || side === 'both' ? this.used : [this.workerOf(side)];
  }

  // init's wasm_module field: the core compiled once by the page, if it did.
  module() {
    return this.wasmModule ? { wasm_module: this.wasmModule } : {};
  }

  quiet(settings) {
    return settings && { ...settings, snapshot_ms: QUIET_MS };
  }

  // --- RunClient's interface --------------------------------------------------------------------------

  request(type, fields = {}, transfer = [], onProgress = null) {
    switch (type) {
      case 'play': this.play(fields.steps_per_s); return Promise.resolve();
      case 'pause': return this.pause();
      case 'step': return this.step(fields.n ?? 1);
      case 'init': return this.init(fields.sides, fields.data, fields.settings, fields.wasm_module);
      case 'reset': return this.reset(fields.sides, fields.settings);
      default: return this.enqueue(() => this.route(type, fields, transfer, onProgress));
    }
  }

  post(type, fields = {}) {
    // A step cut short by a pause or a reset is no error of the page's.
    this.request(type, fields).catch((e) => e.stopped || this.onError({ type: 'error', request: type, side: e.side, message: e.message }));
  }

  init(sides, data, settings, wasmModule) {
    if (wasmModule) this.wasmModule = wasmModule;
    // The original goes to the first worker; a copy stays here for the second (now, or when a
    // comparison starts later).
    const kept = copyBytes(data);
    this.stop();
    return this.enqueue(() => this.announce(sides, settings, async (todo) => {
      this.data = kept;
      const replies = [];
      // One after the other when B's worker is new (see the constructor); else both at once.
      const fresh = !this.clients[1];
      const inits = todo.map(([w, config]) => () => {
        const bytes = w === 0 ? data : copyBytes(this.data);
        return this.ask(w, 'init', { sides: { a: config }, data: bytes, settings: this.quiet(this.pageSettings), ...this.module() }, buffers(bytes));
      });
      if (fresh) for (const init of inits) replies.push(await init());
      else replies.push(...await Promise.all(inits.map((init) => init())));
      return replies;
    }));
  }

  // The sides given (the page always gives every side it wants: without b, B's worker is freed),
  // else the current ones.
  reset(sides, settings) {
    this.stop();
    const wanted = sides && Object.keys(sides).length ? { a: sides.a ?? this.configs.a, b: sides.b } : this.configs;
    return this.enqueue(() => this.announce(wanted, settings, (todo) =>
      Promise.all(todo.map(([w, config]) => {
        const fields = { sides: { a: config }, settings: this.quiet(this.pageSettings) };
        if (this.used.includes(w)) return this.ask(w, 'reset', fields);
        const bytes = copyBytes(this.data);
        return this.ask(w, 'init', { ...fields, data: bytes, ...this.module() }, buffers(bytes));
      }))));
  }

  // A new run on the workers `sides` needs; a worker no longer needed frees its memory. Its
  // reply is init's `ready`, both sides in one; the step-0 snapshots follow it.
  async announce(sides, settings, build) {
    if (settings) this.pageSettings = { ...this.pageSettings, ...settings };
    const todo = SIDES.map((s, w) => [w, sides[s]]).filter(([, c]) => c);
    this.held = [];
    try {
      const replies = await build(todo);
      for (const w of this.used) if (!todo.some(([i]) => i === w)) this.ask(w, 'dispose').catch(() => {});
      this.used = todo.map(([w]) => w);
      this.diverged = [false, false];
      const info = {};
      replies.forEach((r, i) => { info[SIDES[todo[i][0]]] = r.sides.a; });
      this.configs = Object.fromEntries(Object.entries(info).map(([s, i]) => [s, i.config]));
      return { type: 'ready', sides: info };
    } catch (e) {
      // A half-built pair is no run: the page starts over with init.
      for (const w of this.used) this.ask(w, 'dispose').catch(() => {});
      this.used = [];
      this.configs = {};
      throw e;
    } finally {
      const held = this.held;
      this.held = null;
      // After the caller has handled `ready` (it resets its history on it).
      setTimeout(() => { for (const s of held) this.onSnapshot(s); }, 0);
    }
  }

  play(rate) {
    if (!this.used.length) {
      this.onError({ type: 'error', request: 'play', message: 'no run: send init first' });
      return;
    }
    this.begin({ remaining: Infinity, rate: rate > 0 ? rate : null, start: performance.now(), taken: 0 });
  }

  // Stops the chunk in flight after each worker's current step (the workers' own `pause`), then
  // brings the sides level (catchUp); the reply is a snapshot with playing: false.
  pause() {
    const flight = this.flight;
    this.stop();
    if (flight && !flight.pausing) {
      flight.pausing = true;
      Promise.all(flight.workers.map((w) => this.ask(w, 'pause'))).then(flight.interrupt, (e) => this.onError({ type: 'error', request: 'pause', side: e.side, message: e.message }));
    }
    return this.enqueue(() => this.emit([], { playing: false }));
  }

  step(n) {
    if (!(Number.isInteger(n) && n >= 1)) return Promise.reject(new Error(`step: n must be a whole number >= 1, got ${n}`));
    if (!this.used.length) return Promise.reject(new Error('no run: send init first'));
    return new Promise((resolve, reject) => this.begin({ remaining: n, rate: null, start: performance.now(), taken: 0, done: { resolve, reject } }));
  }

  // The workers holding a run, for the page's pool of workers (pool.js) while the pair is
  // paused: their module is instantiated and their data loaded, so a sweep's parts start on them
  // at once. An experiment leaves a worker's run as it was.
  idle() {
    return this.used.map((w) => this.clients[w]);
  }

  // A request to every worker holding a side, between two chunks (queued like a chunk, so never
  // inside a step request): the page's warm-up of a lesson's sweep (Controller.warmSweep).
  each(type, fields = {}) {
    return this.enqueue(() => Promise.all(this.used.map((w) => this.ask(w, type, fields))));
  }

  terminate() {
    this.stop();
    for (const s of this.clients) s?.terminate();
  }

  // --- Lockstep --------------------------------------------------------------------------------

  stop() {
    this.run?.done?.reject(Object.assign(new Error('step: stopped by another request before its steps were done'), { stopped: true }));
    this.run = null;
    ++this.generation;
  }

  begin(run) {
    this.stop();
    this.run = run;
    this.lastEmit = performance.now();
    this.schedule(this.generation, 0);
  }

  schedule(gen, delayMs, gates = null) {
    const go = () => this.enqueue(() => this.chunk(gen, gates));
    if (delayMs > 0) setTimeout(go, delayMs);
    else go();
  }

  live() {
    return this.used.filter((w) => !this.diverged[w]);
  }

  // One chunk: n steps on every live side, waiting for all of them; then the next is scheduled.
  // gates: worker -> a promise the worker's share of the chunk waits for (the frame, see below);
  // the chunk, and so every other request, waits for all of it.
  async chunk(gen, gates = null) {
    const run = this.run;
    if (gen !== this.generation || !run) return;
    // A chunk lasts at least one snapshot interval, as one worker's snapshots are at least that
    // far apart: rounding down made a chunk (and a snapshot, and a render) of every step once a
    // step took longer than half the interval, twice the main thread's work of one worker.
    const target = this.pageSettings.snapshot_ms ?? 100;
    let n = Math.max(1, Math.ceil(target / this.msPerStep));
    n = Math.min(n, run.remaining);
    if (run.rate) {
      const elapsed = performance.now() - run.start;
      const due = Math.floor((run.rate * elapsed) / 1000) - run.taken;
      if (due <= 0) {
        this.schedule(gen, ((run.taken + 1) * 1000) / run.rate - elapsed);
        return;
      }
      n = Math.min(n, due);
      run.taken += n;
    }
    const workers = this.live();
    const t0 = performance.now();
    if (this.lastDone !== null) this.stats.gap_ms += t0 - this.lastDone;
    const replied = [];
    // The chunk in flight, which a pause may cut short (see pause()).
    const flight = { workers, replies: [] };
    const stopped = new Promise((resolve) => { flight.interrupt = resolve; });
    this.flight = flight;
    let outcome;
    try {
      outcome = await Promise.race([
        Promise.all(workers.map((w, i) => {
          const send = () => this.ask(w, 'step', { n }).then((r) => { flight.replies[i] = r; replied.push([performance.now(), w]); });
          // A gated side starts after the frame; a pause meanwhile means it never does.
          return gates?.[w] ? gates[w].then(() => (flight.pausing ? new Promise(() => {}) : send())) : send();
        })).then(() => 'done'),
        stopped]);
    } catch (e) {
      if (this.run === run) this.run = null;
      run.done?.reject(e);
      this.onError({ type: 'error', request: 'step', side: e.side, message: e.message });
      return;
    } finally {
      this.flight = null;
    }
    if (outcome !== 'done') {
      this.lastDone = null;
      await this.catchUp(workers, flight.replies, outcome);
      return;
    }
    const done = performance.now();
    Object.assign(this.stats, { chunks: this.stats.chunks + 1, steps: this.stats.steps + n, busy_ms: this.stats.busy_ms + (done - t0),
                                spread_ms: this.stats.spread_ms + (replied.at(-1)[0] - replied[0][0]) });
    const replies = flight.replies;
    this.msPerStep = 0.7 * this.msPerStep + 0.3 * ((performance.now() - t0) / n);
    run.remaining -= n;
    replies.forEach((r, i) => { if (r.sides.a.diverged_at >= 0) this.diverged[workers[i]] = true; });
    const more = this.run === run && run.remaining > 0 && this.live().length > 0;
    if (!more && this.run === run) this.run = null;
    const snap = this.emit(replies.map((r, i) => [workers[i], r]), { playing: more }, n);
    this.lastDone = more ? done : null;
    // The side that replied last (the slower network: A with BN) starts its next chunk at once,
    // the other after the frame that draws this snapshot (it would wait for the slower one
    // anyway): the drawing gets the faster side's core, and the slower side's core does not idle
    // while the frame comes (about 17 ms per chunk of 200 ms when both waited for it).
    if (more && replied.length === 2) this.schedule(gen, 0, { [replied[0][1]]: this.afterFrame() });
    else if (more) this.afterFrame().then(() => this.schedule(gen, 0));
    else if (run.remaining === 0 || !this.live().length) run.done?.resolve(snap);
  }

  // Resolves once the frame that draws the snapshot just emitted has run (the page renders in a
  // requestAnimationFrame callback registered before this one), or after 50 ms where frames do not
  // come (a hidden tab). With two workers on two cores, a chunk started at once would keep both
  // cores busy while the main thread draws: its tasks then share a core and take twice as long
  // (over 50 ms on a loaded machine). Waiting for the frame leaves a core to the drawing.
  afterFrame() {
    // No page, no frames (node: the tests drive PairRunClient directly): nothing to leave a core to.
    if (typeof requestAnimationFrame !== 'function') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 50);
      requestAnimationFrame(() => { clearTimeout(timer); setTimeout(resolve, 0); });
    });
  }

  // A pause cut the chunk short: each worker stopped after its current step, so the sides may
  // stand at different steps. What each took (its step reply, if it came first, then its pause
  // reply) is passed on, and the side behind takes the steps that bring it level: both pause at
  // the same step, as in one worker, within one step of the press. The snapshots are passed on
  // together once the sides are level, so the page never draws them apart (A 59 / B 64).
  async catchUp(workers, stepReplies, pauseReplies) {
    const at = [];
    const out = [];
    workers.forEach((w, i) => {
      for (const r of [stepReplies[i], pauseReplies[i]]) if (r) out.push([w, r]);
      const side = pauseReplies[i].sides.a;
      if (side.diverged_at >= 0) this.diverged[w] = true;
      at[i] = side.step;
    });
    const level = Math.max(...workers.filter((w) => !this.diverged[w]).map((w) => at[workers.indexOf(w)]), 0);
    try {
      for (let i = 0; i < workers.length; ++i) {
        if (this.diverged[workers[i]] || at[i] >= level) continue;
        const r = await this.ask(workers[i], 'step', { n: level - at[i] });
        if (r.sides.a.diverged_at >= 0) this.diverged[workers[i]] = true;
        out.push([workers[i], r]);
      }
    } finally {
      for (const part of out) this.emit([part], { playing: false });
    }
  }

  // One snapshot of every side from the workers' replies [[worker, snapshot], ...].
  emit(parts, { playing }, steps = 0) {
    const now = performance.now();
    const elapsed = (now - this.lastEmit) / 1000;
    this.lastEmit = now;
    const sides = {};
    for (const [w, r] of parts) sides[SIDES[w]] = r.sides.a;
    if (steps > 0 && elapsed > 0) this.rate = steps / elapsed;
    const snap = { type: 'snapshot', playing, steps_per_s: this.rate, sides };
    this.onSnapshot(snap);
    return snap;
  }

  // --- Requests for one side or both -----------------------------------------------------------

  async route(type, fields, transfer, onProgress) {
    const rename = (w, reply) => ({ ...reply, ...(reply.side ? { side: SIDES[w] } : {}) });
    switch (type) {
      case 'settings': {
        this.pageSettings = { ...this.pageSettings, ...fields.settings };
        const replies = await Promise.all(this.used.map((w) => this.ask(w, 'settings', { settings: this.quiet(fields.settings) })));
        return { ...(replies[0] ?? { type: 'configured' }), settings: { ...(replies[0]?.settings ?? {}), snapshot_ms: this.pageSettings.snapshot_ms } };
      }
      case 'set': return this.set(fields);
      case 'evaluate':
        // Answered by a snapshot (unsolicited here: passed on as it comes).
        for (const w of this.workersFor(fields.side)) this.clients[w].post('evaluate', { examples: fields.examples });
        return undefined;
      case 'save': case 'tensors': case 'whatif': {
        const w = this.workerOf(fields.side ?? 'a');
        return rename(w, await this.ask(w, type, { ...fields, side: 'a' }, transfer));
      }
      case 'load': {
        const w = this.workerOf(fields.side);
        const reply = rename(w, await this.ask(w, 'load', { ...fields, side: 'a' }));
        this.configs[SIDES[w]] = reply.config;
        this.diverged[w] = false;
        return reply;
      }
      case 'dispose': {
        const used = this.used;
        this.used = [];
        await Promise.all(used.map((w) => this.ask(w, 'dispose')));
        return { type: 'disposed' };
      }
      // The experiments run in the first worker (they need no run).
      default: return this.ask(0, type, fields, transfer, onProgress);
    }
  }

  // `set` on both sides changes both or neither: a side whose worker refuses the values undoes
  // the other side's change (the old values of the same options).
  async set({ side, options = {} }) {
    const workers = this.workersFor(side);
    const done = [];
    try {
      for (const w of workers) {
        const before = this.configs[SIDES[w]];
        const r = await this.ask(w, 'set', { side: 'a', options });
        this.configs[SIDES[w]] = r.config;
        done.push([w, before]);
      }
    } catch (e) {
      for (const [w, before] of done) {
        const undo = Object.fromEntries(Object.keys(options).map((k) => [k, before[k]]));
        const r = await this.ask(w, 'set', { side: 'a', options: undo });
        this.configs[SIDES[w]] = r.config;
      }
      throw e;
    }
    const one = side === 'both' || side === undefined ? undefined : side;
    return { type: 'configured', side: one, config: one ? this.configs[one] : undefined, settings: this.pageSettings };
  }
}
