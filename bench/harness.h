// harness.h: the timing and JSON helper shared by the bench/*.cpp programs (header-only; the JSON
// is written by nlohmann-json, Debian nlohmann-json3-dev, which bench/CMakeLists.txt finds).
//
// Every program prints ONE JSON object on stdout, the schema run.sh and the PyTorch peers share:
//   {"program": "bench_kernels", "implementation": "ember", "provenance": {...}, "machine": {...},
//    "results": [{"name": "softmax/fwd+bwd/4096x1000", "threads": 2, "median_ms": .., "min_ms": ..,
//                 "max_ms": .., "reps": .., "gflops": .. (optional), "gbps": .. (optional),
//                 "peak_rss_mb": .. (optional), "test_accuracies": [..] (optional: a training
//                 run's test accuracy after each epoch, warm-up included, so report.py can check
//                 both sides learned the same), "init_weights": path (optional: the safetensors
//                 file of the run's initial weights, which the peer starts from)}]}
// `name` is the join key with the PyTorch peer (bench/peers/peer_*.py), so keep it byte-identical.
// "provenance" (provenance() below; bench/provenance.py for the Python side) names the commit,
// build, thread backend, CPU and date: bench/report.py joins only files of one commit and machine.
//
// Typical use:
//   ember::bench::Report report("bench_kernels", argc, argv);
//   for (int threads : {1, 2}) {
//     ember::set_num_threads(threads);
//     if (!report.wants("relu/fwd/256x10")) continue;           // honours --filter
//     auto r = ember::bench::measure("relu/fwd/256x10", threads, [&] { y = relu(x); });
//     r.gbps = ember::bench::per_second(bytes, r.median_ms) / 1e9;
//     report.add(r);
//   }
//   report.print();
//
// Command line understood by Report (so every program can be run alone the same way):
//   --filter SUBSTR   only results whose name contains SUBSTR (repeatable: any matches)
//   --name NAME       only the results named exactly NAME (repeatable)
//   --list            measure nothing; print the names the program would measure, one per line
//                     (run.sh's --interleave runs them one at a time, each beside its peer)
//   --quick           a tenth of the time budget (smoke test)
//   --min-time-ms MS  time budget per result (default 300 ms of timed reps)
//   --threads LIST    thread counts to run, comma-separated (default 1,2), for programs that loop
//                     over report.threads()
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <ember/core/cpu.h>

#include "bench_provenance.h"  // generated at build time by bench/provenance.cmake

namespace ember::bench {

// One row of the report. Optional fields are printed only when >= 0.
struct Result {
  std::string name;
  int threads = 1;
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  int reps = 0;
  double gflops = -1;
  double gbps = -1;
  double peak_rss_mb = -1;
  std::vector<double> test_accuracies{};  // after each epoch run, in order (training results)
  std::string init_weights{};  // a training run's initial weights (safetensors) for the peer
};

// How long to measure one result: warm-up calls first, then timed reps until both min_reps and
// min_time_ms are reached (or max_reps / max_time_ms is hit, whichever comes first).
struct Budget {
  int warmup = 2;
  int min_reps = 5;
  int max_reps = 10000;
  double min_time_ms = 300;
  double max_time_ms = 5000;
};

// Keeps the compiler from dropping a computation whose result is otherwise unused.
template <class T>
inline void do_not_optimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

inline double now_ms() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

// amount per second given a time in milliseconds (flops -> flop/s, bytes -> byte/s).
inline double per_second(double amount, double ms) {
  return ms > 0 ? amount / (ms * 1e-3) : 0;
}

// Peak resident set size of this process so far, in MB (getrusage: ru_maxrss is KiB on Linux).
inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Median/min/max of per-rep times in milliseconds.
inline Result summarize(std::string name, int threads, std::vector<double> times_ms) {
  Result r;
  r.name = std::move(name);
  r.threads = threads;
  r.reps = static_cast<int>(times_ms.size());
  if (times_ms.empty()) return r;
  std::sort(times_ms.begin(), times_ms.end());
  const std::size_t n = times_ms.size();
  r.median_ms = n % 2 ? times_ms[n / 2] : 0.5 * (times_ms[n / 2 - 1] + times_ms[n / 2]);
  r.min_ms = times_ms.front();
  r.max_ms = times_ms.back();
  return r;
}

// Times fn() per rep (see Budget). fn is called as-is: set the thread count before calling.
// A call under 20 us is timed in groups of k calls per rep (rep time = group time / k, k up to
// 100), as the PyTorch peers do, so the clock's own cost does not count at tiny shapes.
template <class Fn>
Result measure(std::string name, int threads, Fn&& fn, const Budget& budget = {}) {
  for (int i = 0; i < budget.warmup; ++i) fn();
  const double once_start = now_ms();
  fn();
  const double once = now_ms() - once_start;
  const int k =
      once >= 0.02 ? 1 : static_cast<int>(std::clamp(0.1 / std::max(once, 1e-4), 1.0, 100.0));
  std::vector<double> times;
  const double start = now_ms();
  while (true) {
    const double t0 = now_ms();
    for (int i = 0; i < k; ++i) fn();
    const double t1 = now_ms();
    times.push_back((t1 - t0) / k);
    const int reps = static_cast<int>(times.size());
    const double elapsed = t1 - start;
    if (reps >= budget.max_reps || elapsed >= budget.max_time_ms) break;
    if (reps >= budget.min_reps && elapsed >= budget.min_time_ms) break;
  }
  return summarize(std::move(name), threads, std::move(times));
}

// CPU model from /proc/cpuinfo ("" when unavailable).
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "";
}

// The current time, UTC, as 2026-12-06T11:05:00Z.
inline std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// What a results file measured: the commit (and whether the measured code, listed in
// bench/measured_paths.txt, had uncommitted changes), the build type and flags, the thread
// backend and the instruction set the kernels ran, the CPU and the date. The same keys as
// bench/provenance.py writes for the Python side; bench/report.py compares them.
inline nlohmann::ordered_json provenance() {
  return {{"commit", EMBER_BENCH_COMMIT},
          {"dirty", EMBER_BENCH_DIRTY != 0},
          {"build_type", EMBER_BENCH_BUILD_TYPE},
          {"flags", EMBER_BENCH_FLAGS},
          {"thread_backend", "ember thread pool (core/src/parallel.cpp)"},
          {"isa", std::string(ember::cpu_capability())},
          {"cpu", cpu_model()},
          {"hardware_threads", std::thread::hardware_concurrency()},
          {"compiler", __VERSION__},
          {"date", utc_now()}};
}

// Collects results, applies the command-line filter and budget, prints the JSON object.
class Report {
 public:
  Report(std::string program, int argc = 0, char** argv = nullptr) : program_(std::move(program)) {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--filter" && i + 1 < argc) {
        filters_.emplace_back(argv[++i]);
      } else if (arg == "--name" && i + 1 < argc) {
        names_.emplace_back(argv[++i]);
      } else if (arg == "--list") {
        listing_ = true;
      } else if (arg == "--quick") {
        budget_.min_time_ms /= 10;
        budget_.max_time_ms /= 10;
        budget_.min_reps = 3;
        budget_.warmup = 1;
      } else if (arg == "--min-time-ms" && i + 1 < argc) {
        budget_.min_time_ms = std::atof(argv[++i]);
        budget_.max_time_ms = std::max(budget_.max_time_ms, 4 * budget_.min_time_ms);
      } else if (arg == "--threads" && i + 1 < argc) {
        threads_.clear();
        for (const char* p = argv[++i]; *p != '\0';) {
          char* end = nullptr;
          const long t = std::strtol(p, &end, 10);
          if (end == p || t < 1) {
            std::fprintf(stderr, "%s: --threads wants a list like 1,2\n", argv[0]);
            std::exit(2);
          }
          threads_.push_back(static_cast<int>(t));
          p = *end == ',' ? end + 1 : end;
        }
      } else if (arg == "--help" || arg == "-h") {
        std::fprintf(stderr,
                     "usage: %s [--filter SUBSTR]... [--name NAME]... [--list] [--quick] "
                     "[--min-time-ms MS] [--threads 1,2]\n",
                     argv[0]);
        std::exit(0);
      } else {
        std::fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", argv[0], argv[i]);
        std::exit(2);
      }
    }
  }

  // True when `name` passes --filter and --name (always true without them). Check before doing
  // setup work. With --list, records the name (for print) and is false: nothing is measured.
  bool wants(std::string_view name) const {
    if (!names_.empty() && std::find(names_.begin(), names_.end(), name) == names_.end())
      return false;
    bool passes = filters_.empty();
    for (const auto& f : filters_)
      if (name.find(f) != std::string_view::npos) passes = true;
    if (passes && listing_ && std::find(listed_.begin(), listed_.end(), name) == listed_.end())
      listed_.emplace_back(name);
    return passes && !listing_;
  }

  // The budget from the command line, for passing to measure().
  const Budget& budget() const { return budget_; }

  // The thread counts to measure (--threads; default 1 and 2).
  const std::vector<int>& threads() const { return threads_; }

  // measure() with this report's budget, added if it passes the filter; returns the stored row
  // (or nullptr when filtered out) so the caller can fill gflops/gbps; valid until the next
  // run() or add().
  template <class Fn>
  Result* run(const std::string& name, int threads, Fn&& fn) {
    if (!wants(name)) return nullptr;
    results_.push_back(measure(name, threads, std::forward<Fn>(fn), budget_));
    progress(results_.back());
    return &results_.back();
  }

  // Adds a row measured elsewhere (dropped if it does not pass the filter).
  void add(Result r) {
    if (!wants(r.name)) return;
    progress(r);
    results_.push_back(std::move(r));
  }

  // Extra key/value pairs for the "machine" object (values are strings).
  void note(std::string key, std::string value) {
    notes_.emplace_back(std::move(key), std::move(value));
  }

  // Prints the report as JSON, indented by one space as report.py writes report.json. Keys keep
  // the schema's order (ordered_json); times and rates are JSON floats (0.0, never 0), counts
  // integers.
  void print(std::FILE* out = stdout) const {
    if (listing_) {  // --list: the names, one per line, instead of the JSON object
      for (const auto& name : listed_) std::fprintf(out, "%s\n", name.c_str());
      return;
    }
    nlohmann::ordered_json machine = {{"cpu", cpu_model()},
                                      {"hardware_threads", std::thread::hardware_concurrency()},
                                      {"compiler", __VERSION__}};
    for (const auto& [key, value] : notes_) machine[key] = value;
    nlohmann::ordered_json results = nlohmann::ordered_json::array();
    for (const Result& r : results_) {
      nlohmann::ordered_json row = {{"name", r.name},           {"threads", r.threads},
                                    {"median_ms", r.median_ms}, {"min_ms", r.min_ms},
                                    {"max_ms", r.max_ms},       {"reps", r.reps}};
      if (r.gflops >= 0) row["gflops"] = r.gflops;
      if (r.gbps >= 0) row["gbps"] = r.gbps;
      if (r.peak_rss_mb >= 0) row["peak_rss_mb"] = r.peak_rss_mb;
      if (!r.test_accuracies.empty()) {
        row["test_accuracy"] = r.test_accuracies.back();
        row["test_accuracies"] = r.test_accuracies;
      }
      if (!r.init_weights.empty()) row["init_weights"] = r.init_weights;
      results.push_back(std::move(row));
    }
    const nlohmann::ordered_json report = {{"program", program_},
                                           {"implementation", "ember"},
                                           {"provenance", provenance()},
                                           {"machine", std::move(machine)},
                                           {"results", std::move(results)}};
    // Invalid UTF-8 (from /proc/cpuinfo, say) is replaced rather than thrown.
    const std::string text =
        report.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    std::fputs((text + "\n").c_str(), out);
    std::fflush(out);
  }

 private:
  // One line per result on stderr so a long run shows progress without polluting the JSON.
  static void progress(const Result& r) {
    std::fprintf(stderr, "  %-40s t=%d  median %9.4f ms  (min %.4f, max %.4f, %d reps)\n",
                 r.name.c_str(), r.threads, r.median_ms, r.min_ms, r.max_ms, r.reps);
  }

  std::string program_;
  std::vector<std::string> filters_;
  std::vector<std::string> names_;           // --name: exact names
  bool listing_ = false;                     // --list
  mutable std::vector<std::string> listed_;  // the names wants() was asked for, with --list
  Budget budget_;
  std::vector<int> threads_{1, 2};
  std::vector<Result> results_;
  std::vector<std::pair<std::string, std::string>> notes_;
};

}  // namespace ember::bench
