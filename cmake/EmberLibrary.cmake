# The library as consumers see it: the generated headers <ember/version.h> and <ember/ember.h>,
# and the target ember::ember, static (default) or one shared library (BUILD_SHARED_LIBS=ON).
include(GNUInstallDirs)
set(EMBER_MODULES core autograd nn optim datasets)

set(EMBER_GENERATED_INCLUDE ${PROJECT_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/cmake/version.h.in ${EMBER_GENERATED_INCLUDE}/ember/version.h
               @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/ember.h.in ${EMBER_GENERATED_INCLUDE}/ember/ember.h
               COPYONLY)
target_include_directories(ember_core PUBLIC $<BUILD_INTERFACE:${EMBER_GENERATED_INCLUDE}>)

# Every module's static library, internals included: what ember's own tests and benchmarks link.
add_library(ember_modules INTERFACE)
foreach(module ${EMBER_MODULES})
  target_link_libraries(ember_modules INTERFACE ember_${module})
endforeach()

if(NOT BUILD_SHARED_LIBS)
  # Static: the umbrella names the module libraries (and, through them, threads and zlib).
  add_library(ember INTERFACE)
  set(EMBER_LIBRARY_TARGETS ember)
  foreach(module ${EMBER_MODULES})
    target_link_libraries(ember INTERFACE ember_${module})
    list(APPEND EMBER_LIBRARY_TARGETS ember_${module})
  endforeach()
else()
  # Shared: one libember.so from the modules' object files (the modules depend on each other, so
  # one library rather than five). Its link interface is only itself: threads and zlib are private.
  # The ABI changes with every 0.x minor version, so the SONAME carries major.minor until 1.0.
  if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(EMBER_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  else()
    set(EMBER_SOVERSION ${PROJECT_VERSION_MAJOR})
  endif()
  set(objects)
  set(archives)
  foreach(module ${EMBER_MODULES})
    list(APPEND objects $<TARGET_OBJECTS:ember_${module}>)
    list(APPEND archives $<TARGET_FILE:ember_${module}>)
  endforeach()
  add_library(ember SHARED ${objects})
  set_target_properties(ember PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${EMBER_SOVERSION})
  if(TARGET ember_distributed)  # libember_distributed.so (distributed/CMakeLists.txt)
    set_target_properties(ember_distributed PROPERTIES VERSION ${PROJECT_VERSION}
                                                       SOVERSION ${EMBER_SOVERSION})
  endif()
  # The modules come after the objects on the link line only to bring their own dependencies
  # (threads, zlib); every symbol is already defined by the objects, so no archive member is used.
  target_link_libraries(ember PRIVATE ember_modules)
  target_compile_features(ember PUBLIC cxx_std_20)
  foreach(module ${EMBER_MODULES})
    target_include_directories(ember PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/${module}/include>)
  endforeach()
  target_include_directories(ember PUBLIC $<BUILD_INTERFACE:${EMBER_GENERATED_INCLUDE}>
                                          $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # Symbol visibility: a version script, written from the modules' symbols just before linking,
  # exports what is in namespace ember (functions, variables, typeinfo, vtables, thunks, guard
  # variables) except the SIMD kernels (namespaces ember::kernels and ember::<module>::kernels);
  # everything else (kernels, xsimd and standard-library instantiations) stays local.
  # ember::detail stays exported: inline code in the public headers calls it (EMBER_CHECK).
  set(map ${PROJECT_BINARY_DIR}/ember.map)
  string(JOIN "," archive_list ${archives})
  add_custom_command(TARGET ember PRE_LINK
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DOUTPUT=${map} "-DARCHIVES=${archive_list}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmberExports.cmake
    COMMENT "Writing the export list of libember.so" VERBATIM)
  target_link_options(ember PRIVATE LINKER:--version-script=${map} LINKER:--no-undefined)
  set(EMBER_LIBRARY_TARGETS ember)
  # The installed app finds libember.so beside it in any prefix (the system's loader path in /usr).
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(CMAKE_INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  endif()
endif()
add_library(ember::ember ALIAS ember)
