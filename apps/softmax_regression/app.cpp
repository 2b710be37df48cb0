// The run itself: d2l's train_ch3 loop over ember's public API, plus checkpoints, resume,
// metrics and pictures.
//
// Note [Checkpoint files]
// --save PATH writes three files after every epoch, each atomically (temporary file, rename):
//   PATH        the model's parameters           ember::save(module, PATH)
//   PATH.optim  the SGD state (momentum buffers) ember::save(sgd, PATH.optim)
//   PATH.json   the sidecar, written last: format version, the settings that shape the run,
//               epochs done, the batch reached in an interrupted epoch with its running sums,
//               every finished epoch's figures, and the CRC-32 of the two binary files.
// The sidecar is the commit point: --resume checks that the binary files' CRCs (their last four
// bytes, see <ember/nn/checkpoint.h>) are the ones it names, so a crash between the three
// renames is reported instead of resuming from mismatched files.
//
// Note [Exact resume]
// A resumed run prints the same figures as an uninterrupted one: weights and momentum buffers
// are restored bitwise, the running sums of an interrupted epoch are kept as exact doubles
// (shortest round-trip JSON), and the DataLoader, seeded with --seed, replays its shuffles: one
// begin() per finished epoch, then the batches already done in the interrupted epoch are
// skipped (loaded, not trained on).
#include <ember/ember.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
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
#include "json.h"
#include "pictures.h"
#include "report.h"

namespace app {

namespace {

namespace ds = ember::datasets;
namespace nn = ember::nn;
namespace optim = ember::optim;
using Clock = std::chrono::steady_clock;

constexpr int kSidecarVersion = 1;
constexpr const char* kSidecarFormat = "ember-softmax-regression checkpoint";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string data_root(const Settings& s) {
  return s.data_dir.empty() ? std::string(ds::kFashionMNISTDefaultRoot) : s.data_dir;
}

// --- Data ---

ds::ImageDataset load_split(const Settings& s, ds::Split split) {
  const std::string root = data_root(s);
  try {
    if (s.dataset == "mnist") return ds::MNIST(root, split);
    return ds::FashionMNIST(root, split);
  } catch (const ember::Error& e) {
    // The dataset's own message already says where it looked and how to get the files.
    std::string hint =
        "--data is '" + root +
        "'; point --data at the folder holding the dataset's four IDX files, plain or .gz";
    throw RuntimeError(e.what(), hint);
  }
}

// --- Model ---

// d2l: Sequential(Flatten(), Linear(784, 10)) or its MLP, then init_weights: normal(0, 0.01) on
// every Linear weight; biases keep Linear's default U(-1/sqrt(in), 1/sqrt(in)).
nn::Sequential make_model(const std::string& kind, std::int64_t inputs, std::int64_t classes,
                          ember::Generator& gen) {
  nn::Sequential net;
  if (kind == "mlp") {
    constexpr std::int64_t kHidden = 256;
    net = nn::Sequential(nn::Flatten(), nn::Linear(inputs, kHidden, true, gen), nn::ReLU(),
                         nn::Linear(kHidden, classes, true, gen));
  } else {
    net = nn::Sequential(nn::Flatten(), nn::Linear(inputs, classes, true, gen));
  }
  net.apply([&gen](nn::Module& m) {
    if (auto* linear = dynamic_cast<nn::Linear*>(&m))
      nn::init::normal_(linear->weight, 0.0, 0.01, gen);
  });
  return net;
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
  ds::DataLoader loader(test, {.batch_size = batch_size});
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
  net.train();
  result.accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  return result;
}

// --- Checkpoint sidecar (Note [Checkpoint files]) ---

// Running sums of an epoch: d2l's Accumulator(3) plus the time spent.
struct EpochSums {
  double loss_sum = 0.0;  // sum of per-sample losses
  std::int64_t correct = 0;
  std::int64_t seen = 0;
  double train_seconds = 0.0;
};

struct Progress {
  std::int64_t epochs_done = 0;
  std::int64_t batches_done = 0;  // of epoch epochs_done + 1, when interrupted within it
  EpochSums partial;
  std::vector<EpochMetrics> history;
};

json::ObjectWriter& add_metrics(json::ObjectWriter& out, const EpochMetrics& m) {
  return out.add("epoch", m.epoch)
      .add("train_loss", m.train_loss)
      .add("train_acc", m.train_acc)
      .add("test_acc", m.test_acc)
      .add("seconds", m.seconds)
      .add("samples_per_sec", m.samples_per_sec);
}

std::string metrics_object(const EpochMetrics& m) {
  json::ObjectWriter out;
  return add_metrics(out, m).str();
}

EpochMetrics metrics_from(const json::Value& v) {
  EpochMetrics m;
  m.epoch = v.at("epoch").as_int("epoch");
  m.train_loss = v.at("train_loss").as_number("train_loss");
  m.train_acc = v.at("train_acc").as_number("train_acc");
  m.test_acc = v.at("test_acc").as_number("test_acc");
  m.seconds = v.at("seconds").as_number("seconds");
  m.samples_per_sec = v.at("samples_per_sec").as_number("samples_per_sec");
  return m;
}

// The settings a run is defined by (and that a resumed run must keep).
json::ObjectWriter& add_settings(json::ObjectWriter& out, const Settings& s) {
  return out.add("dataset", s.dataset)
      .add("data_dir", data_root(s))
      .add("model", s.model)
      .add("epochs", s.epochs)
      .add("batch_size", s.batch_size)
      .add("lr", s.lr)
      .add("momentum", s.momentum)
      .add("weight_decay", s.weight_decay)
      .add("seed", s.seed);
}

std::string settings_object(const Settings& s) {
  json::ObjectWriter out;
  return add_settings(out, s).str();
}

// The CRC-32 that ends every ember checkpoint file (little-endian u32).
std::uint32_t checkpoint_crc(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char bytes[4] = {};
  if (!in.seekg(-4, std::ios::end) || !in.read(reinterpret_cast<char*>(bytes), 4))
    throw RuntimeError("cannot read " + path + " (missing or shorter than 4 bytes)",
                       "a --save checkpoint is three files: PATH, PATH.optim and PATH.json");
  return std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 | std::uint32_t{bytes[2]} << 16 |
         std::uint32_t{bytes[3]} << 24;
}

void save_checkpoint(const std::string& path, const nn::Module& net, const optim::SGD& sgd,
                     const Settings& s, const Progress& progress) {
  const std::string hint = "check that the folder of --save exists, is writable and has space";
  try {
    ember::save(sgd, path + ".optim");
    ember::save(net, path);
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), hint);
  }
  std::string history = "[";
  for (std::size_t i = 0; i < progress.history.size(); ++i)
    history += (i ? ", " : "") + metrics_object(progress.history[i]);
  history += "]";
  std::string partial = json::ObjectWriter()
                            .add("loss_sum", progress.partial.loss_sum)
                            .add("correct", progress.partial.correct)
                            .add("seen", progress.partial.seen)
                            .add("train_seconds", progress.partial.train_seconds)
                            .str();
  std::string sidecar = json::ObjectWriter()
                            .add("format", kSidecarFormat)
                            .add("version", kSidecarVersion)
                            .add_raw("settings", settings_object(s))
                            .add("epochs_done", progress.epochs_done)
                            .add("batches_done", progress.batches_done)
                            .add_raw("partial", partial)
                            .add_raw("history", history)
                            .add("weights_crc32", std::int64_t{checkpoint_crc(path)})
                            .add("optimizer_crc32", std::int64_t{checkpoint_crc(path + ".optim")})
                            .str();
  write_output_file(path + ".json", sidecar + "\n");
}

struct Sidecar {
  json::Value settings;
  Progress progress;
  std::uint32_t weights_crc = 0, optimizer_crc = 0;
};

Sidecar read_sidecar(const std::string& path) {
  const std::string file = path + ".json";
  const std::string hint =
      "--resume and --load take the PATH given to --save, next to PATH.optim and PATH.json; "
      "if the files are damaged, start a new run";
  std::ifstream in(file, std::ios::binary);
  if (!in) throw RuntimeError("cannot open " + file + ", the checkpoint's sidecar", hint);
  std::stringstream text;
  text << in.rdbuf();
  Sidecar result;
  try {
    json::Value v = json::parse(text.str());
    if (v.type != json::Value::Type::Object || v.at("format").as_string("format") != kSidecarFormat)
      throw std::runtime_error("not an ember-softmax-regression checkpoint sidecar");
    if (v.at("version").as_int("version") != kSidecarVersion)
      throw std::runtime_error("sidecar version " +
                               std::to_string(v.at("version").as_int("version")) +
                               ", this program reads version " + std::to_string(kSidecarVersion));
    result.settings = v.at("settings");
    Progress& p = result.progress;
    p.epochs_done = v.at("epochs_done").as_int("epochs_done");
    p.batches_done = v.at("batches_done").as_int("batches_done");
    const json::Value& partial = v.at("partial");
    p.partial.loss_sum = partial.at("loss_sum").as_number("loss_sum");
    p.partial.correct = partial.at("correct").as_int("correct");
    p.partial.seen = partial.at("seen").as_int("seen");
    p.partial.train_seconds = partial.at("train_seconds").as_number("train_seconds");
    const json::Value& history = v.at("history");
    if (history.type != json::Value::Type::Array)
      throw std::runtime_error("'history' is not a list");
    for (const json::Value& h : history.array) p.history.push_back(metrics_from(h));
    if (p.epochs_done < 0 || p.batches_done < 0 ||
        static_cast<std::int64_t>(p.history.size()) != p.epochs_done)
      throw std::runtime_error("epochs_done disagrees with the history");
    result.weights_crc = static_cast<std::uint32_t>(v.at("weights_crc32").as_int("weights_crc32"));
    result.optimizer_crc =
        static_cast<std::uint32_t>(v.at("optimizer_crc32").as_int("optimizer_crc32"));
  } catch (const std::runtime_error& e) {
    throw RuntimeError(file + ": " + e.what(), hint);
  }
  return result;
}

// Takes the checkpoint's settings where the command line gave none. With `strict` (resume), a
// given dataset, model, batch size or seed that differs from the checkpoint's is a usage error:
// the run would no longer be the one saved.
void merge_settings(Settings& s, const json::Value& saved, bool strict) {
  auto conflict = [&](const char* flag, const std::string& given, const std::string& stored) {
    if (strict && given != stored)
      throw UsageError(std::string(flag) + " " + given + " differs from the checkpoint's " +
                       stored +
                       "; --resume continues the saved run with its dataset, model, "
                       "batch size and seed (drop the flag, or start a new run)");
  };
  const std::string dataset = saved.at("dataset").as_string("dataset");
  if (s.given_dataset)
    conflict("--dataset", s.dataset, dataset);
  else
    s.dataset = dataset;
  const std::string model = saved.at("model").as_string("model");
  if (s.given_model)
    conflict("--model", s.model, model);
  else
    s.model = model;
  if (!s.given_data_dir) s.data_dir = saved.at("data_dir").as_string("data_dir");
  const std::int64_t batch = saved.at("batch_size").as_int("batch_size");
  if (!strict) {
    if (!s.given_batch_size) s.batch_size = batch;
    return;
  }
  if (s.given_batch_size)
    conflict("--batch-size", std::to_string(s.batch_size), std::to_string(batch));
  else
    s.batch_size = batch;
  const auto seed = static_cast<std::uint64_t>(saved.at("seed").as_number("seed"));
  if (s.given_seed)
    conflict("--seed", std::to_string(s.seed), std::to_string(seed));
  else
    s.seed = seed;
  if (!s.given_epochs) s.epochs = saved.at("epochs").as_int("epochs");
  if (!s.given_lr) s.lr = saved.at("lr").as_number("lr");
  if (!s.given_momentum) s.momentum = saved.at("momentum").as_number("momentum");
  if (!s.given_weight_decay) s.weight_decay = saved.at("weight_decay").as_number("weight_decay");
}

// --- Outputs ---

void write_metrics(const Settings& s, const std::vector<EpochMetrics>& history) {
  std::string text;
  for (const EpochMetrics& m : history) {
    json::ObjectWriter line;
    add_metrics(line, m);
    add_settings(line, s).add("threads", s.threads);
    text += line.str() + "\n";
  }
  write_output_file(s.metrics_path, text);
}

std::string run_title(const Settings& s) {
  return s.dataset + ", " + s.model + " (lr " + json::number(s.lr) + ", batch " +
         std::to_string(s.batch_size) + ")";
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
  std::cout << "ember-softmax-regression: " << s.dataset << " from " << data_root(s) << " (";
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

// Refuses, before any training, an output whose folder is missing or read-only.
void check_output_folders(const Settings& s) {
  for (const std::string* path : {&s.save_path, &s.metrics_path, &s.plot_path, &s.predict_path}) {
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

int evaluate_only(Settings s) {
  if (std::filesystem::exists(s.load_path + ".json"))
    merge_settings(s, read_sidecar(s.load_path).settings, false);
  check_output_folders(s);
  ds::ImageDataset test = load_split(s, ds::Split::Test);
  ember::Generator gen(s.seed);
  const auto classes = static_cast<std::int64_t>(test.class_names().size());
  nn::Sequential net =
      make_model(s.model, test.images().size(1) * test.images().size(2), classes, gen);
  load_weights(net, s.load_path);
  print_header(s, nullptr, test, net);
  auto start = Clock::now();
  Evaluation eval = evaluate(net, test, s.batch_size, static_cast<std::size_t>(classes));
  std::printf("test acc %.4f (%s)\n", eval.accuracy, s.load_path.c_str());
  if (!s.predict_path.empty()) write_predictions(s, test, eval.predictions);
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
    resumed = read_sidecar(s.resume_path);
    merge_settings(s, resumed->settings, true);
    progress = resumed->progress;
    if (s.save_path.empty()) s.save_path = s.resume_path;
    if (progress.epochs_done >= s.epochs)
      throw UsageError("the checkpoint " + s.resume_path + " has finished " +
                       std::to_string(progress.epochs_done) + " epochs; pass --epochs N with N > " +
                       std::to_string(progress.epochs_done) + " to train further");
  } else if (!s.load_path.empty() && std::filesystem::exists(s.load_path + ".json")) {
    merge_settings(s, read_sidecar(s.load_path).settings, false);
  }

  check_output_folders(s);
  ds::ImageDataset train_set = load_split(s, ds::Split::Train);
  ds::ImageDataset test_set = load_split(s, ds::Split::Test);
  if (interrupted()) {
    std::cout << "interrupted while loading the data; nothing to save\n";
    return 130;
  }

  ember::manual_seed(s.seed);
  ember::Generator gen(s.seed);
  const std::size_t classes = train_set.class_names().size();
  const std::int64_t inputs = train_set.images().size(1) * train_set.images().size(2);
  nn::Sequential net = make_model(s.model, inputs, static_cast<std::int64_t>(classes), gen);
  nn::CrossEntropyLoss loss_fn;
  optim::SGD sgd(net.parameters(),
                 {.lr = s.lr, .momentum = s.momentum, .weight_decay = s.weight_decay});

  if (resumed) {
    const std::string& path = s.resume_path;
    if (checkpoint_crc(path) != resumed->weights_crc ||
        checkpoint_crc(path + ".optim") != resumed->optimizer_crc)
      throw RuntimeError(path + ", " + path + ".optim and " + path +
                             ".json are not from the same save (a crash while saving?)",
                         "start a new run, or restore all three files from one save");
    load_weights(net, path);
    try {
      ember::load(sgd, path + ".optim");
    } catch (const ember::Error& e) {
      throw RuntimeError(e.what(), "PATH.optim must be saved with PATH by --save");
    }
    // Hyperparameters given on the command line override the saved ones.
    for (auto& group : sgd.param_groups()) {
      group.options.lr = s.lr;
      group.options.momentum = s.momentum;
      group.options.weight_decay = s.weight_decay;
    }
  } else if (!s.load_path.empty()) {
    load_weights(net, s.load_path);
  }

  print_header(s, &train_set, test_set, net);
  std::cout << "loss CrossEntropyLoss, SGD lr " << json::number(s.lr) << " momentum "
            << json::number(s.momentum) << " weight decay " << json::number(s.weight_decay)
            << ", batch size " << s.batch_size << ", " << s.epochs << " epochs, seed " << s.seed
            << "\n";
  if (resumed)
    std::cout << "resumed from " << s.resume_path << " after epoch " << progress.epochs_done
              << (progress.batches_done > 0
                      ? " and " + std::to_string(progress.batches_done) + " batches of the next"
                      : std::string())
              << "\n";
  std::cout << "\n" << table_header() << "\n";
  for (const EpochMetrics& m : progress.history) std::cout << table_row(m) << "\n";
  std::cout.flush();

  ds::DataLoader loader(train_set, {.batch_size = s.batch_size, .shuffle = true, .seed = s.seed});
  for (std::int64_t e = 0; e < progress.epochs_done; ++e) loader.begin();  // Note [Exact resume]
  const bool show_bar = !s.quiet && isatty(STDERR_FILENO);
  // Test hook: EMBER_APP_SIGINT_AFTER_BATCHES=N raises SIGINT after the N-th training batch of
  // this process, so tests can interrupt at an exact point within an epoch.
  const char* sigint_hook = std::getenv("EMBER_APP_SIGINT_AFTER_BATCHES");
  const std::int64_t sigint_after = sigint_hook ? std::atoll(sigint_hook) : 0;
  std::int64_t batches_run = 0;
  Evaluation last;

  for (std::int64_t epoch = progress.epochs_done + 1; epoch <= s.epochs; ++epoch) {
    EpochSums sums = progress.partial;
    std::int64_t batch_index = 0;
    auto it = loader.begin();
    for (; batch_index < progress.batches_done && !(it == loader.end()); ++it) ++batch_index;
    ProgressBar bar(show_bar, epoch, s.epochs, loader.num_batches(), batch_index);

    auto start = Clock::now();
    net.train();
    for (; !(it == loader.end()); ++it) {
      const ds::Batch& batch = *it;
      ember::Tensor logits = net(batch.images);
      ember::Tensor loss = loss_fn(logits, batch.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      const std::int64_t n = batch.labels.size(0);
      sums.loss_sum += static_cast<double>(loss.item<float>()) * static_cast<double>(n);
      sums.correct += (logits.argmax(1) == batch.labels).sum().item<std::int64_t>();
      sums.seen += n;
      ++batch_index;
      bar.update(batch_index, sums.seen - progress.partial.seen);
      if (++batches_run == sigint_after) std::raise(SIGINT);
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
        save_checkpoint(s.save_path, net, sgd, s, progress);
        std::cout << "interrupted in epoch " << epoch << " after batch " << batch_index << " of "
                  << loader.num_batches() << "; saved " << s.save_path
                  << ": continue with --resume " << s.save_path << "\n";
      } else {
        std::cout << "interrupted in epoch " << epoch << " after batch " << batch_index
                  << "; nothing saved (use --save PATH to keep progress)\n";
      }
      return 130;
    }

    auto eval_start = Clock::now();
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

    if (!s.save_path.empty()) save_checkpoint(s.save_path, net, sgd, s, progress);
    if (!s.metrics_path.empty()) write_metrics(s, progress.history);
    if (!s.plot_path.empty()) write_plot(s, progress.history);
    if (interrupted()) {
      std::cout << "interrupted after epoch " << epoch
                << (s.save_path.empty()
                        ? "; nothing saved (use --save PATH to keep progress)"
                        : "; saved " + s.save_path + ": continue with --resume " + s.save_path)
                << "\n";
      return 130;
    }
  }

  if (!s.predict_path.empty()) write_predictions(s, test_set, last.predictions);
  print_final(s, last, test_set);
  std::printf("time: %.2f s, %d threads, %s kernels\n", seconds_since(run_start), s.threads,
              std::string(ember::cpu_capability()).c_str());
  return 0;
}

}  // namespace

int run(Settings s) {
  ember::set_num_threads(s.threads);
  return s.eval_only ? evaluate_only(std::move(s)) : train(std::move(s));
}

}  // namespace app
