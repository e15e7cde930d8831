#!/bin/sh
# Run every libFuzzer target in $1/fuzz for $2 seconds on its committed
# corpus (tests/fuzz/corpus/<name>/). New inputs go to a scratch dir, so the
# committed corpus only changes by hand; a crash fails the run and its input
# is kept under $1/fuzz/artifacts/ to become a regression test.
set -u
build=${1:-build}
secs=${2:-20}
passed=0
failed=0
mkdir -p "$build/fuzz/artifacts"
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f" | sed 's/^fuzz_//')
    corpus="tests/fuzz/corpus/$name"
    scratch=$(mktemp -d)
    mkdir -p "$corpus"
    echo "=== fuzz_$name (${secs}s)"
    if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$build/fuzz/artifacts/$name-" "$scratch" "$corpus" >"$build/fuzz/$name.log" 2>&1; then
        passed=$((passed + 1))
        tail -n 1 "$build/fuzz/$name.log"
    else
        failed=$((failed + 1))
        tail -n 30 "$build/fuzz/$name.log"
    fi
    rm -rf "$scratch"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
