// Builds the single-file worker for a page opened from disk, where the browser loads neither ES
// modules, nor workers from files, nor anything by fetch(): only classic <script> tags.
//
//   node wasm/single_file.mjs bnlab_core_single.js worker.mjs OUT_DIR
//
// writes into OUT_DIR
//   bnlab_worker_single.js    a classic worker script: esbuild bundles worker.mjs and what it
//                             imports (bnlab.mjs) into one script, with the core built by
//                             emcc -sSINGLE_FILE=1 (the wasm inlined as base64) in place of
//                             bnlab_core.mjs
//   bnlab_worker_embedded.js  a classic script for the page: createBnlabWorker() starts that worker
//                             from a Blob, which a file:// page may do
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const [core, entry, outDir] = process.argv.slice(2);
if (!core || !entry || !outDir) {
  console.error('usage: node single_file.mjs bnlab_core_single.js worker.mjs OUT_DIR');
  process.exit(2);
}

// bnlab.mjs imports the ES module build of the core; the single file takes the classic build,
// whose CommonJS export esbuild hands to that import.
const singleCore = {
  name: 'single-file-core',
  setup(build) {
    build.onResolve({ filter: /^\.\/bnlab_core\.mjs$/ }, () => ({ path: resolve(core) }));
  },
};

const result = await esbuild.build({
  entryPoints: [entry], bundle: true, format: 'iife', platform: 'browser', write: false,
  // node's own modules are imported only on node, never in a worker.
  external: ['node:*'],
  plugins: [singleCore],
  // import.meta.url locates the .wasm file next to the module, which the inlined wasm never needs.
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
});
const worker = result.outputFiles[0].text;
writeFileSync(join(outDir, 'bnlab_worker_single.js'), worker);
writeFileSync(join(outDir, 'bnlab_worker_embedded.js'),
  '// BN Lab\'s simulation worker for a page opened from disk (built by wasm/single_file.mjs).\n' +
  'function createBnlabWorker() {\n' +
  `  const source = ${JSON.stringify(worker)};\n` +
  "  return new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));\n" +
  '}\n');
