// Picking, at run time, a kernel compiled for one tile shape. Private to the kernel files, which
// are compiled once per instruction set (Note [ISA dispatch] in kernels/isa.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/isa.h"

namespace ember::kernels::EMBER_ISA {

// Note [Tile tables]
// A kernel keeps its tile in registers only when the tile's shape is known at compile time, so
// it is a template over that shape (channels x columns, kernel rows x taps, ...) and a problem
// picks an instance at run time. Tiles names the kernel:
//   template <int A, int B> static constexpr Fn fn = &kernel<..., A, B>;
// and tile_fn<Tiles, NA, NB>(a, b) returns Tiles::fn<a, b> for 1 <= a <= NA, 1 <= b <= NB, read
// from one table of every shape, built at compile time: one switch for all the kernels.
template <class Tiles, int NA, int NB>
auto tile_fn(std::int64_t a, std::int64_t b) {
  using Fn = std::remove_const_t<decltype(Tiles::template fn<1, 1>)>;
  struct Table {
    Fn fns[NA * NB];
  };
  static constexpr Table table = []<std::size_t... I>(std::index_sequence<I...>) {
    return Table{
        {Tiles::template fn<static_cast<int>(I) / NB + 1, static_cast<int>(I) % NB + 1>...}};
  }
  (std::make_index_sequence<NA * NB>{});
  return table.fns[(a - 1) * NB + (b - 1)];
}

}  // namespace ember::kernels::EMBER_ISA
