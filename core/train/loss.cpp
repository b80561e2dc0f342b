#include "train/loss.h"

#include <cmath>
#include <limits>

#include "base/error.h"

namespace bnlab {

// Per sample, with m = max_j z_j (log-sum-exp shifted so that no exp overflows):
//   -log p_t = m + log sum_j exp(z_j - m) - z_t,    p_j = exp(z_j - m) / sum_i exp(z_i - m)
// The exponentials and sums are taken in double.
float SoftmaxCrossEntropy::forward(const Tensor& logits, const int* labels) {
  const Shape& s = logits.shape();
  if (s.n < 1 || s.c < 1 || s.h != 1 || s.w != 1)
    throw Error("loss: expects logits shaped (N, K, 1, 1) with N, K >= 1, got " + s.str());
  if (!labels) throw Error("loss: no labels given for " + std::to_string(s.n) + " samples");
  const int n = s.n, k = s.c;
  for (int i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= k)
      throw Error("loss: label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                  " is outside [0, " + std::to_string(k) + ") for K = " + std::to_string(k) +
                  " classes");
  labels_.assign(labels, labels + n);
  predicted_.resize(size_t(n));
  probs_.resize(s);
  correct_ = 0;
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    const float* z = logits.data() + int64_t(i) * k;
    float* p = probs_.data() + int64_t(i) * k;
    int argmax = 0;
    float m = -std::numeric_limits<float>::infinity();
    for (int j = 0; j < k; ++j)
      if (z[j] > m) m = z[j], argmax = j;
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += std::exp(double(z[j]) - double(m));
    for (int j = 0; j < k; ++j) p[j] = float(std::exp(double(z[j]) - double(m)) / sum);
    total += double(m) + std::log(sum) - double(z[labels_[i]]);
    predicted_[size_t(i)] = argmax;
    correct_ += argmax == labels_[i];
  }
  return float(total / n);
}

const Tensor& SoftmaxCrossEntropy::backward() {
  if (probs_.size() == 0) throw Error("loss: backward called before forward");
  const int n = probs_.shape().n, k = probs_.shape().c;
  dlogits_.resize(probs_.shape());
  const float inv_n = 1.f / float(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j)
      dlogits_.at(i, j) = (probs_.at(i, j) - (j == labels_[i] ? 1.f : 0.f)) * inv_n;
  return dlogits_;
}

}  // namespace bnlab
