// Shared by the node tests of the WebAssembly build (node --test tests/wasm/).
// They need build/wasm (.ci/build-wasm.sh) and, for the comparisons with native, build/native
// with its CLI and the MNIST files it generates (.ci/build-native.sh).
import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WASM_DIR = `${ROOT}build/wasm`;
export const CLI = `${ROOT}build/native/bnlab`;
export const DATA_DIR = `${ROOT}build/native/data`;

const { loadBnlab, Run, Side, Simulation, Session } = await import(`${WASM_DIR}/bnlab.mjs`);
export { Run, Side, Simulation, Session };

let lab = null;
// One core per test file (loading it takes ~50 ms; each file runs in its own process).
export async function getLab() {
  lab ??= await loadBnlab();
  return lab;
}

// The MNIST IDX files made by the native build; gzip: their .gz copies (what the page fetches).
export function mnistFiles({ gzip = false } = {}) {
  const ext = gzip ? '.idx.gz' : '.idx';
  const files = {};
  for (const part of ['train_images', 'train_labels', 'test_images', 'test_labels']) {
    const path = `${DATA_DIR}/mnist-${part.replace('_', '-')}${ext}`;
    if (!existsSync(path)) throw new Error(`${path} is missing: run .ci/build-native.sh first`);
    files[part] = readFileSync(path);
  }
  return files;
}

// Runs the native CLI; resolves {stdout, stderr, code} (a non-zero exit is not an exception).
export async function runCli(args, options = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(CLI, args, { maxBuffer: 1 << 28, ...options });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

// A config as the CLI's arguments: {batch_size: 8} -> ['--batch_size', '8'].
export function cliArgs(config) {
  return Object.entries(config).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

// The largest |a - b| / max(1, |b|) over two equally long sequences.
export function maxRelativeDiff(a, b) {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}
