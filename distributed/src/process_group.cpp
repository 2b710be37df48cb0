// The process group: MPI set-up, error translation, the watchdog, and the collectives.
#include <ember/distributed/process_group.h>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "comm.h"

namespace ember::distributed {

namespace {

struct Group {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm gather_comm = MPI_COMM_NULL;  // Note [Deterministic all-reduce], step 4
  int rank = 0;
  int size = 1;
  double timeout = 300.0;
  bool started_mpi = false;  // init() called MPI_Init, so finalize() calls MPI_Finalize
  bool broken = false;       // a collective failed or timed out
};

Group& group() {
  static Group g;
  return g;
}

MPI_Datatype mpi_type(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), detail::where(op), ": the tensor is undefined");
  EMBER_CHECK(t.dtype() == kFloat32 || t.dtype() == kInt64, detail::where(op),
              ": supports float32 and int64 tensors, got ", t.dtype());
  EMBER_CHECK(t.is_contiguous(), detail::where(op), ": needs a contiguous tensor, got shape ",
              to_string(t.sizes()), " with strides ", to_string(t.strides()),
              " (call .contiguous() first)");
  EMBER_CHECK(t.numel() <= INT_MAX, detail::where(op), ": ", t.numel(),
              " elements is more than MPI's int count allows (", INT_MAX, ")");
  return t.dtype() == kFloat32 ? MPI_FLOAT : MPI_INT64_T;
}

// The first element of a float32 or int64 tensor (mpi_type checked which), for MPI to read.
const void* raw(const Tensor& t) {
  if (t.dtype() == kFloat32) return t.data_ptr<float>();
  return t.data_ptr<std::int64_t>();
}

// Every rank must pass the same dtype and shape: the ranks exchange (dtype, rank, dims) and all
// of them throw, with the same message, if any differs from rank 0's.
void check_same_tensor(const Tensor& t, const char* op) {
  constexpr int kMaxDims = 8;
  constexpr int kWords = kMaxDims + 2;
  std::int64_t mine[kWords] = {};
  mine[0] = static_cast<std::int64_t>(t.dtype());
  mine[1] = t.dim();
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    // Dims past the eighth are folded into the eighth: a mismatch still shows.
    if (d < kMaxDims)
      mine[2 + d] = t.size(d);
    else
      mine[2 + kMaxDims - 1] *= t.size(d);
  }
  const int n = world_size();
  std::vector<std::int64_t> all(static_cast<std::size_t>(n * kWords));
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check_mpi(MPI_Iallgather(mine, kWords, MPI_INT64_T, all.data(), kWords, MPI_INT64_T,
                                   detail::comm(op), &request),
                    op);
  detail::wait(request, op);
  auto describe = [&](int r) {
    const std::int64_t* w = all.data() + r * kWords;
    Shape shape;
    for (std::int64_t d = 0; d < std::min<std::int64_t>(w[1], kMaxDims); ++d)
      shape.push_back(w[2 + d]);
    std::ostringstream out;
    out << "rank " << r << " has " << static_cast<Dtype>(w[0]) << " " << to_string(shape);
    return out.str();
  };
  for (int r = 1; r < n; ++r) {
    const bool same = std::equal(all.begin(), all.begin() + kWords, all.begin() + r * kWords);
    EMBER_CHECK(same, detail::where(op), ": the ranks passed different tensors: ", describe(0),
                ", ", describe(r), "; every rank must pass the same dtype and shape");
  }
}

}  // namespace

namespace detail {

MPI_Comm comm(const char* op) {
  EMBER_CHECK(group().comm != MPI_COMM_NULL, "ember::distributed::", op,
              ": the process group is not initialized; call ember::distributed::init() first");
  return group().comm;
}

MPI_Comm gather_comm() {
  return group().gather_comm;
}

std::string where(const char* op) {
  return ember::detail::concat(op, " (rank ", group().rank, " of ", group().size, ")");
}

void mark_broken() {
  group().broken = true;
}

std::string mpi_error_message(int code, const char* op) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  int error_class = code;
  std::string name = "unknown";
  if (MPI_Error_class(code, &error_class) == MPI_SUCCESS &&
      MPI_Error_string(error_class, text, &length) == MPI_SUCCESS)
    name = std::string(text, static_cast<std::size_t>(length));
  length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  const std::string detail = std::string(text, static_cast<std::size_t>(length));
  return ember::detail::concat(where(op), ": MPI error ", code, ": ", name,
                               length > 0 && detail != name ? ": " + detail : std::string());
}

void throw_mpi_error(int code, const char* op) {
  mark_broken();
  ember::detail::throw_error(mpi_error_message(code, op));
}

bool test(MPI_Request& request, const char* op) {
  int done = 0;
  check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), op);
  return done != 0;
}

void wait(MPI_Request& request, const char* op) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (std::uint64_t spins = 0;; ++spins) {
    if (test(request, op)) return;
    // Polling keeps MPI progressing; after a short spin, give the core to the other ranks (on an
    // oversubscribed machine the rank we wait for may need it).
    if (spins > 64) sched_yield();
    if ((spins & 1023) == 1023) {
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (waited > group().timeout) {
        mark_broken();
        ember::detail::throw_error(ember::detail::concat(
            where(op), ": timed out after ", waited,
            " s waiting for the other ranks (a rank died, hangs, or did not call ", op,
            "); raise the limit with EMBER_DISTRIBUTED_TIMEOUT=seconds"));
      }
    }
  }
}

OrderedAllReduce::~OrderedAllReduce() {
  // Destroyed mid-flight only when an exception ended the step: MPI may still write into our
  // buffers, so the group can no longer be trusted (finalize() aborts the job).
  if (active()) mark_broken();
}

void OrderedAllReduce::start(float* data, std::int64_t count, bool mean, const char* op) {
  EMBER_CHECK(!active(), where(op), ": a reduction is already in flight on this buffer");
  EMBER_CHECK(count <= INT_MAX, where(op), ": ", count, " elements is more than MPI allows");
  const int n = world_size();
  const int me = rank();
  data_ = data;
  mean_ = mean;
  op_ = op;
  counts_.resize(static_cast<std::size_t>(n));
  displs_.resize(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    const std::int64_t begin = count * j / n, end = count * (j + 1) / n;
    displs_[static_cast<std::size_t>(j)] = static_cast<int>(begin);
    counts_[static_cast<std::size_t>(j)] = static_cast<int>(end - begin);
  }
  const int mine = counts_[static_cast<std::size_t>(me)];
  recv_counts_.assign(static_cast<std::size_t>(n), mine);
  recv_displs_.resize(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) recv_displs_[static_cast<std::size_t>(j)] = j * mine;
  scratch_.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(mine));
  phase_ = Phase::Scatter;
  check_mpi(
      MPI_Ialltoallv(data, counts_.data(), displs_.data(), MPI_FLOAT, scratch_.data(),
                     recv_counts_.data(), recv_displs_.data(), MPI_FLOAT, comm(op), &request_),
      op);
}

void OrderedAllReduce::reduce_and_gather() {
  const int n = world_size();
  const auto mine = static_cast<std::size_t>(counts_[static_cast<std::size_t>(rank())]);
  float* out = data_ + displs_[static_cast<std::size_t>(rank())];
  const float* x = scratch_.data();
  for (std::size_t k = 0; k < mine; ++k) out[k] = x[k];
  for (int r = 1; r < n; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * mine;
    for (std::size_t k = 0; k < mine; ++k) out[k] += xr[k];
  }
  if (mean_) {
    const auto divisor = static_cast<float>(n);
    for (std::size_t k = 0; k < mine; ++k) out[k] /= divisor;
  }
  phase_ = Phase::Gather;
  check_mpi(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data_, counts_.data(),
                            displs_.data(), MPI_FLOAT, gather_comm(), &request_),
            op_);
}

bool OrderedAllReduce::progress() {
  if (phase_ == Phase::Scatter && test(request_, op_)) reduce_and_gather();
  if (phase_ == Phase::Gather && test(request_, op_)) phase_ = Phase::Idle;
  return phase_ == Phase::Idle;
}

void OrderedAllReduce::wait() {
  if (phase_ == Phase::Scatter) {
    detail::wait(request_, op_);
    reduce_and_gather();
  }
  if (phase_ == Phase::Gather) {
    detail::wait(request_, op_);
    phase_ = Phase::Idle;
  }
}

}  // namespace detail

void init(int* argc, char*** argv, InitOptions options) {
  Group& g = group();
  EMBER_CHECK(g.comm == MPI_COMM_NULL, "ember::distributed::init: already initialized");
  if (const char* env = std::getenv("EMBER_DISTRIBUTED_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(env, &end);
    EMBER_CHECK(end != env && *end == '\0' && std::isfinite(seconds) && seconds > 0,
                "ember::distributed::init: EMBER_DISTRIBUTED_TIMEOUT must be a positive number "
                "of seconds, got '",
                env, "'");
    options.timeout_seconds = seconds;
  }
  EMBER_CHECK(std::isfinite(options.timeout_seconds) && options.timeout_seconds > 0,
              "ember::distributed::init: timeout_seconds must be positive, got ",
              options.timeout_seconds);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // ember calls MPI from one thread only (OpenMP threads never do): MPI_THREAD_FUNNELED.
    int provided = 0;
    EMBER_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                "ember::distributed::init: MPI_Init failed");
    g.started_mpi = true;
  }
  // Errors come back as codes, on ember's communicators and on MPI_COMM_WORLD (where OpenMPI
  // reports some failures of nonblocking collectives), and become ember::Error.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm comm = MPI_COMM_NULL, gather = MPI_COMM_NULL;
  EMBER_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm) == MPI_SUCCESS &&
                  MPI_Comm_dup(MPI_COMM_WORLD, &gather) == MPI_SUCCESS,
              "ember::distributed::init: MPI_Comm_dup failed");
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(gather, MPI_ERRORS_RETURN);
  g.gather_comm = gather;
  MPI_Comm_rank(comm, &g.rank);
  MPI_Comm_size(comm, &g.size);
  g.comm = comm;
  g.timeout = options.timeout_seconds;
  g.broken = false;
}

bool is_initialized() {
  return group().comm != MPI_COMM_NULL;
}

void finalize() {
  Group& g = group();
  if (g.comm == MPI_COMM_NULL) return;
  if (g.broken) abort(1);
  MPI_Comm_free(&g.gather_comm);
  MPI_Comm_free(&g.comm);
  g.comm = MPI_COMM_NULL;
  if (g.started_mpi) MPI_Finalize();
  g.started_mpi = false;
  g.rank = 0;
  g.size = 1;
}

void abort(int exit_code) {
  MPI_Abort(group().comm != MPI_COMM_NULL ? group().comm : MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this satisfies [[noreturn]]
}

int rank() {
  return group().rank;
}
int world_size() {
  return group().size;
}
double timeout() {
  return group().timeout;
}
void set_timeout(double seconds) {
  EMBER_CHECK(std::isfinite(seconds) && seconds > 0,
              "ember::distributed::set_timeout: seconds must be positive, got ", seconds);
  group().timeout = seconds;
}

void all_reduce(Tensor& t, ReduceOp op) {
  const char* name = "all_reduce";
  MPI_Comm comm = detail::comm(name);
  const MPI_Datatype type = mpi_type(t, name);
  EMBER_CHECK(!(op == ReduceOp::Mean && t.dtype() == kInt64), detail::where(name),
              ": ReduceOp::Mean needs a float32 tensor, got int64 (sum, then divide as you "
              "need)");
  check_same_tensor(t, name);
  if (t.numel() == 0) return;
  // An in-place write: mutable_data_ptr bumps the version once.
  if (t.dtype() == kFloat32) {
    detail::OrderedAllReduce reduce;
    reduce.start(t.mutable_data_ptr<float>(), t.numel(), op == ReduceOp::Mean, name);
    reduce.wait();
  } else {
    MPI_Request request = MPI_REQUEST_NULL;
    detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.mutable_data_ptr<std::byte>(),
                                     static_cast<int>(t.numel()), type, MPI_SUM, comm, &request),
                      name);
    detail::wait(request, name);
  }
}

double all_reduce_sum(double value) {
  const char* name = "all_reduce_sum";
  std::vector<double> all(static_cast<std::size_t>(world_size()));
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check_mpi(MPI_Iallgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE,
                                   detail::comm(name), &request),
                    name);
  detail::wait(request, name);
  double sum = 0.0;
  for (double v : all) sum += v;  // rank order: the same sum on every rank
  return sum;
}

std::int64_t all_reduce_sum(std::int64_t value) {
  const char* name = "all_reduce_sum";
  std::int64_t sum = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check_mpi(
      MPI_Iallreduce(&value, &sum, 1, MPI_INT64_T, MPI_SUM, detail::comm(name), &request), name);
  detail::wait(request, name);
  return sum;
}

void broadcast(Tensor& t, int root) {
  const char* name = "broadcast";
  MPI_Comm comm = detail::comm(name);
  const MPI_Datatype type = mpi_type(t, name);
  EMBER_CHECK(root >= 0 && root < world_size(), detail::where(name), ": root ", root,
              " is not a rank (world size ", world_size(), ")");
  check_same_tensor(t, name);
  if (t.numel() == 0) return;
  MPI_Request request = MPI_REQUEST_NULL;
  // An in-place write on every rank but root (root's bump too, as before): one version bump.
  detail::check_mpi(MPI_Ibcast(t.mutable_data_ptr<std::byte>(), static_cast<int>(t.numel()), type,
                               root, comm, &request),
                    name);
  detail::wait(request, name);
}

void barrier() {
  const char* name = "barrier";
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check_mpi(MPI_Ibarrier(detail::comm(name), &request), name);
  detail::wait(request, name);
}

Tensor all_gather(const Tensor& t) {
  const char* name = "all_gather";
  MPI_Comm comm = detail::comm(name);
  const MPI_Datatype type = mpi_type(t, name);
  check_same_tensor(t, name);
  Shape shape = t.sizes();
  shape.insert(shape.begin(), world_size());
  Tensor out = empty(shape, t.dtype());
  EMBER_CHECK(out.numel() <= INT_MAX, detail::where(name), ": ", out.numel(),
              " elements gathered is more than MPI allows");
  if (out.numel() == 0) return out;
  MPI_Request request = MPI_REQUEST_NULL;
  detail::check_mpi(
      MPI_Iallgather(raw(t), static_cast<int>(t.numel()), type, out.mutable_data_ptr<std::byte>(),
                     static_cast<int>(t.numel()), type, comm, &request),
      name);
  detail::wait(request, name);
  return out;
}

}  // namespace ember::distributed
