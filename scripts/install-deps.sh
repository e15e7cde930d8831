#!/bin/sh
# Install exactly the Debian (bookworm) packages xsdm needs to build and test.
# Idempotent: packages already present are left alone.
set -eu
# nettle-dev, zlib1g-dev: the VNC server's DES and ZRLE (docs/design.md).
# vncsnapshot, gvncviewer (gvnccapture), libnet-vnc-perl, libjpeg-turbo-progs,
# netpbm: real VNC clients and image decoders for the VNC tests.
# seabios: vgabios-stdvga.bin, the VGA BIOS in the standard VGA's ROM BAR.
PKGS="build-essential pkg-config libxen-dev libseccomp-dev libcap-ng-dev libjansson-dev
nettle-dev zlib1g-dev
check libsubunit-dev xorriso clang libclang-rt-14-dev
vncsnapshot gvncviewer libnet-vnc-perl libjpeg-turbo-progs netpbm
seabios"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$missing" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
