// "Show code": the current network and its training settings written for PyTorch and Keras, so a
// learner can take the experiment elsewhere. It reads the spec grammar of core/train/spec.h (names and
// sizes only; the core remains the one that trains).

// Spec text -> [{kind, out, kernel, stride, padding}] (core/train/spec.h's grammar).
export function parseSpec(spec) {
  const items = [];
  for (const token of spec.trim().split(/[\s-]+/)) {
    let m;
    if ((m = /^conv(\d+)(?:k(\d+))?(?:s(\d+))?(?:p(\d+))?$/.exec(token))) {
      const kernel = Number(m[2] ?? 3);
      items.push({ kind: 'conv', out: Number(m[1]), kernel, stride: Number(m[3] ?? 1), padding: Number(m[4] ?? Math.floor(kernel / 2)) });
    } else if ((m = /^fc(\d*)$/.exec(token))) items.push({ kind: 'fc', out: Number(m[1] || 0) });
    else if (token === 'bn' || token === 'norm') items.push({ kind: 'norm' });
    else if (['relu', 'sigmoid', 'tanh', 'flatten'].includes(token)) items.push({ kind: token });
    else if ((m = /^(max|avg)?pool(\d+)$/.exec(token))) items.push({ kind: m[1] === 'avg' ? 'avgpool' : 'maxpool', kernel: Number(m[2]) });
    else throw new Error(`cannot read "${token}" in the model spec`);
  }
  return items;
}

// The presets of core/train/spec.cpp (a browser test checks them against the core's list).
export const PRESETS = {
  'ref-cnn': 'conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc',
  'ref-cnn-nobn': 'conv8-relu-pool2 conv16-relu-pool2 fc64-relu fc',
  mlp: 'fc100-bn-sigmoid fc100-bn-sigmoid fc100-bn-sigmoid fc',
  'small-cnn': 'conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc',
  'deep-cnn': 'conv8-bn-relu conv8-bn-relu-pool2 conv16-bn-relu conv16-bn-relu-pool2 fc64-bn-relu fc',
};

// Normalizers move behind the activation that follows them when placement is "after".
function placed(items, placement) {
  const out = items.slice();
  if (placement !== 'after') return out;
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i].kind === 'norm' && ['relu', 'sigmoid', 'tanh'].includes(out[i + 1].kind)) {
      [out[i], out[i + 1]] = [out[i + 1], out[i]];
      i++;
    }
  }
  return out;
}

// Walks the layers with the shape of one example, (C, H, W) or (N) once flat, calling
// emit(item, shapeIn); an fc after a conv part gets its flatten first.
function walk(items, inputShape, numClasses, emit) {
  let shape = inputShape.slice();
  for (const it of items) {
    if ((it.kind === 'fc' || it.kind === 'flatten') && shape.length === 3) {
      emit({ kind: 'flatten' }, shape);
      shape = [shape[0] * shape[1] * shape[2]];
    }
    if (it.kind === 'flatten') continue;
    emit(it, shape);
    const [c, h, w] = shape;
    if (it.kind === 'conv') {
      const side = (n) => Math.floor((n + 2 * it.padding - it.kernel) / it.stride) + 1;
      shape = [it.out, side(h), side(w)];
    } else if (it.kind === 'maxpool' || it.kind === 'avgpool') shape = [c, Math.floor(h / it.kernel), Math.floor(w / it.kernel)];
    else if (it.kind === 'fc') shape = [it.out || numClasses];
  }
}

function specOf(config) {
  return PRESETS[config.model] ?? config.model;
}

const pyFloat = (v) => (Number.isInteger(v) ? v.toFixed(1) : String(v));

// What both frameworks' code starts from: the spec, its layers in placement order, and the data's
// image shape and classes (MNIST's until the core has said otherwise).
function network(config, info) {
  const spec = specOf(config);
  return {
    spec, items: placed(parseSpec(spec), config.placement), norm: config.norm,
    shape: info?.dataset?.image_shape ?? [1, 28, 28], classes: info?.dataset?.num_classes ?? 10,
  };
}

export function pytorchCode(config, info) {
  const { spec, items, norm, shape, classes } = network(config, info);
  const lines = [];
  const bnArgs = `eps=${config.bn_eps}, momentum=${config.bn_momentum === 'cumulative' ? 'None' : config.bn_momentum}` +
    (config.affine ? '' : ', affine=False') + (config.track_running_stats ? '' : ', track_running_stats=False');
  walk(items, shape, classes, (it, inS) => {
    const C = inS[0];
    switch (it.kind) {
      case 'conv': lines.push(`nn.Conv2d(${C}, ${it.out}, kernel_size=${it.kernel}, stride=${it.stride}, padding=${it.padding}),`); break;
      case 'fc': lines.push(`nn.Linear(${C}, ${it.out || classes}),`); break;
      case 'flatten': lines.push('nn.Flatten(),'); break;
      case 'relu': lines.push('nn.ReLU(),'); break;
      case 'sigmoid': lines.push('nn.Sigmoid(),'); break;
      case 'tanh': lines.push('nn.Tanh(),'); break;
      case 'maxpool': lines.push(`nn.MaxPool2d(${it.kernel}),`); break;
      case 'avgpool': lines.push(`nn.AvgPool2d(${it.kernel}),`); break;
      case 'norm': {
        const dense = inS.length === 1;
        if (norm === 'none') break;
        if (norm === 'batch' || norm === 'renorm' || norm === 'ghost') {
          if (norm !== 'batch') lines.push(`# ${norm === 'renorm' ? 'Batch Renormalization' : `Ghost BN (sub-batches of ${config.ghost_batch})`} has no built-in PyTorch layer: plain BN shown.`);
          lines.push(`nn.BatchNorm${dense ? '1d' : '2d'}(${C}, ${bnArgs}),`);
        } else if (norm === 'layer') lines.push(`nn.GroupNorm(1, ${C}, eps=${config.bn_eps}),  # LayerNorm over (C, H, W) with a per-channel affine, as BN Lab's`);
        else if (norm === 'instance') lines.push(`nn.GroupNorm(${C}, ${C}, eps=${config.bn_eps}),  # InstanceNorm with a per-channel affine`);
        else if (norm === 'group') lines.push(`nn.GroupNorm(${config.groups}, ${C}, eps=${config.bn_eps}),`);
        if (config.noisy) lines.push('# + noisy BN (Santurkar et al.): a random shift and scale after this layer at every step; no built-in layer.');
        break;
      }
    }
  });
  const sched = config.schedule === 'step'
    ? `\nscheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=${config.step_size}, gamma=${config.step_gamma})  # call scheduler.step() after every batch`
    : config.schedule === 'cosine' ? `\nscheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=${config.steps})  # call scheduler.step() after every batch` : '';
  // As core/train/model.cpp draws them: conv and fc weights from the chosen distribution times
  // init_scale, biases zero (init "torch": PyTorch's own uniform init of both, times init_scale).
  const scale = config.init_scale !== 1 ? `\n        with torch.no_grad():\n            m.weight *= ${config.init_scale}  # init_scale` : '';
  const draw = config.init === 'gaussian' ? `nn.init.normal_(m.weight, std=${config.init_std})`
    : config.init === 'xavier' ? 'nn.init.xavier_normal_(m.weight)' : "nn.init.kaiming_normal_(m.weight, nonlinearity='relu')";
  const init = config.init === 'torch'
    ? (config.init_scale !== 1 ? `for m in model.modules():\n    if isinstance(m, (nn.Conv2d, nn.Linear)):\n        with torch.no_grad():\n            m.weight *= ${config.init_scale}\n            m.bias *= ${config.init_scale}  # init_scale` : "# init \"torch\": PyTorch's default initialization")
    : `for m in model.modules():\n    if isinstance(m, (nn.Conv2d, nn.Linear)):\n        ${draw}\n        nn.init.zeros_(m.bias)${config.init === 'gaussian' ? '' : scale}`;
  return `import torch
import torch.nn as nn

# BN Lab network "${config.model}" (${spec}), norm=${norm}, placement=${config.placement}
torch.manual_seed(${config.seed})  # BN Lab's own generator differs: same settings, other numbers
model = nn.Sequential(
${lines.map((l) => '    ' + l).join('\n')}
)
${init}

optimizer = torch.optim.SGD(model.parameters(), lr=${pyFloat(config.lr)}, momentum=${config.momentum}, weight_decay=${config.weight_decay})${sched}
loss_fn = nn.CrossEntropyLoss()

def train_step(x, y):  # x: (${config.batch_size}, ${shape.join(', ')}) float, y: (${config.batch_size},) int64
    model.train()      # BN uses batch statistics and updates its running averages
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()

# For testing: model.eval() makes BN use its running averages.
`;
}

export function kerasCode(config, info) {
  const { spec, items, norm, shape, classes } = network(config, info);
  const lines = [];
  const kMomentum = config.bn_momentum === 'cumulative' ? null : +(1 - config.bn_momentum).toFixed(6);
  // core/train/model.cpp's initializations as Keras initializers: untruncated normals (Keras's
  // he_normal and glorot_normal are truncated); "torch" draws weights and biases from
  // U(+-scale/sqrt(fan_in)), which is VarianceScaling(scale^2/3, fan_in, uniform) for the kernel.
  const s2 = config.init_scale ** 2;
  const vs = (scale, mode, distribution) => `keras.initializers.VarianceScaling(scale=${+scale.toFixed(6)}, mode='${mode}', distribution='${distribution}')`;
  const kinit = config.init === 'gaussian' ? `, kernel_initializer=keras.initializers.RandomNormal(stddev=${config.init_std})`
    : config.init === 'torch' ? `, kernel_initializer=${vs(s2 / 3, 'fan_in', 'uniform')}`
      : config.init === 'xavier' ? `, kernel_initializer=${vs(s2, 'fan_avg', 'untruncated_normal')}`
        : `, kernel_initializer=${vs(2 * s2, 'fan_in', 'untruncated_normal')}`;
  walk(items, shape, classes, (it) => {
    switch (it.kind) {
      case 'conv':
        if (it.padding !== 0 && it.padding !== Math.floor(it.kernel / 2)) lines.push(`layers.ZeroPadding2D(${it.padding}),`);
        lines.push(`layers.Conv2D(${it.out}, ${it.kernel}, strides=${it.stride}, padding='${it.padding === Math.floor(it.kernel / 2) && it.padding > 0 && it.stride === 1 ? 'same' : 'valid'}'${kinit}),`);
        break;
      case 'fc': lines.push(`layers.Dense(${it.out || classes}${kinit}),`); break;
      case 'flatten': lines.push('layers.Flatten(),  # channels-last: flattens in another order than PyTorch'); break;
      case 'relu': case 'sigmoid': case 'tanh': lines.push(`layers.Activation('${it.kind}'),`); break;
      case 'maxpool': lines.push(`layers.MaxPooling2D(${it.kernel}),`); break;
      case 'avgpool': lines.push(`layers.AveragePooling2D(${it.kernel}),`); break;
      case 'norm':
        if (norm === 'none') break;
        if (norm === 'batch' || norm === 'renorm' || norm === 'ghost') {
          const extra = (norm === 'renorm' ? `, renorm=True, renorm_clipping={'rmax': ${config.r_max}, 'rmin': ${+(1 / config.r_max).toFixed(6)}, 'dmax': ${config.d_max}}` : norm === 'ghost' ? `, virtual_batch_size=${config.ghost_batch}` : '') +
            (config.affine ? '' : ', center=False, scale=False');
          lines.push(kMomentum == null
            ? `layers.BatchNormalization(epsilon=${config.bn_eps}${extra}),  # cumulative averaging has no Keras equivalent: default momentum shown`
            : `layers.BatchNormalization(momentum=${kMomentum}, epsilon=${config.bn_eps}${extra}),  # = PyTorch momentum ${config.bn_momentum}`);
        } else if (norm === 'layer') lines.push(`layers.GroupNormalization(groups=1, epsilon=${config.bn_eps}),  # LayerNorm with a per-channel affine`);
        else if (norm === 'instance') lines.push(`layers.GroupNormalization(groups=-1, epsilon=${config.bn_eps}),  # InstanceNorm`);
        else if (norm === 'group') lines.push(`layers.GroupNormalization(groups=${config.groups}, epsilon=${config.bn_eps}),`);
        if (config.noisy) lines.push('# + noisy BN (Santurkar et al.): no built-in layer.');
        break;
    }
  });
  const lr = config.schedule === 'step'
    ? `keras.optimizers.schedules.ExponentialDecay(${pyFloat(config.lr)}, decay_steps=${config.step_size}, decay_rate=${config.step_gamma}, staircase=True)`
    : config.schedule === 'cosine' ? `keras.optimizers.schedules.CosineDecay(${pyFloat(config.lr)}, decay_steps=${config.steps})` : pyFloat(config.lr);
  return `import keras
from keras import layers

# BN Lab network "${config.model}" (${spec}), norm=${norm}, placement=${config.placement}
# Keras conventions differ from PyTorch's (and BN Lab's):
#  - BatchNormalization(momentum=m) keeps m of the OLD running value: Keras m = 1 - PyTorch momentum
#    (Keras's default 0.99 is PyTorch's 0.01). Keras's default epsilon is 1e-3, PyTorch's 1e-5:
#    both are set explicitly below to BN Lab's values.
#  - images are channels-last (N, H, W, C).${config.init === 'torch' ? '\n#  - init "torch": BN Lab also draws the biases from U(+-scale/sqrt(fan_in)); Keras starts them at 0.' : ''}
keras.utils.set_random_seed(${config.seed})
model = keras.Sequential([
    keras.Input(shape=(${shape[1]}, ${shape[2]}, ${shape[0]})),
${lines.map((l) => '    ' + l).join('\n')}
])
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=${lr}, momentum=${config.momentum}),${config.weight_decay ? `\n    # weight_decay ${config.weight_decay}: add kernel_regularizer=keras.regularizers.L2(${config.weight_decay / 2}) to each layer (PyTorch adds wd * w to the gradient)` : ''}
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=['accuracy'],
)
# model.fit(x_train, y_train, batch_size=${config.batch_size}, shuffle=${config.shuffle ? 'True' : 'False'}, validation_data=(x_test, y_test))
`;
}
