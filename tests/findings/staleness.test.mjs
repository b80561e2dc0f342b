// The committed multi-seed findings cannot go stale: for every experiment of every committed
// summary (core/experiments/findings/DATASET.json), one seed (STALENESS_SEED, default 1) is run
// again by today's native build at the committed steps, and each claim's per-seed difference
// a - b (log10(a / b) on a log scale) must lie within the tolerance of the committed values.
//
// Tolerance: the two-sided 99.9% Student t prediction interval of one new seed from the committed
// ones, mean +- t(0.9995, n-1) * sd * sqrt(1 + 1/n), and at least +- the claim's margin. It is
// taken from the spread over seeds, not from one machine's bits: the native build is
// -march=native, so the same seed on an AVX2 and an AVX-512 machine sums in another order and
// may train to other numbers; on the machine that made the summary the rerun usually repeats the
// committed seed exactly (the test prints which). A claim with a figure the committed seeds
// sometimes lacked ("never reached 90%") may lack it here too; one they always had may not.
//
// STALENESS_EXPERIMENTS="lr-sweep landscape" reruns only those (for a quick look by hand; CI
// never sets it). Time: one seed of each of the 12 experiments, two at a time (longest first): about 5 minutes
// on 2 idle cores for MNIST (the committed file's per-experiment seconds / 10 say more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, committed } from '../../.ci/findings.mjs';

const run = promisify(execFile);
const BNLAB = path.join(ROOT, 'build/native/bnlab');
const SEED = Number(process.env.STALENESS_SEED ?? 1);
const PARALLEL = Math.max(1, Math.min(2, os.cpus().length));

// The two-sided 99.9% quantile of Student's t (0.9995), df 1 to 30; above 30 the df-30 value,
// which is larger than the true one (wider, never narrower).
const T9995 = [636.62, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, 4.437, 4.318, 4.221, 4.140,
  4.073, 4.015, 3.965, 3.922, 3.883, 3.850, 3.819, 3.792, 3.768, 3.745, 3.725, 3.707, 3.690, 3.674, 3.659, 3.646];
export const t9995 = (df) => T9995[Math.min(df, 30) - 1];

// [lo, hi] within which one new seed's difference must lie.
export function tolerance(claim) {
  const d = claim.difference;
  const half = Math.max(t9995(d.n - 1) * d.sd * Math.sqrt(1 + 1 / d.n), claim.margin);
  return [d.mean - half, d.mean + half];
}

// Runs `jobs` (functions returning promises) `n` at a time.
async function pool(jobs, n) {
  const results = [];
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

test('the prediction tolerance is the t interval of one new value', () => {
  // Ten values with mean 0 and sd 1: t(0.9995, 9) = 4.781, times sqrt(1.1).
  const c = { margin: 0, difference: { n: 10, mean: 0, sd: 1 } };
  const [lo, hi] = tolerance(c);
  assert.ok(Math.abs(hi - 4.781 * Math.sqrt(1.1)) < 1e-9 && lo === -hi);
  // The margin is the floor: a spread of 0 (every seed the same) still allows the margin.
  assert.deepEqual(tolerance({ margin: 0.05, difference: { n: 10, mean: 0.5, sd: 0 } }), [0.45, 0.55]);
});

for (const [dataset, summary] of Object.entries(committed())) {
  test(`${dataset}: seed ${SEED} of ${process.env.STALENESS_EXPERIMENTS ?? 'every experiment'}, rerun now, lies within the committed findings`, { timeout: 40 * 60 * 1000 }, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `bnlab-staleness-${dataset}-`));
    try {
      // Longest first, so that two at a time end together.
      const only = process.env.STALENESS_EXPERIMENTS?.split(/[ ,]+/);  // by hand only: a subset
      const names = Object.keys(summary.experiments).filter((n) => !only || only.includes(n)).sort((x, y) => (summary.experiments[y].seconds ?? 0) - (summary.experiments[x].seconds ?? 0));
      const datasetArgs = dataset === 'mnist' ? [] : ['--dataset', dataset];
      const reruns = await pool(names.map((name) => async () => {
        const e = summary.experiments[name];
        const dir = path.join(out, name);
        const t0 = Date.now();
        await run(BNLAB, ['experiment', name, '--seeds', String(SEED), '--threads', '1', '--steps', String(e.steps), ...datasetArgs, '--out', dir],
          { maxBuffer: 1 << 24 });
        const seconds = (Date.now() - t0) / 1000;
        return { name, seconds, rerun: JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) };
      }), PARALLEL);
      const problems = [];
      for (const { name, seconds, rerun } of reruns) {
        const e = summary.experiments[name];
        const at = e.seeds.indexOf(SEED);
        const ids = rerun.claims.map((c) => c.id);
        assert.deepEqual(ids, e.claims.map((c) => c.id), `${name}: today's claims differ from the committed ones: rerun .ci/findings.sh`);
        for (const c of e.claims) {
          const now = rerun.claims.find((r) => r.id === c.id).difference.values[0];
          const then = at >= 0 ? c.difference.values[at] : undefined;
          const [lo, hi] = tolerance(c);
          const same = now === then ? 'the committed value exactly' : `committed seed ${SEED}: ${then ?? 'not run'}`;
          console.log(`${dataset} ${name}/${c.id}: ${now} (${same}); tolerance [${lo.toPrecision(4)}, ${hi.toPrecision(4)}]; ${seconds.toFixed(0)} s`);
          if (now === null) {
            if (c.difference.missing === 0) problems.push(`${name}/${c.id}: a figure is missing now, on every committed seed it existed`);
          } else if (!(now >= lo && now <= hi)) {
            problems.push(`${name}/${c.id}: ${now} lies outside [${lo}, ${hi}] (committed mean ${c.difference.mean}, sd ${c.difference.sd}, n ${c.difference.n})`);
          }
        }
      }
      assert.deepEqual(problems, [], 'the committed findings are stale: rerun .ci/findings.sh and commit the summary');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}
