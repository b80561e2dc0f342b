// BatchSampler: file order without shuffle, a fresh permutation per epoch with it, full batches
// that straddle epochs, determinism per seed, and save/restore of its state.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "train/sampler.h"

using namespace bnlab;

namespace {

// n images of shape (1, 1, 2): image k holds (k, k + 0.5) and label k % 3, so every batch tells
// which examples it holds.
Dataset numbered(int n) {
  Dataset d;
  d.name = "numbered";
  d.channels = 1, d.height = 1, d.width = 2;
  d.num_classes = 3;
  d.class_names = {"a", "b", "c"};
  for (int k = 0; k < n; ++k) {
    d.images.push_back(float(k));
    d.images.push_back(float(k) + 0.5f);
    d.labels.push_back(k % 3);
  }
  return d;
}

// The example indices of the next batch, checking that x and labels agree with them.
std::vector<int> next_indices(BatchSampler& s, int batch_size, Tensor& x,
                              std::vector<int>& labels) {
  s.next(batch_size, x, labels);
  REQUIRE(x.shape() == Shape{batch_size, 1, 1, 2});
  REQUIRE(labels.size() == size_t(batch_size));
  std::vector<int> indices;
  for (int b = 0; b < batch_size; ++b) {
    const int k = int(x.at(b, 0, 0, 0));
    CHECK(x.at(b, 0, 0, 1) == float(k) + 0.5f);
    CHECK(labels[size_t(b)] == k % 3);
    indices.push_back(k);
  }
  return indices;
}

std::vector<int> stream(BatchSampler& s, int batches, int batch_size) {
  Tensor x;
  std::vector<int> labels, all;
  for (int i = 0; i < batches; ++i) {
    const std::vector<int> b = next_indices(s, batch_size, x, labels);
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

}  // namespace

TEST_CASE("sampler.without shuffle gives file order and straddles epochs") {
  const Dataset d = numbered(5);
  BatchSampler s(d, 1, false);
  Tensor x;
  std::vector<int> labels;
  CHECK(next_indices(s, 2, x, labels) == std::vector<int>{0, 1});
  CHECK(next_indices(s, 2, x, labels) == std::vector<int>{2, 3});
  CHECK(s.epoch() == 0);
  CHECK(s.position() == 4);
  // The third batch takes the last example of epoch 0 and the first of epoch 1.
  CHECK(next_indices(s, 2, x, labels) == std::vector<int>{4, 0});
  CHECK(s.epoch() == 1);
  CHECK(s.position() == 1);
  CHECK(s.examples_seen() == 6);
  // A batch of the whole dataset, then one that ends exactly at an epoch's end.
  CHECK(next_indices(s, 5, x, labels) == std::vector<int>{1, 2, 3, 4, 0});
  CHECK(next_indices(s, 4, x, labels) == std::vector<int>{1, 2, 3, 4});
  CHECK(s.epoch() == 3);
  CHECK(s.position() == 0);
  CHECK(s.examples_seen() == 15);
}

TEST_CASE("sampler.with shuffle visits every example once per epoch, in a new order each epoch") {
  const Dataset d = numbered(7);
  BatchSampler s(d, 42, true);
  // Batches of 3 straddle the epochs; cut the stream into epochs of 7.
  const std::vector<int> all = stream(s, 14, 3);  // 42 examples = 6 epochs
  CHECK(s.epoch() == 6);
  CHECK(s.position() == 0);
  std::vector<std::vector<int>> epochs;
  for (int e = 0; e < 6; ++e) {
    std::vector<int> order(all.begin() + 7 * e, all.begin() + 7 * (e + 1));
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
    epochs.push_back(order);
  }
  int distinct = 0, identity = 0;
  for (int e = 0; e < 6; ++e) {
    distinct += std::count(epochs.begin(), epochs.end(), epochs[size_t(e)]) == 1;
    identity += epochs[size_t(e)] == std::vector<int>{0, 1, 2, 3, 4, 5, 6};
  }
  // 7! = 5040 permutations: six epochs repeating one would be a broken shuffle.
  CHECK(distinct == 6);
  CHECK(identity == 0);
}

TEST_CASE("sampler.shuffle puts every example first about equally often") {
  const Dataset d = numbered(5);
  BatchSampler s(d, 9, true);
  Tensor x;
  std::vector<int> labels;
  std::vector<int> first(5, 0);
  for (int e = 0; e < 2000; ++e) first[size_t(next_indices(s, 5, x, labels)[0])]++;
  // 400 expected each; binomial standard deviation about 18.
  for (int c : first) CHECK((c > 320 && c < 480));
}

TEST_CASE("sampler.same seed, same batches, and another seed, other batches") {
  const Dataset d = numbered(50);
  BatchSampler a(d, 123, true), b(d, 123, true), c(d, 124, true);
  const std::vector<int> sa = stream(a, 40, 8), sb = stream(b, 40, 8), sc = stream(c, 40, 8);
  CHECK(sa == sb);
  CHECK(sa != sc);
}

TEST_CASE("sampler.set_state continues with the same batches") {
  const Dataset d = numbered(11);
  for (bool shuffle : {false, true}) {
    CAPTURE(shuffle);
    BatchSampler a(d, 5, shuffle);
    stream(a, 9, 4);  // 36 examples: epoch 3, position 3
    REQUIRE(a.epoch() == 3);
    REQUIRE(a.position() == 3);
    BatchSampler b(d, 5, shuffle);
    b.set_state(a.epoch(), a.position());
    CHECK(b.examples_seen() == 36);
    CHECK(stream(b, 12, 4) == stream(a, 12, 4));
    // Going back to an earlier state replays the stream.
    BatchSampler fresh(d, 5, shuffle);
    const std::vector<int> from_start = stream(fresh, 6, 4);
    b.set_state(0, 0);
    CHECK(stream(b, 6, 4) == from_start);
  }
}

TEST_CASE("sampler.allocates nothing after the first batch of a size") {
  const Dataset d = numbered(20);
  BatchSampler s(d, 1, true);
  Tensor x;
  std::vector<int> labels;
  s.next(8, x, labels);
  const float* x_data = x.data();
  const int* labels_data = labels.data();
  for (int i = 0; i < 10; ++i) {
    s.next(i % 2 ? 8 : 5, x, labels);  // smaller batches reuse the storage too
    CHECK(x.data() == x_data);
    CHECK(labels.data() == labels_data);
  }
}

TEST_CASE("sampler.bad batch sizes, states and datasets throw Error") {
  const Dataset d = numbered(5);
  BatchSampler s(d, 1, true);
  Tensor x;
  std::vector<int> labels;
  CHECK_THROWS_WITH_AS(s.next(6, x, labels), doctest::Contains("batch size 6"), Error);
  CHECK_THROWS_AS(s.next(0, x, labels), Error);
  CHECK_THROWS_WITH_AS(s.set_state(0, 5), doctest::Contains("position 0 to 4"), Error);
  CHECK_THROWS_AS(s.set_state(-1, 0), Error);
  CHECK_THROWS_AS(s.set_state(0, -1), Error);
  CHECK(s.examples_seen() == 0);  // a refused state changes nothing

  CHECK_THROWS_WITH_AS(BatchSampler(Dataset(), 1, false), doctest::Contains("no examples"),
                       Error);
  Dataset broken = numbered(5);
  broken.images.pop_back();
  CHECK_THROWS_AS(BatchSampler(broken, 1, false), Error);
  Dataset bad_label = numbered(5);
  bad_label.labels[2] = 3;
  CHECK_THROWS_AS(BatchSampler(bad_label, 1, false), Error);
}
