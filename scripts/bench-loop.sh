#!/bin/sh
# Disk write/read throughput of a raw file image used as a plain file (what
# xsdm did before issue 14) against the same file behind a loop device with
# direct I/O (what xsdm does now for writable file images, dm/storage/block-loop.c).
# A benchmark, not a test: it prints a table and never fails on a number.
# Needs root (losetup). Usage: sh scripts/bench-loop.sh [MiB] [dir]
set -eu
MIB=${1:-256}
DIR=${2:-/var/tmp}
IMG=$(mktemp "$DIR/xsdm-bench-loop.XXXXXX")
LOOP=
cleanup() { [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null; rm -f "$IMG"; }
trap cleanup EXIT INT TERM
truncate -s "${MIB}M" "$IMG"
dd if=/dev/zero of="$IMG" bs=1M count="$MIB" conv=notrunc,fdatasync status=none

# MB/s of one dd run (dd's own figure, from its summary line).
rate() { dd "$@" 2>&1 | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /\/s$/) print $(i-1), $i }'; }

run() {   # label target
    t=$2
    printf '| %-22s | %-14s | %-14s | %-14s | %-14s |\n' "$1" \
        "$(rate if=/dev/zero of="$t" bs=4k count=$((MIB * 64)) conv=notrunc,fdatasync)" \
        "$(rate if=/dev/zero of="$t" bs=64k count=$((MIB * 16)) conv=notrunc,fdatasync)" \
        "$(rate if=/dev/zero of="$t" bs=4k count=$((MIB * 4)) oflag=dsync conv=notrunc)" \
        "$(rate if="$t" of=/dev/null bs=64k count=$((MIB * 16)))"
}

echo "image: $MIB MiB in $DIR ($(df -T "$DIR" | awk 'NR==2 { print $2 }')), kernel $(uname -r)"
printf '| %-22s | %-14s | %-14s | %-14s | %-14s |\n' "backend" "write 4k+sync" "write 64k+sync" \
    "write 4k dsync" "read 64k"
printf '|%s|%s|%s|%s|%s|\n' "------------------------" "----------------" "----------------" \
    "----------------" "----------------"
run "plain file" "$IMG"
LOOP=$(losetup --direct-io=on --show -f "$IMG")
run "loop, direct I/O" "$LOOP"
losetup -d "$LOOP"
LOOP=$(losetup --direct-io=off --show -f "$IMG")
run "loop, buffered" "$LOOP"
