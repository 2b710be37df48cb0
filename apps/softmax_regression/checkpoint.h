// The app's checkpoint: a set of three files that is saved and restored as a whole.
//
// Note [Checkpoint set]
// --save PATH keeps three files:
//   PATH        the model's parameters           ember::save(module) (so ember::load reads it)
//   PATH.optim  the optimizer's state             ember::save(sgd) or ember::save(adam): SGD's
//               momentum buffers, or Adam's step counts and moments
//   PATH.json   the sidecar: format version, the settings that shape the run, epochs done, the
//               batch reached in an interrupted epoch with its running sums, every finished
//               epoch's figures, and the CRC-32 of the two binary files (their last 4 bytes).
// Each file alone is replaced atomically (ember::write_file_atomically), but three renames are
// not one, so a save is a small redo log:
//   1. remove a stale PATH.json.next;
//   2. write the new set as PATH.optim.next, PATH.next and, last, PATH.json.next: the commit
//      point (it names the CRCs of the other two);
//   3. rename PATH.next -> PATH, PATH.optim.next -> PATH.optim, PATH.json.next -> PATH.json
//      and fsync the folder.
// Each .next file is first created empty with the mode of the file it will replace, so a 0600
// checkpoint stays 0600 (an empty PATH.json.next is therefore no commit point).
// A crash or error before PATH.json.next has content leaves the previous set untouched. After it,
// the new set is complete and recover() (run by --resume before reading) finishes step 3. So
// --resume always finds the last complete save. A symbolic link PATH is followed: the set lives
// next to the link's target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "app.h"
#include "json.h"
#include "model.h"

namespace app {

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

// One epoch's figures as a JSON object (the sidecar's history and --metrics lines).
json::Json metrics_json(const EpochMetrics& m);

// The files of the set saved at PATH (Note [Checkpoint set]), PATH's symbolic links followed.
struct CheckpointFiles {
  std::string weights, optimizer, sidecar;                 // PATH, PATH.optim, PATH.json
  std::string next_weights, next_optimizer, next_sidecar;  // the same + ".next"
  std::vector<std::string> all() const {
    return {weights, optimizer, sidecar, next_weights, next_optimizer, next_sidecar};
  }
};
CheckpointFiles checkpoint_files(const std::string& path);

// What a sidecar holds.
struct Sidecar {
  json::Json settings;
  Progress progress;
  std::uint32_t weights_crc = 0, optimizer_crc = 0;
};

// Saves the set (steps 1-3 above). `settings` is the JSON object of the run's settings.
// Throws RuntimeError naming the file that could not be written.
void save_checkpoint(const std::string& path, const ember::nn::Module& net,
                     const Optimizer& optimizer, const json::Json& settings,
                     const Progress& progress);

// Finishes a save interrupted after its commit point (step 3), if there is one. Returns whether
// it did. Throws RuntimeError when a rename fails.
bool recover_checkpoint(const std::string& path);

// Reads and checks PATH.json (the counters' consistency included); throws RuntimeError naming
// the file and what is wrong.
Sidecar read_sidecar(const std::string& path);

// Checks that PATH and PATH.optim are the ones the sidecar names (their CRCs), then loads them.
void load_checkpoint(const std::string& path, const Sidecar& sidecar, ember::nn::Module& net,
                     Optimizer& optimizer);

// Test seam: EMBER_APP_FAULT=N:crash or N:enospc makes the N-th step of writing files (each
// stage of each ember::write_file_atomically, each rename and removal of a checkpoint save) crash
// the process (SIGKILL) or fail as a full disk would. Installed by main when the variable is set.
void install_fault_injection(const std::string& spec);
// One step of writing files, counted for the seam above.
void fault_point(const std::string& what);

}  // namespace app
