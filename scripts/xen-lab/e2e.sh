#!/bin/bash
# e2e.sh - `make e2e`: boot Xen 4.17 + a Debian dom0 under qemu-system-x86_64 (TCG, nested SVM/NPT),
# run the stages of scripts/xen-lab/dom0-run.sh with real xl against qemu-xen and xsdm, print a
# stage table with seconds and end with "N passed, N failed".
#
# Usage: scripts/xen-lab/e2e.sh /abs/build/dir        (make e2e passes it; xsdm and xsdmctl are in it)
# Env:   OUT      image/output dir (default /var/tmp/xsdm-xen-lab; built by build-image.sh if absent)
#        TESTS    stages to run (default "1 2 3 4 5 6 7 8 9 disks vnc bigwrite perf pause migrate reboot
#                 pvhvm vif-default nic-rtl8139 nic-e1000 nic-migrate vif-netns libvirt fbcon"; 4-7 need 3, 8 needs 1 and 2; 9 and
#                 vif-netns need $1/xsdmctl; stage 3 also reports its poweroff as "3p"; the named ones
#                 run on both DMs, qemu-xen first; the net stages share one Linux boot per DM)
#        TIMEOUT  wall-clock limit of the outer QEMU in seconds (default 4200: every stage takes ~50 min)
#        STALL    stop the outer QEMU when its console has been silent this long (default 300 s; dom0 prints a heartbeat every 60 s)
#        SMP MEM CPU  outer machine (defaults: 1 CPU when a Linux stage runs, else 2; 3072 MiB;
#                 qemu64,+svm,+npt: Debian's Xen needs NPT for HVM)
#        XSDM_LOG=debug  passed to xsdm in dom0
#        L_TIMEOUT (1500 s: stage 3 boot limit), L_ISO (linux.iso; linux-verbose.iso = kernel log on COM1)
#        NET_BULK_MB (16: the nic-* stages' guest -> dom0 transfer for MB/s; at the bed's ~0.3 MB/s 64 MiB costs
#                 3.5 min per NIC and DM, 14 min of CI for one figure)
# Exit:  0  every selected stage printed exactly one PASS (and nothing else);
#        1  anything else once dom0 is up: a FAIL or SKIP, a selected stage with no verdict, a stage
#           that was not selected, a dom0 that stopped mid-run (timeout, stall, crash);
#        2  the bed never came up: image build, outer boot, dom0 or its Xen daemons never up.
#           .ci/run retries the bed once on 2 and fails if it still cannot come up.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-}
OUT=${OUT:-/var/tmp/xsdm-xen-lab}
TESTS=${TESTS:-1 2 3 4 5 6 7 8 9 disks vnc bigwrite perf pause migrate reboot pvhvm vif-default nic-rtl8139 nic-e1000 nic-migrate vif-netns libvirt fbcon}
TIMEOUT=${TIMEOUT:-4200}
STALL=${STALL:-300}
CPU=${CPU:-qemu64,+svm,+npt}
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
MEM=${MEM:-3072}
DOM0_MEM=${DOM0_MEM:-1024M}
# With two emulated CPUs a Linux HVM guest saw spurious triple faults in the reference bed.
case " $TESTS " in *" 3 "*|*" 4 "*|*" 5 "*|*" 6 "*|*" 7 "*|*" bigwrite "*|*" perf "*|*" pause "*|*" migrate "*|*" reboot "*|*" pvhvm "*|*" vif-"*|*" nic-"*|*" fbcon "*) SMP=${SMP:-1};; esac
SMP=${SMP:-2}

infra() { # the bed never came up: never a pass (exit 2; .ci/run retries once)
  echo "e2e: INFRASTRUCTURE FAILURE: the bed did not come up: $*"
  echo "0 passed, 0 failed (infrastructure failure: $*)"
  exit 2
}
broken() { # a failure of what is under test or of the run itself, before any stage ran
  echo "e2e: FAILED: $*"
  echo "0 passed, 1 failed ($*)"
  exit 1
}

# ---- verdict (also `e2e.sh --judge RUNDIR`: judge a finished run again from its console.log)
verdict() {
  grep -q 'LAB: .*dom0 userspace up' "$RUN/console.log" || infra "dom0 never reached userspace (see $RUN/console.log)"
  grep -q 'LAB: .*BED-UP' "$RUN/console.log" || infra "dom0 is up but Xen's toolstack is not (xenstored/xl info, see $RUN/console.log)"
  VERDICT_RE='LAB: \[[0-9. ]+\] STAGE [^ ]+ (PASS|FAIL|SKIP) secs='
  {
    echo "run: $RUN  (outer wall ${WALL}s, smp=$SMP mem=$MEM)"
    printf '%-6s %-5s %8s  %s\n' stage verdict seconds evidence
    grep -a -E "$VERDICT_RE" "$RUN/console.log" |
      sed -E 's/.*STAGE ([^ ]+) (PASS|FAIL|SKIP) secs=([0-9.]+) ?(.*)/\1|\2|\3|\4/' |
      while IFS='|' read -r s v t e; do printf '%-6s %-5s %8s  %s\n' "$s" "$v" "$t" "$e"; done
    if [ -s "$RUN/results/table.txt" ]; then echo; cat "$RUN/results/table.txt"; fi
  } | tee "$RUN/summary.txt"
  # Exactly the selected stages, each with exactly one verdict, and that verdict PASS. Stage 3 also
  # owns "3p" (the guest's poweroff).
  expect=""
  for t in $TESTS; do expect="$expect $t"; [ "$t" = 3 ] && expect="$expect 3p"; done
  grep -a -E "$VERDICT_RE" "$RUN/console.log" | sed -E 's/.*STAGE ([^ ]+) (PASS|FAIL|SKIP) .*/\1 \2/' > "$RUN/verdicts.txt"
  np=0 nf=0 problems=""
  for t in $expect; do
    v=$(awk -v t="$t" '$1==t{print $2}' "$RUN/verdicts.txt" | xargs)
    case "$v" in
    PASS) np=$((np + 1));;
    "") nf=$((nf + 1)); problems="$problems; stage $t printed no verdict";;
    *) nf=$((nf + 1)); problems="$problems; stage $t: $v";;
    esac
  done
  for t in $(awk '{print $1}' "$RUN/verdicts.txt" | sort -u); do
    case " $expect " in *" $t "*) ;; *) nf=$((nf + 1)); problems="$problems; stage $t ran but was not selected";; esac
  done
  if ! grep -q 'LAB: .*ALL-STAGES-DONE' "$RUN/console.log"; then
    if [ $stalled = 1 ]; then why="outer machine stalled: console silent for ${STALL}s"
    elif [ "$QRC" = 124 ]; then why="outer QEMU timed out after ${TIMEOUT}s"
    else why="dom0 stage script did not finish (qemu rc=$QRC)"; fi
    nf=$((nf + 1)); problems="$problems; dom0 stopped mid-run: $why"
  fi
  [ -s "$RUN/unstalled" ] && cat "$RUN/unstalled"
  [ -z "$problems" ] || echo "e2e: FAILED:${problems#;}"
  echo "$np passed, $nf failed"
  [ -z "$problems" ] && [ "$nf" = 0 ] && [ "$np" -gt 0 ]
}

# judge_exit: 0 on a pass. A frozen outer machine, or one out of time, is the bed's failure, not a stage's, when no stage
# had failed before it and dom0's heartbeat (every 60 s) had been running: exit 2, like a bed that
# never came up (e2e-boots.sh resumes). Anything else that is not a pass is exit 1.
judge_exit() {
  verdict && exit 0
  if { [ $stalled = 1 ] || [ -e "$RUN/timedout" ]; } && ! grep -q ' FAIL$' "$RUN/verdicts.txt" &&
     grep -q 'LAB: .*alive: domains' "$RUN/console.log"; then
    if [ $stalled = 1 ]; then
      echo "e2e: INFRASTRUCTURE FAILURE: the outer machine froze (console and dom0's heartbeat silent for ${STALL}s); no stage had failed"
    else
      echo "e2e: INFRASTRUCTURE FAILURE: the outer machine ran out of time (TIMEOUT) before the last stage; no stage had failed"
    fi
    exit 2
  fi
  exit 1
}

# --remaining RUNDIR: the stages of that run still owed a PASS, with the stages each needs from the
# same boot (STAGE_GROUPS: 4-7 run on stage 3's guest, 8 tabulates 1 and 2), in the run's order.
# After a bed that froze, .ci/run runs only these once more; a stage that printed FAIL is never
# retried (the freeze is exit 2 only when no stage had failed).
STAGE_GROUPS="1,2,8 3,6,7,4,5"
remaining() {
  local run=$1 t g owed="" out=""
  passed() { grep -qx "$1 PASS" "$run/verdicts.txt" 2>/dev/null; }
  for t in $(cat "$run/tests" 2>/dev/null || echo "$TESTS"); do
    passed $t && { [ $t != 3 ] || passed 3p; } && continue
    owed="$owed $t"
    for g in $STAGE_GROUPS; do
      case ",$g," in *",$t,"*) owed="$owed ${g//,/ }";; esac
    done
  done
  for t in $(cat "$run/tests" 2>/dev/null || echo "$TESTS"); do
    case " $owed " in *" $t "*) out="$out $t";; esac
  done
  echo "${out# }"
}
if [ "${1:-}" = --remaining ]; then remaining "${2:?usage: $0 --remaining RUNDIR}"; exit 0; fi

if [ "${1:-}" = --judge ]; then
  JUDGE=1 RUN=${2:?usage: $0 --judge RUNDIR}; TESTS=$(cat "$RUN/tests" 2>/dev/null || echo "$TESTS")
  stalled=0; [ -e "$RUN/stalled" ] && stalled=1
  QRC=judged WALL=? SMP=${SMP:-?}
  judge_exit
fi
[ -n "${JUDGE:-}" ] || [ "$(id -u)" = 0 ] || infra "needs root (image build, debugfs, outer QEMU)"
[ -n "$BUILD" ] && [ -x "$BUILD/xsdm" ] || broken "no xsdm binary: usage: $0 /abs/build/dir (with xsdm in it)"
# the image is rebuilt when the scripts that make dom0 changed (build-image.sh keeps what it can)
IMG_SUM=$(cat "$HERE/build-image.sh" "$HERE/dom0-init.sh" | md5sum | cut -d' ' -f1)
if [ ! -e "$OUT/.image-built" ] || [ "${REBUILD:-0}" = 1 ] || [ "$(sed -n 2p "$OUT/.image-built")" != "$IMG_SUM" ]; then
  echo "e2e: building the image in $OUT"
  OUT=$OUT "$HERE/build-image.sh" || infra "build-image.sh failed"
fi
# the lab stages' media (build-lab-guest.sh) are rebuilt alone when their sources changed
if [ "$(cat "$OUT/guest/lab.stamp" 2>/dev/null)" != "$(cat "$HERE/build-lab-guest.sh" "$HERE/guest-perf.c" | md5sum | cut -d' ' -f1)" ]; then
  OUT=$OUT "$HERE/build-lab-guest.sh" > /dev/null || infra "build-lab-guest.sh failed"
fi
# media added after an image was built: build just those (no need to rebuild dom0)
for f in guest/disk-grub.img guest/cd-grub.iso guest/disk2.img; do
  [ -e "$OUT/$f" ] && continue
  echo "e2e: building the disks-stage media in $OUT/guest"
  OUT=$OUT PARTS=disks "$HERE/build-guests.sh" > /dev/null || infra "build-guests.sh (disks media) failed"
  break
done
if [ ! -e "$OUT/guest/vnc-grub.iso" ]; then
  echo "e2e: building the vnc-stage media in $OUT/guest"
  OUT=$OUT PARTS=vnc "$HERE/build-guests.sh" > /dev/null || infra "build-guests.sh (vnc media) failed"
fi
for f in xen vmlinuz initrd.img dom0.img guest/grub.iso guest/grub2.iso guest/linux.iso guest/linux-cd2.iso \
         guest/linux-lab.iso guest/linux-pvhvm.iso guest/linux-fb.iso guest/grub-reboot.iso guest/disk-grub.img guest/cd-grub.iso guest/disk2.img guest/vnc-grub.iso; do
  [ -e "$OUT/$f" ] || infra "missing $OUT/$f (REBUILD=1 to rebuild)"
done
command -v "$QEMU_BIN" >/dev/null && command -v debugfs >/dev/null || infra "$QEMU_BIN/debugfs missing"

RUN=$OUT/runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
echo "$TESTS" > "$RUN/tests"
echo "e2e: run dir $RUN; stages: $TESTS"

# ---- test disk (/dev/vdb in dom0): stage script, xsdm, media, knobs; results come back on it
TD=$(mktemp -d)
trap 'rm -rf "$TD"' EXIT
install -m 0755 "$HERE/dom0-run.sh" "$TD/run.sh"
install -m 0755 "$BUILD/xsdm" "$TD/xsdm"
# stage 9 runs xsdmctl as xl's device_model_override wrapper (it finds xsdm beside itself in dom0)
if [ -x "$BUILD/xsdmctl" ]; then install -m 0755 "$BUILD/xsdmctl" "$TD/xsdmctl"
else echo "e2e: no $BUILD/xsdmctl: stage 9 will fail"; fi
cp "$OUT"/guest/*.iso "$OUT"/guest/*.img "$TD/"
echo "$TESTS" > "$TD/tests"
{ echo "XSDM_LOG=${XSDM_LOG:-}"; echo "L_TIMEOUT=${L_TIMEOUT:-1500}"; echo "L_ISO=${L_ISO:-linux.iso}"
  echo "NET_BULK_MB=${NET_BULK_MB:-16}"; } > "$TD/env"
mkdir -p "$TD/results"
truncate -s 1G "$RUN/test.img"
mkfs.ext4 -q -F -L labtest -d "$TD" "$RUN/test.img" || infra "mkfs of the test disk failed"
qemu-img create -q -f qcow2 -b "$OUT/dom0.img" -F raw "$RUN/dom0.qcow2" || infra "qemu-img failed"

# conswitch=ax: the serial console's input stays with Xen (its debug keys), never dom0's: the
# watchdog below writes a NUL there every 10 s (no key handler: Xen ignores it)
XEN_ARGS="dom0_mem=$DOM0_MEM,max:$DOM0_MEM dom0_max_vcpus=$SMP loglvl=all guest_loglvl=all com1=115200,8n1 console=com1 conswitch=ax noreboot"
DOM0_ARGS="root=/dev/vda rw console=hvc0 earlyprintk=xen init=/sbin/xsdm-lab-init"
QEMU=("$QEMU_BIN" ${QEMU_FW:+-L "$QEMU_FW"} -machine pc -accel tcg,thread=multi -cpu "$CPU" -smp "$SMP" -m "$MEM"
  -display none -monitor "unix:$RUN/monitor.sock,server=on,wait=off" -serial stdio -no-reboot
  -kernel "$OUT/xen" -append "$XEN_ARGS"
  -initrd "$OUT/vmlinuz $DOM0_ARGS,$OUT/initrd.img"
  -drive "file=$RUN/dom0.qcow2,if=virtio,format=qcow2,cache=unsafe"
  -drive "file=$RUN/test.img,if=virtio,format=raw,cache=unsafe")
printf '%q ' "${QEMU[@]}" > "$RUN/qemu-cmdline.txt"

# monitor CMD...: the outer QEMU's human monitor (its socket), replies appended to stall-monitor.txt
monitor() {
  perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => shift) or exit 1; $s->blocking(0);
    for my $c (@ARGV) {
      print $s "$c\n"; select(undef, undef, undef, 1.5);
      while (defined(my $l = <$s>)) { print $l }
    }' "$RUN/monitor.sock" "$@" >> "$RUN/stall-monitor.txt" 2>&1
}
labs() { awk '/LAB: /{n++} END{print n+0}' "$RUN/console.log" 2>/dev/null; }
# unstall: the console has been silent for STALL seconds. Record where the outer vCPU is, then try
# to get it going again without losing the run: stop/cont through the monitor (the vCPU leaves its
# translated-code loop and looks at its interrupts afresh), then an NMI. It went on if dom0 prints
# again. If not: Xen's own account through its serial debug keys (run queues, domains, timers,
# every CPU's stack), and the caller stops the machine.
unstall() {
  local l0 how
  l0=$(labs)
  echo "== $(date +%T) console silent for ${STALL}s" >> "$RUN/stall-monitor.txt"
  monitor "info cpus" "info registers" "info registers" "info lapic" "info irq" "info pic"
  for how in "stop" "nmi"; do
    if [ $how = stop ]; then monitor stop; sleep 1; monitor cont; else monitor nmi; fi
    for _ in $(seq 30); do
      sleep 2
      if [ "$(labs)" -gt "$l0" ]; then
        echo "e2e: outer machine silent for ${STALL}s went on after a monitor $how" | tee -a "$RUN/unstalled"
        return 0
      fi
    done
  done
  for k in r q a d; do printf '%s' $k >&7; sleep 5; done
  sleep 10
  return 1
}

T0=$(date +%s.%N)
# the serial console's input: a FIFO this script holds open (the keepalive NULs, unstall's debug keys)
mkfifo "$RUN/serial.in" && exec 7<>"$RUN/serial.in"
# console lines stamped with seconds since the outer QEMU started
timeout "$TIMEOUT" "${QEMU[@]}" <&7 2>"$RUN/qemu.stderr" \
  > >(perl -MTime::HiRes=time -e '$|=1; $t=shift; while(<STDIN>){ s/\r//g; printf "[%7.1f] %s", time-$t, $_ }' "$T0" \
      > "$RUN/console.log") &
QPID=$!   # the timeout process; it forwards SIGTERM to QEMU
trap 'kill $QPID 2>/dev/null; rm -rf "$TD"' EXIT
done_at="" stalled=0 csize=0 grew_at=$(date +%s) beat=0
while kill -0 $QPID 2>/dev/null; do
  # Xen under TCG was seen asleep for good in its idle loop's HLT with dom0 and a guest runnable in
  # its run queue (run 20261207-161455: the monitor's registers, Xen's 'r' key): the timer
  # interrupt it waited for never came; a byte on its serial line woke it, and it went on. So every
  # 10 s a byte arrives: a NUL, which Xen's console takes as a key with no handler.
  beat=$((beat + 1)); [ $((beat % 5)) = 0 ] && printf '\000' >&7
  # dom0 normally powers the machine off itself; if it does not within 60 s, stop it
  if [ -z "$done_at" ] && grep -q 'LAB-DONE' "$RUN/console.log" 2>/dev/null; then done_at=$(date +%s); fi
  if [ -n "$done_at" ] && [ $(( $(date +%s) - done_at )) -gt 60 ]; then kill $QPID 2>/dev/null; fi
  # a frozen outer machine (console silent, and unstall could not wake it) ends the run early;
  # dom0-run.sh prints a heartbeat every 60 s whatever a stage waits for, so silence means frozen
  n=$(stat -c %s "$RUN/console.log" 2>/dev/null || echo 0)
  if [ "$n" != "$csize" ]; then csize=$n; grew_at=$(date +%s)
  elif [ $(( $(date +%s) - grew_at )) -gt "$STALL" ]; then
    if [ "$(cat "$RUN/unstalled" 2>/dev/null | wc -l)" -lt 5 ] && unstall; then
      csize=$(stat -c %s "$RUN/console.log"); grew_at=$(date +%s)
    else stalled=1; touch "$RUN/stalled"; kill $QPID 2>/dev/null; fi
  fi
  sleep 2
done
wait $QPID
QRC=$?
# out of time with every stage so far passed: e2e-boots.sh gives the rest another boot (judge_exit)
[ "$QRC" = 124 ] && touch "$RUN/timedout"
sleep 1
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.0f", b-a}')
debugfs -R "rdump /results $RUN" "$RUN/test.img" >/dev/null 2>&1 || echo "e2e: could not copy results from the test disk"
ln -sfn "$RUN" "$OUT/runs/latest"

judge_exit
