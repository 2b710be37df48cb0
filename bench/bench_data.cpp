// Data loading speed on the real Fashion-MNIST (Debian's dataset-fashion-mnist), as JSON:
//   idx_load/train-images.gz     read_idx of the 26 MB gzip file (inflate + parse)
//   idx_load/train-images.raw    read_idx of the same, decompressed to a temp file (plain read)
//   dataloader_epoch/b256_shuffle  one shuffled epoch of batches of 256 (gather + /255), at 1 and
//                                2 threads (the gather splits each batch's rows over threads)
//   baseline/memcpy_188MB        memcpy of an epoch's worth of floats: this machine's memory speed
// gbps: for idx_load, decoded bytes (47 MB) per second; for the epoch, bytes moved (uint8 read +
// float32 written + labels) per second. Absent files give {"note": ...} and no results.
//   bench_data [reps=7]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <ember/core/parallel.h>
#include <ember/datasets/datasets.h>

#include "harness.h"

using namespace ember::datasets;

namespace {

struct Result {
  std::string name;
  std::vector<double> ms;
  double bytes;
  int threads;
};

template <class Body>
Result measure(const std::string& name, int reps, double bytes, const Body& body, int threads = 1) {
  ember::set_num_threads(threads);
  Result r{name, {}, bytes, threads};
  body();  // warm-up: page cache, allocator
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    r.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return r;
}

// One JSON object on stdout (nlohmann-json writes it): harness.h's keys, in its order.
void print(const std::vector<Result>& results, const std::string& note) {
  nlohmann::ordered_json report = {{"program", "bench_data"},
                                   {"implementation", "ember"},
                                   {"provenance", ember::bench::provenance()}};
  if (!note.empty()) report["note"] = note;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const Result& result : results) {
    std::vector<double> ms = result.ms;
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    rows.push_back({{"name", result.name},
                    {"threads", result.threads},
                    {"median_ms", median},
                    {"min_ms", ms.front()},
                    {"max_ms", ms.back()},
                    {"reps", ms.size()},
                    {"gbps", result.bytes / (median * 1e6)}});
  }
  report["results"] = std::move(rows);
  std::printf("%s\n", report.dump(1).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const std::string root = kFashionMNISTDefaultRoot;
  const std::string gz = root + "/train-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(gz) ||
      !std::filesystem::exists(root + "/train-labels-idx1-ubyte.gz")) {
    print({}, "skipped: Fashion-MNIST not found in " + root +
                  " (apt-get install dataset-fashion-mnist)");
    return 0;
  }
  std::vector<Result> results;

  ember::Tensor images;
  results.push_back(
      measure("idx_load/train-images.gz", reps, 47040016.0, [&] { images = read_idx(gz); }));

  // The same file decompressed: header + bytes, to time the plain path.
  const std::string raw =
      (std::filesystem::temp_directory_path() / "ember_bench_train-images-idx3-ubyte").string();
  {
    const unsigned char header[16] = {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28};
    std::ofstream out(raw, std::ios::binary);
    out.write(reinterpret_cast<const char*>(header), 16);
    out.write(reinterpret_cast<const char*>(images.data_ptr<std::uint8_t>()), 47040000);
  }
  results.push_back(
      measure("idx_load/train-images.raw", reps, 47040016.0, [&] { images = read_idx(raw); }));
  std::filesystem::remove(raw);

  const FashionMNIST train(root, Split::Train);
  DataLoader loader(train, {.batch_size = 256, .shuffle = true, .seed = 0});
  double sink = 0;
  const double epoch_bytes = 60000.0 * (784 + 784 * 4 + 8 + 8);
  for (int threads : {1, 2}) {
    results.push_back(measure(
        "dataloader_epoch/b256_shuffle", reps, epoch_bytes,
        [&] {
          for (const Batch& batch : loader) sink += batch.images.data_ptr<float>()[0];
        },
        threads));
  }

  // Reference for "memory speed": memcpy of the epoch's float output (read + write counted).
  const std::size_t floats = 60000u * 784u;
  std::vector<float> from(floats, 1.0f);
  std::vector<float> to(floats);
  results.push_back(measure("baseline/memcpy_188MB", reps, 2.0 * 4.0 * floats, [&] {
    std::memcpy(to.data(), from.data(), floats * sizeof(float));
    sink += to[floats / 2];
  }));
  print(results, sink < 0 ? "impossible" : "");
  return 0;
}
