// The app's checkpoint set: Note [Checkpoint set] in checkpoint.h.
#include "checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pictures.h"

namespace app {

namespace {

namespace fs = std::filesystem;

constexpr int kSidecarVersion = 1;
constexpr const char* kSidecarFormat = "ember-softmax-regression checkpoint";

const char* const kSaveHint = "check that the folder of --save exists, is writable and has space";
const char* const kReadHint =
    "--resume and --load take the PATH given to --save, next to PATH.optim and PATH.json; "
    "if the files are damaged, start a new run";

// --- Fault injection (the test seam) ---

struct Fault {
  std::int64_t at = 0;  // 0: none
  bool crash = false;
  std::int64_t steps = 0;
};

Fault& fault() {
  static Fault f;
  return f;
}

// --- Files ---

// Renames `from` over `to` and fsyncs their folder; a fault point.
void commit_rename(const std::string& from, const std::string& to) {
  fault_point("rename " + from);
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw RuntimeError("cannot rename " + from + " to " + to + ": " + std::strerror(errno),
                       kSaveHint);
}

void fsync_folder(const std::string& file) {
  const fs::path parent = fs::path(file).parent_path();
  const std::string folder = parent.empty() ? fs::path(".").string() : parent.string();
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw RuntimeError("cannot open the folder " + folder + ": " + std::strerror(errno), kSaveHint);
  int result;
  do {
    result = ::fsync(fd);
  } while (result != 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (result != 0 && err != EINVAL)
    throw RuntimeError("cannot fsync the folder " + folder + ": " + std::strerror(err), kSaveHint);
}

// Gives `next` the mode and owner of `final_name`, the file it will replace, before any content
// is written to it: write_file_atomically keeps the mode of the file it replaces, so a 0600
// checkpoint stays 0600 through the rename of step 3. A new set follows the umask.
void inherit_mode(const std::string& final_name, const std::string& next) {
  struct stat st {};
  if (::stat(final_name.c_str(), &st) != 0) return;
  const int fd = ::open(next.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw RuntimeError("cannot create " + next + ": " + std::strerror(errno), kSaveHint);
  bool owned = st.st_uid == ::geteuid() && st.st_gid == ::getegid();
  if (!owned) owned = ::fchown(fd, st.st_uid, st.st_gid) == 0;
  const int result = ::fchmod(fd, st.st_mode & (owned ? 07777 : 0777));
  const int err = errno;
  ::close(fd);
  if (result != 0)
    throw RuntimeError("cannot set the mode of " + next + ": " + std::strerror(err), kSaveHint);
}

// The CRC-32 that ends every ember checkpoint file (little-endian u32).
std::uint32_t checkpoint_crc(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw RuntimeError("cannot read " + path + " (missing or not a regular file)",
                       "a --save checkpoint is three files: PATH, PATH.optim and PATH.json");
  std::ifstream in(path, std::ios::binary);
  unsigned char bytes[4] = {};
  if (!in.seekg(-4, std::ios::end) || !in.read(reinterpret_cast<char*>(bytes), 4))
    throw RuntimeError("cannot read " + path + " (shorter than 4 bytes)",
                       "a --save checkpoint is three files: PATH, PATH.optim and PATH.json");
  return std::uint32_t{bytes[0]} | std::uint32_t{bytes[1]} << 8 | std::uint32_t{bytes[2]} << 16 |
         std::uint32_t{bytes[3]} << 24;
}

std::string read_text(const std::string& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw RuntimeError("cannot open " + file + ", the checkpoint's sidecar" +
                           (fs::exists(file, ec) ? " (not a regular file)" : ""),
                       kReadHint);
  // A sidecar holds a line of figures per epoch: far below this even at --epochs 1000000.
  constexpr std::uintmax_t kMaxSidecarBytes = std::uintmax_t{1} << 30;
  if (fs::file_size(file, ec) > kMaxSidecarBytes)
    throw RuntimeError(file + " is larger than 1 GiB: not a sidecar written by --save", kReadHint);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw RuntimeError("cannot open " + file + ", the checkpoint's sidecar", kReadHint);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

EpochMetrics metrics_from(const json::Json& v) {
  EpochMetrics m;
  m.epoch = json::get_int(v, "epoch");
  m.train_loss = json::get_number(v, "train_loss");
  m.train_acc = json::get_number(v, "train_acc");
  m.test_acc = json::get_number(v, "test_acc");
  m.seconds = json::get_number(v, "seconds");
  m.samples_per_sec = json::get_number(v, "samples_per_sec");
  return m;
}

// Parses a sidecar's text; throws std::runtime_error saying what is wrong.
Sidecar parse_sidecar(const std::string& text) {
  Sidecar result;
  const json::Json v = json::parse(text);
  if (!v.is_object() || json::get_string(v, "format") != kSidecarFormat)
    throw std::runtime_error("not an ember-softmax-regression checkpoint sidecar");
  if (json::get_int(v, "version") != kSidecarVersion)
    throw std::runtime_error("sidecar version " + std::to_string(json::get_int(v, "version")) +
                             ", this program reads version " + std::to_string(kSidecarVersion));
  result.settings = json::at(v, "settings");
  if (!result.settings.is_object()) throw std::runtime_error("'settings' is not an object");
  Progress& p = result.progress;
  p.epochs_done = json::get_int(v, "epochs_done");
  p.batches_done = json::get_int(v, "batches_done");
  const json::Json& partial = json::at(v, "partial");
  p.partial.loss_sum = json::get_number(partial, "loss_sum");
  p.partial.correct = json::get_int(partial, "correct");
  p.partial.seen = json::get_int(partial, "seen");
  p.partial.train_seconds = json::get_number(partial, "train_seconds");
  const json::Json& history = json::at(v, "history");
  if (!history.is_array()) throw std::runtime_error("'history' is not a list");
  for (const json::Json& h : history) p.history.push_back(metrics_from(h));
  // Counters that no run can produce (the dataset-dependent ones are checked by the caller).
  if (p.epochs_done < 0 || static_cast<std::int64_t>(p.history.size()) != p.epochs_done)
    throw std::runtime_error("epochs_done " + std::to_string(p.epochs_done) +
                             " disagrees with the history's " + std::to_string(p.history.size()) +
                             " epochs");
  for (std::size_t i = 0; i < p.history.size(); ++i)
    if (p.history[i].epoch != static_cast<std::int64_t>(i) + 1)
      throw std::runtime_error("history entry " + std::to_string(i + 1) + " is for epoch " +
                               std::to_string(p.history[i].epoch));
  const EpochSums& s = p.partial;
  if (p.batches_done < 0 || s.seen < 0 || s.correct < 0 || s.correct > s.seen ||
      !std::isfinite(s.loss_sum) || s.loss_sum < 0 || !std::isfinite(s.train_seconds) ||
      s.train_seconds < 0 || (p.batches_done == 0 && (s.seen != 0 || s.loss_sum != 0)))
    throw std::runtime_error("impossible counters: batches_done " + std::to_string(p.batches_done) +
                             ", seen " + std::to_string(s.seen) + ", correct " +
                             std::to_string(s.correct) + ", loss_sum " + json::number(s.loss_sum));
  const std::int64_t weights_crc = json::get_int(v, "weights_crc32");
  const std::int64_t optimizer_crc = json::get_int(v, "optimizer_crc32");
  if (weights_crc < 0 || weights_crc > 0xFFFFFFFF || optimizer_crc < 0 ||
      optimizer_crc > 0xFFFFFFFF)
    throw std::runtime_error("a CRC-32 out of range");
  result.weights_crc = static_cast<std::uint32_t>(weights_crc);
  result.optimizer_crc = static_cast<std::uint32_t>(optimizer_crc);
  return result;
}

}  // namespace

json::Json metrics_json(const EpochMetrics& m) {
  json::Json out = json::Json::object();
  out["epoch"] = m.epoch;
  out["train_loss"] = m.train_loss;
  out["train_acc"] = m.train_acc;
  out["test_acc"] = m.test_acc;
  out["seconds"] = m.seconds;
  out["samples_per_sec"] = m.samples_per_sec;
  return out;
}

CheckpointFiles checkpoint_files(const std::string& path) {
  // Follow PATH's links (a dangling one names the file to create), so that renames replace
  // the target and never the link.
  std::error_code ec;
  fs::path resolved = path;
  for (int hops = 0; hops < 40 && fs::is_symlink(resolved, ec); ++hops) {
    fs::path link = fs::read_symlink(resolved, ec);
    if (ec) break;
    resolved = link.is_absolute() ? link : resolved.parent_path() / link;
  }
  const std::string base = resolved.string();
  CheckpointFiles f;
  f.weights = base;
  f.optimizer = base + ".optim";
  f.sidecar = base + ".json";
  f.next_weights = f.weights + ".next";
  f.next_optimizer = f.optimizer + ".next";
  f.next_sidecar = f.sidecar + ".next";
  return f;
}

void save_checkpoint(const std::string& path, const ember::nn::Module& net,
                     const Optimizer& optimizer, const json::Json& settings,
                     const Progress& progress) {
  const CheckpointFiles f = checkpoint_files(path);
  // 1. A commit point left by an earlier save must not pair with this save's files.
  std::error_code ec;
  if (fs::exists(f.next_sidecar, ec) && fs::file_size(f.next_sidecar, ec) != 0) {
    fault_point("remove " + f.next_sidecar);
    if (!fs::remove(f.next_sidecar, ec) && ec)
      throw RuntimeError("cannot remove " + f.next_sidecar + ": " + ec.message(), kSaveHint);
    fsync_folder(f.next_sidecar);
  }
  // 2. The new set, the sidecar last.
  inherit_mode(f.optimizer, f.next_optimizer);
  inherit_mode(f.weights, f.next_weights);
  inherit_mode(f.sidecar, f.next_sidecar);
  try {
    optimizer.save(f.next_optimizer);
    ember::save(net, f.next_weights);
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), kSaveHint);
  }
  json::Json history = json::Json::array();
  for (const EpochMetrics& m : progress.history) history.push_back(metrics_json(m));
  json::Json sidecar = json::Json::object();
  sidecar["format"] = kSidecarFormat;
  sidecar["version"] = kSidecarVersion;
  sidecar["settings"] = settings;
  sidecar["epochs_done"] = progress.epochs_done;
  sidecar["batches_done"] = progress.batches_done;
  sidecar["partial"] = {{"loss_sum", progress.partial.loss_sum},
                        {"correct", progress.partial.correct},
                        {"seen", progress.partial.seen},
                        {"train_seconds", progress.partial.train_seconds}};
  sidecar["history"] = std::move(history);
  sidecar["weights_crc32"] = checkpoint_crc(f.next_weights);
  sidecar["optimizer_crc32"] = checkpoint_crc(f.next_optimizer);
  write_output_file(f.next_sidecar, sidecar.dump() + "\n");  // the commit point
  // 3. Into place.
  recover_checkpoint(path);
}

bool recover_checkpoint(const std::string& path) {
  const CheckpointFiles f = checkpoint_files(path);
  std::error_code ec;
  if (!fs::is_regular_file(f.next_sidecar, ec)) return false;
  // An empty one is the placeholder that carries the mode (inherit_mode), not a commit point:
  // the save stopped before its commit, and the previous set stands.
  if (fs::file_size(f.next_sidecar, ec) == 0 && !ec) return false;
  // The commit point exists, so the new set is complete: each binary file is either still at
  // its .next name or already renamed. Check before renaming anything.
  Sidecar next;
  try {
    next = parse_sidecar(read_text(f.next_sidecar));
  } catch (const std::runtime_error& e) {
    throw RuntimeError(f.next_sidecar + ": " + e.what(), kReadHint);
  }
  auto current = [&](const std::string& next_name, const std::string& name) {
    return fs::exists(next_name, ec) ? next_name : name;
  };
  const std::string weights = current(f.next_weights, f.weights);
  const std::string optimizer = current(f.next_optimizer, f.optimizer);
  if (checkpoint_crc(weights) != next.weights_crc ||
      checkpoint_crc(optimizer) != next.optimizer_crc)
    throw RuntimeError(f.next_sidecar + " names files that are not " + weights + " and " +
                           optimizer + " (their CRC-32 differ)",
                       "remove " + f.next_sidecar + " to resume from " + f.sidecar);
  if (weights == f.next_weights) commit_rename(f.next_weights, f.weights);
  if (optimizer == f.next_optimizer) commit_rename(f.next_optimizer, f.optimizer);
  commit_rename(f.next_sidecar, f.sidecar);
  fsync_folder(f.sidecar);
  return true;
}

Sidecar read_sidecar(const std::string& path) {
  const std::string file = checkpoint_files(path).sidecar;
  const std::string text = read_text(file);
  try {
    return parse_sidecar(text);
  } catch (const std::runtime_error& e) {
    throw RuntimeError(file + ": " + e.what(), kReadHint);
  }
}

void load_checkpoint(const std::string& path, const Sidecar& sidecar, ember::nn::Module& net,
                     Optimizer& optimizer) {
  const CheckpointFiles f = checkpoint_files(path);
  if (checkpoint_crc(f.weights) != sidecar.weights_crc ||
      checkpoint_crc(f.optimizer) != sidecar.optimizer_crc)
    throw RuntimeError(f.weights + ", " + f.optimizer + " and " + f.sidecar +
                           " are not from the same save (files copied from different runs?)",
                       "start a new run, or restore all three files from one save");
  try {
    ember::load(net, f.weights);
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(),
                       "the checkpoint must come from this program's --save with the same "
                       "--model and --dataset");
  }
  try {
    optimizer.load(f.optimizer);
  } catch (const ember::Error& e) {
    throw RuntimeError(e.what(), "PATH.optim must be saved with PATH by --save");
  }
}

void install_fault_injection(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string mode = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const std::int64_t at = std::atoll(spec.substr(0, colon).c_str());
  if (at < 1 || (mode != "crash" && mode != "enospc"))
    throw UsageError("EMBER_APP_FAULT must be N:crash or N:enospc with N >= 1 (got '" + spec +
                     "')");
  fault() = Fault{at, mode == "crash", 0};
  ember::core::detail::set_save_hook(
      [](ember::core::detail::SaveStage stage, const std::string& file) {
        static const char* const names[] = {"create", "half-write", "write", "rename"};
        fault_point(std::string(names[static_cast<int>(stage)]) + " " + file);
      });
}

void fault_point(const std::string& what) {
  Fault& f = fault();
  if (f.at == 0 || ++f.steps != f.at) return;
  if (f.crash) {
    std::fprintf(stderr, "EMBER_APP_FAULT: crash at step %lld (%s)\n",
                 static_cast<long long>(f.steps), what.c_str());
    std::fflush(stderr);
    ::raise(SIGKILL);
  }
  throw RuntimeError(
      what + ": No space left on device (EMBER_APP_FAULT at step " + std::to_string(f.steps) + ")",
      kSaveHint);
}

}  // namespace app
