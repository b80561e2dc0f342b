#include "train/trainer.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "base/error.h"
#include "data/idx.h"
#include "data/synthetic.h"
#include "kernels/simd4.h"

namespace bnlab {

namespace {

const Config& validated(const Config& config) {
  validate(config);
  return config;
}

// The config, once the batch is known to fit the data (checked before the model is built, so that
// the person hears about the batch, not about the memory such a batch would need).
const Config& fits_data(const Config& config, const DataSplit& data) {
  if (config.batch_size > data.train.size())
    throw Error("batch_size " + std::to_string(config.batch_size) + " is larger than the training set (" +
                std::to_string(data.train.size()) + " examples)");
  return config;
}

// The training set cut to its first n examples (config train_size), or the data as it is.
std::shared_ptr<const DataSplit> limit_train(std::shared_ptr<const DataSplit> data, int n) {
  if (!data) throw Error("a trainer needs data");
  if (n <= 0 || n >= data->train.size()) return data;
  auto cut = std::make_shared<DataSplit>(*data);
  const int64_t per = data->train.image_shape().per_sample();
  cut->train.images.resize(size_t(n * per));
  cut->train.labels.resize(size_t(n));
  return cut;
}

int num_classes_of(const DataSplit& d) { return std::max(d.train.num_classes, d.test.num_classes); }

// How a running trainer takes a new value of an option (Trainer::set_options).
enum class Change {
  Config,      // read from the config at every step or evaluation
  Optimizer,   // SGD's momentum and weight decay: handed to the optimizer
  Normalizers, // copied into the normalizer layers when they are made, which then offer no way to
               // change them: the model is made again and given every weight, running statistic,
               // counter and noise state of the old one (what load_state does, without the text)
  Reset,       // changes the model's structure or the data: only a new run can take it
};

struct OptionChange {
  const char* name;
  Change change;
  const char* why;  // for Reset: what the option changes
};

// Every option of config.h's table (a test checks that none is missing).
constexpr OptionChange kOptionChanges[] = {
    {"model", Change::Reset, "it defines the layers"},
    {"norm", Change::Reset, "it chooses the normalizer layers"},
    {"placement", Change::Reset, "it orders the layers"},
    {"bn_eps", Change::Normalizers, ""},
    {"bn_momentum", Change::Normalizers, ""},
    {"affine", Change::Reset, "it decides whether the normalizers have gamma and beta"},
    {"track_running_stats", Change::Reset, "it decides whether the normalizers keep running statistics"},
    // A state file of another grouping is refused too (load_state): G sets the model's structure.
    {"groups", Change::Reset, "it sets which channels GroupNorm normalizes together"},
    {"ghost_batch", Change::Normalizers, ""},
    {"r_max", Change::Normalizers, ""},
    {"d_max", Change::Normalizers, ""},
    {"noisy", Change::Reset, "it adds or removes the noise layers"},
    {"init", Change::Reset, "the initial weights were drawn when the run began"},
    {"init_scale", Change::Reset, "the initial weights were drawn when the run began"},
    {"init_std", Change::Reset, "the initial weights were drawn when the run began"},
    {"dataset", Change::Reset, "it changes the data"},
    {"train_images", Change::Reset, "it changes the data"},
    {"train_labels", Change::Reset, "it changes the data"},
    {"test_images", Change::Reset, "it changes the data"},
    {"test_labels", Change::Reset, "it changes the data"},
    {"train_size", Change::Reset, "it changes the training set"},
    {"test_size", Change::Config, ""},  // evaluate() reads it
    {"shuffle", Change::Reset, "it changes the order of the batches"},
    {"batch_size", Change::Reset, "it changes the batches"},
    {"lr", Change::Config, ""},         // learning_rate_at() reads lr and the schedule's options
    {"momentum", Change::Optimizer, ""},
    {"weight_decay", Change::Optimizer, ""},
    {"schedule", Change::Config, ""},
    {"step_size", Change::Config, ""},
    {"step_gamma", Change::Config, ""},
    {"steps", Change::Config, ""},
    {"seed", Change::Reset, "it draws the initial weights, the order of the batches and the noise"},
};

// 3 significant digits, the exponent without '+' or leading zeros: "3e19", "1.25e6", "0.5".
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  std::string s = buf;
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string exponent = s.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent = exponent.substr(exponent[0] == '-' || exponent[0] == '+' ? 1 : 0);
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return s.substr(0, e) + "e" + (negative ? "-" : "") + exponent;
}

const OptionChange& change_of(const std::string& name) {
  for (const OptionChange& c : kOptionChanges)
    if (name == c.name) return c;
  throw Error("option " + name + " has no rule for changing it during a run (trainer.cpp)");
}

// What a built dataset's four files (<dataset>-{train,test}-{images,labels}.idx in dir, as
// core/data/idx.cpp names them) are now: each one's size and modification time (POSIX stat:
// std::filesystem's directory and clock code would add 8 KB to the page's gzipped wasm).
struct FilesState {
  std::string prefix;           // dir/dataset-
  long long stamps[4][3] = {};  // per file: size, mtime seconds, nanoseconds
  bool complete = false;        // false when a file is missing (make_dataset says which)
  bool operator==(const FilesState& o) const {
    return complete && o.complete && prefix == o.prefix &&
           std::memcmp(stamps, o.stamps, sizeof stamps) == 0;
  }
};

FilesState files_state(const std::string& dataset, const std::string& dir) {
  FilesState state;
  state.prefix = dir + "/" + dataset + "-";
  int i = 0;
  for (const char* part : {"train-images", "train-labels", "test-images", "test-labels"}) {
    struct stat st {};
    if (::stat((state.prefix + part + ".idx").c_str(), &st) != 0) return state;
    state.stamps[i][0] = st.st_size;
    state.stamps[i][1] = st.st_mtim.tv_sec;
    state.stamps[i++][2] = st.st_mtim.tv_nsec;
  }
  state.complete = true;
  return state;
}

// The last built dataset loaded (or kept), and the state of its files then.
struct KeptData {
  std::mutex mutex;
  FilesState state;
  std::shared_ptr<const DataSplit> data;
};
KeptData& kept_data() {
  static KeptData kept;
  return kept;
}

}  // namespace

void keep_data(const std::string& dataset, const std::string& data_dir,
               std::shared_ptr<const DataSplit> data) {
  if (dataset != "mnist" && dataset != "fashion")
    throw Error("keep_data: only mnist and fashion are built datasets, not '" + dataset + "'");
  const FilesState state = files_state(dataset, data_dir);
  if (!state.complete) throw Error("keep_data: the " + dataset + " files are not all in " + data_dir);
  KeptData& kept = kept_data();
  std::lock_guard<std::mutex> lock(kept.mutex);
  kept.state = state;
  kept.data = std::move(data);
}

std::shared_ptr<const DataSplit> load_data(const Config& config, const std::string& data_dir) {
  validate(config);
  if (config.dataset == "idx") {
    auto d = std::make_shared<DataSplit>();
    d->train = load_idx(config.train_images, config.train_labels);
    d->test = load_idx(config.test_images, config.test_labels);
    return d;
  }
  if (config.dataset != "mnist" && config.dataset != "fashion")
    return std::make_shared<const DataSplit>(make_dataset(config.dataset, config.seed, data_dir));
  // The last built dataset loaded is kept while its files are unchanged: a sweep run in parts
  // (the page's pool of workers, one part per swept value) loads its data once per part, and in
  // wasm parsing the page's MNIST took about 90 ms of CPU per part (wasm/README.md, "Using every
  // core"). Data is immutable once loaded (shared as const), so sharing it changes no result.
  KeptData& kept = kept_data();
  const FilesState state = files_state(config.dataset, data_dir);
  {
    std::lock_guard<std::mutex> lock(kept.mutex);
    if (state == kept.state) return kept.data;
  }
  auto data =
      std::make_shared<const DataSplit>(make_dataset(config.dataset, config.seed, data_dir));
  std::lock_guard<std::mutex> lock(kept.mutex);
  if (state.complete) {
    kept.state = state;
    kept.data = data;
  }
  return data;
}

Trainer::Trainer(const Config& config, std::shared_ptr<const DataSplit> data)
    : config_(validated(config)),
      data_(limit_train(std::move(data), config.train_size)),
      model_(fits_data(config_, *data_), data_->train.image_shape(), num_classes_of(*data_)),
      sgd_(model_.params(), config_.momentum, config_.weight_decay),
      sampler_(data_->train, config_.seed, config_.shuffle) {
  if (data_->test.size() > 0 && data_->test.image_shape() != data_->train.image_shape())
    throw Error("test images " + data_->test.image_shape().str() + " differ in shape from training images " +
                data_->train.image_shape().str());
  model_.init_weights(config_.seed);
}

StepMetrics Trainer::step() {
  StepMetrics m;
  m.lr = learning_rate_at(config_, step_);
  if (diverged()) {
    m.step = diverged_at_;
    m.loss = std::nanf("");
    m.diverged = true;
    return m;
  }
  sampler_.next(config_.batch_size, x_, labels_);
  const Tensor& logits = model_.forward(x_, Mode::Train);
  m.loss = loss_.forward(logits, labels_.data());
  m.accuracy = float(loss_.correct()) / float(config_.batch_size);
  if (!std::isfinite(m.loss)) {
    diverged_at_ = step_ + 1;
    diverged_reason_ = std::isnan(m.loss) ? "loss is NaN" : "loss is infinite";
  } else if (std::fabs(m.loss) > kDivergedLoss) {
    diverged_at_ = step_ + 1;
    diverged_reason_ = "loss " + short_number(m.loss) + " (above " + short_number(kDivergedLoss) + ")";
  } else {
    model_.zero_grad();
    model_.backward(loss_.backward());
    for (const NamedParam& p : model_.params())
      if (!simd4::all_finite(p.param.grad->data(), p.param.grad->size())) {
        diverged_at_ = step_ + 1;
        diverged_reason_ = "gradient of " + p.name + " is not finite";
        break;
      }
  }
  if (diverged()) {
    m.step = diverged_at_;
    m.diverged = true;
    return m;
  }
  sgd_.step(m.lr);
  m.step = ++step_;
  return m;
}

EvalMetrics Trainer::evaluate(Mode mode, int max_examples, std::vector<int>* predictions) {
  const Dataset& test = data_->test;
  int count = test.size();
  if (config_.test_size > 0) count = std::min(count, config_.test_size);
  if (max_examples > 0) count = std::min(count, max_examples);
  EvalMetrics r;
  if (predictions) predictions->clear();
  if (count == 0) return r;
  const ForwardState saved = model_.save_forward_state();
  // Chunks of nearly equal size (never a chunk of 1, which batch statistics cannot normalize):
  // eval mode in chunks of up to 256; train mode in chunks of the training batch size, the
  // statistics a training step would see.
  const int target = mode == Mode::Eval ? 256 : std::max(2, config_.batch_size);
  const int chunks = (count + target - 1) / target;
  const Shape img = test.image_shape();
  const int64_t per = img.per_sample();
  double loss_sum = 0;
  int correct = 0, done = 0;
  for (int k = 0; k < chunks; ++k) {
    const int begin = int(int64_t(count) * k / chunks), end = int(int64_t(count) * (k + 1) / chunks);
    const int b = end - begin;
    eval_x_.resize(Shape{b, img.c, img.h, img.w});
    std::copy(test.images.begin() + begin * per, test.images.begin() + end * per, eval_x_.data());
    eval_labels_.assign(test.labels.begin() + begin, test.labels.begin() + end);
    const Tensor& logits = model_.forward(eval_x_, mode);
    loss_sum += double(loss_.forward(logits, eval_labels_.data())) * b;
    correct += loss_.correct();
    if (predictions) predictions->insert(predictions->end(), loss_.predictions().begin(), loss_.predictions().end());
    done += b;
  }
  model_.restore_forward_state(saved);
  r.loss = float(loss_sum / done);
  r.accuracy = float(correct) / float(done);
  r.count = done;
  return r;
}

Config Trainer::with_options(const OptionValues& options) const {
  Config next = config_;
  for (const auto& [name, value] : options) set_option(next, name, value);
  validate(next);
  return next;
}

std::vector<std::string> Trainer::options_needing_reset(const OptionValues& options) const {
  const Config next = with_options(options);
  std::vector<std::string> names;
  for (const OptionInfo& o : option_table())
    if (get_option(next, o.name) != get_option(config_, o.name) && change_of(o.name).change == Change::Reset)
      names.push_back(o.name);
  return names;
}

void Trainer::set_options(const OptionValues& options) {
  const Config next = with_options(options);
  bool remake_model = false;
  for (const OptionInfo& o : option_table()) {
    if (get_option(next, o.name) == get_option(config_, o.name)) continue;
    const OptionChange& c = change_of(o.name);
    if (c.change == Change::Reset)
      throw Error("option " + o.name + " cannot change during a run (" + c.why + "): it needs a reset");
    remake_model = remake_model || c.change == Change::Normalizers;
  }
  if (remake_model) {
    // Made and filled before anything changes: the constructor may still refuse the config.
    Model model(next, data_->train.image_shape(), num_classes_of(*data_));
    for (size_t i = 0; i < model.params().size(); ++i) {
      *model.params()[i].param.value = *model_.params()[i].param.value;
      *model.params()[i].param.grad = *model_.params()[i].param.grad;
    }
    for (size_t i = 0; i < model.buffers().size(); ++i) *model.buffers()[i].buffer.value = *model_.buffers()[i].buffer.value;
    for (size_t i = 0; i < model.counters().size(); ++i) *model.counters()[i].counter.value = *model_.counters()[i].counter.value;
    model.set_noise_states(model_.noise_states());
    Sgd sgd(model.params(), next.momentum, next.weight_decay);
    sgd.momentum_buffers() = sgd_.momentum_buffers();
    // The layers live on the heap, so the optimizer's pointers into them survive the move.
    model_ = std::move(model);
    sgd_ = std::move(sgd);
  }
  sgd_.set_momentum(next.momentum);
  sgd_.set_weight_decay(next.weight_decay);
  config_ = next;
}

std::string Trainer::status() const {
  if (!diverged()) return "training";
  return "diverged at step " + std::to_string(diverged_at_) + ": " + diverged_reason_;
}

}  // namespace bnlab
