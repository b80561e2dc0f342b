// The lessons: predict -> run -> result. Choosing a lesson applies its preset (the controller
// does that); here each lesson gets a "Run" button that takes its steps from step 0, and a result
// that quotes what this run measured, the literature's claim and whether the two agree. Every
// number quoted is a <data> element whose data-source says where in the History it was read (the
// browser test reads the same place and compares). The numbers come from the snapshots; this file
// only picks, averages and compares them.
import { pct, targetOf } from './views/metrics.js';
import { fmt } from './views/line-chart.js';
import { BANDS, GRAD_NORM, ICS_COS, ICS_L2, LANDSCAPE_GRAD, LANDSCAPE_LOSS, normStat } from './views/measures.js';

const CLEAR = 0.02;  // accuracy differences under 2 points are "no clear difference" in one run

// --- Reading the History, by source ------------------------------------------------------------
// A source is plain data: {side, eval: step, mode: 'eval'|'train', key} | {side, batches: key,
// last: n} | {side, measure, step, index} | {side, measure, field, mean: true} |
// {side, measure, index, mean: true}.
export function read(history, src) {
  const h = history.sides[src.side];
  if (!h) return undefined;
  if (src.eval !== undefined) return h.evals.find((e) => e.step === src.eval)?.[src.mode][src.key];
  if (src.batches) {
    const v = h[src.batches].view();
    const part = v.subarray(Math.max(0, v.length - src.last));
    return part.reduce((p, q) => p + q, 0) / part.length;
  }
  // The BN inspector's trace of the last step (side.trace of the newest snapshot).
  if (src.trace) return h.last?.trace?.step === src.step ? h.last.trace[src.trace] : undefined;
  const rows = h.measureRows.map((r, i) => [h.measureSteps[i], r[src.measure]]).filter(([, m]) => m?.data.length);
  const value = ([, m]) => (src.field ? m[src.field] : m.data[src.index]);
  if (src.mean) return rows.reduce((p, r) => p + value(r), 0) / rows.length;
  const row = rows.find(([step, m]) => (m.step ?? step) === src.step);
  return row && value(row);
}

// --- The result kinds ----------------------------------------------------------------------------
// Each gets {history, sides, labels, steps, info, choices} and returns {text: [strings and
// quote()s], verdict, outcome, rule}. verdict: 'agrees' | 'disagrees' | 'unclear' (the run against
// the literature's claim). outcome: the value of the lesson's answer (its radio button) that this
// run bears out, which grades the learner's prediction; rule: how "about the same" was decided.
const SAME = 1.5;  // measures without a natural unit: "about the same" within this factor
const LEARNED = 0.5;  // a network "learns" when its test accuracy reaches this
const larger = (a, b) => (a > SAME * b ? 'a' : b > SAME * a ? 'b' : 'same');
const SAME_RULE = `"about the same" means within a factor ${SAME}`;
const CLEAR_RULE = `"about the same" means within ${100 * CLEAR} accuracy points`;

const lastEvalStep = (history, side) => history.sides[side]?.evals.at(-1)?.step;

const KINDS = {
  running: ({ history, q }) => {
    const step = history.sides.a.last.step;
    const src = (stat) => ({ side: 'a', measure: normStat('bn1', stat), step, index: 0 });
    const mu = read(history, src('batch_mean')), run = read(history, src('running_mean'));
    const ratio = run / mu;
    return {
      text: ['After step ', String(step), ', bn1 channel 0: batch mean ', q(mu, src('batch_mean'), fmt), ', running mean ', q(run, src('running_mean'), fmt),
        `: the running mean went ${(100 * ratio).toFixed(1)}% of the way from 0.`],
      verdict: Math.abs(ratio - 0.1) < 1e-3 ? 'agrees' : 'disagrees',
      outcome: Math.abs(ratio - 0.1) < 1e-3 ? 'tenth' : Math.abs(ratio - 1) < 1e-3 ? 'batch' : Math.abs(run) < 1e-6 ? 'zero' : null,
    };
  },

  final: ({ history, sides, labels, q, expect = 'a', choices = [] }) => {
    const acc = Object.fromEntries(sides.map((s) => [s, read(history, { side: s, eval: lastEvalStep(history, s), mode: 'eval', key: 'accuracy' })]));
    const text = ['Test accuracy (eval mode) at the end: '];
    sides.forEach((s, i) => text.push(i ? '; ' : '', `${labels[s]} `, q(acc[s], { side: s, eval: lastEvalStep(history, s), mode: 'eval', key: 'accuracy' }, pct)));
    text.push('.');
    const d = acc.a - acc.b;
    const winner = d >= CLEAR ? 'a' : d <= -CLEAR ? 'b' : 'same';
    const verdict = winner === expect ? 'agrees' : winner === 'same' ? 'unclear' : 'disagrees';
    // "Which network learns" (answers both / neither): each against LEARNED; else which is better.
    if (choices.includes('both')) {
      const learned = { a: acc.a >= LEARNED, b: acc.b >= LEARNED };
      const outcome = learned.a && learned.b ? 'both' : learned.a ? 'a' : learned.b ? 'b' : 'neither';
      return { text, verdict, outcome, rule: `a network "learns" here when its test accuracy reaches ${100 * LEARNED}%` };
    }
    return { text, verdict, outcome: winner, rule: CLEAR_RULE };
  },

  first: ({ history, sides, labels, q, dataset }) => {
    const target = targetOf({ dataset }), name = `${Math.round(100 * target)}%`;
    const text = [];
    const first = {};
    for (const s of sides) {
      const e = history.sides[s].evals.find((x) => x.eval.accuracy >= target);
      first[s] = e ? e.step : Infinity;
      const last = lastEvalStep(history, s);
      text.push(text.length ? '; ' : '', `${labels[s]}: `, ...(e
        ? [`passed ${name} at step `, String(e.step), ' (', q(e.eval.accuracy, { side: s, eval: e.step, mode: 'eval', key: 'accuracy' }, pct), ')']
        : [`not ${name} by step `, String(last), ' (', q(read(history, { side: s, eval: last, mode: 'eval', key: 'accuracy' }), { side: s, eval: last, mode: 'eval', key: 'accuracy' }, pct), ')']));
    }
    text.push('.');
    const verdict = first.a < first.b ? 'agrees' : first.a === first.b ? 'unclear' : 'disagrees';
    return { text, verdict, outcome: first.a < first.b ? 'a' : first.b < first.a ? 'b' : 'same' };
  },

  // The median of the last hidden activation's input (Ioffe & Szegedy's Figure 1), first vs last probe.
  drift: ({ history, sides, labels, q }) => {
    const text = ['Median of the unit\'s input, first probe to last: '];
    const drift = {};
    for (const s of sides) {
      const h = history.sides[s];
      const rows = h.measureRows.map((r, i) => [h.measureSteps[i], r[BANDS]]).filter(([, m]) => m?.data.length);
      const [s0, m0] = rows[0], [s1, m1] = rows.at(-1);
      const index = (m0.layers.length - 1) * 5 + 2;
      const a = m0.data[index], b = m1.data[index];
      drift[s] = Math.abs(b - a);
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} `, q(a, { side: s, measure: BANDS, step: m0.step ?? s0, index }, fmt),
        ` (step ${m0.step ?? s0}) to `, q(b, { side: s, measure: BANDS, step: m1.step ?? s1, index }, fmt), ` (step ${m1.step ?? s1}), a move of ${fmt(drift[s])}`);
    }
    text.push('.');
    return { text, verdict: drift.a < drift.b / 2 ? 'agrees' : drift.a > drift.b ? 'disagrees' : 'unclear', outcome: larger(drift.a, drift.b), rule: SAME_RULE };
  },

  // Santurkar et al. claim BN does not reduce gradient ICS: "agrees" when A's is not smaller.
  ics: ({ history, sides, labels, q }) => {
    const text = ['Mean over the probes, last layer with weights: '];
    const l2 = {};
    for (const s of sides) {
      const entry = history.sides[s].latest(ICS_L2);
      const index = entry.layers.length - 1;
      l2[s] = read(history, { side: s, measure: ICS_L2, index, mean: true });
      const cos = read(history, { side: s, measure: ICS_COS, index, mean: true });
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} ${entry.layers[index]}: ||G - G'|| `, q(l2[s], { side: s, measure: ICS_L2, index, mean: true }, fmt),
        ', cos ', q(cos, { side: s, measure: ICS_COS, index, mean: true }, fmt));
    }
    text.push('.');
    return { text, verdict: l2.a >= l2.b ? 'agrees' : 'disagrees', outcome: larger(l2.a, l2.b), rule: SAME_RULE };
  },

  landscape: ({ history, sides, labels, q }) => {
    const text = ['Mean over the probes: '];
    const range = {}, beta = {};
    for (const s of sides) {
      const src = (measure, field) => ({ side: s, measure, field, mean: true });
      const hi = read(history, src(LANDSCAPE_LOSS, 'loss_max')), lo = read(history, src(LANDSCAPE_LOSS, 'loss_min'));
      beta[s] = read(history, src(LANDSCAPE_GRAD, 'beta_smoothness'));
      range[s] = hi - lo;
      text.push(s === sides[0] ? '' : '; ', `${labels[s]}: loss `, q(lo, src(LANDSCAPE_LOSS, 'loss_min'), fmt), ' to ', q(hi, src(LANDSCAPE_LOSS, 'loss_max'), fmt),
        ` (range ${fmt(range[s])}), beta-smoothness `, q(beta[s], src(LANDSCAPE_GRAD, 'beta_smoothness'), fmt));
    }
    text.push('.');
    const both = range.a < range.b && beta.a < beta.b, neither = range.a >= range.b && beta.a >= beta.b;
    // Narrower with BN (a), without (b): the loss range.
    return { text, verdict: both ? 'agrees' : neither ? 'disagrees' : 'unclear', outcome: larger(range.b, range.a), rule: `${SAME_RULE} (of the loss range)` };
  },

  // Train accuracy (the last 50 batches) minus test accuracy (last evaluation).
  gap: ({ history, sides, labels, q }) => {
    const text = ['Training accuracy (mean of the last 50 batches) vs test accuracy: '];
    const gap = {};
    for (const s of sides) {
      const train = read(history, { side: s, batches: 'accuracy', last: 50 });
      const step = lastEvalStep(history, s);
      const test = read(history, { side: s, eval: step, mode: 'eval', key: 'accuracy' });
      gap[s] = train - test;
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} `, q(train, { side: s, batches: 'accuracy', last: 50 }, pct), ' vs ', q(test, { side: s, eval: step, mode: 'eval', key: 'accuracy' }, pct),
        `, a gap of ${(100 * gap[s]).toFixed(1)} points`);
    }
    text.push('.');
    return { text, verdict: gap.a < gap.b - CLEAR ? 'agrees' : gap.a > gap.b - CLEAR && gap.a < gap.b + CLEAR ? 'unclear' : 'disagrees',
      outcome: gap.a < gap.b - CLEAR ? 'a' : gap.b < gap.a - CLEAR ? 'b' : 'same', rule: CLEAR_RULE };
  },

  // First over last layer's gradient norm after the step: 1 is "the same at every depth".
  // The BN inspector's unit: train-mode y against eval-mode y for the same input (lesson 16).
  trace: ({ history, q }) => {
    const t = history.sides.a.last?.trace;
    if (!t || t.error) return { text: [`The inspector has no trace${t?.error ? `: ${t.error}` : ''}.`], verdict: 'unclear' };
    const src = (key) => ({ side: 'a', trace: key, step: t.step });
    const text = [`After step ${t.step}, ${t.layer} sample ${t.n}, channel ${t.c}: x `, q(t.x, src('x'), fmt), ', batch mean ', q(t.mean, src('mean'), fmt),
      ' against running mean ', q(t.running_mean, src('running_mean'), fmt), '; train-mode y ', q(t.y, src('y'), fmt), ', eval-mode y ',
      q(t.y_eval, src('y_eval'), fmt), ` (γ ${fmt(t.gamma)} and β ${fmt(t.beta)} the same in both).`];
    // Different outputs beyond float rounding: the statistics, the only thing that differs, lag.
    const differ = Math.abs(t.y - t.y_eval) > 1e-3 * Math.max(1, Math.abs(t.y));
    // γ and β are the same in both modes (the trace's), so a difference is the statistics' lag.
    return { text, verdict: differ ? 'agrees' : 'disagrees', outcome: differ ? 'lag' : 'same' };
  },

  gradratio: ({ history, sides, labels, q }) => {
    const text = ['Gradient norm of the first and the last layer: '];
    const off = {}, ratio = {};
    for (const s of sides) {
      const e = history.sides[s].latest(GRAD_NORM), step = history.sides[s].last.step, n = e.layers.length;
      const first = read(history, { side: s, measure: GRAD_NORM, step, index: 0 }), last = read(history, { side: s, measure: GRAD_NORM, step, index: n - 1 });
      off[s] = Math.abs(Math.log10(first / last));
      ratio[s] = first / last;
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} ${e.layers[0]} `, q(first, { side: s, measure: GRAD_NORM, step, index: 0 }, fmt), `, ${e.layers[n - 1]} `,
        q(last, { side: s, measure: GRAD_NORM, step, index: n - 1 }, fmt), ` (ratio ${fmt(first / last)})`);
    }
    text.push('.');
    return { text, verdict: off.a < off.b ? 'agrees' : 'disagrees', outcome: larger(ratio.a, ratio.b), rule: `${SAME_RULE} (of the ratio)` };
  },

  // Batch size 2: BN's training accuracy as well as its test accuracy in both modes.
  smallbatch: ({ history, sides, labels, q }) => {
    const text = [];
    const train = {}, test = {};
    for (const s of sides) {
      const step = lastEvalStep(history, s);
      test[s] = read(history, { side: s, eval: step, mode: 'eval', key: 'accuracy' });
      train[s] = read(history, { side: s, batches: 'accuracy', last: 50 });
      const ev = (mode) => q(read(history, { side: s, eval: step, mode, key: 'accuracy' }), { side: s, eval: step, mode, key: 'accuracy' }, pct);
      text.push(s === sides[0] ? '' : '; ', `${labels[s]}: training batches `, q(train[s], { side: s, batches: 'accuracy', last: 50 }, pct), ', test ', ev('eval'), ' in eval mode, ', ev('train'), ' in train mode');
    }
    text.push('.');
    // Fails (10 points or more behind the other network) in training, only at test time, or not.
    const outcome = train.a < train.b - 0.1 ? 'train' : test.a < test.b - 0.1 ? 'test' : 'none';
    return { text, verdict: train.a < train.b - 0.1 ? 'agrees' : 'unclear', outcome, rule: '"fails" means 10 accuracy points or more behind the other network' };
  },

  // The largest shortfall of eval mode behind train mode over the evaluations.
  lag: ({ history, sides, labels, q, expect }) => {
    const text = ['Largest shortfall of eval mode behind train mode: '];
    const worst = {};
    for (const s of sides) {
      let w = null;
      for (const e of history.sides[s].evals) if (e.step > 0 && (!w || e.train.accuracy - e.eval.accuracy > w.train.accuracy - w.eval.accuracy)) w = e;
      worst[s] = w.train.accuracy - w.eval.accuracy;
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} at step ${w.step}: eval mode `, q(w.eval.accuracy, { side: s, eval: w.step, mode: 'eval', key: 'accuracy' }, pct),
        ', train mode ', q(w.train.accuracy, { side: s, eval: w.step, mode: 'train', key: 'accuracy' }, pct));
    }
    text.push('.');
    const laggard = worst.a > worst.b + CLEAR ? 'a' : worst.b > worst.a + CLEAR ? 'b' : 'neither';
    return { text, verdict: laggard === expect ? 'agrees' : laggard === 'neither' ? 'unclear' : 'disagrees', outcome: laggard, rule: CLEAR_RULE };
  },

  shift: ({ history, sides, labels, q }) => {
    const step = lastEvalStep(history, 'a');
    const text = [`On the shifted test set at step ${step}: `];
    for (const s of sides) {
      const ev = (mode) => q(read(history, { side: s, eval: step, mode, key: 'accuracy' }), { side: s, eval: step, mode, key: 'accuracy' }, pct);
      text.push(s === sides[0] ? '' : '; ', `${labels[s]} eval mode `, ev('eval'), ', train mode ', ev('train'));
    }
    text.push('.');
    const a = history.sides.a.evals.find((e) => e.step === step);
    const outcome = a.train.accuracy > a.eval.accuracy + CLEAR ? 'train' : a.eval.accuracy > a.train.accuracy + CLEAR ? 'eval' : 'same';
    return { text, verdict: a.train.accuracy > a.eval.accuracy + CLEAR ? 'agrees' : 'unclear', outcome, rule: CLEAR_RULE };
  },
};

const VERDICT = {
  agrees: 'This run agrees with the claim.',
  disagrees: 'This run does not agree with the claim.',
  unclear: 'This run neither clearly agrees nor disagrees (no clear difference, or its measures point different ways).',
};

// A number quoted in a result: its text, the exact value and where it was read.
function quote(value, src, format) {
  const d = document.createElement('data');
  d.value = String(value);
  d.dataset.source = JSON.stringify(src);
  d.textContent = format(value);
  return d;
}

// The first screen's statement after its run: who passed the target first, and the latest test
// accuracies, with the words following the numbers (never the other way round).
export function startResult(history, view) {
  const ctx = { history, sides: view.sides, labels: view.labels, q: quote, dataset: view.dataset };
  const first = KINDS.first(ctx), final = KINDS.final(ctx);
  const target = targetOf(view), name = `${Math.round(100 * target)}%`;
  const step = (s) => history.sides[s].evals.find((e) => e.eval.accuracy >= target)?.step ?? Infinity;
  const [a, b] = view.sides.map(step);
  const who = a < b ? `${view.labels.a} passed ${name} first` : b < a ? `${view.labels.b} passed ${name} first` : a === Infinity ? `Neither passed ${name} yet` : `Both passed ${name} at the same evaluation`;
  const strong = document.createElement('strong');
  strong.textContent = `${who}. `;
  return [strong, ...first.text, ' ', ...final.text];
}

// The committed multi-seed findings (core/experiments/findings/, copied to web/findings.json by
// .ci/findings.mjs): inline in the single-file page, else fetched once, when a lesson is first
// shown (not with the page, which keeps to its size budget).
let findings = null;
function loadFindings() {
  const inline = document.getElementById('findings');
  findings ??= inline ? Promise.resolve(JSON.parse(inline.textContent))
    : fetch('findings.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return findings;
}

// The verdicts over many seeds of the claims a lesson names (data-claims="EXPERIMENT/CLAIM ..."):
// one line per dataset and claim, the numbers before the verdict.
export function seedsLines(all, claims = '') {
  const lines = [];
  for (const [dataset, f] of Object.entries(all)) {
    for (const id of claims.split(/\s+/).filter(Boolean)) {
      const c = f.claims[id];
      if (!c) continue;
      const p = document.createElement('p');
      p.className = 'seeds-verdict';
      p.dataset.claim = id;
      p.dataset.dataset = dataset;
      p.dataset.verdict = c.verdict;
      const strong = document.createElement('strong');
      strong.textContent = `Over ${c.n} seeds on ${c.on}`;  // the dataset the experiment trained on
      const v = document.createElement('em');
      v.textContent = `${c.verdict}.`;
      p.append(strong, ` (${c.claim}): ${c.difference}: `, v);
      lines.push(p);
    }
  }
  return lines;
}

// Adds the lines under the lesson's claim the first time the lesson is shown (the controller
// unhides the chosen lesson's article).
function showSeedsWhenShown(article) {
  if (!article.dataset.claims) return;
  const add = async () => {
    const lines = seedsLines(await loadFindings(), article.dataset.claims);
    article.querySelector('p.claim')?.after(...lines);
  };
  if (!article.hidden) return void add();
  const watch = new MutationObserver(() => {
    if (article.hidden) return;
    watch.disconnect();
    add();
  });
  watch.observe(article, { attributes: true, attributeFilter: ['hidden'] });
}

export class Lessons {
  // runSteps(n) -> Promise resolving when the run from step 0 has taken n steps and been evaluated.
  constructor(runSteps) {
    this.runSteps = runSteps;
    for (const article of document.querySelectorAll('article.lesson')) this.decorate(article);
  }

  decorate(article) {
    showSeedsWhenShown(article);
    const steps = Number(article.dataset.steps);
    const fieldset = article.querySelector('fieldset.predict');
    const run = document.createElement('button');
    run.type = 'button';
    run.className = 'lesson-run';
    run.textContent = `Run ${steps} step${steps > 1 ? 's' : ''} from step 0`;
    const result = document.createElement('div');
    result.className = 'result';
    result.hidden = true;
    run.onclick = async () => {
      run.disabled = true;
      result.hidden = false;
      result.textContent = 'Running...';
      try {
        const { history, sides, labels, dataset } = await this.runSteps(steps);
        this.show(article, result, { history, sides, labels, dataset });
      } catch (e) {
        result.textContent = `The run stopped: ${e.message}`;
      } finally {
        run.disabled = false;
      }
    };
    fieldset.after(run, result);
  }

  show(article, result, ctx) {
    const [kind, expect] = article.dataset.result.split(':');
    const radios = [...article.querySelectorAll('fieldset.predict input[type="radio"]')];
    const { text, verdict, outcome, rule } = KINDS[kind]({ ...ctx, expect, q: quote, choices: radios.map((r) => r.value) });
    const chosen = article.querySelector('fieldset.predict input:checked');
    const answer = (input) => `"${input.parentElement.textContent.trim()}"`;
    const shown = radios.find((r) => r.value === outcome);
    const p1 = document.createElement('p');
    const strong = document.createElement('strong');
    strong.textContent = 'In this run: ';
    p1.append(strong, ...text);
    const p2 = document.createElement('p');
    p2.className = `verdict ${verdict}`;
    p2.textContent = `${VERDICT[verdict]} One run is one seed: change "Seed" in Settings and run again to see how much of it holds.`;
    // The learner's prediction, graded against what this run shows (not against the claim).
    const p3 = document.createElement('p');
    p3.className = 'prediction';
    const why = rule ? ` (${rule})` : '';
    if (!shown) p3.textContent = `This run matches none of the answers${why}.${chosen ? ` You predicted ${answer(chosen)}.` : ''}`;
    else if (!chosen) p3.textContent = `You made no prediction; this run shows ${answer(shown)}${why}.`;
    else if (chosen === shown) p3.textContent = `Your prediction was right: this run shows ${answer(shown)}${why}.`;
    else p3.textContent = `Your prediction, ${answer(chosen)}, was not what this run shows: ${answer(shown)}${why}.`;
    result.replaceChildren(p1, p3, p2);
    result.dataset.verdict = verdict;
    result.dataset.prediction = !chosen || !shown ? 'none' : chosen === shown ? 'right' : 'wrong';
  }
}
