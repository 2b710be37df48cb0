# Flags for ember's own targets (never forced on consumers).
add_library(ember_flags INTERFACE)
target_compile_options(ember_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow
  $<$<BOOL:${EMBER_WERROR}>:-Werror>
  $<$<CONFIG:Release>:-O3>
  # GCC 12 warns falsely inside its own AVX-512 intrinsic headers when xsimd's batches are inlined
  # (GCC bug 105593: _mm512_undefined_ps "may be used uninitialized").
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
if(EMBER_NATIVE)
  target_compile_options(ember_flags INTERFACE -march=native)
endif()
if(EMBER_SANITIZE)
  # GCC's -fsanitize=undefined leaves out float-cast-overflow (a float out of an integer's range,
  # e.g. NaN into int64), so it is named. -fno-sanitize-recover=all: the first report aborts the
  # program, so undefined behaviour fails the test instead of printing a line nobody reads.
  # tests/sanitize/ proves both in this build.
  set(ember_sanitizers -fsanitize=address,undefined,float-cast-overflow)
  target_compile_options(ember_flags INTERFACE ${ember_sanitizers} -fno-omit-frame-pointer
                                              -fno-sanitize-recover=all)
  target_link_options(ember_flags INTERFACE ${ember_sanitizers})
endif()

# ember_module(NAME SOURCES... DEPS ...): one static library per module, with public headers in
# NAME/include/ember/NAME and private sources (and kernels) in NAME/src.
function(ember_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ember_${name} STATIC ${ARG_SOURCES})
  add_library(ember::${name} ALIAS ember_${name})
  set_target_properties(ember_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(ember_${name}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(ember_${name} PUBLIC ${ARG_DEPS} PRIVATE $<BUILD_INTERFACE:ember_flags>)
  # The headers are C++20 (concepts, std::span): consumers get the standard with the target.
  target_compile_features(ember_${name} PUBLIC cxx_std_20)
endfunction()
