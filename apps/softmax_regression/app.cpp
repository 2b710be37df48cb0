// The run itself: d2l's train_ch3 loop over ember's public API, plus checkpoints, resume,
// metrics and pictures; one loop for every model and optimizer (model.h builds them).
//
// The checkpoint set written by --save: Note [Checkpoint set] in checkpoint.h.
//
// Note [Exact resume]
// A resumed run prints the same figures as an uninterrupted one: weights and momentum buffers
// are restored bitwise, the running sums of an interrupted epoch are kept as exact doubles
// (shortest round-trip JSON), and the DataLoader, seeded with --seed, replays its shuffles: one
// begin() per finished epoch, then the batches already done in the interrupted epoch are
// skipped (loaded, not trained on). Dropout draws its masks from ember's default generator,
// which is reseeded before every training batch from (seed, epoch, batch, rank) (Note [Dropout
// seeds]), so the masks of the batches after a resume are the uninterrupted run's without saving
// the generator. BatchNorm's running statistics are buffers, saved with the weights; Adam's step
// counts and moments are saved with the optimizer.
#include <ember/ember.h>

#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "app.h"
#include "checkpoint.h"
#include "json.h"
#include "model.h"
#include "mpi_training.h"
#include "pictures.h"
#include "report.h"
#include "version.h"

namespace app {

const char* const kVersion = EMBER_APP_VERSION;
const char* const kCommit = EMBER_APP_COMMIT;

namespace {

namespace ds = ember::datasets;
namespace nn = ember::nn;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string data_root(const Settings& s) {
  return s.data_dir.empty() ? std::string(ds::kFashionMNISTDefaultRoot) : s.data_dir;
}

// --- Data ---

// The file the dataset reads a split's images (or labels) from, in the loader's order: `root`,
// then the torchvision layout, plain before .gz.
std::string data_file(const Settings& s, ds::Split split, const char* kind = "images-idx3") {
  const std::string name =
      std::string(split == ds::Split::Train ? "train-" : "t10k-") + kind + "-ubyte";
  const std::string root = data_root(s);
  const std::string raw = root + (s.dataset == "mnist" ? "/MNIST/raw/" : "/FashionMNIST/raw/");
  for (const std::string& candidate :
       {root + "/" + name, root + "/" + name + ".gz", raw + name, raw + name + ".gz"})
    if (std::filesystem::exists(candidate)) return candidate;
  return root + "/" + name;
}

// A split. The dataset refuses a file of 0 images (training or testing on nothing would
// "succeed" with 0 of 0), naming the file; the app adds where --data pointed.
ds::ImageDataset load_split(const Settings& s, ds::Split split) {
  const std::string root = data_root(s);
  std::optional<ds::ImageDataset> set;
  try {
    if (s.dataset == "mnist")
      set.emplace(ds::MNIST(root, split));
    else
      set.emplace(ds::FashionMNIST(root, split));
  } catch (const ember::Error& e) {
    // The dataset's own message already says where it looked and how to get the files.
    std::string hint =
        "--data is '" + root +
        "'; point --data at the folder holding the dataset's four IDX files, plain or .gz";
    throw RuntimeError(e.what(), hint);
  }
  return std::move(*set);
}

// --- Dropout ---

// Note [Dropout seeds]
// Before each training batch, ember's default generator (dropout's) is reseeded with a mix of
// the run's seed, the epoch, the batch's index in the epoch and the rank (--distributed: each
// rank draws its own masks). The masks are then a function of where the batch is, not of how
// many draws came before: a resumed run draws the uninterrupted run's masks.
std::uint64_t batch_seed(std::uint64_t seed, std::int64_t epoch, std::int64_t batch) {
  std::uint64_t h = ember::splitmix64(seed);
  h = ember::splitmix64(h ^ static_cast<std::uint64_t>(epoch));
  h = ember::splitmix64(h ^ static_cast<std::uint64_t>(batch));
  return ember::splitmix64(h ^ static_cast<std::uint64_t>(mpi::rank()));
}

// --- Evaluation ---

struct Evaluation {
  double accuracy = 0.0;
  Confusion confusion;
  std::vector<std::int64_t> predictions;  // per test sample, in order
};

// d2l's evaluate_accuracy: eval mode, no graph, the test set in order.
Evaluation evaluate(nn::Module& net, const ds::ImageDataset& test, std::int64_t batch_size,
                    std::size_t classes) {
  ember::NoGradGuard no_grad;
  net.eval();
  Evaluation result;
  result.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  ds::DataLoader loader = mpi::test_loader(test, batch_size);
  std::int64_t correct = 0, seen = 0;
  for (const ds::Batch& batch : loader) {
    std::vector<std::int64_t> predicted = net(batch.images).argmax(1).to_vector<std::int64_t>();
    std::vector<std::int64_t> labels = batch.labels.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      auto t = static_cast<std::size_t>(labels[i]), p = static_cast<std::size_t>(predicted[i]);
      ++result.confusion[t][p];
      correct += t == p;
      result.predictions.push_back(predicted[i]);
    }
    seen += static_cast<std::int64_t>(labels.size());
  }
  // --distributed: each rank evaluated its shard; every rank gets the global figures.
  correct = mpi::sum(correct);
  seen = mpi::sum(seen);
  mpi::sum(result.confusion);
  result.predictions = mpi::gather_in_order(result.predictions, test.size());
  net.train();
  result.accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  return result;
}

// --- Settings in JSON ---

// The settings a run is defined by (and that a resumed run must keep), added to `out`.
void add_settings(json::Json& out, const Settings& s) {
  out["dataset"] = s.dataset;
  out["data_dir"] = data_root(s);
  out["model"] = s.model;
  out["optimizer"] = s.optimizer;
  out["epochs"] = s.epochs;
  out["batch_size"] = s.batch_size;
  out["lr"] = s.lr;
  out["momentum"] = s.momentum;
  out["weight_decay"] = s.weight_decay;
  out["seed"] = s.seed;
}

json::Json settings_object(const Settings& s) {
  json::Json out = json::Json::object();
  add_settings(out, s);
  return out;
}

// Takes the checkpoint's settings where the command line gave none. With `strict` (resume), a
// given dataset, model, batch size or seed that differs from the checkpoint's is a usage error:
// the run would no longer be the one saved.
void merge_settings(Settings& s, const json::Json& saved, bool strict) {
  auto conflict = [&](const char* flag, const std::string& given, const std::string& stored) {
    if (strict && given != stored)
      throw UsageError(std::string(flag) + " " + given + " differs from the checkpoint's " +
                       stored +
                       "; --resume continues the saved run with its dataset, model, "
                       "optimizer, batch size and seed (drop the flag, or start a new run)");
  };
  const std::string dataset = json::get_string(saved, "dataset");
  if (s.given_dataset)
    conflict("--dataset", s.dataset, dataset);
  else
    s.dataset = dataset;
  const std::string model = json::get_string(saved, "model");
  if (s.given_model)
    conflict("--model", s.model, model);
  else
    s.model = model;
  // Checkpoints written before --optimizer existed are SGD's.
  const std::string optimizer =
      saved.contains("optimizer") ? json::get_string(saved, "optimizer") : std::string("sgd");
  if (s.given_optimizer)
    conflict("--optimizer", s.optimizer, optimizer);
  else
    s.optimizer = optimizer;
  if (!s.given_data_dir) s.data_dir = json::get_string(saved, "data_dir");
  const std::int64_t batch = json::get_int(saved, "batch_size");
  if (!strict) {
    // --load: the saved model's d2l defaults where the command line gave none.
    if (!s.given_batch_size) s.batch_size = batch;
    if (!s.given_epochs) s.epochs = model_spec(s.model).epochs;
    if (!s.given_lr) s.lr = s.optimizer == "adam" ? kAdamDefaultLr : model_spec(s.model).lr;
    return;
  }
  if (s.given_batch_size)
    conflict("--batch-size", std::to_string(s.batch_size), std::to_string(batch));
  else
    s.batch_size = batch;
  const std::uint64_t seed = json::get_uint64(saved, "seed");
  if (s.given_seed)
    conflict("--seed", std::to_string(s.seed), std::to_string(seed));
  else
    s.seed = seed;
  if (!s.given_epochs) s.epochs = json::get_int(saved, "epochs");
  if (!s.given_lr) s.lr = json::get_number(saved, "lr");
  if (!s.given_momentum) s.momentum = json::get_number(saved, "momentum");
  if (!s.given_weight_decay) s.weight_decay = json::get_number(saved, "weight_decay");
}

// --- Outputs ---

void write_metrics(const Settings& s, const std::vector<EpochMetrics>& history) {
  // One record per epoch: its figures, the settings, and which ember wrote it when.
  std::string text;
  const std::string written = json::utc_timestamp();
  for (const EpochMetrics& m : history) {
    json::Json line = metrics_json(m);
    add_settings(line, s);
    line["threads"] = s.threads;
    line["ember_version"] = kVersion;
    line["timestamp"] = written;
    text += line.dump() + "\n";
  }
  write_output_file(s.metrics_path, text);
}

std::string run_title(const Settings& s) {
  return s.dataset + ", " + s.model + " (" + (s.optimizer == "adam" ? "Adam " : "") + "lr " +
         json::number(s.lr) + ", batch " + std::to_string(s.batch_size) + ")";
}

void write_plot(const Settings& s, const std::vector<EpochMetrics>& history) {
  write_output_file(s.plot_path, curves_svg(history, run_title(s)));
}

void write_predictions(const Settings& s, const ds::ImageDataset& test,
                       const std::vector<std::int64_t>& predicted) {
  const std::int64_t n = std::min<std::int64_t>(s.predict_count, test.size());
  const std::int64_t h = test.images().size(1), w = test.images().size(2);
  std::vector<std::uint8_t> pixels = test.images().narrow(0, 0, n).to_vector<std::uint8_t>();
  std::vector<std::int64_t> labels = test.labels().narrow(0, 0, n).to_vector<std::int64_t>();
  const auto& names = test.class_names();
  std::vector<Prediction> images;
  for (std::int64_t i = 0; i < n; ++i) {
    Prediction p;
    auto begin = pixels.begin() + static_cast<std::ptrdiff_t>(i * h * w);
    p.pixels.assign(begin, begin + static_cast<std::ptrdiff_t>(h * w));
    p.height = h;
    p.width = w;
    p.truth = names[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])];
    p.predicted = names[static_cast<std::size_t>(predicted[static_cast<std::size_t>(i)])];
    images.push_back(std::move(p));
  }
  const std::int64_t columns = 9;
  if (s.predict_path.ends_with(".png")) {
    std::vector<std::uint8_t> png = predictions_png(images, columns);
    write_output_file(s.predict_path, std::string(png.begin(), png.end()));
  } else {
    write_output_file(s.predict_path, predictions_svg(images, columns));
  }
}

void print_header(const Settings& s, const ds::ImageDataset* train, const ds::ImageDataset& test,
                  const nn::Module& net) {
  std::cout << program_name() << ": " << s.dataset << " from " << data_root(s) << " (";
  if (train) std::cout << train->size() << " train, ";
  std::cout << test.size() << " test images, " << test.class_names().size() << " classes)\n";
  std::cout << net << "\n";
}

void print_final(const Settings& s, const Evaluation& eval, const ds::ImageDataset& test) {
  print_per_class(std::cout, eval.confusion, test.class_names());
  print_confusion(std::cout, eval.confusion, test.class_names());
  if (!s.plot_path.empty()) std::cout << "wrote " << s.plot_path << "\n";
  if (!s.predict_path.empty()) std::cout << "wrote " << s.predict_path << "\n";
  if (!s.metrics_path.empty()) std::cout << "wrote " << s.metrics_path << "\n";
  if (!s.export_path.empty()) std::cout << "wrote " << s.export_path << "\n";
}

void load_weights(nn::Module& net, const std::string& path) {
  try {
    ember::load(net, path);
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(),
                       "the checkpoint must come from this program's --save with the same "
                       "--model and --dataset");
  }
}

// The --init-from weights: a safetensors file holding exactly the model's state_dict, under its
// names ("1.weight", "1.bias"); otherwise PyTorch's load_state_dict message.
void init_from(nn::Module& net, const Settings& s) {
  try {
    net.load_state_dict(ember::load_safetensors(s.init_from_path));
  } catch (const ember::Error& e) {
    throw RuntimeError(
        std::string(e.what()),
        "--init-from takes a safetensors file of this --model's state_dict (from --export, or "
        "from PyTorch: save_file(model.state_dict(), PATH) with the model's layers in the same "
        "order); an ember checkpoint from --save goes to --load");
  }
}

// The trained weights for PyTorch (README: "Moving weights to and from PyTorch"); "format": "pt"
// is what Hugging Face's loaders look for.
void export_weights(const nn::Module& net, const Settings& s) {
  try {
    ember::save_safetensors(net, s.export_path,
                            {{"format", "pt"}, {"model", s.model}, {"dataset", s.dataset}});
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), "choose a writable --export path");
  }
}

// Refuses, before any training, an output whose folder is missing or read-only.
void check_output_folders(const Settings& s) {
  for (const std::string* path :
       {&s.save_path, &s.metrics_path, &s.plot_path, &s.predict_path, &s.export_path}) {
    if (path->empty()) continue;
    std::filesystem::path folder = std::filesystem::path(*path).parent_path();
    if (folder.empty()) folder = ".";
    if (!std::filesystem::is_directory(folder) || access(folder.c_str(), W_OK) != 0)
      throw RuntimeError(
          "cannot write " + *path + ": the folder " + folder.string() +
              (std::filesystem::is_directory(folder) ? " is not writable" : " does not exist"),
          "create the folder or choose another path");
  }
}

// The saved counters against this dataset and batch size: a sidecar claiming batches beyond
// the epoch, or samples that its batches cannot hold, is refused (not silently skipped).
void check_counters(const Settings& s, const Progress& p, std::int64_t num_batches,
                    std::int64_t train_size) {
  const std::string file = checkpoint_files(s.resume_path).sidecar;
  const std::string hint =
      "the sidecar does not match this dataset, or it is damaged; start a new run";
  if (p.batches_done >= num_batches)
    throw RuntimeError(file + ": batches_done " + std::to_string(p.batches_done) +
                           " is beyond the epoch's " + std::to_string(num_batches) + " batches (" +
                           std::to_string(train_size) + " images, batch size " +
                           std::to_string(s.batch_size) + ")",
                       hint);
  // Every batch before the last is full, so the samples seen are exactly batches x size.
  if (p.partial.seen != p.batches_done * s.batch_size)
    throw RuntimeError(file + ": " + std::to_string(p.partial.seen) + " samples seen in " +
                           std::to_string(p.batches_done) + " batches of " +
                           std::to_string(s.batch_size) + " is impossible",
                       hint);
}

// The settings taken from a checkpoint's sidecar obey the command line's rules too.
void check_values(const Settings& s) {
  try {
    check_ranges(s);
  } catch (const UsageError& e) {
    throw RuntimeError(std::string("the checkpoint's settings are invalid: ") + e.what(),
                       "the sidecar is damaged; start a new run");
  }
}

// Two options naming the same file: an output that would overwrite another output or an input
// (the checkpoint's sidecar overwritten by --metrics every epoch, --plot over --save, ...).
// Files are compared by identity where they exist (device and inode: links and other spellings
// of a path are the same file) and by canonical path where they do not yet.
void check_distinct_files(const Settings& s) {
  struct Use {
    std::string option, file;
    bool output;
    int group;  // the files of one option (a checkpoint set) never collide among themselves
  };
  std::vector<Use> uses;
  int group = 0;
  auto add_set = [&](const std::string& option, const std::string& path, bool output) {
    ++group;
    const CheckpointFiles f = checkpoint_files(path);
    for (const std::string& file : f.all())
      uses.push_back({option + " " + path, file, output, group});
  };
  auto add = [&](const std::string& option, const std::string& path, bool output) {
    if (!path.empty()) uses.push_back({option + " " + path, path, output, ++group});
  };
  if (!s.save_path.empty()) add_set("--save", s.save_path, true);
  if (!s.resume_path.empty() && s.resume_path != s.save_path)
    add_set("--resume", s.resume_path, false);
  if (!s.load_path.empty()) add_set("--load", s.load_path, false);
  add("--init-from", s.init_from_path, false);
  add("--export", s.export_path, true);
  add("--metrics", s.metrics_path, true);
  add("--plot", s.plot_path, true);
  add("--predict", s.predict_path, true);
  for (ds::Split split : {ds::Split::Train, ds::Split::Test})
    for (const char* kind : {"images-idx3", "labels-idx1"})
      for (const std::string& file : {data_file(s, split, kind), data_file(s, split, kind) + ".gz"})
        if (std::filesystem::exists(file))
          uses.push_back({"--data " + data_root(s), file, false, ++group});

  auto identity = [](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0)
      return "inode " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    std::error_code ec;
    std::filesystem::path canonical =
        std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return "path " + (ec ? path : canonical.string());
  };
  std::vector<std::string> ids;
  for (const Use& u : uses) ids.push_back(identity(u.file));
  auto describe = [](const Use& u) {
    const std::string given = u.option.substr(u.option.find(' ') + 1);
    return u.option + (u.file == given ? std::string() : " (its file " + u.file + ")");
  };
  for (std::size_t i = 0; i < uses.size(); ++i)
    for (std::size_t j = i + 1; j < uses.size(); ++j)
      if (uses[i].group != uses[j].group && (uses[i].output || uses[j].output) && ids[i] == ids[j])
        throw UsageError(describe(uses[uses[j].output ? j : i]) + " and " +
                         describe(uses[uses[j].output ? i : j]) +
                         " are the same file; every output needs a file of its own, distinct "
                         "from the inputs");
}

int evaluate_only(Settings s) {
  if (!s.load_path.empty() && std::filesystem::exists(checkpoint_files(s.load_path).sidecar))
    merge_settings(s, read_sidecar(s.load_path).settings, false);
  check_distinct_files(s);
  mpi::mute_outputs(s);
  check_output_folders(s);
  ds::ImageDataset test = load_split(s, ds::Split::Test);
  ember::Generator gen(s.seed);
  const auto classes = static_cast<std::int64_t>(test.class_names().size());
  nn::Sequential net =
      make_model(s.model, test.images().size(1), test.images().size(2), classes, gen);
  if (!s.init_from_path.empty())
    init_from(net, s);
  else
    load_weights(net, s.load_path);
  print_header(s, nullptr, test, net);
  auto start = Clock::now();
  Evaluation eval = evaluate(net, test, s.batch_size, static_cast<std::size_t>(classes));
  std::printf("test acc %.4f (%s)\n", eval.accuracy,
              (s.init_from_path.empty() ? s.load_path : s.init_from_path).c_str());
  if (!s.predict_path.empty()) write_predictions(s, test, eval.predictions);
  if (!s.export_path.empty()) export_weights(net, s);  // --load ck --export: a conversion
  s.plot_path.clear();
  s.metrics_path.clear();
  print_final(s, eval, test);
  std::printf("time: %.2f s, %d threads, %s kernels\n", seconds_since(start), s.threads,
              std::string(ember::cpu_capability()).c_str());
  return 0;
}

int train(Settings s) {
  const auto run_start = Clock::now();
  Progress progress;
  std::optional<Sidecar> resumed;
  if (!s.resume_path.empty()) {
    // A save that crashed after its commit point is finished first (Note [Checkpoint set]).
    if (recover_checkpoint(s.resume_path))
      std::cerr << "note: completed the interrupted save of " << s.resume_path << "\n";
    resumed = read_sidecar(s.resume_path);
    merge_settings(s, resumed->settings, true);
    progress = resumed->progress;
    if (s.save_path.empty()) s.save_path = s.resume_path;
    if (progress.epochs_done >= s.epochs)
      throw UsageError("the checkpoint " + s.resume_path + " has finished " +
                       std::to_string(progress.epochs_done) + " epochs; pass --epochs N with N > " +
                       std::to_string(progress.epochs_done) + " to train further");
  } else if (!s.load_path.empty() &&
             std::filesystem::exists(checkpoint_files(s.load_path).sidecar)) {
    merge_settings(s, read_sidecar(s.load_path).settings, false);
  }
  check_values(s);

  check_distinct_files(s);
  mpi::mute_outputs(s);
  check_output_folders(s);
  ds::ImageDataset train_set = load_split(s, ds::Split::Train);
  ds::ImageDataset test_set = load_split(s, ds::Split::Test);
  if (interrupted()) {
    std::cout << "interrupted while loading the data; nothing to save\n";
    return 128 + interrupt_signal();
  }
  ds::DataLoader loader =
      mpi::train_loader(train_set, {.batch_size = s.batch_size, .shuffle = true, .seed = s.seed});
  if (resumed) check_counters(s, progress, loader.num_batches(), train_set.size());

  ember::manual_seed(s.seed);
  ember::Generator gen(s.seed);
  const std::size_t classes = train_set.class_names().size();
  nn::Sequential net = make_model(s.model, train_set.images().size(1), train_set.images().size(2),
                                  static_cast<std::int64_t>(classes), gen);
  nn::CrossEntropyLoss loss_fn;
  Optimizer optimizer(s, net.parameters());

  if (resumed) {
    load_checkpoint(s.resume_path, *resumed, net, optimizer);
    // Hyperparameters given on the command line override the saved ones.
    optimizer.set_hyperparameters(s);
  } else if (!s.load_path.empty()) {
    load_weights(net, s.load_path);
  } else if (!s.init_from_path.empty()) {
    init_from(net, s);
  }
  mpi::wrap(net);  // --distributed: rank 0's weights everywhere, gradients averaged

  print_header(s, &train_set, test_set, net);
  std::cout << "loss CrossEntropyLoss, " << optimizer.describe() << ", batch size " << s.batch_size
            << ", " << s.epochs << " epochs, seed " << s.seed << "\n";
  if (resumed)
    std::cout << "resumed from " << s.resume_path << " after epoch " << progress.epochs_done
              << (progress.batches_done > 0
                      ? " and " + std::to_string(progress.batches_done) + " batches of the next"
                      : std::string())
              << "\n";
  std::cout << "\n" << table_header() << "\n";
  for (const EpochMetrics& m : progress.history) std::cout << table_row(m) << "\n";
  std::cout.flush();

  for (std::int64_t e = 0; e < progress.epochs_done; ++e) loader.begin();  // Note [Exact resume]
  const bool show_bar = !s.quiet && isatty(STDERR_FILENO);
  // Test hooks: EMBER_APP_SIGINT_AFTER_BATCHES=N (EMBER_APP_SIGTERM_AFTER_BATCHES=N) raises
  // SIGINT (SIGTERM) after the N-th training batch of this process, so tests can interrupt at
  // an exact point within an epoch.
  const char* sigint_hook = std::getenv("EMBER_APP_SIGINT_AFTER_BATCHES");
  const char* sigterm_hook = std::getenv("EMBER_APP_SIGTERM_AFTER_BATCHES");
  const int hook_signal = sigterm_hook ? SIGTERM : SIGINT;
  const char* hook = sigterm_hook ? sigterm_hook : sigint_hook;
  const std::int64_t signal_after = hook ? std::atoll(hook) : 0;
  std::int64_t batches_run = 0;
  Evaluation last;

  for (std::int64_t epoch = progress.epochs_done + 1; epoch <= s.epochs; ++epoch) {
    EpochSums sums = mpi::is_root() ? progress.partial : EpochSums{};  // summed below
    std::int64_t batch_index = 0;
    auto it = loader.begin();
    for (; batch_index < progress.batches_done && !(it == loader.end()); ++it) ++batch_index;
    ProgressBar bar(show_bar, epoch, s.epochs, loader.num_batches(), batch_index);

    auto start = Clock::now();
    net.train();
    for (; !(it == loader.end()); ++it) {
      const ds::Batch& batch = *it;
      ember::manual_seed(batch_seed(s.seed, epoch, batch_index));  // Note [Dropout seeds]
      ember::Tensor logits = net(batch.images);
      ember::Tensor loss = loss_fn(logits, batch.labels);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      const std::int64_t n = batch.labels.size(0);
      sums.loss_sum += static_cast<double>(loss.item<float>()) * static_cast<double>(n);
      sums.correct += (logits.argmax(1) == batch.labels).sum().item<std::int64_t>();
      sums.seen += n;
      ++batch_index;
      bar.update(batch_index, sums.seen - progress.partial.seen);
      if (++batches_run == signal_after) std::raise(hook_signal);
      if (interrupted()) break;
    }
    sums.train_seconds += seconds_since(start);
    bar.clear();

    if (interrupted() && batch_index < loader.num_batches()) {
      // Ctrl-C within the epoch: keep the batches done (Note [Exact resume]).
      progress.batches_done = batch_index;
      progress.partial = sums;
      if (!s.metrics_path.empty()) write_metrics(s, progress.history);
      if (!s.plot_path.empty()) write_plot(s, progress.history);
      if (!s.save_path.empty()) {
        save_checkpoint(s.save_path, net, optimizer, settings_object(s), progress);
        std::cout << "interrupted in epoch " << epoch << " after batch " << batch_index << " of "
                  << loader.num_batches() << "; saved " << s.save_path
                  << ": continue with --resume " << s.save_path << "\n";
      } else {
        std::cout << "interrupted in epoch " << epoch << " after batch " << batch_index
                  << "; nothing saved (use --save PATH to keep progress)\n";
      }
      return 128 + interrupt_signal();
    }

    sums.loss_sum = mpi::sum(sums.loss_sum);  // --distributed: the ranks' shares
    sums.correct = mpi::sum(sums.correct);
    sums.seen = mpi::sum(sums.seen);
    auto eval_start = Clock::now();
    mpi::average_buffers(net);  // --distributed: one set of BatchNorm statistics
    last = evaluate(net, test_set, s.batch_size, classes);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = sums.seen > 0 ? sums.loss_sum / static_cast<double>(sums.seen) : 0.0;
    m.train_acc =
        sums.seen > 0 ? static_cast<double>(sums.correct) / static_cast<double>(sums.seen) : 0.0;
    m.test_acc = last.accuracy;
    m.seconds = sums.train_seconds + seconds_since(eval_start);
    m.samples_per_sec =
        sums.train_seconds > 0 ? static_cast<double>(sums.seen) / sums.train_seconds : 0.0;
    progress.history.push_back(m);
    progress.epochs_done = epoch;
    progress.batches_done = 0;
    progress.partial = EpochSums{};
    std::cout << table_row(m) << std::endl;

    if (!s.save_path.empty())
      save_checkpoint(s.save_path, net, optimizer, settings_object(s), progress);
    if (!s.metrics_path.empty()) write_metrics(s, progress.history);
    if (!s.plot_path.empty()) write_plot(s, progress.history);
    if (interrupted()) {
      std::cout << "interrupted after epoch " << epoch
                << (s.save_path.empty()
                        ? "; nothing saved (use --save PATH to keep progress)"
                        : "; saved " + s.save_path + ": continue with --resume " + s.save_path)
                << "\n";
      return 128 + interrupt_signal();
    }
  }

  if (!s.predict_path.empty()) write_predictions(s, test_set, last.predictions);
  if (!s.export_path.empty()) export_weights(net, s);
  print_final(s, last, test_set);
  std::printf("time: %.2f s, %d threads, %s kernels\n", seconds_since(run_start), s.threads,
              std::string(ember::cpu_capability()).c_str());
  return 0;
}

}  // namespace

void check_ranges(const Settings& s) {
  auto fail = [](const std::string& message) {
    throw UsageError(message);
  };
  auto integer = [&](const char* option, std::int64_t value, std::int64_t max, const char* hint) {
    if (value < 1 || value > max)
      fail(std::string(option) + " must be an integer from 1 to " + std::to_string(max) + " (got " +
           std::to_string(value) + ")" + hint);
  };
  (void)model_spec(s.model);  // a model this program knows
  integer("--epochs", s.epochs, kMaxEpochs, "; d2l trains for 10 epochs");
  integer("--batch-size", s.batch_size, kMaxBatchSize, "; d2l uses 256");
  integer("--threads", s.threads, kMaxThreads, "");
  integer("--predict-count", s.predict_count, kMaxPredictCount, "");
  if (!(std::isfinite(s.lr) && s.lr > 0.0))
    fail("--lr must be a positive finite number (got " + json::number(s.lr) +
         "); d2l uses 0.1 for softmax regression, 0.9 for LeNet");
  if (s.optimizer != "sgd" && s.optimizer != "adam")
    fail("--optimizer must be sgd or adam (got '" + s.optimizer + "')");
  if (s.optimizer == "adam" && s.momentum != 0.0)
    fail(
        "--momentum is SGD's; Adam keeps its own moments (betas 0.9, 0.999): drop --momentum or "
        "use --optimizer sgd");
  if (!(std::isfinite(s.momentum) && s.momentum >= 0.0 && s.momentum < 1.0))
    fail("--momentum must be a number in [0, 1) (got " + json::number(s.momentum) +
         "); 0 is plain SGD, 0.9 is common");
  if (!(std::isfinite(s.weight_decay) && s.weight_decay >= 0.0))
    fail("--weight-decay must be a finite number >= 0 (got " + json::number(s.weight_decay) +
         "); try 1e-4");
}

namespace {
std::string& program_name_storage() {
  static std::string name = "ember-softmax-regression";
  return name;
}
}  // namespace

const std::string& program_name() {
  return program_name_storage();
}

void set_program_name(const char* argv0) {
  const std::string path = argv0 ? argv0 : "";
  if (path.substr(path.rfind('/') + 1) == "ember-train") program_name_storage() = "ember-train";
}

int run(Settings s) {
  ember::set_num_threads(s.threads);
  return mpi::run_guarded(
      [&] { return s.eval_only ? evaluate_only(std::move(s)) : train(std::move(s)); });
}

}  // namespace app
