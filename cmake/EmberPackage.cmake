# `cpack -G DEB` in a build folder makes a Debian package of what `cmake --install` installs: the
# headers, the library (static archives, or libember.so with its SONAME symlinks), the CMake
# package, ember.pc and the app. Build it with -DCMAKE_INSTALL_PREFIX=/usr so that the CMake and
# pkg-config files point where dpkg puts the files.
set(CPACK_PACKAGE_NAME ember)
set(CPACK_PACKAGE_VENDOR "the ember developers")
set(CPACK_PACKAGE_CONTACT "the ember developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "CPU neural-network framework in C++20 with reverse-mode autograd")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_LICENSE BSD-3-Clause)
# Runtime dependencies of libember.so and the app (zlib1g, libstdc++6, ...) come from
# dpkg-shlibdeps (Debian's dpkg-dev). The CMake package and ember.pc name zlib (static link).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "zlib1g-dev")
if(TARGET ember_distributed)  # emberConfig.cmake then finds MPI for ember::distributed
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libopenmpi-dev")
endif()
if(BUILD_SHARED_LIBS)
  # shlibs file and the ldconfig trigger for libember.so.
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
endif()
include(CPack)
