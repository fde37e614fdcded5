#!/usr/bin/env bash
# Debian 12 packages clusterform's lab and tests use (run as root). Idempotent: installs only what is missing.
set -euo pipefail
PKGS="sudo curl python3-minimal openssh-server openssh-client iproute2 fdisk e2fsprogs ipvsadm iptables qemu-system-x86 busybox-static kmod cpio xz-utils findutils libc-bin dpkg apt mount iputils-ping util-linux procps debootstrap qemu-utils tar openssh-client dpkg-dev"
missing=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then echo "run as root: apt-get install -y$missing"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi
echo "prerequisites present: $PKGS"
