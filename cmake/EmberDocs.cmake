# The `docs` target: HTML API documentation from the public headers' `///` comments, with
# Doxygen (Debian `doxygen`). Any warning, an undocumented public entity among them, fails the
# build: `cmake --build build --target docs` (CI builds it). Output: <build>/docs/html/index.html.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "ember: Doxygen not found, no `docs` target (apt-get install doxygen)")
  return()
endif()

set(EMBER_DOCS_DIR ${PROJECT_BINARY_DIR}/docs)
set(EMBER_DOCS_INPUT "")
set(EMBER_DOCS_INCLUDE_ROOTS "")
foreach(module core autograd nn optim datasets distributed)
  string(APPEND EMBER_DOCS_INPUT " ${PROJECT_SOURCE_DIR}/${module}/include/ember")
  string(APPEND EMBER_DOCS_INCLUDE_ROOTS " ${PROJECT_SOURCE_DIR}/${module}/include")
endforeach()
# The generated <ember/version.h> and <ember/ember.h> (cmake/EmberLibrary.cmake).
string(APPEND EMBER_DOCS_INPUT " ${EMBER_GENERATED_INCLUDE}/ember")
string(APPEND EMBER_DOCS_INCLUDE_ROOTS " ${EMBER_GENERATED_INCLUDE}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/Doxyfile.in ${EMBER_DOCS_DIR}/Doxyfile @ONLY)
add_custom_target(docs
  COMMAND ${DOXYGEN_EXECUTABLE} ${EMBER_DOCS_DIR}/Doxyfile
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Building the API documentation (${EMBER_DOCS_DIR}/html/index.html)"
  VERBATIM)
