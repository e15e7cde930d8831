#!/bin/bash
# build-image.sh - build the xsdm real-Xen test bed: Debian's Xen 4.17 hypervisor, a Debian
# bookworm PV dom0 (xl, qemu-system-xen as the reference device model, the libraries xsdm links),
# and the guest media. Everything goes to $OUT (default /var/tmp/xsdm-xen-lab), never into the
# repository. Only the Debian archive is used (taken from this host's apt sources).
#
#   $OUT/xen                    hypervisor ELF (multiboot: QEMU needs it uncompressed)
#   $OUT/vmlinuz, initrd.img    dom0 kernel and a small initramfs (virtio-blk + ext4)
#   $OUT/dom0.img               ext4 root of dom0; PID 1 is scripts/xen-lab/dom0-init.sh
#   $OUT/guest/grub.iso         GRUB ISO: prints GUEST-GRUB-HELLO then GUEST-TICK every 5 s on COM1
#   $OUT/guest/grub2.iso        same, tagged iso2 (the medium for cd-insert timing)
#   $OUT/guest/linux.iso        GRUB -> Debian kernel + busybox initrd (build-guests.sh)
#   $OUT/guest/linux-cd2.iso    data ISO read by the Linux guest after `xl cd-insert`
#
# Steps are cached by stamp files in $OUT/rootfs; FORCE=1 rebuilds from scratch.
# Needs root. Host packages are installed with apt-get if missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/var/tmp/xsdm-xen-lab}
ROOT=$OUT/rootfs
IMG_SIZE=${IMG_SIZE:-3G}
T0=$(date +%s)
say() { echo "[build-image +$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "build-image: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mknod)"
[ "${FORCE:-0}" = 1 ] && rm -rf "$ROOT"
mkdir -p "$OUT/guest"

# The archive this host already uses: first URI ending in /debian (or /debian-security).
archive_uri() { # $1 = "debian" or "debian-security"
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [ -r "$f" ] || continue
    grep -v '^[[:space:]]*#' "$f" | grep -o '[a-z]*://[^ ]*' | sed 's:/*$::' | grep "/$1\$" || true
  done | head -n1
}
MIRROR=${MIRROR:-$(archive_uri debian)}
SECMIRROR=${SECMIRROR:-$(archive_uri debian-security)}
[ -n "$MIRROR" ] || die "no Debian archive in this host's apt sources; set MIRROR"

HOST_PKGS="debootstrap qemu-system-x86 qemu-utils grub-pc-bin grub-common xorriso mtools
  e2fsprogs busybox-static cpio perl"
missing=""
for p in $HOST_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  say "host packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# dom0: Xen toolstack + reference DM + what xsdm links (libxen* come with xen-utils-4.17).
DOM0_PKGS="linux-image-amd64 initramfs-tools xen-hypervisor-4.17-amd64 xen-utils-4.17
  xenstore-utils qemu-system-xen seabios procps iproute2 kmod e2fsprogs util-linux psmisc
  strace libseccomp2 libcap-ng0 libjansson4
  bridge-utils netcat-openbsd iputils-ping gvncviewer
  libvirt-daemon-driver-xen libvirt-clients"
# the network stages: xenbr0 for libxl's vif-bridge hotplug, nc and ping as the guest's peer;
# the vnc stage: gvnccapture (gtk-vnc's headless client) writes each DM's screen as a PNG;
# the libvirt stage: libvirtd with its libxl driver, virsh (the stage loads the libxl driver alone).
# A changed list installs what is new into the existing root (the stamp names the list).
PKG_STAMP=.stamp-packages-$(echo $DOM0_PKGS | md5sum | cut -c1-12)

binds=""
unbind() { local m; for m in $binds; do umount "$ROOT/$m" 2>/dev/null || true; done; binds=""; }
bind() { local m; for m in proc sys dev dev/pts; do mount --bind "/$m" "$ROOT/$m"; binds="$m $binds"; done; }
trap unbind EXIT

if [ ! -e "$ROOT/.stamp-debootstrap" ]; then
  say "debootstrap bookworm minbase from $MIRROR"
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" \
    > "$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; die "debootstrap failed"; }
  touch "$ROOT/.stamp-debootstrap"
fi

if [ ! -e "$ROOT/$PKG_STAMP" ]; then
  say "dom0 packages"
  {
    echo "deb $MIRROR bookworm main"
    echo "deb $MIRROR bookworm-updates main"
    [ -n "$SECMIRROR" ] && echo "deb $SECMIRROR bookworm-security main"
  } > "$ROOT/etc/apt/sources.list"
  # no daemons start inside the build chroot
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  # dom0 boots from virtio-blk ext4: keep its initramfs tiny
  mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\nCOMPRESS=gzip\n' > "$ROOT/etc/initramfs-tools/conf.d/xsdm-lab"
  printf 'virtio_pci\nvirtio_blk\next4\n' > "$ROOT/etc/initramfs-tools/modules"
  bind
  chroot "$ROOT" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update &&
      apt-get install -y --no-install-recommends $(echo $DOM0_PKGS) && apt-get clean" \
    > "$OUT/dom0-apt.log" 2>&1 || { unbind; tail -20 "$OUT/dom0-apt.log" >&2; die "dom0 apt failed"; }
  unbind
  rm -f "$ROOT"/.stamp-packages*; touch "$ROOT/$PKG_STAMP"
fi

KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -n1)
if [ ! -e "$ROOT/.stamp-initrd-$KVER" ]; then
  say "initramfs for $KVER"
  bind
  chroot "$ROOT" update-initramfs -u -k "$KVER" > "$OUT/initramfs.log" 2>&1 || { unbind; die "update-initramfs failed"; }
  unbind
  touch "$ROOT/.stamp-initrd-$KVER"
fi

say "dom0 configuration"
# dm_restrict users (libxl: uid = range-base + domid; the reaper kills a domain's leftovers)
chroot "$ROOT" /bin/sh -c '
  getent passwd xen-qemuuser-range-base >/dev/null ||
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin --uid 131072 xen-qemuuser-range-base
  getent passwd xen-qemuuser-reaper >/dev/null ||
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin --uid 131071 xen-qemuuser-reaper'
echo dom0 > "$ROOT/etc/hostname"
echo '/dev/vda / ext4 rw,noatime 0 1' > "$ROOT/etc/fstab"
mkdir -p "$ROOT/test" "$ROOT/var/log/xen/console" "$ROOT/var/lib/xen" "$ROOT/usr/lib/xsdm"
install -m 0755 "$HERE/dom0-init.sh" "$ROOT/sbin/xsdm-lab-init"

say "boot files"
zcat "$ROOT/boot/xen-4.17-amd64.gz" > "$OUT/xen"
cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$OUT/initrd.img"
echo "$KVER" > "$OUT/kver"

say "guest media"
OUT="$OUT" KVER="$KVER" "$HERE/build-guests.sh"

say "dom0.img ($IMG_SIZE)"
rm -f "$OUT/dom0.img"
truncate -s "$IMG_SIZE" "$OUT/dom0.img"
mkfs.ext4 -q -F -L dom0root -d "$ROOT" "$OUT/dom0.img"
{ date +%s; cat "$HERE/build-image.sh" "$HERE/dom0-init.sh" | md5sum | cut -d' ' -f1; } > "$OUT/.image-built"
say "done"
ls -la "$OUT/xen" "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/dom0.img" "$OUT/guest"/
