// `npm run bench [-- --json] [-- --quick]`: NUMERICS.md 8's benchmark of BN Lab in three
// runtimes, one after the other in one process tree so that they see the same machine:
//   native         build/native/bnlab bench --json
//   node-wasm      build/wasm in this node process
//   chromium-wasm  build/wasm in a Worker of a page in headless Chromium, served from 127.0.0.1
// All three run the core's refbench.h (the PRNG data and weights, the protocol, the timing), so
// their losses cross-check each other and PyTorch's.
//
//   node tests/bench/bench.mjs [--json] [--quick] [--variant bn|nobn] [--runtimes native,node-wasm,chromium-wasm]
// --json prints one JSON line per (variant, runtime); otherwise a table with the ratios to native.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startServer } from '../../web/serve.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GFLOP_PER_STEP = 0.06033408;  // NUMERICS.md 7: 60.33 MFLOP per training step

function parseArgs(argv) {
  const args = { json: false, quick: false, variants: ['bn', 'nobn'], runtimes: ['native', 'node-wasm', 'chromium-wasm'] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--variant' && ['bn', 'nobn'].includes(argv[i + 1])) args.variants = [argv[++i]];
    else if (a === '--runtimes' && argv[i + 1]) args.runtimes = argv[++i].split(',');
    else throw new Error(`bench: unexpected argument '${a}' (--json, --quick, --variant bn|nobn, --runtimes LIST)`);
  }
  for (const r of args.runtimes)
    if (!['native', 'node-wasm', 'chromium-wasm'].includes(r)) throw new Error(`bench: unknown runtime '${r}'`);
  return args;
}

// How the wasm build is vectorized (wasm/CMakeLists.txt BNLAB_WASM_SIMD), for the record.
function wasmSimd() {
  const cache = readFileSync(`${ROOT}build/wasm/CMakeCache.txt`, 'utf8');
  return /^BNLAB_WASM_SIMD:\w+=(\w+)$/m.exec(cache)?.[1] ?? 'unknown';
}

// A JSON line of NUMERICS.md 8 from a refbench result of the wasm module.
function line(r, runtime, quick, extra) {
  return {
    framework: 'bnlab', bench: r.variant === 'bn' ? 'ref-cnn' : 'ref-cnn-nobn', variant: r.variant, runtime,
    threads: 1, batch: 32, warmup_steps: r.warmup_steps, timed_steps: r.timed_steps, repeats: r.repeats,
    train_steps_per_s: r.train_steps_per_s, train_steps_per_s_runs: r.train_steps_per_s_runs,
    train_ms_per_step: 1000 / r.train_steps_per_s, train_gflops: r.train_steps_per_s * GFLOP_PER_STEP,
    eval_batch: 256, eval_images_per_s: r.eval_images_per_s, loss_step1: r.loss_step1,
    loss_after_warmup: r.loss_after_warmup, loss_final: r.loss_final, eval_logit_sum: r.eval_logit_sum,
    quick, ...extra,
  };
}

function runNative(args) {
  const flags = ['bench', '--json', ...(args.quick ? ['--quick'] : [])];
  return args.variants.flatMap((v) => {
    const out = execFileSync(`${ROOT}build/native/bnlab`, [...flags, '--variant', v], { encoding: 'utf8' });
    return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  });
}

async function runNodeWasm(args) {
  const { loadBnlab } = await import(`${ROOT}build/wasm/bnlab.mjs`);
  const lab = await loadBnlab();
  const extra = { engine: `node ${process.versions.node} (V8 ${process.versions.v8})`, simd: wasmSimd() };
  return args.variants.map((v) => line(lab.referenceBench(v, { quick: args.quick }), 'node-wasm', args.quick, extra));
}

async function runChromiumWasm(args) {
  const server = await startServer(ROOT);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const query = `variants=${args.variants.join(',')}&quick=${args.quick ? 1 : 0}`;
    await page.goto(`${server.url}/tests/bench/chromium.html?${query}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 15 * 60 * 1000, polling: 500 });
    const result = await page.evaluate(() => window.benchResult);
    if (result.error) throw new Error(`chromium-wasm: ${result.error}`);
    const extra = { engine: `Chromium ${browser.version()}`, simd: wasmSimd(), in_worker: true };
    return result.results.map((r) => line(r, 'chromium-wasm', args.quick, extra));
  } finally {
    await browser.close();
    await server.close();
  }
}

const RUNNERS = { native: runNative, 'node-wasm': runNodeWasm, 'chromium-wasm': runChromiumWasm };

const args = parseArgs(process.argv.slice(2));
const lines = [];
for (const runtime of args.runtimes) {
  if (!args.json) console.error(`bench: ${runtime}...`);
  for (const l of await RUNNERS[runtime](args)) {
    lines.push(l);
    if (args.json) console.log(JSON.stringify(l));
  }
}
if (!args.json) {
  const native = Object.fromEntries(lines.filter((l) => l.runtime === 'native').map((l) => [l.variant, l]));
  const f = (x, d = 1) => x.toFixed(d).padStart(8);
  console.log('bench          runtime         steps/s  ms/step  GFLOP/s  eval img/s  vs native  loss@1    loss@warmup  loss@end');
  for (const l of lines) {
    const ratio = native[l.variant] ? `x${(l.train_steps_per_s / native[l.variant].train_steps_per_s).toFixed(2)}` : '';
    console.log(`${l.bench.padEnd(14)} ${l.runtime.padEnd(14)} ${f(l.train_steps_per_s)} ${f(l.train_ms_per_step, 2)} ` +
                `${f(l.train_gflops, 2)} ${f(l.eval_images_per_s, 0).padStart(11)} ${ratio.padStart(10)}  ` +
                `${l.loss_step1.toFixed(6)}  ${l.loss_after_warmup.toPrecision(4).padStart(11)}  ${l.loss_final.toPrecision(4)}`);
  }
}
