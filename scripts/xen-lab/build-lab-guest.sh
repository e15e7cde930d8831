#!/bin/bash
# build-lab-guest.sh - guest media of the lab stages (bigwrite, perf, pause, migrate, reboot) in
# $OUT/guest (called by build-guests.sh; e2e.sh reruns it alone when guest/lab.stamp is stale):
#   linux-lab.iso   BIOS GRUB -> Debian kernel + busybox initrd (ata_piix, sd_mod, sr_mod) whose /init is
#                   below, with /bin/labperf (guest-perf.c, static) and /sbin/poweroff for `xl shutdown`;
#                   a 64 MiB /pad file makes the ISO big enough for the CD-ROM read benchmark
#   linux-pvhvm.iso the same kernel and initrd booted the standard way (no xen_emul_unplug=never, so the
#                   kernel unplugs the emulated IDE disks and NICs through the platform device) with
#                   labmode=pvhvm: /init runs /bin/lab-pvhvm (below) with xen-blkfront and xen-netfront
#   linux-fb.iso    the same kernel and initrd with labmode=fb: /init runs /bin/lab-fb (below), the
#                   fbcon stage's guest (no disk, no NIC: the screen, the keyboard and COM1)
#   grub-reboot.iso BIOS GRUB: "GUEST-GRUB-REBOOT", 25 s later "GUEST-GRUB-REBOOTING" and `reboot`
#
# The lab Linux guest, all on COM1, one line per fact:
#   LINUX-GUEST-UP, MODULES-LOADED, LAB-SESSION <nonce> (read from the file disk's 4 KiB block 2,
#   written by dom0, which tags the loop disk LAB-LOOPDISK there), PERF-PORT (20,000 reads of COM1's scratch register), PERF-DISK (64 MiB O_DIRECT = DMA),
#   PERF-CD (64 MiB O_DIRECT from the CD-ROM),
#   BIGWRITE-WROTE/BIGWRITE-READ for 4 KiB markers at 0, 1 MiB, 64 MiB and the last MiB of the file
#   image (dev=file) and the loop device in dom0 (dev=loop), written O_DIRECT + fsync and read back O_DIRECT,
#   BIGWRITE-DONE, then GUEST-TICK <n> every second while `labperf dmacheck` (DMACHECK-READY, then
#   DMACHECK reads= verified= mismatches= every 2 s) reads the 32 MiB of random bytes dom0 put at
#   128 MiB of the file disk by DMA and checks each buffer a ring later (the migrate stage: the DM's
#   DMA writes logged as dirty).
#   A session block ending in " net" (the net stages) runs /bin/labnet instead of PERF and BIGWRITE:
#   NET-PCI per PCI function (slot, IDs, class, revision, driver; BARs and ROM for NICs), then each NIC alone
#   on 10.99.0.0/24 (the MAC's last byte K: address .20+K): NET-IF (driver, carrier, ping of dom0's
#   10.99.0.1), NET-MD5 of 1 MiB random, NET-SENT of it to port 5000+10K, for K>0 also bulk=N bytes
#   (the session block's, NET_BULK_MB: 16 MiB by default) to 5001+10K (labperf send: MB/s), then NET-DONE.
#   The session block names the NICs that send the bulk transfer (bulkk=K,K...). With " mig" in it
#   (the nic-migrate stage) the guest then brings every NIC up at once, each on its own subnet
#   (10.99.100+K.2/24, ARP answered only on the NIC that owns the address) and runs round 0 of
#   /bin/labnet-mig: per NIC, NET-MD5 r=R and NET-SENT of 1 MiB random to 10.99.100+K.1 port
#   5100+10K+R, then NET-ROUND r=R (carrier, carrier_changes, tx_timeouts, kernel log lines about
#   NIC resets, ping, the NIC's rx/tx packet counts during the round), and NET-ROUND-DONE r=R.
#   The NICs are never touched again: a block 2 saying "LAB-CMD-NET round=R" (dom0 writes it after
#   xl restore, after xl migrate) runs round R on them as the restored DM left them.
#   A changed block 2 saying LAB-CMD-STOP ends the loop; `xl shutdown` runs /sbin/poweroff, which
#   prints GUEST-XL-SHUTDOWN first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/var/tmp/xsdm-xen-lab}
ROOT=$OUT/rootfs
KVER=${KVER:-$(ls "$ROOT/lib/modules" | sort -V | tail -n1)}
MODDIR=$ROOT/lib/modules/$KVER
CMDLINE="console=ttyS0,115200 xen_emul_unplug=never panic=10 nokaslr quiet pci=noearly"
MODULES="ata_piix sd_mod"
# the net stages' NICs: 8139cp first (it takes the RTL8139C+, revision 0x20; 8139too the older ones)
MODULES="$MODULES 8139cp 8139too e1000"
MODULES_CD="sr_mod"                     # PERF-CD reads the CD-ROM
PV_MODULES="xen-blkfront xen-netfront"  # the PVHVM session's drivers (lib/modules/order-pv)
PV_CMDLINE="console=ttyS0,115200 panic=10 nokaslr quiet pci=noearly labmode=pvhvm"
# the fbcon stage: both DRM drivers of the VGAs xl's configs give (bochs: stdvga, xsdm's for any
# vga; cirrus: qemu-xen's default), no boot logo, no blanking, no cursor (a capture is the whole screen)
FB_MODULES="bochs cirrus"
FB_CMDLINE="console=ttyS0,115200 panic=10 nokaslr quiet pci=noearly labmode=fb logo.nologo consoleblank=0 vt.global_cursor_default=0"
[ -e "$ROOT/boot/vmlinuz-$KVER" ] && [ -d "$MODDIR" ] || { echo "no kernel $KVER in $ROOT" >&2; exit 2; }
mkdir -p "$OUT/guest"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# ---- grub-reboot.iso
mkdir -p "$W/reboot/boot/grub"
cat > "$W/reboot/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
echo "GUEST-GRUB-REBOOT"
sleep 25
echo "GUEST-GRUB-REBOOTING"
reboot
EOF
grub-mkrescue -o "$OUT/guest/grub-reboot.iso" "$W/reboot" --modules="serial terminal sleep echo reboot" \
  --locales= --fonts= --themes= > "$W/grub-reboot.log" 2>&1 || { cat "$W/grub-reboot.log" >&2; exit 1; }

# ---- linux-lab.iso: initrd with busybox, the modules in dependency order, labperf
I=$W/initrd
mkdir -p "$I"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
cp /bin/busybox "$I/bin/busybox"
for a in $("$I/bin/busybox" --list); do [ -e "$I/bin/$a" ] || ln -s busybox "$I/bin/$a"; done
mknod -m 600 "$I/dev/console" c 5 1
mknod -m 666 "$I/dev/null" c 1 3
gcc -static -s -O2 -Wall -Wextra -Werror -o "$I/bin/labperf" "$HERE/guest-perf.c"
add_modules() { # ORDER-FILE MODULE...: each module after its dependencies, in load order
  local order=$I/lib/modules/$1; shift
  touch "$order"
  for m in "$@"; do chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"; done |
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    b=$(basename "$path")
    grep -qx "$b" "$order" && continue
    cp "$ROOT$path" "$I/lib/modules/$b"
    echo "$b" >> "$order"
  done
}
add_modules order $MODULES $MODULES_CD
add_modules order-pv $PV_MODULES
add_modules order-fb $FB_MODULES
# the kernel runs /sbin/poweroff when the toolstack asks for a poweroff (xl shutdown)
cat > "$I/sbin/poweroff" <<'EOF'
#!/bin/sh
echo "GUEST-XL-SHUTDOWN uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0
sync
exec /bin/poweroff -f
EOF
chmod 755 "$I/sbin/poweroff"
# the net stages' guest side (see the header)
cat > "$I/bin/labnet" <<'EOF'
#!/bin/sh
S=10.99.0.1
for d in /sys/bus/pci/devices/*; do
  l=$(readlink $d/driver); drv=${l##*/}; c=$(cat $d/class); bars=""
  case $c in 0x02*) bars=" bars=$(head -n 6 $d/resource | awk 'NR <= 7 && $1 != "0x0000000000000000" { sub(/^0x0*/, "0x", $1); sub(/^0x0*/, "0x", $2); printf "%d:%s-%s,", NR - 1, $1, $2 }')";; esac
  echo "NET-PCI ${d##*/} $(cat $d/vendor):$(cat $d/device) sub=$(cat $d/subsystem_vendor):$(cat $d/subsystem_device) class=$c rev=$(cat $d/revision) drv=${drv:--}$bars"
done
ip link set lo up
ifs=$(ls /sys/class/net | grep -v '^lo$')
for i in $ifs; do
  mac=$(cat /sys/class/net/$i/address); k=$((0x${mac##*:}))
  l=$(readlink /sys/class/net/$i/device/driver); drv=${l##*/}
  l=$(readlink /sys/class/net/$i/device); pci=${l##*/}
  for j in $ifs; do ip addr flush dev $j; ip link set $j down; done
  ip addr add 10.99.0.$((20 + k))/24 dev $i && ip link set $i up
  n=0
  while [ $n -lt 40 ] && [ "$(cat /sys/class/net/$i/carrier 2>/dev/null)" != 1 ]; do sleep 0.5; n=$((n + 1)); done
  n=0 rx=0
  while [ $n -lt 3 ] && [ "${rx:-0}" = 0 ]; do
    rx=$(ping -c 3 -W 3 $S 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'); n=$((n + 1))
  done
  echo "NET-IF k=$k mac=$mac if=$i drv=${drv:--} pci=$pci carrier=$(cat /sys/class/net/$i/carrier 2>/dev/null) ping=${rx:-0}/3 tries=$n"
  head -c 1048576 /dev/urandom > /tmp/net.bin
  echo "NET-MD5 k=$k md5=$(md5sum /tmp/net.bin | cut -d' ' -f1)"
  labperf send $S $((5000 + 10 * k)) /tmp/net.bin sum-$k
  case ",$BULKK," in *",$k,"*) labperf send $S $((5001 + 10 * k)) ${BULK:-67108864} bulk-$k;; esac
  rm -f /tmp/net.bin
  ip addr flush dev $i; ip link set $i down
done
case " $NETMODE " in *" mig "*) labnet-mig up; labnet-mig round 0;; esac
echo "NET-DONE"
EOF
chmod 755 "$I/bin/labnet"
# the nic-migrate stage's rounds (see the header): `labnet-mig up`, then `labnet-mig round R` with
# the NICs as they are (no ip link, no driver reload between rounds: a reset would hide lost state)
cat > "$I/bin/labnet-mig" <<'EOF'
#!/bin/sh
ifs=$(ls /sys/class/net | grep -v '^lo$')
kof() { local mac; mac=$(cat /sys/class/net/$1/address); echo $((0x${mac##*:})); }
case $1 in
up)
  # one subnet per NIC and ARP answered only by the NIC that owns the address: dom0's replies for
  # NIC K come back through NIC K, never through another NIC of the guest
  echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
  echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce
  for i in $ifs; do
    k=$(kof $i)
    ip addr flush dev $i; ip addr add 10.99.$((100 + k)).2/24 dev $i && ip link set $i up
  done
  for i in $ifs; do
    n=0
    while [ $n -lt 40 ] && [ "$(cat /sys/class/net/$i/carrier 2>/dev/null)" != 1 ]; do sleep 0.5; n=$((n + 1)); done
  done;;
round)
  r=$2
  for i in $ifs; do
    k=$(kof $i) d=/sys/class/net/$i
    S=10.99.$((100 + k)).1
    l=$(readlink $d/device/driver); drv=${l##*/}
    rx0=$(cat $d/statistics/rx_packets) tx0=$(cat $d/statistics/tx_packets)
    n=0 rx=0
    while [ $n -lt 3 ] && [ "${rx:-0}" = 0 ]; do
      rx=$(ping -c 3 -W 3 $S 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'); n=$((n + 1))
    done
    head -c 1048576 /dev/urandom > /tmp/net.bin
    echo "NET-MD5 r=$r k=$k md5=$(md5sum /tmp/net.bin | cut -d' ' -f1)"
    labperf send $S $((5100 + 10 * k + r)) /tmp/net.bin round$r-$k
    rm -f /tmp/net.bin
    tmo=$(cat $d/queues/tx-*/tx_timeout 2>/dev/null | awk '{s += $1} END {print s + 0}')
    klog=$(dmesg | grep -E "$i|${drv:-$i}" | grep -c -i -E 'reset|timed out|timeout|watchdog|hang')
    echo "NET-ROUND r=$r k=$k if=$i drv=${drv:--} carrier=$(cat $d/carrier 2>/dev/null) carrier_changes=$(cat $d/carrier_changes) tx_timeouts=$tmo reset_log=$klog ping=${rx:-0}/3 tries=$n rx_pkts=$(($(cat $d/statistics/rx_packets) - rx0)) tx_pkts=$(($(cat $d/statistics/tx_packets) - tx0))"
  done
  echo "NET-ROUND-DONE r=$r";;
esac
EOF
chmod 755 "$I/bin/labnet-mig"

cat > "$I/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# no kernel messages on the console: each byte is an ioreq round trip, and the failing writes of
# a DM that loses them would flood it with libata's error handling
dmesg -n 1
up() { cut -d' ' -f1 /proc/uptime; }
echo "LINUX-GUEST-UP uptime=$(up) kernel=$(uname -r)"
case " $(cat /proc/cmdline) " in *" labmode=fb "*) exec /bin/lab-fb;; esac
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m 2>/tmp/err || echo "INSMOD-FAILED $m $(cat /tmp/err)"
done
echo "MODULES-LOADED uptime=$(up)"
case " $(cat /proc/cmdline) " in *" labmode=pvhvm "*) exec /bin/lab-pvhvm;; esac
i=0
while [ $i -lt 120 ] && ! { [ -b /dev/sda ] && [ -b /dev/sdb ]; }; do sleep 0.5; i=$((i + 1)); done
blk() { # the 4 KiB block at byte offset $2 of /dev/$1, first line, without NULs (O_DIRECT)
  dd if=/dev/$1 bs=4096 skip=$(($2 / 4096)) count=1 iflag=direct 2>/dev/null | tr -d '\000' | head -n1
}
# which disk is which (sd names follow probe order): dom0 tagged block 2 of each
FILE_DEV="" LOOP_DEV=""
for dev in sda sdb; do
  [ -b /dev/$dev ] || continue
  case "$(blk $dev 8192)" in LAB-SESSION*) FILE_DEV=$dev;; LAB-LOOPDISK*) LOOP_DEV=$dev;; esac
done
[ -n "$FILE_DEV" ] || { echo "LAB-NO-DISK"; sleep 5; poweroff -f; }
ctl0=$(blk $FILE_DEV 8192)
echo "LAB-SESSION ${ctl0#LAB-SESSION } file=$FILE_DEV loop=$LOOP_DEV uptime=$(up)"

case "$ctl0" in
*" net "*" bulk="*) NETRUN=1
  BULK=${ctl0##*bulk=} BULKK=$(echo "$ctl0" | sed -n 's/.* bulkk=\([0-9,]*\).*/\1/p') NETMODE=$ctl0 labnet;;
*) NETRUN="";;
esac
if [ -z "$NETRUN" ]; then
# 3 s of rest after each phase: dom0 samples the DM's counters when it sees a phase's line
labperf port 0x3ff 20000
sleep 3
labperf read /dev/$FILE_DEV 67108864
sleep 3
i=0
while [ $i -lt 40 ] && [ ! -b /dev/sr0 ]; do sleep 0.5; i=$((i + 1)); done
labperf read /dev/sr0 67108864 PERF-CD
sleep 3
echo "PERF-DONE uptime=$(up)"

# the file image, then the loop device
for d in file:$FILE_DEV loop:$LOOP_DEV; do
  tag=${d%%:*} dev=${d#*:}
  [ -n "$dev" ] || continue
  S=$(blockdev --getsize64 /dev/$dev)
  for off in 0 1048576 67108864 $((S - 1048576)); do
    M="BIGWRITE-MARKER dev=$tag off=$off rnd=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    { printf '%s\n' "$M"; head -c $((4095 - ${#M})) /dev/zero; } > /tmp/blk
    if dd if=/tmp/blk of=/dev/$dev bs=4096 seek=$((off / 4096)) count=1 oflag=direct conv=notrunc,fsync 2>/tmp/err
    then echo "BIGWRITE-WROTE dev=$tag off=$off $M"
    else echo "BIGWRITE-WRITE-FAILED dev=$tag off=$off $(tail -n1 /tmp/err)"; fi
    R=$(blk $dev $off)
    if [ "$R" = "$M" ]; then echo "BIGWRITE-READ dev=$tag off=$off ok"
    else echo "BIGWRITE-READ dev=$tag off=$off MISMATCH [$(echo "$R" | cut -c1-60)]"; fi
  done
done
echo "BIGWRITE-DONE uptime=$(up)"
fi

# DMA into guest RAM all along (the migrate stage): 32 MiB at 128 MiB, past every marker above
[ -n "$NETRUN" ] || labperf dmacheck /dev/$FILE_DEV 134217728 33554432 &
n=0
while [ $n -lt 3600 ]; do
  n=$((n + 1))
  echo "GUEST-TICK $n uptime=$(up)"
  c=$(blk $FILE_DEV 8192)
  [ "$c" != "$ctl0" ] && case "$c" in
    LAB-CMD-STOP*) echo "STOP-SEEN tick=$n"; break;;
    # the nic-migrate stage: each round once, on the NICs as they are
    "LAB-CMD-NET round="*) r=${c#LAB-CMD-NET round=}; r=${r%% *}
      [ "$r" = "${NETDONE:-}" ] || { NETDONE=$r; labnet-mig round $r; };;
  esac
  sleep 1
done
echo "LINUX-GUEST-DONE ticks=$n uptime=$(up)"
sync
poweroff -f
EOF
chmod 755 "$I/init"

# the PVHVM session, all on COM1: PVHVM-UNPLUG (SCSI disks and CD-ROMs libata found, RTL8139s on PCI),
# PVHVM-DISK (xvda's driver, block 2 as dom0 wrote it: "LAB-SESSION <nonce> peer=<dom0 addr>
# ip=<guest addr/prefix>"), PVHVM-WROTE/PVHVM-READ (a marker at 64 MiB, O_DIRECT + fsync, read
# back), PVHVM-NET (the netfront interface pings dom0's bridge address), PVHVM-DONE, then poweroff
cat > "$I/bin/lab-pvhvm" <<'EOF'
#!/bin/sh
up() { cut -d' ' -f1 /proc/uptime; }
blk() { dd if=/dev/$1 bs=4096 skip=$(($2 / 4096)) count=1 iflag=direct 2>/dev/null | tr -d '\000' | head -n1; }
drv() { basename "$(readlink $1/device/driver 2>/dev/null)"; }
for m in $(cat /lib/modules/order-pv); do
  insmod /lib/modules/$m 2>/tmp/err || echo "INSMOD-FAILED $m $(cat /tmp/err)"
done
echo "PVHVM-MODULES-LOADED uptime=$(up)"
i=0
while [ $i -lt 120 ] && [ ! -b /dev/xvda ]; do sleep 0.5; i=$((i + 1)); done
# the CD-ROM stays on the IDE bus: once libata has listed it, it has probed the disks too
i=0
while [ $i -lt 40 ] && ! grep -qsx 5 /sys/bus/scsi/devices/*/type; do sleep 0.5; i=$((i + 1)); done
sleep 1
ata=$(grep -lsx 0 /sys/bus/scsi/devices/*/type | wc -l)
cd=$(grep -lsx 5 /sys/bus/scsi/devices/*/type | wc -l)
nic=$(for d in /sys/bus/pci/devices/*; do echo "$(cat $d/vendor):$(cat $d/device)"; done | grep -c '^0x10ec:0x8139$')
echo "PVHVM-UNPLUG ata-disks=$ata cdroms=$cd rtl8139=$nic sd=[$(ls /sys/block | grep '^sd' | xargs)] uptime=$(up)"
if [ -b /dev/xvda ]; then
  S=$(blk xvda 8192)
  echo "PVHVM-DISK dev=xvda driver=$(drv /sys/block/xvda) size=$(blockdev --getsize64 /dev/xvda) block2=[$S]"
  M="PVHVM-MARKER off=67108864 rnd=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  { printf '%s\n' "$M"; head -c $((4095 - ${#M})) /dev/zero; } > /tmp/blk
  if dd if=/tmp/blk of=/dev/xvda bs=4096 seek=16384 count=1 oflag=direct conv=notrunc,fsync 2>/tmp/err
  then echo "PVHVM-WROTE $M"; else echo "PVHVM-WRITE-FAILED $(tail -n1 /tmp/err)"; fi
  R=$(blk xvda 67108864)
  if [ "$R" = "$M" ]; then echo "PVHVM-READ ok"; else echo "PVHVM-READ MISMATCH [$(echo "$R" | cut -c1-60)]"; fi
else
  S=""; echo "PVHVM-DISK none: no /dev/xvda after 60s"
fi
peer=$(echo "$S" | sed -n 's/.* peer=\([^ ]*\).*/\1/p')
addr=$(echo "$S" | sed -n 's/.* ip=\([^ ]*\).*/\1/p')
nif=""
for n in /sys/class/net/*; do [ "$(drv $n)" = vif ] && nif=$(basename $n); done
if [ -n "$nif" ] && [ -n "$peer" ] && [ -n "$addr" ]; then
  ip link set lo up
  ip addr add $addr dev $nif && ip link set $nif up
  got=$(ping -c 3 -w 40 $peer 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
  echo "PVHVM-NET if=$nif driver=vif addr=$addr peer=$peer received=${got:-0}/3 others=[$(ls /sys/class/net | grep -v -x -e lo -e $nif | xargs)]"
else
  echo "PVHVM-NET none: netfront interface [$nif] (all: $(ls /sys/class/net | xargs)), peer [$peer], addr [$addr]"
fi
echo "PVHVM-DONE uptime=$(up)"
sync
poweroff -f
EOF
chmod 755 "$I/bin/lab-pvhvm"
# the fbcon stage's guest, all on COM1 (dom0 reads the screen over VNC and types on its keyboard):
#   phase vga: on the VGA text console (vgacon), tty1 cleared, its first row the glyph line (every
#     character the rows below use: dom0 learns the font's cells from it), its second "FBTEXT vga
#     <random>"; FB-TEXT phase=vga rows= cols= line=[...] glyphs=[...]; then a line typed on tty1
#     (dom0 sends `v` Return over VNC): FB-KEY phase=vga got=[v]
#   phase mig: FB-SEQ-START nonce=<random>, then rows "FBSEQ <n> <first 8 hex of md5('<nonce> <n>')>"
#     on tty1 as fast as it can (and "FB-SEQ <n>" on COM1), n = 1, 2, ..., while dom0 migrates the domain;
#     a line typed on tty1 stops it: FB-KEY phase=mig got=[m] last=<n>
#   phase fb: the DRM drivers loaded, fbcon takes tty1 onto the framebuffer: FB-MODE fb= mode= bpp=
#     vga=<slot> ids= drv=, the same screen as phase vga with "FBTEXT fb <random>", FB-KEY phase=fb,
#     then FB-DONE and poweroff
cat > "$I/bin/lab-fb" <<'EOF'
#!/bin/sh
up() { cut -d' ' -f1 /proc/uptime; }
rnd() { head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
T=/dev/tty1
GLYPHS='0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=.:,/_[]'
screen() { # PHASE
  L="FBTEXT $1 $(rnd)"
  printf '\033[?25l\033[2J\033[H%s\n%s\n' "$GLYPHS" "$L" > $T
  sz=$(stty -F $T size 2>/dev/null)
  echo "FB-TEXT phase=$1 rows=${sz% *} cols=${sz#* } line=[$L] glyphs=[$GLYPHS] uptime=$(up)"
}
key() { read -r k < $T; echo "FB-KEY phase=$1 got=[$k] uptime=$(up)"; }
screen vga
key vga
N=$(rnd)
echo "FB-SEQ-START nonce=$N uptime=$(up)"
( n=0
  while :; do
    n=$((n + 1))
    printf 'FBSEQ %d %s\n' $n "$(printf '%s %d' $N $n | md5sum | cut -c1-8)" > $T
    echo "FB-SEQ $n"
    echo $n > /tmp/seq
  done ) &
D=$!
read -r k < $T
kill $D; wait $D 2>/dev/null
echo "FB-KEY phase=mig got=[$k] last=$(cat /tmp/seq) uptime=$(up)"
for m in $(cat /lib/modules/order-fb); do
  insmod /lib/modules/$m 2>/tmp/err || echo "INSMOD-FAILED $m $(cat /tmp/err)"
done
i=0
while [ $i -lt 120 ] && [ ! -e /sys/class/graphics/fb0 ]; do sleep 0.5; i=$((i + 1)); done
F=/sys/class/graphics/fb0 V=""
for d in /sys/bus/pci/devices/*; do case $(cat $d/class) in 0x0300*) V=$d;; esac; done
l=$(readlink $V/driver 2>/dev/null)
echo "FB-MODE fb=$(cat $F/name 2>/dev/null) mode=$(head -n1 $F/modes 2>/dev/null) bpp=$(cat $F/bits_per_pixel 2>/dev/null) vga=${V##*/} ids=$(cat $V/vendor 2>/dev/null):$(cat $V/device 2>/dev/null) drv=${l##*/} uptime=$(up)"
screen fb
key fb
echo "FB-DONE uptime=$(up)"
sleep 2
poweroff -f
EOF
chmod 755 "$I/bin/lab-fb"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -9) > "$W/initrd.gz"

# lab_iso NAME CMDLINE: $OUT/guest/NAME.iso from the tree $W/NAME, GRUB on COM1 booting the kernel with CMDLINE
lab_iso() {
  printf '%s\n' "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1" \
    "terminal_input serial console" "terminal_output serial console" \
    'echo "GRUB-LINUX: loading"' "linux /boot/vmlinuz $2" "initrd /boot/initrd.gz" \
    'echo "GRUB-LINUX: booting"' boot > "$W/$1/boot/grub/grub.cfg"
  grub-mkrescue -o "$OUT/guest/$1.iso" "$W/$1" --modules="serial terminal echo linux iso9660 biosdisk" \
    --locales= --fonts= --themes= > "$W/grub-$1.log" 2>&1 || { cat "$W/grub-$1.log" >&2; exit 1; }
}
L=$W/linux-lab
mkdir -p "$L/boot/grub"
cp "$ROOT/boot/vmlinuz-$KVER" "$L/boot/vmlinuz"
cp "$W/initrd.gz" "$L/boot/initrd.gz"
cp -r "$L" "$W/linux-pvhvm"
cp -r "$L" "$W/linux-fb"
head -c 67108864 /dev/urandom > "$L/pad"
lab_iso linux-lab "$CMDLINE"
lab_iso linux-pvhvm "$PV_CMDLINE"
lab_iso linux-fb "$FB_CMDLINE"
cat "$HERE/build-lab-guest.sh" "$HERE/guest-perf.c" | md5sum | cut -d' ' -f1 > "$OUT/guest/lab.stamp"
ls -la "$OUT/guest/linux-lab.iso" "$OUT/guest/linux-pvhvm.iso" "$OUT/guest/linux-fb.iso" "$OUT/guest/grub-reboot.iso"
