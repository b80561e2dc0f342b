// Builds the page:
//   build/web/               index.html, app.js, app.css, bnlab-element.js, bnlab/ (the worker and
//                            wasm module from build/wasm), data/ (MNIST .idx.gz from
//                            build/native/data), and a .gz beside every text file and the wasm
//   build/web-single/bnlab.html   everything inlined (worker, single-file wasm, MNIST): opens from disk
// The wasm module and the MNIST files come from other build steps; when one is missing the page
// says so (build-info) and the build says so here, but the build still succeeds.
//
//   node web/build.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import katex from 'katex';
import { coreFactsSource } from './core-facts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const out = path.join(root, 'build/web');
const outSingle = path.join(root, 'build/web-single');
const wasmDir = path.join(root, 'build/wasm');
const dataDir = path.join(root, 'build/native/data');
const WORKER_FILES = ['worker.mjs', 'bnlab.mjs', 'bnlab_core.mjs', 'bnlab_core.wasm'];
// The worker as one classic script with the wasm inlined (wasm/single_file.mjs makes it).
const SINGLE_WORKER = path.join(wasmDir, 'bnlab_worker_single.js');
const MNIST = { train_images: 'mnist-train-images.idx.gz', train_labels: 'mnist-train-labels.idx.gz', test_images: 'mnist-test-images.idx.gz', test_labels: 'mnist-test-labels.idx.gz' };
// Fashion-MNIST's page subset (8,000 / 2,000), fetched only when the learner chooses it; not
// inlined in the single file (4.3 MiB more).
const FASHION = ['train-images', 'train-labels', 'test-images', 'test-labels'].map((p) => `fashion-page-${p}.idx.gz`);
const TARGET = ['chrome109', 'firefox115', 'safari16.4'];

const note = (m) => console.log(`build-web: ${m}`);

// $$...$$ (display) and \(...\) (inline) TeX, rendered once here to MathML: browsers draw it
// natively, so the page ships no KaTeX script, stylesheet or font.
function renderTex(html) {
  const tex = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const render = (s, displayMode) => katex.renderToString(tex(s), { displayMode, output: 'mathml', throwOnError: true });
  return html
    .replace(/\$\$([\s\S]+?)\$\$/g, (_, s) => render(s, true))
    .replace(/\\\(([\s\S]+?)\\\)/g, (_, s) => render(s, false));
}

async function bundle(entry, format, extra = {}) {
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, minify: true, format, target: TARGET, write: false,
    outdir: out, legalComments: 'none', logLevel: 'warning', ...extra,
  });
  const byExt = {};
  for (const f of r.outputFiles) byExt[path.extname(f.path)] = f.text;
  return byExt;
}

function copyIfPresent(from, to) {
  if (!fs.existsSync(from)) return false;
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
  return true;
}

function gzipAll(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) gzipAll(p);
    else if (/\.(html|js|mjs|css|wasm|json)$/.test(e.name)) fs.writeFileSync(`${p}.gz`, zlib.gzipSync(fs.readFileSync(p), { level: 9 }));
  }
}

// The core's option table and presets for the page (web/core-facts.mjs), rewritten
// from the module before the page is bundled: the page's option rows and presets are the
// core's. Without a module the committed file stands (and the page says nothing can train).
const wasm = WORKER_FILES.every((f) => fs.existsSync(path.join(wasmDir, f)));
async function loadBnlab() {
  return (await import(pathToFileURL(path.join(wasmDir, 'bnlab.mjs')).href)).loadBnlab();
}
if (wasm) {
  const factsFile = path.join(web, 'src/core-facts.js');
  const facts = coreFactsSource(await loadBnlab());
  if (!fs.existsSync(factsFile) || fs.readFileSync(factsFile, 'utf8') !== facts) {
    fs.writeFileSync(factsFile, facts);
    note('web/src/core-facts.js rewritten from the core');
  }
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

// The single file's app is one bundle; the served page's is split, so that a part loaded on
// demand (import(), e.g. the code writers of "Show code") is a chunk fetched when first used.
const app = await bundle(path.join(web, 'src/main.js'), 'esm');
const element = await bundle(path.join(web, 'src/element.js'), 'iife');
const served = await esbuild.build({
  entryPoints: { app: path.join(web, 'src/main.js') }, bundle: true, minify: true, format: 'esm', splitting: true,
  chunkNames: 'chunks/[name]-[hash]', target: TARGET, write: false, outdir: out, legalComments: 'none', logLevel: 'warning',
});
for (const f of served.outputFiles) {
  fs.mkdirSync(path.dirname(f.path), { recursive: true });
  fs.writeFileSync(f.path, f.contents);
}
fs.writeFileSync(path.join(out, 'bnlab-element.js'), element['.js']);

// The worker's three modules are minified on the way (Emscripten's glue is only stripped of
// whitespace; esbuild also shortens its local names): 42 -> 29 KiB gzipped, first-load bytes.
// Each stays its own module (the worker imports the others by name), and build/wasm keeps the
// readable copies that node and the tests import.
async function copyWorkerFile(f) {
  const from = path.join(wasmDir, f), to = path.join(out, 'bnlab', f);
  if (!f.endsWith('.mjs')) return copyIfPresent(from, to);
  const r = await esbuild.transform(fs.readFileSync(from, 'utf8'), { minify: true, format: 'esm', target: TARGET, legalComments: 'none' });
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, r.code);
  return true;
}
if (wasm) for (const f of WORKER_FILES) await copyWorkerFile(f);
else note(`the simulation module is missing (${WORKER_FILES.filter((f) => !fs.existsSync(path.join(wasmDir, f))).join(', ')} not in build/wasm): the page will say that nothing can train`);
// The committed multi-seed findings (.ci/findings.mjs writes web/findings.json): fetched by the
// lessons when one is first shown; inline in the single file.
const findingsFile = path.join(web, 'findings.json');
copyIfPresent(findingsFile, path.join(out, 'findings.json'));
const findingsJson = fs.existsSync(findingsFile)
  ? `<script type="application/json" id="findings">${fs.readFileSync(findingsFile, 'utf8').trim().replace(/</g, '\\u003c')}</script>` : '';
const mnist = Object.values(MNIST).every((f) => copyIfPresent(path.join(dataDir, f), path.join(out, 'data', f)));
if (!mnist) note('MNIST .idx.gz files are missing from build/native/data: the page will offer the synthetic datasets');
const fashion = FASHION.every((f) => copyIfPresent(path.join(dataDir, f), path.join(out, 'data', f)));
if (!fashion) note('Fashion-MNIST .idx.gz files are missing from build/native/data: choosing it will say so');

// The core's experiments (name, title, description, default steps), read from the wasm module
// itself so that the lessons offer exactly the experiments the core has. The served page carries
// the list without the descriptions (paragraphs of what each runs and found: 6.5 KiB gzipped of
// the first load's 400 KiB budget), which experiments.json holds for the lesson box that opens
// them; the single file carries all.
let experiments = [];
if (wasm) experiments = (await loadBnlab()).experiments();
const experimentsTag = (list) => `<script type="application/json" id="experiments">${JSON.stringify(list).replace(/</g, '\\u003c')}</script>`;
const experimentsJson = experimentsTag(experiments);
fs.writeFileSync(path.join(out, 'experiments.json'), JSON.stringify(experiments));

const lessons = renderTex(fs.readFileSync(path.join(web, 'lessons.html'), 'utf8').replace(/<!--[\s\S]*?-->\n*/g, ''))
  .replace(/<article /g, '<article hidden ');
const template = fs.readFileSync(path.join(web, 'index.html'), 'utf8').replace('<!--LESSONS-->', lessons);
// The BN inspector's formulas (a <template> its view clones), rendered like the lessons: a file
// of their own on the served page, fetched when the inspector first shows a unit (outside the
// first load's budget); inline in the single file.
const formulas = renderTex(fs.readFileSync(path.join(web, 'inspector-formulas.html'), 'utf8').replace(/<!--[\s\S]*?-->\n*/g, ''));
fs.writeFileSync(path.join(out, 'inspector-formulas.html'), formulas);
const buildInfo = (info) => `<script type="application/json" id="build-info">${JSON.stringify(info)}</script>`;

fs.writeFileSync(path.join(out, 'index.html'), template
  .replace('<!--INSPECTOR-FORMULAS-->', '')
  .replace('<!--STYLE-->', '<link rel="stylesheet" href="app.css">' + (wasm ? '\n<link rel="modulepreload" href="bnlab/worker.mjs">' : ''))
  .replace('<!--BUILD-INFO-->', () => buildInfo({ wasm, mnist, fashion }) + '\n' + experimentsTag(experiments.map(({ description, ...e }) => e)))
  .replace('<!--SCRIPT-->', '<script type="module" src="app.js"></script>'));
gzipAll(out);

// The single file: the single-file worker, the MNIST files as base64, the app and its styles
// inline (a page opened from disk may run inline scripts and start a worker from a Blob).
fs.rmSync(outSingle, { recursive: true, force: true });
fs.mkdirSync(outSingle, { recursive: true });
const single = fs.existsSync(SINGLE_WORKER);
let inlined = '';
if (single) {
  inlined += `<script type="text/plain" id="worker-src">${fs.readFileSync(SINGLE_WORKER, 'utf8').replace(/<\/script/gi, '<\\/script')}</script>\n`;
} else note('no single-file worker (build/wasm/bnlab_worker_single.js): bnlab.html will say that nothing can train');
if (mnist) {
  for (const [part, f] of Object.entries(MNIST)) {
    inlined += `<script type="text/plain" id="data-${part}">${fs.readFileSync(path.join(dataDir, f)).toString('base64')}</script>\n`;
  }
}
fs.writeFileSync(path.join(outSingle, 'bnlab.html'), template
  .replace('<!--INSPECTOR-FORMULAS-->', () => formulas)
  .replace('<!--STYLE-->', () => `<style>${app['.css']}</style>`)
  .replace('<!--BUILD-INFO-->', () => buildInfo({ wasm: single, mnist }) + '\n' + experimentsJson + '\n' + findingsJson + '\n' + inlined)
  .replace('<!--SCRIPT-->', () => `<script type="module">${app['.js'].replace(/<\/script/gi, '<\\/script')}</script>`));

const size = (p) => fs.statSync(p).size;
const gz = (p) => zlib.gzipSync(fs.readFileSync(p), { level: 9 }).length;
const initial = ['index.html', 'app.js', 'app.css', ...(wasm ? WORKER_FILES.map((f) => `bnlab/${f}`) : [])].map((f) => path.join(out, f));
note(`build/web: page ${(initial.reduce((s, p) => s + gz(p), 0) / 1024).toFixed(0)} KiB gzipped before data` +
  (mnist ? `, MNIST ${(Object.values(MNIST).reduce((s, f) => s + size(path.join(out, 'data', f)), 0) / 1024).toFixed(0)} KiB` : '') +
  (fashion ? `, Fashion-MNIST (when chosen) ${(FASHION.reduce((s, f) => s + size(path.join(out, 'data', f)), 0) / 1024).toFixed(0)} KiB` : ''));
note(`build/web-single/bnlab.html: ${(size(path.join(outSingle, 'bnlab.html')) / 1024).toFixed(0)} KiB`);
