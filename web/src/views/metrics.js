// Panels of the training curves: loss, accuracy, train-mode vs eval-mode test accuracy.
// Each reads the page's History (per-step series and test evaluations) and nothing else.
import { bucketMean, smooth } from '../history.js';
import { COLORS, Panel } from './panel.js';
import { fmt } from './line-chart.js';
import { TARGETS } from '../core-facts.js';

const POINTS = 300;  // chart resolution over the whole run (about one point per 2 pixels)
// The test accuracy the lessons and the first screen count steps to, per dataset: the core's
// (core/experiments/targets.h page_target, through core-facts.js): 90% on MNIST; on Fashion-MNIST
// the convergence experiment's higher target there, 81% (90% scaled by how much less the networks
// learn of the clothes). tests/findings/texts.test.mjs checks both against the committed
// convergence claims (steps_to_90, steps_to_81).
export const targetOf = (view) => TARGETS[view?.dataset] ?? TARGETS.mnist;

// Chance level is 1 / classes (10 for MNIST, 6 for the synthetic shapes).
const classCount = (view) => view.classes?.a?.length || 10;

// A panel whose chart has one group of series per side; reset(view) rebuilds it for the sides and
// labels of the new run.
class SidesChartPanel extends Panel {
  reset(view) {
    this.setCharts(this.chartOptions(view));
    this.summary('No steps yet.');
  }
}

// Batch loss (smoothed, as every training curve is shown) and test loss, per side.
export class LossPanel extends SidesChartPanel {
  constructor(parent) {
    super(parent, 'loss', 'Loss', 'Cross-entropy: of each training mini-batch (line, smoothed) and of the test set in eval mode (dots, where it was evaluated).');
  }
  chartOptions(view) {
    return {
      yLabel: 'loss', logY: true,
      rules: [{ y: Math.log(classCount(view)), label: `chance: ln ${classCount(view)}` }],
      series: view.sides.flatMap((s) => [
        { label: `train ${view.labels[s]}`, color: COLORS[s] },
        { label: `test ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 7 },
      ]),
    };
  }
  update(history, view) {
    const { x, ys } = trainAndTest(history, view, 'loss', (e) => e.eval.loss);
    // Log scale: a loss of 0 or below cannot be drawn, and a diverged loss is a gap.
    this.chart.update(x, ys.map((y) => y.map((v) => (v > 0 ? v : null))));
    this.summary(view.sides.map((s) => `${view.labels[s]}: ${lastWords(history.sides[s], 'loss', (e) => e.eval.loss)}`).join('. '));
  }
}

export class AccuracyPanel extends SidesChartPanel {
  constructor(parent) {
    super(parent, 'accuracy', 'Accuracy', 'Fraction classified correctly: each training mini-batch (line, smoothed) and the test set in eval mode (dots, where it was evaluated).');
  }
  chartOptions(view) {
    return {
      yLabel: 'accuracy', yRange: [0, 1],
      rules: [{ y: targetOf(view), label: `target ${Math.round(100 * targetOf(view))}%` }, { y: 1 / classCount(view), label: 'chance' }],
      series: view.sides.flatMap((s) => [
        { label: `train ${view.labels[s]}`, color: COLORS[s] },
        { label: `test ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 7 },
      ]),
    };
  }
  update(history, view) {
    const { x, ys } = trainAndTest(history, view, 'accuracy', (e) => e.eval.accuracy);
    this.chart.update(x, ys);
    this.summary(view.sides.map((s) => `${view.labels[s]}: ${lastWords(history.sides[s], 'accuracy', (e) => e.eval.accuracy)}`).join('. '));
  }
}

// NUMERICS.md 2: inference must use population (running) statistics. Eval mode normalizes with
// the running averages; train mode with the statistics of each test batch.
export class EvalModePanel extends SidesChartPanel {
  constructor(parent) {
    super(parent, 'evalmode', 'Test accuracy: eval mode vs train mode',
      'Eval mode (filled dots) normalizes with the running statistics; train mode (open dots) with each test batch\'s own. Without BN both are the same.');
  }
  chartOptions(view) {
    return {
      yLabel: 'test accuracy', yRange: [0, 1], height: 170,
      rules: [{ y: 1 / classCount(view), label: 'chance' }],
      series: view.sides.flatMap((s) => [
        { label: `eval mode ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 8 },
        { label: `train mode ${view.labels[s]}`, color: COLORS[s], line: false, points: true, size: 8, fill: '#fff' },
      ]),
    };
  }
  update(history, view) {
    const steps = new Set();
    for (const s of view.sides) for (const e of history.sides[s]?.evals ?? []) steps.add(e.step);
    const x = [...steps].sort((p, q) => p - q);
    const ys = view.sides.flatMap((s) => {
      const byStep = new Map((history.sides[s]?.evals ?? []).map((e) => [e.step, e]));
      return [x.map((t) => byStep.get(t)?.eval.accuracy ?? null), x.map((t) => byStep.get(t)?.train.accuracy ?? null)];
    });
    this.chart.update(x, ys);
    this.missing(x.length ? '' : 'The test set is evaluated every few steps (setting "Test every N steps"); the first result appears then.');
    this.summary(view.sides.map((s) => {
      const e = history.sides[s]?.evals.at(-1);
      return e ? `${view.labels[s]} at step ${e.step}: eval mode ${pct(e.eval.accuracy)}, train mode ${pct(e.train.accuracy)}` : `${view.labels[s]}: not evaluated yet`;
    }).join('. '));
  }
}

// Train series (smoothed, bucketed) and test evaluations on one x axis per side pair.
function trainAndTest(history, view, key, pickEval) {
  const cols = [];
  for (const s of view.sides) {
    const h = history.sides[s];
    if (!h) { cols.push([[], []], [[], []]); continue; }
    // An exponential moving average over about n/30 steps (5 at least, 200 at most), then
    // bucketed to the chart's resolution.
    const tau = Math.min(200, Math.max(5, h.step.length / 30));
    cols.push(bucketMean(h.step.view(), smooth(h[key].view(), 2 / (tau + 1)), POINTS));
    cols.push([h.evals.map((e) => e.step), h.evals.map(pickEval)]);
  }
  return alignX(cols);
}

// uPlot draws series over one shared x array: merge the x values, fill the rest with null.
export function alignX(cols) {
  const all = new Set();
  for (const [xs] of cols) for (const v of xs) all.add(v);
  const x = [...all].sort((p, q) => p - q);
  const index = new Map(x.map((v, i) => [v, i]));
  const ys = cols.map(([xs, vs]) => {
    const y = new Array(x.length).fill(null);
    for (let i = 0; i < xs.length; i++) y[index.get(xs[i])] = vs[i];
    return y;
  });
  return { x, ys };
}

function lastWords(h, key, pickEval) {
  if (!h || h.step.length === 0) return 'no steps yet';
  const n = h.step.length;
  const recent = h[key].view().subarray(Math.max(0, n - 50));
  const mean = recent.reduce((p, q) => p + q, 0) / recent.length;
  const e = h.evals.at(-1);
  const what = key === 'accuracy' ? pct : fmt;
  return `train ${what(mean)} (mean of the last ${recent.length} batches)` + (e ? `, test ${what(pickEval(e))} at step ${e.step}` : '');
}

export const pct = (v) => (v == null || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(1)}%`);
