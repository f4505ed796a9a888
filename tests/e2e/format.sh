#!/usr/bin/env bash
# Every C++ file is formatted by the root .clang-format (Debian's clang-format-14).
# usage: format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
if ! command -v clang-format >/dev/null; then
    echo "clang-format not installed (scripts/install-deps installs it)"; exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.[ch]pp' -not -path './build*')
if clang-format --dry-run --Werror "${files[@]}" 2>"${TMPDIR:-/tmp}/format.log"; then
    echo "formatted: ${#files[@]} files"
else
    grep -o '^[^:]*\.[ch]pp' "${TMPDIR:-/tmp}/format.log" | sort -u | sed 's/^/not formatted: /'
    echo "run: clang-format -i <files>"
    exit 1
fi
