// BN Lab natively against PyTorch on one thread, the reference CNN of NUMERICS.md 8: runs
// `bnlab bench --json` and PyTorch's harness (torch_ref.py of the competitor baselines, which
// draws the same data and weights) alternately, `rounds` times each, and compares the best run
// of each side (these shared machines drift by tens of percent from minute to minute; the best
// of alternating runs is the least disturbed figure of each).
//
//   node tests/bench/vs_torch.mjs --torch PATH/torch_ref.py [--python /usr/bin/python3]
//        [--builds native,haswell] [--variant bn|nobn] [--rounds 3] [--quick] [--json]
// --builds: directories under build/ holding a bnlab (e.g. build/haswell, configured with
// -DBNLAB_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=haswell), each timed in every round.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function parseArgs(argv) {
  const args = { torch: process.env.BNLAB_TORCH_REF ?? '', python: process.env.PYTHON ?? '/usr/bin/python3',
    builds: ['native'], variants: ['bn', 'nobn'], rounds: 3, quick: false, json: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = argv[i + 1];
    if (a === '--torch' && next) args.torch = argv[++i];
    else if (a === '--python' && next) args.python = argv[++i];
    else if (a === '--builds' && next) args.builds = argv[++i].split(',');
    else if (a === '--variant' && ['bn', 'nobn'].includes(next)) args.variants = [argv[++i]];
    else if (a === '--rounds' && Number.isInteger(Number(next)) && Number(next) >= 1) args.rounds = Number(argv[++i]);
    else if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = true;
    else throw new Error(`vs_torch: unexpected argument '${a}' (--torch PATH, --python PATH, --builds LIST, --variant bn|nobn, --rounds N, --quick, --json)`);
  }
  if (!args.torch || !existsSync(args.torch))
    throw new Error(`vs_torch: PyTorch's harness not found ('${args.torch}'): pass --torch PATH/torch_ref.py or set BNLAB_TORCH_REF`);
  for (const b of args.builds)
    if (!existsSync(`${ROOT}build/${b}/bnlab`)) throw new Error(`vs_torch: no build/${b}/bnlab (build it first)`);
  return args;
}

const jsonLines = (out) => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

function bnlab(build, variant, quick) {
  const out = execFileSync(`${ROOT}build/${build}/bnlab`, ['bench', '--json', '--variant', variant, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
  return jsonLines(out)[0];
}

function torch(args, variant) {
  const out = execFileSync(args.python, [args.torch, '--threads', '1', '--variants', variant, ...(args.quick ? ['--quick'] : [])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = jsonLines(out).find((l) => l.threads === 1 && l.variant === variant);
  if (!line) throw new Error(`vs_torch: PyTorch's harness printed no line for ${variant} on one thread`);
  return line;
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

const args = parseArgs(process.argv.slice(2));
for (const variant of args.variants) {
  const runs = Object.fromEntries([...args.builds, 'torch'].map((k) => [k, []]));
  const native = {};
  const loads = [load()];
  for (let r = 0; r < args.rounds; ++r) {
    for (const b of args.builds) {
      const l = bnlab(b, variant, args.quick);
      runs[b].push(l.train_steps_per_s);
      if (!native[b] || l.train_steps_per_s > native[b].train_steps_per_s) native[b] = l;
    }
    runs.torch.push(torch(args, variant).train_steps_per_s);
    loads.push(load());
  }
  const best = (k) => Math.max(...runs[k]);
  const result = {
    framework: 'bnlab', bench: 'vs-torch', variant, threads: 1, rounds: args.rounds, quick: args.quick,
    torch_steps_per_s_runs: runs.torch, torch_best: best('torch'), load: loads,
    builds: Object.fromEntries(args.builds.map((b) => [b, {
      isa: native[b].isa, steps_per_s_runs: runs[b], best: best(b), vs_torch: best(b) / best('torch'),
      gflops: native[b].train_gflops, peak_gflops: native[b].peak_gflops, peak_share: native[b].peak_share,
      cpu_ms_per_step: native[b].train_cpu_ms_per_step,
    }])),
  };
  if (args.json) console.log(JSON.stringify(result));
  else {
    console.log(`${variant}: PyTorch (1 thread) ${runs.torch.map((v) => v.toFixed(1)).join(', ')} steps/s, best ${best('torch').toFixed(1)}; load ${loads.map((l) => l[0]).join(' -> ')}`);
    for (const b of args.builds) {
      const n = result.builds[b];
      console.log(`  ${b} (${n.isa}): ${runs[b].map((v) => v.toFixed(1)).join(', ')} steps/s, best ${n.best.toFixed(1)}: x${n.vs_torch.toFixed(2)} PyTorch; ` +
                  `${n.gflops.toFixed(1)} GFLOP/s = ${(100 * n.peak_share).toFixed(1)}% of ${n.peak_gflops.toFixed(0)}`);
    }
  }
}
