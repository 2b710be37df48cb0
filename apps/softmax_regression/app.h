// ember-softmax-regression: d2l's softmax regression, and the models of its next chapters (MLPs,
// dropout, LeNet, batch normalization: model.h), on (Fashion-)MNIST, as a command-line program.
// This header holds what the app's files share: the settings, one epoch's figures, and the two
// kinds of failure (usage: exit 2, runtime: exit 1).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace app {

// ember's version and the commit the app was built from (version.h, generated at build time).
extern const char* const kVersion;
extern const char* const kCommit;

// Everything the command line sets (see main.cpp for the flags and their defaults).
struct Settings {
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist
  std::string data_dir;                   // empty: the dataset's default folder
  std::string model = "softmax";          // a name of models() (model.h)
  std::string optimizer = "sgd";          // sgd | adam
  // epochs, batch_size and lr: the model's d2l defaults unless given (main.cpp).
  std::int64_t epochs = 10;
  std::int64_t batch_size = 256;
  double lr = 0.1;
  double momentum = 0.0;
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  int threads = 1;  // main sets the library's default (OMP_NUM_THREADS, else all cores)
  bool quiet = false;
  std::string save_path;       // checkpoint after every epoch
  std::string resume_path;     // continue a run saved with --save
  std::string load_path;       // start from (or, with eval_only, evaluate) these weights
  std::string init_from_path;  // the same from safetensors weights (PyTorch's or --export's)
  std::string export_path;     // the trained weights as safetensors, after the last epoch
  bool eval_only = false;
  std::string plot_path;     // curves.svg
  std::string predict_path;  // grid.svg or grid.png
  std::string metrics_path;  // run.jsonl
  std::int64_t predict_count = 18;

  // Which of the settings a checkpoint pins were given on the command line (so --resume can
  // take the others from the checkpoint and refuse contradictions).
  bool given_dataset = false, given_data_dir = false, given_model = false, given_optimizer = false,
       given_epochs = false, given_batch_size = false, given_lr = false, given_momentum = false,
       given_weight_decay = false, given_seed = false;
};

// The ranges the numeric settings must lie in; anything else is a usage error naming the option
// and its range (never clamped).
inline constexpr std::int64_t kMaxEpochs = 1'000'000;
inline constexpr std::int64_t kMaxBatchSize = 1'000'000;
inline constexpr int kMaxThreads = 1024;
inline constexpr std::int64_t kMaxPredictCount = 1000;

// Checks every numeric setting against its range (lr a positive finite number, momentum in
// [0, 1), weight decay finite and >= 0, the integers above); throws UsageError naming the option,
// its range and the value.
void check_ranges(const Settings& s);

// One row of the table (d2l's train_ch3 figures).
struct EpochMetrics {
  std::int64_t epoch = 0;
  double train_loss = 0.0;       // sum of per-sample losses / samples seen (train mode)
  double train_acc = 0.0;        // correct / seen during training
  double test_acc = 0.0;         // after the epoch, eval mode, no grad
  double seconds = 0.0;          // the epoch's wall time: training plus test evaluation
  double samples_per_sec = 0.0;  // training samples / training time
};

// A mistake on the command line: printed with a pointer to --help, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure while running (files, checkpoints): "error: <message>" and the hint, exit code 1.
class RuntimeError : public std::runtime_error {
 public:
  RuntimeError(const std::string& message, std::string hint)
      : std::runtime_error(message), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

// The name the program was started under: "ember-train" (the general name, a second name of the
// same program) or "ember-softmax-regression" (d2l chapter 3's, and the default). Set by main.
const std::string& program_name();
void set_program_name(const char* argv0);

// Set by the SIGINT and SIGTERM handler (main.cpp); training stops after the current batch.
bool interrupted();
int interrupt_signal();  // the signal that interrupted (SIGINT or SIGTERM), 0 if none

// Trains (or evaluates) as the settings say, writing the table to stdout. Returns the exit code:
// 0, or 128 + the signal when interrupted (130 for SIGINT, 143 for SIGTERM). Throws UsageError,
// RuntimeError, ember::Error.
int run(Settings settings);

}  // namespace app
