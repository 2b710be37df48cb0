// ember-softmax-regression: the command line. Parses flags with CLI11, checks their values,
// installs the SIGINT and SIGTERM handler, runs, and maps failures to exit codes:
//   0 done, 1 runtime error ("error: <message>" and a hint), 2 usage error, 130 after SIGINT,
//   143 after SIGTERM.
//
// Numbers are read here, not by CLI11: CLI11 clamps an out-of-range integer to the type's limit
// (--epochs 18446744073709551616 became 2^63-1, --seed -1 became 2^64-1), where a mistake must
// be refused naming the option and its range.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "app.h"
#include "checkpoint.h"
#include "json.h"
#include "model.h"
#include "mpi_training.h"

namespace {

volatile std::sig_atomic_t g_signal = 0;

// First Ctrl-C or SIGTERM: finish the batch, save, exit 128 + the signal. SA_RESETHAND restores
// the default action, so a second one ends the program at once.
void on_signal(int signal) {
  g_signal = signal;
  static const char interrupt[] =
      "\ninterrupted: finishing this batch and saving (Ctrl-C again to quit now)\n";
  static const char terminate[] = "\nterminated: finishing this batch and saving\n";
  ssize_t ignored = signal == SIGTERM ? write(STDERR_FILENO, terminate, sizeof terminate - 1)
                                      : write(STDERR_FILENO, interrupt, sizeof interrupt - 1);
  (void)ignored;
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// The text of a numeric option, as given (or its default), converted strictly below.
struct NumberTexts {
  // epochs, batch_size and lr default to the model's d2l values (model.h), set after parsing.
  std::string epochs, batch_size, lr, momentum = "0", weight_decay = "0", seed = "0", threads,
                                      predict_count = "18";
};

// A decimal integer in [min, max], the whole text (no sign for an unsigned type, no spaces, no
// fraction): anything else is a usage error naming the option and the range.
template <class Int>
Int parse_integer(const char* option, const std::string& text, Int min, Int max,
                  const char* hint = "") {
  Int value{};
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, value);
  if (r.ec != std::errc() || r.ptr != end || value < min || value > max)
    throw app::UsageError(std::string(option) + " must be an integer from " + std::to_string(min) +
                          " to " + std::to_string(max) + " (got '" + text + "')" + hint);
  return value;
}

// A decimal floating-point number, the whole text; its range is checked by app::check_ranges.
double parse_number(const char* option, const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, value);
  if (r.ec == std::errc::result_out_of_range)
    value = text.starts_with('-') ? -HUGE_VAL : HUGE_VAL;  // refused as not finite below
  else if (r.ec != std::errc() || r.ptr != end)
    throw app::UsageError(std::string(option) + " must be a number (got '" + text + "')");
  return value;
}

// The numbers given, and the model's d2l defaults (model.h) for epochs, batch size and lr where
// none was given (Adam's own default lr with --optimizer adam).
void parse_numbers(const NumberTexts& t, app::Settings& s) {
  using app::kMaxBatchSize, app::kMaxEpochs, app::kMaxPredictCount, app::kMaxThreads;
  const app::ModelSpec& spec = app::model_spec(s.model);
  s.epochs = s.given_epochs ? parse_integer<std::int64_t>("--epochs", t.epochs, 1, kMaxEpochs,
                                                          "; d2l trains for 10 epochs")
                            : spec.epochs;
  s.batch_size = s.given_batch_size ? parse_integer<std::int64_t>("--batch-size", t.batch_size, 1,
                                                                  kMaxBatchSize, "; d2l uses 256")
                                    : spec.batch_size;
  s.seed =
      parse_integer<std::uint64_t>("--seed", t.seed, 0, std::numeric_limits<std::uint64_t>::max());
  s.threads = parse_integer<int>("--threads", t.threads, 1, kMaxThreads);
  s.predict_count =
      parse_integer<std::int64_t>("--predict-count", t.predict_count, 1, kMaxPredictCount);
  s.lr = s.given_lr              ? parse_number("--lr", t.lr)
         : s.optimizer == "adam" ? app::kAdamDefaultLr
                                 : spec.lr;
  s.momentum = parse_number("--momentum", t.momentum);
  s.weight_decay = parse_number("--weight-decay", t.weight_decay);
}

// Value checks with messages that say what is wrong and how to fix it.
void check_settings(const app::Settings& s) {
  auto fail = [](const std::string& message) {
    throw app::UsageError(message);
  };
  app::check_ranges(s);
  if (s.dataset == "mnist" && s.data_dir.empty() && s.resume_path.empty() && s.load_path.empty())
    fail(
        "--dataset mnist needs --data DIR: the folder holding train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
        "t10k-labels-idx1-ubyte[.gz] (Debian packages only Fashion-MNIST)");
  if (s.eval_only && s.load_path.empty() && s.init_from_path.empty())
    fail(
        "--eval-only needs --load PATH (a checkpoint written by --save) or --init-from "
        "PATH.safetensors");
  if (!s.export_path.empty() && !s.export_path.ends_with(".safetensors"))
    fail("--export writes a .safetensors file (got '" + s.export_path + "')");
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

// --- Help ---

// The footer, with the name the program runs under.
std::string footer(const std::string& program) {
  std::string text = "Examples:\n";
  for (const char* example : {"--epochs 10 --plot curves.svg --save run/ck",
                              "--model lenet --plot lenet.svg --metrics lenet.jsonl",
                              "--model lenet-bn --optimizer adam --lr 0.01",
                              "--resume run/ck --epochs 20 --metrics run.jsonl",
                              "--init-from torch.safetensors --export trained.safetensors"})
    text += "  " + program + " " + example + "\n";
  return text +
         "\n"
         "ember-train and ember-softmax-regression are one program under two names.\n"
         "\n"
         "Exit codes: 0 done; 1 runtime error (data, checkpoint or output file); 2 usage error; "
         "130 after Ctrl-C and 143 after SIGTERM (the batch is finished and the checkpoint "
         "saved).\n"
         "\n"
         "Threads: on a machine busy with other work, OpenMP's waiting threads spin against the "
         "busy cores; run with OMP_WAIT_POLICY=passive or --threads 1 there.";
}

// The width to wrap help to: the terminal's (stdout), else $COLUMNS, else 80; at least 60.
std::size_t help_width() {
  winsize size{};
  std::size_t width = 80;
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    width = size.ws_col;
  else if (const char* columns = std::getenv("COLUMNS"); columns && std::atoi(columns) > 0)
    width = static_cast<std::size_t>(std::atoi(columns));
  return std::max<std::size_t>(width, 60);
}

// Greedy word wrap to `width` columns, keeping the text's own line breaks and a line's leading
// spaces.
std::string wrap(const std::string& text, std::size_t width) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!out.empty()) out += '\n';
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    std::istringstream words(line.substr(indent));
    std::size_t column = indent;
    out += std::string(indent, ' ');
    bool first = true;
    std::vector<std::string> pieces;
    for (std::string word; words >> word;) {
      // A word wider than the line is cut after a '/', '-' or ',' (a path, a layer list).
      const std::size_t room = width > indent + 1 ? width - indent : 1;
      while (word.size() > room) {
        std::size_t cut = word.find_last_of("/-,", room - 1);
        cut = cut == std::string::npos || cut == 0 ? room : cut + 1;
        pieces.push_back(word.substr(0, cut));
        word.erase(0, cut);
      }
      pieces.push_back(word);
    }
    for (const std::string& word : pieces) {
      if (!first && column + 1 + word.size() > width) {
        out += '\n' + std::string(indent, ' ');
        column = indent;
        first = true;
      }
      if (!first) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
      first = false;
    }
  }
  return out;
}

// CLI11's layout with each option's description wrapped to the width left beside the names.
class WrappingFormatter : public CLI::Formatter {
 public:
  explicit WrappingFormatter(std::size_t width) : width_(width) { column_width(kColumn); }
  std::string make_option_desc(const CLI::Option* option) const override {
    return wrap(CLI::Formatter::make_option_desc(option), width_ - kColumn - 1);
  }

 private:
  static constexpr std::size_t kColumn = 30;
  std::size_t width_;
};

// Levenshtein distance, for suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean --epochs?" for the first unknown option left over (--epoch), when an option's
// name is within a third of its length in edits; empty otherwise.
std::string suggestion(const CLI::App& cli) {
  for (const std::string& arg : cli.remaining()) {
    if (!arg.starts_with("--")) continue;
    const std::string given =
        arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    std::string best;
    std::size_t best_distance = given.size() / 3 + 1;
    for (const CLI::Option* option : cli.get_options()) {
      for (const std::string& name : option->get_lnames()) {
        const std::size_t d = edit_distance(given, name);
        if (d < best_distance) {
          best_distance = d;
          best = name;
        }
      }
    }
    if (!best.empty()) return "; did you mean --" + best + "?";
  }
  return "";
}

}  // namespace

bool app::interrupted() {
  return g_signal != 0;
}

int app::interrupt_signal() {
  return g_signal;
}

int main(int argc, char** argv) {
  app::set_program_name(argc > 0 ? argv[0] : nullptr);
  const std::string& program = app::program_name();
  app::Settings s;
  const int default_threads = ember::get_num_threads();
  s.threads = default_threads;

  CLI::App cli{
      "Trains d2l's softmax regression, Sequential(Flatten(), Linear(784, 10)), on Fashion-MNIST "
      "with ember (or the models of d2l's next chapters: MLP, dropout, LeNet, LeNet with batch "
      "normalization; or on MNIST) and prints d2l's train_ch3 figures per epoch.",
      program};
  const std::size_t width = help_width();
  cli.formatter(std::make_shared<WrappingFormatter>(width));
  cli.description(wrap(cli.get_description(), width));
  cli.footer(wrap(footer(program), width));
  // A flag given twice takes its last value, as most Unix tools do.
  cli.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  cli.set_version_flag("--version", program + " " + app::kVersion + " (ember " + app::kVersion +
                                        ", commit " + app::kCommit + ")");

  // Data
  auto* dataset = cli.add_option("--dataset", s.dataset, "Dataset")
                      ->check(CLI::IsMember({"fashion-mnist", "mnist"}))
                      ->type_name("NAME")
                      ->group("Data");
  auto* data = cli.add_option("--data", s.data_dir,
                              "Folder with the four IDX files (plain or .gz); default for "
                              "fashion-mnist: " +
                                  std::string(ember::datasets::kFashionMNISTDefaultRoot) +
                                  " (apt-get install dataset-fashion-mnist); mnist: required")
                   ->type_name("DIR")
                   ->group("Data");
  // Model
  std::string model_help;
  for (const app::ModelSpec& m : app::models())
    model_help +=
        m.name + ": " + m.layers + " (" + m.source + "; SGD lr " + app::json::number(m.lr) + ");\n";
  model_help +=
      "each with d2l's init, batch size 256 and 10 epochs unless --lr, --batch-size or --epochs "
      "say otherwise";
  auto* model = cli.add_option("--model", s.model, model_help)
                    ->check(CLI::IsMember(app::model_names()))
                    ->type_name("NAME")
                    ->group("Model");
  auto* optimizer = cli.add_option("--optimizer", s.optimizer,
                                   "sgd, or adam (torch.optim.Adam: betas 0.9, 0.999, eps 1e-8; "
                                   "default lr 0.001)")
                        ->check(CLI::IsMember({"sgd", "adam"}))
                        ->type_name("NAME")
                        ->group("Model");
  // Training
  NumberTexts numbers;
  numbers.threads = std::to_string(default_threads);
  auto* epochs = cli.add_option("--epochs", numbers.epochs,
                                "Epochs to train (in total, with --resume), 1 to " +
                                    std::to_string(app::kMaxEpochs) + " (default: the model's, 10)")
                     ->type_name("N")
                     ->group("Training");
  auto* batch = cli.add_option("--batch-size", numbers.batch_size,
                               "Minibatch size, 1 to " + std::to_string(app::kMaxBatchSize) +
                                   " (default: the model's, 256)")
                    ->type_name("N")
                    ->group("Training");
  auto* lr = cli.add_option("--lr", numbers.lr,
                            "Learning rate, > 0 (default: the model's d2l value, see --model; "
                            "0.001 with --optimizer adam)")
                 ->type_name("X")
                 ->group("Training");
  auto* momentum =
      cli.add_option("--momentum", numbers.momentum, "SGD momentum, in [0, 1) (not with Adam)")
          ->type_name("X")
          ->group("Training");
  auto* wd = cli.add_option("--weight-decay", numbers.weight_decay,
                            "Weight decay (L2, SGD and Adam), >= 0")
                 ->type_name("X")
                 ->group("Training");
  auto* seed =
      cli.add_option("--seed", numbers.seed, "Seeds weight init and shuffling, 0 to 2^64-1")
          ->type_name("N")
          ->group("Training");
  cli.add_option("--threads", numbers.threads,
                 "Threads for ember's kernels, 1 to " + std::to_string(app::kMaxThreads) +
                     " (default: OMP_NUM_THREADS, else all cores)")
      ->type_name("N")
      ->group("Training");
  // Output
  cli.add_flag("-q,--quiet", s.quiet, "No progress bar on stderr")->group("Output");
  auto* plot = cli.add_option("--plot", s.plot_path, "Write the three d2l curves as an SVG chart")
                   ->type_name("PATH")
                   ->group("Output");
  auto* predict =
      cli.add_option("--predict", s.predict_path,
                     "Write the first test images with true and predicted labels (.svg or .png)")
          ->type_name("PATH")
          ->group("Output");
  cli.add_option("--predict-count", numbers.predict_count,
                 "How many images --predict shows, 1 to " + std::to_string(app::kMaxPredictCount))
      ->type_name("N")
      ->group("Output");
  auto* metrics =
      cli.add_option("--metrics", s.metrics_path,
                     "Write one JSON object per epoch (figures and settings) to this .jsonl file")
          ->type_name("PATH")
          ->group("Output");
  // Checkpoints
  auto* save = cli.add_option("--save", s.save_path,
                              "Checkpoint after every epoch, the three files as one atomic set: "
                              "PATH (weights and BatchNorm statistics), PATH.optim (SGD or Adam "
                              "state), PATH.json (epoch, metrics, settings)")
                   ->type_name("PATH")
                   ->group("Checkpoints");
  auto* resume = cli.add_option("--resume", s.resume_path,
                                "Continue the run saved at PATH (by --save or Ctrl-C); keeps "
                                "saving there unless --save is given")
                     ->type_name("PATH")
                     ->group("Checkpoints");
  auto* load =
      cli.add_option("--load", s.load_path, "Start from the weights at PATH (a --save checkpoint)")
          ->type_name("PATH")
          ->group("Checkpoints");
  auto* init_from =
      cli.add_option("--init-from", s.init_from_path,
                     "Start from the weights in PATH.safetensors (written by --export or by "
                     "PyTorch: names as the model's state_dict)")
          ->type_name("PATH")
          ->group("Checkpoints");
  auto* export_to = cli.add_option("--export", s.export_path,
                                   "After training (or --eval-only), write the weights to "
                                   "PATH.safetensors (PyTorch loads them with load_state_dict)")
                        ->type_name("PATH")
                        ->group("Checkpoints");
  auto* eval_only =
      cli.add_flag(
             "--eval-only", s.eval_only,
             "Only evaluate the --load checkpoint (or the --init-from weights) on the test set")
          ->group("Checkpoints");
  bool distributed = false;
  cli.add_flag("--distributed", distributed,
               "Data-parallel training under mpirun -np N: each rank trains on its shard with "
               "batch --batch-size / N; rank 0 alone prints and writes files")
      ->group("Training");
  resume->excludes(load);
  init_from->excludes(load);
  init_from->excludes(resume);
  // --eval-only trains nothing, so it writes no checkpoint, metrics or curves: asking for them
  // is a mistake, not something to drop silently.
  // (--export is allowed: with --load it converts a checkpoint to safetensors.)
  for (CLI::Option* output : {resume, save, metrics, plot}) eval_only->excludes(output);

  try {
    cli.parse(argc, argv);
    s.given_dataset = dataset->count() > 0;
    s.given_data_dir = data->count() > 0;
    s.given_model = model->count() > 0;
    s.given_optimizer = optimizer->count() > 0;
    s.given_epochs = epochs->count() > 0;
    s.given_batch_size = batch->count() > 0;
    s.given_lr = lr->count() > 0;
    s.given_momentum = momentum->count() > 0;
    s.given_weight_decay = wd->count() > 0;
    s.given_seed = seed->count() > 0;
    parse_numbers(numbers, s);
    // An empty path is a mistake (a shell variable that was not set), not "no file".
    for (CLI::Option* path :
         {data, save, resume, load, init_from, export_to, plot, predict, metrics})
      if (path->count() > 0 && path->as<std::string>().empty())
        throw app::UsageError(path->get_name() + " needs a " + (path == data ? "folder" : "file") +
                              " name (got an empty one)");
    check_settings(s);
    if (distributed) app::mpi::init(&argc, &argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << cli.help();
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::ExtrasError& e) {
    std::cerr << "error: " << e.what() << suggestion(cli)
              << "\nRun with --help to see the options.\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\nRun with --help to see the options.\n";
    return 2;
  } catch (const app::UsageError& e) {
    std::cerr << "error: " << e.what() << "\nRun with --help to see the options.\n";
    return 2;
  }

  if (const char* fault = std::getenv("EMBER_APP_FAULT")) {
    try {
      app::install_fault_injection(fault);
    } catch (const app::UsageError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    }
  }
  // Under mpirun, Ctrl-C is mpirun's: it ends every rank (each epoch's checkpoint stays valid).
  if (!s.eval_only && !app::mpi::enabled())
    install_signal_handlers();  // evaluation is short: Ctrl-C just ends it
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
