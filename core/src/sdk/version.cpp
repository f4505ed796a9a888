// Version strings compiled into the core library.
// SPDX-License-Identifier: Apache-2.0
#include "git_revision.inc" // generated at build time by cmake/git_revision.cmake

#include <grokkit/version.hpp>

namespace grokkit {
const char* version() {
    return GROKKIT_VERSION_STRING;
}
const char* git_revision() {
    return GROKKIT_GIT_REVISION;
}
const char* core_fingerprint() {
    return GROKKIT_FINGERPRINT;
}
} // namespace grokkit
