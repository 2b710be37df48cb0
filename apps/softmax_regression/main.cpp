// ember-softmax-regression: the command line. Parses flags with CLI11, checks their values,
// installs the SIGINT handler, runs, and maps failures to exit codes:
//   0 done, 1 runtime error ("error: <message>" and a hint), 2 usage error, 130 interrupted.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <sstream>
#include <string>

#include <ember/ember.h>

#include "app.h"
#include "distributed.h"

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

// First Ctrl-C: finish the batch, save, exit 130. SA_RESETHAND restores the default action, so a
// second Ctrl-C ends the program at once.
void on_sigint(int) {
  g_interrupted = 1;
  static const char message[] =
      "\ninterrupted: finishing this batch and saving (Ctrl-C again to quit now)\n";
  ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
}

void install_sigint_handler() {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Value checks with messages that say what is wrong and how to fix it (CLI11 checks types).
void check_settings(const app::Settings& s) {
  auto fail = [](const std::string& message) {
    throw app::UsageError(message);
  };
  if (s.epochs < 1)
    fail("--epochs must be at least 1 (got " + std::to_string(s.epochs) +
         "); d2l trains for 10 epochs");
  if (s.batch_size < 1)
    fail("--batch-size must be at least 1 (got " + std::to_string(s.batch_size) +
         "); d2l uses 256");
  if (!(std::isfinite(s.lr) && s.lr > 0.0))
    fail("--lr must be a positive number (got " + number(s.lr) + "); d2l uses 0.1");
  if (!(std::isfinite(s.momentum) && s.momentum >= 0.0))
    fail("--momentum must be 0 or more (got " + number(s.momentum) +
         "); 0 is plain SGD, 0.9 is common");
  if (!(std::isfinite(s.weight_decay) && s.weight_decay >= 0.0))
    fail("--weight-decay must be 0 or more (got " + number(s.weight_decay) + "); try 1e-4");
  if (s.threads < 1) fail("--threads must be at least 1 (got " + std::to_string(s.threads) + ")");
  if (s.predict_count < 1 || s.predict_count > 1000)
    fail("--predict-count must be between 1 and 1000 (got " + std::to_string(s.predict_count) +
         ")");
  if (s.dataset == "mnist" && s.data_dir.empty() && s.resume_path.empty() && s.load_path.empty())
    fail(
        "--dataset mnist needs --data DIR: the folder holding train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
        "t10k-labels-idx1-ubyte[.gz] (Debian packages only Fashion-MNIST)");
  if (s.eval_only && s.load_path.empty())
    fail("--eval-only needs --load PATH, a checkpoint written by --save");
  auto image_ext = [](const std::string& path) {
    auto dot = path.rfind('.');
    return dot == std::string::npos ? std::string() : path.substr(dot);
  };
  if (!s.predict_path.empty() && image_ext(s.predict_path) != ".svg" &&
      image_ext(s.predict_path) != ".png")
    fail("--predict writes .svg or .png (got '" + s.predict_path + "')");
  if (!s.plot_path.empty() && image_ext(s.plot_path) != ".svg")
    fail("--plot writes an .svg file (got '" + s.plot_path + "')");
}

}  // namespace

bool app::interrupted() {
  return g_interrupted != 0;
}

int main(int argc, char** argv) {
  app::Settings s;
  const int default_threads = ember::get_num_threads();
  s.threads = default_threads;

  CLI::App cli{
      "Trains d2l's softmax regression, Sequential(Flatten(), Linear(784, 10)), on Fashion-MNIST "
      "with ember\n(or d2l's MLP, or on MNIST) and prints d2l's train_ch3 figures per epoch.",
      "ember-softmax-regression"};
  // A flag given twice takes its last value, as most Unix tools do.
  cli.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  cli.get_formatter()->column_width(30);

  auto* dataset = cli.add_option("--dataset", s.dataset, "Dataset")
                      ->check(CLI::IsMember({"fashion-mnist", "mnist"}));
  auto* data = cli.add_option("--data", s.data_dir,
                              "Folder with the four IDX files (plain or .gz); default for "
                              "fashion-mnist: " +
                                  std::string(ember::datasets::kFashionMNISTDefaultRoot) +
                                  " (apt-get install dataset-fashion-mnist); mnist: required");
  auto* model = cli.add_option("--model", s.model,
                               "softmax: Flatten-Linear(784,10); mlp: Flatten-Linear(784,256)-ReLU-"
                               "Linear(256,10)")
                    ->check(CLI::IsMember({"softmax", "mlp"}));
  auto* epochs = cli.add_option("--epochs", s.epochs, "Epochs to train (in total, with --resume)");
  auto* batch = cli.add_option("--batch-size", s.batch_size, "Minibatch size");
  auto* lr = cli.add_option("--lr", s.lr, "SGD learning rate");
  auto* momentum = cli.add_option("--momentum", s.momentum, "SGD momentum");
  auto* wd = cli.add_option("--weight-decay", s.weight_decay, "SGD weight decay (L2)");
  auto* seed = cli.add_option("--seed", s.seed, "Seeds weight init and shuffling");
  cli.add_option("--threads", s.threads,
                 "Threads for ember's kernels (default: OMP_NUM_THREADS, else all cores)");
  cli.add_flag("-q,--quiet", s.quiet, "No progress bar on stderr");
  auto* save = cli.add_option("--save", s.save_path,
                              "Checkpoint after every epoch (atomically): PATH (weights), "
                              "PATH.optim (SGD state), PATH.json (epoch, metrics, settings)");
  auto* resume = cli.add_option("--resume", s.resume_path,
                                "Continue the run saved at PATH (by --save or Ctrl-C); keeps "
                                "saving there unless --save is given");
  auto* load =
      cli.add_option("--load", s.load_path, "Start from the weights at PATH (a --save checkpoint)");
  auto* eval_only = cli.add_flag("--eval-only", s.eval_only,
                                 "Only evaluate the --load checkpoint on the test set");
  cli.add_option("--plot", s.plot_path, "Write the three d2l curves as an SVG chart");
  cli.add_option("--predict", s.predict_path,
                 "Write the first test images with true and predicted labels (.svg or .png)");
  cli.add_option("--predict-count", s.predict_count, "How many images --predict shows");
  cli.add_option("--metrics", s.metrics_path,
                 "Write one JSON object per epoch (figures and settings) to this .jsonl file");
  bool distributed = false;
  cli.add_flag("--distributed", distributed,
               "Data-parallel training under mpirun -np N: each rank trains on its shard with "
               "batch --batch-size / N; rank 0 alone prints and writes files");
  resume->excludes(load);
  eval_only->excludes(resume);
  (void)save;

  try {
    cli.parse(argc, argv);
    s.given_dataset = dataset->count() > 0;
    s.given_data_dir = data->count() > 0;
    s.given_model = model->count() > 0;
    s.given_epochs = epochs->count() > 0;
    s.given_batch_size = batch->count() > 0;
    s.given_lr = lr->count() > 0;
    s.given_momentum = momentum->count() > 0;
    s.given_weight_decay = wd->count() > 0;
    s.given_seed = seed->count() > 0;
    check_settings(s);
    if (distributed) app::parallel::init(&argc, &argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << cli.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\nRun with --help to see the options.\n";
    return 2;
  } catch (const app::UsageError& e) {
    std::cerr << "error: " << e.what() << "\nRun with --help to see the options.\n";
    return 2;
  }

  // Under mpirun, Ctrl-C is mpirun's: it ends every rank (each epoch's checkpoint stays valid).
  if (!s.eval_only && !app::parallel::enabled())
    install_sigint_handler();  // evaluation is short: Ctrl-C just ends it
  try {
    return app::run(s);
  } catch (const app::UsageError& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\nRun with --help to see the options.\n";
    return 2;
  } catch (const app::RuntimeError& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\nhint: " << e.hint() << "\n";
    return 1;
  } catch (const ember::Error& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what()
              << "\nhint: this is ember refusing an operation; check the flags above, and "
                 "report it if they look right\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cout.flush();
    std::cerr << "error: out of memory\nhint: try a smaller --batch-size\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
