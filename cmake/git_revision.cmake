# Writes the git revision into OUT (a C++ fragment) at build time, touching it only when it
# changes, so the revision in run files follows commits without reconfiguring.
# usage: cmake -DSOURCE_DIR=... -DOUT=... -P git_revision.cmake
# SPDX-License-Identifier: Apache-2.0
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rev)
    set(rev "unknown")
elseif(dirty)
    string(APPEND rev "-dirty")
endif()
set(text "#define GROKKIT_GIT_REVISION \"${rev}\"\n")
if(EXISTS ${OUT})
    file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
    file(WRITE ${OUT} "${text}")
endif()
