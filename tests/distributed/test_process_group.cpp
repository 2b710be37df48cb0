// The process group: rank and size, all_reduce (sum, mean; float32 and int64), broadcast,
// barrier, all_gather, and the errors (mismatched tensors, unsupported dtypes, MPI's own errors
// with MPI_ERRORS_RETURN). Every case runs on every rank: N = 1, 2, 3 under CTest.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include <ember/core/tensor.h>
#include <ember/distributed/process_group.h>

#include "../../distributed/src/comm.h"

using Catch::Contains;
using ember::Tensor;
namespace dist = ember::distributed;

namespace {
std::string who(const char* op) {
  return std::string(op) + " (rank " + std::to_string(dist::rank()) + " of " +
         std::to_string(dist::world_size()) + ")";
}
}  // namespace

TEST_CASE("rank and world size", "[distributed]") {
  const int n = dist::world_size();
  CHECK(n >= 1);
  CHECK(dist::rank() >= 0);
  CHECK(dist::rank() < n);
  // Every rank counts itself once.
  CHECK(dist::all_reduce_sum(std::int64_t{1}) == n);
  dist::barrier();
}

TEST_CASE("all_reduce sums and averages float32 tensors", "[distributed]") {
  const int n = dist::world_size();
  const auto r = static_cast<float>(dist::rank());
  // rank r holds [r + 1, 2 (r + 1), 0.5]; the sum of r + 1 over ranks is n (n + 1) / 2.
  Tensor t = ember::from_vector(std::vector<float>{r + 1, 2 * (r + 1), 0.5f}, {3});
  dist::all_reduce(t, dist::ReduceOp::Sum);
  const float s = static_cast<float>(n * (n + 1)) / 2;
  CHECK(t.to_vector<float>() == std::vector<float>{s, 2 * s, 0.5f * static_cast<float>(n)});

  Tensor m = ember::from_vector(std::vector<float>{r + 1, 2 * (r + 1)}, {2, 1});
  dist::all_reduce(m, dist::ReduceOp::Mean);
  CHECK(m.to_vector<float>() ==
        std::vector<float>{s / static_cast<float>(n), 2 * s / static_cast<float>(n)});
}

TEST_CASE("all_reduce adds in rank order, bitwise the same on every rank", "[distributed]") {
  // Note [Deterministic all-reduce]: the result is ((x_0 + x_1) + x_2) ..., which float rounding
  // makes differ from other orders for these values. 1001 elements: chunks of unequal length.
  const int n = dist::world_size();
  auto value = [](int rank, int i) {
    return 0.1f * static_cast<float>(rank + 1) + 1e-7f * static_cast<float>(i) +
           (rank == 1 ? 1e8f : 0.0f) * static_cast<float>(i % 2);
  };
  std::vector<float> mine(1001), expected(1001);
  for (int i = 0; i < 1001; ++i) {
    mine[static_cast<std::size_t>(i)] = value(dist::rank(), i);
    float sum = value(0, i);
    for (int r = 1; r < n; ++r) sum += value(r, i);
    expected[static_cast<std::size_t>(i)] = sum;
  }
  Tensor t = ember::from_vector(mine, {1001});
  dist::all_reduce(t);
  CHECK(std::memcmp(t.data_ptr<float>(), expected.data(), sizeof(float) * 1001) == 0);
  // Every rank holds the same bits.
  Tensor all = dist::all_gather(t);
  for (int r = 1; r < n; ++r)
    CHECK(std::memcmp(all.select(0, r).data_ptr<float>(), all.select(0, 0).data_ptr<float>(),
                      sizeof(float) * 1001) == 0);
}

TEST_CASE("all_reduce sums int64 exactly and refuses an int64 mean", "[distributed]") {
  const int n = dist::world_size();
  // 2^40 + rank: exact in int64, not in float32.
  Tensor t =
      ember::from_vector(std::vector<std::int64_t>{(std::int64_t{1} << 40) + dist::rank()}, {1});
  dist::all_reduce(t);
  CHECK(t.item<std::int64_t>() == n * (std::int64_t{1} << 40) + n * (n - 1) / 2);
  CHECK_THROWS_WITH(dist::all_reduce(t, dist::ReduceOp::Mean),
                    who("all_reduce") +
                        ": ReduceOp::Mean needs a float32 tensor, got int64 (sum, then divide as "
                        "you need)");
  CHECK(dist::all_reduce_sum(0.25 * (dist::rank() + 1)) == 0.25 * n * (n + 1) / 2);
}

TEST_CASE("broadcast copies root's tensor to every rank", "[distributed]") {
  const int n = dist::world_size();
  const int root = n - 1;
  Tensor t = ember::full({2, 2}, dist::rank());
  dist::broadcast(t, root);
  CHECK(t.to_vector<float>() == std::vector<float>(4, static_cast<float>(root)));
  Tensor i = ember::from_vector(std::vector<std::int64_t>{dist::rank(), 7}, {2});
  dist::broadcast(i, 0);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 7});
  CHECK_THROWS_WITH(dist::broadcast(t, n), who("broadcast") + ": root " + std::to_string(n) +
                                               " is not a rank (world size " + std::to_string(n) +
                                               ")");
}

TEST_CASE("all_gather stacks the ranks' tensors in rank order", "[distributed]") {
  const int n = dist::world_size();
  Tensor t = ember::from_vector(std::vector<std::int64_t>{dist::rank(), 10 * dist::rank()}, {2});
  Tensor all = dist::all_gather(t);
  REQUIRE(all.sizes() == ember::Shape{n, 2});
  for (int r = 0; r < n; ++r) {
    CHECK(all.at<std::int64_t>({r, 0}) == r);
    CHECK(all.at<std::int64_t>({r, 1}) == 10 * r);
  }
}

TEST_CASE("collectives refuse tensors that differ across ranks, on every rank", "[distributed]") {
  if (dist::world_size() < 2) return;
  // Rank r passes r + 1 elements: every rank throws, naming rank 0's and the first differing one.
  Tensor t = ember::zeros({dist::rank() + 1});
  CHECK_THROWS_WITH(dist::all_reduce(t), who("all_reduce") +
                                             ": the ranks passed different tensors: rank 0 has "
                                             "float32 [1], rank 1 has float32 [2]; every rank "
                                             "must pass the same dtype and shape");
  // The group still works afterwards: the check is itself a collective that completed.
  Tensor ok = ember::ones({1});
  dist::all_reduce(ok);
  CHECK(ok.item<float>() == static_cast<float>(dist::world_size()));
}

TEST_CASE("collectives refuse other dtypes and non-contiguous tensors", "[distributed]") {
  Tensor bytes = ember::zeros({2}, ember::kUInt8);
  CHECK_THROWS_WITH(dist::all_reduce(bytes),
                    who("all_reduce") + ": supports float32 and int64 tensors, got uint8");
  Tensor strided = ember::zeros({2, 3}).t();
  CHECK_THROWS_WITH(dist::broadcast(strided),
                    who("broadcast") +
                        ": needs a contiguous tensor, got shape [3, 2] with strides [1, 3] (call "
                        ".contiguous() first)");
}

TEST_CASE("MPI errors come back (MPI_ERRORS_RETURN) and read with the rank and op",
          "[distributed]") {
  // Sending to rank N, which does not exist: with MPI's default handler this would abort the job.
  int value = 0;
  const int code = MPI_Send(&value, 1, MPI_INT, dist::world_size(), 0, dist::detail::comm("send"));
  REQUIRE(code != MPI_SUCCESS);
  const std::string message = dist::detail::mpi_error_message(code, "send");
  CHECK_THAT(message, Contains(who("send") + ": MPI error ") && Contains("MPI_ERR_RANK"));
}
