# grokkit_add_plugin(NAME SOURCES src...): one MODULE library per plugin, named grokkit_<NAME>.
# Used in-tree and, through find_package(grokkit), by out-of-tree plugins.
# SPDX-License-Identifier: Apache-2.0
include_guard(GLOBAL)

function(grokkit_add_plugin name)
    cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "grokkit_add_plugin(${name}): SOURCES is required")
    endif()
    set(target grokkit_${name})
    add_library(${target} MODULE ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE grokkit::core ${ARG_LIBRARIES})
    # Hidden by default: only the entry alias and GROKKIT_VISIBLE types cross the boundary.
    set_target_properties(${target} PROPERTIES
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        CXX_STANDARD 20
        CXX_STANDARD_REQUIRED ON)
    if(ARG_OUTPUT_DIRECTORY)
        set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
    elseif(DEFINED GROKKIT_PLUGIN_OUTPUT_DIR)
        set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${GROKKIT_PLUGIN_OUTPUT_DIR})
    endif()
    if(DEFINED GROKKIT_PLUGIN_INSTALL_DIR AND NOT ARG_OUTPUT_DIRECTORY)
        install(TARGETS ${target} LIBRARY DESTINATION ${GROKKIT_PLUGIN_INSTALL_DIR})
    endif()
endfunction()
