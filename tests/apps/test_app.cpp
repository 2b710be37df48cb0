// End-to-end tests of ember-softmax-regression (apps/softmax_regression): the test writes a small
// IDX dataset itself (512 train / 128 test 28x28 images of a separable pattern, the training
// files gzipped, the test files plain), runs the built program on it and checks its table, exit
// codes, metrics file, SVG files, checkpoints, resume, Ctrl-C and determinism.
//
// The program is found through the EMBER_APP environment variable, else next to this test in the
// build tree: <build>/tests/test_apps -> <build>/apps/softmax_regression/ember-softmax-regression
// (build the target softmax_regression before running these tests).
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <ember/core/safetensors.h>

#include "support/skip.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

using ember::test::TempDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string app_path() {
  if (const char* env = std::getenv("EMBER_APP")) return env;
  fs::path self = fs::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "apps" / "softmax_regression" /
          "ember-softmax-regression")
      .string();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- The dataset ---

// IDX: 00 00 type ndim, big-endian uint32 dims, then the uint8 data.
Bytes idx(const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(d >> shift));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes gzip(const Bytes& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Image i of class k = i % 10: dim noise (0..47) with a bright bar on rows 2k+4 and 2k+5,
// columns 4..23: linearly separable, so softmax regression learns it within a few epochs.
void write_split(const fs::path& dir, const std::string& prefix, std::uint32_t n, bool gz,
                 std::uint32_t salt) {
  Bytes images(static_cast<std::size_t>(n) * 28 * 28), labels(n);
  std::uint32_t state = 12345u + salt;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t k = (i * 7 + salt) % 10;
    labels[i] = static_cast<std::uint8_t>(k);
    for (std::uint32_t p = 0; p < 28 * 28; ++p) {
      state = state * 1664525u + 1013904223u;  // Numerical Recipes' LCG
      std::uint32_t row = p / 28, col = p % 28;
      bool bar = (row == 2 * k + 4 || row == 2 * k + 5) && col >= 4 && col < 24;
      images[i * 784 + p] = static_cast<std::uint8_t>(bar ? 200 + (state >> 27) : (state >> 26));
    }
  }
  Bytes image_file = idx({n, 28, 28}, images), label_file = idx({n}, labels);
  const std::string ext = gz ? ".gz" : "";
  write_file(dir / (prefix + "-images-idx3-ubyte" + ext), gz ? gzip(image_file) : image_file);
  write_file(dir / (prefix + "-labels-idx1-ubyte" + ext), gz ? gzip(label_file) : label_file);
}

void write_dataset(const fs::path& dir) {
  fs::create_directories(dir);
  write_split(dir, "train", 512, /*gz=*/true, 0);
  write_split(dir, "t10k", 128, /*gz=*/false, 3);
}

// --- Running the program ---

struct Run {
  int code = -1;
  std::string out, err;
  std::vector<std::string> lines() const { return lines_of(out); }
};

std::vector<char*> argv_of(const std::string& program, std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Runs `program` with stdout and stderr captured through files in `dir`.
Run run_program(const std::string& program, const TempDir& dir, std::vector<std::string> args,
                const std::vector<std::pair<std::string, std::string>>& env = {}) {
  REQUIRE(fs::exists(program));  // build the target softmax_regression first
  const std::string out_path = dir.file("stdout.txt"), err_path = dir.file("stderr.txt");
  std::vector<char*> argv = argv_of(program, args);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Run r;
  r.code = exit_code(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

// Runs the app with stdout and stderr captured through files in `dir`.
Run run(const TempDir& dir, std::vector<std::string> args,
        const std::vector<std::pair<std::string, std::string>>& env = {}) {
  return run_program(app_path(), dir, std::move(args), env);
}

// Runs the app with stderr on a pseudo-terminal, as in an interactive shell, and stdout captured
// through a file; r.err is everything the terminal received. Nothing when the machine has no
// pseudo-terminals (a container without /dev/pts).
// True when this machine can open a pseudo-terminal (containers may have no /dev/pts).
bool have_pty() {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return false;
  close(master);
  close(slave);
  return true;
}

std::optional<Run> run_on_terminal(const TempDir& dir, std::vector<std::string> args,
                                   unsigned short columns = 80) {
  const std::string program = app_path();
  REQUIRE(fs::exists(program));
  const std::string out_path = dir.file("stdout.txt");
  std::vector<char*> argv = argv_of(program, args);
  int master = -1, slave = -1;
  winsize size{};
  size.ws_row = 24;
  size.ws_col = columns;
  if (openpty(&master, &slave, nullptr, nullptr, &size) != 0) return std::nullopt;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(slave, STDERR_FILENO);
    close(master);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(slave);
  // Drain the terminal while the app runs (a full pty buffer would block it); read() fails with
  // EIO once the app has exited and the last slave descriptor is closed.
  Run r;
  char buffer[4096];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 10'000) <= 0) break;  // 10 s of silence: give up, the checks will fail
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    r.err.append(buffer, static_cast<std::size_t>(n));
  }
  close(master);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  r.code = exit_code(status);
  r.out = read_file(out_path);
  return r;
}

// The common flags of a small run on the test dataset.
std::vector<std::string> small_run(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--dataset", "mnist", "--data", dir.file("data"), "--batch-size",
                                   "32",        "--lr",  "0.5",    "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// --- Reading the output ---

// The rows of the epoch table: the lines after its header up to the first empty line.
std::vector<std::vector<std::string>> table_rows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  bool in_table = false;
  for (const std::string& line : lines_of(out)) {
    if (line.rfind("epoch  train loss", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty() || line.rfind("interrupted", 0) == 0) break;
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    rows.push_back(row);
  }
  return rows;
}

// Both outputs print the same `epochs` rows of the per-epoch table (epoch, train loss, train
// acc, test acc), digit for digit: a resumed run against the uninterrupted one.
void require_same_table(const std::string& expected, const std::string& got, std::size_t epochs) {
  const auto a = table_rows(expected), b = table_rows(got);
  REQUIRE(a.size() == epochs);
  REQUIRE(b.size() == epochs);
  for (std::size_t e = 0; e < epochs; ++e)
    for (std::size_t c = 0; c < 4; ++c) CHECK(a[e][c] == b[e][c]);
}

// Text without its spaces and line breaks: help wrapped at any width compares with a phrase.
std::string wrap_free(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != ' ' && c != '\n') out += c;
  return out;
}

// The output without what varies between identical runs: the last two columns of each table
// row (seconds, samples/s) and the closing "time:" line.
std::string without_timings(const std::string& out) {
  std::string kept;
  bool in_table = false;
  for (const std::string& line : lines_of(out)) {
    if (line.rfind("time:", 0) == 0) continue;
    if (line.rfind("epoch  train loss", 0) == 0)
      in_table = true;
    else if (line.empty())
      in_table = false;
    else if (in_table) {
      std::string trimmed = line.substr(0, line.find_last_not_of(' ') + 1);
      for (int i = 0; i < 2; ++i) {
        trimmed = trimmed.substr(0, trimmed.find_last_of(' '));
        trimmed = trimmed.substr(0, trimmed.find_last_not_of(' ') + 1);
      }
      kept += trimmed + "\n";
      continue;
    }
    kept += line + "\n";
  }
  return kept;
}

// One metrics record, parsed with nlohmann-json (strict RFC 8259): true if the text is exactly one
// JSON object; collects its top-level numbers and strings.
bool json_object(const std::string& text, std::map<std::string, double>& numbers,
                 std::map<std::string, std::string>& strings) {
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return false;
  for (const auto& [key, value] : record.items()) {
    if (value.is_number()) numbers[key] = value.get<double>();
    if (value.is_string()) strings[key] = value.get<std::string>();
  }
  return true;
}

// Well-formed XML, checked coarsely: every tag closes in order, attributes are quoted, '&' only
// starts an entity. Also runs `xmllint --noout` when it is installed.
bool well_formed_xml(const std::string& text, const std::string& path) {
  std::vector<std::string> open;
  static const std::regex entity(R"(&(amp|lt|gt|quot|apos|#[0-9]+);)");
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      std::smatch m;
      std::string rest = text.substr(i, 12);
      if (!std::regex_search(rest, m, entity, std::regex_constants::match_continuous)) return false;
      i += static_cast<std::size_t>(m.length());
      continue;
    }
    if (text[i] != '<') {
      ++i;
      continue;
    }
    std::size_t end = text.find('>', i);
    if (end == std::string::npos) return false;
    std::string tag = text.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with("?") || tag.starts_with("!--")) continue;
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return false;
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) return false;
      open.pop_back();
    } else if (!tag.ends_with("/")) {
      open.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
  }
  if (!open.empty()) return false;
  if (std::system("command -v xmllint > /dev/null 2>&1") == 0) {
    std::string command = "xmllint --noout '" + path + "' 2>/dev/null";
    return std::system(command.c_str()) == 0;
  }
  return true;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("app: trains on a small IDX dataset and reports d2l's figures", "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  Run r = run(dir, small_run(dir, {"--epochs", "3", "--seed", "1", "--threads", "1", "--metrics",
                                   dir.file("run.jsonl"), "--plot", dir.file("curves.svg"),
                                   "--predict", dir.file("grid.svg")}));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());  // --quiet and stderr is not a terminal: no progress bar

  SECTION("one aligned row per epoch") {
    auto rows = table_rows(r.out);
    REQUIRE(rows.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
      REQUIRE(rows[e].size() == 6);
      CHECK(std::stoi(rows[e][0]) == static_cast<int>(e) + 1);
      for (int c : {2, 3}) CHECK((std::stod(rows[e][c]) >= 0.0 && std::stod(rows[e][c]) <= 1.0));
    }
    // Each row is as wide as the header, its columns right-aligned under the titles.
    auto lines = lines_of(r.out);
    auto header = std::find_if(lines.begin(), lines.end(),
                               [](const std::string& l) { return l.starts_with("epoch  train"); });
    REQUIRE(header != lines.end());
    for (int e = 1; e <= 3; ++e) CHECK(header[e].size() == header->size());
    // The pattern is separable: the loss falls and the test accuracy ends high.
    CHECK(std::stod(rows[2][1]) < std::stod(rows[0][1]));
    CHECK(std::stod(rows[2][3]) >= 0.9);
  }

  SECTION("per-class accuracy and confusion matrix at the end") {
    CHECK(r.out.find("per-class test accuracy") != std::string::npos);
    CHECK(r.out.find("confusion matrix (rows: true class, columns: predicted class)") !=
          std::string::npos);
    // MNIST's class names are the digits; the total row counts the 128 test images.
    static const std::regex all_row(R"(all\s+[0-9.]+\s+[0-9]+ /\s+128)");
    CHECK(std::regex_search(r.out, all_row));
  }

  SECTION("metrics: one well-formed JSON object per epoch with figures and settings") {
    auto lines = lines_of(read_file(dir.file("run.jsonl")));
    REQUIRE(lines.size() == 3);
    auto rows = table_rows(r.out);
    for (std::size_t e = 0; e < lines.size(); ++e) {
      std::map<std::string, double> numbers;
      std::map<std::string, std::string> strings;
      INFO(lines[e]);
      REQUIRE(json_object(lines[e], numbers, strings));
      for (const char* key :
           {"epoch", "train_loss", "train_acc", "test_acc", "seconds", "samples_per_sec", "epochs",
            "batch_size", "lr", "momentum", "weight_decay", "seed", "threads"})
        CHECK(numbers.count(key) == 1);
      CHECK(strings["dataset"] == "mnist");
      CHECK(strings["model"] == "softmax");
      CHECK(numbers["epoch"] == static_cast<double>(e + 1));
      CHECK(numbers["batch_size"] == 32);
      CHECK(numbers["lr"] == 0.5);
      CHECK(numbers["threads"] == 1);
      // Which ember wrote the record, and when (ISO 8601 UTC); floats stay floats.
      CHECK(strings["ember_version"].find('.') != std::string::npos);
      CHECK(
          std::regex_match(strings["timestamp"], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
      CHECK(lines[e].find("\"weight_decay\":0.0,") != std::string::npos);
      // The table shows the same figures, rounded to 4 decimals.
      CHECK(numbers["train_loss"] == Approx(std::stod(rows[e][1])).margin(6e-5));
      CHECK(numbers["test_acc"] == Approx(std::stod(rows[e][3])).margin(6e-5));
    }
  }

  SECTION("curves.svg: well-formed, three series with a point per epoch, axes and legend") {
    const std::string svg = read_file(dir.file("curves.svg"));
    CHECK(well_formed_xml(svg, dir.file("curves.svg")));
    for (const char* id : {"train-loss", "train-acc", "test-acc"}) {
      static const std::regex polyline_re(R"re(<polyline id="([a-z-]+)"[^>]*points="([^"]*)")re");
      bool found = false;
      for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline_re);
           it != std::sregex_iterator(); ++it) {
        if ((*it)[1] != id) continue;
        found = true;
        std::istringstream points((*it)[2]);
        int n = 0;
        for (std::string p; points >> p;) ++n;
        CHECK(n == 3);
      }
      CHECK(found);
    }
    CHECK(svg.find("id=\"legend\"") != std::string::npos);
    CHECK(svg.find(">train loss<") != std::string::npos);
    CHECK(svg.find(">epoch<") != std::string::npos);
  }

  SECTION("grid.svg: the first 18 test images with true and predicted labels") {
    const std::string svg = read_file(dir.file("grid.svg"));
    CHECK(well_formed_xml(svg, dir.file("grid.svg")));
    CHECK(count(svg, "<image ") == 18);
    CHECK(count(svg, "class=\"prediction\"") == 18);
    CHECK(count(svg, "href=\"data:image/png;base64,iVBORw0KGgo") == 36);  // href and xlink:href
  }
}

TEST_CASE("app: usage errors exit 2 with a message naming the flag", "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--batch-size", "0"}, "--batch-size must be an integer from 1 to 1000000 (got '0')"},
      {{"--lr", "-1"}, "--lr must be a positive finite number (got -1)"},
      {{"--epochs", "-1"}, "--epochs must be an integer from 1 to 1000000 (got '-1')"},
      {{"--bogus"}, "--bogus"},
      {{"--model", "cnn"}, "--model"},
      {{"--lr", "fast"}, "--lr"},
      {{"--eval-only"}, "--eval-only needs --load"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = small_run(dir, c.args);
    Run r = run(dir, args);
    INFO(c.args[0] << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.rfind("error: ", 0) == 0);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find("--help") != std::string::npos);
    CHECK(r.out.empty());
  }
  Run no_data = run(dir, {"--dataset", "mnist", "--quiet"});
  CHECK(no_data.code == 2);
  CHECK(no_data.err.find("--dataset mnist needs --data DIR") != std::string::npos);

  Run version = run(dir, {"--version"});
  CHECK(version.code == 0);
  CHECK(std::regex_search(
      version.out,
      std::regex(R"(^ember-softmax-regression \d+\.\d+\.\d+ \(ember .*, commit .+\)\n$)")));

  Run help = run(dir, {"--help"});
  CHECK(help.code == 0);
  for (const char* flag : {"--dataset", "--data", "--model", "--epochs", "--batch-size", "--lr",
                           "--momentum", "--weight-decay", "--seed", "--threads", "--save",
                           "--resume", "--eval-only", "--load", "--plot", "--predict", "--metrics"})
    CHECK(help.out.find(flag) != std::string::npos);
  // Defaults are listed: the fixed ones after '=', the model's d2l settings under --model.
  CHECK(help.out.find("--momentum X=0") != std::string::npos);
  CHECK(wrap_free(help.out).find(wrap_free("(default: the model's, 256)")) != std::string::npos);
  for (const char* model :
       {"softmax: Flatten-Linear(784,10) (d2l 3.7; SGD lr 0.1)", "mlp-dropout: ",
        "(d2l 4.6/5.6; SGD lr 0.5)", "lenet: Conv2d(1,6,5,padding=2)-Sigmoid-AvgPool2d(2)",
        "(d2l 6.6/7.6; SGD lr 0.9)", "lenet-bn: Conv2d(1,6,5)-BatchNorm2d(6)-Sigmoid",
        "(d2l 7.5/8.5; SGD lr 1)", "--optimizer NAME"})
    CHECK(wrap_free(help.out).find(wrap_free(model)) != std::string::npos);
  // Metavars that say what to give, option groups, and a footer with examples and exit codes.
  for (const char* text : {"--data DIR", "--save PATH", "--lr X", "\nData:\n", "\nModel:\n",
                           "\nTraining:\n", "\nOutput:\n", "\nCheckpoints:\n", "Examples:\n",
                           "Exit codes: 0 done", "OMP_WAIT_POLICY=passive"})
    CHECK(help.out.find(text) != std::string::npos);
  // Wrapped to the terminal ($COLUMNS when stdout is not one).
  for (int columns : {60, 100}) {
    Run wide = run(dir, {"--help"}, {{"COLUMNS", std::to_string(columns)}});
    for (const std::string& line : lines_of(wide.out)) {
      INFO(columns << ": " << line);
      // CLI11 does not wrap the option names: "--dataset NAME:{fashion-mnist,mnist}=...".
      if (line.find("--dataset NAME") == std::string::npos &&
          line.find("--model NAME") == std::string::npos &&
          line.find("--optimizer NAME") == std::string::npos)
        CHECK(line.size() <= static_cast<std::size_t>(columns));
    }
  }
  // The man page help2man made from --help and --version at build time (target
  // softmax_regression_man, part of the default build), when it has been built.
  const fs::path man = fs::path(app_path()).parent_path() / "ember-softmax-regression.1";
  if (fs::exists(man)) {
    const std::string page = read_file(man);
    CHECK(page.find(".TH EMBER-SOFTMAX-REGRESSION \"1\"") != std::string::npos);
    for (const char* text : {".SH OPTIONS", "epochs", "Exit codes"})
      CHECK(page.find(text) != std::string::npos);
  }
  // A mistyped option names the nearest one.
  for (const auto& [typo, meant] :
       std::vector<std::pair<std::string, std::string>>{{"--epoch", "--epochs"},
                                                        {"--bach-size", "--batch-size"},
                                                        {"--qiet", "--quiet"},
                                                        {"--metric", "--metrics"}}) {
    Run r = run(dir, {typo, "3"});
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find("did you mean " + meant + "?") != std::string::npos);
  }
  CHECK(run(dir, {"--zzzzzzzz"}).err.find("did you mean") == std::string::npos);
}

TEST_CASE("app: runtime errors (bad data, unwritable output) exit 1 naming the file", "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  SECTION("corrupt labels file") {
    // A wrong magic: the type byte 0x08 becomes 0x42.
    Bytes bytes;
    {
      std::string plain = read_file(dir.file("data/t10k-labels-idx1-ubyte"));
      bytes.assign(plain.begin(), plain.end());
    }
    bytes[2] = 0x42;
    write_file(dir.path / "data" / "t10k-labels-idx1-ubyte", bytes);
    Run r = run(dir, small_run(dir, {"--epochs", "1"}));
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.rfind("error: ", 0) == 0);
    CHECK(r.err.find("t10k-labels-idx1-ubyte") != std::string::npos);
    CHECK(r.err.find("\nhint: ") != std::string::npos);
  }
  SECTION("truncated gzip images file") {
    std::string gz = read_file(dir.file("data/train-images-idx3-ubyte.gz"));
    write_file(dir.path / "data" / "train-images-idx3-ubyte.gz",
               Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2)));
    Run r = run(dir, small_run(dir, {"--epochs", "1"}));
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("train-images-idx3-ubyte.gz") != std::string::npos);
  }
  SECTION("an output folder that does not exist is refused before training") {
    Run r = run(dir, small_run(dir, {"--epochs", "1", "--save", dir.file("no/such/ck")}));
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("cannot write " + dir.file("no/such/ck")) != std::string::npos);
    CHECK(r.out.find("epoch") == std::string::npos);
  }
  SECTION("missing folder") {
    Run r = run(dir, {"--dataset", "mnist", "--data", dir.file("nowhere"), "--quiet"});
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find(dir.file("nowhere")) != std::string::npos);
  }
}

TEST_CASE("app: --resume continues a saved run exactly", "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  // momentum, so that the optimizer's state matters too
  const std::vector<std::string> common = {"--seed", "3", "--momentum", "0.9", "--threads", "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return small_run(dir, extra);
  };
  Run whole = run(dir, with({"--epochs", "3"}));
  REQUIRE(whole.code == 0);
  Run first = run(dir, with({"--epochs", "2", "--save", dir.file("ck")}));
  REQUIRE(first.code == 0);
  for (const char* f : {"ck", "ck.optim", "ck.json"}) CHECK(fs::exists(dir.path / f));
  Run rest = run(dir, {"--resume", dir.file("ck"), "--epochs", "3", "--quiet", "--metrics",
                       dir.file("resumed.jsonl")});
  INFO(rest.out << rest.err);
  REQUIRE(rest.code == 0);
  CHECK(rest.out.find("resumed from") != std::string::npos);
  require_same_table(whole.out, rest.out, 3);
  // The resumed run's metrics hold all three epochs; its settings came from the checkpoint.
  auto metrics = lines_of(read_file(dir.file("resumed.jsonl")));
  CHECK(metrics.size() == 3);
  CHECK(metrics[0].find("\"momentum\":0.9") != std::string::npos);

  SECTION("finished: nothing to resume") {
    Run again = run(dir, {"--resume", dir.file("ck"), "--quiet"});
    CHECK(again.code == 2);
    CHECK(again.err.find("--epochs N with N > 3") != std::string::npos);
  }
  SECTION("a different batch size contradicts the checkpoint") {
    Run bad =
        run(dir, {"--resume", dir.file("ck"), "--epochs", "4", "--batch-size", "64", "--quiet"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("--batch-size 64 differs from the checkpoint's 32") != std::string::npos);
  }
  SECTION("mismatched checkpoint files are refused") {
    fs::copy_file(dir.path / "ck.json", dir.path / "old.json");
    Run more = run(dir, {"--resume", dir.file("ck"), "--epochs", "4", "--quiet"});
    REQUIRE(more.code == 0);
    fs::copy_file(dir.path / "old.json", dir.path / "ck.json",
                  fs::copy_options::overwrite_existing);
    Run bad = run(dir, {"--resume", dir.file("ck"), "--epochs", "5", "--quiet"});
    CHECK(bad.code == 1);
    CHECK(bad.err.find("not from the same save") != std::string::npos);
  }
  SECTION("--eval-only --load evaluates the checkpoint, --predict writes a PNG") {
    Run eval = run(dir, {"--eval-only", "--load", dir.file("ck"), "--predict", dir.file("grid.png"),
                         "--predict-count", "5", "--quiet"});
    INFO(eval.err);
    REQUIRE(eval.code == 0);
    static const std::regex acc(R"(test acc ([0-9.]+))");
    std::smatch m;
    REQUIRE(std::regex_search(eval.out, m, acc));
    CHECK(m.str(1) == table_rows(rest.out)[2][3]);  // the last epoch's test accuracy
    CHECK(eval.out.find("confusion matrix") != std::string::npos);
    const std::string png = read_file(dir.file("grid.png"));
    REQUIRE(png.size() > 33);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(png.compare(12, 4, "IHDR") == 0);
    auto be32 = [&](std::size_t at) {
      return std::uint32_t(std::uint8_t(png[at])) << 24 |
             std::uint32_t(std::uint8_t(png[at + 1])) << 16 |
             std::uint32_t(std::uint8_t(png[at + 2])) << 8 |
             std::uint32_t(std::uint8_t(png[at + 3]));
    };
    CHECK(be32(16) == 5 * 132);  // five cells of 132 pixels in one row
    CHECK(png.compare(png.size() - 8, 4, "IEND") == 0);
  }
}

TEST_CASE("app: Ctrl-C finishes the batch, saves and exits 130, and --resume loses nothing",
          "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::string program = app_path();
  REQUIRE(fs::exists(program));
  const std::vector<std::string> common = {"--epochs",   "6",   "--batch-size", "4", "--seed", "5",
                                           "--momentum", "0.5", "--threads",    "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return small_run(dir, extra);
  };
  Run whole = run(dir, with({"--epochs", "6"}));
  REQUIRE(whole.code == 0);

  // Far more epochs than it can finish before the signal arrives.
  std::vector<std::string> args =
      with({"--epochs", "100000", "--save", dir.file("ck"), "--metrics", dir.file("run.jsonl")});
  std::vector<char*> argv = argv_of(program, args);
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const std::string err_path = dir.file("stderr.txt");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  // Read stdout until the first epoch row appears, then interrupt.
  std::string out;
  bool sent = false;
  char buffer[4096];
  while (true) {
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    const std::size_t row = out.find("\n    1  ");
    if (!sent && row != std::string::npos && out.find('\n', row + 1) != std::string::npos) {
      REQUIRE(kill(pid, SIGINT) == 0);
      sent = true;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  const std::string sidecar = read_file(dir.file("ck.json"));
  INFO(out << read_file(err_path) << sidecar);
  REQUIRE(sent);
  REQUIRE(exit_code(status) == 130);
  CHECK(out.find("interrupted") != std::string::npos);
  CHECK(out.find("--resume " + dir.file("ck")) != std::string::npos);
  for (const char* f : {"ck", "ck.optim", "ck.json"}) CHECK(fs::exists(dir.path / f));
  const std::size_t epochs_done = table_rows(out).size();
  CHECK(epochs_done < 6);
  CHECK(lines_of(read_file(dir.file("run.jsonl"))).size() == epochs_done);

  // Resuming up to epoch 6 prints what the uninterrupted 6-epoch run printed.
  Run resumed = run(dir, {"--resume", dir.file("ck"), "--epochs", "6", "--quiet"});
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  require_same_table(whole.out, resumed.out, 6);
}

TEST_CASE("app: interrupted within an epoch, --resume continues from that batch exactly",
          "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::vector<std::string> common = {"--epochs",   "3",   "--batch-size", "16", "--seed", "9",
                                           "--momentum", "0.9", "--threads",    "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return small_run(dir, extra);
  };
  Run whole = run(dir, with({}));
  REQUIRE(whole.code == 0);
  // 32 batches an epoch: SIGINT after batch 45 is batch 13 of epoch 2.
  Run cut = run(dir, with({"--save", dir.file("ck"), "--metrics", dir.file("run.jsonl")}),
                {{"EMBER_APP_SIGINT_AFTER_BATCHES", "45"}});
  INFO(cut.out << cut.err);
  REQUIRE(cut.code == 130);
  CHECK(cut.out.find("interrupted in epoch 2 after batch 13 of 32; saved") != std::string::npos);
  CHECK(table_rows(cut.out).size() == 1);
  CHECK(lines_of(read_file(dir.file("run.jsonl"))).size() == 1);
  const std::string sidecar = read_file(dir.file("ck.json"));
  CHECK(sidecar.find("\"epochs_done\":1,\"batches_done\":13") != std::string::npos);

  Run resumed = run(dir, {"--resume", dir.file("ck"), "--quiet"});
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  CHECK(resumed.out.find("resumed from " + dir.file("ck") + " after epoch 1 and 13 batches") !=
        std::string::npos);
  require_same_table(whole.out, resumed.out, 3);
}

TEST_CASE("app: the same seed gives the same output at 1 and 2 threads", "[apps]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  // Every model: LeNet's convolutions and pools, BatchNorm's statistics and dropout's masks too.
  for (const char* model : {"mlp", "mlp-dropout", "lenet", "lenet-bn"}) {
    INFO(model);
    auto with = [&](const char* seed, const char* threads) {
      Run r = run(dir, small_run(dir, {"--epochs", "2", "--model", model, "--seed", seed,
                                       "--threads", threads}));
      REQUIRE(r.code == 0);
      return without_timings(r.out);
    };
    const std::string one = with("7", "1"), two = with("7", "2"), again = with("7", "2");
    CHECK(table_rows(one).size() == 2);
    CHECK(one == two);
    CHECK(two == again);
    CHECK(with("8", "2") != one);  // the seed matters
  }
}

TEST_CASE("app: a progress bar on a terminal, none with --quiet or when piped", "[apps]") {
  if (!ember::test::available_or_skip(have_pty(),
                                      "no pseudo-terminal on this machine (openpty "
                                      "failed)"))
    return;
  TempDir dir;
  write_dataset(dir.path / "data");
  // 512 training images in batches of 32: 16 batches per epoch.
  const std::vector<std::string> args = {"--dataset",    "mnist", "--data",    dir.file("data"),
                                         "--epochs",     "2",     "--seed",    "3",
                                         "--batch-size", "32",    "--threads", "1"};
  const std::optional<Run> on_terminal = run_on_terminal(dir, args);
  REQUIRE(on_terminal.has_value());
  const Run& bar = *on_terminal;
  INFO(bar.err);
  REQUIRE(bar.code == 0);

  // Each epoch's bar ends full, with the batch count, the rate and the time left...
  CHECK_THAT(bar.err, Catch::Contains("epoch 1/2 [==============================] 16/16"));
  CHECK_THAT(bar.err, Catch::Contains("epoch 2/2 [==============================] 16/16"));
  CHECK_THAT(bar.err, Catch::Contains(" samples/s  ETA "));
  // ...is redrawn in place (carriage return, erase line), never scrolling the terminal...
  CHECK(bar.err.find('\n') == std::string::npos);
  // ...and is erased at the end, so the table on stdout is not interleaved with it.
  const std::string erase = "\r\033[2K";
  CHECK(bar.err.size() >= erase.size());
  CHECK(bar.err.compare(bar.err.size() - erase.size(), erase.size(), erase) == 0);

  std::vector<std::string> quiet_args = args;
  quiet_args.push_back("--quiet");
  const Run quiet = run_on_terminal(dir, quiet_args).value();
  REQUIRE(quiet.code == 0);
  CHECK(quiet.err.empty());

  Run piped = run(dir, args);  // stderr is a file, not a terminal
  REQUIRE(piped.code == 0);
  CHECK(piped.err.empty());

  // The bar changes nothing else: the same table, whichever way stderr goes.
  CHECK(without_timings(bar.out) == without_timings(quiet.out));
  CHECK(without_timings(bar.out) == without_timings(piped.out));

  // Every redraw fits the terminal's width (TIOCGWINSZ), one column to spare: a wider line
  // wraps, and each redraw then leaves a line behind (as at 60 columns before).
  for (unsigned short columns : {20, 40, 60, 200}) {
    const Run narrow = run_on_terminal(dir, args, columns).value();
    REQUIRE(narrow.code == 0);
    INFO(columns << " columns: " << narrow.err);
    std::size_t draws = 0;
    for (std::size_t at = narrow.err.find(erase); at != std::string::npos;) {
      const std::size_t next = narrow.err.find(erase, at + erase.size());
      const std::size_t length =
          (next == std::string::npos ? narrow.err.size() : next) - at - erase.size();
      CHECK(length < columns);
      draws += length > 0;
      at = next;
    }
    CHECK(draws >= 2);
    CHECK(narrow.err.find("16/16") != std::string::npos);
  }
}

// --- Issue 13, kind F: nonsense is refused, never clamped ---

TEST_CASE("app: out-of-range and malformed values are usage errors naming the range",
          "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string u64_max = "18446744073709551615";
  const std::vector<Case> cases = {
      // CLI11 clamped these to the type's limit: training forever, a seed of 2^64-1.
      {{"--epochs", "18446744073709551616"},
       "--epochs must be an integer from 1 to 1000000 (got '18446744073709551616')"},
      {{"--seed", "-1"}, "--seed must be an integer from 0 to " + u64_max + " (got '-1')"},
      {{"--seed", "18446744073709551616"}, "--seed must be an integer from 0 to " + u64_max},
      // 0 batches and exit 0 before.
      {{"--batch-size", "9223372036854775807"},
       "--batch-size must be an integer from 1 to 1000000"},
      {{"--batch-size", "-32"}, "--batch-size must be an integer from 1 to 1000000 (got '-32')"},
      {{"--epochs", "2.5"}, "--epochs must be an integer from 1 to 1000000 (got '2.5')"},
      {{"--epochs", "1e3"}, "--epochs must be an integer"},
      {{"--epochs", " 3"}, "--epochs must be an integer"},
      {{"--threads", "0"}, "--threads must be an integer from 1 to 1024 (got '0')"},
      {{"--threads", "-1"}, "--threads must be an integer from 1 to 1024"},
      {{"--threads", "4294967297"}, "--threads must be an integer from 1 to 1024"},
      {{"--predict-count", "1001"}, "--predict-count must be an integer from 1 to 1000"},
      {{"--lr", "nan"}, "--lr must be a positive finite number (got nan)"},
      {{"--lr", "inf"}, "--lr must be a positive finite number (got inf)"},
      {{"--lr", "1e999"}, "--lr must be a positive finite number (got inf)"},
      {{"--lr", "0"}, "--lr must be a positive finite number (got 0)"},
      {{"--lr", "0x10"}, "--lr must be a number (got '0x10')"},
      {{"--momentum", "-0.5"}, "--momentum must be a number in [0, 1) (got -0.5)"},
      {{"--momentum", "1"}, "--momentum must be a number in [0, 1) (got 1)"},
      {{"--momentum", "nan"}, "--momentum must be a number in [0, 1)"},
      {{"--weight-decay", "-1e-4"}, "--weight-decay must be a finite number >= 0 (got -0.0001)"},
      {{"--weight-decay", "inf"}, "--weight-decay must be a finite number >= 0 (got inf)"},
      {{"--save", ""}, "--save needs a file name (got an empty one)"},
      {{"--metrics", ""}, "--metrics needs a file name"},
      {{"--data", ""}, "--data needs a folder name"},
      // --eval-only writes no checkpoint, metrics or curves: asking for them is a mistake.
      {{"--eval-only", "--load", "ck", "--save", "ck2"}, "excludes"},
      {{"--eval-only", "--load", "ck", "--metrics", "m.jsonl"}, "excludes"},
  };
  for (const Case& c : cases) {
    Run r = run(dir, small_run(dir, c.args));
    INFO(c.args[0] << " " << c.args[1] << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.out.empty());
  }
  // The limits themselves are accepted: seed 2^64-1 trains.
  Run top = run(dir, small_run(dir, {"--epochs", "1", "--seed", u64_max}));
  INFO(top.err);
  CHECK(top.code == 0);
  CHECK(top.out.find("seed " + u64_max) != std::string::npos);
}

TEST_CASE("app: an empty training or test set is refused naming the file", "[apps][hostile]") {
  TempDir dir;
  fs::create_directories(dir.path / "data");
  write_split(dir.path / "data", "train", 0, /*gz=*/true, 0);
  write_split(dir.path / "data", "t10k", 16, /*gz=*/false, 3);
  Run r = run(dir, small_run(dir, {"--epochs", "1"}));
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("MNIST: '" + dir.file("data/train-images-idx3-ubyte.gz") + "' holds 0 images") !=
        std::string::npos);

  write_split(dir.path / "data", "train", 64, /*gz=*/true, 0);
  write_split(dir.path / "data", "t10k", 0, /*gz=*/false, 3);
  r = run(dir, small_run(dir, {"--epochs", "1"}));
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("MNIST: '" + dir.file("data/t10k-images-idx3-ubyte") + "' holds 0 images") !=
        std::string::npos);
  CHECK(r.out.find("epoch") == std::string::npos);
}

TEST_CASE("app: a sidecar with impossible counters is refused", "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  // 512 images in batches of 32: 16 batches an epoch; SIGINT after batch 20 = batch 4 of epoch 2.
  Run cut = run(dir, small_run(dir, {"--epochs", "3", "--save", dir.file("ck")}),
                {{"EMBER_APP_SIGINT_AFTER_BATCHES", "20"}});
  REQUIRE(cut.code == 130);
  const std::string good = read_file(dir.file("ck.json"));
  REQUIRE(good.find("\"batches_done\":4") != std::string::npos);
  REQUIRE(good.find("\"seen\":128") != std::string::npos);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(dir.file("ck.json"), std::ios::binary | std::ios::trunc) << text;
  };
  struct Case {
    std::string from, to, message;
  };
  const std::vector<Case> cases = {
      {"\"batches_done\":4", "\"batches_done\":16",
       "batches_done 16 is beyond the epoch's 16 "
       "batches (512 images, batch size 32)"},
      {"\"batches_done\":4", "\"batches_done\":9000000000000000000", "is beyond the epoch's"},
      {"\"batches_done\":4", "\"batches_done\":-1", "impossible counters"},
      {"\"seen\":128", "\"seen\":130", "130 samples seen in 4 batches of 32 is impossible"},
      {"\"seen\":128", "\"seen\":1e2", "'seen' is not an integer"},
      {"\"epochs_done\":1", "\"epochs_done\":2", "epochs_done 2 disagrees with the history's 1"},
      {"\"epoch\":1", "\"epoch\":7", "history entry 1 is for epoch 7"},
      {"\"batch_size\":32", "\"batch_size\":0", "--batch-size must be an integer from 1"},
      {"\"lr\":0.5", "\"lr\":-0.5", "the checkpoint's settings are invalid: --lr must be"},
  };
  for (const Case& c : cases) {
    edited(c.from, c.to);
    Run r = run(dir, {"--resume", dir.file("ck"), "--quiet"});
    INFO(c.to << ": " << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.out.find("epoch  train loss") == std::string::npos);
  }
  { std::ofstream(dir.file("ck.json"), std::ios::binary | std::ios::trunc) << good; }
  Run ok = run(dir, {"--resume", dir.file("ck"), "--quiet"});
  INFO(ok.err);
  CHECK(ok.code == 0);
}

// --- Issue 13, kind E: the run is never lost ---

TEST_CASE("app: outputs that are the same file are refused before training", "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  std::ofstream(dir.file("existing.svg")) << "x";
  REQUIRE(::link(dir.file("existing.svg").c_str(), dir.file("hardlink.jsonl").c_str()) == 0);
  fs::create_symlink(dir.file("existing.svg"), dir.path / "symlink.svg");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--save", dir.file("ck"), "--metrics", dir.file("ck.json")},
       "--metrics " + dir.file("ck.json") + " and --save " + dir.file("ck") + " (its file " +
           dir.file("ck.json") + ") are the same file"},
      {{"--save", dir.file("p.svg"), "--plot", dir.file("p.svg")},
       "--plot " + dir.file("p.svg") + " and --save " + dir.file("p.svg") + " are the same file"},
      {{"--metrics", dir.file("out.svg"), "--plot", dir.path.string() + "/./out.svg"},
       "are the same file"},
      {{"--plot", dir.file("existing.svg"), "--metrics", dir.file("hardlink.jsonl")},
       "are the same file"},
      {{"--plot", dir.file("symlink.svg"), "--predict", dir.file("existing.svg")},
       "are the same file"},
      {{"--save", dir.file("ck"), "--metrics", dir.file("ck.optim.next")}, "are the same file"},
      {{"--metrics", dir.file("data/t10k-images-idx3-ubyte")},
       "--metrics " + dir.file("data/t10k-images-idx3-ubyte") + " and --data " + dir.file("data")},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = small_run(dir, c.args);
    args.insert(args.end(), {"--epochs", "1"});
    Run r = run(dir, args);
    INFO(c.args[1] << " " << c.args[3 % c.args.size()] << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.out.find("epoch  train loss") == std::string::npos);
  }
  CHECK(read_file(dir.file("existing.svg")) == "x");
  CHECK(!fs::exists(dir.path / "ck.json"));

  // --resume keeps saving to its own set: that is no collision.
  Run first = run(dir, small_run(dir, {"--epochs", "1", "--save", dir.file("ck")}));
  REQUIRE(first.code == 0);
  Run again =
      run(dir, {"--resume", dir.file("ck"), "--epochs", "2", "--save", dir.file("ck"), "--quiet"});
  INFO(again.err);
  CHECK(again.code == 0);
  Run clash = run(dir, {"--resume", dir.file("ck"), "--epochs", "3", "--metrics",
                        dir.file("ck.optim"), "--quiet"});
  CHECK(clash.code == 2);
  CHECK(clash.err.find("are the same file") != std::string::npos);
}

TEST_CASE("app: --seed 2^53+1 survives the checkpoint and the metrics as an integer",
          "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::string seed = "9007199254740993";  // 2^53 + 1: not a double
  Run whole = run(dir, small_run(dir, {"--epochs", "2", "--seed", seed}));
  REQUIRE(whole.code == 0);
  Run first = run(dir, small_run(dir, {"--epochs", "1", "--seed", seed, "--save", dir.file("ck"),
                                       "--metrics", dir.file("m.jsonl")}));
  REQUIRE(first.code == 0);
  CHECK(read_file(dir.file("ck.json")).find("\"seed\":" + seed + "}") != std::string::npos);
  CHECK(read_file(dir.file("m.jsonl")).find("\"seed\":" + seed + ",") != std::string::npos);
  // The seed comes back from the sidecar: same shuffles, same rows, and no "differs" refusal
  // when it is given again.
  Run rest = run(dir, {"--resume", dir.file("ck"), "--epochs", "2", "--seed", seed, "--quiet"});
  INFO(rest.err);
  REQUIRE(rest.code == 0);
  CHECK(rest.out.find("seed " + seed) != std::string::npos);
  auto a = table_rows(whole.out), b = table_rows(rest.out);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t c = 0; c < 4; ++c) CHECK(a[1][c] == b[1][c]);
}

TEST_CASE("app: SIGTERM finishes the batch, saves and exits 143", "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::vector<std::string> common = {"--epochs", "3", "--seed", "4", "--momentum", "0.5"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return small_run(dir, extra);
  };
  Run whole = run(dir, with({}));
  REQUIRE(whole.code == 0);
  Run cut = run(dir, with({"--save", dir.file("ck")}), {{"EMBER_APP_SIGTERM_AFTER_BATCHES", "21"}});
  INFO(cut.out << cut.err);
  REQUIRE(cut.code == 143);
  CHECK(cut.err.find("terminated: finishing this batch and saving") != std::string::npos);
  CHECK(cut.out.find("interrupted in epoch 2 after batch 5 of 16; saved") != std::string::npos);
  Run resumed = run(dir, {"--resume", dir.file("ck"), "--quiet"});
  INFO(resumed.err);
  REQUIRE(resumed.code == 0);
  require_same_table(whole.out, resumed.out, 3);
}

TEST_CASE("app: a crash or a full disk at any write or rename of a save loses nothing",
          "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::vector<std::string> common = {"--seed", "6", "--momentum", "0.9", "--threads", "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return small_run(dir, extra);
  };
  Run whole = run(dir, with({"--epochs", "3"}));
  REQUIRE(whole.code == 0);
  const auto expected = table_rows(whole.out);
  REQUIRE(expected.size() == 3);
  // A complete checkpoint after epoch 1, the starting point of every faulty run below.
  fs::create_directory(dir.path / "base");
  REQUIRE(run(dir, with({"--epochs", "1", "--save", dir.file("base/ck")})).code == 0);

  // Each run resumes to epoch 3, saving twice (and writing metrics), with a fault at its N-th
  // step of writing files (a write stage, rename or removal); N grows until no step is left.
  bool recovered_once = false;
  for (const std::string mode : {"crash", "enospc"}) {
    int steps = 0;
    for (int n = 1; n < 200; ++n) {
      const fs::path run_dir = dir.path / (mode + std::to_string(n));
      fs::create_directory(run_dir);
      for (const char* f : {"ck", "ck.optim", "ck.json"})
        fs::copy_file(dir.path / "base" / f, run_dir / f);
      const std::string ck = (run_dir / "ck").string();
      Run faulty = run(
          dir,
          {"--resume", ck, "--epochs", "3", "--quiet", "--metrics", (run_dir / "m.jsonl").string()},
          {{"EMBER_APP_FAULT", std::to_string(n) + ":" + mode}});
      INFO(mode << " at step " << n << ": " << faulty.err);
      if (faulty.code == 0) {
        steps = n - 1;
        break;
      }
      CHECK(faulty.code == (mode == std::string("crash") ? 128 + SIGKILL : 1));
      if (mode == std::string("enospc"))
        CHECK(faulty.err.find("No space left on device") != std::string::npos);
      // Whatever the step, --resume continues from the last complete epoch, exactly (to epoch 4:
      // a crash after the last save's commit point leaves nothing of the first 3 to train).
      Run resumed = run(dir, {"--resume", ck, "--epochs", "4", "--quiet"});
      INFO(resumed.err);
      REQUIRE(resumed.code == 0);
      recovered_once =
          recovered_once || resumed.err.find("completed the interrupted save") != std::string::npos;
      const auto rows = table_rows(resumed.out);
      REQUIRE(rows.size() == 4);
      for (std::size_t e = 0; e < 3; ++e)
        for (std::size_t c = 0; c < 4; ++c) CHECK(rows[e][c] == expected[e][c]);
      // The finished save leaves no .next file behind.
      for (const char* f : {"ck.next", "ck.optim.next", "ck.json.next"})
        CHECK(!fs::exists(run_dir / f));
      fs::remove_all(run_dir);
    }
    // Two saves of 3 files (4 stages each) and 3 renames, two metrics writes: 38 steps.
    CHECK(steps == 38);
  }
  CHECK(recovered_once);
}

// --- Issue 13, kind D, in the app: files keep their semantics ---

TEST_CASE("app: --save through a symbolic link keeps the link and the files' modes",
          "[apps][hostile]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  fs::create_directory(dir.path / "real");
  fs::create_symlink("real/ck", dir.path / "ck");
  Run first = run(dir, small_run(dir, {"--epochs", "1", "--save", dir.file("ck")}));
  INFO(first.err);
  REQUIRE(first.code == 0);
  CHECK(fs::is_symlink(dir.path / "ck"));
  for (const char* f : {"ck", "ck.optim", "ck.json"})
    CHECK(fs::is_regular_file(dir.path / "real" / f));
  for (const char* f : {"ck", "ck.optim", "ck.json"})
    REQUIRE(::chmod((dir.path / "real" / f).c_str(), 0600) == 0);
  Run rest = run(dir, {"--resume", dir.file("ck"), "--epochs", "2", "--quiet"});
  INFO(rest.err);
  REQUIRE(rest.code == 0);
  CHECK(fs::is_symlink(dir.path / "ck"));
  for (const char* f : {"ck", "ck.optim", "ck.json"}) {
    struct stat st {};
    REQUIRE(::stat((dir.path / "real" / f).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  CHECK(read_file(dir.file("real/ck.json")).find("\"epochs_done\":2") != std::string::npos);
}

// --- Issue 14: the pictures are valid XML at any length of run ---

TEST_CASE("app: the curves and the grid are valid SVG at 1, 27 and 200 epochs", "[apps][svg]") {
  if (!ember::test::available_or_skip(ember::test::have_command("xmllint"),
                                      "xmllint is not installed (apt-get install libxml2-utils)"))
    return;
  TempDir dir;
  write_dataset(dir.path / "data");
  // A fixed 512-byte formatting buffer cut the polylines short from 27 epochs on.
  for (const char* epochs : {"1", "27", "200"}) {
    const std::string curves = dir.file(std::string("curves") + epochs + ".svg");
    const std::string grid = dir.file(std::string("grid") + epochs + ".svg");
    // One batch an epoch, so 200 epochs take little time.
    Run r = run(dir, {"--dataset", "mnist", "--data", dir.file("data"), "--batch-size", "512",
                      "--quiet", "--epochs", epochs, "--plot", curves, "--predict", grid});
    INFO(epochs << " epochs: " << r.err);
    REQUIRE(r.code == 0);
    const std::string command = "xmllint --noout '" + curves + "' '" + grid + "'";
    CHECK(std::system(command.c_str()) == 0);
    const std::string svg = read_file(curves);
    CHECK(count(svg, "<polyline") == 3);
    // Every epoch is a point of every series.
    CHECK(count(svg, "<circle") == 3 * static_cast<std::size_t>(std::stoi(epochs)));
    CHECK(svg.ends_with("</svg>\n"));
  }
}

TEST_CASE("app: the kernels of every instruction set give the same figures within tolerance",
          "[apps][isa]") {
  // The app under EMBER_CPU=sse2, avx2 and avx512 (those this CPU has): per epoch, the losses
  // agree within the golden files' float32 tolerance (rtol 1e-5, atol 1e-6) and the accuracies
  // within one image. The paths differ only in rounding (FMA or not, and the order of the
  // partial sums that the vector width fixes), which three epochs do not grow past that.
  TempDir dir;
  write_dataset(dir.path / "data");
  // Every model: LeNet's convolutions, pools and sigmoids, BatchNorm and dropout have kernels
  // per instruction set too.
  for (const char* model : {"softmax", "mlp", "mlp-dropout", "lenet", "lenet-bn"}) {
    std::vector<std::pair<std::string, std::vector<std::map<std::string, double>>>> runs;
    for (const std::string isa : {"sse2", "avx2", "avx512"}) {
      const std::string metrics = dir.file(isa + ".jsonl");
      Run r = run(dir,
                  small_run(dir, {"--epochs", "3", "--model", model, "--seed", "3", "--threads",
                                  "2", "--metrics", metrics}),
                  {{"EMBER_CPU", isa}});
      // A CPU without the instruction set, or a -DEMBER_NATIVE=ON build (one set only).
      if (r.code != 0 && (r.err.find("does not support") != std::string::npos ||
                          r.err.find("this build of ember has no") != std::string::npos)) {
        WARN("not run: " << r.err);
        continue;
      }
      INFO(model << " EMBER_CPU=" << isa << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      std::vector<std::map<std::string, double>> epochs;
      for (const std::string& line : lines_of(read_file(metrics))) {
        std::map<std::string, double> numbers;
        std::map<std::string, std::string> strings;
        REQUIRE(json_object(line, numbers, strings));
        epochs.push_back(numbers);
      }
      REQUIRE(epochs.size() == 3);
      runs.emplace_back(isa, epochs);
    }
    REQUIRE(runs.size() >= 2);  // sse2 and avx2 run on any x86-64 CPU this suite targets
    const auto& [base_isa, base] = runs.front();
    for (const auto& [isa, epochs] : runs) {
      for (std::size_t e = 0; e < epochs.size(); ++e) {
        INFO(model << " epoch " << e + 1 << ": " << isa << " vs " << base_isa);
        const double loss = epochs[e].at("train_loss"), want = base[e].at("train_loss");
        INFO("train loss " << loss << " vs " << want);
        CHECK(std::fabs(loss - want) <= 1e-6 + 1e-5 * std::fabs(want));
        CHECK(std::fabs(epochs[e].at("train_acc") - base[e].at("train_acc")) <= 1.0 / 512 + 1e-9);
        CHECK(std::fabs(epochs[e].at("test_acc") - base[e].at("test_acc")) <= 1.0 / 128 + 1e-9);
      }
    }
  }
}

// --- The models of d2l's chapters 4 to 8 (issue 20) ---

TEST_CASE("app: every model trains a few steps with SGD and with Adam, at d2l's defaults",
          "[apps][models]") {
  // No --lr: each model's own d2l learning rate applies (Note [d2l's models and settings] in
  // apps/softmax_regression/model.cpp); --optimizer adam takes torch.optim.Adam's 0.001.
  TempDir dir;
  write_dataset(dir.path / "data");
  struct Model {
    const char* name;
    const char* layer;   // a line the printed network holds
    const char* sgd_lr;  // d2l's
  };
  for (const Model& m :
       {Model{"softmax", "Linear(in_features=784, out_features=10", "0.1"},
        Model{"mlp", "ReLU()", "0.1"}, Model{"mlp-dropout", "Dropout(p=0.5)", "0.5"},
        Model{"lenet", "Conv2d(1, 6, kernel_size=(5, 5)", "0.9"},
        Model{"lenet-bn", "BatchNorm2d(16", "1"}}) {
    for (const std::string optimizer : {"sgd", "adam"}) {
      const std::string metrics = dir.file(std::string(m.name) + "-" + optimizer + ".jsonl");
      Run r = run(dir, {"--dataset", "mnist", "--data", dir.file("data"), "--quiet", "--model",
                        m.name, "--optimizer", optimizer, "--batch-size", "32", "--epochs", "2",
                        "--threads", "2", "--metrics", metrics});
      INFO(m.name << " " << optimizer << ": " << r.out << r.err);
      REQUIRE(r.code == 0);
      CHECK(r.out.find(m.layer) != std::string::npos);
      CHECK(r.out.find(optimizer == "adam" ? std::string("Adam lr 0.001 betas (0.9, 0.999)")
                                           : "SGD lr " + std::string(m.sgd_lr) + " momentum 0") !=
            std::string::npos);
      auto rows = table_rows(r.out);
      REQUIRE(rows.size() == 2);
      for (const auto& row : rows) {
        CHECK(std::isfinite(std::stod(row[1])));
        for (int c : {2, 3}) CHECK((std::stod(row[c]) >= 0.0 && std::stod(row[c]) <= 1.0));
      }
      const auto lines = lines_of(read_file(metrics));
      REQUIRE(lines.size() == 2);
      const nlohmann::json record = nlohmann::json::parse(lines[1]);
      CHECK(record.at("model") == m.name);
      CHECK(record.at("optimizer") == optimizer);
      CHECK(record.at("epochs") == 2);
    }
  }
  SECTION("ember-train is the same program under its general name") {
    const std::string train = (fs::path(app_path()).parent_path() / "ember-train").string();
    REQUIRE(fs::is_symlink(train));
    Run version = run_program(train, dir, {"--version"});
    CHECK(version.out.starts_with("ember-train "));
    Run r = run_program(train, dir, small_run(dir, {"--epochs", "1", "--model", "lenet"}));
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.starts_with("ember-train: mnist from "));
  }
  SECTION("--momentum is SGD's: refused with Adam") {
    Run r = run(dir, small_run(dir, {"--optimizer", "adam", "--momentum", "0.9"}));
    CHECK(r.code == 2);
    CHECK(r.err.find("--momentum is SGD's") != std::string::npos);
  }
  SECTION("an unknown model is a usage error listing the models") {
    Run r = run(dir, small_run(dir, {"--model", "resnet"}));
    CHECK(r.code == 2);
    CHECK(r.err.find("lenet-bn") != std::string::npos);
  }
}

// The weights and optimizer files of two checkpoint sets are the same bytes.
void check_same_checkpoint(const fs::path& a, const fs::path& b) {
  for (const char* ext : {"", ".optim"}) {
    INFO(a.string() + ext << " vs " << b.string() + ext);
    CHECK(read_file(a.string() + ext) == read_file(b.string() + ext));
  }
}

TEST_CASE("app: lenet-bn with Adam and mlp-dropout resume bitwise, mid-epoch and at an epoch's end",
          "[apps][models][resume]") {
  // BatchNorm's running statistics (buffers) and Adam's moments and step counts are in the
  // checkpoint; dropout's masks are reseeded per batch (Note [Dropout seeds] in app.cpp). So the
  // resumed run ends with the same bytes in its weights and optimizer files as the whole run.
  TempDir dir;
  write_dataset(dir.path / "data");
  for (const std::vector<std::string>& model :
       {std::vector<std::string>{"--model", "lenet-bn", "--optimizer", "adam", "--lr", "0.01"},
        std::vector<std::string>{"--model", "mlp-dropout", "--momentum", "0.9"}}) {
    auto with = [&](std::vector<std::string> extra, const char* epochs = "3") {
      extra.insert(extra.end(), model.begin(), model.end());
      for (const char* a :
           {"--epochs", epochs, "--batch-size", "32", "--seed", "5", "--threads", "2"})
        extra.push_back(a);
      return small_run(dir, extra);
    };
    INFO(model[1]);
    Run whole = run(dir, with({"--save", dir.file("whole")}));
    REQUIRE(whole.code == 0);
    // 16 batches an epoch: SIGINT after batch 21 is batch 5 of epoch 2.
    Run cut =
        run(dir, with({"--save", dir.file("cut")}), {{"EMBER_APP_SIGINT_AFTER_BATCHES", "21"}});
    INFO(cut.out << cut.err);
    REQUIRE(cut.code == 130);
    Run resumed = run(dir, {"--resume", dir.file("cut"), "--quiet", "--threads", "1"});
    INFO(resumed.out << resumed.err);
    REQUIRE(resumed.code == 0);
    require_same_table(whole.out, resumed.out, 3);
    check_same_checkpoint(dir.path / "whole", dir.path / "cut");
    // At an epoch's end: 2 epochs, then on to 3.
    Run first = run(dir, with({"--save", dir.file("two")}, "2"));
    REQUIRE(first.code == 0);
    Run more = run(dir, {"--resume", dir.file("two"), "--epochs", "3", "--quiet"});
    REQUIRE(more.code == 0);
    check_same_checkpoint(dir.path / "whole", dir.path / "two");
  }
}

// --- Weights to and from PyTorch (issue 21) ---

namespace {

// The last record of a --metrics file.
nlohmann::json last_metrics(const std::string& path) {
  const auto lines = lines_of(read_file(path));
  REQUIRE(!lines.empty());
  return nlohmann::json::parse(lines.back());
}

}  // namespace

TEST_CASE("app: --init-from PyTorch's weights gives PyTorch's first epoch within 1e-5",
          "[apps][interop]") {
  // tests/data/interop/: three of the app's models made and trained by PyTorch 1.13
  // (tests/interop/torch_interop.py fixtures): weights (the MLP's and LeNet's in F16, with
  // BatchNorm's buffers) and PyTorch's figures from them over the same batches (ember's shuffle,
  // seed 0, batch 256, lr 0.1).
  const std::string fixtures = EMBER_TEST_DATA_DIR "/interop";
  const std::string data = EMBER_TEST_DATA_DIR "/fashion-mnist-small";
  const nlohmann::json expected =
      nlohmann::json::parse(read_file(fixtures + "/expected.json"))["models"];
  for (const std::string model : {"softmax", "mlp", "lenet-bn"}) {
    INFO(model);
    TempDir dir;
    const std::string weights = fixtures + "/" + model + ".safetensors";
    const nlohmann::json& torch = expected[model];
    Run r = run(dir, {"--data", data, "--model", model, "--epochs", "1", "--batch-size", "256",
                      "--lr", "0.1", "--seed", "0", "--quiet", "--metrics", dir.file("m.jsonl"),
                      "--init-from", weights});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const nlohmann::json row = last_metrics(dir.file("m.jsonl"));
    for (const char* key : {"train_loss", "train_acc", "test_acc"}) {
      INFO(key);
      CHECK(std::abs(row[key].get<double>() - torch[key].get<double>()) <= 1e-5);
    }
    // --eval-only: the test accuracy of the weights as PyTorch made them.
    Run e = run(
        dir, {"--data", data, "--model", model, "--quiet", "--eval-only", "--init-from", weights});
    INFO(e.out << e.err);
    REQUIRE(e.code == 0);
    char line[64];
    std::snprintf(line, sizeof line, "test acc %.4f (", torch["initial_test_acc"].get<double>());
    CHECK_THAT(e.out, Catch::Matchers::Contains(line));
  }
}

TEST_CASE("app: --seed S alone gives PyTorch's first epoch from torch.manual_seed(S)",
          "[apps][interop]") {
  // Note [PyTorch's draws]: from the same seed the app draws PyTorch's initial weights (the
  // layers' default init in order, then xavier_uniform_) and its batch orders (torch.randperm),
  // so LeNet's and LeNet-BN's first epochs are PyTorch's (tests/interop/torch_interop.py's
  // SEEDED, in tests/data/interop/expected.json), within 1e-5.
  const std::string data = EMBER_TEST_DATA_DIR "/fashion-mnist-small";
  const nlohmann::json seeded =
      nlohmann::json::parse(read_file(EMBER_TEST_DATA_DIR "/interop/expected.json"))["seeded"];
  REQUIRE(seeded.size() == 2);
  for (const auto& [model, torch] : seeded.items()) {
    INFO(model);
    TempDir dir;
    Run r = run(dir, {"--data", data, "--model", model, "--epochs", "1", "--batch-size", "256",
                      "--lr", "0.1", "--seed", std::to_string(torch["seed"].get<int>()), "--quiet",
                      "--metrics", dir.file("m.jsonl")});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    const nlohmann::json row = last_metrics(dir.file("m.jsonl"));
    for (const char* key : {"train_loss", "train_acc", "test_acc"}) {
      INFO(key);
      CHECK(std::abs(row[key].get<double>() - torch[key].get<double>()) <= 1e-5);
    }
  }
}

TEST_CASE("app: --export writes the trained weights, --init-from checks them against the model",
          "[apps][interop]") {
  TempDir dir;
  write_dataset(dir.path / "data");
  const std::string weights = dir.file("w.safetensors");
  Run r =
      run(dir,
          small_run(dir, {"--epochs", "2", "--export", weights, "--metrics", dir.file("m.jsonl")}));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Matchers::Contains("wrote " + weights));

  // PyTorch's names for Sequential(Flatten(), Linear(784, 10)), and the run's settings.
  const ember::StateDict dict = ember::load_safetensors(weights);
  CHECK(dict.keys() == std::vector<std::string>{"1.weight", "1.bias"});
  CHECK(dict["1.weight"].sizes() == ember::Shape{10, 784});
  const auto metadata = ember::load_safetensors_metadata(weights);
  CHECK(metadata.at("format") == "pt");
  CHECK(metadata.at("model") == "softmax");

  // The exported weights evaluate to the run's last test accuracy.
  Run e = run(dir, small_run(dir, {"--eval-only", "--init-from", weights}));
  INFO(e.out << e.err);
  REQUIRE(e.code == 0);
  char line[64];
  std::snprintf(line, sizeof line, "test acc %.4f (",
                last_metrics(dir.file("m.jsonl"))["test_acc"].get<double>());
  CHECK_THAT(e.out, Catch::Matchers::Contains(line));

  // ... and train further from there.
  Run t = run(dir, small_run(dir, {"--epochs", "1", "--init-from", weights}));
  CHECK(t.code == 0);

  // Into another model: PyTorch's load_state_dict message, exit 1, nothing trained.
  Run m = run(dir, small_run(dir, {"--model", "mlp", "--init-from", weights}));
  CHECK(m.code == 1);
  CHECK_THAT(m.err,
             Catch::Matchers::Contains(
                 "error: Error(s) in loading state_dict for Sequential:\n"
                 "\tMissing key(s) in state_dict: \"3.weight\", \"3.bias\". \n"
                 "\tsize mismatch for 1.weight: copying a param with shape [10, 784] from "
                 "checkpoint, the shape in current model is [256, 784].\n"
                 "\tsize mismatch for 1.bias: copying a param with shape [10] from checkpoint, the "
                 "shape in current model is [256].\nhint: --init-from takes a safetensors file"));
  CHECK(table_rows(m.out).empty());

  // Not a safetensors file (an ember checkpoint): the loader's error and the hint to use --load.
  Run s = run(dir, small_run(dir, {"--epochs", "1", "--save", dir.file("ck")}));
  REQUIRE(s.code == 0);
  Run c = run(dir, small_run(dir, {"--init-from", dir.file("ck")}));
  CHECK(c.code == 1);
  CHECK_THAT(c.err, Catch::Matchers::Contains("error: load_safetensors: '" + dir.file("ck") +
                                              "': the header length"));
  CHECK_THAT(c.err, Catch::Matchers::Contains("goes to --load"));

  // --eval-only --load CHECKPOINT --export: an ember checkpoint converted to safetensors.
  Run converted = run(dir, small_run(dir, {"--eval-only", "--load", dir.file("ck"), "--export",
                                           dir.file("ck.safetensors")}));
  CHECK(converted.code == 0);
  CHECK(ember::load_safetensors(dir.file("ck.safetensors")).keys() ==
        std::vector<std::string>{"1.weight", "1.bias"});

  // Usage errors: a name without .safetensors, --init-from with --load, an empty path.
  CHECK(run(dir, small_run(dir, {"--export", dir.file("w.bin")})).code == 2);
  CHECK(run(dir, small_run(dir, {"--init-from", weights, "--load", dir.file("ck")})).code == 2);
  CHECK(run(dir, small_run(dir, {"--init-from", ""})).code == 2);
  // An output over the --init-from input is refused before training.
  Run same = run(dir, small_run(dir, {"--init-from", weights, "--export", weights}));
  CHECK(same.code == 2);
  CHECK_THAT(same.err, Catch::Matchers::Contains("are the same file"));
}
