// "No heap allocation inside a training step after the first one", checked by counting every
// call of malloc and its relatives: this file replaces them in the test binary (forwarding to
// glibc's own implementations), so operator new, Eigen's aligned allocations and every
// std::vector growth are seen.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

#include "train/trainer.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

static bool counting = false;
static int64_t allocations = 0;

void* malloc(size_t n) {
  if (counting) ++allocations;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  if (counting) ++allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  if (counting) ++allocations;
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
  if (counting) ++allocations;
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  if (counting) ++allocations;
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  if (counting) ++allocations;
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : 12;  // ENOMEM
}
}

using namespace bnlab;

static int64_t allocations_in_steps(Trainer& t, int steps) {
  allocations = 0;
  counting = true;
  for (int i = 0; i < steps; ++i) t.step();
  counting = false;
  return allocations;
}

TEST_CASE("alloc.the counter sees allocations") {
  allocations = 0;
  counting = true;
  std::vector<float> v(100);  // operator new -> malloc
  Tensor t(Shape{4, 4, 4, 4});  // Eigen's aligned malloc
  counting = false;
  CHECK(allocations == 2);
  CHECK(v.size() + size_t(t.size()) == 356);
}

TEST_CASE("alloc.a training step allocates nothing after the first one") {
  Config base;
  base.dataset = "shapes";
  base.batch_size = 32;
  base.train_size = 200;  // epochs of ~6 steps: the counted steps cross epoch boundaries
  auto data = load_data(base, "");
  struct Variant {
    const char* name;
    void (*apply)(Config&);
  };
  const Variant variants[] = {
      {"ref-cnn + BN", [](Config&) {}},
      {"ref-cnn without BN", [](Config& c) { c.norm.kind = NormKind::None; }},
      {"group norm, after the activation", [](Config& c) { c.norm.kind = NormKind::Group; c.placement = Placement::After; }},
      {"noisy BN, weight decay, cosine schedule", [](Config& c) { c.noisy = true; c.weight_decay = 1e-4f; c.schedule = Schedule::Cosine; }},
      {"renorm", [](Config& c) { c.norm.kind = NormKind::Renorm; }},
      {"ghost BN", [](Config& c) { c.norm.kind = NormKind::Ghost; }},
      {"mlp", [](Config& c) { c.model = "mlp"; }},
  };
  for (const Variant& v : variants) {
    CAPTURE(v.name);
    Config c = base;
    v.apply(c);
    Trainer t(c, data);
    t.step();
    t.step();
    CHECK(allocations_in_steps(t, 20) == 0);
  }
}
