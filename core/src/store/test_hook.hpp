// Test hooks: a run can be held at a chosen event, so that tests kill it exactly there.
// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace grokkit::test_hook {

/// Marks an event of this process: "metric_row" (a metrics row committed), "checkpoint_data"
/// (a checkpoint's parameters and optimizer state written, its step not yet committed) or
/// "checkpoint" (a checkpoint committed). With GROKKIT_TEST_HOLD=EVENT:N in the environment,
/// the N-th such event (counted from 1 in this process) prints "grokkit: test hook holding at
/// EVENT N" to stderr and waits: until the file named by GROKKIT_TEST_RELEASE exists, or, if
/// that is unset, until the process is killed. Without the variable it costs one branch.
/// It lives in the store, the lowest layer whose events a kill must hit (a half-written
/// checkpoint).
void reached(const char* event);

} // namespace grokkit::test_hook
