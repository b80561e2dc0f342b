// A pool of workers for a lesson's sweep: the core splits a sweep into units (its swept values,
// core/experiments/experiments.h ExperimentParts; the experiment list gives their number); each
// worker of the pool takes the next unit not yet started, and when all are done one of them
// asks the core to combine the parts, which gives exactly the result of the sweep run in one
// worker (tests/test_experiment_parts.cpp, tests/browser/workers.test.mjs). The workers are
// started for the sweep and ended after it, so their memory goes with them.
import { Sim } from './sim.js';

const copyBytes = (data) => data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, new Uint8Array(v.buffer ? v : v.slice(0))]));

// makeWorker(): a new Worker running wasm/worker.mjs; size: workers (at most the units);
// data: the MNIST files (each worker gets its own copy once); wasmModule: the core compiled by the
// page (else each worker downloads and compiles it); onProgress(fraction);
// onPart(tables): the tables of the units done so far, in unit order, as each unit ends.
// Resolves with {summary, tables, pool: {workers, heap_bytes: [per worker]}}.
export async function runSweep({ makeWorker, size, name, units, seed, steps, data, wasmModule, onProgress = () => {}, onPart = () => {} }) {
  const n = Math.max(1, Math.min(size, units));
  const errors = [];
  const sims = Array.from({ length: n }, () => new Sim(makeWorker(), {
    onSnapshot: () => {},
    onError: (e) => errors.push(e.message),
    onFatal: (m) => errors.push(m),
  }));
  const parts = new Array(units).fill(null);
  const fraction = new Array(units).fill(0);
  const heap = new Array(n).fill(0);
  let next = 0;
  const report = () => (onProgress ?? (() => {}))(fraction.reduce((a, b) => a + b, 0) / units);
  // One worker's loop: units until none is left. The first request carries the data.
  async function work(w) {
    let bytes = copyBytes(data);
    while (next < units) {
      const u = next++;
      const fields = { name, seed, steps, begin: u, end: u + 1, ...(bytes ? { data: bytes } : {}), ...(wasmModule ? { wasm_module: wasmModule } : {}) };
      const transfer = bytes ? Object.values(bytes).map((b) => b.buffer) : [];
      bytes = null;
      const reply = await sims[w].request('experiment_part', fields, transfer, (f) => { fraction[u] = f; report(); });
      parts[u] = reply.tables;
      fraction[u] = 1;
      heap[w] = Math.max(heap[w], reply.heap?.size ?? 0);
      report();
      onPart(concatenated(parts.filter(Boolean)));
    }
  }
  try {
    await Promise.all(sims.map((_, w) => work(w)));
    const result = await sims[0].request('experiment_combine', { name, seed, steps, parts });
    return { summary: result.summary, tables: result.tables, pool: { workers: n, heap_bytes: heap } };
  } catch (e) {
    throw new Error(errors.length ? `${e.message} (${errors.join('; ')})` : e.message);
  } finally {
    for (const s of sims) s.terminate();
  }
}

// The rows of the parts done so far, table by table, for the chart that fills in while the sweep
// runs (the final tables come from the core's combination).
function concatenated(parts) {
  return parts[0].map((t, i) => ({ ...t, rows: parts.flatMap((p) => p[i].rows) }));
}
