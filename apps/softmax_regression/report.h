// What the app prints: the epoch table, the progress bar, and the closing per-class and
// confusion tables.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "app.h"

namespace app {

// The table's header line, and one aligned row per epoch. The last two columns (seconds,
// samples/s) are the only ones that vary between identical runs.
std::string table_header();
std::string table_row(const EpochMetrics& m);

// A one-line bar on stderr, redrawn in place at most ten times a second:
//   epoch 3/10 [=========>          ] 118/235  25.1k samples/s  ETA 1.2s
// The line fits the terminal's width (TIOCGWINSZ, read at every redraw): the bar shrinks, then
// the rate and ETA go. Draws nothing unless enabled (stderr is a terminal and --quiet is off).
// clear() erases it before a table row is printed.
class ProgressBar {
 public:
  // first_batch: batches of this epoch done before (a resumed epoch); rates count only the rest.
  ProgressBar(bool enabled, std::int64_t epoch, std::int64_t epochs, std::int64_t batches,
              std::int64_t first_batch = 0);
  ~ProgressBar() { clear(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // batches_done counts from the epoch's start; samples_done only those since construction.
  void update(std::int64_t batches_done, std::int64_t samples_done);
  void clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::int64_t epoch_, epochs_, batches_, first_batch_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// confusion[t][p]: test samples of true class t predicted as p.
using Confusion = std::vector<std::vector<std::int64_t>>;

// Per-class accuracy: one row per class with its name, accuracy and counts.
void print_per_class(std::ostream& out, const Confusion& confusion,
                     const std::vector<std::string>& class_names);
// The confusion matrix (rows true, columns predicted) and the most confused pairs.
void print_confusion(std::ostream& out, const Confusion& confusion,
                     const std::vector<std::string>& class_names);

}  // namespace app
