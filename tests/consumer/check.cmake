# Installs the build into a scratch prefix, then configures, builds and runs the consumer
# project against it (run by CTest as the install_consumer test).
file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
if(SANITIZE)  # the library carries the sanitizer runtimes: the consumer must link them first
  set(CXX_FLAGS "${CXX_FLAGS} -fsanitize=address,undefined")
endif()
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${RNNGRAPH_BUILD} --prefix ${prefix})
# The installed program runs from the prefix (it finds its libraries there: install RPATH),
# with no LD_LIBRARY_PATH and the build tree out of reach.
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${prefix}/bin/rnngraph --version)
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${prefix}/bin/rnngraph build lstm
    --input-size 3 --hidden-size 4 -o ${WORK}/installed.json)
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${prefix}/bin/rnngraph dot ${WORK}/installed.json
    -o ${WORK}/installed.svg)
# The library's compiler: a sanitized library needs its compiler's sanitizer runtimes.
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
