// The texts a person reads against the committed multi-seed findings (core/experiments/findings/,
// design in its README.md): README's findings table and the page's web/findings.json must be
// what `node .ci/findings.mjs generate` writes from them; every sentence of an experiment's
// description (`bnlab experiment --list`) and of a lesson (web/lessons.html) that uses a verdict
// word must name its claims, and the words must match their committed verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, checkText, claimsOf, committed, lessonDataset, readmeWithTable, sentences, verdictClass, verdictOfSentence, webFindings,
} from '../../.ci/findings.mjs';

const all = committed();
const BNLAB = path.join(ROOT, 'build/native/bnlab');

// {EXPERIMENT/CLAIM: verdict} of a dataset's committed summary. The descriptions speak of MNIST
// runs (their numbers are MNIST's), so their verdict words are checked against MNIST's verdicts; a
// lesson's against the verdicts of the dataset it trains on (its data-preset's dataset: MNIST
// unless it names another). Fashion-MNIST's verdicts are otherwise shown where they are generated
// (README's table, the lessons' multi-seed lines), never retyped in prose.
function verdictsOf(dataset) {
  assert.ok(all[dataset], `no committed ${dataset} findings to check the texts against`);
  return Object.fromEntries(claimsOf(all[dataset]).map(([id, c]) => [id, c.verdict]));
}
const verdictSets = () => [verdictsOf('mnist')];

// The lessons of web/lessons.html: [{id, attrs, body, claims, dataset}], dataset from the preset.
function lessons() {
  const html = fs.readFileSync(path.join(ROOT, 'web/lessons.html'), 'utf8');
  return [...html.matchAll(/<article class="lesson" id="([^"]+)"([^>]*)>([\s\S]*?)<\/article>/g)].map(([, id, attrs, body]) => {
    const preset = new URLSearchParams((/data-preset="([^"]*)"/.exec(attrs)?.[1] ?? '').replace(/&amp;/g, '&'));
    const claims = /data-claims="([^"]*)"/.exec(attrs)?.[1].split(/\s+/).filter(Boolean) ?? [];
    return { id, attrs, body, claims, dataset: preset.get('dataset') ?? 'mnist' };
  });
}

test('a multi-seed summary of MNIST is committed, with its command, commit and every claim', () => {
  const s = all.mnist;
  assert.ok(s, 'core/experiments/findings/mnist.json is missing');
  assert.match(s.commit, /^[0-9a-f]{40}$/);
  assert.match(s.command, /findings\.sh/);
  for (const [id, c] of claimsOf(s)) {
    assert.ok(c.difference.n >= 3 || c.verdict.startsWith('inconclusive'), `${id}: ${c.difference.n} seeds`);
    assert.equal(c.difference.values.length, s.experiments[id.split('/')[0]].seeds.length, id);
  }
});

test('README\'s findings table and web/findings.json are generated from the committed summaries', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.equal(readme, readmeWithTable(readme, all), 'README.md: run node .ci/findings.mjs generate');
  assert.equal(fs.readFileSync(path.join(ROOT, 'web/findings.json'), 'utf8'), webFindings(all),
    'web/findings.json: run node .ci/findings.mjs generate');
});

test('the verdict words are read as meant', () => {
  assert.equal(verdictOfSentence('BN Lab reproduces it (claim higher-lr).'), 'reproduces');
  assert.equal(verdictOfSentence('It does NOT reproduce the second.'), 'not');
  assert.equal(verdictOfSentence('The claim does not reproduce here.'), 'not');
  assert.equal(verdictOfSentence('On the MLP it goes the opposite way.'), 'not');
  assert.equal(verdictOfSentence('Inconclusive at 10 seeds.'), 'inconclusive');
  assert.equal(verdictOfSentence('Test accuracy 0.96 with BN.'), null);
  assert.equal(verdictClass('does not reproduce: no difference'), 'not');
  assert.deepEqual(sentences('One (claim a). Two: "b". Three'), ['One (claim a).', 'Two: "b".', 'Three']);
  // A wrong word is caught, a missing id is caught, a right one passes.
  const v = { 'x/a': 'reproduces', 'x/b': 'does not reproduce: the opposite' };
  const refs = (s) => [...s.matchAll(/\(claim ([^)]+)\)/g)].map((m) => `x/${m[1]}`);
  assert.equal(checkText('t', 'It reproduces (claim a).', refs, v).length, 0);
  assert.equal(checkText('t', 'It reproduces (claim b).', refs, v).length, 1);
  assert.equal(checkText('t', 'It reproduces.', refs, v).length, 1);
  assert.equal(checkText('t', 'Fine (claim c).', refs, v).length, 1);
});

// The descriptions as `bnlab experiment --list` prints them: a name line, then the description.
function descriptions() {
  const text = execFileSync(BNLAB, ['experiment', '--list'], { encoding: 'utf8' });
  const out = {};
  let name = null;
  for (const line of text.split('\n')) {
    if (/^[a-z]/.test(line)) name = line.split(/\s+/)[0];
    else if (name && line.trim()) out[name] = (out[name] ?? '') + line.trim() + ' ';
  }
  return out;
}

// "(claim ID)", "(claims ID, ID)" or "(claim ID; more words)"; an ID without a slash is a claim
// of the experiment itself.
const descriptionRefs = (experiment) => (sentence) => [...sentence.matchAll(/\(claims? ([a-z0-9.,/ -]+?)[;)]/g)]
  .flatMap((m) => m[1].split(/,\s*/)).map((id) => (id.includes('/') ? id : `${experiment}/${id}`));

test('every experiment description agrees with the committed verdicts', () => {
  const list = descriptions();
  assert.ok(Object.keys(list).length >= 12, 'bnlab experiment --list lists the experiments');
  const problems = [];
  for (const verdicts of verdictSets()) {
    for (const [name, text] of Object.entries(list)) problems.push(...checkText(`description of ${name}`, text, descriptionRefs(name), verdicts));
  }
  assert.deepEqual(problems, []);
});

test('every lesson agrees with the committed verdicts of the dataset it trains on, and names only claims that exist', () => {
  const problems = [];
  const articles = lessons();
  assert.ok(articles.length >= 16);
  for (const { id, body, claims, dataset } of articles) {
    // A lesson on synthetic data (shift) is checked against MNIST's summary, whose
    // covariate-shift runs on that synthetic data.
    const verdicts = verdictsOf(all[dataset] ? dataset : 'mnist');
    // A data-claims attribute lists the claims whose multi-seed line the lesson shows.
    for (const c of claims) if (!(c in verdicts)) problems.push(`${id}: data-claims names ${c}, which has no committed verdict`);
    // Each <span data-claim="ID ...">words</span> is checked on its own words; outside the
    // spans (tags and TeX removed) no verdict word may stand.
    for (const [, ids, words] of body.matchAll(/<span data-claim="([^"]+)">([\s\S]*?)<\/span>/g)) {
      const idList = ids.trim().split(/\s+/);
      problems.push(...checkText(`lesson ${id} (${dataset})`, words.replace(/<[^>]+>/g, ' '), () => idList, verdicts));
      if (!verdictOfSentence(words)) problems.push(`lesson ${id}: a data-claim span without a verdict word: "${words}"`);
    }
    const rest = body.replace(/<span data-claim="[^"]+">[\s\S]*?<\/span>/g, '(a claim)').replace(/<[^>]+>/g, ' ')
      .replace(/\$\$[\s\S]*?\$\$|\\\([\s\S]*?\\\)/g, 'x').replace(/&amp;/g, '&');
    problems.push(...checkText(`lesson ${id} (${dataset})`, rest, () => [], verdicts));
  }
  assert.deepEqual(problems, []);
});

test('every lesson on real data trains on the dataset that shows its claims more clearly, and says which', () => {
  // lessonDataset (.ci/findings.mjs): Fashion-MNIST where its 10-seed verdicts are clearer on
  // more of the lesson's claims, else MNIST. A lesson on synthetic data keeps it.
  assert.ok(all.mnist && all.fashion, 'both summaries must be committed');
  const NAMES = { mnist: 'MNIST', fashion: 'Fashion-MNIST', shift: 'the synthetic "shift" dataset' };
  const wrong = [];
  for (const { id, body, claims, dataset } of lessons()) {
    if (dataset === 'mnist' || dataset === 'fashion') {
      const want = lessonDataset(claims, all);
      if (dataset !== want) wrong.push(`${id} trains on ${dataset}; the committed summaries say ${want}`);
    }
    // One short line says which dataset and why.
    const line = /<p class="dataset">([\s\S]*?)<\/p>/.exec(body)?.[1];
    if (!line) wrong.push(`${id}: no <p class="dataset"> line`);
    else if (!line.replace(/&quot;/g, '"').startsWith(`Trains on ${NAMES[dataset] ?? dataset}`)) wrong.push(`${id}: its dataset line does not name ${dataset}: "${line}"`);
  }
  assert.deepEqual(wrong, []);
});

test('the page\'s accuracy target per dataset is the convergence experiment\'s higher target there', async () => {
  // The page's TARGETS (web/src/core-facts.js, generated from the core's targets.h; the lessons'
  // and the first screen's target) against the figures the committed convergence claims compare
  // (steps_to_90_bn on MNIST: 90%).
  const { TARGETS: page } = await import('../../web/src/core-facts.js');
  assert.deepEqual(Object.keys(page), ['mnist', 'fashion']);
  for (const dataset of ['mnist', 'fashion']) {
    const claim = all[dataset].experiments.convergence.claims.find((c) => c.id === 'fewer-steps');
    const percent = Number(/^steps_to_(\d+)_bn$/.exec(claim.a)?.[1]);
    assert.equal(Math.round(100 * page[dataset]), percent, `${dataset}: the page's target vs ${claim.a}`);
  }
});
