#!/bin/sh
# make bench: xsdm against Debian's QEMU on the same machine, in the same run.
#   - exec -> QMP greeting (median of BENCH_RUNS runs, default 21)
#   - VmRSS right after the greeting (median)
#   - xsdm's seccomp allowlist size (distinct syscalls, qtest and Xen policies)
#   - the floor: a do-nothing greeter linked like xsdm (scripts/bench-floor.c);
#     qemu/floor is the best ratio any glibc program can show on this machine
# xsdm runs the full xenfv machine on the qtest accelerator, restricted as
# in production (close-fds, capabilities, rlimits, seccomp); QEMU runs
#   qemu-system-i386 -machine pc -accel tcg -S -nodefaults -display none -m 64
# Both get the QMP socket the way libxl passes it (listening, inherited fd).
# The three programs take turns, one run each, so that a slow spell of the
# machine (a busy neighbour, a CPU migration) falls on all of them alike
# rather than on whichever was measured then.
# Prints a table; never passes or fails on the numbers.
set -eu
build=${1:-build}
runs=${BENCH_RUNS:-21}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "$build" && pwd)
tool="$build/bench-greeting"
qemu=${QEMU:-qemu-system-i386}

cc -O2 -Wall -o "$tool" "$here/bench-greeting.c"
floor="$build/bench-floor"
# Linked like xsdm (a static PIE); if this toolchain cannot, a dynamic PIE,
# and the table says so rather than calling it static.
if cc -O2 -Wall -static-pie -o "$floor" "$here/bench-floor.c" 2>/dev/null; then
    floor_kind="static PIE like xsdm"
else
    cc -O2 -Wall -o "$floor" "$here/bench-floor.c"
    floor_kind="dynamic PIE: the static-pie build failed, so not linked like xsdm"
    echo "bench: cannot build the floor as a static PIE; using a dynamic one"
fi

if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "bench: $qemu not found; installing Debian's qemu-system-x86 (needed only for this comparison)"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 >/dev/null ||
            echo "bench: apt-get install qemu-system-x86 failed"
    fi
fi

# quartile Q (1 or 3) of a column of numbers: the spread behind a median
quartile() { sort -n | awk -v q="$1" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else { i = int(NR * q / 4 + 0.5); if (i < 1) i = 1; print v[i] } }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

out=$(mktemp -d /tmp/xsdm-bench-out-XXXXXX)
trap 'rm -rf "$out"' EXIT

# Time QEMU's own binary. Debian's /usr/bin/qemu-system-i386 is a shell
# script that execs /usr/libexec/qemu-system-i386 (it redirects -xen-*
# options): timing it would add a shell's start-up to QEMU's.
is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | tail -c 3)" = "ELF" ]; }
qemu_path=$(command -v "$qemu" 2>/dev/null || true)
if [ -n "$qemu_path" ] && ! is_elf "$qemu_path"; then
    real=$(sed -n 's/^exe=\(\/[^ ;]*\)$/\1/p' "$qemu_path" | head -n 1)
    if [ -n "$real" ] && is_elf "$real"; then
        echo "bench: $qemu_path is a wrapper script; timing $real"
        qemu_path=$real
    else
        echo "bench: $qemu_path is not an ELF binary and names no binary: QEMU column left empty"
        qemu_path=
    fi
fi
[ -n "$qemu_path" ] || echo "bench: $qemu is not available: QEMU column left empty"
echo "bench: $runs runs each, taking turns"
: > "$out/xsdm"
: > "$out/floor"
: > "$out/qemu"
i=0
while [ "$i" -lt "$runs" ]; do
    "$tool" 1 --qtest -- "$build/xsdm" -accel qtest -machine xenfv -m 64 -S -nodefaults \
        -no-user-config -display none -vnc none >> "$out/xsdm"
    "$tool" 1 -- "$floor" >> "$out/floor"
    if [ -n "$qemu_path" ] && ! "$tool" 1 -- "$qemu_path" -machine pc -accel tcg -S -nodefaults \
        -display none -m 64 >> "$out/qemu"; then
        echo "bench: $qemu did not produce a QMP greeting"
        qemu_path=
        : > "$out/qemu"
    fi
    i=$((i + 1))
done
x_us=$(cut -d' ' -f1 "$out/xsdm" | median)
x_kb=$(cut -d' ' -f2 "$out/xsdm" | median)
f_us=$(cut -d' ' -f1 "$out/floor" | median)
f_kb=$(cut -d' ' -f2 "$out/floor" | median)
q_us=$(cut -d' ' -f1 "$out/qemu" | median)
q_kb=$(cut -d' ' -f2 "$out/qemu" | median)

# The allowlist size, from the table itself (restrict/seccomp.c).
cat > "$out/count.c" <<'EOF'
#include <stdio.h>
#include "restrict/sandbox.h"
int main(void)
{
    printf("%zu %zu\n", seccomp_allowlist_count_for(SECCOMP_POLICY_QTEST),
           seccomp_allowlist_count_for(SECCOMP_POLICY_XEN));
    return 0;
}
EOF
libs=$(pkg-config --libs libseccomp libcap-ng jansson xencontrol xendevicemodel xenforeignmemory \
       xenevtchn xenstore xentoolcore xentoollog 2>/dev/null || echo "-lseccomp -lcap-ng -ljansson")
counts="- -"
if cc -std=c11 -D_GNU_SOURCE -I"$top" -o "$out/count" "$out/count.c" \
    -Wl,--whole-archive "$build/libxsdm.a" -Wl,--no-whole-archive $libs 2>"$out/cc.log"; then
    counts=$("$out/count")
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == 0) print "-"; else printf "%.1fx", b / a }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f ms", v / 1000 }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f MiB", v / 1024 }'; }

echo
printf '%-26s %10s %10s %10s %10s %11s\n' "metric (median of $runs)" "xsdm" "qemu" "qemu/xsdm" "floor" "qemu/floor"
printf '%-26s %10s %10s %10s %10s %11s\n' "exec -> QMP greeting" "$(ms "$x_us")" "$(ms "$q_us")" \
    "$(ratio "$x_us" "$q_us")" "$(ms "$f_us")" "$(ratio "$f_us" "$q_us")"
printf '%-26s %10s %10s %10s %10s %11s\n' "VmRSS after the greeting" "$(mib "$x_kb")" "$(mib "$q_kb")" \
    "$(ratio "$x_kb" "$q_kb")" "$(mib "$f_kb")" "$(ratio "$f_kb" "$q_kb")"
# p25-p75 of the times in ms, "-" when there are none
spread() {
    lo=$(cut -d' ' -f1 "$1" | quartile 1)
    hi=$(cut -d' ' -f1 "$1" | quartile 3)
    awk -v a="$lo" -v b="$hi" 'BEGIN { if (a == "-") print "-"; else printf "%.2f-%.2f", a / 1000, b / 1000 }'
}
printf '%-26s %10s %10s %10s %10s\n' "  middle half, ms" "$(spread "$out/xsdm")" "$(spread "$out/qemu")" "" \
    "$(spread "$out/floor")"
printf '%-34s %14s\n' "allowed syscalls (qtest policy)" "${counts% *}"
printf '%-34s %14s\n' "allowed syscalls (Xen policy)" "${counts#* }"
echo
echo "xsdm:  $build/xsdm -accel qtest -machine xenfv -m 64 -S (restricted, seccomp on)"
echo "qemu:  ${qemu_path:-$qemu} -machine pc -accel tcg -S -nodefaults -display none -m 64"
echo "floor: $floor (accept, greeting, nothing else; $floor_kind)"
