// Generated from the WebAssembly core by web/build.mjs (web/core-facts.mjs): do not edit.
// The core's option table and model presets (core/train/config.cpp, core/train/spec.cpp), and
// the page's accuracy target per dataset the experiments train on (core/experiments/targets.h).
export const OPTIONS = [
  { "name": "model", "type": "string", "help": "preset name (ref-cnn, mlp, ...) or model spec", "choices": [], "min": 0, "max": 0, "default": "ref-cnn" },
  { "name": "norm", "type": "choice", "help": "normalizer at the spec's bn positions", "choices": [ "none", "batch", "layer", "group", "instance", "renorm", "ghost" ], "min": 0, "max": 0, "default": "batch" },
  { "name": "placement", "type": "choice", "help": "normalizer before or after the activation", "choices": [ "before", "after" ], "min": 0, "max": 0, "default": "before" },
  { "name": "bn_eps", "type": "float", "help": "epsilon added to the variance", "choices": [], "min": 1e-12, "max": 1, "default": 0.00001 },
  { "name": "bn_momentum", "type": "float", "help": "running-statistics momentum, PyTorch convention, or 'cumulative'", "choices": [ "cumulative" ], "min": 0, "max": 1, "default": 0.1 },
  { "name": "affine", "type": "bool", "help": "learn a per-channel scale gamma and shift beta", "choices": [ "true", "false" ], "min": 0, "max": 1, "default": true },
  { "name": "track_running_stats", "type": "bool", "help": "keep running mean and variance for eval mode", "choices": [ "true", "false" ], "min": 0, "max": 1, "default": true },
  { "name": "groups", "type": "int", "help": "GroupNorm: number of groups", "choices": [], "min": 1, "max": 4096, "default": 4 },
  { "name": "ghost_batch", "type": "int", "help": "Ghost BN: samples per sub-batch", "choices": [], "min": 2, "max": 4096, "default": 8 },
  { "name": "r_max", "type": "float", "help": "Batch Renorm: clip of r", "choices": [], "min": 1, "max": 1000000, "default": 3 },
  { "name": "d_max", "type": "float", "help": "Batch Renorm: clip of d", "choices": [], "min": 0, "max": 1000000, "default": 5 },
  { "name": "noisy", "type": "bool", "help": "Santurkar et al.'s noise after every normalizer", "choices": [ "true", "false" ], "min": 0, "max": 1, "default": false },
  { "name": "init", "type": "choice", "help": "weight initialization", "choices": [ "he", "xavier", "gaussian", "torch" ], "min": 0, "max": 0, "default": "he" },
  { "name": "init_scale", "type": "float", "help": "multiplier of the He/Xavier standard deviation", "choices": [], "min": 0.000001, "max": 1000, "default": 1 },
  { "name": "init_std", "type": "float", "help": "standard deviation of init=gaussian", "choices": [], "min": 0, "max": 1000, "default": 0.01 },
  { "name": "dataset", "type": "choice", "help": "real MNIST digits, real Fashion-MNIST clothes, synthetic shapes, shifted shapes, or IDX files", "choices": [ "mnist", "fashion", "shapes", "shift", "idx" ], "min": 0, "max": 0, "default": "mnist" },
  { "name": "train_images", "type": "string", "help": "dataset=idx: training images (IDX file)", "choices": [], "min": 0, "max": 0, "default": "" },
  { "name": "train_labels", "type": "string", "help": "dataset=idx: training labels (IDX file)", "choices": [], "min": 0, "max": 0, "default": "" },
  { "name": "test_images", "type": "string", "help": "dataset=idx: test images (IDX file)", "choices": [], "min": 0, "max": 0, "default": "" },
  { "name": "test_labels", "type": "string", "help": "dataset=idx: test labels (IDX file)", "choices": [], "min": 0, "max": 0, "default": "" },
  { "name": "train_size", "type": "int", "help": "use only the first N training examples (0: all)", "choices": [], "min": 0, "max": 1000000000, "default": 0 },
  { "name": "test_size", "type": "int", "help": "evaluate on the first N test examples (0: all)", "choices": [], "min": 0, "max": 1000000000, "default": 0 },
  { "name": "shuffle", "type": "bool", "help": "reshuffle the training set every epoch", "choices": [ "true", "false" ], "min": 0, "max": 1, "default": true },
  { "name": "batch_size", "type": "int", "help": "examples per mini-batch", "choices": [], "min": 1, "max": 4096, "default": 32 },
  { "name": "lr", "type": "float", "help": "learning rate", "choices": [], "min": 0, "max": 10000, "default": 0.05 },
  { "name": "momentum", "type": "float", "help": "SGD momentum", "choices": [], "min": 0, "max": 0.999999, "default": 0.9 },
  { "name": "weight_decay", "type": "float", "help": "L2 weight decay", "choices": [], "min": 0, "max": 10, "default": 0 },
  { "name": "schedule", "type": "choice", "help": "learning-rate schedule", "choices": [ "constant", "step", "cosine" ], "min": 0, "max": 0, "default": "constant" },
  { "name": "step_size", "type": "int", "help": "schedule=step: steps between decays", "choices": [], "min": 1, "max": 1000000000, "default": 1000 },
  { "name": "step_gamma", "type": "float", "help": "schedule=step: decay factor", "choices": [], "min": 0, "max": 1, "default": 0.1 },
  { "name": "steps", "type": "int", "help": "training steps of a run, counted from its start (cosine anneals over them; 0: none)", "choices": [], "min": 0, "max": 1000000000, "default": 1000 },
  { "name": "seed", "type": "int", "help": "seed of weights, data order and noise", "choices": [], "min": 0, "max": 4294967295, "default": 1 },
];

export const PRESETS = [
  { "name": "ref-cnn", "spec": "conv8-bn-relu-pool2 conv16-bn-relu-pool2 fc64-bn-relu fc", "description": "the reference CNN of core/NUMERICS.md 7 (with norm=none: ref-cnn-nobn)" },
  { "name": "ref-cnn-nobn", "spec": "conv8-relu-pool2 conv16-relu-pool2 fc64-relu fc", "description": "the reference CNN without any normalizer" },
  { "name": "mlp", "spec": "fc100-bn-sigmoid fc100-bn-sigmoid fc100-bn-sigmoid fc", "description": "Ioffe & Szegedy's MNIST network: 784-100-100-100-10, sigmoid" },
  { "name": "small-cnn", "spec": "conv4-bn-relu-pool2 conv8-bn-relu-pool2 fc", "description": "a smaller CNN for quick lessons and tests" },
  { "name": "deep-cnn", "spec": "conv8-bn-relu conv8-bn-relu-pool2 conv16-bn-relu conv16-bn-relu-pool2 fc64-bn-relu fc", "description": "a deeper CNN, where initialization and learning rate matter more" },
];

export const TARGETS = { "mnist": 0.9, "fashion": 0.81 };
