// "Show code": the PyTorch code the page writes from the core's model description runs in
// PyTorch and builds the core's model: the same parameter shapes in the same order (so the same
// count) and one output per class. Checked for every preset with every normalizer and placement,
// and for random valid specs (kernels, strides, paddings in any order, pools, explicit flatten,
// dense layers, normalizers and their settings, placements, noisy BN). Needs the wasm build and
// PyTorch (Debian's python3-torch for /usr/bin/python3, which .ci/setup.sh installs): without
// PyTorch the test fails, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, needsWasm } from './helpers.mjs';
import { kerasCode, pytorchCode } from '../../web/src/code.js';
import { defaults, sideConfig } from '../../web/src/state.js';

const PYTHON = '/usr/bin/python3';
const RANDOM_SPECS = 80;

// A small deterministic generator (xorshift32), so that a failure names a spec that reproduces.
function generator(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[int(0, list.length - 1)];
  const shuffle = (list) => list.map((v) => [next(), v]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
  return { next, int, pick, shuffle };
}

// A random spec in the core's grammar; the core decides whether it fits a 28x28 image.
function randomSpec(r) {
  const items = [];
  const act = () => r.pick(['relu', 'sigmoid', 'tanh']);
  for (let b = r.int(1, 3); b > 0; b--) {
    const k = r.int(1, 5);
    const opts = [];
    if (r.next() < 0.6) opts.push(`k${k}`);
    if (r.next() < 0.4) opts.push(`s${r.int(1, 2)}`);
    if (r.next() < 0.5) opts.push(`p${r.int(0, Math.max(0, k - 1))}`);
    const block = [`conv${r.int(2, 8)}${r.shuffle(opts).join('')}`];
    if (r.next() < 0.7) block.push(r.pick(['bn', 'norm']));
    block.push(act());
    if (r.next() < 0.5) block.push(r.pick(['pool2', 'maxpool2', 'avgpool2', 'maxpool3']));
    items.push(block.join('-'));
  }
  if (r.next() < 0.3) items.push('flatten');
  for (let d = r.int(0, 2); d > 0; d--) items.push([`fc${r.int(4, 32)}`, ...(r.next() < 0.6 ? ['bn'] : []), act()].join('-'));
  // Now and then a 1x1 convolution after a dense layer (the core sees (N, F, 1, 1)).
  if (r.next() < 0.15 && items.at(-1).startsWith('fc')) items.push(`conv${r.int(2, 6)}k1p0-${act()}`);
  items.push('fc');
  return items.join(' ');
}

function randomConfig(r, model) {
  const norm = r.pick(['none', 'batch', 'layer', 'group', 'instance', 'renorm', 'ghost']);
  return {
    ...sideConfig(defaults(), 'a'), dataset: 'shapes', model, norm, placement: r.pick(['before', 'after']),
    groups: r.pick([1, 2]), noisy: r.next() < 0.2, affine: r.next() < 0.8, track_running_stats: norm === 'renorm' || r.next() < 0.8,
    bn_momentum: r.next() < 0.2 ? 'cumulative' : r.pick([0.1, 0.01, 0.5]), bn_eps: r.pick([1e-5, 1e-3, 0.1]),
  };
}

test('the PyTorch code of presets and random specs runs in torch and builds the core\'s model', { skip: needsWasm }, async () => {
  const torch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(torch.status, 0, `PyTorch is missing for ${PYTHON} (Debian's python3-torch; run .ci/setup.sh): ${torch.stderr}`);
  const { loadBnlab } = await import(pathToFileURL(path.join(root, 'build/wasm/bnlab.mjs')).href);
  const lab = await loadBnlab();
  const cases = [];
  let refused = 0;
  const add = (name, config, classes) => {
    let model;
    try {
      model = lab.describeModel(config, [1, 28, 28], classes);
    } catch (e) {
      // The core refuses what does not fit (a kernel larger than the map, InstanceNorm of one
      // value per channel, groups not dividing the channels): nothing to write code for.
      assert.match(e.message, /does not fit|must divide|groups/, name);
      refused++;
      return false;
    }
    const info = { model };
    assert.doesNotThrow(() => kerasCode(config, info), name);
    cases.push({
      name, code: pytorchCode(config, info), classes,
      shapes: model.layers.flatMap((l) => l.params.map((p) => p.shape)), params: model.num_params,
    });
    return true;
  };

  for (const { name: model } of lab.presets())
    for (const norm of ['batch', 'none', 'layer', 'group', 'instance', 'renorm', 'ghost'])
      for (const placement of ['before', 'after'])
        add(`${model} ${norm} ${placement}`, { ...sideConfig(defaults(), 'a'), model, norm, placement, groups: 2 }, 10);
  const presetCases = cases.length;
  const r = generator(20261207);
  let random = 0;
  for (let tries = 0; random < RANDOM_SPECS && tries < 20 * RANDOM_SPECS; tries++) {
    const spec = randomSpec(r);
    const config = randomConfig(r, spec);
    if (add(`"${spec}" norm=${config.norm} placement=${config.placement} noisy=${config.noisy}`, config, r.pick([6, 10]))) random++;
  }
  assert.equal(random, RANDOM_SPECS, `only ${random} random specs fit (${refused} refused)`);
  assert.ok(presetCases >= 50, `${presetCases} preset cases`);
  // The random specs reach every way of writing a layer.
  const written = cases.map((c) => c.code).join('\n');
  for (const piece of ['nn.Unflatten', 'nn.AvgPool2d', 'nn.MaxPool2d(3)', 'stride=2', 'padding=0', 'kernel_size=1',
    'nn.BatchNorm1d', 'nn.BatchNorm2d', 'nn.GroupNorm', 'momentum=None', 'affine=False', 'track_running_stats=False',
    '# noisy BN', '# Batch Renormalization', '# Ghost BN', 'nn.Tanh', 'nn.Sigmoid'])
    assert.ok(written.includes(piece), `no case writes ${piece}`);

  // One Python process runs every case: exec the code, list the parameter shapes, run a forward
  // pass of two images in training mode.
  const script = `
import json, sys, torch
out = []
for case in json.load(sys.stdin):
    scope = {}
    try:
        exec(case['code'], scope)
        model = scope['model']
        y = model(torch.zeros(2, 1, 28, 28))
        out.append({'shapes': [list(p.shape) for p in model.parameters()], 'params': sum(p.numel() for p in model.parameters()), 'output': list(y.shape)})
    except Exception as e:
        out.append({'error': repr(e)})
print(json.dumps(out))
`;
  const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(run.status, 0, run.stderr);
  const results = JSON.parse(run.stdout);
  assert.equal(results.length, cases.length);
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i], got = results[i];
    assert.equal(got.error, undefined, `${c.name}: ${got.error}\n${c.code}`);
    assert.deepEqual(got.shapes, c.shapes, `${c.name}: parameter shapes`);
    assert.equal(got.params, c.params, `${c.name}: PyTorch ${got.params} parameters, BN Lab ${c.params}`);
    assert.deepEqual(got.output, [2, c.classes], c.name);
  }
});

test('"Show code" writes a spec whose conv options come in any order (k5 p1 as p1 k5)', { skip: needsWasm }, async () => {
  const { loadBnlab } = await import(pathToFileURL(path.join(root, 'build/wasm/bnlab.mjs')).href);
  const lab = await loadBnlab();
  const config = { ...sideConfig(defaults(), 'a'), model: 'conv8p1k5-bn-relu-pool2 fc' };
  const code = pytorchCode(config, { model: lab.describeModel(config) });
  assert.match(code, /nn\.Conv2d\(1, 8, kernel_size=5, stride=1, padding=1\)/);
  assert.match(code, /nn\.BatchNorm2d\(8, eps=0\.00001, momentum=0\.1\)/);
  assert.match(code, /nn\.Linear\(1352, 10\)/);  // 8 x 13 x 13
  assert.match(kerasCode(config, { model: lab.describeModel(config) }), /layers\.ZeroPadding2D\(1\)/);
});
