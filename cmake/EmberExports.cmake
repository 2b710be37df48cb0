# cmake -DNM=nm -DOUTPUT=ember.map -DARCHIVES=a.a,b.a -P EmberExports.cmake
# Writes the GNU ld version script of libember.so: every global symbol of the archives that
# belongs to namespace ember is exported by its exact (mangled) name, except the SIMD kernels'
# namespaces; everything else is local. See EmberLibrary.cmake.
string(REPLACE "," ";" archives "${ARCHIVES}")
# _Z, an optional special-name prefix (typeinfo TI, its name TS, vtable TV, VTT TT, guard
# variable GV, thunks Th/Tv, local entity Z), a nested name with optional cv/ref qualifiers, then
# the namespace ember.
set(ember_symbol "^_Z(TI|TS|TV|TT|GV|GVZ|Z|Thn?[0-9]+_|Tv[n0-9_]+)?N[rVKRO]*5ember")
set(kernel_symbol "^_Z[A-Za-z0-9_]*N[rVKRO]*5ember([0-9]+[a-z_]+)*7kernels")
set(exported)
foreach(archive ${archives})
  execute_process(COMMAND ${NM} --defined-only --extern-only --format=posix ${archive}
                  OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${archive}")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${symbols}")
  foreach(line ${lines})
    string(REGEX MATCH "^[^ ]+" name "${line}")
    if(name MATCHES "${ember_symbol}" AND NOT name MATCHES "${kernel_symbol}")
      list(APPEND exported ${name})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES exported)
list(SORT exported)
list(TRANSFORM exported PREPEND "    ")
list(TRANSFORM exported APPEND "$<SEMICOLON>")
string(JOIN "\n" body ${exported})
string(REPLACE "$<SEMICOLON>" ";" body "${body}")
set(script "{\n  global:\n${body}\n  local: *;\n};\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${script}")
  file(WRITE ${OUTPUT} "${script}")
endif()
