#!/bin/bash
# PID 1 of the bed's dom0 (kernel argument init=/sbin/xsdm-lab-init). Starts what Debian's
# xencommons would (xenfs, xenstored, xen-init-dom0, xenconsoled), runs /test/run.sh from the
# test disk (/dev/vdb) and powers off. Output goes to hvc0, which Xen forwards to COM1.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec </dev/null >/dev/console 2>&1
say() { echo "LAB: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
hostname dom0
say "dom0 userspace up, kernel $(uname -r)"

for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback loop; do
  modprobe "$m" || say "modprobe $m failed"
done
mount -t xenfs xenfs /proc/xen

XBIN=/usr/lib/xen-4.17/bin
mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/lib/xen
chmod 700 /run/xen
XENSTORED_ROOTDIR=/run/xenstored "$XBIN/xenstored" --pid-file /run/xenstored.pid
i=0
until xenstore-read -s / >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 60 ] && break; sleep 0.5
done
xenstore-read -s / >/dev/null 2>&1 || say "xenstored did not come up"
"$XBIN/xen-init-dom0" || say "xen-init-dom0 failed"
"$XBIN/xenconsoled" --pid-file /run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console \
  || say "xenconsoled failed"
say "xen daemons up"

if mount /dev/vdb /test; then
  if [ -x /test/run.sh ]; then /test/run.sh; say "run.sh exit=$?"; else say "no /test/run.sh"; fi
  sync
  umount /test || { sleep 2; sync; umount -l /test; }
else
  say "cannot mount the test disk /dev/vdb"
fi
sync
say "LAB-DONE powering off"
sleep 1
echo o > /proc/sysrq-trigger
sleep 10
busybox poweroff -f 2>/dev/null || poweroff -f
sleep 1000
