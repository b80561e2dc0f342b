// The native CLI as a user runs it: exit codes, messages, output formats, state files.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "io/json.h"

namespace {

struct Run {
  int code;
  std::string out;  // standard output and standard error together
};

Run run(const std::string& args) {
  const std::string cmd = std::string(BNLAB_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The first line of a run's output, parsed as JSON (bench --json prints one line per variant).
bnlab::Json first_json(const Run& r) {
  return bnlab::Json::parse(r.out.substr(0, r.out.find('\n')));
}

std::string temp_path(const std::string& name) { return "/tmp/bnlab_test_cli_" + name; }

const std::string kSmall = "--model small-cnn --dataset shapes --batch-size 8 --seed 3 --eval-every 0 --quiet";

}  // namespace

TEST_CASE("cli.bad options get a message, the usage and exit code 2") {
  const Run r = run("train --lr fast");
  CHECK(r.code == 2);
  CHECK(r.out.find("option lr: 'fast' is not a number") != std::string::npos);
  CHECK(r.out.find("usage:") != std::string::npos);
  CHECK(run("train --colour red").code == 2);
  CHECK(run("train --lr").code == 2);
  CHECK(run("frobnicate").code == 2);
  CHECK(run("").code == 2);
  CHECK(run("train --format xml").code == 2);
  CHECK(run("bench --variant huge").code == 2);
  CHECK(run("help").code == 0);
}

TEST_CASE("cli.bad files and impossible configs exit 1 with the reason") {
  Run r = run("train --load /nonexistent/state.json");
  CHECK(r.code == 1);
  CHECK(r.out.find("cannot read /nonexistent/state.json") != std::string::npos);
  r = run("train --dataset idx --train-images a --train-labels b --test-images c --test-labels d");
  CHECK(r.code == 1);
  CHECK(r.out.find("IDX file 'a' is missing") != std::string::npos);
  r = run("train " + kSmall + " --model \"conv8-bn-relu-pool2-pool2-pool2-pool2-pool2 fc\" --steps 1");
  CHECK(r.code == 1);
  CHECK(r.out.find("does not fit its input") != std::string::npos);
  r = run("train " + kSmall + " --model mlp --batch-size 1 --steps 1");
  CHECK(r.code == 1);
  CHECK(r.out.find("Expected more than 1 value per channel when training") != std::string::npos);
}

TEST_CASE("cli.train writes one CSV row per step and evaluates at the end") {
  const Run r = run("train " + kSmall + " --steps 5");
  REQUIRE(r.code == 0);
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "run,step,loss,accuracy,lr,test_loss,test_accuracy,test_loss_train_mode,test_accuracy_train_mode,status");
  int rows = 0;
  std::string last;
  while (std::getline(lines, line)) ++rows, last = line;
  CHECK(rows == 5);
  CHECK(last.rfind("A,5,", 0) == 0);
  CHECK(last.find(",,") == std::string::npos);  // the last step carries its evaluation
  CHECK(last.find(",training") != std::string::npos);
}

TEST_CASE("cli.a comparison writes both runs as JSON lines, and a diverged run says so") {
  const Run r = run("train " + kSmall + " --model deep-cnn --init-scale 100 --norm none --compare norm=batch "
                    "--steps 4 --format jsonl");
  REQUIRE(r.code == 0);
  std::istringstream lines(r.out);
  std::string line;
  int a = 0, b = 0;
  bool diverged = false;
  while (std::getline(lines, line)) {
    const bnlab::Json j = bnlab::Json::parse(line);  // every line is valid JSON (NaN is null)
    (j.get("run").string() == "A" ? a : b)++;
    if (j.get("status").string().rfind("diverged at step", 0) == 0) diverged = true;
  }
  CHECK(diverged);
  CHECK(b == 4);   // B (with BN) goes on
  CHECK(a < 4);    // A stopped when it diverged
}

TEST_CASE("cli.a saved state continues like the run that was not interrupted") {
  const std::string state = temp_path("state.json");
  const Run whole = run("train " + kSmall + " --steps 12");
  const Run first = run("train " + kSmall + " --steps 7 --save " + state);
  REQUIRE(first.code == 0);
  const Run rest = run("train --load " + state + " --steps 12 --eval-every 0 --quiet");
  REQUIRE(rest.code == 0);
  // Rows 8..12 of the whole run equal the rows of the continued run.
  auto rows_from = [](const std::string& text, int from) {
    std::istringstream in(text);
    std::string line, out;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const int step = std::stoi(line.substr(2, line.find(',', 2) - 2));
      if (step >= from) out += line + "\n";
    }
    return out;
  };
  CHECK(rows_from(whole.out, 8) == rows_from(rest.out, 8));
  CHECK(!rows_from(rest.out, 8).empty());
  std::remove(state.c_str());
}

TEST_CASE("cli.bench --json prints the fields NUMERICS.md 8 names") {
  const Run r = run("bench --json --quick --variant nobn");
  REQUIRE(r.code == 0);
  const bnlab::Json j = first_json(r);
  CHECK(j.get("framework").string() == "bnlab");
  CHECK(j.get("bench").string() == "ref-cnn-nobn");
  CHECK(j.get("variant").string() == "nobn");
  CHECK(j.get("runtime").string() == "native");
  CHECK(j.get("threads").integer() == 1);
  CHECK(j.get("train_steps_per_s").number() > 0);
  CHECK(j.get("eval_images_per_s").number() > 0);
  CHECK(j.get("loss_step1").number() == doctest::Approx(2.317987).epsilon(1e-5));
  CHECK(j.get("measure_overhead").is_number());
  // CPU time per step: one step of ref-cnn-nobn takes far more than a microsecond of CPU, and a
  // single-threaded process cannot use more CPU than wall time (5% for clock granularity).
  const double cpu_ms = j.get("train_cpu_ms_per_step").number();
  CHECK(cpu_ms > 1e-3);
  CHECK(cpu_ms <= 1.05 * j.get("train_ms_per_step").number());
  CHECK(j.get("train_cpu_ms_per_step_runs").items().size() == 3);
}

TEST_CASE("cli.bench states the peak it compares with: GHz x lanes x flops per lane and cycle, and --ghz sets the clock") {
  const Run r = run("bench --json --quick --variant nobn --ghz 2.5");
  REQUIRE(r.code == 0);
  const bnlab::Json j = first_json(r);
  const double lanes = j.get("peak_lanes").number();
  // The build's vector width: 16 (AVX-512), 8 (AVX2), 4 (SSE) floats.
  CHECK((lanes == 16 || lanes == 8 || lanes == 4));
  CHECK(j.get("peak_ghz").number() == 2.5);
  CHECK(j.get("peak_ghz_from").string() == "--ghz");
  // 4 flops per lane and cycle (two FMA pipes as wide as the vectors), but 2 for AVX-512 on AMD
  // Zen 4 (family 19h), whose two FMA pipes are 256 bits wide; the JSON says so.
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string info((std::istreambuf_iterator<char>(cpuinfo)), std::istreambuf_iterator<char>());
  const bool zen4 = info.find("AuthenticAMD") != std::string::npos &&
                    info.find("cpu family\t: 25\n") != std::string::npos;
  const double flops = lanes == 16 && zen4 ? 2 : 4;
  CHECK(j.get("peak_flops_per_lane_cycle").number() == flops);
  CHECK(j.get("peak_gflops").number() == doctest::Approx(2.5 * lanes * flops));
  CHECK((j.get("peak_note").string().find("Zen 4") != std::string::npos) == (flops == 2));
  CHECK(j.get("peak_share").number() ==
        doctest::Approx(j.get("train_gflops").number() / j.get("peak_gflops").number()));
  // Without --ghz the clock is measured (a chain of dependent adds), and /proc/cpuinfo's nominal
  // clock is reported beside it.
  const Run measured = run("bench --json --quick --variant nobn");
  REQUIRE(measured.code == 0);
  const bnlab::Json m = first_json(measured);
  CHECK(m.get("peak_ghz_from").string() == "measured");
  CHECK(m.get("peak_ghz").number() > 0.2);
  CHECK(m.get("peak_ghz").number() < 10);
  CHECK(m.get("peak_gflops").number() == doctest::Approx(m.get("peak_ghz").number() * lanes * flops));
  if (info.find("cpu MHz") != std::string::npos) CHECK(m.get("cpuinfo_ghz").number() > 0.2);
  const Run clock = run("bench --clock --json");
  REQUIRE(clock.code == 0);
  const bnlab::Json c = first_json(clock);
  CHECK(c.get("bench").string() == "clock");
  CHECK(c.get("measured_ghz").number() > 0.2);
  CHECK(c.get("measured_ghz").number() < 10);
  const Run bad = run("bench --quick --ghz fast");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--ghz must be a clock in GHz between 0.1 and 20, got 'fast'") != std::string::npos);
  CHECK(run("bench --quick --ghz 0").code == 2);
}

TEST_CASE("cli.write errors fail the run, and an endless --load file is refused at the limit") {
  Run r = run("train " + kSmall + " --steps 2 --out /dev/full");
  CHECK(r.code == 1);
  CHECK(r.out.find("cannot write the metrics to /dev/full") != std::string::npos);
  r = run("train " + kSmall + " --steps 2 --save /dev/full");
  CHECK(r.code == 1);
  CHECK(r.out.find("cannot write /dev/full") != std::string::npos);
  // Standard output on a full disk (the message goes there too, with run()'s 2>&1).
  CHECK(run("train " + kSmall + " --steps 2 > /dev/full").code == 1);
  r = run("train --load /dev/zero");
  CHECK(r.code == 1);
  CHECK(r.out.find("/dev/zero is larger than 64.0 MiB, the limit for state files") != std::string::npos);
}

TEST_CASE("cli.run options follow the one number grammar and do not wrap") {
  Run r = run("train " + kSmall + " --steps 1 --eval-every 4294967296");
  CHECK(r.code == 2);
  CHECK(r.out.find("--eval-every must be from 0 to 1000000000, not 4294967296") != std::string::npos);
  r = run("train " + kSmall + " --steps 1 --lr 0x10");
  CHECK(r.code == 2);
  CHECK(r.out.find("option lr: '0x10' is not a number") != std::string::npos);
  CHECK(run("experiment covariate-shift --out /tmp/x --seed ' 1'").code == 2);
  CHECK(run("experiment covariate-shift --out /tmp/x --steps 0x10").code == 2);
  CHECK(run("train " + kSmall + " --steps 1 --max-memory 0").code == 2);
}

TEST_CASE("cli.a model above the memory budget is refused with its size and the limit, and --max-memory raises it") {
  Run r = run("train " + kSmall + " --model fc65536-fc65536-fc --steps 1");
  CHECK(r.code == 1);
  CHECK(r.out.find("model 'fc65536-fc65536-fc' is too large: 4346871814 parameters") != std::string::npos);
  CHECK(r.out.find("more than the limit of 512.0 MiB") != std::string::npos);
  r = run("train " + kSmall + " --model fc1024-fc --steps 1 --max-memory 8");
  CHECK(r.code == 1);
  CHECK(r.out.find("more than the limit of 8.0 MiB") != std::string::npos);
  CHECK(run("train " + kSmall + " --model fc1024-fc --steps 1 --max-memory 64").code == 0);
}

TEST_CASE("cli.--steps counts from the run's start: 0 saves the initial state, what would do nothing is refused") {
  const std::string s0 = temp_path("steps0.json"), s1 = temp_path("steps1.json");
  Run r = run("train " + kSmall + " --steps 0 --save " + s0);
  REQUIRE(r.code == 0);
  r = run("train --load " + s0 + " --steps 1 --save " + s1 + " --quiet");
  CHECK(r.code == 0);
  CHECK(r.out.find("A,1,") != std::string::npos);  // one step taken, from the initial state
  r = run("train --load " + s1 + " --steps 1 --save " + s1);
  CHECK(r.code == 2);
  CHECK(r.out.find("the state is at step 1 and --steps 1 counts from the run's start: nothing to train "
                   "(give --steps 2 or more)") != std::string::npos);
  r = run("train --load " + s1 + " --steps 3 --quiet");
  CHECK(r.code == 0);
  CHECK(r.out.find("A,2,") != std::string::npos);
  CHECK(r.out.find("A,3,") != std::string::npos);
  CHECK(run("train " + kSmall + " --steps 0").code == 2);  // no step and nothing saved
  std::remove(s0.c_str());
  std::remove(s1.c_str());
}

TEST_CASE("cli.--compare honours B's label files (the data key)") {
  // B trains on the same images with every training label moved to the next class: with the
  // same initial weights and batches, its first loss must differ from A's.
  const std::string dir = BNLAB_DATA_DIR, shifted = temp_path("shifted-labels.idx");
  FILE* in = std::fopen((dir + "/mnist-train-labels.idx").c_str(), "rb");
  REQUIRE(in != nullptr);
  std::string bytes;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) bytes.append(buf, n);
  std::fclose(in);
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = char((bytes[i] + 1) % 10);
  FILE* out = std::fopen(shifted.c_str(), "wb");
  REQUIRE(out != nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fclose(out);
  const std::string idx = "--dataset idx --train-images " + dir + "/mnist-train-images.idx --train-labels " + dir +
                          "/mnist-train-labels.idx --test-images " + dir + "/mnist-test-images.idx --test-labels " +
                          dir + "/mnist-test-labels.idx";
  const Run r = run("train --model small-cnn --batch-size 8 --eval-every 0 --quiet --steps 1 --format jsonl " + idx +
                    " --compare train_labels=" + shifted);
  REQUIRE(r.code == 0);
  std::istringstream lines(r.out);
  std::string a, b;
  std::getline(lines, a);
  std::getline(lines, b);
  const double loss_a = bnlab::Json::parse(a).get("loss").number(), loss_b = bnlab::Json::parse(b).get("loss").number();
  MESSAGE("step 1 loss: A " << loss_a << ", B " << loss_b);
  CHECK(loss_a != loss_b);
  std::remove(shifted.c_str());
}

TEST_CASE("cli.Fashion-MNIST: train --dataset fashion, experiment --dataset, and what is refused") {
  // Ten steps on the 60,000 clothes, evaluated on the first 500 test images (the class names
  // of the data are Fashion-MNIST's: the run trains a 10-class model on them).
  Run r =
      run("train --dataset fashion --model small-cnn --steps 10 --test-size 500 --eval-every 0");
  CHECK(r.code == 0);
  CHECK(r.out.find("run A: 10 steps, training, test accuracy") != std::string::npos);
  CHECK(r.out.find("500 examples") != std::string::npos);
  // A data directory without the files: exit 1 with how to make them.
  r = run("train --dataset fashion --data-dir /nonexistent --steps 1");
  CHECK(r.code == 1);
  CHECK(r.out.find("Fashion-MNIST file '/nonexistent/fashion-train-images.idx' is missing") !=
        std::string::npos);
  CHECK(r.out.find("make_fashion.mjs") != std::string::npos);
  // Experiments take mnist or fashion, nothing else (a usage error, before anything runs).
  r = run("experiment lr-sweep --dataset shapes --out " + temp_path("fashion_exp"));
  CHECK(r.code == 2);
  CHECK(r.out.find("experiments train on dataset mnist or fashion, not 'shapes'") !=
        std::string::npos);
  // The commands of --jobs carry the dataset, so that the parts train on the same data.
  r = run("experiment placement --dataset fashion --seeds 1-2 --jobs --out " +
          temp_path("fashion_jobs"));
  CHECK(r.code == 0);
  CHECK(r.out.find("placement --seed 2 --steps ") != std::string::npos);
  CHECK(r.out.find(" --dataset fashion --data-dir ") != std::string::npos);
}
