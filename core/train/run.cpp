#include "train/run.h"

#include <algorithm>
#include <utility>

namespace bnlab {

Trainer& Run::add(const Config& config, std::shared_ptr<const DataSplit> data) {
  return add(std::make_unique<Trainer>(config, std::move(data)));
}

Trainer& Run::add(std::unique_ptr<Trainer> trainer) {
  owned_.push_back(std::move(trainer));
  attach(*owned_.back());
  return *owned_.back();
}

void Run::attach(Trainer& trainer) {
  step_ = std::max(step_, trainer.step_count());
  sides_.push_back(&trainer);
  last_heavy_.push_back(-1);
}

bool Run::all_diverged() const {
  return std::all_of(sides_.begin(), sides_.end(), [](const Trainer* t) { return t->diverged(); });
}

bool Run::finished() const {
  if (sides_.empty()) return true;
  if (schedule_.steps > 0 && step_ >= schedule_.steps) return true;
  return schedule_.stop_when_diverged && all_diverged();
}

// Once per side's step count: a side that stopped (diverged) is not measured again and again.
bool Run::heavy_due(size_t k) const {
  const int64_t at = sides_[k]->step_count();
  return schedule_.heavy_every > 0 && at % schedule_.heavy_every == 0 && last_heavy_[k] != at;
}

void Run::step(const RunHooks& hooks) {
  if (finished()) return;
  ++step_;
  for (size_t k = 0; k < sides_.size(); ++k) {
    Trainer& t = *sides_[k];
    SideStep s;
    s.side = int(k);
    s.step = step_;
    if (heavy_due(k)) {
      last_heavy_[k] = t.step_count();
      s.heavy = true;
      if (hooks.heavy) hooks.heavy(int(k), t);
    }
    s.stopped = t.diverged();
    if (!s.stopped && hooks.before) hooks.before(int(k), t);
    s.metrics = t.step();
    const int64_t own = s.metrics.step;
    s.eval_due =
        !s.metrics.diverged && ((schedule_.eval_every > 0 && own % schedule_.eval_every == 0) ||
                                (schedule_.eval_at_end && step_ == schedule_.steps));
    if (hooks.stepped) hooks.stepped(s, t);
  }
  if (hooks.lockstep) hooks.lockstep(step_);
}

int64_t Run::train(int64_t n, const RunHooks& hooks) {
  int64_t taken = 0;
  for (; taken < n && !finished(); ++taken) step(hooks);
  return taken;
}

int64_t Run::train_each(int64_t n, const RunHooks& hooks) {
  if (finished() || n <= 0) return 0;
  const int64_t start = step_;
  const int64_t limit = schedule_.steps > 0 ? std::min(n, schedule_.steps - start) : n;
  int64_t taken = schedule_.stop_when_diverged ? 0 : limit;  // lockstep steps the run takes
  for (size_t k = 0; k < sides_.size(); ++k) {
    Trainer& t = *sides_[k];
    int64_t j = 0;
    for (; j < limit && !t.diverged(); ++j) {
      SideStep s;
      s.side = int(k);
      s.step = start + j + 1;
      if (heavy_due(k)) {
        last_heavy_[k] = t.step_count();
        s.heavy = true;
        if (hooks.heavy) hooks.heavy(int(k), t);
      }
      if (hooks.before) hooks.before(int(k), t);
      s.metrics = t.step();
      const int64_t own = s.metrics.step;
      s.eval_due =
          !s.metrics.diverged && ((schedule_.eval_every > 0 && own % schedule_.eval_every == 0) ||
                                  (schedule_.eval_at_end && s.step == schedule_.steps));
      if (hooks.stepped) hooks.stepped(s, t);
    }
    // A side still live after its steps keeps the run going to the end (as in lockstep).
    taken = std::max(taken, t.diverged() ? j : limit);
  }
  step_ = start + taken;
  return taken;
}

}  // namespace bnlab
