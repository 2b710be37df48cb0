// --distributed: data-parallel training under mpirun (ember::distributed), behind a narrow hook so
// the rest of the app reads as the single-process program it is. Every function here is a
// pass-through in a single process; mpi_training.cpp implements them with MPI, and
// mpi_training_off.cpp (built when ember has no MPI) refuses --distributed.
//
// Under `mpirun -np N ember-softmax-regression --distributed ...`:
//   - rank 0's initial weights are broadcast, and gradients are averaged over the ranks during
//     backward (DistributedDataParallel), so the ranks stay identical;
//   - each rank trains on its shard of the same shuffled epoch (DistributedSampler) in batches of
//     --batch-size / N, so each step covers the single-process batch of --batch-size;
//   - evaluation is sharded too; counts, confusion matrix and predictions are combined, so every
//     rank computes the global figures;
//   - rank 0 alone prints, plots, writes metrics and saves checkpoints (other ranks' stdout is
//     muted and their output paths cleared);
//   - Ctrl-C is not caught (mpirun ends the job; the last epoch's checkpoint stays valid).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ember/datasets/dataloader.h>
#include <ember/nn/module.h>

#include "app.h"

namespace app::mpi {

// Starts MPI (main, before run()). Throws UsageError when ember was built without MPI.
void init(int* argc, char*** argv);
bool enabled();
bool is_root();  // rank 0, or the single process
int rank();      // this process's rank (0 in a single process)
// Runs the app. Under --distributed it then ends MPI; if body throws, it prints the error as main
// does ("error: ...", with the rank) and ends the whole job with MPI_Abort (exit code 2 for a usage
// error, else 1): the other ranks would otherwise wait for this one forever. In a single process
// it only calls body.
int run_guarded(const std::function<int()>& body);

// On ranks other than 0: clears the output paths and mutes stdout. Call after the settings are
// final (after --resume merged them).
void mute_outputs(Settings& s);
// Broadcasts rank 0's weights and averages gradients from now on (call after loading weights).
void wrap(ember::nn::Module& net);
// Averages the float buffers (BatchNorm's running_mean and running_var) over the ranks, so that
// every rank evaluates, and rank 0 saves, the same statistics. Each rank's running statistics
// follow its own shard's batches (the gradients alone are shared, as PyTorch's DDP without
// SyncBatchNorm); their update is linear in the batch statistics, so averaging them now equals
// averaging at every step. int64 buffers (num_batches_tracked) agree on every rank already.
void average_buffers(ember::nn::Module& net);
// The training loader: as given in a single process; under --distributed this rank's shard of
// the same shuffled epochs (a new one at each begin(), like the single-process loader), batch
// options.batch_size / N. Throws UsageError if N does not divide the batch size.
ember::datasets::DataLoader train_loader(const ember::datasets::ImageDataset& data,
                                         ember::datasets::DataLoaderOptions options);
// The evaluation loader: the whole set in order, or this rank's shard of it (every sample once).
ember::datasets::DataLoader test_loader(const ember::datasets::ImageDataset& data,
                                        std::int64_t batch_size);
// Sums over the ranks (identity in a single process).
double sum(double value);
std::int64_t sum(std::int64_t value);
void sum(std::vector<std::vector<std::int64_t>>& counts);
// Per-sample values of test_loader's shards back in dataset order (n samples in all).
std::vector<std::int64_t> gather_in_order(const std::vector<std::int64_t>& shard, std::int64_t n);

}  // namespace app::mpi
