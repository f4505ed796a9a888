// Symbol visibility for types that cross the host/plugin boundary.
// SPDX-License-Identifier: Apache-2.0
#pragma once

// Plugins build with -fvisibility=hidden; interface and error classes keep default visibility
// so RTTI and exceptions match across libraries.
#define GROKKIT_VISIBLE __attribute__((visibility("default")))
