#include "report.h"

#include "format.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace app {

namespace {

std::string human_rate(double per_second) {
  if (per_second >= 1e6) return format("%.1fM", per_second / 1e6);
  if (per_second >= 1e4) return format("%.1fk", per_second / 1e3);
  return format("%.0f", per_second);
}

}  // namespace

std::string table_header() {
  return format("%5s  %10s  %9s  %8s  %8s  %9s", "epoch", "train loss", "train acc", "test acc",
                "seconds", "samples/s");
}

std::string table_row(const EpochMetrics& m) {
  return format("%5lld  %10.4f  %9.4f  %8.4f  %8.2f  %9.0f", static_cast<long long>(m.epoch),
                m.train_loss, m.train_acc, m.test_acc, m.seconds, m.samples_per_sec);
}

ProgressBar::ProgressBar(bool enabled, std::int64_t epoch, std::int64_t epochs,
                         std::int64_t batches, std::int64_t first_batch)
    : enabled_(enabled),
      epoch_(epoch),
      epochs_(epochs),
      batches_(batches),
      first_batch_(first_batch),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

namespace {

// The terminal's width in columns (stderr's), 80 when it cannot be known.
std::size_t terminal_columns() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) return size.ws_col;
  return 80;
}

}  // namespace

void ProgressBar::update(std::int64_t done, std::int64_t samples) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  // The line must fit the terminal, as wide as it is now: a line as wide as the terminal or
  // wider wraps, and then every redraw leaves a line behind. So the bar takes what the text
  // leaves of the width (10 to 30 cells); on a narrow terminal the rate and ETA go first, then
  // the bar, and what still does not fit is cut.
  const std::size_t columns = terminal_columns() - 1;  // the last column would wrap too
  const std::string counts = format("] %lld/%lld", (long long)done, (long long)batches_);
  const std::string head = format("epoch %lld/%lld [", (long long)epoch_, (long long)epochs_);
  std::string rate;
  if (elapsed > 0.0 && done > first_batch_) {
    double eta =
        elapsed / static_cast<double>(done - first_batch_) * static_cast<double>(batches_ - done);
    rate = "  " + human_rate(static_cast<double>(samples) / elapsed) + " samples/s" +
           format("  ETA %.1fs", eta);
  }
  constexpr std::size_t kMinBar = 10, kMaxBar = 30;
  if (head.size() + kMinBar + counts.size() + rate.size() > columns) rate.clear();
  std::string line;
  if (head.size() + kMinBar + counts.size() <= columns) {
    const std::size_t width =
        std::min(kMaxBar, columns - head.size() - counts.size() - rate.size());
    const auto filled =
        static_cast<std::size_t>(batches_ > 0 ? static_cast<std::int64_t>(width) * done / batches_
                                              : static_cast<std::int64_t>(width));
    std::string bar(std::min(filled, width), '=');
    if (bar.size() < width) bar += '>';
    bar.resize(width, ' ');
    line = head + bar + counts + rate;
  } else {
    line = format("epoch %lld/%lld %lld/%lld", (long long)epoch_, (long long)epochs_,
                  (long long)done, (long long)batches_);
    line.resize(std::min(line.size(), columns));
  }
  line = "\r\033[2K" + line;
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  static const char erase[] = "\r\033[2K";
  ssize_t ignored = write(STDERR_FILENO, erase, sizeof erase - 1);
  (void)ignored;
  drawn_ = false;
}

void print_per_class(std::ostream& out, const Confusion& confusion,
                     const std::vector<std::string>& names) {
  out << "\nper-class test accuracy\n";
  out << format("%-12s  %8s  %15s\n", "class", "accuracy", "correct / total");
  std::int64_t all_correct = 0, all_total = 0;
  for (std::size_t t = 0; t < confusion.size(); ++t) {
    std::int64_t total = 0;
    for (std::int64_t n : confusion[t]) total += n;
    std::int64_t correct = confusion[t][t];
    all_correct += correct;
    all_total += total;
    double acc = total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
    out << format("%-12s  %8.4f  %7lld / %5lld\n", names[t].c_str(), acc, (long long)correct,
                  (long long)total);
  }
  double acc =
      all_total > 0 ? static_cast<double>(all_correct) / static_cast<double>(all_total) : 0.0;
  out << format("%-12s  %8.4f  %7lld / %5lld\n", "all", acc, (long long)all_correct,
                (long long)all_total);
}

void print_confusion(std::ostream& out, const Confusion& confusion,
                     const std::vector<std::string>& names) {
  const std::size_t k = confusion.size();
  out << "\nconfusion matrix (rows: true class, columns: predicted class)\n";
  std::string header = format("%-14s", "");
  for (std::size_t p = 0; p < k; ++p) header += format(" %5zu", p);
  out << header << "\n";
  for (std::size_t t = 0; t < k; ++t) {
    std::string row = format("%2zu %-11.11s", t, names[t].c_str());
    for (std::size_t p = 0; p < k; ++p) row += format(" %5lld", (long long)confusion[t][p]);
    out << row << "\n";
  }
  // The largest off-diagonal cells: which classes the model mixes up.
  std::vector<std::tuple<std::int64_t, std::size_t, std::size_t>> mistakes;
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p)
      if (t != p && confusion[t][p] > 0) mistakes.emplace_back(confusion[t][p], t, p);
  // Sorted by count, then by (true, predicted) so ties print the same way every run.
  std::sort(mistakes.begin(), mistakes.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    return std::make_pair(std::get<1>(a), std::get<2>(a)) <
           std::make_pair(std::get<1>(b), std::get<2>(b));
  });
  if (mistakes.empty()) return;
  out << "most confused (true -> predicted):";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, mistakes.size()); ++i) {
    auto [n, t, p] = mistakes[i];
    out << (i ? ", " : " ") << names[t] << " -> " << names[p] << " " << n;
  }
  out << "\n";
}

}  // namespace app
