# Every dependency comes from a Debian package; a missing one names it.
function(ember_require package debian)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR "ember needs ${package}: install it with `apt-get install ${debian}`")
  endif()
endfunction()

ember_require(xsimd libxsimd-dev)
ember_require(OpenMP libomp-dev COMPONENTS CXX)
ember_require(ZLIB zlib1g-dev)
