// Where tensor storage comes from: 64-byte aligned blocks, large ones cached for reuse.
#pragma once

#include <cstddef>

namespace ember::detail {

// Note [Block cache]: a training loop frees and allocates the same large buffers every batch.
// Handing them back to glibc lets it unmap them, and the next allocation page-faults every 4 KiB
// page again (a 16 MB tensor costs ~4000 faults, slower than the kernel that fills it). So blocks
// of 64 KiB and more are kept on free, by size class (8 classes per power of two: at most 12.5%
// slack), and reused; at most 1 GiB is kept. Small blocks go straight to malloc, whose own bins
// already reuse them.
void* allocate(std::size_t bytes);
void deallocate(void* block, std::size_t bytes);

}  // namespace ember::detail
