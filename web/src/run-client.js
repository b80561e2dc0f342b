// The page's client of the Run in its worker: a Web Worker speaking wasm/PROTOCOL.md, which holds
// one or two sides (bnlab.mjs Run).
// Requests that expect a reply return promises; snapshots arrive through onSnapshot.

export class RunClient {
  // worker: a Worker running wasm/worker.mjs (made by the caller: from a URL, or in the
  // single-file build from inlined text).
  constructor(worker, { onSnapshot, onError, onFatal }) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    this.onSnapshot = onSnapshot;
    this.onError = onError;
    worker.onmessage = (e) => this.receive(e.data);
    // A worker that cannot even load (missing file, syntax error) only fires 'error'.
    worker.onerror = (e) => {
      e.preventDefault?.();
      const message = e.message || 'the training worker could not be loaded';
      for (const { reject } of this.pending.values()) reject(new Error(message));
      this.pending.clear();
      onFatal(message);
    };
  }

  receive(msg) {
    if (msg.type === 'snapshot') {
      this.onSnapshot(msg);
      // A snapshot with an id answers a request (step: once its steps are done).
      const asked = msg.id !== undefined && this.pending.get(msg.id);
      if (asked) {
        this.pending.delete(msg.id);
        asked.resolve(msg);
      }
      return;
    }
    const waiting = this.pending.get(msg.id);
    if (waiting && msg.type === 'experiment_progress') {
      waiting.onProgress?.(msg.fraction);
      return;
    }
    if (!waiting) {
      if (msg.type === 'error') this.onError(msg);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'error') waiting.reject(Object.assign(new Error(msg.message), { side: msg.side, request: msg.request }));
    else waiting.resolve(msg);
  }

  // onProgress: for requests that report progress before their reply (experiment).
  request(type, fields = {}, transfer = [], onProgress = null) {
    const id = this.nextId++;
    // An ended worker answers nothing: an experiment sent to it fails at once (see terminate).
    if (this.ended && type.startsWith('experiment')) return Promise.reject(new Error('the training worker was ended (a new run started)'));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { type, resolve, reject, onProgress });
      this.worker.postMessage({ type, id, ...fields }, transfer);
    });
  }

  // Requests answered by a snapshot (play, pause, step, evaluate): nothing to wait for; an error
  // reply goes to onError.
  post(type, fields = {}) {
    this.worker.postMessage({ type, id: this.nextId++, ...fields });
  }

  // How many workers train (the page's status line says so); PairRunClient (pair-client.js) uses two.
  get workers() {
    return 1;
  }

  // wasmModule: the core compiled by the page (Controller.wasmModule), so that the worker need not
  // download and compile it; undefined: the worker loads it itself.
  init(sides, data, settings, wasmModule) {
    const transfer = data ? Object.values(data).map((a) => (a.buffer ?? a)) : [];
    return this.request('init', { sides, data, settings, ...(wasmModule ? { wasm_module: wasmModule } : {}) }, transfer);
  }

  // An experiment still waiting is refused: a sweep on the pool, which may use this worker, then
  // ends with a message instead of waiting forever. (The page's other requests to an ended worker
  // are left unanswered: the page has moved on to a new run.)
  terminate() {
    this.worker.terminate();
    this.ended = true;
    for (const [id, { type, reject }] of this.pending) {
      if (!type.startsWith('experiment')) continue;
      reject(new Error('the training worker was ended (a new run started)'));
      this.pending.delete(id);
    }
  }
}
