// SDK version, plugin API version and the ABI fingerprint compiled into host and plugins.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <xtensor/xtensor_config.hpp>

#include <cstddef> // defines _GLIBCXX_USE_CXX11_ABI, read by GROKKIT_FINGERPRINT

#define GROKKIT_STRINGIFY_(x) #x
#define GROKKIT_STRINGIFY(x) GROKKIT_STRINGIFY_(x)

/// Bumped whenever plugin_info or any SDK interface changes shape.
#define GROKKIT_API_VERSION 10

#ifndef GROKKIT_VERSION_STRING
#define GROKKIT_VERSION_STRING "0.1.0"
#endif

#if defined(__clang__)
#define GROKKIT_COMPILER "clang" GROKKIT_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define GROKKIT_COMPILER "gcc" GROKKIT_STRINGIFY(__GNUC__)
#else
#define GROKKIT_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define GROKKIT_CXX11_ABI GROKKIT_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define GROKKIT_CXX11_ABI "none"
#endif

#if defined(_GLIBCXX_DEBUG)
#define GROKKIT_GLIBCXX_DEBUG "1"
#else
#define GROKKIT_GLIBCXX_DEBUG "0"
#endif

/// What changes the SDK's C++ ABI: API version, compiler family and major, libstdc++ ABI and
/// debug mode, and the major.minor of xtensor (its types appear in SDK headers). Patch versions
/// are left out so point releases do not lock out users' plugins.
#define GROKKIT_FINGERPRINT                                                                        \
    "api" GROKKIT_STRINGIFY(                                                                       \
        GROKKIT_API_VERSION) ";" GROKKIT_COMPILER ";cxx11abi=" GROKKIT_CXX11_ABI                   \
                             ";glibcxx_debug=" GROKKIT_GLIBCXX_DEBUG                               \
                             ";xtensor=" GROKKIT_STRINGIFY(                                        \
                                 XTENSOR_VERSION_MAJOR) "." GROKKIT_STRINGIFY(XTENSOR_VERSION_MINOR)

namespace grokkit {

/// Version of the grokkit library the caller links against.
const char* version();
/// Git revision the core library was built from ("unknown" outside a checkout).
const char* git_revision();
/// The fingerprint compiled into the core library (compare with GROKKIT_FINGERPRINT).
const char* core_fingerprint();

} // namespace grokkit
