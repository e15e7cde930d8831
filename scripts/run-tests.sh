#!/bin/sh
# Run every unit/integration test binary in $1/tests and print one closing
# line "N passed, N failed" (suites, as check reports them per binary).
set -u
build=${1:-build}
passed=0
failed=0
failed_names=""
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "=== $name"
    if "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
    fi
done
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
