#!/bin/sh
# `make demo`: the whole life of a deprivileged xsdm on the qtest accelerator,
# driven by xsdmctl, with the facts that prove each step.
#   create (generated ISO) -> audit -> cd-insert of a second ISO by fd -> save
#   -> destroy -> restore -> audit -> destroy
#   then a screenshot of the qtest machine's VGA text screen, taken over VNC
#   by gvnccapture (BUILD_DIR/demo-screen, scripts/demo-screen.c);
#   then a guest with a NIC: its tap made by xsdmctl on a bridge, passed by fd,
#   the DM in its own network namespace
# Needs root, xorriso, gvnccapture and pngtopnm. Usage: sh scripts/demo.sh BUILD_DIR
set -eu

BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
CTL="$BUILD/xsdmctl"
CFG="$SRC/docs/examples/demo.cfg"
DEMO=/tmp/xsdm-demo

[ "$(id -u)" = 0 ] || { echo "demo: run as root (xsdmctl makes namespaces and changes uids)"; exit 1; }
[ -x "$CTL" ] && [ -x "$BUILD/xsdm" ] || { echo "demo: build first (make BUILD=$BUILD all)"; exit 1; }
command -v xorriso >/dev/null || { echo "demo: xorriso is needed to make the ISOs"; exit 1; }
command -v gvnccapture >/dev/null && command -v pngtopnm >/dev/null ||
    { echo "demo: gvnccapture (gvncviewer) and pngtopnm (netpbm) take the screenshot: sh scripts/install-deps.sh"; exit 1; }
[ -x "$BUILD/demo-screen" ] || { echo "demo: build the screenshot tool first (make BUILD=$BUILD $BUILD/demo-screen)"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fact() { printf '   fact: %s\n' "$*"; }
# live (non-zombie) processes of a uid; reaped zombies wait for init
live_of() { ps -e -o uid=,stat= | awk -v u="$1" '$1 == u && $2 !~ /^Z/' | wc -l; }
dm_pid() { sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$XSDM_RUN_DIR/dom-1.json"; }

cleanup() {
    [ -f "$XSDM_RUN_DIR/dom-1.json" ] && "$CTL" -q destroy 1 || true
}

rm -rf "$DEMO"
mkdir -p "$DEMO/iso1" "$DEMO/iso2"
export XSDM_RUN_DIR="$DEMO/run" XSDM_DM="$BUILD/xsdm"
trap cleanup EXIT

# libxl's users. On a Xen host they exist; here a passwd file stands in
# (xsdmctl consults XSDM_PASSWD_FILE after NSS; the DM only ever sees the
# numeric uid:gid, so nothing is added to the system).
if ! getent passwd xen-qemuuser-range-base >/dev/null; then
    printf '%s\n' "xen-qemuuser-range-base:x:131072:131072::/nonexistent:/usr/sbin/nologin" \
                  "xen-qemuuser-reaper:x:131071:131071::/nonexistent:/usr/sbin/nologin" > "$DEMO/passwd"
    export XSDM_PASSWD_FILE="$DEMO/passwd"
fi

echo "first disc" > "$DEMO/iso1/DISC.TXT"
echo "second disc" > "$DEMO/iso2/DISC.TXT"
xorriso -as mkisofs -quiet -V XSDM_CD1 -o "$DEMO/cd1.iso" "$DEMO/iso1" 2>/dev/null
xorriso -as mkisofs -quiet -V XSDM_CD2 -o "$DEMO/cd2.iso" "$DEMO/iso2" 2>/dev/null
ls -l "$DEMO"/cd1.iso "$DEMO"/cd2.iso

facts() {
    pid=$(dm_pid)
    fact "device model pid $pid: $(tr '\0' ' ' < /proc/$pid/cmdline | cut -c1-60)..."
    fact "$(grep -E '^(Uid|Gid|Groups|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$pid/status | tr '\t\n' '  ')"
    for ns in mnt ipc uts net; do
        fact "ns $ns: DM $(readlink /proc/$pid/ns/$ns), ours $(readlink /proc/self/ns/$ns)"
    done
    for fd in /proc/$pid/fd/*; do
        case "$(readlink "$fd")" in socket:*)
            ino=$(readlink "$fd" | tr -dc 0-9)
            # the listening TCP socket: in our namespace's table, though the DM's namespace is another
            port=$(awk -v i="$ino" '$10 == i && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/self/net/tcp)
            [ -n "$port" ] && fact "DM fd ${fd##*/}: the VNC listener xsdmctl bound, 127.0.0.1:$((0x$port)) in our network namespace"
        esac
    done
    fact "root: $(stat -L -c '%n inode %i' /proc/$pid/root) = $(stat -c '%n inode %i mode %a' "$XSDM_RUN_DIR/qemu-root-1")"
    fact "limits: $(grep -E 'file size|core file|locked memory|file locks|msgqueue' /proc/$pid/limits | awk '{printf "%s ", $0}' | tr -s ' ')"
}

step "create from $CFG"
cat "$CFG"
"$CTL" create "$CFG"
facts
"$CTL" list

step "audit"
"$CTL" audit demo

step "cd-insert of a second ISO, by fd"
"$CTL" cd-insert demo hdc "$DEMO/cd2.iso"
pid=$(dm_pid)
for fd in /proc/$pid/fd/*; do
    if [ "$(readlink "$fd")" = "$DEMO/cd2.iso" ]; then
        fact "DM fd ${fd##*/} -> $(readlink "$fd"), flags $(sed -n 's/flags:[[:space:]]*//p' /proc/$pid/fdinfo/${fd##*/}) (octal; O_RDONLY)"
    fi
done
fact "the DM is chrooted in an empty mode-0000 dir: it could never have opened that path itself"

step "save"
"$CTL" save demo "$DEMO/demo.state"
fact "state file: $(stat -c '%s bytes, mode %a' "$DEMO/demo.state")"
"$CTL" list

step "destroy"
uid=$(sed -n 's/.*"uid": *\([0-9][0-9]*\).*/\1/p' "$XSDM_RUN_DIR/dom-1.json")
"$CTL" destroy demo
fact "live processes of uid $uid: $(live_of "$uid")"
fact "chroot dir: $(ls -d "$XSDM_RUN_DIR/qemu-root-1" 2>/dev/null || echo removed)"
"$CTL" list

step "restore from $DEMO/demo.state"
"$CTL" restore "$CFG" "$DEMO/demo.state"
facts
"$CTL" list

step "audit"
"$CTL" audit demo

step "destroy"
"$CTL" destroy demo
fact "live processes of uid $uid: $(live_of "$uid")"
fact "run dir now: $(ls "$XSDM_RUN_DIR" | tr '\n' ' ')"
step "screenshot: the qtest machine's VGA text screen, over VNC"
"$BUILD/demo-screen" "$DEMO/screen.png" 2>"$DEMO/screen.log" || { cat "$DEMO/screen.log"; exit 1; }
fact "the PNG: $DEMO/screen.png (open it in any image viewer)"


step "a NIC: the tap made by xsdmctl, the DM in its own network namespace"
ip link add xsdmdemo0 type bridge 2>/dev/null || true
trap 'cleanup; ip link del xsdmdemo0 2>/dev/null' EXIT
sed -e 's/^name = .*/name = "demo-net"/' -e '/^vif/d' "$CFG" > "$DEMO/demo-net.cfg"
echo "vif = [ 'bridge=xsdmdemo0,mac=00:16:3e:de:00:01' ]" >> "$DEMO/demo-net.cfg"
"$CTL" create "$DEMO/demo-net.cfg"
pid=$(dm_pid)
fact "argv: $(tr '\0' ' ' < /proc/$pid/cmdline | grep -o -- '-netdev [^ ]*')"
for fd in /proc/$pid/fd/*; do
    if [ "$(readlink "$fd")" = /dev/net/tun ]; then
        fact "DM fd ${fd##*/} -> /dev/net/tun: $(sed -n 's/^iff:[[:space:]]*//p' /proc/$pid/fdinfo/${fd##*/})"
    fi
done
fact "in our namespace: vif1.0-emu on $(basename "$(readlink /sys/class/net/vif1.0-emu/master)"), $(cat /sys/class/net/vif1.0-emu/operstate)"
fact "the DM's namespace $(readlink /proc/$pid/ns/net) (ours $(readlink /proc/self/ns/net)): interfaces $(awk -F: 'NR > 2 { gsub(/ /, "", $1); printf "%s ", $1 }' /proc/$pid/net/dev)"
"$CTL" audit demo-net | grep -E 'namespace net|netns|tun|audit:'
"$CTL" destroy demo-net
fact "after destroy: vif1.0-emu $([ -e /sys/class/net/vif1.0-emu ] && echo still there || echo gone with the DM and its fd)"
ip link del xsdmdemo0
trap - EXIT
echo
echo "demo: done"
