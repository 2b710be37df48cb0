#!/usr/bin/env bash
# The one-definition-rule guard of Note [ISA dispatch] (core/src/kernels/isa.h): in the libraries
# given, every object of an instruction-set build of a kernel file (<name>.<isa>.cpp.o) may define
# no weak symbol (inline or template code the linker could pick for other objects) except those
# that involve its own ISA namespace, ember::[module::]kernels::<isa>, which no other build can
# define. (DW.ref.__gxx_personality_v0 is a pointer to the C++ runtime's exception personality
# routine, data and the same in every object.) Prints each offending symbol and fails.
# Usage: check_isa_symbols.sh NM LIBRARY...
set -euo pipefail
nm=$1
shift
objects=0
bad=0
for library in "$@"; do
  report=$("$nm" -C --defined-only "$library" | awk -v library="$library" '
    /^$/ { next }
    /:$/ {
      member = substr($0, 1, length($0) - 1)
      isa = ""
      if (match(member, /\.(avx2|avx512)\.cpp\.o$/)) {
        isa = substr(member, RSTART + 1, RLENGTH - 7)
        objects++
      }
      next
    }
    isa != "" && $2 ~ /^[WVu]$/ {
      symbol = $0
      sub(/^[0-9a-f]* [WVu] /, "", symbol)
      if (symbol == "DW.ref.__gxx_personality_v0") next
      if (symbol ~ ("ember::([a-z]+::)?kernels::" isa "::")) next
      printf "%s(%s): weak symbol outside ember::...::kernels::%s: %s\n", library, member, isa, symbol
      bad++
    }
    END { printf "objects %d bad %d\n", objects, bad }')
  echo "$report" | grep -v '^objects ' || true
  counts=$(echo "$report" | tail -n 1)
  objects=$((objects + $(echo "$counts" | awk '{print $2}')))
  bad=$((bad + $(echo "$counts" | awk '{print $4}')))
done
if [ "$objects" -eq 0 ]; then
  echo "no instruction-set build of a kernel found in: $*" >&2
  exit 1
fi
echo "$objects instruction-set objects checked, $bad weak symbols outside their own namespace"
[ "$bad" -eq 0 ]
