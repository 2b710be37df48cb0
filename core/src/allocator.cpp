#include "allocator.h"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace ember::detail {

namespace {

constexpr std::size_t kAlignment = 64;         // a cache line, an AVX-512 register
constexpr std::size_t kCacheFrom = 64 * 1024;  // smaller blocks: plain malloc
constexpr std::size_t kCacheLimit = std::size_t{1} << 30;

// The size actually allocated for a request: a multiple of 64, and for cached sizes rounded up
// to one of 8 classes per power of two, so that near-equal requests share blocks.
std::size_t size_class(std::size_t bytes) {
  std::size_t size = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (size == 0) return kAlignment;
  if (size < kCacheFrom) return size;
  const std::size_t step = std::bit_floor(size) / 8;
  return (size + step - 1) / step * step;
}

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  std::size_t cached_bytes = 0;

  ~BlockCache() {
    for (auto& [size, blocks] : free_blocks)
      for (void* block : blocks) std::free(block);
  }
};

BlockCache& cache() {
  static BlockCache instance;
  return instance;
}

}  // namespace

void* allocate(std::size_t bytes) {
  const std::size_t size = size_class(bytes);
  if (size >= kCacheFrom) {
    BlockCache& c = cache();
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= size;
      return block;
    }
  }
  void* block = std::aligned_alloc(kAlignment, size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void deallocate(void* block, std::size_t bytes) {
  const std::size_t size = size_class(bytes);
  if (size >= kCacheFrom) {
    BlockCache& c = cache();
    std::lock_guard lock(c.mutex);
    if (c.cached_bytes + size <= kCacheLimit) {
      c.free_blocks[size].push_back(block);
      c.cached_bytes += size;
      return;
    }
  }
  std::free(block);
}

}  // namespace ember::detail
