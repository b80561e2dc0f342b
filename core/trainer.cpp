#include "trainer.h"

#include <cmath>

#include "error.h"
#include "idx.h"
#include "synthetic.h"

namespace bnlab {

namespace {

const Config& validated(const Config& config) {
  validate(config);
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

}  // namespace

std::shared_ptr<const DataSplit> load_data(const Config& config, const std::string& data_dir) {
  validate(config);
  if (config.dataset == "idx") {
    auto d = std::make_shared<DataSplit>();
    d->train = load_idx(config.train_images, config.train_labels);
    d->test = load_idx(config.test_images, config.test_labels);
    return d;
  }
  return std::make_shared<const DataSplit>(make_dataset(config.dataset, config.seed, data_dir));
}

Trainer::Trainer(const Config& config, std::shared_ptr<const DataSplit> data)
    : config_(validated(config)),
      data_(limit_train(std::move(data), config.train_size)),
      model_(config_, data_->train.image_shape(), num_classes_of(*data_)),
      sgd_(model_.params(), config_.momentum, config_.weight_decay),
      sampler_(data_->train, config_.seed, config_.shuffle) {
  if (data_->test.size() > 0 && data_->test.image_shape() != data_->train.image_shape())
    throw Error("test images " + data_->test.image_shape().str() + " differ in shape from training images " +
                data_->train.image_shape().str());
  if (config_.batch_size > data_->train.size())
    throw Error("batch_size " + std::to_string(config_.batch_size) + " is larger than the training set (" +
                std::to_string(data_->train.size()) + " examples)");
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
  } else {
    model_.zero_grad();
    model_.backward(loss_.backward());
    for (const NamedParam& p : model_.params())
      if (!p.param.grad->vec().allFinite()) {
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

std::string Trainer::status() const {
  if (!diverged()) return "training";
  return "diverged at step " + std::to_string(diverged_at_) + ": " + diverged_reason_;
}

}  // namespace bnlab
