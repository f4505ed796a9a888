# Test helpers: one Catch2 main shared by all test executables (it takes ~15 s to compile).
# SPDX-License-Identifier: Apache-2.0
include_guard(GLOBAL)
find_package(Catch2 2 REQUIRED)
# /usr/bin/python3 carries h5py and numpy on Debian; a python3 earlier on PATH may not.
set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Python with h5py for interop tests")
find_package(Python3 REQUIRED COMPONENTS Interpreter)
include(Catch)

add_library(grokkit_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cpp)
target_link_libraries(grokkit_catch_main PUBLIC Catch2::Catch2)

# grokkit_add_test(NAME SOURCES src... [LIBRARIES lib...]): a Catch2 executable whose cases are
# registered with ctest one by one. Tests may include core's internal headers (core/src).
function(grokkit_add_test name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE grokkit_catch_main grokkit::core ${ARG_LIBRARIES})
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/core/src
                                               ${PROJECT_SOURCE_DIR}/tests/support)
    target_include_directories(${name} SYSTEM PRIVATE ${HDF5_C_INCLUDE_DIRS})
    target_link_libraries(${name} PRIVATE ${HDF5_C_LIBRARIES})
    target_compile_definitions(${name} PRIVATE
        GROKKIT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        GROKKIT_BINARY_DIR="${PROJECT_BINARY_DIR}"
        GROKKIT_PLUGIN_DIR="${GROKKIT_PLUGIN_OUTPUT_DIR}")
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    catch_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
                         PROPERTIES ENVIRONMENT "GROKKIT_PLUGIN_PATH=")
endfunction()
