// A run: one network, or several trained in lockstep on the same batches (the page's A and B,
// the CLI's --compare, the experiments' variants), with the cadence of its evaluations and heavy
// measurements, and the divergence of one side while the others go on. The one run loop of BN
// Lab: the CLI, the page's worker (through wasm/bindings.cpp) and the experiments drive it, and
// what each does at a step (print a row, measure, add to a table) is theirs, in RunHooks.
//
// Lockstep: step k of the run is step k of every side, side 0 first. The sides are independent
// trainers (trainer.h), so this order gives the same numbers as running them one after the
// other: a page with one worker per side (each a one-side Run) and a page with one worker for
// both (a two-side Run) train bit-identical networks.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "train/trainer.h"

namespace bnlab {

struct RunSchedule {
  int64_t steps = 0;       // the run ends after this lockstep step (0: no end, until paused)
  int64_t eval_every = 0;  // an evaluation is due after a side's every eval_every-th step (0: none)
  bool eval_at_end = false;  // and after step `steps`
  // Heavy measurements (measure.h measure_heavy: on the batch the next step uses) are due before
  // a side's step 1 and before the step after every heavy_every-th (0: none).
  int64_t heavy_every = 0;
  bool stop_when_diverged = true;  // the run ends once every side has diverged
};

// One side's part of one lockstep step, as RunHooks::stepped sees it.
struct SideStep {
  int side = 0;
  int64_t step = 0;       // the lockstep step (the run's count, 1 for the first from step 0)
  StepMetrics metrics;    // Trainer::step's; metrics.step is the side's own count
  bool stopped = false;   // the side diverged at an earlier step: nothing ran (metrics as
                          // Trainer::step reports a diverged run)
  bool heavy = false;     // RunHooks::heavy was called for this side before the step
  bool eval_due = false;  // the schedule's evaluation is due now: the side is live after the step
                          // and it was its eval_every-th (or the run's last) step
};

// A reference to a named callable (a lambda the driver keeps in a variable): its address and a
// function that calls it. Unlike std::function it copies and allocates nothing, which keeps each
// hook's code small in the wasm module. A temporary is refused at compile time: it would be gone
// before the run calls it.
template <class Signature>
class HookRef;
template <class... Args>
class HookRef<void(Args...)> {
 public:
  HookRef() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, HookRef>>>
  HookRef(F&& f)  // NOLINT: a hook is set from a callable
      : object_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, Args... args) {
          (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {
    static_assert(std::is_lvalue_reference_v<F>, "a hook refers to a callable kept in a variable");
  }
  explicit operator bool() const { return call_ != nullptr; }
  void operator()(Args... args) const { call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_ = nullptr;
  void (*call_)(void*, Args...) = nullptr;
};

// What the driver of a run does at each point; an unset hook does nothing.
struct RunHooks {
  HookRef<void(int side, Trainer&)> heavy;  // heavy measurements due before the side's step
  // Before every step a live side takes (after its heavy hook): what must be kept of the state
  // the step changes (the BN inspector keeps the running statistics before their update).
  HookRef<void(int side, Trainer&)> before;
  HookRef<void(const SideStep&, Trainer&)> stepped;  // after each side's step
  HookRef<void(int64_t step)> lockstep;  // after every side has taken lockstep step `step`
};

class Run {
 public:
  explicit Run(const RunSchedule& schedule = RunSchedule()) : schedule_(schedule) {}

  // A new side on shared data (sides with the same seed start from the same conv/fc weights and
  // draw the same batches). The reference stays valid while the side is in the run.
  Trainer& add(const Config& config, std::shared_ptr<const DataSplit> data);
  // A trainer as it is (a loaded state continues from its step).
  Trainer& add(std::unique_ptr<Trainer> trainer);
  // A side owned elsewhere (measure/side.h's Side, which also holds the side's instruments); it
  // must outlive its place in the run.
  void attach(Trainer& trainer);

  int sides() const { return int(sides_.size()); }
  Trainer& side(int k) { return *sides_.at(size_t(k)); }
  const Trainer& side(int k) const { return *sides_.at(size_t(k)); }
  const RunSchedule& schedule() const { return schedule_; }
  void set_schedule(const RunSchedule& schedule) { schedule_ = schedule; }

  // Lockstep steps taken: the furthest side's step count when the sides were added, then one
  // more per step() (a side that diverged stays at its own count).
  int64_t step_count() const { return step_; }
  bool all_diverged() const;
  // At schedule.steps, or (stop_when_diverged) every side has diverged, or there is no side.
  bool finished() const;

  // One lockstep step: for each side in order, its heavy hook when due, its before hook (a live
  // side), Trainer::step (nothing for a diverged side), its stepped hook; then the lockstep hook.
  // Does nothing when finished().
  void step(const RunHooks& hooks = RunHooks());
  // Up to n lockstep steps, fewer when the run finishes; returns how many were taken.
  int64_t train(int64_t n, const RunHooks& hooks = RunHooks());
  // The same steps side by side: up to n steps of side 0, then of side 1, ..., each with its
  // heavy, before and stepped hooks as step() calls them (SideStep::step: the lockstep step it
  // stands for). The numbers are those of train(n) (the sides are independent) while each
  // side's network stays in the cache for its steps: in wasm, alternating two ref-cnn sides at
  // every step cost 5-10% of the time per step. Unlike train(), a side that has diverged gets no
  // more hooks (no `stopped` reports, no heavy hook at its last count), and there is no lockstep
  // hook. Returns the lockstep steps taken (fewer than n when the run finishes, as train()).
  int64_t train_each(int64_t n, const RunHooks& hooks = RunHooks());

 private:
  bool heavy_due(size_t k) const;

  RunSchedule schedule_;
  std::vector<Trainer*> sides_;
  std::vector<std::unique_ptr<Trainer>> owned_;  // the sides add() made or was given
  std::vector<int64_t> last_heavy_;  // (sides) the side's step count at its last heavy hook
  int64_t step_ = 0;
};

}  // namespace bnlab
