#!/bin/bash
# build-lab-guest.sh - guest media of the lab stages (bigwrite, perf, pause, migrate, reboot) in
# $OUT/guest (called by build-guests.sh; e2e.sh reruns it alone when guest/lab.stamp is stale):
#   linux-lab.iso   BIOS GRUB -> Debian kernel + busybox initrd (ata_piix, sd_mod) whose /init is below,
#                   with /bin/labperf (guest-perf.c, static) and /sbin/poweroff for `xl shutdown`
#   grub-reboot.iso BIOS GRUB: "GUEST-GRUB-REBOOT", 25 s later "GUEST-GRUB-REBOOTING" and `reboot`
#
# The lab Linux guest, all on COM1, one line per fact:
#   LINUX-GUEST-UP, MODULES-LOADED, LAB-SESSION <nonce> (read from the file disk's 4 KiB block 2,
#   written by dom0, which tags the loop disk LAB-LOOPDISK there), PERF-PORT (20,000 reads of COM1's scratch register), PERF-DISK (64 MiB O_DIRECT = DMA),
#   BIGWRITE-WROTE/BIGWRITE-READ for 4 KiB markers at 0, 1 MiB, 64 MiB and the last MiB of the file
#   image (dev=file) and the loop device in dom0 (dev=loop), written O_DIRECT + fsync and read back O_DIRECT,
#   BIGWRITE-DONE, then GUEST-TICK <n> every second.
#   A session block ending in " net" (the net stages) runs /bin/labnet instead of PERF and BIGWRITE:
#   NET-PCI per PCI function (slot, IDs, class, revision, driver; BARs and ROM for NICs), then each NIC alone
#   on 10.99.0.0/24 (the MAC's last byte K: address .20+K): NET-IF (driver, carrier, ping of dom0's
#   10.99.0.1), NET-MD5 of 1 MiB random, NET-SENT of it to port 5000+10K, for K>0 also bulk=N bytes
#   (the session block's, 64 MiB by default) to 5001+10K (labperf send: MB/s), then NET-DONE.
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
: > "$I/lib/modules/order"
for m in $MODULES; do chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"; done |
while read -r kind path _; do
  [ "$kind" = insmod ] || continue
  b=$(basename "$path")
  grep -qx "$b" "$I/lib/modules/order" && continue
  cp "$ROOT$path" "$I/lib/modules/$b"
  echo "$b" >> "$I/lib/modules/order"
done
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
  [ $k -gt 0 ] && labperf send $S $((5001 + 10 * k)) ${BULK:-67108864} bulk-$k
  rm -f /tmp/net.bin
  ip addr flush dev $i; ip link set $i down
done
echo "NET-DONE"
EOF
chmod 755 "$I/bin/labnet"

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
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m 2>/tmp/err || echo "INSMOD-FAILED $m $(cat /tmp/err)"
done
echo "MODULES-LOADED uptime=$(up)"
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

case "$ctl0" in *" net bulk="*) NETRUN=1; BULK=${ctl0##*bulk=} labnet;; *) NETRUN="";; esac
if [ -z "$NETRUN" ]; then
labperf port 0x3ff 20000
labperf read /dev/$FILE_DEV 67108864
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

n=0
while [ $n -lt 3600 ]; do
  n=$((n + 1))
  echo "GUEST-TICK $n uptime=$(up)"
  c=$(blk $FILE_DEV 8192)
  [ "$c" != "$ctl0" ] && case "$c" in LAB-CMD-STOP*) echo "STOP-SEEN tick=$n"; break;; esac
  sleep 1
done
echo "LINUX-GUEST-DONE ticks=$n uptime=$(up)"
sync
poweroff -f
EOF
chmod 755 "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -9) > "$W/initrd.gz"

L=$W/linux-lab
mkdir -p "$L/boot/grub"
cp "$ROOT/boot/vmlinuz-$KVER" "$L/boot/vmlinuz"
cp "$W/initrd.gz" "$L/boot/initrd.gz"
printf '%s\n' "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1" \
  "terminal_input serial console" "terminal_output serial console" \
  'echo "GRUB-LINUX: loading"' "linux /boot/vmlinuz $CMDLINE" "initrd /boot/initrd.gz" \
  'echo "GRUB-LINUX: booting"' boot > "$L/boot/grub/grub.cfg"
grub-mkrescue -o "$OUT/guest/linux-lab.iso" "$L" --modules="serial terminal echo linux iso9660 biosdisk" \
  --locales= --fonts= --themes= > "$W/grub-linux.log" 2>&1 || { cat "$W/grub-linux.log" >&2; exit 1; }
cat "$HERE/build-lab-guest.sh" "$HERE/guest-perf.c" | md5sum | cut -d' ' -f1 > "$OUT/guest/lab.stamp"
ls -la "$OUT/guest/linux-lab.iso" "$OUT/guest/grub-reboot.iso"
