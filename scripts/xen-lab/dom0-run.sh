#!/bin/bash
# dom0-run.sh - the stages, run inside the bed's dom0 as /test/run.sh (by dom0-init.sh).
# Every stage prints "LAB: [uptime] STAGE <id> PASS|FAIL|SKIP secs=<s> <evidence>" on the console
# exactly once; a PASS needs every piece of evidence the line names, each a line the guest printed
# (e2e.sh turns those into the table and the "N passed, N failed" line); bulky evidence goes to
# /test/results. Every wait has a timeout. Stage ids:
#   1  reference: GRUB ISO HVM guest on qemu-xen, dm_restrict=1, serial file
#   2  xsdm, dm_restrict=1, GRUB ISO: GRUB prints on serial="file:..." and on serial="pty"
#   9  xl -> xsdmctl exec-dm wrapper (device_model_override) -> xsdm, GRUB ISO: guest output plus the
#      wrapper's work (reaper before start, UTS/net namespaces, clean env and fds, watcher cleanup)
#   disks  hda (bootable GRUB disk) + hdb + hdc (GRUB CD), boot="c" and boot="d", qemu-xen then xsdm:
#      the device that booted (its GRUB's greeting), the BIOS drives GRUB lists and the CMOS bytes
#      (GRUB's cmosdump) must match qemu-xen's; qemu-xen must boot the disk for c and the CD for d
#   vnc  no vga line + vnc=1 (+ vncpasswd: xsdm only), qemu-xen then xsdm, GRUB menu CD: console/vnc-*, a
#      gvnccapture PNG of each DM's screen in results (right password), a wrong password refused, the
#      same picture after xl save + xl restore (vnc-*-restored.png), a
#      KeyEvent picks a GRUB entry (its line on the serial), the PCI slots hvmloader saw equal qemu-xen's
#   3  xsdm, Linux guest ISO: ata_piix finds CD + disk, reads a file from each, writes the disk
#   6  depriv-fd-checker against the running xsdm (fds stolen with pidfd_getfd)
#   7  xsdm's /proc facts under xl
#   4  xl cd-insert a second ISO, the guest reads it; xl cd-eject, the guest sees no medium
#   5  xl save + xl restore, the guest's tick counter goes on
#   3p the Linux guest powers off when told: domain gone, its disk write visible in dom0
#   8  side-by-side table qemu-xen vs xsdm
#   bigwrite perf pause migrate reboot  one Linux session per DM (qemu-xen first), then a GRUB guest
#      that reboots itself: one verdict each, xsdm's; qemu-xen failing is an "anchor limitation" in
#      the evidence, not a FAIL (see "lab stages" below); perf adds the CD-ROM's read speed, migrate
#      a DMA checker in the guest whose buffers the DM fills during the live phase
#   pvhvm  the Linux guest the standard way (xen_platform_pci=1, emulated disk and NIC unplugged):
#      xen-blkfront reads and writes the image, xen-netfront pings dom0's xenbr0; qemu-xen then xsdm
#   vif-default nic-rtl8139 nic-e1000  one Linux session per DM (qemu-xen first) with a NIC per stage
#      on xenbr0: the guest pings dom0 and sends 1 MiB (md5 compared in dom0), NET_BULK_MB for MB/s; the
#      NIC's PCI function must be qemu-xen's (see "net stages" below)
#   vif-netns  xsdm through the xsdmctl wrapper with the default vif: the guest's network works, the
#      DM is in its own network namespace holding a tap fd the wrapper opened
#   nic-migrate  in the same Linux session (its rtl8139 and an e1000): after the NICs work, xl save +
#      xl restore, then xl migrate to this host; after each the guest, its NICs untouched, pings dom0
#      and sends 1 MiB (md5 compared in dom0) through each: no tx timeout or reset message, carrier
#      changes as qemu-xen's (the guest's own PM freeze+restore around xl save moves e1000's)
#   libvirt  libvirtd's libxl driver (no dm_restrict), GRUB ISO, <emulator> qemu-xen's then xsdm: virsh
#      start, GRUB on the console, change-media, save/restore, destroy; the DM's uid, root, Seccomp,
#      CapEff (xsdm's demanded: per-domain uid, not dom0's /, 2, 0; qemu-xen's reported)
#   fbcon  no vga line + vnc=1, the Linux guest on its screen, qemu-xen then xsdm: vgacon's text read
#      back from a VNC capture, keys typed over VNC reach tty1, xl migrate while the guest writes text
#      rows (the paused target's screen holds the last rows, all complete and in order), then fbcon
#      on the DRM driver's framebuffer (xsdm: bochs-drm, VBE) read back from a capture of the mode's size
T=/test
R=$T/results
mkdir -p $R
TESTS=$(cat $T/tests 2>/dev/null || echo "1 2 3 4 5 6 7 8 9 disks vnc bigwrite perf pause migrate reboot pvhvm vif-default nic-rtl8139 nic-e1000 nic-migrate vif-netns libvirt fbcon")
[ -r $T/env ] && . $T/env
XSDM=/usr/lib/xsdm/xsdm
RANGE_BASE=$(id -u xen-qemuuser-range-base 2>/dev/null)
RANGE_GID=$(id -g xen-qemuuser-range-base 2>/dev/null)
up() { cut -d' ' -f1 /proc/uptime; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
msg() { echo "LAB: [$(up)] $*"; }
show() { sed -n "1,${2:-40}p" "$1" 2>/dev/null | cut -c1-300 | sed 's/^/LAB|   /'; }
want() { case " $TESTS " in *" $1 "*) return 0;; esac; return 1; }
STAGE=""; S0=0
begin() { STAGE=$1; S0=$(now); msg "STAGE $1 BEGIN $2"; }
end() { msg "STAGE $STAGE $1 secs=$(since $S0) $2"; }
skip() { msg "STAGE $1 SKIP secs=0 $2"; }
# wait_for SECS CMD...: poll every second until CMD succeeds; 1 on timeout
wait_for() { local t=$1 s; shift; s=$(date +%s)
  until "$@" >/dev/null 2>&1; do [ $(( $(date +%s) - s )) -ge "$t" ] && return 1; sleep 1; done; }
domid_of() { xl domid "$1" 2>/dev/null; }
dm_pid() { xenstore-read /local/domain/$1/image/device-model-pid 2>/dev/null; }
fact() { echo "$2=$3" >> $R/facts-$1.txt; }   # fact qemu|xsdm key value
getfact() { sed -n "s/^$2=//p" $R/facts-$1.txt 2>/dev/null | tail -n1; }
destroy_all() { local d; for d in $(xl list | awk 'NR>2{print $1}'); do timeout 60 xl destroy "$d"; done; }
proc_dump() { # $1 pid $2 file
  { echo "== pid $1: $(tr '\0' ' ' < /proc/$1/cmdline)"
    grep -E '^(Name|State|Uid|Gid|Groups|VmPeak|VmSize|VmRSS|VmHWM|Threads|NoNewPrivs|Seccomp|Cap[A-Za-z]+):' /proc/$1/status
    echo "== root $(readlink /proc/$1/root) cwd $(readlink /proc/$1/cwd)"
    echo "== fds"; ls -l /proc/$1/fd | awk 'NR>1{print $(NF-2), $(NF-1), $NF}'
    echo "== limits"; cat /proc/$1/limits
  } > "$2" 2>&1
}
nfds() { ls /proc/$1/fd 2>/dev/null | wc -l; }
# lab_create CFG LOG: xl create CFG, output in LOG; a loaded host can make libxl's 40 s limit for a
# vbd's block script run out: then once more, output in LOG's ...2.log twin
lab_create() {
  timeout 120 xl create $1 > $2 2>&1 && return 0
  grep -q 'block add because of timeout' $2 || return 1
  msg "${1##*/}: block script timed out, creating once more"; sleep 5
  timeout 120 xl create $1 > ${2%.log}2.log 2>&1
}
rss_kb() { awk '/^VmRSS/{print $2}' /proc/$1/status 2>/dev/null; }
nthreads() { ls /proc/$1/task 2>/dev/null | wc -l; }
fail_tail() { grep -a -v -E 'xencall:buffer|libxl_event.c' "$1" | grep -a -i -E 'error|fail|timeout|died|killed' | tail -n "${2:-8}" | cut -c1-300 | sed 's/^/LAB|   /'; }

msg "stages: $TESTS"
# libxl gives an HVM disk a PV vbd too (blkback, for PV drivers): an older image may lack the module
lsmod | grep -q '^xen_blkback' || modprobe xen-blkback || msg "modprobe xen-blkback failed"
# The bed is up once xl talks to Xen and xenstored; without that no stage can run (e2e exit 2)
if ! timeout 60 xl info > $R/xl-info.txt 2>&1 || ! xenstore-read -s / >/dev/null 2>&1; then
  msg "BED-DOWN: xl info or xenstored not answering"; show $R/xl-info.txt 10; exit 1
fi
msg "BED-UP"
# The outer watchdog (e2e.sh STALL) ends a run whose console is silent, to catch a frozen outer
# machine. A stage may wait silently for minutes (qemu-xen's anchor runs hit every timeout of the
# reboot stage: xl shutdown -w, xl destroy, wait_for), so dom0 says it is alive every minute.
( while sleep 60; do msg "alive: domains [$(timeout 10 xl list 2>/dev/null | awk 'NR>2{printf " %s", $1}') ]"; done ) &
HEARTBEAT=$!
grep -E '^(xen_version|virt_caps)' $R/xl-info.txt | sed 's/^/LAB|   /'

# ---- bed networking (the net stages; other stages may call it too): xenbr0 in dom0 with 10.99.0.1/24,
# tun for the device models' taps (qemu-xen's and xsdm's vif<D>.<N>-emu), netback for the PV vifs
# libxl adds beside each emulated NIC. libxl runs /etc/xen/scripts/vif-bridge for both, which puts
# them on the bridge the vif names. Idempotent: a second call changes nothing.
NET_BR=xenbr0 NET_DOM0_IP=10.99.0.1
net_bridge_up() {
  local m
  for m in tun bridge xen-netback; do
    [ -d /sys/module/${m//-/_} ] || modprobe $m || { msg "net: modprobe $m failed"; return 1; }
  done
  [ -d /sys/class/net/$NET_BR/bridge ] || ip link add name $NET_BR type bridge stp_state 0 forward_delay 0 ||
    { msg "net: cannot create $NET_BR"; return 1; }
  ip -4 addr show dev $NET_BR | grep -q "inet $NET_DOM0_IP/" || ip addr add $NET_DOM0_IP/24 dev $NET_BR ||
    { msg "net: cannot give $NET_BR $NET_DOM0_IP"; return 1; }
  ip link set $NET_BR up
}

# ---- xsdm in dom0: the host-built binary, its libraries from Debian
mkdir -p /usr/lib/xsdm
XSDM_OK=0
if [ -x $T/xsdm ]; then
  install -m 0755 $T/xsdm $XSDM
  if ldd $XSDM > $R/xsdm-ldd.txt 2>&1 && ! grep -q 'not found' $R/xsdm-ldd.txt; then XSDM_OK=1
  else msg "xsdm cannot run in dom0:"; grep 'not found' $R/xsdm-ldd.txt | sed 's/^/LAB|   /'; fi
fi
# xsdmctl as xl's wrapper: a symlink named xsdmctl-exec-dm runs `exec-dm` and finds xsdm beside itself
XSDMCTL_OK=0
if [ -x $T/xsdmctl ]; then
  install -m 0755 $T/xsdmctl /usr/lib/xsdm/xsdmctl
  ln -sfn xsdmctl /usr/lib/xsdm/xsdmctl-exec-dm
  if ldd /usr/lib/xsdm/xsdmctl > $R/xsdmctl-ldd.txt 2>&1 && ! grep -q 'not found' $R/xsdmctl-ldd.txt; then XSDMCTL_OK=1
  else msg "xsdmctl cannot run in dom0:"; grep 'not found' $R/xsdmctl-ldd.txt | sed 's/^/LAB|   /'; fi
fi
DM_OVERRIDE=$XSDM
if [ -n "${XSDM_LOG:-}" ]; then
  printf '#!/bin/sh\nexport XSDM_LOG=%s\nexec %s "$@"\n' "$XSDM_LOG" "$XSDM" > /usr/lib/xsdm/xsdm-env
  chmod 755 /usr/lib/xsdm/xsdm-env; DM_OVERRIDE=/usr/lib/xsdm/xsdm-env
fi

grub_cfg() { # $1 name $2 serial spec $3 dm ("" = qemu-xen)
  cat <<EOF
name = "$1"
type = "hvm"
memory = 64
vcpus = 1
vnc = 0
sdl = 0
vga = "none"
serial = "$2"
boot = "d"
disk = [ "file:$T/grub.iso,hdc:cdrom,r" ]
vif = [ ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
dm_restrict = 1
EOF
  [ -n "$3" ] && echo "device_model_override = \"$3\""
}

# grub_guest TAG NAME DM: create, wait for GRUB on the serial file, record the table's facts
# (create->GRUB s, VmRSS, threads, fds, cd-insert s, save size). 0 if GRUB printed.
grub_guest() {
  local tag=$1 name=$2 dm=$3 ser=/var/log/xen/$2-serial.log d p t0 ok=1 ev=""
  rm -f $ser /var/log/xen/qemu-dm-$name.log
  grub_cfg $name "file:$ser" "$dm" > $R/$tag-$name.cfg
  t0=$(now)
  if ! timeout 120 xl -vvv create $R/$tag-$name.cfg > $R/$tag-xl-create.log 2>&1; then
    fail_tail $R/$tag-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/$tag-dm.log 2>/dev/null
    show $R/$tag-dm.log 20; EV="xl create failed"; return 1
  fi
  fact $tag create_secs $(since $t0)
  d=$(domid_of $name); p=$(dm_pid $d)
  msg "$name: domid $d, device model pid $p, xl create took $(getfact $tag create_secs)s"
  # firmware milestones from the hypervisor log, GRUB from the guest's serial file
  local k pat s=$(date +%s); local -A seen=()
  while :; do
    xl dmesg 2>/dev/null | grep -a "(d$d)" > /tmp/dmesg-$d.txt
    for k in hvmloader seabios bootcd; do
      case $k in hvmloader) pat='HVM Loader';; seabios) pat='SeaBIOS';; bootcd) pat='Booting from DVD';; esac
      [ -z "${seen[$k]:-}" ] && grep -aq "$pat" /tmp/dmesg-$d.txt && { seen[$k]=1; fact $tag ${k}_secs $(since $t0); }
    done
    if grep -aq GUEST-GRUB-HELLO $ser 2>/dev/null; then fact $tag grub_secs $(since $t0); break; fi
    [ $(( $(date +%s) - s )) -ge 300 ] && break
    sleep 1
  done
  # each milestone the line names must have been printed by the guest (firmware on Xen's debug
  # port, GRUB on the serial); a missing one fails the stage
  if [ -n "$(getfact $tag grub_secs)" ]; then
    ev="grub@$(getfact $tag grub_secs)s"
    for k in hvmloader seabios bootcd; do
      if [ -n "$(getfact $tag ${k}_secs)" ]; then ev="$k@$(getfact $tag ${k}_secs)s $ev"
      else ok=0; ev="$ev, no $k milestone in xl dmesg"; fi
    done
  else ok=0; ev="no GUEST-GRUB-HELLO in 300s"; fi
  [ $ok = 1 ] && { wait_for 30 grep -aq GUEST-TICK $ser && ev="$ev tick" || { ok=0; ev="$ev, no GUEST-TICK"; }; }
  if [ -n "$p" ] && [ -d /proc/$p ]; then
    proc_dump $p $R/$tag-proc.txt
    fact $tag rss_kb $(rss_kb $p); fact $tag threads $(nthreads $p); fact $tag fds $(nfds $p)
  fi
  xl dmesg | grep -a "(d$d)" | tail -n 15 > $R/$tag-xl-dmesg.txt
  cp $ser $R/$tag-serial.log 2>/dev/null
  EV=$ev
  [ $ok = 1 ] || { show $R/$tag-xl-dmesg.txt 15; cp /var/log/xen/qemu-dm-$name.log $R/$tag-dm.log 2>/dev/null; show $R/$tag-dm.log 20; return 1; }
  # the table's timings: cd-insert of a second ISO, cd-eject, save size
  t0=$(now)
  if timeout 60 xl cd-insert $name hdc $T/grub2.iso > $R/$tag-cd-insert.log 2>&1; then fact $tag cdinsert_secs $(since $t0)
  else fact $tag cdinsert_secs fail; fail_tail $R/$tag-cd-insert.log 3; fi
  timeout 60 xl cd-eject $name hdc > $R/$tag-cd-eject.log 2>&1 || fail_tail $R/$tag-cd-eject.log 3
  t0=$(now)
  if timeout 300 xl save $name /var/lib/xen/$name.save > $R/$tag-save.log 2>&1; then
    fact $tag save_bytes $(stat -c %s /var/lib/xen/$name.save); fact $tag save_secs $(since $t0)
  else fact $tag save_bytes fail; fail_tail $R/$tag-save.log 4; fi
  rm -f /var/lib/xen/$name.save
  cp /var/log/xen/qemu-dm-$name.log $R/$tag-dm.log 2>/dev/null
  timeout 60 xl destroy $name >/dev/null 2>&1
  return 0
}

# ============================================================ 1: reference qemu-xen
if want 1; then
  begin 1 "reference: GRUB ISO on qemu-xen, dm_restrict=1"
  destroy_all
  if grub_guest qemu ref1 ""; then end PASS "$EV"; else end FAIL "$EV"; fi
fi

# ============================================================ 2: xsdm GRUB, serial file + pty
if want 2; then
  begin 2 "xsdm, dm_restrict=1, GRUB ISO, serial file and pty"
  destroy_all
  if [ $XSDM_OK != 1 ]; then end FAIL "xsdm not runnable in dom0"
  elif ! grub_guest xsdm xgrub $DM_OVERRIDE; then end FAIL "serial file: $EV"
  else
    fileev=$EV name=xpty ptyok=0 ev=""
    grub_cfg $name pty $DM_OVERRIDE > $R/s2-$name.cfg
    t0=$(now)
    if timeout 120 xl -vvv create $R/s2-$name.cfg > $R/s2-pty-xl-create.log 2>&1; then
      d=$(domid_of $name)
      tty=$(xenstore-read /local/domain/$d/serial/0/tty 2>/dev/null)
      msg "$name: domid $d, xenstore serial/0/tty = ${tty:-none}"
      if [ -n "$tty" ] && [ -c "$tty" ]; then
        stty -F $tty raw -echo 2>/dev/null
        timeout 120 cat $tty > /tmp/pty.out 2>/dev/null &
        cpid=$!
        if wait_for 110 grep -aq GUEST-TICK /tmp/pty.out; then ptyok=1; ev="pty $tty: GUEST-TICK@$(since $t0)s"
        else ev="pty $tty: nothing from GRUB in 110s"; fi
        kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
        cp /tmp/pty.out $R/s2-pty.out
      else ev="libxl wrote no serial/0/tty (query-chardev)"; fi
    else fail_tail $R/s2-pty-xl-create.log; ev="pty guest: xl create failed"; fi
    cp /var/log/xen/qemu-dm-$name.log $R/s2-pty-dm.log 2>/dev/null
    timeout 60 xl destroy $name >/dev/null 2>&1
    if [ $ptyok = 1 ]; then end PASS "file: $fileev; $ev"; else end FAIL "file: $fileev; $ev"; fi
  fi
fi

# ============================================================ 9: xl through the xsdmctl wrapper
# libxl reaps the DM uid only at destroy, never unshares UTS or network, hands xl's environment to the
# DM and leaves the chroot dir behind (libxl-compat.md §1.4-1.7): each fact checked here after the
# guest shows output is the wrapper's own work.
if want 9; then
  begin 9 "xl -> xsdmctl-exec-dm (device_model_override) -> xsdm, dm_restrict=1, GRUB ISO"
  destroy_all
  name=xwrap ser=/var/log/xen/xwrap-serial.log bad="" ev=""
  rm -f $ser /var/log/xen/qemu-dm-$name.log
  if [ $XSDM_OK != 1 ] || [ $XSDMCTL_OK != 1 ]; then end FAIL "xsdm or xsdmctl not runnable in dom0"
  else
    # reaper before start: leftovers under the uids of the next domids (Xen hands domids out upwards;
    # the highest one used so far shows in the hypervisor log and in libxl's leftover chroot dirs)
    last=$( { xl dmesg | grep -a -o '(d[0-9]*)' | tr -dc '0-9\n'; ls /var/run/xen | sed -n 's/^qemu-root-//p'; echo 0; } | sort -n | tail -n1)
    declare -A PLANT=()
    for i in 1 2 3 4; do
      setpriv --reuid=$((RANGE_BASE + last + i)) --regid=$RANGE_GID --clear-groups sleep 900 </dev/null >/dev/null 2>&1 &
      PLANT[$((last + i))]=$!
    done
    sleep 1
    grub_cfg $name "file:$ser" /usr/lib/xsdm/xsdmctl-exec-dm > $R/s9-$name.cfg
    t0=$(now)
    if ! timeout 120 xl -vvv create $R/s9-$name.cfg > $R/s9-xl-create.log 2>&1; then
      fail_tail $R/s9-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/s9-dm.log 2>/dev/null; show $R/s9-dm.log 20
      end FAIL "xl create failed"
    else
      d=$(domid_of $name); p=$(dm_pid $d)
      msg "$name: domid $d, device model pid $p, xl create took $(since $t0)s (planted uids for domids $((last + 1))-$((last + 4)))"
      # guest-visible: GRUB and a tick on the serial file
      if wait_for 300 grep -aq GUEST-GRUB-HELLO $ser; then ev="grub@$(since $t0)s"
        if wait_for 30 grep -aq GUEST-TICK $ser; then ev="$ev tick"; else bad="$bad no-GUEST-TICK"; fi
      else bad="$bad no-GUEST-GRUB-HELLO-in-300s"; fi
      if [ -z "$p" ] || [ ! -d /proc/$p ]; then bad="$bad no-DM-process"
      else
        proc_dump $p $R/s9-proc.txt
        exe=$(readlink /proc/$p/exe)
        [ "$exe" = $XSDM ] || bad="$bad exe=[$exe]"
        check9() { [ "$2" = "$3" ] || bad="$bad $1=[$2]want[$3]"; }
        check9 Uid "$(awk '/^Uid/{print $2}' /proc/$p/status)" $((RANGE_BASE + d))
        check9 Seccomp "$(awk '/^Seccomp:/{print $2}' /proc/$p/status)" 2
        # namespaces: UTS and network new (no emulated NIC), compared with dom0's
        nsev=""
        for n in uts net ipc mnt; do
          mine=$(readlink /proc/self/ns/$n); dm=$(readlink /proc/$p/ns/$n)
          if [ "$mine" != "$dm" ]; then nsev="$nsev $n:new"
          else nsev="$nsev $n:same"; case $n in uts|net) bad="$bad $n-ns-shared-with-dom0";; esac; fi
        done
        ev="$ev; ns$nsev"
        # clean environment: only what libxl sets for the DM
        envs=$(tr '\0' '\n' < /proc/$p/environ | cut -d= -f1 | sort | xargs)
        echo "$envs" > $R/s9-environ.txt
        for e in $envs; do case $e in XEN_DOMAIN_ID|XEN_QEMU_CONSOLE_LIMIT) ;; *) bad="$bad env:$e";; esac; done
        ev="$ev; env [$envs]"
        # fds: nothing but the DM's own devices, files, sockets
        odd=$(ls -l /proc/$p/fd | awk 'NR>1{print $NF}' | grep -v -E '^(/dev/null|/dev/xen/privcmd|/dev/xen/evtchn|socket:.*|pipe:.*|anon_inode:.*|/var/log/xen/qemu-dm-xwrap\.log|/var/log/xen/xwrap-serial\.log|/test/grub\.iso)$' | tr '\n' ' ')
        [ -z "$odd" ] || bad="$bad stray-fds=[$odd]"
        ev="$ev; fds $(nfds $p)"
        # the watcher: the DM's child, root, holding a pidfd and nothing else of libxl's
        wp=$(ps -o pid= --ppid $p 2>/dev/null | xargs)
        wname=$(cat /proc/$wp/comm 2>/dev/null)
        if [ "$wname" != xsdm-dm-watch ]; then bad="$bad watcher=[$wp:$wname]"
        else
          wfds=$(ls -l /proc/$wp/fd | awk 'NR>1{print $NF}' | sort | uniq -c | xargs)
          echo "$wfds" > $R/s9-watcher-fds.txt
          wodd=$(ls -l /proc/$wp/fd | awk 'NR>1{print $NF}' | grep -v -E '^(/dev/null|anon_inode:\[pidfd\])$' | tr '\n' ' ')
          [ -z "$wodd" ] || bad="$bad watcher-fds=[$wodd]"
          ev="$ev; watcher $wp"
        fi
      fi
      # reaper: the leftover under this domain's uid is gone, the neighbours' are not
      if [ -n "${PLANT[$d]:-}" ]; then
        if kill -0 ${PLANT[$d]} 2>/dev/null; then bad="$bad leftover-uid-$((RANGE_BASE + d))-alive"
        else ev="$ev; reaped leftover of uid $((RANGE_BASE + d))"; fi
        for k in "${!PLANT[@]}"; do
          [ $k = $d ] && continue
          kill -0 ${PLANT[$k]} 2>/dev/null || bad="$bad neighbour-uid-$((RANGE_BASE + k))-killed"
        done
      else bad="$bad domid-$d-outside-the-planted-range:reaper-not-observed"; fi
      xl dmesg | grep -a "(d$d)" | tail -n 15 > $R/s9-xl-dmesg.txt
      cp $ser $R/s9-serial.log 2>/dev/null
      # destroy: domain, DM and watcher gone, chroot dir removed
      chr=$(readlink -f /var/run/xen)/qemu-root-$d
      if ! timeout 60 xl destroy $name > $R/s9-destroy.log 2>&1; then bad="$bad xl-destroy-failed"; fail_tail $R/s9-destroy.log 3; fi
      wait_for 30 sh -c "! xl domid $name" || bad="$bad domain-still-listed"
      [ -n "$p" ] && { wait_for 15 sh -c "[ ! -d /proc/$p ]" || bad="$bad DM-pid-$p-alive"; }
      [ -n "${wp:-}" ] && { wait_for 15 sh -c "[ ! -d /proc/$wp ] || grep -q '^State:.*Z' /proc/$wp/status" || bad="$bad watcher-alive"; }
      if wait_for 15 sh -c "[ ! -e $chr ]"; then ev="$ev; destroyed: domain gone, $chr removed"
      else bad="$bad chroot-dir-left"; fi
      cp /var/log/xen/qemu-dm-$name.log $R/s9-dm.log 2>/dev/null
      if [ -z "$bad" ]; then end PASS "$ev"
      else show $R/s9-dm.log 20; show $R/s9-proc.txt 40; end FAIL "$bad; $ev"; fi
    fi
    for k in "${!PLANT[@]}"; do kill ${PLANT[$k]} 2>/dev/null; wait ${PLANT[$k]} 2>/dev/null; done
  fi
fi

# ============================================================ disks: hda + hdb + hdc, boot c and d
# hda is a bootable GRUB disk (GUEST-DISK-GRUB), hdb a plain disk, hdc a GRUB CD (GUEST-CD-GRUB).
# For boot="c" and boot="d", qemu-xen first (the reference), then xsdm: the greeting on the serial
# says which device SeaBIOS booted, GRUB's `ls` the BIOS drives it sees, `cmosdump` the CMOS bytes
# the firmware read (what the DM serves behind ports 0x70/0x71 beyond Xen's own RTC bytes 0-13).
# The two disks are loop devices the stage sets up, handed to the PV backend by a minimal hotplug
# script: the stock `block` script's file handling (losetup, sharing checks) needs more than libxl's
# 40 s hotplug limit on a loaded bed, twice per domain here. Stage 3 keeps the stock file path.
FASTBLK=/etc/xen/scripts/xsdm-lab-phy
cat > $FASTBLK <<'EOF'
#!/bin/sh
# libxl hotplug script for a loop device: tell blkback which device it is (block-common's write_dev)
[ "$1" = add ] || exit 0
dev=$(xenstore-read "$XENBUS_PATH/params") || exit 1
xenstore-write "$XENBUS_PATH/physical-device" "$(stat -L -c %t:%T "$dev")" \
  "$XENBUS_PATH/physical-device-path" "$dev"
EOF
chmod 755 $FASTBLK
disks_cfg() { # $1 name $2 boot $3 dm ("" = qemu-xen) $4 $5 hda, hdb loop devices
  cat <<EOF
name = "$1"
type = "hvm"
memory = 64
vcpus = 1
vnc = 0
sdl = 0
vga = "none"
serial = "file:/var/log/xen/$1-serial.log"
boot = "$2"
disk = [ "format=raw, vdev=hda, access=rw, script=$FASTBLK, target=$4",
         "format=raw, vdev=hdb, access=rw, script=$FASTBLK, target=$5", "$T/cd-grub.iso,raw,hdc,cdrom,r" ]
vif = [ ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
dm_restrict = 1
EOF
  [ -n "$3" ] && echo "device_model_override = \"$3\""
}
# disks_boot TAG BOOT DM: boot, wait for GRUB's end marker; facts in $R/disks-TAG-BOOT-*.txt;
# DBOOT = disk|cd|none (whose greeting the guest printed), DLS = GRUB's ls line
disks_boot() {
  local tag=$1 boot=$2 dm=$3 name=disks-$1-$2 ser t0
  ser=/var/log/xen/$name-serial.log
  rm -f $ser /var/log/xen/qemu-dm-$name.log
  cp $T/disk-grub.img /var/lib/xen/$name-hda.img; cp $T/disk2.img /var/lib/xen/$name-hdb.img
  l1=$(losetup -f --show /var/lib/xen/$name-hda.img); l2=$(losetup -f --show /var/lib/xen/$name-hdb.img)
  disks_cfg $name $boot "$dm" "$l1" "$l2" > $R/$name.cfg
  DBOOT=none DLS="" t0=$(now)
  if ! lab_create $R/$name.cfg $R/$name-xl-create.log; then
    fail_tail $R/$name-xl-create.log 4; DBOOT="xl-create-failed"
  else
    wait_for 150 grep -aq 'GUEST-DISKS-END' $ser     # GRUB starts its lines with CR: no ^
    # GRUB clears the screen first (ANSI sequences): drop them so that lines compare whole
    tr -d '\r' < $ser 2>/dev/null | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' > $R/$name-serial.log
    grep -aqx GUEST-DISK-GRUB $R/$name-serial.log && DBOOT=disk
    grep -aqx GUEST-CD-GRUB $R/$name-serial.log && DBOOT=${DBOOT/none/}cd
    DLS=$(sed -n 's/^GRUB-LS: //p' $R/$name-serial.log | head -n1 | sed 's/ *$//')
    # bytes 0x00-0x0d are Xen's own RTC (the time): the rest is what the DM serves
    sed -n '/^CMOS-BEGIN/,/^CMOS-END/p' $R/$name-serial.log | grep -a -E '^[0-9a-f]{2}: ' |
      sed 's/^00: \(\([0-9a-f][0-9a-f] \)\{14\}\)/00: -- -- -- -- -- -- -- -- -- -- -- -- -- -- /' > $R/$name-cmos.txt
    msg "$name: booted $DBOOT at +$(since $t0)s; ls [$DLS]; cmos $(wc -l < $R/$name-cmos.txt) rows"
    grep -a "(d$(domid_of $name))" <(xl dmesg) | grep -a -i 'boot' | tail -n 3 > $R/$name-xl-dmesg.txt
  fi
  cp /var/log/xen/qemu-dm-$name.log $R/$name-dm.log 2>/dev/null
  timeout 60 xl destroy $name >/dev/null 2>&1
  losetup -d $l1 $l2 2>/dev/null
  rm -f /var/lib/xen/$name-hda.img /var/lib/xen/$name-hdb.img
}
cmos_diff() { # $1 $2 dump files: the offsets whose bytes differ ("" = identical, 16 rows each)
  [ "$(wc -l < $1)" = 16 ] && [ "$(wc -l < $2)" = 16 ] || { echo "incomplete-dump"; return; }
  paste -d' ' <(sed 's/^..: //' $1 | tr ' ' '\n' | grep .) <(sed 's/^..: //' $2 | tr ' ' '\n' | grep .) |
    awk '$1 != $2 { printf "0x%02x:%s/%s ", NR - 1, $1, $2 }'
}
if want disks; then
  begin disks "hda (bootable GRUB disk) + hdb + hdc (GRUB CD), boot=c and boot=d, qemu-xen then xsdm"
  destroy_all
  if [ $XSDM_OK != 1 ]; then end FAIL "xsdm not runnable in dom0"
  else
    declare -A WANT=( [c]=disk [d]=cd ) GOT=() LS=()
    bad="" ev=""
    for b in c d; do
      disks_boot qemu $b ""; GOT[qemu-$b]=$DBOOT; LS[qemu-$b]=$DLS
      disks_boot xsdm $b $DM_OVERRIDE; GOT[xsdm-$b]=$DBOOT; LS[xsdm-$b]=$DLS
      # qemu-xen is the anchor: if it does not boot as expected the stage fails as an anchor limitation
      [ "${GOT[qemu-$b]}" = "${WANT[$b]}" ] || bad="$bad anchor:qemu-xen-boot=$b-booted-${GOT[qemu-$b]}"
      [ "${GOT[xsdm-$b]}" = "${GOT[qemu-$b]}" ] || bad="$bad xsdm-boot=$b-booted-${GOT[xsdm-$b]}(qemu-xen:${GOT[qemu-$b]})"
      [ -n "${LS[xsdm-$b]}" ] && [ "${LS[xsdm-$b]}" = "${LS[qemu-$b]}" ] ||
        bad="$bad ls-boot=$b:xsdm[${LS[xsdm-$b]}]qemu-xen[${LS[qemu-$b]}]"
      for dev in '(hd0)' '(hd1)'; do
        case " ${LS[xsdm-$b]} " in *" $dev "*) ;; *) bad="$bad boot=$b:no-$dev";; esac
      done
      [ $b = d ] && case " ${LS[xsdm-$b]} " in *" (cd) "*) ;; *) bad="$bad boot=d:no-(cd)";; esac
      diff=$(cmos_diff $R/disks-qemu-$b-cmos.txt $R/disks-xsdm-$b-cmos.txt)
      [ -z "$diff" ] || bad="$bad cmos-boot=$b-differs(qemu-xen/xsdm):$diff"
      ev="$ev boot=$b: qemu-xen ${GOT[qemu-$b]}, xsdm ${GOT[xsdm-$b]};"
    done
    ev="$ev ls(d) [${LS[xsdm-d]}]; CMOS 0x0e-0xff identical to qemu-xen's for c and d"
    if [ -z "$bad" ]; then end PASS "$ev"
    else for f in $R/disks-*-cmos.txt; do echo "== ${f##*/}"; cat $f; done | show /dev/stdin 80; end FAIL "$bad"; fi
  fi
fi

# ============================================================ vnc: xl's display defaults (no vga line, vnc=1)
# A config with no `vga=` line (libxl: -device cirrus-vga,vgamem_mb=8; xsdm serves the standard VGA)
# and vnc=1 with a vncpasswd, qemu-xen first, then xsdm, GRUB CD whose menu waits for a key. Per DM:
# the xenstore keys `xl vncviewer` reads (console/vnc-listen, vnc-port, and that DM listening there),
# gtk-vnc's gvnccapture with the right password saves a non-blank PNG of the menu into $R, with a
# wrong one it is refused; a KeyEvent `k` (sent by rfb-lab.py below: a tiny RFB client of ours, DES
# by the openssl CLI; no packaged headless key sender) picks the menu entry with that hotkey, which
# prints on the serial; a second capture differs from the first. The PCI slots hvmloader found (VGA:
# big prefetchable BAR, platform: the 256-byte I/O BAR) must be qemu-xen's. Debian's qemu-xen has no
# DES (its VNC authentication cannot start): its guest runs without vncpasswd, after one attempt with
# it whose error line goes into the evidence.
cat > /tmp/rfb-lab.py <<'PYEOF'
# rfb-lab.py: the vnc stage's two small tools (python3 stdlib + the openssl CLI)
#   png FILE                      -> "WxH nonblack=N colours=M" (8-bit RGB/RGBA PNG, as gdk-pixbuf writes)
#   diff A B                      -> "WxH differing=N" (pixels whose RGB differ); exit 1 if the sizes differ
#   capture DISPLAY PASSWORD FILE gvnccapture 127.0.0.1:DISPLAY FILE, the password typed at its prompt
#   key HOST PORT PASSWORD KEYSYM...  RFB 3.8 client: VNC auth (DES by `openssl enc`, legacy provider),
#                                 shared ClientInit, then a KeyEvent down+up per keysym; "sent N"
#   size FILE                     -> "WxH" (from the PNG's header alone)
#   text FILE COLS ROWS SHOW GLYPHS [GLYPH-FILE]  the screen's first SHOW text rows, one per line ('?':
#                                 a cell no glyph matches): the screen is COLS x ROWS cells from its top
#                                 left corner; a cell is its lit pixels (max(R,G,B) > 64); text row 0 of
#                                 GLYPH-FILE (the same screen by default) shows GLYPHS, naming the cells
import socket, struct, subprocess, sys, time, zlib

def decode(path, maxrows=None):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    i, idat, w = 8, b'', 0
    while i < len(d):
        n, t = struct.unpack('>I4s', d[i:i + 8]); c = d[i + 8:i + 8 + n]; i += 12 + n
        if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', c[:10])
        elif t == b'IDAT': idat += c
    assert depth == 8 and ctype in (2, 6), 'PNG type %d/%d' % (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows, o = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
    for y in range(h if maxrows is None else min(h, maxrows)):
        f, row = raw[o], bytearray(raw[o + 1:o + 1 + stride]); o += 1 + stride
        for x in range(stride):
            a = row[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if f == 1: row[x] = (row[x] + a) & 255
            elif f == 2: row[x] = (row[x] + b) & 255
            elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([bytes(row[x:x + 3]) for x in range(0, stride, bpp)])
        prev = row
    return w, h, rows

def png(path):
    w, h, rows = decode(path)
    colours = set(px for r in rows for px in r)
    nonblack = sum(1 for r in rows for px in r if max(px) > 32)
    print('%dx%d nonblack=%d colours=%d' % (w, h, nonblack, len(colours)))

def diff(a, b):
    wa, ha, ra = decode(a); wb, hb, rb = decode(b)
    if (wa, ha) != (wb, hb): print('%dx%d vs %dx%d' % (wa, ha, wb, hb)); sys.exit(1)
    print('%dx%d differing=%d' % (wa, ha, sum(1 for y in range(ha) for x in range(wa) if ra[y][x] != rb[y][x])))

def size(path):
    # IHDR is a PNG's first chunk: the size without decoding a pixel
    d = open(path, 'rb').read(24)
    assert d[:8] == b'\x89PNG\r\n\x1a\n' and d[12:16] == b'IHDR', 'not a PNG'
    return struct.unpack('>II', d[16:24])

def text(path, cols, rows, show, glyphs, gpath=None):
    # only the SHOW text rows wanted are decoded (a PNG row needs only the one above it)
    cols, rows, show = int(cols), int(rows), int(show)
    w, h = size(path)
    cw, ch = w // cols, h // rows
    px = decode(path, show * ch)[2]
    if gpath and size(gpath) != (w, h): raise SystemExit('the glyph screen is not %dx%d' % (w, h))
    gpx = decode(gpath, ch)[2] if gpath else px
    def cell(p, r, c):
        return tuple(max(p[r * ch + y][c * cw + x]) > 64 for y in range(ch) for x in range(cw))
    blank = (False,) * (cw * ch)
    names = {blank: ' '}
    for i, g in enumerate(glyphs):
        b = cell(gpx, 0, i)
        if names.get(b, g) != g or (b == blank) != (g == ' '):
            raise SystemExit('glyph %r at column %d is blank or another glyph\'s cell (%dx%d cells)' % (g, i, cw, ch))
        names[b] = g
    for r in range(show):
        print(''.join(names.get(cell(px, r, c), '?') for c in range(cols)).rstrip())

def recv(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit('connection closed after %d of %d bytes' % (len(b), n))
        b += c
    return b

def des(password, challenge):
    k = bytes(int('{:08b}'.format(c)[::-1], 2) for c in (password.encode()[:8] + b'\0' * 8)[:8])
    r = subprocess.run(['openssl', 'enc', '-des-ecb', '-nopad', '-K', k.hex(), '-provider', 'legacy',
                        '-provider', 'default'], input=challenge, capture_output=True)
    if r.returncode or len(r.stdout) != 16: raise SystemExit('openssl des: ' + r.stderr.decode()[-200:])
    return r.stdout

def key(host, port, password, syms):
    s = socket.create_connection((host, int(port)), timeout=20)
    if not recv(s, 12).startswith(b'RFB 003.'): raise SystemExit('not RFB')
    s.sendall(b'RFB 003.008\n')
    types = recv(s, recv(s, 1)[0])
    if 2 in types:
        s.sendall(b'\x02'); s.sendall(des(password, recv(s, 16)))
    elif 1 in types: s.sendall(b'\x01')
    else: raise SystemExit('security types %r' % types)
    if struct.unpack('>I', recv(s, 4))[0] != 0: raise SystemExit('authentication refused')
    s.sendall(b'\x01')                                   # ClientInit: shared
    hdr = recv(s, 24); recv(s, struct.unpack('>I', hdr[20:24])[0])
    for k in syms:
        for down in (1, 0):
            s.sendall(struct.pack('>BBHI', 4, down, 0, int(k, 0))); time.sleep(0.2)
    time.sleep(1); s.close(); print('sent %d' % len(syms))

def capture(display, password, path):
    # gvnccapture reads a password only from a terminal, after its prompt (earlier input is flushed)
    import os, pty, select
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp('gvnccapture', ['gvnccapture', '127.0.0.1:' + display, path])
    # it prints the prompt before turning echo off with a flush: type 1 s after the prompt, and
    # again every 5 s while it has neither connected nor exited
    out, sent, end = b'', 0.0, time.time() + 40
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try: c = os.read(fd, 1024)
            except OSError: break
            if not c: break
            out += c
        elif os.waitpid(pid, os.WNOHANG)[0]: break
        p = out.rfind(b'Password:')
        if p >= 0 and b'Connected' not in out[p:] and time.time() - sent > 5:
            if sent == 0.0: time.sleep(1)
            os.write(fd, password.encode() + b'\n'); sent = time.time()
    else: os.kill(pid, 9)
    st = os.waitpid(pid, 0)[1]
    sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
    sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 1)

if sys.argv[1] == 'png': png(sys.argv[2])
elif sys.argv[1] == 'diff': diff(sys.argv[2], sys.argv[3])
elif sys.argv[1] == 'capture': capture(sys.argv[2], sys.argv[3], sys.argv[4])
elif sys.argv[1] == 'text': text(*sys.argv[2:8])
elif sys.argv[1] == 'size': print('%dx%d' % size(sys.argv[2]))
else: key(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
PYEOF
VNC_PW=labpass
vnc_cfg() { # $1 name $2 serial file $3 dm ("" = qemu-xen) $4 vncpasswd ("" = none)
  cat <<EOF
name = "$1"
type = "hvm"
memory = 64
vcpus = 1
vnc = 1
vnclisten = "127.0.0.1"
sdl = 0
serial = "file:$2"
boot = "d"
disk = [ "file:$T/vnc-grub.iso,hdc:cdrom,r" ]
vif = [ ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
dm_restrict = 1
EOF
  [ -n "$3" ] && echo "device_model_override = \"$3\""
  [ -n "$4" ] && echo "vncpasswd = \"$4\""
}
# vnc_capture DISPLAY PASSWORD FILE: gvnccapture, its password typed at its prompt on a pty
vnc_capture() { timeout 60 python3 /tmp/rfb-lab.py capture "$1" "$2" "$3" > $3.log 2>&1; }
# pci_slots DOMID: "vga=SS plat=SS" from hvmloader's BAR lines in the hypervisor log
pci_slots() {
  xl dmesg | grep -a "(d$1)" | sed -n 's/.*pci dev \([0-9a-f:]*\) bar \([0-9a-f]*\) size \([0-9a-f]*\): *\([0-9a-f]*\).*/\1 \2 \3 \4/p' |
  awk 'function hex(h,  i, n) { n = 0; for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return n }
       { sz = hex($3); if (sz == 256 && $4 ~ /1$/) io[$1] = 1; else if (sz >= 4194304 && $4 ~ /8$/) big[$1] = 1 }
       END { g = "none"; p = "none"; for (s in io) p = s; for (s in big) if (!(s in io)) g = s; printf "vga=%s plat=%s", g, p }'
}
vnc_guest() { # TAG NAME DM PASSWORD: VE[TAG] = evidence, VOK[TAG] = 1 when every fact held
  local tag=$1 name=$2 dm=$3 pw=$4 ser=/var/log/xen/$2-serial.log d d0 p t0 ev="" bad="" listen port disp st1 st2
  local st3 df save=/var/lib/xen/$2.save restored=0
  rm -f $ser /var/log/xen/qemu-dm-$name.log
  vnc_cfg $name $ser "$dm" "$pw" > $R/vnc-$tag-$name.cfg
  t0=$(now)
  if ! timeout 120 xl -vvv create $R/vnc-$tag-$name.cfg > $R/vnc-$tag-xl-create.log 2>&1; then
    fail_tail $R/vnc-$tag-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/vnc-$tag-dm.log 2>/dev/null
    show $R/vnc-$tag-dm.log 20; VE[$tag]="xl create failed"; VOK[$tag]=0; return
  fi
  d=$(domid_of $name); p=$(dm_pid $d); d0=$d
  msg "$name: domid $d, device model pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -o -- '-device [^ ]*vga[^ ]*\|-vnc [^ ]*' | xargs)"
  if wait_for 240 grep -aq GUEST-VNC-GRUB $ser; then ev="menu@$(since $t0)s"; sleep 4
  else bad="$bad no-GUEST-VNC-GRUB-in-240s"; fi
  listen=$(xenstore-read /local/domain/$d/console/vnc-listen 2>/dev/null)
  port=$(xenstore-read /local/domain/$d/console/vnc-port 2>/dev/null)
  ev="$ev; xenstore vnc-listen=$listen vnc-port=$port"
  [ "$listen" = 127.0.0.1 ] || bad="$bad vnc-listen=[$listen]"
  case "$port" in 59[0-9][0-9]) disp=$((port - 5900));; *) bad="$bad vnc-port=[$port]"; disp="";; esac
  if [ -n "$disp" ]; then
    if ss -ltnpH "sport = :$port" 2>/dev/null | grep -q "pid=$p,"; then ev="$ev (DM pid $p listens)"
    else bad="$bad port-$port-not-the-DM's"; ss -ltnp > $R/vnc-$tag-ss.txt 2>&1; fi
    if vnc_capture $disp "$pw" $R/vnc-$tag-menu.png && st1=$(python3 /tmp/rfb-lab.py png $R/vnc-$tag-menu.png); then
      ev="$ev; capture $st1"
      [ "$(echo "$st1" | sed -n 's/.*nonblack=\([0-9]*\).*/\1/p')" -ge 300 ] 2>/dev/null || bad="$bad blank-capture"
    else bad="$bad capture${pw:+-with-password}-failed"; show $R/vnc-$tag-menu.png.log 5; fi
    rm -f /tmp/vnc-wrong.png
    if [ -z "$pw" ]; then ev="$ev; no vncpasswd"
    elif vnc_capture $disp wrong-$pw /tmp/vnc-wrong.png || [ -e /tmp/vnc-wrong.png ]; then bad="$bad wrong-password-accepted"
    else ev="$ev; wrong password refused (gvnccapture failed, no PNG)"; fi
    cp /tmp/vnc-wrong.png.log $R/vnc-$tag-wrong.log 2>/dev/null
    # xl save + xl restore: the restored DM (-incoming) shows the same menu without the guest
    # redrawing it (GRUB waits for a key), so the VRAM came through: same size, non-blank, at most
    # 200 pixels differ (a blinking text cursor). The key below then goes to the restored guest.
    cp /var/log/xen/qemu-dm-$name.log $R/vnc-$tag-dm.log 2>/dev/null
    rm -f $save
    if ! timeout 300 xl -vvv save $name $save > $R/vnc-$tag-save.log 2>&1; then
      bad="$bad xl-save-failed"; fail_tail $R/vnc-$tag-save.log 4; disp=""
    elif ! timeout 300 xl -vvv restore $save > $R/vnc-$tag-restore.log 2>&1; then
      bad="$bad xl-restore-failed"; fail_tail $R/vnc-$tag-restore.log 6; restored=1; disp=""
    else
      restored=1; d=$(domid_of $name); p=$(dm_pid $d)
      port=$(xenstore-read /local/domain/$d/console/vnc-port 2>/dev/null)
      ev="$ev; saved $(stat -c %s $save) bytes, restored as domid $d (DM pid $p, vnc-port $port)"
      case "$port" in 59[0-9][0-9]) disp=$((port - 5900));; *) bad="$bad restored-vnc-port=[$port]"; disp="";; esac
      sleep 3
      if [ -n "$disp" ] && vnc_capture $disp "$pw" $R/vnc-$tag-restored.png &&
         st3=$(python3 /tmp/rfb-lab.py png $R/vnc-$tag-restored.png); then
        df=$(python3 /tmp/rfb-lab.py diff $R/vnc-$tag-menu.png $R/vnc-$tag-restored.png)
        ev="$ev; restored capture $st3, vs before save: $df"
        [ "$(echo "$st3" | sed -n 's/.*nonblack=\([0-9]*\).*/\1/p')" -ge 300 ] 2>/dev/null || bad="$bad blank-after-restore"
        [ "$(echo "$df" | sed -n 's/.*differing=\([0-9]*\).*/\1/p')" -le 200 ] 2>/dev/null ||
          bad="$bad picture-changed-by-restore[$df]"
      else bad="$bad capture-after-restore-failed"; show $R/vnc-$tag-restored.png.log 5; fi
    fi
    rm -f $save
  fi
  if [ -n "$disp" ]; then
    if timeout 60 python3 /tmp/rfb-lab.py key 127.0.0.1 $port "$pw" 0x6b > $R/vnc-$tag-key.log 2>&1 &&
       wait_for 30 grep -aq 'GUEST-VNC-ENTRY key-k' $ser; then
      ev="$ev; key k -> GUEST-VNC-ENTRY key-k on serial"; sleep 2
      if vnc_capture $disp "$pw" $R/vnc-$tag-after.png && st2=$(python3 /tmp/rfb-lab.py png $R/vnc-$tag-after.png); then
        if cmp -s $R/vnc-$tag-menu.png $R/vnc-$tag-after.png; then bad="$bad screen-unchanged-after-key"
        else ev="$ev; after-key capture differs ($st2)"; fi
      else bad="$bad capture-after-key-failed"; fi
    else bad="$bad key-k-no-GUEST-VNC-ENTRY($(tr -d '\r' < $ser | grep -a -o 'GUEST-VNC-ENTRY [a-z-]*' | tail -n1) $(tail -c 200 $R/vnc-$tag-key.log | tr '\n' ' '))"; fi
  fi
  VSLOTS[$tag]=$(pci_slots $d0)
  ev="$ev; slots ${VSLOTS[$tag]}"
  xl dmesg | grep -a "(d$d0)" > $R/vnc-$tag-xl-dmesg.txt
  cp $ser $R/vnc-$tag-serial.log 2>/dev/null
  timeout 60 xl destroy $name >/dev/null 2>&1
  if [ $restored = 1 ]; then cp /var/log/xen/qemu-dm-$name.log $R/vnc-$tag-dm-restored.log 2>/dev/null
  else cp /var/log/xen/qemu-dm-$name.log $R/vnc-$tag-dm.log 2>/dev/null; fi
  if [ $tag = xsdm ]; then # BAR0 where hvmloader put it is the VRAM's guest pages (relocated, never trapped)
    local bar0 gfn
    bar0=$(sed -n "s/.*pci dev $(echo ${VSLOTS[$tag]} | sed 's/vga=\([^ ]*\).*/\1/') bar 10 size [0-9a-f]*: *\([0-9a-f]*\).*/\1/p" $R/vnc-$tag-xl-dmesg.txt | head -n1)
    gfn=$(printf '%x' $(( (0x${bar0:-0} & ~0xfff) >> 12 )))
    if [ -n "$bar0" ] && grep -aq "VRAM now at gfn 0x$gfn\b" $R/vnc-$tag-dm.log; then ev="$ev; BAR0 0x$bar0 = VRAM guest pages (DM log: VRAM now at gfn 0x$gfn)"
    else bad="$bad VRAM-not-moved-to-BAR0[$bar0]"; fi
    # the restored DM mapped the pages Xen's stream carried where the saved state says: BAR0
    if [ $restored = 1 ]; then
      if grep -aq "VRAM found at gfn 0x$gfn and mapped" $R/vnc-$tag-dm-restored.log; then ev="$ev; restored DM: VRAM found at gfn 0x$gfn"
      else bad="$bad restored-DM-no-VRAM-at-0x$gfn"; show $R/vnc-$tag-dm-restored.log 15; fi
    fi
  fi
  if [ -z "$bad" ]; then VOK[$tag]=1; else VOK[$tag]=0; ev="$bad; $ev"; show $R/vnc-$tag-dm.log 15; fi
  VE[$tag]=$ev
}
# ============================================================ 3: Linux guest on xsdm
LNAME=lguest; LSER=/var/log/xen/lguest-serial.log; LIMG=/var/lib/xen/lguest.img; LUP=0
lser() { tr -d '\r' < $LSER 2>/dev/null; }
lhas() { lser | grep -aq -E "$1"; }
last_tick() { lser | sed -n 's/^GUEST-TICK \([0-9]*\) .*/\1/p' | tail -n1; }
if want 3; then
  begin 3 "xsdm, Linux guest ISO: ata_piix, CD + disk read, disk write"
  destroy_all
  rm -f $LSER $LIMG /var/log/xen/qemu-dm-$LNAME.log
  truncate -s 64M $LIMG
  NONCE=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  printf 'HOST-MARKER-%s\n' $NONCE | dd of=$LIMG bs=512 seek=1 conv=notrunc 2>/dev/null
  cat > $R/s3-$LNAME.cfg <<EOF
name = "$LNAME"
type = "hvm"
memory = ${L_MEM:-256}
vcpus = 1
vnc = 0
sdl = 0
vga = "none"
serial = "file:$LSER"
boot = "d"
disk = [ "$LIMG,raw,hda,rw", "$T/${L_ISO:-linux.iso},raw,hdc,cdrom,r" ]
vif = [ ]
xen_platform_pci = 1
dm_restrict = 1
on_poweroff = "destroy"
on_reboot = "preserve"
on_crash = "preserve"
device_model_override = "$DM_OVERRIDE"
EOF
  if [ $XSDM_OK != 1 ]; then end FAIL "xsdm not runnable in dom0"
  elif ! timeout 120 xl -vvv create $R/s3-$LNAME.cfg > $R/s3-xl-create.log 2>&1; then
    fail_tail $R/s3-xl-create.log; cp /var/log/xen/qemu-dm-$LNAME.log $R/s3-dm.log 2>/dev/null; show $R/s3-dm.log 20
    end FAIL "xl create failed"
  else
    LD=$(domid_of $LNAME); LP=$(dm_pid $LD)
    msg "$LNAME: domid $LD, xsdm pid $LP, xl create took $(since $S0)s"
    # whole guest lines: the guest prints them, with what it read from the CD and the disk
    declare -A M=( [grub]='GRUB-LINUX: loading' [up]='^LINUX-GUEST-UP ' [modules]='^MODULES-LOADED '
                   [blockdevs]='^BLOCKDEVS sda=yes sr0=yes$' [cd]='^CD-MARKER: LINUX-ISO-1 boot CD'
                   [hostdisk]="^HOST-MARKER: HOST-MARKER-$NONCE\$" [diskok]='^DISK-OK$' [tick]='^GUEST-TICK 1 ' )
    order="grub up modules blockdevs cd hostdisk diskok tick"
    declare -A AT=(); why=""
    while :; do
      for k in $order; do
        [ -z "${AT[$k]:-}" ] && lhas "${M[$k]}" && { AT[$k]=$(since $S0); msg "L milestone $k at +${AT[$k]}s"; }
      done
      [ -n "${AT[tick]:-}" ] && break
      lhas 'DISK-MISMATCH|DISK-WRITE FAILED|BLOCKDEVS .*=no' && { why="guest reported an I/O failure"; break; }
      [ -d /proc/$LP ] || { why="xsdm (pid $LP) exited"; break; }
      st=$(xl list $LNAME 2>/dev/null | awk 'NR==2{print $5}')
      [ -z "$st" ] && { why="domain gone"; break; }
      case "$st" in *s*|*c*) why="domain state $st"; break;; esac
      el=$(since $S0 | cut -d. -f1)
      [ "$el" -ge "${L_TIMEOUT:-1500}" ] && { why="timeout ${L_TIMEOUT:-1500}s"; break; }
      # heartbeat: is dom0 alive, is the guest printing, is xsdm busy (utime+stime ticks)
      if [ $(( el / 30 )) != "${hb:-0}" ]; then
        hb=$(( el / 30 ))
        msg "L +${el}s serial $(stat -c %s $LSER 2>/dev/null)B xsdm cpu $(awk '{print $14+$15}' /proc/$LP/stat 2>/dev/null) last: $(lser | tail -n1 | cut -c1-100)"
      fi
      sleep 2
    done
    # PASS needs every milestone (the CD marker, dom0's marker read from the disk, the disk write
    # read back...), not just the first tick: each is a line only the guest prints
    ms="" miss=""
    for k in $order; do if [ -n "${AT[$k]:-}" ]; then ms="$ms $k@${AT[$k]}s"; else miss="$miss $k"; fi; done
    [ -z "$why" ] && [ -n "$miss" ] && why="guest did not print:$miss [$(lser | grep -a -E '^(CD-MARKER|HOST-MARKER|BLOCKDEVS|DISK-)' | tr '\n' ' ' | cut -c1-200)]"
    # (an INSMOD-FAILED line is no failure by itself: crct10dif-pclmul needs a CPU feature qemu64
    # lacks; the drivers that matter show in BLOCKDEVS and in what the guest read from CD and disk)
    lser | grep -a -E '^(LSPCI|BLOCKDEVS|CD-MARKER|HOST-MARKER|DISK-|INSMOD-FAILED|DMESG)' | head -n 40 > $R/s3-guest-facts.txt
    if [ -z "$why" ]; then
      LUP=1
      fact xsdm linux_up_secs ${AT[up]}; fact xsdm linux_tick_secs ${AT[tick]}
      proc_dump $LP $R/s3-proc.txt
      show $R/s3-guest-facts.txt 12
      end PASS "$ms"
    else
      xl dmesg | grep -a "(d$LD)" | tail -n 20 > $R/s3-xl-dmesg.txt; show $R/s3-xl-dmesg.txt 20
      lser | tail -n 40 > $R/s3-serial-tail.txt; show $R/s3-serial-tail.txt 40
      cp /var/log/xen/qemu-dm-$LNAME.log $R/s3-dm.log 2>/dev/null; show $R/s3-dm.log 20
      end FAIL "$why;$ms"
    fi
  fi
fi
need_linux() { # $1 stage: skip unless the Linux guest is up on xsdm
  [ $LUP = 1 ] && [ -n "$(domid_of $LNAME)" ] && return 0
  skip $1 "needs the running Linux guest of stage 3"; return 1
}

# ============================================================ 6: depriv-fd-checker
if want 6 && need_linux 6; then
  begin 6 "depriv-fd-checker against the running xsdm"
  LD=$(domid_of $LNAME); LP=$(dm_pid $LD)
  args=""; classes=""
  for f in /proc/$LP/fd/*; do
    n=${f##*/}; tgt=$(readlink $f)
    case "$tgt" in
      /dev/xen/privcmd) c=privcmd;; /dev/xen/evtchn) c=evtchn;; /dev/xen/gntdev) c=gntdev;;
      *.iso) c=readonly;; /var/log/xen/qemu-dm-*) c=appendonly;; *) c="";;
    esac
    [ -n "$c" ] && { args="$args $c $n fd$n"; classes="$classes $c:$n"; }
  done
  msg "classes:$classes"
  # steal the fds with pidfd_getfd(2) (root, no ptrace stop), make them inheritable, exec the checker
  perl -e 'use Fcntl; my ($pid, @spec) = @ARGV; my $pfd = syscall(434, $pid + 0, 0); die "pidfd_open: $!\n" if $pfd < 0;
    my (@h, @argv);
    while (my ($c, $fd, $x) = splice(@spec, 0, 3)) {
      my $n = syscall(438, $pfd, $fd + 0, 0); die "pidfd_getfd $fd: $!\n" if $n < 0;
      open(my $fh, "+<&=", $n) or open($fh, "<&=", $n) or open($fh, ">&=", $n) or die "fdopen $n: $!\n";
      fcntl($fh, F_SETFD, 0); push @h, $fh; push @argv, $c, $n, $x; }
    exec "/usr/lib/xen-4.17/bin/depriv-fd-checker", @argv or die "exec: $!\n";' $LP $args > $R/s6-checker.txt 2>&1
  rc=$?
  show $R/s6-checker.txt 30
  npass=$(grep -c ' pass ' $R/s6-checker.txt); nfail=$(grep -c -w 'fail' $R/s6-checker.txt)
  if [ $rc = 0 ] && [ $nfail = 0 ] && [ $npass -gt 0 ] && echo "$classes" | grep -q privcmd; then
    end PASS "$npass pass, 0 fail:$classes"
  else end FAIL "rc=$rc pass=$npass fail=$nfail:$classes"; fi
fi

# ============================================================ 7: /proc facts
if want 7 && need_linux 7; then
  begin 7 "xsdm /proc facts under xl"
  LD=$(domid_of $LNAME); LP=$(dm_pid $LD); S=/proc/$LP/status; bad=""
  proc_dump $LP $R/s7-proc.txt
  uid=$((RANGE_BASE + LD))
  check() { [ "$2" = "$3" ] || bad="$bad $1=[$2]want[$3]"; }
  check Uid "$(awk '/^Uid/{print $2,$3,$4,$5}' $S)" "$uid $uid $uid $uid"
  check Gid "$(awk '/^Gid/{print $2,$3,$4,$5}' $S)" "$RANGE_GID $RANGE_GID $RANGE_GID $RANGE_GID"
  g=$(awk '/^Groups/{$1=""; print}' $S | xargs); [ -z "$g" ] || [ "$g" = "$RANGE_GID" ] || bad="$bad Groups=[$g]"
  for c in CapInh CapPrm CapEff CapBnd CapAmb; do check $c "$(awk -v k=$c: '$1==k{print $2}' $S)" 0000000000000000; done
  check NoNewPrivs "$(awk '/^NoNewPrivs/{print $2}' $S)" 1
  check Seccomp "$(awk '/^Seccomp:/{print $2}' $S)" 2
  check Threads "$(awk '/^Threads/{print $2}' $S)" 1
  check root "$(readlink /proc/$LP/root)" "$(readlink -f /var/run/xen)/qemu-root-$LD"
  L=/proc/$LP/limits
  check FSIZE "$(awk '/^Max file size/{print $4}' $L)" 262144
  check CORE "$(awk '/^Max core file size/{print $5}' $L)" 0
  nofile=$(awk '/^Max open files/{print $4}' $L); [ "$nofile" != unlimited ] && [ "$nofile" -le 1024 ] || bad="$bad NOFILE=$nofile"
  as=$(awk '/^Max address space/{print $4}' $L); [ "$as" != unlimited ] || bad="$bad AS=unlimited"
  # fds: nothing that reaches xenstore, grants or the host filesystem beyond the configured files
  # (a writable file image is served through a loop device: only one whose backing file is $LIMG)
  loops="" odd=""
  for f in $(ls -l /proc/$LP/fd | awk 'NR>1{print $NF}' | grep -v -E '^(/dev/null|/dev/xen/privcmd|/dev/xen/evtchn|/dev/pts/[0-9]+|/dev/ptmx|socket:.*|pipe:.*|anon_inode:.*|/var/log/xen/.*|/var/lib/xen/lguest.img|/test/.*\.iso)$'); do
    case $f in
    /dev/loop[0-9]*) if [ "$(cat /sys/block/${f#/dev/}/loop/backing_file 2>/dev/null)" = $LIMG ]; then loops="$loops $f"; continue; fi;;
    esac
    odd="$odd $f"
  done
  [ -z "$odd" ] || bad="$bad unexpected-fds=[${odd# }]"
  fds=$(nfds $LP)
  facts="uid=$uid Seccomp=2 NoNewPrivs=1 caps=0 threads=1 fds=$fds NOFILE=$nofile AS=$as${loops:+ lguest.img-via$loops}"
  if [ -z "$bad" ]; then end PASS "$facts"; else show $R/s7-proc.txt 30; end FAIL "$bad"; fi
fi

# ============================================================ 4: cd-insert / cd-eject
if want 4 && need_linux 4; then
  begin 4 "xl cd-insert / cd-eject on the running Linux guest"
  ok=0 tries=0 rc=1 ev=""
  while [ $tries -lt 4 ] && [ $rc != 0 ]; do
    tries=$((tries + 1)); t0=$(now)
    timeout 60 xl -vvv cd-insert $LNAME hdc $T/linux-cd2.iso > $R/s4-cd-insert-$tries.log 2>&1; rc=$?
    [ $rc = 0 ] && fact xsdm linux_cdinsert_secs $(since $t0) || { fail_tail $R/s4-cd-insert-$tries.log 3; sleep 3; }
  done
  if [ $rc = 0 ] && wait_for 240 lhas 'CD-CHANGE .*LINUX-ISO-2'; then
    ev="insert rc=0 ($(getfact xsdm linux_cdinsert_secs)s, try $tries), guest read LINUX-ISO-2 at +$(since $S0)s"
    tries=0 rc=1
    while [ $tries -lt 4 ] && [ $rc != 0 ]; do
      tries=$((tries + 1))
      timeout 60 xl -vvv cd-eject $LNAME hdc > $R/s4-cd-eject-$tries.log 2>&1; rc=$?
      [ $rc = 0 ] || { fail_tail $R/s4-cd-eject-$tries.log 3; sleep 3; }
    done
    if [ $rc = 0 ] && wait_for 240 lhas 'CD-CHANGE .*no medium'; then ok=1; ev="$ev; eject rc=0, guest saw no medium at +$(since $S0)s"
    else ev="$ev; eject rc=$rc, guest did not notice"; fi
  else ev="insert rc=$rc after $tries tries, or the guest did not read LINUX-ISO-2"; fi
  lser | grep -a 'CD-CHANGE' > $R/s4-guest-cd.txt
  if [ $ok = 1 ]; then end PASS "$ev"; else show $R/s4-guest-cd.txt; end FAIL "$ev"; fi
fi

# ============================================================ 5: save / restore
if want 5 && need_linux 5; then
  begin 5 "xl save + xl restore of the Linux guest on xsdm"
  SAVE=/var/lib/xen/$LNAME.save; rm -f $SAVE
  n0=$(last_tick); t0=$(now)
  if ! timeout 600 xl -vvv save $LNAME $SAVE > $R/s5-save.log 2>&1; then
    fail_tail $R/s5-save.log; cp /var/log/xen/qemu-dm-$LNAME.log $R/s5-dm.log 2>/dev/null; show $R/s5-dm.log 20
    end FAIL "xl save failed (last tick $n0)"; LUP=0
  else
    ssecs=$(since $t0); size=$(stat -c %s $SAVE); fact xsdm linux_save_bytes $size
    n1=$(last_tick); t0=$(now)
    if ! timeout 600 xl -vvv restore $SAVE > $R/s5-restore.log 2>&1; then
      fail_tail $R/s5-restore.log; cp /var/log/xen/qemu-dm-$LNAME.log $R/s5-dm.log 2>/dev/null; show $R/s5-dm.log 20
      end FAIL "saved ($size bytes, ${ssecs}s), xl restore failed"; LUP=0
    else
      rsecs=$(since $t0); LD=$(domid_of $LNAME); LP=$(dm_pid $LD)
      if wait_for 240 sh -c "[ \"\$(tr -d '\r' < $LSER | sed -n 's/^GUEST-TICK \([0-9]*\) .*/\1/p' | tail -n1)\" -gt ${n1:-0} ]"; then
        end PASS "saved $size bytes in ${ssecs}s at tick $n1, restored in ${rsecs}s (domid $LD), ticks go on: $(last_tick)"
      else
        cp /var/log/xen/qemu-dm-$LNAME.log $R/s5-dm.log 2>/dev/null; show $R/s5-dm.log 20
        end FAIL "restored in ${rsecs}s but no tick after $n1 within 240s"; LUP=0
      fi
    fi
  fi
  rm -f $SAVE
fi

# ============================================================ 3p: poweroff
if want 3 && { [ $LUP != 1 ] || [ -z "$(domid_of $LNAME)" ]; }; then
  msg "STAGE 3p FAIL secs=0 the Linux guest of stage 3 is not running"
elif want 3; then
  begin 3p "Linux guest powers off: domain gone, disk write visible in dom0"
  # xsdm serves a writable file image through a loop device, which keeps its own page cache: a write
  # to the file would stay unseen by the guest; through the same loop device it is what the guest reads
  ldev=$(losetup -j $LIMG 2>/dev/null | cut -d: -f1 | head -n1)
  printf 'LCTL-STOP\n' | dd of=${ldev:-$LIMG} bs=512 seek=2 conv=notrunc,fsync 2>/dev/null
  sync
  gone=no
  if wait_for 300 lhas LINUX-GUEST-DONE && wait_for 120 sh -c "! xl domid $LNAME"; then gone=yes; fi
  want_m=$(lser | sed -n 's/^DISK-WRITE ok: //p' | head -n1)
  got_m=$(dd if=$LIMG bs=512 count=1 2>/dev/null | tr -d '\000' | head -n1)
  if [ $gone = yes ] && [ -n "$want_m" ] && [ "$got_m" = "$want_m" ]; then end PASS "domain gone; dom0 reads [$got_m]"
  else end FAIL "gone=$gone; guest wrote [$want_m], dom0 reads [$got_m]"; fi
fi
cp $LSER $R/linux-serial.log 2>/dev/null
cp /var/log/xen/qemu-dm-$LNAME.log $R/linux-dm.log 2>/dev/null

# ============================================================ 8: side-by-side table
if want 8; then
  begin 8 "side-by-side: qemu-xen vs xsdm (GRUB guest, same config)"
  {
    printf '%-26s %14s %14s\n' "GRUB guest, dm_restrict=1" qemu-xen xsdm
    for k in rss_kb threads fds create_secs hvmloader_secs seabios_secs bootcd_secs grub_secs cdinsert_secs save_bytes save_secs; do
      printf '%-26s %14s %14s\n' $k "$(getfact qemu $k)" "$(getfact xsdm $k)"
    done
    printf '%-26s %14s %14s\n' "Linux guest (xsdm only)" "" ""
    for k in linux_up_secs linux_tick_secs linux_cdinsert_secs linux_save_bytes; do
      printf '%-26s %14s %14s\n' $k "-" "$(getfact xsdm $k)"
    done
  } > $R/table.txt
  show $R/table.txt
  missing=""
  for k in rss_kb threads fds grub_secs; do
    [ -n "$(getfact qemu $k)" ] || missing="$missing qemu:$k"; [ -n "$(getfact xsdm $k)" ] || missing="$missing xsdm:$k"
  done
  if [ -z "$missing" ]; then end PASS "rss_kb $(getfact qemu rss_kb)/$(getfact xsdm rss_kb) threads $(getfact qemu threads)/$(getfact xsdm threads) fds $(getfact qemu fds)/$(getfact xsdm fds) grub_s $(getfact qemu grub_secs)/$(getfact xsdm grub_secs)"
  else end FAIL "missing:$missing"; fi
fi

# ============================================================ libvirt: libvirtd's libxl driver, both DMs
# libvirtd (Debian's libvirt-daemon-driver-xen; only its libxl driver is loaded) starts the GRUB
# guest from a domain XML whose <emulator> is qemu-xen's binary, then xsdm. Nothing in libvirt asks
# for dm_restrict: libxl passes neither -chroot nor -runas. Per DM: virsh define + start; GRUB's
# ticks through `virsh console` and on the pty `virsh ttyconsole` names; change-media eject, insert
# of grub2.iso, eject (GRUB cannot show a medium change: the evidence is virsh domblklist after each
# step and the DM holding grub2.iso once inserted; what it still holds after an eject is reported:
# qemu-xen (QEMU 7.2) keeps the boot CD it opened by path and frees the add-fd set, xsdm keeps the
# add-fd fd as QEMU 10 does: libxl never sends remove-fd, libxl-compat.md 3.5); ticks go on; save + restore (a new tick on the restored domain's
# console); destroy (domain and DM gone). The DM's /proc facts after start and after restore
# (uid, root, Seccomp, CapEff): qemu-xen's are reported, xsdm's demanded (libxl's per-domain uid,
# a root that is not dom0's /, Seccomp 2, CapEff 0). One verdict, xsdm's; qemu-xen's beside it.
LV="virsh -q -c xen:///system"
lv_daemon() { # libvirtd with its libxl driver alone (no qemu, network, storage drivers); 0 when virsh answers
  # /run/lock (= /var/lock): `virsh console` locks the pty there; dom0's /run is a fresh tmpfs
  mkdir -p /etc/libvirt /run/libvirt /run/lock /var/log/libvirt /tmp/lv-drivers
  # The bed's CPU only: the libxl driver decodes Xen's hw_caps into a model of libvirt's cpu_map and
  # will not start when none fits ("Cannot find suitable CPU model"). TCG's qemu64 has no vme and
  # Xen reports no sep on it, which every x86 model there needs: one model with fpu alone fits any
  # x86 CPU. dom0's disk is a throwaway overlay.
  local map=/usr/share/libvirt/cpu_map
  if [ -e $map/index.xml ] && ! grep -q x86_xsdm-bed.xml $map/index.xml; then
    printf '%s\n' '<cpus>' "  <model name='xsdm-bed'>" "    <decode host='on' guest='off'/>" "    <feature name='fpu'/>" \
      '  </model>' '</cpus>' \
      > $map/x86_xsdm-bed.xml
    sed -i "s|<include filename='x86_qemu64.xml'/>|&\n    <include filename='x86_xsdm-bed.xml'/>|" $map/index.xml
    msg "libvirt: hw_caps $(sed -n 's/^hw_caps *: //p' $R/xl-info.txt); cpu_map: model xsdm-bed added (bed only)"
  fi
  ln -sfn /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_libxl.so /tmp/lv-drivers/
  printf '%s\n' 'auth_unix_ro = "none"' 'auth_unix_rw = "none"' 'log_filters = "1:libxl 3:*"' \
    'log_outputs = "1:file:/var/log/libvirt/libvirtd.log"' > /etc/libvirt/libvirtd.conf
  LIBVIRT_DRIVER_DIR=/tmp/lv-drivers libvirtd -d -f /etc/libvirt/libvirtd.conf -p /run/libvirtd.pid \
    > $R/lv-libvirtd.out 2>&1 || return 1
  local i
  for i in $(seq 120); do   # until virsh answers, or libvirtd is gone (its log says why)
    timeout 20 $LV version >/dev/null 2>&1 && return 0
    [ -r /run/libvirtd.pid ] && ! kill -0 "$(cat /run/libvirtd.pid)" 2>/dev/null && return 1
    sleep 1
  done
  return 1
}
lv_xml() { # NAME EMULATOR ISO: the docs/xen.md domain, GRUB CD only (no <video>, no <graphics>: libxl's vga "none")
  cat <<XML
<domain type='xen'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenfv'>hvm</type>
    <loader type='rom'>/usr/lib/xen-4.17/boot/hvmloader</loader>
    <boot dev='cdrom'/>
  </os>
  <features><acpi/><apic/><pae/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>preserve</on_crash>
  <devices>
    <emulator>$2</emulator>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$3'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
XML
}
# lv_console NAME OUT: `virsh console` on a pty (script(1); virsh wants a terminal) for 20 s
lv_console() { sleep 25 | timeout 20 script -q -c "virsh -c xen:///system console $1 --force" /dev/null > $2 2>&1; grep -aq GUEST-TICK $2; }
# lv_pty NAME OUT: the console pty libvirt names (virsh ttyconsole) read until a GUEST-TICK (40 s)
lv_pty() {
  local tty c rc=1
  tty=$(timeout 20 $LV ttyconsole $1 2>/dev/null)
  echo "ttyconsole: [$tty]" > $2
  [ -n "$tty" ] && [ -c "$tty" ] || return 1
  stty -F $tty raw -echo 2>/dev/null
  timeout 45 cat $tty >> $2 2>/dev/null & c=$!
  wait_for 40 grep -aq GUEST-TICK $2 && rc=0
  kill $c 2>/dev/null; wait $c 2>/dev/null
  return $rc
}
# lv_proc TAG WHEN DOMID PID: the DM's /proc facts into facts-TAG (lv_WHEN_*); for xsdm each one
# that is not what is demanded goes into LB
lv_proc() {
  local tag=$1 w=$2 d=$3 p=$4 S=/proc/$4/status uid want root rid
  proc_dump $p $R/lv-$tag-$w-proc.txt
  uid=$(awk '/^Uid/{print $2,$3,$4,$5}' $S); want=$((RANGE_BASE + d))
  root=$(readlink /proc/$p/root)
  # a root in another mount namespace may read "/" too: dom0's / is told by device and inode
  rid=$(stat -L -c %d:%i /proc/$p/root 2>/dev/null)
  if [ -z "$rid" ]; then root="unknown"
  elif [ "$rid" = "$(stat -c %d:%i /)" ]; then root="dom0's /"
  else root="$root ($(stat -f -L -c %T /proc/$p/root 2>/dev/null)$([ "$(readlink /proc/$p/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && echo ', own mnt ns'))"; fi
  fact $tag lv_${w}_uid "$(echo $uid | awk '{print $2}')"
  fact $tag lv_${w}_root "$root"
  fact $tag lv_${w}_seccomp "$(awk '/^Seccomp:/{print $2}' $S)"
  fact $tag lv_${w}_capeff "$(awk '/^CapEff/{print $2}' $S)"
  fact $tag lv_${w}_rss_kb "$(rss_kb $p)"
  [ $tag = xsdm ] || return 0
  [ "$uid" = "$want $want $want $want" ] || LB="$LB $w:Uid=[$uid]want[$want]"
  case "$root" in "dom0's /"|unknown) LB="$LB $w:root=[$root]";; esac
  [ "$(getfact $tag lv_${w}_seccomp)" = 2 ] || LB="$LB $w:Seccomp=[$(getfact $tag lv_${w}_seccomp)]"
  [ "$(getfact $tag lv_${w}_capeff)" = 0000000000000000 ] || LB="$LB $w:CapEff=[$(getfact $tag lv_${w}_capeff)]"
}
# lv_cd TAG STEP PID WANT: after a change-media step, hdc's source in virsh domblklist and whether
# the DM holds grub.iso / grub2.iso open; WANT is what hdc must hold (a file or "-")
lv_cd() {
  local src files
  src=$(timeout 20 $LV domblklist $LVN 2>/dev/null | awk '$1=="hdc"{print $2}')
  files=$(ls -l /proc/$3/fd 2>/dev/null | awk 'NR>1{print $NF}' | grep -o 'grub2\?\.iso' | sort -u | xargs)
  CDEV="$CDEV $2:src=${src:-?},dm-holds=[${files}]"
  [ "$src" = "$4" ] || LB="$LB $2:domblklist-hdc=[$src]want[$4]"
  case "$4" in
  -) ;;   # after an eject what the DM still holds is reported, not judged (the stage's comment)
  *) case " $files " in *" $(basename $4) "*) ;; *) LB="$LB $2:DM-holds-[$files]-not-$(basename $4)";; esac;;
  esac
}
# lv_guest TAG EMULATOR: one DM through libvirt; LVOK[TAG]=1 when every step worked, LVE[TAG] the evidence
lv_guest() {
  local tag=$1 emu=$2 d p t0 LB="" LEV="" CDEV="" n
  LVN=lv-$tag
  rm -f /var/log/xen/qemu-dm-$LVN.log /var/lib/xen/$LVN.save
  lv_xml $LVN $emu $T/grub.iso > $R/lv-$tag.xml
  if ! timeout 60 $LV define $R/lv-$tag.xml > $R/lv-$tag-define.log 2>&1; then
    LVE[$tag]="virsh define failed: $(tail -n 2 $R/lv-$tag-define.log | tr '\n' ' ')"; LVOK[$tag]=0; return
  fi
  t0=$(now)
  if ! timeout 180 $LV start $LVN > $R/lv-$tag-start.log 2>&1; then
    cp /var/log/xen/qemu-dm-$LVN.log $R/lv-$tag-dm.log 2>/dev/null; show $R/lv-$tag-dm.log 15
    LVE[$tag]="virsh start failed: $(tail -n 2 $R/lv-$tag-start.log | tr '\n' ' ') DM log: $(head -n 1 $R/lv-$tag-dm.log 2>/dev/null)"
    LVOK[$tag]=0; timeout 60 $LV undefine $LVN >/dev/null 2>&1; return
  fi
  fact $tag lv_start_secs $(since $t0)
  d=$(timeout 20 $LV domid $LVN 2>/dev/null); p=$(dm_pid $d)
  msg "$LVN: virsh start took $(getfact $tag lv_start_secs)s, domid $d, DM pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-200)"
  LEV="start $(getfact $tag lv_start_secs)s (domid $d)"
  # GRUB: its ticks on `virsh console`, and on the pty libvirt names
  n=0
  if lv_console $LVN $R/lv-$tag-console.out; then LEV="$LEV; virsh console: $(grep -a -o 'GUEST-TICK [a-z0-9]*' $R/lv-$tag-console.out | tail -n1)"; n=1
  else LEV="$LEV; virsh console: no tick ($(tr -d '\r' < $R/lv-$tag-console.out | head -c 120 | tr '\n' ' '))"; fi
  if lv_pty $LVN $R/lv-$tag-pty.out; then LEV="$LEV; $(head -n1 $R/lv-$tag-pty.out | sed 's/ttyconsole: \[\(.*\)\]/ttyconsole \1/'): GUEST-TICK@$(since $t0)s"; n=1
  else LEV="$LEV; ttyconsole pty: no tick"; fi
  [ $n = 1 ] || LB="$LB no-GRUB-on-the-console"
  if [ -z "$p" ] || [ ! -d /proc/$p ]; then LB="$LB no-DM-process"
  else lv_proc $tag start $d $p; fi
  # change-media: eject the boot CD, insert grub2.iso, eject it
  if timeout 60 $LV change-media $LVN hdc --eject > $R/lv-$tag-cd1.log 2>&1; then lv_cd $tag eject1 $p -
  else LB="$LB change-media-eject-failed"; fail_tail $R/lv-$tag-cd1.log 3; fi
  if timeout 60 $LV change-media $LVN hdc $T/grub2.iso --insert > $R/lv-$tag-cd2.log 2>&1; then lv_cd $tag insert $p $T/grub2.iso
  else LB="$LB change-media-insert-failed"; fail_tail $R/lv-$tag-cd2.log 3; fi
  if timeout 60 $LV change-media $LVN hdc --eject > $R/lv-$tag-cd3.log 2>&1; then lv_cd $tag eject2 $p -
  else LB="$LB change-media-eject2-failed"; fail_tail $R/lv-$tag-cd3.log 3; fi
  LEV="$LEV; change-media$CDEV"
  if lv_pty $LVN $R/lv-$tag-pty2.out; then LEV="$LEV; ticks go on"; else LB="$LB no-tick-after-change-media"; fi
  # save + restore: the restored domain's console ticks again
  t0=$(now)
  if ! timeout 300 $LV save $LVN /var/lib/xen/$LVN.save > $R/lv-$tag-save.log 2>&1; then
    LB="$LB virsh-save-failed"; fail_tail $R/lv-$tag-save.log 3
  else
    fact $tag lv_save_secs $(since $t0); fact $tag lv_save_bytes $(stat -c %s /var/lib/xen/$LVN.save)
    t0=$(now)
    if ! timeout 300 $LV restore /var/lib/xen/$LVN.save > $R/lv-$tag-restore.log 2>&1; then
      LB="$LB virsh-restore-failed"; fail_tail $R/lv-$tag-restore.log 3
      cp /var/log/xen/qemu-dm-$LVN.log $R/lv-$tag-restore-dm.log 2>/dev/null; show $R/lv-$tag-restore-dm.log 15
    else
      fact $tag lv_restore_secs $(since $t0)
      d=$(timeout 20 $LV domid $LVN 2>/dev/null); p=$(dm_pid $d)
      LEV="$LEV; saved $(getfact $tag lv_save_bytes) bytes in $(getfact $tag lv_save_secs)s, restored in $(getfact $tag lv_restore_secs)s (domid $d)"
      if lv_pty $LVN $R/lv-$tag-pty3.out; then LEV="$LEV, GUEST-TICK after restore"; else LB="$LB no-tick-after-restore"; fi
      if [ -z "$p" ] || [ ! -d /proc/$p ]; then LB="$LB no-DM-process-after-restore"
      else lv_proc $tag restore $d $p; fi
    fi
  fi
  rm -f /var/lib/xen/$LVN.save
  # destroy: the domain and its DM gone
  if timeout 60 $LV destroy $LVN > $R/lv-$tag-destroy.log 2>&1 && wait_for 30 sh -c "! xl domid $LVN" &&
     { [ -z "$p" ] || wait_for 15 sh -c "[ ! -d /proc/$p ]"; }; then LEV="$LEV; destroyed: domain and DM gone"
  else LB="$LB destroy-left-domain-or-DM"; fi
  timeout 60 $LV undefine $LVN >/dev/null 2>&1
  cp /var/log/xen/qemu-dm-$LVN.log $R/lv-$tag-dm.log 2>/dev/null
  LEV="$LEV; DM uid $(getfact $tag lv_start_uid)/$(getfact $tag lv_restore_uid), root $(getfact $tag lv_start_root), Seccomp $(getfact $tag lv_start_seccomp), CapEff $(getfact $tag lv_start_capeff)"
  if [ -z "$LB" ]; then LVOK[$tag]=1; LVE[$tag]=$LEV; else LVOK[$tag]=0; LVE[$tag]="${LB# }: $LEV"; show $R/lv-$tag-dm.log 15; fi
}

if want libvirt; then
  begin libvirt "libvirtd (libxl driver), domain XML with <emulator>, qemu-xen then xsdm: start, console, change-media, save/restore, destroy, the DM's /proc facts"
  destroy_all
  declare -A LVE=() LVOK=()
  if [ $XSDM_OK != 1 ]; then end FAIL "xsdm not runnable in dom0"
  elif ! lv_daemon; then
    show $R/lv-libvirtd.out 10; grep -a -i -E 'error|fail' /var/log/libvirt/libvirtd.log 2>/dev/null | tail -n 8 | cut -c1-300 | sed 's/^/LAB|   /'
    end FAIL "libvirtd with the libxl driver did not answer virsh"
  else
    timeout 30 $LV capabilities > $R/lv-capabilities.xml 2>&1
    hostcpu=$(sed -n '/<host>/,/<\/cpu>/s/.*<model>\(.*\)<\/model>.*/\1/p' $R/lv-capabilities.xml | head -n1)
    msg "libvirt: $(timeout 20 $LV version 2>/dev/null | tr '\n' ' '); host CPU model [${hostcpu}]"
    lv_guest qemu /usr/libexec/xen-qemu-system-i386
    lv_guest xsdm $XSDM
    {
      echo
      printf '%-34s %14s %14s\n' "GRUB guest via libvirt (no dm_restrict)" qemu-xen xsdm
      for k in start_secs start_uid restore_uid start_root start_seccomp start_capeff restore_seccomp restore_capeff start_rss_kb save_bytes save_secs restore_secs; do
        printf '%-34s %14s %14s\n' "$k" "$(getfact qemu lv_$k)" "$(getfact xsdm lv_$k)"
      done
      printf '%-34s %14s %14s\n' "stage libvirt" "$([ "${LVOK[qemu]}" = 1 ] && echo ok || echo bad)" "$([ "${LVOK[xsdm]}" = 1 ] && echo ok || echo bad)"
    } >> $R/table.txt
    show $R/table.txt 60
    q="qemu-xen: ${LVE[qemu]}"; [ "${LVOK[qemu]}" = 1 ] || q="qemu-xen (anchor limitation): ${LVE[qemu]}"
    if [ "${LVOK[xsdm]}" = 1 ]; then end PASS "xsdm: ${LVE[xsdm]} | $q"; else end FAIL "xsdm: ${LVE[xsdm]} | $q"; fi
  fi
  [ -r /run/libvirtd.pid ] && kill $(cat /run/libvirtd.pid) 2>/dev/null
  cp /var/log/libvirt/libvirtd.log $R/lv-libvirtd.log 2>/dev/null
  cp -r /var/log/libvirt/libxl $R/lv-libxl-logs 2>/dev/null
fi

# ============================================================ lab stages: bigwrite perf pause migrate reboot
# One Linux boot per device model, qemu-xen first (the reference), then xsdm, carries bigwrite, perf,
# pause and migrate, and ends with `xl shutdown`; reboot runs on a small GRUB ISO. Each stage prints
# one verdict, decided by xsdm; qemu-xen's result is in the evidence, marked "anchor limitation"
# where qemu-xen itself fails. Every fact in the evidence is a line the guest printed (read through
# `xl console` on serial="pty", or its serial file), or what dom0 found on the disk the guest wrote.
LAB_STAGES="bigwrite perf pause migrate reboot"
lab_wanted() { local s; for s in $LAB_STAGES; do want $s && return 0; done; return 1; }
declare -A LR=() LE=() LSECS=()           # LR[stage-tag] = ok|bad, LE[stage-tag] = evidence
lab_note() { # STAGE TAG ok|bad EVIDENCE T0: one DM's result; the stage's secs add up over both DMs
  LR[$1-$2]=$3; LE[$1-$2]=$4
  LSECS[$1]=$(awk -v a="${LSECS[$1]:-0}" -v b="$(since $5)" 'BEGIN{printf "%.1f", a+b}')
}
lab_log() { tr -d '\r' < $LAB_LOG 2>/dev/null; }
lab_has() { lab_log | grep -aq -E "$1"; }
lab_line() { lab_log | grep -a -E "$1" | tail -n1; }
lab_tick() { lab_log | sed -n 's/^GUEST-TICK \([0-9]*\) .*/\1/p' | tail -n1; }
uid_procs() { ps -eo uid=,pid=,comm= | awk -v u=$1 '$1==u{printf "%s:%s ", $2, $3}'; }
dm_facts() { # PID DOMID TAG: "" when the DM is restricted as under xl, else what is wrong (Seccomp 2 is
  # demanded of xsdm only: qemu-xen as libxl starts it under dm_restrict runs without a filter, 0)
  local s=/proc/$1/status bad="" sc
  [ -n "$1" ] && [ -d /proc/$1 ] || { echo "DM-pid-[$1]-not-running"; return; }
  sc=$(awk '/^Seccomp:/{print $2}' $s)
  [ "$3" = qemu ] || [ "$sc" = 2 ] || bad="$bad Seccomp=$sc"
  [ "$(awk '/^Uid/{print $2}' $s)" = $((RANGE_BASE + $2)) ] || bad="$bad uid=$(awk '/^Uid/{print $2}' $s)-want-$((RANGE_BASE + $2))"
  echo "$bad"
}
# lab_console DOMID: read the guest's serial pty with `xl console` (appended to $LAB_LOG), in background
LAB_CONPID="" LAB_TTY=""
lab_console() {
  local i=0
  LAB_TTY=""
  while [ $i -lt 30 ] && [ -z "$LAB_TTY" ]; do
    LAB_TTY=$(xenstore-read /local/domain/$1/serial/0/tty 2>/dev/null) || { LAB_TTY=""; sleep 1; }; i=$((i + 1))
  done
  [ -n "$LAB_TTY" ] && [ -c "$LAB_TTY" ] || return 1
  # raw, no echo: the guest's own output must not come back to it as input
  stty -F $LAB_TTY raw -echo 2>/dev/null
  timeout 3600 xl console -t serial $1 < /tmp/lab-console-in >> $LAB_LOG 2>> $R/lab-console.err &
  LAB_CONPID=$!
}
lab_console_stop() { [ -n "$LAB_CONPID" ] && { kill $LAB_CONPID 2>/dev/null; wait $LAB_CONPID 2>/dev/null; }; LAB_CONPID=""; }
# lab_wait SECS REGEX: until the guest printed REGEX; 1 on timeout, domain or DM gone (LAB_WHY says)
lab_wait() {
  local s=$(date +%s) hb=0 el d st
  LAB_WHY=""
  while ! lab_has "$2"; do
    el=$(( $(date +%s) - s ))
    [ $el -ge $1 ] && { LAB_WHY="no [$2] from the guest in $1s"; return 1; }
    d=$(domid_of $LAB_NAME)
    [ -z "$d" ] && { LAB_WHY="domain gone waiting for [$2]"; return 1; }
    st=$(xl list $d 2>/dev/null | awk 'NR==2{print $5}')
    case "$st" in *c*) LAB_WHY="domain crashed waiting for [$2]"; return 1;; esac
    [ -n "$LAB_DM" ] && [ ! -d /proc/$LAB_DM ] && { LAB_WHY="device model pid $LAB_DM exited waiting for [$2]"; return 1; }
    if [ $(( el / 60 )) != $hb ]; then   # a heartbeat: the outer watchdog stops a silent console
      hb=$(( el / 60 )); msg "$LAB_NAME: +${el}s waiting for [$2]; serial $(stat -c %s $LAB_LOG 2>/dev/null)B, last: $(lab_log | tail -n1 | cut -c1-80)"
    fi
    sleep 2
  done
}
# dma_after NLINES: the guest's DMA checker printed, after the log's first NLINES lines, a line and
# then one with 128 more verified buffers (the whole ring checked since the first)
DMACHECK_RE='^DMACHECK reads=[0-9]+ verified=[0-9]+ mismatches=[0-9]+$'   # a whole line, not one half received
dma_after() {
  lab_log | tail -n +$(($1 + 1)) | grep -a -E "$DMACHECK_RE" | sed -n 's/.* verified=\([0-9]*\).*/\1/p' |
    awk 'NR == 1 { f = $1 } { l = $1 } END { exit !(NR > 0 && l >= f + 128) }'
}
lab_offsets() { # file|loop: where the guest writes its markers (hda: 256 MiB file, hdb: 128 MiB loop device)
  case $1 in file) echo 0 1048576 67108864 $((255 * 1048576));; loop) echo 0 1048576 67108864 $((127 * 1048576));; esac
}
lab_cfg() { # NAME IMG DM [LOOPDEV: hdb]
  cat <<EOF
name = "$1"
type = "hvm"
memory = 128
vcpus = 1
vnc = 0
sdl = 0
vga = "none"
serial = "pty"
boot = "d"
disk = [ "$2,raw,hda,rw", ${4:+"\"phy:$4,hdb,w\", "}"$T/linux-lab.iso,raw,hdc,cdrom,r" ]
vif = [ ]
xen_platform_pci = 1
dm_restrict = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
EOF
  [ -n "$3" ] && echo "device_model_override = \"$3\""
}

# perf_counters PID: "time syscr syscw ctxsw dm_ticks dom0: user sys idle steal" at this moment
perf_counters() {
  printf '%s %s %s %s %s\n' "$(now)" "$(awk '/^syscr/{r=$2}/^syscw/{w=$2}END{print r+0, w+0}' /proc/$1/io 2>/dev/null)" \
    "$(awk '/ctxt_switches/{s+=$2}END{print s+0}' /proc/$1/status 2>/dev/null)" "$(awk '{print $14+$15}' /proc/$1/stat 2>/dev/null)" \
    "$(awk '/^cpu /{print $2+$3, $4+$7+$8, $5+$6, $9}' /proc/stat)"
}
# perf_delta C0 C1 PERF-PORT-LINE: the counters per port read (reads in the window from its us_per_read)
perf_delta() {
  echo "$1 $2" | awk -v us="$(echo "$3" | sed -n 's/.* us_per_read=\([0-9.]*\).*/\1/p')" '{
    n = us > 0 ? ($10 - $1) * 1e6 / us : 0; if (n < 1) n = 1
    printf "window %.1fs ~%d reads; per read: read-syscalls %.2f write-syscalls %.2f ctxsw %.2f; DM cpu %.0f%%; dom0 user %.0f%% sys %.0f%% idle %.0f%% steal %.0f%%",
      $10 - $1, n, ($11 - $2) / n, ($12 - $3) / n, ($13 - $4) / n, ($14 - $5) / ($10 - $1), 
      ($15 - $6) / ($10 - $1), ($16 - $7) / ($10 - $1), ($17 - $8) / ($10 - $1), ($18 - $9) / ($10 - $1) }'
}

# read_delta C0 C1 PERF-LINE: the DM's work per MiB of a read phase (the guest pauses 3 s around
# each, so the samples, taken when dom0 sees the lines, bracket the phase; its seconds are the guest's)
read_delta() {
  echo "$1 $2" | awk -v b="$(echo "$3" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')" -v secs="$(echo "$3" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p')" '{
    m = b / 1048576; if (m < 1) m = 1; if (secs <= 0) secs = 1
    printf "per MiB: read-syscalls %.1f write-syscalls %.1f ctxsw %.1f DM-cpu-ms %.1f; DM cpu %.0f%% of the %.2fs",
      ($11 - $2) / m, ($12 - $3) / m, ($13 - $4) / m, ($14 - $5) * 10 / m, ($14 - $5) / secs, secs }'
}

# lab_linux TAG DM: one Linux session on that device model (TAG qemu|xsdm, DM "" = qemu-xen)
lab_linux() {
  local tag=$1 dm=$2 name=lab-$1 img=/var/lib/xen/lab-$1.img img2=/var/lib/xen/lab-$1-loop.img t0 t1 d p d2 p2 n0 n1 n2 n3 st msecs bad ev x off m got dev f
  LAB_NAME=$name LAB_LOG=$R/lab-$tag-serial.log LAB_DM=""
  rm -f $img $img2 $LAB_LOG /var/log/xen/qemu-dm-$name.log
  truncate -s 256M $img
  printf 'LAB-SESSION %s\n' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" | dd of=$img bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
  # what the guest's DMA checker reads (migrate): random, so no two of its blocks are alike
  dd if=/dev/urandom of=$img bs=1M seek=128 count=32 conv=notrunc,fsync 2>/dev/null
  # hdb: a loop device (its 128 MiB backing file checked by dom0 like hda's image)
  truncate -s 128M $img2
  printf 'LAB-LOOPDISK\n' | dd of=$img2 bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
  LAB_LOOP=$(losetup -f --show $img2 2>/dev/null) || { msg "LAB $tag: losetup failed"; LAB_LOOP=""; }
  lab_cfg $name $img "$dm" $LAB_LOOP > $R/lab-$tag.cfg
  msg "LAB $tag: Linux session (hda 256 MiB file, hdb loop device ${LAB_LOOP:-none}, serial pty)"
  t0=$(now)
  if ! lab_create $R/lab-$tag.cfg $R/lab-$tag-xl-create.log; then
    fail_tail $R/lab-$tag-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/lab-$tag-dm.log 2>/dev/null
    for x in perf bigwrite pause migrate shutdown; do lab_note $x $tag bad "xl create failed" $t0; done
    [ -n "$LAB_LOOP" ] && losetup -d $LAB_LOOP; rm -f $img $img2
    return 1
  fi
  d=$(domid_of $name); p=$(dm_pid $d); LAB_DM=$p
  lab_console $d || msg "LAB $tag: no serial pty in xenstore for domid $d"
  # perf (d): create -> GRUB, create -> Linux userspace
  if ! { lab_wait 600 'GRUB-LINUX: loading' && fact $tag lx_grub_secs $(since $t0) &&
          lab_wait ${L_TIMEOUT:-1500} '^LINUX-GUEST-UP '; }; then
    msg "LAB $tag: $LAB_WHY"; lab_log | tail -n 20 > $R/lab-$tag-serial-tail.txt; show $R/lab-$tag-serial-tail.txt 20
    for x in perf bigwrite pause migrate shutdown; do lab_note $x $tag bad "Linux did not come up: $LAB_WHY" $t0; done
    cp /var/log/xen/qemu-dm-$name.log $R/lab-$tag-dm.log 2>/dev/null
    lab_console_stop; timeout 60 xl destroy $name >/dev/null 2>&1
    [ -n "$LAB_LOOP" ] && losetup -d $LAB_LOOP; rm -f $img $img2
    return 1
  fi
  fact $tag lx_up_secs $(since $t0)
  msg "LAB $tag: domid $d, DM pid $p, GRUB at $(getfact $tag lx_grub_secs)s, Linux userspace at $(getfact $tag lx_up_secs)s"

  # ---- perf (a) port round trips, (b) 64 MiB by DMA from the disk, (c) from the CD-ROM
  t1=$(now)
  # where the port phase's time goes: the DM's syscalls and switches, dom0's CPU (read, never stopped)
  lab_wait 300 '^LAB-SESSION ' && c0="$(perf_counters $p)"
  lab_wait 900 '^PERF-PORT ' && c1="$(perf_counters $p)" &&
    fact $tag lx_port_counters "$(perf_delta "$c0" "$c1" "$(lab_line '^PERF-PORT port=')")"
  lab_wait 900 '^PERF-DISK ' && c2="$(perf_counters $p)" &&
    fact $tag lx_disk_counters "$(read_delta "$c1" "$c2" "$(lab_line '^PERF-DISK dev=')")"
  lab_wait 900 '^PERF-CD ' && c3="$(perf_counters $p)" &&
    fact $tag lx_cd_counters "$(read_delta "$c2" "$c3" "$(lab_line '^PERF-CD dev=')")"
  if lab_wait 900 '^PERF-DONE '; then
    x=$(lab_line '^PERF-PORT port='); fact $tag lx_port_us $(echo "$x" | sed -n 's/.* us_per_read=\([0-9.]*\).*/\1/p')
    m=$(lab_line '^PERF-DISK dev='); fact $tag lx_dma_MBps $(echo "$m" | sed -n 's/.* MBps=\([0-9.]*\).*/\1/p')
    cdl=$(lab_line '^PERF-CD dev='); fact $tag lx_cd_MBps $(echo "$cdl" | sed -n 's/.* MBps=\([0-9.]*\).*/\1/p')
    if [ -n "$(getfact $tag lx_port_us)" ] && [ -n "$(getfact $tag lx_dma_MBps)" ] && [ -n "$(getfact $tag lx_cd_MBps)" ]; then
      lab_note perf $tag ok "[$x] [$m] [$cdl]" $t1
    else lab_note perf $tag bad "guest printed [$x] [$m] [$cdl] $(lab_line '^PERF-.*FAILED')" $t1; fi
  else lab_note perf $tag bad "$LAB_WHY" $t1; fi

  # ---- bigwrite: the guest's markers, written and read back by the guest (dom0 looks after poweroff)
  t1=$(now)
  if lab_wait 900 '^BIGWRITE-DONE '; then
    lab_log | grep -a '^BIGWRITE-' > $R/lab-$tag-bigwrite.txt
    x="" bad=""
    for dev in file loop; do
      for off in $(lab_offsets $dev); do
        if grep -aq "^BIGWRITE-WROTE dev=$dev off=$off BIGWRITE-MARKER dev=$dev off=$off rnd=" $R/lab-$tag-bigwrite.txt &&
           grep -aqx "BIGWRITE-READ dev=$dev off=$off ok" $R/lab-$tag-bigwrite.txt; then x="$x $dev@$off:ok"
        else x="$x $dev@$off:LOST"; bad=1; fi
      done
    done
    if [ -z "$bad" ]; then lab_note bigwrite $tag ok "guest wrote+read back:$x" $t1
    else lab_note bigwrite $tag bad "guest wrote+read back:$x" $t1; fi
  else lab_note bigwrite $tag bad "$LAB_WHY" $t1; fi

  # ---- pause: the counter stops while paused and goes on after unpause (seen through xl console)
  if want pause; then
    t1=$(now)
    if lab_wait 120 '^GUEST-TICK 3 '; then
      n0=$(lab_tick)
      timeout 60 xl pause $name > $R/lab-$tag-pause.log 2>&1 || msg "LAB $tag: xl pause failed"
      sleep 3; n1=$(lab_tick)
      st=$(xl list $name 2>/dev/null | awk 'NR==2{print $5}')
      sleep 10; n2=$(lab_tick)
      timeout 60 xl unpause $name >> $R/lab-$tag-pause.log 2>&1 || msg "LAB $tag: xl unpause failed"
      wait_for 60 sh -c "[ \"\$(tr -d '\r' < $LAB_LOG | sed -n 's/^GUEST-TICK \([0-9]*\) .*/\1/p' | tail -n1)\" -gt ${n2:-0} ]"
      n3=$(lab_tick)
      ev="tick $n0 before xl pause, $n1 -> $n2 over 10s paused (state $st), $n3 after unpause (xl console, pty $LAB_TTY)"
      if [ "$n1" = "$n2" ] && [ "${n3:-0}" -gt "${n2:-0}" ] && case "$st" in *p*) true;; *) false;; esac
      then lab_note pause $tag ok "$ev" $t1; else lab_note pause $tag bad "$ev" $t1; fi
    else lab_note pause $tag bad "$LAB_WHY" $t1; fi
  fi

  # ---- migrate to this host: the receiving xl runs as a local command (-s "": HOST is the command)
  if want migrate; then
    t1=$(now)
    # the guest's DMA checker runs before the migration starts (its line: reads, verified, mismatches)
    lab_wait 300 '^DMACHECK (reads=|FAILED)' || msg "LAB $tag: $LAB_WHY"
    c0=$(lab_line "$DMACHECK_RE")
    n0=$(lab_tick)
    if ! timeout 600 xl migrate -s "" $name "xl migrate-receive" > $R/lab-$tag-migrate.log 2>&1; then
      fail_tail $R/lab-$tag-migrate.log 6
      lab_note migrate $tag bad "xl migrate failed at tick $n0" $t1
    else
      msecs=$(since $t1)
      d2=$(domid_of $name); p2=$(dm_pid $d2); bad=""
      [ -n "$d2" ] && [ "$d2" != "$d" ] || bad="$bad domid-[$d2]-after-migration"
      xl list $d >/dev/null 2>&1 && bad="$bad old-domain-$d-still-there"
      wait_for 30 sh -c "[ ! -d /proc/$p ]" || bad="$bad old-DM-$p-alive"
      [ -n "$p2" ] && [ "$p2" != "$p" ] || bad="$bad new-DM-pid-[$p2]"
      x=$(dm_facts "$p2" "$d2" $tag); [ -z "$x" ] || bad="$bad new-DM:$x"
      [ -n "$(uid_procs $((RANGE_BASE + d)))" ] && bad="$bad uid-$((RANGE_BASE + d))-left:$(uid_procs $((RANGE_BASE + d)))"
      lab_console_stop; LAB_DM=$p2
      nl0=$(lab_log | wc -l)
      lab_console $d2 || bad="$bad no-pty-after-migration"
      if wait_for 120 sh -c "[ \"\$(tr -d '\r' < $LAB_LOG | sed -n 's/^GUEST-TICK \([0-9]*\) .*/\1/p' | tail -n1)\" -gt ${n0:-0} ]"
      then ev="tick $n0 -> $(lab_tick) after migration (${msecs}s), domid $d -> $d2, DM $p -> $p2 (Seccomp $(awk '/^Seccomp:/{print $2}' /proc/$p2/status), uid $((RANGE_BASE + d2)))"
      else bad="$bad no-tick-after-$n0"; ev="domid $d -> $d2"; fi
      # DMA the DM did during the live phase: the checker verifies each buffer one ring (128 reads)
      # after filling it, so 128 verifications after its first line on the new host every buffer it
      # filled on the old one has been checked here
      if wait_for 120 dma_after $nl0; then
        x=$(lab_log | tail -n +$((nl0 + 1)) | grep -a -E "$DMACHECK_RE" | tail -n1)
        ev="$ev; DMA check: [${c0#DMACHECK }] before, [${x#DMACHECK }] after"
        case "$x" in *" mismatches=0") ;; *) bad="$bad DMA-data-lost-in-migration";; esac
      else bad="$bad no-DMA-check-after-migration"; ev="$ev; DMA check before: [$c0], after: [$(lab_line '^DMACHECK')]"; fi
      # xsdm's sending side logs how many DMA-written pages it reported to Xen's dirty log
      if [ $tag = xsdm ]; then
        x=$(cat /var/log/xen/qemu-dm-$name.log* 2>/dev/null | grep -a 'dirty logging on, guest stopped' | tail -n1)
        case "$x" in *": 0 page(s)"*|"") bad="$bad no-DMA-reported-modified";; *", 0 refused") ;; *) bad="$bad modified_memory-refused";; esac
        ev="$ev; sending DM: [${x#*dirty logging on, guest stopped: }]"
      fi
      d=$d2 p=$p2
      if [ -z "$bad" ]; then lab_note migrate $tag ok "$ev" $t1; else lab_note migrate $tag bad "$bad; $ev" $t1; fi
    fi
    cp /var/log/xen/qemu-dm-$name.log $R/lab-$tag-dm-migrated.log 2>/dev/null
  fi

  # ---- xl shutdown: the guest's /sbin/poweroff runs; nothing of the domain's left (the reboot stage)
  t1=$(now); d=$(domid_of $name); p=$(dm_pid $d); bad=""
  if [ -z "$d" ]; then lab_note shutdown $tag bad "no domain to shut down" $t1
  else
    timeout 180 xl shutdown -w $name > $R/lab-$tag-shutdown.log 2>&1 || { bad="$bad xl-shutdown-failed"; fail_tail $R/lab-$tag-shutdown.log 3; }
    wait_for 60 sh -c "! xl domid $name" || bad="$bad domain-still-listed"
    [ -n "$p" ] && { wait_for 30 sh -c "[ ! -d /proc/$p ]" || bad="$bad DM-$p-alive"; }
    wait_for 30 sh -c "[ -z \"\$(ps -eo uid= | awk -v u=$((RANGE_BASE + d)) '\$1==u')\" ]" || bad="$bad uid-$((RANGE_BASE + d)):$(uid_procs $((RANGE_BASE + d)))"
    lab_has '^GUEST-XL-SHUTDOWN ' || bad="$bad guest-printed-no-GUEST-XL-SHUTDOWN"
    if [ -z "$bad" ]; then lab_note shutdown $tag ok "xl shutdown: guest printed GUEST-XL-SHUTDOWN, domain, DM $p and uid $((RANGE_BASE + d)) gone" $t1
    else timeout 60 xl destroy $name >/dev/null 2>&1; lab_note shutdown $tag bad "$bad" $t1; fi
  fi
  lab_console_stop
  cp /var/log/xen/qemu-dm-$name.log $R/lab-$tag-dm.log 2>/dev/null

  # ---- bigwrite, dom0's side: each marker the guest says it wrote, at its offset in the file
  [ -n "$LAB_LOOP" ] && { losetup -d $LAB_LOOP || msg "LAB $tag: losetup -d $LAB_LOOP failed"; }
  if [ "${LR[bigwrite-$tag]}" != "" ] && [ -s $R/lab-$tag-bigwrite.txt ]; then
    x=""
    for dev in file loop; do
      f=$img; [ $dev = loop ] && f=$img2
      for off in $(lab_offsets $dev); do
        m=$(sed -n "s/^BIGWRITE-WROTE dev=$dev off=$off //p" $R/lab-$tag-bigwrite.txt | head -n1)
        got=$(dd if=$f bs=4096 skip=$((off / 4096)) count=1 2>/dev/null | tr -d '\000' | head -n1)
        if [ -n "$m" ] && [ "$got" = "$m" ]; then x="$x $dev@$off:found"; else x="$x $dev@$off:MISSING"; LR[bigwrite-$tag]=bad; fi
      done
    done
    LE[bigwrite-$tag]="${LE[bigwrite-$tag]}; dom0 in the files:$x"
  fi
  rm -f $img $img2
}

# lab_reboot TAG DM: the GRUB guest reboots itself (on_reboot="restart"): a fresh restricted DM serves
# the new domain (its GRUB prints again), the old DM is gone; xl destroy leaves nothing behind
lab_reboot() {
  local tag=$1 dm=$2 name=rb-$1 ser=/var/log/xen/rb-$1-serial.log t1 d1 p1 d2 p2 bad="" x
  rm -f $ser $ser.1 /var/log/xen/qemu-dm-$name.log
  sed -e "s|^serial = .*|serial = \"file:$ser\"|" -e 's|^memory = .*|memory = 64|' -e 's|^on_reboot = .*|on_reboot = "restart"|' \
      -e "s|^disk = .*|disk = [ \"$T/grub-reboot.iso,raw,hdc,cdrom,r\" ]|" -e 's|^xen_platform_pci = .*||' \
      <(lab_cfg $name /dev/null "$dm") > $R/rb-$tag.cfg
  t1=$(now)
  if ! timeout 120 xl create $R/rb-$tag.cfg > $R/rb-$tag-xl-create.log 2>&1; then
    fail_tail $R/rb-$tag-xl-create.log; lab_note reboot $tag bad "xl create failed" $t1; return 1
  fi
  d1=$(domid_of $name); p1=$(dm_pid $d1)
  if ! wait_for 240 grep -aq GUEST-GRUB-REBOOT $ser; then bad="$bad first-boot:no-GUEST-GRUB-REBOOT"
  else
    mv $ser $ser.1      # the old DM keeps writing there; the new DM opens $ser afresh
    if ! wait_for 180 sh -c "d=\$(xl domid $name 2>/dev/null) && [ \"\$d\" != $d1 ]"; then bad="$bad no-restart(domid-$d1)"
    else
      d2=$(domid_of $name); wait_for 30 sh -c "[ -n \"\$(xenstore-read /local/domain/$d2/image/device-model-pid 2>/dev/null)\" ]"
      p2=$(dm_pid $d2)
      wait_for 30 sh -c "[ ! -d /proc/$p1 ]" || bad="$bad old-DM-$p1-alive"
      [ -n "$p2" ] && [ "$p2" != "$p1" ] || bad="$bad new-DM-pid-[$p2]"
      wait_for 20 sh -c "grep -q '^Seccomp:.*2' /proc/$p2/status" 
      x=$(dm_facts "$p2" "$d2" $tag); [ -z "$x" ] || bad="$bad new-DM:$x"
      x=$(awk '/^Seccomp:/{print $2}' /proc/$p2/status 2>/dev/null)
      [ -n "$(uid_procs $((RANGE_BASE + d1)))" ] && bad="$bad uid-$((RANGE_BASE + d1))-left"
      grep -aq GUEST-GRUB-REBOOTING $ser.1 || bad="$bad old-guest-printed-no-GUEST-GRUB-REBOOTING"
      wait_for 240 grep -aq GUEST-GRUB-REBOOT $ser || bad="$bad new-domain-printed-no-GUEST-GRUB-REBOOT"
      proc_dump $p2 $R/rb-$tag-proc.txt
      timeout 60 xl destroy $name > $R/rb-$tag-destroy.log 2>&1 || bad="$bad xl-destroy-failed"
      wait_for 30 sh -c "! xl domid $name" || bad="$bad domain-still-listed"
      wait_for 30 sh -c "[ ! -d /proc/$p2 ]" || bad="$bad DM-$p2-alive-after-destroy"
      wait_for 30 sh -c "[ -z \"\$(ps -eo uid= | awk -v u=$((RANGE_BASE + d2)) '\$1==u')\" ]" || bad="$bad uid-$((RANGE_BASE + d2))-left:$(uid_procs $((RANGE_BASE + d2)))"
    fi
  fi
  cat $ser.1 $ser > $R/rb-$tag-serial.log 2>/dev/null
  cp /var/log/xen/qemu-dm-$name.log $R/rb-$tag-dm.log 2>/dev/null
  timeout 60 xl destroy $name >/dev/null 2>&1
  if [ -z "$bad" ]; then lab_note reboot $tag ok "GUEST-GRUB-REBOOTING in domid $d1 (DM $p1), GUEST-GRUB-REBOOT again in domid $d2 (DM $p2: Seccomp $x, uid $((RANGE_BASE + d2))), old DM gone; xl destroy: nothing left" $t1
  else lab_note reboot $tag bad "${bad# }" $t1; fi
}

lab_verdict() { # STAGE: one verdict, xsdm's; qemu-xen's result alongside (anchor limitation if it failed)
  local s=$1 q="qemu-xen: ${LE[$1-qemu]:-not run}" v=FAIL
  [ "${LR[$s-qemu]}" = ok ] || q="qemu-xen (anchor limitation): ${LE[$s-qemu]:-not run}"
  [ "${LR[$s-xsdm]}" = ok ] && v=PASS
  msg "STAGE $s $v secs=${LSECS[$s]:-0} xsdm: ${LE[$s-xsdm]:-not run} | $q"
}

if lab_wanted; then
  destroy_all
  mkdir -p /run/lock                      # xenconsole locks /var/lock/xenconsole.<domid> (/run is a fresh tmpfs)
  [ -p /tmp/lab-console-in ] || mkfifo /tmp/lab-console-in
  exec 7<>/tmp/lab-console-in             # a writer that never closes: xl console never sees EOF
  msg "LAB: stages$(for s in $LAB_STAGES; do want $s && printf ' %s' $s; done): one Linux session per DM, qemu-xen first"
  if [ $XSDM_OK != 1 ]; then
    for s in $LAB_STAGES; do want $s && msg "STAGE $s FAIL secs=0 xsdm not runnable in dom0"; done
  else
    L0=$(now)
    if want bigwrite || want perf || want pause || want migrate || want reboot; then
      lab_linux qemu ""
      destroy_all
      lab_linux xsdm $DM_OVERRIDE
      destroy_all
    fi
    if want reboot; then
      lab_reboot qemu ""
      lab_reboot xsdm $DM_OVERRIDE
      # the stage is both: the guest-initiated reboot and the Linux session's `xl shutdown`
      for t in qemu xsdm; do
        LE[reboot-$t]="${LE[reboot-$t]}; ${LE[shutdown-$t]}"
        [ "${LR[shutdown-$t]}" = ok ] || LR[reboot-$t]=bad
      done
      LSECS[reboot]=$(awk -v a="${LSECS[reboot]:-0}" -v b="${LSECS[shutdown]:-0}" 'BEGIN{printf "%.1f", a+b}')
    fi
    for s in $LAB_STAGES; do want $s && lab_verdict $s; done
    {
      echo
      printf '%-34s %14s %14s\n' "Linux guest, dm_restrict=1" qemu-xen xsdm
      printf '%-34s %14s %14s\n' "xl create -> GRUB (s)" "$(getfact qemu lx_grub_secs)" "$(getfact xsdm lx_grub_secs)"
      printf '%-34s %14s %14s\n' "xl create -> Linux userspace (s)" "$(getfact qemu lx_up_secs)" "$(getfact xsdm lx_up_secs)"
      printf '%-34s %14s %14s\n' "port 0x3ff read, 20000x (us each)" "$(getfact qemu lx_port_us)" "$(getfact xsdm lx_port_us)"
      printf '%-34s %14s %14s\n' "64 MiB O_DIRECT disk read (MB/s)" "$(getfact qemu lx_dma_MBps)" "$(getfact xsdm lx_dma_MBps)"
      printf '%-34s %14s %14s\n' "64 MiB O_DIRECT CD read (MB/s)" "$(getfact qemu lx_cd_MBps)" "$(getfact xsdm lx_cd_MBps)"
      for x in qemu xsdm; do printf '  %s port phase: %s\n' $x "$(getfact $x lx_port_counters)"; done
      for x in qemu xsdm; do printf '  %s disk read: %s\n' $x "$(getfact $x lx_disk_counters)"; done
      for x in qemu xsdm; do printf '  %s CD read: %s\n' $x "$(getfact $x lx_cd_counters)"; done
      for s in $LAB_STAGES; do
        want $s && printf '%-34s %14s %14s\n' "stage $s" "${LR[$s-qemu]:--}" "${LR[$s-xsdm]:--}"
      done
      echo "(lab stages: $(since $L0)s of bed time for both DMs)"
    } >> $R/table.txt
    show $R/table.txt 40
  fi
  exec 7>&-
fi

# ============================================================ net stages: vif-default nic-rtl8139 nic-e1000 nic-migrate vif-netns
# One Linux session (linux-lab.iso, session block "... net": the guest runs labnet) per device model,
# qemu-xen first, then xsdm, with one NIC per selected stage, all on xenbr0 (net_bridge_up):
#   vif-default  'bridge=xenbr0' (no type, no model: libxl's default, an emulated rtl8139 and a PV vif;
#                the guest keeps the emulated one: xen_emul_unplug=never and no netfront)
#   nic-rtl8139  model=rtl8139, nic-e1000 model=e1000: also 64 MiB guest -> dom0, MB/s in the table
#   nic-migrate  the vif-default NIC (rtl8139) and the nic-e1000 one (added when their stages are not
#                selected), after the first pass: xl save + xl restore, then xl migrate to this host
#                (-s "", the receiving xl a local command, as the migrate stage). Before and after
#                each, the guest runs a round (labnet-mig) on every NIC without touching it: all up at
#                once, NIC K alone on 10.99.100+K.0/24 (dom0 10.99.100+K.1 on xenbr0), ping and 1 MiB
#                to port 5100+10K+round; tx timeouts and the kernel's reset lines must stay as
#                before the save, carrier changes as qemu-xen's, and the NIC's own rx counter must move
#   vif-netns    xsdm through xl's wrapper (xsdmctl-exec-dm) with the vif-default NIC: the guest's
#                network works while the DM sits in its own network namespace holding only a tap fd
# The MAC's last byte K names the NIC to the guest (address 10.99.0.20+K) and to dom0 (ports
# 5000+10K for 1 MiB of random bytes, 5001+10K for the 64 MiB). Each stage is judged on what the guest
# printed (driver, carrier, ping replies, the md5 of what it sent) against what dom0 received, and
# on the NIC's PCI function (slot, IDs, revision, BARs, driver) being the one qemu-xen shows. One
# verdict per stage, xsdm's; qemu-xen's result beside it ("anchor limitation" where it failed).
NET_STAGES="vif-default nic-rtl8139 nic-e1000 nic-migrate"
net_wanted() { local s; for s in $NET_STAGES vif-netns; do want $s && return 0; done; return 1; }
net_k() { case $1 in vif-default) echo 0;; nic-rtl8139) echo 1;; nic-e1000) echo 2;; esac; }
net_ks() { # STAGES...: the NICs (K) of a session, each once, in slot order
  local s k out=" "
  for s in "$@"; do
    case $s in nic-migrate) k="0 2";; *) k=$(net_k $s);; esac
    for k in $k; do case "$out" in *" $k "*) ;; *) out="$out$k ";; esac; done
  done
  echo $out | tr ' ' '\n' | sort -n | xargs
}
net_vif() { # K: its vif entry
  case $1 in
  0) echo "'bridge=$NET_BR,mac=00:16:3e:4e:00:00'";;
  1) echo "'model=rtl8139,bridge=$NET_BR,mac=00:16:3e:4e:00:01'";;
  2) echo "'model=e1000,bridge=$NET_BR,mac=00:16:3e:4e:00:02'";;
  esac
}
declare -A NR=() NE=() NPCI=() NMB=() NSECS=()   # per STAGE-TAG: ok|bad, evidence, the NIC's NET-PCI line, MB/s
declare -A NMIG=()                               # per TAG-what: nic-migrate's timings for the table
NET_HOOK=""        # a function run with TAG DOMID DMPID once the guest is done, before xl destroy
ZERO_MD5="" NET_BULK=0
# net_session TAG DM STAGES...: one Linux boot with one NIC per stage
net_session() {
  local tag=$1 dm=$2 name=net-$1 img=/var/lib/xen/net-$1.img img2=/var/lib/xen/net-$1-loop.img
  local loop t0 d p s k vifs="" pids="" bad ev x m got sent pci bulk mb secs up=0 ks bulkk="" mig="" r
  shift 2
  ks=$(net_ks "$@")
  for s in "$@"; do
    case $s in nic-rtl8139|nic-e1000) bulkk="$bulkk${bulkk:+,}$(net_k $s)";; nic-migrate) mig=" mig";; esac
  done
  LAB_NAME=$name LAB_LOG=$R/net-$tag-serial.log LAB_DM=""
  rm -f $img $img2 $LAB_LOG /var/log/xen/qemu-dm-$name.log /tmp/net-rx-*
  truncate -s 16M $img; truncate -s 16M $img2
  printf 'LAB-SESSION %s net%s bulkk=%s bulk=%s\n' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" "$mig" "$bulkk" $NET_BULK | dd of=$img bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
  printf 'LAB-LOOPDISK\n' | dd of=$img2 bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
  loop=$(losetup -f --show $img2 2>/dev/null) || loop=""
  for k in $ks; do vifs="$vifs${vifs:+, }$(net_vif $k)"; done
  lab_cfg $name $img "$dm" $loop | sed "s|^vif = .*|vif = [ $vifs ]|" > $R/net-$tag.cfg
  # dom0's ends, listening before the guest can connect: each takes one connection
  for k in $ks; do
    nc -l $NET_DOM0_IP $((5000 + 10 * k)) < /dev/null > /tmp/net-rx-sum-$k 2>/dev/null & pids="$pids $!"
    case ",$bulkk," in *",$k,"*) nc -l $NET_DOM0_IP $((5001 + 10 * k)) < /dev/null > /tmp/net-rx-bulk-$k 2>/dev/null & pids="$pids $!";; esac
    # nic-migrate's rounds: before the save, after the restore, after the migration
    [ -n "$mig" ] && for r in 0 1 2; do
      nc -l ${NET_DOM0_IP%.*.*}.$((100 + k)).1 $((5100 + 10 * k + r)) < /dev/null > /tmp/net-rx-round-$k-$r 2>/dev/null & pids="$pids $!"
    done
  done
  msg "NET $tag: Linux session, vif = [ $vifs ]"
  t0=$(now)
  if ! timeout 120 xl -vvv create $R/net-$tag.cfg > $R/net-$tag-xl-create.log 2>&1; then
    fail_tail $R/net-$tag-xl-create.log 6; cp /var/log/xen/qemu-dm-$name.log $R/net-$tag-dm.log 2>/dev/null; show $R/net-$tag-dm.log 10
    ev="xl create failed: $(grep -a -i -E 'error|fail' $R/net-$tag-xl-create.log | grep -v -E 'xencall:buffer' | tail -n1 | cut -c1-160)"
  else
    d=$(domid_of $name); p=$(dm_pid $d); LAB_DM=$p
    lab_console $d || msg "NET $tag: no serial pty in xenstore for domid $d"
    if lab_wait ${L_TIMEOUT:-1500} '^NET-DONE'; then
      up=1
      msg "NET $tag: domid $d, DM pid $p, guest done at +$(since $t0)s"
      [ -n "$NET_HOOK" ] && $NET_HOOK $tag $d $p
      [ -n "$mig" ] && net_mig $tag $d $p $img "$ks"
    else
      ev="$LAB_WHY"; lab_log | tail -n 20 > $R/net-$tag-serial-tail.txt; show $R/net-$tag-serial-tail.txt 20
    fi
    ip -d link show master $NET_BR > $R/net-$tag-bridge-ports.txt 2>&1
    cp /var/log/xen/qemu-dm-$name.log $R/net-$tag-dm.log 2>/dev/null
    lab_console_stop
    timeout 60 xl destroy $name > /dev/null 2>&1
  fi
  [ -n "$loop" ] && losetup -d $loop
  rm -f $img $img2
  sleep 1
  for x in $pids; do kill $x 2>/dev/null; wait $x 2>/dev/null; done
  secs=$(since $t0)
  lab_log | grep -a -E '^(NET-|INSMOD-FAILED)' > $R/net-$tag-guest.txt
  for s in "$@"; do
    NSECS[$s]=$(awk -v a="${NSECS[$s]:-0}" -v b="$secs" 'BEGIN{printf "%.1f", a+b}')
    [ $up = 1 ] || { NR[$s-$tag]=bad; NE[$s-$tag]=$ev; continue; }
    [ $s = nic-migrate ] && continue     # net_mig judged it
    k=$(net_k $s) bad=""
    x=$(lab_line "^NET-IF k=$k ")
    pci=$(echo "$x" | sed -n 's/.* pci=\([^ ]*\).*/\1/p')
    [ -n "$pci" ] && NPCI[$s-$tag]=$(lab_line "^NET-PCI $pci " | cut -d' ' -f2-)
    case "$x" in "") bad="$bad no-NET-IF-for-mac-:0$k";; esac
    case "$x" in *" carrier=1 "*) ;; *) bad="$bad no-carrier";; esac
    case "$x" in *" ping=0/3 "*|*" ping=/3 "*) bad="$bad no-ping-reply";; esac
    m=$(lab_line "^NET-MD5 k=$k " | sed 's/.* md5=//')
    got=$(md5sum < /tmp/net-rx-sum-$k 2>/dev/null | cut -d' ' -f1)
    sent=$(lab_line "^NET-SENT tag=sum-$k ")
    [ -n "$m" ] && [ "$m" = "$got" ] || bad="$bad md5:guest[$m]dom0[$got]"
    case "$sent" in *" bytes=1048576 "*" peer_closed=yes"*) ;; *) bad="$bad send[$sent]";; esac
    ev="$(echo "$x" | sed -E 's/^NET-IF k=[0-9]+ //; s/ tries=[0-9]+//'); 1 MiB TCP md5 $m = dom0's"
    if case ",$bulkk," in *",$k,"*) true;; *) false;; esac; then
      bulk=$(lab_line "^NET-SENT tag=bulk-$k ")
      mb=$(echo "$bulk" | sed -n 's/.* MBps=\([0-9.]*\).*/\1/p'); NMB[$s-$tag]=$mb
      got=$(md5sum < /tmp/net-rx-bulk-$k 2>/dev/null | cut -d' ' -f1)
      [ "$got" = "$ZERO_MD5" ] || bad="$bad ${NET_BULK_MB}MiB:dom0-md5[$got]-guest[$bulk]"
      ev="$ev; $NET_BULK_MB MiB in $(echo "$bulk" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p')s = ${mb:-?} MB/s"
    fi
    if [ -z "$bad" ]; then NR[$s-$tag]=ok; NE[$s-$tag]=$ev; else NR[$s-$tag]=bad; NE[$s-$tag]="${bad# }; $ev"; fi
  done
  rm -f /tmp/net-rx-*
}
# net_round R KS TAG: round R of nic-migrate, judged on what the guest printed for each NIC K and
# what dom0 received; NMR = what is wrong, NMEV = the evidence. Round 0 (before the save) is the
# baseline the tx timeouts and the kernel's reset lines of the later rounds are held to. A Linux
# guest with PV drivers takes part in xl save (xenbus control/shutdown): its drivers' PM freeze and
# restore run, and e1000's takes the link down and up there itself; so the carrier changes are
# compared with qemu-xen's for the same round and NIC (NMCC, net_mig_verdict), not with zero.
declare -A NMCC=()
net_round() {
  local r=$1 k x m got sent f v
  for k in $2; do
    x=$(lab_line "^NET-ROUND r=$r k=$k ")
    [ -n "$x" ] || { NMR="$NMR r$r-k$k:no-NET-ROUND"; continue; }
    case "$x" in *" carrier=1 "*) ;; *) NMR="$NMR r$r-k$k:no-carrier";; esac
    case "$x" in *" ping=0/3 "*|*" ping=/3 "*) NMR="$NMR r$r-k$k:no-ping-reply";; esac
    [ "$(echo "$x" | sed -n 's/.* rx_pkts=\([0-9]*\).*/\1/p')" -gt 0 ] 2>/dev/null || NMR="$NMR r$r-k$k:nothing-received-on-this-NIC"
    for f in carrier_changes tx_timeouts reset_log; do
      v=$(echo "$x" | sed -n "s/.* $f=\([0-9]*\).*/\1/p")
      if [ $r = 0 ]; then NM0[$k-$f]=$v
      elif [ $f = carrier_changes ]; then NMCC[$3-r$r-k$k]=$(( ${v:-0} - ${NM0[$k-$f]:-0} ))
      elif [ "$v" != "${NM0[$k-$f]}" ]; then NMR="$NMR r$r-k$k:$f-${NM0[$k-$f]}->$v"; fi
    done
    m=$(lab_line "^NET-MD5 r=$r k=$k " | sed 's/.* md5=//')
    got=$(md5sum < /tmp/net-rx-round-$k-$r 2>/dev/null | cut -d' ' -f1)
    sent=$(lab_line "^NET-SENT tag=round$r-$k ")
    [ -n "$m" ] && [ "$m" = "$got" ] || NMR="$NMR r$r-k$k:md5:guest[$m]dom0[$got]"
    case "$sent" in *" bytes=1048576 "*" peer_closed=yes"*) ;; *) NMR="$NMR r$r-k$k:send[$sent]";; esac
    NMEV="$NMEV $(echo "$x" | sed -E 's/^NET-ROUND r=[0-9]+ k=([0-9]+) if=[^ ]+ drv=([^ ]+) carrier=([0-9]*) carrier_changes=([0-9]*) tx_timeouts=([0-9]*) reset_log=([0-9]*) ping=([^ ]*) tries=[0-9]+ rx_pkts=([0-9]*) tx_pkts=([0-9]*)/\2 ping \7 rx\/tx \8\/\9 carrier_changes \4 tx_timeouts \5 resets_logged \6/')${m:+ md5 ok}${m:+$([ "$m" = "$got" ] || echo ' MISMATCH')},"
  done
  NMEV="${NMEV%,}"
}
# net_mig TAG DOMID DMPID IMG KS: nic-migrate on a session whose guest printed NET-DONE (round 0
# done): xl save + xl restore, round 1; xl migrate to this host, round 2 (dom0 asks for each round in
# the file disk's block 2, which the guest polls every second). NR/NE[nic-migrate-TAG].
net_mig() {
  local tag=$1 d=$2 p=$3 img=$4 ks=$5 save=/var/lib/xen/net-$1.save t1 d2 p2 x ev=""
  declare -gA NM0=()
  NMR="" NMEV=""
  net_round 0 "$ks" $tag; ev="before: $NMEV"
  [ -z "$NMR" ] || { NR[nic-migrate-$tag]=bad; NE[nic-migrate-$tag]="round 0 (before any save):$NMR; $ev"; return; }
  net_cmd() { # ROUND: ask for it, wait for the guest's round
    printf 'LAB-CMD-NET round=%s %s\n' $1 "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" | dd of=$img bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
    # xsdm serves the image through a loop device with a page cache of its own, which a write to
    # the file underneath does not reach: drop its clean pages, or the guest reads the old block
    for x in $(losetup -n -O NAME -j $img 2>/dev/null); do blockdev --flushbufs $x; done
    lab_wait 240 "^NET-ROUND-DONE r=$1" || NMR="$NMR round-$1:[$LAB_WHY]"
  }
  net_moved() { # WHAT: after the domain moved, the new domain, DM and serial console
    d2=$(domid_of $LAB_NAME); p2=$(dm_pid $d2)
    [ -n "$d2" ] && [ "$d2" != "$d" ] || NMR="$NMR $1:domid-[$d2]"
    [ -n "$p2" ] && [ "$p2" != "$p" ] || NMR="$NMR $1:new-DM-pid-[$p2]"
    wait_for 30 sh -c "[ ! -d /proc/$p ]" || NMR="$NMR $1:old-DM-$p-alive"
    ls /sys/class/net/$NET_BR/brif 2>/dev/null | grep -q "^vif$d2\..*-emu$" || NMR="$NMR $1:no-vif$d2.N-emu-on-$NET_BR"
    LAB_DM=$p2
    lab_console $d2 || NMR="$NMR $1:no-pty"
    sleep 2       # xl console attached before the guest is asked to print
  }
  # ---- xl save + xl restore
  lab_console_stop; rm -f $save; t1=$(now)
  if ! timeout 300 xl save $LAB_NAME $save > $R/net-$tag-save.log 2>&1; then
    fail_tail $R/net-$tag-save.log 6; NMR="$NMR xl-save-failed"
  elif ! timeout 300 xl restore $save > $R/net-$tag-restore.log 2>&1; then
    fail_tail $R/net-$tag-restore.log 6; NMR="$NMR xl-restore-failed"
  elif grep -q 'Failed to resume device model' $R/net-$tag-restore.log; then
    # xl exits 0 with the domain left paused; restricted qemu-xen reopens its disk on the incoming
    # side after dropping root and is refused (the migrate stage's anchor limitation too)
    NMR="$NMR restored-DM-did-not-resume:[$(grep -a 'libxl: error' $R/net-$tag-restore.log | head -n1 | sed 's/.*: Domain [0-9]*://' | cut -c1-120)]"
  fi
  rm -f $save
  if [ -z "$NMR" ]; then
    NMIG[$tag-restore]=$(since $t1); net_moved restore
    x="domid $d -> $d2, DM $p -> $p2 (${NMIG[$tag-restore]}s)"; d=$d2 p=$p2
    NMEV=""; net_cmd 1; net_round 1 "$ks" $tag; ev="$ev; after xl save+restore ($x): $NMEV"
  fi
  # ---- xl migrate to this host (unless the domain or its guest is gone)
  if lab_has '^NET-ROUND-DONE r=1'; then
    lab_console_stop; t1=$(now)
    if ! timeout 600 xl migrate -s "" $LAB_NAME "xl migrate-receive" > $R/net-$tag-migrate.log 2>&1; then
      fail_tail $R/net-$tag-migrate.log 6; NMR="$NMR xl-migrate-failed"
    else
      NMIG[$tag-migrate]=$(since $t1); net_moved migrate
      x="domid $d -> $d2, DM $p -> $p2 (${NMIG[$tag-migrate]}s)"
      NMEV=""; net_cmd 2; net_round 2 "$ks" $tag; ev="$ev; after xl migrate ($x): $NMEV"
    fi
  fi
  if [ -z "$NMR" ]; then NR[nic-migrate-$tag]=ok; NE[nic-migrate-$tag]=$ev
  else NR[nic-migrate-$tag]=bad; NE[nic-migrate-$tag]="${NMR# }; $ev"; fi
}
pci_shape() { # a NET-PCI line without addresses: slot, IDs, class, revision, driver, each BAR as index:size
  local l=$1 out b i r
  out=${l%% bars=*}
  case "$l" in *" bars="*)
    for b in $(echo "${l##* bars=}" | tr ',' ' '); do i=${b%%:*} r=${b#*:}; out="$out $i:$(( ${r#*-} - ${r%-*} + 1 ))"; done;;
  esac
  echo "$out"
}
net_mig_verdict() { # nic-migrate: net_verdict, the NICs' carrier changes in each round as qemu-xen's
  local x d=""
  for x in "${!NMCC[@]}"; do
    case $x in xsdm-*) [ -n "${NMCC[qemu-${x#xsdm-}]}" ] && [ "${NMCC[qemu-${x#xsdm-}]}" != "${NMCC[$x]}" ] &&
      d="$d ${x#xsdm-}:xsdm-${NMCC[$x]}-qemu-xen-${NMCC[qemu-${x#xsdm-}]}";; esac
  done
  x=$(for x in "${!NMCC[@]}"; do case $x in xsdm-*) echo "${x#xsdm-}:${NMCC[$x]}${NMCC[qemu-${x#xsdm-}]:+/${NMCC[qemu-${x#xsdm-}]}}";; esac; done | sort | xargs)
  NE[nic-migrate-xsdm]="${NE[nic-migrate-xsdm]}; carrier changes per round and NIC, xsdm/qemu-xen (the guest's own PM freeze+restore): [$x]"
  [ -z "$d" ] || { NR[nic-migrate-xsdm]=bad; NE[nic-migrate-xsdm]="carrier changes differ from qemu-xen's:$d; ${NE[nic-migrate-xsdm]}"; }
  net_verdict nic-migrate
}
net_verdict() { # STAGE: xsdm's result decides; the NIC's PCI function must be qemu-xen's (when qemu-xen ran):
  # slot, IDs, revision, driver and BAR sizes; the BAR addresses too, unless another NIC's ROM moved them
  local s=$1 v=FAIL q="qemu-xen: ${NE[$1-qemu]:-not run}" pv="" bus=""
  [ "${NR[$s-qemu]}" = ok ] || q="qemu-xen (anchor limitation): ${NE[$s-qemu]:-not run}"
  if [ -n "${NPCI[$s-qemu]}" ]; then
    if [ "${NPCI[$s-qemu]}" = "${NPCI[$s-xsdm]}" ]; then pv="; PCI as qemu-xen's: ${NPCI[$s-xsdm]}"
    elif [ "$(pci_shape "${NPCI[$s-qemu]}")" = "$(pci_shape "${NPCI[$s-xsdm]}")" ]; then
      pv="; PCI as qemu-xen's (slot, IDs, driver, BAR sizes) but BAR addresses: qemu-xen [${NPCI[$s-qemu]##* bars=}] xsdm [${NPCI[$s-xsdm]##* bars=}]"
    else pv="; PCI DIFFERS: qemu-xen [${NPCI[$s-qemu]}] xsdm [${NPCI[$s-xsdm]}]"; fi
  fi
  # the whole bus, for the record (each function's slot, IDs, class, revision, driver)
  if [ $s != nic-migrate ] && [ -s $R/net-qemu-guest.txt ] && [ -s $R/net-xsdm-guest.txt ]; then
    bus=$(diff <(grep '^NET-PCI' $R/net-qemu-guest.txt) <(grep '^NET-PCI' $R/net-xsdm-guest.txt) | grep -c '^[<>]')
    [ "$bus" = 0 ] && bus="; whole PCI bus identical" || bus="; PCI bus: $bus lines differ (net-*-guest.txt)"
  fi
  [ "${NR[$s-xsdm]}" = ok ] && case "$pv" in *DIFFERS*) ;; *) v=PASS;; esac
  msg "STAGE $s $v secs=${NSECS[$s]:-0} xsdm: ${NE[$s-xsdm]:-not run}$pv$bus | $q"
}
# vif-netns: what the wrapper did, seen from dom0 while the guest's network works
net_wrap_facts() { # TAG DOMID DMPID
  local p=$3 tap=vif$2.0-emu bad="" ev x
  [ -n "$p" ] && [ -d /proc/$p ] || { NWRAP="DM-pid-[$p]-not-running"; return; }
  proc_dump $p $R/net-wrap-proc.txt
  if [ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/$p/ns/net)" ]; then ev="DM netns $(readlink /proc/$p/ns/net) (dom0 $(readlink /proc/self/ns/net))"
  else bad="$bad DM-in-dom0's-netns"; fi
  # the DM's namespace: loopback only, no sockets bound to the network
  x=$(awk -F: 'NR>2{gsub(/ /, "", $1); printf "%s ", $1}' /proc/$p/net/dev)
  [ "$x" = "lo " ] || bad="$bad DM-netns-interfaces=[$x]"
  x=$(cat /proc/$p/net/tcp /proc/$p/net/udp /proc/$p/net/tcp6 /proc/$p/net/udp6 2>/dev/null | grep -c -v -E '^ *sl')
  [ "$x" = 0 ] || bad="$bad DM-netns-sockets=$x"
  ev="$ev, its interfaces: lo only, no inet sockets"
  ls -l /proc/$p/fd | grep -q ' -> /dev/net/tun$' && ev="$ev; DM holds a /dev/net/tun fd" || bad="$bad no-tun-fd"
  tr '\0' ' ' < /proc/$p/cmdline | grep -o -E -- '-netdev [^ ]*' > $R/net-wrap-netdev.txt
  grep -q 'fd=' $R/net-wrap-netdev.txt && ev="$ev; argv [$(cat $R/net-wrap-netdev.txt | xargs)]" || bad="$bad argv-not-rewritten[$(cat $R/net-wrap-netdev.txt | xargs)]"
  [ -e /sys/class/net/$NET_BR/brif/$tap ] && ev="$ev; $tap on $NET_BR in dom0's netns" || bad="$bad $tap-not-on-$NET_BR"
  NWRAP=$bad NWRAPEV=$ev
  /usr/lib/xsdm/xsdmctl audit $2 > $R/net-wrap-audit.txt 2>&1 || true
}
if net_wanted; then
  destroy_all
  mkdir -p /run/lock
  [ -p /tmp/lab-console-in ] || mkfifo /tmp/lab-console-in
  exec 7<>/tmp/lab-console-in
  NET_BULK_MB=${NET_BULK_MB:-16}; NET_BULK=$((NET_BULK_MB * 1048576))
  ZERO_MD5=$(head -c $NET_BULK /dev/zero | md5sum | cut -d' ' -f1)
  ST=""; for s in $NET_STAGES; do want $s && ST="$ST $s"; done
  if ! net_bridge_up; then
    for s in $NET_STAGES vif-netns; do want $s && msg "STAGE $s FAIL secs=0 bed networking (xenbr0, tun, netback) did not come up"; done
  elif [ $XSDM_OK != 1 ]; then
    for s in $NET_STAGES vif-netns; do want $s && msg "STAGE $s FAIL secs=0 xsdm not runnable in dom0"; done
  else
    # nic-migrate: dom0's end of each NIC's own subnet (net_round)
    if want nic-migrate; then
      for k in 0 1 2; do
        ip -4 addr show dev $NET_BR | grep -q "inet ${NET_DOM0_IP%.*.*}.$((100 + k)).1/" ||
          ip addr add ${NET_DOM0_IP%.*.*}.$((100 + k)).1/24 dev $NET_BR || msg "net: cannot give $NET_BR ${NET_DOM0_IP%.*.*}.$((100 + k)).1"
      done
    fi
    msg "NET: $NET_BR $(ip -4 -o addr show dev $NET_BR | awk '{print $4}' | xargs), stages$ST; one Linux session per DM, qemu-xen first"
    if [ -n "$ST" ]; then
      net_session qemu "" $ST; destroy_all
      net_session xsdm $DM_OVERRIDE $ST; destroy_all
      for s in $ST; do if [ $s = nic-migrate ]; then net_mig_verdict; else net_verdict $s; fi; done
      {
        echo
        printf '%-34s %14s %14s\n' "Linux guest NICs on xenbr0" qemu-xen xsdm
        for s in $ST; do
          case $s in nic-rtl8139|nic-e1000) printf '%-34s %14s %14s\n' "$NET_BULK_MB MiB TCP ->dom0 $s (MB/s)" "${NMB[$s-qemu]:--}" "${NMB[$s-xsdm]:--}";; esac
          if [ $s = nic-migrate ]; then
            printf '%-34s %14s %14s\n' "NICs: xl save + xl restore (s)" "${NMIG[qemu-restore]:--}" "${NMIG[xsdm-restore]:--}"
            printf '%-34s %14s %14s\n' "NICs: xl migrate localhost (s)" "${NMIG[qemu-migrate]:--}" "${NMIG[xsdm-migrate]:--}"
          fi
          printf '%-34s %14s %14s\n' "stage $s" "${NR[$s-qemu]:--}" "${NR[$s-xsdm]:--}"
        done
      } >> $R/table.txt
    fi
    if want vif-netns; then
      if [ $XSDMCTL_OK != 1 ]; then msg "STAGE vif-netns FAIL secs=0 xsdmctl not runnable in dom0"
      else
        NET_HOOK=net_wrap_facts NWRAP="no-guest" NWRAPEV="" w0=${NSECS[vif-default]:-0}
        net_session wrap /usr/lib/xsdm/xsdmctl-exec-dm vif-default; destroy_all
        NET_HOOK=""
        if [ "${NR[vif-default-wrap]}" = ok ] && [ -z "$NWRAP" ]; then v=PASS; else v=FAIL; fi
        msg "STAGE vif-netns $v secs=$(awk -v a="$w0" -v b="${NSECS[vif-default]}" 'BEGIN{printf "%.1f", b-a}') ${NWRAP:+${NWRAP# }; }guest: ${NE[vif-default-wrap]}; $NWRAPEV"
        show $R/net-wrap-audit.txt 20
      fi
    fi
  fi
  exec 7>&-
fi

# ============================================================ pvhvm: PV drivers, emulated devices unplugged
# The standard way Linux runs on HVM: xen_platform_pci=1 and a kernel booted without
# xen_emul_unplug=never, so it unplugs the emulated IDE disk and NIC through the platform device and
# xen-blkfront / xen-netfront (blkback and netback in dom0) take over. Per DM, qemu-xen first: the
# guest prints what libata and PCI still list, reads block 2 of xvda as dom0 wrote it, writes a
# marker at 64 MiB that dom0 finds in the image after the guest powered off, and pings dom0's
# bridge address through netfront (net_bridge_up). One verdict, xsdm's; qemu-xen failing is an
# anchor limitation.
pv_cfg() { # NAME IMG SERIAL-FILE VIF DM
  cat <<EOF
name = "$1"
type = "hvm"
memory = 128
vcpus = 1
vnc = 0
sdl = 0
vga = "none"
serial = "file:$3"
boot = "d"
disk = [ "$2,raw,hda,rw", "$T/linux-pvhvm.iso,raw,hdc,cdrom,r" ]
vif = [ $4 ]
xen_platform_pci = 1
dm_restrict = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
EOF
  [ -n "$5" ] && echo "device_model_override = \"$5\""
}
# pv_session TAG DM: one PVHVM boot on that device model; lab_note pvhvm TAG ok|bad EVIDENCE
pv_session() {
  local tag=$1 dm=$2 name=pv-$1 img=/var/lib/xen/pv-$1.img t1 d p bad="" ev="" x m got vif=""
  LAB_NAME=$name LAB_LOG=/var/log/xen/pv-$tag-serial.log LAB_DM=""
  rm -f $img $LAB_LOG /var/log/xen/qemu-dm-$name.log
  truncate -s 256M $img
  printf 'LAB-SESSION %s peer=%s ip=%s\n' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" "${PV_PEER:-none}" "${PV_IP:-none}" |
    dd of=$img bs=4096 seek=2 conv=notrunc,fsync 2>/dev/null
  [ -n "$PV_PEER" ] && vif="'bridge=$NET_BR'"
  pv_cfg $name $img $LAB_LOG "$vif" "$dm" > $R/pv-$tag.cfg
  msg "PVHVM $tag: xen_platform_pci=1, default unplug, hda 256 MiB file, vif [$vif]"
  t1=$(now)
  if ! lab_create $R/pv-$tag.cfg $R/pv-$tag-xl-create.log; then
    fail_tail $R/pv-$tag-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/pv-$tag-dm.log 2>/dev/null
    rm -f $img; lab_note pvhvm $tag bad "xl create failed" $t1; return 1
  fi
  d=$(domid_of $name); p=$(dm_pid $d); LAB_DM=$p
  if ! lab_wait ${L_TIMEOUT:-1500} '^PVHVM-DONE '; then
    msg "PVHVM $tag: $LAB_WHY"; lab_log | tail -n 20 > $R/pv-$tag-serial-tail.txt; show $R/pv-$tag-serial-tail.txt 20
    bad="$bad $LAB_WHY"
  fi
  msg "PVHVM $tag: domid $d, DM pid $p, guest done at $(since $t1)s"
  # the guest powers itself off; then blkback has let go of the image
  LAB_DM=""
  wait_for 90 sh -c "! xl domid $name" || { bad="$bad domain-still-there"; timeout 60 xl destroy $name >/dev/null 2>&1; }
  cp /var/log/xen/qemu-dm-$name.log $R/pv-$tag-dm.log 2>/dev/null
  lab_log | grep -a -E '^(PVHVM|INSMOD)' > $R/pv-$tag-guest.txt
  x=$(lab_line '^PVHVM-UNPLUG ')
  case "$x" in *" ata-disks=0 "*" rtl8139=0 "*) ev="unplugged: [${x#PVHVM-UNPLUG }]";;
    *) bad="$bad emulated-devices-not-unplugged"; ev="unplug: [${x:-no PVHVM-UNPLUG line}]";; esac
  x=$(lab_line '^PVHVM-DISK ')
  case "$x" in *" driver=vbd "*"block2=[LAB-SESSION "*) ev="$ev; xvda (vbd) read dom0's session block";;
    *) bad="$bad no-xvda"; ev="$ev; disk: [${x:-no PVHVM-DISK line}]";; esac
  m=$(lab_line '^PVHVM-WROTE ' | sed 's/^PVHVM-WROTE //')
  got=$(dd if=$img bs=4096 skip=16384 count=1 2>/dev/null | tr -d '\000' | head -n1)
  if [ -n "$m" ] && lab_has '^PVHVM-READ ok' && [ "$got" = "$m" ]; then ev="$ev, wrote+read back its marker at 64 MiB, dom0 found it in the image"
  else bad="$bad marker"; ev="$ev, marker: guest wrote [$m] $(lab_line '^PVHVM-(READ|WRITE-FAILED)'), dom0 reads [$got]"; fi
  x=$(lab_line '^PVHVM-NET ')
  case "$x" in *" driver=vif "*" received=3/3 "*) ev="$ev; netfront: $(echo "$x" | sed -n 's/.* if=\([^ ]*\) .* addr=\([^ ]*\) peer=\([^ ]*\) received=\([^ ]*\).*/\1 \2 pinged \3 \4/p')";;
    *) bad="$bad net"; ev="$ev; net: [${x:-no PVHVM-NET line}]";; esac
  # the PV drivers' own modules (a crc helper refusing this CPU, as in every lab boot, is no failure)
  x=$(lab_line '^INSMOD-FAILED xen-'); [ -z "$x" ] || { bad="$bad insmod"; ev="$ev; [$x]"; }
  rm -f $img
  if [ -z "$bad" ]; then lab_note pvhvm $tag ok "$ev" $t1; else lab_note pvhvm $tag bad "${bad# }: $ev" $t1; fi
}

if want pvhvm; then
  destroy_all
  PV_PEER="" PV_IP=""
  if net_bridge_up; then
    PV_PEER=$NET_DOM0_IP PV_IP=${NET_DOM0_IP%.*}.77/24   # .20+ are the net stages' guests
    msg "PVHVM: $NET_BR $PV_PEER, guest $PV_IP"
  else msg "PVHVM: no $NET_BR in dom0: the guests get no vif"; fi
  if [ $XSDM_OK != 1 ]; then msg "STAGE pvhvm FAIL secs=0 xsdm not runnable in dom0"
  else
    pv_session qemu ""
    destroy_all
    pv_session xsdm $DM_OVERRIDE
    destroy_all
    lab_verdict pvhvm
    printf '%-34s %14s %14s\n' "stage pvhvm" "${LR[pvhvm-qemu]:--}" "${LR[pvhvm-xsdm]:--}" >> $R/table.txt
  fi
fi

# The vnc stage runs last: its qemu-xen half (cirrus + VNC under GRUB) froze the nested bed in 3 of 4
# full runs (the outer vCPU busy, nothing printed); last, a freeze there costs no other stage, and
# e2e-boots.sh boots again for it alone.
if want vnc; then
  begin vnc "no vga line + vnc=1 + vncpasswd, qemu-xen then xsdm: GRUB menu over VNC, xenstore keys, password, the same menu after xl save + xl restore, a key picks a GRUB entry"
  destroy_all
  ip link set lo up    # dom0's loopback is down until someone needs it (the VNC clients here)
  declare -A VE=() VOK=() VSLOTS=()
  if [ $XSDM_OK != 1 ]; then end FAIL "xsdm not runnable in dom0"
  else
    # Debian's qemu-xen has no DES for VNC authentication: with vncpasswd it does not start (its
    # error line is the evidence); its screen and key are taken without a password
    vnc_cfg vncqp /var/log/xen/vncqp-serial.log "" $VNC_PW > $R/vnc-qemu-pw.cfg
    if timeout 120 xl create $R/vnc-qemu-pw.cfg > $R/vnc-qemu-pw-create.log 2>&1; then qpw="qemu-xen accepts vncpasswd"
      timeout 60 xl destroy vncqp >/dev/null 2>&1
    else qpw="qemu-xen with vncpasswd: $(grep -a -h -o 'Cipher[^\r]*\|-vnc [^:]*:[^:]*: [^\r]*' /var/log/xen/qemu-dm-vncqp.log $R/vnc-qemu-pw-create.log 2>/dev/null | head -n1)"; fi
    cp /var/log/xen/qemu-dm-vncqp.log $R/vnc-qemu-pw-dm.log 2>/dev/null
    vnc_guest qemu vncq "" ""
    vnc_guest xsdm vncx $DM_OVERRIDE $VNC_PW
    slotev="slots qemu-xen ${VSLOTS[qemu]:-?} xsdm ${VSLOTS[xsdm]:-?}"
    if [ "${VSLOTS[qemu]:-}" = "${VSLOTS[xsdm]:-x}" ] && [ "${VSLOTS[qemu]}" != "vga=none plat=none" ]; then slotev="$slotev (same)"
    else VOK[xsdm]=0; slotev="$slotev (DIFFER or unknown)"; fi
    q="qemu-xen: ${VE[qemu]}; $qpw"; [ "${VOK[qemu]}" = 1 ] || q="qemu-xen (anchor limitation): ${VE[qemu]}; $qpw"
    if [ "${VOK[xsdm]}" = 1 ]; then end PASS "xsdm: ${VE[xsdm]} | $slotev | $q"
    else end FAIL "xsdm: ${VE[xsdm]} | $slotev | $q"; fi
  fi
fi

# ============================================================ fbcon: the Linux console on the VGA, over VNC
# The xl defaults (no vga line, vnc=1) with the Linux guest of linux-fb.iso (build-lab-guest.sh:
# lab-fb), serial="pty" read by `xl console`, qemu-xen first (its cirrus, Linux's cirrus driver),
# then xsdm (the standard VGA, Linux's bochs driver), one boot each. Per DM, from its VNC server
# (gvnccapture PNGs in $R, text read back by rfb-lab.py against the glyph row the guest drew):
#   vga  vgacon's text screen shows the guest's two rows (glyphs, "FBTEXT vga <random>") and
#        `v` Return typed over VNC reaches the guest's tty1
#   mig  while the guest draws numbered, checksummed rows as fast as it can on that text screen (each
#        written by the DM into VRAM: the pages it reports to Xen's log-dirty), `xl migrate` to this
#        host, the target left paused (migrate-receive -p): its screen, read before the guest runs
#        again, is the rows the guest drew last, every one complete, consecutive, its checksum right
#   fb   after the guest loads the DRM drivers, fbcon on the VBE (bochs) framebuffer: the capture
#        has the mode's size and the guest's two rows, and `f` Return reaches tty1
# One verdict, xsdm's (its framebuffer must be bochs-drm); qemu-xen's alongside.
fb_cfg() { # NAME DM
  cat <<EOF
name = "$1"
type = "hvm"
memory = 128
vcpus = 1
vnc = 1
vnclisten = "127.0.0.1"
sdl = 0
serial = "pty"
boot = "d"
disk = [ "$T/linux-fb.iso,raw,hdc,cdrom,r" ]
vif = [ ]
dm_restrict = 1
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
EOF
  [ -n "$2" ] && echo "device_model_override = \"$2\""
}
fb_disp() { # DOMID: its VNC display number ("" when xenstore has no 59xx port)
  local port
  port=$(xenstore-read /local/domain/$1/console/vnc-port 2>/dev/null)
  case "$port" in 59[0-9][0-9]) echo $((port - 5900));; esac
}
fb_key() { # DOMID KEYSYM: the key then Return, typed over VNC
  local disp
  disp=$(fb_disp $1)
  [ -n "$disp" ] && timeout 60 python3 /tmp/rfb-lab.py key 127.0.0.1 $((5900 + disp)) "" $2 0xff0d > $R/fbcon-key.log 2>&1
}
# fb_text PHASE: the guest's FB-TEXT line of that phase (FT_RAW) and its fields FT_ROWS FT_COLS FT_LINE
# FT_GLYPHS; 1 when one is missing
fb_text() {
  FT_RAW=$(lab_line "^FB-TEXT phase=$1 ")
  FT_ROWS=$(echo "$FT_RAW" | sed -n 's/.* rows=\([0-9]*\) .*/\1/p')
  FT_COLS=$(echo "$FT_RAW" | sed -n 's/.* cols=\([0-9]*\) .*/\1/p')
  FT_LINE=$(echo "$FT_RAW" | sed -n 's/.* line=\[\(FBTEXT [a-z]* [0-9a-f]*\)\] .*/\1/p')
  FT_GLYPHS=$(echo "$FT_RAW" | sed -n 's/.* glyphs=\[\(.*\)\] uptime=.*/\1/p')
  [ -n "$FT_ROWS" ] && [ -n "$FT_COLS" ] && [ -n "$FT_LINE" ] && [ -n "$FT_GLYPHS" ]
}
# fb_screen TAG PHASE DOMID: capture the phase's screen; FBS = "" when its first two text rows are the
# guest's FB-TEXT glyphs and line, else what differs; FBSIZE = the capture's WxH
fb_screen() {
  local tag=$1 ph=$2 png=$R/fbcon-$1-$2.png disp got
  FBS="" FBSIZE=""
  fb_text $ph || { FBS="FB-TEXT-$ph-line:[$FT_RAW]"; return; }
  disp=$(fb_disp $3)
  [ -n "$disp" ] || { FBS="$ph:no-vnc-port"; return; }
  if ! vnc_capture $disp "" $png; then FBS="$ph:capture-failed"; show $png.log 5; return; fi
  FBSIZE=$(python3 /tmp/rfb-lab.py size $png)
  got=$(python3 /tmp/rfb-lab.py text $png $FT_COLS $FT_ROWS 2 "$FT_GLYPHS" 2>&1)
  echo "$got" > $R/fbcon-$tag-$ph.txt
  [ "$(echo "$got" | sed -n 1p)" = "$FT_GLYPHS" ] || FBS="$FBS $ph:glyph-row[$(echo "$got" | sed -n 1p | cut -c1-80)]"
  [ "$(echo "$got" | sed -n 2p)" = "$FT_LINE" ] || FBS="$FBS $ph:text-row[$(echo "$got" | sed -n 2p | cut -c1-80)]-want-[$FT_LINE]"
  FBSHOWN="$FT_COLS x $FT_ROWS cells, [$FT_LINE]"
}
# fb_rows TAG DOMID: the migrated screen (glyphs learnt from the vga phase's capture; the rows have
# filled it by then): every text row but the last (where the guest may have been paused mid-row)
# "FBSEQ n md5", n consecutive, each md5 the guest's; FBM = "" when so, else what is wrong; FBR = "a..b"
fb_rows() {
  local tag=$1 nonce png=$R/fbcon-$1-mig.png disp n prev="" bad="" first="" r
  FBM="" FBR=""
  fb_text vga
  nonce=$(lab_line '^FB-SEQ-START ' | sed -n 's/.* nonce=\([0-9a-f]*\).*/\1/p')
  disp=$(fb_disp $2)
  [ -n "$disp" ] && [ -n "$nonce" ] || { FBM="no-vnc-port-or-nonce"; return; }
  vnc_capture $disp "" $png || { FBM="capture-failed"; show $png.log 5; return; }
  python3 /tmp/rfb-lab.py text $png $FT_COLS $FT_ROWS $FT_ROWS "$FT_GLYPHS" $R/fbcon-$tag-vga.png > $R/fbcon-$tag-mig.txt 2>&1 ||
    { FBM="text-unreadable[$(tail -n1 $R/fbcon-$tag-mig.txt)]"; return; }
  while IFS= read -r r; do
    case "$r" in
      "FBSEQ "*) n=$(echo "$r" | cut -d' ' -f2)
        [ "FBSEQ $n $(printf '%s %d' $nonce $n | md5sum | cut -c1-8)" = "$r" ] || bad="$bad row[$r]-checksum"
        [ -z "$prev" ] || [ "$n" = $((prev + 1)) ] || bad="$bad row-$n-after-$prev"
        prev=$n; first=${first:-$n};;
      *) bad="$bad row[$(echo "$r" | cut -c1-40)]";;
    esac
  done < <(head -n $((FT_ROWS - 1)) $R/fbcon-$tag-mig.txt)
  [ -n "$first" ] || bad="$bad no-FBSEQ-rows"
  FBM=${bad# } FBR="$first..$prev"
}
fb_session() { # TAG DM: one boot; lab_note fbcon TAG ok|bad EVIDENCE
  local tag=$1 dm=$2 name=fb-$1 t1 d p d2 p2 bad="" ev="" x n0 st
  LAB_NAME=$name LAB_LOG=/var/log/xen/fb-$tag-serial.log LAB_DM=""
  rm -f $LAB_LOG /var/log/xen/qemu-dm-$name.log $R/fbcon-$tag-*
  fb_cfg $name "$dm" > $R/fbcon-$tag.cfg
  t1=$(now)
  if ! timeout 120 xl create $R/fbcon-$tag.cfg > $R/fbcon-$tag-xl-create.log 2>&1; then
    fail_tail $R/fbcon-$tag-xl-create.log; cp /var/log/xen/qemu-dm-$name.log $R/fbcon-$tag-dm.log 2>/dev/null
    lab_note fbcon $tag bad "xl create failed" $t1; return
  fi
  d=$(domid_of $name); p=$(dm_pid $d); LAB_DM=$p
  msg "FBCON $tag: domid $d, DM pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -o -- '-device [^ ]*vga[^ ]*\|-vnc [^ ]*' | xargs)"
  lab_console $d || bad="$bad no-pty"
  # ---- vga: the text console
  if ! lab_wait ${L_TIMEOUT:-1500} '^FB-TEXT phase=vga '; then bad="$bad $LAB_WHY"
  else
    sleep 2; fb_screen $tag vga $d
    if [ -n "$FBS" ]; then bad="$bad$FBS"; else ev="text mode $FBSIZE: $FBSHOWN read back"; fi
    if fb_key $d 0x76 && lab_wait 60 '^FB-KEY phase=vga got=\[v\]'; then ev="$ev, v typed over VNC reached tty1"
    else bad="$bad key-v:[$(lab_line '^FB-KEY phase=vga')]"; fi
  fi
  # ---- mig: xl migrate while the guest writes text rows (once they fill the screen), the target paused
  fb_text vga
  if lab_has '^FB-KEY phase=vga ' && lab_wait 300 "^FB-SEQ $((${FT_ROWS:-25} + 3))\$"; then
    n0=$(lab_log | sed -n 's/^FB-SEQ \([0-9]*\)$/\1/p' | sort -n | tail -n1)
    lab_console_stop; x=$(now)
    if ! timeout 600 xl migrate -s "" $name "xl migrate-receive -p" > $R/fbcon-$tag-migrate.log 2>&1; then
      fail_tail $R/fbcon-$tag-migrate.log 6; bad="$bad xl-migrate-failed"
    else
      d2=$(domid_of $name); p2=$(dm_pid $d2); st=$(xl list $d2 2>/dev/null | awk 'NR==2{print $5}')
      ev="$ev; xl migrate at row $n0 ($(since $x)s, domid $d -> $d2, DM $p -> $p2, target $st)"
      case "$st" in *p*) ;; *) bad="$bad target-not-paused[$st]";; esac
      sleep 3; fb_rows $tag $d2
      if [ -n "$FBM" ]; then bad="$bad migrated-screen:$FBM"; show $R/fbcon-$tag-mig.txt 30
      else ev="$ev; the paused target shows rows $FBR complete, consecutive, checksums right"; fi
      if [ $tag = xsdm ]; then
        x=$(cat /var/log/xen/qemu-dm-$name.log* 2>/dev/null | grep -a 'dirty logging on, guest stopped' | tail -n1)
        case "$x" in *": 0 page(s)"*|"") bad="$bad no-VRAM-reported-modified";; *", 0 refused") ;; *) bad="$bad modified_memory-refused";; esac
        ev="$ev; sending DM: [${x#*dirty logging on, guest stopped: }]"
      fi
      d=$d2 p=$p2 LAB_DM=$p2
      lab_console $d || bad="$bad no-pty-after-migrate"
      xl unpause $name; sleep 2
      if fb_key $d 0x6d && lab_wait 60 '^FB-KEY phase=mig got=\[m\]'; then ev="$ev; m typed stopped it at row $(lab_line '^FB-KEY phase=mig' | sed -n 's/.* last=\([0-9]*\).*/\1/p')"
      else bad="$bad key-m:[$(lab_line '^FB-KEY phase=mig')]"; fi
    fi
  elif lab_has '^FB-KEY phase=vga '; then bad="$bad $LAB_WHY"; fi
  # ---- fb: the DRM driver's framebuffer console
  if lab_has '^FB-KEY phase=mig '; then
    if ! lab_wait 300 '^FB-TEXT phase=fb '; then bad="$bad $LAB_WHY"
    else
      x=$(lab_line '^FB-MODE ')
      ev="$ev; ${x#FB-MODE }" ; ev=${ev% uptime=*}
      sleep 2; fb_screen $tag fb $d
      if [ -n "$FBS" ]; then bad="$bad$FBS"; else ev="$ev; capture $FBSIZE: $FBSHOWN read back"; fi
      case "$x" in *" mode=U:$FBSIZE"*) ;; *) bad="$bad capture-$FBSIZE-not-the-mode";; esac
      [ $tag = qemu ] || case "$x" in *" drv=bochs-drm "*) ;; *) bad="$bad not-bochs-drm";; esac
      if fb_key $d 0x66 && lab_wait 60 '^FB-KEY phase=fb got=\[f\]'; then ev="$ev, f typed over VNC reached tty1"
      else bad="$bad key-f:[$(lab_line '^FB-KEY phase=fb')]"; fi
    fi
  fi
  lab_console_stop
  lab_log > $R/fbcon-$tag-serial.log
  timeout 60 xl destroy $name >/dev/null 2>&1
  cp /var/log/xen/qemu-dm-$name.log $R/fbcon-$tag-dm.log 2>/dev/null
  if [ -z "$bad" ]; then lab_note fbcon $tag ok "$ev" $t1; else lab_note fbcon $tag bad "${bad# }; $ev" $t1; fi
}

if want fbcon; then
  destroy_all
  ip link set lo up
  mkdir -p /run/lock
  [ -p /tmp/lab-console-in ] || mkfifo /tmp/lab-console-in
  exec 7<>/tmp/lab-console-in
  if [ $XSDM_OK != 1 ]; then msg "STAGE fbcon FAIL secs=0 xsdm not runnable in dom0"
  else
    fb_session qemu ""
    destroy_all
    fb_session xsdm $DM_OVERRIDE
    destroy_all
    lab_verdict fbcon
  fi
  exec 7>&-
fi

destroy_all
cp -r /var/log/xen $R/var-log-xen 2>/dev/null
kill $HEARTBEAT 2>/dev/null
msg "ALL-STAGES-DONE"
