#!/usr/bin/env bash
# Every plugin README (datasets/*/, plugins/*/, analyses/*/) has the markers
# `<!-- params:begin -->` / `<!-- params:end -->`, and the table between them is the one
# `grokkit plugins --describe <name>` prints. Fix a failure with scripts/update-readme-tables.
# usage: readme_tables.sh GROKKIT_BINARY SOURCE_DIR
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: readme_tables.sh GROKKIT_BINARY SOURCE_DIR" >&2
    exit 2
fi
grokkit="$1"
source_dir="$2"
rc=0
"$source_dir/scripts/update-readme-tables" --check --root "$source_dir" "$grokkit" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "FAIL: plugin README tables are missing or out of date (exit $rc); run" \
         "scripts/update-readme-tables [grokkit binary] and add the markers where they are missing" >&2
    exit 1
fi
echo "PASS: plugin README tables match grokkit plugins --describe"
