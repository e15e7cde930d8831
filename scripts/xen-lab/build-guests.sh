#!/bin/bash
# build-guests.sh - guest media for the bed (called by build-image.sh; needs $OUT/rootfs for the
# Debian kernel and its modules). Writes into $OUT/guest:
#   grub.iso, grub2.iso  BIOS GRUB ISOs: "GUEST-GRUB-HELLO isoN", then "GUEST-TICK isoN" every 5 s
#   linux.iso            BIOS GRUB -> Debian kernel + busybox initrd whose /init is below
#   linux-verbose.iso    the same without `quiet`: the kernel log on COM1 (L_ISO=linux-verbose.iso)
#   linux-cd2.iso        data ISO with /marker.txt "LINUX-ISO-2 ..." for `xl cd-insert`
#   disk-grub.img        a bootable 8 MiB *disk* (GRUB's boot.img in the MBR, core.img after it) for the
#                        `disks` stage: prints GUEST-DISK-GRUB, then the BIOS drives GRUB sees
#                        (GRUB-LS:), the CMOS (cmosdump) and GUEST-DISKS-END
#   cd-grub.iso          the same GRUB as a CD, greeting GUEST-CD-GRUB
#   disk2.img            a plain 16 MiB second disk (hdb) for the `disks` stage
#   vnc-grub.iso         the `vnc` stage's GRUB CD: "GUEST-VNC-GRUB" on COM1, then a menu on COM1 and
#                        the VGA text screen that waits for a key; the entry with hotkey `k` prints
#                        "GUEST-VNC-ENTRY key-k", the default one (never chosen by time) "... default"
# PARTS=disks builds only the disks three, PARTS=vnc only vnc-grub.iso (cheap: e2e.sh does it when
# they are missing).
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

# ---- the `vnc` stage: a menu on the screen (and COM1) that only a key ends
mkdir -p "$W/vnc/boot/grub"
cat > "$W/vnc/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=-1
set default=0
echo "GUEST-VNC-GRUB menu next"
menuentry "xsdm lab: default entry" {
  echo "GUEST-VNC-ENTRY default"
  sleep 600
}
menuentry "xsdm lab: the entry of key k" --hotkey=k {
  echo "GUEST-VNC-ENTRY key-k"
  sleep 600
}
EOF
grub-mkrescue -o "$OUT/guest/vnc-grub.iso" "$W/vnc" --modules="serial terminal sleep echo" \
  --locales= --fonts= --themes= > "$W/vnc.log" 2>&1 || { cat "$W/vnc.log" >&2; exit 1; }
[ "${PARTS:-all}" = vnc ] && { ls -la "$OUT/guest"; exit 0; }

# ---- the `disks` stage: which device SeaBIOS booted shows in the greeting; GRUB then prints the
# BIOS drives it sees and the CMOS bytes the firmware read (both DMs' dumps are compared).
disks_cfg() { # $1 greeting: GRUB's commands (simple ones: the disk's GRUB runs them without `normal`)
  cat <<EOF
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
echo "$1"
echo -n "GRUB-LS: "
ls
echo "CMOS-BEGIN"
cmosdump
echo "CMOS-END"
echo "GUEST-DISKS-END $1"
EOF
}
DISKS_MODS="biosdisk serial terminal echo ls cmosdump sleep"
# hda: GRUB installed the classic way on an 8 MiB disk: boot.img in the MBR (its first 440 bytes,
# loading sector 1), core.img from sector 1 with the commands above built in, and a partition table
# laid out for 64 heads x 32 sectors (what partitioning tools under a translating BIOS write) so
# that the firmware's disk geometry and translation are exercised too.
mkdir -p "$W/disks"
disks_cfg GUEST-DISK-GRUB > "$W/disks/early.cfg"
grub-mkimage -O i386-pc -o "$W/disks/core.img" -c "$W/disks/early.cfg" -p '(hd0)/boot/grub' $DISKS_MODS
D=$OUT/guest/disk-grub.img
rm -f "$D"; truncate -s 8M "$D"
dd if=/usr/lib/grub/i386-pc/boot.img of="$D" bs=440 count=1 conv=notrunc 2>/dev/null
# partition 1: type 0x83, CHS end 63/32 (cyl 7), LBA 2048 + 14336 sectors; then the MBR signature
printf '\x00\x00\x21\x02\x83\x3f\x20\x07\x00\x08\x00\x00\x00\x38\x00\x00' |
  dd of="$D" bs=1 seek=446 conv=notrunc 2>/dev/null
printf '\x55\xaa' | dd of="$D" bs=1 seek=510 conv=notrunc 2>/dev/null
[ "$(stat -c %s "$W/disks/core.img")" -lt $((2047 * 512)) ] || { echo "core.img too big for the gap" >&2; exit 1; }
dd if="$W/disks/core.img" of="$D" bs=512 seek=1 conv=notrunc 2>/dev/null
# hdc: the same GRUB on a CD (El Torito), greeting GUEST-CD-GRUB
mkdir -p "$W/disks-cd/boot/grub"
disks_cfg GUEST-CD-GRUB > "$W/disks-cd/boot/grub/grub.cfg"
grub-mkrescue -o "$OUT/guest/cd-grub.iso" "$W/disks-cd" --modules="$DISKS_MODS iso9660" \
  --locales= --fonts= --themes= > "$W/disks-cd.log" 2>&1 || { cat "$W/disks-cd.log" >&2; exit 1; }
# hdb: a plain disk
rm -f "$OUT/guest/disk2.img"
truncate -s 16M "$OUT/guest/disk2.img"
printf 'XSDM-DISK2\n' | dd of="$OUT/guest/disk2.img" conv=notrunc 2>/dev/null
[ "${PARTS:-all}" = disks ] && { ls -la "$OUT/guest"; exit 0; }

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
