# Shared by the e2e scripts (sourced): waiting on events, never on the clock.
# SPDX-License-Identifier: Apache-2.0

# wait_for_line FILE REGEX PID [LIMIT_SECONDS]
# Returns once FILE has a line matching the extended REGEX. Fails when process PID ends first
# (with the file's tail), or after LIMIT_SECONDS (default 300), a bound against hangs only.
wait_for_line() {
    local file="$1" regex="$2" pid="$3" limit="${4:-300}"
    local deadline=$((SECONDS + limit))
    until grep -qE "$regex" "$file" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -qE "$regex" "$file" 2>/dev/null && return 0
            echo "FAIL: process $pid ended before a line matched /$regex/; its output ends:" >&2
            tail -5 "$file" >&2
            return 1
        fi
        if ((SECONDS > deadline)); then
            echo "FAIL: no line matched /$regex/ within $limit s" >&2
            return 1
        fi
        sleep 0.01
    done
}
