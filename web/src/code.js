// "Show code": the current network and its training settings written for PyTorch and Keras, so a
// learner can take the experiment elsewhere. The network comes from the core's own description
// of the model it builds (info.model: core/io/describe.h, through the worker or
// lab.describeModel): layers in order with placement applied, their kinds, shapes and settings.
// Nothing of the spec grammar is read here, so every spec the core trains can be written out.

const pyFloat = (v) => (Number.isInteger(v) ? v.toFixed(1) : String(v));

// What both frameworks' code starts from: the core's description of the model, and the example
// shape [C, H, W] it was built for.
function network(config, info) {
  const model = info?.model;
  if (!model?.layers) throw new Error('the core is building the network: its code appears here when it is ready');
  return { model, layers: model.layers, spec: model.spec, norm: model.norm, shape: model.input_shape };
}

export function pytorchCode(config, info) {
  const { layers, spec, norm, shape } = network(config, info);
  const lines = [];
  // PyTorch's tensors are (N, C, H, W) until the first nn.Flatten, then (N, F); the core keeps
  // (N, F, 1, 1) throughout, so a layer that needs four dimensions again gets an nn.Unflatten.
  let spatial = true;
  for (const l of layers) {
    const s = l.settings;
    const C = l.input_shape[1];
    const needs4d = l.role === 'pool' || l.kind === 'conv';
    if (needs4d && !spatial) {
      lines.push(`nn.Unflatten(1, (${C}, 1, 1)),`);
      spatial = true;
    }
    if ((l.kind === 'fc' && spatial) || l.kind === 'flatten') {
      lines.push('nn.Flatten(),');
      spatial = false;
    }
    switch (l.kind) {
      case 'conv': lines.push(`nn.Conv2d(${s.in_channels}, ${s.out_channels}, kernel_size=${s.kernel}, stride=${s.stride}, padding=${s.padding}),`); break;
      case 'fc': lines.push(`nn.Linear(${s.in_features}, ${s.out_features}),`); break;
      case 'relu': lines.push('nn.ReLU(),'); break;
      case 'sigmoid': lines.push('nn.Sigmoid(),'); break;
      case 'tanh': lines.push('nn.Tanh(),'); break;
      case 'maxpool': case 'avgpool': {
        const name = l.kind === 'maxpool' ? 'MaxPool2d' : 'AvgPool2d';
        lines.push(`nn.${name}(${s.kernel}${s.stride === s.kernel ? '' : `, stride=${s.stride}`}),`);
        break;
      }
      case 'bn': case 'brn': case 'gbn': {
        if (l.kind === 'brn') lines.push(`# Batch Renormalization (r_max ${s.r_max}, d_max ${s.d_max}) has no built-in PyTorch layer: plain BN shown.`);
        if (l.kind === 'gbn') lines.push(`# Ghost BN (sub-batches of ${s.ghost_batch}) has no built-in PyTorch layer: plain BN shown.`);
        const args = `eps=${s.eps}, momentum=${s.cumulative ? 'None' : s.momentum}` +
          (s.affine ? '' : ', affine=False') + (s.track_running_stats ? '' : ', track_running_stats=False');
        lines.push(`nn.BatchNorm${spatial ? '2d' : '1d'}(${C}, ${args}),`);
        break;
      }
      case 'ln': case 'gn': case 'in': {
        const what = { ln: '  # LayerNorm over (C, H, W) with a per-channel affine, as BN Lab\'s', in: '  # InstanceNorm with a per-channel affine, as BN Lab\'s', gn: '' }[l.kind];
        lines.push(`nn.GroupNorm(${s.groups}, ${C}, eps=${s.eps}${s.affine ? '' : ', affine=False'}),${what}`);
        break;
      }
      case 'noise': lines.push('# noisy BN (Santurkar et al.): a random shift and scale at every training step; no built-in layer.'); break;
      case 'flatten': break;  // written above
      default: throw new Error(`"Show code" does not know the layer kind ${l.kind}`);
    }
  }
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

# BN Lab network "${config.model}" (${spec}), norm=${norm}, placement=${info.model.placement}
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
  const { layers, spec, norm, shape } = network(config, info);
  const lines = [];
  // core/train/model.cpp's initializations as Keras initializers: untruncated normals (Keras's
  // he_normal and glorot_normal are truncated); "torch" draws weights and biases from
  // U(+-scale/sqrt(fan_in)), which is VarianceScaling(scale^2/3, fan_in, uniform) for the kernel.
  const s2 = config.init_scale ** 2;
  const vs = (scale, mode, distribution) => `keras.initializers.VarianceScaling(scale=${+scale.toFixed(6)}, mode='${mode}', distribution='${distribution}')`;
  const kinit = config.init === 'gaussian' ? `, kernel_initializer=keras.initializers.RandomNormal(stddev=${config.init_std})`
    : config.init === 'torch' ? `, kernel_initializer=${vs(s2 / 3, 'fan_in', 'uniform')}`
      : config.init === 'xavier' ? `, kernel_initializer=${vs(s2, 'fan_avg', 'untruncated_normal')}`
        : `, kernel_initializer=${vs(2 * s2, 'fan_in', 'untruncated_normal')}`;
  // Keras's tensors are (N, H, W, C) until the first Flatten; a Dense on a 4-D tensor would act
  // on the last axis only, so the first Dense after a conv part gets its Flatten.
  let spatial = true;
  for (const l of layers) {
    const s = l.settings;
    const needs4d = l.role === 'pool' || l.kind === 'conv';
    if (needs4d && !spatial) {
      lines.push(`layers.Reshape((1, 1, ${l.input_shape[1]})),`);
      spatial = true;
    }
    if ((l.kind === 'fc' && spatial) || l.kind === 'flatten') {
      lines.push('layers.Flatten(),  # channels-last: flattens in another order than PyTorch');
      spatial = false;
    }
    switch (l.kind) {
      case 'conv': {
        const same = s.stride === 1 && s.kernel % 2 === 1 && s.padding === (s.kernel - 1) / 2;
        if (!same && s.padding > 0) lines.push(`layers.ZeroPadding2D(${s.padding}),`);
        lines.push(`layers.Conv2D(${s.out_channels}, ${s.kernel}, strides=${s.stride}, padding='${same ? 'same' : 'valid'}'${kinit}),`);
        break;
      }
      case 'fc': lines.push(`layers.Dense(${s.out_features}${kinit}),`); break;
      case 'relu': case 'sigmoid': case 'tanh': lines.push(`layers.Activation('${l.kind}'),`); break;
      case 'maxpool': lines.push(`layers.MaxPooling2D(${s.kernel}, strides=${s.stride}),`); break;
      case 'avgpool': lines.push(`layers.AveragePooling2D(${s.kernel}, strides=${s.stride}),`); break;
      case 'bn': case 'brn': case 'gbn': {
        const extra = (l.kind === 'brn' ? `, renorm=True, renorm_clipping={'rmax': ${s.r_max}, 'rmin': ${+(1 / s.r_max).toFixed(6)}, 'dmax': ${s.d_max}}` : l.kind === 'gbn' ? `, virtual_batch_size=${s.ghost_batch}` : '') +
          (s.affine ? '' : ', center=False, scale=False');
        lines.push(s.cumulative
          ? `layers.BatchNormalization(epsilon=${s.eps}${extra}),  # cumulative averaging has no Keras equivalent: default momentum shown`
          : `layers.BatchNormalization(momentum=${+(1 - s.momentum).toFixed(6)}, epsilon=${s.eps}${extra}),  # = PyTorch momentum ${s.momentum}`);
        break;
      }
      case 'ln': lines.push(`layers.GroupNormalization(groups=1, epsilon=${s.eps}),  # LayerNorm with a per-channel affine`); break;
      case 'in': lines.push(`layers.GroupNormalization(groups=-1, epsilon=${s.eps}),  # InstanceNorm`); break;
      case 'gn': lines.push(`layers.GroupNormalization(groups=${s.groups}, epsilon=${s.eps}),`); break;
      case 'noise': lines.push('# noisy BN (Santurkar et al.): no built-in layer.'); break;
      case 'flatten': break;  // written above
      default: throw new Error(`"Show code" does not know the layer kind ${l.kind}`);
    }
  }
  const lr = config.schedule === 'step'
    ? `keras.optimizers.schedules.ExponentialDecay(${pyFloat(config.lr)}, decay_steps=${config.step_size}, decay_rate=${config.step_gamma}, staircase=True)`
    : config.schedule === 'cosine' ? `keras.optimizers.schedules.CosineDecay(${pyFloat(config.lr)}, decay_steps=${config.steps})` : pyFloat(config.lr);
  return `import keras
from keras import layers

# BN Lab network "${config.model}" (${spec}), norm=${norm}, placement=${info.model.placement}
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
