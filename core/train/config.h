// Every setting of a BN Lab run, in one struct, and the option table that names them.
//
// The same names are used by the CLI (--batch-size 64 or --batch_size 64), by the JavaScript API
// ({batch_size: 64}), by the page's URL (?batch_size=64) and in saved state files ("config"), so
// that a run described anywhere can be reproduced everywhere. Defaults follow PyTorch and
// NUMERICS.md 7 (BN eps 1e-5, momentum 0.1; SGD lr 0.05, momentum 0.9).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/normalizer.h"

namespace bnlab {

enum class Placement { Before, After };  // normalizer before or after the activation
enum class InitKind { He, Xavier, Gaussian, Torch };
enum class Schedule { Constant, Step, Cosine };

struct Config {
  // Model.
  std::string model = "ref-cnn";  // a preset name or a spec (see spec.h)
  NormConfig norm;                // which normalizer sits at the spec's "bn" positions
  Placement placement = Placement::Before;
  bool noisy = false;             // Santurkar et al.'s noise after every normalizer
  InitKind init = InitKind::He;   // He (Kaiming) normal, fan_in, gain sqrt(2) for ReLU nets
  float init_scale = 1.f;         // multiplies the He / Xavier standard deviation
  float init_std = 0.01f;         // standard deviation of init=gaussian
  // Data.
  std::string dataset = "mnist";  // mnist, fashion, shapes, shift, idx
  std::string train_images, train_labels, test_images, test_labels;  // dataset=idx
  int train_size = 0;             // use only the first N training examples (0: all)
  int test_size = 0;              // evaluate on the first N test examples (0: all)
  bool shuffle = true;            // reshuffle every epoch (off: batches in file order)
  int batch_size = 32;
  // Optimizer: SGD with momentum, PyTorch's formula.
  float lr = 0.05f;
  float momentum = 0.9f;
  float weight_decay = 0.f;
  Schedule schedule = Schedule::Constant;
  int step_size = 1000;           // schedule=step: multiply lr by step_gamma every step_size steps
  float step_gamma = 0.1f;
  int steps = 1000;               // length of a CLI run from its start; cosine anneals over it
  uint32_t seed = 1;
};

// One row of the option table.
struct OptionInfo {
  std::string name;     // snake_case, as in the struct
  std::string type;     // "int", "float", "bool", "string", "choice"
  std::string help;
  std::vector<std::string> choices;  // for "choice"; for a number, the words it also takes
  double min = 0, max = 0;           // for int and float (inclusive)
};

const std::vector<OptionInfo>& option_table();
// Sets one option from its text form ("0.1", "true", "batch"); dashes in the name are read as
// underscores. Throws Error naming the option, the value and what is allowed.
void set_option(Config& config, const std::string& name, const std::string& value);
std::string get_option(const Config& config, const std::string& name);
// The shortest text that reads back to the same float32 ("0.05", not "0.0500000007"): options
// are stored as float, and their text goes into URLs, state files and generated code.
std::string format_float(double v);
// Checks the combination (e.g. groups must be >= 1, idx needs four paths); throws Error.
void validate(const Config& config);

// The one number grammar of options, wherever they come from (CLI, state file, URL, page):
// whole: -?[0-9]+; otherwise a decimal, -?([0-9]+.?[0-9]*|.[0-9]+)([eE][+-]?[0-9]+)?. No hex, no
// "inf" or "nan", no spaces, no '+' in front (strtod would take all of these).
bool is_number_text(const std::string& text, bool whole);
// A whole number of that grammar within [min, max], for run options that are not in the table
// (--eval-every, --seed, ...); throws Error "WHAT must be a whole number from MIN to MAX".
int64_t parse_whole_number(const std::string& text, int64_t min, int64_t max, const std::string& what);

// Which data a config trains and tests on: two configs with the same key can share one loaded
// DataSplit (a comparison's A and B do). It is what load_data reads or generates: the dataset,
// its four IDX paths (images and labels), the seed of the synthetic ones. train_size and
// test_size are not in it: each trainer cuts the shared data itself.
std::string data_key(const Config& config);

// The learning rate at a step (0-based) under the config's schedule.
float learning_rate_at(const Config& config, int64_t step);

}  // namespace bnlab
