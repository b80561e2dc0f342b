// The core's facts as JSON, for the page and "Show code" (through the WebAssembly module) so
// that JavaScript never types them again: the parsed description of a model and the layer kinds.
#pragma once

#include "base/tensor.h"
#include "io/json.h"
#include "train/config.h"
#include "train/model.h"

namespace bnlab {

// A model as built, in layer order (placement applied, normalizers chosen by the config):
//   {spec, input_shape: [C, H, W], num_classes, num_params, norm, placement, noisy,
//    layers: [{name, kind, role, input_shape, output_shape: [1, C, H, W],
//              params: [{name, shape (PyTorch's), count}], settings: {name: value}}],
//    description (Model::describe's text)}
// Shapes are those of one example; a dense activation is [1, C, 1, 1].
Json describe_model(const Model& model);
// The description of the model `config` builds for examples of shape (1, C, H, W) with
// `classes` classes, without data or training. Throws Error as the Model constructor does.
Json describe_model(const Config& config, Shape example, int classes);

// [{kind, role, what}] of layer_kinds() (layers/kinds.h).
Json layer_kinds_json();

}  // namespace bnlab
