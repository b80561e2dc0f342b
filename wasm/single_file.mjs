// Builds the single-file worker for a page opened from disk, where the browser loads neither ES
// modules, nor workers from files, nor anything by fetch(): only classic <script> tags.
//
//   node wasm/single_file.mjs bnlab_core_single.js bnlab.mjs worker.mjs OUT_DIR
//
// writes into OUT_DIR
//   bnlab_worker_single.js    a classic worker script: the core (wasm inlined as base64, from
//                             emcc -sSINGLE_FILE=1), the API and the worker, with the modules'
//                             import lines and export keywords removed
//   bnlab_worker_embedded.js  a classic script for the page: createBnlabWorker() starts that worker
//                             from a Blob, which a file:// page may do
// The modules keep to what this needs: single-line imports of ./*.mjs only, `export` only in front
// of declarations; anything else stops the build with a message.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [core, ...rest] = process.argv.slice(2);
const outDir = rest.pop();
if (!core || rest.length === 0 || !outDir) {
  console.error('usage: node single_file.mjs bnlab_core_single.js MODULE.mjs... OUT_DIR');
  process.exit(2);
}

function asClassicScript(path) {
  return readFileSync(path, 'utf8').split('\n').map((line, i) => {
    if (/^import .* from '\.\/[\w.]+\.mjs';$/.test(line)) return '';
    if (/^\s*(import|export)\b/.test(line) && !/^export (async function|function|class|const|let) /.test(line))
      throw new Error(`${path}:${i + 1}: single_file.mjs cannot turn this into a classic script: ${line}`);
    // import.meta exists only in modules; the wasm is inlined here, so the URL is never used.
    return line.replace(/^export /, '').replaceAll('import.meta.url', 'self.location.href');
  }).join('\n');
}

const worker = [readFileSync(core, 'utf8'), ...rest.map(asClassicScript)].join('\n');
writeFileSync(join(outDir, 'bnlab_worker_single.js'), worker);
writeFileSync(join(outDir, 'bnlab_worker_embedded.js'),
  '// BN Lab\'s simulation worker for a page opened from disk (built by wasm/single_file.mjs).\n' +
  'function createBnlabWorker() {\n' +
  `  const source = ${JSON.stringify(worker)};\n` +
  "  return new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));\n" +
  '}\n');
