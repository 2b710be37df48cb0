# Issue 18: each floor of ember uses only the floors below it. Fails, listing every offending line,
# when a file includes a header of a module it must not use, or a CMake file links a library to
# one it must not use. Run as: cmake -DROOT=<source dir> -P check_layering.cmake
#
# Forbidden, by the folder a file lives in (what each may not include or link):
#   core/      autograd, nn, optim, datasets, distributed (core computes; it never sees a graph)
#   autograd/  nn, optim, datasets, distributed
#   optim/     nn, datasets, distributed (optimizer state uses the file formats below nn)
#   datasets/  nn, optim, distributed
#   nn/        optim, datasets, distributed
# A header counts as the module's when it is spelled <ember/MODULE/...> or reached through the
# module's folders (MODULE/src/..., MODULE/include/...).
if(NOT ROOT)
  message(FATAL_ERROR "check_layering: pass -DROOT=<ember's source dir>")
endif()

set(forbidden_core autograd nn optim datasets distributed)
set(forbidden_autograd nn optim datasets distributed)
set(forbidden_optim nn datasets distributed)
set(forbidden_datasets nn optim distributed)
set(forbidden_nn optim datasets distributed)

set(problems "")
set(checked 0)
foreach(module core autograd optim datasets nn)
  string(JOIN "|" above ${forbidden_${module}})
  # Sources and headers: every #include line.
  file(GLOB_RECURSE files LIST_DIRECTORIES false
       ${ROOT}/${module}/*.h ${ROOT}/${module}/*.hpp ${ROOT}/${module}/*.cpp ${ROOT}/${module}/*.cc
       ${ROOT}/${module}/*.inl ${ROOT}/${module}/*.in)
  foreach(file ${files})
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line ${lines})
      if(line MATCHES "[<\"](.*/)?(ember/(${above})/|(\\.\\./)*(${above})/(src|include)/)")
        file(RELATIVE_PATH rel ${ROOT} ${file})
        string(STRIP "${line}" line)
        list(APPEND problems "${rel}: ${line}  (${module}/ must not use ${CMAKE_MATCH_3}${CMAKE_MATCH_5})")
      endif()
    endforeach()
  endforeach()
  # CMake files: no link to (or DEPS on) a forbidden module's library.
  file(GLOB_RECURSE cmake_files LIST_DIRECTORIES false ${ROOT}/${module}/CMakeLists.txt
       ${ROOT}/${module}/*.cmake)
  foreach(file ${cmake_files})
    math(EXPR checked "${checked} + 1")
    file(READ ${file} text)
    string(REGEX MATCHALL "(target_link_libraries|ember_module)\\([^)]*\\)" calls "${text}")
    foreach(call ${calls})
      if(call MATCHES "ember(::|_)(${above})([ \t\n)]|$)")
        set(target ${CMAKE_MATCH_2})
        file(RELATIVE_PATH rel ${ROOT} ${file})
        string(REGEX REPLACE "[ \t\n]+" " " call "${call}")
        list(APPEND problems "${rel}: ${call}  (${module}/ must not link ${target})")
      endif()
    endforeach()
  endforeach()
endforeach()
# The lowest floors are also linked from elsewhere (cmake/): core's library never links upward.
file(GLOB cmake_dir LIST_DIRECTORIES false ${ROOT}/CMakeLists.txt ${ROOT}/cmake/*.cmake)
string(JOIN "|" above_core ${forbidden_core})
foreach(file ${cmake_dir})
  file(READ ${file} text)
  string(REGEX MATCHALL "target_link_libraries\\(ember_core[^)]*\\)" calls "${text}")
  foreach(call ${calls})
    if(call MATCHES "ember(::|_)(${above_core})([ \t\n)]|$)")
      file(RELATIVE_PATH rel ${ROOT} ${file})
      list(APPEND problems "${rel}: ${call}  (core must not link ${CMAKE_MATCH_2})")
    endif()
  endforeach()
endforeach()

if(checked LESS 50)
  message(FATAL_ERROR "check_layering: only ${checked} files found under ${ROOT}: wrong ROOT?")
endif()
list(LENGTH problems count)
if(count GREATER 0)
  string(JOIN "\n  " listing ${problems})
  message(FATAL_ERROR "check_layering: ${count} use(s) across floors (issue 18):\n  ${listing}")
endif()
message(STATUS "check_layering: ${checked} files, every include and link runs downward")
