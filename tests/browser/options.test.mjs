// The page's property table speaks the core's option table: same names, kinds, choices and
// ranges (taken from web/src/core-facts.js, generated from the module), so that a URL, the CLI
// and a saved state describe a run the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, needsWasm } from './helpers.mjs';
import { PROP, PROPS, defaults, fromQuery, toQuery, sideConfig } from '../../web/src/state.js';
import { PRESETS } from '../../web/src/core-facts.js';
import { coreFactsSource } from '../../web/core-facts.mjs';

test('every run setting of the page is an option of the core, with its kind, choices and range', { skip: needsWasm }, async () => {
  const { loadBnlab } = await import(pathToFileURL(path.join(root, 'build/wasm/bnlab.mjs')).href);
  const lab = await loadBnlab();
  const core = new Map(lab.options().map((o) => [o.name, o]));
  for (const p of PROPS.filter((q) => q.scope !== 'ui')) {
    const o = core.get(p.name);
    assert.ok(o, `core has option ${p.name}`);
    if (p.type === 'choice' && o.type === 'choice') assert.deepEqual(p.choices, o.choices, p.name);
    if (p.type === 'int' || p.type === 'float') {
      assert.equal(o.type, p.type, p.name);
      assert.equal(Math.fround(p.min), Math.fround(o.min), `${p.name} min`);
      assert.equal(Math.fround(p.max), Math.fround(o.max), `${p.name} max`);
    }
    if (p.type === 'bool') assert.equal(o.type, 'bool', p.name);
    // The core keeps floats as float32 (0.1 reads back as 0.100000001).
    if (p.type === 'float') assert.equal(Math.fround(p.def), Math.fround(o.default), `${p.name} default`);
    else assert.equal(p.def, o.default, `${p.name} default`);
  }
  // web/src/core-facts.js, which the page's option rows and presets come from, is what the
  // current core says (web/build.mjs rewrites it from the module).
  assert.equal(fs.readFileSync(path.join(root, 'web/src/core-facts.js'), 'utf8'), coreFactsSource(lab),
    'web/src/core-facts.js is out of date: run .ci/build-web.sh');
  assert.deepEqual(PRESETS, lab.presets());
  assert.deepEqual(PROP.model.suggest, lab.presets().map((p) => p.name));
  // A number option's words are the core's (bn_momentum: cumulative), and a spec written in any
  // of the grammar's characters (either case, ',' as a separator) passes the URL's guard to the
  // core, which trains it.
  assert.deepEqual(PROP.bn_momentum.words, core.get('bn_momentum').choices);
  const spec = 'Conv8K5P2-BN-relu-pool2,fc';
  const parsed = fromQuery(`model=${encodeURIComponent(spec)}`);
  assert.deepEqual(parsed.errors, {});
  assert.equal(parsed.state.model, spec);
  assert.equal(lab.describeModel({ model: spec }, [1, 28, 28], 10).layers[0].settings.kernel, 5);
  // The core accepts the page's default config for both sides.
  const data = await lab.loadData({ dataset: 'shapes', seed: 1 });
  for (const side of ['a', 'b']) lab.createSide({ ...sideConfig(defaults(), side), dataset: 'shapes' }, data).dispose();
  data.dispose();
});

test('the URL round trip keeps every setting, B overrides included', () => {
  const { state } = fromQuery('lr=0.2&seed=9&b.norm=group&b.lr=0.1&compare=true&bn_momentum=cumulative');
  assert.deepEqual(fromQuery(toQuery(state)).state, state);
  assert.equal(sideConfig(state, 'b').lr, 0.1);
  assert.equal(sideConfig(state, 'a').bn_momentum, 'cumulative');
  // "b.norm=" (empty): B takes A's normalizer.
  const same = fromQuery('b.norm=').state;
  assert.equal(sideConfig(same, 'b').norm, 'batch');
  assert.equal(toQuery(defaults()), '');
});

test('refused URL values keep their defaults and say why', () => {
  const { state, errors } = fromQuery('lr=1e99&batch_size=2.5&norm=magic&shuffle=maybe&b.seed=3&x=1');
  // The page's own default (its first run is at 0.1; the core's option default stays 0.05).
  assert.equal(state.lr, 0.1);
  assert.match(errors.lr, /outside 0 \.\. 10000/);
  assert.match(errors.batch_size, /not an integer/);
  assert.match(errors.norm, /not one of none, batch/);
  assert.match(errors.shuffle, /not true or false/);
  assert.match(errors[''], /unknown setting "b\.seed".*unknown setting "x"/);
});

test('the built page has no leftover placeholder and carries its formulas as MathML', () => {
  const html = fs.readFileSync(path.join(root, 'build/web/index.html'), 'utf8');
  assert.doesNotMatch(html, /<!--(LESSONS|STYLE|SCRIPT|BUILD-INFO)-->/);
  assert.match(html, /<math/);
});
