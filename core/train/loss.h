// Softmax cross-entropy with the batch mean (torch.nn.CrossEntropyLoss, reduction "mean"):
//
//   p_nj = exp(z_nj) / sum_i exp(z_ni)                      logits z: (N, K, 1, 1)
//   L    = (1/N) sum_n -log p_n,t_n                          labels t_n in [0, K)
//
// This is where the 1/N of the mean is applied, once for the whole network. It is not a Layer:
// it maps logits and labels to a number.
#pragma once

#include <vector>

#include "base/tensor.h"

namespace bnlab {

class SoftmaxCrossEntropy {
 public:
  // Returns the mean loss L. Throws Error for logits not shaped (N >= 1, K >= 1, 1, 1) and for
  // a label outside [0, K). A non-finite logit is not an error: L comes back NaN or Inf.
  float forward(const Tensor& logits, const int* labels);
  // dL/dz = (p - onehot(t)) / N, shape of the logits.
  const Tensor& backward();

  int correct() const { return correct_; }  // argmax_j z_nj == t_n in the last forward
  // (N) argmax_j z_nj of the last forward (the first of equal maxima): each sample's answer.
  const std::vector<int>& predictions() const { return predicted_; }
  const Tensor& probabilities() const { return probs_; }  // p: (N, K, 1, 1)

 private:
  std::vector<int> labels_;  // [N]: t of the last forward
  std::vector<int> predicted_;  // [N]: argmax_j z_nj of the last forward
  Tensor probs_;             // (N, K, 1, 1)
  Tensor dlogits_;           // (N, K, 1, 1)
  int correct_ = 0;
};

}  // namespace bnlab
