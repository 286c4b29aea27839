# ctest driver: installs the build tree into a scratch prefix, then builds and runs a consumer
# against it twice: through find_package(libshm CONFIG) and through pkg-config, with and
# without the component item_json.
# Inputs: BUILD_DIR, SOURCE_DIR (this folder), WORK_DIR, CXX.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " shown "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${shown}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 1. CMake package.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/cmake-build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run(${WORK_DIR}/cmake-build/consumer)
message(STATUS "find_package: ${last_output}")
run(${WORK_DIR}/cmake-build/item_json_consumer)
message(STATUS "find_package: ${last_output}")
# shm::shm alone must not need nlohmann-json: only the item_json component names it.
file(GLOB_RECURSE core_targets ${prefix}/*/libshmTargets*.cmake)
foreach(f IN LISTS core_targets)
  file(READ ${f} text)
  if(text MATCHES "nlohmann")
    message(FATAL_ERROR "${f} names nlohmann-json: shm::shm would need it")
  endif()
endforeach()

# 2. pkg-config, with a plain compiler command line.
file(GLOB_RECURSE pc_files ${prefix}/*/libshm.pc)
list(LENGTH pc_files n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one installed libshm.pc, found: ${pc_files}")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run(pkg-config --cflags --libs libshm)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CXX} ${SOURCE_DIR}/main.cpp -o ${WORK_DIR}/pc-consumer ${flags})
run(${WORK_DIR}/pc-consumer)
message(STATUS "pkg-config: ${last_output}")
run(pkg-config --cflags --libs libshm-item-json)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CXX} ${SOURCE_DIR}/item_json_main.cpp -o ${WORK_DIR}/pc-item-json-consumer ${flags})
run(${WORK_DIR}/pc-item-json-consumer)
message(STATUS "pkg-config: ${last_output}")
file(REMOVE_RECURSE ${WORK_DIR})
