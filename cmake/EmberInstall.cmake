include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(module ${EMBER_MODULES})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${module}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${EMBER_GENERATED_INCLUDE}/ember/version.h ${EMBER_GENERATED_INCLUDE}/ember/ember.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ember)
install(TARGETS ${EMBER_LIBRARY_TARGETS}
        EXPORT emberTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
if(BUILD_SHARED_LIBS)
  set(EMBER_SHARED ON)
else()
  set(EMBER_SHARED OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
  ${PROJECT_BINARY_DIR}/emberConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/emberConfig.cmake ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)

# pkg-config: `pkg-config --cflags --libs ember`. The headers are C++20, so Cflags says so.
# Shared: -lember alone; threads and zlib are private to libember.so (Libs.private and
# Requires.private serve a static link). Static: the module archives (core and autograd need each
# other: a linker group, since pkg-config drops repeated -l flags), then what they need to link:
# the threads library and zlib.
set(link_flags "")
if(EMBER_THREADS STREQUAL "openmp")
  string(APPEND link_flags " ${OpenMP_CXX_FLAGS}")  # -fopenmp: links libgomp
endif()
if(TARGET Threads::Threads)
  string(APPEND link_flags " ${CMAKE_THREAD_LIBS_INIT}")
endif()
string(STRIP "${link_flags}" link_flags)
if(BUILD_SHARED_LIBS)
  set(EMBER_PC_LIBS "-lember")
  set(EMBER_PC_LIBS_PRIVATE "${link_flags}")
  set(EMBER_PC_REQUIRES "")
  set(EMBER_PC_REQUIRES_PRIVATE "zlib")
else()
  set(EMBER_PC_LIBS "-lember_datasets -lember_optim -lember_nn ")
  string(APPEND EMBER_PC_LIBS "-Wl,--start-group -lember_autograd -lember_core -Wl,--end-group ")
  string(APPEND EMBER_PC_LIBS "${link_flags}")
  set(EMBER_PC_LIBS_PRIVATE "")
  set(EMBER_PC_REQUIRES "zlib")
  set(EMBER_PC_REQUIRES_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(EmberPackage)
