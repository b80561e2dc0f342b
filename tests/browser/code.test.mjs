// "Show code": the PyTorch code the page writes for each preset, normalizer and placement runs in
// PyTorch and has exactly as many parameters as BN Lab's own model (asked from the wasm core).
// Needs the wasm build and PyTorch (Debian's python3-torch); skipped without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, needsWasm } from './helpers.mjs';
import { PRESETS, pytorchCode } from '../../web/src/code.js';
import { defaults, sideConfig } from '../../web/src/state.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test('the PyTorch code of every preset and normalizer runs and matches the core\'s parameter count',
  { skip: needsWasm || (!hasTorch && 'PyTorch is not installed (python3-torch)') }, async () => {
    const { loadBnlab } = await import(pathToFileURL(path.join(root, 'build/wasm/bnlab.mjs')).href);
    const lab = await loadBnlab();
    const data = await lab.loadData({ dataset: 'shapes', seed: 1 });
    const cases = [];
    for (const model of Object.keys(PRESETS)) {
      for (const norm of ['batch', 'none', 'layer', 'group', 'instance']) {
        for (const placement of ['before', 'after']) {
          // groups=2 divides every channel count of the presets (4, 8, 16, 64, 100).
          const config = { ...sideConfig(defaults(), 'a'), dataset: 'shapes', model, norm, placement, groups: 2 };
          let sim;
          try {
            sim = lab.createSimulation(config, data);
          } catch (e) {
            // The core refuses some combinations (InstanceNorm after a dense layer: one value).
            assert.match(e.message, /does not fit/, `${model} ${norm} ${placement}`);
            continue;
          }
          cases.push({ name: `${model} ${norm} ${placement}`, params: sim.model.num_params, code: pytorchCode(config, { dataset: data.info }) });
          sim.dispose();
        }
      }
    }
    data.dispose();
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    // One Python process runs every case: exec the code, count parameters, run a forward pass.
    const script = `
import json, sys, torch
out = []
for case in json.load(sys.stdin):
    scope = {}
    exec(case['code'], scope)
    model = scope['model']
    y = model(torch.zeros(2, 1, 28, 28))
    out.append([case['name'], sum(p.numel() for p in model.parameters()), list(y.shape)])
print(json.dumps(out))
`;
    const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout);
    for (let i = 0; i < cases.length; i++) {
      const [name, params, shape] = results[i];
      assert.equal(params, cases[i].params, `${name}: PyTorch ${params} parameters, BN Lab ${cases[i].params}`);
      assert.deepEqual(shape, [2, 6], name);
    }
  });
