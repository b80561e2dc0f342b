// The run loop (core/train/run.h): lockstep, the schedule of evaluations and heavy measurements,
// and divergence of one side while the other goes on.
#include <doctest/doctest.h>

#include <tuple>
#include <vector>

#include "check.h"
#include "train/run.h"

using namespace bnlab;

namespace {

Config shapes_config(const std::string& model = "small-cnn") {
  return test::shapes_config(model, 11, 16);
}

std::shared_ptr<const DataSplit> shapes_data() { return load_data(shapes_config(), ""); }

// Every side's losses, one vector per side, over `steps` lockstep steps.
std::vector<std::vector<float>> losses(Run& run, int64_t steps) {
  std::vector<std::vector<float>> out(size_t(run.sides()));
  RunHooks hooks;
  const auto on_stepped = [&](const SideStep& s, Trainer&) {
    out[size_t(s.side)].push_back(s.metrics.loss);
  };
  hooks.stepped = on_stepped;
  run.train(steps, hooks);
  return out;
}

}  // namespace

TEST_CASE(
    "run.a lockstep pair trains each side exactly as a one-side run does (the page's two "
    "workers)") {
  auto data = shapes_data();
  Config a = shapes_config(), b = shapes_config();
  b.norm.kind = NormKind::None;
  Run pair, alone_a, alone_b;
  pair.add(a, data);
  pair.add(b, data);
  alone_a.add(a, data);
  alone_b.add(b, data);
  const auto both = losses(pair, 12);
  const auto just_a = losses(alone_a, 12), just_b = losses(alone_b, 12);
  REQUIRE(both[0].size() == 12);
  CHECK(both[0] == just_a[0]);  // bit for bit
  CHECK(both[1] == just_b[0]);
  CHECK(both[0] != both[1]);  // BN and no BN do differ
  CHECK(pair.step_count() == 12);
  CHECK(pair.side(0).step_count() == 12);
  CHECK(pair.side(1).step_count() == 12);
}

TEST_CASE("run.the schedule makes evaluations due after every eval_every-th step and the last") {
  RunSchedule schedule;
  schedule.steps = 10;
  schedule.eval_every = 3;
  schedule.eval_at_end = true;
  schedule.heavy_every = 4;
  Run run(schedule);
  run.add(shapes_config(), shapes_data());
  std::vector<int64_t> evals, heavy_before, heavy_flags, lockstep;
  RunHooks hooks;
  const auto on_heavy = [&](int side, Trainer& t) {
    CHECK(side == 0);
    heavy_before.push_back(t.step_count() + 1);  // the step the measurement precedes
  };
  hooks.heavy = on_heavy;
  const auto on_stepped = [&](const SideStep& s, Trainer&) {
    if (s.eval_due) evals.push_back(s.step);
    if (s.heavy) heavy_flags.push_back(s.step);
  };
  hooks.stepped = on_stepped;
  const auto on_lockstep = [&](int64_t step) { lockstep.push_back(step); };
  hooks.lockstep = on_lockstep;
  // Asking for more steps than the schedule has stops at its end.
  CHECK(run.train(4, hooks) == 4);
  CHECK(run.train(100, hooks) == 6);
  CHECK(run.finished());
  CHECK(run.train(1, hooks) == 0);
  CHECK(evals == std::vector<int64_t>{3, 6, 9, 10});
  CHECK(heavy_before == std::vector<int64_t>{1, 5, 9});
  CHECK(heavy_flags == heavy_before);
  CHECK(lockstep == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE(
    "run.a side that diverges stops while the other goes on, and the run ends with the last") {
  // 100x He initialization without BN overflows within two steps; with BN it trains (the
  // trainer's test of divergence).
  auto data = shapes_data();
  Config none = shapes_config("deep-cnn");
  none.init_scale = 100.f;
  Config bn = none;
  none.norm.kind = NormKind::None;
  RunSchedule schedule;
  schedule.steps = 6;
  schedule.eval_every = 1;
  Run run(schedule);
  run.add(none, data);
  run.add(bn, data);
  std::vector<int> live_rows(2), stopped_rows(2), evals(2), befores(2);
  std::vector<int64_t> before_at(2, -1);  // the side's step count at its last before hook
  RunHooks hooks;
  const auto on_before = [&](int side, Trainer& t) {
    ++befores[size_t(side)];
    before_at[size_t(side)] = t.step_count();
  };
  hooks.before = on_before;
  const auto on_stepped = [&](const SideStep& s, Trainer& t) {
    // The before hook saw the side just before this step (a stopped side: no before hook).
    if (!s.stopped) CHECK(before_at[size_t(s.side)] == s.metrics.step - 1);
    if (s.stopped) {
      ++stopped_rows[size_t(s.side)];
      CHECK(s.metrics.diverged);
      CHECK(s.metrics.step == t.diverged_at());  // as Trainer::step reports a stopped run
      CHECK_FALSE(s.eval_due);
    } else {
      ++live_rows[size_t(s.side)];
    }
    if (s.eval_due) ++evals[size_t(s.side)];
  };
  hooks.stepped = on_stepped;
  CHECK(run.train(6, hooks) == 6);
  REQUIRE(run.side(0).diverged());
  CHECK_FALSE(run.side(1).diverged());
  const int64_t at = run.side(0).diverged_at();
  CHECK(live_rows[0] == at);         // its steps up to the diverging one
  CHECK(stopped_rows[0] == 6 - at);  // then reported stopped, nothing run
  CHECK(evals[0] == at - 1);         // the diverging step is not evaluated
  CHECK(live_rows[1] == 6);
  CHECK(evals[1] == 6);
  CHECK(befores[0] == live_rows[0]);  // once before each step it took, none once stopped
  CHECK(befores[1] == 6);
  CHECK(run.side(1).step_count() == 6);
  CHECK(run.side(0).step_count() == at - 1);

  // With every side diverged the run is over (stop_when_diverged, the default)...
  Run both_none;
  both_none.add(none, data);
  both_none.add(none, data);
  CHECK(both_none.train(20) < 20);
  CHECK(both_none.all_diverged());
  CHECK(both_none.finished());
  // ...unless the driver keeps the steps going (the experiments' tables have a row per step).
  RunSchedule keep_going;
  keep_going.stop_when_diverged = false;
  Run kept(keep_going);
  kept.add(none, data);
  CHECK(kept.train(5) == 5);
  CHECK(kept.all_diverged());
}

TEST_CASE("run.its step count starts at its sides' (a loaded state continues)") {
  auto data = shapes_data();
  Trainer first(shapes_config(), data);
  for (int i = 0; i < 5; ++i) first.step();
  auto loaded = std::make_unique<Trainer>(shapes_config(), data);
  loaded->load_state(first.save_state());
  RunSchedule schedule;
  schedule.steps = 8;
  Run run(schedule);
  run.add(std::move(loaded));
  CHECK(run.step_count() == 5);
  CHECK(run.train(10) == 3);  // to the schedule's step 8
  // The continued run equals the one that was not interrupted.
  for (int i = 0; i < 3; ++i) first.step();
  CHECK(run.side(0).save_state() == first.save_state());
  // A side owned elsewhere (measure/side.h's Side) joins as it is.
  Trainer other(shapes_config(), data);
  other.step();
  Run attached;
  attached.attach(other);
  CHECK(&attached.side(0) == &other);
  CHECK(attached.step_count() == 1);
}

TEST_CASE("run.train_each steps side by side to the numbers, hooks and end of lockstep train") {
  // A pair that stays live and a pair whose first side diverges (100x He initialization
  // without BN), each run once in lockstep and once side by side.
  auto data = shapes_data();
  Config bn = shapes_config("deep-cnn"), none = bn;
  none.norm.kind = NormKind::None;
  Config wild = none;
  wild.init_scale = 100.f;
  for (const Config& first : {none, wild}) {
    CAPTURE(first.init_scale);
    RunSchedule schedule;
    schedule.eval_every = 3;
    schedule.heavy_every = 4;
    Run lockstep(schedule), each(schedule);
    for (Run* run : {&lockstep, &each}) {
      run->add(first, data);
      run->add(bn, data);
    }
    // Per side: (lockstep step, loss, heavy, eval_due) of every step the side took.
    using Rows = std::vector<std::vector<std::tuple<int64_t, float, bool, bool>>>;
    Rows rows_lockstep(2), rows_each(2);
    std::vector<int> heavy_lockstep(2), heavy_each(2);
    const auto record = [](Rows& rows) {
      return [&rows](const SideStep& s, Trainer&) {
        if (!s.stopped)
          rows[size_t(s.side)].emplace_back(s.step, s.metrics.loss, s.heavy, s.eval_due);
      };
    };
    const auto on_lockstep = record(rows_lockstep);
    const auto on_each = record(rows_each);
    const auto count_lockstep = [&](int side, Trainer& t) {
      if (!t.diverged()) ++heavy_lockstep[size_t(side)];
    };
    const auto count_each = [&](int side, Trainer&) { ++heavy_each[size_t(side)]; };
    RunHooks a, b;
    a.stepped = on_lockstep, a.heavy = count_lockstep;
    b.stepped = on_each, b.heavy = count_each;
    const int64_t taken = lockstep.train(7, a);
    CHECK(each.train_each(7, b) == taken);
    CHECK(each.train_each(5, b) == lockstep.train(5, a));  // and on from there
    CHECK(each.step_count() == lockstep.step_count());
    CHECK(rows_each == rows_lockstep);  // bit for bit, step by step
    CHECK(heavy_each == heavy_lockstep);
    for (int k = 0; k < 2; ++k) CHECK(each.side(k).save_state() == lockstep.side(k).save_state());
    if (first.init_scale > 1) {
      REQUIRE(each.side(0).diverged());
      CHECK(rows_each[0].size() < rows_each[1].size());
    }
  }
  // A run of two diverging sides ends where lockstep ends it.
  Run lockstep, each;
  for (Run* run : {&lockstep, &each}) {
    run->add(wild, data);
    run->add(wild, data);
  }
  CHECK(each.train_each(20) == lockstep.train(20));
  CHECK(each.train_each(20) == 0);
  CHECK(each.finished());
}
