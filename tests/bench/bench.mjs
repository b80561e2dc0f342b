// `npm run bench [-- --json] [-- --quick]`: NUMERICS.md 8's benchmark of BN Lab in three
// runtimes, one after the other in one process tree so that they see the same machine:
//   native         build/native/bnlab bench --json
//   node-wasm      build/wasm in this node process
//   chromium-wasm  build/wasm in a Worker of a page in headless Chromium, served from 127.0.0.1
//   chromium-page  the page itself (build/web) training its default comparison (reference CNN, A
//                  with BN, B without, MNIST) with one worker and with two (web/src/pair-client.js),
//                  one after the other in the same browser: pair steps per second
// All three run the core's refbench.h (the PRNG data and weights, the protocol, the timing), so
// their losses cross-check each other and PyTorch's.
//
//   node tests/bench/bench.mjs [--json] [--quick] [--variant bn|nobn] [--runtimes native,node-wasm,chromium-wasm]
//        [--native-builds native,haswell]
// --json prints one JSON line per (variant, runtime); otherwise a table with the ratios to native.
// --native-builds: the native builds to time (directories under build/; e.g. build/haswell,
// configured with -DBNLAB_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=haswell, the AVX2 build that
// wasm is compared with on an AVX-512 machine); the first is the one ratios are taken to.
// CPU time per step: natively and in node (process.cpuUsage); a browser has no CPU clock.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startServer } from '../../web/serve.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const RUNTIMES = ['native', 'node-wasm', 'chromium-wasm', 'chromium-page'];

function parseArgs(argv) {
  const args = { json: false, quick: false, profile: false, variants: ['bn', 'nobn'], runtimes: ['native', 'node-wasm', 'chromium-wasm', 'chromium-page'], nativeBuilds: ['native'] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--variant' && ['bn', 'nobn'].includes(argv[i + 1])) args.variants = [argv[++i]];
    else if (a === '--runtimes' && argv[i + 1]) args.runtimes = argv[++i].split(',');
    else if (a === '--native-builds' && argv[i + 1]) args.nativeBuilds = argv[++i].split(',');
    else throw new Error(`bench: unexpected argument '${a}' (--json, --quick, --profile, --variant bn|nobn, --runtimes LIST, --native-builds LIST)`);
  }
  for (const r of args.runtimes)
    if (!RUNTIMES.includes(r)) throw new Error(`bench: unknown runtime '${r}'`);
  if (args.runtimes.includes('native'))
    for (const b of args.nativeBuilds)
      if (!existsSync(`${ROOT}build/${b}/bnlab`))
        throw new Error(`bench: no build/${b}/bnlab (build it first; build/haswell: cmake -S . -B build/haswell -DCMAKE_BUILD_TYPE=Release -DBNLAB_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=haswell -DBUILD_TESTING=OFF && cmake --build build/haswell --target bnlab)`);
  return args;
}

// How the wasm build is vectorized (wasm/CMakeLists.txt BNLAB_WASM_SIMD), for the record.
function wasmSimd() {
  const cache = readFileSync(`${ROOT}build/wasm/CMakeCache.txt`, 'utf8');
  return /^BNLAB_WASM_SIMD:\w+=(\w+)$/m.exec(cache)?.[1] ?? 'unknown';
}

// One core's peak for the wasm build, as `bnlab bench` computes it natively (core/measure/
// refbench.h build_peak): GHz x 4 lanes (wasm SIMD) x 4 flops per lane and cycle (two vector
// multiply and two vector add pipes; wasm has no FMA). The clock is the native CLI's measured
// one (`bnlab bench --clock`: a chain of dependent adds), else /proc/cpuinfo's nominal clock;
// null when neither is there. Measured once per run of this script.
let peakOnce;
function wasmPeak() {
  if (peakOnce !== undefined) return peakOnce;
  let ghz = 0, from = 'measured';
  try {
    ghz = JSON.parse(execFileSync(`${ROOT}build/native/bnlab`, ['bench', '--clock', '--json'], { encoding: 'utf8' })).measured_ghz;
  } catch { ghz = 0; }
  if (!(ghz > 0)) {
    from = '/proc/cpuinfo';
    try {
      for (const m of readFileSync('/proc/cpuinfo', 'utf8').matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)) ghz = Math.max(ghz, Number(m[1]) / 1000);
    } catch { ghz = 0; }
  }
  peakOnce = ghz > 0 ? { ghz, gflops: ghz * 4 * 4, from } : null;
  return peakOnce;
}

// A JSON line of NUMERICS.md 8 from a refbench result of the wasm module.
function line(r, runtime, quick, extra) {
  const peak = wasmPeak();
  return {
    framework: 'bnlab', bench: r.variant === 'bn' ? 'ref-cnn' : 'ref-cnn-nobn', variant: r.variant, runtime,
    threads: 1, batch: 32, warmup_steps: r.warmup_steps, timed_steps: r.timed_steps, repeats: r.repeats,
    train_steps_per_s: r.train_steps_per_s, train_steps_per_s_runs: r.train_steps_per_s_runs,
    train_ms_per_step: 1000 / r.train_steps_per_s, train_gflops: r.train_gflops,
    train_cpu_ms_per_step: r.train_cpu_ms_per_step ?? null, train_cpu_ms_per_step_runs: r.train_cpu_ms_per_step_runs ?? [],
    peak_gflops: peak?.gflops ?? null, peak_ghz: peak?.ghz ?? null, peak_ghz_from: peak?.from ?? null, peak_lanes: 4,
    peak_flops_per_lane_cycle: 4, isa: 'wasm-simd128', peak_share: peak ? r.train_gflops / peak.gflops : null,
    eval_batch: 256, eval_images_per_s: r.eval_images_per_s, loss_step1: r.loss_step1,
    loss_after_warmup: r.loss_after_warmup, loss_final: r.loss_final, eval_logit_sum: r.eval_logit_sum,
    quick, ...extra,
  };
}

function runNative(args) {
  const flags = ['bench', '--json', ...(args.quick ? ['--quick'] : [])];
  return args.nativeBuilds.flatMap((build) => args.variants.flatMap((v) => {
    const out = execFileSync(`${ROOT}build/${build}/bnlab`, [...flags, '--variant', v], { encoding: 'utf8' });
    return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => ({ ...JSON.parse(l), build }));
  }));
}

// CPU seconds of this process (user + system), for the node-wasm line's CPU time per step.
const cpuClock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function runNodeWasm(args) {
  const { loadBnlab } = await import(`${ROOT}build/wasm/bnlab.mjs`);
  const lab = await loadBnlab();
  const extra = { engine: `node ${process.versions.node} (V8 ${process.versions.v8})`, simd: wasmSimd() };
  return args.variants.map((v) => line(lab.referenceBench(v, { quick: args.quick, cpuClock }), 'node-wasm', args.quick, extra));
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

// The page's default comparison, timed through its simulation client (window.bnlab.client): warm-up
// steps, then `steps` lockstep pair steps in one `step` request, with everything the page does
// while training (measurements every step, a test every 100 steps, probes every 50), for
// workers=1 and workers=2 alternately, `repeats` times each. One line per worker count.
async function runChromiumPage(args) {
  const server = await startServer(ROOT);
  const browser = await launchChromium();
  const steps = args.quick ? 100 : 400, warmup = 20, repeats = args.quick ? 1 : 3;
  const runs = { 1: [], 2: [] };
  let cores = 0, sweep = [];
  const chunkStats = [];
  const engine = `Chromium ${browser.version()}`;
  try {
    for (let r = 0; r < repeats; ++r) {
      for (const workers of [1, 2]) {
        const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
        await page.goto(`${server.url}/build/web/index.html?workers=${workers}`);
        await page.waitForFunction(() => window.bnlab?.info?.b && window.bnlab.history.sides.b?.last, null, { timeout: 120000 });
        const got = await page.evaluate(async ({ steps, warmup }) => {
          const client = window.bnlab.client;
          await client.request('step', { n: warmup });
          const before = { ...client.stats };
          const t0 = performance.now();
          const snap = await client.request('step', { n: steps });
          const seconds = (performance.now() - t0) / 1000;
          // Two workers: where the time went, per chunk (PairRunClient.stats).
          const stats = client.stats && Object.fromEntries(Object.entries(client.stats).map(([k, v]) => [k, v - before[k]]));
          return { workers: client.workers, cores: navigator.hardwareConcurrency, seconds, stats,
                   at: [window.bnlab.history.sides.a.last.step, window.bnlab.history.sides.b.last.step], playing: snap.playing };
        }, { steps, warmup });
        if (got.workers !== workers) throw new Error(`chromium-page: asked for ${workers} workers, the page used ${got.workers}`);
        if (got.at[0] !== warmup + steps || got.at[1] !== warmup + steps) throw new Error(`chromium-page: the sides stopped at steps ${got.at}, not ${warmup + steps}`);
        runs[workers].push(steps / got.seconds);
        if (got.stats) chunkStats.push(got.stats);
        cores = got.cores;
        await page.close();
      }
    }
    sweep = await timeSweep(server, browser, args.quick);
  } finally {
    await browser.close();
    await server.close();
  }
  return [...[1, 2].map((workers) => ({
    framework: 'bnlab', bench: 'page-pair', variant: 'ref-cnn bn vs none, mnist', runtime: 'chromium-page', workers,
    hardware_concurrency: cores, warmup_steps: warmup, timed_steps: steps, repeats,
    pair_steps_per_s: Math.max(...runs[workers]), pair_steps_per_s_runs: runs[workers],
    speedup_vs_one_worker: Math.max(...runs[workers]) / Math.max(...runs[1]),
    // Two workers, each run: its chunks, steps per chunk and ms per chunk busy (start to the last
    // reply), spread (first reply to last) and gap (last reply to the next chunk).
    ...(workers === 2 ? { chunks: chunkStats.map((c) => ({ chunks: c.chunks, steps_per_chunk: c.steps / c.chunks,
      busy_ms: c.busy_ms / c.chunks, spread_ms: c.spread_ms / c.chunks, gap_ms: c.gap_ms / Math.max(1, c.chunks - 1) })) } : {}),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number), engine, quick: args.quick,
  })), ...sweep];
}

// The lr-sweep lesson's experiment (7 rates x BN / none, sigmoid MLP on MNIST; --quick: 100
// steps per run instead of 500) run by the page: in its one worker (workers=1), then on the pool
// (web/src/pool.js), in the same browser. Wall time, the pool's heap per worker, how many of its
// workers were the page's own, and its timeline (each unit's start and end on its worker, and the
// combination, ms since the sweep began). The sweep starts once the page has warmed the workers
// for the lesson's sweep (Controller.warmSweep: a one-step part in each, while a learner reads the
// lesson), in both variants; warm_ms is how long that took.
async function timeSweep(server, browser, quick) {
  const steps = quick ? 100 : 0;
  const out = [];
  const engine = `Chromium ${browser.version()}`;
  let oneWorker = 0;
  for (const workers of ['1', 'auto']) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/build/web/index.html?workers=${workers}&lesson=high-lr`);
    await page.waitForFunction(() => window.bnlab?.info?.a && window.bnlab.history.sides.a?.last, null, { timeout: 120000 });
    const got = await page.evaluate(async (steps) => {
      const warm = await window.bnlab.warming;
      const t0 = performance.now();
      const r = await window.bnlab.runExperiment('lr-sweep', null, steps);
      return { seconds: (performance.now() - t0) / 1000, warmMs: warm?.ms ?? null, pool: r.pool ?? { workers: 1 }, summary: r.summary, cores: navigator.hardwareConcurrency };
    }, steps);
    await page.close();
    if (workers === '1') oneWorker = got.seconds;
    out.push({
      framework: 'bnlab', bench: 'page-sweep', variant: 'lr-sweep', runtime: 'chromium-page', workers: got.pool.workers,
      hardware_concurrency: got.cores, steps_per_run: steps || 500, wall_s: got.seconds, vs_one_worker: got.seconds / oneWorker, warm_ms: got.warmMs,
      heap_bytes_per_worker: got.pool.heap_bytes ?? null, reused_workers: got.pool.reused ?? null,
      timeline_ms: got.pool.timeline ?? null, summary: got.summary,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number), engine, quick,
    });
  }
  return out;
}

const RUNNERS = { native: runNative, 'node-wasm': runNodeWasm, 'chromium-wasm': runChromiumWasm, 'chromium-page': runChromiumPage };

// --profile: the reference step taken apart (core/measure/refbench.h StepProfile), natively (CPU
// time), in node (wasm, CPU time) and in Chromium's worker (wall time: a browser has no CPU
// clock), one after the other; a table of each part's ms and the ratios to native.
async function profile(args) {
  const native = args.variants.map((v) => JSON.parse(execFileSync(`${ROOT}build/${args.nativeBuilds[0]}/bnlab`,
    ['bench', '--profile', '--json', '--variant', v, ...(args.quick ? ['--quick'] : [])], { encoding: 'utf8' }).trim()));
  const { loadBnlab } = await import(`${ROOT}build/wasm/bnlab.mjs`);
  const lab = await loadBnlab();
  const nodeWasm = args.variants.map((v) => lab.referenceProfile(v, { steps: args.quick ? 20 : 300, cpuClock }));
  const server = await startServer(ROOT);
  const browser = await launchChromium();
  let wasm;
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/tests/bench/chromium.html?variants=${args.variants.join(',')}&quick=${args.quick ? 1 : 0}&profile=1`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 15 * 60 * 1000, polling: 500 });
    const result = await page.evaluate(() => window.benchResult);
    if (result.error) throw new Error(`chromium profile: ${result.error}`);
    wasm = result.results;
  } finally {
    await browser.close();
    await server.close();
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  for (let i = 0; i < native.length; ++i) {
    const n = native[i], v = nodeWasm[i], w = wasm[i];
    if (args.json) {
      console.log(JSON.stringify({ ...n, build: args.nativeBuilds[0], load }));
      console.log(JSON.stringify({ framework: 'bnlab', bench: 'profile', runtime: 'node-wasm', simd: wasmSimd(), load, ...v }));
      console.log(JSON.stringify({ framework: 'bnlab', bench: 'profile', runtime: 'chromium-wasm', simd: wasmSimd(), load, ...w }));
      continue;
    }
    console.log(`${n.variant}: native (build/${args.nativeBuilds[0]}, CPU) ${n.step_ms.toFixed(3)} ms/step (whole ${n.trainer_step_ms.toFixed(3)}), ` +
                `node wasm (CPU) ${v.step_ms.toFixed(3)} (whole ${v.trainer_step_ms.toFixed(3)}), ` +
                `chromium wasm (wall) ${w.step_ms.toFixed(3)} (whole ${w.trainer_step_ms.toFixed(3)}); load ${load.join(' ')}`);
    console.log('part                      native ms  node-wasm ms  chromium ms  node/native  share of node step');
    for (let k = 0; k < n.parts.length; ++k) {
      const a = n.parts[k].ms, b = v.parts[k].ms, c = w.parts[k].ms;
      console.log(`${n.parts[k].part.padEnd(24)} ${a.toFixed(4).padStart(10)} ${b.toFixed(4).padStart(13)} ${c.toFixed(4).padStart(12)} ` +
                  `${(b / a).toFixed(2).padStart(12)} ${(100 * b / v.step_ms).toFixed(1).padStart(12)}%`);
    }
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.profile) {
  await profile(args);
  process.exit(0);
}
const lines = [];
for (const runtime of args.runtimes) {
  if (!args.json) console.error(`bench: ${runtime}...`);
  for (const l of await RUNNERS[runtime](args)) {
    lines.push(l);
    if (args.json) console.log(JSON.stringify(l));
  }
}
if (!args.json) {
  const native = Object.fromEntries(lines.filter((l) => l.runtime === 'native' && l.build === args.nativeBuilds[0]).map((l) => [l.variant, l]));
  const f = (x, d = 1) => (x ?? NaN).toFixed(d).padStart(8);
  console.log(`vs native: steps/s (wall) and CPU time per step against build/${args.nativeBuilds[0]}; % peak: of one core's (bnlab bench)`);
  console.log('bench          runtime         steps/s  ms/step cpu ms/st  GFLOP/s  % peak  eval img/s  vs native  cpu vs nat  loss@1    loss@warmup  loss@end');
  for (const l of lines.filter((l) => l.bench === 'page-pair')) {
    console.log(`page, ${l.workers} worker(s): ${l.pair_steps_per_s.toFixed(1)} pair steps/s (x${l.speedup_vs_one_worker.toFixed(2)}; runs ${l.pair_steps_per_s_runs.map((v) => v.toFixed(1)).join(', ')})`);
    for (const c of l.chunks ?? []) console.log(`  ${c.chunks} chunks of ${c.steps_per_chunk.toFixed(1)} steps: busy ${c.busy_ms.toFixed(1)} ms (spread ${c.spread_ms.toFixed(1)}), gap ${c.gap_ms.toFixed(1)} ms`);
  }
  for (const l of lines.filter((l) => l.bench === 'page-sweep')) {
    console.log(`lr-sweep, ${l.workers} worker(s): ${l.wall_s.toFixed(1)} s (x${l.vs_one_worker.toFixed(2)} of one worker; warmed ahead in ${l.warm_ms?.toFixed(0) ?? '-'} ms)`);
    if (l.timeline_ms) {
      const units = l.timeline_ms.units.map((u) => `${u.unit}@w${u.worker} ${u.start.toFixed(0)}-${u.end.toFixed(0)}`).join(', ');
      console.log(`  ${l.reused_workers} of the page's workers reused; ms: ${units}; combined ${l.timeline_ms.combine.start.toFixed(0)}-${l.timeline_ms.combine.end.toFixed(0)}`);
    }
  }
  for (const l of lines.filter((l) => !l.bench.startsWith('page-'))) {
    const n = native[l.variant];
    const ratio = n ? `x${(l.train_steps_per_s / n.train_steps_per_s).toFixed(2)}` : '';
    const cpuRatio = n && l.train_cpu_ms_per_step ? `x${(n.train_cpu_ms_per_step / l.train_cpu_ms_per_step).toFixed(2)}` : '';
    const runtime = l.runtime === 'native' ? `native ${l.build}` : l.runtime;
    console.log(`${l.bench.padEnd(14)} ${runtime.padEnd(14)} ${f(l.train_steps_per_s)} ${f(l.train_ms_per_step, 2)} ${f(l.train_cpu_ms_per_step, 3)} ` +
                `${f(l.train_gflops, 2)} ${f(100 * l.peak_share)} ${f(l.eval_images_per_s, 0).padStart(11)} ${ratio.padStart(10)} ${cpuRatio.padStart(10)}  ` +
                `${l.loss_step1.toFixed(6)}  ${l.loss_after_warmup.toPrecision(4).padStart(11)}  ${l.loss_final.toPrecision(4)}`);
  }
}
