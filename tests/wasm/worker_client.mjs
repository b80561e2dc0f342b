// The page's side of PROTOCOL.md, for the tests: requests with ids, replies as promises, and
// every snapshot kept in order.
import { Worker } from 'node:worker_threads';

export class WorkerClient {
  constructor() {
    this.worker = new Worker(new URL('./worker_host.mjs', import.meta.url));
    this.nextId = 1;
    this.waiting = new Map();   // id -> {resolve, types}
    this.snapshots = [];
    this.messages = [];
    this.listeners = [];
    this.worker.on('message', (m) => {
      this.messages.push(m);
      if (m.type === 'snapshot') this.snapshots.push(m);
      for (const l of this.listeners.splice(0)) l();
      const w = this.waiting.get(m.id);
      if (w && w.types.includes(m.type)) {
        this.waiting.delete(m.id);
        w.resolve(m);
      }
    });
  }

  // Sends a request and resolves with the first reply to it of one of the given types
  // (an 'error' reply always counts).
  request(message, types, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, types: [...types, 'error'] });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }
  send(message) { this.worker.postMessage(message); }

  // Resolves when predicate(snapshot) holds for a snapshot arriving after now.
  until(predicate, timeout_ms = 20000) {
    const start = this.snapshots.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a snapshot')), timeout_ms);
      const check = () => {
        const hit = this.snapshots.slice(start).find(predicate);
        if (hit) { clearTimeout(timer); resolve(hit); } else this.listeners.push(check);
      };
      check();
    });
  }

  sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
  close() { return this.worker.terminate(); }
}
