# Every dependency comes from a Debian package; a missing one names it.
function(ember_require package debian)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR "ember needs ${package}: install it with `apt-get install ${debian}`")
  endif()
endfunction()

ember_require(xsimd libxsimd-dev)
ember_require(ZLIB zlib1g-dev)
# The safetensors header is JSON (core/src/io/safetensors.cpp); header-only, so a build-time
# dependency only: installed consumers never need it (see core/CMakeLists.txt).
ember_require(nlohmann_json nlohmann-json3-dev CONFIG)
set(THREADS_PREFER_PTHREAD_FLAG ON)
ember_require(Threads libc6-dev)

# Debian's xsimd target also names xtl as a library to link; ember uses xsimd's headers only.
get_target_property(ember_xsimd_include xsimd INTERFACE_INCLUDE_DIRECTORIES)
add_library(ember_xsimd INTERFACE)
target_include_directories(ember_xsimd SYSTEM INTERFACE ${ember_xsimd_include})
