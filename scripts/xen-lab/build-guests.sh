#!/bin/bash
# build-guests.sh - guest media for the bed (called by build-image.sh; needs $OUT/rootfs for the
# Debian kernel and its modules). Writes into $OUT/guest:
#   grub.iso, grub2.iso  BIOS GRUB ISOs: "GUEST-GRUB-HELLO isoN", then "GUEST-TICK isoN" every 5 s
#   linux.iso            BIOS GRUB -> Debian kernel + busybox initrd whose /init is below
#   linux-verbose.iso    the same without `quiet`: the kernel log on COM1 (L_ISO=linux-verbose.iso)
#   linux-cd2.iso        data ISO with /marker.txt "LINUX-ISO-2 ..." for `xl cd-insert`
#
# The Linux guest, all on COM1 (one line per fact, prefixed for grep):
#   LINUX-GUEST-UP, insmod of ata_piix/sd/sr/isofs (+ dependencies), BLOCKDEVS, LSPCI lines,
#   CD-MARKER (file read from the boot CD), HOST-MARKER (sector 1 of the disk, written by dom0),
#   DISK-WRITE/DISK-OK (sector 0 written and read back), then GUEST-TICK <n> every 2 s; every
#   2 ticks it re-reads the CD (CD-CHANGE when its marker changes) and every tick sector 2 of
#   the disk: "LCTL-STOP" there (written by dom0) ends the loop -> LINUX-GUEST-DONE, poweroff -f.
set -euo pipefail
OUT=${OUT:-/var/tmp/xsdm-xen-lab}
ROOT=$OUT/rootfs
KVER=${KVER:-$(ls "$ROOT/lib/modules" | sort -V | tail -n1)}
MODDIR=$ROOT/lib/modules/$KVER
# console on the 16550; keep the emulated IDE (no PV unplug); quiet: every console byte is an
# ioreq round trip (~1 ms nested); pci=noearly skips thousands of early config reads.
CMDLINE=${LINUX_CMDLINE:-console=ttyS0,115200 xen_emul_unplug=never panic=10 nokaslr quiet pci=noearly}
MODULES=${LINUX_MODULES:-ata_piix sd_mod sr_mod cdrom isofs}
[ -e "$ROOT/boot/vmlinuz-$KVER" ] && [ -d "$MODDIR" ] || { echo "no kernel $KVER in $ROOT" >&2; exit 2; }
mkdir -p "$OUT/guest"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

grub_iso() { # $1 output, $2 tag
  local d=$W/grub-$2
  mkdir -p "$d/boot/grub"
  cat > "$d/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
echo "GUEST-GRUB-HELLO $2"
while true; do
  echo "GUEST-TICK $2"
  sleep 5
done
EOF
  grub-mkrescue -o "$1" "$d" --modules="serial terminal sleep echo test" \
    --locales= --fonts= --themes= > "$W/grub-$2.log" 2>&1 || { cat "$W/grub-$2.log" >&2; exit 1; }
}
grub_iso "$OUT/guest/grub.iso" iso1
grub_iso "$OUT/guest/grub2.iso" iso2

# ---- initrd: busybox + the modules in dependency order
I=$W/initrd
mkdir -p "$I"/{bin,dev,proc,sys,tmp,mnt/cd,lib/modules}
cp /bin/busybox "$I/bin/busybox"
for a in $("$I/bin/busybox" --list); do [ -e "$I/bin/$a" ] || ln -s busybox "$I/bin/$a"; done
mknod -m 600 "$I/dev/console" c 5 1
mknod -m 666 "$I/dev/null" c 1 3
: > "$I/lib/modules/order"
for m in $MODULES; do chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"; done |
while read -r kind path _; do
  [ "$kind" = insmod ] || continue
  b=$(basename "$path")
  grep -qx "$b" "$I/lib/modules/order" && continue
  cp "$ROOT$path" "$I/lib/modules/$b"
  echo "$b" >> "$I/lib/modules/order"
done

cat > "$I/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
up() { cut -d' ' -f1 /proc/uptime; }
echo "LINUX-GUEST-UP uptime=$(up) kernel=$(uname -r)"
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m 2>/tmp/err || echo "INSMOD-FAILED $m $(cat /tmp/err)"
done
echo "MODULES-LOADED uptime=$(up)"
i=0
while [ $i -lt 120 ] && ! { [ -b /dev/sda ] && [ -b /dev/sr0 ]; }; do sleep 0.5; i=$((i + 1)); done
echo "BLOCKDEVS sda=$([ -b /dev/sda ] && echo yes || echo no) sr0=$([ -b /dev/sr0 ] && echo yes || echo no)"
for d in /sys/bus/pci/devices/*; do
  drv=-; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
  echo "LSPCI ${d##*/} $(cat $d/vendor):$(cat $d/device) class=$(cat $d/class) irq=$(cat $d/irq) driver=$drv"
done
dmesg | grep -E 'ata[0-9]|scsi|sr0|sda' | head -n 20 | sed 's/^/DMESG /'
sector() { # $1 = sector number of /dev/sda, printed without NULs, first line only
  blockdev --flushbufs /dev/sda 2>/dev/null
  dd if=/dev/sda bs=512 skip=$1 count=1 2>/dev/null | tr -d '\000' | head -n1
}
cdmarker() {
  if mount -t iso9660 -o ro /dev/sr0 /mnt/cd 2>/tmp/err; then cat /mnt/cd/marker.txt; umount /mnt/cd
  else echo "(no medium: $(head -n1 /tmp/err))"; fi
}
cd=$(cdmarker)
echo "CD-MARKER: $cd"
echo "HOST-MARKER: $(sector 1)"
M="GUEST-DISK-MARKER uptime=$(up) rnd=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{ printf '%s\n' "$M"; dd if=/dev/zero bs=1 count=$((511 - ${#M})) 2>/dev/null; } > /tmp/s0
if dd if=/tmp/s0 of=/dev/sda bs=512 count=1 conv=fsync 2>/tmp/err; then echo "DISK-WRITE ok: $M"
else echo "DISK-WRITE FAILED: $(cat /tmp/err)"; fi
R=$(sector 0)
[ "$R" = "$M" ] && echo "DISK-OK" || echo "DISK-MISMATCH read [$R]"
n=0
while [ $n -lt 1800 ]; do
  n=$((n + 1))
  echo "GUEST-TICK $n uptime=$(up)"
  if [ $((n % 2)) = 0 ]; then
    c=$(cdmarker)
    [ "$c" != "$cd" ] && { echo "CD-CHANGE tick=$n: $c"; cd=$c; }
  fi
  case "$(sector 2)" in LCTL-STOP*) echo "STOP-SEEN tick=$n"; break;; esac
  sleep 2
done
echo "LINUX-GUEST-DONE ticks=$n uptime=$(up)"
sync
poweroff -f
EOF
chmod 755 "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -9) > "$W/initrd.gz"

linux_iso() { # $1 output, $2 kernel command line
  local L=$W/linux-$(basename "$1" .iso)
  mkdir -p "$L/boot/grub"
  cp "$ROOT/boot/vmlinuz-$KVER" "$L/boot/vmlinuz"
  cp "$W/initrd.gz" "$L/boot/initrd.gz"
  echo "LINUX-ISO-1 boot CD, kernel $KVER" > "$L/marker.txt"
  printf '%s\n' "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1" \
    "terminal_input serial console" "terminal_output serial console" \
    'echo "GRUB-LINUX: loading"' "linux /boot/vmlinuz $2" "initrd /boot/initrd.gz" \
    'echo "GRUB-LINUX: booting"' boot > "$L/boot/grub/grub.cfg"
  grub-mkrescue -o "$1" "$L" --modules="serial terminal echo linux iso9660 biosdisk" \
    --locales= --fonts= --themes= > "$W/grub-linux.log" 2>&1 || { cat "$W/grub-linux.log" >&2; exit 1; }
}
linux_iso "$OUT/guest/linux.iso" "$CMDLINE"
# the same with the kernel's whole log on COM1 (slow: every byte is an ioreq), for diagnosis
linux_iso "$OUT/guest/linux-verbose.iso" "${CMDLINE/ quiet/}"

mkdir -p "$W/cd2"
echo "LINUX-ISO-2 inserted by xl cd-insert" > "$W/cd2/marker.txt"
xorriso -as mkisofs -quiet -V XSDMCD2 -o "$OUT/guest/linux-cd2.iso" "$W/cd2" > "$W/cd2.log" 2>&1 \
  || { cat "$W/cd2.log" >&2; exit 1; }
# the lab stages' media (bigwrite, perf, pause, migrate, reboot)
OUT=$OUT "$(dirname "$0")/build-lab-guest.sh" > /dev/null
ls -la "$OUT/guest"
