// The native CLI as a user runs it: exit codes, messages, output formats, state files.
#include <doctest/doctest.h>

#include <cstdio>
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
  const bnlab::Json j = bnlab::Json::parse(r.out.substr(0, r.out.find('\n')));
  CHECK(j.get("framework").string() == "bnlab");
  CHECK(j.get("bench").string() == "ref-cnn-nobn");
  CHECK(j.get("variant").string() == "nobn");
  CHECK(j.get("runtime").string() == "native");
  CHECK(j.get("threads").integer() == 1);
  CHECK(j.get("train_steps_per_s").number() > 0);
  CHECK(j.get("eval_images_per_s").number() > 0);
  CHECK(j.get("loss_step1").number() == doctest::Approx(2.317987).epsilon(1e-5));
  CHECK(j.get("measure_overhead").is_number());
}
