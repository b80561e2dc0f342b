// A pool of workers for a lesson's sweep: the core splits a sweep into units (its training runs,
// or groups of them; core/experiments/experiments.h ExperimentParts; the experiment list gives
// their number); each worker of the pool takes the next unit not yet started, and when all are
// done one of them asks the core to combine the parts, which gives exactly the result of the sweep run in one
// worker (tests/test_experiment_parts.cpp, tests/browser/workers.test.mjs). The page's own
// workers, idle while the sweep runs, serve first (their module is instantiated and their data
// loaded already); only the rest of the pool is started for the sweep, and ended after it, so
// their memory goes with them. Workers the page started ahead for the sweep (`spare`, on machines
// with more cores than the pair's two: Controller.warmSweep) hold the dataset already and are
// ended after it too.
const copyBytes = (data) => data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new Uint8Array(v.buffer ? v : v.slice(0))]));

// idle: the page's workers to use first ([{request(type, fields, transfer, onProgress)}], e.g. the
// paused pair's, PairRunClient.idle()), not ended here; idleHasData: whether those already hold the
// dataset's files (their run trains on it: the worker's parts then read its files), else the
// first part each runs carries a copy; makeClient(callbacks): a new RunClient (run-client.js) over a new worker,
// for the rest of the pool; size: workers (at most the units); dataset: 'mnist' or 'fashion';
// data: that dataset's IDX files (each worker that needs them
// gets its own copy once); wasmModule: the core compiled by the page (else each new worker
// downloads and compiles it); onProgress(fraction); onPart(tables): the tables of the units done
// so far, in unit order, as each unit ends. spare: RunClients over workers started ahead that
// hold the dataset's files (a one-step part ran in them), used before new ones and ended after.
// Resolves with {summary, tables, pool: {workers, reused, ahead, heap_bytes: [per worker], timeline}}:
// timeline gives ms since the call for each unit ({unit, worker, start, end, timing: the worker's
// own split of it, wasm/worker.mjs experiment_part}) and the combination
// (the benchmark's breakdown of where a sweep's time goes).
export async function runSweep({ idle = [], idleHasData = false, spare = [], makeClient, size, name, units, seed, steps, dataset = 'mnist', data, wasmModule, onProgress = () => {}, onPart = () => {} }) {
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const n = Math.max(1, Math.min(size, units));
  const errors = [];
  const reused = idle.slice(0, n);
  const ahead = spare.slice(0, n - reused.length);
  for (const s of spare.slice(ahead.length)) s.terminate();
  const started = Array.from({ length: n - reused.length - ahead.length }, () => makeClient({
    onSnapshot: () => {},
    onError: (e) => errors.push(e.message),
    onFatal: (m) => errors.push(m),
  }));
  const clients = [...reused, ...ahead, ...started];
  const parts = new Array(units).fill(null);
  const fraction = new Array(units).fill(0);
  const heap = new Array(n).fill(0);
  const timeline = { units: [], combine: null };
  let next = 0;
  const report = () => (onProgress ?? (() => {}))(fraction.reduce((a, b) => a + b, 0) / units);
  // One worker's loop: units until none is left. Its first request carries the data it needs
  // (and, for a worker started here, the compiled module).
  async function work(w) {
    const fresh = w >= reused.length + ahead.length;
    const needsData = w < reused.length ? !idleHasData : fresh;
    let bytes = needsData ? copyBytes(data) : null;
    while (next < units) {
      const u = next++;
      const fields = { name, seed, steps, dataset, begin: u, end: u + 1, ...(bytes ? { data: bytes } : {}), ...(fresh && wasmModule ? { wasm_module: wasmModule } : {}) };
      const transfer = bytes ? Object.values(bytes).map((b) => b.buffer) : [];
      bytes = null;
      const start = at();
      const reply = await clients[w].request('experiment_part', fields, transfer, (f) => { fraction[u] = f; report(); });
      timeline.units.push({ unit: u, worker: w, start, end: at(), ...(reply.timing ? { timing: reply.timing } : {}) });
      parts[u] = reply.tables;
      fraction[u] = 1;
      heap[w] = Math.max(heap[w], reply.heap?.size ?? 0);
      report();
      onPart(concatenated(parts.filter(Boolean)));
    }
  }
  try {
    await Promise.all(clients.map((_, w) => work(w)));
    const start = at();
    const result = await clients[0].request('experiment_combine', { name, seed, steps, dataset, parts });
    timeline.combine = { start, end: at() };
    return { summary: result.summary, tables: result.tables, pool: { workers: n, reused: reused.length, ahead: ahead.length, heap_bytes: heap, timeline } };
  } catch (e) {
    throw new Error(errors.length ? `${e.message} (${errors.join('; ')})` : e.message);
  } finally {
    for (const s of [...ahead, ...started]) s.terminate();
  }
}

// The rows of the parts done so far, table by table, for the chart that fills in while the sweep
// runs (the final tables come from the core's combination).
function concatenated(parts) {
  return parts[0].map((t, i) => ({ ...t, rows: parts.flatMap((p) => p[i].rows) }));
}
